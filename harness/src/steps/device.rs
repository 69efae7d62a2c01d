//! Steps of a device: logging its user in, enrolling, reading and deleting its enrollment,
//! scanning QR codes, handling OTPs and answering them (also in the ways a broken or malicious
//! device would).
//!
//! When the run drives devices (`mobauth run --device-driver`), the device the driver plays (see
//! [`ConformanceWorld::name_device`]) takes the high-level steps through the driver protocol: log
//! in (`authenticate`), enroll, scan a QR code and handle the OTP (`handle_otp` with the image),
//! accept or deny, disenroll. The driver's error reply is the step's outcome; the `Then` steps
//! compare its code and type, and take the HTTP status, which the driver protocol does not carry,
//! from the server's event log of the exchanges the driver made ([`assert_driver_refused`]).
//! Steps that need what an SDK does not show — its keys, certificate, access token, the
//! challenge, requests of the scenario's making in its name — make the scenario not applicable
//! for the driver's device, saying what they needed.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use protocol::ca::TrustAnchor;
use protocol::keys::{KeyPair, signing_string};
use protocol::wire::{
    Answer, EnrollmentInfo, EnrollmentResponse, EventsResponse, OtpRequestResponse, ServerEvent, paths,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::server::{admin, assert_reply, move_to_before_expiry, set_config_key};
use super::{Expected, assert_outcome, assert_refused};
use crate::device::{DeviceError, DriverRefusal};
use crate::driver::device::{DrivenDevice, DrivenError, OtpInput};
use crate::http::{Auth, Payload};
use crate::portal::{CallbackAttempt, SimulatedPortal, StartedOtp};
use crate::report::DeviceKind;
use crate::target::OrFail as _;
use crate::world::{ConformanceWorld, DrivenCall, Outcome};

/// What the enrollment, OTP, relying-party and callback steps keep between steps.
#[derive(Debug, Default)]
pub struct Notes {
    /// Every request each device fetched, oldest first.
    pub fetches: HashMap<String, Vec<OtpRequestResponse>>,
    /// The device that fetched a request last.
    pub last_fetcher: Option<String>,
    /// Every successful enrollment answer of the scenario, in order, with the device's name.
    pub enrollments: Vec<(String, EnrollmentResponse)>,
    /// The server's clock just before and just after each device's latest successful enrollment.
    pub enrolled_between: HashMap<String, Option<(OffsetDateTime, OffsetDateTime)>>,
    /// The device that disenrolled a device by enrolling under `override_allowed`.
    pub replaced_by: HashMap<String, String>,
    /// Every OTP the portal started, oldest first.
    pub started: Vec<StartedOtp>,
    /// The callback_uri of the OTP the portal started last, as given.
    pub callback_uri: Option<String>,
    /// The server's clock just before and just after the portal started its last OTP.
    pub started_between: Option<(OffsetDateTime, OffsetDateTime)>,
    /// Relying parties besides the portal, by client id.
    pub portals: HashMap<String, SimulatedPortal>,
    /// The callback delivery attempts a scripted receiver saw, in order.
    pub attempts: Vec<CallbackAttempt>,
    /// The winner of concurrent answers: its device and answer.
    pub winner: Option<(String, Answer)>,
    /// The outcomes of concurrent answers, in the order they were listed.
    pub concurrent: Vec<(String, Answer, Outcome)>,
    /// The server's clock when the scenario made it stand still.
    pub clock_at: Option<OffsetDateTime>,
    /// What the camera of the driver's device saw last.
    pub camera: HashMap<String, CameraImage>,
    /// The error reply to the latest `handle_otp` of the driver's device, while it stands: a later
    /// decision step fails with it rather than with the 8053 that a decision with nothing showing
    /// gets, which would hide the first error.
    pub handle_refused: Option<(String, String)>,
}

/// The device id the OpenSSL-made CSRs of `fixtures/openssl/` are made for (their CN).
const OPENSSL_DEVICE_ID: &str = "3f2b8c1e-7a4d-4e9b-9c6f-2d8e1a5b7c90";
const OPENSSL_KEY: &str = include_str!("../../../fixtures/openssl/key.pem");
const OPENSSL_CSRS: &[(&str, &str)] = &[
    ("csr.pem", include_str!("../../../fixtures/openssl/csr.pem")),
    ("csr-p384.pem", include_str!("../../../fixtures/openssl/csr-p384.pem")),
    ("csr-rsa2048.pem", include_str!("../../../fixtures/openssl/csr-rsa2048.pem")),
];

fn openssl_csr(name: &str) -> String {
    match OPENSSL_CSRS.iter().find(|(file, _)| *file == name) {
        Some((_, pem)) => (*pem).to_string(),
        None => fail!("no OpenSSL-made CSR {name:?} in fixtures/openssl/"),
    }
}

// ------------------------------------------------------------------ the driver's device

/// The server's newest event sequence number, to read the exchanges that follow it; `None` when
/// the target keeps no event log (no test-control API).
async fn server_mark(world: &ConformanceWorld) -> Option<u64> {
    server_events(world, u64::MAX).await.map(|events| events.last_seq)
}

/// The server's log after `since`, or `None` without one.
async fn server_events(world: &ConformanceWorld, since: u64) -> Option<EventsResponse> {
    let admin = world.target().admin().ok()?;
    let (status, body) = admin.send(Method::GET, &format!("/events?since={since}"), None).await.ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}

/// The requests the server logged after `mark` (the driver's exchanges: steps run one at a time).
async fn server_calls_since(world: &ConformanceWorld, mark: Option<u64>) -> Option<Vec<ServerEvent>> {
    let events = server_events(world, mark?).await?;
    Some(events.events.into_iter().filter(|e| e.kind == "request").collect())
}

/// Runs `op` on the driver's device `name` (starting the driver on first use) and returns its
/// result with the server's log of the exchanges the driver made meanwhile.
async fn driven<T>(
    world: &mut ConformanceWorld,
    name: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> (Result<T, DrivenError>, DrivenCall) {
    let mark = server_mark(world).await;
    let result = match world.driven_device().await {
        Ok(device) => op(device).await,
        Err(DrivenError::Unimplemented(op)) => crate::judgement::not_implemented(op),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    let server_calls = server_calls_since(world, mark).await;
    (result, DrivenCall { device: name.to_string(), server_calls })
}

/// A driver operation's result as a step takes it: the SDK's refusal is an outcome (with the
/// server's log), `unimplemented` ends the scenario as not implemented, and a driver that crashed,
/// hung or wrote garbage fails the step with what was expected and what came.
fn settle<T>(
    name: &str,
    what: &str,
    (result, call): (Result<T, DrivenError>, DrivenCall),
) -> (Result<T, DeviceError>, DrivenCall) {
    let result = match result {
        Ok(value) => Ok(value),
        Err(DrivenError::Refused(refusal)) => {
            Err(DeviceError::Driver(DriverRefusal { server_calls: call.server_calls.clone(), ..refusal }))
        }
        Err(DrivenError::Unimplemented(op)) => crate::judgement::not_implemented(op),
        Err(broken) => fail!("expected the device driver playing {name:?} to {what}, but {broken}"),
    };
    (result, call)
}

/// Runs `op` on the driver's device and settles it ([`settle`]).
async fn drive<T>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> (Result<T, DeviceError>, DrivenCall) {
    let outcome = driven(world, name, op).await;
    settle(name, what, outcome)
}

/// Runs `op` on the driver's device and records its outcome for the `Then` steps.
async fn drive_and_record<T: serde::Serialize>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) {
    let (result, call) = drive(world, name, what, op).await;
    let outcome = result.map(|value| serde_json::to_value(value).unwrap_or(Value::Null));
    world.record_driven(outcome, call);
}

/// Runs `op` on the driver's device, which must succeed for the step to go on.
async fn drive_ok<T>(
    world: &mut ConformanceWorld,
    name: &str,
    what: &str,
    op: impl AsyncFnOnce(&mut DrivenDevice) -> Result<T, DrivenError>,
) -> T {
    match drive(world, name, what, op).await.0 {
        Ok(value) => value,
        Err(e) => fail!("expected the device driver playing {name:?} to {what}, but {e}"),
    }
}

/// The driver's device's id, from `state`.
async fn driven_device_id(world: &mut ConformanceWorld, name: &str) -> Uuid {
    drive_ok(world, name, "answer state", async |d| d.state().await).await.device_id
}

/// The id of the device called `name`: a simulated device's own, or the driver's from `state`.
async fn device_id(world: &mut ConformanceWorld, name: &str) -> Uuid {
    if world.is_driven(name) { driven_device_id(world, name).await } else { world.device(name).device_id() }
}

/// The scenario's name of the user whose username is `username`.
fn user_name_of(world: &ConformanceWorld, username: &str) -> String {
    match world.users.iter().find(|(_, c)| c.username == username) {
        Some((name, _)) => name.clone(),
        None => fail!("the user {username:?} is none of the scenario's"),
    }
}

/// The username logged in on the device called `name` (for the driver's device, the one the
/// harness logged in through it last).
fn device_username(world: &mut ConformanceWorld, name: &str) -> Option<String> {
    if world.is_driven(name) {
        world.started_driven_device().and_then(DrivenDevice::username).map(str::to_string)
    } else {
        world.device(name).user().map(str::to_string)
    }
}

/// The server's view of the enrollment of the device called `name`: `GET enrollment` with the
/// device's own token, or for the driver's device (whose token an SDK keeps to itself) with a
/// token of the user logged in on it, from a session of that user's own.
async fn server_enrollment(world: &mut ConformanceWorld, name: &str) -> Result<EnrollmentInfo, DeviceError> {
    if !world.is_driven(name) {
        return world.device(name).fetch_enrollment().await;
    }
    let Some(username) = device_username(world, name) else {
        return Err(DeviceError::NotAuthenticated);
    };
    let user = user_name_of(world, &username);
    let token = session_token(world, &user).await;
    let path = format!("{}/{}", paths::ENROLLMENTS, driven_device_id(world, name).await);
    let (_, info) =
        world.target().http().call(Method::GET, &path, Auth::Bearer(&token), Payload::Empty, &[200]).await?;
    Ok(info)
}

/// The transaction an OTP names (its bytes 1 to 16), when it is one of the section 4 format.
fn otp_transaction(otp: &str) -> Option<String> {
    crate::device::check_otp_locally(otp).ok().map(|otp| otp.transaction_id.to_string())
}

/// The driver's device handles an OTP: `handle_otp`, with the image the camera saw or the OTP as
/// text. The request it shows must be the transaction the OTP names. Recorded as the outcome:
/// the request shown (`{"transaction_id", "message"}`) or the refusal.
async fn handle_driven(world: &mut ConformanceWorld, name: &str, input: OtpInput, otp: &str) {
    let showing = match world.driven_device().await {
        Ok(device) => device.is_showing(),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    if showing {
        crate::judgement::not_applicable(format!(
            "this step has {name:?}, the device driver's device (the SDK under test), handle an OTP again \
             while it shows a request: a simulated device fetches a new challenge then, but through the \
             driver protocol an SDK refuses a second handle_otp until its user decides (8056)"
        ));
    }
    let (result, call) = drive(world, name, "handle the OTP", async |d| d.handle_otp(input).await).await;
    if let (Ok(shown), Some(expected)) = (&result, otp_transaction(otp)) {
        ensure_eq!(
            shown.transaction_id,
            expected,
            "expected the device driver playing {name:?} to show the request of the transaction its OTP \
             names (open_auth_otp's transaction_id), got {shown:?}"
        );
    }
    match &result {
        Ok(_) => {
            world.notes.last_fetcher = Some(name.to_string());
            world.notes.handle_refused = None;
        }
        Err(refusal) => world.notes.handle_refused = Some((name.to_string(), refusal.to_string())),
    }
    let outcome =
        result.map(|shown| json!({ "transaction_id": shown.transaction_id, "message": shown.message }));
    world.record_driven(outcome, call);
}

/// The driver's device decides on the request it shows: `accept` or `deny`, then `handle_otp`'s
/// reply. Recorded as the outcome: `{"status"}` or the refusal.
async fn decide_driven(world: &mut ConformanceWorld, name: &str, answer: Answer) {
    if let Some((device, refusal)) = world.notes.handle_refused.take()
        && device == name
    {
        fail!(
            "expected {name:?} to show the request to {} it, but the OTP it was given was not shown: {refusal}",
            answer.as_str()
        );
    }
    drive_and_record(world, name, &format!("take the decision {}", answer.as_str()), async |d| {
        d.decide(answer).await.map(|status| json!({ "status": status }))
    })
    .await;
}

/// For the driver's device, an answer the scenario makes is the SDK's own only when the device
/// shows the request: then it is the user's decision; any other answer is not applicable.
async fn decide_if_showing(world: &mut ConformanceWorld, name: &str, answer: Answer, what: &str) {
    let showing = match world.driven_device().await {
        Ok(device) => device.is_showing(),
        Err(e) => fail!("expected the device driver playing {name:?} to start (hello, configure), but {e}"),
    };
    if !showing {
        crate::judgement::not_applicable(format!(
            "this step has {name:?}, the device driver's device (the SDK under test), answer {what} with \
             no request showing, and through the driver protocol an SDK answers only the request it shows"
        ));
    }
    decide_driven(world, name, answer).await;
}

/// Checks a driver's refusal against a refusal with `status`, `code` and `error_type`: the code
/// and type are the driver's reply; the status, which the driver protocol does not carry, is the
/// server's for the exchange that answered the code, as its event log shows. A refusal the SDK
/// gave without calling the server has no status to check. When the SDK refused with another code
/// without calling the server at all (it may, once the server told it the enrollment is gone:
/// DRV-008), the server's answer cannot be checked through it: not applicable.
pub(crate) fn assert_driver_refused(
    expected: &str,
    refusal: &DriverRefusal,
    status: u16,
    code: u32,
    error_type: &str,
) {
    if refusal.code != code || refusal.error_type != error_type {
        if refusal.server_calls.as_ref().is_some_and(Vec::is_empty) {
            crate::judgement::not_applicable(format!(
                "expected {expected}, but the SDK under test refused by itself, without calling the server: \
                 {refusal}; the server's answer to that call cannot be checked through the driver protocol"
            ));
        }
        fail!("expected {expected}, but {refusal}");
    }
    let Some(calls) = &refusal.server_calls else { return };
    if let Some(call) = calls.iter().rev().find(|e| e.error_code == Some(code))
        && call.status != status
    {
        fail!(
            "expected {expected}, but the server answered {} {} with status {} (the device driver passed \
             on {code} {error_type}): {refusal}",
            call.method,
            call.path,
            call.status
        );
    }
}

// ------------------------------------------------------------------ users and enrollment

async fn log_in(world: &mut ConformanceWorld, user: &str, device: &str) {
    let credentials = world.user(user).await;
    if world.name_device(device) == DeviceKind::Driver {
        let (username, password) = (credentials.username, credentials.password);
        let what = format!("log {user:?} in");
        drive_ok(world, device, &what, async |d| d.authenticate(&username, &password).await).await;
        return;
    }
    world
        .device_or_install(device)
        .log_in(&credentials.username, &credentials.password)
        .await
        .unwrap_or_else(|e| fail!("expected {user:?} to log in on {device:?}, but {e}"));
}

/// The driver's device enrolls: `enroll`, recorded as `{"re_enrolled"}` or the refusal.
async fn enroll_driven(world: &mut ConformanceWorld, name: &str) {
    let before = world.target().now().await.ok();
    let (result, call) = drive(world, name, "enroll", async |d| d.enroll().await).await;
    let after = world.target().now().await.ok();
    if result.is_ok() {
        world.notes.enrolled_between.insert(name.to_string(), before.zip(after));
    }
    world.record_driven(result.map(|re_enrolled| json!({ "re_enrolled": re_enrolled })), call);
}

/// Enrolls `name` with a new key of its own, or with `with` (key and CSR), keeping what later
/// steps check.
async fn enroll_device(world: &mut ConformanceWorld, name: &str, with: Option<(KeyPair, String)>) {
    if with.is_none() && world.is_driven(name) {
        return enroll_driven(world, name).await;
    }
    let previous = world.device_or_install(name).enrollment().cloned();
    if previous.is_some()
        && let Ok(info) = world.device(name).fetch_enrollment().await
    {
        world.enrolled_at_before.insert(name.to_string(), info.enrolled_at);
    }
    let before = world.target().now().await.ok();
    let result = match with {
        None => world.device(name).enroll().await,
        Some((key, csr)) => world.device(name).enroll_with(key, csr).await,
    };
    let after = world.target().now().await.ok();
    if let Ok(response) = &result {
        if let Some(previous) = previous {
            world.previous_enrollments.insert(name.to_string(), previous);
        }
        world.notes.enrollments.push((name.to_string(), response.clone()));
        world.notes.enrolled_between.insert(name.to_string(), before.zip(after));
    }
    world.record(result);
}

async fn enroll(world: &mut ConformanceWorld, name: &str) {
    enroll_device(world, name, None).await;
}

#[given(expr = "a user {string}")]
async fn a_user(world: &mut ConformanceWorld, user: String) {
    world.user(&user).await;
}

#[given(expr = "{string} is logged in on the device {string}")]
#[when(expr = "{string} is logged in on the device {string}")]
async fn logged_in(world: &mut ConformanceWorld, user: String, device: String) {
    log_in(world, &user, &device).await;
}

#[given(expr = "{string} is logged in on the device {string} whose id is the one of the OpenSSL-made CSRs")]
async fn logged_in_with_fixture_id(world: &mut ConformanceWorld, user: String, device: String) {
    let id = Uuid::parse_str(OPENSSL_DEVICE_ID).expect("the fixtures' device id is a UUID");
    world.name_device(&device);
    world
        .simulated(&device, "a device id of the scenario's choosing (the OpenSSL-made CSRs' CN)")
        .assume_device_id(id);
    log_in(world, &user, &device).await;
}

#[given(expr = "{string} has enrolled the device {string}")]
async fn has_enrolled(world: &mut ConformanceWorld, user: String, device: String) {
    log_in(world, &user, &device).await;
    enroll(world, &device).await;
    world.last_ok(&format!("{user:?} to enroll {device:?}"));
}

#[given(expr = "the device {string} with no user logged in")]
async fn no_user(world: &mut ConformanceWorld, device: String) {
    world.name_device(&device);
}

#[when(expr = "{string} enrolls")]
async fn enrolls(world: &mut ConformanceWorld, device: String) {
    enroll(world, &device).await;
}

#[when(expr = "{string} enrolls again")]
async fn enrolls_again(world: &mut ConformanceWorld, device: String) {
    enroll(world, &device).await;
}

#[when(expr = "{string} sends an enrollment request without an access token")]
async fn enroll_without_token(world: &mut ConformanceWorld, device: String) {
    let needs = "an enrollment request of the scenario's making in its name (without an access token)";
    let device_id = world.simulated(&device, needs).device_id();
    let key = world.foreign_key();
    let csr = protocol::csr::create_csr(&key, &device_id.to_string()).expect("a CSR for a fresh key builds");
    let body = json!({ "device_id": device_id, "csr": csr });
    send_enrollment(world, None, &body).await;
}

/// POSTs an enrollment body as given, with `token` as the bearer token.
async fn send_enrollment(world: &mut ConformanceWorld, token: Option<&str>, body: &Value) {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    let result = world
        .target()
        .http()
        .call::<Value>(Method::POST, paths::ENROLLMENTS, auth, Payload::Json(body), &[200, 201])
        .await
        .map(|(_, value)| value);
    world.record(result);
}

fn token(world: &mut ConformanceWorld, device: &str) -> String {
    match world.simulated(device, "its access token, for a request of the scenario's making").access_token() {
        Some(token) => token.to_string(),
        None => fail!("{device:?} has no user logged in"),
    }
}

/// A CSR for `key` whose subject holds exactly these attributes.
fn csr_with_subject(key: &KeyPair, subject: &[(rcgen::DnType, &str)]) -> String {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.serialize_request(key).and_then(|csr| csr.pem()).expect("rcgen builds a CSR for a P-256 key")
}

fn csr_for(key: &KeyPair, common_name: &str) -> String {
    protocol::csr::create_csr(key, common_name).expect("a CSR for a fresh key builds")
}

fn pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    STANDARD.decode(body).expect("create_csr makes valid PEM")
}

/// Flips the last byte of a PEM's DER, which is the last byte of the CSR's signature value, so
/// the structure still parses but the signature no longer verifies.
fn corrupt_pem_signature(csr: &str) -> String {
    let mut der = pem_der(csr);
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    pem("CERTIFICATE REQUEST", &der)
}

#[when(regex = r#"^"([^"]+)" enrolls with (.+)$"#)]
async fn enrolls_with(world: &mut ConformanceWorld, device: String, what: String) {
    let needs = format!("an enrollment with {what}: a key and CSR of the scenario's making");
    let own_id = world.simulated(&device, &needs).device_id().to_string();
    let key = world.foreign_key();
    let quoted = what.split('"').nth(1).unwrap_or_default().to_string();
    let (key, csr) = match what.as_str() {
        _ if what.starts_with("the text ") || what.starts_with("the CSR \"") => (key, quoted),
        "its CSR in a PEM block labelled CERTIFICATE" => {
            let csr = csr_for(&key, &own_id);
            (key, pem("CERTIFICATE", &pem_der(&csr)))
        }
        "a PEM certificate request whose content is not base64" => (
            key,
            "-----BEGIN CERTIFICATE REQUEST-----\n%%%% not base64 %%%%\n-----END CERTIFICATE REQUEST-----\n"
                .into(),
        ),
        "a PEM certificate request holding half of its CSR" => {
            let der = pem_der(&csr_for(&key, &own_id));
            (key, pem("CERTIFICATE REQUEST", &der[..der.len() / 2]))
        }
        _ if what.starts_with("the OpenSSL-made CSR ") => (key, openssl_csr(&quoted)),
        _ if what.starts_with("the OpenSSL-made key and CSR ") => {
            let key = KeyPair::from_pkcs8_pem(OPENSSL_KEY).expect("fixtures/openssl/key.pem is a P-256 key");
            (key, openssl_csr(&quoted))
        }
        "a CSR whose self-signature does not verify" => {
            let csr = csr_for(&key, &own_id);
            (key, corrupt_pem_signature(&csr))
        }
        "a CSR whose common name is another device's id" => {
            let other = protocol::rng::uuid(world.rng()).to_string();
            (key.clone(), csr_for(&key, &other))
        }
        "a CSR whose common name is its device id in upper case" => {
            (key.clone(), csr_for(&key, &own_id.to_uppercase()))
        }
        "a CSR with its device id as organisation and no common name" => {
            (key.clone(), csr_with_subject(&key, &[(rcgen::DnType::OrganizationName, &own_id)]))
        }
        "a CSR with its device id as common name twice" => {
            // A second attribute with the CN's OID (2.5.4.3): rcgen keeps one value per type.
            let second_cn = rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]);
            let subject = [(rcgen::DnType::CommonName, own_id.as_str()), (second_cn, own_id.as_str())];
            (key.clone(), csr_with_subject(&key, &subject))
        }
        other => fail!("no such CSR in this suite: {other:?}"),
    };
    enroll_device(world, &device, Some((key, csr))).await;
}

