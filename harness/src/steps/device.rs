//! Steps of a device: logging its user in, enrolling, scanning QR codes, handling OTPs and
//! answering them (also in the ways a broken or malicious device would).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cucumber::{given, then, when};
use protocol::ca::TrustAnchor;
use protocol::keys::{KeyPair, signing_string};
use protocol::qr::RenderOptions;
use protocol::wire::{Answer, paths};
use reqwest::Method;

use super::{Expected, assert_outcome, assert_refused};
use crate::device::DeviceError;
use crate::http::{Auth, Payload};
use crate::world::ConformanceWorld;

// ------------------------------------------------------------------ users and enrollment

async fn log_in(world: &mut ConformanceWorld, user: &str, device: &str) {
    let credentials = world.user(user).await;
    world
        .device_or_install(device)
        .log_in(&credentials.username, &credentials.password)
        .await
        .unwrap_or_else(|e| panic!("expected {user:?} to log in on {device:?}, but {e}"));
}

/// Enrolls `device` with a new key, keeping what the step checks afterwards.
async fn enroll(world: &mut ConformanceWorld, name: &str) {
    let previous = world.device_or_install(name).enrollment().cloned();
    if previous.is_some()
        && let Ok(info) = world.device(name).fetch_enrollment().await
    {
        world.enrolled_at_before.insert(name.to_string(), info.enrolled_at);
    }
    let result = world.device(name).enroll().await;
    if let (Ok(_), Some(previous)) = (&result, previous) {
        world.previous_enrollments.insert(name.to_string(), previous);
    }
    world.record(result);
}

#[given(expr = "a user {string}")]
async fn a_user(world: &mut ConformanceWorld, user: String) {
    world.user(&user).await;
}

#[given(expr = "{string} is logged in on the device {string}")]
async fn logged_in(world: &mut ConformanceWorld, user: String, device: String) {
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
    world.device_or_install(&device);
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
    let device_id = world.device_or_install(&device).device_id();
    let key = world.foreign_key();
    let csr = protocol::csr::create_csr(&key, &device_id.to_string()).expect("a CSR for a fresh key builds");
    let body = serde_json::json!({ "device_id": device_id, "csr": csr });
    let result = world
        .target()
        .http()
        .call::<serde_json::Value>(
            Method::POST,
            paths::ENROLLMENTS,
            Auth::None,
            Payload::Json(&body),
            &[200, 201],
        )
        .await
        .map(|(_, value)| value);
    world.record(result);
}

async fn enroll_with_csr(world: &mut ConformanceWorld, device: &str, csr: String) {
    let key = world.foreign_key();
    let result = world.device(device).enroll_with(key, csr).await;
    world.record(result);
}

#[when(expr = "{string} enrolls with the CSR {string}")]
async fn enrolls_with_text(world: &mut ConformanceWorld, device: String, csr: String) {
    enroll_with_csr(world, &device, csr).await;
}

#[when(expr = "{string} enrolls with a CSR whose common name is another device's id")]
async fn enrolls_with_foreign_cn(world: &mut ConformanceWorld, device: String) {
    let key = world.foreign_key();
    let other = protocol::rng::uuid(world.rng());
    let csr = protocol::csr::create_csr(&key, &other.to_string()).expect("a CSR for a fresh key builds");
    enroll_with_csr(world, &device, csr).await;
}

#[when(expr = "{string} enrolls with a CSR whose self-signature does not verify")]
async fn enrolls_with_bad_signature(world: &mut ConformanceWorld, device: String) {
    let key = world.foreign_key();
    let device_id = world.device(&device).device_id().to_string();
    let csr = protocol::csr::create_csr(&key, &device_id).expect("a CSR for a fresh key builds");
    enroll_with_csr(world, &device, corrupt_pem_signature(&csr)).await;
}

/// Flips the last byte of a PEM's DER, which is the last byte of the CSR's signature value, so
/// the structure still parses but the signature no longer verifies.
fn corrupt_pem_signature(pem: &str) -> String {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    let mut der = STANDARD.decode(body).expect("create_csr makes valid PEM");
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    let encoded = STANDARD.encode(der);
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", lines.join("\n"))
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
    let status = last_enrollment_status(world);
    let got = (status, value["user_id"].as_str(), value["re_enrolled"].as_bool());
    assert_eq!(
        got,
        (Some(201), Some(username.as_str()), Some(false)),
        "expected 201 with user_id {username:?} and re_enrolled false, got status {status:?} and {value}"
    );
}

