//! The enrollment-mode matrix of contract 3.1 (docs/PROTOCOL.md, REN group), as a scenario outline:
//! every mode × {the same device again, another device of the user, another user's device}, each
//! with what must happen to the earlier enrollment, its key and its live challenges. Then the
//! removal rules around it (ENR-011 to ENR-013, OTP-008, REN-010) and the certificate (ENR-002/003).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use protocol::ca::TrustAnchor;
use protocol::wire::{Answer, EnrollmentResponse, OtpRequestResponse};
use serde_json::json;
use support::{DEAD_CALLBACK, Device, Server, T0, check_error, new_device};
use uuid::Uuid;

/// What the second enrollment does.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// alice enrolls her enrolled device again, with a new key.
    SameDeviceAgain,
    /// alice enrolls a second device.
    AnotherDevice,
    /// alice enrolls bob's enrolled device.
    OtherUsersDevice,
}

/// What the contract says happens.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// 409 with this code and type; nothing changes.
    Refused(u32, &'static str),
    /// 200, `re_enrolled: true`; the new key replaces the old one at once.
    ReEnrolled,
    /// 201; the earlier device is disenrolled (9023).
    Replaces,
    /// 201; both devices stay enrolled.
    Adds,
}

const DEVICE_ALREADY_ENROLLED: Outcome = Outcome::Refused(9016, "DEVICE_ALREADY_ENROLLED");
const USER_ALREADY_ENROLLED: Outcome = Outcome::Refused(9018, "USER_ALREADY_ENROLLED");

/// Checks an enrollment reply's certificate against its CA (ENR-002): issued by `ca_certificate`,
/// for `device`'s own key, subject CN = the device id; and the reply's ids (ENR-001).
fn check_certificate(reply: &EnrollmentResponse, device: &Device, user: &str) {
    assert_eq!(reply.device_id, device.id);
    assert_eq!(reply.user_id, user);
    let anchor =
        TrustAnchor::from_pem(&reply.ca_certificate).expect("ca_certificate is a P-256 CA certificate");
    let cert = anchor.verify(&reply.certificate, T0).expect("the certificate chains to ca_certificate");
    assert_eq!(cert.device_id, device.id, "subject CN is the device id");
    assert_eq!(cert.public_key, device.key.public_key(), "the certificate certifies the device's own key");
    assert!(cert.not_before <= T0 && T0 <= cert.not_after, "valid at enrolled_at (ENR-003)");
}

/// A pending transaction and `device`'s challenge for it.
async fn pending_with_challenge(s: &Server, token: &str, device: &Device) -> (Uuid, String) {
    let started = s.start_otp_ok(DEAD_CALLBACK).await;
    let request: OtpRequestResponse = s.otp_request_ok(token, device.id, &started.otp).await;
    (started.transaction_id, request.challenge)
}