#[when(regex = r#"^"([^"]+)" sends an enrollment body that is (.+)$"#)]
async fn sends_enrollment_body(world: &mut ConformanceWorld, device: String, body: String) {
    let needs = "an enrollment body of the scenario's making, sent with its access token";
    let id = world.simulated(&device, needs).device_id().to_string();
    let key = world.foreign_key();
    let csr = csr_for(&key, &id);
    // The CSR's CN always equals the body's device_id, so only the device_id's form is wrong.
    let with_id = |id: String| json!({ "device_id": id, "csr": csr_for(&key, &id) });
    let body = match body.as_str() {
        "a JSON array of its device id and CSR" => json!([id, csr]),
        "a JSON string" => json!(format!("{{\"device_id\": \"{id}\"}}")),
        "an object without device_id" => json!({ "csr": csr }),
        "an object without csr" => json!({ "device_id": id }),
        "an object whose device_id is a number" => json!({ "device_id": 12345, "csr": csr }),
        "an object whose csr is a number" => json!({ "device_id": id, "csr": 12345 }),
        "an object whose device_id and CSR common name are in upper case" => with_id(id.to_uppercase()),
        "an object whose device_id and CSR common name have no hyphens" => with_id(id.replace('-', "")),
        "an object whose device_id and CSR common name are not a UUID" => with_id("not-a-uuid".into()),
        other => fail!("no such enrollment body in this suite: {other:?}"),
    };
    let token = token(world, &device);
    send_enrollment(world, Some(&token), &body).await;
}

