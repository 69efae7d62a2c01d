//! Property tests of every parser that takes a peer's bytes: the OTP codec, CSRs, certificates,
//! public keys and signatures, driver lines and the wire types. Whatever the input, each returns
//! a value or an error and never panics; what it accepts it reads back the same. The cases are
//! bounded ([`CASES`]), so a run in CI stays short; a failure prints the smallest input found.

use proptest::prelude::*;
use protocol::ca::{CertificateAuthority, TrustAnchor};
use protocol::csr::VerifiedCsr;
use protocol::driver::Line;
use protocol::keys::PublicKey;
use protocol::otp::{OTP_BYTES, Otp};
use protocol::wire;
use time::macros::datetime;
use uuid::Uuid;

/// Cases per property.
const CASES: u32 = 256;

/// Any JSON value, a few levels deep, with the wire types' member names among its keys, so that
/// the wire types' parsers meet objects that are almost theirs.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let names = prop::sample::select(vec![
        "device_id",
        "csr",
        "otp",
        "answer",
        "signature",
        "transaction_id",
        "challenge",
        "status",
        "id",
        "op",
        "ok",
        "event",
        "error_code",
        "error_type",
        "message",
        "access_token",
        "expires_in",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(names.clone().prop_map(String::from), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Parses `text` as each wire type a peer sends; only that nothing panics is asked.
fn parse_as_every_wire_type(text: &str) {
    macro_rules! parse {
        ($($ty:ty),*) => { $( let _ = serde_json::from_str::<$ty>(text); )* };
    }
    parse!(
        wire::TokenResponse,
        wire::EnrollmentRequest,
        wire::EnrollmentResponse,
        wire::EnrollmentInfo,
        wire::OtpRequestBody,
        wire::OtpRequestResponse,
        wire::AnswerBody,
        wire::AnswerResponse,
        wire::AuthenticateUserResponse,
        wire::TransactionStatusResponse,
        wire::CallbackBody,
        wire::ServerConfig,
        wire::ClockState,
        wire::ClockCommand,
        wire::EventsResponse,
        protocol::error::ErrorBody,
        protocol::error::OAuthErrorBody
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn otp_decoding_never_panics_and_reads_back_what_it_takes(text in ".{0,100}", bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(otp) = Otp::decode(&text) {
            prop_assert!(Otp::decode(&otp.encode()) == Ok(otp), "an OTP it took reads back the same");
        }
        if let Ok(otp) = Otp::from_bytes(&bytes) {
            let read_back = otp.to_bytes();
            prop_assert_eq!(read_back.as_slice(), bytes.as_slice());
        }
    }

    #[test]
    fn every_otp_of_the_right_shape_round_trips(id in any::<[u8; 16]>(), secret in any::<[u8; 32]>()) {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&secret);
        prop_assert_eq!(bytes.len(), OTP_BYTES);
        let otp = Otp::from_bytes(&bytes).expect("a version-1 OTP of 49 bytes parses");
        prop_assert_eq!(otp.transaction_id, Uuid::from_bytes(id));
        prop_assert!(Otp::decode(&otp.encode()) == Ok(otp), "the OTP reads back the same");
    }

    #[test]
    fn csrs_certificates_and_keys_from_any_bytes_never_panic(
        text in ".{0,300}",
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        message in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let device = Uuid::nil();
        let _ = VerifiedCsr::from_pem(&text, device);
        let _ = VerifiedCsr::from_der(&bytes, device);
        let pem = format!("-----BEGIN CERTIFICATE REQUEST-----\n{text}\n-----END CERTIFICATE REQUEST-----\n");
        let _ = VerifiedCsr::from_pem(&pem, device);
        let _ = TrustAnchor::from_pem(&text);
        let _ = PublicKey::from_sec1_bytes(&bytes);
        if let Ok(key) = PublicKey::from_sec1_bytes(&bytes[..bytes.len().min(65)]) {
            let _ = key.verify(&message, &bytes);
        }
    }

    #[test]
    fn a_certificate_check_of_any_text_never_panics(text in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let anchor = anchor();
        let now = datetime!(2026-11-29 12:00 UTC);
        let _ = anchor.verify(&text, now);
        let _ = anchor.verify_chain(&text);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes)
        );
        let _ = anchor.verify(&pem, now);
    }

    #[test]
    fn driver_lines_and_wire_types_from_any_text_never_panic(text in ".{0,200}", value in json()) {
        let _ = Line::parse(&text);
        parse_as_every_wire_type(&text);
        let json_text = value.to_string();
        if let Ok(line) = Line::parse(&json_text) {
            // What it takes, it writes back as a line that reads the same.
            prop_assert_eq!(Line::parse(&line.to_line()).ok(), Some(line));
        }
        parse_as_every_wire_type(&json_text);
        let _ = wire::parse_id(&text);
        let _ = protocol::error::ErrorCode::from_type_name(&text);
    }
}

/// One trust anchor for every case: making its authority is a key generation.
fn anchor() -> &'static TrustAnchor {
    static ANCHOR: std::sync::OnceLock<TrustAnchor> = std::sync::OnceLock::new();
    ANCHOR.get_or_init(|| {
        let mut rng = protocol::rng::seeded(5);
        let ca = CertificateAuthority::generate("property CA", &mut rng, datetime!(2026-11-29 12:00 UTC))
            .expect("a CA is made");
        ca.trust_anchor().expect("a CA gives its trust anchor")
    })
}
