//! Steps of the test-control (admin) API: settings, the clock, users, faults, reset and the
//! server's event log, as a scenario sets them up and as it checks them.

use std::time::Instant;

use cucumber::{given, then, when};
use protocol::wire::paths;
use time::OffsetDateTime;

use super::http::{Who, admin_token, exchange, expand, instant, json_eq, json_literal, last_json, send};
use crate::judgement::OrFail as _;
use crate::world::ConformanceWorld;
use peers::target::Admin;

fn admin(world: &ConformanceWorld) -> Admin {
    world.target().admin().or_fail(|e| format!("the scenario needs {e}")).clone()
}

/// An admin call a scenario makes as a tool, which must succeed; returns the body as JSON (null
/// when empty). The contract names no status or body for most admin replies, so any 2xx does; the
/// scenarios of ADM-003, ADM-006, ADM-014 and ADM-015 check the 200s it does name, with raw
/// requests. It does not count as the scenario's last exchange.
async fn call(
    world: &mut ConformanceWorld,
    method: &str,
    rest: &str,
    body: Option<&serde_json::Value>,
) -> serde_json::Value {
    call_answered(world, method, rest, body)
        .await
        .unwrap_or_else(|e| fail!("the admin call {method} {}{rest} got no answer: {e}", paths::ADMIN))
}

