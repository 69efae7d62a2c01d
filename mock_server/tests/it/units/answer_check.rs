//! The answer call's signature check made ahead, outside the server's lock
//! (`TokenServer::answer_signature`, `SignatureInputs::check`, `TokenServer::otp_answer_checked`):
//! its outcome counts only for the inputs it was made of, so a check made before the state changed
//! never decides the call.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mock_server::ServerFile;
use mock_server::core::TokenServer;
use protocol::keys::{KeyPair, signing_string};
use protocol::wire::{Answer, AnswerBody, AuthenticateUserForm, EnrollmentRequest, OtpRequestBody};
use time::OffsetDateTime;
use uuid::Uuid;

/// A server with alice's device enrolled: the server, her token, the device and its key.
fn enrolled() -> (TokenServer, String, Uuid, KeyPair, OffsetDateTime) {
    let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let file = ServerFile::parse(include_str!("../../../../fixtures/servers/default.toml"), "default")
        .expect("the default fixture parses");
    let mut server = TokenServer::new(file.seed(), protocol::rng::seeded(3), now).expect("a CA can be made");
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "alice-password")]
        .into_iter()
        .chain([("client_id", "mobauth-app")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let token = server.token(Ok(form), now).expect("alice's password is right").access_token;
    let mut rng = protocol::rng::seeded(4);
    let device = protocol::rng::uuid(&mut rng);
    let key = KeyPair::generate(&mut rng);
    let csr = protocol::csr::create_csr(&key, &device.to_string()).expect("a CSR of a fresh key");
    server
        .enroll(Some(&token), Ok(EnrollmentRequest { device_id: device.to_string(), csr }), now)
        .expect("alice's first device enrolls");
    (server, token, device, key, now)
}

/// Starts a transaction and fetches it on the device: its id, its OTP and the device's challenge.
fn started(
    server: &mut TokenServer,
    token: &str,
    device: Uuid,
    now: OffsetDateTime,
) -> (Uuid, String, String) {
    let form = AuthenticateUserForm {
        otp_type: Some("qr-code".into()),
        callback_uri: Some("http://127.0.0.1:9/cb".into()),
        ..AuthenticateUserForm::default()
    };
    let client = Some(("portal".to_string(), "portal-secret".to_string()));
    let tx = server.authenticate_user(client, Ok(form), now).expect("the portal starts a transaction");
    let challenge = fetch(server, token, device, &tx.otp, now);
    (tx.transaction_id, tx.otp, challenge)
}

fn fetch(server: &mut TokenServer, token: &str, device: Uuid, otp: &str, now: OffsetDateTime) -> String {
    let body = OtpRequestBody { device_id: device.to_string(), otp: otp.to_string() };
    server.otp_request(Some(token), Ok(body), now).expect("the device fetches the transaction").challenge
}

fn answer(key: &KeyPair, tx: Uuid, challenge: &str, device: Uuid) -> AnswerBody {
    let signature = key.sign(signing_string(tx, challenge, Answer::Accept, device).as_bytes());
    AnswerBody {
        device_id: device.to_string(),
        answer: "accept".into(),
        signature: STANDARD.encode(signature),
    }
}

#[test]
fn a_check_made_ahead_decides_only_its_own_inputs() {
    let (mut server, token, device, key, now) = enrolled();

    // Made ahead on the same state: the call takes it and accepts.
    let (tx, _, challenge) = started(&mut server, &token, device, now);
    let body = Ok(answer(&key, tx, &challenge, device));
    let id = tx.to_string();
    let checked = server.answer_signature(Some(&token), &id, &body, now).map(|i| i.check());
    assert!(checked.is_some(), "a well-formed answer to an open transaction has a check to make");
    let reply = server
        .otp_answer_checked(Some(&token), &id, body, now, checked.as_ref())
        .expect("a valid signature checked ahead is accepted");
    assert_eq!(reply.transaction_id, tx);

    // Checked ahead as valid, then the device fetched a new challenge: the call signs a string of
    // its own, so it checks again, and the signature of the replaced challenge fails.
    let (tx, otp, old) = started(&mut server, &token, device, now);
    let id = tx.to_string();
    let body = Ok(answer(&key, tx, &old, device));
    let stale = server.answer_signature(Some(&token), &id, &body, now).map(|i| i.check());
    assert!(stale.is_some());
    let new = fetch(&mut server, &token, device, &otp, now);
    assert_ne!(old, new, "each fetch draws a new challenge");
    let refused = server
        .otp_answer_checked(Some(&token), &id, body, now, stale.as_ref())
        .expect_err("a signature of a replaced challenge is refused, whatever was checked ahead");
    assert_eq!(refused.code(), Some(10019));

    // A valid check of one signature does not decide another one's answer.
    let good = Ok(answer(&key, tx, &new, device));
    let checked = server.answer_signature(Some(&token), &id, &good, now).map(|i| i.check());
    let wrong = Ok(AnswerBody { signature: STANDARD.encode(b"\x30\x00"), ..answer(&key, tx, &new, device) });
    let refused = server
        .otp_answer_checked(Some(&token), &id, wrong, now, checked.as_ref())
        .expect_err("a malformed signature is refused even with a valid check of another");
    assert_eq!(refused.code(), Some(10019));
    let reply = server
        .otp_answer_checked(Some(&token), &id, good, now, checked.as_ref())
        .expect("the valid signature is still accepted after the refusal");
    assert_eq!(reply.transaction_id, tx);
}

#[test]
fn no_check_is_made_for_an_answer_the_call_refuses_first() {
    let (mut server, token, device, key, now) = enrolled();
    let (tx, _, challenge) = started(&mut server, &token, device, now);
    let id = tx.to_string();
    let body = Ok(answer(&key, tx, &challenge, device));
    assert!(server.answer_signature(Some("nope"), &id, &body, now).is_none(), "unknown token");
    assert!(server.answer_signature(Some(&token), "not-an-id", &body, now).is_none(), "bad path id");
    let bad_answer = Ok(AnswerBody { answer: "maybe".into(), ..answer(&key, tx, &challenge, device) });
    assert!(server.answer_signature(Some(&token), &id, &bad_answer, now).is_none(), "bad answer value");
    let later = now + time::Duration::hours(1);
    assert!(server.answer_signature(Some(&token), &id, &body, later).is_none(), "expired");
    // And the call itself still answers as without a check made ahead.
    let reply = server.otp_answer(Some(&token), &id, body, now).expect("a valid answer is accepted");
    assert_eq!(reply.transaction_id, tx);
}
