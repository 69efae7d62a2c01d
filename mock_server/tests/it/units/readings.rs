//! The readings file and its helpers: defaults, time formats, token form fields.

use mock_server::readings::*;
use time::macros::datetime;

#[test]
fn defaults_are_the_mock_reading_and_keys_are_snake_case() {
    let parsed: Readings = toml::from_str("").expect("an empty table is every default");
    assert_eq!(parsed, Readings::default());
    let parsed: Readings =
        toml::from_str("clock_after_move = \"runs\"\ntime_format = \"micros_offset\"").expect("parses");
    assert_eq!(parsed.clock_after_move, ClockAfterMove::Runs);
    assert_eq!(parsed.time_format, TimeFormat::MicrosOffset);
    let parsed: Readings = toml::from_str("otp_type_expires_in_s = \"defaults_to_300\"").expect("parses");
    assert_eq!(parsed, Readings::default());
    assert!(toml::from_str::<Readings>("nope = true").is_err());
    assert!(toml::from_str::<Readings>("time_format = \"nope\"").is_err());
}

#[test]
fn times_and_resolution() {
    let t = datetime!(2026-01-01 00:00:00.123456789 UTC);
    let micros = Readings { time_format: TimeFormat::MicrosOffset, ..Readings::default() };
    assert_eq!(Readings::default().truncate(t), datetime!(2026-01-01 00:00:00.123 UTC));
    assert_eq!(micros.truncate(t), datetime!(2026-01-01 00:00:00.123456 UTC));
    assert_eq!(micros_offset(datetime!(2026-01-01 00:00 UTC)), "2026-01-01T00:00:00.000000+00:00");
    let body = serde_json::json!({"now": "2026-01-01T00:00:00.5Z", "events": [{"at": "2026-01-01T01:00:00Z"}],
        "message": "2026-01-01T00:00:00Z"});
    let rewritten = micros.rewrite_times(&body).expect("rewritten");
    assert_eq!(rewritten["now"], "2026-01-01T00:00:00.500000+00:00");
    assert_eq!(rewritten["events"][0]["at"], "2026-01-01T01:00:00.000000+00:00");
    assert_eq!(rewritten["message"], "2026-01-01T00:00:00Z", "only time keys");
    assert!(Readings::default().rewrite_times(&body).is_none());
}

#[test]
fn token_fields() {
    let form: Vec<(String, String)> =
        [("a", "1"), ("a", "2"), ("e", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let strict = Readings::default();
    let lenient = Readings {
        token_repeated_field: TokenRepeatedField::LastWins,
        token_empty_field: TokenEmptyField::WrongCredentials,
        ..Readings::default()
    };
    assert!(strict.token_field(&form, "a", false).is_err());
    assert_eq!(lenient.token_field(&form, "a", false), Ok("2"));
    assert!(strict.token_field(&form, "e", true).is_err());
    assert!(lenient.token_field(&form, "e", false).is_err(), "only credentials may be empty");
    assert_eq!(lenient.token_field(&form, "e", true), Ok(""));
    assert!(lenient.token_field(&form, "x", true).is_err(), "absent is still missing");
}
