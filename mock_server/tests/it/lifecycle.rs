//! Whole transactions and the server's moving parts: accept and deny end to end, expiry exactly at
//! the boundary, callbacks and their retries, the whitelist, `enabled`, reset, the event log,
//! seeded faults and the admin config.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mock_server::ClockMode;
use protocol::otp::Otp;
use protocol::wire::{Answer, AuthenticateUserResponse, OtpRequestResponse};
use serde_json::{Value, json};
use support::{
    DEAD_CALLBACK, Req, Server, T0, callback_receiver, check_error, check_oauth_error, hanging_receiver,
    new_device,
};
use time::format_description::well_known::Rfc3339;
use time::{Duration as TimeDuration, OffsetDateTime};

fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time string"), &Rfc3339).expect("RFC 3339")
}

/// A started transaction, as the portal got it.
async fn start(s: &Server, callback: &str) -> AuthenticateUserResponse {
    s.start_otp_ok(callback).await
}

/// OTP-001, OTP-005, RP-001, RP-014, RP-015, OTP-009, CB-001, CB-003: an accepted transaction end to end.
#[tokio::test]
async fn accept_flow_end_to_end() {
    let s = support::start("default").await;
    let mut cb = callback_receiver(&[]).await;
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);

    let callback_uri = cb.url("/portal/callback?session=1");
    let started = start(&s, &callback_uri).await;
    assert_eq!(started.auth_method, "OTP");
    assert_eq!(started.time_to_live, 300_000, "RP-001: the full TTL in ms");
    assert_eq!(started.otp.len(), 68, "OTP-001");
    let otp = Otp::decode(&started.otp).expect("OTP-001: the section 4 format");
    assert_eq!(otp.transaction_id, started.transaction_id, "OTP-001: the embedded transaction id");

    let pending = s.transaction_status(started.transaction_id).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["is_authenticated"], false);
    assert_eq!(pending["callback_uri"], callback_uri.as_str(), "RP-014: as it was given");
    assert_eq!(pending["authentication_method"], "OTP");
    assert_eq!(rfc3339(&pending["timestamp"]), T0, "RP-014: the creation time");
    assert!(
        pending.get("user_id").is_none() && pending.get("not_authenticated_reason").is_none(),
        "{pending}"
    );

    let request = s.otp_request(&ta, a.id, &started.otp).await;
    request.expect_status(200);
    let body = request.json();
    let request: OtpRequestResponse = request.parse();
    assert_eq!(body["type"], "qr-code");
    assert_eq!(request.transaction_id, started.transaction_id);
    assert_eq!(request.message, "Do you want to confirm this login?", "RP-009: the type's default");
    assert_eq!(request.timestamp, T0);
    assert_eq!(request.expires_at, T0 + TimeDuration::milliseconds(300_000), "OTP-005");
    assert_eq!(request.challenge.len(), 44, "OTP-005");
    assert_eq!(STANDARD.decode(&request.challenge).unwrap().len(), 32);

    let answer = s.answer(&ta, started.transaction_id, &a, &request.challenge, Answer::Accept).await;
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"transaction_id": started.transaction_id, "status": "accepted"}));

    let delivered = cb.next().await;
    assert_eq!(delivered.path, "/portal/callback?session=1");
    assert_eq!(delivered.content_type.as_deref(), Some("application/json"), "CB-001");
    assert_eq!(
        delivered.body,
        json!({"callback_uri": callback_uri, "transaction_id": started.transaction_id})
    );
    // CB-003: on receipt of the callback the final status is readable.
    let done = s.transaction_status(started.transaction_id).await;
    assert_eq!(done["status"], "accepted");
    assert_eq!(done["is_authenticated"], true);
    assert_eq!(done["user_id"], "alice");
    assert!(done.get("not_authenticated_reason").is_none(), "{done}");
    assert!(cb.try_next().is_none(), "CB-002: one delivery");
    s.shutdown().await;
}

/// OTP-006, OTP-009, RP-015: a deny by another user's device; the answering device's user is the user_id.
#[tokio::test]
async fn deny_flow_by_any_enrolled_device() {
    let s = support::start("default").await;
    let mut cb = callback_receiver(&[]).await;
    let tb = s.token("bob").await;
    let b = new_device(2);
    s.enroll(&tb, &b).await.expect_status(201);
    let started = start(&s, &cb.url("/cb")).await;
    let request = s.otp_request_ok(&tb, b.id, &started.otp).await;
    let answer = s.answer(&tb, started.transaction_id, &b, &request.challenge, Answer::Deny).await;
    answer.expect_status(200);
    assert_eq!(answer.json()["status"], "denied");
    assert_eq!(cb.next().await.body["transaction_id"], json!(started.transaction_id));
    let done = s.transaction_status(started.transaction_id).await;
    assert_eq!(done["status"], "denied");
    assert_eq!(done["is_authenticated"], false);
    assert_eq!(done["user_id"], "bob");
    assert_eq!(done["not_authenticated_reason"]["reason"], "not_accepted");
    assert!(done["not_authenticated_reason"]["description"].is_string());
    s.shutdown().await;
}

