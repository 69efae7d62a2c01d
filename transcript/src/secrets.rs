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

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::hash::BuildHasher as _;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
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
    let name = ascii_lowercase(name);
    matches!(&*name, "otp" | "token" | "secret" | "private_key" | "privatekey")
        || ["_token", "-token", "token_value"].iter().any(|end| name.ends_with(end))
        || name.contains("secret")
        || name.contains("password")
        || name.contains("passwd")
}

/// `name` in ASCII lower case, borrowed when it is already (as the names of the headers and
/// most members of a body are): asked of every header and member of every exchange.
fn ascii_lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// What every name [`is_secret_name`] takes holds, in ASCII lower case: a body in which none is
/// (in any case) and no escape is (a JSON name can spell a letter `\u0070`) has no secret-named
/// member or field.
const IN_SECRET_NAMES: [&str; 7] =
    ["otp", "token", "secret", "private_key", "privatekey", "password", "passwd"];

/// The secrets seen in a scenario so far.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: BTreeSet<String>,
    /// What masks [`Self::values`] in text, built at the first scrub after a secret long enough
    /// to mask anywhere was added: a scenario adds its secrets as its exchanges come, and scrubs
    /// many texts (every URL, header and body it reports) once they have.
    masker: OnceLock<Masker>,
}

impl Secrets {
    /// Remembers `value` as a secret.
    pub(crate) fn keep(&mut self, value: &str) {
        let value = value.trim();
        // Most values are seen again (every exchange carries the same credentials): no copy of
        // one already kept, and no new masker.
        if value.is_empty() || self.values.contains(value) {
            return;
        }
        self.values.insert(value.to_string());
        if masked_anywhere(value) {
            self.masker.take();
        }
    }
    /// Remembers the values of the secret-named members of `body` (any depth, if it is JSON) or
    /// of its secret-named fields (if it is a form).
    pub(crate) fn keep_from_body(&mut self, body: &str) {
        static NAMES: LazyLock<Option<AhoCorasick>> =
            LazyLock::new(|| AhoCorasick::builder().ascii_case_insensitive(true).build(IN_SECRET_NAMES).ok());
        // Most bodies (a CSR, a QR code's page, an error) name no secret: not parsed for none.
        if !body.contains('\\') && NAMES.as_ref().is_some_and(|names| !names.is_match(body)) {
            return;
        }
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
        let masked = self.masker.get_or_init(|| Masker::new(&self.values)).mask(text);
        // Each step copies the text only if it changes it: most texts (URLs, headers, bodies
        // without a secret) are copied once, here, into the String the caller keeps.
        let fields = match redact_fields(&masked) {
            Cow::Owned(fields) => Some(fields),
            Cow::Borrowed(_) => None,
        };
        fields.unwrap_or_else(|| masked.into_owned())
    }
}

/// Whether `value` is long enough to be masked wherever it appears.
fn masked_anywhere(value: &str) -> bool {
    value.chars().count() >= SHORTEST_MASKED_ANYWHERE
}

/// One secret masked anywhere, with its mask (made once, not at every place it is found).
#[derive(Debug)]
struct Masked {
    value: String,
    mask: String,
}

/// Masks a set of secrets in text in one pass, with the result of masking them one after the
/// other, longest first (so that a secret inside another is masked as part of the longer one):
/// that sequence is what reports have always shown, and is kept for the texts where one pass
/// cannot match it.
#[derive(Debug)]
struct Masker {
    /// The secrets masked anywhere, longest (in bytes) first, ties in the set's order: the order
    /// of the sequence. An automaton match's pattern is its index here.
    secrets: Vec<Masked>,
    /// Finds every occurrence of every secret, overlapping ones too (`MatchKind::Standard`);
    /// `None` when there is no secret, or it could not be built (then the sequence runs).
    automaton: Option<AhoCorasick>,
    /// Whether no mask the sequence writes can hold or start a secret: no secret has a bracket
    /// (a mask's first and last characters, which a secret straddling a mask's edge would hold),
    /// and none is in another's mask (a hex-only OTP can be in a mask's hash). Otherwise masking
    /// one secret can make another appear, which a pass over the text as it came cannot see.
    masks_are_inert: bool,
}

