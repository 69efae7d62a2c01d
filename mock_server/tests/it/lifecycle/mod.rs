//! Whole transactions and the server's moving parts: accept and deny end to end, expiry exactly at
//! the boundary, callbacks and their retries, the whitelist, `enabled`, reset, the event log,
//! seeded faults and the admin config.
//!
//! This module holds the helpers its submodules share (starting a transaction, accepting one with
//! a callback, the callback events); the tests are in the submodules, by concept.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

mod admin;
mod callbacks;
mod flows;
mod portal;

use protocol::wire::{Answer, AuthenticateUserResponse};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{Server, new_device};

fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time string"), &Rfc3339).expect("RFC 3339")
}

/// A started transaction, as the portal got it.
async fn start(s: &Server, callback: &str) -> AuthenticateUserResponse {
    s.start_otp_ok(callback).await
}

/// Callback events as `(kind, status)`.
fn kinds(events: &[(String, u16, OffsetDateTime)]) -> Vec<(&str, u16)> {
    events.iter().map(|(kind, status, _)| (kind.as_str(), *status)).collect()
}

const START: (&str, u16) = ("callback_start", 0);

/// Enrolls a device of alice's, starts a transaction with `callback_uri` and accepts it; returns
/// the event-log position just before the answer and the transaction's id.
async fn accept_with_callback(s: &Server, callback_uri: &str) -> (u64, uuid::Uuid) {
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let started = start(s, callback_uri).await;
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    let since = s.events(0).await.last_seq;
    s.answer(&ta, started.transaction_id, &a, &challenge, Answer::Accept).await.expect_status(200);
    (since, started.transaction_id)
}

/// The callback events to `callback_uri` once `ended` attempts have ended: the server logs an
/// end after it read the receiver's answer, which the receiver cannot see.
async fn once_ended(
    s: &Server,
    since: u64,
    callback_uri: &str,
    ended: usize,
) -> Vec<(String, u16, OffsetDateTime)> {
    s.wait_for_events(since, "the ends of the callback attempts", |events| {
        events.iter().filter(|e| e.kind == "callback" && e.path == callback_uri).count() >= ended
    })
    .await;
    s.callback_events(since, callback_uri).await
}
