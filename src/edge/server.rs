//! Serving a router on a listener (HTTP/1.1), for the main, exchange and
//! admin listeners alike.
//!
//! What `axum::serve` does not offer and an exposed service needs, so that
//! slow clients never starve others (SPEC §1):
//!
//! - **A header read timeout.** A connection must deliver a request's
//!   complete headers within `HOLDFAST_HEADER_READ_TIMEOUT` of the server
//!   starting to wait for them, or it is closed ([`header_deadline`]). The
//!   clock starts when a connection opens and again as soon as a response
//!   has been written on a kept-alive connection, so the same limit is the
//!   idle keep-alive timeout: a connection idle that long between requests
//!   is closed too. One timer per connection keeps it, not one per request.
//! - **A response must be read.** A write that makes no progress for
//!   [`WRITE_STALL_LIMIT`] (the client stopped reading) fails the connection,
//!   which is reset so the kernel frees what it still held for it
//!   ([`write_stall`]).
//! - **A body must keep coming.** Once a handler starts reading a request's
//!   body, it must arrive at [`MIN_BODY_RATE`] bytes a second on average, or
//!   the request is answered `408` and the connection closed ([`body_rate`]).
//!   It is a rate, not a deadline: a large upload at a steady pace is never
//!   cut.
//! - **Bounded pipelining.** A connection's requests are served one at a
//!   time: the next request is read only once the response before it has
//!   been handed to the connection's write buffer, and that buffer takes a
//!   new response only once the previous one has gone to the socket. So at
//!   most one request is read ahead of the response being written; what
//!   else a client pipelines stays unparsed in hyper's read buffer (at most
//!   its default of about 400 KiB) and, past that, in the kernel, where TCP
//!   flow control stops the client. A client that pipelines and never reads
//!   makes no progress once the socket's buffers are full, and the write
//!   stall limit closes it.
//! - **A connection limit.** At most `HOLDFAST_MAX_CONNECTIONS` connections
//!   are served at once per listener; past it the server stops accepting and
//!   new connections wait in the kernel's queue until one closes.
//! - **A per-client limit.** One TCP peer holds at most
//!   `HOLDFAST_MAX_CONNECTIONS_PER_CLIENT` connections on a listener; one
//!   more is closed as soon as it is accepted ([`per_client`]). Peers in
//!   `HOLDFAST_TRUSTED_PROXIES` are exempt: behind a load balancer every
//!   connection comes from it.
//! - **The peer address** on every request (`ConnectInfo<SocketAddr>`), from
//!   which [`crate::platform::client_address`] derives the client address.
//! - **Graceful shutdown.** When `shutdown` is cancelled the listener stops
//!   accepting, idle connections close, requests in flight finish (for at
//!   most `grace`), and then `serve` returns.
//!
//! Each listener has its own connection slots, so clients filling the public
//! listener never delay the exchange on `HOLDFAST_EXCHANGE_LISTEN`.

mod body_rate;
mod header_deadline;
mod per_client;
mod write_stall;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::platform::client_address::TrustedProxies;
use crate::platform::config::ServerLimits;

pub use body_rate::{BodyTooSlow, MIN_BODY_RATE};
pub use write_stall::WRITE_STALL_LIMIT;

use body_rate::MinimumRate;
use header_deadline::{Ending, HeaderDeadline, Waiting};
use per_client::ClientConnections;
use write_stall::StallGuard;

/// How long to pause accepting after an error that is not about one
/// connection (out of file descriptors, say), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How every listener treats its connections, and when it stops.
#[derive(Clone)]
pub struct Serving {
    pub limits: ServerLimits,
    /// Exempt from the per-client limit.
    pub trusted_proxies: TrustedProxies,
    pub shutdown: CancellationToken,
    /// How long requests in flight may take to finish after `shutdown`.
    pub grace: Duration,
}

/// Why the server closed a connection: the `reason` of
/// `holdfast_http_connections_closed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseReason {
    /// No complete request headers in time (idle kept-alive connections too).
    HeaderTimeout,
    /// A write made no progress for [`WRITE_STALL_LIMIT`].
    WriteStalled,
    /// A request body arrived slower than [`MIN_BODY_RATE`].
    BodyTooSlow,
    /// The client already held its share of connections on the listener.
    PerClientCap,
}

