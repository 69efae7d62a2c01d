//! The HTTP face of the mock Token Server: routes, body parsing, auth headers, faults, the event
//! log and the accept loop. Handlers parse, lock the [`TokenServer`], call one operation and
//! answer; every rule lives in [`crate::core`], and every alternative reading in
//! [`crate::readings`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::clock::Clock as _;
use protocol::error::ErrorCode;
use protocol::wire::{
    ClockCommand, ClockState, EventsResponse, Fault, NewApiClient, NewAppClient, NewUser, ResetResponse,
    ServerConfig, ServerEvent,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Duration;

use crate::callbacks::{self, Deliveries};
use crate::clock::ServerClock;
use crate::core::{Api, ApiError, BodyError, TokenServer};
use crate::faults::Faults;
use crate::readings::{
    self, AdminCreateReply, BearerScheme, ClockReply, ClockSetBackwards, EventLogStyle, EventSeq,
    FaultsReply, MinimalEvents, NegativeAdvance, PutConfigReply, Readings, UnknownRoute,
};

/// Largest accepted request body (contract 8: larger is 413).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Events kept in memory; older ones are dropped (sequence numbers go on).
const EVENT_CAPACITY: usize = 10_000;

/// What every handler shares.
#[derive(Debug)]
pub struct Shared {
    pub(crate) server: Mutex<TokenServer>,
    pub(crate) clock: ServerClock,
    pub(crate) admin_token: String,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) events: Mutex<EventLog>,
    /// Callback attempts, scheduled on [`Shared::clock`].
    pub(crate) deliveries: Deliveries,
    /// Which reading of the contract to take where it leaves a choice.
    pub(crate) readings: Readings,
    /// How long a client may take to send a request's headers, and apart its body.
    pub(crate) read_timeout: std::time::Duration,
    /// Where the state is kept, for a server started with a state file, and how many processes
    /// have started on it.
    pub(crate) store: Option<crate::store::Store>,
    pub(crate) starts: u64,
}

/// The exchange log of `GET /_admin/v1/events`.
#[derive(Debug, Default)]
pub struct EventLog {
    last_seq: u64,
    events: VecDeque<ServerEvent>,
    seq: EventSeq,
}

impl EventLog {
    /// An empty log numbering its events as `seq` says, after `last_seq` (0 for a new server).
    pub(crate) fn new(seq: EventSeq, last_seq: u64) -> Self {
        EventLog { seq, last_seq, ..EventLog::default() }
    }

