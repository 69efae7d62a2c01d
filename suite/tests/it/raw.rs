//! Raw-request helpers: sized bodies, placeholders, error bodies, member paths, formats.

use serde_json::json;

use suite::raw::*;

#[test]
fn bodies_of_a_size_are_exact_and_still_parse() {
    // (body, its length, the length it must have, whether it parses as JSON)
    let table = [
        (json_of_size(65_537), 65_537, true),
        (json_of_size(20), 20, true),
        (form_of_size(100), 100, false),
        (pad("{}", 10, false), 10, true),
        (pad("a=b", 6, true), 6, false),
    ];
    for (body, size, json) in table {
        let parses = serde_json::from_str::<serde_json::Value>(&body).is_ok();
        assert_eq!((body.len(), parses), (size, json), "{body:.40}");
    }
    assert_eq!((pad("{}", 4, false), pad("a=b", 5, true)), ("{}  ".to_string(), "a=b&&".to_string()));
}

#[test]
fn placeholders_leave_json_alone() {
    let table = [
        ("device_id of phone", true),
        ("uppercase new uuid", true),
        ("unique no-such-app", true),
        ("\"a\": 1", false),
        ("", false),
        ("1abc", false),
    ];
    for (name, expected) in table {
        assert_eq!(is_placeholder(name), expected, "{name:?}");
    }
}

#[test]
fn error_bodies_are_judged_by_the_contract_only() {
    let body = |code: u64, error_type: &str, message: serde_json::Value| json!({"error_code": code, "error_type": error_type, "error_message": message});
    // (body, an API error body, an RFC 6749 error body)
    let table = [
        (body(10015, "INVALID_REQUEST", json!("")), true, false),
        (body(12345, "SOME_OTHER_ERROR", json!("text")), true, false),
        (body(20009, "ANY_TYPE_AT_ALL", json!("text")), true, false),
        (body(10015, "BAD_REQUEST", json!("text")), false, false),
        (body(10015, "invalid_request", json!("text")), false, false),
        (body(10015, "INVALID_REQUEST", serde_json::Value::Null), false, false),
        (json!({"error": "invalid_grant"}), false, true),
        (json!({"error": "invalid_grant", "error_code": 1}), false, true),
        (json!({"error": "invalid_grant", "error_description": 7}), false, false),
        (json!({"error": "access_denied"}), false, false),
    ];
    for (body, api, oauth) in table {
        assert_eq!((is_api_error_body(&body), is_oauth_error_body(&body)), (api, oauth), "{body}");
    }
}

#[test]
fn member_paths_select_what_they_name() {
    let v = json!({"a": [{"b": 1}, {"b": 2}], "c": {"d": "x"}});
    let table: [(&str, Vec<serde_json::Value>); 5] = [
        ("a[*].b", vec![json!(1), json!(2)]),
        ("a[1].b", vec![json!(2)]),
        ("c.d", vec![json!("x")]),
        ("c.e", vec![]),
        ("a[5]", vec![]),
    ];
    for (path, expected) in table {
        let got: Vec<serde_json::Value> = select(&v, path).into_iter().cloned().collect();
        assert_eq!(got, expected, "{path}");
    }
}

#[test]
fn formats_are_read_as_the_contract_writes_them() {
    // (text, a lowercase UUID, a UTC time)
    let table = [
        ("0b8f8d7a-3c6e-4f5e-9a1b-2c3d4e5f6a7b", true, false),
        ("0B8F8D7A-3C6E-4F5E-9A1B-2C3D4E5F6A7B", false, false),
        ("2030-01-01T00:00:00.123456+00:00", false, true),
        ("2030-01-01T00:00:00Z", false, true),
        ("2030-01-01T00:00:00-00:00", false, false),
        ("2030-01-01T02:00:00+02:00", false, false),
    ];
    for (text, uuid, utc) in table {
        assert_eq!((is_lowercase_uuid(text), is_utc_time(text)), (uuid, utc), "{text}");
    }
}

#[test]
fn json_comparison_reads_numbers_as_numbers() {
    // (actual, expected, equal, contained)
    let table = [
        (json!({"a": 1, "b": 2}), json!({"a": 1.0}), false, true),
        (json!({"a": 3600}), json!({"a": 3600.0}), true, true),
        (json!([1, 2]), json!([1]), false, false),
        (json!({"a": "x"}), json!({"a": "y"}), false, false),
    ];
    for (actual, expected, equal, contained) in table {
        assert_eq!(
            (json_eq(&actual, &expected), json_contains(&actual, &expected)),
            (equal, contained),
            "{actual} against {expected}"
        );
    }
}
