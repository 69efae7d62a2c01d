//! Shared helpers of the mock server's integration tests: an in-process server on a frozen clock,
//! a pooled HTTP client, simulated devices, one-line calls for every endpoint, error-body checks
//! and a scripted callback receiver.
//!
//! Every test crate under `tests/` includes this module and uses a different subset of it.
#![allow(dead_code, reason = "each test crate includes this module and uses only some of its helpers")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a failed step is a failed test")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forge::answer::SigningParts;
use mock_server::{ClockMode, RunningServer, ServeOptions, ServerFile};
use protocol::keys::KeyPair;
use protocol::wire::{
    Answer, AuthenticateUserResponse, EnrollmentResponse, EventsResponse, OtpRequestResponse,
};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Where every test server's clock stands at start.
pub(crate) const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// The API client of the fixtures.
pub(crate) const PORTAL: (&str, &str) = ("portal", "portal-secret");
/// The app client of the fixtures.
pub(crate) const APP_CLIENT: &str = "mobauth-app";
/// A callback URL nobody listens on: delivery fails fast with a refused connection.
pub(crate) const DEAD_CALLBACK: &str = "http://127.0.0.1:9/callback";
/// How long a test waits for something the server does on its own (a callback, an event).
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);
/// 64 KiB: the largest body the server must take.
pub(crate) const BODY_LIMIT: usize = 65_536;

// ------------------------------------------------------------------------------------------ replies

/// A response read to the end: status, headers and body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("the response body arrives").to_vec();
        Self { status, headers, body }
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {}", self.status, self.text()))
    }

    /// The body as a wire type; panics when it does not parse.
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{} body is not a {} ({e}): {}", self.status, std::any::type_name::<T>(), self.text())
        })
    }

    /// The body as text, for messages.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The media type of `Content-Type`, lowercase, without parameters.
    pub(crate) fn media_type(&self) -> Option<String> {
        let value = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
    }

    /// Panics unless the status is `status`; returns the reply for chaining.
    #[track_caller]
    pub(crate) fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

/// What is wrong with `reply` as the error `status` `code` `error_type`, or `None` when it is
/// exactly that: status, JSON content type, code, type and a non-empty message (GEN-001, GEN-002).
pub(crate) fn error_mismatch(reply: &Reply, status: u16, code: u32, error_type: &str) -> Option<String> {
    error_mismatch_with(reply, status, code, error_type, MessageRequired::NonEmpty)
}

/// Whether an error body's `error_message` must be non-empty (the mock's default reading) or may
/// be any text (the `error_message = "empty"` reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageRequired {
    NonEmpty,
    AnyText,
}

/// [`error_mismatch`], with the `error_message` rule given.
pub(crate) fn error_mismatch_with(
    reply: &Reply,
    status: u16,
    code: u32,
    error_type: &str,
    message: MessageRequired,
) -> Option<String> {
    let want = format!("{status} {code} {error_type}");
    let Ok(body) = serde_json::from_slice::<Value>(&reply.body) else {
        return Some(format!("want {want}, got {} with a non-JSON body: {}", reply.status, reply.text()));
    };
    let got_code = body.get("error_code").and_then(Value::as_u64);
    let got_type = body.get("error_type").and_then(Value::as_str);
    let message_ok = body
        .get("error_message")
        .and_then(Value::as_str)
        .is_some_and(|m| message == MessageRequired::AnyText || !m.is_empty());
    if reply.status != status
        || got_code != Some(u64::from(code))
        || got_type != Some(error_type)
        || !message_ok
        || reply.media_type().as_deref() != Some("application/json")
    {
        return wrong(reply, &want, &body);
    }
    None
}

/// The mismatch of `reply`, whose JSON body is `body`, with what was wanted.
fn wrong(reply: &Reply, want: &str, body: &Value) -> Option<String> {
    Some(format!("want {want}, got {} (content type {:?}): {body}", reply.status, reply.media_type()))
}

/// Asserts that `reply` is the error `status` `code` `error_type` (and nothing else).
#[track_caller]
pub(crate) fn check_error(reply: &Reply, status: u16, code: u32, error_type: &str) {
    if let Some(problem) = error_mismatch(reply, status, code, error_type) {
        panic!("{problem}");
    }
}

