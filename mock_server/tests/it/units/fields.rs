//! Field rules of the relying-party API: callback URLs, the whitelist, language tags.

use mock_server::core::fields::*;

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