impl Masker {
    fn new(values: &BTreeSet<String>) -> Self {
        let mut secrets: Vec<Masked> = values
            .iter()
            .filter(|value| masked_anywhere(value))
            .map(|value| Masked { value: value.clone(), mask: mask(value) })
            .collect();
        // Stable: equal lengths stay in the set's order, as the sequence always had them.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.value.len()));
        let automaton = if secrets.is_empty() {
            None
        } else {
            // A scenario builds one or two and scans some kilobytes with each: building is most
            // of the cost, and the noncontiguous NFA builds fastest (the DFA that the automatic
            // choice picks for a few patterns took ten times as long to build, 2.6 M instructions,
            // more than all the old scrub's searching).
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .match_kind(MatchKind::Standard)
                .build(secrets.iter().map(|secret| &secret.value))
                .ok()
        };
        let masks_are_inert = automaton.as_ref().is_some_and(|automaton| {
            !secrets.iter().any(|secret| secret.value.contains(['[', ']']))
                && !secrets.iter().any(|secret| {
                    automaton
                        .try_find_overlapping_iter(secret.mask.as_str())
                        .map_or(true, |mut found| found.next().is_some())
                })
        });
        Masker { secrets, automaton, masks_are_inert }
    }

    /// `text` with every secret masked, as [`Self::sequence`] masks it, borrowed when it holds
    /// none.
    ///
    /// When every two occurrences in `text` are apart or one inside the other, and masks are
    /// inert, the sequence masks exactly the occurrences no other holds: the longest secret at
    /// each is masked first, and takes the shorter ones inside it with it. Those are what one
    /// pass masks here; where two occurrences overlap in part (which of them the sequence masks
    /// depends on their lengths, not their places), the sequence runs instead.
    fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(automaton) = &self.automaton else {
            return if self.secrets.is_empty() { Cow::Borrowed(text) } else { self.sequence(text) };
        };
        let Ok(found) = automaton.try_find_overlapping_iter(text) else {
            return self.sequence(text);
        };
        let mut found: Vec<(usize, usize, usize)> =
            found.map(|m| (m.start(), m.end(), m.pattern().as_usize())).collect();
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        if !self.masks_are_inert {
            return self.sequence(text);
        }
        // By start, and the longest first of those that start together: each occurrence no
        // other holds comes before those it holds.
        found.sort_unstable_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end, pattern) in found {
            if start >= copied {
                out.push_str(&text[copied..start]);
                out.push_str(&self.secrets[pattern].mask);
                copied = end;
            } else if end > copied {
                return self.sequence(text);
            }
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// `text` with each secret masked in turn, longest first: wherever it is left after the
    /// longer ones were, masks included.
    fn sequence<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.value.as_str()) {
                out = Cow::Owned(out.replace(secret.value.as_str(), &secret.mask));
            }
        }
        out
    }
}

