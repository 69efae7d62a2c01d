//! The OTP of contract section 4.
//!
//! 49 bytes: a format version (`0x01`), the transaction id's 16 bytes and a 32-byte secret,
//! written as standard padded base64 (68 characters). The server keeps only the SHA-256 of the
//! secret ([`SecretDigest`]) and compares in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand_core::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// The only format version defined.
pub const OTP_VERSION: u8 = 0x01;
/// Decoded length: version + transaction id + secret.
pub const OTP_BYTES: usize = 1 + 16 + 32;
/// Encoded length in characters.
pub const OTP_CHARS: usize = 68;

/// Why a string is not an OTP of this profile.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    /// Not standard, padded, canonical base64 (RFC 4648 §4).
    #[error("the OTP is not valid standard base64: {0}")]
    NotBase64(String),
    /// Base64, but not 49 bytes once decoded.
    #[error("the OTP decodes to {found} bytes, expected {OTP_BYTES}")]
    WrongLength {
        /// How many bytes it decoded to.
        found: usize,
    },
    /// The first byte is not a known format version.
    #[error("the OTP has format version {0:#04x}, expected {OTP_VERSION:#04x}")]
    UnknownVersion(u8),
}

/// A decoded OTP.
#[derive(Clone, PartialEq, Eq)]
pub struct Otp {
    /// The transaction the OTP belongs to.
    pub transaction_id: Uuid,
    /// The secret that proves the holder saw the OTP.
    pub secret: [u8; 32],
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret is a bearer credential: keep it out of logs.
        f.debug_struct("Otp")
            .field("transaction_id", &self.transaction_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Otp {
    /// A new OTP for `transaction_id` with a secret drawn from `rng`.
    pub fn generate(transaction_id: Uuid, rng: &mut impl Rng) -> Self {
        Self { transaction_id, secret: crate::rng::bytes(rng) }
    }

    /// The 49 bytes before base64.
    pub fn to_bytes(&self) -> [u8; OTP_BYTES] {
        let mut out = [0u8; OTP_BYTES];
        out[0] = OTP_VERSION;
        out[1..17].copy_from_slice(self.transaction_id.as_bytes());
        out[17..].copy_from_slice(&self.secret);
        out
    }

    /// The 68-character string that portals show and QR codes carry.
    pub fn encode(&self) -> String {
        STANDARD.encode(self.to_bytes())
    }

    /// Parses an OTP string exactly as given (no trimming).
    pub fn decode(text: &str) -> Result<Self, OtpError> {
        let bytes = STANDARD.decode(text).map_err(|e| OtpError::NotBase64(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// Parses the 49 decoded bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OtpError> {
        let bytes: &[u8; OTP_BYTES] =
            bytes.try_into().map_err(|_| OtpError::WrongLength { found: bytes.len() })?;
        if bytes[0] != OTP_VERSION {
            return Err(OtpError::UnknownVersion(bytes[0]));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[1..17]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&bytes[17..]);
        Ok(Self { transaction_id: Uuid::from_bytes(id), secret })
    }

    /// What the server stores in place of the secret.
    pub fn secret_digest(&self) -> SecretDigest {
        SecretDigest(Sha256::digest(self.secret).into())
    }
}

/// SHA-256 of an OTP secret, compared in constant time.
#[derive(Clone, Copy)]
pub struct SecretDigest([u8; 32]);

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

impl SecretDigest {
    /// The digest as stored (a server that keeps its state keeps this, never the secret).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// A digest as stored.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Whether `otp`'s secret hashes to this digest, in time independent of where they differ.
    pub fn matches(&self, otp: &Otp) -> bool {
        bool::from(self.0.ct_eq(&otp.secret_digest().0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;

    #[test]
    fn round_trip_and_shape() {
        let mut rng = seeded(3);
        let otp = Otp::generate(crate::rng::uuid(&mut rng), &mut rng);
        let text = otp.encode();
        assert_eq!(text.len(), OTP_CHARS);
        assert_eq!(otp.to_bytes()[0], OTP_VERSION);
        assert!(text.starts_with('A'), "0x01 puts six zero bits first: {text}");
        assert_eq!(Otp::decode(&text), Ok(otp.clone()));
        assert!(otp.secret_digest().matches(&otp));
        let mut other = otp.clone();
        other.secret[31] ^= 1;
        assert!(!otp.secret_digest().matches(&other));
        assert!(!format!("{otp:?}").contains(&format!("{:?}", otp.secret)));
    }
}
