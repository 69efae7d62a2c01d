//! Steps that set the server up (its settings, its clock, a reset: the test-control API) and
//! read its event log, plus the check of a reply written as a feature file writes it.

use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Reply, assert_outcome};
use crate::judgement::OrFail as _;
use crate::world::{ConformanceWorld, Outcome};
use peers::device::DeviceError;
use peers::target::Admin;
use transcript::PeerError;

/// The default message of the `qr-code` type every server file of the suite configures.
pub(crate) const DEFAULT_MESSAGE: &str = "Do you want to confirm this login?";

/// Checks an outcome against a reply as a feature file writes it: a success of that name,
/// `<status> <error_code> <ERROR_TYPE>`, or `<status> <oauth_error>` for the RFC 6749 errors of
/// client authentication; `success` checks a success's value.
pub(crate) fn assert_reply(what: &str, outcome: &Outcome, reply: &str, success: impl Fn(&Value)) {
    let parts: Vec<&str> = reply.split_whitespace().collect();
    if let [status, error] = parts.as_slice()
        && let Ok(status) = status.parse::<u16>()
        && error.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    {
        match outcome {
            Err(DeviceError::Peer(PeerError::OAuthRefused { status: got, body }))
                if *got == status && body.error.as_str() == *error => {}
            Ok(value) => fail!(
                "expected {what} to be refused with status {status} {{\"error\": \"{error}\"}}, but it \
                 succeeded with {value}"
            ),
            Err(e) => fail!(
                "expected {what} to be refused with status {status} {{\"error\": \"{error}\"}} (and no \
                 error_code), but {e}"
            ),
        }
        return;
    }
    assert_outcome(what, outcome, &Reply::parse(reply), success);
}

pub(crate) fn admin(world: &ConformanceWorld) -> &Admin {
    world.target().admin().or_fail(|e| format!("this scenario needs the test-control API: {e}"))
}

pub(crate) async fn update_config(
    world: &mut ConformanceWorld,
    what: &str,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) {
    let admin = admin(world);
    admin.update_config(change).await.or_fail(|e| format!("the server did not take {what}: {e}"));
}

/// Sets one configuration key, keeping the others.
pub(crate) async fn set_config_key(world: &mut ConformanceWorld, key: &str, value: Value) {
    let what = format!("{key} {value}");
    update_config(world, &what, |config| {
        config.insert(key.to_string(), value.clone());
    })
    .await;
}

#[given(expr = "the server's enrollment mode is {string}")]
#[when(expr = "the server's enrollment mode changes to {string}")]
async fn enrollment_mode(world: &mut ConformanceWorld, mode: String) {
    // A server whose target file declares a fixed mode runs the scenarios of that mode only.
    if let Some(fixed) = world.target().fixed_enrollment_mode() {
        if fixed.as_str() == mode {
            return;
        }
        crate::judgement::not_applicable(format!(
            "the scenario needs enrollment mode {mode}, and the target's enrollment mode is fixed at {}",
            fixed.as_str()
        ));
    }
    set_config_key(world, "enrollment_mode", Value::String(mode)).await;
}

#[given("enrollment is disabled on the server")]
async fn enrollment_disabled(world: &mut ConformanceWorld) {
    set_config_key(world, "enrollment_enabled", Value::Bool(false)).await;
}

#[given("mobile authentication is disabled on the server")]
async fn mobile_auth_disabled(world: &mut ConformanceWorld) {
    set_config_key(world, "mobile_auth_enabled", Value::Bool(false)).await;
}

#[given(expr = "the server's message_max_length is {int}")]
async fn message_max_length(world: &mut ConformanceWorld, length: u32) {
    set_config_key(world, "message_max_length", json!(length)).await;
}

/// `"a, b"` as a list; an empty text is the empty list.
fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[given(expr = "the server's callback whitelist is {string}")]
async fn callback_whitelist(world: &mut ConformanceWorld, entries: String) {
    set_config_key(world, "callback_whitelist", json!(list(&entries))).await;
}

#[given(regex = r"^the server's callback_retries is (its default|\d+)$")]
async fn callback_retries(world: &mut ConformanceWorld, retries: String) {
    match retries.parse::<u32>() {
        Ok(n) => set_config_key(world, "callback_retries", json!(n)).await,
        // A PUT without the key takes its default (3), not the earlier value.
        Err(_) => {
            update_config(world, "the default callback_retries", |config| {
                config.remove("callback_retries");
            })
            .await;
        }
    }
}

async fn add_otp_type(world: &mut ConformanceWorld, otp_type: Value) {
    let what = format!("the OTP type {otp_type}");
    update_config(world, &what, |config| {
        if let Some(Value::Array(types)) = config.get_mut("otp_types") {
            types.push(otp_type.clone());
        } else {
            config.insert("otp_types".into(), json!([otp_type.clone()]));
        }
    })
    .await;
}

#[given(expr = "the server has an OTP type {string} whose requests expire in {int} seconds")]
async fn otp_type_expiring(world: &mut ConformanceWorld, name: String, seconds: u64) {
    add_otp_type(world, json!({ "name": name, "expires_in_s": seconds })).await;
}

#[given(expr = "the server has an OTP type {string} without a default message")]
async fn otp_type_without_default(world: &mut ConformanceWorld, name: String) {
    add_otp_type(world, json!({ "name": name, "expires_in_s": 300 })).await;
}

#[given(expr = "the server's OTP types are {string} and {string}")]
async fn otp_types(world: &mut ConformanceWorld, first: String, second: String) {
    let types: Vec<Value> = [first, second]
        .iter()
        .map(|name| json!({ "name": name, "expires_in_s": 300, "default_message": DEFAULT_MESSAGE }))
        .collect();
    set_config_key(world, "otp_types", Value::Array(types)).await;
}

