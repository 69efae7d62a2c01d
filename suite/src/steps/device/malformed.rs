//! Malformed request and answer calls (OTP-011) and calls with several problems at once, for
//! the check orders (OTP-017, OTP-018).

use cucumber::{then, when};
use forge::otp::{SECRET_CHARACTER, VERSION_CHARACTER};
use protocol::wire::{Answer, OtpRequestResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::steps::server::{move_to_before_expiry, set_config_key};
use crate::world::ConformanceWorld;
use transcript::{Auth, Payload};

use super::answers::{current_key, decide, fetched};
use super::enrollment::token;
use super::otp::{handle, scanned, tamper};
use super::outcomes::assert_one_of;
use super::reading::{remove_by_admin, replace};

/// The scanned OTP changed by a forge, which refuses only an OTP that is not of the contract's
/// form (OTP-001).
fn otp_forged(otp: &str, forged: Result<String, forge::ForgeError>) -> String {
    forged.unwrap_or_else(|e| {
        fail!("expected the OTP to be 68 characters of base64 of 49 bytes (OTP-001), got {otp:?}: {e}")
    })
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
    world.device_handle(&device).simulated(&format!("a request call of the scenario's making ({what})"));
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
        "the OTP with its format version changed" => {
            json!({ "device_id": id, "otp": tamper(&otp, VERSION_CHARACTER) })
        }
        "the OTP without its padding" => json!({ "device_id": id, "otp": otp.trim_end_matches('=') }),
        "the OTP with a character that is not base64" => {
            let bad = otp_forged(&otp, forge::otp::character_replaced(&otp, SECRET_CHARACTER, |_| '*'));
            json!({ "device_id": id, "otp": bad })
        }
        "the OTP with a space at its end" => json!({ "device_id": id, "otp": format!("{otp} ") }),
        "the OTP with non-zero unused bits at its end" => {
            json!({ "device_id": id, "otp": otp_forged(&otp, forge::b64::with_unused_bits_set(&otp)) })
        }
        "the OTP cut to 48 bytes" => {
            json!({ "device_id": id, "otp": otp_forged(&otp, forge::otp::bytes_changed(&otp, |b| b.truncate(48))) })
        }
        "the OTP with a 50th byte" => {
            json!({ "device_id": id, "otp": otp_forged(&otp, forge::otp::bytes_changed(&otp, |b| b.push(0))) })
        }
        other => fail!("no such request call in this suite: {other:?}"),
    };
    let token = token(world, &device);
    send_otp_request(world, &device, Some(&token), &body).await;
}

#[when(regex = r#"^"([^"]+)" sends an answer call with (.+)$"#)]
async fn sends_answer_call(world: &mut ConformanceWorld, device: String, what: String) {
    world.device_handle(&device).simulated(&format!("an answer call of the scenario's making ({what})"));
    if let Some(problems) = what.strip_prefix("these problems: ") {
        return answer_call_with_problems(world, &device, problems).await;
    }
    let request = fetched(world, &device);
    let id = world.device(&device).device_id();
    let key = current_key(world, &device);
    let signed =
        world.device(&device).signed_answer(&key, request.transaction_id, &request.challenge, Answer::Accept);
    let signature = signed.signature;
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
            let broken = forge::answer::with_line_break(&signature, 20)
                .unwrap_or_else(|e| panic!("our own signature is longer than 20 characters: {e}"));
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
        otp = tamper(&otp, VERSION_CHARACTER);
    }
    if p.wrong_secret {
        otp = tamper(&otp, SECRET_CHARACTER);
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
        world.device(device).signed_answer(&key, transaction_id, &challenge, Answer::Accept).signature
    };
    let answer = if p.answer_maybe { "maybe" } else { "accept" };
    let body = json!({ "device_id": device_id, "answer": answer, "signature": signature });
    let token = (!p.no_token).then(|| token(world, device));
    send_answer(world, token.as_deref(), transaction_id, &body).await;
}

/// The outcome of a call of the scenario's making: `answered` (any success), a refusal, or
/// several of these joined by " or " where the contract lets a server choose.
#[then(expr = "{string} gets {string}")]
async fn device_gets(world: &mut ConformanceWorld, device: String, reply: String) {
    assert_one_of(&format!("the call of {device:?}"), world.last(), &reply, |_, _| true);
}
