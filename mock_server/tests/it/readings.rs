//! The alternative readings (fixtures/servers/alternative-readings.toml), as data.
//!
//! Each case names the `[readings]` key it pins and runs a few steps against a fresh server of
//! that fixture (clock frozen at T0, callbacks backing off from the contract's 200 ms): a request
//! and the exact answer expected, a request repeated until its answer comes (a bounded poll for
//! something that must arrive: the clock runs on after a move), or callback deliveries whose
//! real-time spacing is checked. Every case's world has alice logged in on an enrolled device
//! that has fetched the challenge of one pending transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use protocol::wire::Answer;
use serde_json::{Value, json};
use support::{
    APP_CLIENT, BODY_LIMIT, Device, HangingReceiver, MessageRequired, PATIENCE, Reply, Req, Server,
    encode_form, error_mismatch_with, form_of_len, new_device, oauth_mismatch,
};
use tokio::sync::mpsc;
use uuid::Uuid;

/// The alternative default message of the default OTP type.
const ALT_MESSAGE: &str = mock_server::readings::ALTERNATIVE_DEFAULT_MESSAGE;
/// The frozen start instant, as this fixture writes times.
const T0_MICROS: &str = "2026-01-01T00:00:00.000000+00:00";
/// A well-formed id nobody uses.
const UNUSED_ID: &str = "00000000-0000-4000-8000-000000000000";

// ------------------------------------------------------------------------------------------ the world

/// Where the world's transaction calls back.
#[derive(Debug, Clone, Copy)]
enum CallbackTo {
    /// A receiver answering these statuses in turn, then 204, noting when each POST came.
    Timed(&'static [u16]),
    /// A receiver that never answers.
    Hanging,
}

struct World {
    server: Server,
    token: String,
    device: Device,
    tx: Uuid,
    otp: String,
    challenge: String,
    callback: String,
    timed: Option<TimedReceiver>,
    hanging: Option<HangingReceiver>,
    /// The `ca_certificate` of the world's enrollment.
    ca_certificate: String,
}

async fn world(callback_to: CallbackTo) -> World {
    let server = support::start_configured("alternative-readings", |options| {
        options.callback_backoff = Duration::from_millis(200);
    })
    .await;
    let (callback, timed, hanging) = match callback_to {
        CallbackTo::Timed(script) => {
            let r = timed_receiver(script).await;
            (format!("{}/cb", r.base), Some(r), None)
        }
        CallbackTo::Hanging => {
            let r = support::hanging_receiver().await;
            (r.url("/cb"), None, Some(r))
        }
    };
    let token = server.token("alice").await;
    let device = new_device(1);
    let ca_certificate = server.enroll_ok(&token, &device).await.ca_certificate;
    let started = server.start_otp_ok(&callback).await;
    let request = server.otp_request_ok(&token, device.id, &started.otp).await;
    World {
        server,
        token,
        device,
        tx: started.transaction_id,
        otp: started.otp,
        challenge: request.challenge,
        callback,
        timed,
        hanging,
        ca_certificate,
    }
}

impl World {
    fn answer(&self) -> Req {
        let body = self.device.answer_body(self.tx, &self.challenge, Answer::Accept);
        Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", self.tx)).bearer(&self.token).json(body)
    }

    fn otp_request(&self) -> Req {
        Req::post("/mobile-auth/v1/otp/requests")
            .bearer(&self.token)
            .json(json!({"device_id": self.device.id, "otp": self.otp}))
    }

