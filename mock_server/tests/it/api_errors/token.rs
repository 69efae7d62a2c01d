//! The token endpoint's table: its RFC 6749 errors and the order it checks them in.

use serde_json::json;

use super::{
    Expect, INVALID_CLIENT, INVALID_GRANT, OAUTH_INVALID_REQUEST, UNSUPPORTED_GRANT, World, case, token_form,
};
use crate::support::{APP_CLIENT, BODY_LIMIT, Req, form_of_len};

/// Contract section 2, AUTH-002 to AUTH-007: the token endpoint's RFC 6749 errors and their order.
#[tokio::test]
async fn token_endpoint() {
    let w = World::build().await;
    let good = token_form("alice", "alice-password", APP_CLIENT);
    let cases = vec![
        case("AUTH-001", "valid request (control)", move |w| w.token_req(&good), Expect::Ok(200)),
        case(
            "AUTH-002",
            "wrong password",
            |w| w.token_req(&token_form("alice", "bob-password", APP_CLIENT)),
            INVALID_GRANT,
        ),
        case(
            "AUTH-002",
            "unknown user",
            |w| w.token_req(&token_form("mallory", "x", APP_CLIENT)),
            INVALID_GRANT,
        ),
        case(
            "AUTH-004",
            "grant_type client_credentials",
            |w| {
                w.token_req("grant_type=client_credentials&username=alice&password=alice-password&client_id=mobauth-app")
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-004",
            "grant_type PASSWORD (case matters)",
            |w| {
                w.token_req(
                    "grant_type=PASSWORD&username=alice&password=alice-password&client_id=mobauth-app",
                )
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-003",
            "unknown app client",
            |w| w.token_req(&token_form("alice", "alice-password", "nope")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-003",
            "an API client's id",
            |w| w.token_req(&token_form("alice", "alice-password", "portal")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-005",
            "missing username",
            |w| w.token_req("grant_type=password&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing password",
            |w| w.token_req("grant_type=password&username=alice&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing client_id",
            |w| w.token_req("grant_type=password&username=alice&password=alice-password"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing grant_type",
            |w| w.token_req("username=alice&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "empty password counts as missing",
            |w| w.token_req("grant_type=password&username=alice&password=&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "empty grant_type counts as missing",
            |w| w.token_req("grant_type=&username=alice&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "repeated username",
            |w| {
                w.token_req("grant_type=password&username=alice&username=alice&password=alice-password&client_id=mobauth-app")
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "repeated grant_type",
            |w| {
                w.token_req("grant_type=password&grant_type=password&username=alice&password=alice-password&client_id=mobauth-app")
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005 GEN-007",
            "JSON content type",
            |_| {
                Req::post("/oauth/token").json(json!({"grant_type": "password", "username": "alice",
                "password": "alice-password", "client_id": APP_CLIENT}))
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005 GEN-007",
            "no content type",
            |_| Req::post("/oauth/token").raw(None, token_form("alice", "alice-password", APP_CLIENT)),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "content type in capitals with charset is accepted",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8"),
                    token_form("alice", "alice-password", APP_CLIENT),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "AUTH-006",
            "unsupported grant beats a missing field",
            |w| w.token_req("grant_type=implicit&client_id=mobauth-app"),
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-006",
            "unsupported grant beats a repeated non-grant field",
            |w| {
                w.token_req(
                    "grant_type=implicit&username=alice&username=alice&password=p&client_id=mobauth-app",
                )
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-006",
            "missing field beats an unknown client",
            |w| w.token_req("grant_type=password&username=alice&client_id=nope"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-006",
            "unknown client beats a wrong password",
            |w| w.token_req(&token_form("alice", "wrong", "nope")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-006",
            "repeated grant_type beats an unsupported one",
            |w| {
                w.token_req(
                    "grant_type=implicit&grant_type=implicit&username=alice&password=p&client_id=mobauth-app",
                )
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-006 GEN-006",
            "body over 64 KiB",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&token_form("alice", "alice-password", APP_CLIENT), BODY_LIMIT + 1),
                )
            },
            Expect::OAuth(413, "invalid_request"),
        ),
        case(
            "GEN-006 GEN-010",
            "body of exactly 64 KiB (unknown field ignored)",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&token_form("alice", "alice-password", APP_CLIENT), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
    ];
    w.run("token endpoint", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}
