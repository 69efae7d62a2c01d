//! A raw request's clauses and senders, read as written.

use suite::steps::http::request::*;

#[test]
fn clauses_read_as_written() {
    let json_padded = Clauses {
        body: Some(BodySpec::Json("{\"a\": 1}".into())),
        pad_to: Some(70),
        content_type: Some(Some("text/plain".into())),
        times: Some(3),
        ..Clauses::default()
    };
    let header_untyped = Clauses {
        headers: vec!["Authorization: Token x".into()],
        content_type: Some(None),
        ..Clauses::default()
    };
    let sized = Clauses {
        body: Some(BodySpec::FormOfSize(65_537)),
        basic: Some("{api client id}:wrong".into()),
        no_credentials: true,
        ..Clauses::default()
    };
    let table: [(&str, Result<Clauses, String>); 5] = [
        (" with the JSON body '{\"a\": 1}' padded to 70 bytes typed \"text/plain\" 3 times", Ok(json_padded)),
        (" with the header 'Authorization: Token x' and without a Content-Type", Ok(header_untyped)),
        (
            " with a form body of 65537 bytes without credentials with the Basic credentials '{api client id}:wrong'",
            Ok(sized),
        ),
        ("", Ok(Clauses::default())),
        (" with something else", Err("cannot read \"with something else\" as a clause of a request".into())),
    ];
    for (text, expected) in table {
        assert_eq!(parse_clauses(text), expected, "{text}");
    }
}

#[test]
fn senders_read_as_written() {
    let table = [
        ("the admin", Who::Admin),
        ("the portal", Who::Portal),
        ("a client", Who::Anonymous),
        ("\"phone\"", Who::Device("phone".into())),
    ];
    for (text, expected) in table {
        assert_eq!(Who::parse(text), expected, "{text}");
    }
}
