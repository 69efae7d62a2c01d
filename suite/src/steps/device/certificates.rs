//! The certificate an enrollment gives (ENR-002) and its end-entity profile (ENR-003).

use cucumber::then;
use peers::device::{CertificateProfile, certificate_profile};
use protocol::ca::TrustAnchor;

use crate::world::ConformanceWorld;

pub(super) async fn certificate_for_own_key(world: &mut ConformanceWorld, device: &str) {
    world.device_handle(device).simulated("the certificate the device holds and its key");
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
    // Other attributes beside the CN are the server's business (ENR-002 readings).
}

#[then(expr = "{string} holds a certificate for its own key issued by the server's CA")]
async fn holds_certificate(world: &mut ConformanceWorld, device: String) {
    certificate_for_own_key(world, &device).await;
}

fn profile(pem: &str) -> CertificateProfile {
    certificate_profile(pem).unwrap_or_else(|e| fail!("expected a PEM X.509 certificate, but {e}: {pem}"))
}

fn enrollment_of(world: &mut ConformanceWorld, device: &str) -> peers::device::DeviceEnrollment {
    match world.device_handle(device).simulated("the certificate the device was given").enrollment() {
        Some(enrollment) => enrollment.clone(),
        None => fail!("{device:?} holds no enrollment"),
    }
}

fn serial(pem: &str) -> Vec<u8> {
    profile(pem).serial
}

/// ENR-003 asks serial numbers unique among one CA's certificates: two devices given different
/// CAs (a server may make a new CA, ENR-003 readings) may share a serial number.
#[then(expr = "the certificates of {string} and {string} have different serial numbers")]
async fn serials_differ(world: &mut ConformanceWorld, first: String, second: String) {
    let same_ca = |e: &peers::device::DeviceEnrollment| profile(&e.ca_certificate).der;
    let (a, b) = (enrollment_of(world, &first), enrollment_of(world, &second));
    if same_ca(&a) != same_ca(&b) {
        crate::judgement::not_applicable(format!(
            "{first:?} and {second:?} were given different CA certificates, and ENR-003 asks serial numbers \
             to be unique among one CA's certificates only"
        ));
    }
    ensure_ne!(
        serial(&a.certificate),
        serial(&b.certificate),
        "expected the certificates of {first:?} and {second:?}, issued by one CA, to have different serial \
         numbers"
    );
}

#[then(
    expr = "the certificate of {string} is valid at its enrolled_at, is not a CA certificate and allows digital signatures"
)]
async fn certificate_matches_profile(world: &mut ConformanceWorld, device: String) {
    let pem = enrollment_of(world, &device).certificate;
    let info = world
        .device(&device)
        .fetch_enrollment()
        .await
        .unwrap_or_else(|e| fail!("expected GET enrollment of {device:?} to answer 200, but {e}"));
    let cert = profile(&pem);
    let (not_before, not_after) = (cert.not_before, cert.not_after);
    ensure!(
        not_before <= info.enrolled_at && info.enrolled_at <= not_after,
        "expected the certificate's validity {not_before} to {not_after} to contain enrolled_at {}",
        info.enrolled_at
    );
    ensure!(
        cert.is_ca != Some(true),
        "expected the device certificate not to be a CA certificate, got basicConstraints cA {:?}",
        cert.is_ca
    );
    ensure!(
        cert.digital_signature == Some(true),
        "expected the certificate's keyUsage to include digitalSignature, got {:?}",
        cert.digital_signature
    );
}