#[when(regex = r#"^"([^"]+)" enrolls again with (.+)$"#)]
async fn enrolls_again_with_problems(world: &mut ConformanceWorld, device: String, problems: String) {
    // Problems of the server's configuration alone leave the request the device's own: the
    // driver's device sends it with `enroll`.
    let config_only = ["nothing else", "enrollment disabled", "mobile authentication disabled"];
    if world.is_driven(&device) && problems.split(',').map(str::trim).all(|p| config_only.contains(&p)) {
        for problem in problems.split(',').map(str::trim) {
            match problem {
                "enrollment disabled" => {
                    set_config_key(world, "enrollment_enabled", Value::Bool(false)).await
                }
                "mobile authentication disabled" => {
                    set_config_key(world, "mobile_auth_enabled", Value::Bool(false)).await;
                }
                _ => {}
            }
        }
        return enroll_driven(world, &device).await;
    }
    let needs = format!("an enrollment request of the scenario's making ({problems})");
    let id = world.simulated(&device, &needs).device_id().to_string();
    let key = world.foreign_key();
    let mut body = json!({ "device_id": id, "csr": csr_for(&key, &id) });
    let mut token = Some(token(world, &device));
    for problem in problems.split(',').map(str::trim) {
        match problem {
            "nothing else" => {}
            "no access token" => token = None,
            "enrollment disabled" => set_config_key(world, "enrollment_enabled", Value::Bool(false)).await,
            "mobile authentication disabled" => {
                set_config_key(world, "mobile_auth_enabled", Value::Bool(false)).await;
            }
            "a body that is not an object" => body = json!([id, body["csr"].clone()]),
            "a device_id that is not a UUID" => body["device_id"] = json!("not-a-uuid"),
            "a CSR that is not PEM" => body["csr"] = json!("this is not a certificate request"),
            "a CSR for another device id" => {
                let other = protocol::rng::uuid(world.rng()).to_string();
                body["csr"] = json!(csr_for(&key, &other));
            }
            other => fail!("no such enrollment problem in this suite: {other:?}"),
        }
    }
    send_enrollment(world, token.as_deref(), &body).await;
}

fn last_enrollment_status(world: &ConformanceWorld) -> Option<u16> {
    world
        .target()
        .transcript()
        .exchanges()
        .iter()
        .rev()
        .find(|e| e.method == "POST" && e.url.ends_with(paths::ENROLLMENTS))
        .and_then(|e| e.status)
}

#[then(expr = "the enrollment is created for {string}")]
async fn enrollment_created(world: &mut ConformanceWorld, user: String) {
    let username = world.username(&user).to_string();
    let value = world.last_ok("the enrollment to be created").clone();
    if let Some(call) = world.last_driven.clone() {
        return driven_enrollment_created(world, &call, &user, &value).await;
    }
    let status = last_enrollment_status(world);
    let got = (status, value["user_id"].as_str(), value["re_enrolled"].as_bool());
    ensure_eq!(
        got,
        (Some(201), Some(username.as_str()), Some(false)),
        "expected 201 with user_id {username:?} and re_enrolled false, got status {status:?} and {value}"
    );
}

/// The driver's enrollment: `re_enrolled` false, the server's 201 for it in its log, and the
/// server's enrollment of the device for `user`.
async fn driven_enrollment_created(
    world: &mut ConformanceWorld,
    call: &DrivenCall,
    user: &str,
    value: &Value,
) {
    ensure_eq!(
        value["re_enrolled"].as_bool(),
        Some(false),
        "expected the device driver to answer enroll with re_enrolled false (a new enrollment), got {value}"
    );
    if let Some(calls) = &call.server_calls {
        let statuses: Vec<u16> = calls
            .iter()
            .filter(|e| e.method == "POST" && e.path == paths::ENROLLMENTS)
            .map(|e| e.status)
            .collect();
        ensure_eq!(
            statuses.last(),
            Some(&201),
            "expected the server to answer the SDK's enrollment with 201, its log shows {calls:?}"
        );
    }
    let username = world.username(user).to_string();
    let info = server_enrollment(world, &call.device)
        .await
        .unwrap_or_else(|e| fail!("expected GET enrollment of {:?} to answer 200, but {e}", call.device));
    ensure_eq!(
        info.user_id,
        username,
        "expected the server to report the device driver's device as enrolled for {user:?}, got {info:?}"
    );
}

#[then(expr = "the enrollment is created anew for {string}")]
async fn enrollment_created_anew(world: &mut ConformanceWorld, user: String) {
    enrollment_created(world, user).await;
    if let Some(call) = world.last_driven.clone() {
        crate::judgement::not_applicable(format!(
            "this step compares the enrollment_id of the server's enrollment answers to {:?}, the device \
             driver's device (the SDK under test), and an SDK does not pass the server's answer on through \
             the driver protocol",
            call.device
        ));
    }
    let value = world.last_ok("the enrollment to be created").clone();
    let Some((device, latest)) = world.notes.enrollments.last().cloned() else {
        fail!("expected a new enrollment, got {value}");
    };
    let earlier: Vec<Uuid> = world.notes.enrollments[..world.notes.enrollments.len() - 1]
        .iter()
        .filter(|(name, _)| *name == device)
        .map(|(_, e)| e.enrollment_id)
        .collect();
    ensure!(
        !earlier.is_empty() && !earlier.contains(&latest.enrollment_id),
        "expected {device:?} to get a new enrollment_id, not one of its earlier ones {earlier:?}: {value}"
    );
}

#[then(expr = "the enrollment answer names {string} and an enrollment id not seen before")]
async fn enrollment_answer_names(world: &mut ConformanceWorld, device: String) {
    let value = world.last_ok("the enrollment to succeed").clone();
    let device_id =
        world.simulated(&device, "the server's enrollment answer (its enrollment_id)").device_id();
    let response: EnrollmentResponse = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| fail!("expected an enrollment answer, got {value}: {e}"));
    let same_id =
        world.notes.enrollments.iter().filter(|(_, e)| e.enrollment_id == response.enrollment_id).count();
    ensure_eq!(
        (response.device_id, same_id),
        (device_id, 1),
        "expected the answer to name the request's device_id {device_id} and an enrollment_id no other \
         enrollment of this scenario has, got {value}"
    );
}

#[then(expr = "{string} is re-enrolled with a new enrollment and a certificate for its new key")]
async fn re_enrolled(world: &mut ConformanceWorld, device: String) {
    let value = world.last_ok("the re-enrollment to succeed").clone();
    if world.is_driven(&device) {
        ensure_eq!(
            value["re_enrolled"].as_bool(),
            Some(true),
            "expected the device driver to answer enroll with re_enrolled true, got {value}"
        );
        world.simulated(&device, "the server's enrollment answer (its enrollment_id) and the certificate");
    }
    let status = last_enrollment_status(world);
    let previous = world
        .previous_enrollments
        .get(&device)
        .unwrap_or_else(|| fail!("{device:?} had no enrollment before"))
        .clone();
    let got = (status, value["re_enrolled"].as_bool());
    ensure_eq!(
        got,
        (Some(200), Some(true)),
        "expected 200 with re_enrolled true, got {status:?} and {value}"
    );
    let new_id = value["enrollment_id"].as_str().unwrap_or_default();
    ensure_ne!(
        new_id,
        previous.response.enrollment_id.to_string(),
        "expected a new enrollment_id on re-enrollment, got the earlier one in {value}"
    );
    certificate_for_own_key(world, &device).await;
    let before = world.enrolled_at_before.get(&device).copied();
    let info = world
        .device(&device)
        .fetch_enrollment()
        .await
        .unwrap_or_else(|e| fail!("expected GET enrollment of {device:?} to answer 200, but {e}"));
    if let Some(before) = before {
        ensure!(
            info.enrolled_at >= before,
            "expected enrolled_at after re-enrollment to be later or equal to {before}, got {}",
            info.enrolled_at
        );
    }
}

