//! The wire shapes of the mock server's answers, as reviewed snapshots (tests/snapshots/*.snap).
//!
//! Values that vary or are opaque (ids, tokens, times, certificates, OTPs, challenges) are
//! redacted, each redaction first checking the value's format (a lowercase UUID, an RFC 3339 UTC
//! time, a PEM block, base64 of the right length), so a snapshot pins every member name, every
//! fixed value and the format of every variable one. Update with
//! `INSTA_UPDATE=always cargo test -p mobauth-mock-server --test snapshots`, then review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use insta::internals::{Content, ContentPath, Redaction};
use insta::{assert_json_snapshot, dynamic_redaction};
use protocol::wire::Answer;
use serde_json::{Value, json};
use support::{DEAD_CALLBACK, Req, new_device};

fn text(value: &Content, path: &ContentPath<'_>) -> String {
    value.as_str().unwrap_or_else(|| panic!("{path} is not a string: {value:?}")).to_string()
}

/// A lowercase hyphenated UUID (GEN-003).
fn uuid() -> Redaction {
    dynamic_redaction(|value, path| {
        let s = text(&value, &path);
        assert!(protocol::wire::parse_id(&s).is_some(), "{path} is not a lowercase UUID: {s}");
        "[uuid]"
    })
}

/// An RFC 3339 UTC time ending in Z with at most millisecond precision (GEN-003).
fn time() -> Redaction {
    dynamic_redaction(|value, path| {
        let s = text(&value, &path);
        time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{path} is not RFC 3339 ({e}): {s}"));
        let fraction = s.split_once('.').map_or("", |(_, f)| f.trim_end_matches('Z'));
        assert!(s.ends_with('Z') && fraction.len() <= 3, "{path} is not UTC at ms precision: {s}");
        "[time]"
    })
}

/// A PEM certificate.
fn certificate() -> Redaction {
    dynamic_redaction(|value, path| {
        let s = text(&value, &path);
        assert!(
            s.starts_with("-----BEGIN CERTIFICATE-----\n")
                && s.trim_end().ends_with("-----END CERTIFICATE-----"),
            "{path} is not a PEM certificate: {s}"
        );
        "[certificate]"
    })
}

/// Standard padded base64 of `bytes` bytes.
fn base64_of(bytes: usize, label: &'static str) -> Redaction {
    dynamic_redaction(move |value, path| {
        let s = text(&value, &path);
        let decoded = STANDARD.decode(&s).unwrap_or_else(|e| panic!("{path} is not base64 ({e}): {s}"));
        assert_eq!(decoded.len(), bytes, "{path} decodes to {} bytes: {s}", decoded.len());
        label
    })
}

/// An opaque non-empty token.
fn opaque() -> Redaction {
    dynamic_redaction(|value, path| {
        assert!(!text(&value, &path).is_empty(), "{path} is empty");
        "[token]"
    })
}