/// OTP-007, OTP-020: a new request call voids only that device's earlier challenge; a refused
/// answer leaves the transaction pending and the challenge usable.
#[tokio::test]
async fn challenges_are_per_device_and_not_consumed() {
    let s = support::start("default").await;
    let (ta, tb) = (s.token("alice").await, s.token("bob").await);
    let (a, b, stranger) = (new_device(1), new_device(2), new_device(3));
    s.enroll(&ta, &a).await.expect_status(201);
    s.enroll(&tb, &b).await.expect_status(201);
    let started = start(&s, DEAD_CALLBACK).await;
    let tx = started.transaction_id;
    let a1 = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    let b1 = s.otp_request_ok(&tb, b.id, &started.otp).await.challenge;
    let a2 = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    assert_ne!(a1, a2, "a new challenge each call");
    // A's first challenge is void: the server verifies against A's current one (OTP-007).
    check_error(&s.answer(&ta, tx, &a, &a1, Answer::Accept).await, 403, 10019, "INVALID_SIGNATURE");
    // A wrong key over A's live challenge: refused, still pending (OTP-020).
    let forged = support::Device { id: a.id, key: stranger.key.clone() };
    check_error(&s.answer(&ta, tx, &forged, &a2, Answer::Accept).await, 403, 10019, "INVALID_SIGNATURE");
    assert_eq!(s.transaction_status(tx).await["status"], "pending");
    // B's challenge stayed live through A's calls.
    s.answer(&tb, tx, &b, &b1, Answer::Deny).await.expect_status(200);
    check_error(&s.answer(&ta, tx, &a, &a2, Answer::Accept).await, 409, 9029, "ALREADY_HANDLED");
    assert_eq!(s.transaction_status(tx).await["user_id"], "bob");

    // OTP-020: the same device answers correctly over the same challenge after a refusal.
    let started = start(&s, DEAD_CALLBACK).await;
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    let tx = started.transaction_id;
    check_error(
        &s.answer(&ta, tx, &forged, &challenge, Answer::Accept).await,
        403,
        10019,
        "INVALID_SIGNATURE",
    );
    s.answer(&ta, tx, &a, &challenge, Answer::Accept).await.expect_status(200);
    s.shutdown().await;
}

/// OTP-019, OTP-015, RP-016, CB-004, GEN-005: expiry exactly at created + TTL, through the admin clock.
#[tokio::test]
async fn expiry_at_the_boundary() {
    let s = support::start("default").await;
    let mut cb = callback_receiver(&[]).await;
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let answered = start(&s, &cb.url("/answered")).await;
    let expiring = start(&s, &cb.url("/expiring")).await;
    let early = s.otp_request_ok(&ta, a.id, &expiring.otp).await.challenge;

    // 1 ms before created + TTL: handled normally.
    s.advance_clock(300_000 - 1).await;
    let challenge = s.otp_request_ok(&ta, a.id, &answered.otp).await.challenge;
    s.answer(&ta, answered.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    let late = s.otp_request_ok(&ta, a.id, &expiring.otp).await.challenge;
    assert_eq!(s.transaction_status(expiring.transaction_id).await["status"], "pending");
    let first = cb.next().await;
    assert_eq!(first.path, "/answered");

    // Exactly at created + TTL: expired.
    let now = s.advance_clock(1).await;
    assert_eq!(rfc3339(&now), T0 + TimeDuration::milliseconds(300_000));
    check_error(&s.otp_request(&ta, a.id, &expiring.otp).await, 410, 10020, "MOBILE_AUTH_REQUEST_EXPIRED");
    check_error(
        &s.answer(&ta, expiring.transaction_id, &a, &late, Answer::Accept).await,
        410,
        10020,
        "MOBILE_AUTH_REQUEST_EXPIRED",
    );
    // Over the voided early challenge: 10020 comes before 10019 (OTP-018).
    check_error(
        &s.answer(&ta, expiring.transaction_id, &a, &early, Answer::Accept).await,
        410,
        10020,
        "MOBILE_AUTH_REQUEST_EXPIRED",
    );
    let expired = s.transaction_status(expiring.transaction_id).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["is_authenticated"], false);
    assert!(expired.get("user_id").is_none(), "{expired}");
    assert_eq!(expired["not_authenticated_reason"]["reason"], "expired");
    // CB-004: the clock move alone sends the expiry callback, started before the move answered.
    let expiring_uri = cb.url("/expiring");
    assert_eq!(kinds(&s.callback_events(0, &expiring_uri).await)[0], START);
    let second = cb.next().await;
    assert_eq!(second.path, "/expiring");
    assert_eq!(second.body["transaction_id"], json!(expiring.transaction_id));
    // RP-016: the answered one stays accepted after its TTL.
    assert_eq!(s.transaction_status(answered.transaction_id).await["status"], "accepted");
    check_error(&s.otp_request(&ta, a.id, &answered.otp).await, 409, 9029, "ALREADY_HANDLED");
    s.shutdown().await;
}

