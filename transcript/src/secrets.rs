//! What no report may show: the secrets a scenario's exchanges carried (passwords, client
//! secrets, the admin token, access and refresh tokens, OTPs, keys), and how text is scrubbed of
//! them. Two nets: every value a secret-named field or a credential header carried is remembered
//! (in any field, known to the contract or not) and masked wherever it appears, in bodies,
//! headers and failure messages alike; and the values of secret-named fields are masked by their
//! place in text the first net has not seen.
//!
//! A mask keeps enough to tell two values apart within a run: `[redacted:1f2e3d4c]`, a keyed hash
//! of the value whose key is this process's own, so that a mask says nothing of the value (not
//! even to a dictionary of likely passwords) outside the run that wrote it.

use std::collections::BTreeSet;
use std::hash::BuildHasher as _;
use std::sync::OnceLock;

use base64::Engine as _;

/// Values shorter than this are masked only by their place (a field, a header), never wherever
/// they appear: masking every `pw` or `42` of a report would hide what it is for.
const SHORTEST_MASKED_ANYWHERE: usize = 6;

/// The mask of `value`.
pub fn mask(value: &str) -> String {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let hash = KEY.get_or_init(std::collections::hash_map::RandomState::new).hash_one(value);
    format!("[redacted:{:08x}]", hash >> 32)
}

/// Whether a JSON member or form field of this name carries a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "otp" | "token" | "secret" | "private_key" | "privatekey")
        || ["_token", "-token", "token_value"].iter().any(|end| name.ends_with(end))
        || name.contains("secret")
        || name.contains("password")
        || name.contains("passwd")
}

/// The secrets seen in a scenario so far.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: BTreeSet<String>,
}

impl Secrets {
    /// Remembers `value` as a secret.
    pub(crate) fn keep(&mut self, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.values.insert(value.to_string());
        }
    }

    /// Remembers the values of the secret-named members of `body` (any depth, if it is JSON) or
    /// of its secret-named fields (if it is a form).
    pub(crate) fn keep_from_body(&mut self, body: &str) {
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(value) => self.keep_from_json(&value, false),
            Err(_) => {
                for (name, value) in body.split('&').filter_map(|pair| pair.split_once('=')) {
                    if is_secret_name(name) {
                        self.keep(&percent_encoding::percent_decode_str(value).decode_utf8_lossy());
                        self.keep(value);
                    }
                }
            }
        }
    }

    fn keep_from_json(&mut self, value: &serde_json::Value, secret: bool) {
        match value {
            serde_json::Value::String(text) if secret => self.keep(text),
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    self.keep_from_json(member, secret || is_secret_name(name));
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.keep_from_json(item, secret);
                }
            }
            _ => {}
        }
    }

    /// Remembers the credentials of a header: an `Authorization`'s (and, for Basic, the secret
    /// inside it), a cookie, or any header whose name says it carries a secret.
    pub(crate) fn keep_from_header(&mut self, name: &str, value: &str) {
        if !is_secret_header(name) {
            return;
        }
        let credentials = value.split_once(' ').map_or(value, |(_, rest)| rest).trim();
        self.keep(credentials);
        self.keep(value);
        if let Some(user_secret) = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            && let Some((_, secret)) = user_secret.split_once(':')
        {
            self.keep(secret);
            self.keep(&percent_encoding::percent_decode_str(secret).decode_utf8_lossy());
        }
    }

    /// `text` with every remembered secret masked, then every secret-named field's value.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so that a secret inside another is masked as part of the longer one.
        let mut values: Vec<&String> =
            self.values.iter().filter(|v| v.chars().count() >= SHORTEST_MASKED_ANYWHERE).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &mask(value));
            }
        }
        redact_fields(&out)
    }
}

/// Whether a header of this name carries credentials.
fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["authorization", "cookie", "token", "secret", "key", "password", "session"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A header value as transcripts show it: `Authorization` keeps its scheme and masks the
/// credentials; cookies and any header whose name mentions a token, secret, key or password are
/// masked whole.
pub fn redact_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" || lower == "proxy-authorization" {
        return match value.split_once(' ') {
            Some((scheme, credentials)) => format!("{scheme} {}", mask(credentials.trim())),
            None => mask(value),
        };
    }
    if is_secret_header(name) {
        return mask(value);
    }
    value.to_string()
}

