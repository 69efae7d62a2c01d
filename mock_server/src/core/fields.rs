//! Checks of single request fields of the relying-party API: callback URLs, the whitelist and
//! language tags.

/// An absolute `http` or `https` URL with a host.
pub fn is_absolute_http_url(uri: &str) -> bool {
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
pub fn whitelisted(whitelist: &[String], uri: &str) -> bool {
    whitelist.is_empty()
        || whitelist
            .iter()
            .any(|entry| entry == uri || (entry.ends_with('/') && uri.starts_with(entry.as_str())))
}

/// `xx`, `xx-YY` or `xx_YY`, ASCII letters (docs/PROTOCOL.md RP-011).
pub fn is_language_code(tag: &str) -> bool {
    let letters = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic());
    match tag.split_once(['-', '_']) {
        None => letters(tag),
        Some((lang, region)) => letters(lang) && letters(region),
    }
}
