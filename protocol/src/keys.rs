//! P-256 keys, ECDSA signatures and the answer's signing string.
//!
//! A device holds a [`KeyPair`]; the server knows its [`PublicKey`] from the enrolled certificate.
//! Signatures are DER-encoded ECDSA over SHA-256 (deterministic, RFC 6979, so signing needs no
//! randomness). [`signing_string`] builds the exact bytes of contract section 3.2.

use std::fmt;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rand_core::CryptoRng;
use uuid::Uuid;

use crate::wire::Answer;

/// Why a key could not be read or written.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a P-256 public key (SEC1 point or SubjectPublicKeyInfo).
    #[error("not a P-256 public key")]
    InvalidPublicKey,
    /// The text is not a PKCS#8 PEM P-256 private key.
    #[error("not a PKCS#8 P-256 private key: {0}")]
    InvalidPrivateKey(String),
}

/// Why a signature was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The bytes are not a DER `ECDSA-Sig-Value` with `r` and `s` in range.
    #[error("the signature is not a DER-encoded ECDSA P-256 signature")]
    Malformed,
    /// Well-formed, but it does not verify for this key and message.
    #[error("the signature does not verify with this key")]
    Mismatch,
}

/// A P-256 key pair.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    /// The uncompressed SEC1 point, kept because rcgen borrows it as bytes.
    point: Box<[u8]>,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public_key()).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self::from_signing_key(SigningKey::generate_from_rng(rng))
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let point = signing.verifying_key().to_sec1_bytes();
        Self { signing, point }
    }

    /// Reads a PKCS#8 PEM private key (what `openssl genpkey` and [`KeyPair::to_pkcs8_pem`] write).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_signing_key)
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.signing.verifying_key())
    }

    /// The uncompressed SEC1 encoding of the public key (65 bytes).
    pub fn public_point(&self) -> &[u8] {
        &self.point
    }

    /// A DER ECDSA P-256 SHA-256 signature of `message`, always in low-S form: the contract
    /// does not say whether a verifier takes high-S, and a server that refuses it is legal
    /// (docs/PROTOCOL.md OTP-010), so our devices never send it.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.signing.sign(message);
        signature.normalize_s().to_der().as_bytes().to_vec()
    }
}

/// A P-256 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex(&self.0.to_sec1_bytes()))
    }
}

impl PublicKey {
    /// From a SEC1 point (compressed or uncompressed).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        VerifyingKey::from_sec1_bytes(bytes).map(PublicKey).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// The uncompressed SEC1 point.
    pub fn to_sec1_bytes(&self) -> Box<[u8]> {
        self.0.to_sec1_bytes()
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.0.to_public_key_der().map(|doc| doc.as_bytes().to_vec()).unwrap_or_default()
    }

    /// Checks a DER ECDSA P-256 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), SignatureError> {
        let signature = Signature::from_der(der_signature).map_err(|_| SignatureError::Malformed)?;
        if verifies(&self.0, message, &signature) { Ok(()) } else { Err(SignatureError::Mismatch) }
    }
}

/// Whether `signature` is an ECDSA P-256 SHA-256 signature of `message` by `key`: the one check
/// behind every signature the harness and the mock server judge (answers, CSRs, certificates).
///
/// What a signature is stays p256's to say: the DER was read by [`Signature::from_der`] (`r` and
/// `s` in 1..n, either form of `s`) and the key is a valid point, so ring gets the same values
/// as fixed-width `r || s` and an uncompressed point, and does only the arithmetic, about five
/// times faster than p256's (`examples/verify_bench.rs`; p256's checks were an eighth of the
/// embedded suite's CPU time). ring is in the build already, as rustls's provider; signing
/// stays with p256, whose RFC 6979 nonces keep a seeded run repeatable.
pub(crate) fn verifies(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    let point = key.to_sec1_point(false);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes())
        .verify(message, &signature.to_bytes())
        .is_ok()
}

/// Whether a DER ECDSA P-256 signature has a high `s` (above n/2), the form that low-S rules
/// refuse; `false` for bytes that are not a DER signature.
pub fn is_high_s(der_signature: &[u8]) -> bool {
    Signature::from_der(der_signature).is_ok_and(|s| s.normalize_s() != s)
}

/// The exact bytes a device signs to answer a transaction (contract section 3.2):
/// `mobile-auth-v1|<transaction_id>|<challenge>|<answer>|<device_id>`, with the challenge exactly
/// as the server sent it.
pub fn signing_string(transaction_id: Uuid, challenge: &str, answer: Answer, device_id: Uuid) -> String {
    format!("mobile-auth-v1|{transaction_id}|{challenge}|{}|{device_id}", answer.as_str())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;

    #[test]
    fn sign_verify_and_refusals() {
        let mut rng = seeded(11);
        let key = KeyPair::generate(&mut rng);
        let other = KeyPair::generate(&mut rng);
        let sig = key.sign(b"hello");
        assert_eq!(key.public_key().verify(b"hello", &sig), Ok(()));
        assert_eq!(key.public_key().verify(b"hellO", &sig), Err(SignatureError::Mismatch));
        assert_eq!(other.public_key().verify(b"hello", &sig), Err(SignatureError::Mismatch));
        assert_eq!(key.public_key().verify(b"hello", b"\x30\x00"), Err(SignatureError::Malformed));
        assert_eq!(key.public_point().len(), 65);
        let pem = key.to_pkcs8_pem().expect("a fresh key encodes");
        let back = KeyPair::from_pkcs8_pem(&pem).expect("our own PEM reads back");
        assert_eq!(back.public_key(), key.public_key());
        assert!(matches!(KeyPair::from_pkcs8_pem("nope"), Err(KeyError::InvalidPrivateKey(_))));
    }

    #[test]
    fn high_s_is_told_from_low_s() {
        let key = KeyPair::generate(&mut seeded(12));
        let low = Signature::from_der(&key.sign(b"hello")).expect("our own DER");
        assert_eq!(low.normalize_s(), low, "we sign in low-S form");
        let (r, s) = low.split_scalars();
        let high = Signature::from_scalars(r, -s).expect("r and n - s are a signature");
        let (low, high) = (low.to_der().as_bytes().to_vec(), high.to_der().as_bytes().to_vec());
        assert!(!is_high_s(&low));
        assert!(is_high_s(&high));
        assert!(!is_high_s(b"not DER"));
        assert_eq!(key.public_key().verify(b"hello", &high), Ok(()), "verify itself takes both forms");
    }

    #[test]
    fn signing_string_is_the_contract_format() {
        let t = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let d = Uuid::from_u128(1);
        assert_eq!(
            signing_string(t, "Y2hhbA==", Answer::Deny, d),
            "mobile-auth-v1|01234567-89ab-cdef-0123-456789abcdef|Y2hhbA==|deny|00000000-0000-0000-0000-000000000001"
        );
    }
}
