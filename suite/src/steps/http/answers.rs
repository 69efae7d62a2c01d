//! Checks of a raw request's answer: its status, its refusal (an error of the table as a
//! [`Reply`] reads it, an RFC 6749 error, or any error of either shape), its error body, its
//! headers and its body.

use cucumber::gherkin::Step;
use cucumber::then;

use super::super::Reply;
use crate::raw::{
    OAUTH_ERRORS, is_api_error_body, is_oauth_error_body, json_contains, json_eq, json_literal,
};
use crate::world::ConformanceWorld;
use transcript::{RawExchange, RawResponse};

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

/// The exchange as a failure message tells it: the request, and the status and start of the body
/// that came (the transcript has the whole exchange).
pub(super) fn describe(exchange: &RawExchange) -> String {
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

// ------------------------------------------------------------------ refusals

/// A refusal a raw answer is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A device, relying-party or admin API error: status, code and type (an error of the table,
    /// as [`Refusal::from_reply`] takes it from a [`Reply`]).
    Api(u16, u32, String),
    /// An RFC 6749 error: status and `error`.
    OAuth(u16, String),
    /// Any 4xx status with an error body of the API's shape (`a 4xx error`): what every reading
    /// shares where the contract fixes the shape of an error but not its status or code.
    AnyApi,
    /// Any 4xx status with an RFC 6749 error body (`a 4xx oauth error`).
    AnyOAuth,
}

impl Refusal {
    /// The refusal of an expected [`Reply`], which parsing checked against the error table. A raw
    /// answer has a status, so the reply names the one it expects; a reply that is a success or
    /// names no status is a defect of the suite, so it panics (a harness error).
    pub fn from_reply(reply: &Reply) -> Self {
        match reply.refusal() {
            Some((status, code, error_type)) => Refusal::Api(status, code, error_type.to_string()),
            None => panic!(
                "a raw answer is refused with \"<status> <code> <TYPE>\", an RFC 6749 error or any error, not {reply:?}"
            ),
        }
    }

    /// Parses what is not a [`Reply`]: `<status> <oauth error>`, `a 4xx error` or
    /// `a 4xx oauth error`. Anything else (an `error` the contract does not name, say) is a defect
    /// of the suite, so it panics instead of checking something the contract never says.
    pub fn parse(text: &str) -> Self {
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["a", "4xx", "error"] => Refusal::AnyApi,
            ["a", "4xx", "oauth", "error"] => Refusal::AnyOAuth,
            [status, error] if OAUTH_ERRORS.contains(error) => {
                let status = status.parse().unwrap_or_else(|_| panic!("bad status in {text:?}"));
                Refusal::OAuth(status, (*error).to_string())
            }
            _ => panic!(
                "a refusal is written \"<status> <code> <TYPE>\", \"<status> <oauth error>\" (one of \
                 {OAUTH_ERRORS:?}), \"a 4xx error\" or \"a 4xx oauth error\", not {text:?}"
            ),
        }
    }
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

/// Where the contract leaves a request's fate open (a body sent with another Content-Type, say),
/// every reading either takes it or refuses it in the API's error shape.
fn assert_success_or_refusal(world: &ConformanceWorld, refusal: &Refusal) {
    if !(200..300).contains(&last_response(world).status) {
        assert_refusal(world, refusal);
    }
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

#[then(regex = r"^the response is (\d{3}|a success)$")]
async fn response_is(world: &mut ConformanceWorld, outcome: String) {
    match outcome.parse() {
        Ok(status) => status_is(world, status).await,
        Err(_) => status_is_success(world).await,
    }
}

/// An error of the table: `409 9016 DEVICE_ALREADY_ENROLLED` (or `status 409, error 9016 ...`).
#[then(expr = "the response is refused with {reply}")]
async fn refused_with_error(world: &mut ConformanceWorld, reply: Reply) {
    assert_refusal(world, &Refusal::from_reply(&reply));
}

/// An RFC 6749 error, or any error of either shape.
#[then(regex = r"^the response is refused with (\d{3} [a-z_]+|a 4xx error|a 4xx oauth error)$")]
async fn refused_otherwise(world: &mut ConformanceWorld, refusal: String) {
    assert_refusal(world, &Refusal::parse(&refusal));
}

#[then(expr = "the response is a success or refused with {reply}")]
async fn success_or_error(world: &mut ConformanceWorld, reply: Reply) {
    assert_success_or_refusal(world, &Refusal::from_reply(&reply));
}

#[then(regex = r"^the response is a success or refused with (\d{3} [a-z_]+|a 4xx error|a 4xx oauth error)$")]
async fn success_or_otherwise(world: &mut ConformanceWorld, refusal: String) {
    assert_success_or_refusal(world, &Refusal::parse(&refusal));
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
    let header = response.header(reqwest::header::CONTENT_TYPE).unwrap_or_default().to_string();
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
    let text = step.docstring.clone().expect("the step's phrase ends with a colon, so it has a doc string");
    body_contains(world, text).await;
}

#[then(expr = "the response body is remembered as {string}")]
async fn remember_body(world: &mut ConformanceWorld, name: String) {
    let body = last_json(world);
    world.raw.saved.insert(name, body.to_string());
}
