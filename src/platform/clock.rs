//! The service's clock.
//!
//! Everything that compares against "now" (deadlines, expiries, TOTP steps,
//! signature windows) asks the one [`Clock`] in the application state, so
//! tests can move time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::time::Timestamp;

#[derive(Clone, Debug)]
pub struct Clock {
    /// Added to the system time; zero outside tests.
    offset_micros: Arc<AtomicI64>,
    /// Told each time the clock is moved, so tasks sleeping until a deadline
    /// look again (a moved clock may have passed it).
    moved: Arc<watch::Sender<()>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            offset_micros: Arc::default(),
            moved: Arc::new(watch::Sender::new(())),
        }
    }
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> Timestamp {
        let system = Timestamp::from_datetime(chrono::Utc::now());
        Timestamp::from_micros(system.micros() + self.offset_micros.load(Ordering::Relaxed)).unwrap_or(system)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_micros
            .fetch_add(i64::try_from(by.as_micros()).unwrap_or(i64::MAX), Ordering::Relaxed);
        self.moved.send_replace(());
    }

    /// Changes (`changed().await` completes) each time the clock is moved
    /// from now on. Take it before reading the time a wait is computed
    /// from, so a move in between is not missed. The system clock is never
    /// moved: outside tests it never changes.
    pub fn moves(&self) -> watch::Receiver<()> {
        self.moved.subscribe()
    }
}