async fn scenario(fixture: &str, mode: &str, action: Action, outcome: Outcome) {
    let s = support::start(fixture).await;
    assert_eq!(s.config().await["enrollment_mode"], mode, "the fixture's mode");
    let ta = s.token("alice").await;
    let tb = s.token("bob").await;
    let first = new_device(1);
    let bobs = new_device(2);
    let enrolled = s.enroll(&ta, &first).await;
    enrolled.expect_status(201);
    let enrolled: EnrollmentResponse = enrolled.parse();
    assert!(!enrolled.re_enrolled);
    check_certificate(&enrolled, &first, "alice");
    let bob_enrolled = s.enroll_ok(&tb, &bobs).await;
    check_certificate(&bob_enrolled, &bobs, "bob");
    assert_eq!(bob_enrolled.ca_certificate, enrolled.ca_certificate, "one CA per server (ENR-003)");
    let before = s.get_enrollment(&ta, &first.id.to_string()).await.expect_status(200).json();
    let bob_before = s.get_enrollment(&tb, &bobs.id.to_string()).await.expect_status(200).json();
    // A challenge fetched before the second enrollment (REN-004: it stays live on re-enrollment).
    let (tx, challenge) = pending_with_challenge(&s, &ta, &first).await;

    let second = match action {
        Action::SameDeviceAgain => first.with_new_key(101),
        Action::AnotherDevice => new_device(3),
        Action::OtherUsersDevice => bobs.with_new_key(102),
    };
    let reply = s.enroll(&ta, &second).await;

    match outcome {
        Outcome::Refused(code, error_type) => {
            check_error(&reply, 409, code, error_type);
            // Nothing changed (GEN-004, REN-001, REN-002, REN-007, REN-009).
            let after = s.get_enrollment(&ta, &first.id.to_string()).await.expect_status(200).json();
            assert_eq!(after, before, "alice's enrollment is unchanged");
            let bob_after = s.get_enrollment(&tb, &bobs.id.to_string()).await.expect_status(200).json();
            assert_eq!(bob_after, bob_before, "bob's enrollment is unchanged");
            s.answer(&ta, tx, &first, &challenge, Answer::Accept).await.expect_status(200);
            s.otp_round(&tb, &bobs, Answer::Deny).await.expect_status(200);
            if let Action::AnotherDevice = action {
                check_error(
                    &s.get_enrollment(&ta, &second.id.to_string()).await,
                    404,
                    9021,
                    "MOBILE_AUTHENTICATION_NOT_ENROLLED",
                );
                let started = s.start_otp_ok(DEAD_CALLBACK).await;
                check_error(
                    &s.otp_request(&ta, second.id, &started.otp).await,
                    403,
                    9021,
                    "MOBILE_AUTHENTICATION_NOT_ENROLLED",
                );
            }
            if let Action::SameDeviceAgain = action {
                // The refused new key was not taken (a signature with it fails).
                let (tx2, ch2) = pending_with_challenge(&s, &ta, &first).await;
                check_error(
                    &s.answer(&ta, tx2, &second, &ch2, Answer::Accept).await,
                    403,
                    10019,
                    "INVALID_SIGNATURE",
                );
            }
        }
        Outcome::ReEnrolled => {
            reply.expect_status(200);
            let again: EnrollmentResponse = reply.parse();
            assert!(again.re_enrolled, "REN-003: re_enrolled is true");
            assert_ne!(again.enrollment_id, enrolled.enrollment_id, "REN-003: a new enrollment_id");
            check_certificate(&again, &second, "alice");
            let info = s.get_enrollment(&ta, &first.id.to_string()).await.expect_status(200).json();
            assert_eq!(info["certificate"], again.certificate, "ENR-010: the latest certificate");
            let at = |v: &serde_json::Value| {
                time::OffsetDateTime::parse(
                    v["enrolled_at"].as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap()
            };
            assert!(at(&info) >= at(&before), "REN-003: enrolled_at later or equal");
            // REN-004: the challenge fetched before stays live; the old key is refused, the new one accepted.
            check_error(
                &s.answer(&ta, tx, &first, &challenge, Answer::Accept).await,
                403,
                10019,
                "INVALID_SIGNATURE",
            );
            assert_eq!(
                s.transaction_status(tx).await["status"],
                "pending",
                "a refused answer leaves it pending"
            );
            s.answer(&ta, tx, &second, &challenge, Answer::Accept).await.expect_status(200);
        }
        Outcome::Replaces => {
            reply.expect_status(201);
            let new: EnrollmentResponse = reply.parse();
            assert!(!new.re_enrolled);
            check_certificate(&new, &second, "alice");
            // REN-006: the replaced device gets 9023 on both OTP calls and 404 9021 on GET.
            let started = s.start_otp_ok(DEAD_CALLBACK).await;
            check_error(
                &s.otp_request(&ta, first.id, &started.otp).await,
                403,
                9023,
                "MOBILE_AUTHENTICATION_DISENROLLED",
            );
            check_error(
                &s.answer(&ta, tx, &first, &challenge, Answer::Accept).await,
                403,
                9023,
                "MOBILE_AUTHENTICATION_DISENROLLED",
            );
            check_error(
                &s.get_enrollment(&ta, &first.id.to_string()).await,
                404,
                9021,
                "MOBILE_AUTHENTICATION_NOT_ENROLLED",
            );
            check_error(
                &s.delete_enrollment(&ta, &first.id.to_string()).await,
                404,
                9021,
                "MOBILE_AUTHENTICATION_NOT_ENROLLED",
            );
            // Still 9023 after those refusals; the new device works, bob is untouched.
            check_error(
                &s.otp_request(&ta, first.id, &started.otp).await,
                403,
                9023,
                "MOBILE_AUTHENTICATION_DISENROLLED",
            );
            s.answer(
                &ta,
                started.transaction_id,
                &second,
                &s.otp_request_ok(&ta, second.id, &started.otp).await.challenge,
                Answer::Accept,
            )
            .await
            .expect_status(200);
            s.otp_round(&tb, &bobs, Answer::Accept).await.expect_status(200);
        }
        Outcome::Adds => {
            reply.expect_status(201);
            let new: EnrollmentResponse = reply.parse();
            assert!(!new.re_enrolled);
            check_certificate(&new, &second, "alice");
            // REN-008: both stay enrolled, each answering with its own key.
            s.get_enrollment(&ta, &first.id.to_string()).await.expect_status(200);
            s.get_enrollment(&ta, &second.id.to_string()).await.expect_status(200);
            s.answer(&ta, tx, &first, &challenge, Answer::Accept).await.expect_status(200);
            s.otp_round(&ta, &second, Answer::Accept).await.expect_status(200);
            s.otp_round(&ta, &first, Answer::Deny).await.expect_status(200);
            // Another device's key does not answer for this one.
            let (tx2, ch2) = pending_with_challenge(&s, &ta, &first).await;
            let forged = Device { id: first.id, key: second.key.clone() };
            check_error(
                &s.answer(&ta, tx2, &forged, &ch2, Answer::Accept).await,
                403,
                10019,
                "INVALID_SIGNATURE",
            );
        }
    }
    s.shutdown().await;
}

/// Scenario Outline: the enrollment-mode matrix.
///
/// | test | fixture | mode | second enrollment | outcome |
macro_rules! outline {
    ($($name:ident: $fixture:literal, $mode:literal, $action:expr, $outcome:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                scenario($fixture, $mode, $action, $outcome).await;
            }
        )*
    };
}

