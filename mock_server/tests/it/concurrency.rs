//! OTP-021: a transaction is answered at most once, also under concurrent answers. 200 devices of
//! four users (multiple_devices) fetch a challenge for one transaction, then all answer at the
//! same moment behind a barrier: exactly one wins, every other gets 409 9029, and the
//! transaction's status, user_id and single callback come from the winner.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use std::sync::Arc;

use futures::StreamExt as _;
use protocol::wire::Answer;
use serde_json::{Value, json};
use support::{Device, Reply, Req, Server, callback_receiver, check_error, new_device};
use tokio::sync::Barrier;
use uuid::Uuid;

const USERS: usize = 4;
const DEVICES_PER_USER: usize = 50;

/// Sends `body` as the answer to `tx` from a spawned task once every task reached `barrier`.
fn spawn_answer(
    s: &Arc<Server>,
    barrier: &Arc<Barrier>,
    token: String,
    tx: Uuid,
    body: Value,
) -> tokio::task::JoinHandle<Reply> {
    let (s, barrier) = (Arc::clone(s), Arc::clone(barrier));
    tokio::spawn(async move {
        let req = Req::post(format!("/mobile-auth/v1/otp/requests/{tx}/answer")).bearer(&token).json(body);
        barrier.wait().await;
        s.send(req).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_devices_answer_at_once_and_exactly_one_wins() {
    let s = Arc::new(support::start("default").await);
    let mut cb = callback_receiver(&[]).await;
    s.put_config_ok(json!({"enrollment_mode": "multiple_devices"})).await;
    let mut tokens = Vec::new();
    for u in 0..USERS {
        tokens.push(s.new_user(&format!("user{u}")).await);
    }
    // Device i belongs to user i % USERS; it accepts when i is even and denies when odd.
    let devices: Vec<(usize, Device)> =
        (0..USERS * DEVICES_PER_USER).map(|i| (i % USERS, new_device(1_000 + i as u64))).collect();
    let enrolled: Vec<u16> = futures::stream::iter(&devices)
        .map(|(u, d)| {
            let s = &s;
            let token = &tokens[*u];
            async move { s.enroll(token, d).await.status }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(enrolled.iter().all(|st| *st == 201), "every enrollment succeeds: {enrolled:?}");

    let started = s.start_otp_ok(&cb.url("/race")).await;
    let tx = started.transaction_id;
    let challenges: Vec<String> = futures::stream::iter(&devices)
        .map(|(u, d)| {
            let (s, otp) = (&s, &started.otp);
            let token = &tokens[*u];
            async move { s.otp_request_ok(token, d.id, otp).await.challenge }
        })
        .buffered(16)
        .collect()
        .await;

    let barrier = Arc::new(Barrier::new(devices.len()));
    let tasks: Vec<_> = devices
        .iter()
        .zip(&challenges)
        .enumerate()
        .map(|(i, ((u, d), challenge))| {
            let answer = if i.is_multiple_of(2) { Answer::Accept } else { Answer::Deny };
            spawn_answer(&s, &barrier, tokens[*u].clone(), tx, d.answer_body(tx, challenge, answer))
        })
        .collect();
    let replies: Vec<Reply> =
        futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect();

    let winners: Vec<usize> = (0..replies.len()).filter(|i| replies[*i].status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one answer wins");
    let winner = winners[0];
    for (i, reply) in replies.iter().enumerate() {
        if i != winner {
            check_error(reply, 409, 9029, "ALREADY_HANDLED");
        }
    }
    let expected_status = if winner.is_multiple_of(2) { "accepted" } else { "denied" };
    assert_eq!(replies[winner].json(), json!({"transaction_id": tx, "status": expected_status}));
    let status = s.transaction_status(tx).await;
    assert_eq!(status["status"], expected_status, "the winner's answer");
    assert_eq!(status["user_id"], format!("user{}", devices[winner].0), "the winner's user");
    assert_eq!(status["is_authenticated"], expected_status == "accepted");

    // One callback, from the winner's commit.
    assert_eq!(cb.next().await.body["transaction_id"], json!(tx));
    s.wait_for_events(0, "the callback attempt", |events| events.iter().any(|e| e.kind == "callback")).await;
    let attempts = s.events(0).await.events.iter().filter(|e| e.kind == "callback").count();
    assert_eq!(attempts, 1);
    assert!(cb.try_next().is_none());
    Arc::into_inner(s).expect("every task ended").shutdown().await;
}

/// OTP-021 for one device: 50 copies of the same valid answer at once, exactly one 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_replaying_at_once_wins_once() {
    let s = Arc::new(support::start("default").await);
    let ta = s.token("alice").await;
    let a = new_device(1);
    s.enroll(&ta, &a).await.expect_status(201);
    let started = s.start_otp_ok(support::DEAD_CALLBACK).await;
    let tx = started.transaction_id;
    let challenge = s.otp_request_ok(&ta, a.id, &started.otp).await.challenge;
    let body = a.answer_body(tx, &challenge, Answer::Accept);
    let barrier = Arc::new(Barrier::new(50));
    let tasks: Vec<_> = (0..50).map(|_| spawn_answer(&s, &barrier, ta.clone(), tx, body.clone())).collect();
    let statuses: Vec<u16> =
        futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("task").status).collect();
    assert_eq!(statuses.iter().filter(|st| **st == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|st| **st == 409).count(), 49, "{statuses:?}");
    assert_eq!(s.transaction_status(tx).await["status"], "accepted");
    Arc::into_inner(s).expect("every task ended").shutdown().await;
}