#[then(expr = "{string} is re-enrolled with a new enrollment and a certificate for its new key")]
async fn re_enrolled(world: &mut ConformanceWorld, device: String) {
    let value = world.last_ok("the re-enrollment to succeed").clone();
    let status = last_enrollment_status(world);
    let previous = world
        .previous_enrollments
        .get(&device)
        .unwrap_or_else(|| panic!("{device:?} had no enrollment before"))
        .clone();
    let got = (status, value["re_enrolled"].as_bool());
    assert_eq!(
        got,
        (Some(200), Some(true)),
        "expected 200 with re_enrolled true, got {status:?} and {value}"
    );
    let new_id = value["enrollment_id"].as_str().unwrap_or_default();
    assert_ne!(
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
        .unwrap_or_else(|e| panic!("expected GET enrollment of {device:?} to answer 200, but {e}"));
    if let Some(before) = before {
        assert!(
            info.enrolled_at >= before,
            "expected enrolled_at after re-enrollment to be later or equal to {before}, got {}",
            info.enrolled_at
        );
    }
}

async fn certificate_for_own_key(world: &mut ConformanceWorld, device: &str) {
    let now = world.server_now().await;
    let device = world.device(device);
    let device_id = device.device_id();
    let enrollment = device.enrollment().unwrap_or_else(|| panic!("{device_id} holds no enrollment"));
    let anchor = TrustAnchor::from_pem(&enrollment.ca_certificate)
        .unwrap_or_else(|e| panic!("expected ca_certificate to be a PEM CA certificate, but {e}"));
    let cert = anchor.verify(&enrollment.certificate, now).unwrap_or_else(|e| {
        panic!("expected the certificate to be issued by ca_certificate and valid at {now}, but {e}")
    });
    assert!(
        cert.public_key == enrollment.key.public_key(),
        "expected the certificate to certify the key of the device's CSR, but it certifies another key"
    );
    assert_eq!(cert.device_id, device_id, "expected the certificate's subject CN to be the device_id");
}

#[then(expr = "{string} holds a certificate for its own key issued by the server's CA")]
async fn holds_certificate(world: &mut ConformanceWorld, device: String) {
    certificate_for_own_key(world, &device).await;
}

#[then(expr = "the server reports {string} as enrolled for {string}")]
async fn reports_enrolled(world: &mut ConformanceWorld, device: String, user: String) {
    let username = world.username(&user).to_string();
    let device = world.device(&device);
    let info = device.fetch_enrollment().await.unwrap_or_else(|e| {
        panic!("expected GET enrollment of {} to answer 200, but {e}", device.device_id())
    });
    let certificate = device.enrollment().map(|e| e.certificate.clone());
    assert_eq!(
        (info.device_id, info.user_id.as_str(), Some(info.certificate.clone())),
        (device.device_id(), username.as_str(), certificate),
        "expected GET enrollment to report the device, its user and the certificate issued, got {info:?}"
    );
}

#[then(expr = "the server reports {string} as not enrolled")]
async fn reports_not_enrolled(world: &mut ConformanceWorld, device: String) {
    let outcome = world.device(&device).fetch_enrollment().await.map(|info| info.device_id);
    let outcome = outcome.map(|id| serde_json::json!({ "device_id": id }));
    assert_refused("GET enrollment", &outcome, 404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
}

#[then(expr = "the enrollment gets {string}")]
async fn enrollment_gets(world: &mut ConformanceWorld, expected: String) {
    assert_outcome("the enrollment", world.last(), &Expected::parse(&expected), |value| {
        assert_eq!(value["re_enrolled"].as_bool(), Some(false), "expected a new enrollment, got {value}");
    });
}

// ------------------------------------------------------------------ QR codes and OTPs

fn record_scan(world: &mut ConformanceWorld, device: &str, result: Result<String, DeviceError>) {
    if let Ok(otp) = &result {
        world.scanned.insert(device.to_string(), otp.clone());
    }
    world.record(result);
}

#[when(expr = "{string} scans the QR code")]
async fn scans(world: &mut ConformanceWorld, device: String) {
    let png = world.started_otp().qr_png.clone();
    let result = world.device(&device).scan(&png);
    record_scan(world, &device, result);
}

#[when(
    expr = "{string} scans the QR code through a camera that tilts it {int} degrees and adds {int} % noise"
)]
async fn scans_through_camera(
    world: &mut ConformanceWorld,
    device: String,
    degrees: u32,
    noise_percent: u32,
) {
    let otp = world.started_otp().response.otp.clone();
    let img = protocol::qr::render_luma(&otp, &RenderOptions::default())
        .unwrap_or_else(|e| panic!("the OTP {otp:?} does not render as a QR code: {e}"));
    let seed = protocol::rng::derive_seed(world.seed, "camera");
    let photo =
        camera::photograph(img.as_raw(), img.width(), img.height(), f64::from(degrees), noise_percent, seed);
    let result = world.device(&device).scan(&photo);
    record_scan(world, &device, result);
}

