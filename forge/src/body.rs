//! Request bodies and headers of the scenario's making: form bodies encoded by hand, bodies
//! padded to an exact length (the 64 KiB limit of section 8), `Authorization: Basic` of any text.

use crate::{ForgeError, b64};

/// `application/x-www-form-urlencoded` of `pairs` (WHATWG's encoding: `*-._` and alphanumerics
/// stay, a space is `+`, every other byte is `%XX`).
pub fn form(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_string(),
                other => format!("%{other:02X}"),
            })
            .collect()
    }
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The JSON object `text` padded with spaces before its closing brace to exactly `len` bytes.
pub fn json_of_len(text: &str, len: usize) -> Result<Vec<u8>, ForgeError> {
    let Some(open) = text.strip_suffix('}') else {
        return Err(ForgeError::NoSuchSpelling(format!("{text:?} is not a JSON object")));
    };
    if text.len() > len {
        return Err(ForgeError::TooShort { what: "the length asked", got: len, needs: text.len() });
    }
    Ok(format!("{open}{}}}", " ".repeat(len - text.len())).into_bytes())
}

/// The form body `form` followed by an unknown `pad` field, to exactly `len` bytes.
pub fn form_of_len(form: &str, len: usize) -> Result<Vec<u8>, ForgeError> {
    let head = format!("{form}&pad=");
    if head.len() > len {
        return Err(ForgeError::TooShort { what: "the length asked", got: len, needs: head.len() });
    }
    Ok(format!("{head}{}", "x".repeat(len - head.len())).into_bytes())
}

/// `Basic <base64 of credentials>`: the header for any `user-id:password` text, also ones a
/// client library would refuse to build.
pub fn basic_authorization(credentials: &str) -> String {
    format!("Basic {}", b64::encode(credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_as_long_as_asked_or_say_why_not() {
        let table = [
            ("json", json_of_len("{\"a\":1}", 20), Ok(20)),
            ("json exact", json_of_len("{}", 2), Ok(2)),
            (
                "json too long",
                json_of_len("{\"a\":1}", 3),
                Err(ForgeError::TooShort { what: "the length asked", got: 3, needs: 7 }),
            ),
            ("form", form_of_len("a=b", 100), Ok(100)),
            (
                "form too long",
                form_of_len("a=b", 4),
                Err(ForgeError::TooShort { what: "the length asked", got: 4, needs: 8 }),
            ),
        ];
        for (case, body, expected) in table {
            assert_eq!(body.map(|b| b.len()), expected, "{case}");
        }
    }

    #[test]
    fn forms_and_headers_encode_as_named() {
        let table: [(String, &str); 3] = [
            (form(&[("type", "qr-code"), ("message", "Log in?")]), "type=qr-code&message=Log+in%3F"),
            (form(&[("cb", "http://a/b")]), "cb=http%3A%2F%2Fa%2Fb"),
            (basic_authorization("id:secret"), "Basic aWQ6c2VjcmV0"),
        ];
        for (got, expected) in table {
            assert_eq!(got, expected);
        }
    }
}
