//! Raw-request steps: a scenario sends a method, a path, headers and a body to the target exactly
//! as written, and checks the status, the error body, headers and JSON members of the answer.
//! The rules about the wire itself (content types, body sizes, routing, unknown members, error
//! bodies) need requests that a well-behaved device or portal would never send.
//!
//! A request step reads `<who> sends <METHOD> "<path>"<clauses>`:
//! - `<who>` is `the admin` (the admin token as Bearer), `the portal` (the API client's HTTP
//!   Basic credentials), `"phone"` (that device's access token as Bearer) or `a client` (no
//!   `Authorization` header);
//! - clauses, in any order: `with the JSON body '<json>'`, `with the JSON body:` (the step's doc
//!   string), `with the form body '<form>'`, `with the body '<text>'` (no Content-Type),
//!   `with a JSON body of <n> bytes`, `with a form body of <n> bytes`, `padded to <n> bytes`,
//!   `typed "<Content-Type>"`, `without a Content-Type`, `with the header '<Name>: <value>'`,
//!   `with the Basic credentials '<id>:<secret>'`, `without credentials` and, last, `<n> times`.
//!
//! Names in braces are filled in before sending: `{device_id of phone}`, `{token of phone}`,
//! `{username of Alice}`, `{password of Alice}`, `{csr of phone}` (a CSR for a fresh key, JSON
//! escaped), `{signature of phone for accept}` (over the challenge the device fetched last),
//! `{transaction_id}` and `{otp}` (of the OTP the portal started last), `{callback_uri}`,
//! `{app client id}`, `{api client id}`, `{api client secret}`, `{admin token}`, `{new uuid}`,
//! `{unique <name>}` (a name no other scenario uses), `{unreachable url}`, any value remembered
//! with `is remembered as "<name>"`, and `{uppercase <any of these>}`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use protocol::error::ErrorCode;
use protocol::keys::signing_string;
use protocol::wire::{Answer, AuthenticateUserResponse, OtpRequestResponse, paths};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::judgement::OrFail as _;
use crate::world::ConformanceWorld;
use crate::world::raw::{RawExchange, RawResponse};
use peers::portal::StartedOtp;
use transcript::PeerError;

/// How long one raw exchange may take.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);

/// Who sends a raw request, which decides its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The admin token as Bearer.
    Admin,
    /// The API client's HTTP Basic credentials.
    Portal,
    /// No `Authorization` header.
    Anonymous,
    /// The named device's access token as Bearer.
    Device(String),
}

impl Who {
    fn parse(text: &str) -> Self {
        match text {
            "the admin" => Who::Admin,
            "the portal" => Who::Portal,
            "a client" => Who::Anonymous,
            quoted => Who::Device(quoted.trim_matches('"').to_string()),
        }
    }
}

// ------------------------------------------------------------------ the request grammar

#[derive(Debug, Clone, PartialEq, Eq)]
enum BodySpec {
    Json(String),
    JsonDoc,
    Form(String),
    Plain(String),
    JsonOfSize(usize),
    FormOfSize(usize),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Clauses {
    body: Option<BodySpec>,
    pad_to: Option<usize>,
    /// `Some(None)`: no Content-Type header at all.
    content_type: Option<Option<String>>,
    headers: Vec<String>,
    basic: Option<String>,
    no_credentials: bool,
    times: Option<usize>,
}

fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut chars = text.chars();
    let quote = match chars.next() {
        Some(q @ ('\'' | '"')) => q,
        _ => return Err(format!("expected a quoted value at {text:?}")),
    };
    let inner = &text[1..];
    let end = inner.find(quote).ok_or_else(|| format!("no closing {quote} in {text:?}"))?;
    Ok((inner[..end].to_string(), &inner[end + 1..]))
}

fn number(text: &str) -> Result<(usize, &str), String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n = text[..digits].parse().map_err(|_| format!("expected a number at {text:?}"))?;
    Ok((n, &text[digits..]))
}

