//! The admin API's moving parts: reset, the event log, seeded faults, the config and the clock.

use std::time::{Duration, Instant};

use protocol::wire::Answer;
use serde_json::json;
use time::Duration as TimeDuration;

use super::{START, kinds, once_ended, rfc3339, start};
use crate::support::{
    self, DEAD_CALLBACK, Req, Server, T0, callback_receiver, check_error, check_oauth_error,
    hanging_receiver, new_device,
};

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
