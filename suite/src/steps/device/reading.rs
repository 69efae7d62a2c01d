//! The server's view of an enrollment (GET), deleting one (DELETE, the admin's removal,
//! disenrollment by another device) (ENR-010 to ENR-013, REN-006).

use cucumber::{given, then, when};
use protocol::wire::{EnrollmentInfo, paths};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::judgement::OrFail as _;
use crate::steps::server::admin;
use crate::steps::{Reply, assert_outcome};
use crate::world::ConformanceWorld;
use peers::device::DeviceError;
use protocol::error::ErrorCode;
use transcript::{Auth, Payload};

use super::answers::answering_new_otp;
use super::enrollment::{enroll, log_in, token};

async fn device_id(world: &mut ConformanceWorld, name: &str) -> Uuid {
    world.device_handle(name).device_id().await
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
    world.device_handle(name).username()
}

/// The server's view of the enrollment of the device called `name`: `GET enrollment` with the
/// device's own token, or for the driver's device (whose token an SDK keeps to itself) with a
/// token of the user logged in on it, from a session of that user's own.
pub(super) async fn server_enrollment(
    world: &mut ConformanceWorld,
    name: &str,
) -> Result<EnrollmentInfo, DeviceError> {
    if !world.is_driven(name) {
        // Not one of the handle's operations: a simulated device asks with its own token, which
        // an SDK keeps to itself, so for the driver's device a session of its user's own asks.
        return world.device(name).fetch_enrollment().await;
    }
    let Some(username) = device_username(world, name) else {
        return Err(DeviceError::NotAuthenticated);
    };
    let user = user_name_of(world, &username);
    let token = session_token(world, &user).await;
    let path = format!("{}/{}", paths::ENROLLMENTS, device_id(world, name).await);
    let (_, info) =
        world.target().http().call(Method::GET, &path, Auth::Bearer(&token), Payload::Empty, &[200]).await?;
    Ok(info)
}

#[then(expr = "the server reports {string} as enrolled for {string}")]
async fn reports_enrolled(world: &mut ConformanceWorld, device: String, user: String) {
    let username = world.username(&user).to_string();
    if world.is_driven(&device) {
        // Not one of the handle's operations: the certificate an SDK holds is not visible, so for
        // the driver's device the device and its user are compared, without the certificate.
        let device_id = device_id(world, &device).await;
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
pub(super) async fn reports_not_enrolled(world: &mut ConformanceWorld, device: String) {
    let outcome = server_enrollment(world, &device).await.map(|info| info.device_id);
    let outcome = outcome.map(|id| json!({ "device_id": id }));
    let not_enrolled = ErrorCode::MobileAuthenticationNotEnrolled;
    assert_outcome(
        "GET enrollment",
        &outcome,
        &Reply::Refused { status: Some(404), code: not_enrolled },
        |_| {},
    );
}

#[then(expr = "the enrollment gets \"{reply}\"")]
async fn enrollment_gets(world: &mut ConformanceWorld, expected: Reply) {
    assert_outcome("the enrollment", world.last(), &expected, |value| {
        ensure_eq!(value["re_enrolled"].as_bool(), Some(false), "expected a new enrollment, got {value}");
    });
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

#[then(expr = "the enrollment call gets \"{reply}\"")]
async fn enrollment_call_gets(world: &mut ConformanceWorld, expected: Reply) {
    assert_outcome("the enrollment call", world.last(), &expected, |_| {});
}

/// The device deletes its own enrollment; its key is kept as its previous one.
#[when(expr = "{string} deletes its enrollment")]
async fn deletes_own(world: &mut ConformanceWorld, device: String) {
    let mut handle = world.device_handle(&device);
    let result = handle.disenroll().await;
    handle.record(result);
}

#[then("the enrollment is deleted with status 204 and no body")]
async fn deleted_204(world: &mut ConformanceWorld) {
    world.last_ok("DELETE enrollment to answer 204");
    if let Some(call) = world.last_driven.clone() {
        // The driver answers {} (DRV-023); the status and body of the server's answer to the SDK
        // are in no reply the harness gets, and the event log is not read for them (the contract
        // fixes only the entries' `seq`).
        crate::judgement::not_applicable(format!(
            "this step reads the status and body of the server's answer to the DELETE of {:?}, the \
             device driver's device, which an SDK does not pass on through the driver protocol",
            call.device
        ));
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
    world
        .device_handle(&device)
        .disenroll()
        .await
        .unwrap_or_else(|e| fail!("expected {device:?} to delete its enrollment, but {e}"));
}

pub(super) async fn remove_by_admin(world: &mut ConformanceWorld, device: &str) {
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
pub(super) async fn replace(world: &mut ConformanceWorld, device: &str) {
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

#[then(expr = "the device that replaced {string} answering a new OTP gets \"{reply}\"")]
async fn replacement_answers(world: &mut ConformanceWorld, device: String, expected: Reply) {
    let replacement = world.notes.replaced_by.get(&device).cloned();
    let replacement = replacement.unwrap_or_else(|| fail!("no device replaced {device:?}"));
    answering_new_otp(world, replacement, expected).await;
}