fn parse_clauses(text: &str) -> Result<Clauses, String> {
    let mut out = Clauses::default();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(r) = rest.strip_prefix("and ") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the JSON body:") {
            out.body = Some(BodySpec::JsonDoc);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the JSON body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Json(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the form body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Form(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Plain(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with a JSON body of ") {
            let (n, r) = number(r)?;
            out.body = Some(BodySpec::JsonOfSize(n));
            rest = r.strip_prefix(" bytes").ok_or_else(|| format!("expected \" bytes\" at {r:?}"))?;
        } else if let Some(r) = rest.strip_prefix("with a form body of ") {
            let (n, r) = number(r)?;
            out.body = Some(BodySpec::FormOfSize(n));
            rest = r.strip_prefix(" bytes").ok_or_else(|| format!("expected \" bytes\" at {r:?}"))?;
        } else if let Some(r) = rest.strip_prefix("padded to ") {
            let (n, r) = number(r)?;
            out.pad_to = Some(n);
            rest = r.strip_prefix(" bytes").ok_or_else(|| format!("expected \" bytes\" at {r:?}"))?;
        } else if let Some(r) = rest.strip_prefix("typed ") {
            let (content_type, r) = quoted(r)?;
            out.content_type = Some(Some(content_type));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("without a Content-Type") {
            out.content_type = Some(None);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the header ") {
            let (header, r) = quoted(r)?;
            out.headers.push(header);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("without credentials") {
            out.no_credentials = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the Basic credentials ") {
            let (credentials, r) = quoted(r)?;
            out.basic = Some(credentials);
            rest = r;
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let (n, r) = number(rest)?;
            out.times = Some(n);
            rest = r.strip_prefix(" times").ok_or_else(|| format!("expected \" times\" at {r:?}"))?;
        } else {
            return Err(format!("cannot read {rest:?} as a clause of a request"));
        }
    }
}

/// A JSON object of exactly `size` bytes: `{"padding":"xxx…"}`.
fn json_of_size(size: usize) -> String {
    let frame = r#"{"padding":""}"#.len();
    ensure!(size >= frame, "a JSON body is at least {frame} bytes, not {size}");
    format!(r#"{{"padding":"{}"}}"#, "x".repeat(size - frame))
}

/// A form of exactly `size` bytes: `padding=xxx…`.
fn form_of_size(size: usize) -> String {
    let frame = "padding=".len();
    ensure!(size >= frame, "a form body is at least {frame} bytes, not {size}");
    format!("padding={}", "x".repeat(size - frame))
}

/// Pads `body` to exactly `size` bytes without changing what it says: JSON with trailing
/// whitespace, a form with empty `&` separators, which the form parsing of the URL standard skips.
/// An unknown `padding` field would not do: a server may refuse unknown form fields (a reading of
/// withdrawn GEN-010), and the padded body must be refused for its size only.
fn pad(body: &str, size: usize, form: bool) -> String {
    let room = size.checked_sub(body.len()).unwrap_or_else(|| {
        fail!("the body is already {} bytes, more than the {size} bytes to pad it to", body.len())
    });
    let filler = if form { "&" } else { " " };
    format!("{body}{}", filler.repeat(room))
}

// ------------------------------------------------------------------ placeholders

fn is_placeholder(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'))
}

/// Fills in every `{name}` the scenario knows; JSON such as `{"a": 1}` is left alone.
pub async fn expand(world: &mut ConformanceWorld, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if is_placeholder(name) {
            out.push_str(&rest[..open]);
            out.push_str(&resolve(world, name).await);
            rest = &after[close + 1..];
        } else {
            out.push_str(&rest[..=open]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

async fn resolve(world: &mut ConformanceWorld, name: &str) -> String {
    let (upper, name) = match name.strip_prefix("uppercase ") {
        Some(inner) => (true, inner),
        None => (false, name),
    };
    let value = resolve_plain(world, name).await;
    if upper { value.to_uppercase() } else { value }
}

async fn resolve_plain(world: &mut ConformanceWorld, name: &str) -> String {
    if let Some(value) = world.raw.saved.get(name) {
        return value.clone();
    }
    if let Some(device) = name.strip_prefix("device_id of ") {
        return world.device_or_install(device).device_id().to_string();
    }
    if let Some(device) = name.strip_prefix("token of ") {
        return world
            .device(device)
            .access_token()
            .unwrap_or_else(|| fail!("no user is logged in on {device:?}, so it has no access token"))
            .to_string();
    }
    if let Some(user) = name.strip_prefix("username of ") {
        return world.user(user).await.username;
    }
    if let Some(user) = name.strip_prefix("password of ") {
        return world.user(user).await.password;
    }
    if let Some(device) = name.strip_prefix("csr of ") {
        let device_id = world.device_or_install(device).device_id().to_string();
        let key = world.foreign_key();
        let csr = protocol::csr::create_csr(&key, &device_id).expect("a CSR for a fresh key builds");
        world.raw.keys.insert(device.to_string(), key);
        let quoted = serde_json::Value::String(csr).to_string();
        return quoted[1..quoted.len() - 1].to_string();
    }
    if let Some(spec) = name.strip_prefix("signature of ") {
        let Some((device, answer)) = spec.split_once(" for ") else {
            fail!("write {{signature of <device> for accept}} or {{... for deny}}, not {{{name}}}");
        };
        return signature(world, device, answer);
    }
    if let Some(base) = name.strip_prefix("unique ") {
        return format!("{base}-{:016x}", protocol::rng::derive_seed(world.seed, "unique names"));
    }
    match name {
        "transaction_id" => world.started_otp().response.transaction_id.to_string(),
        "otp" => world.started_otp().response.otp.clone(),
        "callback_uri" => world.portal().await.callback_uri(),
        "app client id" => world.target().app_client_id().to_string(),
        "api client id" => world.target().api_client().0.to_string(),
        "api client secret" => world.target().api_client().1.to_string(),
        "admin token" => admin_token(world),
        "new uuid" => protocol::rng::uuid(world.rng()).to_string(),
        "unreachable url" => unreachable_url(world),
        other => fail!("the scenario knows no value called {{{other}}}"),
    }
}

/// The target's admin token, or a failure saying the scenario needs the test-control API.
pub fn admin_token(world: &ConformanceWorld) -> String {
    let admin = world.target().admin().or_fail(|e| format!("the scenario needs {e}"));
    admin.token().to_string()
}

/// A URL on this machine where nothing listens: a port kept bound, but not listening, for the
/// scenario's life, so no other scenario's listener can take it and every connection is refused.
pub(crate) fn unreachable_url(world: &mut ConformanceWorld) -> String {
    if let Some((url, _)) = &world.raw.unreachable {
        return url.clone();
    }
    let socket = tokio::net::TcpSocket::new_v4()
        .and_then(|socket| socket.bind(([127, 0, 0, 1], 0).into()).map(|()| socket))
        .unwrap_or_else(|e| panic!("this machine cannot reserve a local port: {e}"));
    let port = socket.local_addr().unwrap_or_else(|e| panic!("a bound socket has an address: {e}")).port();
    let url = format!("http://127.0.0.1:{port}/callback");
    world.raw.unreachable = Some((url.clone(), socket));
    url
}

/// The device's signature over the challenge it fetched last, with the key of its latest
/// enrollment (a raw `{csr of <device>}` enrollment's key first).
fn signature(world: &mut ConformanceWorld, device: &str, answer: &str) -> String {
    let answer = match answer {
        "accept" => Answer::Accept,
        "deny" => Answer::Deny,
        other => fail!("an answer is accept or deny, not {other:?}"),
    };
    let request = world
        .fetched
        .get(device)
        .unwrap_or_else(|| fail!("{device:?} must fetch the request before it signs an answer"))
        .clone();
    let key = match world.raw.keys.get(device) {
        Some(key) => key.clone(),
        None => match world.device(device).enrollment() {
            Some(enrollment) => enrollment.key.clone(),
            None => fail!("{device:?} holds no key to sign with"),
        },
    };
    let device_id = world.device(device).device_id();
    let signed = signing_string(request.transaction_id, &request.challenge, answer, device_id);
    STANDARD.encode(key.sign(signed.as_bytes()))
}

// ------------------------------------------------------------------ sending

/// The target's client (its TLS trust and timeouts), for requests the recording client cannot
/// send as they are.
fn client(world: &mut ConformanceWorld) -> reqwest::Client {
    world.target().http().client().clone()
}

/// Sends one raw request; `clauses` is the step's text after the path, `docstring` its doc string.
pub async fn send(
    world: &mut ConformanceWorld,
    who: &Who,
    method: &str,
    path: &str,
    clauses: &str,
    docstring: Option<&str>,
) {
    let clauses = parse_clauses(clauses).unwrap_or_else(|e| fail!("{e}"));
    let path = expand(world, path).await;
    // A call to a part of the test-control API the target lacks makes the scenario not applicable.
    if let Some(rest) = path.strip_prefix(protocol::wire::paths::ADMIN) {
        let part = peers::target::Capability::for_admin_path(rest);
        world.target().admin_for(part).or_fail(|e| format!("the scenario calls {path}, and {e}"));
    }
    let (body, default_type) = match &clauses.body {
        None => (None, None),
        Some(BodySpec::Json(text)) => (Some(expand(world, text).await), Some("application/json")),
        Some(BodySpec::JsonDoc) => {
            let text = docstring.unwrap_or_else(|| fail!("the step names a JSON body but has no doc string"));
            (Some(expand(world, text).await), Some("application/json"))
        }
        Some(BodySpec::Form(text)) => {
            (Some(expand(world, text).await), Some("application/x-www-form-urlencoded"))
        }
        Some(BodySpec::Plain(text)) => (Some(expand(world, text).await), None),
        Some(BodySpec::JsonOfSize(n)) => (Some(json_of_size(*n)), Some("application/json")),
        Some(BodySpec::FormOfSize(n)) => (Some(form_of_size(*n)), Some("application/x-www-form-urlencoded")),
    };
    let is_form = matches!(clauses.body, Some(BodySpec::Form(_) | BodySpec::FormOfSize(_)));
    let body = match (body, clauses.pad_to) {
        (Some(body), Some(size)) => Some(pad(&body, size, is_form)),
        (None, Some(size)) => Some(pad("", size, false)),
        (body, None) => body,
    };
    let content_type = match &clauses.content_type {
        Some(chosen) => chosen.clone(),
        None => default_type.map(str::to_string),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    match who {
        Who::Admin => headers.push(("Authorization".into(), format!("Bearer {}", admin_token(world)))),
        Who::Portal => {
            let (id, secret) = world.target().api_client();
            let encoded = STANDARD.encode(format!("{id}:{secret}"));
            headers.push(("Authorization".into(), format!("Basic {encoded}")));
        }
        Who::Anonymous => {}
        Who::Device(device) => {
            let token = resolve_plain(world, &format!("token of {device}")).await;
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
    }
    if clauses.no_credentials {
        headers.clear();
    }
    if let Some(credentials) = &clauses.basic {
        let credentials = expand(world, credentials).await;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        headers.push(("Authorization".into(), format!("Basic {}", STANDARD.encode(credentials))));
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type".into(), content_type));
    }
    for header in &clauses.headers {
        let header = expand(world, header).await;
        let Some((name, value)) = header.split_once(':') else {
            fail!("a header is written 'Name: value', not {header:?}");
        };
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.trim()));
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let times = clauses.times.unwrap_or(1);
    for _ in 0..times {
        let exchange = exchange(world, method, &path, &headers, body.as_deref()).await;
        after_exchange(world, who, &path, &exchange);
        world.raw.last = Some(exchange);
    }
}

/// Sends one request as given and returns what came, without keeping it as the last exchange.
pub async fn exchange(
    world: &mut ConformanceWorld,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> RawExchange {
    let client = client(world);
    let url = format!("{}{path}", world.target().base_url());
    let method_value = reqwest::Method::from_bytes(method.as_bytes())
        .unwrap_or_else(|e| fail!("{method:?} is not an HTTP method: {e}"));
    let mut request = client.request(method_value, &url).timeout(RAW_TIMEOUT);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let started = Instant::now();
    let outcome = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            match response.bytes().await {
                Ok(bytes) => Ok(RawResponse { status, headers, body: bytes.to_vec() }),
                Err(e) => Err(format!("the answer's body broke off: {e}")),
            }
        }
        Err(e) => Err(format!("no answer: {}", transcript::error_chain(&e))),
    };
    RawExchange { request: format!("{method} {path}"), outcome, elapsed: started.elapsed() }
}

/// Keeps what later steps of other modules read: the request a device fetched, the OTP the
/// portal started, and the outcome for `the request is refused with ...`.
fn after_exchange(world: &mut ConformanceWorld, who: &Who, path: &str, exchange: &RawExchange) {
    let Ok(response) = &exchange.outcome else {
        world.last = Some(Err(PeerError::Unreachable {
            url: exchange.request.clone(),
            reason: exchange.outcome.as_ref().err().cloned().unwrap_or_default(),
        }
        .into()));
        return;
    };
    let text = response.text();
    let success: &[u16] = if (200..300).contains(&response.status) { &[response.status] } else { &[] };
    world.last = Some(
        transcript::interpret::<serde_json::Value>(response.status, &text, success, "JSON value")
            .map(|(_, value)| value)
            .map_err(Into::into),
    );
    if response.status != 200 {
        return;
    }
    match who {
        Who::Device(device) if path == paths::OTP_REQUESTS => {
            if let Ok(request) = serde_json::from_slice::<OtpRequestResponse>(&response.body) {
                world.fetched.insert(device.clone(), request);
            }
        }
        Who::Portal if path == paths::AUTHENTICATE_USER => {
            if let Ok(started) = serde_json::from_slice::<AuthenticateUserResponse>(&response.body) {
                let qr_png = qr::render_png(&started.otp, &qr::RenderOptions::default()).unwrap_or_default();
                world.otp = Some(StartedOtp { response: started, qr_png });
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------ reading the answer

/// The last raw exchange; a check without one is a scenario bug.
pub fn last_exchange(world: &ConformanceWorld) -> &RawExchange {
    world.raw.last.as_ref().expect("a step must send a request before its answer is checked")
}

/// The last raw answer, or a failure saying that none came.
pub fn last_response(world: &ConformanceWorld) -> &RawResponse {
    let exchange = last_exchange(world);
    match &exchange.outcome {
        Ok(response) => response,
        Err(e) => fail!("expected an answer to {}, but got {e}", exchange.request),
    }
}

fn describe(exchange: &RawExchange) -> String {
    match &exchange.outcome {
        Ok(r) => {
            let text = r.text();
            let cut: String = text.chars().take(600).collect();
            format!("{} was answered {} {cut}", exchange.request, r.status)
        }
        Err(e) => format!("{} got {e}", exchange.request),
    }
}

/// The last answer's body as JSON, or a failure.
pub fn last_json(world: &ConformanceWorld) -> serde_json::Value {
    let exchange = last_exchange(world);
    last_response(world).json().unwrap_or_else(|| fail!("expected a JSON body, but {}", describe(exchange)))
}

/// The values a member path selects: `a.b`, `list[0].c`, `events[*].time`.
pub fn select<'a>(value: &'a serde_json::Value, path: &str) -> Vec<&'a serde_json::Value> {
    let mut current = vec![value];
    for segment in path.split('.') {
        let (name, mut indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            current = current.into_iter().filter_map(|v| v.get(name)).collect();
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let Some(end) = rest.find(']') else { fail!("no closing ] in the member path {path:?}") };
            let index = &rest[..end];
            current = if index == "*" {
                current.into_iter().filter_map(|v| v.as_array()).flatten().collect()
            } else {
                let i: usize = index.parse().unwrap_or_else(|_| fail!("bad index {index:?} in {path:?}"));
                current.into_iter().filter_map(|v| v.get(i)).collect()
            };
            indexes = &rest[end + 1..];
        }
    }
    current
}

/// The one value `path` names in the last answer (a wildcard path gives the array of matches).
fn member(world: &ConformanceWorld, path: &str) -> serde_json::Value {
    let body = last_json(world);
    let found = select(&body, path);
    if path.contains("[*]") {
        return serde_json::Value::Array(found.into_iter().cloned().collect());
    }
    match found.as_slice() {
        [one] => (*one).clone(),
        _ => {
            fail!("expected the answer to have the member {path:?}, but {}", describe(last_exchange(world)))
        }
    }
}

/// JSON equality that reads `3600` and `3600.0` as the same number.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w)),
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether `actual` holds everything of `expected`: objects may have more members, arrays must
/// have the same length with each element contained.
pub fn json_contains(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (actual, expected) {
        (Object(x), Object(y)) => y.iter().all(|(k, w)| x.get(k).is_some_and(|v| json_contains(v, w))),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_contains(v, w)),
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        _ => actual == expected,
    }
}

/// Reads a JSON literal of a step, with or without surrounding single quotes.
pub async fn json_literal(world: &mut ConformanceWorld, text: &str) -> serde_json::Value {
    let text = text.trim();
    let text = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).unwrap_or(text);
    let text = expand(world, text).await;
    serde_json::from_str(&text).unwrap_or_else(|e| fail!("the scenario's JSON {text:?} does not parse: {e}"))
}

/// Whether `text` is a lowercase hyphenated UUID (8-4-4-4-12 hex digits).
pub fn is_lowercase_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_digit() || matches!(c, 'a'..='f')
            }
        })
}

/// Whether `text` is an RFC 3339 date-time in UTC as GEN-003 reads it: any number of fraction
/// digits, and the offset `Z` (RFC 3339 lets it be written `z`) or `+00:00`, but not `-00:00`,
/// which RFC 3339 section 4.3 reserves for "UTC, local offset unknown".
pub fn is_utc_time(text: &str) -> bool {
    let utc_offset = text.ends_with(['Z', 'z']) || text.ends_with("+00:00");
    utc_offset && OffsetDateTime::parse(text, &Rfc3339).is_ok()
}

/// Parses an RFC 3339 time of a step or an answer.
pub fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| fail!("{text:?} is not an RFC 3339 time: {e}"))
}

fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ------------------------------------------------------------------ refusals

/// A refusal as a feature writes it: `413 10015 INVALID_REQUEST` or `400 invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A device, relying-party or admin API error.
    Api(u16, u32, String),
    /// An RFC 6749 error.
    OAuth(u16, String),
    /// Any 4xx status with an error body of the API's shape (`a 4xx error`): what every reading
    /// shares where the contract fixes the shape of an error but not its status or code.
    AnyApi,
    /// Any 4xx status with an RFC 6749 error body (`a 4xx oauth error`).
    AnyOAuth,
}