#[when("the server is reset")]
async fn reset(world: &mut ConformanceWorld) {
    let (status, body) = admin(world)
        .send(Method::POST, "/reset", Some(&json!({})))
        .await
        .or_fail(|e| format!("the server was not reset: {e}"));
    ensure_eq!(status, 200, "expected POST /_admin/v1/reset to answer 200, got {status} {body}");
}

// ------------------------------------------------------------------ the clock

pub(crate) async fn advance(world: &ConformanceWorld, ms: i64) {
    admin(world)
        .advance_clock(ms)
        .await
        .or_fail(|e| format!("the server did not move its clock by {ms} ms: {e}"));
}

#[when(expr = "the server's clock moves on by {int} ms")]
async fn clock_moves_by(world: &mut ConformanceWorld, ms: i64) {
    advance(world, ms).await;
}

/// A move by a number of seconds the server said (a token's `expires_in`, remembered by name)
/// plus or minus a margin: where the contract fixes no exact boundary, a scenario checks well
/// before it and well after it.
#[when(regex = r#"^the server's clock moves on by "([^"]+)" seconds (plus|minus) (\d+) ms$"#)]
async fn clock_moves_by_seconds(world: &mut ConformanceWorld, seconds: String, sign: String, margin: i64) {
    let text = super::http::expand(world, &seconds).await;
    // JSON does not tell 600 from 600.0; the value is AUTH-001's whole number of seconds.
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|s| s.fract() == 0.0 && s.abs() < 1e12)
        .unwrap_or_else(|| fail!("expected a whole number of seconds, got {text:?}"));
    #[allow(clippy::cast_possible_truncation, reason = "a whole number below 10^12 fits an i64")]
    let ms = (seconds as i64).saturating_mul(1000);
    let ms = if sign == "plus" { ms.saturating_add(margin) } else { ms.saturating_sub(margin) };
    if ms < 0 {
        crate::judgement::not_applicable(format!(
            "the scenario checks {margin} ms before a lifetime of {seconds} s the server gave, which is shorter"
        ));
    }
    advance(world, ms).await;
}

/// Moves the clock to `before_ms` before the portal's OTP expires (creation time plus TTL), or to
/// within a millisecond after that instant.
pub(crate) async fn move_to_before_expiry(world: &mut ConformanceWorld, before_ms: i64) {
    let started = world.started_otp().response.clone();
    let status = world
        .portal()
        .await
        .transaction(&started.transaction_id.to_string())
        .await
        .unwrap_or_else(|e| fail!("cannot read the transaction's creation time: {e}"));
    let ttl = i64::try_from(started.time_to_live).unwrap_or(i64::MAX);
    let expiry = status.timestamp + time::Duration::milliseconds(ttl);
    let now = world.server_now().await;
    advance(world, move_to_reach(now, expiry, before_ms)).await;
}

/// The clock move, in whole milliseconds, from `now` to `before_ms` before `instant`, rounded up:
/// a server's instants may be finer than the millisecond a move is given in (RFC 3339 allows any
/// fraction), and a move that fell short of an expiry by a fraction of a millisecond would leave
/// the request pending. Rounded up, "N ms before" (N ≥ 1) still lands before the instant.
pub fn move_to_reach(now: OffsetDateTime, instant: OffsetDateTime, before_ms: i64) -> i64 {
    let nanos = (instant - now).whole_nanoseconds();
    let ms = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX }).saturating_sub(before_ms)
}

#[when("the server's clock moves past the OTP's expiry")]
async fn clock_moves_past_expiry(world: &mut ConformanceWorld) {
    move_to_before_expiry(world, 0).await;
}

#[when("the portal's OTP expires")]
async fn otp_expires(world: &mut ConformanceWorld) {
    move_to_before_expiry(world, 0).await;
}

#[when(expr = "the server's clock moves to {int} ms before the OTP expires")]
async fn clock_moves_before_expiry(world: &mut ConformanceWorld, ms: i64) {
    move_to_before_expiry(world, ms).await;
}

/// How many readings of the clock tell whether it stands still after a move.
const STILLNESS_READS: usize = 50;

#[given("the server's clock stands still")]
async fn clock_stands_still(world: &mut ConformanceWorld) {
    // The contract (section 6) says the clock can be moved, not that it then stands still: both
    // are legal. A scenario that needs exact instants runs where a move stops the clock, and is
    // not applicable where the clock runs on from the new instant.
    let moved = Instant::now();
    let now = admin(world)
        .advance_clock(0)
        .await
        .or_fail(|e| format!("the server did not take a clock move of 0 ms: {e}"));
    // Read until a few milliseconds of real time have passed, so a running clock (of millisecond
    // resolution) has surely moved on; each reading is a request, not a sleep.
    for _ in 0..STILLNESS_READS {
        let later = world.server_now().await;
        if later != now {
            crate::judgement::not_applicable(format!(
                "the scenario needs a server clock that stands still between moves, and the target's \
                 clock runs on after a move (it read {now}, then {later}); both are legal readings of \
                 contract section 6"
            ));
        }
        if moved.elapsed() >= Duration::from_millis(3) {
            break;
        }
    }
}

// ------------------------------------------------------------------ outcomes and the event log

#[then(expr = "the request is refused with {reply}")]
async fn refused(world: &mut ConformanceWorld, expected: Reply) {
    assert_outcome("the request", world.last(), &expected, |value| {
        fail!("expected the request to be refused with {expected:?}, but it succeeded with {value}")
    });
}
