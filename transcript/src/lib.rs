//! The harness's HTTP client: every exchange is checked against the expected shape and kept in a
//! transcript, so a report can show an implementer exactly which exchange went wrong.
//!
//! Every peer of a scenario (devices, portal, the test-control API, raw requests) sends through
//! [`Http`], so the scenario's [`Transcript`] holds all it sent and all that came, secrets
//! redacted, bodies cut.
#![forbid(unsafe_code)]

mod raw;
mod secrets;
mod tls;

pub use raw::{RAW_TIMEOUT, RawExchange, RawFailure, RawRequest, RawResponse, basic_authorization};
pub use secrets::{is_secret_name, mask, redact_header};
pub use tls::platform_tls;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use protocol::error::{ErrorBody, OAuthErrorBody};
use serde::de::DeserializeOwned;

/// Bodies longer than this are cut in transcripts.
const BODY_LIMIT_IN_TRANSCRIPT: usize = 4096;

/// The most bytes of a response body the harness reads. An answer of the profile is far smaller
/// (the largest, an enrollment's certificate, a few KiB); a peer's longer body is not read on, so
/// a server that answers without end costs the harness no more than this.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Why a response body was not read whole.
#[derive(Debug)]
enum BodyFailure {
    /// It is longer than [`MAX_RESPONSE_BODY`].
    TooLarge,
    /// The connection failed while it came.
    Broke(String),
}

/// Reads `response`'s body up to [`MAX_RESPONSE_BODY`] bytes.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyFailure> {
    if response.content_length().is_some_and(|length| length > MAX_RESPONSE_BODY as u64) {
        return Err(BodyFailure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| BodyFailure::Broke(error_chain(&e)))? {
        if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BODY {
            return Err(BodyFailure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a message says of a body over [`MAX_RESPONSE_BODY`].
fn too_large() -> String {
    format!("a body of more than {MAX_RESPONSE_BODY} bytes (not read on)")
}

/// One HTTP exchange as a report shows it (credentials and tokens redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Request headers as sent by the harness, credentials redacted (`Authorization: Bearer [redacted]`).
    pub request_headers: Vec<(String, String)>,
    /// Request body, cut at a limit.
    pub request_body: String,
    /// Response status, or `None` when no response came.
    pub status: Option<u16>,
    /// Response headers, credentials redacted; empty when no response came.
    pub response_headers: Vec<(String, String)>,
    /// Response body, cut at a limit, or the transport error.
    pub response_body: String,
    /// When the exchange ended (the answer or the failure came); reports use it to tell which
    /// step made the exchange.
    pub at: SystemTime,
    /// How long the exchange took.
    pub elapsed: Duration,
}

/// An image a peer of the scenario scanned (a QR code), with when it was scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedImage {
    /// When it was scanned.
    pub at: SystemTime,
    /// The image as given to the decoder (PNG or JPEG).
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
struct Recorded {
    exchanges: Vec<Exchange>,
    images: Vec<ScannedImage>,
    secrets: secrets::Secrets,
    /// Keeps nothing (a load run's clients, whose exchanges no report shows one by one).
    discard: bool,
}

/// The exchanges (and scanned images) of one scenario, shared by every peer in it.
#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<Recorded>>);

impl Transcript {
    /// A transcript that keeps no exchange and no image: for clients that make many thousands of
    /// calls and report only their timings and errors (`mobauth load`), whose memory must not grow
    /// with each call.
    pub fn discarding() -> Self {
        Transcript(Arc::new(Mutex::new(Recorded { discard: true, ..Recorded::default() })))
    }

    /// Records an exchange: its secrets (credential headers, secret-named fields of either
    /// body) are remembered and its headers masked here, so that no sender can forget to; its
    /// bodies are cut, and kept as they came for the steps' checks (a check for a leaked OTP must
    /// see it), to be scrubbed when reported ([`Self::reported_exchanges`]).
    fn push(&self, mut exchange: Exchange) {
        let mut recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.discard {
            return;
        }
        for (name, value) in exchange.request_headers.iter().chain(&exchange.response_headers) {
            recorded.secrets.keep_from_header(name, value);
        }
        recorded.secrets.keep_from_body(&exchange.request_body);
        recorded.secrets.keep_from_body(&exchange.response_body);
        for (name, value) in exchange.request_headers.iter_mut().chain(exchange.response_headers.iter_mut()) {
            if let Some(redacted) = secrets::redacted_header(name, value) {
                *value = redacted;
            }
        }
        exchange.request_body = cut(&exchange.request_body);
        exchange.response_body = cut(&exchange.response_body);
        recorded.exchanges.push(exchange);
    }

    /// A copy of every exchange so far, headers masked, bodies as they came (cut): for checks.
    /// What reports show is [`Self::reported_exchanges`].
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).exchanges.clone()
    }

    /// Every exchange as a report shows it: each secret of the scenario masked, in the URL, the
    /// headers and the bodies.
    pub fn reported_exchanges(&self) -> Vec<Exchange> {
        let recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let scrub = |text: &str| recorded.secrets.scrub(text);
        recorded
            .exchanges
            .iter()
            // Field by field: `..e.clone()` would copy the bodies and headers only to drop them.
            .map(|e| Exchange {
                method: e.method.clone(),
                url: scrub(&e.url),
                request_headers: e.request_headers.iter().map(|(n, v)| (n.clone(), scrub(v))).collect(),
                request_body: scrub(&e.request_body),
                status: e.status,
                response_headers: e.response_headers.iter().map(|(n, v)| (n.clone(), scrub(v))).collect(),
                response_body: scrub(&e.response_body),
                at: e.at,
                elapsed: e.elapsed,
            })
            .collect()
    }

    /// Remembers `value` as a secret of the scenario, to be masked in everything reported (a
    /// value the harness knows to be secret that no exchange carried under a secret's name).
    pub fn keep_secret(&self, value: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).secrets.keep(value);
    }

    /// `text` (a failure message, say) with every secret of the scenario masked, and the values
    /// of secret-named fields in it.
    pub fn scrub(&self, text: &str) -> String {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).secrets.scrub(text)
    }

    /// Records an image a peer scanned (a QR code), so reports can show it with its step.
    pub fn record_image(&self, bytes: &[u8]) {
        let mut recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !recorded.discard {
            recorded.images.push(ScannedImage { at: SystemTime::now(), bytes: bytes.to_vec() });
        }
    }

    /// A copy of every recorded image so far.
    pub fn images(&self) -> Vec<ScannedImage> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).images.clone()
    }
}