/// The `error` values of RFC 6749 section 5.2 that the contract's section 0 names.
const OAUTH_ERRORS: [&str; 4] =
    ["invalid_client", "invalid_grant", "invalid_request", "unsupported_grant_type"];

impl Refusal {
    /// Parses `<status> <code> <TYPE>`, `<status> <oauth error>`, `a 4xx error` or
    /// `a 4xx oauth error`. A code and type must be an error the table answers with that status
    /// ([`super::expected_error`]), so a mistyped one fails the scenario instead of checking
    /// something else.
    pub fn parse(text: &str) -> Self {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let status = |s: &str| s.parse::<u16>().unwrap_or_else(|_| panic!("bad status in {text:?}"));
        match parts.as_slice() {
            ["a", "4xx", "error"] => Refusal::AnyApi,
            ["a", "4xx", "oauth", "error"] => Refusal::AnyOAuth,
            [code_status, code, error_type] => {
                let code: u32 = code.parse().unwrap_or_else(|_| panic!("bad error code in {text:?}"));
                let code_status = status(code_status);
                super::expected_error(code_status, code, error_type);
                Refusal::Api(code_status, code, (*error_type).to_string())
            }
            [oauth_status, error] => {
                assert!(
                    OAUTH_ERRORS.contains(error),
                    "{error:?} is not an RFC 6749 error the contract names"
                );
                Refusal::OAuth(status(oauth_status), (*error).to_string())
            }
            _ => panic!(
                "a refusal is written \"<status> <code> <TYPE>\", \"<status> <oauth error>\", \"a 4xx error\" or \
                 \"a 4xx oauth error\", not {text:?}"
            ),
        }
    }
}

