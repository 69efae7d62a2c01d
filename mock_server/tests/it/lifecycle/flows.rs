//! Whole transactions: accept and deny end to end, challenges per device, expiry exactly at the
//! boundary, and the access token's lifetime.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::otp::Otp;
use protocol::wire::{Answer, OtpRequestResponse};
use serde_json::json;
use time::Duration as TimeDuration;

use super::{START, kinds, rfc3339, start};
use crate::support::{self, DEAD_CALLBACK, T0, callback_receiver, check_error, new_device};

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
