//! Interoperability with OpenSSL, both ways.
//!
//! * What this crate makes, OpenSSL accepts: the tests named `openssl_accepts_*` write our CSR,
//!   certificates, key and signature to a scratch directory and run the `openssl` command on them.
//!   They need `openssl` (3.x) on PATH and fail, saying so, without it.
//! * What OpenSSL makes, this crate accepts (or refuses for the right reason): the tests named
//!   `openssl_fixture_*` read the files committed under `fixtures/openssl/` (made by
//!   `fixtures/openssl/make.sh`, see its README) and do not run `openssl`.

// Test code: a panic with a message is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::ca::{CertificateAuthority, DEVICE_CERT_VALIDITY};
use protocol::csr::{CsrError, VerifiedCsr, create_csr};
use protocol::keys::{KeyPair, PublicKey, SignatureError, signing_string};
use protocol::rng::{seeded, uuid};
use protocol::wire::Answer;
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Running openssl
// ---------------------------------------------------------------------------------------------

/// A scratch directory unique to this process and test, removed when dropped (also on failure).
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mobauth-openssl-{}-{test}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove a stale scratch directory");
        }
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), bytes).expect("write a scratch file");
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.0.join(name)).expect("read a scratch file")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one `openssl` run did.
#[derive(Debug)]
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `openssl args...` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Run {
    let output = match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`openssl` is not on PATH ({e}). These interop tests need the OpenSSL 3 command-line \
             tool (e.g. `apt-get install openssl`); the fixture tests in this file do not."
        ),
        Err(e) => panic!("could not run openssl {args:?}: {e}"),
    };
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `openssl args...` and insists it succeeds.
fn openssl_ok(dir: &Path, args: &[&str]) -> Run {
    let run = openssl(dir, args);
    assert!(run.success, "openssl {args:?} failed: {run:#?}");
    run
}

/// The DER inside a single-block PEM.
fn pem_body(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).unwrap_or_else(|| panic!("no {begin} in {pem}")) + begin.len();
    let stop = pem.find(&end).unwrap_or_else(|| panic!("no {end} in {pem}"));
    let body: String = pem[start..stop].split_whitespace().collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

// ---------------------------------------------------------------------------------------------
// What we make, OpenSSL accepts
// ---------------------------------------------------------------------------------------------

#[test]
fn openssl_accepts_our_csr() {
    let scratch = Scratch::new("csr");
    let mut rng = seeded(0x0551_0001);
    let key = KeyPair::generate(&mut rng);
    let device = uuid(&mut rng);
    scratch.write("csr.pem", create_csr(&key, &device.to_string()).expect("CSR"));

    let run = openssl_ok(&scratch.0, &["req", "-in", "csr.pem", "-verify", "-noout"]);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("self-signature verify OK"), "{run:#?}");
    let run = openssl_ok(&scratch.0, &["req", "-in", "csr.pem", "-noout", "-subject"]);
    assert_eq!(run.stdout.trim(), format!("subject=CN = {device}"));
}

