//! Enrollment requests of the scenario's making: CSRs in every form the suite sends, and
//! enrollment bodies (ENR-004 to ENR-007, ENR-009).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cucumber::when;
use protocol::keys::KeyPair;
use serde_json::json;

use crate::world::ConformanceWorld;

use super::enrollment::{enroll_device, send_enrollment, token};

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

/// A CSR for `key` whose subject holds exactly these attributes.
fn csr_with_subject(key: &KeyPair, subject: &[(rcgen::DnType, &str)]) -> String {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.serialize_request(key).and_then(|csr| csr.pem()).expect("rcgen builds a CSR for a P-256 key")
}

pub(super) fn csr_for(key: &KeyPair, common_name: &str) -> String {
    protocol::csr::create_csr(key, common_name).expect("a CSR for a fresh key builds")
}

/// PEM in RFC 7468's strict form: base64 lines of 64 characters.
fn pem(label: &str, der: &[u8]) -> String {
    pem_wrapped(label, der, 64)
}

/// PEM with base64 lines of `width` characters.
fn pem_wrapped(label: &str, der: &[u8], width: usize) -> String {
    let encoded = STANDARD.encode(der);
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(width).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// The CSR `der` in a PEM form the feature files name: RFC 7468's strict form, which every server
/// must read (ENR-005), or one of the lax forms OpenSSL reads, which a server may read or refuse
/// (ENR-005 readings: Android wraps base64 at 76 columns, iOS and Java do not wrap).
fn pem_form(form: &str, der: &[u8]) -> Option<String> {
    const LABEL: &str = "CERTIFICATE REQUEST";
    Some(match form {
        "in RFC 7468's strict form" => pem(LABEL, der),
        "with base64 lines of 76 characters" => pem_wrapped(LABEL, der, 76),
        "with its base64 on one line" => pem_wrapped(LABEL, der, usize::MAX),
        "labelled NEW CERTIFICATE REQUEST" => pem("NEW CERTIFICATE REQUEST", der),
        "with text before and after its PEM block" => {
            format!("Certificate request of the device\n{}and nothing else\n", pem(LABEL, der))
        }
        _ => return None,
    })
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    STANDARD.decode(body).expect("create_csr makes valid PEM")
}

/// Flips the last byte of a PEM's DER, which is the last byte of the CSR's signature value, so
/// the structure still parses but the signature no longer verifies.
fn corrupt_pem_signature(csr: &str) -> String {
    let mut der = pem_der(csr);
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    pem("CERTIFICATE REQUEST", &der)
}

#[when(regex = r#"^"([^"]+)" enrolls with (.+)$"#)]
async fn enrolls_with(world: &mut ConformanceWorld, device: String, what: String) {
    let needs = format!("an enrollment with {what}: a key and CSR of the scenario's making");
    let own_id = world.simulated(&device, &needs).device_id().to_string();
    let key = world.foreign_key();
    let own_der = pem_der(&csr_for(&key, &own_id));
    if let Some(csr) = what.strip_prefix("its CSR ").and_then(|form| pem_form(form, &own_der)) {
        return enroll_device(world, &device, Some((key, csr))).await;
    }
    let quoted = what.split('"').nth(1).unwrap_or_default().to_string();
    let (key, csr) = match what.as_str() {
        _ if what.starts_with("the text ") || what.starts_with("the CSR \"") => (key, quoted),
        "its CSR in a PEM block labelled CERTIFICATE" => {
            let csr = csr_for(&key, &own_id);
            (key, pem("CERTIFICATE", &pem_der(&csr)))
        }
        "a PEM certificate request whose content is not base64" => (
            key,
            "-----BEGIN CERTIFICATE REQUEST-----\n%%%% not base64 %%%%\n-----END CERTIFICATE REQUEST-----\n"
                .into(),
        ),
        "a PEM certificate request holding half of its CSR" => {
            let der = pem_der(&csr_for(&key, &own_id));
            (key, pem("CERTIFICATE REQUEST", &der[..der.len() / 2]))
        }
        _ if what.starts_with("the OpenSSL-made CSR ") => (key, openssl_csr(&quoted)),
        _ if what.starts_with("the OpenSSL-made key and CSR ") => {
            let key = KeyPair::from_pkcs8_pem(OPENSSL_KEY).expect("fixtures/openssl/key.pem is a P-256 key");
            (key, openssl_csr(&quoted))
        }
        "a CSR whose self-signature does not verify" => {
            let csr = csr_for(&key, &own_id);
            (key, corrupt_pem_signature(&csr))
        }
        "a CSR whose common name is another device's id" => {
            let other = protocol::rng::uuid(world.rng()).to_string();
            (key.clone(), csr_for(&key, &other))
        }
        "a CSR whose common name is its device id in upper case" => {
            (key.clone(), csr_for(&key, &own_id.to_uppercase()))
        }
        "a CSR with its device id as organisation and no common name" => {
            (key.clone(), csr_with_subject(&key, &[(rcgen::DnType::OrganizationName, &own_id)]))
        }
        "a CSR with its device id as common name twice" => {
            // A second attribute with the CN's OID (2.5.4.3): rcgen keeps one value per type.
            let second_cn = rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]);
            let subject = [(rcgen::DnType::CommonName, own_id.as_str()), (second_cn, own_id.as_str())];
            (key.clone(), csr_with_subject(&key, &subject))
        }
        other => fail!("no such CSR in this suite: {other:?}"),
    };
    enroll_device(world, &device, Some((key, csr))).await;
}

#[when(regex = r#"^"([^"]+)" sends an enrollment body that is (.+)$"#)]
async fn sends_enrollment_body(world: &mut ConformanceWorld, device: String, body: String) {
    let needs = "an enrollment body of the scenario's making, sent with its access token";
    let id = world.simulated(&device, needs).device_id().to_string();
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