/// The members and form fields whose values are masked by their place, also where the text is
/// not whole JSON (cut, or hand-written).
const SECRET_FIELDS: [&str; 6] =
    ["access_token", "refresh_token", "id_token", "password", "client_secret", "otp"];

/// Masks the string value of every JSON member (with any whitespace around its colon, as a
/// scenario's hand-written body has it) and form field of [`SECRET_FIELDS`].
pub(crate) fn redact_fields(text: &str) -> String {
    let mut out = text.to_string();
    for key in SECRET_FIELDS {
        redact_json_member(&mut out, key);
        redact_form_field(&mut out, key);
    }
    out
}

/// Whether this text is already a mask.
fn is_mask(text: &str) -> bool {
    text.starts_with("[redacted:")
}

/// Masks the string value of every JSON member `"key"` in `out`.
fn redact_json_member(out: &mut String, key: &str) {
    let name = format!("\"{key}\"");
    let mut from = 0;
    while let Some(at) = out[from..].find(&name) {
        let after_name = from + at + name.len();
        let value = out[after_name..]
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('"'));
        let Some(value) = value else {
            // The key's name as a value, say: nothing to hide here.
            from = after_name;
            continue;
        };
        let start = out.len() - value.len();
        let end = string_end(value).map_or(out.len(), |n| start + n);
        if is_mask(&out[start..end]) {
            from = end;
            continue;
        }
        let masked = mask(&out[start..end]);
        out.replace_range(start..end, &masked);
        from = start + masked.len();
    }
}

/// Where a JSON string's text ends (its closing quote), skipping escaped quotes.
fn string_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Masks the value of every form field `key=` in `out`, up to the next `&`.
fn redact_form_field(out: &mut String, key: &str) {
    let open = format!("{key}=");
    let mut from = 0;
    while let Some(at) = out[from..].find(&open) {
        let start = from + at + open.len();
        let end = out[start..].find('&').map_or(out.len(), |n| start + n);
        if is_mask(&out[start..end]) || start == end {
            from = end.max(start);
            continue;
        }
        let masked = mask(&out[start..end]);
        out.replace_range(start..end, &masked);
        from = start + masked.len();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A secret once seen is in no scrubbed text, wherever it is put; nothing panics on any
        /// text, JSON-like or not.
        #[test]
        fn a_kept_secret_never_survives_a_scrub(
            secret in "[A-Z]{6,24}",
            before in ".{0,60}",
            after in ".{0,60}",
        ) {
            let mut secrets = Secrets::default();
            secrets.keep(&secret);
            let scrubbed = secrets.scrub(&format!("{before}{secret}{after}"));
            prop_assert!(!scrubbed.contains(&secret), "{scrubbed}");
            prop_assert!(scrubbed.contains(&mask(&secret)), "{scrubbed}");
        }

        #[test]
        fn fields_and_bodies_of_any_text_are_scrubbed_without_a_panic(
            text in r#"[a-z_"{}:=&\\ ]{0,80}|.{0,80}"#,
            header in ".{0,40}",
        ) {
            let mut secrets = Secrets::default();
            secrets.keep_from_body(&text);
            secrets.keep_from_header("authorization", &header);
            let _ = secrets.scrub(&text);
            let _ = redact_fields(&text);
            let _ = redact_header("authorization", &header);
        }

        #[test]
        fn a_secret_field_of_any_json_body_is_masked_in_the_body(name in "(otp|password|client_secret|x_token|refresh_token)", value in "[a-zA-Z0-9]{6,30}") {
            let body = serde_json::json!({ name.clone(): value.clone(), "other": 1 }).to_string();
            let mut secrets = Secrets::default();
            secrets.keep_from_body(&body);
            prop_assert!(!secrets.scrub(&body).contains(&value));
        }
    }
}