/// Whether `body` is the error body of contract section 0 (GEN-002): an integer `error_code`, an
/// UPPER_SNAKE `error_type` (the table's name for a code the contract names) and a text
/// `error_message`, which may be empty (the contract asks for a text, not a non-empty one).
fn is_api_error_body(body: &serde_json::Value) -> bool {
    let Some(error_type) = body["error_type"].as_str() else { return false };
    let upper_snake = error_type.starts_with(|c: char| c.is_ascii_uppercase())
        && error_type.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    // 20009 is the mock's own code for an injected fault; the contract does not name it.
    let named_type = body["error_code"]
        .as_u64()
        .and_then(|code| u32::try_from(code).ok())
        .and_then(ErrorCode::from_code)
        .filter(|known| *known != ErrorCode::InjectedFault)
        .is_none_or(|known| known.type_name() == error_type);
    body.is_object()
        && body["error_code"].is_u64()
        && upper_snake
        && named_type
        && body["error_message"].is_string()
}

/// Whether `body` is an RFC 6749 section 5.2 error (AUTH-007): an `error` the contract names, and
/// an `error_description`, when present, that is a text. Other members (an `error_code`, say) are
/// not the contract's business.
fn is_oauth_error_body(body: &serde_json::Value) -> bool {
    body.is_object()
        && body["error"].as_str().is_some_and(|e| OAUTH_ERRORS.contains(&e))
        && body.get("error_description").is_none_or(serde_json::Value::is_string)
}