impl CloseReason {
    const ALL: [CloseReason; 4] = [
        CloseReason::HeaderTimeout,
        CloseReason::WriteStalled,
        CloseReason::BodyTooSlow,
        CloseReason::PerClientCap,
    ];

    fn label(self) -> &'static str {
        match self {
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::WriteStalled => "write_stalled",
            CloseReason::BodyTooSlow => "body_too_slow",
            CloseReason::PerClientCap => "per_client_cap",
        }
    }
}

/// Why a connection's guards (its IO, its request bodies) ended it, for the
/// task serving it to count. The first reason given wins.
#[derive(Default)]
struct Verdict(OnceLock<CloseReason>);

impl Verdict {
    fn give(&self, reason: CloseReason) {
        let _ = self.0.set(reason);
    }

    fn reason(&self) -> Option<CloseReason> {
        self.0.get().copied()
    }
}

fn closed_counter(listener: &'static str, reason: CloseReason) -> metrics::Counter {
    metrics::counter!("holdfast_http_connections_closed_total", "listener" => listener, "reason" => reason.label())
}

/// Makes every connection series of `listener` exist from the start, at
/// zero (their help text is in `telemetry::catalog`).
fn register_metrics(listener: &'static str) {
    metrics::gauge!("holdfast_http_connections_open", "listener" => listener).increment(0.0);
    for reason in CloseReason::ALL {
        closed_counter(listener, reason).increment(0);
    }
}

/// Serves `router` on `listener` until `serving.shutdown` is cancelled, then
/// lets the requests in flight finish for at most `serving.grace`. `name`
/// labels the metrics: `holdfast_http_connections_open` and
/// `holdfast_http_connections_closed_total` (by [`CloseReason`]).
pub async fn serve(name: &'static str, listener: TcpListener, router: Router, serving: Serving) {
    let Serving {
        limits,
        trusted_proxies,
        shutdown,
        grace,
    } = serving;
    register_metrics(name);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = ClientConnections::new(limits.max_connections_per_client, trusted_proxies);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // No timer for hyper: the header read timeout is `header_deadline`'s.
    http.keep_alive(true);

    loop {
        let slot = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        let Some(client_slot) = clients.admit(peer.ip()) else {
            // Dropping the stream closes it; the slot is free again.
            closed_counter(name, CloseReason::PerClientCap).increment(1);
            continue;
        };
        // Small responses go out at once rather than waiting for more to send.
        let _ = stream.set_nodelay(true);
        let verdict = Arc::new(Verdict::default());
        let waiting = Waiting::new();
        let service = {
            let router = router.clone();
            let verdict = verdict.clone();
            let waiting = waiting.clone();
            service_fn(move |mut request: Request<Incoming>| {
                let served = Waiting::request_began(&waiting);
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let request = request.map(|body| Body::new(MinimumRate::new(body, verdict.clone())));
                let answer = router.clone().oneshot(request);
                async move {
                    let response = answer.await?;
                    Ok::<_, Infallible>(response.map(|body| Ending::new(body, served)))
                }
            })
        };
        let io = TokioIo::new(HeaderDeadline::new(
            StallGuard::new(stream, verdict.clone()),
            limits.header_read_timeout,
            waiting,
            verdict.clone(),
        ));
        let connection = graceful.watch(http.serve_connection(io, service));
        let open = metrics::gauge!("holdfast_http_connections_open", "listener" => name);
        open.increment(1.0);
        tokio::spawn(async move {
            let timed_out = connection.await.is_err_and(|error| error.is_timeout());
            let reason = verdict.reason().or(timed_out.then_some(CloseReason::HeaderTimeout));
            if let Some(reason) = reason {
                closed_counter(name, reason).increment(1);
            }
            open.decrement(1.0);
            drop(client_slot);
            drop(slot);
        });
    }

    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            listener = name,
            "requests still in flight after the shutdown grace were cut off"
        );
    }
}

/// An error about one connection (it was reset before we took it) needs no
/// pause; any other (no file descriptors left) does, and is logged.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionRefused
            | ErrorKind::Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %error, "accepting a connection failed; pausing");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}
