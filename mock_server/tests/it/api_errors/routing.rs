//! The routing table: unknown paths and wrong methods, refused before any other check.

use serde_json::json;

use super::{ADMIN_NOT_FOUND, Expect, World, case};
use crate::support::Req;

/// GEN-008: unknown paths and wrong methods, before any other check.
#[tokio::test]
async fn routing_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "GEN-008",
            "device API: unknown path",
            |_| Req::get("/mobile-auth/v1/nope"),
            Expect::Err(404, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-008",
            "device API: unknown path under a known one",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answers", w.t.id))
                    .bearer(&w.ta)
                    .json(json!({}))
            },
            Expect::Err(404, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-008",
            "relying-party API: unknown path",
            |_| Req::get("/oauth/api/v4/nope"),
            Expect::Err(404, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-008",
            "relying-party API: unknown path, authenticated",
            |_| Req::get("/oauth/api/v4/authenticate/users").portal(),
            Expect::Err(404, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-008",
            "admin API: unknown path without a token",
            |_| Req::get("/_admin/v1/nope"),
            ADMIN_NOT_FOUND,
        ),
        case("GEN-008", "admin API: unknown path", |_| Req::get("/_admin/v1/nope").admin(), ADMIN_NOT_FOUND),
        case(
            "GEN-008 AUTH-007",
            "token endpoint: GET",
            |_| Req::get("/oauth/token"),
            Expect::OAuth(405, "invalid_request"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "enrollments: PUT",
            |w| Req::put("/mobile-auth/v1/enrollments").bearer(&w.ta).json(json!({})),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "enrollment: POST, no token",
            |w| Req::post(format!("/mobile-auth/v1/enrollments/{}", w.a.id)),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["GET", "DELETE"]),
        case(
            "GEN-008",
            "answer: GET",
            |w| Req::get(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id)).bearer(&w.ta),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "OTP requests: GET",
            |_| Req::get("/mobile-auth/v1/otp/requests"),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "authenticate/user: GET",
            |_| Req::get("/oauth/api/v4/authenticate/user"),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "transaction: POST",
            |w| Req::post(format!("/oauth/api/v4/authenticate/transaction/{}", w.t.id)).portal(),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["GET"]),
        case(
            "GEN-008",
            "enabled: DELETE",
            |_| Req::delete("/oauth/api/v4/authenticate/user/alice/enabled"),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["GET"]),
        case(
            "GEN-008",
            "admin config: DELETE without a token",
            |_| Req::delete("/_admin/v1/config"),
            ADMIN_INVALID_405,
        )
        .allow(&["GET", "PUT"]),
        case("GEN-008", "admin reset: GET", |_| Req::get("/_admin/v1/reset").admin(), ADMIN_INVALID_405)
            .allow(&["POST"]),
        case("GEN-008", "admin events: POST", |_| Req::post("/_admin/v1/events").admin(), ADMIN_INVALID_405)
            .allow(&["GET"]),
    ];
    w.run("routing", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

const ADMIN_INVALID_405: Expect = Expect::Err(405, 20001, "INVALID_ADMIN_REQUEST");
