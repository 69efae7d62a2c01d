//! Steps of the relying party: starting OTP transactions, the QR code it shows, reading
//! outcomes, asking whether a user can use mobile authentication. Its callback receiver's steps
//! are in [`callbacks`].

mod callbacks;

use cucumber::{given, then, when};
use protocol::wire::{AuthenticateUserResponse, TransactionStatus, TransactionStatusResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};

use super::Reply;
use super::server::{admin, assert_reply, set_config_key};
use crate::judgement::OrFail as _;
use crate::world::{ConformanceWorld, Outcome};
use peers::device::DeviceError;
use peers::portal::SimulatedPortal;
use peers::target::UserCredentials;
use transcript::{Auth, Payload};

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
            transcript::interpret::<AuthenticateUserResponse>(
                status,
                &text,
                &[200],
                "AuthenticateUserResponse",
            )
        })
        .map(|(_, response)| response);
    world.record(result);
}

/// RP-012: a request with several problems at once; see the relying-party feature for the names.
/// Every problem is one that all readings of the contract refuse at the same step, so the
/// earliest step's reply is the only legal one.
#[when(regex = r"^the portal sends authenticate/user with these problems: (.+)$")]
async fn send_with_problems(world: &mut ConformanceWorld, problems: String) {
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
    let mut secret = None;
    for problem in problems.split(',').map(str::trim) {
        match problem {
            "a wrong client secret" => secret = Some("not-the-secret"),
            "mobile authentication disabled" => {
                set_config_key(world, "mobile_auth_enabled", Value::Bool(false)).await;
            }
            // The size sits in a field the request has anyway: an unknown field may be ignored or
            // refused (withdrawn GEN-010), which would make a second problem of the body.
            "a body over 64 KiB" => set(&mut fields, "message", "m".repeat(70_000)),
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
            // Refused with 1003 or accepted (RP-011): either way the steps before it decide.
            "an invalid language code" => set(&mut fields, "language_code", "english".into()),
            other => fail!("no such authenticate/user problem: {other:?}"),
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let portal = world.portal().await;
    let (id, own_secret) = portal.credentials();
    let auth = Auth::Basic(id, secret.unwrap_or(own_secret));
    let result = portal
        .http()
        .call::<AuthenticateUserResponse>(
            Method::POST,
            paths::AUTHENTICATE_USER,
            auth,
            Payload::Form(&fields),
            &[200],
        )
        .await
        .map(|(_, response)| response);
    world.record(result);
}

/// Whether a success is authenticate/user's 200 body.
fn is_started(value: &Value) -> bool {
    value["transaction_id"].is_string() && value["otp"].is_string()
}

/// Whether `outcome` is `reply`: `started` or `<status> <code> <TYPE>`.
fn is_reply(outcome: &Outcome, reply: &str) -> bool {
    match Reply::parse(reply) {
        Reply::Success(name) if name == "started" => matches!(outcome, Ok(value) if is_started(value)),
        Reply::Success(other) => {
            panic!("the portal's request gets \"started\" or a refusal, not {other:?}")
        }
        refused @ Reply::Refused { .. } => {
            matches!(outcome, Err(DeviceError::Peer(peer)) if refused.admits(peer.api_error()))
        }
    }
}

/// `<reply>`, or `<reply> or <reply>` where the contract leaves the choice between them open.
#[then(expr = "the portal's request gets {string}")]
async fn portal_request_gets(world: &mut ConformanceWorld, reply: String) {
    let alternatives: Vec<&str> = reply.split(" or ").collect();
    if let [only] = alternatives.as_slice() {
        return assert_reply("the portal's request", world.last(), only, |value| match *only {
            "started" => ensure!(
                is_started(value),
                "expected authenticate/user to answer 200 {{\"transaction_id\", \"auth_method\", \"time_to_live\", \"otp\"}}, got {value}"
            ),
            _ => ensure!(value.is_object() || value.is_array(), "expected {reply}, got {value}"),
        });
    }
    if !alternatives.iter().any(|alternative| is_reply(world.last(), alternative)) {
        match world.last() {
            Ok(value) => fail!("expected the portal's request to get {reply}, but it succeeded with {value}"),
            Err(e) => fail!("expected the portal's request to get {reply}, but {e}"),
        }
    }
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
    let body = forge::body::form(&[("type", QR_TYPE), ("callback_uri", &callback), ("message", "Log in?")]);
    let authorization = forge::body::basic_authorization(&format!("{user_id}:{password}"));
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

/// The `(type, method)` of each entry GET enabled listed.
fn told_entries(world: &ConformanceWorld) -> Vec<(String, String)> {
    let value = world.last_ok("GET enabled to answer 200");
    let entries =
        value.as_array().unwrap_or_else(|| fail!("expected GET enabled to answer a JSON array, got {value}"));
    let text = |entry: &Value, key: &str| entry[key].as_str().unwrap_or("?").to_string();
    entries.iter().map(|entry| (text(entry, "type"), text(entry, "method"))).collect()
}

/// RP-018: a non-empty list of `{"type", "method": "OTP"}` entries, each naming one of the
/// configured types; which of them a server lists, and how many, is its choice.
#[then(expr = "the portal is told some of the OTP types {string} and {string}")]
async fn told_some(world: &mut ConformanceWorld, first: String, second: String) {
    let entries = told_entries(world);
    ensure!(
        !entries.is_empty()
            && entries.iter().all(|(name, method)| (*name == first || *name == second) && method == "OTP"),
        "expected GET enabled to list at least one {{\"type\", \"method\": \"OTP\"}}, each naming one of the \
         configured OTP types {first:?} and {second:?}, got {entries:?}"
    );
}

#[then("the portal is told no OTP types")]
async fn told_none(world: &mut ConformanceWorld) {
    let entries = told_entries(world);
    ensure!(entries.is_empty(), "expected GET enabled to answer [], got {entries:?}");
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
    forge::b64::decode(otp)
        .unwrap_or_else(|e| fail!("expected the OTP to be standard base64, got {otp:?}: {e}"))
}

#[then("the portal's OTP is 68 characters of canonical standard padded base64 of 49 bytes")]
async fn otp_shape(world: &mut ConformanceWorld) {
    let otp = world.started_otp().response.otp.clone();
    let bytes = otp_bytes(&otp);
    ensure_eq!(
        (otp.chars().count(), bytes.len(), forge::b64::is_canonical(&otp)),
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
        for text in
            [otp.clone(), forge::b64::encode(&secret), forge::b64::encode_url_safe_no_pad(&secret), hex]
        {
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