outline! {
    single_device_same_device_again:      "default",          "single_device",    Action::SameDeviceAgain,  DEVICE_ALREADY_ENROLLED;
    single_device_another_device:         "default",          "single_device",    Action::AnotherDevice,    USER_ALREADY_ENROLLED;
    single_device_other_users_device:     "default",          "single_device",    Action::OtherUsersDevice, DEVICE_ALREADY_ENROLLED;
    override_allowed_same_device_again:   "override-enabled", "override_allowed", Action::SameDeviceAgain,  Outcome::ReEnrolled;
    override_allowed_another_device:      "override-enabled", "override_allowed", Action::AnotherDevice,    Outcome::Replaces;
    override_allowed_other_users_device:  "override-enabled", "override_allowed", Action::OtherUsersDevice, DEVICE_ALREADY_ENROLLED;
    multiple_devices_same_device_again:   "multiple-devices", "multiple_devices", Action::SameDeviceAgain,  DEVICE_ALREADY_ENROLLED;
    multiple_devices_another_device:      "multiple-devices", "multiple_devices", Action::AnotherDevice,    Outcome::Adds;
    multiple_devices_other_users_device:  "multiple-devices", "multiple_devices", Action::OtherUsersDevice, DEVICE_ALREADY_ENROLLED;
}