/// AUTH-001, AUTH-009: `expires_in` is the configured TTL, tokens are new each time, and a token
/// works until issue + TTL and is refused from that instant; a new token leaves earlier ones valid.
#[tokio::test]
async fn access_token_lifetime() {
    let s = support::start("default").await;
    s.put_config_ok(json!({"access_token_ttl_s": 2})).await;
    let reply = s
        .token_reply(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("client_id", support::APP_CLIENT),
        ])
        .await;
    reply.expect_status(200);
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 2);
    assert_eq!(body["scope"], "mobile_auth");
    let first = body["access_token"].as_str().unwrap().to_string();
    let d = new_device(1).id.to_string();
    s.advance_clock(1000).await;
    let second = s.token("alice").await;
    assert_ne!(first, second, "AUTH-001: a new token at every call");
    s.advance_clock(999).await;
    check_error(&s.get_enrollment(&first, &d).await, 404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
    s.advance_clock(1).await;
    check_error(&s.get_enrollment(&first, &d).await, 401, 9010, "USER_NOT_AUTHENTICATED");
    check_error(&s.get_enrollment(&second, &d).await, 404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
    s.shutdown().await;
}

/// Callback events as `(kind, status)`.
fn kinds(events: &[(String, u16, OffsetDateTime)]) -> Vec<(&str, u16)> {
    events.iter().map(|(kind, status, _)| (kind.as_str(), *status)).collect()
}

const START: (&str, u16) = ("callback_start", 0);

/// Enrolls a device of alice's, starts a transaction with `callback_uri` and accepts it; returns
/// the event-log position just before the answer and the transaction's id.
async fn accept_with_callback(s: &Server, callback_uri: &str) -> (u64, uuid::Uuid) {
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let started = start(s, callback_uri).await;
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    let since = s.events(0).await.last_seq;
    s.answer(&ta, started.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    (since, started.transaction_id)
}

/// The callback events to `callback_uri` once `ended` attempts have ended: the server logs an
/// end after it read the receiver's answer, which the receiver cannot see.
async fn once_ended(
    s: &Server,
    since: u64,
    callback_uri: &str,
    ended: usize,
) -> Vec<(String, u16, OffsetDateTime)> {
    s.wait_for_events(since, "the ends of the callback attempts", |events| {
        events.iter().filter(|e| e.kind == "callback" && e.path == callback_uri).count() >= ended
    })
    .await;
    s.callback_events(since, callback_uri).await
}

/// CB-002, CB-005, CB-006, ADM-016: a failed delivery is retried once the server's clock has
/// moved the backoff past the failed attempt's end, not before; the first 2xx ends the series.
#[tokio::test]
async fn callback_retried_after_a_failed_delivery() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    let mut cb = callback_receiver(&[500, 204]).await;
    let uri = cb.url("/retry");
    let (since, tx) = accept_with_callback(&s, &uri).await;
    // The first attempt started before the answer came back, logged after the answer.
    let log = s.events(since).await.events;
    assert_eq!(
        log.iter().take(2).map(|e| (e.kind.as_str(), e.method.as_str(), e.status)).collect::<Vec<_>>(),
        vec![("request", "POST", 200), ("callback_start", "POST", 0)],
        "{log:?}"
    );
    let first = cb.next().await;
    assert_eq!(first.answered, 500);
    assert_eq!(kinds(&once_ended(&s, since, &uri, 1).await), vec![START, ("callback", 500)]);

    s.advance_clock(199).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 2, "no retry 199 ms after the failure");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await)[2], START, "the move started the retry");
    let second = cb.next().await;
    assert_eq!(second.answered, 204);
    assert_eq!(first.body, second.body, "the same body each attempt");
    let events = once_ended(&s, since, &uri, 2).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 500), START, ("callback", 204)]);

    // CB-002: delivery stops at the first 2xx. An hour on, far past every backoff, no attempt
    // has started (a clock move starts every attempt it makes due before it answers).
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4);
    assert!(cb.try_next().is_none());
    // The transaction is unaffected by delivery.
    assert_eq!(s.transaction_status(tx).await["status"], "accepted");
    s.shutdown().await;
}

