//! The relying-party API's table: starting an OTP, its status and `enabled`.

use forge::body::basic_authorization;
use serde_json::json;
use uuid::Uuid;

use super::{
    Expect, INVALID_CLIENT, INVALID_PARAMETER, INVALID_TRANSACTION, MESSAGE_TOO_LONG, RP_DISABLED, RP_FORM,
    TYPE_NOT_FOUND, World, case,
};
use crate::support::{self, APP_CLIENT, BODY_LIMIT, DEAD_CALLBACK, Req, form_of_len};

/// Contract 5 and 8, AUTH-010, RP-002 to RP-013, RP-017: the relying-party API.
#[tokio::test]
async fn relying_party_errors() {
    let w = World::build().await;
    let emoji = |n: usize| "😀".repeat(n);
    let tx_path = |id: &str| format!("/oauth/api/v4/authenticate/transaction/{id}");
    let mut cases = vec![];
    // 401 on each endpoint, each cause (AUTH-010).
    let endpoints: [fn() -> Req; 3] = [
        || Req::post("/oauth/api/v4/authenticate/user").form(RP_FORM),
        || Req::get(format!("/oauth/api/v4/authenticate/transaction/{}", Uuid::nil())),
        || Req::get("/oauth/api/v4/authenticate/user/alice/enabled"),
    ];
    for build in endpoints {
        cases.extend([
            case("AUTH-010", "no credentials", move |_| build(), INVALID_CLIENT),
            case("AUTH-010", "wrong secret", move |_| build().basic("portal", "wrong"), INVALID_CLIENT),
            case(
                "AUTH-010",
                "unknown client",
                move |_| build().basic("nobody", "portal-secret"),
                INVALID_CLIENT,
            ),
            case("AUTH-010", "the app client's id", move |_| build().basic(APP_CLIENT, ""), INVALID_CLIENT),
            case(
                "AUTH-010",
                "Basic value not base64",
                move |_| build().auth_header("Basic !!!"),
                INVALID_CLIENT,
            ),
            case(
                "AUTH-010",
                "Basic value without a colon",
                move |_| build().auth_header(&basic_authorization("portal")),
                INVALID_CLIENT,
            ),
            case(
                "AUTH-010",
                "Bearer instead of Basic",
                move |_| build().auth_header("Bearer portal-secret"),
                INVALID_CLIENT,
            ),
        ]);
    }
    cases.extend([
        case(
            "RP-013",
            "credentials are form-url-decoded (a%3Ab / s+p)",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .auth_header(&basic_authorization("a%3Ab:s+p"))
                    .form(RP_FORM)
            },
            Expect::Ok(200),
        ),
        case(
            "RP-013",
            "undecoded a:b:s p splits at the first colon",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .auth_header(&basic_authorization("a:b:s p"))
                    .form(RP_FORM)
            },
            INVALID_CLIENT,
        ),
        case(
            "RP-012",
            "401 before 1000",
            |_| Req::post("/oauth/api/v4/authenticate/user").form(RP_FORM),
            INVALID_CLIENT,
        )
        .with_config(json!({"mobile_auth_enabled": false})),
        case("RP-003", "mobile_auth_enabled false", |w| w.rp(RP_FORM), RP_DISABLED)
            .with_config(json!({"mobile_auth_enabled": false})),
        case(
            "RP-012",
            "1000 before the body step",
            |_| Req::post("/oauth/api/v4/authenticate/user").portal().json(json!({"type": "qr-code"})),
            RP_DISABLED,
        )
        .with_config(json!({"mobile_auth_enabled": false})),
        case(
            "RP-002 GEN-007",
            "JSON body",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .portal()
                    .json(json!({"type": "qr-code", "callback_uri": DEAD_CALLBACK}))
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-002 GEN-007",
            "no content type",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(None, support::encode_form(RP_FORM))
            },
            INVALID_PARAMETER,
        ),
        case(
            "GEN-007",
            "content type with charset is accepted",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded; charset=UTF-8"),
                    support::encode_form(RP_FORM),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "RP-002",
            "repeated field",
            |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("message", "a"),
                    ("message", "b"),
                ])
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-002",
            "form that is not UTF-8",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    b"type=qr-code&callback_uri=http%3A%2F%2Fx%2F&message=%FF".to_vec(),
                )
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-012 GEN-006",
            "body over 64 KiB",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT + 1),
                )
            },
            Expect::Err(413, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-006 GEN-010",
            "body of exactly 64 KiB (unknown field ignored)",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "RP-012 GEN-006",
            "401 before 413",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT + 1),
                )
            },
            INVALID_CLIENT,
        ),
        case(
            "GEN-010",
            "OneWelcome's secure_message, ip_address, user_agent are ignored",
            |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("secure_message", "x"),
                    ("ip_address", "10.0.0.1"),
                    ("user_agent", "curl"),
                ])
            },
            Expect::Ok(200),
        ),
        case("RP-004", "type missing", |w| w.rp(&[("callback_uri", DEAD_CALLBACK)]), INVALID_PARAMETER),
        case(
            "RP-004",
            "type empty",
            |w| w.rp(&[("type", ""), ("callback_uri", DEAD_CALLBACK)]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-005",
            "unknown type",
            |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK)]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-005",
            "type name in another case",
            |w| w.rp(&[("type", "QR-CODE"), ("callback_uri", DEAD_CALLBACK)]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-006",
            "user_id present",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("user_id", "alice")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-006",
            "user_id present and empty",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("user_id", "")]),
            INVALID_PARAMETER,
        ),
        case("RP-007", "callback_uri missing", |w| w.rp(&[("type", "qr-code")]), INVALID_PARAMETER),
        case(
            "RP-007",
            "callback_uri empty",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri relative",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "/callback")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri ftp",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "ftp://portal.example/cb")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri without a host",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https:///cb")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri scheme in capitals is accepted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "HTTP://127.0.0.1:9/callback")]),
            Expect::Ok(200),
        ),
        case(
            "RP-007 RP-008",
            "callback_uri not whitelisted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https://evil.example/cb")]),
            INVALID_PARAMETER,
        )
        .with_config(json!({"callback_whitelist": ["https://portal.example/cb", "https://hooks.example/"]})),
        case(
            "RP-008",
            "whitelist entry without / is not a prefix",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https://portal.example/cb2")]),
            INVALID_PARAMETER,
        )
        .with_config(json!({"callback_whitelist": ["https://portal.example/cb"]})),
        case(
            "RP-009",
            "message missing and the type has no default",
            |w| w.rp(&[("type", "no-default"), ("callback_uri", DEAD_CALLBACK)]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-009",
            "message empty and the type has no default",
            |w| w.rp(&[("type", "no-default"), ("callback_uri", DEAD_CALLBACK), ("message", "")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-010",
            "156 four-byte code points",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(156))]),
            MESSAGE_TOO_LONG,
        ),
        case(
            "RP-010",
            "155 four-byte code points are accepted",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(155))]),
            Expect::Ok(200),
        ),
        case(
            "RP-010",
            "over a configured message_max_length of 3",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", "four")]),
            MESSAGE_TOO_LONG,
        )
        .with_config(json!({"message_max_length": 3})),
        case(
            "RP-011",
            "language_code \"english\"",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "english")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-011",
            "language_code \"en-\"",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "en-")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-011",
            "language_code nl-NL is accepted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "nl-NL")]),
            Expect::Ok(200),
        ),
        case(
            "RP-012",
            "missing type (1003) before user_id and callback_uri",
            |w| w.rp(&[("callback_uri", "/relative"), ("user_id", "alice")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-012",
            "3005 before user_id present",
            |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK), ("user_id", "alice")]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "3005 before a bad callback_uri",
            |w| w.rp(&[("type", "push"), ("callback_uri", "ftp://x")]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "3005 before a message too long",
            move |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(200))]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "bad callback_uri (1003) before a message too long (1005)",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", "ftp://x"), ("message", &emoji(200))]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-012",
            "message too long (1005) before a bad language_code (1003)",
            move |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("message", &emoji(200)),
                    ("language_code", "xxx"),
                ])
            },
            MESSAGE_TOO_LONG,
        ),
        // GET transaction (RP-017, GEN-009)
        case(
            "RP-017",
            "unknown transaction",
            move |_| Req::get(tx_path(&Uuid::nil().to_string())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017",
            "another API client's transaction",
            move |w| Req::get(tx_path(&w.t_other.to_string())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017",
            "the other client reads its own (control)",
            move |w| Req::get(tx_path(&w.t_other.to_string())).basic("other-portal", "other-secret"),
            Expect::Ok(200),
        ),
        case(
            "RP-017 GEN-009",
            "id not a UUID",
            move |_| Req::get(tx_path("tx-1")).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-018 GEN-009",
            "enabled for a user_id percent-encoded, not UTF-8: an unknown user",
            |_| Req::get("/oauth/api/v4/authenticate/user/%FF/enabled").portal(),
            Expect::Ok(200),
        ),
        case(
            "RP-017 GEN-009",
            "id percent-encoded, not UTF-8",
            move |_| Req::get(tx_path("%FF")).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017 GEN-009",
            "uppercase form of a known id",
            move |w| Req::get(tx_path(&w.t.id.to_string().to_uppercase())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "GEN-011",
            "GET transaction with mobile_auth_enabled false (control)",
            move |w| Req::get(tx_path(&w.t.id.to_string())).portal(),
            Expect::Ok(200),
        )
        .with_config(json!({"mobile_auth_enabled": false})),
    ]);
    w.run("relying party", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}
