//! What the raw-request steps need that is not a step: the values of the `{...}` placeholders a
//! scenario writes in paths, headers and bodies (ids, tokens, a CSR, a signature, ...), bodies of
//! an exact size, and the readings of an answer (member paths, JSON comparison, the contract's
//! formats and error bodies). The sending itself is the transcript's
//! ([`transcript::Http::send_raw`]), so every raw exchange is in the scenario's transcript.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::error::ErrorCode;
use protocol::keys::signing_string;
use protocol::wire::Answer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::judgement::OrFail as _;
use crate::world::ConformanceWorld;

// ------------------------------------------------------------------ placeholders

/// Whether `name` (the text between braces) is a placeholder rather than JSON such as `"a": 1`.
pub fn is_placeholder(name: &str) -> bool {
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

/// The value of one placeholder, `{uppercase <name>}` being `<name>`'s in upper case.
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
        return access_token(world, device);
    }
    if let Some(user) = name.strip_prefix("username of ") {
        return world.user(user).await.username;
    }
    if let Some(user) = name.strip_prefix("password of ") {
        return world.user(user).await.password;
    }
    if let Some(device) = name.strip_prefix("csr of ") {
        return csr(world, device);
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

/// The access token of the simulated device called `device`, or a failure saying it has none.
pub fn access_token(world: &mut ConformanceWorld, device: &str) -> String {
    world
        .device(device)
        .access_token()
        .unwrap_or_else(|| fail!("no user is logged in on {device:?}, so it has no access token"))
        .to_string()
}

/// The target's admin token, or a failure saying the scenario needs the test-control API.
pub fn admin_token(world: &ConformanceWorld) -> String {
    let admin = world.target().admin().or_fail(|e| format!("the scenario needs {e}"));
    admin.token().to_string()
}

/// A URL on this machine where nothing listens: a port kept bound, but not listening, for the
/// scenario's life, so no other scenario's listener can take it and every connection is refused.
pub fn unreachable_url(world: &mut ConformanceWorld) -> String {
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

/// A CSR for a fresh key with the device's id as its common name, JSON-escaped (a PEM's line
/// breaks as `\n`) to sit inside a JSON string; the key signs the device's later
/// `{signature of ...}`.
fn csr(world: &mut ConformanceWorld, device: &str) -> String {
    let device_id = world.device_or_install(device).device_id().to_string();
    let key = world.foreign_key();
    let csr = protocol::csr::create_csr(&key, &device_id)
        .expect("a CSR for a fresh P-256 key with a UUID as its common name always builds");
    world.raw.keys.insert(device.to_string(), key);
    let quoted = serde_json::Value::String(csr).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// The device's signature (base64 of DER) over the challenge it fetched last, with the key of its
/// latest enrollment (a raw `{csr of <device>}` enrollment's key first).
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

// ------------------------------------------------------------------ bodies of a size

/// A JSON object of exactly `size` bytes: `{"padding":"xxx…"}`.
pub fn json_of_size(size: usize) -> String {
    let frame = r#"{"padding":""}"#.len();
    ensure!(size >= frame, "a JSON body is at least {frame} bytes, not {size}");
    format!(r#"{{"padding":"{}"}}"#, "x".repeat(size - frame))
}

/// A form of exactly `size` bytes: `padding=xxx…`.
pub fn form_of_size(size: usize) -> String {
    let frame = "padding=".len();
    ensure!(size >= frame, "a form body is at least {frame} bytes, not {size}");
    format!("padding={}", "x".repeat(size - frame))
}

/// Pads `body` to exactly `size` bytes without changing what it says: JSON with trailing
/// whitespace, a form with empty `&` separators, which the form parsing of the URL standard skips.
/// An unknown `padding` field would not do: a server may refuse unknown form fields (a reading of
/// withdrawn GEN-010), and the padded body must be refused for its size only.
pub fn pad(body: &str, size: usize, form: bool) -> String {
    let room = size.checked_sub(body.len()).unwrap_or_else(|| {
        fail!("the body is already {} bytes, more than the {size} bytes to pad it to", body.len())
    });
    let filler = if form { "&" } else { " " };
    format!("{body}{}", filler.repeat(room))
}

// ------------------------------------------------------------------ reading JSON

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

/// Reads a JSON literal of a step, with or without surrounding single quotes, its placeholders
/// filled in.
pub async fn json_literal(world: &mut ConformanceWorld, text: &str) -> serde_json::Value {
    let text = text.trim();
    let text = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).unwrap_or(text);
    let text = expand(world, text).await;
    serde_json::from_str(&text).unwrap_or_else(|e| fail!("the scenario's JSON {text:?} does not parse: {e}"))
}

/// A JSON value as a scenario remembers it: a string's text, any other value's JSON.
pub fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ------------------------------------------------------------------ the contract's formats

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

/// The `error` values of RFC 6749 section 5.2 that the contract's section 0 names.
pub const OAUTH_ERRORS: [&str; 4] =
    ["invalid_client", "invalid_grant", "invalid_request", "unsupported_grant_type"];

/// Whether `body` is the error body of contract section 0 (GEN-002): an integer `error_code`, an
/// UPPER_SNAKE `error_type` (the table's name for a code the contract names) and a text
/// `error_message`, which may be empty (the contract asks for a text, not a non-empty one).
pub fn is_api_error_body(body: &serde_json::Value) -> bool {
    let Some(error_type) = body["error_type"].as_str() else { return false };
    let upper_snake = error_type.starts_with(|c: char| c.is_ascii_uppercase())
        && error_type.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    // The mock's own code for an injected fault is not the contract's, so any type goes with it.
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
pub fn is_oauth_error_body(body: &serde_json::Value) -> bool {
    body.is_object()
        && body["error"].as_str().is_some_and(|e| OAUTH_ERRORS.contains(&e))
        && body.get("error_description").is_none_or(serde_json::Value::is_string)
}
