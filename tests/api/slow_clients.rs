//! Slow clients never starve others (SPEC §1): a response left unread for
//! 10 s closes its connection, a body slower than 1 KiB/s is cut, pipelining
//! is bounded, and one client holds at most its share of connections. The
//! clients are real sockets bound to 127.0.0.2 (and .3, .4), talking to the
//! server on 127.0.0.1.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use holdfast::edge::server::WRITE_STALL_LIMIT;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::helpers::{Backend, TestApp, eventually, on_both_backends, p3_login, spawn_app, spawn_app_with};

on_both_backends!(a_client_holding_its_share_of_connections_does_not_delay_the_exchanges_holds_check);

/// The smallest receive buffer a test client asks for: the kernel takes it
/// as a floor (and doubles it), so the client's window stays a few KiB.
const TINY_RECEIVE_BUFFER: u32 = 1024;

/// More `/openapi.json` responses (129 KB each) than the kernel can buffer
/// between a server and a client that never reads (see [`kernel_capacity`]).
const PIPELINED: usize = 60;

pub fn server_address(address: &str) -> SocketAddr {
    address.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `local_ip`, with a receive buffer of `receive_buffer`
/// bytes when given (set before connecting, so the window is small from the
/// first byte). Returns the receive buffer the kernel granted.
pub async fn connect_from(local_ip: &str, server: SocketAddr, receive_buffer: Option<u32>) -> (TcpStream, u32) {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let granted = socket.recv_buffer_size().unwrap();
    socket
        .bind(SocketAddr::new(local_ip.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    (socket.connect(server).await.unwrap(), granted)
}

/// `count` pipelined requests for the API description.
fn pipelined_document_requests(count: usize) -> Vec<u8> {
    b"GET /openapi.json HTTP/1.1\r\nHost: holdfast\r\n\r\n".repeat(count)
}

/// A client that pipelines more requests for `/openapi.json` than the
/// kernel can buffer responses for, with a tiny receive window, and never
/// reads: the server's writes to it stall.
pub async fn stalled_reader(local_ip: &str, server: SocketAddr) -> TcpStream {
    let (mut stream, _) = connect_from(local_ip, server, Some(TINY_RECEIVE_BUFFER)).await;
    // A connection over its client's limit may already be closed: that is
    // for the caller to check.
    let _ = stream.write_all(&pipelined_document_requests(PIPELINED)).await;
    stream
}

/// The value of the series `name` with every one of `labels`, from the
/// metrics `client` reads at `base` (a client with a timeout, so a server
/// with no free slot fails the test rather than hanging it).
pub async fn metric(client: &reqwest::Client, base: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the metrics answer")
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
        .filter(|rest| {
            labels
                .iter()
                .all(|(label, value)| rest.contains(&format!(r#"{label}="{value}""#)))
        })
        .find_map(|rest| rest.rsplit_once(' ')?.1.parse().ok())
        .unwrap_or(0.0)
}

/// A client for reading metrics that gives up after two seconds.
pub fn metrics_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

pub async fn closed_total(base: &str, listener: &str, reason: &str) -> f64 {
    metric(
        &metrics_client(),
        base,
        "holdfast_http_connections_closed_total",
        &[("listener", listener), ("reason", reason)],
    )
    .await
}

/// Waits (at most `within`) for the server to reset `stream`, without
/// reading from it; returns when it noticed.
async fn reset_by_server(stream: &TcpStream, within: Duration) -> Instant {
    eventually("the server to reset the connection", within, || async move {
        match stream.take_error().unwrap() {
            Some(error) => {
                assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
                Some(Instant::now())
            }
            None => None,
        }
    })
    .await
}

/// Reads until the server closes `stream` (end of stream or reset), at most
/// `within`; returns what it sent first.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) => return received,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => return received,
            Ok(Err(error)) => panic!("the connection failed instead of closing: {error}"),
            Err(_) => panic!("the connection is still open after {within:?}"),
        }
    }
}

/// Sends a request on `stream` and reads its answer's status line.
async fn status_line_of(stream: &mut TcpStream, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buffer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

const HEALTH_CHECK: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: holdfast\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_pipelines_and_never_reads_is_disconnected_ten_seconds_after_its_writes_stall() {
    let app = spawn_app(Backend::Sqlite).await;
    let (mut stream, _) = connect_from("127.0.0.2", server_address(&app.address), Some(TINY_RECEIVE_BUFFER)).await;

    let sent = Instant::now();
    stream.write_all(&pipelined_document_requests(PIPELINED)).await.unwrap();
    let reset = reset_by_server(&stream, Duration::from_secs(30)).await;

    // The clock starts at the server's first stalled write, after `sent`.
    let after = reset - sent;
    assert!(after >= WRITE_STALL_LIMIT, "reset after {after:?}");
    assert!(
        after < WRITE_STALL_LIMIT + Duration::from_secs(4),
        "reset after {after:?}"
    );
    let stalled = closed_total(&app.address, "public", "write_stalled").await;
    assert_eq!(stalled, 1.0, "counted as a stalled write");
}

/// How many bytes of responses the kernel can hold between the server and
/// `client_receive_buffer`: the server socket's send buffer, which Linux
/// grows by itself up to `net.ipv4.tcp_wmem`'s maximum, and the client's
/// receive buffer.
fn kernel_capacity(client_receive_buffer: u32) -> usize {
    let wmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").expect("Linux's TCP settings");
    let largest_send_buffer: usize = wmem
        .split_whitespace()
        .last()
        .and_then(|value| value.parse().ok())
        .expect("tcp_wmem ends with the largest send buffer");
    largest_send_buffer + client_receive_buffer as usize
}

/// A signed alert as raw HTTP/1.1, for pipelining.
fn signed_alert_request(app: &TestApp, alert: &Value) -> Vec<u8> {
    let body = alert.to_string();
    let mut request = format!(
        "POST /v1/alerts HTTP/1.1\r\nHost: holdfast\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in app.ingest_key.headers(app.clock.now(), body.as_bytes()) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    request.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_is_read_at_most_one_request_ahead_of_the_response_it_is_writing() {
    let app = spawn_app(Backend::Sqlite).await;
    let (mut stream, receive_buffer) =
        connect_from("127.0.0.2", server_address(&app.address), Some(TINY_RECEIVE_BUFFER)).await;
    // Behind the documents, alerts: each one read would be stored.
    let mut pipeline = pipelined_document_requests(PIPELINED);
    for i in 0..5 {
        pipeline.extend(signed_alert_request(
            &app,
            &p3_login(&format!("re-{i}"), &format!("acct-{i}")),
        ));
    }

    stream.write_all(&pipeline).await.unwrap();
    // Once the server has given up on the connection, nothing more of it is read.
    reset_by_server(&stream, Duration::from_secs(30)).await;

    let served = metric(
        &metrics_client(),
        &app.address,
        "holdfast_http_request_duration_seconds_count",
        &[("route", "/openapi.json"), ("status", "200")],
    )
    .await as usize;
    // Each response handed to the socket, the one in the connection's write
    // buffer, and at most one more request read and answered behind it.
    let bound = kernel_capacity(receive_buffer) / holdfast::app::openapi::document().len() + 2;
    assert!(served >= 1, "the first requests were answered");
    assert!(
        served <= bound,
        "{served} of {PIPELINED} pipelined requests were answered; at most {bound} fit"
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM alerts").await,
        0,
        "no request behind the unread responses was read"
    );
}

async fn a_client_holding_its_share_of_connections_does_not_delay_the_exchanges_holds_check(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings
            .set("HOLDFAST_MAX_CONNECTIONS", "32")
            .set("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "16");
    })
    .await;
    let exchange = app.client_from("127.0.0.3");
    let server = server_address(&app.address);
    // The database pool and caches warmed, as the exchange's steady checks keep them.
    app.holds("acct-1").await;

    // As many connections as the listener has slots, none of them reading.
    let mut flood = Vec::new();
    for _ in 0..32 {
        flood.push(stalled_reader("127.0.0.2", server).await);
    }
    eventually(
        "the connections past the client's share to be closed",
        Duration::from_secs(5),
        || async { (closed_total(&app.address, "public", "per_client_cap").await >= 16.0).then_some(()) },
    )
    .await;
    let path = "/v1/accounts/acct-1/holds";
    let mut check = exchange.get(app.url(path));
    for (name, value) in app.ingest_key.headers(app.clock.now(), b"") {
        check = check.header(name, value);
    }

    let started = Instant::now();
    let response = check.send().await.unwrap();
    let answered_in = started.elapsed();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(answered_in < Duration::from_millis(100), "answered in {answered_in:?}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["frozen"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_over_the_per_client_cap_is_closed_at_once_and_a_trusted_proxy_is_exempt() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings
            .set("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "2")
            .set("HOLDFAST_TRUSTED_PROXIES", "127.0.0.3/32");
    })
    .await;
    let server = server_address(&app.address);
    let mut held = Vec::new();
    for _ in 0..2 {
        let (mut stream, _) = connect_from("127.0.0.2", server, None).await;
        assert_eq!(status_line_of(&mut stream, HEALTH_CHECK).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }

    let (mut over, _) = connect_from("127.0.0.2", server, None).await;
    let opened = Instant::now();
    let answer = read_until_closed(&mut over, Duration::from_secs(5)).await;
    let closed_in = opened.elapsed();
    let mut proxied = Vec::new();
    for _ in 0..5 {
        let (mut stream, _) = connect_from("127.0.0.3", server, None).await;
        let status = status_line_of(&mut stream, HEALTH_CHECK).await;
        proxied.push((stream, status));
    }
    let (mut other, _) = connect_from("127.0.0.4", server, None).await;
    let other_status = status_line_of(&mut other, HEALTH_CHECK).await;

    assert!(answer.is_empty(), "closed without an answer");
    assert!(closed_in < Duration::from_secs(1), "closed after {closed_in:?}");
    assert!(
        proxied.iter().all(|(_, status)| status == "HTTP/1.1 200 OK"),
        "every connection of the trusted proxy is served: {:?}",
        proxied.iter().map(|(_, status)| status).collect::<Vec<_>>()
    );
    assert_eq!(other_status, "HTTP/1.1 200 OK", "another client is not affected");
    assert_eq!(closed_total(&app.address, "public", "per_client_cap").await, 1.0);
}

/// Headers announcing a JSON body of `length` bytes for the holder's link request.
fn link_request_head(length: usize) -> Vec<u8> {
    format!(
        "POST /v1/unfreeze HTTP/1.1\r\nHost: holdfast\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

/// A link request's body padded with spaces to `length` bytes.
fn padded_link_body(length: usize) -> Vec<u8> {
    let mut body = br#"{"account_id": "acct-slow"}"#.to_vec();
    body.resize(length, b' ');
    body
}

/// How a trickled body ended.
struct Trickled {
    /// Everything the server sent until it closed the connection, or until
    /// its answer's head once the whole body was sent.
    answer: Vec<u8>,
    sent_all: bool,
    /// When the server's first byte arrived, or the connection closed.
    ended: Instant,
}

/// Sends `body` on `stream` in `chunk`-byte pieces, one every `every`, until
/// it is all sent and answered or the server closes the connection.
async fn trickle(stream: &mut TcpStream, body: &[u8], chunk: usize, every: Duration) -> Trickled {
    let (mut reader, mut writer) = stream.split();
    let mut answer = Vec::new();
    let mut first_byte = None;
    let mut buffer = [0u8; 4096];
    let mut pieces = body.chunks(chunk);
    let mut pace = tokio::time::interval(every);
    let mut sent_all = false;
    let mut writing = true;
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    first_byte.get_or_insert_with(Instant::now);
                    answer.extend_from_slice(&buffer[..read]);
                    if sent_all && answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            _ = pace.tick(), if writing => {
                let piece = pieces.next().expect("a piece is left while writing");
                let wrote = writer.write_all(piece).await.is_ok();
                sent_all = wrote && pieces.len() == 0;
                writing = wrote && !sent_all;
            },
        }
    }
    Trickled {
        answer,
        sent_all,
        ended: first_byte.unwrap_or_else(Instant::now),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_trickled_slower_than_a_kibibyte_a_second_is_cut_and_a_steady_one_is_not() {
    let app = spawn_app(Backend::Sqlite).await;
    let server = server_address(&app.address);

    // 6 KiB at 2 KiB/s: three seconds, above the rate throughout.
    let (mut steady, _) = connect_from("127.0.0.2", server, None).await;
    steady.write_all(&link_request_head(6 * 1024)).await.unwrap();
    let steady = trickle(
        &mut steady,
        &padded_link_body(6 * 1024),
        512,
        Duration::from_millis(250),
    )
    .await;
    // 4 KiB at 256 bytes/s: it would take sixteen seconds.
    let (mut slow, _) = connect_from("127.0.0.3", server, None).await;
    slow.write_all(&link_request_head(4 * 1024)).await.unwrap();
    let started = Instant::now();
    let slow = tokio::time::timeout(
        Duration::from_secs(30),
        trickle(&mut slow, &padded_link_body(4 * 1024), 64, Duration::from_millis(250)),
    )
    .await
    .expect("the server ends the trickle");
    let cut_after = slow.ended - started;

    assert!(steady.sent_all);
    let steady_answer = String::from_utf8_lossy(&steady.answer);
    assert!(steady_answer.starts_with("HTTP/1.1 202"), "{steady_answer}");
    assert!(!slow.sent_all, "the slow body was cut before its end");
    let slow_answer = String::from_utf8_lossy(&slow.answer);
    assert!(slow_answer.starts_with("HTTP/1.1 408"), "{slow_answer}");
    assert!(
        slow_answer.contains(r#""detail":"the request body arrived slower than 1 KiB/s""#),
        "{slow_answer}"
    );
    assert!(cut_after < Duration::from_secs(4), "cut after {cut_after:?}");
    assert_eq!(closed_total(&app.address, "public", "body_too_slow").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_reason_to_close_a_connection_is_counted_from_the_start() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set("HOLDFAST_EXCHANGE_LISTEN", "127.0.0.1:0");
    })
    .await;

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("# HELP holdfast_http_connections_closed_total ")),
        "{metrics}"
    );
    for listener in ["public", "exchange"] {
        for reason in ["header_timeout", "write_stalled", "body_too_slow", "per_client_cap"] {
            let series =
                format!(r#"holdfast_http_connections_closed_total{{listener="{listener}",reason="{reason}"}} 0"#);
            assert!(
                metrics.lines().any(|line| line == series),
                "no `{series}` in\n{metrics}"
            );
        }
    }
}
