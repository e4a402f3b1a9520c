//! What every instance hears from the others through PostgreSQL `NOTIFY`, on
//! one listening connection per instance: accounts whose holds changed, runs
//! that finished, and new work for the background tasks.

use std::time::Duration;

use super::{Database, Pools};
use crate::domain::ids::{AccountId, RunId};

/// The PostgreSQL channel finished runs are announced on.
pub(super) const RUNS_FINISHED_CHANNEL: &str = "holdfast_runs_finished";

/// The PostgreSQL channel accounts whose holds changed are announced on.
pub(super) const HOLDS_CHANGED_CHANNEL: &str = "holdfast_holds_changed";

/// The PostgreSQL channel new work for the background tasks is announced on
/// (the payload is a [`Work`]'s name), so an instance that did not create it
/// picks it up at once instead of at its next safety-net look.
pub(super) const WORK_CHANNEL: &str = "holdfast_work";

/// Work a committed transaction left for the background tasks of every instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// A message was queued for the exchange.
    Outbox,
    /// A run was started.
    Runs,
}

impl Work {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Work::Outbox => "outbox",
            Work::Runs => "runs",
        }
    }

    fn parse(payload: &str) -> Option<Work> {
        [Work::Outbox, Work::Runs]
            .into_iter()
            .find(|work| work.as_str() == payload)
    }
}

/// What an instance hears on its one listening connection.
#[derive(Debug)]
pub enum Announcement {
    /// The holds of this account changed.
    HoldsChanged(AccountId),
    /// This run finished.
    RunFinished(RunId),
    /// There is new work for the background tasks.
    Work(Work),
}

impl Database {
    /// Passes everything any instance announces (holds changed, runs
    /// finished, new work) to `announce`, until `cancel` fires, on one
    /// connection. `listening` runs each time the listener is (again) in
    /// place, `lost` each time its connection is lost or fails (an
    /// announcement may have been missed); it listens again a second later.
    /// On SQLite this instance announces its own changes in-process:
    /// `listening` runs once.
    pub async fn listen_for_announcements<F: Future<Output = ()>>(
        &self,
        announce: impl Fn(Announcement),
        listening: impl Fn() -> F,
        lost: impl Fn(),
        cancel: tokio_util::sync::CancellationToken,
    ) {
        if matches!(self.pools, Pools::Sqlite { .. }) {
            listening().await;
            return cancel.cancelled().await;
        }
        let publish = |channel: &str, payload: &str| match channel {
            // The payload is an account id as stored: `WriteTx::commit` announces the holds' own.
            HOLDS_CHANGED_CHANNEL => announce(Announcement::HoldsChanged(AccountId::from_string(payload.to_owned()))),
            RUNS_FINISHED_CHANNEL => announce(Announcement::RunFinished(RunId::from(payload))),
            WORK_CHANNEL => match Work::parse(payload) {
                Some(work) => announce(Announcement::Work(work)),
                None => tracing::warn!(payload, "unknown work announced; ignored"),
            },
            _ => {}
        };
        self.listen(
            &[HOLDS_CHANGED_CHANNEL, RUNS_FINISHED_CHANNEL, WORK_CHANNEL],
            publish,
            listening,
            lost,
            cancel,
        )
        .await
    }

    /// Like [`Database::listen_for_announcements`], passing on only the
    /// accounts whose holds changed.
    pub async fn listen_for_hold_changes<F: Future<Output = ()>>(
        &self,
        announce: impl Fn(&AccountId),
        listening: impl Fn() -> F,
        lost: impl Fn(),
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let announce = |announcement: Announcement| {
            if let Announcement::HoldsChanged(account) = announcement {
                announce(&account)
            }
        };
        self.listen_for_announcements(announce, listening, lost, cancel).await
    }

    async fn listen<F: Future<Output = ()>>(
        &self,
        channels: &[&str],
        publish: impl Fn(&str, &str),
        listening: impl Fn() -> F,
        lost: impl Fn(),
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let Pools::Postgres(pool) = &self.pools else {
            return;
        };
        loop {
            // Ends when the connection is lost (`Ok`) or fails (`Err`).
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                // Left to itself, the listener reconnects inside `recv` and
                // says nothing: whatever was announced while it was away is
                // gone without a trace. Hear of every loss instead.
                listener.eager_reconnect(false);
                listener.listen_all(channels.iter().copied()).await?;
                listening().await;
                while let Some(notification) = listener.try_recv().await? {
                    publish(notification.channel(), notification.payload());
                }
                Ok(())
            };
            let ended: Result<(), sqlx::Error> = tokio::select! {
                _ = cancel.cancelled() => return,
                ended = listener => ended,
            };
            lost();
            match ended {
                Ok(()) => tracing::warn!(
                    ?channels,
                    "the connection listening for announcements was lost; listening again"
                ),
                Err(error) => {
                    tracing::warn!(error = %error, ?channels, "listening for announcements failed; listening again")
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
