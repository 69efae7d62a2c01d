//! The table of cases, one or more for each key of `[readings]`, in the fixture's order.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use protocol::wire::Answer;
use serde_json::json;

use super::{
    ADMIN_INVALID, ADMIN_NOT_FOUND, ALICE_LOGIN, CREATED_EMPTY, Call, CallbackTo, Case, EMPTY_OBJECT, Expect,
    GENERAL_404, GivenUpAfter, INVALID_PARAMETER, INVALID_REQUEST, OK_ANY, Paths, Poll, Retries, Run, World,
    admin_post, callback_started, case, clock_advance, clock_set, enroll_other, enrollment, entries, events,
    get_clock, get_config, high_s_answer, minimal_entries, new_label_pem, now_after, one_line_pem,
    only_the_reset, otp_request_with, put_config, put_faults, start_with_callback, stray_trailing_bits,
    token_form, unpadded,
};
use crate::support::{APP_CLIENT, BODY_LIMIT, Req, form_of_len};

/// The alternative default message of the default OTP type.
const ALT_MESSAGE: &str = mock_server::readings::ALTERNATIVE_DEFAULT_MESSAGE;
/// The frozen start instant, as this fixture writes times.
const T0_MICROS: &str = "2026-01-01T00:00:00.000000+00:00";
/// A well-formed id nobody uses.
const UNUSED_ID: &str = "00000000-0000-4000-8000-000000000000";