/// What is wrong with `reply` as the RFC 6749 error `error` with `status`, or `None` (AUTH-007:
/// `error`, optional `error_description`, never `error_code`).
pub(crate) fn oauth_mismatch(reply: &Reply, status: u16, error: &str) -> Option<String> {
    let want = format!("{status} {{\"error\": {error:?}}}");
    let Ok(body) = serde_json::from_slice::<Value>(&reply.body) else {
        return Some(format!("want {want}, got {} with a non-JSON body: {}", reply.status, reply.text()));
    };
    let description_ok = body.get("error_description").is_none_or(Value::is_string);
    if reply.status != status
        || body.get("error").and_then(Value::as_str) != Some(error)
        || body.get("error_code").is_some()
        || !description_ok
        || reply.media_type().as_deref() != Some("application/json")
    {
        return wrong(reply, &want, &body);
    }
    None
}

/// Asserts that `reply` is the RFC 6749 error `error` with `status`.
#[track_caller]
pub(crate) fn check_oauth_error(reply: &Reply, status: u16, error: &str) {
    if let Some(problem) = oauth_mismatch(reply, status, error) {
        panic!("{problem}");
    }
}

// ------------------------------------------------------------------------------------------ devices

/// A simulated device: its own id and key pair, both from a seed.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) id: Uuid,
    pub(crate) key: KeyPair,
}

/// A device whose id and key come from `seed`: the same seed gives the same device.
pub(crate) fn new_device(seed: u64) -> Device {
    let mut rng = protocol::rng::seeded(seed);
    let id = protocol::rng::uuid(&mut rng);
    Device { id, key: KeyPair::generate(&mut rng) }
}

impl Device {
    /// A fresh CSR for this device's key, CN = its id.
    pub(crate) fn csr(&self) -> String {
        protocol::csr::create_csr(&self.key, &self.id.to_string()).expect("rcgen builds a CSR")
    }

    /// The same device after a new `enroll` on the device side: same id, a new key from `seed`.
    pub(crate) fn with_new_key(&self, seed: u64) -> Device {
        Device { id: self.id, key: KeyPair::generate(&mut protocol::rng::seeded(seed)) }
    }

    /// Base64 of the DER signature of the answer's signing string.
    pub(crate) fn sign(&self, transaction_id: Uuid, challenge: &str, answer: Answer) -> String {
        let parts =
            SigningParts { transaction_id, challenge: challenge.to_string(), answer, device_id: self.id };
        forge::answer::signature(&self.key, &parts)
    }

    /// The JSON body of an answer signed by this device.
    pub(crate) fn answer_body(&self, transaction_id: Uuid, challenge: &str, answer: Answer) -> Value {
        json!({
            "device_id": self.id,
            "answer": answer.as_str(),
            "signature": self.sign(transaction_id, challenge, answer),
        })
    }
}

// ------------------------------------------------------------------------------------------ requests

/// How a request authenticates.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// No `Authorization` header.
    None,
    /// `Bearer <token>`.
    Bearer(String),
    /// HTTP Basic, sent as given (no form-encoding).
    Basic(String, String),
    /// The raw header value.
    Raw(String),
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// None at all.
    Empty,
    /// JSON, `application/json`.
    Json(Value),
    /// An already-encoded form, `application/x-www-form-urlencoded`.
    Form(String),
    /// Any bytes with any (or no) content type.
    Raw { content_type: Option<String>, bytes: Vec<u8> },
}

/// One request, described as data so tests can tabulate requests.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) auth: Auth,
    pub(crate) body: Body,
}

