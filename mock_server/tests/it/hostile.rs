//! The server's edges against clients that misbehave on purpose, over raw TCP: a client that
//! sends nothing or half its headers loses its connection after the read timeout, a body that
//! does not come gets 408, a malformed chunked body gets 400 (not 413), and a clock put at the
//! end of time leaves every time rule answering instead of panicking.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{Req, Server, start_configured};

/// The read timeout the server of these tests gets.
const READ_TIMEOUT: Duration = Duration::from_millis(300);

/// How long a test waits for the server's side of the exchange: far beyond the read timeout.
const BOUND: Duration = Duration::from_secs(10);

async fn server() -> Server {
    start_configured("default", |options| options.read_timeout = READ_TIMEOUT).await
}

/// Sends `bytes` on a fresh connection, then reads until the server closes it; returns what came
/// and how long after the send the connection closed.
async fn exchange(server: &Server, bytes: &[u8]) -> (String, Duration) {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("the server accepts a connection");
    stream.write_all(bytes).await.expect("the request goes out");
    let sent = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection within the bound")
        .expect("the connection reads to its end");
    (String::from_utf8_lossy(&answer).into_owned(), sent.elapsed())
}

/// The status and JSON body of an HTTP/1.1 answer read off the wire.
fn status_and_body(answer: &str) -> (u16, serde_json::Value) {
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("a JSON body ({e}): {answer}"));
    (status, body)
}

#[tokio::test]
async fn a_client_that_sends_no_headers_in_time_loses_its_connection() {
    let server = server().await;
    for (case, bytes) in
        [("nothing", &b""[..]), ("half the headers", b"GET /_admin/v1/clock HTTP/1.1\r\nHost: x\r\n")]
    {
        let (answer, after) = exchange(&server, bytes).await;
        assert!(
            after >= READ_TIMEOUT.saturating_sub(Duration::from_millis(50)),
            "{case}: closed after {after:?}"
        );
        assert!(!answer.contains("200 OK"), "{case}: no request was served: {answer}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_that_does_not_come_gets_408_and_a_malformed_chunk_gets_400() {
    let server = server().await;
    let before = server.send(Req::get("/_admin/v1/config").admin()).await.json();
    let head = |extra: &str| {
        format!(
            "PUT /_admin/v1/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nConnection: close\r\n{extra}\r\n",
            server.admin_token
        )
    };
    let cases = [
        ("a body shorter than its Content-Length", format!("{}{{\"", head("Content-Length: 10\r\n")), 408),
        (
            "a chunk size that is not hex",
            format!("{}zz\r\n{{}}\r\n0\r\n\r\n", head("Transfer-Encoding: chunked\r\n")),
            400,
        ),
    ];
    for (case, request, status) in cases {
        let (answer, _) = exchange(&server, request.as_bytes()).await;
        let (got, body) = status_and_body(&answer);
        assert_eq!(
            (got, &body["error_code"], &body["error_type"]),
            (status, &json!(20001), &json!("INVALID_ADMIN_REQUEST")),
            "{case}: {answer}"
        );
    }
    // Nothing of either body was taken.
    let after = server.send(Req::get("/_admin/v1/config").admin()).await.json();
    assert_eq!(after, before, "the configuration is as it was");
    server.shutdown().await;
}

#[tokio::test]
async fn a_clock_at_the_end_of_time_leaves_every_time_rule_answering() {
    let server = server().await;
    let set = server
        .send(Req::post("/_admin/v1/clock").admin().json(json!({"set": "9999-12-31T23:59:59.999Z"})))
        .await;
    set.expect_status(200);
    // A token and a transaction expire past the end of time: they saturate there.
    let token = server.token("alice").await;
    assert!(!token.is_empty(), "a token is issued");
    let started = server.start_otp_ok("http://127.0.0.1:9/callback").await;
    let status = server.transaction_status(started.transaction_id).await;
    assert_eq!(status["status"], json!("pending"), "{status}");
    let advance = server.send(Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": 1}))).await;
    assert_eq!(
        (advance.status, advance.json()["error_code"].clone()),
        (400, json!(20001)),
        "a move past the end of time is refused: {}",
        advance.text()
    );
    server.shutdown().await;
}

/// A long-lived server forgets what has ended: a transaction reads as expired until an hour past
/// its time to live and is unknown after (404 3004), an access token is refused as expired and
/// then as unknown (401 9010 both), so memory stays bounded however long the server runs.
#[tokio::test]
async fn ended_transactions_and_expired_tokens_are_forgotten_after_the_retention() {
    let server = server().await;
    let token = server.token("alice").await;
    let started = server.start_otp_ok("http://127.0.0.1:9/callback").await;
    // The defaults: an OTP lives 300 s, a token 3600 s, each is kept an hour past its end.
    assert_eq!(started.time_to_live, 300_000, "the default time to live");
    assert_eq!(mock_server::core::RETENTION, time::Duration::hours(1));
    let advance =
        |ms: i64| server.send(Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": ms})));
    // (the clock moves to this many seconds after the start, the transaction's status or error
    // code, the token's answer on a device call: 404 9021 for a valid token, 401 9010 otherwise)
    let table = [
        (301, (200, json!("expired")), (404, 9021)),
        (3_700, (200, json!("expired")), (401, 9010)),
        (7_300, (404, json!(3004)), (401, 9010)),
    ];
    let mut at_s = 0;
    for (to_s, (status, what), (token_status, token_code)) in table {
        advance((to_s - at_s) * 1000).await.expect_status(200);
        at_s = to_s;
        let read = server.transaction(&started.transaction_id.to_string()).await;
        let got = if read.status == 200 {
            read.json()["status"].clone()
        } else {
            read.json()["error_code"].clone()
        };
        assert_eq!((read.status, got), (status, what), "the transaction at {to_s} s: {}", read.text());
        let device = server.get_enrollment(&token, &uuid::Uuid::nil().to_string()).await;
        assert_eq!(
            (device.status, device.json()["error_code"].clone()),
            (token_status, json!(token_code)),
            "the token at {to_s} s: {}",
            device.text()
        );
    }
    server.shutdown().await;
}

/// A state file that is not one (another program's, or damaged) stops the start with a message
/// naming it, and is left as it was.
#[tokio::test]
async fn a_state_file_that_is_not_one_stops_the_start_and_is_left_alone() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mobauth-not-a-state-file");
    std::fs::write(&path, b"not a database").expect("a scratch file");
    let file =
        mock_server::ServerFile::load(&crate::support::fixture_path("default")).expect("the fixture parses");
    let mut options = mock_server::ServeOptions::new("127.0.0.1:0".parse().expect("an address"), file);
    options.state = Some(path.clone());
    match mock_server::serve(options).await {
        Err(e @ mock_server::ServeError::State(_)) => {
            assert!(e.to_string().contains("mobauth-not-a-state-file"), "{e}");
        }
        Err(e) => panic!("expected the state file to be refused, got {e}"),
        Ok(_) => panic!("a server started on a file that is no state file"),
    }
    assert_eq!(std::fs::read(&path).expect("the file is still there"), b"not a database");
    std::fs::remove_file(&path).expect("the scratch file is removed");
}
