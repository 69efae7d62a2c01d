//! Steps that set the server up: its enrollment settings and its clock (test-control API).

use cucumber::{given, then, when};

use super::assert_refused;
use crate::world::ConformanceWorld;

async fn update_config(
    world: &mut ConformanceWorld,
    what: &str,
    change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) {
    let admin = world.target().admin().unwrap_or_else(|e| panic!("cannot set {what}: {e}"));
    admin.update_config(change).await.unwrap_or_else(|e| panic!("the server did not take {what}: {e}"));
}

#[given(expr = "the server's enrollment mode is {string}")]
async fn enrollment_mode(world: &mut ConformanceWorld, mode: String) {
    let what = format!("enrollment_mode {mode:?}");
    update_config(world, &what, |config| {
        config.insert("enrollment_mode".into(), serde_json::Value::String(mode.clone()));
    })
    .await;
}

#[given("enrollment is disabled on the server")]
async fn enrollment_disabled(world: &mut ConformanceWorld) {
    update_config(world, "enrollment_enabled false", |config| {
        config.insert("enrollment_enabled".into(), serde_json::Value::Bool(false));
    })
    .await;
}

async fn advance(world: &ConformanceWorld, ms: i64) {
    let admin = world.target().admin().unwrap_or_else(|e| panic!("cannot move the server's clock: {e}"));
    admin
        .advance_clock(ms)
        .await
        .unwrap_or_else(|e| panic!("the server did not move its clock by {ms} ms: {e}"));
}

#[when(expr = "the server's clock moves on by {int} ms")]
async fn clock_moves_by(world: &mut ConformanceWorld, ms: i64) {
    advance(world, ms).await;
}

/// Moves the clock to `before_ms` before the portal's OTP expires (creation time plus TTL).
async fn move_to_before_expiry(world: &mut ConformanceWorld, before_ms: i64) {
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

#[when(expr = "the server's clock moves to {int} ms before the OTP expires")]
async fn clock_moves_before_expiry(world: &mut ConformanceWorld, ms: i64) {
    move_to_before_expiry(world, ms).await;
}

#[then(expr = "the request is refused with status {int}, error {int} {word}")]
async fn refused(world: &mut ConformanceWorld, status: u16, code: u32, error_type: String) {
    assert_refused("the request", world.last(), status, code, &error_type);
}