#[test]
fn openssl_accepts_our_ca_and_device_certificates() {
    let scratch = Scratch::new("certs");
    let mut rng = seeded(0x0551_0002);
    // `openssl verify` checks validity against the real clock unless given `-attime`; pinning it
    // to the issuing instant keeps this test independent of the wall clock (no `now_utc()`).
    let now = datetime!(2026-11-29 12:00 UTC);
    let at = now.unix_timestamp().to_string();
    let expired = (now + DEVICE_CERT_VALIDITY + Duration::days(1)).unix_timestamp().to_string();
    let ca = CertificateAuthority::generate("mobauth interop CA", &mut rng, now).expect("CA");
    let key = KeyPair::generate(&mut rng);
    let device = uuid(&mut rng);
    let csr = create_csr(&key, &device.to_string()).expect("CSR");
    let verified = VerifiedCsr::from_pem(&csr, device).expect("our CSR verifies");
    let cert = ca.issue(&verified, &mut rng, now).expect("issued");
    scratch.write("ca.pem", &ca.certificate().pem);
    scratch.write("device.pem", &cert.pem);

    let run = openssl_ok(&scratch.0, &["verify", "-attime", &at, "-CAfile", "ca.pem", "device.pem"]);
    assert_eq!(run.stdout.trim(), "device.pem: OK", "{run:#?}");
    // Stricter RFC 5280 checks, and the purpose the certificate is for (EKU clientAuth).
    let strict = ["-x509_strict", "-purpose", "sslclient", "-CAfile", "ca.pem", "device.pem"];
    let run = openssl_ok(&scratch.0, &[&["verify", "-attime", &at][..], &strict].concat());
    assert_eq!(run.stdout.trim(), "device.pem: OK", "{run:#?}");
    // Controls, so "OK" above means something: a day after the device certificate expires...
    let run = openssl(&scratch.0, &["verify", "-attime", &expired, "-CAfile", "ca.pem", "device.pem"]);
    assert!(!run.success && run.stderr.contains("certificate has expired"), "{run:#?}");
    // ...and the device certificate is not a CA, so it anchors nothing.
    let run = openssl(&scratch.0, &["verify", "-attime", &at, "-CAfile", "device.pem", "ca.pem"]);
    assert!(!run.success, "a device certificate must not verify the CA: {run:#?}");

    let run = openssl_ok(&scratch.0, &["x509", "-in", "device.pem", "-noout", "-subject"]);
    assert_eq!(run.stdout.trim(), format!("subject=CN = {device}"));
    let run = openssl_ok(&scratch.0, &["x509", "-in", "device.pem", "-noout", "-issuer"]);
    assert_eq!(run.stdout.trim(), "issuer=CN = mobauth interop CA, O = mobauth");

    let ca_text = openssl_ok(&scratch.0, &["x509", "-in", "ca.pem", "-noout", "-text"]).stdout;
    assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("Signature Algorithm: ecdsa-with-SHA256"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign"), "{ca_text}");
    let device_text = openssl_ok(&scratch.0, &["x509", "-in", "device.pem", "-noout", "-text"]).stdout;
    assert!(device_text.contains("Signature Algorithm: ecdsa-with-SHA256"), "{device_text}");
    assert!(device_text.contains("TLS Web Client Authentication"), "{device_text}");
    assert!(!device_text.contains("CA:TRUE"), "{device_text}");
}

#[test]
fn openssl_accepts_our_key_and_signature() {
    let scratch = Scratch::new("signature");
    let mut rng = seeded(0x0551_0003);
    let key = KeyPair::generate(&mut rng);
    let message = signing_string(uuid(&mut rng), "Y2hhbGxlbmdl", Answer::Accept, uuid(&mut rng));
    scratch.write("key.pem", key.to_pkcs8_pem().expect("PKCS#8"));
    scratch.write("msg.bin", &message);
    scratch.write("bad.bin", message.replace("accept", "deny"));
    scratch.write("sig.der", key.sign(message.as_bytes()));

    // OpenSSL reads our PKCS#8 key and derives the same public key we do.
    openssl_ok(&scratch.0, &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    let pub_pem = String::from_utf8(scratch.read("pub.pem")).expect("PEM is text");
    assert_eq!(pem_body(&pub_pem, "PUBLIC KEY"), key.public_key().to_spki_der());

    let args = ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der"];
    let run = openssl_ok(&scratch.0, &[&args[..], &["msg.bin"]].concat());
    assert_eq!(run.stdout.trim(), "Verified OK");
    // Control: the same signature over another message fails, so "Verified OK" means something.
    let run = openssl(&scratch.0, &[&args[..], &["bad.bin"]].concat());
    assert!(!run.success, "{run:#?}");
    assert_eq!(run.stdout.trim(), "Verification failure");
}

/// A CSR PEM whose base64 is not in 64-character lines, or that has text after the END line, is
/// accepted as OpenSSL accepts it. Mobile platforms produce such layouts by default (Android
/// `Base64.DEFAULT` and MIME encoders wrap at 76, `Data.base64EncodedString()` on iOS and
/// `java.util.Base64.getEncoder()` do not wrap at all); docs/PROTOCOL.md ENR-005 reads PEM laxly.
#[test]
fn csr_pem_layouts_openssl_accepts_are_accepted() {
    let scratch = Scratch::new("pem-layouts");
    let mut rng = seeded(0x0551_0006);
    let key = KeyPair::generate(&mut rng);
    let device = uuid(&mut rng);
    let pem = create_csr(&key, &device.to_string()).expect("CSR");
    let body = STANDARD.encode(pem_body(&pem, "CERTIFICATE REQUEST"));
    let wrapped = |width: usize| {
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(width)
            .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            lines.join("\n")
        )
    };
    let layouts = [
        ("76-column lines", wrapped(76)),
        ("one line", wrapped(body.len())),
        ("text after the END line", format!("{pem}trailing text\n")),
    ];
    let mut refused = Vec::new();
    for (name, text) in &layouts {
        scratch.write("layout.pem", text);
        let run = openssl(&scratch.0, &["req", "-in", "layout.pem", "-verify", "-noout"]);
        assert!(run.success, "OpenSSL refuses {name}: {run:#?}");
        if let Err(e) = VerifiedCsr::from_pem(text, device) {
            refused.push(format!("{name}: {e:?}"));
        }
    }
    assert!(refused.is_empty(), "OpenSSL accepts these CSR layouts, we refuse: {refused:#?}");
}

// ---------------------------------------------------------------------------------------------
// What OpenSSL made, we accept (fixtures; no openssl needed)
// ---------------------------------------------------------------------------------------------

/// The device id `make.sh` puts in the CN of `csr.pem` (and in the signed message).
const DEVICE_ID: &str = "3f2b8c1e-7a4d-4e9b-9c6f-2d8e1a5b7c90";
/// The transaction id and challenge `make.sh` puts in the signed message.
const TRANSACTION_ID: &str = "0b6f4e2a-91c3-4d57-8e2f-6a1b3c5d7e9f";
const CHALLENGE: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

const KEY_PEM: &str = include_str!("../../../fixtures/openssl/key.pem");
const CSR_PEM: &str = include_str!("../../../fixtures/openssl/csr.pem");
const MSG_TXT: &[u8] = include_bytes!("../../../fixtures/openssl/msg.txt");
const SIG_DER: &[u8] = include_bytes!("../../../fixtures/openssl/sig.der");
const CSR_P384: &str = include_str!("../../../fixtures/openssl/csr-p384.pem");
const CSR_RSA2048: &str = include_str!("../../../fixtures/openssl/csr-rsa2048.pem");
const CSR_TWO_CNS: &str = include_str!("../../../fixtures/openssl/csr-two-cns.pem");
const CSR_SHA384: &str = include_str!("../../../fixtures/openssl/csr-sha384.pem");
const CSR_NO_CN: &str = include_str!("../../../fixtures/openssl/csr-no-cn.pem");

/// What `VerifiedCsr` yields when it accepts: the device id and the key.
type CsrOutcome = Result<(Uuid, PublicKey), CsrError>;

fn device_id() -> Uuid {
    Uuid::parse_str(DEVICE_ID).expect("fixed device id")
}

fn fixture_key() -> KeyPair {
    KeyPair::from_pkcs8_pem(KEY_PEM).expect("OpenSSL's PKCS#8 P-256 key reads")
}

/// Checks one CSR against its expected outcome: the device id and key on success, the exact
/// error otherwise. `NotPem` and `Malformed` carry the PEM/DER parser's message, which is not
/// ours to pin: for those the expected text is a fragment that must appear in it.
fn check_csr(name: &str, pem: &str, device: Uuid, expected: &CsrOutcome) {
    let got = VerifiedCsr::from_pem(pem, device).map(|csr| (csr.device_id(), *csr.public_key()));
    let same = match (&got, expected) {
        (Err(CsrError::NotPem(g)), Err(CsrError::NotPem(e)))
        | (Err(CsrError::Malformed(g)), Err(CsrError::Malformed(e))) => g.contains(e.as_str()),
        _ => &got == expected,
    };
    assert!(same, "fixture {name}: expected {expected:?}, got {got:?}");
}

#[test]
fn openssl_fixture_key_csr_and_signature_are_accepted() {
    let key = fixture_key();
    let device = device_id();
    check_csr("csr.pem", CSR_PEM, device, &Ok((device, key.public_key())));

    // The signed message is the contract's signing string, byte for byte.
    let transaction = Uuid::parse_str(TRANSACTION_ID).expect("fixed transaction id");
    let expected_message = signing_string(transaction, CHALLENGE, Answer::Accept, device);
    assert_eq!(MSG_TXT, expected_message.as_bytes(), "msg.txt");
    assert_eq!(key.public_key().verify(MSG_TXT, SIG_DER), Ok(()));
    // Controls: the signature is bound to the message and to the key.
    let denied = signing_string(transaction, CHALLENGE, Answer::Deny, device);
    assert_eq!(key.public_key().verify(denied.as_bytes(), SIG_DER), Err(SignatureError::Mismatch));
    let stranger = KeyPair::generate(&mut seeded(0x0551_0004)).public_key();
    assert_eq!(stranger.verify(MSG_TXT, SIG_DER), Err(SignatureError::Mismatch));

    // Our CA issues from OpenSSL's CSR, and the certificate checks out for that key and device.
    let now = datetime!(2026-11-29 12:00 UTC);
    let mut rng = seeded(0x0551_0005);
    let ca = CertificateAuthority::generate("fixture CA", &mut rng, now).expect("CA");
    let verified = VerifiedCsr::from_pem(CSR_PEM, device).expect("fixture CSR verifies");
    let cert = ca.issue(&verified, &mut rng, now).expect("issued");
    let checked = ca.trust_anchor().expect("anchor").verify(&cert.pem, now).expect("verifies");
    assert_eq!((checked.device_id, checked.public_key), (device, key.public_key()));
}

#[test]
fn openssl_fixture_csrs_are_refused_for_the_right_reason() {
    let device = device_id();
    let other = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001);
    let cases: [(&str, &str, Uuid, CsrOutcome); 8] = [
        ("csr.pem", CSR_PEM, device, Ok((device, fixture_key().public_key()))),
        (
            "csr.pem for another device",
            CSR_PEM,
            other,
            Err(CsrError::CommonNameMismatch { expected: other, found: DEVICE_ID.into() }),
        ),
        // secp384r1
        ("csr-p384.pem", CSR_P384, device, Err(CsrError::NotP256("1.3.132.0.34".into()))),
        // rsaEncryption
        ("csr-rsa2048.pem", CSR_RSA2048, device, Err(CsrError::NotEcKey("1.2.840.113549.1.1.1".into()))),
        ("csr-two-cns.pem", CSR_TWO_CNS, device, Err(CsrError::MultipleCommonNames(2))),
        // ecdsa-with-SHA384
        (
            "csr-sha384.pem",
            CSR_SHA384,
            device,
            Err(CsrError::UnsupportedSignatureAlgorithm("1.2.840.10045.4.3.3".into())),
        ),
        ("csr-no-cn.pem", CSR_NO_CN, device, Err(CsrError::MissingCommonName)),
        (
            "key.pem given as a CSR",
            KEY_PEM,
            device,
            Err(CsrError::NotPem("no -----BEGIN CERTIFICATE REQUEST----- line".into())),
        ),
    ];
    for (name, pem, device, expected) in &cases {
        check_csr(name, pem, *device, expected);
    }
}
