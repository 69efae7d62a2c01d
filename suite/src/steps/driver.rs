//! Steps for the device driver protocol (contract sections 7 and 9): the scenario talks to the
//! SDK under test through its driver program, line by line, and checks replies, events and
//! their order. On the embedded default the program is the reference driver, `mobauth device-driver`.

use cucumber::{given, then, when};
use protocol::driver::{Event, Line, Op, Reply};
use serde_json::Value;

use super::Reply as Expected;
use crate::judgement::OrFail as _;
use crate::world::ConformanceWorld;
use crate::world::driver::DriverSession;
use peers::device::{DeviceError, SimulatedDevice};
use peers::driver::device::OtpInput;
use protocol::error::ErrorCode;
use qr::camera;

fn session(world: &mut ConformanceWorld) -> &mut DriverSession {
    world.driver.as_mut().expect("a driver step runs after \"a device driver\" started one")
}

fn fail<T>(what: &str, error: impl std::fmt::Display) -> T {
    fail!("expected the driver to {what}, but {error}")
}

/// Sends `op` and waits for its reply; an `unimplemented` reply ends the scenario as not
/// implemented (DRV-002), since the step needs the operation.
async fn request(world: &mut ConformanceWorld, op: Op) -> Reply {
    let name = op.name();
    let reply =
        session(world).process().request(op).await.unwrap_or_else(|e| fail(&format!("answer {name}"), e));
    if matches!(reply, Reply::Unimplemented { .. }) {
        crate::judgement::not_implemented(name);
    }
    session(world).last = Some(reply.clone());
    reply
}

fn describe(reply: &Reply) -> String {
    reply.to_json().to_string()
}

#[given("a device driver")]
async fn a_device_driver(world: &mut ConformanceWorld) {
    let command = world
        .target()
        .driver_command()
        .unwrap_or_else(|| fail!("this run has no device driver: give one with --device-driver"))
        .to_string();
    let limits = world.target().driver_limits().clone();
    let seed = protocol::rng::derive_seed(world.seed, "device driver");
    let process = limits.start(&command, seed).await.unwrap_or_else(|e| fail("start", e));
    world.driver = Some(DriverSession { process: Some(process), last: None, handling: None, finished: None });
    let reply = request(world, Op::Hello).await;
    check_hello(&reply);
}

fn check_hello(reply: &Reply) {
    let Reply::Ok { fields, .. } = reply else {
        fail!("expected hello to be answered ok, got {}", describe(reply));
    };
    ensure!(fields.get("name").is_some_and(Value::is_string), "hello needs a text name: {}", describe(reply));
    ensure!(
        fields.get("version").is_some_and(Value::is_string),
        "hello needs a text version: {}",
        describe(reply)
    );
    ensure_eq!(
        fields.get("protocol"),
        Some(&Value::from(1)),
        "hello must say protocol 1: {}",
        describe(reply)
    );
}

#[given("the driver is configured for the server")]
#[when("the driver is configured for the server")]
async fn configured(world: &mut ConformanceWorld) {
    let server_url = world.target().base_url().to_string();
    let app_client_id = world.target().app_client_id().to_string();
    let reply = request(world, Op::Configure { server_url, app_client_id }).await;
    expect_ok(&reply, &serde_json::json!({}));
}

#[given("the driver is configured for a server that is not there")]
async fn configured_nowhere(world: &mut ConformanceWorld) {
    // Port 9 (discard) on loopback: nothing listens there on a test machine.
    let reply = request(
        world,
        Op::Configure { server_url: "http://127.0.0.1:9".into(), app_client_id: "mobauth-app".into() },
    )
    .await;
    expect_ok(&reply, &serde_json::json!({}));
}

#[given("the driver is configured for the server with an app client it does not know")]
async fn configured_unknown_app(world: &mut ConformanceWorld) {
    let server_url = world.target().base_url().to_string();
    // No target registers this name: the suite's app clients are named in the target file.
    let app_client_id = "mobauth-suite-unregistered-app".to_string();
    let reply = request(world, Op::Configure { server_url, app_client_id }).await;
    expect_ok(&reply, &serde_json::json!({}));
}

#[given(expr = "{string} is logged in on the driver")]
#[when(expr = "{string} logs in on the driver")]
async fn logged_in(world: &mut ConformanceWorld, user: String) {
    let credentials = world.user(&user).await;
    let reply =
        request(world, Op::Authenticate { username: credentials.username, password: credentials.password })
            .await;
    expect_ok(&reply, &serde_json::json!({}));
}