    fn start_otp(&self, form: &str) -> Req {
        Req::post("/oauth/api/v4/authenticate/user").portal().form_raw(form)
    }
}

// ------------------------------------------------------------------------------------------ a receiver with arrival times

/// Records when each callback POST arrives and on which path (before answering it), and answers
/// from a script; a 3xx answer sends the client on to `/redirected` on the same receiver.
struct TimedReceiver {
    base: String,
    arrivals: mpsc::UnboundedReceiver<(Instant, String)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TimedReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn timed_receiver(script: &'static [u16]) -> TimedReceiver {
    type State = Arc<(Mutex<VecDeque<u16>>, mpsc::UnboundedSender<(Instant, String)>)>;
    async fn record(
        axum::extract::State(state): axum::extract::State<State>,
        uri: axum::http::Uri,
    ) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let _ = state.1.send((Instant::now(), uri.path().to_string()));
        let status = state.0.lock().expect("not poisoned").pop_front().unwrap_or(204);
        let status = axum::http::StatusCode::from_u16(status).expect("a valid status");
        if status.is_redirection() {
            (status, [(axum::http::header::LOCATION, "/redirected")]).into_response()
        } else {
            status.into_response()
        }
    }
    let (tx, arrivals) = mpsc::unbounded_channel();
    let state: State = Arc::new((Mutex::new(script.iter().copied().collect()), tx));
    let app = axum::Router::new().fallback(axum::routing::post(record)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TimedReceiver { base, arrivals, task }
}

// ------------------------------------------------------------------------------------------ cases

type Build = fn(&World) -> Req;
type Holds = fn(&World, &Value) -> bool;

#[derive(Clone, Copy)]
enum Expect {
    /// An error body: status, error_code, error_type.
    Err(u16, u32, &'static str),
    /// An RFC 6749 error: status, error.
    OAuth(u16, &'static str),
    /// This status and a JSON body for which the check holds.
    Json(u16, Holds),
    /// This status and no body.
    Empty(u16),
}

enum Step {
    /// Sent once; the answer must be as expected.
    Call(Build, Expect),
    /// Sent until the answer is as expected, within [`PATIENCE`].
    Poll(Build, Expect),
    /// The timed receiver gets 1 + n callbacks, each retry arriving at least the given real time
    /// after the attempt before it, while the clock is moved a minute on after each arrival.
    Retries(&'static [u64]),
    /// The hanging receiver sees the attempt given up, at least this much real time after the
    /// case's first step was sent.
    GivenUpAfter(u64),
    /// A check of several exchanges that carry values from one to the next.
    Run(Exchanges),
    /// The timed receiver gets POSTs on these paths in turn (and, the last one having been
    /// answered 2xx, the delivery is over).
    Paths(&'static [&'static str]),
}

type Exchanges = for<'a> fn(&'a World) -> futures::future::BoxFuture<'a, Result<(), String>>;

struct Case {
    reading: &'static str,
    name: &'static str,
    callback_to: CallbackTo,
    steps: Vec<Step>,
}

fn case(reading: &'static str, name: &'static str, steps: Vec<Step>) -> Case {
    Case { reading, name, callback_to: CallbackTo::Timed(&[]), steps }
}

use Step::{Call, GivenUpAfter, Paths, Poll, Retries, Run};

const INVALID_REQUEST: Expect = Expect::Err(400, 10015, "INVALID_REQUEST");
const INVALID_PARAMETER: Expect = Expect::Err(400, 1003, "INVALID_PARAMETER");
const ADMIN_INVALID: Expect = Expect::Err(400, 20001, "INVALID_ADMIN_REQUEST");
const ADMIN_NOT_FOUND: Expect = Expect::Err(404, 20004, "ADMIN_NOT_FOUND");
const GENERAL_404: Expect = Expect::Err(404, 10000, "GENERAL_ERROR");
const EMPTY_OBJECT: Expect = Expect::Json(200, |_, v| *v == json!({}));
const CREATED_EMPTY: Expect = Expect::Json(201, |_, v| *v == json!({}));
const OK_ANY: Expect = Expect::Json(200, |_, _| true);

fn admin_post(path: &str, body: Value) -> Req {
    Req::post(path).admin().json(body)
}

fn clock_set(at: &str) -> Req {
    admin_post("/_admin/v1/clock", json!({ "set": at }))
}

fn clock_advance(ms: i64) -> Req {
    admin_post("/_admin/v1/clock", json!({ "advance_ms": ms }))
}

fn get_clock(_: &World) -> Req {
    Req::get("/_admin/v1/clock").admin()
}

fn get_config(_: &World) -> Req {
    Req::get("/_admin/v1/config").admin()
}

fn events(_: &World) -> Req {
    Req::get("/_admin/v1/events").admin()
}

fn put_config(body: Value) -> Req {
    Req::put("/_admin/v1/config").admin().json(body)
}

fn put_faults(body: Value) -> Req {
    Req::put("/_admin/v1/faults").admin().json(body)
}

fn token_form(form: &str) -> Req {
    Req::post("/oauth/token").form_raw(form)
}

const ALICE_LOGIN: &str = "grant_type=password&username=alice&password=alice-password&client_id=mobauth-app";

/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
fn micros_utc(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        s.len() == 32 && b[19] == b'.' && b[20..26].iter().all(u8::is_ascii_digit) && s.ends_with("+00:00")
    })
}

/// A `now` after `after` (same format, so the strings order as the times do).
fn now_after(v: &Value, after: &str) -> bool {
    micros_utc(&v["now"]) && v["now"].as_str().is_some_and(|now| now > after)
}

/// The event-log entries of a `GET /_admin/v1/events` answer.
fn entries(v: &Value) -> &[Value] {
    v["events"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Minimal entries: `seq`, `at`, `what`, a null `status` and nothing else; the world's requests.
fn minimal_entries(_: &World, v: &Value) -> bool {
    let list = entries(v);
    let shaped = list.iter().all(|e| {
        let keys =
            e.as_object().map(|o| o.keys().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default();
        e["status"].is_null()
            && e["seq"].is_u64()
            && micros_utc(&e["at"])
            && e["what"].is_string()
            && keys.iter().all(|k| ["seq", "at", "what", "status"].contains(k))
    });
    let whats: Vec<&str> = list.iter().filter_map(|e| e["what"].as_str()).collect();
    let world = [
        "POST /oauth/token",
        "POST /mobile-auth/v1/enrollments",
        "POST /oauth/api/v4/authenticate/user",
        "POST /mobile-auth/v1/otp/requests",
    ];
    shaped && whats == world && list.last().is_some_and(|e| v["last_seq"] == e["seq"])
}

/// A minimal `callback_start` entry naming the world's callback `url` (and no `path`).
fn callback_started(w: &World, v: &Value) -> bool {
    entries(v).iter().any(|e| {
        e["what"] == "callback_start"
            && e["url"] == w.callback.as_str()
            && e["status"].is_null()
            && e.get("path").is_none()
    })
}

/// After a reset only the reset's own entry is left, numbered on from the world's four.
fn only_the_reset(_: &World, v: &Value) -> bool {
    let list = entries(v);
    // Numbered by two (event_seq): the world's four entries are 2 to 8.
    list.len() == 1
        && list[0]["what"] == "POST /_admin/v1/reset"
        && list[0]["seq"] == 10
        && v["last_seq"] == 10
}

fn enrollment(w: &World) -> Req {
    Req::get(format!("/mobile-auth/v1/enrollments/{}", w.device.id)).bearer(&w.token)
}

fn start_with_callback(w: &World) -> String {
    encode_form(&[("type", "qr-code"), ("callback_uri", &w.callback)])
}

fn otp_request_with(w: &World, device_id: &str, otp: &str) -> Req {
    Req::post("/mobile-auth/v1/otp/requests")
        .bearer(&w.token)
        .json(json!({"device_id": device_id, "otp": otp}))
}

/// The OTP with the unused low bits of its last base64 character set (non-canonical base64).
fn stray_trailing_bits(otp: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = otp.as_bytes().to_vec();
    // 49 bytes end in one byte over two characters: the second carries 4 unused bits.
    let last = bytes.len() - 3;
    let index = ALPHABET.iter().position(|c| *c == bytes[last]).expect("a base64 character");
    bytes[last] = ALPHABET[index | 0b1111];
    String::from_utf8(bytes).expect("ASCII")
}

/// An enrollment of a new device of alice's whose CSR PEM is rewritten by `form`.
fn enroll_other(w: &World, form: fn(String) -> String) -> Req {
    let other = new_device(99);
    Req::post("/mobile-auth/v1/enrollments")
        .bearer(&w.token)
        .json(json!({"device_id": other.id, "csr": form(other.csr())}))
}

/// A PEM block whose base64 is one long line (OpenSSL reads it; RFC 7468's strict form does not).
fn one_line_pem(pem: String) -> String {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    format!("-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n")
}

/// The world's accept, its signature in high-S form.
fn high_s_answer(w: &World) -> Req {
    let mut body = w.device.answer_body(w.tx, &w.challenge, Answer::Accept);
    let der = STANDARD.decode(body["signature"].as_str().expect("a signature")).expect("our own base64");
    let low = p256::ecdsa::Signature::from_der(&der).expect("our own DER");
    let (r, s) = low.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(r, -s).expect("r and n - s are a signature");
    body["signature"] = json!(STANDARD.encode(high.to_der().as_bytes()));
    Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.tx)).bearer(&w.token).json(body)
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
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
            Call(|w| otp_request_with(w, &w.device.id.to_string(), w.otp.trim_end_matches('=')), OK_ANY),
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
            Call(|w| enroll_other(w, |pem| pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")), INVALID_REQUEST),
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

// ------------------------------------------------------------------------------------------ check

impl Expect {
    fn mismatch(self, world: &World, reply: &Reply) -> Option<String> {
        let problem = match self {
            // error_message: an empty text is this fixture's reading.
            Expect::Err(status, code, ty) => {
                error_mismatch_with(reply, status, code, ty, MessageRequired::AnyText)
            }
            Expect::OAuth(status, error) => oauth_mismatch(reply, status, error),
            Expect::Json(status, holds) => {
                let body = serde_json::from_slice::<Value>(&reply.body).ok();
                let ok = reply.status == status && body.as_ref().is_some_and(|b| holds(world, b));
                (!ok).then(|| {
                    format!("want {status} with the expected body, got {}: {}", reply.status, reply.text())
                })
            }
            Expect::Empty(status) => (reply.status != status || !reply.body.is_empty())
                .then(|| format!("want {status} without a body, got {}: {}", reply.status, reply.text())),
        };
        // unknown_route: no answer of this server lists methods.
        problem.or_else(|| reply.headers.get("allow").map(|allow| format!("an Allow header: {allow:?}")))
    }
}

/// Runs one case on a fresh server; `Err` says which step went wrong.
async fn check(case: &Case) -> Result<(), String> {
    let mut w = world(case.callback_to).await;
    let began = Instant::now();
    for (i, step) in case.steps.iter().enumerate() {
        let fail = |m: String| format!("{} / {}: step {}: {m}", case.reading, case.name, i + 1);
        match step {
            Call(build, expect) => {
                let reply = w.server.send(build(&w)).await;
                if let Some(problem) = expect.mismatch(&w, &reply) {
                    return Err(fail(problem));
                }
            }
            Poll(build, expect) => {
                let poll = async {
                    loop {
                        let reply = w.server.send(build(&w)).await;
                        match expect.mismatch(&w, &reply) {
                            None => return,
                            Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                };
                tokio::time::timeout(PATIENCE, poll).await.map_err(|_| fail("never came".into()))?;
            }
            Retries(gaps) => {
                let receiver = w.timed.as_mut().expect("the case calls back to a timed receiver");
                let mut last = None;
                for (n, gap) in std::iter::once(&0).chain(gaps.iter()).enumerate() {
                    let (arrived, _) = tokio::time::timeout(PATIENCE, receiver.arrivals.recv())
                        .await
                        .map_err(|_| fail(format!("callback attempt {} never came", n + 1)))?
                        .expect("the receiver runs");
                    if let Some(before) = last {
                        let waited = arrived.duration_since(before);
                        if waited < Duration::from_millis(*gap) {
                            return Err(fail(format!(
                                "attempt {} came {waited:?} after the one before",
                                n + 1
                            )));
                        }
                    }
                    last = Some(arrived);
                    w.server.send(clock_advance(60_000)).await.expect_status(200);
                }
            }
            Run(exchanges) => exchanges(&w).await.map_err(fail)?,
            Paths(paths) => {
                let receiver = w.timed.as_mut().expect("the case calls back to a timed receiver");
                for (n, want) in paths.iter().enumerate() {
                    let (_, path) = tokio::time::timeout(PATIENCE, receiver.arrivals.recv())
                        .await
                        .map_err(|_| fail(format!("POST {} ({want}) never came", n + 1)))?
                        .expect("the receiver runs");
                    if path != *want {
                        return Err(fail(format!("POST {} went to {path}, want {want}", n + 1)));
                    }
                }
            }
            GivenUpAfter(ms) => {
                let hanging = w.hanging.as_mut().expect("the case calls back to a hanging receiver");
                hanging.closed().await;
                if began.elapsed() < Duration::from_millis(*ms) {
                    return Err(fail(format!("the attempt was given up after {:?}", began.elapsed())));
                }
            }
        }
    }
    w.server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alternative_reading() {
    let cases = cases();
    let failures: Vec<String> = futures::future::join_all(cases.iter().map(check))
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_fixture_switches_every_reading() {
    let file = mock_server::ServerFile::load(&support::fixture_path("alternative-readings")).expect("parses");
    let default = mock_server::ServerFile::load(&support::fixture_path("default")).expect("parses");
    assert_eq!(
        (&file.users, &file.api_clients, &file.app_clients),
        (&default.users, &default.api_clients, &default.app_clients)
    );
    assert_eq!(file.admin_token, default.admin_token);
    assert_eq!(file.settings.enrollment_mode, protocol::wire::EnrollmentMode::SingleDevice);
    // Every key of [readings] differs from its default.
    let ours = serde_json::to_value(file.readings).expect("serialises");
    let defaults = serde_json::to_value(mock_server::Readings::default()).expect("serialises");
    let same: Vec<&String> = ours
        .as_object()
        .expect("an object")
        .iter()
        .filter(|(k, v)| defaults.get(k.as_str()) == Some(v))
        .map(|(k, _)| k)
        .collect();
    assert!(same.is_empty(), "readings left at their default: {same:?}");
    // And every key is pinned by a case.
    let pinned: std::collections::HashSet<&str> = cases().iter().map(|c| c.reading).collect();
    let unpinned: Vec<&String> =
        ours.as_object().expect("an object").keys().filter(|k| !pinned.contains(k.as_str())).collect();
    assert!(unpinned.is_empty(), "readings without a case: {unpinned:?}");
}
