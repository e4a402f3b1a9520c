//! The header read timeout with one timer per connection, not one per
//! request: a connection must deliver a request's complete headers within
//! `HOLDFAST_HEADER_READ_TIMEOUT` of the server starting to wait for them
//! (when it opens, and again when a response has been written), or it is
//! closed.
//!
//! Hyper's own header read timeout arms a new boxed timer for every request
//! on a kept-alive connection (an allocation and a timer-wheel insert and
//! removal each time), which showed in the holds check's profile. Here the
//! connection keeps one timer and moves it lazily: each response's end only
//! notes the time ([`Waiting::response_ended`]), and the timer, armed when
//! a read first finds nothing to read, is moved to the later deadline only
//! when it fires early. A connection answering requests steadily touches
//! the timer wheel about once per timeout, not once per request.
//!
//! While a request is being served (from the moment the service is called
//! with its headers to the end of its response body) no header is awaited:
//! the request time limit and the body's minimum rate govern it instead.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::{CloseReason, Verdict};

/// What a connection's reads need to know of its requests: whether one is
/// being served, and since when the server has been waiting for headers.
pub(super) struct Waiting {
    /// When the connection opened: the origin of `since_nanos`.
    opened: Instant,
    /// Requests whose headers were read and whose response has not ended.
    serving: AtomicU64,
    /// When the server began waiting for headers, in nanoseconds after `opened`.
    since_nanos: AtomicU64,
}

impl Waiting {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            serving: AtomicU64::new(0),
            since_nanos: AtomicU64::new(0),
        })
    }

    /// A request's headers were read: it is being served until what this
    /// returns is dropped (with its response's body, or with the request if
    /// it never got one).
    pub(super) fn request_began(waiting: &Arc<Self>) -> Served {
        waiting.serving.fetch_add(1, Ordering::Relaxed);
        Served(waiting.clone())
    }

    /// A response has ended (written, or dropped with its connection): the
    /// wait for the next request's headers starts now.
    fn response_ended(&self) {
        let since = u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.since_nanos.store(since, Ordering::Relaxed);
        self.serving.fetch_sub(1, Ordering::Relaxed);
    }

    /// When the headers awaited are due; `None` while a request is served.
    fn headers_due(&self, timeout: Duration) -> Option<Instant> {
        if self.serving.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = Duration::from_nanos(self.since_nanos.load(Ordering::Relaxed));
        Some(self.opened + since + timeout)
    }
}

/// A request being served; dropped when its response has ended.
pub(super) struct Served(Arc<Waiting>);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.response_ended();
    }
}

/// A response body that tells its connection when it ends (is dropped).
pub(super) struct Ending<B> {
    inner: B,
    _served: Served,
}

impl<B> Ending<B> {
    pub(super) fn new(inner: B, served: Served) -> Self {
        Self { inner, _served: served }
    }
}

impl<B> Body for Ending<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's IO whose reads fail once the headers awaited are overdue.
pub(super) struct HeaderDeadline<T> {
    io: T,
    timeout: Duration,
    waiting: Arc<Waiting>,
    /// The connection's one timer: never later than the deadline it guards.
    timer: Option<Pin<Box<Sleep>>>,
    verdict: Arc<Verdict>,
}

impl<T> HeaderDeadline<T> {
    pub(super) fn new(io: T, timeout: Duration, waiting: Arc<Waiting>, verdict: Arc<Verdict>) -> Self {
        Self {
            io,
            timeout,
            waiting,
            timer: None,
            verdict,
        }
    }

    /// After a read found nothing: whether the headers awaited are overdue,
    /// with the timer set to wake the connection when they will be.
    ///
    /// While a request is served nothing is due, yet the timer keeps
    /// running, at most one timeout ahead: the response may end without
    /// waking this read, and the timer is then what brings the connection
    /// back to look at the deadline that ending started.
    fn overdue(&mut self, cx: &mut Context<'_>) -> bool {
        let due = self.waiting.headers_due(self.timeout);
        let timeout = self.timeout;
        let next_look = || due.unwrap_or_else(|| Instant::now() + timeout);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next_look())));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            // The timer fired: at the deadline, at an earlier one since
            // moved on by a response's end, or while a request was served.
            if due.is_some_and(|due| Instant::now() >= due) {
                return true;
            }
            timer.as_mut().reset(next_look());
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeaderDeadline<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if read.is_pending() && self.overdue(cx) {
            self.verdict.give(CloseReason::HeaderTimeout);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request headers within the header read timeout",
            )));
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeaderDeadline<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