#[then(expr = "{string} read the OTP the portal was given")]
async fn read_the_otp(world: &mut ConformanceWorld, device: String) {
    world.last_ok("the QR code to decode");
    let given = &world.started_otp().response.otp;
    let read = world.scanned.get(&device);
    assert_eq!(read, Some(given), "expected the QR code to hold exactly the OTP from authenticate/user");
}

async fn handle(world: &mut ConformanceWorld, device: &str, otp: String) {
    let result = world.device(device).handle_otp(&otp).await;
    if let Ok(request) = &result {
        world.fetched.insert(device.to_string(), request.clone());
    }
    world.record(result);
}

fn scanned(world: &ConformanceWorld, device: &str) -> String {
    match world.scanned.get(device) {
        Some(otp) => otp.clone(),
        None => panic!("{device:?} must scan the QR code before it handles the OTP"),
    }
}

#[when(expr = "{string} handles the OTP")]
async fn handles(world: &mut ConformanceWorld, device: String) {
    let otp = scanned(world, &device);
    handle(world, &device, otp).await;
}

#[when(expr = "{string} scans the QR code and handles the OTP")]
async fn scans_and_handles(world: &mut ConformanceWorld, device: String) {
    scans(world, device.clone()).await;
    world.last_ok("the portal's QR code to decode");
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

#[then(expr = "{string} shows the message {string}")]
async fn shows_message(world: &mut ConformanceWorld, device: String, message: String) {
    world.last_ok("the request call to succeed");
    let request = world.fetched.get(&device).unwrap_or_else(|| panic!("{device:?} fetched no request"));
    assert_eq!(request.message, message, "expected the request call to answer the portal's message");
    let expected_tx = world.started_otp().response.transaction_id;
    assert_eq!(request.transaction_id, expected_tx, "expected the request of the portal's transaction");
}

#[then(expr = "{string} shows the request")]
async fn shows_request(world: &mut ConformanceWorld, device: String) {
    world.last_ok(&format!("{device:?} to fetch the request"));
}

// ------------------------------------------------------------------ answers

async fn decide(world: &mut ConformanceWorld, device: &str, answer: Answer) {
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

fn parse_answer(answer: &str) -> Answer {
    match answer {
        "accept" => Answer::Accept,
        "deny" => Answer::Deny,
        other => panic!("a scenario answer is \"accept\" or \"deny\", not {other:?}"),
    }
}

/// Answers the request the device fetched last, over its challenge, signed by `key`.
async fn answer_signed_by(world: &mut ConformanceWorld, device: &str, answer: &str, key: &KeyPair) {
    let answer = parse_answer(answer);
    let request = world
        .fetched
        .get(device)
        .unwrap_or_else(|| panic!("{device:?} must fetch the request before it answers"))
        .clone();
    let device = world.device(device);
    let signed = signing_string(request.transaction_id, &request.challenge, answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(request.transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

fn current_key(world: &mut ConformanceWorld, device: &str) -> KeyPair {
    match world.device(device).enrollment() {
        Some(enrollment) => enrollment.key.clone(),
        None => panic!("{device:?} holds no key"),
    }
}

#[when(expr = "{string} answers {string} signed with its current key")]
async fn answers_current_key(world: &mut ConformanceWorld, device: String, answer: String) {
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with its previous key")]
async fn answers_previous_key(world: &mut ConformanceWorld, device: String, answer: String) {
    let Some(previous) = world.previous_enrollments.get(&device) else {
        panic!("{device:?} was never re-enrolled, so it has no previous key");
    };
    let key = previous.key.clone();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} signed with another key")]
async fn answers_another_key(world: &mut ConformanceWorld, device: String, answer: String) {
    let key = world.foreign_key();
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} sends its {string} answer again")]
async fn replays(world: &mut ConformanceWorld, device: String, answer: String) {
    let key = current_key(world, &device);
    answer_signed_by(world, &device, &answer, &key).await;
}

#[when(expr = "{string} answers {string} without fetching a challenge")]
async fn answers_without_challenge(world: &mut ConformanceWorld, device: String, answer: String) {
    let answer = parse_answer(&answer);
    let transaction_id = world.started_otp().response.transaction_id;
    let key = current_key(world, &device);
    let device = world.device(&device);
    let signed = signing_string(transaction_id, "", answer, device.device_id());
    let signature = STANDARD.encode(key.sign(signed.as_bytes()));
    let result = device.answer_raw(transaction_id, answer.as_str(), &signature).await;
    world.record(result);
}

#[then(expr = "the answer is {string}")]
async fn answer_is(world: &mut ConformanceWorld, status: String) {
    let value = world.last_ok(&format!("the answer call to be answered 200 with status {status:?}"));
    assert_eq!(
        value["status"].as_str(),
        Some(status.as_str()),
        "expected the answer call to answer status {status:?}, got {value}"
    );
}

#[then(expr = "{string} answering a new OTP gets {string}")]
async fn answering_new_otp(world: &mut ConformanceWorld, device: String, expected: String) {
    super::portal::start_for_step(world).await;
    let png = world.started_otp().qr_png.clone();
    let otp = world.device(&device).scan(&png).unwrap_or_else(|e| panic!("the portal's QR code: {e}"));
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
            assert_eq!(value["status"].as_str(), Some("accepted"), "expected status accepted, got {value}");
        },
    );
}

/// A camera's view of a QR code: rotated, with salt-and-pepper noise, as PNG bytes.
mod camera {
    use rand_core::Rng as _;

    /// Rotates the grey `pixels` (`width` x `height`) by `degrees` onto a white canvas with
    /// bilinear sampling, sets `noise_percent` % of the pixels to black or white, encodes PNG.
    pub(super) fn photograph(
        pixels: &[u8],
        width: u32,
        height: u32,
        degrees: f64,
        noise_percent: u32,
        seed: u64,
    ) -> Vec<u8> {
        let (w, h) = (f64::from(width), f64::from(height));
        let (sin, cos) = degrees.to_radians().sin_cos();
        let nw = (w * cos.abs() + h * sin.abs()).ceil() + 16.0;
        let nh = (w * sin.abs() + h * cos.abs()).ceil() + 16.0;
        let (out_w, out_h) = (nw as u32, nh as u32);
        let px = |x: f64, y: f64| -> f64 {
            let (x, y) = (x.clamp(0.0, w - 1.0) as u32, y.clamp(0.0, h - 1.0) as u32);
            f64::from(pixels[(y * width + x) as usize])
        };
        let mut rng = protocol::rng::seeded(seed);
        let mut out = Vec::with_capacity((out_w * out_h) as usize);
        for y in 0..out_h {
            for x in 0..out_w {
                let (dx, dy) = (f64::from(x) + 0.5 - nw / 2.0, f64::from(y) + 0.5 - nh / 2.0);
                let sx = cos * dx - sin * dy + w / 2.0 - 0.5;
                let sy = sin * dx + cos * dy + h / 2.0 - 0.5;
                let value = if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
                    255.0
                } else {
                    let (x0, y0) = (sx.floor(), sy.floor());
                    let (fx, fy) = (sx - x0, sy - y0);
                    let top = px(x0, y0) * (1.0 - fx) + px(x0 + 1.0, y0) * fx;
                    let bottom = px(x0, y0 + 1.0) * (1.0 - fx) + px(x0 + 1.0, y0 + 1.0) * fx;
                    top * (1.0 - fy) + bottom * fy
                };
                let roll = rng.next_u32() % 10_000;
                let value = if roll < noise_percent * 50 {
                    0.0
                } else if roll < noise_percent * 100 {
                    255.0
                } else {
                    value
                };
                out.push(value.round().clamp(0.0, 255.0) as u8);
            }
        }
        png_grey(&out, out_w, out_h)
    }

    /// An 8-bit greyscale PNG with stored (uncompressed) deflate blocks.
    fn png_grey(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
        let mut raw = Vec::with_capacity(pixels.len() + height as usize);
        for row in pixels.chunks(width as usize) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut zlib = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
        for (i, block) in blocks.iter().enumerate() {
            zlib.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            zlib.extend_from_slice(&len.to_le_bytes());
            zlib.extend_from_slice(&(!len).to_le_bytes());
            zlib.extend_from_slice(block);
        }
        zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit, greyscale, deflate, no filter, no interlace
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(b"IHDR", ihdr.as_slice()), (b"IDAT", zlib.as_slice()), (b"IEND", &[])] {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = png.len();
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            let crc = crc32(&png[start..]);
            png.extend_from_slice(&crc.to_be_bytes());
        }
        png
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        (b << 16) | a
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
