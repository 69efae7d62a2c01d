//! Steps of the relying party: starting OTP transactions, the QR code it shows, receiving
//! callbacks (also through a receiver that fails on purpose), reading outcomes, asking whether a
//! user can use mobile authentication.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cucumber::{given, then, when};
use protocol::wire::{AuthenticateUserResponse, TransactionStatus, TransactionStatusResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};

use super::server::{admin, assert_reply, set_config_key};
use crate::http::{Auth, Payload};
use crate::portal::{CallbackAttempt, CallbackReply, REDIRECT_PATH, SimulatedPortal};
use crate::target::Capability;
use crate::target::OrFail as _;
use crate::target::UserCredentials;
use crate::world::{CALLBACK_QUIET, CALLBACK_WAIT, ConformanceWorld};

/// The OTP type every server file of the suite configures.
const QR_TYPE: &str = "qr-code";

/// A message of more than the default `message_max_length` (155).
fn too_long_message() -> String {
    "m".repeat(156)
}

/// Starts an OTP with exactly these form fields, keeping what later steps check.
async fn start_with(world: &mut ConformanceWorld, fields: &[(&str, &str)]) {
    let before = world.target().now().await.ok();
    let result = world.portal().await.start_otp(fields).await;
    let after = world.target().now().await.ok();
    if let Ok(started) = &result {
        world.otp = Some(started.clone());
        world.notes.started.push(started.clone());
        world.notes.callback_uri =
            fields.iter().find(|(name, _)| *name == "callback_uri").map(|(_, value)| value.to_string());
        world.notes.started_between = before.zip(after);
    }
    world.record(result.map(|started| started.response));
}