async fn certificate_for_own_key(world: &mut ConformanceWorld, device: &str) {
    world.simulated(device, "the certificate the device holds and its key");
    let now = world.server_now().await;
    let device = world.device(device);
    let device_id = device.device_id();
    let enrollment = device.enrollment().unwrap_or_else(|| fail!("{device_id} holds no enrollment"));
    let anchor = TrustAnchor::from_pem(&enrollment.ca_certificate)
        .unwrap_or_else(|e| fail!("expected ca_certificate to be a PEM CA certificate, but {e}"));
    let cert = anchor.verify(&enrollment.certificate, now).unwrap_or_else(|e| {
        fail!("expected the certificate to be issued by ca_certificate and valid at {now}, but {e}")
    });
    ensure!(
        cert.public_key == enrollment.key.public_key(),
        "expected the certificate to certify the key of the device's CSR, but it certifies another key"
    );
    ensure_eq!(cert.device_id, device_id, "expected the certificate's subject CN to be the device_id");
    let parsed = parsed_certificate(&enrollment.certificate);
    let attributes: Vec<String> =
        parsed.tbs_certificate().subject().iter().map(|attribute| attribute.oid.to_string()).collect();
    ensure_eq!(
        attributes,
        ["2.5.4.3"],
        "expected the certificate's subject to be a single CN, got the attribute types {attributes:?}"
    );
}

#[then(expr = "{string} holds a certificate for its own key issued by the server's CA")]
async fn holds_certificate(world: &mut ConformanceWorld, device: String) {
    certificate_for_own_key(world, &device).await;
}

#[then(expr = "the server reports {string} as enrolled for {string}")]
async fn reports_enrolled(world: &mut ConformanceWorld, device: String, user: String) {
    let username = world.username(&user).to_string();
    if world.is_driven(&device) {
        // The certificate an SDK holds is not visible: the device and its user are compared.
        let device_id = driven_device_id(world, &device).await;
        let info = server_enrollment(world, &device).await.unwrap_or_else(|e| {
            fail!("expected GET enrollment of {device:?} ({device_id}) to answer 200, but {e}")
        });
        ensure_eq!(
            (info.device_id, info.user_id.as_str()),
            (device_id, username.as_str()),
            "expected GET enrollment to report the device driver's device and its user, got {info:?}"
        );
        return;
    }
    let device = world.device(&device);
    let info = device.fetch_enrollment().await.unwrap_or_else(|e| {
        fail!("expected GET enrollment of {} to answer 200, but {e}", device.device_id())
    });
    let certificate = device.enrollment().map(|e| e.certificate.clone());
    ensure_eq!(
        (info.device_id, info.user_id.as_str(), Some(info.certificate.clone())),
        (device.device_id(), username.as_str(), certificate),
        "expected GET enrollment to report the device, its user and the certificate issued, got {info:?}"
    );
}

#[then(
    expr = "the server reports {string} as enrolled for {string} at the time of its latest enrollment, with the certificate issued then"
)]
async fn reports_enrolled_at(world: &mut ConformanceWorld, device: String, user: String) {
    reports_enrolled(world, device.clone(), user).await;
    let info = server_enrollment(world, &device)
        .await
        .unwrap_or_else(|e| fail!("expected GET enrollment of {device:?} to answer 200, but {e}"));
    if let Some(Some((before, after))) = world.notes.enrolled_between.get(&device) {
        ensure!(
            *before <= info.enrolled_at && info.enrolled_at <= *after,
            "expected enrolled_at to be the server's time of the latest enrollment, between {before} and \
             {after}, got {}",
            info.enrolled_at
        );
    }
}

#[then(expr = "the server reports {string} as not enrolled")]
async fn reports_not_enrolled(world: &mut ConformanceWorld, device: String) {
    let outcome = server_enrollment(world, &device).await.map(|info| info.device_id);
    let outcome = outcome.map(|id| json!({ "device_id": id }));
    assert_refused("GET enrollment", &outcome, 404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
}

#[then(expr = "the enrollment gets {string}")]
async fn enrollment_gets(world: &mut ConformanceWorld, expected: String) {
    assert_outcome("the enrollment", world.last(), &Expected::parse(&expected), |value| {
        ensure_eq!(value["re_enrolled"].as_bool(), Some(false), "expected a new enrollment, got {value}");
    });
}

// ------------------------------------------------------------------ certificates (ENR-003)

fn parsed_certificate(pem: &str) -> x509_cert::Certificate {
    use x509_cert::der::DecodePem as _;
    x509_cert::Certificate::from_pem(pem.as_bytes())
        .unwrap_or_else(|e| fail!("expected a PEM X.509 certificate, but {e}: {pem}"))
}

fn enrollment_of(world: &mut ConformanceWorld, device: &str) -> crate::device::DeviceEnrollment {
    match world.simulated(device, "the certificate the device was given").enrollment() {
        Some(enrollment) => enrollment.clone(),
        None => fail!("{device:?} holds no enrollment"),
    }
}

fn serial(world: &mut ConformanceWorld, device: &str) -> Vec<u8> {
    let pem = enrollment_of(world, device).certificate;
    parsed_certificate(&pem).tbs_certificate().serial_number().as_bytes().to_vec()
}

#[then(expr = "the certificates of {string} and {string} have different serial numbers")]
async fn serials_differ(world: &mut ConformanceWorld, first: String, second: String) {
    let (a, b) = (serial(world, &first), serial(world, &second));
    ensure_ne!(
        a,
        b,
        "expected the certificates of {first:?} and {second:?} to have different serial numbers"
    );
}

#[then(
    expr = "the certificate of {string} is valid at its enrolled_at, is not a CA certificate and allows digital signatures"
)]
async fn certificate_profile(world: &mut ConformanceWorld, device: String) {
    let pem = enrollment_of(world, &device).certificate;
    let info = world
        .device(&device)
        .fetch_enrollment()
        .await
        .unwrap_or_else(|e| fail!("expected GET enrollment of {device:?} to answer 200, but {e}"));
    let cert = parsed_certificate(&pem);
    let tbs = cert.tbs_certificate();
    let not_before = OffsetDateTime::from(tbs.validity().not_before.to_system_time());
    let not_after = OffsetDateTime::from(tbs.validity().not_after.to_system_time());
    ensure!(
        not_before <= info.enrolled_at && info.enrolled_at <= not_after,
        "expected the certificate's validity {not_before} to {not_after} to contain enrolled_at {}",
        info.enrolled_at
    );
    let constraints = tbs
        .get_extension::<x509_cert::ext::pkix::BasicConstraints>()
        .unwrap_or_else(|e| fail!("the certificate's basicConstraints do not parse: {e}"));
    ensure!(
        !constraints.as_ref().is_some_and(|(_, bc)| bc.ca),
        "expected the device certificate not to be a CA certificate, got {constraints:?}"
    );
    let usage = tbs
        .get_extension::<x509_cert::ext::pkix::KeyUsage>()
        .unwrap_or_else(|e| fail!("the certificate's keyUsage does not parse: {e}"));
    ensure!(
        usage.as_ref().is_some_and(|(_, ku)| ku.digital_signature()),
        "expected the certificate's keyUsage to include digitalSignature, got {usage:?}"
    );
}

fn ca_der(world: &mut ConformanceWorld, device: &str) -> String {
    enrollment_of(world, device).ca_certificate.split_whitespace().collect()
}

#[then(expr = "{string} and {string} were given the same CA certificate")]
async fn same_ca(world: &mut ConformanceWorld, first: String, second: String) {
    let (a, b) = (ca_der(world, &first), ca_der(world, &second));
    ensure!(a == b, "expected {first:?} and {second:?} to get the same ca_certificate");
}

#[then(expr = "{string} was given the same CA certificate as {string}")]
async fn same_ca_as(world: &mut ConformanceWorld, first: String, second: String) {
    same_ca(world, first, second).await;
}

// ------------------------------------------------------------------ reading and deleting enrollments

/// An access token of `user`, from a session of its own (not one of the scenario's devices).
async fn session_token(world: &mut ConformanceWorld, user: &str) -> String {
    let session = format!("{user}'s other session");
    if world.devices.get(&session).and_then(|d| d.access_token()).is_none() {
        // A session of the harness's own, never the driver's device.
        world.install_simulated(&session);
        log_in(world, user, &session).await;
    }
    token(world, &session)
}

#[when(expr = "{string} reads the enrollment of {string}")]
async fn user_reads_enrollment(world: &mut ConformanceWorld, user: String, device: String) {
    enrollment_call(world, &user, &device, Method::GET).await;
}

#[when(expr = "{string} deletes the enrollment of {string}")]
async fn user_deletes_enrollment(world: &mut ConformanceWorld, user: String, device: String) {
    enrollment_call(world, &user, &device, Method::DELETE).await;
}

async fn enrollment_call(world: &mut ConformanceWorld, user: &str, device: &str, method: Method) {
    let token = session_token(world, user).await;
    let path = format!("{}/{}", paths::ENROLLMENTS, device_id(world, device).await);
    let expected: &[u16] = if method == Method::GET { &[200] } else { &[204] };
    let result = world
        .target()
        .http()
        .call::<Value>(method, &path, Auth::Bearer(&token), Payload::Empty, expected)
        .await
        .map(|(_, value)| value);
    world.record(result);
}

#[then(expr = "the enrollment call gets {string}")]
async fn enrollment_call_gets(world: &mut ConformanceWorld, reply: String) {
    assert_reply("the enrollment call", world.last(), &reply, |_| {});
}

/// The device deletes its own enrollment; its key is kept as its previous one.
async fn delete_own(world: &mut ConformanceWorld, device: &str) -> Result<(), DeviceError> {
    if let Some(enrollment) = world.device(device).enrollment().cloned() {
        world.previous_enrollments.insert(device.to_string(), enrollment);
    }
    world.device(device).disenroll().await
}

#[when(expr = "{string} deletes its enrollment")]
async fn deletes_own(world: &mut ConformanceWorld, device: String) {
    if world.is_driven(&device) {
        return drive_and_record(world, &device, "disenroll", async |d| d.disenroll().await).await;
    }
    let result = delete_own(world, &device).await;
    world.record(result);
}

#[then("the enrollment is deleted with status 204 and no body")]
async fn deleted_204(world: &mut ConformanceWorld) {
    world.last_ok("DELETE enrollment to answer 204");
    if let Some(call) = world.last_driven.clone() {
        // The driver answers {}; the server's log tells the status. A 204 has no content (RFC
        // 9110, 15.3.5), so the status is the whole check here.
        let Some(calls) = &call.server_calls else {
            crate::judgement::not_applicable(format!(
                "this step reads the server's answer to the DELETE of {:?}, the device driver's device, \
                 which an SDK does not pass on through the driver protocol, and the target keeps no \
                 event log to read its status from",
                call.device
            ));
        };
        let deletes: Vec<&ServerEvent> = calls.iter().filter(|e| e.method == "DELETE").collect();
        ensure!(
            deletes.last().is_some_and(|e| e.status == 204),
            "expected the server to answer the SDK's DELETE enrollment with 204 (no content), its log \
             shows {calls:?}"
        );
        return;
    }
    let exchanges = world.target().transcript().exchanges();
    let delete = exchanges.iter().rev().find(|e| e.method == "DELETE").expect("a DELETE was sent");
    ensure_eq!(
        (delete.status, delete.response_body.as_str()),
        (Some(204), ""),
        "expected DELETE enrollment to answer 204 with no body"
    );
}