/// ENR-012, ADM-009: a device removed by its own DELETE or by the admin gets 9021, never 9023,
/// even under override_allowed; ENR-011: DELETE again is 404 9021.
#[tokio::test]
async fn removed_devices_get_9021_not_9023() {
    let s = support::start("override-enabled").await;
    let ta = s.token("alice").await;
    let tb = s.token("bob").await;
    let own = new_device(1);
    let by_admin = new_device(2);
    s.enroll_ok(&ta, &own).await;
    s.enroll_ok(&tb, &by_admin).await;
    let (tx_own, ch_own) = pending_with_challenge(&s, &ta, &own).await;
    let (tx_admin, ch_admin) = pending_with_challenge(&s, &tb, &by_admin).await;

    let deleted = s.delete_enrollment(&ta, &own.id.to_string()).await;
    deleted.expect_status(204);
    assert!(deleted.body.is_empty(), "204 has no body");
    s.send(support::Req::delete(format!("/_admin/v1/users/bob/enrollments/{}", by_admin.id)).admin())
        .await
        .expect_status(204);

    for (token, device, tx, challenge) in
        [(&ta, &own, tx_own, &ch_own), (&tb, &by_admin, tx_admin, &ch_admin)]
    {
        let started = s.start_otp_ok(DEAD_CALLBACK).await;
        check_error(
            &s.otp_request(token, device.id, &started.otp).await,
            403,
            9021,
            "MOBILE_AUTHENTICATION_NOT_ENROLLED",
        );
        check_error(
            &s.answer(token, tx, device, challenge, Answer::Accept).await,
            403,
            9021,
            "MOBILE_AUTHENTICATION_NOT_ENROLLED",
        );
        check_error(
            &s.get_enrollment(token, &device.id.to_string()).await,
            404,
            9021,
            "MOBILE_AUTHENTICATION_NOT_ENROLLED",
        );
        check_error(
            &s.delete_enrollment(token, &device.id.to_string()).await,
            404,
            9021,
            "MOBILE_AUTHENTICATION_NOT_ENROLLED",
        );
        assert_eq!(s.transaction_status(tx).await["status"], "pending");
    }
    // RP-018: no enrolled device left, so `enabled` answers [].
    assert_eq!(s.enabled("alice").await.expect_status(200).json(), json!([]));
    s.shutdown().await;
}

/// ENR-013 and OTP-008: a removed device that enrolls again gets a new enrollment (201,
/// `re_enrolled` false, a new id); the challenges it held before the removal are void, so an
/// answer without a new request call is 404 10013, and after a new request call it works.
#[tokio::test]
async fn removed_device_enrolls_again_with_its_challenges_voided() {
    let s = support::start("default").await;
    let ta = s.token("alice").await;
    let device = new_device(1);
    let first = s.enroll_ok(&ta, &device).await;
    let started = s.start_otp_ok(DEAD_CALLBACK).await;
    let old = s.otp_request_ok(&ta, device.id, &started.otp).await;
    s.delete_enrollment(&ta, &device.id.to_string()).await.expect_status(204);

    let renewed = device.with_new_key(77);
    let reply = s.enroll(&ta, &renewed).await;
    reply.expect_status(201);
    let again: EnrollmentResponse = reply.parse();
    assert!(!again.re_enrolled, "ENR-013: a new enrollment, not a re-enrollment");
    assert_ne!(again.enrollment_id, first.enrollment_id);
    check_certificate(&again, &renewed, "alice");

    let stale = s.answer(&ta, started.transaction_id, &renewed, &old.challenge, Answer::Accept).await;
    check_error(&stale, 404, 10013, "MOBILE_AUTH_REQUEST_NOT_FOUND");
    let fresh = s.otp_request_ok(&ta, device.id, &started.otp).await;
    s.answer(&ta, started.transaction_id, &renewed, &fresh.challenge, Answer::Accept)
        .await
        .expect_status(200);
    s.shutdown().await;
}

/// ENR-013, REN-005, REN-006, OTP-008 under override_allowed: a disenrolled device that enrolls
/// again disenrolls the device that replaced it, and its own pre-replacement challenge is void.
#[tokio::test]
async fn disenrolled_device_enrolls_again_and_replaces_its_replacement() {
    let s = support::start("override-enabled").await;
    let ta = s.token("alice").await;
    let (one, two) = (new_device(1), new_device(2));
    s.enroll_ok(&ta, &one).await;
    let (tx, challenge) = pending_with_challenge(&s, &ta, &one).await;
    s.enroll(&ta, &two).await.expect_status(201);
    check_error(
        &s.answer(&ta, tx, &one, &challenge, Answer::Accept).await,
        403,
        9023,
        "MOBILE_AUTHENTICATION_DISENROLLED",
    );

    let back = s.enroll(&ta, &one).await;
    back.expect_status(201);
    let back: EnrollmentResponse = back.parse();
    assert!(!back.re_enrolled);
    let started = s.start_otp_ok(DEAD_CALLBACK).await;
    check_error(
        &s.otp_request(&ta, two.id, &started.otp).await,
        403,
        9023,
        "MOBILE_AUTHENTICATION_DISENROLLED",
    );
    check_error(
        &s.answer(&ta, tx, &one, &challenge, Answer::Accept).await,
        404,
        10013,
        "MOBILE_AUTH_REQUEST_NOT_FOUND",
    );
    s.otp_round(&ta, &one, Answer::Accept).await.expect_status(200);
    s.shutdown().await;
}