/// Starts an OTP with these fields and the portal's own callback_uri.
async fn start(world: &mut ConformanceWorld, fields: &[(&str, &str)]) {
    let callback = world.portal().await.callback_uri();
    let mut all: Vec<(&str, &str)> = vec![("callback_uri", callback.as_str())];
    all.extend_from_slice(fields);
    start_with(world, &all).await;
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

#[when("the portal starts a QR-code OTP without a message")]
async fn started_without_message(world: &mut ConformanceWorld) {
    start_ok(world, &[("type", QR_TYPE)]).await;
}

#[when("the portal starts a QR-code OTP with an empty message")]
async fn started_with_empty_message(world: &mut ConformanceWorld) {
    start_ok(world, &[("type", QR_TYPE), ("message", "")]).await;
}

#[given(expr = "the portal has started a QR-code OTP with the message {string}")]
#[when(expr = "the portal starts a QR-code OTP with the message {string}")]
async fn started_with_message(world: &mut ConformanceWorld, message: String) {
    start_ok(world, &[("type", QR_TYPE), ("message", &message)]).await;
}

#[when(expr = "the portal starts a QR-code OTP with the message {string} and the language code {string}")]
async fn started_with_language(world: &mut ConformanceWorld, message: String, language: String) {
    start_ok(world, &[("type", QR_TYPE), ("message", &message), ("language_code", &language)]).await;
}

#[given(expr = "the portal has started a QR-code OTP with the callback path {string}")]
#[when(expr = "the portal starts a QR-code OTP with the callback path {string}")]
async fn started_with_callback_path(world: &mut ConformanceWorld, path: String) {
    let callback = world.portal().await.callback_uri_with(&path);
    start_with(world, &[("type", QR_TYPE), ("callback_uri", &callback)]).await;
    world.last_ok("the portal to start an OTP transaction");
}

#[given("the portal has started a QR-code OTP with a callback_uri where nothing listens")]
async fn started_with_dead_callback(world: &mut ConformanceWorld) {
    // A port released at once could be taken by another scenario's listener before the callback
    // comes; this one stays bound, without listening, for the scenario's life.
    let callback = super::http::unreachable_url(world);
    start_with(world, &[("type", QR_TYPE), ("callback_uri", &callback)]).await;
    world.last_ok("the portal to start an OTP transaction");
}

#[when(expr = "the portal starts an OTP of type {string} with the message {string}")]
async fn started_of_type(world: &mut ConformanceWorld, otp_type: String, message: String) {
    start_ok(world, &[("type", &otp_type), ("message", &message)]).await;
}

#[when(expr = "the portal tries to start an OTP of type {string}")]
async fn try_type(world: &mut ConformanceWorld, otp_type: String) {
    start(world, &[("type", &otp_type), ("message", "Log in?")]).await;
}

#[when(expr = "the portal tries to start an OTP of type {string} without a message")]
async fn try_type_without_message(world: &mut ConformanceWorld, otp_type: String) {
    start(world, &[("type", &otp_type)]).await;
}

#[when(expr = "the portal tries to start an OTP of type {string} with an empty message")]
async fn try_type_with_empty_message(world: &mut ConformanceWorld, otp_type: String) {
    start(world, &[("type", &otp_type), ("message", "")]).await;
}

#[when("the portal tries to start an OTP without a type")]
async fn try_without_type(world: &mut ConformanceWorld) {
    start(world, &[("message", "Log in?")]).await;
}

#[when("the portal tries to start an OTP with an empty type")]
async fn try_with_empty_type(world: &mut ConformanceWorld) {
    start(world, &[("type", ""), ("message", "Log in?")]).await;
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

#[when(expr = "the portal tries to start a QR-code OTP with the message {string}")]
async fn try_with_message(world: &mut ConformanceWorld, message: String) {
    start(world, &[("type", QR_TYPE), ("message", &message)]).await;
}

#[when("the portal tries to start a QR-code OTP without a callback_uri")]
async fn try_without_callback(world: &mut ConformanceWorld) {
    start_with(world, &[("type", QR_TYPE), ("message", "Log in?")]).await;
}

#[when(expr = "the portal tries to start a QR-code OTP with the callback_uri {string}")]
async fn try_with_callback(world: &mut ConformanceWorld, callback: String) {
    start_with(world, &[("type", QR_TYPE), ("message", "Log in?"), ("callback_uri", &callback)]).await;
}

#[when(expr = "the portal tries to start a QR-code OTP with the language code {string}")]
async fn try_with_language(world: &mut ConformanceWorld, language: String) {
    start(world, &[("type", QR_TYPE), ("message", "Log in?"), ("language_code", &language)]).await;
}

/// The Basic `Authorization` header value, each part form-url-encoded as RFC 6749 §2.3.1 says.
fn basic_header(id: &str, secret: &str) -> String {
    let encode = |part: &str| {
        percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

/// A form body, every name and value percent-encoded.
fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |part: &str| {
        percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Sends authenticate/user from the portal with these raw body bytes as a form.
async fn send_raw_form(world: &mut ConformanceWorld, authorization: Option<String>, body: Vec<u8>) {
    let portal = world.portal().await;
    let result = portal
        .send_raw(
            Method::POST,
            paths::AUTHENTICATE_USER,
            authorization.as_deref(),
            Some("application/x-www-form-urlencoded"),
            body,
        )
        .await
        .and_then(|(status, text)| {
            crate::http::interpret::<AuthenticateUserResponse>(
                status,
                &text,
                &[200],
                "AuthenticateUserResponse",
            )
        })
        .map(|(_, response)| response);
    world.record(result);
}

/// Sends authenticate/user from the portal with `fields`, as a form or as JSON.
async fn send_fields(
    world: &mut ConformanceWorld,
    fields: &[(&str, &str)],
    secret: Option<&str>,
    as_json: bool,
) {
    let portal = world.portal().await;
    let (id, own_secret) = portal.credentials();
    let auth = Auth::Basic(id, secret.unwrap_or(own_secret));
    let object: serde_json::Map<String, Value> =
        fields.iter().map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string()))).collect();
    let object = Value::Object(object);
    let payload = if as_json { Payload::Json(&object) } else { Payload::Form(fields) };
    let result = portal
        .http()
        .call::<AuthenticateUserResponse>(Method::POST, paths::AUTHENTICATE_USER, auth, payload, &[200])
        .await
        .map(|(_, response)| response);
    world.record(result);
}

#[when(regex = r"^the portal sends authenticate/user (.+)$")]
async fn sends_authenticate_user(world: &mut ConformanceWorld, how: String) {
    if let Some(problems) = how.strip_prefix("with these problems: ") {
        return send_with_problems(world, problems).await;
    }
    let callback = world.portal().await.callback_uri();
    let callback = callback.as_str();
    // Both copies of the repeated field hold a valid value: only the repetition is wrong.
    let twice = |name: &'static str| {
        let mut fields = vec![("type", QR_TYPE), ("callback_uri", callback), ("message", "Log in?")];
        let value = fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or_default();
        fields.push((name, value));
        fields
    };
    match how.as_str() {
        "with the type field twice" => send_fields(world, &twice("type"), None, false).await,
        "with the callback_uri field twice" => send_fields(world, &twice("callback_uri"), None, false).await,
        "with the message field twice" => send_fields(world, &twice("message"), None, false).await,
        "as JSON instead of a form" => {
            let fields = [("type", QR_TYPE), ("callback_uri", callback), ("message", "Log in?")];
            send_fields(world, &fields, None, true).await;
        }
        "with a message whose percent-encoded bytes are not UTF-8" => {
            let body =
                format!("{}&message=%FF%FEok", form_body(&[("type", QR_TYPE), ("callback_uri", callback)]));
            let (id, secret) = world.portal().await.credentials();
            let authorization = basic_header(id, secret);
            send_raw_form(world, Some(authorization), body.into_bytes()).await;
        }
        "with a message holding raw bytes that are not UTF-8" => {
            let mut body =
                format!("{}&message=", form_body(&[("type", QR_TYPE), ("callback_uri", callback)]))
                    .into_bytes();
            body.extend_from_slice(&[0xff, 0xfe, b'o', b'k']);
            let (id, secret) = world.portal().await.credentials();
            let authorization = basic_header(id, secret);
            send_raw_form(world, Some(authorization), body).await;
        }
        other => fail!("no such way to send authenticate/user: {other:?}"),
    }
}

/// RP-012: a request with several problems at once; see the relying-party feature for the names.
async fn send_with_problems(world: &mut ConformanceWorld, problems: &str) {
    let callback = world.portal().await.callback_uri();
    let mut fields: Vec<(String, String)> = vec![
        ("type".into(), QR_TYPE.into()),
        ("callback_uri".into(), callback),
        ("message".into(), "Log in?".into()),
    ];
    let set = |fields: &mut Vec<(String, String)>, name: &str, value: String| {
        fields.retain(|(n, _)| n != name);
        fields.push((name.to_string(), value));
    };
    let (mut secret, mut as_json) = (None, false);
    for problem in problems.split(',').map(str::trim) {
        match problem {
            "a wrong client secret" => secret = Some("not-the-secret"),
            "mobile authentication disabled" => {
                set_config_key(world, "mobile_auth_enabled", Value::Bool(false)).await;
            }
            // An unknown form field is ignored (GEN-010), so only the size is wrong here.
            "a body over 64 KiB" => set(&mut fields, "filler", "f".repeat(70_000)),
            "a JSON body" => as_json = true,
            "no type" => fields.retain(|(n, _)| n != "type"),
            "an unknown type" => set(&mut fields, "type", "no-such-type".into()),
            "a user_id" => set(&mut fields, "user_id", "alice".into()),
            "a callback_uri that is not http" => {
                set(&mut fields, "callback_uri", "ftp://portal.example/cb".into())
            }
            "a callback_uri that the whitelist does not allow" => {
                set_config_key(world, "callback_whitelist", json!(["https://portal.example/only"])).await;
            }
            "a message that is too long" => set(&mut fields, "message", too_long_message()),
            "an invalid language code" => set(&mut fields, "language_code", "english".into()),
            other => fail!("no such authenticate/user problem: {other:?}"),
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    send_fields(world, &fields, secret, as_json).await;
}

#[then(expr = "the portal's request gets {string}")]
async fn portal_request_gets(world: &mut ConformanceWorld, reply: String) {
    assert_reply("the portal's request", world.last(), &reply, |value| match reply.as_str() {
        "started" => ensure!(
            value["transaction_id"].is_string() && value["otp"].is_string(),
            "expected authenticate/user to answer 200 {{\"transaction_id\", \"auth_method\", \"time_to_live\", \"otp\"}}, got {value}"
        ),
        _ => ensure!(value.is_object() || value.is_array(), "expected {reply}, got {value}"),
    });
}

#[then(expr = "the portal gets an OTP that lives {int} seconds")]
async fn otp_lives(world: &mut ConformanceWorld, seconds: u64) {
    world.last_ok("authenticate/user to answer 200 with an OTP");
    let response = &world.started_otp().response;
    ensure_eq!(
        (response.auth_method.as_str(), response.time_to_live),
        ("OTP", seconds * 1000),
        "expected auth_method \"OTP\" and time_to_live {} ms from authenticate/user, got {:?}",
        seconds * 1000,
        response
    );
}

// ------------------------------------------------------------------ API clients

async fn create_api_client(world: &mut ConformanceWorld, id: &str, secret: &str) {
    let body = json!({ "client_id": id, "client_secret": secret });
    let (status, text) = admin(world)
        .send(Method::POST, "/api-clients", Some(&body))
        .await
        .or_fail(|e| format!("cannot register the API client {id:?}: {e}"));
    if (400..500).contains(&status) {
        // What ids and secrets a server's test-control API takes is the server's business (the
        // contract fixes only the call): a refusal leaves this setup, not a rule, undone.
        crate::judgement::not_applicable(format!(
            "the scenario needs an API client {id:?}, and the target's test-control API refused to \
             create it: {status} {text}"
        ));
    }
    ensure!(
        matches!(status, 200 | 201),
        "expected the API client {id:?} to be registered, got {status} {text}"
    );
}

#[given(expr = "an API client {string} with the secret {string}")]
async fn api_client_with_secret(world: &mut ConformanceWorld, id: String, secret: String) {
    create_api_client(world, &id, &secret).await;
}

#[when(expr = "that API client starts a QR-code OTP with the Basic user-id {string} and password {string}")]
async fn raw_basic_start(world: &mut ConformanceWorld, user_id: String, password: String) {
    let callback = world.portal().await.callback_uri();
    let body = form_body(&[("type", QR_TYPE), ("callback_uri", &callback), ("message", "Log in?")]);
    let authorization = format!("Basic {}", STANDARD.encode(format!("{user_id}:{password}")));
    send_raw_form(world, Some(authorization), body.into_bytes()).await;
}

#[given(expr = "another API client {string}")]
async fn another_api_client(world: &mut ConformanceWorld, id: String) {
    let secret = format!("{id}-secret");
    create_api_client(world, &id, &secret).await;
    let target = world.target();
    let portal = SimulatedPortal::start(target.http(), &id, &secret, target.callback_listen())
        .await
        .unwrap_or_else(|e| fail!("the portal of {id:?} did not start: {e}"));
    world.notes.portals.insert(id, portal);
}

#[when(expr = "the API client {string} reads the portal's transaction")]
async fn other_client_reads(world: &mut ConformanceWorld, id: String) {
    let transaction_id = world.started_otp().response.transaction_id.to_string();
    let portal =
        world.notes.portals.get(&id).unwrap_or_else(|| fail!("no API client {id:?} in this scenario"));
    let result = portal.transaction(&transaction_id).await;
    world.record(result);
}

#[when("the portal reads a transaction that does not exist")]
async fn reads_unknown_transaction(world: &mut ConformanceWorld) {
    let unknown = protocol::rng::uuid(world.rng()).to_string();
    let result = world.portal().await.transaction(&unknown).await;
    world.record(result);
}

// ------------------------------------------------------------------ enabled

#[given(expr = "{string} is a user whose username holds a space, an @ and an é")]
async fn user_with_odd_name(world: &mut ConformanceWorld, name: String) {
    let base =
        world.target_mut().new_user().await.or_fail(|e| format!("cannot create a user on the target: {e}"));
    let user = UserCredentials {
        username: format!("{} smith@example.com é", base.username),
        password: base.password.clone(),
    };
    admin(world).create_user(&user).await.or_fail(|e| format!("cannot create {:?}: {e}", user.username));
    world.users.insert(name, user);
}

#[given(expr = "{string} is not a user of the server")]
async fn not_a_user(world: &mut ConformanceWorld, name: String) {
    let username = format!("nobody-{}", protocol::rng::uuid(world.rng()));
    world.users.insert(name, UserCredentials { password: format!("{username}-password"), username });
}

#[when(expr = "the portal asks whether {string} can use mobile authentication")]
async fn asks_enabled(world: &mut ConformanceWorld, user: String) {
    let username = world.username(&user).to_string();
    let result = world.portal().await.enabled(&username).await;
    world.record(result);
}

fn told_types(world: &ConformanceWorld, expected: &[&str]) {
    let value = world.last_ok("GET enabled to answer 200");
    let entries =
        value.as_array().unwrap_or_else(|| fail!("expected GET enabled to answer a JSON array, got {value}"));
    let mut got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["type"].as_str().unwrap_or("?"), e["method"].as_str().unwrap_or("?")))
        .collect();
    got.sort_unstable();
    let mut want: Vec<(&str, &str)> = expected.iter().map(|t| (*t, "OTP")).collect();
    want.sort_unstable();
    ensure_eq!(
        got,
        want,
        "expected GET enabled to list one {{\"type\", \"method\": \"OTP\"}} per OTP type, got {value}"
    );
}

#[then(expr = "the portal is told the OTP types {string} and {string}")]
async fn told_two(world: &mut ConformanceWorld, first: String, second: String) {
    told_types(world, &[&first, &second]);
}

#[then(expr = "the portal is told the OTP types {string}")]
async fn told_one(world: &mut ConformanceWorld, first: String) {
    told_types(world, &[&first]);
}

#[then("the portal is told no OTP types")]
async fn told_none(world: &mut ConformanceWorld) {
    told_types(world, &[]);
}

// ------------------------------------------------------------------ transactions

async fn transaction(world: &mut ConformanceWorld) -> TransactionStatusResponse {
    let transaction_id = world.started_otp().response.transaction_id.to_string();
    world
        .portal()
        .await
        .transaction(&transaction_id)
        .await
        .unwrap_or_else(|e| fail!("expected GET transaction {transaction_id} to answer 200, but it was {e}"))
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
    ensure_eq!(
        got,
        expected,
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

#[then(
    regex = r#"^reading the transaction gives its id, the callback_uri as given, its creation time, status "pending" and authentication_method "OTP"$"#
)]
async fn reads_as_given(world: &mut ConformanceWorld) {
    let status = transaction(world).await;
    let given = world.notes.callback_uri.clone().expect("the portal started an OTP");
    let transaction_id = world.started_otp().response.transaction_id;
    ensure_eq!(
        (status.transaction_id, status.callback_uri.as_str(), status.authentication_method.as_str()),
        (transaction_id, given.as_str(), "OTP"),
        "expected GET transaction to give the transaction's id, its callback_uri exactly as given and \
         authentication_method \"OTP\", got {status:?}"
    );
    check(&status, (TransactionStatus::Pending, false, None, None));
    if let Some((before, after)) = world.notes.started_between {
        ensure!(
            before <= status.timestamp && status.timestamp <= after,
            "expected the timestamp to be the creation time, between {before} and {after} on the server's \
             clock, got {}",
            status.timestamp
        );
    }
}

#[then("the transaction reads as the winner's answer, for the winner's user")]
async fn reads_as_winner(world: &mut ConformanceWorld) {
    let (device, answer) = world.notes.winner.clone().expect("a step must send concurrent answers first");
    let user = world.device(&device).user().map(str::to_string).expect("the winner is logged in");
    let status = transaction(world).await;
    match answer {
        protocol::wire::Answer::Accept => {
            check(&status, (TransactionStatus::Accepted, true, Some(&user), None))
        }
        protocol::wire::Answer::Deny => {
            check(&status, (TransactionStatus::Denied, false, Some(&user), Some("not_accepted")));
        }
    }
}

// ------------------------------------------------------------------ the OTP and its QR code

fn otp_bytes(otp: &str) -> Vec<u8> {
    STANDARD.decode(otp).unwrap_or_else(|e| fail!("expected the OTP to be standard base64, got {otp:?}: {e}"))
}

#[then("the portal's OTP is 68 characters of canonical standard padded base64 of 49 bytes")]
async fn otp_shape(world: &mut ConformanceWorld) {
    let otp = world.started_otp().response.otp.clone();
    let bytes = otp_bytes(&otp);
    ensure_eq!(
        (otp.chars().count(), bytes.len(), STANDARD.encode(&bytes) == otp),
        (68, 49, true),
        "expected the OTP to be 68 characters of canonical padded base64 of 49 bytes, got {otp:?}"
    );
}

#[then("the portal's OTP starts with the format version 1 and then the 16 bytes of its transaction id")]
async fn otp_layout(world: &mut ConformanceWorld) {
    let response = world.started_otp().response.clone();
    let bytes = otp_bytes(&response.otp);
    ensure_eq!(bytes.first(), Some(&0x01), "expected the OTP's first byte to be the format version 0x01");
    ensure_eq!(
        bytes.get(1..17),
        Some(&response.transaction_id.as_bytes()[..]),
        "expected bytes 1 to 16 of the OTP to be the transaction id {} in RFC 4122 order",
        response.transaction_id
    );
}

#[then("the secrets of the portal's two OTPs differ")]
async fn secrets_differ(world: &mut ConformanceWorld) {
    let started = &world.notes.started;
    ensure!(started.len() >= 2, "the portal must start two OTPs first");
    let secret =
        |i: usize| otp_bytes(&started[i].response.otp).get(17..).map(<[u8]>::to_vec).unwrap_or_default();
    let (a, b) = (secret(started.len() - 2), secret(started.len() - 1));
    ensure_ne!(a, b, "expected the secrets of two OTPs to differ");
    ensure!(
        a.iter().any(|&x| x != 0) && b.iter().any(|&x| x != 0),
        "expected random secrets, got one of all zero bytes"
    );
}

#[then(regex = r"^no answer of the server but authenticate/user's holds the OTP or its secret$")]
async fn nothing_gives_the_otp_back(world: &mut ConformanceWorld) {
    let mut needles = Vec::new();
    for started in &world.notes.started {
        let otp = started.response.otp.clone();
        let secret = otp_bytes(&otp).get(17..).map(<[u8]>::to_vec).unwrap_or_default();
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for text in [otp.clone(), STANDARD.encode(&secret), URL_SAFE_NO_PAD.encode(&secret), hex] {
            needles.push(text.replace('/', "\\/"));
            needles.push(text);
        }
    }
    for exchange in world.target().transcript().exchanges() {
        if exchange.method == "POST" && exchange.url.ends_with(paths::AUTHENTICATE_USER) {
            continue;
        }
        if let Some(needle) = needles.iter().find(|n| exchange.response_body.contains(n.as_str())) {
            fail!(
                "expected no answer but authenticate/user's to hold an OTP or its secret, but {} {} answered \
                 {needle:?} in {}",
                exchange.method,
                exchange.url,
                exchange.response_body
            );
        }
    }
}

#[then("the portal receives a callback for the transaction")]
async fn callback_arrives(world: &mut ConformanceWorld) {
    callback_within(world, CALLBACK_WAIT).await;
}

#[then(expr = "the portal receives a callback for the transaction within {int} seconds")]
async fn callback_arrives_within(world: &mut ConformanceWorld, seconds: u64) {
    callback_within(world, Duration::from_secs(seconds)).await;
}

async fn callback_within(world: &mut ConformanceWorld, wait: Duration) {
    let transaction_id = world.started_otp().response.transaction_id;
    let expected_uri = world.notes.callback_uri.clone().unwrap_or_default();
    let portal = world.portal().await;
    let Some(callback) = portal.next_callback(wait).await else {
        fail!(
            "expected the server to POST {{\"callback_uri\", \"transaction_id\": \"{transaction_id}\"}} to \
             {expected_uri} within {wait:?}, but no callback came"
        );
    };
    ensure_eq!(
        (callback.transaction_id, callback.callback_uri.as_str()),
        (transaction_id, expected_uri.as_str()),
        "expected a callback for transaction {transaction_id} holding the callback_uri as given, got {callback:?}"
    );
}

/// `500, then 204` and the like: what a scripted receiver answers, attempt by attempt.
fn parse_script(text: &str) -> Vec<CallbackReply> {
    let reply = |item: &str| {
        let item = item.trim();
        let item = item.strip_prefix("answers ").unwrap_or(item);
        if let Some(status) = item.strip_suffix(" with a Location on itself") {
            return CallbackReply::Redirect(
                status.parse().unwrap_or_else(|_| fail!("{status:?} is no status")),
            );
        }
        match item {
            "closes the connection without answering" => CallbackReply::Drop,
            "does not answer" => CallbackReply::Hang,
            status => CallbackReply::Status(
                status.parse().unwrap_or_else(|_| fail!("no such callback receiver behaviour: {item:?}")),
            ),
        }
    };
    text.split(", then ").flat_map(|part| part.split(", ")).map(reply).collect()
}

#[given(regex = r"^the portal's callback receiver (.+)$")]
async fn scripted_receiver(world: &mut ConformanceWorld, behaviour: String) {
    let script = if let Some(status) = behaviour
        .strip_prefix("answers every callback with ")
        .or_else(|| behaviour.strip_prefix("answers ").and_then(|s| s.strip_suffix(" to every callback")))
    {
        vec![CallbackReply::Status(status.parse().unwrap_or_else(|_| fail!("{status:?} is no status")))]
    } else if behaviour == "holds every callback until it is let go" {
        vec![CallbackReply::Hold]
    } else {
        parse_script(&behaviour)
    };
    let target = world.target();
    let (id, secret) = target.api_client();
    let portal =
        SimulatedPortal::start_with_script(target.http(), id, secret, script, target.callback_listen())
            .await
            .unwrap_or_else(|e| fail!("the portal's callback receiver did not start: {e}"));
    world.portal = Some(portal);
}

/// The next delivery attempt (skipping none), failing the step if none comes in time.
async fn next_attempt(world: &mut ConformanceWorld, wait: Duration) -> CallbackAttempt {
    let portal = world.portal().await;
    ensure!(portal.is_scripted(), "the scenario must give the portal a scripted callback receiver first");
    let Some(attempt) = portal.next_attempt(wait).await else {
        fail!("expected a callback delivery attempt within {wait:?}, but none came");
    };
    world.notes.attempts.push(attempt.clone());
    attempt
}

fn is_redirect_target(attempt: &CallbackAttempt) -> bool {
    attempt.target.split('?').next() == Some(REDIRECT_PATH)
}

fn check_attempt_is_for_transaction(world: &ConformanceWorld, attempt: &CallbackAttempt) {
    let transaction_id = world.started_otp().response.transaction_id;
    let given = world.notes.callback_uri.clone().unwrap_or_default();
    let callback = attempt.callback();
    ensure!(
        attempt.method == "POST"
            && callback.as_ref().map(|c| (c.transaction_id, c.callback_uri.as_str()))
                == Some((transaction_id, given.as_str())),
        "expected a POST of {{\"callback_uri\": {given:?}, \"transaction_id\": \"{transaction_id}\"}}, got {} {} \
         with the body {:?}",
        attempt.method,
        attempt.target,
        String::from_utf8_lossy(&attempt.body)
    );
}

#[then(
    regex = r#"^the portal's receiver gets a POST of Content-Type application/json with the body \{"callback_uri", "transaction_id"\} for the transaction$"#
)]
async fn receiver_gets_json(world: &mut ConformanceWorld) {
    let attempt = next_attempt(world, CALLBACK_WAIT).await;
    check_attempt_is_for_transaction(world, &attempt);
    let media_type = attempt
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    ensure_eq!(
        media_type.as_deref(),
        Some("application/json"),
        "expected the callback to be sent with Content-Type: application/json, got {:?}",
        attempt.content_type
    );
    let given = world.notes.callback_uri.clone().unwrap_or_default();
    let path_and_query = given.splitn(4, '/').nth(3).map(|rest| format!("/{rest}")).unwrap_or_default();
    ensure_eq!(
        attempt.target,
        path_and_query,
        "expected the callback to be POSTed to the callback_uri as given"
    );
}

