//! Slow and idle clients: a connection that does not deliver a request's
//! headers in time is closed, and the number served at once is capped, so
//! half-open connections cannot starve everyone else.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp, eventually, spawn_app_with};
use crate::slow_clients::closed_total;

/// The server's address as `host:port`, for raw connections.
fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends the first half of a request line: no CRLF, no headers.
async fn half_open(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /healthz HTT").await.unwrap();
    stream
}

/// Waits (at most `within`) for the server to close `stream`: `true` on EOF.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) => return true,
            // A response (a 408, say) before the close is fine; keep reading.
            Ok(Ok(_)) => continue,
            Ok(Err(error)) => panic!("the connection failed instead of closing: {error}"),
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_open_connections_neither_starve_others_nor_stay_open() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        // All 500 from one address: what one client may hold is
        // `slow_clients.rs`'s subject.
        settings
            .set("HOLDFAST_HEADER_READ_TIMEOUT", "2s")
            .set("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "1000");
    })
    .await;
    let address = socket_address(&app);
    let mut slow = Vec::new();
    for _ in 0..500 {
        slow.push(half_open(&address).await);
    }

    let started = Instant::now();
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    let served_in = started.elapsed();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(served_in < Duration::from_secs(1), "served in {served_in:?}");
    let opened = Instant::now();
    for (index, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream, Duration::from_secs(10)).await,
            "half-open connection {index} still open after {:?}",
            opened.elapsed()
        );
    }
    // Counted as the server's connection task ends, just after the close.
    // (Each look at the metrics on a new connection: the test client's
    // kept-alive one reaches its own header timeout about now.)
    eventually(
        "every closed connection to be counted",
        Duration::from_secs(5),
        || async {
            let timed_out = closed_total(&app.address, "public", "header_timeout").await;
            (timed_out >= 500.0).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set("HOLDFAST_HEADER_READ_TIMEOUT", "1s");
    })
    .await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: holdfast\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"), "a response first");

    let closed = closed_by_server(&mut stream, Duration::from_secs(5)).await;

    assert!(closed, "the idle connection is closed");
}

/// The header read timeout keeps one timer per connection, moved on lazily
/// by each response: a connection answering requests for several times the
/// timeout, each within it of the last, is never cut, and is closed once it
/// falls idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_kept_busy_past_the_header_timeout_stays_open_until_it_falls_idle() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set("HOLDFAST_HEADER_READ_TIMEOUT", "1s");
    })
    .await;
    let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
    let mut buffer = [0u8; 4096];
    let started = Instant::now();
    let mut answered = 0;
    let mut last_answer = started;
    // Requests 400 ms apart for 3 s: past the first timer's deadline twice over.
    while started.elapsed() < Duration::from_secs(3) {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: holdfast\r\n\r\n")
            .await
            .unwrap();
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(
            buffer[..read].starts_with(b"HTTP/1.1 200"),
            "request {answered} answered after {:?}: {:?}",
            started.elapsed(),
            String::from_utf8_lossy(&buffer[..read])
        );
        answered += 1;
        last_answer = Instant::now();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(answered >= 6, "{answered} requests");

    let closed = closed_by_server(&mut stream, Duration::from_secs(5)).await;

    assert!(closed, "the connection is closed once idle");
    // The timeout runs from the response's end, just before the client read it.
    assert!(
        last_answer.elapsed() >= Duration::from_millis(900),
        "closed {:?} after the last answer, before its timeout could run out",
        last_answer.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_the_connection_limit_a_new_connection_waits_for_a_free_slot() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings
            .set("HOLDFAST_HEADER_READ_TIMEOUT", "1s")
            .set("HOLDFAST_MAX_CONNECTIONS", "2");
    })
    .await;
    let address = socket_address(&app);
    let _slow = [half_open(&address).await, half_open(&address).await];

    let started = Instant::now();
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    let served_in = started.elapsed();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        served_in >= Duration::from_millis(500),
        "served in {served_in:?}, before either slot could free up"
    );
}