/// REN-010: a change of mode applies only to later enrollments.
#[tokio::test]
async fn mode_change_keeps_existing_enrollments() {
    let s = support::start("multiple-devices").await;
    let ta = s.token("alice").await;
    let [one, two, three] = [1, 2, 3].map(new_device);
    s.enroll(&ta, &one).await.expect_status(201);
    s.enroll(&ta, &two).await.expect_status(201);
    s.put_config_ok(json!({"enrollment_mode": "single_device"})).await;
    s.otp_round(&ta, &one, Answer::Accept).await.expect_status(200);
    s.otp_round(&ta, &two, Answer::Accept).await.expect_status(200);
    check_error(&s.enroll(&ta, &three).await, 409, 9018, "USER_ALREADY_ENROLLED");
    // And to override_allowed: a third device replaces both earlier ones.
    s.put_config_ok(json!({"enrollment_mode": "override_allowed"})).await;
    s.enroll(&ta, &three).await.expect_status(201);
    for old in [&one, &two] {
        let started = s.start_otp_ok(DEAD_CALLBACK).await;
        check_error(
            &s.otp_request(&ta, old.id, &started.otp).await,
            403,
            9023,
            "MOBILE_AUTHENTICATION_DISENROLLED",
        );
    }
    s.otp_round(&ta, &three, Answer::Deny).await.expect_status(200);
    s.shutdown().await;
}

/// ENR-003 (SHOULD): serial numbers are unique and the CA stays the same across a reset.
#[tokio::test]
async fn certificates_have_unique_serials_and_the_ca_survives_reset() {
    let s = support::start("multiple-devices").await;
    let ta = s.token("alice").await;
    let a = s.enroll_ok(&ta, &new_device(1)).await;
    let b = s.enroll_ok(&ta, &new_device(2)).await;
    assert_ne!(a.certificate, b.certificate);
    assert_eq!(a.ca_certificate, b.ca_certificate);
    s.reset().await;
    let ta = s.token("alice").await;
    let c = s.enroll_ok(&ta, &new_device(3)).await;
    assert_eq!(c.ca_certificate, a.ca_certificate, "the CA survives reset (ADM-014)");
    let serials = [&a, &b, &c].map(|e| der_serial::serial_of(&e.certificate));
    assert!(serials[0] != serials[1] && serials[1] != serials[2] && serials[0] != serials[2], "{serials:?}");
    s.shutdown().await;
}

/// Reading a certificate's serial without an X.509 crate: the DER of a v3 certificate starts
/// `SEQUENCE { SEQUENCE (tbs) { [0] { INTEGER 2 }, INTEGER serial, ...`.
mod der_serial {
    fn header(der: &[u8], at: usize) -> (u8, usize, usize) {
        let tag = der[at];
        let first = der[at + 1];
        if first < 0x80 {
            (tag, usize::from(first), at + 2)
        } else {
            let n = usize::from(first & 0x7f);
            let len = der[at + 2..at + 2 + n].iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b));
            (tag, len, at + 2 + n)
        }
    }

    pub(crate) fn serial_of(pem: &str) -> Vec<u8> {
        let der = forge::pem::der(pem).expect("PEM body is base64");
        let (_, _, cert_body) = header(&der, 0);
        let (_, _, tbs_body) = header(&der, cert_body);
        let (tag, len, body) = header(&der, tbs_body);
        let serial_at = if tag == 0xa0 { body + len } else { tbs_body };
        let (tag, len, body) = header(&der, serial_at);
        assert_eq!(tag, 0x02, "the serial is an INTEGER");
        der[body..body + len].to_vec()
    }
}
