//! Escaped text written straight where it goes: [`Escaped`] formats as
//! [`protocol::markup::escape`] would return it, without a `String` of its own per piece and
//! without pushing the text a character at a time. The HTML page escapes megabytes of exchange
//! bodies, each into a `String` that was then copied into the page.
//!
//! `escape` stays the one escaper: what a character becomes is asked of it (once per ASCII
//! character, and for each character of the few non-ASCII ones it might change); this module
//! only knows which characters it leaves alone, which a test checks for every character.

use std::fmt;
use std::sync::LazyLock;

use super::junit::escape;

/// `text`, formatted as [`escape`] returns it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

/// What `escape` makes of the characters it may change, asked once.
struct Table {
    /// What `escape` makes of each ASCII character: `None` where it leaves it as it is.
    ascii: [Option<String>; 128],
    /// The bytes that may start a character `escape` changes: those ASCII characters, and
    /// [`LEAD_OF_U_F000_TO_U_FFFF`].
    attention: [bool; 256],
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let ascii: [Option<String>; 128] = std::array::from_fn(|byte| {
        let c = char::from(u8::try_from(byte).expect("an index below 128 is a byte"));
        let escaped = escape(c.encode_utf8(&mut [0; 4]));
        (escaped != c.to_string()).then_some(escaped)
    });
    let attention = std::array::from_fn(|byte| {
        ascii.get(byte).is_some_and(Option::is_some) || byte == usize::from(LEAD_OF_U_F000_TO_U_FFFF)
    });
    Table { ascii, attention }
});

/// The first byte of the characters U+F000 to U+FFFF, among which are U+FFFE and U+FFFF, which
/// `escape` drops; it leaves every other non-ASCII character as it is.
const LEAD_OF_U_F000_TO_U_FFFF: u8 = 0xEF;

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let bytes = text.as_bytes();
        let table = &*TABLE;
        // Written up to `plain`; looked at up to `scan`. Every byte that needs attention is on a
        // character's boundary (an ASCII character, or a lead byte).
        let mut plain = 0;
        let mut scan = 0;
        while let Some(offset) = bytes[scan..].iter().position(|&b| table.attention[usize::from(b)]) {
            let at = scan + offset;
            if let Some(Some(escaped)) = table.ascii.get(usize::from(bytes[at])) {
                f.write_str(&text[plain..at])?;
                f.write_str(escaped)?;
                plain = at + 1;
                scan = plain;
                continue;
            }
            // A character from U+F000 to U+FFFF: three bytes from its lead.
            let end = (at + 3).min(text.len());
            let character = text.get(at..end).unwrap_or_default();
            let escaped = escape(character);
            if escaped != character {
                f.write_str(&text[plain..at])?;
                f.write_str(&escaped)?;
                plain = end;
            }
            scan = end.max(at + 1);
        }
        f.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character, alone and between others, is written as `escape` writes it.
    #[test]
    fn every_character_is_written_as_escape_writes_it() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let alone = c.to_string();
            assert_eq!(Escaped(&alone).to_string(), escape(&alone), "{c:?}");
        }
        let between: String = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_ascii() || (0xE000..=0x10000).contains(&u32::from(*c)))
            .flat_map(|c| [c, 'x'])
            .collect();
        assert_eq!(Escaped(&between).to_string(), escape(&between));
    }

    /// (text, escaped): the markup and the forbidden characters, at either end and together.
    #[test]
    fn markup_and_forbidden_characters_are_escaped_anywhere() {
        let cases = [
            ("", ""),
            ("plain text", "plain text"),
            ("<a href=\"x\">it's & more</a>", "&lt;a href=&quot;x&quot;&gt;it&apos;s &amp; more&lt;/a&gt;"),
            ("&&", "&amp;&amp;"),
            ("tab\tline\nreturn\r", "tab\tline\nreturn\r"),
            ("\u{0}bell\u{7}\u{FFFE}\u{FFFF}", "bell"),
            ("\u{FFFD}\u{F000}\u{FFFF}é🙂<", "\u{FFFD}\u{F000}é🙂&lt;"),
            (
                r#"{"access_token":"[redacted:1f2e3d4c]"}"#,
                "{&quot;access_token&quot;:&quot;[redacted:1f2e3d4c]&quot;}",
            ),
        ];
        for (text, escaped) in cases {
            assert_eq!(Escaped(text).to_string(), escaped, "{text:?}");
            assert_eq!(escape(text), escaped, "{text:?}");
        }
    }
}
