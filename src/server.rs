//! Serving a router on a listener (HTTP/1.1), for the main and the admin
//! listener alike.
//!
//! What `axum::serve` does not offer and an exposed service needs:
//!
//! - **A header read timeout.** A connection must deliver a request's
//!   complete headers within `HOLDFAST_HEADER_READ_TIMEOUT` of the server
//!   starting to wait for them, or it is closed. Hyper starts that clock when
//!   a connection opens and again as soon as a response is written on a
//!   kept-alive connection, so the same limit is the idle keep-alive timeout:
//!   a connection idle that long between requests is closed too.
//! - **A connection limit.** At most `HOLDFAST_MAX_CONNECTIONS` connections
//!   are served at once per listener; past it the server stops accepting and
//!   new connections wait in the kernel's queue until one closes. Together
//!   with the timeout, a client holding connections open without sending
//!   requests (slowloris) holds each for seconds, not forever, and cannot
//!   make the process run out of file descriptors.
//! - **The peer address** on every request (`ConnectInfo<SocketAddr>`), from
//!   which [`crate::client_address`] derives the client address.
//! - **Graceful shutdown.** When `shutdown` is cancelled the listener stops
//!   accepting, idle connections close, requests in flight finish (for at
//!   most `grace`), and then `serve` returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::ServerLimits;

/// How long to pause accepting after an error that is not about one
/// connection (out of file descriptors, say), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets the
/// requests in flight finish for at most `grace`. `name` labels the metrics:
/// `holdfast_http_connections_open` and
/// `holdfast_http_connections_timed_out_total` (closed for not sending a
/// request's headers in time, idle kept-alive connections included).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);

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
        // Small responses go out at once rather than waiting for more to send.
        let _ = stream.set_nodelay(true);
        let service = {
            let router = router.clone();
            service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(request.map(Body::new))
            })
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let open = metrics::gauge!("holdfast_http_connections_open", "listener" => name);
        open.increment(1.0);
        tokio::spawn(async move {
            if let Err(error) = connection.await
                && error.is_timeout()
            {
                metrics::counter!("holdfast_http_connections_timed_out_total", "listener" => name).increment(1);
            }
            open.decrement(1.0);
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
