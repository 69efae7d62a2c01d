//! Steps of logging in: asking the token endpoint for access tokens, and probing whether the
//! device API takes a token.

use cucumber::{then, when};
use protocol::error::ErrorCode;
use protocol::wire::paths;

use super::http::{Refusal, Who, assert_refusal, expand, last_json, send};
use crate::world::ConformanceWorld;

/// Sends the token request of a well-behaved app for `user`, `times` times.
async fn ask_for_token(world: &mut ConformanceWorld, user: &str, times: usize) {
    let credentials = world.user(user).await;
    let form = format!(
        "grant_type=password&username={}&password={}&client_id={}",
        form_encode(&credentials.username),
        form_encode(&credentials.password),
        form_encode(world.target().app_client_id()),
    );
    let clauses = format!("with the form body '{form}' {times} times");
    send(world, &Who::Anonymous, "POST", paths::TOKEN, &clauses, None).await;
}

fn form_encode(part: &str) -> String {
    percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[when(expr = "{string} asks for a token")]
async fn asks_for_token(world: &mut ConformanceWorld, user: String) {
    ask_for_token(world, &user, 1).await;
}

#[when(expr = "{string} asks for a token {int} times")]
async fn asks_for_token_times(world: &mut ConformanceWorld, user: String, times: usize) {
    ask_for_token(world, &user, times).await;
}

#[when(expr = "{string} logs in again on the device {string}")]
async fn logs_in_again(world: &mut ConformanceWorld, user: String, device: String) {
    let credentials = world.user(&user).await;
    world
        .device_or_install(&device)
        .log_in(&credentials.username, &credentials.password)
        .await
        .unwrap_or_else(|e| fail!("expected {user:?} to log in on {device:?}, but {e}"));
}

/// Reads the enrollment of a device id that nobody enrolled with `token`: a token the device API
/// takes gets 404 9021, one it refuses gets 401 9010.
async fn probe(world: &mut ConformanceWorld, token: &str) {
    let token = expand(world, token).await;
    let path = format!("{}/{{new uuid}}", paths::ENROLLMENTS);
    let clauses = format!("with the header 'Authorization: Bearer {token}'");
    send(world, &Who::Anonymous, "GET", &path, &clauses, None).await;
}

/// The refusal `code` with `status`, as the raw-request steps check it.
fn api_refusal(code: ErrorCode, status: u16) -> Refusal {
    Refusal::Api(status, code.code(), code.type_name().to_string())
}

#[then(expr = "the device API accepts the access token {string}")]
async fn accepts_token(world: &mut ConformanceWorld, token: String) {
    probe(world, &token).await;
    assert_refusal(world, &api_refusal(ErrorCode::MobileAuthenticationNotEnrolled, 404));
}

#[then(expr = "the device API refuses the access token {string}")]
async fn refuses_token(world: &mut ConformanceWorld, token: String) {
    probe(world, &token).await;
    let not_authenticated = ErrorCode::UserNotAuthenticated;
    let status = not_authenticated.http_status().expect("USER_NOT_AUTHENTICATED has a status in the table");
    assert_refusal(world, &api_refusal(not_authenticated, status));
}

/// AUTH-001: `expires_in` is the token's lifetime as a whole number of seconds. JSON does not tell
/// `3600` from `3600.0`, so any number with no fraction does; a lifetime is above zero.
#[then("the token's expires_in is a positive whole number of seconds")]
async fn expires_in_whole(world: &mut ConformanceWorld) {
    let body = last_json(world);
    let seconds = body["expires_in"].as_f64();
    ensure!(
        seconds.is_some_and(|s| s > 0.0 && s.fract() == 0.0),
        "expected expires_in to be a positive whole number of seconds, got {body}"
    );
}
