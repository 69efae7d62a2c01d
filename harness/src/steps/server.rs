//! Steps that set the server up (its settings, its clock, a reset: the test-control API) and
//! read its event log, plus the check of a reply written as a feature file writes it.

use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use protocol::wire::{EventsResponse, ServerEvent};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Expected, assert_outcome, assert_refused};
use crate::device::DeviceError;
use crate::http::PeerError;
use crate::target::Admin;
use crate::world::{CALLBACK_WAIT, ConformanceWorld, Outcome};

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
            Ok(value) => panic!(
                "expected {what} to be refused with status {status} {{\"error\": \"{error}\"}}, but it \
                 succeeded with {value}"
            ),
            Err(e) => panic!(
                "expected {what} to be refused with status {status} {{\"error\": \"{error}\"}} (and no \
                 error_code), but {e}"
            ),
        }
        return;
    }
    assert_outcome(what, outcome, &Expected::parse(reply), success);
}

pub(crate) fn admin(world: &ConformanceWorld) -> &Admin {
    world.target().admin().unwrap_or_else(|e| panic!("this scenario needs the test-control API: {e}"))
}

pub(crate) async fn update_config(
    world: &mut ConformanceWorld,
    what: &str,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) {
    let admin = admin(world);
    admin.update_config(change).await.unwrap_or_else(|e| panic!("the server did not take {what}: {e}"));
}

/// Sets one configuration key, keeping the others.
pub(crate) async fn set_config_key(world: &mut ConformanceWorld, key: &str, value: Value) {
    let what = format!("{key} {value}");
    update_config(world, &what, |config| {
        config.insert(key.to_string(), value.clone());
    })
    .await;
}

#[given("a server started for this scenario alone")]
async fn fresh_server(world: &mut ConformanceWorld) {
    if !world.target().is_embedded() {
        crate::runner::not_applicable(
            "the scenario needs a server started for it alone, and a server by URL is shared by the \
             run's scenarios and has served earlier ones",
        );
    }
}