/// Whether a header of this name carries credentials.
fn is_secret_header(name: &str) -> bool {
    let lower = ascii_lowercase(name);
    ["authorization", "cookie", "token", "secret", "key", "password", "session"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A header value as transcripts show it: `Authorization` keeps its scheme and masks the
/// credentials; cookies and any header whose name mentions a token, secret, key or password are
/// masked whole.
pub fn redact_header(name: &str, value: &str) -> String {
    redacted_header(name, value).unwrap_or_else(|| value.to_string())
}

/// The header value as [`redact_header`] shows it, if that is not the value itself: most headers
/// are left as they are, and need no copy.
pub(crate) fn redacted_header(name: &str, value: &str) -> Option<String> {
    let lower = ascii_lowercase(name);
    if lower == "authorization" || lower == "proxy-authorization" {
        return Some(match value.split_once(' ') {
            Some((scheme, credentials)) => format!("{scheme} {}", mask(credentials.trim())),
            None => mask(value),
        });
    }
    is_secret_header(name).then(|| mask(value))
}

/// The members and form fields whose values are masked by their place, also where the text is
/// not whole JSON (cut, or hand-written).
const SECRET_FIELDS: [&str; 6] =
    ["access_token", "refresh_token", "id_token", "password", "client_secret", "otp"];

/// How each of [`SECRET_FIELDS`] opens a JSON member (`"otp"`) and a form field (`otp=`).
const FIELD_OPENINGS: [(&str, &str); 6] = [
    ("\"access_token\"", "access_token="),
    ("\"refresh_token\"", "refresh_token="),
    ("\"id_token\"", "id_token="),
    ("\"password\"", "password="),
    ("\"client_secret\"", "client_secret="),
    ("\"otp\"", "otp="),
];

/// Masks the string value of every JSON member (with any whitespace around its colon, as a
/// scenario's hand-written body has it) and form field of [`SECRET_FIELDS`]; borrows `text`
/// when none is in it.
pub(crate) fn redact_fields(text: &str) -> Cow<'_, str> {
    // Which fields' names are in the text, in one pass: most texts have none. A field whose name
    // is not there has nothing to mask, and masking another cannot bring it: a mask has no
    // quote or `=`, and none of its brackets, which every field's opening would need to reach
    // into one.
    static NAMES: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| AhoCorasick::new(SECRET_FIELDS).ok());
    let present = match NAMES.as_ref().map(|names| names.try_find_overlapping_iter(text)) {
        Some(Ok(found)) => {
            let mut present = [false; SECRET_FIELDS.len()];
            for m in found {
                present[m.pattern().as_usize()] = true;
            }
            present
        }
        // Not reached (six short names, a standard automaton); if it were, every field is
        // looked for, as before the automaton.
        _ => [true; SECRET_FIELDS.len()],
    };
    if !present.contains(&true) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for ((json_name, form_open), present) in FIELD_OPENINGS.into_iter().zip(present) {
        if present {
            redact_json_member(&mut out, json_name);
            redact_form_field(&mut out, form_open);
        }
    }
    Cow::Owned(out)
}

/// Whether this text is already a mask.
fn is_mask(text: &str) -> bool {
    text.starts_with("[redacted:")
}