impl Req {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), auth: Auth::None, body: Body::Empty }
    }
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub(crate) fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub(crate) fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }
    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub(crate) fn bearer(mut self, token: &str) -> Self {
        self.auth = Auth::Bearer(token.to_string());
        self
    }
    pub(crate) fn basic(mut self, id: &str, secret: &str) -> Self {
        self.auth = Auth::Basic(id.to_string(), secret.to_string());
        self
    }
    pub(crate) fn portal(self) -> Self {
        self.basic(PORTAL.0, PORTAL.1)
    }
    pub(crate) fn admin(self) -> Self {
        self.bearer(mock_server::config::DEFAULT_ADMIN_TOKEN)
    }
    pub(crate) fn auth_header(mut self, value: &str) -> Self {
        self.auth = Auth::Raw(value.to_string());
        self
    }
    pub(crate) fn json(mut self, value: Value) -> Self {
        self.body = Body::Json(value);
        self
    }
    /// A form from pairs, each part form-urlencoded.
    pub(crate) fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(encode_form(pairs));
        self
    }
    /// A form exactly as written.
    pub(crate) fn form_raw(mut self, encoded: &str) -> Self {
        self.body = Body::Form(encoded.to_string());
        self
    }
    pub(crate) fn raw(mut self, content_type: Option<&str>, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Raw { content_type: content_type.map(str::to_string), bytes: bytes.into() };
        self
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub(crate) use forge::body::form as encode_form;

/// `value` serialised and padded with spaces before its closing brace to exactly `len` bytes.
pub(crate) fn json_of_len(value: &Value, len: usize) -> Vec<u8> {
    forge::body::json_of_len(&value.to_string(), len).unwrap_or_else(|e| panic!("{e}"))
}

/// `form` followed by an unknown `pad` field, to exactly `len` bytes.
pub(crate) fn form_of_len(form: &str, len: usize) -> Vec<u8> {
    forge::body::form_of_len(form, len).unwrap_or_else(|e| panic!("{e}"))
}

// ------------------------------------------------------------------------------------------ server

/// A started test server and a pooled client for it.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) admin_token: String,
    running: Option<RunningServer>,
}

/// The path of a fixture server file by name (`default`, `override-enabled`, ...).
pub(crate) fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/servers").join(format!("{name}.toml"))
}

/// A client for tests: pooled keep-alive connections, no proxy, no redirects.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a plain HTTP client builds")
}

/// Starts the fixture server `name` with its clock frozen at [`T0`], seed 1 and 5 ms callback backoff
/// (of server-clock time: retries come only as a test moves the clock).
pub(crate) async fn start(name: &str) -> Server {
    start_with(name, Duration::from_millis(5)).await
}

/// Like [`start`], with the given first callback backoff.
pub(crate) async fn start_with(name: &str, callback_backoff: Duration) -> Server {
    start_configured(name, |options| options.callback_backoff = callback_backoff).await
}

/// Like [`start`], with the options changed by `configure`. An unanswered callback attempt fails
/// only when a test moves the clock (its real-time bound is far beyond any test) unless
/// `configure` says otherwise.
pub(crate) async fn start_configured(name: &str, configure: impl FnOnce(&mut ServeOptions)) -> Server {
    let file = ServerFile::load(&fixture_path(name)).expect("the fixture server file parses");
    let mut options = ServeOptions::new("127.0.0.1:0".parse().expect("a socket address"), file);
    options.clock = ClockMode::Frozen(T0);
    options.callback_backoff = Duration::from_millis(5);
    options.callback_attempt_timeout = Duration::from_secs(60);
    options.seed = 1;
    configure(&mut options);
    let running = mock_server::serve(options).await.expect("the mock server starts");
    Server {
        url: running.url(),
        admin_token: running.admin_token().to_string(),
        http: http_client(),
        running: Some(running),
    }
}

impl Server {
    /// Stops the server and waits for it.
    pub(crate) async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Sends a described request and reads the whole reply.
    pub(crate) async fn send(&self, req: Req) -> Reply {
        self.try_send(req).await.expect("the server answers")
    }

    /// Sends a described request; `Err` when the connection fails.
    pub(crate) async fn try_send(&self, req: Req) -> Result<Reply, reqwest::Error> {
        let mut builder = self.http.request(req.method, format!("{}{}", self.url, req.path));
        builder = match req.auth {
            Auth::None => builder,
            Auth::Bearer(t) => builder.bearer_auth(t),
            Auth::Basic(id, secret) => builder.basic_auth(id, Some(secret)),
            Auth::Raw(value) => builder.header(reqwest::header::AUTHORIZATION, value),
        };
        builder = match req.body {
            Body::Empty => builder,
            Body::Json(v) => builder.header(CONTENT_TYPE, "application/json").body(v.to_string()),
            Body::Form(f) => builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(f),
            Body::Raw { content_type: Some(ct), bytes } => builder.header(CONTENT_TYPE, ct).body(bytes),
            Body::Raw { content_type: None, bytes } => builder.body(bytes),
        };
        let response = builder.send().await?;
        Ok(Reply::read(response).await)
    }

