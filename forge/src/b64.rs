//! Base64 as the contract spells it (standard alphabet, padded), and spelled otherwise on
//! purpose: padding taken off or put on, unused bits set, another alphabet.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::ForgeError;

/// The standard alphabet.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64 of `bytes`.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// URL-safe base64 of `bytes` without padding (a spelling a server might leak a secret in).
pub fn encode_url_safe_no_pad(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of standard padded (and canonical) base64.
pub fn decode(text: &str) -> Result<Vec<u8>, ForgeError> {
    STANDARD.decode(text).map_err(|e| ForgeError::NotBase64(e.to_string()))
}

/// The bytes of base64 in any of the spellings OTP-005's readings allow: standard or URL-safe,
/// padded or not; `None` when it is none of them.
pub fn decode_any_spelling(text: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text).ok())
}

/// Whether `text` is canonical standard padded base64: it decodes, and encodes back to itself.
pub fn is_canonical(text: &str) -> bool {
    decode(text).is_ok_and(|bytes| encode(bytes) == text)
}

/// The same bytes spelled otherwise: padding taken off, or put on when there was none. A
/// signature over a text "exactly as sent" must not cover the other spelling (OTP-016).
pub fn padding_changed(text: &str) -> Result<String, ForgeError> {
    let bare = text.trim_end_matches('=');
    let changed = if bare.len() < text.len() {
        bare.to_string()
    } else {
        format!("{bare}{}", "=".repeat((4 - bare.len() % 4) % 4))
    };
    if changed == text {
        return Err(ForgeError::NoSuchSpelling(format!(
            "{text:?} has no padding to take off or put on (its length is a multiple of 4)"
        )));
    }
    Ok(changed)
}

/// `text` with the lowest unused bit of its last data character set: the same bytes to a lax
/// decoder, non-canonical base64 to a strict one. Only padded base64 has unused bits.
pub fn with_unused_bits_set(text: &str) -> Result<String, ForgeError> {
    unused_bits_or(text, |_| 0x01)
}

/// `text` with every unused bit of its last data character set (four under "==", two under
/// "="): like [`with_unused_bits_set`], the same bytes to a lax decoder only.
pub fn with_all_unused_bits_set(text: &str) -> Result<String, ForgeError> {
    unused_bits_or(text, |padding| if padding == 1 { 0b0011 } else { 0b1111 })
}

/// `text` with its last data character's value or-ed with `mask(the number of "=")`.
fn unused_bits_or(text: &str, mask: impl Fn(usize) -> usize) -> Result<String, ForgeError> {
    let no_bits = || ForgeError::NoSuchSpelling(format!("{text:?} has no padding, so no unused bits"));
    let padding = text.len() - text.trim_end_matches('=').len();
    if padding == 0 {
        return Err(no_bits());
    }
    let at = text.len() - padding - 1;
    let mut chars: Vec<u8> = text.bytes().collect();
    let value = chars.get(at).and_then(|c| ALPHABET.iter().position(|a| a == c)).ok_or_else(|| {
        ForgeError::NotBase64(format!("{text:?} has no base64 character before its padding"))
    })?;
    // With "=" two bits of the last character are unused, with "==" four: bit 0 is always one.
    chars[at] = ALPHABET[value | mask(padding)];
    String::from_utf8(chars).map_err(|e| ForgeError::NotBase64(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_change_as_asked_or_say_why_not() {
        type Forge = fn(&str) -> Result<String, ForgeError>;
        let no_spelling = |m: &str| Err(ForgeError::NoSuchSpelling(m.to_string()));
        let table: [(&str, Forge, &str, Result<String, ForgeError>); 9] = [
            ("padding off", padding_changed, "AAE=", Ok("AAE".into())),
            ("padding on", padding_changed, "AAE", Ok("AAE=".into())),
            (
                "nothing to change",
                padding_changed,
                "AAAA",
                no_spelling("\"AAAA\" has no padding to take off or put on (its length is a multiple of 4)"),
            ),
            ("unused bits of ==", with_unused_bits_set, "AQ==", Ok("AR==".into())),
            ("unused bits of =", with_unused_bits_set, "AAE=", Ok("AAF=".into())),
            (
                "no unused bits",
                with_unused_bits_set,
                "AAAA",
                no_spelling("\"AAAA\" has no padding, so no unused bits"),
            ),
            ("all unused bits of ==", with_all_unused_bits_set, "AQ==", Ok("Af==".into())),
            ("all unused bits of =", with_all_unused_bits_set, "AAE=", Ok("AAH=".into())),
            (
                "no unused bits at all",
                with_all_unused_bits_set,
                "AAAA",
                no_spelling("\"AAAA\" has no padding, so no unused bits"),
            ),
        ];
        for (case, forge, input, expected) in table {
            assert_eq!(forge(input), expected, "{case}");
        }
    }

    #[test]
    fn decoding_tells_the_spellings_apart() {
        let table: [(&str, Option<usize>, bool); 5] = [
            ("AQ==", Some(1), true),
            ("AQ", Some(1), false),
            ("AR==", None, false),
            ("-_8", Some(2), false),
            ("%%", None, false),
        ];
        for (text, any_len, canonical) in table {
            let got = (decode_any_spelling(text).map(|b| b.len()), is_canonical(text));
            assert_eq!(got, (any_len, canonical), "{text}");
        }
    }
}