/// What a call to an implementation under test came back with, when it was not the expected success.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The peer refused with a well-formed error body of the device, relying-party or admin API.
    #[error("refused with {status} {} {}: {}", body.error_code, body.error_type, body.error_message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: ErrorBody,
    },
    /// The peer refused with a well-formed RFC 6749 error body.
    #[error("refused with {status} {:?}", body.error)]
    OAuthRefused {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: OAuthErrorBody,
    },
    /// The peer answered something the profile does not allow (the implementation misbehaved).
    #[error("unexpected answer {status}: expected {expected}, got {body}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What the profile calls for here.
        expected: String,
        /// What came, cut at a limit.
        body: String,
    },
    /// No HTTP answer: connection refused or dropped, or a timeout.
    #[error("no answer from {url}: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
}

impl PeerError {
    /// The `(status, error_code, error_type)` of a [`PeerError::Refused`].
    pub fn api_error(&self) -> Option<(u16, u32, &str)> {
        match self {
            PeerError::Refused { status, body } => Some((*status, body.error_code, body.error_type.as_str())),
            _ => None,
        }
    }
}

/// A request about to be sent.
#[derive(Debug)]
pub enum Payload<'a> {
    /// No body.
    Empty,
    /// A JSON body.
    Json(&'a serde_json::Value),
    /// An `application/x-www-form-urlencoded` body.
    Form(&'a [(&'a str, &'a str)]),
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No `Authorization` header.
    None,
    /// `Bearer <token>`.
    Bearer(&'a str),
    /// HTTP Basic, each part form-url-encoded first (RFC 6749 §2.3.1).
    Basic(&'a str, &'a str),
}

/// An HTTP client that records every exchange in a [`Transcript`].
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    transcript: Transcript,
}

/// How the harness's clients reach a server: which certificates it trusts and how long it waits.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long one exchange may take, from connecting to the end of the body.
    pub request_timeout: Duration,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// Which server certificates are trusted.
    pub trust: Trust,
}