    pub(crate) fn push(&mut self, mut event: ServerEvent) {
        self.last_seq += match self.seq {
            EventSeq::ExclusiveByOne => 1,
            EventSeq::InclusiveByTwo => 2,
        };
        event.seq = self.last_seq;
        if self.events.len() == EVENT_CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Drops the retained entries; sequence numbers go on.
    fn clear_retained(&mut self) {
        self.events.clear();
    }

    fn since(&self, seq: u64) -> EventsResponse {
        EventsResponse {
            events: self
                .events
                .iter()
                .filter(|e| match self.seq {
                    EventSeq::ExclusiveByOne => e.seq > seq,
                    EventSeq::InclusiveByTwo => e.seq >= seq,
                })
                .cloned()
                .collect(),
            last_seq: self.last_seq,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its state consistent before anything that can panic, and
    // none is expected to panic: a poisoned lock still guards valid state.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Runs one state operation at the server's current time, then schedules the first callback
    /// attempt of every transaction that ended, due now; [`handle`] starts them once the request
    /// is logged (see [`callbacks::dispatch`]).
    pub(crate) fn with_server<T>(&self, op: impl FnOnce(&mut TokenServer, time::OffsetDateTime) -> T) -> T {
        let now = self.clock.now();
        let mut server = lock(&self.server);
        server.sweep(now);
        let out = op(&mut server, now);
        for job in server.take_callbacks() {
            self.deliveries.enqueue(job, now);
        }
        out
    }

    /// Expires due transactions and starts their callbacks.
    pub(crate) fn sweep_now(self: &Arc<Self>) {
        self.with_server(|_, _| ());
        callbacks::dispatch(self);
    }

    /// A JSON answer, its times written as the readings say.
    fn reply<T: Serialize>(&self, status: StatusCode, body: T) -> Response {
        match self.readings.rewrite_times(&body) {
            Some(rewritten) => json(status, rewritten),
            None => json(status, body),
        }
    }

    /// Saves what outlives the process, where the server keeps it.
    pub(crate) fn persist(&self) -> Result<(), crate::store::StoreError> {
        let Some(store) = &self.store else { return Ok(()) };
        // One lock at a time: the event log's and then the server's, never both held.
        let event_seq = lock(&self.events).last_seq;
        let durable = lock(&self.server).durable(self.starts, event_seq);
        store.save(&durable)
    }

    pub(crate) fn record(&self, kind: &str, method: &str, path: &str, status: u16, error_code: Option<u32>) {
        let event = ServerEvent {
            seq: 0,
            time: self.clock.now(),
            kind: kind.into(),
            method: method.into(),
            path: path.into(),
            status,
            error_code,
        };
        lock(&self.events).push(event);
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match &self {
            ApiError::Api { body, .. } => (status, axum::Json(body)).into_response(),
            ApiError::OAuth { body, .. } => (status, axum::Json(body)).into_response(),
        };
        response.extensions_mut().insert(AnsweredError(self));
        response
    }
}

/// The error a response answers: its code for the event log, and its body for the readings that
/// write error bodies their own way.
#[derive(Debug, Clone)]
struct AnsweredError(ApiError);

/// `response` with its error body as the readings write it.
fn rewrite_error(readings: &crate::readings::Readings, mut response: Response) -> Response {
    let Some(rewritten) =
        response.extensions().get::<AnsweredError>().and_then(|e| readings.rewrite_error(&e.0))
    else {
        return response;
    };
    let bytes = match &rewritten {
        ApiError::Api { body, .. } => serde_json::to_vec(body),
        ApiError::OAuth { body, .. } => serde_json::to_vec(body),
    };
    if let Ok(bytes) = bytes {
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = axum::body::Body::from(bytes);
    }
    response
}

/// A request body read within [`BODY_LIMIT`], with its content type. An oversize body is kept
/// as an error so that the endpoint refuses it at its body step, after authentication.
struct RawBody {
    api: Api,
    content_type: Option<String>,
    bytes: Result<Bytes, BodyError>,
    readings: Readings,
}

impl FromRequest<Arc<Shared>> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let api = Api::of_path(req.uri().path());
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let read =
            tokio::time::timeout(shared.read_timeout, axum::body::to_bytes(req.into_body(), BODY_LIMIT));
        let bytes = match read.await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) if is_over_limit(&e) => Err(BodyError {
                status: 413,
                message: format!("the request body is larger than {BODY_LIMIT} bytes"),
            }),
            // A malformed chunked encoding, say, or a body shorter than its Content-Length.
            Ok(Err(e)) => Err(BodyError::bad(format!("the request body cannot be read: {e}"))),
            Err(_) => Err(BodyError {
                status: 408,
                message: format!("the request body did not come within {:?}", shared.read_timeout),
            }),
        };
        Ok(RawBody { api, content_type, bytes, readings: shared.readings })
    }
}

/// Whether reading a body failed on [`BODY_LIMIT`] rather than on the body's own encoding.
fn is_over_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

impl RawBody {
    /// The bytes, if the content type is `expected`.
    fn bytes_of(&self, expected: &str) -> Result<&Bytes, BodyError> {
        let bytes = self.bytes.as_ref().map_err(Clone::clone)?;
        let missing_ok = self.content_type.is_none() && self.readings.takes_missing_content_type(self.api);
        if self.content_type.as_deref() != Some(expected) && !missing_ok {
            return Err(BodyError::bad(format!(
                "Content-Type must be {expected}, not {}",
                self.content_type.as_deref().unwrap_or("absent")
            )));
        }
        Ok(bytes)
    }

