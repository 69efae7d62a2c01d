//! The signature an answer carries: base64 of the DER ECDSA signature over a signing string
//! (contract section 3.2), right or over the wrong text, and the other forms the suite sends.

use protocol::keys::{KeyPair, signing_string};
use protocol::wire::Answer;
use uuid::Uuid;

use crate::{ForgeError, b64, der};

/// What an answer's signature is made over, part by part, so that one part can be wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningParts {
    /// The transaction.
    pub transaction_id: Uuid,
    /// The challenge, exactly as the server sent it (or not).
    pub challenge: String,
    /// The answer.
    pub answer: Answer,
    /// The device.
    pub device_id: Uuid,
}

impl SigningParts {
    /// The signing string of these parts.
    pub fn text(&self) -> String {
        signing_string(self.transaction_id, &self.challenge, self.answer, self.device_id)
    }
}

/// The form of signature an answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureForm {
    /// DER, as the signer made it.
    Der,
    /// DER with s in the lower half of the group order.
    LowS,
    /// DER with s in the upper half of the group order.
    HighS,
    /// The 64 raw bytes of r and s, which is not DER.
    Raw,
    /// The DER signature followed by a zero byte.
    TrailingZero,
}

/// Base64 of `key`'s DER signature over `text`.
pub fn signature_over(key: &KeyPair, text: &str) -> String {
    b64::encode(key.sign(text.as_bytes()))
}

/// Base64 of `key`'s signature over the signing string of `parts`: the answer's `signature`.
pub fn signature(key: &KeyPair, parts: &SigningParts) -> String {
    signature_over(key, &parts.text())
}

/// Base64 of `key`'s signature over `text`, in `form`.
pub fn signature_in_form(key: &KeyPair, text: &str, form: &SignatureForm) -> Result<String, ForgeError> {
    let der = key.sign(text.as_bytes());
    let bytes = match form {
        SignatureForm::Der => der,
        SignatureForm::LowS => der::with_s(&der, false)?,
        SignatureForm::HighS => der::with_s(&der, true)?,
        SignatureForm::Raw => der::raw(&der)?,
        SignatureForm::TrailingZero => der::with_trailing_zero(&der),
    };
    Ok(b64::encode(bytes))
}

/// Base64 of bytes that are not a DER signature at all.
pub fn not_a_signature() -> String {
    b64::encode(b"this is not a DER signature")
}

/// The signing string with its version tag changed (`mobile-auth-v2|...`).
pub fn with_version(text: &str, version: &str) -> String {
    text.replacen("mobile-auth-v1|", &format!("{version}|"), 1)
}

/// A signature with a line break after its `at`th character.
pub fn with_line_break(signature: &str, at: usize) -> Result<String, ForgeError> {
    if !signature.is_char_boundary(at) || at > signature.len() {
        return Err(ForgeError::TooShort { what: "the signature", got: signature.len(), needs: at });
    }
    Ok(format!("{}\n{}", &signature[..at], &signature[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_in_the_form_and_over_the_text_they_name() {
        let key = KeyPair::generate(&mut protocol::rng::seeded(1));
        let parts = SigningParts {
            transaction_id: Uuid::nil(),
            challenge: "c2FsdA==".into(),
            answer: Answer::Accept,
            device_id: Uuid::max(),
        };
        let text = parts.text();
        let verifies = |sig: &str, over: &str| {
            b64::decode(sig).is_ok_and(|der| key.public_key().verify(over.as_bytes(), &der).is_ok())
        };
        let low = signature_in_form(&key, &text, &SignatureForm::LowS).unwrap_or_default();
        let raw = signature_in_form(&key, &text, &SignatureForm::Raw).unwrap_or_default();
        let zero = signature_in_form(&key, &text, &SignatureForm::TrailingZero).unwrap_or_default();
        let v2 = with_version(&text, "mobile-auth-v2");
        let table: [(&str, String, &str, bool); 6] = [
            ("the answer's", signature(&key, &parts), &text, true),
            ("low-S", low, &text, true),
            ("raw", raw, &text, false),
            ("trailing zero", zero, &text, false),
            ("not a signature", not_a_signature(), &text, false),
            ("over v2", signature_over(&key, &v2), &text, false),
        ];
        for (case, sig, over, expected) in table {
            assert_eq!(verifies(&sig, over), expected, "{case}");
        }
    }

    #[test]
    fn a_line_break_goes_where_asked() {
        let table = [
            ("abcd", 2, Ok("ab\ncd".to_string())),
            ("ab", 3, Err(ForgeError::TooShort { what: "the signature", got: 2, needs: 3 })),
        ];
        for (sig, at, expected) in table {
            assert_eq!(with_line_break(sig, at), expected, "{sig} at {at}");
        }
    }
}