impl ClientSettings {
    /// Plain settings for a server on this machine: the system's roots, `request_timeout`.
    pub fn local(request_timeout: Duration) -> Self {
        Self { request_timeout, connect_timeout: request_timeout, trust: Trust::System }
    }
}

/// Which server certificates a client trusts.
#[derive(Clone)]
pub enum Trust {
    /// The platform's trust store.
    System,
    /// Only these CA certificates (a target file's `ca_file`).
    Only(Vec<reqwest::Certificate>),
    /// Any certificate, for a local test server with a self-signed one (a target file's
    /// `insecure = true`).
    Insecure,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::System => f.write_str("System"),
            Trust::Only(certs) => write!(f, "Only({} certificates)", certs.len()),
            Trust::Insecure => f.write_str("Insecure"),
        }
    }
}

/// A client that cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
#[error("cannot build an HTTP client: {0}")]
pub struct ClientError(String);

/// Builds a client: no redirects followed (a redirect is an answer to check, not to chase), the
/// settings' timeouts and trust.
pub fn build_client(settings: &ClientSettings) -> Result<reqwest::Client, ClientError> {
    tls::install_crypto_provider();
    let builder = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.connect_timeout)
        .redirect(reqwest::redirect::Policy::none());
    let builder = match &settings.trust {
        Trust::System => builder.tls_backend_preconfigured(tls::platform_tls().map_err(ClientError)?),
        Trust::Only(certs) => builder.tls_certs_only(certs.iter().cloned()),
        Trust::Insecure => builder.danger_accept_invalid_certs(true),
    };
    builder.build().map_err(|e| ClientError(error_chain(&e)))
}

/// An error with its sources, which is where reqwest keeps the reason (a TLS alert, a refused
/// connection).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Http {
    /// A client for the server at `base` (no trailing slash) on this machine, recording into
    /// `transcript`.
    pub fn new(base: &str, timeout: Duration, transcript: Transcript) -> Self {
        let client = build_client(&ClientSettings::local(timeout))
            .expect("a client with the system's roots and no client certificate always builds");
        Self::with_client(client, base, transcript)
    }

    /// A recording client around `client` for the server at `base`.
    pub fn with_client(client: reqwest::Client, base: &str, transcript: Transcript) -> Self {
        Self { client, base: base.trim_end_matches('/').to_string(), transcript }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The transcript this client records into.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Sends a request and returns the status and raw body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        payload: Payload<'_>,
    ) -> Result<(u16, String), PeerError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url);
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic(id, secret) => request.basic_auth(form_encode(id), Some(form_encode(secret))),
        };
        let request_body = match payload {
            Payload::Empty => String::new(),
            Payload::Json(value) => {
                request = request.json(value);
                value.to_string()
            }
            Payload::Form(fields) => {
                request = request.form(fields);
                fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
            }
        };
        let started = Instant::now();
        let mut request_headers = Vec::new();
        let mut response_headers = Vec::new();
        let outcome = match request.build() {
            Ok(request) => {
                request_headers = header_list(request.headers());
                match self.client.execute(request).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        response_headers = header_list(response.headers());
                        match read_body(response).await {
                            Ok(body) => Ok((status, String::from_utf8_lossy(&body).into_owned())),
                            Err(BodyFailure::TooLarge) => Err(PeerError::Unexpected {
                                status,
                                expected: format!("an answer of at most {MAX_RESPONSE_BODY} bytes"),
                                body: too_large(),
                            }),
                            Err(BodyFailure::Broke(reason)) => {
                                Err(PeerError::Unreachable { url: url.clone(), reason })
                            }
                        }
                    }
                    Err(e) => Err(PeerError::Unreachable { url: url.clone(), reason: error_chain(&e) }),
                }
            }
            Err(e) => Err(PeerError::Unreachable { url: url.clone(), reason: error_chain(&e) }),
        };
        let (status, response_body) = match &outcome {
            Ok((status, body)) => (Some(*status), body.clone()),
            // A status came, then more body than is read.
            Err(e @ PeerError::Unexpected { status, .. }) => (Some(*status), e.to_string()),
            Err(e) => (None, e.to_string()),
        };
        self.transcript.push(Exchange {
            method: method.to_string(),
            url,
            request_headers,
            request_body,
            status,
            response_headers,
            response_body,
            at: SystemTime::now(),
            elapsed: started.elapsed(),
        });
        outcome
    }

    /// Sends a request and parses a success of `expected_status` as `T`; any error body becomes a
    /// [`PeerError`], anything else [`PeerError::Unexpected`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        payload: Payload<'_>,
        expected_status: &[u16],
    ) -> Result<(u16, T), PeerError> {
        let (status, body) = self.send(method, path, auth, payload).await?;
        interpret(status, &body, expected_status, std::any::type_name::<T>())
    }
}

