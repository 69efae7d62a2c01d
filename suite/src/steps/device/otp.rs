//! Scanning QR codes, handling OTPs (the request call), and the checks of the request's
//! answer (OTP-001 to OTP-007, OTP-013).

use cucumber::{given, then, when};
use forge::otp::{SECRET_CHARACTER, SecretBit, VERSION_CHARACTER};
use protocol::wire::OtpRequestResponse;

use crate::judgement::OrFail as _;
use crate::world::ConformanceWorld;

#[when(expr = "{string} scans the QR code")]
async fn scans(world: &mut ConformanceWorld, device: String) {
    // A simulated device's decoding is the recorded outcome, checked by the `Then` steps.
    let _ = world.device_handle(&device).scan();
}

#[then(expr = "{string} read the OTP the portal was given")]
async fn read_the_otp(world: &mut ConformanceWorld, device: String) {
    if world.is_driven(&device) {
        // Not the handle's to say: a simulated device decodes the picture when it scans, with an
        // outcome of its own, but an SDK reads the image when it handles it and shows no OTP.
        // What it read shows in the request it then shows, which must be the transaction of the
        // portal's OTP (the handle checks open_auth_otp's transaction_id against the image's OTP).
        let camera = world.device_handle(&device).scanned();
        let given = &world.started_otp().response.otp;
        ensure!(
            camera.as_ref() == Some(given),
            "expected {device:?} to have the portal's QR code in its camera"
        );
        return;
    }
    world.last_ok("the QR code to decode");
    let given = world.started_otp().response.otp.clone();
    let read = world.device_handle(&device).scanned();
    ensure_eq!(read, Some(given), "expected the QR code to hold exactly the OTP from authenticate/user");
}

pub(super) async fn handle(world: &mut ConformanceWorld, device: &str, otp: String) {
    world.device_handle(device).handle_otp(otp).await;
}

/// The OTP `device` read from the QR code last (for the driver's device, the one in the image its
/// camera saw).
pub(super) fn scanned(world: &mut ConformanceWorld, device: &str) -> String {
    match world.device_handle(device).scanned() {
        Some(otp) => otp,
        None => fail!("{device:?} must scan the QR code before it handles the OTP"),
    }
}

#[when(expr = "{string} handles the OTP")]
async fn handles(world: &mut ConformanceWorld, device: String) {
    world.device_handle(&device).handle_scanned().await;
}

#[when(expr = "{string} scans the QR code and handles the OTP")]
pub(super) async fn scans_and_handles(world: &mut ConformanceWorld, device: String) {
    let mut handle = world.device_handle(&device);
    if let Err(e) = handle.scan() {
        fail!("expected the portal's QR code to decode, but the call failed: {e}");
    }
    handle.handle_scanned().await;
}

#[given(expr = "{string} has scanned the QR code and fetched the request")]
async fn has_fetched(world: &mut ConformanceWorld, device: String) {
    scans_and_handles(world, device.clone()).await;
    world.last_ok(&format!("{device:?} to fetch the request"));
}

/// Replaces the base64 character at `index` by another one of the same class, keeping the OTP
/// canonical base64 of 49 bytes.
pub(super) fn tamper(otp: &str, index: usize) -> String {
    forge::otp::character_changed(otp, index).unwrap_or_else(|e| {
        fail!("expected the OTP to be 68 characters of base64 (OTP-001), got {otp:?}: {e}")
    })
}

#[when(expr = "{string} handles the OTP with one character of its secret changed")]
async fn handles_changed_secret(world: &mut ConformanceWorld, device: String) {
    let otp = tamper(&scanned(world, &device), SECRET_CHARACTER);
    handle(world, &device, otp).await;
}

#[when(expr = "{string} handles the OTP with its format version changed")]
async fn handles_changed_version(world: &mut ConformanceWorld, device: String) {
    // The first character holds the top six bits of the version byte 0x01, so it is always 'A'.
    let otp = tamper(&scanned(world, &device), VERSION_CHARACTER);
    handle(world, &device, otp).await;
}

#[when(regex = r#"^"([^"]+)" handles the OTP with the (first|last) bit of its secret flipped$"#)]
async fn handles_flipped_bit(world: &mut ConformanceWorld, device: String, which: String) {
    let scanned = scanned(world, &device);
    let bit = if which == "first" { SecretBit::First } else { SecretBit::Last };
    let otp = forge::otp::secret_bit_flipped(&scanned, bit).unwrap_or_else(|e| {
        fail!("expected the OTP to be standard base64 of 49 bytes (OTP-001), got {scanned:?}: {e}")
    });
    handle(world, &device, otp).await;
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
        .admin_for(peers::target::Capability::Config)
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
    let shown = world.device_handle(&device).shown();
    let Some(shown) = shown else { fail!("{device:?} showed no request") };
    let expected_tx = world.started_otp().response.transaction_id.to_string();
    ensure_eq!(
        (shown.0.as_str(), shown.1.as_str()),
        (expected_tx.as_str(), message.as_str()),
        "expected {device:?} to show the portal's transaction and message (the request call's answer, or \
         the device driver's open_auth_otp)"
    );
}

#[then(expr = "{string} shows the request")]
async fn shows_request(world: &mut ConformanceWorld, device: String) {
    world.last_ok(&format!("{device:?} to fetch the request"));
}

#[then(expr = "{string} was given the request of type {string} with the message {string}")]
async fn given_request(world: &mut ConformanceWorld, device: String, otp_type: String, message: String) {
    world.last_ok("the request call to succeed");
    world.device_handle(&device).simulated("the server's answer to the request call (its type)");
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
    world
        .device_handle(&device)
        .simulated("the server's answer to the request call (its times and challenge)");
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

/// OTP-005: "base64 of 32 random bytes", in any of its spellings (OTP-005 readings): padded or
/// not, in the standard or the URL-safe alphabet. The device signs it exactly as sent.
#[then("the request's challenge is base64 of 32 bytes")]
async fn challenge_shape(world: &mut ConformanceWorld) {
    let challenge = last_request(world).challenge;
    let decoded = forge::b64::decode_any_spelling(&challenge);
    ensure!(
        decoded.is_some_and(|bytes| bytes.len() == 32),
        "expected the challenge to be base64 (standard or URL-safe, padded or not) of 32 bytes, got \
         {challenge:?}"
    );
}

#[then(expr = "{string} was given a challenge it was not given before")]
async fn new_challenge(world: &mut ConformanceWorld, device: String) {
    world.last_ok("the request call to succeed");
    world.device_handle(&device).simulated("the challenges the server gave it");
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
