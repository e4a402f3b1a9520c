//! A response the client does not read closes its connection: a write that
//! makes no progress for [`WRITE_STALL_LIMIT`] fails.
//!
//! A write is pending only when the socket's send buffer is full, that is
//! when the client has stopped reading (its receive window is closed) or
//! the network carries nothing for it. The clock starts at the first pending
//! write after the last byte the socket took and stops at the next byte it
//! takes: a slow reader that keeps reading is never cut, one that stops is
//! cut ten seconds later, however much it pipelined.
//!
//! The connection is then reset rather than closed: a close would leave the
//! kernel holding the unsent response (up to the socket's send buffer, some
//! megabytes) for a client that never reads it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::{CloseReason, Verdict};

/// How long a write may make no progress before the connection is reset
/// (SPEC §1: a response unread for 10 s).
pub const WRITE_STALL_LIMIT: Duration = Duration::from_secs(10);

/// A connection's socket, whose writes fail once they have made no progress
/// for [`WRITE_STALL_LIMIT`].
pub(super) struct StallGuard {
    stream: TcpStream,
    /// Set while writes are pending: fires [`WRITE_STALL_LIMIT`] after the
    /// first of them. Cleared when the socket takes a byte.
    stalled: Option<Pin<Box<Sleep>>>,
    verdict: Arc<Verdict>,
}

impl StallGuard {
    pub(super) fn new(stream: TcpStream, verdict: Arc<Verdict>) -> Self {
        Self {
            stream,
            stalled: None,
            verdict,
        }
    }

    /// Passes on what a write did; a pending one starts (or keeps) the stall
    /// clock and, once it has run out, fails.
    fn watch(&mut self, cx: &mut Context<'_>, written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match written {
            Poll::Pending => {
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL_LIMIT)));
                if stalled.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                // Reset on close: nothing more goes to a client that reads nothing.
                let _ = self.stream.set_zero_linger();
                self.verdict.give(CloseReason::WriteStalled);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client read nothing of the response for 10 s",
                )))
            }
            Poll::Ready(Ok(written)) if written > 0 => {
                self.stalled = None;
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
