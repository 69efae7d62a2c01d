//! The expected-reply parameter: parsed and checked against the error table.

use protocol::error::ErrorCode;
use suite::steps::*;

#[test]
fn expected_replies_parse_or_say_what_is_wrong() {
    use ErrorCode as E;
    let refused = |status, code| Ok(Reply::Refused { status, code });
    let not_in_table = |code, t: &str| Err(ReplyError::NotInTable { code, error_type: t.to_string() });
    let table: [(&str, Result<Reply, ReplyError>); 11] = [
        ("accepted", Ok(Reply::Success("accepted".into()))),
        ("status 409, error 9018 USER_ALREADY_ENROLLED", refused(Some(409), E::UserAlreadyEnrolled)),
        ("error 9018 USER_ALREADY_ENROLLED", refused(None, E::UserAlreadyEnrolled)),
        ("409 9018 USER_ALREADY_ENROLLED", refused(Some(409), E::UserAlreadyEnrolled)),
        (
            "404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED",
            refused(Some(404), E::MobileAuthenticationNotEnrolled),
        ),
        ("413 20001 INVALID_ADMIN_REQUEST", refused(Some(413), E::InvalidAdminRequest)),
        ("409 9016 USER_ALREADY_ENROLLED", not_in_table(9016, "USER_ALREADY_ENROLLED")),
        ("error 99999 NO_SUCH_ERROR", not_in_table(99999, "NO_SUCH_ERROR")),
        (
            "status 400, error 9016 DEVICE_ALREADY_ENROLLED",
            Err(ReplyError::WrongStatus {
                status: 400,
                code: 9016,
                error_type: "DEVICE_ALREADY_ENROLLED".into(),
            }),
        ),
        (
            "status 409 error 9016 DEVICE_ALREADY_ENROLLED",
            Err(ReplyError::Spelling("status 409 error 9016 DEVICE_ALREADY_ENROLLED".into())),
        ),
        ("409 x DEVICE_ALREADY_ENROLLED", Err(ReplyError::Spelling("409 x DEVICE_ALREADY_ENROLLED".into()))),
    ];
    for (text, expected) in table {
        assert_eq!(text.parse::<Reply>(), expected, "{text}");
    }
}

#[test]
#[should_panic(expected = "never answers it with")]
fn a_status_the_contract_never_gives_is_a_suite_defect() {
    expected_error(400, 9016, "DEVICE_ALREADY_ENROLLED");
}
