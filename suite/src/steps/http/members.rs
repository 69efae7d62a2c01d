//! Checks of the JSON members of a raw request's answer (`the response member "<path>" ...`):
//! their values, formats (UUIDs, RFC 3339 times) and instants, and remembering them for later
//! steps.

use cucumber::then;

use super::answers::{describe, last_exchange, last_json};
use crate::raw::{as_text, expand, instant, is_lowercase_uuid, is_utc_time, json_eq, json_literal, select};
use crate::world::ConformanceWorld;

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

/// The values `path` names: each match of a wildcard path, else the one value.
fn members(world: &ConformanceWorld, path: &str) -> Vec<serde_json::Value> {
    let got = member(world, path);
    if path.contains("[*]") { got.as_array().cloned().unwrap_or_default() } else { vec![got] }
}

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
    let values = members(world, &path);
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
    let values = members(world, &path);
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