/// Checks the last answer against a refusal: the status, and the error body in full (GEN-002 for
/// API errors, AUTH-007 for RFC 6749 ones).
pub fn assert_refusal(world: &ConformanceWorld, refusal: &Refusal) {
    let exchange = last_exchange(world);
    let response = last_response(world);
    let body = response.json().unwrap_or(serde_json::Value::Null);
    let client_error = (400..500).contains(&response.status);
    let (ok, what) = match refusal {
        Refusal::Api(status, code, error_type) => (
            response.status == *status
                && body["error_code"].as_u64() == Some(u64::from(*code))
                && body["error_type"].as_str() == Some(error_type.as_str())
                && is_api_error_body(&body),
            format!(
                "{status} {{\"error_code\": {code}, \"error_type\": \"{error_type}\", \"error_message\": <text>}}"
            ),
        ),
        Refusal::AnyApi => (
            client_error && is_api_error_body(&body),
            "a 4xx status and {\"error_code\": <int>, \"error_type\": \"<UPPER_SNAKE>\", \"error_message\": <text>}"
                .to_string(),
        ),
        Refusal::OAuth(status, error) => (
            response.status == *status && body["error"].as_str() == Some(error.as_str()) && is_oauth_error_body(&body),
            format!("{status} {{\"error\": \"{error}\", \"error_description\"?: <text>}} as in RFC 6749 §5.2"),
        ),
        Refusal::AnyOAuth => (
            client_error && is_oauth_error_body(&body),
            "a 4xx status and an RFC 6749 §5.2 error body".to_string(),
        ),
    };
    ensure!(ok, "expected {} to be refused with {what}, but {}", exchange.request, describe(exchange));
}

