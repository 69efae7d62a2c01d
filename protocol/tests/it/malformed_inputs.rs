//! Malformed and hostile inputs to the three parsers that take bytes from a peer: the OTP codec,
//! the CSR verifier and the device-certificate check. Each table row names its input and the exact
//! outcome; one `check_*` helper per table runs the rows. Nothing may panic.
//!
//! `NotPem`, `Malformed` and `NotBase64` carry a third-party parser's message. The rows give a
//! fragment of it (the part that says why), which must appear in the message; every other variant
//! and field is compared exactly.

// Test code: a panic with a message is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::ca::{CertError, CertificateAuthority, DEVICE_CERT_VALIDITY, DeviceCertificate};
use protocol::csr::{CsrError, VerifiedCsr, create_csr};
use protocol::keys::{KeyPair, PublicKey};
use protocol::otp::{OTP_BYTES, OTP_CHARS, Otp, OtpError};
use protocol::rng::{SeededRng, seeded, uuid};
use rand_core::Rng as _;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::request::CertReq;
use x509_cert::spki::ObjectIdentifier;

/// What `VerifiedCsr` yields when it accepts: the device id and the key.
type CsrOutcome = Result<(Uuid, PublicKey), CsrError>;
/// A CSR row: name, PEM, the device id asked for, the outcome.
type CsrRow = (&'static str, String, Uuid, CsrOutcome);
/// A certificate row: name, the CA whose anchor checks it, PEM, the instant, the outcome.
type CertRow<'a> =
    (&'static str, &'a CertificateAuthority, String, OffsetDateTime, Result<DeviceCertificate, CertError>);

/// The instant certificates are issued at.
const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

/// A random index below `n`.
fn below(rng: &mut SeededRng, n: usize) -> usize {
    usize::try_from(rng.next_u64() % n as u64).expect("fits")
}

/// A PEM block with 64-character lines, as RFC 7468 writes it.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside a single-block PEM.
fn unpem(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

/// Where `needle` occurs in `hay`, which must be exactly once.
fn find_once(hay: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> =
        hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "expected exactly one occurrence, found {hits:?}");
    hits[0]
}

/// Whether an error matches the row's expectation (message fragments for third-party messages).
fn csr_error_matches(got: &CsrError, expected: &CsrError) -> bool {
    match (got, expected) {
        (CsrError::NotPem(g), CsrError::NotPem(e)) | (CsrError::Malformed(g), CsrError::Malformed(e)) => {
            g.contains(e.as_str())
        }
        _ => got == expected,
    }
}

// =============================================================================================
// OTP
// =============================================================================================

/// The OTP every row starts from. Its secret puts `++++` at characters 24..28 and `////` at
/// 28..32 of the encoding (byte 18 starts a base64 group), so URL-safe variants differ there.
fn sample_otp() -> Otp {
    let mut secret = [0x5a_u8; 32];
    secret[1..4].copy_from_slice(&[0xfb, 0xef, 0xbe]);
    secret[4..7].copy_from_slice(&[0xff, 0xff, 0xff]);
    Otp { transaction_id: Uuid::from_u128(0x0b6f_4e2a_91c3_4d57_8e2f_6a1b_3c5d_7e9f), secret }
}

/// The sample's bytes with another version byte, cut or padded (with 0x5a) to `len`, as base64.
fn encoded(version: u8, len: usize) -> String {
    let mut bytes = sample_otp().to_bytes().to_vec();
    bytes[0] = version;
    bytes.resize(len, 0x5a);
    STANDARD.encode(bytes)
}

fn check_otp(name: &str, text: &str, expected: &Result<Otp, OtpError>) {
    let got = catch_unwind(|| Otp::decode(text)).unwrap_or_else(|_| panic!("OTP row {name:?} panicked"));
    let same = match (&got, expected) {
        (Err(OtpError::NotBase64(g)), Err(OtpError::NotBase64(e))) => g.contains(e.as_str()),
        _ => &got == expected,
    };
    assert!(same, "OTP row {name:?}: expected {expected:?}, got {got:?} (input {text:?})");
}

#[test]
fn otp_decode_refuses_malformed_strings() {
    let otp = sample_otp();
    let good = otp.encode();
    assert_eq!(good.len(), OTP_CHARS);
    assert_eq!(&good[24..32], "++++////", "the sample has its +/ where the rows expect them");
    assert!(good.ends_with("Wg=="), "49 bytes end in one byte + two pads: {good}");
    let with = |at: usize, ch: &str| format!("{}{ch}{}", &good[..at], &good[at + 1..]);
    let not_b64 = |why: &str| Err(OtpError::NotBase64(why.to_owned()));

    let cases: Vec<(&str, String, Result<Otp, OtpError>)> = vec![
        ("valid", good.clone(), Ok(otp.clone())),
        // The empty string is valid base64 for zero bytes.
        ("empty", String::new(), Err(OtpError::WrongLength { found: 0 })),
        ("'!' inside", with(10, "!"), not_b64("Invalid symbol 33, offset 10.")),
        ("non-ASCII inside", with(10, "é"), not_b64("Invalid symbol 195, offset 10.")),
        ("URL-safe '-'", good.replace('+', "-"), not_b64("Invalid symbol 45, offset 24.")),
        ("URL-safe '_'", good.replace('/', "_"), not_b64("Invalid symbol 95, offset 28.")),
        ("URL-safe both", good.replace('+', "-").replace('/', "_"), not_b64("Invalid symbol 45, offset 24.")),
        ("padding missing", good.trim_end_matches('=').to_owned(), not_b64("Invalid padding")),
        ("one pad missing", good[..OTP_CHARS - 1].to_owned(), not_b64("Invalid padding")),
        // After padding the base64 crate reports the padding run (offset 66), not the extra byte.
        ("extra pad", format!("{good}="), not_b64("Invalid symbol 61, offset 66.")),
        ("trailing newline", format!("{good}\n"), not_b64("Invalid symbol 10, offset 68.")),
        ("trailing CRLF", format!("{good}\r\n"), not_b64("Invalid symbol 61, offset 66.")),
        ("trailing space", format!("{good} "), not_b64("Invalid symbol 32, offset 68.")),
        ("leading space", format!(" {good}"), not_b64("Invalid symbol 32, offset 0.")),
        ("space inside", with(30, " "), not_b64("Invalid symbol 32, offset 30.")),
        // "Wg==" -> "Wh==": the low bits of the last symbol must be zero (canonical encoding),
        // or two strings would decode to the same OTP.
        ("non-canonical last symbol", with(65, "h"), not_b64("Invalid last symbol 104, offset 65.")),
        ("48 bytes", encoded(1, 48), Err(OtpError::WrongLength { found: 48 })),
        ("50 bytes", encoded(1, 50), Err(OtpError::WrongLength { found: 50 })),
        ("1 byte", encoded(1, 1), Err(OtpError::WrongLength { found: 1 })),
        ("version 0x00", encoded(0x00, OTP_BYTES), Err(OtpError::UnknownVersion(0x00))),
        ("version 0x02", encoded(0x02, OTP_BYTES), Err(OtpError::UnknownVersion(0x02))),
        ("version 0xff", encoded(0xff, OTP_BYTES), Err(OtpError::UnknownVersion(0xff))),
        ("10 KB of 'A'", "A".repeat(10 * 1024), Err(OtpError::WrongLength { found: 7680 })),
        ("10 KB of '#'", "#".repeat(10 * 1024), not_b64("Invalid symbol 35, offset 0.")),
        ("10 KB: 150 OTPs glued", good.repeat(150), not_b64("Invalid symbol 61, offset 66.")),
    ];
    for (name, text, expected) in &cases {
        check_otp(name, text, expected);
    }
}

#[test]
fn otp_round_trips_for_1000_seeded_random_otps() {
    let mut rng = seeded(0x0790_0001);
    for i in 0..1000 {
        let otp = Otp::generate(uuid(&mut rng), &mut rng);
        let text = otp.encode();
        assert_eq!(text.len(), OTP_CHARS, "OTP {i}: {text}");
        assert!(
            text.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
            "OTP {i} is not standard base64: {text}"
        );
        assert_eq!(Otp::decode(&text), Ok(otp.clone()), "OTP {i}: {text}");
    }
}

// =============================================================================================
// CSR
// =============================================================================================

/// Two devices, each with a key and a CSR for its own id.
struct CsrWorld {
    device: Uuid,
    key: KeyPair,
    pem: String,
    der: Vec<u8>,
    other_device: Uuid,
    other_key: KeyPair,
    other_der: Vec<u8>,
}

fn csr_world() -> CsrWorld {
    let mut rng = seeded(0x0c52_0001);
    let key = KeyPair::generate(&mut rng);
    let device = uuid(&mut rng);
    let other_key = KeyPair::generate(&mut rng);
    let other_device = uuid(&mut rng);
    let pem = create_csr(&key, &device.to_string()).expect("CSR");
    let other_pem = create_csr(&other_key, &other_device.to_string()).expect("CSR");
    CsrWorld { device, der: unpem(&pem), pem, other_device, other_der: unpem(&other_pem), key, other_key }
}

/// Decodes a DER CSR, lets `edit` change it, and encodes it again as PEM.
fn edited(der: &[u8], edit: impl FnOnce(&mut CertReq)) -> String {
    let mut req = CertReq::from_der(der).expect("our CSR parses");
    edit(&mut req);
    pem("CERTIFICATE REQUEST", &req.to_der().expect("re-encodes"))
}

/// Signs the request's (edited) CertificationRequestInfo again with `key`.
fn resign(req: &mut CertReq, key: &KeyPair) {
    let info = req.info.to_der().expect("info encodes");
    req.signature = BitString::from_bytes(&key.sign(&info)).expect("bit string");
}

fn check_csr(name: &str, pem: &str, device: Uuid, expected: &CsrOutcome) {
    let got = catch_unwind(|| VerifiedCsr::from_pem(pem, device))
        .unwrap_or_else(|_| panic!("CSR row {name:?} panicked"))
        .map(|csr| (csr.device_id(), *csr.public_key()));
    let same = match (&got, expected) {
        (Err(g), Err(e)) => csr_error_matches(g, e),
        _ => &got == expected,
    };
    assert!(same, "CSR row {name:?}: expected {expected:?}, got {got:?}\n{pem}");
}

#[test]
fn csr_verifier_refuses_malformed_and_forged_requests() {
    let w = csr_world();
    let device = w.device;
    let ok = Ok((device, w.key.public_key()));
    let malformed = |why: &str| Err(CsrError::Malformed(why.to_owned()));
    let not_pem = |why: &str| Err(CsrError::NotPem(why.to_owned()));
    let ca = CertificateAuthority::generate("test CA", &mut seeded(0x0c52_0002), NOW).expect("CA");

    // Bodies cut short, and bodies that are base64 of something else.
    let lines: Vec<&str> = w.pem.lines().collect();
    let truncated =
        format!("{}\n{}\n{}\n", lines[0], lines[1..lines.len() / 2].join("\n"), lines[lines.len() - 1]);
    let no_end = lines[..lines.len() - 1].join("\n");
    let mut random_der = [0u8; 200];
    seeded(0x0c52_0003).fill_bytes(&mut random_der);
    random_der[0] = 0x30; // a SEQUENCE tag, so the parser gets past the first byte

    // Signature bytes flipped: the last byte of the BIT STRING is the last byte of `s`.
    let mut flipped = w.der.clone();
    *flipped.last_mut().expect("non-empty") ^= 0x01;
    // The subject CN changed after signing: one hex digit of the device id in the signed info.
    let mut altered_cn = w.der.clone();
    let at = find_once(&altered_cn, device.to_string().as_bytes());
    altered_cn[at] = if altered_cn[at] == b'0' { b'1' } else { b'0' };
    let altered_device = Uuid::try_parse_ascii(&altered_cn[at..at + 36]).expect("still a uuid");

    // The other device's key, with our CN and our signature: claims a key it cannot sign with.
    let other = CertReq::from_der(&w.other_der).expect("parses");
    let foreign_key = edited(&w.der, |req| req.info.public_key = other.info.public_key.clone());
    // Our request info with the other request's (valid, for its own info) signature spliced on.
    let spliced = edited(&w.der, |req| req.signature = other.signature.clone());
    // Signature BIT STRING that is not a DER ECDSA-Sig-Value at all.
    let garbage_sig = edited(&w.der, |req| {
        req.signature = BitString::from_bytes(b"not a signature").expect("bit string");
    });
    // Signature BIT STRING with a non-zero unused-bits count.
    let unused_bits = edited(&w.der, |req| {
        req.signature = BitString::new(1, req.signature.raw_bytes()).expect("bit string");
    });
    // Key bytes that are not a point on P-256 (x = y = 2^256 - 1), re-signed so only the key is off.
    let off_curve = edited(&w.der, |req| {
        let mut point = vec![0x04];
        point.extend([0xff; 64]);
        req.info.public_key.subject_public_key = BitString::from_bytes(&point).expect("bit string");
        resign(req, &w.key);
    });
    // id-ecPublicKey without the named-curve parameter.
    let no_curve = edited(&w.der, |req| {
        req.info.public_key.algorithm.parameters = None;
        resign(req, &w.key);
    });
    // A valid SHA-256 signature, labelled ecdsa-with-SHA384.
    let relabelled = edited(&w.der, |req| {
        req.algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    });
    // Two CNs in one multi-valued RDN, properly signed.
    let multi_valued_rdn = edited(&w.der, |req| {
        req.info.subject = format!("CN={device}+CN={device}").parse().expect("name");
        resign(req, &w.key);
    });
    let csr_for = |cn: &str| create_csr(&w.key, cn).expect("CSR");
    let upper = device.to_string().to_uppercase();

    let cases: Vec<CsrRow> = vec![
        ("our CSR", w.pem.clone(), device, ok.clone()),
        ("our CSR with CRLF line endings", w.pem.replace('\n', "\r\n"), device, ok.clone()),
        ("empty", String::new(), device, not_pem("no -----BEGIN CERTIFICATE REQUEST----- line")),
        ("garbage", "garbage".into(), device, not_pem("no -----BEGIN CERTIFICATE REQUEST----- line")),
        (
            "a CERTIFICATE",
            ca.certificate().pem.clone(),
            device,
            not_pem("no -----BEGIN CERTIFICATE REQUEST----- line"),
        ),
        // OpenSSL's older label is read as OpenSSL reads it.
        (
            "NEW CERTIFICATE REQUEST label",
            w.pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
            device,
            ok.clone(),
        ),
        ("truncated body", truncated, device, malformed("DER message is incomplete")),
        ("no END line", no_end, device, not_pem("no -----END CERTIFICATE REQUEST----- line")),
        (
            "base64 of random DER",
            pem("CERTIFICATE REQUEST", &random_der),
            device,
            malformed("incorrect length"),
        ),
        (
            "a certificate's DER under the CSR label",
            pem("CERTIFICATE REQUEST", &ca.certificate().der),
            device,
            malformed("unexpected ASN.1 DER tag"),
        ),
        ("signature byte flipped", pem("CERTIFICATE REQUEST", &flipped), device, Err(CsrError::BadSignature)),
        (
            "CN altered after signing",
            pem("CERTIFICATE REQUEST", &altered_cn),
            device,
            Err(CsrError::BadSignature),
        ),
        (
            "CN altered after signing, asked for the altered id",
            pem("CERTIFICATE REQUEST", &altered_cn),
            altered_device,
            Err(CsrError::BadSignature),
        ),
        ("foreign key", foreign_key, device, Err(CsrError::BadSignature)),
        ("signature spliced from another CSR", spliced, device, Err(CsrError::BadSignature)),
        ("signature not DER", garbage_sig, device, Err(CsrError::BadSignature)),
        ("signature with unused bits", unused_bits, device, Err(CsrError::BadSignature)),
        ("key not on the curve", off_curve, device, Err(CsrError::InvalidPublicKey)),
        ("curve parameter absent", no_curve, device, Err(CsrError::NotP256("absent".into()))),
        (
            "relabelled ecdsa-with-SHA384",
            relabelled,
            device,
            Err(CsrError::UnsupportedSignatureAlgorithm("1.2.840.10045.4.3.3".into())),
        ),
        ("two CNs in one RDN", multi_valued_rdn, device, Err(CsrError::MultipleCommonNames(2))),
        (
            "CN of another device",
            csr_for(&w.other_device.to_string()),
            device,
            Err(CsrError::CommonNameMismatch { expected: device, found: w.other_device.to_string() }),
        ),
        (
            "CN is the device id in upper case",
            csr_for(&upper),
            device,
            Err(CsrError::CommonNameMismatch { expected: device, found: upper.clone() }),
        ),
        (
            "CN is not a uuid",
            csr_for("my phone"),
            device,
            Err(CsrError::CommonNameMismatch { expected: device, found: "my phone".into() }),
        ),
        (
            "no CN (OpenSSL fixture, -subj /O=x)",
            include_str!("../../../fixtures/openssl/csr-no-cn.pem").into(),
            device,
            Err(CsrError::MissingCommonName),
        ),
    ];
    for (name, pem, device, expected) in &cases {
        check_csr(name, pem, *device, expected);
    }
    // The other device's own CSR is fine for it: the forgeries above failed for what they changed.
    assert_eq!(
        VerifiedCsr::from_der(&w.other_der, w.other_device).map(|c| *c.public_key()),
        Ok(w.other_key.public_key())
    );
}

/// The name of an outcome, for the summary.
fn outcome_name(result: &Result<VerifiedCsr, CsrError>) -> String {
    match result {
        Ok(_) => "Ok".into(),
        Err(e) => format!("{e:?}").split(['(', ' ']).next().unwrap_or_default().to_owned(),
    }
}

#[test]
fn csr_verifier_survives_2000_seeded_mutations() {
    let w = csr_world();
    assert!(VerifiedCsr::from_der(&w.der, w.device).is_ok(), "the unmutated CSR verifies");
    let mut rng = seeded(0x0c52_0004);
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    for i in 0..2000 {
        let mut bytes = w.der.clone();
        let what = match i % 3 {
            0 => {
                let at = below(&mut rng, bytes.len());
                let mask = u8::try_from(1 + below(&mut rng, 255)).expect("1..=255");
                bytes[at] ^= mask;
                format!("byte {at} ^= {mask:#04x}")
            }
            1 => {
                let len = below(&mut rng, bytes.len());
                bytes.truncate(len);
                format!("truncated to {len}")
            }
            _ => {
                let n = 2 + below(&mut rng, 7);
                for _ in 0..n {
                    let at = below(&mut rng, bytes.len());
                    bytes[at] = u8::try_from(rng.next_u32() & 0xff).expect("a byte");
                }
                format!("{n} random bytes")
            }
        };
        match catch_unwind(AssertUnwindSafe(|| VerifiedCsr::from_der(&bytes, w.device))) {
            Err(_) => panics.push(format!("mutation {i} ({what})")),
            Ok(result) => {
                if let Ok(csr) = &result {
                    // A mutation the verifier lets through must not change what it certifies.
                    assert_eq!(csr.device_id(), w.device, "mutation {i} ({what})");
                    assert_eq!(csr.public_key(), &w.key.public_key(), "mutation {i} ({what})");
                }
                *tally.entry(outcome_name(&result)).or_default() += 1;
            }
        }
    }
    println!("2000 CSR mutations: {tally:?}");
    assert!(panics.is_empty(), "from_der panicked on: {panics:#?}");
    assert_eq!(tally.values().sum::<usize>(), 2000);
}

// =============================================================================================
// Certificates
// =============================================================================================

fn check_cert(
    name: &str,
    anchor_of: &CertificateAuthority,
    pem: &str,
    now: OffsetDateTime,
    expected: &Result<DeviceCertificate, CertError>,
) {
    let anchor = anchor_of.trust_anchor().expect("anchor");
    let got = catch_unwind(AssertUnwindSafe(|| anchor.verify(pem, now)))
        .unwrap_or_else(|_| panic!("certificate row {name:?} panicked"));
    let same = match (&got, expected) {
        (Err(CertError::Malformed(g)), Err(CertError::Malformed(e))) => g.contains(e.as_str()),
        _ => &got == expected,
    };
    assert!(same, "certificate row {name:?}: expected {expected:?}, got {got:?}");
}

#[test]
fn trust_anchor_refuses_malformed_foreign_and_expired_certificates() {
    let mut rng = seeded(0x0ce7_0001);
    let ca = CertificateAuthority::generate("test CA", &mut rng, NOW).expect("CA");
    // Same name, different key: only the signature can tell them apart.
    let twin = CertificateAuthority::generate("test CA", &mut rng, NOW).expect("CA");
    let stranger = CertificateAuthority::generate("other CA", &mut rng, NOW).expect("CA");
    let key = KeyPair::generate(&mut rng);
    let device = uuid(&mut rng);
    let csr = VerifiedCsr::from_pem(&create_csr(&key, &device.to_string()).expect("CSR"), device)
        .expect("CSR verifies");
    let cert = ca.issue(&csr, &mut rng, NOW).expect("issued");
    let from_twin = twin.issue(&csr, &mut rng, NOW).expect("issued");
    let from_stranger = stranger.issue(&csr, &mut rng, NOW).expect("issued");

    let not_before = NOW - Duration::minutes(5);
    let not_after = NOW + DEVICE_CERT_VALIDITY;
    let ok = Ok(DeviceCertificate { device_id: device, public_key: key.public_key(), not_before, not_after });
    let outside = |now| Err(CertError::OutsideValidity { now, not_before, not_after });
    let malformed = |why: &str| Err(CertError::Malformed(why.to_owned()));

    let mut flipped = cert.der.clone();
    *flipped.last_mut().expect("non-empty") ^= 0x01;
    let mut altered_cn = cert.der.clone();
    let at = find_once(&altered_cn, device.to_string().as_bytes());
    altered_cn[at] = if altered_cn[at] == b'0' { b'1' } else { b'0' };
    let mut random_der = [0u8; 300];
    seeded(0x0ce7_0002).fill_bytes(&mut random_der);
    random_der[0] = 0x30;
    let second = Duration::seconds(1);

    let cases: Vec<CertRow<'_>> = vec![
        ("issued by this CA", &ca, cert.pem.clone(), NOW, ok.clone()),
        ("first valid second", &ca, cert.pem.clone(), not_before, ok.clone()),
        ("last valid second", &ca, cert.pem.clone(), not_after, ok.clone()),
        ("expired by a second", &ca, cert.pem.clone(), not_after + second, outside(not_after + second)),
        (
            "expired by a year",
            &ca,
            cert.pem.clone(),
            not_after + Duration::days(365),
            outside(not_after + Duration::days(365)),
        ),
        ("not yet valid", &ca, cert.pem.clone(), not_before - second, outside(not_before - second)),
        ("empty", &ca, String::new(), NOW, malformed("no -----BEGIN CERTIFICATE----- line")),
        ("garbage", &ca, "garbage".into(), NOW, malformed("no -----BEGIN CERTIFICATE----- line")),
        (
            "a CSR",
            &ca,
            create_csr(&key, &device.to_string()).expect("CSR"),
            NOW,
            malformed("no -----BEGIN CERTIFICATE----- line"),
        ),
        ("base64 of random DER", &ca, pem("CERTIFICATE", &random_der), NOW, malformed("incorrect length")),
        // Same issuer name, so the name check passes: the signature is what refuses it.
        ("from a CA with the same name", &ca, from_twin.pem.clone(), NOW, Err(CertError::BadSignature)),
        // A different issuer name is refused before any signature work (RFC 4514 order, reversed).
        (
            "from a CA with another name",
            &ca,
            from_stranger.pem.clone(),
            NOW,
            Err(CertError::WrongIssuer { found: "O=mobauth,CN=other CA".into() }),
        ),
        ("signature byte flipped", &ca, pem("CERTIFICATE", &flipped), NOW, Err(CertError::BadSignature)),
        ("CN altered after signing", &ca, pem("CERTIFICATE", &altered_cn), NOW, Err(CertError::BadSignature)),
        // A CA certificate is refused for its role before its subject is looked at.
        (
            "the CA's own certificate",
            &ca,
            ca.certificate().pem.clone(),
            NOW,
            Err(CertError::WrongKind("a device certificate must not be a CA certificate")),
        ),
        // Controls: each foreign certificate is fine for its own CA.
        ("twin's certificate, twin's anchor", &twin, from_twin.pem.clone(), NOW, ok.clone()),
        ("stranger's certificate, stranger's anchor", &stranger, from_stranger.pem.clone(), NOW, ok.clone()),
    ];
    for (name, anchor_of, pem, now, expected) in &cases {
        check_cert(name, anchor_of, pem, *now, expected);
    }
}

/// A CA whose CN happens to be a uuid must not have its own (CA:TRUE) certificate accepted as a
/// device certificate: `verify` checks the certificate's role, not only issuer, signature and CN.
#[test]
fn a_ca_certificate_is_not_a_device_certificate() {
    let mut rng = seeded(0x0ce7_0003);
    let ca_named_like_a_device = uuid(&mut rng).to_string();
    let ca = CertificateAuthority::generate(&ca_named_like_a_device, &mut rng, NOW).expect("CA");
    let anchor = ca.trust_anchor().expect("anchor");
    assert_eq!(
        anchor.verify(&ca.certificate().pem, NOW),
        Err(CertError::WrongKind("a device certificate must not be a CA certificate"))
    );
}