#[given(expr = "{string} is removed by its own request")]
async fn removed_by_itself(world: &mut ConformanceWorld, device: String) {
    if world.is_driven(&device) {
        drive_ok(world, &device, "disenroll", async |d| d.disenroll().await).await;
        return;
    }
    delete_own(world, &device)
        .await
        .unwrap_or_else(|e| fail!("expected {device:?} to delete its enrollment, but {e}"));
}

async fn remove_by_admin(world: &mut ConformanceWorld, device: &str) {
    let device_id = device_id(world, device).await.to_string();
    let user = device_username(world, device).expect("the device's user is logged in");
    admin(world)
        .delete_enrollment(&user, &device_id)
        .await
        .or_fail(|e| format!("expected the admin to remove the enrollment of {device:?}, but {e}"));
}

#[given(expr = "{string} is removed by the admin")]
async fn removed_by_admin(world: &mut ConformanceWorld, device: String) {
    remove_by_admin(world, &device).await;
}

/// Another device of `device`'s user enrolls, which under `override_allowed` disenrolls it.
async fn replace(world: &mut ConformanceWorld, device: &str) {
    let user = device_username(world, device).expect("the device's user is logged in");
    let name = user_name_of(world, &user);
    let replacement = format!("{device}'s replacement");
    world.install_simulated(&replacement);
    log_in(world, &name, &replacement).await;
    enroll(world, &replacement).await;
    world.last_ok(&format!("another device of {name:?} to enroll (the mode must be override_allowed)"));
    world.notes.replaced_by.insert(device.to_string(), replacement);
}

#[given(expr = "{string} is disenrolled by another device of its user")]
async fn disenrolled_by_another(world: &mut ConformanceWorld, device: String) {
    replace(world, &device).await;
}

#[given(expr = "nothing happens to {string}")]
async fn nothing_happens(_world: &mut ConformanceWorld, _device: String) {}

#[then(expr = "the device that replaced {string} answering a new OTP gets {string}")]
async fn replacement_answers(world: &mut ConformanceWorld, device: String, expected: String) {
    let replacement = world.notes.replaced_by.get(&device).cloned();
    let replacement = replacement.unwrap_or_else(|| fail!("no device replaced {device:?}"));
    answering_new_otp(world, replacement, expected).await;
}

// ------------------------------------------------------------------ QR codes and OTPs

fn record_scan(world: &mut ConformanceWorld, device: &str, result: Result<String, DeviceError>) {
    if let Ok(otp) = &result {
        world.scanned.insert(device.to_string(), otp.clone());
    }
    world.record(result);
}

/// What the camera of the driver's device saw last: the image and the OTP the harness put in it.
/// An SDK reads the image itself when it handles it (`handle_otp` with `qr_png`).
#[derive(Debug, Clone)]
pub struct CameraImage {
    /// The image, PNG.
    pub png: Vec<u8>,
    /// The OTP its QR code holds.
    pub otp: String,
}

#[when(expr = "{string} scans the QR code")]
async fn scans(world: &mut ConformanceWorld, device: String) {
    let png = world.started_otp().qr_png.clone();
    if world.is_driven(&device) {
        let otp = world.started_otp().response.otp.clone();
        world.notes.camera.insert(device, CameraImage { png, otp });
        return;
    }
    let result = world.device(&device).scan(&png);
    record_scan(world, &device, result);
}

#[then(expr = "{string} read the OTP the portal was given")]
async fn read_the_otp(world: &mut ConformanceWorld, device: String) {
    if world.is_driven(&device) {
        // An SDK reads the image when it handles it and shows no OTP: what it read shows in the
        // request it then shows, which must be the transaction of the portal's OTP
        // (`handle_driven` checks open_auth_otp's transaction_id against the OTP in the image).
        let camera = world.notes.camera.get(&device);
        let given = &world.started_otp().response.otp;
        ensure!(
            camera.is_some_and(|c| c.otp == *given),
            "expected {device:?} to have the portal's QR code in its camera"
        );
        return;
    }
    world.last_ok("the QR code to decode");
    let given = &world.started_otp().response.otp;
    let read = world.scanned.get(&device);
    ensure_eq!(read, Some(given), "expected the QR code to hold exactly the OTP from authenticate/user");
}

async fn handle(world: &mut ConformanceWorld, device: &str, otp: String) {
    if world.is_driven(device) {
        return handle_driven(world, device, OtpInput::Text(otp.clone()), &otp).await;
    }
    let result = world.device(device).handle_otp(&otp).await;
    if let Ok(request) = &result {
        world.fetched.insert(device.to_string(), request.clone());
        world.notes.fetches.entry(device.to_string()).or_default().push(request.clone());
        world.notes.last_fetcher = Some(device.to_string());
    }
    world.record(result);
}

/// The OTP `device` read from the QR code last (for the driver's device, the one in the image its
/// camera saw).
fn scanned(world: &ConformanceWorld, device: &str) -> String {
    let read = match world.driven_name() == Some(device) {
        true => world.notes.camera.get(device).map(|c| &c.otp),
        false => world.scanned.get(device),
    };
    match read {
        Some(otp) => otp.clone(),
        None => fail!("{device:?} must scan the QR code before it handles the OTP"),
    }
}

#[when(expr = "{string} handles the OTP")]
async fn handles(world: &mut ConformanceWorld, device: String) {
    if world.is_driven(&device) {
        // The SDK is given the image its camera saw, as an app hands a scan to it.
        let Some(camera) = world.notes.camera.get(&device).cloned() else {
            fail!("{device:?} must scan the QR code before it handles the OTP");
        };
        return handle_driven(world, &device, OtpInput::Image(camera.png), &camera.otp).await;
    }
    let otp = scanned(world, &device);
    handle(world, &device, otp).await;
}

#[when(expr = "{string} scans the QR code and handles the OTP")]
async fn scans_and_handles(world: &mut ConformanceWorld, device: String) {
    scans(world, device.clone()).await;
    if !world.is_driven(&device) {
        world.last_ok("the portal's QR code to decode");
    }
    handles(world, device).await;
}

#[given(expr = "{string} has scanned the QR code and fetched the request")]
async fn has_fetched(world: &mut ConformanceWorld, device: String) {
    scans_and_handles(world, device.clone()).await;
    world.last_ok(&format!("{device:?} to fetch the request"));
}

/// Replaces the base64 character at `index` by another one of the same class, keeping the OTP
/// canonical base64 of 49 bytes.
fn tamper(otp: &str, index: usize) -> String {
    otp.char_indices().map(|(i, c)| if i == index { if c == 'B' { 'C' } else { 'B' } } else { c }).collect()
}

#[when(expr = "{string} handles the OTP with one character of its secret changed")]
async fn handles_changed_secret(world: &mut ConformanceWorld, device: String) {
    // Characters 24.. of the 68 encode only secret bytes (bytes 17..49 start at character 22.67).
    let otp = tamper(&scanned(world, &device), 40);
    handle(world, &device, otp).await;
}

#[when(expr = "{string} handles the OTP with its format version changed")]
async fn handles_changed_version(world: &mut ConformanceWorld, device: String) {
    // The first character holds the top six bits of the version byte 0x01, so it is always 'A'.
    let otp = tamper(&scanned(world, &device), 0);
    handle(world, &device, otp).await;
}

#[when(regex = r#"^"([^"]+)" handles the OTP with the (first|last) bit of its secret flipped$"#)]
async fn handles_flipped_bit(world: &mut ConformanceWorld, device: String, which: String) {
    let scanned = scanned(world, &device);
    let mut bytes = STANDARD
        .decode(&scanned)
        .unwrap_or_else(|e| fail!("expected the OTP to be standard base64 (OTP-001), got {scanned:?}: {e}"));
    // The secret is bytes 17 to 48.
    match (which.as_str(), bytes.len()) {
        ("first", 49) => bytes[17] ^= 0x80,
        (_, 49) => bytes[48] ^= 0x01,
        (_, n) => fail!("the scanned OTP has {n} bytes, not 49"),
    }
    handle(world, &device, STANDARD.encode(bytes)).await;
}

#[when(expr = "{string} handles an OTP of a transaction that does not exist")]
async fn handles_unknown_transaction(world: &mut ConformanceWorld, device: String) {
    let transaction_id = protocol::rng::uuid(world.rng());
    let otp = protocol::otp::Otp::generate(transaction_id, world.rng()).encode();
    handle(world, &device, otp).await;
}

/// The default message is the server's to choose (contract section 6 writes it "..."): the
/// expected text is read from the server's own configuration.
#[then(expr = "{string} shows the default message of the OTP type {string}")]
async fn shows_default_message(world: &mut ConformanceWorld, device: String, otp_type: String) {
    let config = world
        .target()
        .admin_for(crate::target::Capability::Config)
        .or_fail(|e| format!("cannot read the server's configuration: {e}"))
        .config()
        .await
        .or_fail(|e| format!("cannot read the server's configuration: {e}"));
    let message = config["otp_types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"].as_str() == Some(otp_type.as_str())))
        .and_then(|t| t["default_message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            fail!("expected GET /_admin/v1/config to list the OTP type {otp_type:?} with a default_message, got {config}")
        });
    shows_message(world, device, message).await;
}

#[then(expr = "{string} shows the message {string}")]
async fn shows_message(world: &mut ConformanceWorld, device: String, message: String) {
    world.last_ok("the request call to succeed");
    if world.is_driven(&device) {
        let shown = world.started_driven_device().and_then(DrivenDevice::shown).cloned();
        let Some(shown) = shown else { fail!("{device:?} showed no request") };
        let expected_tx = world.started_otp().response.transaction_id.to_string();
        ensure_eq!(
            (shown.transaction_id.as_str(), shown.message.as_str()),
            (expected_tx.as_str(), message.as_str()),
            "expected the device driver's open_auth_otp to show the portal's transaction and message"
        );
        return;
    }
    let request = world.fetched.get(&device).unwrap_or_else(|| fail!("{device:?} fetched no request"));
    ensure_eq!(request.message, message, "expected the request call to answer the portal's message");
    let expected_tx = world.started_otp().response.transaction_id;
    ensure_eq!(request.transaction_id, expected_tx, "expected the request of the portal's transaction");
}

#[then(expr = "{string} shows the request")]
async fn shows_request(world: &mut ConformanceWorld, device: String) {
    world.last_ok(&format!("{device:?} to fetch the request"));
}

#[then(expr = "{string} was given the request of type {string} with the message {string}")]
async fn given_request(world: &mut ConformanceWorld, device: String, otp_type: String, message: String) {
    world.last_ok("the request call to succeed");
    world.simulated(&device, "the server's answer to the request call (its type)");
    let request = world.fetched.get(&device).unwrap_or_else(|| fail!("{device:?} fetched no request"));
    let expected_tx = world.started_otp().response.transaction_id;
    ensure_eq!(
        (request.transaction_id, request.otp_type.as_str(), request.message.as_str()),
        (expected_tx, otp_type.as_str(), message.as_str()),
        "expected the request call to answer the transaction's id, type and message, got {request:?}"
    );
}

