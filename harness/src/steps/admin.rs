//! Steps of the test-control (admin) API: settings, the clock, users, faults, reset and the
//! server's event log, as a scenario sets them up and as it checks them.

use std::time::{Duration, Instant};

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use protocol::wire::paths;

use super::http::{admin_token, exchange, expand, instant, json_eq, json_literal};
use crate::target::Admin;
use crate::target::OrFail as _;
use crate::world::{CALLBACK_WAIT, ConformanceWorld};

fn admin(world: &ConformanceWorld) -> Admin {
    world.target().admin().or_fail(|e| format!("the scenario needs {e}")).clone()
}

/// An admin call that must answer `expected`; returns the body as JSON (null when empty). It does
/// not count as the scenario's last exchange.
async fn call(
    world: &mut ConformanceWorld,
    method: &str,
    rest: &str,
    body: Option<&serde_json::Value>,
    expected: u16,
) -> serde_json::Value {
    let path = format!("{}{rest}", paths::ADMIN);
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {}", admin_token(world)))];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    let text = body.map(serde_json::Value::to_string);
    let exchange = exchange(world, method, &path, &headers, text.as_deref()).await;
    let response =
        exchange.outcome.unwrap_or_else(|e| fail!("the admin call {method} {path} got no answer: {e}"));
    let answer = String::from_utf8_lossy(&response.body).into_owned();
    ensure_eq!(
        response.status,
        expected,
        "expected the admin call {method} {path} to answer {expected}, got {} {answer}",
        response.status
    );
    if answer.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_str(&answer)
        .unwrap_or_else(|e| fail!("the admin call {method} {path} answered {answer:?}: {e}"))
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

#[given(expr = "the server's clock is set to {string}")]
#[when(expr = "the server's clock is set to {string}")]
async fn clock_set(world: &mut ConformanceWorld, at: String) {
    let body = serde_json::json!({ "set": at });
    call(world, "POST", "/clock", Some(&body), 200).await;
}

#[given(expr = "the admin has installed the faults {string}")]
#[when(expr = "the admin installs the faults {string}")]
async fn faults(world: &mut ConformanceWorld, list: String) {
    let list = json_literal(world, &list).await;
    call(world, "PUT", "/faults", Some(&list), 200).await;
}

#[given(expr = "the server's configuration is remembered as {string}")]
#[then(expr = "the server's configuration is remembered as {string}")]
async fn remember_config(world: &mut ConformanceWorld, name: String) {
    let config = call(world, "GET", "/config", None, 200).await;
    world.raw.saved.insert(name, config.to_string());
}

/// The configuration the server started with, which a reset returns to: on a shared server by
/// URL the harness has changed it before the scenario (to the contract's defaults), so it is the
/// one read when the run began.
#[given(expr = "the server's start configuration is remembered as {string}")]
async fn remember_start_config(world: &mut ConformanceWorld, name: String) {
    let config = match world.target().start_config() {
        Some(config) => config.clone(),
        None => call(world, "GET", "/config", None, 200).await,
    };
    world.raw.saved.insert(name, config.to_string());
}

#[then(expr = "the server's configuration equals {string}")]
async fn config_equals(world: &mut ConformanceWorld, name: String) {
    let expected = json_literal(world, &format!("{{{name}}}")).await;
    let config = call(world, "GET", "/config", None, 200).await;
    ensure!(json_eq(&config, &expected), "expected the configuration {expected}, got {config}");
}

#[given(expr = "the server's clock reading is remembered as {string}")]
#[then(expr = "the server's clock reading is remembered as {string}")]
async fn remember_clock(world: &mut ConformanceWorld, name: String) {
    let state = call(world, "GET", "/clock", None, 200).await;
    let now =
        state["now"].as_str().unwrap_or_else(|| fail!("expected {{\"now\"}} from GET clock, got {state}"));
    world.raw.saved.insert(name, now.to_string());
}

#[then(expr = "the server's clock reads no earlier than {string} and within {int} minutes after it")]
async fn clock_near(world: &mut ConformanceWorld, name: String, minutes: i64) {
    let base = instant(&expand(world, &format!("{{{name}}}")).await);
    let state = call(world, "GET", "/clock", None, 200).await;
    let now = instant(state["now"].as_str().unwrap_or_default());
    ensure!(
        now >= base && now <= base + time::Duration::minutes(minutes),
        "expected the clock between {base} and {minutes} minutes later, got {now}"
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

#[then(expr = "{string} got its new certificate from the same CA as before")]
async fn same_ca(world: &mut ConformanceWorld, device: String) {
    let before = world
        .previous_enrollments
        .get(&device)
        .unwrap_or_else(|| fail!("{device:?} had no enrollment before"))
        .ca_certificate
        .clone();
    let now = world
        .device(&device)
        .enrollment()
        .unwrap_or_else(|| fail!("{device:?} holds no enrollment"))
        .ca_certificate
        .clone();
    ensure_eq!(now, before, "expected the same ca_certificate as before the reset");
}

// ------------------------------------------------------------------ the event log

async fn events_since(world: &mut ConformanceWorld, since: u64) -> serde_json::Value {
    call(world, "GET", &format!("/events?since={since}"), None, 200).await
}

#[given(expr = "the server's event log position is remembered as {string}")]
#[when(expr = "the server's event log position is remembered as {string}")]
#[then(expr = "the server's event log position is remembered as {string}")]
async fn remember_position(world: &mut ConformanceWorld, name: String) {
    let log = call(world, "GET", "/events", None, 200).await;
    let last = log["last_seq"].as_u64().unwrap_or_else(|| fail!("expected last_seq in {log}"));
    world.raw.saved.insert(name, last.to_string());
}

/// One expected row of the log: `kind`, `method`, `path`, `status` and, when not empty,
/// `error_code` (which the server may leave out).
#[derive(Debug)]
struct ExpectedEvent {
    kind: String,
    method: String,
    path: String,
    status: u64,
    error_code: Option<u64>,
}

impl ExpectedEvent {
    fn matches(&self, event: &serde_json::Value) -> bool {
        let code_ok = match (self.error_code, event.get("error_code")) {
            (_, None | Some(serde_json::Value::Null)) => true,
            (Some(code), Some(got)) => got.as_u64() == Some(code),
            (None, Some(_)) => false,
        };
        event["seq"].is_u64()
            && event["time"].is_string()
            && event["kind"].as_str() == Some(self.kind.as_str())
            && event["method"].as_str() == Some(self.method.as_str())
            && event["path"].as_str() == Some(self.path.as_str())
            && event["status"].as_u64() == Some(self.status)
            && code_ok
    }
}

async fn expected_events(world: &mut ConformanceWorld, step: &Step) -> Vec<ExpectedEvent> {
    let table = step.table.as_ref().expect("the step lists the events in a table");
    let header = &table.rows[0];
    let column = |name: &str| {
        header.iter().position(|h| h == name).unwrap_or_else(|| fail!("the table has no column {name:?}"))
    };
    let (kind, method, path, status) = (column("kind"), column("method"), column("path"), column("status"));
    let code = header.iter().position(|h| h == "error_code");
    let mut out = Vec::new();
    for row in &table.rows[1..] {
        out.push(ExpectedEvent {
            kind: row[kind].clone(),
            method: row[method].clone(),
            path: expand(world, &row[path]).await,
            status: row[status].parse().unwrap_or_else(|_| fail!("bad status {:?}", row[status])),
            error_code: code
                .map(|c| &row[c])
                .filter(|c| !c.is_empty())
                .map(|c| c.parse().unwrap_or_else(|_| fail!("bad error_code {c:?}"))),
        });
    }
    out
}

fn log_matches(log: &serde_json::Value, expected: &[ExpectedEvent]) -> bool {
    let events = log["events"].as_array().cloned().unwrap_or_default();
    events.len() == expected.len() && events.iter().zip(expected).all(|(e, x)| x.matches(e))
}

async fn position(world: &mut ConformanceWorld, name: &str) -> u64 {
    let text = expand(world, &format!("{{{name}}}")).await;
    text.parse().unwrap_or_else(|_| fail!("{name:?} is not a remembered log position: {text:?}"))
}

#[then(expr = "the server's log since {string} holds exactly:")]
async fn log_holds(world: &mut ConformanceWorld, name: String, step: &Step) {
    let since = position(world, &name).await;
    let expected = expected_events(world, step).await;
    let log = events_since(world, since).await;
    ensure!(
        log_matches(&log, &expected),
        "expected exactly these events after seq {since}:\n{expected:#?}\ngot {log}"
    );
}

/// Polls the log until it holds the events (callback attempts are logged after the receiver
/// answered, so they may trail the step that saw the callback), up to [`CALLBACK_WAIT`].
#[then(expr = "the server's log since {string} comes to hold exactly:")]
async fn log_comes_to_hold(world: &mut ConformanceWorld, name: String, step: &Step) {
    let since = position(world, &name).await;
    let expected = expected_events(world, step).await;
    let started = Instant::now();
    loop {
        let log = events_since(world, since).await;
        if log_matches(&log, &expected) {
            return;
        }
        let count = log["events"].as_array().map_or(0, Vec::len);
        if count > expected.len() || started.elapsed() > CALLBACK_WAIT {
            fail!(
                "expected exactly these events after seq {since} within {CALLBACK_WAIT:?}:\n{expected:#?}\ngot {log}"
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[then(expr = "the events listed are numbered {string}")]
async fn events_numbered(world: &mut ConformanceWorld, numbers: String) {
    let expected: Vec<u64> = if numbers.trim() == "none" {
        Vec::new()
    } else {
        numbers
            .split(',')
            .map(|n| n.trim().parse().unwrap_or_else(|_| fail!("bad sequence number {n:?}")))
            .collect()
    };
    let body = super::http::last_json(world);
    let got: Vec<Option<u64>> =
        body["events"].as_array().map(|a| a.iter().map(|e| e["seq"].as_u64()).collect()).unwrap_or_default();
    let expected: Vec<Option<u64>> = expected.into_iter().map(Some).collect();
    ensure_eq!(got, expected, "expected the events with these sequence numbers, in this order, in {body}");
}

/// Contract section 8: "sequence numbers never restart". A log may also list test-control calls,
/// or drop entries at a reset, so the check is that the numbers after a reset go on increasing
/// from where they stood, not that they go up by one.
#[then(expr = "the events listed continue the sequence after {string}")]
async fn events_continue(world: &mut ConformanceWorld, name: String) {
    let after = position(world, &name).await;
    let body = super::http::last_json(world);
    let got: Vec<Option<u64>> =
        body["events"].as_array().map(|a| a.iter().map(|e| e["seq"].as_u64()).collect()).unwrap_or_default();
    let numbers: Vec<u64> = got.iter().flatten().copied().collect();
    ensure!(
        !numbers.is_empty()
            && numbers.len() == got.len()
            && numbers.first().is_some_and(|&first| first > after)
            && numbers.windows(2).all(|w| w[0] < w[1]),
        "expected events with integer sequence numbers above {after} (they never restart), in increasing \
         order, got {got:?} in {body}"
    );
}