/// CB-007: each retry starts when the server's clock has passed the end of the attempt before it
/// by 200, 400 and 800 ms, and not 1 ms earlier.
#[tokio::test]
async fn callback_backoff_doubles_on_the_server_clock() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    let mut cb = callback_receiver(&[500, 500, 500, 204]).await;
    let uri = cb.url("/backoff");
    let (since, _) = accept_with_callback(&s, &uri).await;
    for (ended, backoff) in [(1, 200), (2, 400), (3, 800)] {
        let events = once_ended(&s, since, &uri, ended).await;
        assert_eq!(events.len(), 2 * ended, "{events:?}");
        let (_, _, end) = events[2 * ended - 1];
        s.advance_clock(backoff - 1).await;
        assert_eq!(
            s.callback_events(since, &uri).await.len(),
            2 * ended,
            "no retry {} ms after attempt {ended} ended",
            backoff - 1
        );
        s.advance_clock(1).await;
        let events = s.callback_events(since, &uri).await;
        let (kind, _, started) = &events[2 * ended];
        assert_eq!(kind, "callback_start");
        assert_eq!(*started - end, TimeDuration::milliseconds(backoff), "retry {ended}");
    }
    let events = once_ended(&s, since, &uri, 4).await;
    let ends: Vec<u16> = events.iter().filter(|(k, _, _)| k == "callback").map(|(_, s, _)| *s).collect();
    assert_eq!(ends, vec![500, 500, 500, 204]);
    for expected in [500, 500, 500, 204] {
        assert_eq!(cb.next().await.answered, expected);
    }
    s.shutdown().await;
}

/// CB-006: with `callback_retries` 1 a receiver that always fails gets exactly 2 attempts.
#[tokio::test]
async fn callback_gives_up_after_the_configured_retries() {
    let s = support::start("default").await;
    s.put_config_ok(json!({"callback_retries": 1})).await;
    let mut cb = callback_receiver(&[503, 503]).await;
    let uri = cb.url("/failing");
    let (since, tx) = accept_with_callback(&s, &uri).await;
    assert_eq!(kinds(&once_ended(&s, since, &uri, 1).await), vec![START, ("callback", 503)]);
    s.advance_clock(5).await;
    let events = once_ended(&s, since, &uri, 2).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 503), START, ("callback", 503)]);
    // An hour on, far past every backoff: no third attempt has started.
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4);
    assert_eq!((cb.next().await.answered, cb.next().await.answered), (503, 503));
    assert!(cb.try_next().is_none());
    assert_eq!(s.transaction_status(tx).await["status"], "accepted", "delivery leaves it unchanged");
    s.shutdown().await;
}

/// CB-005: an attempt whose receiver does not answer fails once the server's clock has passed
/// its start by 5 s, ended by the clock move itself; its retry follows the backoff after that.
#[tokio::test]
async fn unanswered_attempt_fails_when_the_server_clock_passes_5_seconds() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    s.put_config_ok(json!({"callback_retries": 1})).await;
    let mut cb = hanging_receiver().await;
    let uri = cb.url("/silent");
    let (since, _) = accept_with_callback(&s, &uri).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START]);
    s.advance_clock(4_999).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START], "still open at 4999 ms");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START, ("callback", 0)]);
    cb.closed().await;
    s.advance_clock(199).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 2, "no retry 199 ms after the timeout");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START, ("callback", 0), START]);
    s.advance_clock(5_000).await;
    let events = s.callback_events(since, &uri).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 0), START, ("callback", 0)]);
    cb.closed().await;
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4, "callback_retries 1: given up");
    s.shutdown().await;
}

/// CB-005: while nobody moves the clock, an unanswered attempt still fails after the real-time
/// bound of `ServeOptions::callback_attempt_timeout`.
#[tokio::test]
async fn unanswered_attempt_fails_after_the_real_time_bound() {
    let s = support::start_configured("default", |options| {
        options.callback_attempt_timeout = Duration::from_millis(100);
    })
    .await;
    s.put_config_ok(json!({"callback_retries": 0})).await;
    let mut cb = hanging_receiver().await;
    let uri = cb.url("/silent");
    let (since, _) = accept_with_callback(&s, &uri).await;
    let events = once_ended(&s, since, &uri, 1).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 0)]);
    assert_eq!(events[1].2, T0, "the clock did not move");
    cb.closed().await;
    s.shutdown().await;
}

/// CB-007: with a running clock, retries come as real time passes, each at least the backoff
/// after the attempt before it ended.
#[tokio::test]
async fn retries_follow_a_running_clock() {
    let s = support::start_configured("default", |options| {
        options.clock = ClockMode::Running;
        options.callback_backoff = Duration::from_millis(20);
    })
    .await;
    let mut cb = callback_receiver(&[500, 500, 204]).await;
    let uri = cb.url("/running");
    let (since, _) = accept_with_callback(&s, &uri).await;
    for expected in [500, 500, 204] {
        assert_eq!(cb.next().await.answered, expected);
    }
    let events = once_ended(&s, since, &uri, 3).await;
    assert_eq!(
        kinds(&events),
        vec![START, ("callback", 500), START, ("callback", 500), START, ("callback", 204)]
    );
    for (retry, backoff) in [(2, 20), (4, 40)] {
        let waited = events[retry].2 - events[retry - 1].2;
        assert!(waited >= TimeDuration::milliseconds(backoff), "retry waited {waited}, not {backoff} ms");
    }
    s.shutdown().await;
}