// ------------------------------------------------------------------ steps: sending

#[given(regex = r#"^(the admin|the portal|a client|"[^"]+") sends ([A-Z]+) "([^"]*)"(.*)$"#)]
#[when(regex = r#"^(the admin|the portal|a client|"[^"]+") sends ([A-Z]+) "([^"]*)"(.*)$"#)]
async fn sends(
    world: &mut ConformanceWorld,
    who: String,
    method: String,
    path: String,
    clauses: String,
    step: &Step,
) {
    send(world, &Who::parse(&who), &method, &path, &clauses, step.docstring.as_deref()).await;
}

// ------------------------------------------------------------------ steps: status and errors

#[then(expr = "the response status is {int}")]
async fn status_is(world: &mut ConformanceWorld, status: u16) {
    let exchange = last_exchange(world);
    let got = last_response(world).status;
    ensure_eq!(got, status, "expected status {status}, but {}", describe(exchange));
}

/// Any success: where the contract names no status for a call's answer (the test-control API's
/// PUT config or clock moves, say), 200 and 204 are both readings of it.
#[then("the response status is a success")]
async fn status_is_success(world: &mut ConformanceWorld) {
    let exchange = last_exchange(world);
    let got = last_response(world).status;
    ensure!((200..300).contains(&got), "expected a 2xx status, but {}", describe(exchange));
}

#[then(regex = r"^the response is (refused with .+|\d{3}|a success|a success or refused with .+)$")]
async fn response_is(world: &mut ConformanceWorld, outcome: String) {
    if let Some(refusal) = outcome.strip_prefix("a success or refused with ") {
        // Where the contract leaves a request's fate open (a body sent with another Content-Type,
        // say), every reading either takes it or refuses it in the API's error shape.
        let refusal = Refusal::parse(refusal);
        if !(200..300).contains(&last_response(world).status) {
            assert_refusal(world, &refusal);
        }
        return;
    }
    match outcome.strip_prefix("refused with ") {
        Some(refusal) => assert_refusal(world, &Refusal::parse(refusal)),
        None if outcome == "a success" => status_is_success(world).await,
        None => status_is(world, outcome.parse().expect("the regex takes three digits")).await,
    }
}

/// GEN-002: the contract asks for an `error_message` that is a text for a person, and an empty
/// text is one; the suite never reads what it says.
#[then("the error body has an integer error_code, an UPPER_SNAKE error_type and a text error_message")]
async fn error_body_shape(world: &mut ConformanceWorld) {
    let body = last_json(world);
    ensure!(
        is_api_error_body(&body),
        "expected {{\"error_code\": <integer>, \"error_type\": \"<UPPER_SNAKE>\", \"error_message\": <text>}}, but {}",
        describe(last_exchange(world))
    );
}

