//! The alternative readings (fixtures/servers/alternative-readings.toml), as data.
//!
//! Each case names the `[readings]` key it pins and runs a few steps against a fresh server of
//! that fixture (clock frozen at T0, callbacks backing off from the contract's 200 ms): a request
//! and the exact answer expected, a request repeated until its answer comes (a bounded poll for
//! something that must arrive: the clock runs on after a move), or callback deliveries whose
//! real-time spacing is checked. Every case's world has alice logged in on an enrolled device
//! that has fetched the challenge of one pending transaction.
//!
//! This module holds the world, the steps and expectations, the request builders and body checks
//! and the check that runs a case; the table of cases is in `cases`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

mod cases;

use crate::support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forge::b64;
use forge::pem::PemForm;
use protocol::wire::Answer;
use serde_json::{Value, json};
use support::{
    Device, HangingReceiver, MessageRequired, PATIENCE, Reply, Req, Server, encode_form, error_mismatch_with,
    new_device, oauth_mismatch,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use cases::cases;

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

/// The OTP without its padding.
fn unpadded(otp: &str) -> String {
    b64::padding_changed(otp).expect("an OTP ends in ==")
}

/// The OTP with the unused low bits of its last base64 character set (non-canonical base64).
fn stray_trailing_bits(otp: &str) -> String {
    // 49 bytes end in one byte over two characters: the second carries 4 unused bits.
    b64::with_all_unused_bits_set(otp).expect("an OTP ends in ==")
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
    PemForm::OneLine.apply(&forge::pem::der(&pem).expect("our own CSR is PEM"))
}

/// The CSR PEM under the label `NEW CERTIFICATE REQUEST`.
fn new_label_pem(pem: String) -> String {
    forge::pem::relabelled(&pem, "NEW CERTIFICATE REQUEST").expect("our own CSR is PEM")
}

/// The world's accept, its signature in high-S form.
fn high_s_answer(w: &World) -> Req {
    let mut body = w.device.answer_body(w.tx, &w.challenge, Answer::Accept);
    let der = b64::decode(body["signature"].as_str().expect("a signature")).expect("our own base64");
    let high = forge::der::with_s(&der, true).expect("our own DER");
    body["signature"] = json!(b64::encode(high));
    Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.tx)).bearer(&w.token).json(body)
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