/// Waits for the attempts that must come, then takes in any that came besides without waiting:
/// the count is exact for what arrived. That no further attempt is on its way the event log tells
/// (`the server has started N delivery attempts`), since a receiver cannot see one in flight.
#[then(expr = "the portal's receiver gets {int} delivery attempt(s) for the transaction")]
async fn receiver_gets_attempts(world: &mut ConformanceWorld, count: usize) {
    let counted =
        |world: &ConformanceWorld| world.notes.attempts.iter().filter(|a| !is_redirect_target(a)).count();
    while counted(world) < count {
        let attempt = next_attempt(world, CALLBACK_WAIT).await;
        if !is_redirect_target(&attempt) {
            check_attempt_is_for_transaction(world, &attempt);
        }
    }
    while let Some(attempt) = world.portal().await.next_attempt(Duration::ZERO).await {
        world.notes.attempts.push(attempt);
    }
    ensure_eq!(counted(world), count, "expected {count} delivery attempts, got {:?}", world.notes.attempts);
}

/// Bounds the rounds of a delivery the receiver watches (the contract's default is 4 attempts).
const MAX_DELIVERY_ROUNDS: usize = 32;

/// How far each nudge moves the server's clock: past the contract's longest backoff of a default
/// delivery (800 ms), and small enough that the nudges of a quiet spell leave a pending
/// transaction of the default 300-second TTL pending.
const NUDGE_MS: i64 = 1_000;
/// How often the receiver nudges the clock while it listens.
const NUDGE_EVERY: Duration = Duration::from_millis(100);