/// Reads a response: a success of an expected status as `T`, an error body as a refusal.
pub fn interpret<T: DeserializeOwned>(
    status: u16,
    body: &str,
    expected_status: &[u16],
    what: &str,
) -> Result<(u16, T), PeerError> {
    if expected_status.contains(&status) {
        let text = if body.is_empty() { "null" } else { body };
        return serde_json::from_str(text).map(|value| (status, value)).map_err(|e| PeerError::Unexpected {
            status,
            expected: format!("a {} body ({e})", short_type(what)),
            body: cut(body),
        });
    }
    if let Ok(error) = serde_json::from_str::<ErrorBody>(body) {
        return Err(PeerError::Refused { status, body: error });
    }
    if let Ok(error) = serde_json::from_str::<OAuthErrorBody>(body) {
        return Err(PeerError::OAuthRefused { status, body: error });
    }
    Err(PeerError::Unexpected {
        status,
        expected: format!("status {expected_status:?} with a {} body, or an error body", short_type(what)),
        body: cut(body),
    })
}

fn short_type(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(BODY_LIMIT_IN_TRANSCRIPT) {
        Some((i, _)) => format!("{}… ({} bytes in all)", &text[..i], text.len()),
        None => text.to_string(),
    }
}

/// The headers as `(name, value)` pairs, as they are: [`Transcript::push`] masks credentials.
fn header_list(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect()
}

