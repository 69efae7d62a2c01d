//! Answer calls: the user's decision, and answers signed in every way the suite sends
//! (OTP-009, OTP-010, OTP-012 to OTP-016, OTP-020).

use cucumber::{then, when};
use forge::answer::{SignatureForm, SigningParts};
use protocol::keys::KeyPair;
use protocol::wire::{Answer, OtpRequestResponse};
use serde_json::json;
use uuid::Uuid;

use crate::steps::{Reply, assert_outcome};
use crate::world::ConformanceWorld;

use super::otp::scans_and_handles;
use super::outcomes::assert_one_of;

pub(super) async fn decide(world: &mut ConformanceWorld, device: &str, answer: Answer) {
    world.device_handle(device).decide(answer).await;
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

pub(super) fn parse_answer(answer: &str) -> Answer {
    match answer {
        "accept" => Answer::Accept,
        "deny" => Answer::Deny,
        other => fail!("a scenario answer is \"accept\" or \"deny\", not {other:?}"),
    }
}

pub(super) fn fetched(world: &ConformanceWorld, device: &str) -> OtpRequestResponse {
    match world.fetched.get(device) {
        Some(request) => request.clone(),
        None => fail!("{device:?} must fetch the request before it answers"),
    }
}

/// Sends `answer` to `transaction_id` from `device`, signed by `key` over `challenge`.
pub(super) async fn send_signed(
    world: &mut ConformanceWorld,
    device: &str,
    key: &KeyPair,
    (transaction_id, challenge): (Uuid, &str),
    answer: Answer,
) {
    let device = world.device(device);
    let signed = device.signed_answer(key, transaction_id, challenge, answer);
    let result = device.send_answer(&signed).await;
    world.record(result);
}

/// Answers the request the device fetched last, over its challenge, signed by `key`.
async fn answer_signed_by(world: &mut ConformanceWorld, device: &str, answer: &str, key: &KeyPair) {
    let answer = parse_answer(answer);
    let request = fetched(world, device);
    send_signed(world, device, key, (request.transaction_id, &request.challenge), answer).await;
}

pub(super) fn current_key(world: &mut ConformanceWorld, device: &str) -> KeyPair {
    match world
        .device_handle(device)
        .simulated("its key (to sign an answer of the scenario's making)")
        .enrollment()
    {
        Some(enrollment) => enrollment.key.clone(),
        None => fail!("{device:?} holds no key"),
    }
}

#[when(expr = "{string} answers {string} signed with its current key")]
async fn answers_current_key(world: &mut ConformanceWorld, device: String, answer: String) {
    if world.is_driven(&device) {
        // Not one of the handle's operations: the SDK signs with its current key over the
        // challenge of the request it shows, as the user's decision, where a simulated device
        // sends an answer of the scenario's making, signed with the key the harness holds for it.
        let what = "with its current key";
        return world.device_handle(&device).decide_if_showing(parse_answer(&answer), what).await;
    }
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with its previous key")]
async fn answers_previous_key(world: &mut ConformanceWorld, device: String, answer: String) {
    world.device_handle(&device).simulated("its previous key (to sign an answer of the scenario's making)");
    let Some(previous) = world.previous_enrollments.get(&device) else {
        fail!("{device:?} was never re-enrolled, so it has no previous key");
    };
    let key = previous.key.clone();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with another key")]
async fn answers_another_key(world: &mut ConformanceWorld, device: String, answer: String) {
    world
        .device_handle(&device)
        .simulated("an answer call of the scenario's making (signed with another key)");
    let key = world.foreign_key();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} sends its {string} answer again")]
async fn replays(world: &mut ConformanceWorld, device: String, answer: String) {
    world.device_handle(&device).simulated("its signed answer sent again");
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} over its first challenge")]
async fn answers_first_challenge(world: &mut ConformanceWorld, device: String, answer: String) {
    world.device_handle(&device).simulated("an answer over a challenge it is no longer showing");
    let answer = parse_answer(&answer);
    let first = world.notes.fetches.get(&device).and_then(|f| f.first()).cloned();
    let first = first.unwrap_or_else(|| fail!("{device:?} fetched no request"));
    let key = current_key(world, &device);
    send_signed(world, &device, &key, (first.transaction_id, &first.challenge), answer).await;
}

#[when(expr = "{string} answers {string} without fetching a challenge")]
async fn answers_without_challenge(world: &mut ConformanceWorld, device: String, answer: String) {
    world.device_handle(&device).simulated("an answer call of the scenario's making (without a challenge)");
    let answer = parse_answer(&answer);
    let transaction_id = world.started_otp().response.transaction_id;
    let key = current_key(world, &device);
    send_signed(world, &device, &key, (transaction_id, ""), answer).await;
}

#[when(expr = "{string} answers {string} signed over the challenge {string} was given")]
async fn answers_over_anothers_challenge(
    world: &mut ConformanceWorld,
    device: String,
    answer: String,
    owner: String,
) {
    world
        .device_handle(&device)
        .simulated("an answer call of the scenario's making (over another device's challenge)");
    world.device_handle(&owner).simulated("the challenge a device was given, which an SDK keeps to itself");
    let answer = parse_answer(&answer);
    let challenge = fetched(world, &owner).challenge.clone();
    let transaction_id = world.started_otp().response.transaction_id;
    let key = current_key(world, &device);
    // Signed correctly with this device's own key and id: only the challenge is not its own.
    send_signed(world, &device, &key, (transaction_id, &challenge), answer).await;
}

#[when(expr = "{string} answers {string} for a transaction that does not exist")]
async fn answers_unknown_transaction(world: &mut ConformanceWorld, device: String, answer: String) {
    world
        .device_handle(&device)
        .simulated("an answer call of the scenario's making (for an unknown transaction)");
    let answer = parse_answer(&answer);
    let transaction_id = protocol::rng::uuid(world.rng());
    let key = current_key(world, &device);
    send_signed(world, &device, &key, (transaction_id, ""), answer).await;
}

/// The signature an answer carries, as the feature files name it.
fn signature_for(world: &mut ConformanceWorld, device: &str, answer: Answer, what: &str) -> String {
    let request = fetched(world, device);
    let device_id = world.device(device).device_id();
    let own = SigningParts {
        transaction_id: request.transaction_id,
        challenge: request.challenge.clone(),
        answer,
        device_id,
    };
    let key = current_key(world, device);
    let sign = |parts: SigningParts| forge::answer::signature(&key, &parts);
    let in_form = |form: SignatureForm| {
        forge::answer::signature_in_form(&key, &own.text(), &form)
            .unwrap_or_else(|e| panic!("our own signature takes the form {form:?} (a harness bug): {e}"))
    };
    match what {
        "a signature over the signing string" => sign(own.clone()),
        "the low-S form of a signature over the signing string" => in_form(SignatureForm::LowS),
        "the high-S form of a signature over the signing string" => in_form(SignatureForm::HighS),
        "a signature by another key" => forge::answer::signature(&world.foreign_key(), &own),
        "a signature over the signing string of another transaction" => {
            sign(SigningParts { transaction_id: protocol::rng::uuid(world.rng()), ..own.clone() })
        }
        "a signature over the signing string with the answer deny" => {
            sign(SigningParts { answer: Answer::Deny, ..own.clone() })
        }
        "a signature over the signing string of another device" => {
            sign(SigningParts { device_id: protocol::rng::uuid(world.rng()), ..own.clone() })
        }
        "a signature over the signing string with the challenge's padding changed" => {
            let challenge = forge::b64::padding_changed(&own.challenge)
                .unwrap_or_else(|e| fail!("the challenge is not base64 of 32 bytes: {e}"));
            sign(SigningParts { challenge, ..own.clone() })
        }
        "a signature over the signing string with mobile-auth-v2 first" => {
            forge::answer::signature_over(&key, &forge::answer::with_version(&own.text(), "mobile-auth-v2"))
        }
        "a signature over the signing string with a line break at its end" => {
            forge::answer::signature_over(&key, &format!("{}\n", own.text()))
        }
        "base64 of bytes that are not a DER signature" => forge::answer::not_a_signature(),
        "base64 of the signature as 64 raw bytes of r and s" => in_form(SignatureForm::Raw),
        "base64 of the DER signature followed by a zero byte" => in_form(SignatureForm::TrailingZero),
        other => fail!("no such signature in this suite: {other:?}"),
    }
}

#[when(regex = r#"^"([^"]+)" answers "(accept|deny)" with (.+)$"#)]
async fn answers_with(world: &mut ConformanceWorld, device: String, answer: String, what: String) {
    let answer = parse_answer(&answer);
    let own = what == "whatever key and challenge it has" || what == "a signature over the signing string";
    if own && world.is_driven(&device) {
        // Not one of the handle's operations: the SDK's own answer is a signature over the
        // signing string with whatever key it has, as the user's decision on the request it
        // shows, where a simulated device sends one of the scenario's making.
        return world.device_handle(&device).decide_if_showing(answer, &what).await;
    }
    if !own {
        world.device_handle(&device).simulated(&format!("an answer of the scenario's making ({what})"));
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
    send_signed(world, device, &key, (transaction_id, &challenge), answer).await;
}

#[then(expr = "the answer is {string}")]
async fn answer_is(world: &mut ConformanceWorld, status: String) {
    let value = world.last_ok(&format!("the answer call to be answered 200 with status {status:?}")).clone();
    ensure_eq!(
        value["status"].as_str(),
        Some(status.as_str()),
        "expected the answer call to answer status {status:?}, got {value}"
    );
    if world.last_driven.is_some() {
        // handle_otp's reply carries the status only (its request's transaction was checked when
        // it showed). The server's answer to the SDK is in no reply the harness gets, so the
        // transaction's status is read where the contract shows it: GET transaction.
        if world.otp.is_some() {
            let transaction_id = world.started_otp().response.transaction_id.to_string();
            let read = world.portal().await.transaction(&transaction_id).await;
            let read = read.unwrap_or_else(|e| fail!("expected GET transaction to answer 200, but {e}"));
            ensure_eq!(
                serde_json::to_value(read.status).ok(),
                Some(json!(status)),
                "expected the transaction the SDK answered to read as {status:?}, got {read:?}"
            );
        }
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

/// The answer call's outcome: `accepted`, `denied`, a refusal, or several of these joined by
/// " or " where the contract lets a server choose ([`assert_one_of`]).
#[then(expr = "the answer call gets {string}")]
async fn answer_call_gets(world: &mut ConformanceWorld, reply: String) {
    assert_one_of("the answer call", world.last(), &reply, |status, value| {
        value["status"].as_str() == Some(status)
    });
}

#[then(expr = "{string} answering a new OTP gets \"{reply}\"")]
pub(super) async fn answering_new_otp(world: &mut ConformanceWorld, device: String, expected: Reply) {
    crate::steps::portal::start_for_step(world).await;
    scans_and_handles(world, device.clone()).await;
    if world.last().is_ok() {
        decide(world, &device, Answer::Accept).await;
    }
    assert_outcome(&format!("{device:?} handling an OTP"), world.last(), &expected, |value| {
        ensure_eq!(value["status"].as_str(), Some("accepted"), "expected status accepted, got {value}");
    });
}