#[tokio::test]
async fn success_bodies() {
    let s = support::start("default").await;
    let mut cb = support::callback_receiver(&[]).await;

    let token = s
        .token_reply(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("client_id", support::APP_CLIENT),
        ])
        .await
        .expect_status(200)
        .json();
    assert_json_snapshot!("token", token, {".access_token" => opaque()});
    let ta = token["access_token"].as_str().unwrap().to_string();

    let a = new_device(1);
    let enrolled = s.enroll(&ta, &a).await.expect_status(201).json();
    assert_json_snapshot!("enrollment_201", enrolled, {
        ".enrollment_id" => uuid(),
        ".device_id" => uuid(),
        ".certificate" => certificate(),
        ".ca_certificate" => certificate(),
    });
    let info = s.get_enrollment(&ta, &a.id.to_string()).await.expect_status(200).json();
    assert_json_snapshot!("enrollment_get", info, {
        ".device_id" => uuid(),
        ".enrolled_at" => time(),
        ".certificate" => certificate(),
    });

    let started =
        s.start_otp(&[("type", "qr-code"), ("callback_uri", &cb.url("/cb"))]).await.expect_status(200).json();
    assert_json_snapshot!("authenticate_user", started, {
        ".transaction_id" => uuid(),
        ".otp" => base64_of(49, "[otp]"),
    });
    let tx = started["transaction_id"].as_str().unwrap().to_string();
    let tx_id: uuid::Uuid = tx.parse().unwrap();
    let status_redactions = |name: &str, value: &Value| {
        assert_json_snapshot!(name, value, {
            ".transaction_id" => uuid(),
            ".timestamp" => time(),
            ".callback_uri" => "[callback_uri]",
        });
    };
    status_redactions("transaction_pending", &s.transaction_status(tx_id).await);

    let request = s.otp_request(&ta, a.id, started["otp"].as_str().unwrap()).await.expect_status(200).json();
    assert_json_snapshot!("otp_request", request, {
        ".transaction_id" => uuid(),
        ".timestamp" => time(),
        ".expires_at" => time(),
        ".challenge" => base64_of(32, "[challenge]"),
    });
    let answer = s
        .answer(&ta, tx_id, &a, request["challenge"].as_str().unwrap(), Answer::Accept)
        .await
        .expect_status(200)
        .json();
    assert_json_snapshot!("answer", answer, {".transaction_id" => uuid()});
    let callback = cb.next().await;
    assert_json_snapshot!("callback_body", callback.body, {
        ".transaction_id" => uuid(),
        ".callback_uri" => "[callback_uri]",
    });
    status_redactions("transaction_accepted", &s.transaction_status(tx_id).await);

    let denied = s.start_otp_ok(DEAD_CALLBACK).await;
    let challenge = s.otp_request_ok(&ta, a.id, &denied.otp).await.challenge;
    s.answer(&ta, denied.transaction_id, &a, &challenge, Answer::Deny).await.expect_status(200);
    status_redactions("transaction_denied", &s.transaction_status(denied.transaction_id).await);

    let expired = s.start_otp_ok(DEAD_CALLBACK).await;
    s.advance_clock(300_000).await;
    status_redactions("transaction_expired", &s.transaction_status(expired.transaction_id).await);

    assert_json_snapshot!("enabled", s.enabled("alice").await.expect_status(200).json());
    assert_json_snapshot!("config", s.config().await);
    assert_json_snapshot!("clock", s.admin_get("/_admin/v1/clock").await.expect_status(200).json(), {".now" => time()});
    assert_json_snapshot!("reset", s.reset().await);
    s.shutdown().await;
}

/// The event log of a fresh server, where no callback delivery can interleave its entries.
#[tokio::test]
async fn events_body() {
    let s = support::start("default").await;
    let ta = s.token("alice").await;
    s.send(Req::get("/oauth/api/v4/authenticate/user/bob/enabled").portal()).await.expect_status(200);
    s.enroll(&ta, &new_device(2)).await.expect_status(201);
    s.enroll(&ta, &new_device(3)).await.expect_status(409);
    let events = s.admin_get("/_admin/v1/events?since=1").await.expect_status(200).json();
    assert_json_snapshot!("events", events, {".events[].time" => time()});
    s.shutdown().await;
}

#[tokio::test]
async fn error_bodies() {
    let s = support::start("default").await;
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    assert_json_snapshot!("error_9016_device_already_enrolled", s.enroll(&ta, &a).await.json());
    assert_json_snapshot!(
        "error_9010_no_token",
        s.send(Req::get("/mobile-auth/v1/enrollments/x")).await.json()
    );
    assert_json_snapshot!(
        "error_invalid_client",
        s.send(Req::post("/oauth/api/v4/authenticate/user").form(&[("type", "qr-code")])).await.json()
    );
    assert_json_snapshot!(
        "error_invalid_grant",
        s.token_reply(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wrong"),
            ("client_id", support::APP_CLIENT),
        ])
        .await
        .json()
    );
    assert_json_snapshot!(
        "error_1005_message_too_long",
        s.start_otp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", &"é".repeat(156))])
            .await
            .json()
    );
    let started = s.start_otp_ok(DEAD_CALLBACK).await;
    s.otp_request_ok(&ta, a.id, &started.otp).await;
    let forged = json!({"device_id": a.id, "answer": "accept", "signature": "AAAA"});
    assert_json_snapshot!(
        "error_10019_invalid_signature",
        s.answer_with(&ta, &started.transaction_id.to_string(), forged).await.json(),
        // The message quotes the signing string, with its ids and challenge.
        {".error_message" => "[message]"}
    );
    assert_json_snapshot!("error_20004_admin_not_found", s.admin_get("/_admin/v1/nope").await.json());
    s.shutdown().await;
}