fn last_request(world: &mut ConformanceWorld) -> OtpRequestResponse {
    let device = world.notes.last_fetcher.clone().expect("a device must fetch a request first");
    world.simulated(&device, "the server's answer to the request call (its times and challenge)");
    world.fetched.get(&device).cloned().expect("the last fetch was kept")
}

#[then(
    expr = "the request's timestamp is the transaction's creation time and it expires {int} seconds later"
)]
async fn request_times(world: &mut ConformanceWorld, seconds: i64) {
    let request = last_request(world);
    let transaction_id = world.started_otp().response.transaction_id.to_string();
    let status = world
        .portal()
        .await
        .transaction(&transaction_id)
        .await
        .unwrap_or_else(|e| fail!("expected GET transaction to answer 200, but {e}"));
    ensure_eq!(
        (request.timestamp, request.expires_at),
        (status.timestamp, status.timestamp + time::Duration::seconds(seconds)),
        "expected the request's timestamp to be the transaction's creation time and expires_at that plus \
         the time to live"
    );
    if let Some((before, after)) = world.notes.started_between {
        ensure!(
            before <= request.timestamp && request.timestamp <= after,
            "expected the timestamp to be the creation time, between {before} and {after}, got {}",
            request.timestamp
        );
    }
}

#[then("the request's challenge is 44 characters of standard padded base64 of 32 bytes")]
async fn challenge_shape(world: &mut ConformanceWorld) {
    let challenge = last_request(world).challenge;
    let bytes = STANDARD.decode(&challenge).unwrap_or_default();
    ensure!(
        challenge.len() == 44 && bytes.len() == 32 && STANDARD.encode(&bytes) == challenge,
        "expected the challenge to be 44 characters of canonical padded base64 of 32 bytes, got {challenge:?}"
    );
}

#[then(expr = "{string} was given a challenge it was not given before")]
async fn new_challenge(world: &mut ConformanceWorld, device: String) {
    world.last_ok("the request call to succeed");
    world.simulated(&device, "the challenges the server gave it");
    let fetches = world.notes.fetches.get(&device).cloned().unwrap_or_default();
    let Some((latest, earlier)) = fetches.split_last() else {
        fail!("{device:?} fetched no request");
    };
    ensure!(
        !earlier.is_empty() && earlier.iter().all(|r| r.challenge != latest.challenge),
        "expected a request call to issue a new challenge, got {:?} again",
        latest.challenge
    );
}

// ------------------------------------------------------------------ answers

async fn decide(world: &mut ConformanceWorld, device: &str, answer: Answer) {
    if world.is_driven(device) {
        return decide_driven(world, device, answer).await;
    }
    let result = world.device(device).decide(answer).await;
    world.record(result);
}

#[when(expr = "{string} accepts")]
async fn accepts(world: &mut ConformanceWorld, device: String) {
    decide(world, &device, Answer::Accept).await;
}

#[when(expr = "{string} denies")]
async fn denies(world: &mut ConformanceWorld, device: String) {
    decide(world, &device, Answer::Deny).await;
}

async fn decide_portal_otp(world: &mut ConformanceWorld, device: &str, answer: Answer) {
    scans_and_handles(world, device.to_string()).await;
    world.last_ok(&format!("{device:?} to fetch the request"));
    decide(world, device, answer).await;
    world.last_ok(&format!("{device:?} to answer the request"));
}

#[when(expr = "{string} accepts the portal's OTP")]
async fn accepts_portal_otp(world: &mut ConformanceWorld, device: String) {
    decide_portal_otp(world, &device, Answer::Accept).await;
}

#[when(expr = "{string} denies the portal's OTP")]
async fn denies_portal_otp(world: &mut ConformanceWorld, device: String) {
    decide_portal_otp(world, &device, Answer::Deny).await;
}

fn parse_answer(answer: &str) -> Answer {
    match answer {
        "accept" => Answer::Accept,
        "deny" => Answer::Deny,
        other => fail!("a scenario answer is \"accept\" or \"deny\", not {other:?}"),
    }
}

fn fetched(world: &ConformanceWorld, device: &str) -> OtpRequestResponse {
    match world.fetched.get(device) {
        Some(request) => request.clone(),
        None => fail!("{device:?} must fetch the request before it answers"),
    }
}