/// AUTH-007: `error` one of the contract's four, `error_description` a text when present (RFC
/// 6749 and the contract's own section 1 example leave it out).
#[then("the error body is an RFC 6749 error object")]
async fn oauth_body_shape(world: &mut ConformanceWorld) {
    let body = last_json(world);
    ensure!(
        is_oauth_error_body(&body),
        "expected {{\"error\": one of {OAUTH_ERRORS:?}, \"error_description\"?: <text>}}, but {}",
        describe(last_exchange(world))
    );
}

// ------------------------------------------------------------------ steps: headers and bodies

#[then(expr = "the response body is UTF-8 JSON sent with Content-Type {string}")]
async fn json_with_content_type(world: &mut ConformanceWorld, expected: String) {
    let exchange = last_exchange(world);
    let response = last_response(world);
    let header = response
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut parts = header.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default();
    let charset_ok = parts
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .all(|(_, v)| v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8"));
    ensure!(
        media_type.eq_ignore_ascii_case(&expected) && charset_ok,
        "expected Content-Type {expected} (any charset being utf-8), got {header:?}: {}",
        describe(exchange)
    );
    let text = std::str::from_utf8(&response.body)
        .unwrap_or_else(|e| fail!("expected a UTF-8 body, but byte {} is not UTF-8", e.valid_up_to()));
    serde_json::from_str::<serde_json::Value>(text)
        .unwrap_or_else(|e| fail!("expected a JSON body ({e}), but {}", describe(exchange)));
}

#[then("the response has no body")]
async fn no_body(world: &mut ConformanceWorld) {
    let response = last_response(world);
    ensure!(response.body.is_empty(), "expected no body, but {}", describe(last_exchange(world)));
}

#[then(regex = r"^the response body is the JSON (.+)$")]
async fn body_is(world: &mut ConformanceWorld, expected: String) {
    let expected = json_literal(world, &expected).await;
    let body = last_json(world);
    ensure!(
        json_eq(&body, &expected),
        "expected the body {expected}, but {}",
        describe(last_exchange(world))
    );
}

#[then(regex = r"^the response body contains the JSON (.+)$")]
async fn body_contains(world: &mut ConformanceWorld, expected: String) {
    let expected = json_literal(world, &expected).await;
    let body = last_json(world);
    ensure!(
        json_contains(&body, &expected),
        "expected the body to contain {expected}, but {}",
        describe(last_exchange(world))
    );
}

#[then("the response body contains the JSON:")]
async fn body_contains_doc(world: &mut ConformanceWorld, step: &Step) {
    let text = step.docstring.clone().expect("the step has a doc string");
    body_contains(world, text).await;
}

#[then(expr = "the response body is remembered as {string}")]
async fn remember_body(world: &mut ConformanceWorld, name: String) {
    let body = last_json(world);
    world.raw.saved.insert(name, body.to_string());
}

// ------------------------------------------------------------------ steps: members

#[then(regex = r#"^the response member "([^"]+)" equals (.+)$"#)]
async fn member_equals(world: &mut ConformanceWorld, path: String, expected: String) {
    let expected = json_literal(world, &expected).await;
    let got = member(world, &path);
    ensure!(
        json_eq(&got, &expected),
        "expected {path} to be {expected}, got {got}: {}",
        describe(last_exchange(world))
    );
}

#[then(regex = r#"^the response member "([^"]+)" does not equal (.+)$"#)]
async fn member_differs(world: &mut ConformanceWorld, path: String, other: String) {
    let other = json_literal(world, &other).await;
    let got = member(world, &path);
    ensure!(!json_eq(&got, &other), "expected {path} to differ from {other}, but it is the same");
}

#[then(expr = "the response member {string} is remembered as {string}")]
async fn remember_member(world: &mut ConformanceWorld, path: String, name: String) {
    let value = member(world, &path);
    world.raw.saved.insert(name, as_text(&value));
}

#[then(expr = "the response member {string} is a string")]
async fn member_is_string(world: &mut ConformanceWorld, path: String) {
    let got = member(world, &path);
    ensure!(got.is_string(), "expected {path} to be a string, but {}", describe(last_exchange(world)));
}

#[then(expr = "the response member {string} is absent or null")]
async fn member_absent(world: &mut ConformanceWorld, path: String) {
    let body = last_json(world);
    let found = select(&body, &path);
    ensure!(
        found.iter().all(|v| v.is_null()),
        "expected no {path} (or null), but {}",
        describe(last_exchange(world))
    );
}

#[then(expr = "the response member {string} is a lowercase hyphenated UUID")]
async fn member_is_uuid(world: &mut ConformanceWorld, path: String) {
    let got = member(world, &path);
    let values = if path.contains("[*]") { got.as_array().cloned().unwrap_or_default() } else { vec![got] };
    ensure!(!values.is_empty(), "expected at least one {path}, but {}", describe(last_exchange(world)));
    for value in values {
        ensure!(
            value.as_str().is_some_and(is_lowercase_uuid),
            "expected {path} to be a lowercase hyphenated UUID, got {value}"
        );
    }
}

/// Contract section 0: "Times are RFC 3339 UTC strings". `Z` and `+00:00` both say UTC, and any
/// number of fraction digits is RFC 3339.
#[then(expr = "the response member {string} is an RFC 3339 UTC time")]
async fn member_is_time(world: &mut ConformanceWorld, path: String) {
    let got = member(world, &path);
    let values = if path.contains("[*]") { got.as_array().cloned().unwrap_or_default() } else { vec![got] };
    ensure!(!values.is_empty(), "expected at least one {path}, but {}", describe(last_exchange(world)));
    for value in values {
        ensure!(
            value.as_str().is_some_and(is_utc_time),
            "expected {path} to be an RFC 3339 time in UTC (offset Z or +00:00), got {value}"
        );
    }
}

#[then(expr = "the response member {string} is the instant {string}")]
async fn member_is_instant(world: &mut ConformanceWorld, path: String, expected: String) {
    let expected = instant(&expand(world, &expected).await);
    let got = member(world, &path);
    let got_text = as_text(&got);
    ensure_eq!(instant(&got_text), expected, "expected {path} to be the instant {expected}, got {got_text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_parse() {
        let c =
            parse_clauses(" with the JSON body '{\"a\": 1}' padded to 70 bytes typed \"text/plain\" 3 times")
                .expect("parses");
        assert_eq!(c.body, Some(BodySpec::Json("{\"a\": 1}".into())));
        assert_eq!((c.pad_to, c.times), (Some(70), Some(3)));
        assert_eq!(c.content_type, Some(Some("text/plain".into())));
        let c = parse_clauses(" with the header 'Authorization: Token x' and without a Content-Type")
            .expect("parses");
        assert_eq!((c.headers, c.content_type), (vec!["Authorization: Token x".to_string()], Some(None)));
        assert!(parse_clauses(" with something else").is_err());
    }

    #[test]
    fn sizes_and_padding_are_exact() {
        assert_eq!(json_of_size(65_537).len(), 65_537);
        assert_eq!(form_of_size(100).len(), 100);
        assert_eq!(pad("{}", 10, false), "{}        ");
        assert_eq!(pad("a=b", 6, true), "a=b&&&");
        assert!(serde_json::from_str::<serde_json::Value>(&json_of_size(20)).is_ok());
    }

    #[test]
    fn placeholders_leave_json_alone() {
        assert!(is_placeholder("device_id of phone"));
        assert!(!is_placeholder("\"a\": 1"));
        assert!(!is_placeholder(""));
    }

    #[test]
    fn error_bodies_are_judged_by_the_contract_only() {
        use serde_json::json;
        let body = |code: u64, error_type: &str, message: serde_json::Value| json!({"error_code": code, "error_type": error_type, "error_message": message});
        assert!(is_api_error_body(&body(10015, "INVALID_REQUEST", json!(""))));
        assert!(is_api_error_body(&body(12345, "SOME_OTHER_ERROR", json!("text"))));
        assert!(!is_api_error_body(&body(10015, "BAD_REQUEST", json!("text"))));
        assert!(!is_api_error_body(&body(10015, "invalid_request", json!("text"))));
        assert!(!is_api_error_body(&body(10015, "INVALID_REQUEST", serde_json::Value::Null)));
        assert!(is_oauth_error_body(&json!({"error": "invalid_grant"})));
        assert!(is_oauth_error_body(&json!({"error": "invalid_grant", "error_code": 1})));
        assert!(!is_oauth_error_body(&json!({"error": "invalid_grant", "error_description": 7})));
        assert!(!is_oauth_error_body(&json!({"error": "access_denied"})));
    }

    #[test]
    fn member_paths_and_formats() {
        let v = serde_json::json!({"a": [{"b": 1}, {"b": 2}], "c": {"d": "x"}});
        assert_eq!(select(&v, "a[*].b").len(), 2);
        assert_eq!(select(&v, "a[1].b"), vec![&serde_json::json!(2)]);
        assert_eq!(select(&v, "c.d"), vec![&serde_json::json!("x")]);
        assert!(select(&v, "c.e").is_empty());
        assert!(is_lowercase_uuid("0b8f8d7a-3c6e-4f5e-9a1b-2c3d4e5f6a7b"));
        assert!(!is_lowercase_uuid("0B8F8D7A-3C6E-4F5E-9A1B-2C3D4E5F6A7B"));
        assert!(is_utc_time("2030-01-01T00:00:00.123456+00:00") && is_utc_time("2030-01-01T00:00:00Z"));
        assert!(!is_utc_time("2030-01-01T00:00:00-00:00") && !is_utc_time("2030-01-01T02:00:00+02:00"));
        assert_eq!(Refusal::parse("a 4xx error"), Refusal::AnyApi);
        assert_eq!(Refusal::parse("a 4xx oauth error"), Refusal::AnyOAuth);
        assert!(json_contains(&serde_json::json!({"a": 1, "b": 2}), &serde_json::json!({"a": 1.0})));
        assert_eq!(
            Refusal::parse("413 10015 INVALID_REQUEST"),
            Refusal::Api(413, 10015, "INVALID_REQUEST".into())
        );
        assert_eq!(Refusal::parse("400 invalid_grant"), Refusal::OAuth(400, "invalid_grant".into()));
    }
}
