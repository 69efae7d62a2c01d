//! Enrollment requests of the scenario's making: CSRs in every form the suite sends, and
//! enrollment bodies (ENR-004 to ENR-007, ENR-009).

use cucumber::when;
use forge::csr::Attribute;
use forge::pem::{self, PemForm};
use protocol::keys::KeyPair;
use serde_json::json;

use crate::world::ConformanceWorld;

use super::enrollment::{send_enrollment, token};

pub(super) const OPENSSL_DEVICE_ID: &str = "3f2b8c1e-7a4d-4e9b-9c6f-2d8e1a5b7c90";
const OPENSSL_KEY: &str = include_str!("../../../../fixtures/openssl/key.pem");
const OPENSSL_CSRS: &[(&str, &str)] = &[
    ("csr.pem", include_str!("../../../../fixtures/openssl/csr.pem")),
    ("csr-p384.pem", include_str!("../../../../fixtures/openssl/csr-p384.pem")),
    ("csr-rsa2048.pem", include_str!("../../../../fixtures/openssl/csr-rsa2048.pem")),
];

fn openssl_csr(name: &str) -> String {
    match OPENSSL_CSRS.iter().find(|(file, _)| *file == name) {
        Some((_, pem)) => (*pem).to_string(),
        None => fail!("no OpenSSL-made CSR {name:?} in fixtures/openssl/"),
    }
}

pub(super) fn csr_for(key: &KeyPair, common_name: &str) -> String {
    protocol::csr::create_csr(key, common_name).expect("a CSR for a fresh key builds")
}

/// The CSR `der` in a PEM form the feature files name: RFC 7468's strict form, which every server
/// must read (ENR-005), or one of the lax forms OpenSSL reads ([`PemForm`]).
fn pem_form(form: &str) -> Option<PemForm> {
    Some(match form {
        "in RFC 7468's strict form" => PemForm::Strict,
        "with base64 lines of 76 characters" => PemForm::Wrapped(76),
        "with its base64 on one line" => PemForm::OneLine,
        "labelled NEW CERTIFICATE REQUEST" => PemForm::Labelled("NEW CERTIFICATE REQUEST"),
        "with text before and after its PEM block" => PemForm::WithTextAround,
        _ => return None,
    })
}

/// A forged input; a forge that refuses the suite's own input is a harness bug.
fn forged<T>(what: &str, result: Result<T, forge::ForgeError>) -> T {
    result.unwrap_or_else(|e| panic!("forging {what} from the suite's own CSR failed (a harness bug): {e}"))
}

/// A CSR for `key` whose subject holds exactly these attributes.
fn csr_with_subject(key: &KeyPair, subject: &[(Attribute, &str)]) -> String {
    forged("a CSR with an odd subject", forge::csr::with_subject(key, subject))
}

#[when(regex = r#"^"([^"]+)" enrolls with (.+)$"#)]
async fn enrolls_with(world: &mut ConformanceWorld, device: String, what: String) {
    let needs = format!("an enrollment with {what}: a key and CSR of the scenario's making");
    let own_id = world.device_handle(&device).simulated(&needs).device_id().to_string();
    let key = world.foreign_key();
    let own_csr = csr_for(&key, &own_id);
    if let Some(form) = what.strip_prefix("its CSR ").and_then(pem_form) {
        let csr = form.apply(&forged("the CSR's DER", pem::der(&own_csr)));
        return world.device_handle(&device).enroll_with(key, csr).await;
    }
    let quoted = what.split('"').nth(1).unwrap_or_default().to_string();
    let (key, csr) = match what.as_str() {
        _ if what.starts_with("the text ") || what.starts_with("the CSR \"") => (key, quoted),
        "its CSR in a PEM block labelled CERTIFICATE" => {
            (key, forged("a relabelled CSR", pem::relabelled(&own_csr, "CERTIFICATE")))
        }
        "a PEM certificate request whose content is not base64" => (key, pem::not_base64()),
        "a PEM certificate request holding half of its CSR" => {
            (key, forged("half a CSR", pem::cut_in_half(&own_csr)))
        }
        _ if what.starts_with("the OpenSSL-made CSR ") => (key, openssl_csr(&quoted)),
        _ if what.starts_with("the OpenSSL-made key and CSR ") => {
            let key = KeyPair::from_pkcs8_pem(OPENSSL_KEY).expect("fixtures/openssl/key.pem is a P-256 key");
            (key, openssl_csr(&quoted))
        }
        "a CSR whose self-signature does not verify" => {
            (key, forged("a CSR with a spoilt signature", pem::signature_spoilt(&own_csr)))
        }
        "a CSR whose common name is another device's id" => {
            let other = protocol::rng::uuid(world.rng()).to_string();
            (key.clone(), csr_for(&key, &other))
        }
        "a CSR whose common name is its device id in upper case" => {
            (key.clone(), csr_for(&key, &own_id.to_uppercase()))
        }
        "a CSR with its device id as organisation and no common name" => {
            (key.clone(), csr_with_subject(&key, &[(Attribute::Organisation, &own_id)]))
        }
        "a CSR with its device id as common name twice" => {
            let subject =
                [(Attribute::CommonName, own_id.as_str()), (Attribute::AnotherCommonName, own_id.as_str())];
            (key.clone(), csr_with_subject(&key, &subject))
        }
        other => fail!("no such CSR in this suite: {other:?}"),
    };
    world.device_handle(&device).enroll_with(key, csr).await;
}

#[when(regex = r#"^"([^"]+)" sends an enrollment body that is (.+)$"#)]
async fn sends_enrollment_body(world: &mut ConformanceWorld, device: String, body: String) {
    let needs = "an enrollment body of the scenario's making, sent with its access token";
    let id = world.device_handle(&device).simulated(needs).device_id().to_string();
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
        "an object whose device_id and CSR common name are empty" => with_id(String::new()),
        other => fail!("no such enrollment body in this suite: {other:?}"),
    };
    let token = token(world, &device);
    send_enrollment(world, Some(&token), &body).await;
}