    /// The body as JSON of type `T`, or why not.
    fn json<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let bytes = self.bytes_of("application/json")?;
        serde_json::from_slice(bytes)
            .map_err(|e| BodyError::bad(format!("the body is not the expected JSON: {e}")))
    }

    /// The body as a JSON object of type `T`: serde's derive would also take a JSON array of a
    /// struct's fields in order, which no body of the contract is (ENR-004, OTP-011, ADM-002).
    fn object<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let bytes = self.bytes_of("application/json")?;
        if !bytes.trim_ascii_start().starts_with(b"{") {
            return Err(BodyError::bad("the body is not a JSON object"));
        }
        self.json()
    }

    /// The body as the pairs of an `application/x-www-form-urlencoded` form, repeats kept.
    fn form_pairs(&self) -> Result<Vec<(String, String)>, BodyError> {
        let bytes = self.bytes_of("application/x-www-form-urlencoded")?;
        url_form_pairs(bytes).map_err(BodyError::bad)
    }

    /// The body as an `application/x-www-form-urlencoded` form (the relying party's: a repeated
    /// field is refused, or its first value wins).
    fn form<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let bytes = self.bytes_of("application/x-www-form-urlencoded")?;
        let value =
            self.readings.rp_form(url_form_pairs(bytes).map_err(BodyError::bad)?).map_err(BodyError::bad)?;
        serde_json::from_value(value).map_err(|e| BodyError::bad(format!("the form is not as expected: {e}")))
    }

    /// An admin JSON object whose members are `known`, refused with 20001; other members are
    /// refused, or ignored (readings).
    fn admin_json<T: DeserializeOwned>(&self, known: &[&str]) -> Result<T, ApiError> {
        let bytes = self.admin_bytes()?;
        if !bytes.trim_ascii_start().starts_with(b"{") {
            return Err(self.api.invalid(400, "the body is not a JSON object"));
        }
        self.readings.admin_body(bytes, known).map_err(|e| self.api.invalid(400, e))
    }

    /// An admin JSON list of objects whose members are `known`, as [`RawBody::admin_json`].
    fn admin_list<T: DeserializeOwned>(&self, known: &[&str]) -> Result<T, ApiError> {
        let bytes = self.admin_bytes()?;
        self.readings.admin_body(bytes, known).map_err(|e| self.api.invalid(400, e))
    }

    /// The PUT config body: a JSON object, unknown keys refused in every reading.
    fn admin_config(&self) -> Result<ServerConfig, ApiError> {
        let bytes = self.admin_bytes()?;
        if !bytes.trim_ascii_start().starts_with(b"{") {
            return Err(self.api.invalid(400, "the body is not a JSON object"));
        }
        self.readings.server_config(bytes).map_err(|e| self.api.invalid(400, e))
    }

    fn admin_bytes(&self) -> Result<&Bytes, ApiError> {
        self.bytes_of("application/json").map_err(|e| self.api.invalid(e.status, e.message))
    }
}

fn url_form_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the form is not UTF-8".to_string())?;
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one component (`+` is a space).
fn form_decode(part: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&part.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("{part:?} does not decode to UTF-8"))
}

/// The bearer token of `Authorization`, its scheme name compared as the readings say.
fn bearer<'h>(s: &Shared, headers: &'h HeaderMap) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let scheme_ok = match s.readings.bearer_scheme {
        BearerScheme::AnyCase => scheme.eq_ignore_ascii_case("bearer"),
        BearerScheme::ExactCase => scheme == "Bearer",
    };
    scheme_ok.then(|| token.trim())
}

/// HTTP Basic credentials, each part form-url-decoded (RFC 6749 §2.3.1).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id).ok()?, form_decode(secret).ok()?))
}

fn json<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Path parameters; ones that do not percent-decode to UTF-8 read as "", an unknown id (GEN-009),
/// instead of axum's plain-text 400.
struct Id<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Default + Send> axum::extract::FromRequestParts<S> for Id<T> {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &S) -> Result<Self, Infallible> {
        Ok(Id(Path::<T>::from_request_parts(parts, s).await.map(|Path(p)| p).unwrap_or_default()))
    }
}

type Shared_ = State<Arc<Shared>>;
type Answer = Result<Response, ApiError>;

// ---------------------------------------------------------------- token endpoint

async fn token(State(s): Shared_, body: RawBody) -> Answer {
    let form = body.form_pairs();
    let reply = s.with_server(|srv, now| srv.token(form, now))?;
    Ok(s.reply(StatusCode::OK, reply))
}

// ---------------------------------------------------------------- device API

async fn enroll(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    let parsed = body.object();
    let (created, reply) = s.with_server(|srv, now| srv.enroll(bearer(&s, &headers), parsed, now))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(s.reply(status, reply))
}

async fn get_enrollment(State(s): Shared_, headers: HeaderMap, Id(device): Id<String>) -> Answer {
    let reply = s.with_server(|srv, now| srv.enrollment(bearer(&s, &headers), &device, now))?;
    Ok(s.reply(StatusCode::OK, reply))
}