fn form_encode(part: &str) -> String {
    percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_secrets_in_json_and_forms() {
        let m = |value: &str| mask(value);
        let table = [
            (
                r#"{"access_token":"abc","x":1}"#.to_string(),
                format!(r#"{{"access_token":"{}","x":1}}"#, m("abc")),
            ),
            (
                "grant_type=password&username=a&password=s3cret&client_id=c".into(),
                format!("grant_type=password&username=a&password={}&client_id=c", m("s3cret")),
            ),
            ("client_secret=zz".into(), format!("client_secret={}", m("zz"))),
            (
                r#"{"password": "s3cret", "username": "a"}"#.into(),
                format!(r#"{{"password": "{}", "username": "a"}}"#, m("s3cret")),
            ),
            (
                r#"{"access_token" :"a\"b","x":1}"#.into(),
                format!(r#"{{"access_token" :"{}","x":1}}"#, m(r#"a\"b"#)),
            ),
            (
                r#"{"password": 12, "note": "password"}"#.into(),
                r#"{"password": 12, "note": "password"}"#.into(),
            ),
            (r#"{"client_secret":"cut off"#.into(), format!(r#"{{"client_secret":"{}"#, m("cut off"))),
            (
                r#"{"otp":"AQID","refresh_token":"r1"}"#.into(),
                format!(r#"{{"otp":"{}","refresh_token":"{}"}}"#, m("AQID"), m("r1")),
            ),
            ("nothing here".into(), "nothing here".into()),
        ];
        for (input, expected) in table {
            assert_eq!(secrets::redact_fields(&input), expected, "{input}");
        }
    }

    #[test]
    fn header_redaction_keeps_the_scheme_and_masks_credentials() {
        let table = [
            ("Authorization", "Bearer abc.def", format!("Bearer {}", mask("abc.def"))),
            (
                "authorization",
                "Basic cG9ydGFsOnNlY3JldA==",
                format!("Basic {}", mask("cG9ydGFsOnNlY3JldA==")),
            ),
            ("authorization", "opaque", mask("opaque")),
            ("set-cookie", "sid=1", mask("sid=1")),
            ("x-api-key", "k", mask("k")),
            ("content-type", "application/json", "application/json".into()),
        ];
        for (name, value, expected) in table {
            assert_eq!(redact_header(name, value), expected, "{name}: {value}");
        }
    }

    /// A secret seen once is masked wherever it appears after: in a failure message, in another
    /// field, under a name the contract does not know; two secrets get two masks; values too
    /// short to mask anywhere stay masked by their place only.
    #[test]
    fn a_secret_seen_once_is_masked_everywhere() {
        let transcript = Transcript::default();
        transcript.push(Exchange {
            method: "POST".into(),
            url: "http://t/oauth/token".into(),
            request_headers: vec![("authorization".into(), basic_authorization("portal:hush-hush"))],
            request_body: "grant_type=password&username=alice&password=alice-password&client_id=app".into(),
            status: Some(200),
            response_headers: vec![("set-cookie".into(), "sid=cookie-value-1".into())],
            response_body: r#"{"access_token":"tok-0123456789","refresh_token":"ref-0123456789","extra":{"session_secret":"deep-secret-1"},"pin":"42"}"#.into(),
            at: SystemTime::now(),
            elapsed: Duration::ZERO,
        });
        let message = "expected token_type Bearer, got tok-0123456789 with ref-0123456789, \
                       deep-secret-1, hush-hush, alice-password and cookie-value-1; pin 42";
        let scrubbed = transcript.scrub(message);
        for secret in ["tok-0123456789", "ref-0123456789", "deep-secret-1", "hush-hush", "alice-password"] {
            assert!(!scrubbed.contains(secret), "{secret} is masked: {scrubbed}");
            assert!(scrubbed.contains(&mask(secret)), "{secret} has its own mask: {scrubbed}");
        }
        assert_ne!(mask("tok-0123456789"), mask("ref-0123456789"), "two values, two masks");
        assert!(scrubbed.contains("pin 42") && scrubbed.contains("token_type Bearer"), "{scrubbed}");
        let reported = transcript.reported_exchanges();
        let shown = format!("{reported:?}");
        for secret in
            ["tok-0123456789", "ref-0123456789", "deep-secret-1", "alice-password", "cookie-value-1"]
        {
            assert!(!shown.contains(secret), "{secret} is not reported: {shown}");
        }
        // The checks still see what came.
        assert!(transcript.exchanges()[0].response_body.contains("tok-0123456789"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any answer a target gives is read as a success, a refusal or misbehaviour, never a
        /// panic, and a refusal holds a well-formed error body.
        #[test]
        fn any_answer_is_read_without_a_panic(status in 100u16..600, body in ".{0,120}|\\{\"error_code\": ?[0-9]{1,6}, ?\"error_type\": ?\"[A-Z_]{0,12}\", ?\"error_message\": ?\".{0,8}\"\\}") {
            match interpret::<protocol::wire::TokenResponse>(status, &body, &[200], "TokenResponse") {
                Ok((got, _)) => proptest::prop_assert_eq!(got, 200),
                Err(PeerError::Refused { body: error, .. }) => proptest::prop_assert!(body.contains(&error.error_type)),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn interpret_tells_refusals_from_misbehaviour() {
        let ok: Result<(u16, serde_json::Value), _> = interpret(200, r#"{"a":1}"#, &[200], "Value");
        assert_eq!(ok.map(|(s, _)| s), Ok(200));
        let refused: Result<(u16, serde_json::Value), _> = interpret(
            409,
            r#"{"error_code":9016,"error_type":"DEVICE_ALREADY_ENROLLED","error_message":"x"}"#,
            &[200],
            "Value",
        );
        assert_eq!(refused.err().and_then(|e| e.api_error().map(|(s, c, _)| (s, c))), Some((409, 9016)));
        let odd: Result<(u16, serde_json::Value), _> = interpret(500, "<html>", &[200], "Value");
        assert!(matches!(odd, Err(PeerError::Unexpected { status: 500, .. })));
    }
}