/// Answers the request the device fetched last, over its challenge, signed by `key`.
async fn answer_signed_by(world: &mut ConformanceWorld, device: &str, answer: &str, key: &KeyPair) {
    let answer = parse_answer(answer);
    let request = fetched(world, device);
    let device = world.device(device);
    let signed = signing_string(request.transaction_id, &request.challenge, answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(request.transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

fn current_key(world: &mut ConformanceWorld, device: &str) -> KeyPair {
    match world.simulated(device, "its key (to sign an answer of the scenario's making)").enrollment() {
        Some(enrollment) => enrollment.key.clone(),
        None => fail!("{device:?} holds no key"),
    }
}

#[when(expr = "{string} answers {string} signed with its current key")]
async fn answers_current_key(world: &mut ConformanceWorld, device: String, answer: String) {
    if world.is_driven(&device) {
        // The SDK signs with its current key over the challenge of the request it shows.
        let what = "with its current key";
        return decide_if_showing(world, &device, parse_answer(&answer), what).await;
    }
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with its previous key")]
async fn answers_previous_key(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "its previous key (to sign an answer of the scenario's making)");
    let Some(previous) = world.previous_enrollments.get(&device) else {
        fail!("{device:?} was never re-enrolled, so it has no previous key");
    };
    let key = previous.key.clone();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with another key")]
async fn answers_another_key(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "an answer call of the scenario's making (signed with another key)");
    let key = world.foreign_key();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} sends its {string} answer again")]
async fn replays(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "its signed answer sent again");
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} over its first challenge")]
async fn answers_first_challenge(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "an answer over a challenge it is no longer showing");
    let answer = parse_answer(&answer);
    let first = world.notes.fetches.get(&device).and_then(|f| f.first()).cloned();
    let first = first.unwrap_or_else(|| fail!("{device:?} fetched no request"));
    let key = current_key(world, &device);
    let device = world.device(&device);
    let signed = signing_string(first.transaction_id, &first.challenge, answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(first.transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

#[when(expr = "{string} answers {string} without fetching a challenge")]
async fn answers_without_challenge(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "an answer call of the scenario's making (without a challenge)");
    let answer = parse_answer(&answer);
    let transaction_id = world.started_otp().response.transaction_id;
    let key = current_key(world, &device);
    let device = world.device(&device);
    let signed = signing_string(transaction_id, "", answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

#[when(expr = "{string} answers {string} signed over the challenge {string} was given")]
async fn answers_over_anothers_challenge(
    world: &mut ConformanceWorld,
    device: String,
    answer: String,
    owner: String,
) {
    world.simulated(&device, "an answer call of the scenario's making (over another device's challenge)");
    world.simulated(&owner, "the challenge a device was given, which an SDK keeps to itself");
    let answer = parse_answer(&answer);
    let challenge = fetched(world, &owner).challenge.clone();
    let transaction_id = world.started_otp().response.transaction_id;
    let key = current_key(world, &device);
    let device = world.device(&device);
    // Signed correctly with this device's own key and id: only the challenge is not its own.
    let signed = signing_string(transaction_id, &challenge, answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

#[when(expr = "{string} answers {string} for a transaction that does not exist")]
async fn answers_unknown_transaction(world: &mut ConformanceWorld, device: String, answer: String) {
    world.simulated(&device, "an answer call of the scenario's making (for an unknown transaction)");
    let answer = parse_answer(&answer);
    let transaction_id = protocol::rng::uuid(world.rng());
    let key = current_key(world, &device);
    let device = world.device(&device);
    let signed = signing_string(transaction_id, "", answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

/// The signature an answer carries, as the feature files name it.
fn signature_for(world: &mut ConformanceWorld, device: &str, answer: Answer, what: &str) -> String {
    let request = fetched(world, device);
    let device_id = world.device(device).device_id();
    let (tx, challenge) = (request.transaction_id, request.challenge.clone());
    let key = current_key(world, device);
    let sign = |key: &KeyPair, text: &str| key.sign(text.as_bytes());
    let own = signing_string(tx, &challenge, answer, device_id);
    let der = match what {
        "a signature over the signing string" => sign(&key, &own),
        "the low-S form of a signature over the signing string" => der::with_s(&sign(&key, &own), false),
        "the high-S form of a signature over the signing string" => der::with_s(&sign(&key, &own), true),
        "a signature by another key" => sign(&world.foreign_key(), &own),
        "a signature over the signing string of another transaction" => {
            let other = protocol::rng::uuid(world.rng());
            sign(&key, &signing_string(other, &challenge, answer, device_id))
        }
        "a signature over the signing string with the answer deny" => {
            sign(&key, &signing_string(tx, &challenge, Answer::Deny, device_id))
        }
        "a signature over the signing string of another device" => {
            let other = protocol::rng::uuid(world.rng());
            sign(&key, &signing_string(tx, &challenge, answer, other))
        }
        "a signature over the signing string with the challenge unpadded" => {
            sign(&key, &signing_string(tx, challenge.trim_end_matches('='), answer, device_id))
        }
        "a signature over the signing string with mobile-auth-v2 first" => {
            sign(&key, &own.replacen("mobile-auth-v1|", "mobile-auth-v2|", 1))
        }
        "a signature over the signing string with a line break at its end" => sign(&key, &format!("{own}\n")),
        "base64 of bytes that are not a DER signature" => b"this is not a DER signature".to_vec(),
        "base64 of the signature as 64 raw bytes of r and s" => der::raw(&sign(&key, &own)),
        "base64 of the DER signature followed by a zero byte" => {
            let mut der = sign(&key, &own);
            der.push(0);
            der
        }
        other => fail!("no such signature in this suite: {other:?}"),
    };
    STANDARD.encode(der)
}

#[when(regex = r#"^"([^"]+)" answers "(accept|deny)" with (.+)$"#)]
async fn answers_with(world: &mut ConformanceWorld, device: String, answer: String, what: String) {
    let answer = parse_answer(&answer);
    if world.is_driven(&device) {
        // The SDK's own answer is a signature over the signing string with whatever key it has.
        if what == "whatever key and challenge it has" || what == "a signature over the signing string" {
            return decide_if_showing(world, &device, answer, &what).await;
        }
        world.simulated(&device, &format!("an answer of the scenario's making ({what})"));
    }
    if what == "whatever key and challenge it has" {
        return answer_with_what_it_has(world, &device, answer).await;
    }
    let transaction_id = fetched(world, &device).transaction_id;
    let signature = signature_for(world, &device, answer, &what);
    let result = world.device(&device).answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

/// A device that may hold no key or challenge for the logged-in user answers anyway: its current
/// key, else the one it had, else a new one; its challenge, else none.
async fn answer_with_what_it_has(world: &mut ConformanceWorld, device: &str, answer: Answer) {
    let key = match world.device(device).enrollment() {
        Some(enrollment) => enrollment.key.clone(),
        None => match world.previous_enrollments.get(device) {
            Some(previous) => previous.key.clone(),
            None => world.foreign_key(),
        },
    };
    let (transaction_id, challenge) = match world.fetched.get(device) {
        Some(request) => (request.transaction_id, request.challenge.clone()),
        None => (world.started_otp().response.transaction_id, String::new()),
    };
    let device = world.device(device);
    let signed = signing_string(transaction_id, &challenge, answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

#[then(expr = "the answer is {string}")]
async fn answer_is(world: &mut ConformanceWorld, status: String) {
    let value = world.last_ok(&format!("the answer call to be answered 200 with status {status:?}")).clone();
    ensure_eq!(
        value["status"].as_str(),
        Some(status.as_str()),
        "expected the answer call to answer status {status:?}, got {value}"
    );
    if let Some(call) = world.last_driven.clone() {
        // handle_otp's reply carries the status only; its request's transaction was checked when
        // it showed. The server's log tells the status of the answer call.
        let answers: Vec<&ServerEvent> = call
            .server_calls
            .iter()
            .flatten()
            .filter(|e| e.method == "POST" && e.path.ends_with("/answer"))
            .collect();
        ensure!(
            call.server_calls.is_none() || answers.last().is_some_and(|e| e.status == 200),
            "expected the server to answer the SDK's answer call with 200, its log shows {:?}",
            call.server_calls
        );
        return;
    }
    if let Some(otp) = &world.otp {
        let transaction_id = otp.response.transaction_id.to_string();
        ensure_eq!(
            value["transaction_id"].as_str(),
            Some(transaction_id.as_str()),
            "expected the answer call to name the transaction it answered, got {value}"
        );
    }
}

#[then(expr = "the answer call gets {string}")]
async fn answer_call_gets(world: &mut ConformanceWorld, reply: String) {
    assert_reply("the answer call", world.last(), &reply, |value| {
        ensure_eq!(value["status"].as_str(), Some(reply.as_str()), "expected status {reply:?}, got {value}");
    });
}

#[then(expr = "{string} answering a new OTP gets {string}")]
async fn answering_new_otp(world: &mut ConformanceWorld, device: String, expected: String) {
    super::portal::start_for_step(world).await;
    if world.is_driven(&device) {
        scans_and_handles(world, device.clone()).await;
        if world.last().is_ok() {
            decide_driven(world, &device, Answer::Accept).await;
        }
        let what = format!("{device:?} handling an OTP");
        return assert_outcome(&what, world.last(), &Expected::parse(&expected), |value| {
            ensure_eq!(value["status"].as_str(), Some("accepted"), "expected status accepted, got {value}");
        });
    }
    let png = world.started_otp().qr_png.clone();
    let otp = world.device(&device).scan(&png).unwrap_or_else(|e| fail!("the portal's QR code: {e}"));
    let result = world.device(&device).handle_otp(&otp).await;
    if result.is_ok() {
        let result = world.device(&device).decide(Answer::Accept).await;
        world.record(result);
    } else {
        world.record(result);
    }
    assert_outcome(
        &format!("{device:?} handling an OTP"),
        world.last(),
        &Expected::parse(&expected),
        |value| {
            ensure_eq!(value["status"].as_str(), Some("accepted"), "expected status accepted, got {value}");
        },
    );
}

// ------------------------------------------------------------------ malformed calls

/// The scanned OTP's bytes, changed by `change`, as canonical base64.
fn otp_changed(otp: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = STANDARD
        .decode(otp)
        .unwrap_or_else(|e| fail!("expected the OTP to be standard base64 (OTP-001), got {otp:?}: {e}"));
    change(&mut bytes);
    STANDARD.encode(bytes)
}

/// The OTP with its last data character's unused low bits set (non-canonical base64).
fn otp_with_unused_bits(otp: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut chars: Vec<u8> = otp.bytes().collect();
    // 49 bytes: 16 full groups, then two characters and "==": the 66th character holds two bits.
    let at = 65;
    let Some(value) = chars.get(at).and_then(|c| ALPHABET.iter().position(|a| a == c)) else {
        fail!("expected a 68-character base64 OTP (OTP-001), got {otp:?}")
    };
    chars[at] = ALPHABET[value | 0x01];
    String::from_utf8(chars).expect("only ASCII base64 characters were put in")
}

async fn send_otp_request(world: &mut ConformanceWorld, device: &str, token: Option<&str>, body: &Value) {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    let result = world
        .target()
        .http()
        .call::<Value>(Method::POST, paths::OTP_REQUESTS, auth, Payload::Json(body), &[200])
        .await
        .map(|(_, value)| value);
    if let Ok(value) = &result
        && let Ok(request) = serde_json::from_value::<OtpRequestResponse>(value.clone())
    {
        world.fetched.insert(device.to_string(), request);
    }
    world.record(result);
}

async fn send_answer(world: &mut ConformanceWorld, token: Option<&str>, transaction_id: Uuid, body: &Value) {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    let path = format!("{}/{transaction_id}/answer", paths::OTP_REQUESTS);
    let result = world
        .target()
        .http()
        .call::<Value>(Method::POST, &path, auth, Payload::Json(body), &[200])
        .await
        .map(|(_, value)| value);
    world.record(result);
}

#[when(regex = r#"^"([^"]+)" sends a request call with (.+)$"#)]
async fn sends_request_call(world: &mut ConformanceWorld, device: String, what: String) {
    world.simulated(&device, &format!("a request call of the scenario's making ({what})"));
    if let Some(problems) = what.strip_prefix("these problems: ") {
        return request_call_with_problems(world, &device, problems).await;
    }
    let otp = scanned(world, &device);
    let id = world.device(&device).device_id().to_string();
    let body = match what.as_str() {
        "a JSON array of its device id and the OTP" => json!([id, otp]),
        "no otp" => json!({ "device_id": id }),
        "no device_id" => json!({ "otp": otp }),
        "the OTP as a number" => json!({ "device_id": id, "otp": 12345 }),
        "its device id in upper case" => json!({ "device_id": id.to_uppercase(), "otp": otp }),
        "its device id without hyphens" => json!({ "device_id": id.replace('-', ""), "otp": otp }),
        "the OTP with its format version changed" => json!({ "device_id": id, "otp": tamper(&otp, 0) }),
        "the OTP without its padding" => json!({ "device_id": id, "otp": otp.trim_end_matches('=') }),
        "the OTP with a character that is not base64" => {
            let bad: String = otp.char_indices().map(|(i, c)| if i == 40 { '*' } else { c }).collect();
            json!({ "device_id": id, "otp": bad })
        }
        "the OTP with a space at its end" => json!({ "device_id": id, "otp": format!("{otp} ") }),
        "the OTP with non-zero unused bits at its end" => {
            json!({ "device_id": id, "otp": otp_with_unused_bits(&otp) })
        }
        "the OTP cut to 48 bytes" => json!({ "device_id": id, "otp": otp_changed(&otp, |b| b.truncate(48)) }),
        "the OTP with a 50th byte" => json!({ "device_id": id, "otp": otp_changed(&otp, |b| b.push(0)) }),
        other => fail!("no such request call in this suite: {other:?}"),
    };
    let token = token(world, &device);
    send_otp_request(world, &device, Some(&token), &body).await;
}

#[when(regex = r#"^"([^"]+)" sends an answer call with (.+)$"#)]
async fn sends_answer_call(world: &mut ConformanceWorld, device: String, what: String) {
    world.simulated(&device, &format!("an answer call of the scenario's making ({what})"));
    if let Some(problems) = what.strip_prefix("these problems: ") {
        return answer_call_with_problems(world, &device, problems).await;
    }
    let request = fetched(world, &device);
    let id = world.device(&device).device_id();
    let key = current_key(world, &device);
    let signed = signing_string(request.transaction_id, &request.challenge, Answer::Accept, id);
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let id = id.to_string();
    let body = match what.as_str() {
        "a JSON array of its fields" => json!([id, "accept", signature]),
        "no signature" => json!({ "device_id": id, "answer": "accept" }),
        "no answer" => json!({ "device_id": id, "signature": signature }),
        "no device_id" => json!({ "answer": "accept", "signature": signature }),
        "the answer ACCEPT" => json!({ "device_id": id, "answer": "ACCEPT", "signature": signature }),
        "the answer yes" => json!({ "device_id": id, "answer": "yes", "signature": signature }),
        "the answer as a boolean" => json!({ "device_id": id, "answer": true, "signature": signature }),
        "a signature that is not base64" => {
            json!({ "device_id": id, "answer": "accept", "signature": "not base64!" })
        }
        "a signature with a line break inside its base64" => {
            let broken = format!("{}\n{}", &signature[..20], &signature[20..]);
            json!({ "device_id": id, "answer": "accept", "signature": broken })
        }
        "its device id without hyphens" => {
            json!({ "device_id": id.replace('-', ""), "answer": "accept", "signature": signature })
        }
        other => fail!("no such answer call in this suite: {other:?}"),
    };
    let token = token(world, &device);
    send_answer(world, Some(&token), request.transaction_id, &body).await;
}

// ------------------------------------------------------------------ check orders (OTP-017, OTP-018)

/// Problems that apply to a device call at once, as the check-order tables name them.
#[derive(Debug, Default)]
struct Problems {
    no_token: bool,
    version_changed: bool,
    device_removed: bool,
    device_replaced: bool,
    wrong_secret: bool,
    already_answered: bool,
    expired: bool,
    answer_maybe: bool,
    signature_not_base64: bool,
    unknown_transaction: bool,
    no_live_challenge: bool,
    wrong_signature: bool,
}

impl Problems {
    fn parse(text: &str) -> Self {
        let mut p = Self::default();
        for problem in text.split(',').map(str::trim) {
            let flag = match problem {
                "no access token" => &mut p.no_token,
                "format version changed" => &mut p.version_changed,
                "device removed" => &mut p.device_removed,
                "device replaced" => &mut p.device_replaced,
                "wrong secret" => &mut p.wrong_secret,
                "already answered" => &mut p.already_answered,
                "expired" => &mut p.expired,
                "answer value maybe" => &mut p.answer_maybe,
                "signature not base64" => &mut p.signature_not_base64,
                "unknown transaction" => &mut p.unknown_transaction,
                "no live challenge" => &mut p.no_live_challenge,
                "wrong signature" => &mut p.wrong_signature,
                other => fail!("no such device-call problem in this suite: {other:?}"),
            };
            *flag = true;
        }
        p
    }
}

/// Another device of the scenario that holds an enrollment for its logged-in user.
fn another_enrolled_device(world: &ConformanceWorld, device: &str) -> String {
    let mut names: Vec<&String> = world
        .devices
        .iter()
        .filter(|(name, d)| name.as_str() != device && d.enrollment().is_some())
        .map(|(name, _)| name)
        .collect();
    names.sort();
    match names.first() {
        Some(name) => (*name).clone(),
        None => fail!("the scenario needs another enrolled device to answer the transaction"),
    }
}

/// Brings the world into the state the problems describe: the device reads the OTP (and fetches
/// a challenge when `fetch`), another device answers, the clock passes the expiry, the device's
/// enrollment is removed or replaced, in that order, so each step still works.
async fn set_up_problems(world: &mut ConformanceWorld, device: &str, p: &Problems, fetch: bool) -> String {
    let png = world.started_otp().qr_png.clone();
    let otp = world.device(device).scan(&png).unwrap_or_else(|e| fail!("the portal's QR code: {e}"));
    world.scanned.insert(device.to_string(), otp.clone());
    if fetch {
        handle(world, device, otp.clone()).await;
        world.last_ok(&format!("{device:?} to fetch the request"));
    }
    if p.already_answered {
        let other = another_enrolled_device(world, device);
        handle(world, &other, otp.clone()).await;
        world.last_ok(&format!("{other:?} to fetch the request"));
        decide(world, &other, Answer::Accept).await;
        world.last_ok(&format!("{other:?} to answer the request"));
    }
    if p.expired {
        move_to_before_expiry(world, 0).await;
    }
    if p.device_removed {
        remove_by_admin(world, device).await;
    }
    if p.device_replaced {
        set_config_key(world, "enrollment_mode", json!("override_allowed")).await;
        replace(world, device).await;
    }
    otp
}

async fn request_call_with_problems(world: &mut ConformanceWorld, device: &str, problems: &str) {
    let p = Problems::parse(problems);
    let mut otp = set_up_problems(world, device, &p, false).await;
    if p.version_changed {
        otp = tamper(&otp, 0);
    }
    if p.wrong_secret {
        otp = tamper(&otp, 40);
    }
    let body = json!({ "device_id": world.device(device).device_id(), "otp": otp });
    let token = (!p.no_token).then(|| token(world, device));
    send_otp_request(world, device, token.as_deref(), &body).await;
}

async fn answer_call_with_problems(world: &mut ConformanceWorld, device: &str, problems: &str) {
    let p = Problems::parse(problems);
    set_up_problems(world, device, &p, !p.no_live_challenge).await;
    let transaction_id = if p.unknown_transaction {
        protocol::rng::uuid(world.rng())
    } else {
        world.started_otp().response.transaction_id
    };
    let challenge = if p.no_live_challenge { String::new() } else { fetched(world, device).challenge };
    let key = if p.wrong_signature { world.foreign_key() } else { current_key(world, device) };
    let device_id = world.device(device).device_id();
    let signature = if p.signature_not_base64 {
        "%%% not base64 %%%".to_string()
    } else {
        let signed = signing_string(transaction_id, &challenge, Answer::Accept, device_id);
        STANDARD.encode(key.sign(signed.as_bytes()))
    };
    let answer = if p.answer_maybe { "maybe" } else { "accept" };
    let body = json!({ "device_id": device_id, "answer": answer, "signature": signature });
    let token = (!p.no_token).then(|| token(world, device));
    send_answer(world, token.as_deref(), transaction_id, &body).await;
}

#[then(expr = "{string} gets {string}")]
async fn device_gets(world: &mut ConformanceWorld, device: String, reply: String) {
    assert_reply(&format!("the call of {device:?}"), world.last(), &reply, |_| {});
}

// ------------------------------------------------------------------ concurrent answers (OTP-021)

#[when("these answers are sent at the same moment:")]
async fn concurrent_answers(world: &mut ConformanceWorld, step: &Step) {
    let table = step.table.as_ref().expect("the step has a table of devices and answers");
    let rows: Vec<(String, Answer)> = table
        .rows
        .iter()
        .skip(1)
        .map(|row| match row.as_slice() {
            [device, answer] => (device.clone(), parse_answer(answer)),
            other => fail!("expected | device | answer | rows, got {other:?}"),
        })
        .collect();
    for (device, _) in &rows {
        world.simulated(device, "answers signed with its key and sent at the same moment as others");
    }
    let mut sends = Vec::new();
    for (device, answer) in &rows {
        let request = fetched(world, device);
        let key = current_key(world, device);
        let device_id = world.device(device).device_id();
        let signed = signing_string(request.transaction_id, &request.challenge, *answer, device_id);
        sends.push((
            device.clone(),
            *answer,
            request.transaction_id,
            STANDARD.encode(key.sign(signed.as_bytes())),
        ));
    }
    let devices = &world.devices;
    let calls = sends
        .iter()
        .map(|(device, answer, tx, signature)| devices[device].answer_raw(*tx, answer.as_str(), signature));
    let outcomes = futures::future::join_all(calls).await;
    world.notes.concurrent = sends
        .into_iter()
        .zip(outcomes)
        .map(|((device, answer, _, _), outcome)| {
            let outcome = outcome.map(|response| serde_json::to_value(response).unwrap_or(Value::Null));
            (device, answer, outcome)
        })
        .collect();
}

#[then(
    expr = "exactly one of them is answered 200 and each other one is refused with status {int}, error {int} {word}"
)]
async fn exactly_one_wins(world: &mut ConformanceWorld, status: u16, code: u32, error_type: String) {
    let outcomes = &world.notes.concurrent;
    let winners: Vec<&(String, Answer, Outcome)> = outcomes.iter().filter(|(_, _, o)| o.is_ok()).collect();
    let [(device, answer, Ok(value))] = winners.as_slice() else {
        fail!("expected exactly one concurrent answer to be answered 200, got {outcomes:?}");
    };
    ensure_eq!(
        value["status"].as_str(),
        Some(status_name(*answer)),
        "expected the winner's status to match its answer, got {value}"
    );
    for (loser, _, outcome) in outcomes.iter().filter(|(_, _, o)| o.is_err()) {
        assert_refused(&format!("the concurrent answer of {loser:?}"), outcome, status, code, &error_type);
    }
    world.notes.winner = Some((device.clone(), *answer));
}

/// The status an answer of this kind reads as.
fn status_name(answer: Answer) -> &'static str {
    match answer {
        Answer::Accept => "accepted",
        Answer::Deny => "denied",
    }
}

// ------------------------------------------------------------------ DER signatures

/// ECDSA P-256 signatures in DER, taken apart and put together again for the high-S and raw forms.
mod der {
    /// The order n of the P-256 group, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
        0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ];

    /// `(r, s)` of `SEQUENCE { INTEGER r, INTEGER s }` (short-form lengths: at most 72 bytes).
    fn integers(der: &[u8]) -> ([u8; 32], [u8; 32]) {
        ensure_eq!(der.first(), Some(&0x30), "a DER signature is a SEQUENCE");
        let mut at = 2;
        let mut next = || {
            ensure_eq!(der.get(at), Some(&0x02), "a DER signature holds two INTEGERs");
            let len = usize::from(der[at + 1]);
            let bytes = &der[at + 2..at + 2 + len];
            at += 2 + len;
            let bytes: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
            let mut out = [0u8; 32];
            out[32 - bytes.len()..].copy_from_slice(&bytes);
            out
        };
        (next(), next())
    }

    fn integer(value: &[u8; 32]) -> Vec<u8> {
        let mut bytes: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
        if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(bytes.len()).expect("at most 33 bytes")];
        out.extend(bytes);
        out
    }

    fn encode(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
        let body = [integer(r), integer(s)].concat();
        let mut out = vec![0x30, u8::try_from(body.len()).expect("at most 70 bytes")];
        out.extend(body);
        out
    }

    /// n - s.
    fn negate(s: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(s[i]) - borrow;
            (out[i], borrow) = if d < 0 { ((d + 256) as u8, 1) } else { (d as u8, 0) };
        }
        out
    }

    /// The same signature with its s in the upper (`high`) or lower half of the group order:
    /// (r, s) and (r, n - s) both verify.
    pub(super) fn with_s(der: &[u8], high: bool) -> Vec<u8> {
        let (r, s) = integers(der);
        let other = negate(&s);
        let s_is_high = s > other;
        encode(&r, if s_is_high == high { &s } else { &other })
    }

    /// The signature as 64 bytes, r then s (the IEEE P1363 form), which is not DER.
    pub(super) fn raw(der: &[u8]) -> Vec<u8> {
        let (r, s) = integers(der);
        [r, s].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judgement::{Failure, NotApplicable};

    fn refusal(code: u32, error_type: &str, calls: Option<Vec<(u16, Option<u32>)>>) -> DriverRefusal {
        let event = |(status, error_code): (u16, Option<u32>)| ServerEvent {
            seq: 1,
            time: OffsetDateTime::UNIX_EPOCH,
            kind: "request".into(),
            method: "POST".into(),
            path: paths::OTP_REQUESTS.into(),
            status,
            error_code,
        };
        DriverRefusal {
            op: "handle_otp".into(),
            code,
            error_type: error_type.into(),
            message: "refused".into(),
            server_calls: calls.map(|calls| calls.into_iter().map(event).collect()),
        }
    }

    /// What `assert_driver_refused` did: `Ok` for a pass, else the panic as text or n/a.
    fn check(refusal: &DriverRefusal, status: u16, code: u32, error_type: &str) -> Result<(), String> {
        std::panic::catch_unwind(|| assert_driver_refused("the request", refusal, status, code, error_type))
            .map_err(|payload| match payload.downcast::<NotApplicable>() {
                Ok(na) => format!("n/a: {}", na.0),
                Err(payload) => payload.downcast::<Failure>().map(|f| f.0).unwrap_or_default(),
            })
    }

    #[test]
    fn a_driven_refusal_is_checked_by_code_and_type_and_the_servers_status() {
        let nf = "MOBILE_AUTH_REQUEST_NOT_FOUND";
        // The server answered the code: its status counts.
        assert_eq!(check(&refusal(10013, nf, Some(vec![(404, Some(10013))])), 404, 10013, nf), Ok(()));
        let wrong_status = check(&refusal(10013, nf, Some(vec![(404, Some(10013))])), 410, 10013, nf);
        assert!(wrong_status.is_err_and(|m| m.contains("with status 404")));
        // No event log: the code and type are all there is to check.
        assert_eq!(check(&refusal(10013, nf, None), 404, 10013, nf), Ok(()));
        // Another code after a server call fails; without any call it is not applicable.
        let other = refusal(9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED", Some(vec![(403, Some(9021))]));
        assert!(
            check(&other, 403, 9023, "MOBILE_AUTHENTICATION_DISENROLLED")
                .is_err_and(|m| !m.starts_with("n/a"))
        );
        let local = refusal(9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED", Some(Vec::new()));
        assert!(
            check(&local, 403, 9023, "MOBILE_AUTHENTICATION_DISENROLLED")
                .is_err_and(|m| m.starts_with("n/a"))
        );
        // The same code given locally has no status to check.
        assert_eq!(check(&local, 403, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED"), Ok(()));
    }
}