/// Moves the server's clock on by [`NUDGE_MS`], where the target lets the harness move it: a
/// server whose backoff runs on its own clock then sends what that made due; one whose backoff
/// runs on real time is not held up by it.
async fn nudge_clock(world: &ConformanceWorld) {
    if world.target().offers(Capability::Clock) {
        super::server::advance(world, NUDGE_MS).await;
    }
}

/// The next attempt the receiver gets within [`CALLBACK_QUIET`], nudging the server's clock every
/// [`NUDGE_EVERY`] meanwhile (a server may log a failed attempt's end only after the receiver
/// answered, so one nudge right after an attempt can come too early to make its retry due).
async fn next_attempt_nudging(world: &mut ConformanceWorld) -> Option<CallbackAttempt> {
    let mut listened = Duration::ZERO;
    while listened < CALLBACK_QUIET {
        nudge_clock(world).await;
        if let Some(attempt) = world.portal().await.next_attempt(NUDGE_EVERY).await {
            return Some(attempt);
        }
        listened += NUDGE_EVERY;
    }
    None
}

/// Lets a delivery run to its end as the receiver sees it: the receiver takes attempt after
/// attempt, nudging the server's clock on while it listens (where the target offers that), until
/// none comes within [`CALLBACK_QUIET`]. Every attempt is counted where it arrives, at the
/// portal's own receiver, whichever clock the server's backoff reads.
#[when("the callback deliveries run their course")]
async fn deliveries_run(world: &mut ConformanceWorld) {
    let portal_is_scripted = world.portal().await.is_scripted();
    ensure!(portal_is_scripted, "the scenario must give the portal a scripted callback receiver first");
    for _ in 0..MAX_DELIVERY_ROUNDS {
        match next_attempt_nudging(world).await {
            Some(attempt) => world.notes.attempts.push(attempt),
            None => return,
        }
    }
    fail!(
        "expected a delivery to end after 1 + callback_retries attempts, but the receiver got more than \
         {MAX_DELIVERY_ROUNDS}: {:?}",
        world.notes.attempts
    );
}