    // ------------------------------------------------------------------- token endpoint

    /// A token request with these form fields.
    pub(crate) async fn token_reply(&self, pairs: &[(&str, &str)]) -> Reply {
        self.send(Req::post("/oauth/token").form(pairs)).await
    }

    /// An access token for a fixture user (`<user>-password`).
    pub(crate) async fn token(&self, user: &str) -> String {
        let password = format!("{user}-password");
        let reply = self
            .token_reply(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", &password),
                ("client_id", APP_CLIENT),
            ])
            .await;
        reply.expect_status(200);
        reply.json()["access_token"].as_str().expect("access_token is a string").to_string()
    }

    /// Creates (or updates) a user through the admin API with password `<user>-password`, and
    /// returns a token for it.
    pub(crate) async fn new_user(&self, user: &str) -> String {
        let password = format!("{user}-password");
        let reply =
            self.admin_post("/_admin/v1/users", json!({"username": user, "password": password})).await;
        assert!(matches!(reply.status, 200 | 201), "POST users: {}", reply.text());
        self.token(user).await
    }

    // ------------------------------------------------------------------- enrollment

    /// `POST /mobile-auth/v1/enrollments` for `device` with a fresh CSR.
    pub(crate) async fn enroll(&self, token: &str, device: &Device) -> Reply {
        self.send(
            Req::post("/mobile-auth/v1/enrollments")
                .bearer(token)
                .json(json!({"device_id": device.id, "csr": device.csr()})),
        )
        .await
    }

    /// Enrolls and expects success (201 or 200).
    pub(crate) async fn enroll_ok(&self, token: &str, device: &Device) -> EnrollmentResponse {
        let reply = self.enroll(token, device).await;
        assert!(matches!(reply.status, 200 | 201), "enrollment refused: {} {}", reply.status, reply.text());
        reply.parse()
    }

    /// `GET /mobile-auth/v1/enrollments/{device_id}`.
    pub(crate) async fn get_enrollment(&self, token: &str, device_id: &str) -> Reply {
        self.send(Req::get(format!("/mobile-auth/v1/enrollments/{device_id}")).bearer(token)).await
    }

    /// `DELETE /mobile-auth/v1/enrollments/{device_id}`.
    pub(crate) async fn delete_enrollment(&self, token: &str, device_id: &str) -> Reply {
        self.send(Req::delete(format!("/mobile-auth/v1/enrollments/{device_id}")).bearer(token)).await
    }

    // ------------------------------------------------------------------- relying party

    /// `POST /oauth/api/v4/authenticate/user` as the portal with these form fields.
    pub(crate) async fn start_otp(&self, pairs: &[(&str, &str)]) -> Reply {
        self.send(Req::post("/oauth/api/v4/authenticate/user").portal().form(pairs)).await
    }

    /// Starts a `qr-code` transaction with the default message and this callback; expects 200.
    pub(crate) async fn start_otp_ok(&self, callback_uri: &str) -> AuthenticateUserResponse {
        let reply = self.start_otp(&[("type", "qr-code"), ("callback_uri", callback_uri)]).await;
        reply.expect_status(200);
        reply.parse()
    }

    /// `GET /oauth/api/v4/authenticate/transaction/{id}` as the portal.
    pub(crate) async fn transaction(&self, transaction_id: &str) -> Reply {
        self.send(Req::get(format!("/oauth/api/v4/authenticate/transaction/{transaction_id}")).portal()).await
    }

    /// The transaction's status as the portal reads it; expects 200.
    pub(crate) async fn transaction_status(&self, transaction_id: Uuid) -> Value {
        let reply = self.transaction(&transaction_id.to_string()).await;
        reply.expect_status(200);
        reply.json()
    }

    /// `GET /oauth/api/v4/authenticate/user/{user}/enabled` as the portal.
    pub(crate) async fn enabled(&self, user: &str) -> Reply {
        self.send(Req::get(format!("/oauth/api/v4/authenticate/user/{user}/enabled")).portal()).await
    }

    // ------------------------------------------------------------------- OTP handling

    /// `POST /mobile-auth/v1/otp/requests`.
    pub(crate) async fn otp_request(&self, token: &str, device_id: Uuid, otp: &str) -> Reply {
        self.send(
            Req::post("/mobile-auth/v1/otp/requests")
                .bearer(token)
                .json(json!({"device_id": device_id, "otp": otp})),
        )
        .await
    }

    /// The OTP request call; expects 200.
    pub(crate) async fn otp_request_ok(&self, token: &str, device_id: Uuid, otp: &str) -> OtpRequestResponse {
        let reply = self.otp_request(token, device_id, otp).await;
        reply.expect_status(200);
        reply.parse()
    }

    /// `POST /mobile-auth/v1/otp/requests/{transaction_id}/answer` with any body.
    pub(crate) async fn answer_with(&self, token: &str, transaction_id: &str, body: Value) -> Reply {
        self.send(
            Req::post(format!("/mobile-auth/v1/otp/requests/{transaction_id}/answer"))
                .bearer(token)
                .json(body),
        )
        .await
    }

    /// The answer call, signed by `device` over `challenge`.
    pub(crate) async fn answer(
        &self,
        token: &str,
        transaction_id: Uuid,
        device: &Device,
        challenge: &str,
        answer: Answer,
    ) -> Reply {
        self.answer_with(
            token,
            &transaction_id.to_string(),
            device.answer_body(transaction_id, challenge, answer),
        )
        .await
    }

    /// A whole transaction from the portal's start to `device`'s answer; returns the answer reply.
    pub(crate) async fn otp_round(&self, token: &str, device: &Device, answer: Answer) -> Reply {
        let started = self.start_otp_ok(DEAD_CALLBACK).await;
        let request = self.otp_request(token, device.id, &started.otp).await;
        if request.status != 200 {
            return request;
        }
        let request: OtpRequestResponse = request.parse();
        self.answer(token, started.transaction_id, device, &request.challenge, answer).await
    }

    // ------------------------------------------------------------------- admin

    /// `GET` an admin path.
    pub(crate) async fn admin_get(&self, path: &str) -> Reply {
        self.send(Req::get(path).admin()).await
    }

    /// `POST` JSON to an admin path.
    pub(crate) async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.send(Req::post(path).admin().json(body)).await
    }

    /// `PUT /_admin/v1/config`.
    pub(crate) async fn admin_put_config(&self, config: Value) -> Reply {
        self.send(Req::put("/_admin/v1/config").admin().json(config)).await
    }

    /// `PUT /_admin/v1/config`, expecting 200.
    pub(crate) async fn put_config_ok(&self, config: Value) -> Value {
        let reply = self.admin_put_config(config).await;
        reply.expect_status(200);
        reply.json()
    }

    /// `GET /_admin/v1/config`.
    pub(crate) async fn config(&self) -> Value {
        let reply = self.admin_get("/_admin/v1/config").await;
        reply.expect_status(200);
        reply.json()
    }

    /// Moves the server clock forward by `ms` milliseconds; returns the new `now`.
    pub(crate) async fn advance_clock(&self, ms: i64) -> Value {
        let reply = self.admin_post("/_admin/v1/clock", json!({"advance_ms": ms})).await;
        reply.expect_status(200);
        reply.json()["now"].clone()
    }

    /// `PUT /_admin/v1/faults?seed=<seed>`.
    pub(crate) async fn put_faults(&self, faults: Value, seed: u64) -> Reply {
        self.send(Req::put(format!("/_admin/v1/faults?seed={seed}")).admin().json(faults)).await
    }

    /// `POST /_admin/v1/reset`; expects 200.
    pub(crate) async fn reset(&self) -> Value {
        let reply = self.send(Req::post("/_admin/v1/reset").admin()).await;
        reply.expect_status(200);
        reply.json()
    }

    /// `GET /_admin/v1/events?since=<since>`.
    pub(crate) async fn events(&self, since: u64) -> EventsResponse {
        let reply = self.admin_get(&format!("/_admin/v1/events?since={since}")).await;
        reply.expect_status(200);
        reply.parse()
    }

    /// The callback events after `since` for `callback_uri`, in order, as `(kind, status, time)`:
    /// `callback_start` when an attempt started, `callback` with the status when it ended.
    pub(crate) async fn callback_events(
        &self,
        since: u64,
        callback_uri: &str,
    ) -> Vec<(String, u16, OffsetDateTime)> {
        self.events(since)
            .await
            .events
            .into_iter()
            .filter(|e| e.kind.starts_with("callback") && e.path == callback_uri)
            .map(|e| (e.kind, e.status, e.time))
            .collect()
    }

    /// Polls the event log (each poll is one HTTP exchange, no sleeping) until `done` holds for
    /// the events after `since`, or panics after [`PATIENCE`].
    pub(crate) async fn wait_for_events(
        &self,
        since: u64,
        what: &str,
        done: impl Fn(&[protocol::wire::ServerEvent]) -> bool,
    ) -> EventsResponse {
        let poll = async {
            loop {
                let events = self.events(since).await;
                if done(&events.events) {
                    return events;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(PATIENCE, poll)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for events: {what}"))
    }
}

// ------------------------------------------------------------------------------------------ callbacks

/// One callback the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    /// The request path (and query) it was posted to.
    pub(crate) path: String,
    /// Its `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// Its body, parsed.
    pub(crate) body: Value,
    /// The status the receiver answered.
    pub(crate) answered: u16,
}

/// A tiny HTTP server that records every POST and answers statuses from a script.
#[derive(Debug)]
pub(crate) struct CallbackReceiver {
    /// `http://127.0.0.1:<port>`; any path is accepted.
    pub(crate) base: String,
    rx: mpsc::UnboundedReceiver<Callback>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct ReceiverState {
    script: Mutex<VecDeque<u16>>,
    tx: mpsc::UnboundedSender<Callback>,
}

/// Starts a receiver on `127.0.0.1:0` answering the statuses of `script` in turn, then 204.
pub(crate) async fn callback_receiver(script: &[u16]) -> CallbackReceiver {
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};

    async fn record(
        State(state): State<Arc<ReceiverState>>,
        uri: Uri,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let answered = state.script.lock().expect("not poisoned").pop_front().unwrap_or(204);
        let callback = Callback {
            path: uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
            content_type: headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            answered,
        };
        let _ = state.tx.send(callback);
        StatusCode::from_u16(answered).expect("a valid status")
    }

    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(ReceiverState { script: Mutex::new(script.iter().copied().collect()), tx });
    let app = axum::Router::new().fallback(axum::routing::post(record)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    CallbackReceiver { base, rx, task }
}

impl CallbackReceiver {
    /// `<base><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next callback; panics after [`PATIENCE`].
    pub(crate) async fn next(&mut self) -> Callback {
        tokio::time::timeout(PATIENCE, self.rx.recv())
            .await
            .expect("a callback arrives in time")
            .expect("the receiver is running")
    }

    /// A callback that already arrived, if any (does not wait).
    pub(crate) fn try_next(&mut self) -> Option<Callback> {
        self.rx.try_recv().ok()
    }
}

/// A receiver that reads each callback and never answers; it reports each connection the server
/// closes (having given up on the attempt).
#[derive(Debug)]
pub(crate) struct HangingReceiver {
    /// `http://127.0.0.1:<port>`; any path is accepted.
    pub(crate) base: String,
    closed: mpsc::UnboundedReceiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HangingReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a [`HangingReceiver`] on `127.0.0.1:0`.
pub(crate) async fn hanging_receiver() -> HangingReceiver {
    use tokio::io::AsyncReadExt as _;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let (tx, closed) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        }
    });
    HangingReceiver { base, closed, task }
}

impl HangingReceiver {
    /// `<base><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits for the server to close a connection; panics after [`PATIENCE`].
    pub(crate) async fn closed(&mut self) {
        tokio::time::timeout(PATIENCE, self.closed.recv())
            .await
            .expect("the server closes the connection in time")
            .expect("the receiver is running");
    }
}