/// RP-007, RP-008: whitelist entries match exactly, or as a prefix when they end with `/`;
/// an empty whitelist allows any absolute http(s) URL.
#[tokio::test]
async fn whitelist_prefix_rules() {
    let s = support::start("default").await;
    let mut cb = callback_receiver(&[]).await;
    let exact = cb.url("/exact");
    let prefix = cb.url("/hooks/");
    s.put_config_ok(json!({"callback_whitelist": [exact, prefix]})).await;
    let table: Vec<(String, bool)> = vec![
        (cb.url("/exact"), true),
        (cb.url("/exact/"), false),
        (cb.url("/exact?x=1"), false),
        (cb.url("/exac"), false),
        (cb.url("/hooks/"), true),
        (cb.url("/hooks/a/b?c=d"), true),
        (cb.url("/hooks"), false),
        (cb.url("/HOOKS/a"), false),
        ("https://elsewhere.example/hooks/a".to_string(), false),
    ];
    for (uri, allowed) in &table {
        let reply = s.start_otp(&[("type", "qr-code"), ("callback_uri", uri)]).await;
        if *allowed {
            assert_eq!(reply.status, 200, "{uri} must be allowed: {}", reply.text());
        } else {
            check_error(&reply, 400, 1003, "INVALID_PARAMETER");
        }
    }
    // A prefix-matched callback is delivered to the full URL.
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let started = start(&s, &cb.url("/hooks/a/b?c=d")).await;
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    s.answer(&ta, started.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    assert_eq!(cb.next().await.path, "/hooks/a/b?c=d");
    // Empty whitelist: anything absolute.
    s.put_config_ok(json!({"callback_whitelist": []})).await;
    s.start_otp(&[("type", "qr-code"), ("callback_uri", "https://anything.example/x")])
        .await
        .expect_status(200);
    s.shutdown().await;
}

/// RP-018, GEN-011: `enabled` per user, per OTP type, percent-decoded, and [] when disabled.
#[tokio::test]
async fn enabled_endpoint() {
    let s = support::start("default").await;
    let none = json!([]);
    assert_eq!(s.enabled("alice").await.expect_status(200).json(), none, "not enrolled");
    assert_eq!(s.enabled("nobody").await.expect_status(200).json(), none, "unknown user");
    let ta = s.token("alice").await;
    s.enroll(&ta, &new_device(1)).await.expect_status(201);
    let one = json!([{"type": "qr-code", "method": "OTP"}]);
    assert_eq!(s.enabled("alice").await.expect_status(200).json(), one);
    assert_eq!(s.enabled("bob").await.expect_status(200).json(), none, "per user");
    // One entry per configured type.
    s.put_config_ok(
        json!({"otp_types": [{"name": "qr-code"}, {"name": "push-like", "default_message": "m"}]}),
    )
    .await;
    assert_eq!(
        s.enabled("alice").await.expect_status(200).json(),
        json!([{"type": "qr-code", "method": "OTP"}, {"type": "push-like", "method": "OTP"}])
    );
    // GEN-011: [] while mobile authentication is disabled.
    s.put_config_ok(json!({"mobile_auth_enabled": false})).await;
    assert_eq!(s.enabled("alice").await.expect_status(200).json(), none);
    s.put_config_ok(json!({})).await;
    // The user_id in the path is percent-decoded.
    let tj = s.new_user("jo smith/é").await;
    s.enroll(&tj, &new_device(2)).await.expect_status(201);
    assert_eq!(s.enabled("jo%20smith%2F%C3%A9").await.expect_status(200).json(), one);
    s.shutdown().await;
}

/// GEN-011: with mobile authentication disabled, existing transactions, enrollment reads and
/// deletes, the token endpoint and callbacks keep working; new enrollments and transactions do not.
#[tokio::test]
async fn mobile_auth_disabled_keeps_existing_work_going() {
    let s = support::start("default").await;
    let mut cb = callback_receiver(&[]).await;
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let started = start(&s, &cb.url("/cb")).await;
    s.put_config_ok(json!({"mobile_auth_enabled": false})).await;

    let ta = s.token("alice").await;
    check_error(&s.enroll(&ta, &new_device(2)).await, 403, 9017, "ENROLLMENT_NOT_AVAILABLE");
    check_error(
        &s.start_otp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK)]).await,
        404,
        1000,
        "MOBILE_AUTHENTICATION_DISABLED",
    );
    s.get_enrollment(&ta, &a.id.to_string()).await.expect_status(200);
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    s.answer(&ta, started.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    assert_eq!(cb.next().await.body["transaction_id"], json!(started.transaction_id));
    assert_eq!(s.transaction_status(started.transaction_id).await["status"], "accepted");
    s.delete_enrollment(&ta, &a.id.to_string()).await.expect_status(204);
    s.shutdown().await;
}