/// A bounded listen for an attempt that must not come yet: the contract's backoff starts at 200 ms,
/// on whichever clock, and the harness does not move the server's clock meanwhile.
#[then(
    regex = r"^the portal's receiver gets no further attempt within (\d+) ms while the server's clock is not moved$"
)]
async fn no_attempt_yet(world: &mut ConformanceWorld, ms: u64) {
    let early = world.portal().await.next_attempt(Duration::from_millis(ms)).await;
    if let Some(attempt) = early {
        world.notes.attempts.push(attempt.clone());
        fail!(
            "expected the retry to back off (200 ms first, doubling), but it came within {ms} ms of the \
             failed attempt, with the server's clock not moved: {attempt:?}"
        );
    }
}

#[then("the portal receives no other callback for the transaction")]
async fn no_other_callback(world: &mut ConformanceWorld) {
    let mut again = None;
    let mut listened = Duration::ZERO;
    while again.is_none() && listened < CALLBACK_QUIET {
        nudge_clock(world).await;
        again = world.portal().await.next_callback(NUDGE_EVERY).await;
        listened += NUDGE_EVERY;
    }
    ensure!(again.is_none(), "expected one callback for the transaction, but another came: {again:?}");
}

#[then("the portal's receiver is holding a callback for the transaction")]
async fn receiver_holds(world: &mut ConformanceWorld) {
    let attempt = next_attempt(world, CALLBACK_WAIT).await;
    check_attempt_is_for_transaction(world, &attempt);
    ensure_eq!(attempt.reply, CallbackReply::Hold, "expected the receiver to hold the attempt");
}

#[when(expr = "the portal's receiver lets the held callback go with {int}")]
async fn receiver_lets_go(world: &mut ConformanceWorld, status: u16) {
    let released = world.portal().await.release_held(status);
    ensure!(released, "the portal's callback receiver holds nothing");
}

#[then("the portal's receiver was never asked for its redirect location")]
async fn never_redirected(world: &mut ConformanceWorld) {
    while let Some(attempt) = world.portal().await.next_attempt(Duration::ZERO).await {
        world.notes.attempts.push(attempt);
    }
    let followed: Vec<&CallbackAttempt> =
        world.notes.attempts.iter().filter(|a| is_redirect_target(a)).collect();
    ensure!(
        followed.is_empty(),
        "expected the server not to follow the callback's redirect, but it did: {followed:?}"
    );
}
