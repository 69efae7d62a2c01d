//! `mobauth serve --state PATH` survives kill -9: a server killed (SIGKILL) between requests and
//! started again on its state file serves every user, enrollment, transaction and setting it had
//! answered, its event sequence goes on, and an access token from before the kill is refused,
//! never taken as anyone's.
#![allow(clippy::expect_used, reason = "a test stops at the first broken step")]

use std::time::Duration;

use peers::device::SimulatedDevice;
use peers::portal::SimulatedPortal;
use protocol::wire::{Answer, TransactionStatus};
use serde_json::json;
use transcript::{Http, Transcript};
use uuid::Uuid;

use crate::server_by_url::ServeProcess;

/// How many times the server is killed and started again.
const ROUNDS: usize = 5;

const FILE: &str = "fixtures/servers/default.toml";

fn http(url: &str) -> Http {
    Http::new(url, Duration::from_secs(10), Transcript::default())
}

/// A user made, with its enrolled device and the transaction the portal started for it.
struct Made {
    user: String,
    device: SimulatedDevice,
    /// The certificate its enrollment gave it.
    certificate: String,
    transaction: Uuid,
    status: TransactionStatus,
}

async fn admin(
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request =
        reqwest::Client::new().request(method, format!("{url}{path}")).bearer_auth("mobauth-admin");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.expect("the admin API answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_requests_loses_no_answered_request() {
    mock_server::install_crypto_provider();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mobauth-persistence");
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let state = dir.join("state.redb");
    let state_arg = state.display().to_string();
    let start = || ServeProcess::start_with(FILE, &["--state", &state_arg]);

    let mut server = start();
    let mut made: Vec<Made> = Vec::new();
    let (mut answered, mut lost) = (0usize, Vec::<String>::new());
    for round in 0..ROUNDS {
        // The requests of this round, each answered before the kill.
        let user = format!("user-{round}");
        let (status, _) = admin(
            &server.url,
            reqwest::Method::POST,
            "/_admin/v1/users",
            Some(json!({"username": user, "password": format!("{user}-pw")})),
        )
        .await;
        assert!((200..300).contains(&status), "the user is made: {status}");
        let mut device = SimulatedDevice::new(
            "phone",
            http(&server.url),
            "mobauth-app",
            protocol::rng::seeded(100 + round as u64),
        );
        device.log_in(&user, &format!("{user}-pw")).await.expect("the new user logs in");
        let certificate = device.enroll().await.expect("the device enrolls").certificate;
        let portal =
            SimulatedPortal::start(http(&server.url), "portal", "portal-secret", &Default::default())
                .await
                .expect("the portal starts");
        let callback = portal.callback_uri();
        let started = portal
            .start_otp(&[("type", "qr-code"), ("callback_uri", &callback)])
            .await
            .expect("an OTP starts");
        let mut status = TransactionStatus::Pending;
        if round % 2 == 1 {
            device.handle_otp(&started.response.otp).await.expect("the device fetches the request");
            device.decide(Answer::Accept).await.expect("the device accepts");
            status = TransactionStatus::Accepted;
        }
        let (config_status, _) = admin(
            &server.url,
            reqwest::Method::PUT,
            "/_admin/v1/config",
            Some(json!({"message_max_length": 100 + round})),
        )
        .await;
        assert_eq!(config_status, 200, "the configuration is set");
        answered += 4 + 2 * (round % 2);
        made.push(Made { user, device, certificate, transaction: started.response.transaction_id, status });
        let (_, events) = admin(&server.url, reqwest::Method::GET, "/_admin/v1/events?since=0", None).await;
        let seq_before = events["last_seq"].as_u64().expect("a sequence number");
        let old_tokens: Vec<String> =
            made.iter().filter_map(|m| m.device.access_token().map(str::to_string)).collect();

        // SIGKILL, at once: nothing is flushed on the way out.
        drop(server);
        server = start();

        let portal =
            SimulatedPortal::start(http(&server.url), "portal", "portal-secret", &Default::default())
                .await
                .expect("the portal starts again");
        for m in &mut made {
            m.device.reconfigure(http(&server.url), "mobauth-app");
            if m.device.log_in(&m.user, &format!("{}-pw", m.user)).await.is_err() {
                lost.push(format!("round {round}: {} cannot log in", m.user));
                continue;
            }
            match m.device.fetch_enrollment().await {
                Ok(info) if info.certificate == m.certificate && info.user_id == m.user => {}
                other => lost.push(format!("round {round}: {}'s enrollment: {other:?}", m.user)),
            }
            match portal.transaction(&m.transaction.to_string()).await {
                Ok(read) if read.status == m.status => {}
                other => lost.push(format!("round {round}: {}'s transaction: {other:?}", m.user)),
            }
        }
        for token in &old_tokens {
            let reply = reqwest::Client::new()
                .get(format!("{}/mobile-auth/v1/enrollments/{}", server.url, Uuid::nil()))
                .bearer_auth(token)
                .send()
                .await
                .expect("the server answers");
            assert_eq!(reply.status().as_u16(), 401, "a token from before the kill is refused");
        }
        let (_, config) = admin(&server.url, reqwest::Method::GET, "/_admin/v1/config", None).await;
        if config["message_max_length"] != json!(100 + round) {
            lost.push(format!("round {round}: the configuration: {config}"));
        }
        let (_, events) = admin(&server.url, reqwest::Method::GET, "/_admin/v1/events?since=0", None).await;
        if events["last_seq"].as_u64().is_none_or(|seq| seq < seq_before) {
            lost.push(format!(
                "round {round}: the event sequence went back from {seq_before}: {}",
                events["last_seq"]
            ));
        }
    }
    eprintln!(
        "kill -9 test: {answered} answered requests that changed state over {ROUNDS} kills, {} lost",
        lost.len()
    );
    assert_eq!(lost, Vec::<String>::new(), "after {answered} answered requests and {ROUNDS} kills");
}
