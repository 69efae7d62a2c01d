//! What the relying party switches: the callback whitelist, the `enabled` endpoint, and mobile
//! authentication disabled while work is under way.

use protocol::wire::Answer;
use serde_json::json;

use super::start;
use crate::support::{self, DEAD_CALLBACK, callback_receiver, check_error, new_device};

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
