//! Refusals as raw-request steps write them, read from replies and the other spellings.

use suite::steps::Reply;
use suite::steps::http::answers::Refusal;

#[test]
fn refusals_read_from_replies_and_the_other_spellings() {
    // (text, as a reply if it is one, the refusal it is)
    let table = [
        ("413 10015 INVALID_REQUEST", Refusal::Api(413, 10015, "INVALID_REQUEST".into())),
        (
            "status 404, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED",
            Refusal::Api(404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED".into()),
        ),
        ("400 invalid_grant", Refusal::OAuth(400, "invalid_grant".into())),
        ("a 4xx error", Refusal::AnyApi),
        ("a 4xx oauth error", Refusal::AnyOAuth),
    ];
    for (text, expected) in table {
        let refusal = match text.parse::<Reply>() {
            Ok(reply) => Refusal::from_reply(&reply),
            Err(_) => Refusal::parse(text),
        };
        assert_eq!(refusal, expected, "{text}");
    }
}

#[test]
fn a_refusal_the_suite_cannot_check_is_a_suite_defect() {
    // (text, what the panic says)
    let table = [
        ("400 access_denied", "a refusal is written"),
        ("400 10015", "a refusal is written"),
        ("error 10015 INVALID_REQUEST", "a raw answer is refused with"),
        ("accepted", "a raw answer is refused with"),
    ];
    for (text, message) in table {
        let panic = std::panic::catch_unwind(|| match text.parse::<Reply>() {
            Ok(reply) => Refusal::from_reply(&reply),
            Err(_) => Refusal::parse(text),
        });
        let said =
            panic.err().and_then(|payload| payload.downcast_ref::<String>().cloned()).unwrap_or_default();
        assert!(said.starts_with(message), "{text}: {said}");
    }
}