/// [`call`], or why no answer came to be judged (none, or one longer than the harness reads),
/// for the caller to decide.
async fn call_answered(
    world: &mut ConformanceWorld,
    method: &str,
    rest: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, transcript::RawFailure> {
    let path = format!("{}{rest}", paths::ADMIN);
    // A part of the test-control API the target lacks makes the scenario not applicable; a call
    // that needs the server alone fails a scenario that shares it.
    world.target().admin_call(method, rest).or_fail(|e| format!("the scenario calls {path}, and {e}"));
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {}", admin_token(world)))];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    let text = body.map(serde_json::Value::to_string);
    let response = exchange(world, method, &path, &headers, text.as_deref()).await.outcome?;
    let answer = String::from_utf8_lossy(&response.body).into_owned();
    ensure!(
        (200..300).contains(&response.status),
        "expected the admin call {method} {path} to succeed, got {} {answer}",
        response.status
    );
    if answer.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    Ok(serde_json::from_str(&answer)
        .unwrap_or_else(|e| fail!("the admin call {method} {path} answered {answer:?}: {e}")))
}

#[given("the target offers the test-control API")]
async fn offers_admin(world: &mut ConformanceWorld) {
    admin(world);
}

#[given(regex = r#"^the server's setting "([^"]+)" is (.+)$"#)]
#[when(regex = r#"^the server's setting "([^"]+)" is (.+)$"#)]
async fn setting(world: &mut ConformanceWorld, key: String, value: String) {
    let value = json_literal(world, &value).await;
    admin(world)
        .update_config(|config| {
            config.insert(key.clone(), value.clone());
        })
        .await
        .or_fail(|e| format!("the server did not take {key} = {value}: {e}"));
}

/// Sets the clock to an exact instant. ADM-006 promises a `set` only to a time later than the
/// clock's reading (a server may refuse to go back), so on a server whose clock already reads
/// later the scenario is not applicable.
#[given(expr = "the server's clock is set to {string}")]
#[when(expr = "the server's clock is set to {string}")]
async fn clock_set(world: &mut ConformanceWorld, at: String) {
    let target = instant(&at);
    let now = world.server_now().await;
    if target <= now {
        crate::judgement::not_applicable(format!(
            "the scenario sets the server's clock to {at}, and it already reads {now}: the contract \
             promises a clock set only to a later time"
        ));
    }
    let body = serde_json::json!({ "set": at });
    call(world, "POST", "/clock", Some(&body)).await;
}

/// `{"set": T}` with T the remembered reading plus `ms` (ADM-006), as a raw request whose answer
/// the next steps check; T is remembered as `name`, with the real instant of the move.
#[when(expr = "the admin sets the server's clock to {int} ms after {string}, remembered as {string}")]
async fn clock_set_after(world: &mut ConformanceWorld, ms: i64, base: String, name: String) {
    let base = instant(&expand(world, &format!("{{{base}}}")).await);
    let target = base + time::Duration::milliseconds(ms);
    let text = utc_millis(target);
    world.raw.clock_read_at.insert(name.clone(), Instant::now());
    let clauses = format!("with the JSON body '{{\"set\": \"{text}\"}}'");
    send(world, &Who::Admin, "POST", &format!("{}/clock", paths::ADMIN), &clauses, None).await;
    world.raw.saved.insert(name, text);
}

/// An instant as RFC 3339 in UTC with milliseconds, the form every reading takes.
fn utc_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[given(expr = "the admin has installed the faults {string}")]
#[when(expr = "the admin installs the faults {string}")]
async fn faults(world: &mut ConformanceWorld, list: String) {
    let list = json_literal(world, &list).await;
    call(world, "PUT", "/faults", Some(&list)).await;
}

#[given(expr = "the server's configuration is remembered as {string}")]
#[then(expr = "the server's configuration is remembered as {string}")]
async fn remember_config(world: &mut ConformanceWorld, name: String) {
    let config = call(world, "GET", "/config", None).await;
    world.raw.saved.insert(name, config.to_string());
}

/// The configuration the server started with, which a reset returns to: on a shared server by
/// URL the harness has changed it before the scenario (to the contract's defaults), so it is the
/// one read when the run began.
#[given(expr = "the server's start configuration is remembered as {string}")]
async fn remember_start_config(world: &mut ConformanceWorld, name: String) {
    let config = match world.target().start_config() {
        Some(config) => config.clone(),
        None => call(world, "GET", "/config", None).await,
    };
    world.raw.saved.insert(name, config.to_string());
}

#[then(expr = "the server's configuration equals {string}")]
async fn config_equals(world: &mut ConformanceWorld, name: String) {
    let expected = json_literal(world, &format!("{{{name}}}")).await;
    let config = call(world, "GET", "/config", None).await;
    ensure!(json_eq(&config, &expected), "expected the configuration {expected}, got {config}");
}

#[given(expr = "the server's clock reading is remembered as {string}")]
#[then(expr = "the server's clock reading is remembered as {string}")]
async fn remember_clock(world: &mut ConformanceWorld, name: String) {
    let asked = Instant::now();
    let state = call(world, "GET", "/clock", None).await;
    let now =
        state["now"].as_str().unwrap_or_else(|| fail!("expected {{\"now\"}} from GET clock, got {state}"));
    world.raw.saved.insert(name.clone(), now.to_string());
    world.raw.clock_read_at.insert(name, asked);
}

/// How far a reading may lag the instant it stands for: a server may report its clock truncated
/// to the millisecond (GEN-003's mock reading).
const READING_RESOLUTION: time::Duration = time::Duration::milliseconds(1);

/// ADM-006: after a move by `ms` from a remembered reading (or a set to it, with 0), GET clock
/// reads at least that, and at most that plus the real time since the reading was asked for,
/// which covers a clock that runs on after a move as well as one that stands still.
#[then(expr = "the server's clock reads {int} ms after {string}, plus at most the real time since")]
async fn clock_reads_after(world: &mut ConformanceWorld, ms: i64, name: String) {
    let base = instant(&expand(world, &format!("{{{name}}}")).await);
    let asked = *world
        .raw
        .clock_read_at
        .get(&name)
        .unwrap_or_else(|| fail!("{name:?} is not a remembered clock reading"));
    let state = call(world, "GET", "/clock", None).await;
    let now = instant(state["now"].as_str().unwrap_or_else(|| fail!("expected {{\"now\"}}, got {state}")));
    let earliest = base + time::Duration::milliseconds(ms);
    let passed = time::Duration::try_from(asked.elapsed()).unwrap_or(time::Duration::MAX);
    let latest = earliest + passed + 2 * READING_RESOLUTION;
    ensure!(
        earliest <= now && now <= latest,
        "expected the server's clock to read from {earliest} to {latest} ({ms} ms after {name:?}, plus at most \
         the real time since), but it reads {now}"
    );
}

#[when(expr = "the admin creates the user {string} again")]
async fn user_again(world: &mut ConformanceWorld, user: String) {
    let credentials = world.user(&user).await;
    admin(world)
        .create_user(&credentials)
        .await
        .or_fail(|e| format!("the admin could not create {user:?} again: {e}"));
}

// ------------------------------------------------------------------ the event log
//
// ADM-015 fixes only `{"events": [{"seq", ...}], "last_seq"}`, integer `seq`s that grow with time
// and never restart, and that `since=N` lists every retained event above N and none below it. It
// does not fix the value of `last_seq`, whether `since` is inclusive, the order of the list, or
// by how much `seq` grows, so the steps read positions from the `seq`s listed and count only the
// events above a position.

/// The integer `seq` of every listed event, or a failure naming the answer.
fn sequence_numbers(log: &serde_json::Value) -> Vec<i64> {
    let events = log["events"]
        .as_array()
        .unwrap_or_else(|| fail!("expected {{\"events\": [...], \"last_seq\"}}, got {log}"));
    ensure!(log.get("last_seq").is_some(), "expected {{\"events\", \"last_seq\"}}, got {log}");
    events
        .iter()
        .map(|e| {
            e["seq"].as_i64().unwrap_or_else(|| fail!("expected an integer seq in every event, got {e}"))
        })
        .collect()
}

/// A `since` listing: its events' `seq`s, or `None` when it is longer than the harness reads.
async fn listing(world: &mut ConformanceWorld, since: i64) -> Option<Vec<i64>> {
    let rest = format!("/events?since={since}");
    match call_answered(world, "GET", &rest, None).await {
        Ok(log) => Some(sequence_numbers(&log)),
        Err(transcript::RawFailure::BodyTooLarge { .. }) => None,
        Err(e) => fail!("the admin call GET {}{rest} got no answer: {e}", paths::ADMIN),
    }
}

/// The log's position: the greatest `seq` listed, or 0 when none is. A server that has lived
/// long may hold more events than the harness reads in one answer (the contract bounds neither
/// the log nor `last_seq`'s meaning), so when `since=0` lists too much, the position is searched
/// for: halving the range of `since` between a listing too long to read and an empty one, until
/// a listing is readable and holds events, whose greatest `seq` is the log's (at most 64 calls).
#[given(expr = "the server's event log position is remembered as {string}")]
#[when(expr = "the server's event log position is remembered as {string}")]
#[then(expr = "the server's event log position is remembered as {string}")]
async fn remember_position(world: &mut ConformanceWorld, name: String) {
    let (mut above, mut empty_from) = (0_i64, i64::MAX);
    let mut since = 0;
    let last = loop {
        match listing(world, since).await {
            Some(seqs) if !seqs.is_empty() => break seqs.into_iter().max().unwrap_or(0).max(0),
            Some(_) if since == 0 => break 0,
            Some(_) => empty_from = since,
            None => above = since,
        }
        ensure!(
            empty_from - above > 1,
            "the event log lists more than the harness reads after seq {above} and nothing after {empty_from}"
        );
        since = above + (empty_from - above) / 2;
    };
    world.raw.saved.insert(name, last.to_string());
}

async fn position(world: &mut ConformanceWorld, name: &str) -> i64 {
    let text = expand(world, &format!("{{{name}}}")).await;
    text.parse().unwrap_or_else(|_| fail!("{name:?} is not a remembered log position: {text:?}"))
}

#[then("the events listed have integer sequence numbers")]
async fn events_have_numbers(world: &mut ConformanceWorld) {
    sequence_numbers(&last_json(world));
}

/// The last answer, a `since` listing from the position `name`: none of its events is below the
/// position, and at least `count` are above it.
#[then(expr = "the events listed are at least {int} after {string} and none before it")]
async fn events_after(world: &mut ConformanceWorld, count: usize, name: String) {
    let after = position(world, &name).await;
    let numbers = sequence_numbers(&last_json(world));
    let later = numbers.iter().filter(|&&n| n > after).count();
    ensure!(
        numbers.iter().all(|&n| n >= after) && later >= count,
        "expected at least {count} events with seq above {after} and none below it, got the seqs {numbers:?}"
    );
}

/// `seq`s never restart (ADM-014, ADM-015): after a reset, a `since` listing from a position taken
/// before it holds new events above that position, and nothing below it.
#[then(expr = "the events listed continue the sequence after {string}")]
async fn events_continue(world: &mut ConformanceWorld, name: String) {
    let after = position(world, &name).await;
    let numbers = sequence_numbers(&last_json(world));
    ensure!(
        numbers.iter().any(|&n| n > after) && numbers.iter().all(|&n| n >= after),
        "expected events with seq above {after} and none below it (sequence numbers never restart), got the \
         seqs {numbers:?}"
    );
}

/// A position remembered later is above one remembered earlier, once events came in between.
#[then(expr = "the event log position {string} is above {string}")]
async fn position_above(world: &mut ConformanceWorld, later: String, earlier: String) {
    let (later_seq, earlier_seq) = (position(world, &later).await, position(world, &earlier).await);
    ensure!(
        later_seq > earlier_seq,
        "expected the greatest seq after the new events ({later_seq}) to be above the one before them ({earlier_seq})"
    );
}
