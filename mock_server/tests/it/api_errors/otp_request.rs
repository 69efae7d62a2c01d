//! The table of the device's OTP request call (`POST /mobile-auth/v1/otp/requests`).

use forge::otp::{byte_flipped, bytes_added, version_set};
use serde_json::json;

use super::{
    ALREADY_HANDLED, DISENROLLED, EXPIRED, Expect, INVALID_REQUEST, NOT_AUTHENTICATED, NOT_ENROLLED,
    REQUEST_NOT_FOUND, World, case, otp_non_canonical, unknown_tx_otp,
};
use crate::support::{BODY_LIMIT, Req, json_of_len};

/// Contract 3.2 and 8, OTP-011 to OTP-019, REN-006, AUTH-008, GEN-006/007/009: the request call.
#[tokio::test]
async fn otp_request_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "AUTH-008",
            "no token",
            |w| Req::post("/mobile-auth/v1/otp/requests").json(json!({"device_id": w.a.id, "otp": w.t.otp})),
            NOT_AUTHENTICATED,
        ),
        case("AUTH-008", "expired token", |w| w.otp(&w.t_expired, &w.a, &w.t.otp), NOT_AUTHENTICATED),
        case("OTP-017", "9010 before 10015", |w| w.otp("nope", &w.a, "not base64"), NOT_AUTHENTICATED),
        case(
            "OTP-011",
            "body is not JSON",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).raw(Some("application/json"), "{]"),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "body is a JSON array",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).json(json!([w.b.id, w.t.otp])),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp missing",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).json(json!({"device_id": w.a.id})),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp a number",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .json(json!({"device_id": w.a.id, "otp": 1}))
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "device_id not a UUID",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .json(json!({"device_id": "A", "otp": w.t.otp}))
            },
            INVALID_REQUEST,
        ),
        case("OTP-011", "otp not base64", |w| w.otp(&w.ta, &w.a, "this is not base64!"), INVALID_REQUEST),
        case(
            "OTP-011",
            "otp base64 of 48 bytes",
            |w| w.otp(&w.ta, &w.a, &forge::b64::encode([1u8; 48])),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp base64 of 50 bytes",
            |w| w.otp(&w.ta, &w.a, &bytes_added(&w.t.otp, &[0]).unwrap()),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp format version 0x02",
            |w| w.otp(&w.ta, &w.a, &version_set(&w.t.otp, 0x02).unwrap()),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp without padding",
            |w| w.otp(&w.ta, &w.a, &forge::b64::padding_changed(&w.t.otp).unwrap()),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp with a trailing newline",
            |w| w.otp(&w.ta, &w.a, &format!("{}\n", w.t.otp)),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp with non-zero unused bits (not canonical)",
            |w| w.otp(&w.ta, &w.a, &otp_non_canonical(&w.t.otp)),
            INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "text/plain content type",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .raw(Some("text/plain"), json!({"device_id": w.a.id, "otp": w.t.otp}).to_string())
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-006",
            "body over 64 KiB",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).raw(
                    Some("application/json"),
                    json_of_len(&json!({"device_id": w.a.id, "otp": w.t.otp}), BODY_LIMIT + 1),
                )
            },
            Expect::Err(413, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-006 OTP-006",
            "body of exactly 64 KiB (bob's device fetches T)",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests").bearer(&w.tb).raw(
                    Some("application/json"),
                    json_of_len(&json!({"device_id": w.b.id, "otp": w.t.otp}), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
        case("OTP-017", "10015 before 9021", |w| w.otp(&w.ta, &w.n, "AAAA"), INVALID_REQUEST),
        case("OTP-012", "never-enrolled device", |w| w.otp(&w.ta, &w.n, &w.t.otp), NOT_ENROLLED),
        case("OTP-012", "another user's device", |w| w.otp(&w.ta, &w.b, &w.t.otp), NOT_ENROLLED),
        case(
            "OTP-012 ENR-012",
            "device removed by its own DELETE: 9021, not 9023",
            |w| w.otp(&w.td, &w.d, &w.t.otp),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ADM-009",
            "device removed by the admin: 9021, not 9023",
            |w| w.otp(&w.te, &w.e, &w.t.otp),
            NOT_ENROLLED,
        ),
        case(
            "REN-006",
            "device disenrolled by another device's enrollment",
            |w| w.otp(&w.tc, &w.c1, &w.t.otp),
            DISENROLLED,
        ),
        case(
            "REN-006 OTP-012",
            "disenrolled device asked for by another user: 9021",
            |w| w.otp(&w.ta, &w.c1, &w.t.otp),
            NOT_ENROLLED,
        ),
        case("OTP-017", "9021 before 10013", |w| w.otp(&w.ta, &w.n, &unknown_tx_otp()), NOT_ENROLLED),
        case("OTP-017", "9023 before 10013", |w| w.otp(&w.tc, &w.c1, &unknown_tx_otp()), DISENROLLED),
        case("OTP-013", "unknown transaction", |w| w.otp(&w.ta, &w.a, &unknown_tx_otp()), REQUEST_NOT_FOUND),
        case(
            "OTP-013",
            "wrong secret",
            |w| w.otp(&w.ta, &w.a, &byte_flipped(&w.t.otp, 48, 0x80).unwrap()),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-017",
            "10013 before 9029 (wrong secret of an answered transaction)",
            |w| w.otp(&w.ta, &w.a, &byte_flipped(&w.t_done.otp, 20, 1).unwrap()),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-017",
            "10013 before 10020 (wrong secret of an expired transaction)",
            |w| w.otp(&w.ta, &w.a, &byte_flipped(&w.t_exp.otp, 20, 1).unwrap()),
            REQUEST_NOT_FOUND,
        ),
        case("OTP-014", "answered transaction", |w| w.otp(&w.ta, &w.a, &w.t_done.otp), ALREADY_HANDLED),
        case(
            "OTP-014 OTP-006",
            "answered transaction, another user's device",
            |w| w.otp(&w.tb, &w.b, &w.t_done.otp),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-017 RP-016",
            "9029 before 10020 (answered, TTL passed since)",
            |w| w.otp(&w.ta, &w.a, &w.t_done_short.otp),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-015 OTP-019",
            "expired transaction (clock exactly at created + TTL)",
            |w| w.otp(&w.ta, &w.a, &w.t_exp.otp),
            EXPIRED,
        ),
        case("OTP-015", "expired transaction, another device", |w| w.otp(&w.tb, &w.b, &w.t_exp.otp), EXPIRED),
        case(
            "GEN-011",
            "existing transaction with mobile_auth_enabled false (control)",
            |w| w.otp(&w.tb, &w.b, &w.t.otp),
            Expect::Ok(200),
        )
        .with_config(json!({"mobile_auth_enabled": false})),
    ];
    w.run("OTP request", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}