/// ADM-014: reset answers {"reset": true}, every state made since start is gone, the start
/// configuration and clock are back, and the event sequence goes on.
#[tokio::test]
async fn reset_clears_state_and_sequence_continues() {
    let s = support::start("default").await;
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let tz = s.new_user("zoe").await;
    let started = start(&s, DEAD_CALLBACK).await;
    s.put_config_ok(json!({"message_max_length": 10, "enrollment_mode": "multiple_devices"})).await;
    s.put_faults(json!([{"path_prefix": "/nowhere", "status": 500}]), 0).await.expect_status(200);
    s.advance_clock(5_000).await;
    let before = s.events(0).await.last_seq;
    assert!(before > 0);

    // ADM-014: an empty body or {}; a refused reset (unknown key) changes nothing.
    check_error(
        &s.send(Req::post("/_admin/v1/reset").admin().json(json!({"keep": ["users"]}))).await,
        400,
        20001,
        "INVALID_ADMIN_REQUEST",
    );
    s.get_enrollment(&ta, &a.id.to_string()).await.expect_status(200);
    let reply = s.send(Req::post("/_admin/v1/reset").admin().json(json!({}))).await;
    assert_eq!(reply.expect_status(200).json(), json!({"reset": true}));
    assert_eq!(s.reset().await, json!({"reset": true}), "an empty body");

    check_error(&s.get_enrollment(&ta, &a.id.to_string()).await, 401, 9010, "USER_NOT_AUTHENTICATED");
    check_error(&s.get_enrollment(&tz, &a.id.to_string()).await, 401, 9010, "USER_NOT_AUTHENTICATED");
    check_oauth_error(
        &s.token_reply(&[
            ("grant_type", "password"),
            ("username", "zoe"),
            ("password", "zoe-password"),
            ("client_id", support::APP_CLIENT),
        ])
        .await,
        400,
        "invalid_grant",
    );
    let ta = s.token("alice").await;
    check_error(
        &s.get_enrollment(&ta, &a.id.to_string()).await,
        404,
        9021,
        "MOBILE_AUTHENTICATION_NOT_ENROLLED",
    );
    assert_eq!(s.enabled("alice").await.expect_status(200).json(), json!([]));
    check_error(
        &s.transaction(&started.transaction_id.to_string()).await,
        404,
        3004,
        "INVALID_TRANSACTION_ID",
    );
    let config = s.config().await;
    assert_eq!(config["message_max_length"], 155);
    assert_eq!(config["enrollment_mode"], "single_device");
    assert_eq!(rfc3339(&s.admin_get("/_admin/v1/clock").await.expect_status(200).json()["now"]), T0);
    // The fault list is empty again, and the device can enroll anew.
    s.enroll(&ta, &a).await.expect_status(201);
    let after = s.events(before).await;
    assert!(!after.events.is_empty());
    assert!(after.events.iter().all(|e| e.seq > before), "sequence numbers never restart");
    assert_eq!(after.events[0].seq, before + 1);
    s.shutdown().await;
}

/// ADM-014: a reset drops the callbacks waiting for a retry, and an attempt under way at the reset
/// ends but is not retried.
#[tokio::test]
async fn reset_drops_pending_callback_retries() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    let mut cb = callback_receiver(&[500]).await;
    let mut silent = hanging_receiver().await;
    let (pending_uri, open_uri) = (cb.url("/pending"), silent.url("/open"));
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let since = s.events(0).await.last_seq;
    for uri in [&pending_uri, &open_uri] {
        let started = start(&s, uri).await;
        let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
        s.answer(&ta, started.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    }
    assert_eq!(cb.next().await.answered, 500);
    assert_eq!(kinds(&once_ended(&s, since, &pending_uri, 1).await), vec![START, ("callback", 500)]);
    assert_eq!(kinds(&s.callback_events(since, &open_uri).await), vec![START]);

    s.reset().await;
    // The reset put the clock back at T0, where both attempts started: 5 s on, the open attempt
    // times out; an hour on, far past every backoff, neither series has a further attempt.
    s.advance_clock(5_000).await;
    assert_eq!(kinds(&s.callback_events(since, &open_uri).await), vec![START, ("callback", 0)]);
    silent.closed().await;
    s.advance_clock(3_600_000).await;
    assert_eq!(kinds(&s.callback_events(since, &pending_uri).await), vec![START, ("callback", 500)]);
    assert_eq!(kinds(&s.callback_events(since, &open_uri).await), vec![START, ("callback", 0)]);
    assert!(cb.try_next().is_none());
    s.shutdown().await;
}

