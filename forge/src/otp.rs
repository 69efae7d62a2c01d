//! OTPs changed on purpose: a character, a bit of the secret, a byte, its format version, or the
//! length of its bytes.
//!
//! An OTP is 68 characters of standard padded base64 of 49 bytes (contract section 4): the
//! format version (byte 0), the transaction id (bytes 1 to 16) and the secret (bytes 17 to 48).

use crate::{ForgeError, b64};

/// The secret's first byte.
pub const SECRET_START: usize = 17;
/// The bytes of an OTP.
pub const OTP_BYTES: usize = 49;
/// The first character that encodes only secret bits (bytes 17.. start at character 22.67).
pub const SECRET_CHARACTER: usize = 40;
/// The character that holds the top six bits of the format version byte.
pub const VERSION_CHARACTER: usize = 0;

/// Which bit of the secret to flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretBit {
    /// The top bit of byte 17.
    First,
    /// The low bit of byte 48.
    Last,
}

/// The OTP with its character at `index` replaced by another of the same class (`B`, or `C`
/// where it was `B`), so it stays canonical base64 of 49 bytes with one byte changed.
pub fn character_changed(otp: &str, index: usize) -> Result<String, ForgeError> {
    character_replaced(otp, index, |c| if c == 'B' { 'C' } else { 'B' })
}

/// The OTP with its character at `index` replaced by `by(the character)`.
pub fn character_replaced(otp: &str, index: usize, by: impl Fn(char) -> char) -> Result<String, ForgeError> {
    let len = otp.chars().count();
    if index >= len {
        return Err(ForgeError::TooShort { what: "the OTP", got: len, needs: index + 1 });
    }
    Ok(otp.chars().enumerate().map(|(i, c)| if i == index { by(c) } else { c }).collect())
}

/// The OTP's bytes changed by `change`, as canonical base64.
pub fn bytes_changed(otp: &str, change: impl FnOnce(&mut Vec<u8>)) -> Result<String, ForgeError> {
    let mut bytes = b64::decode(otp)?;
    change(&mut bytes);
    Ok(b64::encode(bytes))
}

/// The OTP with one bit of its secret flipped.
pub fn secret_bit_flipped(otp: &str, bit: SecretBit) -> Result<String, ForgeError> {
    let bytes = b64::decode(otp)?;
    if bytes.len() != OTP_BYTES {
        return Err(ForgeError::TooShort { what: "the OTP's bytes", got: bytes.len(), needs: OTP_BYTES });
    }
    bytes_changed(otp, |bytes| match bit {
        SecretBit::First => bytes[SECRET_START] ^= 0x80,
        SecretBit::Last => bytes[OTP_BYTES - 1] ^= 0x01,
    })
}

/// The OTP with a byte of its own changed (`byte ^= mask`), as canonical base64.
pub fn byte_flipped(otp: &str, byte: usize, mask: u8) -> Result<String, ForgeError> {
    let bytes = b64::decode(otp)?;
    if byte >= bytes.len() {
        return Err(ForgeError::TooShort { what: "the OTP's bytes", got: bytes.len(), needs: byte + 1 });
    }
    bytes_changed(otp, |bytes| bytes[byte] ^= mask)
}

/// The OTP with `extra` bytes added after its own, as canonical base64: too long by
/// `extra.len()` bytes.
pub fn bytes_added(otp: &str, extra: &[u8]) -> Result<String, ForgeError> {
    bytes_changed(otp, |bytes| bytes.extend_from_slice(extra))
}

/// The OTP with its format version (byte 0) set to `version`, as canonical base64.
pub fn version_set(otp: &str, version: u8) -> Result<String, ForgeError> {
    let bytes = b64::decode(otp)?;
    if bytes.is_empty() {
        return Err(ForgeError::TooShort { what: "the OTP's bytes", got: 0, needs: 1 });
    }
    bytes_changed(otp, |bytes| bytes[0] = version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OTP of version 1, transaction bytes 0x11 and secret bytes 0x22.
    fn otp() -> String {
        let mut bytes = vec![0x01];
        bytes.extend([0x11; 16]);
        bytes.extend([0x22; 32]);
        b64::encode(bytes)
    }

    #[test]
    fn each_change_touches_only_what_it_names() {
        let otp = otp();
        let changed_byte = |otp: &str| -> Vec<usize> {
            let (a, b) =
                (b64::decode(&self::otp()).unwrap_or_default(), b64::decode(otp).unwrap_or_default());
            (0..a.len().max(b.len())).filter(|&i| a.get(i) != b.get(i)).collect()
        };
        let table: [(&str, Result<String, ForgeError>, Vec<usize>); 5] = [
            ("first bit", secret_bit_flipped(&otp, SecretBit::First), vec![17]),
            ("last bit", secret_bit_flipped(&otp, SecretBit::Last), vec![48]),
            ("secret character", character_changed(&otp, SECRET_CHARACTER), vec![30]),
            ("version character", character_changed(&otp, VERSION_CHARACTER), vec![0]),
            ("a byte", byte_flipped(&otp, 20, 1), vec![20]),
        ];
        for (case, changed, bytes) in table {
            let changed = changed.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!((b64::is_canonical(&changed), changed_byte(&changed)), (true, bytes), "{case}");
        }
    }

    #[test]
    fn inputs_that_cannot_be_changed_are_refused() {
        let table: [(&str, Result<String, ForgeError>, ForgeError); 3] = [
            ("not base64", secret_bit_flipped("%%%", SecretBit::First), ForgeError::NotBase64(String::new())),
            (
                "too short",
                secret_bit_flipped("AQ==", SecretBit::Last),
                ForgeError::TooShort { what: "the OTP's bytes", got: 1, needs: 49 },
            ),
            (
                "index past the end",
                character_changed("AQ==", 9),
                ForgeError::TooShort { what: "the OTP", got: 4, needs: 10 },
            ),
        ];
        for (case, got, expected) in table {
            let same_kind = match (&got, &expected) {
                (Err(ForgeError::NotBase64(_)), ForgeError::NotBase64(_)) => true,
                (Err(got), expected) => got == expected,
                (Ok(_), _) => false,
            };
            assert!(same_kind, "{case}: {got:?}");
        }
    }

    #[test]
    fn lengths_and_versions_change_as_asked_or_say_why_not() {
        let otp = otp();
        let decoded = |changed: Result<String, ForgeError>| changed.and_then(|text| b64::decode(&text));
        let own = |version: u8, tail: &[u8]| [&[version][..], &[0x11; 16], &[0x22; 32], tail].concat();
        type Bytes = Result<Vec<u8>, ForgeError>;
        let table: [(&str, Result<String, ForgeError>, Bytes); 5] = [
            ("a zero byte added", bytes_added(&otp, &[0]), Ok(own(0x01, &[0]))),
            ("two bytes added", bytes_added(&otp, &[1, 2]), Ok(own(0x01, &[1, 2]))),
            ("nothing added", bytes_added(&otp, &[]), Ok(own(0x01, &[]))),
            ("version 2", version_set(&otp, 0x02), Ok(own(0x02, &[]))),
            (
                "no byte to set",
                version_set("", 0x02),
                Err(ForgeError::TooShort { what: "the OTP's bytes", got: 0, needs: 1 }),
            ),
        ];
        for (case, changed, expected) in table {
            assert_eq!(decoded(changed), expected, "{case}");
        }
    }
}