#[given(expr = "the server's enrollment mode is {string}")]
#[when(expr = "the server's enrollment mode changes to {string}")]
async fn enrollment_mode(world: &mut ConformanceWorld, mode: String) {
    // A server whose target file declares a fixed mode runs the scenarios of that mode only.
    if let Some(fixed) = world.target().fixed_enrollment_mode() {
        if fixed.as_str() == mode {
            return;
        }
        crate::runner::not_applicable(format!(
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
        .send(Method::POST, "/reset", None)
        .await
        .unwrap_or_else(|e| panic!("the server was not reset: {e}"));
    assert_eq!(status, 200, "expected POST /_admin/v1/reset to answer 200, got {status} {body}");
}

// ------------------------------------------------------------------ the clock

pub(crate) async fn advance(world: &ConformanceWorld, ms: i64) {
    admin(world)
        .advance_clock(ms)
        .await
        .unwrap_or_else(|e| panic!("the server did not move its clock by {ms} ms: {e}"));
}

#[when(expr = "the server's clock moves on by {int} ms")]
async fn clock_moves_by(world: &mut ConformanceWorld, ms: i64) {
    advance(world, ms).await;
}

/// Moves the clock to `before_ms` before the portal's OTP expires (creation time plus TTL).
pub(crate) async fn move_to_before_expiry(world: &mut ConformanceWorld, before_ms: i64) {
    let started = world.started_otp().response.clone();
    let status = world
        .portal()
        .await
        .transaction(&started.transaction_id.to_string())
        .await
        .unwrap_or_else(|e| panic!("cannot read the transaction's creation time: {e}"));
    let ttl = i64::try_from(started.time_to_live).unwrap_or(i64::MAX);
    let expiry = status.timestamp + time::Duration::milliseconds(ttl);
    let now = world.server_now().await;
    let ms = i64::try_from((expiry - now).whole_milliseconds()).unwrap_or(i64::MAX) - before_ms;
    advance(world, ms).await;
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

#[given("the server's clock stands still")]
async fn clock_stands_still(world: &mut ConformanceWorld) {
    // Any move makes the clock stand still until the next one (ADM-007); 0 ms is a move.
    let now = admin(world)
        .advance_clock(0)
        .await
        .unwrap_or_else(|e| panic!("the server did not take a clock move of 0 ms: {e}"));
    world.notes.clock_at = Some(now);
}

#[then("the server's clock has not moved")]
async fn clock_has_not_moved(world: &mut ConformanceWorld) {
    let before = world.notes.clock_at.expect("a step must make the clock stand still first");
    let now = world.server_now().await;
    assert_eq!(now, before, "expected the server's clock to stand still at {before}, it reads {now}");
}

// ------------------------------------------------------------------ outcomes and the event log

#[then(expr = "the request is refused with status {int}, error {int} {word}")]
async fn refused(world: &mut ConformanceWorld, status: u16, code: u32, error_type: String) {
    assert_refused("the request", world.last(), status, code, &error_type);
}

/// The server's whole event log (test-control API), in order.
async fn server_events(world: &ConformanceWorld) -> Vec<ServerEvent> {
    let (status, body) = admin(world)
        .send(Method::GET, "/events?since=0", None)
        .await
        .unwrap_or_else(|e| panic!("cannot read the server's event log: {e}"));
    match (status, serde_json::from_str::<EventsResponse>(&body)) {
        (200, Ok(events)) => events.events,
        _ => panic!(
            "expected GET /_admin/v1/events to answer 200 {{\"events\", \"last_seq\"}}, got {status} {body}"
        ),
    }
}

/// The callback attempts the server logged for `callback_uri`, in order.
async fn callback_events(world: &ConformanceWorld, callback_uri: &str) -> Vec<ServerEvent> {
    server_events(world)
        .await
        .into_iter()
        .filter(|e| e.kind == "callback" && e.path == callback_uri)
        .collect()
}

#[then(
    expr = "the server's event log shows the callback attempts of the transaction with the statuses {string}"
)]
async fn event_log_statuses(world: &mut ConformanceWorld, statuses: String) {
    let expected: Vec<u16> = list(&statuses)
        .iter()
        .map(|s| s.parse().unwrap_or_else(|_| panic!("{s:?} is not an HTTP status")))
        .collect();
    let callback_uri =
        world.notes.callback_uri.clone().expect("a step must start an OTP at the portal first");
    // The server logs an attempt when it ends, which the receiver cannot see: poll the log with
    // a deadline for the attempts to appear.
    let deadline = Instant::now() + CALLBACK_WAIT;
    let events = loop {
        let events = callback_events(world, &callback_uri).await;
        if events.len() >= expected.len() || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let got: Vec<u16> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        got, expected,
        "expected the event log to show callback attempts to {callback_uri} with the statuses {expected:?} \
         (0: no answer), got {events:?}"
    );
    assert!(
        events.iter().all(|e| e.method == "POST"),
        "expected every callback attempt to be logged as a POST, got {events:?}"
    );
}

// ------------------------------------------------------------------ callback attempts on the clock

/// The event kind of a callback attempt's start; its end is `callback` (docs/PROTOCOL.md ADM-016).
const CALLBACK_START: &str = "callback_start";
/// The event kind of a callback attempt's end, with the receiver's status.
const CALLBACK_END: &str = "callback";
/// Bounds the clock moves of a step that moves the clock until a delivery is over.
const MAX_DELIVERY_ROUNDS: usize = 32;

/// The starts and ends of the callback attempts the server logged for the OTP the portal started
/// last, in order, with its callback_uri.
async fn attempt_log(world: &ConformanceWorld) -> (String, Vec<ServerEvent>) {
    let callback_uri =
        world.notes.callback_uri.clone().expect("a step must start an OTP at the portal first");
    let attempts = server_events(world)
        .await
        .into_iter()
        .filter(|e| (e.kind == CALLBACK_START || e.kind == CALLBACK_END) && e.path == callback_uri)
        .collect();
    (callback_uri, attempts)
}

fn count_of(log: &[ServerEvent], kind: &str) -> usize {
    log.iter().filter(|e| e.kind == kind).count()
}

/// The attempt log once at least `ended` attempts have ended, or at [`CALLBACK_WAIT`]: the server
/// logs an end after it read the receiver's answer, which the receiver cannot see.
async fn log_once_ended(world: &ConformanceWorld, ended: usize) -> (String, Vec<ServerEvent>) {
    let deadline = Instant::now() + CALLBACK_WAIT;
    loop {
        let (uri, log) = attempt_log(world).await;
        if count_of(&log, CALLBACK_END) >= ended || Instant::now() > deadline {
            return (uri, log);
        }
        // The interval between two reads of the log, not a wait standing in for an event.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `no` or a number.
fn count_text(text: &str) -> usize {
    if text == "no" { 0 } else { text.parse().unwrap_or_else(|_| panic!("{text:?} is not a count")) }
}

/// Exact at once, without waiting: a clock move starts every attempt it makes due before it
/// answers (CB-004, CB-007), so right after a move the log holds every attempt that starts before
/// the next one.
#[then(regex = r"^the server has started (no|\d+) delivery attempts? for the transaction$")]
async fn attempts_started(world: &mut ConformanceWorld, count: String) {
    let expected = count_text(&count);
    let (uri, log) = attempt_log(world).await;
    assert_eq!(
        count_of(&log, CALLBACK_START),
        expected,
        "expected the server to have started exactly {expected} delivery attempts to {uri} (its event \
         log's {CALLBACK_START:?} entries), got {log:?}"
    );
}

/// Waits for the ends that must come, then checks that exactly that many came: a clock move ends
/// the attempts it times out before it answers (CB-005), so `no` right after a move is exact too.
#[then(regex = r"^the server has ended (no|\d+) delivery attempts? for the transaction$")]
async fn attempts_ended(world: &mut ConformanceWorld, count: String) {
    let expected = count_text(&count);
    let (uri, log) = log_once_ended(world, expected).await;
    assert_eq!(
        count_of(&log, CALLBACK_END),
        expected,
        "expected the server to have ended exactly {expected} delivery attempts to {uri} within \
         {CALLBACK_WAIT:?} (its event log's {CALLBACK_END:?} entries), got {log:?}"
    );
}

/// Runs a delivery to its end on the server's clock: once every attempt started so far has ended,
/// moves the clock by `ms`; stops when a move started no attempt (it would have started every
/// attempt it made due before answering).
#[when(
    expr = "the server's clock moves on by {int} ms after each delivery attempt, until no further attempt starts"
)]
async fn clock_moves_until_delivery_over(world: &mut ConformanceWorld, ms: i64) {
    for _ in 0..MAX_DELIVERY_ROUNDS {
        let (_, log) = attempt_log(world).await;
        let started = count_of(&log, CALLBACK_START);
        let (uri, log) = log_once_ended(world, started).await;
        assert!(
            count_of(&log, CALLBACK_END) >= started,
            "expected each of the {started} delivery attempts to {uri} to end within {CALLBACK_WAIT:?}, got \
             {log:?}"
        );
        advance(world, ms).await;
        let (_, log) = attempt_log(world).await;
        if count_of(&log, CALLBACK_START) == started {
            return;
        }
    }
    panic!("the server still started delivery attempts after {MAX_DELIVERY_ROUNDS} clock moves of {ms} ms");
}

#[then(
    expr = "each retry started {int} ms, {int} ms and {int} ms of the server's clock after the attempt before it ended"
)]
async fn retries_started_after(world: &mut ConformanceWorld, first: i64, second: i64, third: i64) {
    let (uri, log) = attempt_log(world).await;
    let times = |kind: &str| log.iter().filter(|e| e.kind == kind).map(|e| e.time).collect::<Vec<_>>();
    let (starts, ends) = (times(CALLBACK_START), times(CALLBACK_END));
    assert!(
        starts.len() >= 4 && ends.len() >= 3,
        "expected the log to show 4 delivery attempts to {uri} started and 3 ended, got {log:?}"
    );
    for (i, backoff) in [first, second, third].into_iter().enumerate() {
        let waited = starts[i + 1] - ends[i];
        assert_eq!(
            waited,
            time::Duration::milliseconds(backoff),
            "expected retry {} to start {backoff} ms of the server's clock after attempt {} ended, it \
             started {waited} after: {log:?}",
            i + 1,
            i + 1
        );
    }
}
