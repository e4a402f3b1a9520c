//! A request body must keep arriving: once a handler starts reading it, it
//! must come at [`MIN_BODY_RATE`] on average, or the connection is closed.
//!
//! The rule is a rate, not a deadline: reading starts with [`GRACE`] in hand,
//! and every byte that arrives buys another 1/[`MIN_BODY_RATE`] of a second,
//! at most [`MAX_BANKED`] ahead of now. A body that stops, or trickles
//! slower than 1 KiB/s, runs out: reading it fails with [`BodyTooSlow`],
//! which [`crate::edge::http::read_body`] answers with a `408` problem, and since
//! the body was not read to its end hyper stops reading the connection and
//! closes it once that answer is written. An upload of any size at a steady
//! pace above the rate, pausing for a few seconds now and then, never runs
//! out. (Requests still have `HOLDFAST_REQUEST_TIMEOUT` as a whole.)
//!
//! The clock starts when the body is first polled, not when the headers
//! arrive: a handler that has not asked for its body yet is not the
//! client's fault, and a client expecting `100 Continue` is told to send
//! only then.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::{CloseReason, Verdict};

/// The slowest a request body may arrive, in bytes a second (SPEC §1).
pub const MIN_BODY_RATE: u64 = 1024;
/// What a body has in hand when reading starts: the time to the first bytes.
const GRACE: Duration = Duration::from_secs(1);
/// The most a body may bank ahead by arriving fast: how long it may then pause.
const MAX_BANKED: Duration = Duration::from_secs(10);

/// Why a request body could not be read: it arrived slower than
/// [`MIN_BODY_RATE`]. The connection is closed after the answer.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than 1 KiB/s")]
pub struct BodyTooSlow;

/// A request body that fails once it falls behind [`MIN_BODY_RATE`], and
/// tells its connection why it is ending.
pub(super) struct MinimumRate<B> {
    inner: B,
    /// When the body runs out of time unless more of it arrives; set when
    /// it is first polled.
    deadline: Option<Instant>,
    /// Fires at `deadline` while the body waits for bytes.
    timer: Option<Pin<Box<Sleep>>>,
    verdict: Arc<Verdict>,
}

impl<B> MinimumRate<B> {
    pub(super) fn new(inner: B, verdict: Arc<Verdict>) -> Self {
        Self {
            inner,
            deadline: None,
            timer: None,
            verdict,
        }
    }

    /// Extends the deadline by the time `bytes` buy, keeping it at most
    /// [`MAX_BANKED`] ahead of now.
    fn credit(&mut self, bytes: usize, now: Instant) {
        let bought = Duration::from_nanos((bytes as u64).saturating_mul(1_000_000_000) / MIN_BODY_RATE);
        let deadline = self.deadline.unwrap_or(now) + bought;
        self.deadline = Some(deadline.min(now + MAX_BANKED));
    }
}

impl<B> Body for MinimumRate<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let now = Instant::now();
        let deadline = *this.deadline.get_or_insert(now + GRACE);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.credit(data.len(), now);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.verdict.give(CloseReason::BodyTooSlow);
                Poll::Ready(Some(Err(BodyTooSlow.into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> MinimumRate<http_body_util::Empty<Bytes>> {
        MinimumRate::new(http_body_util::Empty::new(), Arc::new(Verdict::default()))
    }

    #[test]
    fn each_kibibyte_buys_a_second() {
        let now = Instant::now();
        let mut body = body();
        body.deadline = Some(now + GRACE);

        body.credit(2048, now);

        assert_eq!(body.deadline, Some(now + GRACE + Duration::from_secs(2)));
    }

    #[test]
    fn a_fast_start_banks_at_most_ten_seconds() {
        let now = Instant::now();
        let mut body = body();
        body.deadline = Some(now + GRACE);

        body.credit(60 * 1024, now);

        assert_eq!(body.deadline, Some(now + MAX_BANKED));
    }

    #[test]
    fn a_body_behind_the_rate_stays_behind_it() {
        let now = Instant::now();
        let mut body = body();
        // Three seconds in, with 1 KiB received: one second overdue.
        body.deadline = Some(now - Duration::from_secs(1));

        body.credit(512, now);

        assert_eq!(body.deadline, Some(now - Duration::from_millis(500)));
    }
}