/// Masks the string value of every JSON member named `name` (quoted) in `out`.
fn redact_json_member(out: &mut String, name: &str) {
    let mut from = 0;
    while let Some(at) = out[from..].find(name) {
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

/// Masks the value of every form field opened by `open` (`key=`) in `out`, up to the next `&`.
fn redact_form_field(out: &mut String, open: &str) {
    let mut from = 0;
    while let Some(at) = out[from..].find(open) {
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

    /// Scrubbing as it was before the automaton, kept as it was to hold the new one to it: each
    /// secret replaced in turn, longest first, then each field looked for in turn.
    fn reference_scrub(values: &BTreeSet<String>, text: &str) -> String {
        let mut out = text.to_string();
        let mut values: Vec<&String> =
            values.iter().filter(|v| v.chars().count() >= SHORTEST_MASKED_ANYWHERE).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &mask(value));
            }
        }
        reference_redact_fields(&out)
    }

    fn reference_redact_fields(text: &str) -> String {
        let mut out = text.to_string();
        for key in SECRET_FIELDS {
            reference_redact_json_member(&mut out, key);
            reference_redact_form_field(&mut out, key);
        }
        out
    }

    fn reference_redact_json_member(out: &mut String, key: &str) {
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

    fn reference_redact_form_field(out: &mut String, key: &str) {
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

    fn secrets_of(values: &[&str]) -> Secrets {
        let mut secrets = Secrets::default();
        for value in values {
            secrets.keep(value);
        }
        secrets
    }

    /// Six hex digits of `value`'s mask: a secret (an OTP, say) that the sequence finds inside
    /// a mask it wrote.
    fn inside_mask_of(value: &str) -> String {
        mask(value)["[redacted:".len()..][..6].to_string()
    }

    /// (secrets, text, what the scrub gives): the same as the reference scrub, byte for byte,
    /// and the result spelled out, so that both are seen to do what is meant.
    #[test]
    fn one_pass_scrubs_as_the_sequence_did() {
        let m = |value: &str| mask(value);
        let hidden = inside_mask_of("long-secret-value");
        let table: Vec<(Vec<&str>, String, String)> = vec![
            (vec![], "no secrets at all".into(), "no secrets at all".into()),
            (vec!["hunter22"], "nothing to hide".into(), "nothing to hide".into()),
            (vec!["hunter22"], "hunter22 and hunter22.".into(), format!("{0} and {0}.", m("hunter22"))),
            // Too short to mask anywhere; masked by its place only.
            (vec!["pw42"], "pw42 password=pw42".into(), format!("pw42 password={}", m("pw42"))),
            // A secret inside a longer one: masked as part of the longer, and alone elsewhere.
            (
                vec!["abcdef", "xxabcdefyy"],
                "xxabcdefyy abcdef".into(),
                format!("{} {}", m("xxabcdefyy"), m("abcdef")),
            ),
            // Two that overlap in part: the longer is masked, the shorter left in pieces.
            (vec!["ABCDEFGH", "xABCDE"], "xABCDEFGHy".into(), format!("x{}y", m("ABCDEFGH"))),
            (vec!["ABCDEFGH", "FGHyyy"], "xABCDEFGHyyy".into(), format!("x{}yyy", m("ABCDEFGH"))),
            // Equal lengths that overlap: the first in the set's order wins, as it always did.
            (vec!["bcdefg", "abcdef"], "abcdefg".into(), format!("{}g", m("abcdef"))),
            // A secret overlapping itself: from the left, as `str::replace` goes.
            (vec!["aaaaaa"], "aaaaaaaaaaa".into(), format!("{}aaaaa", m("aaaaaa"))),
            (vec!["abcabc", "cabcab"], "abcabcabcabc".into(), format!("{0}{0}", m("abcabc"))),
            // Unicode: characters, not bytes, decide what is long enough; bytes order the rest.
            (
                vec!["ééééé", "pässwörd-ü", "ü🙂ü🙂ü🙂"],
                "🙂 ééééé pässwörd-ü! ü🙂ü🙂ü🙂ü".into(),
                format!("🙂 ééééé {}! {}ü", m("pässwörd-ü"), m("ü🙂ü🙂ü🙂")),
            ),
            // A mask already in the text (a header masked when recorded) stays as it is.
            (
                vec!["tok-0123456789"],
                format!("Bearer {} then tok-0123456789", m("abc")),
                format!("Bearer {} then {}", m("abc"), m("tok-0123456789")),
            ),
            // A secret the sequence finds in the mask of another: masked there too.
            (
                vec!["long-secret-value", &hidden],
                "long-secret-value".into(),
                m("long-secret-value").replace(&hidden, &m(&hidden)),
            ),
            // A secret that reaches into the mask of another, by its bracket.
            (
                vec!["SECRETVALUE-LONG", "pre[redac"],
                "preSECRETVALUE-LONG".into(),
                format!("{}{}", m("pre[redac"), &m("SECRETVALUE-LONG")["pre[redac".len() - 3..]),
            ),
            // Secrets and fields together; a masked field's value is not masked again.
            (
                vec!["hunter2-long", "123456"],
                r#"{"password":"hunter2-long","otp":"123456","note":"hunter2-long"}"#.into(),
                format!(r#"{{"password":"{0}","otp":"{1}","note":"{0}"}}"#, m("hunter2-long"), m("123456")),
            ),
            (
                vec![],
                "otp=&totp=9&x_password=abc&client_secret=s".into(),
                format!("otp=&totp={}&x_password={}&client_secret={}", m("9"), m("abc"), m("s")),
            ),
            // A field inside another's value: each field is looked for in turn, as before.
            (
                vec![],
                r#"{"otp":"password=abc"}"#.into(),
                format!(r#"{{"otp":"{}"#, m(&format!("password={}", m(r#"abc"}"#)))),
            ),
            (
                vec![],
                r#"{"access_token" :"a\"b","id_token":"c"}"#.into(),
                format!(r#"{{"access_token" :"{}","id_token":"{}"}}"#, m(r#"a\"b"#), m("c")),
            ),
        ];
        for (values, text, expected) in table {
            let secrets = secrets_of(&values);
            let scrubbed = secrets.scrub(&text);
            assert_eq!(scrubbed, reference_scrub(&secrets.values, &text), "{values:?} in {text:?}");
            assert_eq!(scrubbed, expected, "{values:?} in {text:?}");
        }
    }

    /// Percent-encoded secrets of a form are kept both ways, and masked both ways, as before.
    #[test]
    fn a_form_secret_is_masked_encoded_and_decoded() {
        let mut secrets = Secrets::default();
        secrets.keep_from_body("grant_type=password&password=p%40ss%20w%C3%B6rd%21&x=1");
        let text = r#"sent password=p%40ss%20w%C3%B6rd%21 and {"pw":"p@ss wörd!"}"#;
        let scrubbed = secrets.scrub(text);
        assert_eq!(scrubbed, reference_scrub(&secrets.values, text));
        assert_eq!(
            scrubbed,
            format!(
                r#"sent password={} and {{"pw":"{}"}}"#,
                mask("p%40ss%20w%C3%B6rd%21"),
                mask("p@ss wörd!")
            )
        );
    }

    /// A secret added after a scrub is masked in the next: the masker is built again.
    #[test]
    fn a_secret_kept_after_a_scrub_is_masked_in_the_next() {
        let mut secrets = secrets_of(&["first-secret"]);
        assert_eq!(
            secrets.scrub("first-secret second-secret"),
            format!("{} second-secret", mask("first-secret"))
        );
        secrets.keep("second-secret");
        assert_eq!(
            secrets.scrub("first-secret second-secret"),
            format!("{} {}", mask("first-secret"), mask("second-secret"))
        );
    }

    /// Keeping a body's secrets as before the look for names: parsed whatever it holds.
    fn reference_keep_from_body(secrets: &mut Secrets, body: &str) {
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(value) => secrets.keep_from_json(&value, false),
            Err(_) => {
                for (name, value) in body.split('&').filter_map(|pair| pair.split_once('=')) {
                    if is_secret_name(name) {
                        secrets.keep(&percent_encoding::percent_decode_str(value).decode_utf8_lossy());
                        secrets.keep(value);
                    }
                }
            }
        }
    }

    /// (body, the secrets kept): names in any case and spelled with escapes are found; a body
    /// that names no secret keeps none.
    #[test]
    fn a_body_keeps_the_values_of_its_secret_names_only() {
        let table: [(&str, &[&str]); 6] = [
            (r#"{"csr":"-----BEGIN CERTIFICATE REQUEST-----","device_id":"d-1"}"#, &[]),
            ("grant_type=refresh&scope=all", &[]),
            (r#"{"pass\u0077ord":"escaped-secret"}"#, &["escaped-secret"]),
            ("PassWord=Hunter2%21&x=1", &["Hunter2!", "Hunter2%21"]),
            (r#"{"outer":{"Client_Secret":"abc-secret","n":[{"OTP":"123456"}]}}"#, &["123456", "abc-secret"]),
            (r#"{"privateKey":"k-1","note":"a token of thanks"}"#, &["k-1"]),
        ];
        for (body, kept) in table {
            let mut secrets = Secrets::default();
            secrets.keep_from_body(body);
            assert_eq!(secrets.values.iter().collect::<Vec<_>>(), kept.to_vec(), "{body}");
        }
    }

    /// The one pass runs where masks cannot make secrets appear, and only there.
    #[test]
    fn masks_are_inert_unless_a_secret_has_a_bracket_or_is_in_a_mask() {
        let inert = |values: &[&str]| Masker::new(&secrets_of(values).values).masks_are_inert;
        assert!(inert(&["hunter22", "abcdef", "123456", "pw"]));
        assert!(!inert(&["pre[redac", "x-long-secret"]));
        assert!(!inert(&["a]bcdef"]));
        assert!(!inert(&["long-secret-value", &inside_mask_of("long-secret-value")]));
        assert!(!inert(&[]), "no secret, no automaton");
    }

    #[test]
    fn fields_without_a_secret_field_are_borrowed() {
        assert!(matches!(redact_fields("grant_type=refresh&scope=x"), Cow::Borrowed(_)));
        assert!(matches!(redact_fields("otp=1"), Cow::Owned(_)));
        for ((json_name, form_open), key) in FIELD_OPENINGS.into_iter().zip(SECRET_FIELDS) {
            assert_eq!((json_name, form_open), (format!("\"{key}\"").as_str(), format!("{key}=").as_str()));
        }
    }

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

        /// Over few letters (so that secrets overlap, nest and repeat), brackets (so that they
        /// reach into masks), hex digits (so that they are in masks) and fields, the one pass
        /// scrubs as the sequence did.
        #[test]
        fn any_secrets_in_any_text_are_scrubbed_as_the_sequence_did(
            values in proptest::collection::vec("[ab0-9\\[\\]é]{4,10}|redacted|\\[redacted:[0-9a-f]{0,3}", 0..6),
            text in proptest::collection::vec("[ab0-9\\[\\]é =&\"{}:]{0,12}|otp|password|\"otp\": ?\"|access_token=", 0..12),
        ) {
            let text = text.concat();
            let mut secrets = Secrets::default();
            for value in &values {
                secrets.keep(value);
            }
            // Some secrets also in the text, whole and touching.
            let text = format!("{text}{}{text}", values.concat());
            prop_assert_eq!(secrets.scrub(&text), reference_scrub(&secrets.values, &text));
        }

        /// The same where masks are inert (no bracket, no hex digit): the one pass runs, and
        /// gives way to the sequence only where occurrences overlap in part.
        #[test]
        fn secrets_that_overlap_are_scrubbed_as_the_sequence_did(
            values in proptest::collection::vec("[abé]{5,9}", 1..6),
            text in "[abé ]{0,40}",
        ) {
            let mut secrets = Secrets::default();
            for value in &values {
                secrets.keep(value);
            }
            let text = format!("{text}{}{text}", values.concat());
            prop_assert_eq!(secrets.scrub(&text), reference_scrub(&secrets.values, &text));
        }

        /// Bodies that name no secret are not parsed, and keep what parsing them kept.
        #[test]
        fn any_body_keeps_what_parsing_it_kept(
            body in r#"\{("(otp|OTP|tok|toKen|x_token|pass\\u0077ord|private_key|PrivateKey|a|secret)": ?"[a-z0-9]{0,8}",? ?){0,4}\}|([a-zA-Z_]{1,10}=[a-z0-9%]{0,8}&?){0,4}|.{0,40}"#,
        ) {
            let mut secrets = Secrets::default();
            secrets.keep_from_body(&body);
            let mut reference = Secrets::default();
            reference_keep_from_body(&mut reference, &body);
            prop_assert_eq!(secrets.values, reference.values);
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
