//! Text made safe for the pages and XML files the project writes (reports, the load page), since
//! much of what they show came from a peer: escaped for HTML and XML text and quoted attribute
//! values, with the characters XML 1.0 forbids dropped.

/// `text` escaped for HTML and XML content and quoted attributes; characters XML 1.0 forbids
/// (control characters but tab, line feed and carriage return; U+FFFE and U+FFFF) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, escaped)
    #[test]
    fn markup_and_forbidden_characters_do_not_get_through() {
        let cases = [
            ("plain", "plain"),
            ("<script>alert('x')</script>", "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"),
            ("a=\"b\" & c", "a=&quot;b&quot; &amp; c"),
            ("tab\tline\nreturn\r", "tab\tline\nreturn\r"),
            ("bell\u{7}nul\u{0}\u{FFFE}", "bellnul"),
            ("émoji 🙂", "émoji 🙂"),
        ];
        for (text, escaped) in cases {
            assert_eq!(escape(text), escaped, "{text:?}");
        }
    }
}
