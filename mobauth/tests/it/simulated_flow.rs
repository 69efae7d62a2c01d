//! The simulated device and portal against the in-process mock Token Server: the OTP-via-QR flow
//! end to end over real sockets, and the refusals a device must report with the server's code.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test stops at the first broken step")]

use std::time::Duration;

use mock_server::{ClockMode, RunningServer, ServeOptions, ServerFile};
use peers::device::{DeviceError, DeviceEvent, SimulatedDevice};
use peers::portal::SimulatedPortal;
use protocol::wire::{Answer, AnswerStatus, TransactionStatus};
use time::macros::datetime;
use transcript::{Http, Transcript};

const NOW: time::OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

async fn server(fixture: &str) -> RunningServer {
    let path = format!("{}/../fixtures/servers/{fixture}.toml", env!("CARGO_MANIFEST_DIR"));
    let file = ServerFile::load(std::path::Path::new(&path)).expect("fixture loads");
    let mut options = ServeOptions::new("127.0.0.1:0".parse().expect("literal address"), file);
    options.clock = ClockMode::Frozen(NOW);
    mock_server::serve(options).await.expect("server starts")
}

fn http(server: &RunningServer) -> Http {
    Http::new(&server.url(), Duration::from_secs(5), Transcript::default())
}

async fn enrolled_device(server: &RunningServer, name: &str, user: &str, seed: u64) -> SimulatedDevice {
    let mut device = SimulatedDevice::new(name, http(server), "mobauth-app", protocol::rng::seeded(seed));
    device.log_in(user, &format!("{user}-password")).await.expect("log in");
    device.enroll().await.expect("enroll");
    device
}

#[tokio::test]
async fn accept_through_a_scanned_qr_code_reaches_the_portal() {
    let server = server("default").await;
    let mut device = enrolled_device(&server, "phone", "alice", 1).await;
    let portal = SimulatedPortal::start(http(&server), "portal", "portal-secret", &Default::default())
        .await
        .expect("portal");
    let callback = portal.callback_uri();
    let started = portal
        .start_otp(&[("type", "qr-code"), ("callback_uri", &callback), ("message", "Pay 10 EUR?")])
        .await
        .expect("OTP started");

    let otp = device.scan(&started.qr_png).expect("the portal's QR code decodes");
    assert_eq!(otp, started.response.otp);
    let request = device.handle_otp(&otp).await.expect("request fetched");
    assert_eq!(request.message, "Pay 10 EUR?");
    let answer = device.decide(Answer::Accept).await.expect("answer taken");
    assert_eq!(answer.status, AnswerStatus::Accepted);
    assert_eq!(
        device.events(),
        [
            DeviceEvent::OpenAuthOtp {
                transaction_id: request.transaction_id,
                message: "Pay 10 EUR?".into()
            },
            DeviceEvent::CloseAuthOtp
        ]
    );

    let delivered = portal.next_callback(Duration::from_secs(10)).await.expect("a callback arrives");
    assert_eq!(delivered.transaction_id, started.response.transaction_id);
    assert_eq!(delivered.callback_uri, callback);
    let status = portal.transaction(&started.response.transaction_id.to_string()).await.expect("status");
    assert_eq!(status.status, TransactionStatus::Accepted);
    assert!(status.is_authenticated);
    assert_eq!(status.user_id.as_deref(), Some("alice"));
    let exchanges = device.transcript().exchanges();
    assert!(exchanges.iter().any(|e| e.url.ends_with("/answer") && e.status == Some(200)), "{exchanges:#?}");
    let reported = device.transcript().reported_exchanges();
    assert!(reported.iter().all(|e| !e.request_body.contains("alice-password")), "secrets are not reported");
    server.shutdown().await;
}

#[tokio::test]
async fn refusals_carry_the_servers_status_code_and_type() {
    let server = server("default").await;
    let mut first = enrolled_device(&server, "first", "alice", 2).await;
    let err = first.enroll().await.expect_err("single_device refuses a second enrollment");
    let DeviceError::Peer(peer) = err else { panic!("expected the server's refusal, got {err:?}") };
    assert_eq!(peer.api_error(), Some((409, 9016, "DEVICE_ALREADY_ENROLLED")));

    let mut second = SimulatedDevice::new("second", http(&server), "mobauth-app", protocol::rng::seeded(3));
    let err = second.enroll().await.expect_err("no user logged in");
    assert_eq!(err, DeviceError::NotAuthenticated);
    second.log_in("alice", "alice-password").await.expect("log in");
    let err = second.enroll().await.expect_err("the user is enrolled on another device");
    let DeviceError::Peer(peer) = err else { panic!("expected the server's refusal, got {err:?}") };
    assert_eq!(peer.api_error(), Some((409, 9018, "USER_ALREADY_ENROLLED")));
    assert_eq!(first.fetch_enrollment().await.expect("still enrolled").device_id, first.device_id());
    server.shutdown().await;
}