/// ADM-015, ADM-016: `since` is exclusive, entries are in order, admin calls are not logged,
/// paths have no query, and every entry has the documented shape.
#[tokio::test]
async fn events_since() {
    let s = support::start("default").await;
    let fresh = s.admin_get("/_admin/v1/events").await.expect_status(200).json();
    assert_eq!(fresh, json!({"events": [], "last_seq": 0}));
    let ta = s.token("alice").await;
    let mark = s.events(0).await.last_seq;
    assert_eq!(mark, 1);

    s.admin_get("/_admin/v1/config").await.expect_status(200);
    check_error(&s.get_enrollment(&ta, "nope").await, 404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
    s.send(Req::get("/oauth/api/v4/authenticate/user/alice/enabled?x=1").portal()).await.expect_status(200);
    s.send(Req::get("/oauth/api/v4/authenticate/user/alice/enabled")).await.expect_status(401);
    s.advance_clock(250).await;
    check_oauth_error(&s.token_reply(&[("grant_type", "nope")]).await, 400, "unsupported_grant_type");

    let events = s.events(mark).await;
    let seen: Vec<Seen<'_>> = events
        .events
        .iter()
        .map(|e| (e.seq, e.kind.as_str(), e.method.as_str(), e.path.as_str(), e.status, e.error_code))
        .collect();
    assert_eq!(
        seen,
        vec![
            (2, "request", "GET", "/mobile-auth/v1/enrollments/nope", 404, Some(9021)),
            (3, "request", "GET", "/oauth/api/v4/authenticate/user/alice/enabled", 200, None),
            (4, "request", "GET", "/oauth/api/v4/authenticate/user/alice/enabled", 401, None),
            (5, "request", "POST", "/oauth/token", 400, None),
        ]
    );
    assert_eq!(events.last_seq, 5);
    assert_eq!(events.events[0].time, T0, "the server's clock");
    assert_eq!(events.events[3].time, T0 + TimeDuration::milliseconds(250));
    assert_eq!(s.events(4).await.events.len(), 1, "since is exclusive");
    assert!(s.events(5).await.events.is_empty());
    assert_eq!(
        s.admin_get("/_admin/v1/events").await.parse::<protocol::wire::EventsResponse>().events.len(),
        5
    );
    s.shutdown().await;
}

/// An event as (seq, kind, method, path, status, error_code).
type Seen<'a> = (u64, &'a str, &'a str, &'a str, u16, Option<u32>);

/// The statuses of `n` identical requests, as a pattern (0 for a connection error).
async fn pattern(s: &Server, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = s.try_send(Req::get("/oauth/api/v4/authenticate/user/alice/enabled").portal()).await;
        out.push(reply.map_or(0, |r| r.status));
    }
    out
}

/// ADM-010 to ADM-013: seeded faults repeat, count limits, drops, latency, order, and never the admin API.
#[tokio::test]
async fn faults_are_seeded_and_limited() {
    let s = support::start("default").await;
    let coin = json!([{"method": "get", "path_prefix": "/oauth/api/v4/", "status": 503, "probability": 0.5}]);
    let stored = s.put_faults(coin.clone(), 42).await;
    stored.expect_status(200);
    assert_eq!(stored.json()[0]["status"], 503, "PUT answers the stored list");
    let first = pattern(&s, 48).await;
    s.put_faults(coin.clone(), 42).await.expect_status(200);
    let again = pattern(&s, 48).await;
    s.put_faults(coin, 43).await.expect_status(200);
    let other = pattern(&s, 48).await;
    assert_eq!(first, again, "same seed, same requests: the same faults");
    assert_ne!(first, other, "another seed: other faults (equal with probability 2^-48)");
    let hits = first.iter().filter(|st| **st == 503).count();
    assert!((8..=40).contains(&hits), "p = 0.5 over 48 requests gave {hits}");
    assert!(first.iter().all(|st| matches!(st, 200 | 503)));
    // The injected body (ADM-012).
    s.put_faults(json!([{"path_prefix": "/oauth/api/v4/", "status": 502}]), 0).await.expect_status(200);
    check_error(
        &s.send(Req::get("/oauth/api/v4/authenticate/user/alice/enabled").portal()).await,
        502,
        20009,
        "INJECTED_FAULT",
    );
    // ADM-011: never the admin API, even for a rule that matches everything.
    s.put_faults(json!([{"status": 500}]), 0).await.expect_status(200);
    s.admin_get("/_admin/v1/config").await.expect_status(200);
    s.admin_get("/_admin/v1/events").await.expect_status(200);
    assert_eq!(pattern(&s, 2).await, vec![500, 500]);

    // ADM-013: count; ADM-011: list order, at most one rule per request.
    s.put_faults(
        json!([
            {"method": "GET", "path_prefix": "/oauth/api/v4/authenticate/user/", "status": 429, "count": 2},
            {"path_prefix": "/oauth/api/v4/", "status": 503, "count": 1},
            {"method": "POST", "status": 500},
        ]),
        0,
    )
    .await
    .expect_status(200);
    assert_eq!(pattern(&s, 5).await, vec![429, 429, 503, 200, 200]);

    // ADM-012: a dropped connection is a client-side connection error; logged with status 0.
    s.put_faults(json!([{"path_prefix": "/oauth/api/v4/authenticate/user/", "drop_connection": true, "status": 500, "count": 1}]), 0)
        .await
        .expect_status(200);
    let since = s.events(0).await.last_seq;
    assert_eq!(pattern(&s, 2).await, vec![0, 200], "drop takes precedence over status");
    let logged: Vec<u16> = s.events(since).await.events.iter().map(|e| e.status).collect();
    assert_eq!(logged, vec![0, 200]);

    // ADM-012: latency is real time, then the request is handled normally.
    s.put_faults(json!([{"path_prefix": "/oauth/api/v4/", "latency_ms": 30, "count": 1}]), 0)
        .await
        .expect_status(200);
    let began = Instant::now();
    assert_eq!(pattern(&s, 1).await, vec![200]);
    assert!(began.elapsed() >= Duration::from_millis(30), "took {:?}", began.elapsed());

    // [] clears.
    s.put_faults(json!([]), 0).await.expect_status(200);
    assert_eq!(pattern(&s, 3).await, vec![200, 200, 200]);
    s.shutdown().await;
}