async fn delete_enrollment(State(s): Shared_, headers: HeaderMap, Id(device): Id<String>) -> Answer {
    s.with_server(|srv, now| srv.disenroll(bearer(&s, &headers), &device, now))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn otp_request(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    let parsed = body.object();
    let reply = s.with_server(|srv, now| srv.otp_request(bearer(&s, &headers), parsed, now))?;
    Ok(s.reply(StatusCode::OK, reply))
}

async fn otp_answer(State(s): Shared_, headers: HeaderMap, Id(tx): Id<String>, body: RawBody) -> Answer {
    let parsed = body.object();
    let bearer = bearer(&s, &headers);
    // The signature is checked outside the server's lock (its guard ends with the statement that
    // reads the inputs), so that the cores verify answers side by side; the answer call takes the
    // outcome if it checks the same inputs (`crate::core`'s otp module).
    let now = s.clock.now();
    let inputs = lock(&s.server).answer_signature(bearer, &tx, &parsed, now);
    let checked = inputs.map(crate::core::SignatureInputs::check);
    let reply =
        s.with_server(|srv, now| srv.otp_answer_checked(bearer, &tx, parsed, now, checked.as_ref()))?;
    Ok(s.reply(StatusCode::OK, reply))
}

// ---------------------------------------------------------------- relying-party API

async fn authenticate_user(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    let parsed = body.form();
    let reply = s.with_server(|srv, now| srv.authenticate_user(basic(&headers), parsed, now))?;
    Ok(s.reply(StatusCode::OK, reply))
}

async fn transaction(State(s): Shared_, headers: HeaderMap, Id(tx): Id<String>) -> Answer {
    let reply = s.with_server(|srv, now| srv.transaction_status(basic(&headers), &tx, now))?;
    Ok(s.reply(StatusCode::OK, reply))
}

async fn enabled(State(s): Shared_, headers: HeaderMap, Id(user): Id<String>) -> Answer {
    let reply = s.with_server(|srv, _| srv.enabled(basic(&headers), &user))?;
    Ok(s.reply(StatusCode::OK, reply))
}

// ---------------------------------------------------------------- admin API

fn admin(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(s, headers) {
        Some(t) if t == s.admin_token => Ok(()),
        _ => Err(ApiError::new(ErrorCode::AdminUnauthorized, "missing or wrong admin token")),
    }
}

async fn get_config(State(s): Shared_, headers: HeaderMap) -> Answer {
    admin(&s, &headers)?;
    Ok(s.reply(StatusCode::OK, s.with_server(|srv, _| srv.config().clone())))
}

async fn put_config(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    let config = body.admin_config()?;
    s.with_server(|srv, _| srv.set_config(config.clone()))?;
    Ok(match s.readings.put_config_reply {
        PutConfigReply::Config => s.reply(StatusCode::OK, config),
        PutConfigReply::NoContent => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn get_clock(State(s): Shared_, headers: HeaderMap) -> Answer {
    admin(&s, &headers)?;
    Ok(s.reply(StatusCode::OK, ClockState { now: s.clock.now() }))
}

async fn post_clock(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    let cmd: ClockCommand = body.admin_json(readings::keys::CLOCK)?;
    let back_ok = s.readings.negative_advance == NegativeAdvance::Accept;
    match (cmd.advance_ms, cmd.set) {
        (Some(ms), None) if ms >= 0 || back_ok => {
            s.clock
                .advance(Duration::milliseconds(ms))
                .map_err(|e| Api::Admin.invalid(400, e.to_string()))?;
        }
        (Some(_), None) => return Err(Api::Admin.invalid(400, "advance_ms must be 0 or more")),
        (None, Some(at))
            if at < s.clock.now() && s.readings.clock_set_backwards == ClockSetBackwards::Refuse =>
        {
            return Err(Api::Admin.invalid(400, "set must not be earlier than the clock's reading"));
        }
        (None, Some(at)) => s.clock.set(at),
        _ => return Err(Api::Admin.invalid(400, "give exactly one of advance_ms and set")),
    }
    // Moving the clock may end transactions, make retries due and time attempts out: every such
    // attempt has started, or ended, before the move answers, so tests need not wait (CB-004).
    s.sweep_now();
    Ok(match s.readings.clock_reply {
        ClockReply::Now => s.reply(StatusCode::OK, ClockState { now: s.clock.now() }),
        ClockReply::Empty => json(StatusCode::OK, serde_json::json!({})),
    })
}

async fn post_user(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    let user: NewUser = body.admin_json(readings::keys::USER)?;
    let name = user.username.clone();
    let created = s.with_server(|srv, _| srv.add_user(user.username, user.password))?;
    Ok(created_reply(&s, created, serde_json::json!({ "username": name })))
}

async fn post_api_client(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    let c: NewApiClient = body.admin_json(readings::keys::API_CLIENT)?;
    let id = c.client_id.clone();
    let created = s.with_server(|srv, _| srv.add_api_client(c.client_id, c.client_secret))?;
    Ok(created_reply(&s, created, serde_json::json!({ "client_id": id })))
}

async fn post_app_client(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    let c: NewAppClient = body.admin_json(readings::keys::APP_CLIENT)?;
    let id = c.client_id.clone();
    let created = s.with_server(|srv, _| srv.add_app_client(c.client_id))?;
    Ok(created_reply(&s, created, serde_json::json!({ "client_id": id })))
}

/// 201 for a new user or client, 200 for a replaced one, with its name; or 201 `{}` (readings).
fn created_reply(s: &Shared, created: bool, named: serde_json::Value) -> Response {
    match s.readings.admin_create_reply {
        AdminCreateReply::Named if created => json(StatusCode::CREATED, named),
        AdminCreateReply::Named => json(StatusCode::OK, named),
        AdminCreateReply::Empty => json(StatusCode::CREATED, serde_json::json!({})),
    }
}

async fn admin_delete_enrollment(
    State(s): Shared_,
    headers: HeaderMap,
    Id((user, device)): Id<(String, String)>,
) -> Answer {
    admin(&s, &headers)?;
    s.with_server(|srv, _| srv.admin_disenroll(&user, &device))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSeed {
    seed: Option<u64>,
}

async fn put_faults(
    State(s): Shared_,
    headers: HeaderMap,
    query: Result<Query<FaultSeed>, axum::extract::rejection::QueryRejection>,
    body: RawBody,
) -> Answer {
    admin(&s, &headers)?;
    let Query(seed) =
        query.map_err(|e| Api::Admin.invalid(400, format!("seed must be a non-negative integer: {e}")))?;
    let faults: Vec<Fault> = body.admin_list(readings::keys::FAULT)?;
    Faults::validate(&faults).map_err(|e| Api::Admin.invalid(400, e))?;
    lock(&s.faults).install(faults.clone(), seed.seed.unwrap_or(0));
    Ok(match s.readings.faults_reply {
        FaultsReply::StoredList => json(StatusCode::OK, faults),
        FaultsReply::InstalledCount => json(StatusCode::OK, serde_json::json!({ "installed": faults.len() })),
    })
}

/// The only body `POST /reset` takes: nothing, or `{}` (ADM-014).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {}

async fn reset(State(s): Shared_, headers: HeaderMap, body: RawBody) -> Answer {
    admin(&s, &headers)?;
    if !matches!(&body.bytes, Ok(bytes) if bytes.is_empty()) {
        let _: ResetBody = body.admin_json(readings::keys::RESET)?;
    }
    s.with_server(|srv, now| srv.reset(now));
    lock(&s.faults).reset();
    s.deliveries.reset();
    s.clock.reset();
    if s.readings.event_log == EventLogStyle::Minimal {
        lock(&s.events).clear_retained();
    }
    Ok(json(StatusCode::OK, ResetResponse { reset: true }))
}

#[derive(serde::Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn events(
    State(s): Shared_,
    headers: HeaderMap,
    query: Result<Query<Since>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    admin(&s, &headers)?;
    let Query(since) =
        query.map_err(|e| Api::Admin.invalid(400, format!("since must be a sequence number: {e}")))?;
    let events = lock(&s.events).since(since.since.unwrap_or(0));
    Ok(match s.readings.event_log {
        EventLogStyle::Full => s.reply(StatusCode::OK, events),
        EventLogStyle::Minimal => s.reply(StatusCode::OK, MinimalEvents::of(events)),
    })
}

// ---------------------------------------------------------------- routing

async fn not_found(State(s): Shared_, req: Request) -> ApiError {
    let path = req.uri().path().to_string();
    s.readings.route_error(Api::of_path(&path), 404, format!("no such resource: {path}"))
}

async fn method_not_allowed(State(s): Shared_, req: Request) -> ApiError {
    let path = req.uri().path().to_string();
    s.readings.route_error(Api::of_path(&path), 405, format!("{} is not allowed on {path}", req.method()))
}

/// The router of all four APIs.
pub fn router(shared: Arc<Shared>) -> Router {
    use protocol::wire::paths;
    Router::new()
        .route(paths::TOKEN, post(token))
        .route(paths::ENROLLMENTS, post(enroll))
        .route(
            &format!("{}/{{device_id}}", paths::ENROLLMENTS),
            get(get_enrollment).delete(delete_enrollment),
        )
        .route(paths::OTP_REQUESTS, post(otp_request))
        .route(&format!("{}/{{transaction_id}}/answer", paths::OTP_REQUESTS), post(otp_answer))
        .route(paths::AUTHENTICATE_USER, post(authenticate_user))
        .route(&format!("{}/{{transaction_id}}", paths::TRANSACTION), get(transaction))
        .route(&format!("{}/{{user_id}}/enabled", paths::AUTHENTICATE_USER), get(enabled))
        .route("/_admin/v1/config", get(get_config).put(put_config))
        .route("/_admin/v1/clock", get(get_clock).post(post_clock))
        .route("/_admin/v1/users", post(post_user))
        .route("/_admin/v1/users/{username}/enrollments/{device_id}", delete(admin_delete_enrollment))
        .route("/_admin/v1/api-clients", post(post_api_client))
        .route("/_admin/v1/app-clients", post(post_app_client))
        .route("/_admin/v1/faults", put(put_faults))
        .route("/_admin/v1/reset", post(reset))
        .route("/_admin/v1/events", get(events))
        // The portal page for demonstrations (GET /, /portal/...), outside every API's prefix.
        .merge(crate::portal_page::routes(&shared))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// The error hyper sees when a fault drops the connection: hyper closes it without answering.
#[derive(Debug)]
pub(crate) struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedByFault {}

/// One request through faults, the router and the event log.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    router: Router,
    req: Request,
) -> Result<Response, DroppedByFault> {
    use tower::ServiceExt as _;
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let action = lock(&shared.faults).decide(method.as_str(), &path);
    if action.latency_ms > 0 {
        // Injected latency is real time on purpose: it is what a client's timeout must see.
        tokio::time::sleep(std::time::Duration::from_millis(action.latency_ms)).await;
    }
    let logged = !path.starts_with(protocol::wire::paths::ADMIN)
        || shared.readings.event_log == EventLogStyle::Minimal;
    if action.drop_connection {
        shared.record("request", method.as_str(), &path, 0, None);
        return Err(DroppedByFault);
    }
    let response = if let Some(status) = action.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let body = shared.readings.injected_fault(status.as_u16());
        ApiError::Api { status: status.as_u16(), body }.into_response()
    } else {
        let result: Result<Response, Infallible> = router.oneshot(req).await;
        let mut response = match result {
            Ok(r) => r,
            Err(never) => match never {},
        };
        if shared.readings.unknown_route == UnknownRoute::GeneralError {
            // axum lists a route's methods on its fallback's answer; this reading has no 405.
            response.headers_mut().remove(header::ALLOW);
        }
        rewrite_error(&shared.readings, response)
    };
    let code = response.extensions().get::<AnsweredError>().and_then(|e| e.0.code());
    if logged {
        shared.record("request", method.as_str(), &path, response.status().as_u16(), code);
    }
    // Callbacks of transactions this request ended start now: after the request's own event, and
    // before the answer, so a test that got the answer finds the attempts started in the log.
    callbacks::dispatch(&shared);
    // A change is on disk before its answer goes out (a read changes nothing that a restart
    // would not redo: an expiry follows from the time).
    if shared.store.is_some() && method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        let saving = Arc::clone(&shared);
        let saved = tokio::task::spawn_blocking(move || saving.persist()).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Ok(not_saved(&e)),
            Err(e) => return Ok(not_saved(&e)),
        }
    }
    Ok(response)
}

/// The answer to a request whose change could not be saved: the change may be lost at a restart,
/// so no success is claimed.
fn not_saved(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "the state could not be saved");
    (StatusCode::SERVICE_UNAVAILABLE, format!("the server's state could not be saved: {error}"))
        .into_response()
}

/// How long the accept loop pauses after `accept` failed: at the file-descriptor limit it fails
/// at once, again and again, and would spin a core serving no one.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Serves connections from `listener` until `shutdown` fires; each request's headers must come
/// within the read timeout ([`crate::ServeOptions::read_timeout`]).
pub(crate) async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let router = router(shared.clone());
    let read_timeout = shared.read_timeout;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_PAUSE).await;
                        continue;
                    }
                };
                // Answers go out as they are written: with Nagle's algorithm a body written after
                // its headers waits for the client's delayed ACK (some 40 ms) on a kept-alive
                // connection.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, error = %e, "cannot turn Nagle's algorithm off");
                }
                let shared = shared.clone();
                let router = router.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        handle(shared.clone(), router.clone(), req.map(Body::new))
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(read_timeout)
                        .serve_connection(io, service)
                        .await
                    {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// Binds `addr`.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
