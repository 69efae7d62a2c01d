//! Checks of single request fields of the relying-party API: callback URLs, the whitelist and
//! language tags.

/// An absolute `http` or `https` URL with a host.
pub(super) fn is_absolute_http_url(uri: &str) -> bool {
    // The scheme compares case-insensitively (docs/PROTOCOL.md RP-007).
    let rest = ["http://", "https://"]
        .iter()
        .find(|p| uri.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p)))
        .map(|p| &uri[p.len()..]);
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// Contract 8: an entry matches exactly, or as a prefix when it ends with `/`; empty allows any.
pub(super) fn whitelisted(whitelist: &[String], uri: &str) -> bool {
    whitelist.is_empty()
        || whitelist
            .iter()
            .any(|entry| entry == uri || (entry.ends_with('/') && uri.starts_with(entry.as_str())))
}

/// `xx`, `xx-YY` or `xx_YY`, ASCII letters (docs/PROTOCOL.md RP-011).
pub(super) fn is_language_code(tag: &str) -> bool {
    let letters = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic());
    match tag.split_once(['-', '_']) {
        None => letters(tag),
        Some((lang, region)) => letters(lang) && letters(region),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let table = [
            ("https://portal.example/cb", true),
            ("http://127.0.0.1:8080/x?y=1", true),
            ("ftp://portal.example/cb", false),
            ("/relative", false),
            ("https://", false),
            ("https://a b", false),
        ];
        for (uri, ok) in table {
            assert_eq!(is_absolute_http_url(uri), ok, "{uri}");
        }
        let list = vec!["https://a.example/cb".to_string(), "https://b.example/hooks/".to_string()];
        let table = [
            ("https://a.example/cb", true),
            ("https://a.example/cb2", false),
            ("https://b.example/hooks/1", true),
            ("https://b.example/hook", false),
        ];
        for (uri, ok) in table {
            assert_eq!(whitelisted(&list, uri), ok, "{uri}");
        }
        assert!(whitelisted(&[], "https://any.example/"));
        for (tag, ok) in [
            ("en", true),
            ("nl-NL", true),
            ("en_GB", true),
            ("zh-Hant", false),
            ("e", false),
            ("en-", false),
            ("", false),
        ] {
            assert_eq!(is_language_code(tag), ok, "{tag}");
        }
    }
}
