//! The table of the device's answer call (`POST /mobile-auth/v1/otp/requests/{id}/answer`).

use forge::answer::SigningParts;
use forge::b64;
use protocol::wire::Answer;
use serde_json::json;
use uuid::Uuid;

use super::{
    ALREADY_HANDLED, DISENROLLED, EXPIRED, Expect, INVALID_REQUEST, INVALID_SIGNATURE, NOT_AUTHENTICATED,
    NOT_ENROLLED, REQUEST_NOT_FOUND, World, case,
};
use crate::support::{BODY_LIMIT, Req, json_of_len};

/// Contract 3.2 and 8, OTP-011 to OTP-018, REN-006, AUTH-008, GEN-009: the answer call.
#[tokio::test]
async fn otp_answer_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "AUTH-008",
            "no token",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .json(World::accept(&w.a, &w.t))
            },
            NOT_AUTHENTICATED,
        ),
        case(
            "AUTH-008",
            "expired token",
            |w| w.answer(&w.t_expired, w.t.id, World::accept(&w.a, &w.t)),
            NOT_AUTHENTICATED,
        ),
        case(
            "OTP-018",
            "9010 before 10015",
            |w| w.answer("nope", w.t.id, json!({"answer": "maybe"})),
            NOT_AUTHENTICATED,
        ),
        case(
            "OTP-011",
            "body is not JSON",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), "accept")
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "body is a JSON array",
            |w| {
                let body = World::accept(&w.a, &w.t);
                w.answer(&w.ta, w.t.id, json!([body["device_id"], body["answer"], body["signature"]]))
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature missing",
            |w| w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept"})),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "device_id not a UUID",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["device_id"] = json!(w.a.id.to_string().to_uppercase());
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer \"ACCEPT\"",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Accept, "ACCEPT")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer \"maybe\"",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Accept, "maybe")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer true",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["answer"] = json!(true);
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature not base64",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["signature"] = json!("%%% not base64 %%%");
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature base64url instead of base64",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                let sig = b64::decode(body["signature"].as_str().unwrap()).unwrap();
                body["signature"] = json!(format!("{}-_", b64::encode_url_safe_no_pad(sig)));
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-006",
            "body over 64 KiB",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), json_of_len(&World::accept(&w.a, &w.t), BODY_LIMIT + 1))
            },
            Expect::Err(413, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-006",
            "body of exactly 64 KiB (replay on the answered transaction: 9029)",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t_done.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), json_of_len(&World::accept(&w.a, &w.t_done), BODY_LIMIT))
            },
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018",
            "10015 before 9021 (bad answer value, unenrolled device)",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.n, &w.n, &w.t, Answer::Accept, "yes")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-018",
            "10015 before 10013 (signature not base64, unknown transaction)",
            |w| {
                w.answer(
                    &w.ta,
                    Uuid::nil(),
                    json!({"device_id": w.a.id, "answer": "accept", "signature": "!"}),
                )
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-012",
            "never-enrolled device",
            |w| w.answer(&w.ta, w.t.id, World::accept(&w.n, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012",
            "another user's device",
            |w| w.answer(&w.ta, w.t.id, World::accept(&w.b, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ENR-012",
            "device removed by its own DELETE: 9021, not 9023",
            |w| w.answer(&w.td, w.t.id, World::accept(&w.d, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ADM-009",
            "device removed by the admin: 9021, not 9023",
            |w| w.answer(&w.te, w.t.id, World::accept(&w.e, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "REN-006",
            "disenrolled device",
            |w| w.answer(&w.tc, w.t.id, World::accept(&w.c1, &w.t)),
            DISENROLLED,
        ),
        case(
            "OTP-018",
            "9021 before 10013",
            |w| w.answer(&w.ta, Uuid::nil(), World::accept(&w.n, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-018",
            "9023 before 10013",
            |w| w.answer(&w.tc, Uuid::nil(), World::accept(&w.c1, &w.t)),
            DISENROLLED,
        ),
        case(
            "OTP-013",
            "unknown transaction",
            |w| w.answer(&w.ta, Uuid::nil(), World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id not a UUID",
            |w| w.answer(&w.ta, "tx-1", World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id percent-encoded, not UTF-8",
            |w| w.answer(&w.ta, "%FF", World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id in uppercase",
            |w| w.answer(&w.ta, w.t.id.to_string().to_uppercase(), World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013",
            "device never fetched a challenge for the transaction",
            |w| w.answer(&w.tc, w.t.id, World::accept(&w.c2, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-018",
            "10013 before 9029 (no challenge, answered transaction)",
            |w| w.answer(&w.tc, w.t_done.id, World::accept(&w.c2, &w.t_done)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-018",
            "10013 before 10020 (no challenge, expired transaction)",
            |w| w.answer(&w.tc, w.t_exp.id, World::accept(&w.c2, &w.t_exp)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-014",
            "replay of the winning answer",
            |w| w.answer(&w.ta, w.t_done.id, World::accept(&w.a, &w.t_done)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-014",
            "the other answer on an answered transaction",
            |w| w.answer(&w.ta, w.t_done.id, w.a.answer_body(w.t_done.id, &w.t_done.challenge, Answer::Deny)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018",
            "9029 before 10019 (bad signature on an answered transaction)",
            |w| {
                w.answer(
                    &w.ta,
                    w.t_done.id,
                    World::signed(&w.a, &w.stranger, &w.t_done, Answer::Accept, "accept"),
                )
            },
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018 RP-016",
            "9029 before 10020 (answered, TTL passed since)",
            |w| w.answer(&w.ta, w.t_done_short.id, World::accept(&w.a, &w.t_done_short)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-015 OTP-019",
            "expired transaction (clock exactly at created + TTL)",
            |w| w.answer(&w.ta, w.t_exp.id, World::accept(&w.a, &w.t_exp)),
            EXPIRED,
        ),
        case(
            "OTP-018",
            "10020 before 10019 (expired, signature not DER)",
            |w| {
                w.answer(
                    &w.ta,
                    w.t_exp.id,
                    json!({"device_id": w.a.id, "answer": "accept", "signature": "AAAA"}),
                )
            },
            EXPIRED,
        ),
        case(
            "OTP-016",
            "signed with another key",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.stranger, &w.t, Answer::Accept, "accept")),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "base64 that is not a DER signature",
            |w| {
                w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept", "signature": "AAAA"}))
            },
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "empty signature",
            |w| w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept", "signature": ""})),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed deny, sent accept",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Deny, "accept")),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed over another transaction's id",
            |w| {
                let mut body = World::accept(&w.a, &w.t_done);
                let parts = SigningParts {
                    transaction_id: w.t_done.id,
                    challenge: w.t.challenge.clone(),
                    answer: Answer::Accept,
                    device_id: w.a.id,
                };
                body["signature"] = json!(forge::answer::signature(&w.a.key, &parts));
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed over another challenge",
            |w| {
                let parts = SigningParts {
                    transaction_id: w.t.id,
                    challenge: w.t_done.challenge.clone(),
                    answer: Answer::Accept,
                    device_id: w.a.id,
                };
                w.answer(
                    &w.ta,
                    w.t.id,
                    json!({"device_id": w.a.id, "answer": "accept",
                "signature": forge::answer::signature(&w.a.key, &parts)}),
                )
            },
            INVALID_SIGNATURE,
        ),
    ];
    w.run("OTP answer", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}