#[rustfmt::skip]
pub(super) fn cases() -> Vec<Case> {
    vec![
        // 1. The clock runs on after a move.
        case("clock_after_move", "after a set the clock runs on from the new instant", vec![
            Call(|_| clock_set("2030-01-01T00:00:00Z"), EMPTY_OBJECT),
            Poll(get_clock, Expect::Json(200, |_, v| now_after(v, "2030-01-01T00:00:00.000000+00:00"))),
            Call(get_clock, Expect::Json(200, |_, v| v["now"].as_str().is_some_and(|t| t.starts_with("2030-01-01T00:0")))),
        ]),
        case("clock_after_move", "after an advance the clock runs on", vec![
            Call(|_| clock_advance(1000), EMPTY_OBJECT),
            Poll(get_clock, Expect::Json(200, |_, v| now_after(v, "2026-01-01T00:00:01.000000+00:00"))),
        ]),
        case("clock_after_move", "a transaction expires as the running clock passes its TTL", vec![
            Call(|_| clock_advance(299_999), EMPTY_OBJECT),
            Poll(World::otp_request, Expect::Err(410, 10020, "MOBILE_AUTH_REQUEST_EXPIRED")),
        ]),
        case("clock_after_move", "an access token expires as the running clock passes its TTL", vec![
            Call(|_| clock_advance(3_599_999), EMPTY_OBJECT),
            Poll(enrollment, Expect::Err(401, 9010, "USER_NOT_AUTHENTICATED")),
        ]),
        case("clock_after_move", "the expiry callback goes out as the running clock passes the TTL", vec![
            Call(|_| clock_advance(299_500), EMPTY_OBJECT),
            Retries(&[]),
        ]),
        // 2. The minimal event log.
        case("event_log", "entries are seq, at, what and a null status", vec![
            Call(events, Expect::Json(200, minimal_entries)),
        ]),
        case("event_log", "test-control calls are logged too", vec![
            Call(get_clock, OK_ANY),
            Call(events, Expect::Json(200, |_, v| {
                entries(v).last().is_some_and(|e| e["what"] == "GET /_admin/v1/clock" && e["status"].is_null())
            })),
        ]),
        case("event_log", "callback entries name the full url", vec![
            Call(World::answer, OK_ANY),
            Poll(events, Expect::Json(200, callback_started)),
        ]),
        case("event_log", "a reset empties the retained log and sequence numbers go on", vec![
            Call(|_| Req::post("/_admin/v1/reset").admin(), Expect::Json(200, |_, v| *v == json!({"reset": true}))),
            Call(events, Expect::Json(200, only_the_reset)),
        ]),
        // 3. Times with microseconds and +00:00.
        case("time_format", "GET clock answers now with microseconds and +00:00", vec![
            Call(get_clock, Expect::Json(200, |_, v| v["now"] == T0_MICROS)),
        ]),
        case("time_format", "the OTP request's timestamp and expires_at", vec![
            Call(World::otp_request, Expect::Json(200, |_, v| {
                v["timestamp"] == T0_MICROS && v["expires_at"] == "2026-01-01T00:05:00.000000+00:00"
            })),
        ]),
        case("time_format", "enrolled_at and the transaction's timestamp", vec![
            Call(enrollment, Expect::Json(200, |_, v| v["enrolled_at"] == T0_MICROS)),
            Call(|w| Req::get(format!("/oauth/api/v4/authenticate/transaction/{}", w.tx)).portal(),
                Expect::Json(200, |_, v| v["timestamp"] == T0_MICROS && v["status"] == "pending")),
        ]),
        case("time_format", "the clock keeps microseconds", vec![
            Call(|_| clock_set("2030-01-01T00:00:00.123456Z"), EMPTY_OBJECT),
            Call(get_clock, Expect::Json(200, |_, v| now_after(v, "2030-01-01T00:00:00.123455+00:00"))),
        ]),
        // 4. The faults API.
        case("faults_reply", "PUT faults answers the number installed", vec![
            Call(|_| put_faults(json!([{"path_prefix": "/oauth/token", "status": 503}, {"latency_ms": 0}])),
                Expect::Json(200, |_, v| *v == json!({"installed": 2}))),
        ]),
        case("injected_fault_body", "an injected status answers 10000 GENERAL_ERROR", vec![
            Call(|_| put_faults(json!([{"path_prefix": "/oauth/token", "status": 503}])), OK_ANY),
            Call(|_| token_form(ALICE_LOGIN), Expect::Err(503, 10000, "GENERAL_ERROR")),
            Call(|_| token_form(ALICE_LOGIN), Expect::Err(503, 10000, "GENERAL_ERROR")),
        ]),
        case("fault_count_zero", "count 0 never applies", vec![
            Call(|_| put_faults(json!([{"path_prefix": "/oauth/token", "status": 503, "count": 0}])), OK_ANY),
            Call(|_| token_form(ALICE_LOGIN), OK_ANY),
        ]),
        // 5. Admin bodies.
        case("admin_unknown_keys", "POST users ignores unknown keys", vec![
            Call(|_| admin_post("/_admin/v1/users", json!({"username": "carol", "password": "c", "x": 1})), CREATED_EMPTY),
            Call(|_| token_form("grant_type=password&username=carol&password=c&client_id=mobauth-app"), OK_ANY),
        ]),
        case("admin_unknown_keys", "clock, app-clients, faults and reset ignore unknown keys", vec![
            Call(|_| admin_post("/_admin/v1/clock", json!({"advance_ms": 0, "x": 1})), EMPTY_OBJECT),
            Call(|_| admin_post("/_admin/v1/app-clients", json!({"client_id": "app2", "x": 1})), CREATED_EMPTY),
            Call(|_| put_faults(json!([{"path_prefix": "/x", "status": 503, "x": true}])),
                Expect::Json(200, |_, v| *v == json!({"installed": 1}))),
            Call(|_| admin_post("/_admin/v1/reset", json!({"x": 1})), Expect::Json(200, |_, v| v["reset"] == true)),
        ]),
        case("admin_unknown_keys", "PUT config still refuses unknown keys", vec![
            Call(|_| put_config(json!({"nope": 1})), ADMIN_INVALID),
        ]),
        case("admin_empty_secrets", "an empty password is accepted, and logs in", vec![
            Call(|_| admin_post("/_admin/v1/users", json!({"username": "dave", "password": ""})), CREATED_EMPTY),
            Call(|_| token_form("grant_type=password&username=dave&password=&client_id=mobauth-app"), OK_ANY),
            Call(|_| admin_post("/_admin/v1/users", json!({"username": "", "password": "x"})), ADMIN_INVALID),
        ]),
        case("admin_empty_secrets", "an empty client secret is accepted", vec![
            Call(|_| admin_post("/_admin/v1/api-clients", json!({"client_id": "p2", "client_secret": ""})), CREATED_EMPTY),
        ]),
        case("admin_create_reply", "a replaced user or client answers 201 {} too", vec![
            Call(|_| admin_post("/_admin/v1/users", json!({"username": "alice", "password": "new"})), CREATED_EMPTY),
            Call(|_| token_form("grant_type=password&username=alice&password=new&client_id=mobauth-app"), OK_ANY),
            Call(|_| admin_post("/_admin/v1/api-clients", json!({"client_id": "portal", "client_secret": "s"})), CREATED_EMPTY),
            Call(|_| admin_post("/_admin/v1/app-clients", json!({"client_id": APP_CLIENT})), CREATED_EMPTY),
        ]),
        case("api_client_id_colon", "an API client id with ':' is refused", vec![
            Call(|_| admin_post("/_admin/v1/api-clients", json!({"client_id": "a:b", "client_secret": "s"})), ADMIN_INVALID),
        ]),
        // 6. The default configuration.
        case("default_otp_message", "the start configuration's default OTP type", vec![
            Call(get_config, Expect::Json(200, |_, v| {
                v["otp_types"] == json!([{"name": "qr-code", "expires_in_s": 300, "default_message": ALT_MESSAGE}])
            })),
            Call(World::otp_request, Expect::Json(200, |_, v| v["message"] == ALT_MESSAGE)),
        ]),
        case("default_otp_message", "PUT config without otp_types fills in the default type", vec![
            Call(|_| put_config(json!({"message_max_length": 100})), Expect::Empty(204)),
            Call(get_config, Expect::Json(200, |_, v| {
                v["otp_types"][0]["default_message"] == ALT_MESSAGE && v["message_max_length"] == 100
            })),
        ]),
        case("otp_type_expires_in_s", "an OTP type without expires_in_s is refused", vec![
            Call(|_| put_config(json!({"otp_types": [{"name": "qr-code"}]})), ADMIN_INVALID),
            Call(get_config, Expect::Json(200, |_, v| v["otp_types"][0]["default_message"] == ALT_MESSAGE)),
            Call(|_| put_config(json!({"otp_types": [{"name": "qr-code", "expires_in_s": 60}]})), Expect::Empty(204)),
            Call(get_config, Expect::Json(200, |_, v| v["otp_types"] == json!([{"name": "qr-code", "expires_in_s": 60}]))),
        ]),
        // 7. The clock API.
        case("clock_reply", "POST clock answers {}", vec![
            Call(|_| clock_advance(0), EMPTY_OBJECT),
            Call(|_| clock_set("2030-01-01T00:00:00Z"), EMPTY_OBJECT),
        ]),
        case("negative_advance", "a negative advance moves the clock back", vec![
            Call(|_| clock_advance(-60_000), EMPTY_OBJECT),
            Call(get_clock, Expect::Json(200, |_, v| v["now"].as_str().is_some_and(|t| t.starts_with("2025-12-31T23:59:0")))),
        ]),
        case("put_config_reply", "PUT config answers 204 without a body", vec![
            Call(|_| put_config(json!({})), Expect::Empty(204)),
        ]),
        // 8. The token endpoint.
        case("token_check_order", "the client is checked before grant_type", vec![
            Call(|_| token_form("grant_type=client_credentials&client_id=nope"), Expect::OAuth(401, "invalid_client")),
            Call(|_| token_form("client_id=nope"), Expect::OAuth(401, "invalid_client")),
            Call(|_| token_form("grant_type=client_credentials&client_id=mobauth-app"),
                Expect::OAuth(400, "unsupported_grant_type")),
            Call(|_| token_form("grant_type=password&username=alice"), Expect::OAuth(400, "invalid_request")),
        ]),
        case("token_check_order", "a body over 64 KiB is 413 before everything", vec![
            Call(|_| Req::post("/oauth/token").raw(Some("application/x-www-form-urlencoded"),
                form_of_len("grant_type=nope&client_id=nope", BODY_LIMIT + 1)), Expect::OAuth(413, "invalid_request")),
        ]),
        case("token_repeated_field", "the last of repeated values wins", vec![
            Call(|_| token_form(&format!("username=bob&{ALICE_LOGIN}")), OK_ANY),
            Call(|_| token_form(&format!("{ALICE_LOGIN}&password=wrong")), Expect::OAuth(400, "invalid_grant")),
            Call(|_| token_form(&format!("client_id=nope&{ALICE_LOGIN}")), OK_ANY),
        ]),
        case("token_empty_field", "an empty username is a wrong user", vec![
            Call(|_| token_form("grant_type=password&username=&password=x&client_id=mobauth-app"),
                Expect::OAuth(400, "invalid_grant")),
            Call(|_| token_form("grant_type=password&password=x&client_id=mobauth-app"), Expect::OAuth(400, "invalid_request")),
            Call(|_| token_form("grant_type=&username=alice&password=x&client_id=mobauth-app"),
                Expect::OAuth(400, "invalid_request")),
        ]),
        case("missing_content_type", "token, authenticate/user and device JSON without Content-Type", vec![
            Call(|_| Req::post("/oauth/token").raw(None, ALICE_LOGIN), OK_ANY),
            Call(|w| Req::post("/oauth/api/v4/authenticate/user").portal().raw(None, start_with_callback(w)), OK_ANY),
            Call(|w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.token)
                .raw(None, json!({"device_id": w.device.id, "otp": w.otp}).to_string()), OK_ANY),
        ]),
        case("missing_content_type", "a wrong Content-Type is still refused, and admin bodies need one", vec![
            Call(|_| Req::post("/oauth/token").raw(Some("application/json"), ALICE_LOGIN), Expect::OAuth(400, "invalid_request")),
            Call(|w| Req::post("/oauth/api/v4/authenticate/user").portal().raw(Some("text/plain"), start_with_callback(w)),
                INVALID_PARAMETER),
            Call(|w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.token)
                .raw(Some("text/plain"), json!({"device_id": w.device.id, "otp": w.otp}).to_string()), INVALID_REQUEST),
            Call(|_| Req::post("/_admin/v1/users").admin().raw(None, r#"{"username":"e","password":"e"}"#), ADMIN_INVALID),
        ]),
        // 9. Unknown paths and methods, ids in paths.
        case("unknown_route", "an unknown path is 404 10000 on every API", vec![
            Call(|_| Req::get("/mobile-auth/v1/nope"), GENERAL_404),
            Call(|_| Req::get("/oauth/api/v4/nope").portal(), GENERAL_404),
            Call(|_| Req::get("/_admin/v1/nope").admin(), GENERAL_404),
            Call(|_| Req::get("/oauth/token/x"), GENERAL_404),
        ]),
        case("unknown_route", "a wrong method is 404 10000 without Allow", vec![
            Call(|_| Req::get("/oauth/token"), GENERAL_404),
            Call(|_| Req::put("/mobile-auth/v1/enrollments"), GENERAL_404),
            Call(|_| Req::delete("/oauth/api/v4/authenticate/user").portal(), GENERAL_404),
            Call(|_| Req::delete("/_admin/v1/config").admin(), GENERAL_404),
        ]),
        case("path_id", "a non-UUID id in a path is the API's invalid request", vec![
            Call(|w| Req::get("/mobile-auth/v1/enrollments/not-a-uuid").bearer(&w.token), INVALID_REQUEST),
            Call(|w| Req::delete(format!("/mobile-auth/v1/enrollments/{}", w.device.id.to_string().to_uppercase()))
                .bearer(&w.token), INVALID_REQUEST),
            Call(|w| Req::post("/mobile-auth/v1/otp/requests/nope/answer").bearer(&w.token)
                .json(w.device.answer_body(w.tx, &w.challenge, Answer::Accept)), INVALID_REQUEST),
            Call(|_| Req::get("/oauth/api/v4/authenticate/transaction/nope").portal(), INVALID_PARAMETER),
            Call(|_| Req::delete("/_admin/v1/users/alice/enrollments/nope").admin(), ADMIN_INVALID),
            Call(|_| Req::get(format!("/oauth/api/v4/authenticate/transaction/{UNUSED_ID}")).portal(),
                Expect::Err(404, 3004, "INVALID_TRANSACTION_ID")),
            Call(|_| Req::get("/mobile-auth/v1/enrollments/not-a-uuid"), Expect::Err(401, 9010, "USER_NOT_AUTHENTICATED")),
        ]),
        // 10. The relying party.
        case("language_code", "any language_code is accepted", vec![
            Call(|w| w.start_otp(&format!("{}&language_code=klingon%21", start_with_callback(w))), OK_ANY),
        ]),
        case("rp_repeated_field", "the first of repeated form values wins", vec![
            Call(|w| w.start_otp(&format!("{}&type=nope", start_with_callback(w))), OK_ANY),
            Call(|w| w.start_otp(&format!("callback_uri=ftp%3A%2F%2Fx&{}", start_with_callback(w))), INVALID_PARAMETER),
        ]),
        // 11. Callbacks on real time.
        case("callback_timing", "retries back off 200 ms, 400 ms of real time whatever the clock does", vec![
            Call(World::answer, OK_ANY),
            Call(|_| clock_advance(60_000), EMPTY_OBJECT),
            Retries(&[200, 400]),
        ]).calling_back_to(CallbackTo::Timed(&[500, 500])),
        case("callback_timing", "an unanswered attempt fails after 2 s of real time, not on a clock move", vec![
            Call(World::answer, OK_ANY),
            Call(|_| clock_advance(60_000), EMPTY_OBJECT),
            Call(events, Expect::Json(200, |_, v| entries(v).iter().all(|e| e["what"] != "callback"))),
            GivenUpAfter(2000),
            Poll(events, Expect::Json(200, |w, v| {
                entries(v).iter().any(|e| e["what"] == "callback" && e["url"] == w.callback.as_str())
            })),
        ]).calling_back_to(CallbackTo::Hanging),
        // 12. Admin DELETE of an enrollment that is not there.
        case("admin_delete_missing", "deleting a device that is not enrolled is 204", vec![
            Call(|_| Req::delete(format!("/_admin/v1/users/alice/enrollments/{UNUSED_ID}")).admin(), Expect::Empty(204)),
            Call(|w| Req::delete(format!("/_admin/v1/users/bob/enrollments/{}", w.device.id)).admin(), Expect::Empty(204)),
            Call(enrollment, OK_ANY),
            Call(|w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.device.id)).admin(), Expect::Empty(204)),
            Call(|w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.device.id)).admin(), Expect::Empty(204)),
            Call(World::otp_request, Expect::Err(403, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED")),
            Call(|_| Req::delete(format!("/_admin/v1/users/nobody/enrollments/{UNUSED_ID}")).admin(), ADMIN_NOT_FOUND),
        ]),
        // 13. Error bodies.
        case("error_message", "error bodies carry an empty error_message", vec![
            Call(|_| Req::get(format!("/mobile-auth/v1/enrollments/{UNUSED_ID}")), Expect::Json(401, |_, v| {
                v["error_code"] == 9010 && v["error_message"] == ""
            })),
            Call(|_| Req::get("/_admin/v1/config"), Expect::Json(401, |_, v| v["error_code"] == 20002 && v["error_message"] == "")),
        ]),
        case("oauth_error_description", "only invalid_grant has a description, telling the two causes apart", vec![
            Call(|_| token_form("grant_type=password&username=nobody&password=x&client_id=mobauth-app"),
                Expect::Json(400, |_, v| *v == json!({"error": "invalid_grant", "error_description": "unknown user"}))),
            Call(|_| token_form("grant_type=password&username=alice&password=x&client_id=mobauth-app"),
                Expect::Json(400, |_, v| *v == json!({"error": "invalid_grant", "error_description": "wrong password"}))),
            Call(|_| token_form("grant_type=password&username=alice&password=x&client_id=nope"),
                Expect::Json(401, |_, v| *v == json!({"error": "invalid_client"}))),
            Call(|_| Req::get(format!("/oauth/api/v4/authenticate/transaction/{UNUSED_ID}")),
                Expect::Json(401, |_, v| *v == json!({"error": "invalid_client"}))),
        ]),
        // 14. Tokens.
        case("token_expires_in", "expires_in is a second short of the lifetime, which still holds", vec![
            Call(|_| token_form(ALICE_LOGIN), Expect::Json(200, |_, v| v["expires_in"] == 3599)),
            Call(|_| clock_set("2026-01-01T00:59:59.500Z"), EMPTY_OBJECT),
            Call(enrollment, OK_ANY),
        ]),
        case("bearer_scheme", "the scheme name must be Bearer exactly", vec![
            Call(|w| Req::get(format!("/mobile-auth/v1/enrollments/{}", w.device.id)).auth_header(&format!("bearer {}", w.token)),
                Expect::Err(401, 9010, "USER_NOT_AUTHENTICATED")),
            Call(|_| Req::get("/_admin/v1/config").auth_header("BEARER mobauth-admin"), Expect::Err(401, 20002, "ADMIN_UNAUTHORIZED")),
            Call(enrollment, OK_ANY),
        ]),
        // 15. The device API.
        case("high_s", "a high-S signature is refused with 10019 and the low-S one is taken", vec![
            Call(high_s_answer, Expect::Err(403, 10019, "INVALID_SIGNATURE")),
            Call(World::answer, Expect::Json(200, |_, v| v["status"] == "accepted")),
        ]),
        case("challenge_encoding", "a challenge is 43 characters of unpadded base64", vec![
            Call(World::otp_request, Expect::Json(200, |_, v| {
                v["challenge"].as_str().is_some_and(|c| {
                    c.len() == 43 && !c.contains('=') && STANDARD_NO_PAD.decode(c).is_ok_and(|b| b.len() == 32)
                })
            })),
        ]),
        case("otp_base64", "an OTP without padding or with stray trailing bits is read", vec![
            Call(|w| otp_request_with(w, &w.device.id.to_string(), &unpadded(&w.otp)), OK_ANY),
            Call(|w| otp_request_with(w, &w.device.id.to_string(), &stray_trailing_bits(&w.otp)), OK_ANY),
            Call(|w| otp_request_with(w, &w.device.id.to_string(), &w.otp[..60]), INVALID_REQUEST),
        ]),
        case("device_id_spelling", "a device_id in another spelling is that device", vec![
            Call(|w| otp_request_with(w, &w.device.id.to_string().to_uppercase(), &w.otp), OK_ANY),
            Call(|w| Req::post("/mobile-auth/v1/enrollments").bearer(&w.token)
                .json(json!({"device_id": w.device.id.simple().to_string(), "csr": w.device.csr()})),
                Expect::Err(409, 9016, "DEVICE_ALREADY_ENROLLED")),
            Call(|w| otp_request_with(w, "not-a-uuid", &w.otp), INVALID_REQUEST),
        ]),
        case("csr_pem", "only RFC 7468's strict form is read", vec![
            Call(|w| enroll_other(w, new_label_pem), INVALID_REQUEST),
            Call(|w| enroll_other(w, one_line_pem), INVALID_REQUEST),
            Call(|w| enroll_other(w, |pem| pem), Expect::Err(409, 9018, "USER_ALREADY_ENROLLED")),
        ]),
        case("ca_at_reset", "a reset makes a new CA", vec![
            Run(|w| Box::pin(async move {
                w.server.send(Req::post("/_admin/v1/reset").admin()).await.expect_status(200);
                let token = w.server.token("alice").await;
                let after = w.server.enroll_ok(&token, &w.device).await.ca_certificate;
                if after == w.ca_certificate { Err("the CA after the reset is the one before".into()) } else { Ok(()) }
            })),
        ]),
        // 16. The relying party.
        case("empty_type", "an empty type names no type: 404 3005", vec![
            Call(|w| w.start_otp(&format!("type=&callback_uri={}", w.callback)), Expect::Err(404, 3005, "AUTHENTICATION_TYPE_NOT_FOUND")),
            Call(|w| w.start_otp(&format!("callback_uri={}", w.callback)), INVALID_PARAMETER),
        ]),
        case("type_names", "type names match case-insensitively", vec![
            Call(|w| w.start_otp(&format!("type=QR-Code&callback_uri={}", w.callback)), OK_ANY),
        ]),
        case("enabled_list", "enabled lists only the first type", vec![
            Call(|_| put_config(json!({"otp_types": [{"name": "qr-code", "expires_in_s": 300}, {"name": "push", "expires_in_s": 60}]})),
                Expect::Empty(204)),
            Call(|_| Req::get("/oauth/api/v4/authenticate/user/alice/enabled").portal(),
                Expect::Json(200, |_, v| *v == json!([{"type": "qr-code", "method": "OTP"}]))),
        ]),
        // 17. The test-control API.
        case("nested_config_keys", "unknown keys inside an OTP type are ignored", vec![
            Call(|_| put_config(json!({"otp_types": [{"name": "a", "expires_in_s": 5, "nope": 1}]})), Expect::Empty(204)),
            Call(get_config, Expect::Json(200, |_, v| v["otp_types"] == json!([{"name": "a", "expires_in_s": 5}]))),
            Call(|_| put_config(json!({"nope": 1})), ADMIN_INVALID),
        ]),
        case("clock_set_backwards", "set to an earlier instant is refused", vec![
            Call(|_| clock_set("2030-01-01T00:00:00Z"), EMPTY_OBJECT),
            Call(|_| clock_set("2029-12-31T00:00:00Z"), ADMIN_INVALID),
            Call(get_clock, Expect::Json(200, |_, v| v["now"].as_str().is_some_and(|t| t.starts_with("2030-01-01")))),
        ]),
        case("event_seq", "sequence numbers go by two and since includes its own number", vec![
            Call(events, Expect::Json(200, |_, v| {
                let seqs: Vec<u64> = entries(v).iter().filter_map(|e| e["seq"].as_u64()).collect();
                seqs == [2, 4, 6, 8] && v["last_seq"] == 8
            })),
            Call(|_| Req::get("/_admin/v1/events?since=6").admin(), Expect::Json(200, |_, v| {
                entries(v).first().is_some_and(|e| e["seq"] == 6)
            })),
        ]),
        // 18. Callbacks.
        // A retry would POST to /cb again: the redirect is followed at once instead.
        case("callback_redirects", "a redirect is followed (POST kept) to the same host", vec![
            Call(World::answer, OK_ANY),
            Paths(&["/cb", "/redirected"]),
        ]).calling_back_to(CallbackTo::Timed(&[307])),
    ]
}

impl Case {
    fn calling_back_to(mut self, to: CallbackTo) -> Self {
        self.callback_to = to;
        self
    }
}
