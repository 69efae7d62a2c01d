//! The admin API's table: its authorisation, request and not-found errors.

use serde_json::json;

use super::{ADMIN_INVALID, ADMIN_NOT_FOUND, ADMIN_UNAUTHORIZED, Expect, World, case, world_config};
use crate::support::{BODY_LIMIT, Req, json_of_len};

/// Contract 6 and 8, ADM-002, ADM-005, ADM-006, ADM-008 to ADM-010, ADM-015, GEN-010: admin errors.
#[tokio::test]
async fn admin_errors() {
    let w = World::build().await;
    let cases = vec![
        case("ADM-002", "no token", |_| Req::get("/_admin/v1/config"), ADMIN_UNAUTHORIZED),
        case("ADM-002", "wrong token", |_| Req::get("/_admin/v1/config").bearer("nope"), ADMIN_UNAUTHORIZED),
        case(
            "ADM-002",
            "a user's access token",
            |w| Req::get("/_admin/v1/clock").bearer(&w.ta),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "Basic scheme",
            |_| Req::get("/_admin/v1/config").basic("admin", "mobauth-admin"),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 before a bad body",
            |_| Req::put("/_admin/v1/config").json(json!({"nope": 1})),
            ADMIN_UNAUTHORIZED,
        ),
        case("ADM-002", "20002 on reset", |_| Req::post("/_admin/v1/reset"), ADMIN_UNAUTHORIZED),
        case("ADM-002", "20002 on events", |_| Req::get("/_admin/v1/events"), ADMIN_UNAUTHORIZED),
        case(
            "ADM-002",
            "20002 on faults",
            |_| Req::put("/_admin/v1/faults").json(json!([])),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 on users",
            |_| Req::post("/_admin/v1/users").json(json!({"username": "x", "password": "y"})),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 on admin DELETE enrollment",
            |w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.a.id)),
            ADMIN_UNAUTHORIZED,
        ),
        // config (ADM-005, GEN-010)
        case(
            "ADM-005 GEN-010",
            "config: unknown key",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"nope": 1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: unknown key inside an OTP type",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a", "colour": "red"}]}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: unknown enrollment_mode",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"enrollment_mode": "many"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: message_max_length 0",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"message_max_length": 0})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: access_token_ttl_s 0",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"access_token_ttl_s": 0})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: expires_in_s 0",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a", "expires_in_s": 0}]}))
            },
            ADMIN_INVALID,
        ),
        // Hostile values: refused, never a panic (a time to live past the end of time).
        case(
            "ADM-005",
            "config: access_token_ttl_s 2^64-1",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"access_token_ttl_s": u64::MAX})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: expires_in_s past a hundred years",
            |_| {
                Req::put("/_admin/v1/config").admin().json(
                    json!({"otp_types": [{"name": "a", "expires_in_s": mock_server::core::MAX_TTL_S + 1}]}),
                )
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: negative callback_retries",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"callback_retries": -1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: empty OTP type name",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"otp_types": [{"name": ""}]})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: duplicate OTP type names",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a"}, {"name": "a"}]}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: a JSON array",
            |_| Req::put("/_admin/v1/config").admin().json(json!([])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: a JSON array",
            |_| Req::post("/_admin/v1/clock").admin().json(json!([1])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "users: a JSON array",
            |_| Req::post("/_admin/v1/users").admin().json(json!(["x", "y"])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: wrong JSON type",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"mobile_auth_enabled": "yes"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-002",
            "config: not JSON",
            |_| Req::put("/_admin/v1/config").admin().raw(Some("application/json"), "{"),
            ADMIN_INVALID,
        ),
        case(
            "GEN-007",
            "config: text/plain",
            |_| Req::put("/_admin/v1/config").admin().raw(Some("text/plain"), "{}"),
            ADMIN_INVALID,
        ),
        case(
            "GEN-006",
            "config: body over 64 KiB",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&world_config(None), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        case(
            "GEN-006",
            "config: body of exactly 64 KiB",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&world_config(None), BODY_LIMIT))
            },
            Expect::Ok(200),
        ),
        // clock (ADM-006)
        case(
            "ADM-006",
            "clock: empty object",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: both advance_ms and set",
            |_| {
                Req::post("/_admin/v1/clock")
                    .admin()
                    .json(json!({"advance_ms": 1, "set": "2026-01-01T00:00:00Z"}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: negative advance_ms",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": -1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: fractional advance_ms",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": 1.5})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: advance_ms i64::MAX",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": i64::MAX})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: advance_ms past i64",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": u64::MAX})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: set not RFC 3339",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"set": "yesterday"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006 GEN-010",
            "clock: unknown key",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_s": 1})),
            ADMIN_INVALID,
        ),
        case(
            "GEN-006",
            "clock: body over 64 KiB",
            |_| {
                Req::post("/_admin/v1/clock")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&json!({"advance_ms": 0}), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        // reset takes an empty body or {} (ADM-014); anything else is a malformed admin body.
        case(
            "ADM-014 GEN-010",
            "reset: unknown key",
            |_| Req::post("/_admin/v1/reset").admin().json(json!({"keep_users": true})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014 GEN-007",
            "reset: text/plain body",
            |_| Req::post("/_admin/v1/reset").admin().raw(Some("text/plain"), "{}"),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014",
            "reset: not JSON",
            |_| Req::post("/_admin/v1/reset").admin().raw(Some("application/json"), "please"),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014 GEN-006",
            "reset: body over 64 KiB",
            |_| {
                Req::post("/_admin/v1/reset")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&json!({}), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        // users and clients (ADM-008)
        case(
            "ADM-008",
            "users: password missing",
            |_| Req::post("/_admin/v1/users").admin().json(json!({"username": "x"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "users: empty username",
            |_| Req::post("/_admin/v1/users").admin().json(json!({"username": "", "password": "p"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008 GEN-010",
            "users: unknown key",
            |_| {
                Req::post("/_admin/v1/users")
                    .admin()
                    .json(json!({"username": "x", "password": "p", "admin": true}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "api-clients: secret missing",
            |_| Req::post("/_admin/v1/api-clients").admin().json(json!({"client_id": "x"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "app-clients: empty id",
            |_| Req::post("/_admin/v1/app-clients").admin().json(json!({"client_id": ""})),
            ADMIN_INVALID,
        ),
        // admin DELETE enrollment (ADM-009)
        case(
            "ADM-009",
            "unknown user",
            |w| Req::delete(format!("/_admin/v1/users/mallory/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device not enrolled for that user",
            |w| Req::delete(format!("/_admin/v1/users/bob/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device never enrolled",
            |w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.n.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "disenrolled device",
            |w| Req::delete(format!("/_admin/v1/users/carol/enrollments/{}", w.c1.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009 GEN-002",
            "username percent-encoded, not UTF-8",
            |w| Req::delete(format!("/_admin/v1/users/%FF/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device id not a UUID",
            |_| Req::delete("/_admin/v1/users/alice/enrollments/x").admin(),
            ADMIN_NOT_FOUND,
        ),
        // faults (ADM-010)
        case(
            "ADM-010",
            "faults: probability 1.5",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"probability": 1.5}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: status 99",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"status": 99}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: status 600",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"status": 600}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: negative latency",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"latency_ms": -5}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010 GEN-010",
            "faults: unknown key",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"drop": true}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: not a list",
            |_| Req::put("/_admin/v1/faults").admin().json(json!({"status": 500})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-013",
            "faults: seed not a number",
            |_| Req::put("/_admin/v1/faults?seed=x").admin().json(json!([])),
            ADMIN_INVALID,
        ),
        // events (ADM-015)
        case(
            "ADM-015",
            "events: since=-1",
            |_| Req::get("/_admin/v1/events?since=-1").admin(),
            ADMIN_INVALID,
        ),
        case(
            "ADM-015",
            "events: since=abc",
            |_| Req::get("/_admin/v1/events?since=abc").admin(),
            ADMIN_INVALID,
        ),
    ];
    w.run("admin", cases).await;
    // ADM-010: refused fault lists left none installed; ADM-005: the world config is intact.
    let config = w.s.config().await;
    assert_eq!(config["otp_types"].as_array().map(Vec::len), Some(3), "{config}");
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}