#[when(expr = "{string} tries to log in on the driver")]
async fn tries_to_log_in(world: &mut ConformanceWorld, user: String) {
    let credentials = world.user(&user).await;
    request(world, Op::Authenticate { username: credentials.username, password: credentials.password }).await;
}

#[when(expr = "{string} logs in on the driver with a wrong password")]
async fn wrong_password(world: &mut ConformanceWorld, user: String) {
    let credentials = world.user(&user).await;
    request(world, Op::Authenticate { username: credentials.username, password: "wrong".into() }).await;
}

#[given(expr = "{string} has enrolled on the driver")]
async fn enrolled(world: &mut ConformanceWorld, user: String) {
    logged_in(world, user).await;
    let reply = request(world, Op::Enroll).await;
    expect_ok(&reply, &serde_json::json!({"re_enrolled": false}));
}

#[when(expr = "the server removes {string}'s enrollment of the driver's device")]
async fn server_removes(world: &mut ConformanceWorld, user: String) {
    let reply = request(world, Op::State).await;
    let Reply::Ok { fields, .. } = &reply else { fail!("state never fails, got {}", describe(&reply)) };
    let device_id = fields.get("device_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let username = world.username(&user).to_string();
    let admin = world.target().admin().or_fail(|e| format!("this scenario needs the admin API: {e}"));
    admin
        .delete_enrollment(&username, &device_id)
        .await
        .or_fail(|e| format!("expected the admin to remove the enrollment, but {e}"));
}

#[when(expr = "the server answers the device API with status {int} for a while")]
async fn server_fails(world: &mut ConformanceWorld, status: u16) {
    let faults = serde_json::json!([{"path_prefix": "/mobile-auth/", "status": status}]);
    let admin = world.target().admin().or_fail(|e| format!("this scenario needs the admin API: {e}"));
    admin.set_faults(&faults, 0).await.or_fail(|e| format!("expected the faults to be installed, but {e}"));
}

#[then(expr = "the driver's enrollment reads {word} or {word}")]
async fn stale_or_fresh(world: &mut ConformanceWorld, a: String, b: String) {
    let reply = request(world, Op::IsEnrolled).await;
    let Reply::Ok { fields, .. } = &reply else { fail!("is_enrolled never fails, got {}", describe(&reply)) };
    let enrolled = fields.get("enrolled").and_then(Value::as_bool).map(|b| b.to_string()).unwrap_or_default();
    ensure!(
        enrolled == a || enrolled == b,
        "expected is_enrolled to be {a} or {b}, got {}",
        describe(&reply)
    );
}

#[when(expr = "the driver is asked to {word}")]
async fn asked(world: &mut ConformanceWorld, op: String) {
    let op = match op.as_str() {
        "hello" => Op::Hello,
        "logout" => Op::Logout,
        "enroll" => Op::Enroll,
        "is_enrolled" => Op::IsEnrolled,
        "accept" => Op::Accept,
        "deny" => Op::Deny,
        "disenroll" => Op::Disenroll,
        "reset" => Op::Reset,
        "state" => Op::State,
        other => fail!("the step names no argument-free op {other:?}"),
    };
    request(world, op).await;
}

#[when(expr = "the driver is sent the line {string}")]
async fn sent_line(world: &mut ConformanceWorld, line: String) {
    let id = serde_json::from_str::<Value>(&line).ok().and_then(|v| v.get("id").and_then(Value::as_i64));
    let process = session(world).process();
    process.send_raw(&line).await.unwrap_or_else(|e| fail("take a line", e));
    let reply = process
        .reply(id, &format!("waiting for the reply to {line}"))
        .await
        .unwrap_or_else(|e| fail("answer", e));
    session(world).last = Some(reply);
}

async fn start_handling(world: &mut ConformanceWorld, op: Op) {
    let id = session(world).process().send(op).await.unwrap_or_else(|e| fail("take handle_otp", e));
    session(world).handling = Some(id);
}

#[when("the driver handles the portal's OTP")]
async fn handles_otp(world: &mut ConformanceWorld) {
    let otp = world.started_otp().response.otp.clone();
    start_handling(world, OtpInput::Text(otp).into_op()).await;
}

#[when("the driver handles the portal's QR code")]
async fn handles_qr(world: &mut ConformanceWorld) {
    let png = world.started_otp().qr_png.clone();
    start_handling(world, OtpInput::Image(png).into_op()).await;
}

/// The portal's QR code as the reference portal renders it, as a picture to disturb.
fn portal_picture(world: &ConformanceWorld) -> camera::Picture {
    let otp = &world.started_otp().response.otp;
    qr::render_luma(otp, &qr::RenderOptions::default())
        .unwrap_or_else(|e| fail!("the portal's OTP {otp:?} does not render as a QR code: {e}"))
}

#[when("the driver handles the portal's QR code drawn with transparent light modules")]
async fn handles_transparent_qr(world: &mut ConformanceWorld) {
    // The same symbol, its light pixels (quiet zone included) fully transparent, as a page
    // overlay or an app asset may draw it: still a PNG with a QR code in it (contract section 9).
    // Light pixels transparent white (not the camera row's transparent black, which a decoder
    // that drops alpha reads as a black square): the picture as a page would draw it.
    let sample = camera::Sample::Png(camera::transparent_white_background(&portal_picture(world)).into());
    let png =
        sample.encode().unwrap_or_else(|e| panic!("a transparent QR picture encodes (a harness bug): {e}"));
    start_handling(world, OtpInput::Image(png).into_op()).await;
}

#[when(expr = "the driver handles the OTP {string}")]
async fn handles_given_otp(world: &mut ConformanceWorld, otp: String) {
    start_handling(world, OtpInput::Text(otp).into_op()).await;
}

#[when("the driver handles the portal's OTP with a space after it")]
async fn handles_padded_otp(world: &mut ConformanceWorld) {
    let otp = format!("{} ", world.started_otp().response.otp);
    start_handling(world, OtpInput::Text(otp).into_op()).await;
}

#[when(expr = "the driver handles a qr_png of {string}")]
async fn handles_png_text(world: &mut ConformanceWorld, text: String) {
    // The text as the field's value, exactly: it need not be base64 of anything.
    start_handling(world, Op::HandleOtp { otp: None, qr_png: Some(text) }).await;
}

#[when("the driver handles a PNG without a QR code")]
async fn handles_blank_png(world: &mut ConformanceWorld) {
    // The portal's picture with every module drawn light: a PNG of the same size, all white.
    let blank = camera::Sample::Png(camera::remap(&portal_picture(world), 255, 255).into());
    let png =
        blank.encode().unwrap_or_else(|e| panic!("a white picture encodes as PNG (a harness bug): {e}"));
    start_handling(world, OtpInput::Image(png).into_op()).await;
}

async fn handling_reply(world: &mut ConformanceWorld) -> Reply {
    let id = session(world).handling.take().expect("a handle_otp was sent");
    let reply = session(world)
        .process()
        .reply(Some(id), "waiting for handle_otp's reply")
        .await
        .unwrap_or_else(|e| fail("answer handle_otp", e));
    if matches!(reply, Reply::Unimplemented { .. }) {
        crate::judgement::not_implemented("handle_otp");
    }
    session(world).last = Some(reply.clone());
    reply
}

#[then("the driver shows the portal's request")]
async fn shows_request(world: &mut ConformanceWorld) {
    let expected_tx = world.started_otp().response.transaction_id.to_string();
    let event = session(world)
        .process()
        .event("waiting for open_auth_otp")
        .await
        .unwrap_or_else(|e| fail("show the request", e));
    match event {
        Event::OpenAuthOtp { transaction_id, message } => {
            ensure_eq!(transaction_id, expected_tx, "open_auth_otp must carry the server's transaction_id");
            ensure!(!message.is_empty(), "open_auth_otp must carry the server's message");
        }
        other => fail!("expected open_auth_otp, got {other:?}"),
    }
}

#[then(expr = "the driver's OTP handling answers {string}")]
async fn handling_answers(world: &mut ConformanceWorld, expected: String) {
    let reply = handling_reply(world).await;
    let expected: Value = serde_json::from_str(&expected).expect("the step's JSON parses");
    expect_ok(&reply, &expected);
}

#[then(expr = "the driver's OTP handling fails with {reply}")]
async fn handling_fails(world: &mut ConformanceWorld, expected: Expected) {
    let reply = handling_reply(world).await;
    expect_error(&reply, &expected);
}

#[then("a reset gives the driver a device_id other than the one its state gave before")]
async fn reset_gives_new_device_id(world: &mut ConformanceWorld) {
    let device_id = |reply: &Reply| match reply {
        Reply::Ok { fields, .. } => fields.get("device_id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let state = request(world, Op::State).await;
    let Some(before) = device_id(&state) else {
        fail!("expected state to answer {{\"device_id\", ...}}, got {}", describe(&state))
    };
    let reset = request(world, Op::Reset).await;
    let Some(after) = device_id(&reset) else {
        fail!("expected reset to answer {{\"device_id\"}}, got {}", describe(&reset))
    };
    ensure!(
        uuid::Uuid::parse_str(&after).is_ok_and(|id| id.hyphenated().to_string() == after),
        "expected reset's device_id to be a lowercase hyphenated UUID, got {after:?}"
    );
    ensure_ne!(after, before, "expected reset to make a new installation with a new device_id");
    let state = request(world, Op::State).await;
    ensure_eq!(
        device_id(&state),
        Some(after.clone()),
        "expected state after the reset to answer the device_id the reset gave ({})",
        describe(&state)
    );
}

#[then(expr = "the driver answers {string}")]
async fn answers(world: &mut ConformanceWorld, expected: String) {
    let expected: Value = serde_json::from_str(&expected).expect("the step's JSON parses");
    let reply = session(world).last.clone().expect("a request was answered");
    expect_ok(&reply, &expected);
}

/// An error reply, or `unimplemented` (DRV-002).
#[then(expr = "the driver answers {reply}")]
async fn answers_error(world: &mut ConformanceWorld, expected: Expected) {
    let reply = session(world).last.clone().expect("a request was answered");
    match &expected {
        Expected::Success(name) if name == "unimplemented" => answers_unimplemented(&reply),
        _ => expect_error(&reply, &expected),
    }
}

#[then(expr = "the driver answers {reply} with a null id")]
async fn answers_error_null_id(world: &mut ConformanceWorld, expected: Expected) {
    let reply = session(world).last.clone().expect("a request was answered");
    expect_error(&reply, &expected);
    ensure_eq!(
        reply.id(),
        None,
        "a reply to a line without an integer id has \"id\": null: {}",
        describe(&reply)
    );
}

fn answers_unimplemented(reply: &Reply) {
    ensure!(
        matches!(reply, Reply::Unimplemented { .. }),
        "expected {{\"unimplemented\": true}}, got {}",
        describe(reply)
    );
}

#[then("the driver answers hello while the request is showing")]
async fn hello_while_showing(world: &mut ConformanceWorld) {
    let reply = request(world, Op::Hello).await;
    check_hello(&reply);
    ensure!(session(world).handling.is_some(), "handle_otp must still wait for the decision");
}

#[then(expr = "the driver's state says enrolled {word}")]
async fn state_enrolled(world: &mut ConformanceWorld, enrolled: String) {
    let reply = request(world, Op::State).await;
    let Reply::Ok { fields, .. } = &reply else { fail!("state never fails, got {}", describe(&reply)) };
    let id = fields.get("device_id").and_then(Value::as_str).unwrap_or_default();
    ensure!(
        protocol::wire::parse_id(id).is_some(),
        "state's device_id must be a lowercase UUID: {}",
        describe(&reply)
    );
    ensure!(
        fields.get("authenticated").is_some_and(Value::is_boolean),
        "state needs authenticated: {}",
        describe(&reply)
    );
    ensure_eq!(fields.get("enrolled"), Some(&Value::Bool(enrolled == "true")), "{}", describe(&reply));
}

/// DRV-013: the decision's `{}`, then `close_auth_otp`, then handle_otp's reply, in that order.
/// Other replies may come in between (a request sent after the decision: DRV-013 readings).
#[then("the decision, the close and the OTP reply came in that order")]
async fn protocol_order(world: &mut ConformanceWorld) {
    let log = session(world).process().log().to_vec();
    let lines: Vec<(bool, Value)> = log
        .iter()
        .filter_map(|l| {
            let (sent, text) = match l.split_once(' ') {
                Some((">", text)) => (true, text),
                Some(("<", text)) => (false, text),
                _ => return None,
            };
            serde_json::from_str::<Value>(text).ok().map(|v| (sent, v))
        })
        .collect();
    let sent_id = |ops: &[&str]| {
        lines.iter().rposition(|(sent, v)| {
            *sent && v.get("op").and_then(Value::as_str).is_some_and(|op| ops.contains(&op))
        })
    };
    let (Some(decision), Some(handle)) = (sent_id(&["accept", "deny"]), sent_id(&["handle_otp"])) else {
        fail!("expected a handle_otp and a decision to have been sent: {log:#?}")
    };
    let id_of = |n: usize| lines[n].1.get("id").cloned();
    let received = |pred: &dyn Fn(&Value) -> bool| {
        lines.iter().enumerate().skip(decision + 1).find(|(_, (sent, v))| !*sent && pred(v)).map(|(n, _)| n)
    };
    let decision_reply = received(&|v| v.get("id") == id_of(decision).as_ref());
    let close = received(&|v| v.get("event").and_then(Value::as_str) == Some("close_auth_otp"));
    let otp_reply = received(&|v| v.get("event").is_none() && v.get("id") == id_of(handle).as_ref());
    match (decision_reply, close, otp_reply) {
        (Some(d), Some(c), Some(r)) if d < c && c < r => {
            ensure_eq!(
                lines[d].1.get("ok"),
                Some(&Value::Bool(true)),
                "the decision's reply is {{}}: {log:#?}"
            );
        }
        _ => fail!(
            "expected the decision's {{}}, then close_auth_otp, then handle_otp's reply (lines {decision_reply:?}, \
             {close:?}, {otp_reply:?}): {log:#?}"
        ),
    }
}

/// DRV-014: as many closes as opens, at most one each for one handle_otp.
#[then(expr = "the driver showed {int} request(s) and closed {int}")]
async fn shown_and_closed(world: &mut ConformanceWorld, opened: usize, closed: usize) {
    let process = session(world).process();
    process.drain().unwrap_or_else(|e| fail("write only protocol lines", e));
    let log = process.log();
    let count = |needle: &str| log.iter().filter(|l| l.starts_with('<') && l.contains(needle)).count();
    ensure_eq!(
        (count("open_auth_otp"), count("close_auth_otp")),
        (opened, closed),
        "open_auth_otp and close_auth_otp counts; the exchange was:\n{}",
        log.join("\n")
    );
}

#[when("the driver's input ends")]
async fn input_ends(world: &mut ConformanceWorld) {
    let process = session(world).process.take().expect("a driver is running");
    let finished = process.finish().await.unwrap_or_else(|e| fail("exit at the end of its input", e));
    session(world).finished = Some(finished);
}

#[then("the driver exits with status 0")]
async fn exits_zero(world: &mut ConformanceWorld) {
    let (code, _) = session(world).finished.as_ref().expect("the input ended");
    ensure_eq!(*code, Some(0), "a driver exits with status 0 at the end of its input");
}

#[then(expr = "before exiting it closed the request and cancelled the OTP with {reply}")]
async fn cancelled_at_exit(world: &mut ConformanceWorld, expected: Expected) {
    let handling = session(world).handling.take().expect("a handle_otp was waiting");
    let (_, lines) = session(world).finished.clone().expect("the input ended");
    let close = lines.iter().position(|l| matches!(l, Line::Event(Event::CloseAuthOtp)));
    let reply = lines.iter().position(|l| matches!(l, Line::Reply(r) if r.id() == Some(handling)));
    match (close, reply) {
        (Some(c), Some(r)) if c < r => {
            let Line::Reply(reply) = &lines[r] else { unreachable!("position matched a reply") };
            expect_error(reply, &expected);
        }
        _ => fail!("expected close_auth_otp then handle_otp's error, got {lines:?}"),
    }
}

/// DRV-018: `close_auth_otp`, then the waiting handle_otp's 9006; the reset's own reply may come
/// before, between or after them (DRV-018 readings).
#[then(expr = "the reset closed the request and cancelled the OTP with {reply}")]
async fn cancelled_by_reset(world: &mut ConformanceWorld, expected: Expected) {
    let handling = session(world).handling.take().expect("a handle_otp was waiting");
    let process = session(world).process();
    let reply = process
        .reply(Some(handling), "waiting for handle_otp's reply after the reset")
        .await
        .unwrap_or_else(|e| fail("cancel the showing request at the reset", e));
    expect_error(&reply, &expected);
    let log = process.log().to_vec();
    let reset =
        log.iter().rposition(|l| l.starts_with('>') && l.contains("\"op\":\"reset\"")).expect("reset sent");
    let received: Vec<Line> = log[reset + 1..]
        .iter()
        .filter_map(|l| l.strip_prefix("< "))
        .filter_map(|l| Line::parse(l).ok())
        .collect();
    let close = received.iter().position(|l| matches!(l, Line::Event(Event::CloseAuthOtp)));
    let cancel = received.iter().position(|l| matches!(l, Line::Reply(r) if r.id() == Some(handling)));
    ensure!(
        matches!((close, cancel), (Some(c), Some(r)) if c < r),
        "expected close_auth_otp, then handle_otp's error, after the reset: {received:#?}"
    );
}

#[then(expr = "a second handle_otp of the portal's OTP is refused with {reply}")]
async fn second_handle_otp(world: &mut ConformanceWorld, expected: Expected) {
    ensure!(session(world).handling.is_some(), "a handle_otp must be showing");
    let otp = world.started_otp().response.otp.clone();
    let reply = session(world)
        .process()
        .request(Op::HandleOtp { otp: Some(otp), qr_png: None })
        .await
        .unwrap_or_else(|e| fail("answer the second handle_otp", e));
    expect_error(&reply, &expected);
}

/// DRV-023: the server's own answer about the driver's device, asked by a simulated device of the
/// same user that takes the driver's device_id (GET enrollment is for the device's own user).
#[then(expr = "the server reads the driver's device as not enrolled for {string}")]
async fn server_reads_not_enrolled(world: &mut ConformanceWorld, user: String) {
    let reply = request(world, Op::State).await;
    let device_id = match &reply {
        Reply::Ok { fields, .. } => {
            fields.get("device_id").and_then(Value::as_str).and_then(protocol::wire::parse_id)
        }
        _ => None,
    };
    let Some(device_id) = device_id else {
        fail!("expected state to answer {{\"device_id\": a lowercase UUID, ...}}, got {}", describe(&reply))
    };
    let credentials = world.user(&user).await;
    let target = world.target();
    let mut probe =
        SimulatedDevice::new("server check", target.http(), target.app_client_id(), protocol::rng::seeded(0));
    probe.assume_device_id(device_id);
    if let Err(e) = probe.log_in(&credentials.username, &credentials.password).await {
        fail!("expected {user:?} to get a token to read the enrollment with, but {e}");
    }
    match probe.fetch_enrollment().await {
        Err(DeviceError::Peer(e))
            if Expected::Refused { status: Some(404), code: NOT_ENROLLED }.admits(e.api_error()) => {}
        Ok(info) => fail!(
            "expected the server to read the disenrolled device as 404 {}, got 200 {info:?}",
            NOT_ENROLLED.code()
        ),
        Err(e) => fail!(
            "expected the server to read the disenrolled device as 404 {}, but {e}",
            NOT_ENROLLED.code()
        ),
    }
}

fn expect_ok(reply: &Reply, expected: &Value) {
    let Reply::Ok { fields, .. } = reply else {
        fail!("expected the driver to answer ok with {expected}, got {}", describe(reply));
    };
    let Value::Object(expected) = expected else { fail!("the step's expectation is an object") };
    for (key, value) in expected {
        ensure_eq!(
            fields.get(key),
            Some(value),
            "expected {key}: {value} in the driver's reply {}",
            describe(reply)
        );
    }
}

/// The enrollment GET answers for a device that is not enrolled (with 404 on that resource).
const NOT_ENROLLED: ErrorCode = ErrorCode::MobileAuthenticationNotEnrolled;

/// Checks a driver's reply against an expected error reply: its code and type (the driver
/// protocol carries no HTTP status).
fn expect_error(reply: &Reply, expected: &Expected) {
    let Expected::Refused { code, .. } = expected else {
        panic!("a driver's error reply is \"error <code> <TYPE>\", not {expected:?} (a defect of the suite)");
    };
    match reply {
        Reply::Error { error_code, error_type, .. }
            if *error_code == code.code() && error_type == code.type_name() => {}
        other => fail!(
            "expected the driver to answer error {} {}, got {}",
            code.code(),
            code.type_name(),
            describe(other)
        ),
    }
}
