//! Logging users in and enrolling devices, and the checks of an enrollment's answer
//! (ENR-001, ENR-004 to ENR-009, ENR-013, REN-*).

use cucumber::{given, then, when};
use protocol::wire::{EnrollmentResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::steps::server::set_config_key;
use crate::steps::{Reply, assert_outcome};
use crate::world::{ConformanceWorld, DrivenCall};
use transcript::{Auth, Payload};

use super::certificates::certificate_for_own_key;
use super::csr::{OPENSSL_DEVICE_ID, csr_for};
use super::reading::{reports_not_enrolled, server_enrollment};

pub(super) async fn log_in(world: &mut ConformanceWorld, user: &str, device: &str) {
    world.device_handle(device).log_in(user).await;
}

pub(super) async fn enroll(world: &mut ConformanceWorld, name: &str) {
    world.device_handle(name).enroll().await;
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
        .device_handle(&device)
        .simulated("a device id of the scenario's choosing (the OpenSSL-made CSRs' CN)")
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
    let device_id = world.device_handle(&device).simulated(needs).device_id();
    let key = world.foreign_key();
    let csr = protocol::csr::create_csr(&key, &device_id.to_string()).expect("a CSR for a fresh key builds");
    let body = json!({ "device_id": device_id, "csr": csr });
    send_enrollment(world, None, &body).await;
}

/// POSTs an enrollment body as given, with `token` as the bearer token.
pub(super) async fn send_enrollment(world: &mut ConformanceWorld, token: Option<&str>, body: &Value) {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    let result = world
        .target()
        .http()
        .call::<Value>(Method::POST, paths::ENROLLMENTS, auth, Payload::Json(body), &[200, 201])
        .await
        .map(|(_, value)| value);
    world.record(result);
}

pub(super) fn token(world: &mut ConformanceWorld, device: &str) -> String {
    match world
        .device_handle(device)
        .simulated("its access token, for a request of the scenario's making")
        .access_token()
    {
        Some(token) => token.to_string(),
        None => fail!("{device:?} has no user logged in"),
    }
}

#[when(regex = r#"^"([^"]+)" enrolls again with (.+)$"#)]
async fn enrolls_again_with_problems(world: &mut ConformanceWorld, device: String, problems: String) {
    // Problems of the server's configuration alone leave the request the device's own: the
    // driver's device sends it with `enroll`. A simulated device sends one of the scenario's
    // making even then (a fresh key and CSR), so this is no operation of the device handle.
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
        return world.device_handle(&device).enroll().await;
    }
    let needs = format!("an enrollment request of the scenario's making ({problems})");
    let id = world.device_handle(&device).simulated(&needs).device_id().to_string();
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

/// The driver's enrollment: `re_enrolled` false, and the server's enrollment of the device for
/// `user`, as `GET enrollment` shows it. The 201 of the server's answer to the SDK is in no reply
/// the harness gets (the driver protocol does not carry it, and the event log is not read for it).
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

/// Where the contract leaves a form of the request open (a device_id in another UUID spelling, a
/// CSR in a lax PEM form), a server may take the enrollment or refuse it as malformed: a success
/// is checked as a new enrollment, and a refusal must be the one given and change nothing.
#[then(expr = "the enrollment of {string} is created for {string} or refused with {reply}")]
async fn enrollment_created_or_refused(
    world: &mut ConformanceWorld,
    device: String,
    user: String,
    expected: Reply,
) {
    if world.last().is_ok() {
        return enrollment_created(world, user).await;
    }
    assert_outcome("the enrollment", world.last(), &expected, |_| {});
    reports_not_enrolled(world, device).await;
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
    let device_id = world
        .device_handle(&device)
        .simulated("the server's enrollment answer (its enrollment_id)")
        .device_id();
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
    if world.last_driven.is_some() {
        // The driver answers enroll with re_enrolled alone: that much is checked before the
        // step needs what only a simulated device holds.
        ensure_eq!(
            value["re_enrolled"].as_bool(),
            Some(true),
            "expected the device driver to answer enroll with re_enrolled true, got {value}"
        );
    }
    world
        .device_handle(&device)
        .simulated("the server's enrollment answer (its enrollment_id) and the certificate");
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
