//! The portal page (`GET /`, `/portal/...`): the form, a transaction started through it with the
//! relying-party rules, its QR code as the reference portal renders it, the status endpoint and
//! frame as a device answers, the page's own callback, and the refusals shown on the page;
//! escaping and the pure views on their own.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test stops at the first broken step")]

use mock_server::portal_page::{self, FormView, StatusView, form_page, frame_page, status_path, status_view};
use protocol::wire::Answer;
use serde_json::Value;
use uuid::Uuid;

use crate::support::{PATIENCE, Reply, Req, Server, new_device, start};

/// The text between `start` and the next `end` after it in `html`.
fn between<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start:?} in the page:\n{html}")) + start.len();
    let to = html[from..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}")) + from;
    &html[from..to]
}

fn start_form(pairs: &[(&str, &str)]) -> Req {
    Req::post(portal_page::START).form(pairs)
}

fn fixture_form<'a>(callback: &'a str, message: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", "portal"),
        ("client_secret", "portal-secret"),
        ("type", "qr-code"),
        ("message", message),
        ("callback_uri", callback),
    ]
}

async fn status(server: &Server, transaction_id: Uuid) -> Value {
    let reply = server.send(Req::get(status_path(transaction_id))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn the_form_offers_the_servers_types_and_the_pages_own_callback() {
    let server = start("default").await;
    let reply = server.send(Req::get("/")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.media_type().as_deref(), Some("text/html"));
    assert_eq!(reply.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let csp = reply.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let html = reply.text();
    assert!(html.contains("<form method=\"post\" action=\"/portal/otp\">"), "{html}");
    assert!(html.contains("<option value=\"qr-code\" selected>"), "{html}");
    let host = server.url.trim_start_matches("http://");
    assert_eq!(
        between(&html, "name=\"callback_uri\" id=\"callback_uri\" value=\"", "\""),
        format!("http://{host}/portal/callback")
    );
    // Offline: nothing is loaded from another origin.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "{html}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_started_transaction_shows_the_reference_qr_and_its_status_follows_the_device() {
    let server = start("default").await;
    let callback = format!("{}{}", server.url, portal_page::CALLBACK);
    let reply = server.send(start_form(&fixture_form(&callback, "Pay 10 EUR?"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let html = reply.text();
    let otp = between(&html, "<code id=\"otp\">", "<").to_string();
    let transaction_id: Uuid =
        between(&html, "<code id=\"transaction-id\">", "<").parse().expect("the page shows a UUID");
    assert_eq!(between(&html, "<p id=\"message\">", "<"), "Pay 10 EUR?");
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        between(&html, "src=\"data:image/png;base64,", "\""),
    )
    .expect("the QR code is a base64 data URI");
    assert_eq!(png, qr::render_png(&otp, &qr::RenderOptions::default()).expect("renders"));
    assert_eq!(qr::decode(&png).expect("the page's QR code decodes"), otp);
    let otp_bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &otp).expect("base64");
    assert_eq!(otp_bytes.len(), 49);
    assert_eq!(&otp_bytes[1..17], transaction_id.as_bytes(), "the OTP names the page's transaction");

    // The relying-party API sees the same transaction, for the same client.
    let tx = server.transaction_status(transaction_id).await;
    assert_eq!((tx["status"].as_str(), tx["callback_uri"].as_str()), (Some("pending"), Some(&*callback)));
    let before = status(&server, transaction_id).await;
    assert_eq!(before["status"], "pending");
    assert_eq!(before["callback_received"], false);
    let frame = server.send(Req::get(portal_page::frame_path(transaction_id))).await.text();
    assert!(frame.contains("http-equiv=\"refresh\"") && frame.contains(">pending<"), "{frame}");

    let token = server.token("alice").await;
    let device = new_device(7);
    server.enroll_ok(&token, &device).await;
    let request = server.otp_request_ok(&token, device.id, &otp).await;
    assert_eq!(request.message, "Pay 10 EUR?");
    server
        .answer(&token, transaction_id, &device, &request.challenge, Answer::Accept)
        .await
        .expect_status(200);

    let after = status(&server, transaction_id).await;
    assert_eq!((after["status"].as_str(), after["user_id"].as_str()), (Some("accepted"), Some("alice")));
    let frame = server.send(Req::get(portal_page::frame_path(transaction_id))).await.text();
    assert!(!frame.contains("http-equiv=\"refresh\"") && frame.contains(">accepted<"), "{frame}");
    // The server calls the page back (at once, on its own client): bounded wait for the flag.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if status(&server, transaction_id).await["callback_received"] == true {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no callback reached the page within {PATIENCE:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn refusals_of_the_relying_party_rules_are_shown_on_the_form_with_the_servers_code() {
    let server = start("default").await;
    let callback = format!("{}{}", server.url, portal_page::CALLBACK);
    let mut form = fixture_form(&callback, "x");
    form[1] = ("client_secret", "wrong");
    let reply = server.send(start_form(&form)).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(
        between(&reply.text(), "id=\"error\">", "<").starts_with("401 invalid_client"),
        "{}",
        reply.text()
    );

    let long = "m".repeat(156);
    let reply = server.send(start_form(&fixture_form(&callback, &long))).await;
    assert_eq!(reply.status, 400);
    assert!(between(&reply.text(), "id=\"error\">", "<").starts_with("400 1005 MESSAGE_TOO_LONG"));
    assert!(reply.text().contains(&format!("value=\"{long}\"")), "the form keeps what was typed");

    let reply = server.send(start_form(&fixture_form("not a url", "x"))).await;
    assert_eq!(reply.status, 400);
    assert!(between(&reply.text(), "id=\"error\">", "<").starts_with("400 1003 INVALID_PARAMETER"));

    let reply = server.send(Req::post(portal_page::START).raw(Some("application/json"), "{}")).await;
    assert_eq!(reply.status, 400, "a body that is not a form: {}", reply.text());
    server.shutdown().await;
}

#[tokio::test]
async fn what_the_user_typed_is_escaped_on_every_page() {
    let server = start("default").await;
    let callback = format!("{}{}", server.url, portal_page::CALLBACK);
    let evil = "<script>alert('x')</script>\"&";
    let reply = server.send(start_form(&fixture_form(&callback, evil))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let html = reply.text();
    assert!(!html.contains("<script>alert"), "{html}");
    assert_eq!(
        between(&html, "<p id=\"message\">", "</p>"),
        "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&quot;&amp;"
    );
    // A refused form echoes the fields back into attributes.
    let mut form = fixture_form(&callback, "x");
    form[0] = ("client_id", "\"><script>alert(1)</script>");
    let reply: Reply = server.send(start_form(&form)).await;
    assert_eq!(reply.status, 401);
    assert!(
        reply.text().contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{}",
        reply.text()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_status_of_a_transaction_the_page_did_not_start_is_not_told() {
    let server = start("default").await;
    let started = server.start_otp_ok(crate::support::DEAD_CALLBACK).await;
    for path in [status_path(started.transaction_id), "/portal/otp/not-a-uuid/status".to_string()] {
        let reply = server.send(Req::get(&path)).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
        assert_eq!(reply.json()["error"], "this page started no such transaction");
    }
    // The page leaves the APIs' unknown routes as they were.
    let reply = server.send(Req::get("/portal/nothing")).await;
    crate::support::check_error(&reply, 404, 10015, "INVALID_REQUEST");
    let script = server.send(Req::get(portal_page::SCRIPT)).await;
    assert_eq!(script.media_type().as_deref(), Some("text/javascript"));
    assert!(script.text().contains("data-poll"));
    server.shutdown().await;
}

#[test]
fn the_frame_reloads_only_while_the_status_can_change() {
    let id = Uuid::nil();
    let view = |status: &str| StatusView {
        transaction_id: id,
        status: status.into(),
        user_id: Some("<alice>".into()),
        callback_received: true,
        error: None,
    };
    assert!(frame_page(&view("pending")).contains("http-equiv=\"refresh\""));
    for end in ["accepted", "denied", "expired", "unknown"] {
        let html = frame_page(&view(end));
        assert!(!html.contains("refresh"), "{end}: {html}");
        assert!(html.contains(&format!("class=\"s-{end}\">{end}<")), "{html}");
        assert!(html.contains("answered by &lt;alice&gt;; callback received"), "{html}");
    }
}

#[test]
fn a_refused_status_read_shows_as_unknown_with_the_servers_words() {
    let error = mock_server::core::ApiError::new(
        protocol::error::ErrorCode::InvalidTransactionId,
        "no such transaction for this client",
    );
    let view = status_view(Uuid::nil(), Err(error), false);
    assert_eq!(view.status, "unknown");
    assert_eq!(
        view.error.as_deref(),
        Some("404 3004 INVALID_TRANSACTION_ID: no such transaction for this client")
    );
    assert!(!view.is_pending());
}

#[test]
fn the_form_selects_the_chosen_type() {
    let view = FormView {
        client_id: "portal".into(),
        client_secret: "s".into(),
        types: vec![("a".into(), 60), ("b".into(), 300)],
        otp_type: "b".into(),
        message: "m".into(),
        callback_uri: "http://127.0.0.1:1/portal/callback".into(),
        error: None,
    };
    let html = form_page(&view);
    assert!(html.contains("<option value=\"a\">a (time to live 60 s)</option>"), "{html}");
    assert!(html.contains("<option value=\"b\" selected>b (time to live 300 s)</option>"), "{html}");
    assert!(!html.contains("id=\"error\""));
}
