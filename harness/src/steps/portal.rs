//! Steps of the relying party: starting OTP transactions, receiving callbacks, reading outcomes.

use cucumber::{given, then, when};
use protocol::wire::{TransactionStatus, TransactionStatusResponse};

use crate::world::{CALLBACK_WAIT, ConformanceWorld};

/// The OTP type every server file of the suite configures.
const QR_TYPE: &str = "qr-code";

async fn start(world: &mut ConformanceWorld, fields: &[(&str, &str)]) {
    let callback = world.portal().await.callback_uri();
    let mut all: Vec<(&str, &str)> = vec![("callback_uri", callback.as_str())];
    all.extend_from_slice(fields);
    let result = world.portal().await.start_otp(&all).await;
    if let Ok(started) = &result {
        world.otp = Some(started.clone());
    }
    world.record(result.map(|started| started.response));
}

async fn start_ok(world: &mut ConformanceWorld, fields: &[(&str, &str)]) {
    start(world, fields).await;
    world.last_ok("the portal to start an OTP transaction");
}

/// Starts a QR-code OTP with the type's default message, failing the step if the portal cannot.
pub(crate) async fn start_for_step(world: &mut ConformanceWorld) {
    start_ok(world, &[("type", QR_TYPE)]).await;
}

#[given("the portal has started a QR-code OTP")]
#[when("the portal starts a QR-code OTP")]
async fn started_default(world: &mut ConformanceWorld) {
    start_ok(world, &[("type", QR_TYPE)]).await;
}

#[given(expr = "the portal has started a QR-code OTP with the message {string}")]
#[when(expr = "the portal starts a QR-code OTP with the message {string}")]
async fn started_with_message(world: &mut ConformanceWorld, message: String) {
    start_ok(world, &[("type", QR_TYPE), ("message", &message)]).await;
}

#[when(expr = "the portal tries to start an OTP of type {string}")]
async fn try_type(world: &mut ConformanceWorld, otp_type: String) {
    start(world, &[("type", &otp_type), ("message", "Log in?")]).await;
}

#[when(expr = "the portal tries to start a QR-code OTP for the user {string}")]
async fn try_with_user(world: &mut ConformanceWorld, user: String) {
    start(world, &[("type", QR_TYPE), ("message", "Log in?"), ("user_id", &user)]).await;
}

#[when(expr = "the portal tries to start a QR-code OTP with a message of {int} characters {string}")]
async fn try_long_message(world: &mut ConformanceWorld, length: usize, character: String) {
    let message = character.repeat(length);
    start(world, &[("type", QR_TYPE), ("message", &message)]).await;
}

#[then(expr = "the portal gets an OTP that lives {int} seconds")]
async fn otp_lives(world: &mut ConformanceWorld, seconds: u64) {
    world.last_ok("authenticate/user to answer 200 with an OTP");
    let response = &world.started_otp().response;
    assert_eq!(
        (response.auth_method.as_str(), response.time_to_live),
        ("OTP", seconds * 1000),
        "expected auth_method \"OTP\" and time_to_live {} ms from authenticate/user, got {:?}",
        seconds * 1000,
        response
    );
}

#[then("the portal receives a callback for the transaction")]
async fn callback_arrives(world: &mut ConformanceWorld) {
    let transaction_id = world.started_otp().response.transaction_id;
    let portal = world.portal().await;
    let expected_uri = portal.callback_uri();
    let Some(callback) = portal.next_callback(CALLBACK_WAIT).await else {
        panic!(
            "expected the server to POST {{\"callback_uri\", \"transaction_id\": \"{transaction_id}\"}} to \
             {expected_uri} within {CALLBACK_WAIT:?}, but no callback came"
        );
    };
    assert_eq!(
        (callback.transaction_id, callback.callback_uri.as_str()),
        (transaction_id, expected_uri.as_str()),
        "expected a callback for transaction {transaction_id} holding the callback_uri as given, got {callback:?}"
    );
}

async fn transaction(world: &mut ConformanceWorld) -> TransactionStatusResponse {
    let transaction_id = world.started_otp().response.transaction_id.to_string();
    world
        .portal()
        .await
        .transaction(&transaction_id)
        .await
        .unwrap_or_else(|e| panic!("expected GET transaction {transaction_id} to answer 200, but it was {e}"))
}

fn check(
    status: &TransactionStatusResponse,
    expected: (TransactionStatus, bool, Option<&str>, Option<&str>),
) {
    let got = (
        status.status,
        status.is_authenticated,
        status.user_id.as_deref(),
        status.not_authenticated_reason.as_ref().map(|r| r.reason.as_str()),
    );
    assert_eq!(
        got, expected,
        "expected the transaction to read as (status, is_authenticated, user_id, not_authenticated_reason) \
         {expected:?}, got {got:?} in {status:?}"
    );
}

#[then("the transaction is still pending")]
async fn pending(world: &mut ConformanceWorld) {
    let status = transaction(world).await;
    check(&status, (TransactionStatus::Pending, false, None, None));
}

#[then(expr = "the transaction is accepted for {string}")]
async fn accepted(world: &mut ConformanceWorld, user: String) {
    let status = transaction(world).await;
    let username = world.username(&user).to_string();
    check(&status, (TransactionStatus::Accepted, true, Some(&username), None));
}

#[then(expr = "the transaction is denied by {string} as not accepted")]
async fn denied(world: &mut ConformanceWorld, user: String) {
    let status = transaction(world).await;
    let username = world.username(&user).to_string();
    check(&status, (TransactionStatus::Denied, false, Some(&username), Some("not_accepted")));
}

#[then("the transaction is expired")]
async fn expired(world: &mut ConformanceWorld) {
    let status = transaction(world).await;
    check(&status, (TransactionStatus::Expired, false, None, Some("expired")));
}