/// ADM-003 to ADM-005: the default config, PUT filling defaults (not previous values), and a
/// refused PUT leaving the config unchanged.
#[tokio::test]
async fn put_config_fills_defaults_and_refuses_unknown_keys() {
    let s = support::start("default").await;
    let default = json!({
        "mobile_auth_enabled": true,
        "enrollment_enabled": true,
        "enrollment_mode": "single_device",
        "message_max_length": 155,
        "otp_types": [{"name": "qr-code", "expires_in_s": 300, "default_message": "Do you want to confirm this login?"}],
        "callback_whitelist": [],
        "callback_retries": 3,
        "access_token_ttl_s": 3600,
    });
    assert_eq!(s.config().await, default, "ADM-003");
    let first = s.put_config_ok(json!({"message_max_length": 10, "callback_retries": 0})).await;
    assert_eq!(first["message_max_length"], 10);
    let second =
        s.put_config_ok(json!({"enrollment_mode": "multiple_devices", "otp_types": [{"name": "t"}]})).await;
    let mut expected = default.clone();
    expected["enrollment_mode"] = json!("multiple_devices");
    expected["otp_types"] = json!([{"name": "t", "expires_in_s": 300}]);
    assert_eq!(second, expected, "ADM-004: missing keys take defaults, not previous values");
    assert_eq!(s.config().await, expected);
    // It applies at once: message_max_length is 155 again, type "t" has no default message.
    check_error(
        &s.start_otp(&[("type", "t"), ("callback_uri", DEAD_CALLBACK)]).await,
        400,
        1003,
        "INVALID_PARAMETER",
    );
    let started =
        s.start_otp(&[("type", "t"), ("callback_uri", DEAD_CALLBACK), ("message", &"m".repeat(155))]).await;
    assert_eq!(started.expect_status(200).json()["time_to_live"], 300_000);

    for refused in [
        json!({"enrollment_mode": "single_device", "surprise": true}),
        json!({"otp_types": [{"name": "x", "expires_in_s": 5, "ttl": 1}]}),
        json!({"enrollment_mode": "sometimes"}),
        json!({"message_max_length": 0}),
    ] {
        check_error(&s.admin_put_config(refused.clone()).await, 400, 20001, "INVALID_ADMIN_REQUEST");
        assert_eq!(s.config().await, expected, "unchanged after {refused}");
    }
    s.shutdown().await;
}

/// ADM-006, ADM-007, GEN-003: the admin clock moves forward, back, and stands still between moves.
#[tokio::test]
async fn admin_clock() {
    let s = support::start("default").await;
    let read = || async { s.admin_get("/_admin/v1/clock").await.expect_status(200).json()["now"].clone() };
    assert_eq!(read().await, json!("2026-01-01T00:00:00Z"));
    let moved = s.advance_clock(1_500).await;
    assert_eq!(rfc3339(&moved), T0 + TimeDuration::milliseconds(1_500));
    let text = moved.as_str().unwrap();
    let fraction = text.split_once('.').map_or("", |(_, f)| f.trim_end_matches('Z'));
    assert!(text.ends_with('Z') && fraction.len() <= 3, "GEN-003: UTC, at most ms: {text}");
    assert_eq!(read().await, moved, "ADM-007: it stands still");
    assert_eq!(read().await, moved);
    let back = s.admin_post("/_admin/v1/clock", json!({"set": "2025-12-31T23:00:00+01:00"})).await;
    assert_eq!(
        rfc3339(&back.expect_status(200).json()["now"]),
        T0 - TimeDuration::hours(2),
        "set may go back, any offset"
    );
    s.admin_post("/_admin/v1/clock", json!({"advance_ms": 0})).await.expect_status(200);
    assert_eq!(rfc3339(&read().await), T0 - TimeDuration::hours(2));
    s.shutdown().await;
}
