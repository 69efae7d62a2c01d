//! The suite with an SDK's device standing in for the scenarios' devices (`mobauth run
//! --device-driver`): the whole suite through the reference driver (`mobauth device-driver`)
//! against the embedded server must be conformant, with the driver really playing the devices; and
//! a driver that writes garbage, exits, hangs or does not implement an operation fails (or is not
//! implemented for) the scenarios that use it, with a message saying what happened, while the run
//! goes on.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use report::{DeviceKind, Outcome, Report, ScenarioResult, Verdict};
use runner::{self, RunOptions};
use serde_json::{Value, json};
use transcript::{Auth, Http, Payload, Transcript};

/// The suite's feature files.
fn features() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../features")
}

/// The reference driver: this package's own binary.
fn reference_driver() -> String {
    format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth"))
}

/// Runs the scenarios that `tags` selects (all without) with `driver`'s device standing in for the
/// scenarios' devices.
fn driven_run(driver: &str, tags: Option<&str>) -> Report {
    quiet_step_panics();
    let mut options = RunOptions::new(features());
    options.driver_command = Some(driver.to_string());
    options.drive_devices = true;
    options.tags = tags.map(str::to_string);
    runner::run(options).expect("the run gives a report")
}

/// Whether the driver played one of the scenario's devices.
fn driven(scenario: &ScenarioResult) -> bool {
    scenario.devices.iter().any(|d| d.kind == DeviceKind::Driver)
}

/// The areas whose scenarios are about what a device does.
fn device_area(requirement: &str) -> bool {
    ["ENR-", "REN-", "OTP-"].iter().any(|prefix| requirement.starts_with(prefix))
}

/// The words of every not-applicable verdict that the driver's device causes: what the step
/// needed, and that an SDK does not give it through the driver protocol.
const DRIVER_REASON: &str = "through the driver protocol";

/// Steps fail by panicking, and the report tells each failure: keep the panic messages of the
/// threads that run steps off the test's output (as `mobauth run` does).
fn quiet_step_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !runner::on_step_thread() {
                default(info);
            }
        }));
    });
}

#[test]
fn the_whole_suite_through_the_reference_driver_is_conformant() {
    let report = driven_run(&reference_driver(), None);
    let failed: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Failed)
        .map(|s| format!("{} {}: {}", s.id, s.name, s.message.as_deref().unwrap_or_default()))
        .collect();
    assert!(failed.is_empty(), "scenarios failed with the reference driver's device:\n{}", failed.join("\n"));
    assert_eq!(report.gate.exit_code, 0, "the gate: {:?}", report.gate);

    // The driver plays the first device of every scenario that names one; any later one is
    // simulated, and the report says which was which.
    for scenario in report.scenarios.iter().filter(|s| !s.devices.is_empty()) {
        let kinds: Vec<DeviceKind> = scenario.devices.iter().map(|d| d.kind).collect();
        assert_eq!(kinds[0], DeviceKind::Driver, "{}: {:?}", scenario.id, scenario.devices);
        assert!(
            kinds[1..].iter().all(|k| *k == DeviceKind::Simulated),
            "{}: only the first device is the driver's: {:?}",
            scenario.id,
            scenario.devices
        );
    }
    assert!(
        report.scenarios.iter().any(|s| s.verdict == Verdict::Passed && driven(s) && s.devices.len() > 1),
        "some scenario passed with the driver's device beside a simulated one"
    );

    // In the device areas nothing passes without the driver, and nothing is set aside for another
    // reason than what the driver protocol does not show.
    let mut by_requirement: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for scenario in &report.scenarios {
        for requirement in scenario.requirements.iter().filter(|r| device_area(r)) {
            by_requirement.entry(requirement.as_str()).or_default().push(scenario);
        }
    }
    assert!(!by_requirement.is_empty(), "the suite has ENR, REN and OTP scenarios");
    for (requirement, scenarios) in &by_requirement {
        for scenario in scenarios {
            let explained = match scenario.outcome {
                Outcome::Passed => driven(scenario),
                Outcome::NotApplicable => {
                    scenario.message.as_deref().is_some_and(|m| m.contains(DRIVER_REASON))
                }
                _ => false,
            };
            assert!(
                explained,
                "{requirement} {}: expected a pass with the driver's device or not applicable for what the \
                 driver protocol does not show, got {:?} with devices {:?}: {:?}",
                scenario.id, scenario.outcome, scenario.devices, scenario.message
            );
        }
    }

    // The lower bound, from the report itself: every requirement of the device areas that has a
    // scenario whose device steps an SDK can take all the way (one that is not not-applicable)
    // passed with the driver's device; and the flows every SDK offers — enroll (ENR-001), scan and
    // accept (OTP-003, OTP-009), a refused re-enrollment (REN-001), expiry (OTP-015) — are among
    // them.
    let driven_pass: BTreeSet<&str> = by_requirement
        .iter()
        .filter(|(_, scenarios)| scenarios.iter().any(|s| s.verdict == Verdict::Passed && driven(s)))
        .map(|(requirement, _)| *requirement)
        .collect();
    let runnable: BTreeSet<&str> = by_requirement
        .iter()
        .filter(|(_, scenarios)| scenarios.iter().any(|s| s.outcome != Outcome::NotApplicable))
        .map(|(requirement, _)| *requirement)
        .collect();
    assert_eq!(driven_pass, runnable, "requirements with a scenario to run must pass with the driver");
    for core in ["ENR-001", "REN-001", "OTP-003", "OTP-009", "OTP-015"] {
        assert!(driven_pass.contains(core), "{core} passed with the driver's device: {driven_pass:?}");
    }
    assert!(
        driven_pass.len() * 2 >= by_requirement.len(),
        "at least half of the {} device-area requirements pass with the driver's device: {driven_pass:?}",
        by_requirement.len()
    );

    // The driver protocol's own scenarios pass too.
    let drv: Vec<&ScenarioResult> =
        report.scenarios.iter().filter(|s| s.requirements.iter().any(|r| r.starts_with("DRV-"))).collect();
    assert!(!drv.is_empty() && drv.iter().all(|s| s.verdict == Verdict::Passed), "the DRV scenarios pass");
}

/// The reference driver taking, wherever the driver protocol leaves a choice, another legal
/// reading than its default (it reads only clean QR images, ends the session on a failed login,
/// lets the server answer an enroll without a session, keeps its key when the server answers a
/// disenroll with 9021, probes the server at configure, answers a state while a decision is in
/// flight, checks an OTP before 8056, writes the reset reply before the cancel, echoes a
/// malformed id, other texts ...): the suite must judge it conformant too.
#[test]
fn the_whole_suite_through_the_alternative_readings_driver_is_conformant() {
    let driver = format!("{} --alternative-readings", reference_driver());
    let report = driven_run(&driver, None);
    let failed: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Failed || s.verdict == Verdict::HarnessError)
        .map(|s| format!("{} {}: {}", s.id, s.name, s.message.as_deref().unwrap_or_default()))
        .collect();
    assert!(failed.is_empty(), "scenarios failed with the alternative driver:\n{}", failed.join("\n"));
    assert_eq!(report.gate.exit_code, 0, "the gate: {:?}", report.gate);
    let drv: Vec<&ScenarioResult> =
        report.scenarios.iter().filter(|s| s.requirements.iter().any(|r| r.starts_with("DRV-"))).collect();
    assert!(!drv.is_empty() && drv.iter().all(|s| s.verdict == Verdict::Passed), "the DRV scenarios pass");
}

/// A driver script in a scratch folder, run with `sh`.
fn script(case: &str, body: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-driven-{case}"));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let path = dir.join("driver.sh");
    std::fs::write(&path, body).expect("the driver script is written");
    format!("sh '{}'", path.display())
}

/// `@REN-001` (one scenario whose device is the driver's) and `@RP-003` (one without devices).
const TAGS: &str = "@REN-001 or @RP-003";

/// Runs [`TAGS`] with `driver` and returns the device scenario; the other one must still pass.
fn broken_run(driver: &str) -> ScenarioResult {
    let report = driven_run(driver, Some(TAGS));
    assert_eq!(report.scenarios.len(), 2, "both scenarios report: {:?}", report.scenarios);
    let (with_device, without): (Vec<ScenarioResult>, Vec<ScenarioResult>) =
        report.scenarios.into_iter().partition(|s| s.requirements.iter().any(|r| r == "REN-001"));
    assert!(
        without.iter().all(|s| s.verdict == Verdict::Passed),
        "the scenario without a device goes on and passes: {without:?}"
    );
    with_device.into_iter().next().expect("the REN-001 scenario ran")
}

fn assert_failed_with(scenario: &ScenarioResult, words: &[&str]) {
    let message = scenario.message.as_deref().unwrap_or_default();
    assert_eq!(scenario.verdict, Verdict::Failed, "{}: {message}", scenario.id);
    for word in words {
        assert!(message.contains(word), "the message says {word:?}: {message}");
    }
}

/// A driver that greets and takes its configuration like a good one (also when the run checks
/// its `hello` before any scenario and then closes its input), then goes on with `rest`.
fn greets_then(rest: &str) -> String {
    format!(
        "read -r line || exit 0\n\
         echo '{{\"id\": 1, \"ok\": true, \"name\": \"flaky\", \"version\": \"0\", \"protocol\": 1}}'\n\
         read -r line || exit 0\n\
         echo '{{\"id\": 2, \"ok\": true}}'\n\
         {rest}"
    )
}

#[test]
fn a_driver_that_writes_garbage_fails_the_scenario() {
    let driver = script("garbage", &greets_then("while read -r line; do echo 'this is not JSON'; done\n"));
    let scenario = broken_run(&driver);
    assert_failed_with(
        &scenario,
        &[
            "expected the device driver playing \"phone\" to log \"Alice\" in",
            "not of the driver protocol",
            "this is not JSON",
        ],
    );
}

#[test]
fn a_driver_that_crashes_fails_the_scenario_with_its_stderr() {
    let rest = "read -r line; echo \"crashing on: $line\" >&2; exit 7\n";
    let scenario = broken_run(&script("crashes", &greets_then(rest)));
    assert_failed_with(
        &scenario,
        &[
            "expected the device driver playing \"phone\" to log \"Alice\" in",
            "exit status: 7",
            "crashing on:",
        ],
    );
}

#[test]
fn a_driver_that_stops_answering_fails_the_scenario_after_its_timeout() {
    // It reads its input and never writes again; it ends when its input closes.
    let scenario = broken_run(&script("hangs", &greets_then("exec cat > /dev/null\n")));
    assert_failed_with(&scenario, &["did not answer within 10s", "waiting for the reply to authenticate"]);
}

#[test]
fn a_driver_that_cannot_greet_stops_the_run_before_any_scenario() {
    quiet_step_panics();
    for (case, body) in [("silent-exit", "exit 3\n"), ("garbage-hello", "read -r line; echo 'not JSON'\n")] {
        let mut options = RunOptions::new(features());
        options.driver_command = Some(script(case, body));
        options.drive_devices = true;
        options.tags = Some(TAGS.to_string());
        match runner::run(options) {
            Err(e) => assert_eq!(e.exit_code(), report::EXIT_USAGE, "{case}: {e}"),
            Ok(report) => panic!("{case}: expected a usage error, got a report of {:?}", report.summary),
        }
    }
}

#[test]
fn a_driver_without_an_operation_gives_not_implemented() {
    let body = r#"while read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
  case "$line" in
    *'"op":"hello"'*) echo "{\"id\": $id, \"ok\": true, \"name\": \"partial\", \"version\": \"0\", \"protocol\": 1}" ;;
    *'"op":"configure"'*|*'"op":"authenticate"'*) echo "{\"id\": $id, \"ok\": true}" ;;
    *) echo "{\"id\": $id, \"unimplemented\": true}" ;;
  esac
done
"#;
    let scenario = broken_run(&script("partial", body));
    assert_eq!(scenario.verdict, Verdict::NotImplemented, "{scenario:?}");
    assert!(
        scenario.message.as_deref().is_some_and(|m| m.contains("does not implement enroll")),
        "{:?}",
        scenario.message
    );
}

// ---------------------------------------------------------------------------------------------
// The reference driver's alternative readings (`mobauth device-driver --alternative-readings`):
// at every point where contract sections 7 and 9 leave a choice it takes another legal reading
// than the default. A table of cases, each spoken to a real driver process over its pipes,
// against an embedded mock server where it needs one; each alternative beside the default's
// reading of the same point.
// ---------------------------------------------------------------------------------------------

/// How long a case waits for a line that must come.
const LINE_WAIT: Duration = Duration::from_secs(20);

/// Which reference driver a case speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readings {
    Default,
    Alternative,
}

/// What a reply must be.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A success whose fields include these (a JSON object).
    Ok(&'static str),
    /// An error with this `error_code` and `error_type`.
    Err(u32, &'static str),
}

/// One step of a case.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// A request (a JSON object without `id`; `$SERVER`, `$OTP` and the `$QR_*` images filled
    /// in) and its reply, which must come next.
    Ask(&'static str, Want),
    /// A line that is not JSON, and its reply (`"id": null`).
    Garbage(&'static str, Want),
    /// A `handle_otp` request that shows: `open_auth_otp` comes next, its reply waits.
    Shows(&'static str),
    /// The user's decision (`accept` or `deny`) on the showing request: its `{}`, then
    /// `close_auth_otp`, then `handle_otp`'s reply, which must be `Want`.
    Decides(&'static str, Want),
    /// The portal starts an OTP transaction: sets `$OTP` and the `$QR_*` images of it.
    StartsOtp,
    /// The admin deletes alice's enrollment of the driver's device.
    AdminDeletes,
    /// Another (simulated) device enrolls alice.
    OtherDeviceEnrolls,
    /// The device-API calls the server logged so far, as (method, path, status).
    ServerLogged(&'static [(&'static str, &'static str, u16)]),
    /// How many requests to this exact path the server logged so far.
    ServerLoggedAt(&'static str, usize),
    /// A line sent exactly as given, and its reply, whose `id` must be this JSON (no integer id
    /// to wait for: the reply must be the next line).
    Raw(&'static str, Want, &'static str),
    /// The server holds every answer call for this many milliseconds (an injected latency).
    SlowAnswers(u64),
    /// The decision `op` on the showing request, its `{}`, then `request` (as [`Act::Ask`]) sent
    /// at once; `request`'s reply comes before `close_auth_otp` if the bool says so, else after
    /// `handle_otp`'s reply. `handle_otp`'s reply must be the first `Want`, `request`'s the second.
    DecidesThenAsks(&'static str, Want, &'static str, Want, bool),
    /// A `reset` with a request showing: its reply first if the bool says so, else after
    /// `close_auth_otp` and `handle_otp`'s 9006.
    ResetsWhileShowing(bool),
    /// A server that answers every request 404 with a plain-text body: sets `$PLAIN`.
    PlainServer,
}

/// A case of the table.
#[derive(Debug)]
struct Case {
    name: &'static str,
    readings: Readings,
    /// The fixture under `fixtures/servers/` of the server the driver is pointed at, if any.
    server: Option<&'static str>,
    acts: &'static [Act],
}

const CONFIGURE: &str = r#"{"op": "configure", "server_url": "$SERVER", "app_client_id": "mobauth-app"}"#;
const LOG_IN_ALICE: &str = r#"{"op": "authenticate", "username": "alice", "password": "alice-password"}"#;
const ENROLL: &str = r#"{"op": "enroll"}"#;
const IS_ENROLLED: &str = r#"{"op": "is_enrolled"}"#;
const STATE: &str = r#"{"op": "state"}"#;
const HANDLE_OTP: &str = r#"{"op": "handle_otp", "otp": "$OTP"}"#;
const OK: Want = Want::Ok("{}");
const ENROLLED: Want = Want::Ok(r#"{"enrolled": true}"#);
const NOT_ENROLLED: Want = Want::Ok(r#"{"enrolled": false}"#);
const ENROLLS: Want = Want::Ok(r#"{"re_enrolled": false}"#);
const ACCEPTED: Want = Want::Ok(r#"{"status": "accepted"}"#);
const NOT_ENROLLED_9021: Want = Want::Err(9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
const NOT_IN_PROGRESS: Want = Want::Err(8053, "NOT_IN_PROGRESS_OTP_AUTHENTICATION");
const ALREADY_IN_PROGRESS: Want = Want::Err(8056, "ALREADY_IN_PROGRESS_MOBILE_AUTH");
const MALFORMED: Want = Want::Err(8009, "PARAMETERS_NOT_CORRECT");

/// An enrolled alice on the default server.
const ALICE_ENROLLED: [Act; 3] =
    [Act::Ask(CONFIGURE, OK), Act::Ask(LOG_IN_ALICE, OK), Act::Ask(ENROLL, ENROLLS)];

/// Every error message of the alternative driver begins so, and none of the default's does.
const ALTERNATIVE_TEXT: &str = "the SDK could not do this";

use Act::{
    AdminDeletes, Ask, Decides, DecidesThenAsks, Garbage, OtherDeviceEnrolls, PlainServer, Raw,
    ResetsWhileShowing, ServerLogged, ServerLoggedAt, Shows, SlowAnswers, StartsOtp,
};
const DEFAULT: Readings = Readings::Default;
const ALTERNATIVE: Readings = Readings::Alternative;

const CASES: &[Case] = &[
    // 8. Texts: hello's name and version, and every error's message (checked on every error
    // of every case).
    Case {
        name: "hello names another driver, errors say other words",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Ask(
                r#"{"op": "hello"}"#,
                Want::Ok(concat!(
                    r#"{"name": "mobauth reference driver (alternative readings)", "version": ""#,
                    env!("CARGO_PKG_VERSION"),
                    r#"+alternative", "protocol": 1}"#
                )),
            ),
            Garbage("this is not JSON", Want::Err(8009, "PARAMETERS_NOT_CORRECT")),
        ],
    },
    Case {
        name: "hello names the reference driver",
        readings: DEFAULT,
        server: None,
        acts: &[
            Ask(
                r#"{"op": "hello"}"#,
                Want::Ok(concat!(
                    r#"{"name": "mobauth reference driver", "version": ""#,
                    env!("CARGO_PKG_VERSION"),
                    r#"", "protocol": 1}"#
                )),
            ),
            Garbage("this is not JSON", Want::Err(8009, "PARAMETERS_NOT_CORRECT")),
        ],
    },
    // 1. QR decoding: the default reads camera-like images (also transparent light modules);
    // the alternative only clean PNGs, and a clean PNG with transparent light modules is one.
    Case {
        name: "the default reads a PNG whose light modules are transparent",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_TRANSPARENT"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "the default reads a noisy PNG and a JPEG",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_NOISY"}"#),
            Decides("deny", Want::Ok(r#"{"status": "denied"}"#)),
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_JPEG"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "the alternative reads only clean PNGs",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Ask(r#"{"op": "handle_otp", "qr_png": "$QR_NOISY"}"#, Want::Err(10015, "INVALID_REQUEST")),
            Ask(r#"{"op": "handle_otp", "qr_png": "$QR_JPEG"}"#, Want::Err(10015, "INVALID_REQUEST")),
            ServerLogged(&[("POST", "/mobile-auth/v1/enrollments", 201)]),
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_TRANSPARENT"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "after the admin's deletion and a refused OTP request the default forgets",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(IS_ENROLLED, ENROLLED),
            StartsOtp,
            Ask(HANDLE_OTP, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": true, "enrolled": false}"#)),
            // Not enrolled as it knows: 9021 locally, no call.
            Ask(HANDLE_OTP, NOT_ENROLLED_9021),
            ServerLogged(&[
                ("POST", "/mobile-auth/v1/enrollments", 201),
                ("POST", "/mobile-auth/v1/otp/requests", 403),
            ]),
        ],
    },
    Case {
        name: "after an answer refused with 9021 the alternative forgets too (section 9: stale only until the next exchange)",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            AdminDeletes,
            Decides("accept", NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "after an answer refused with 9021 the default forgets",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            AdminDeletes,
            Decides("accept", NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "overridden by another device, the alternative forgets too after 9023",
        readings: ALTERNATIVE,
        server: Some("override-enabled"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            OtherDeviceEnrolls,
            StartsOtp,
            Ask(HANDLE_OTP, Want::Err(9023, "MOBILE_AUTHENTICATION_DISENROLLED")),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "overridden by another device, the default forgets after 9023",
        readings: DEFAULT,
        server: Some("override-enabled"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            OtherDeviceEnrolls,
            StartsOtp,
            Ask(HANDLE_OTP, Want::Err(9023, "MOBILE_AUTHENTICATION_DISENROLLED")),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    // 3. disenroll answered 9021 by the server: the default forgets the key, the alternative
    // keeps it.
    Case {
        name: "disenroll refused with 9021: the alternative keeps its key",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(r#"{"op": "disenroll"}"#, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, ENROLLED),
        ],
    },
    Case {
        name: "disenroll refused with 9021: the default forgets its key",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(r#"{"op": "disenroll"}"#, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    // 4. A failed authenticate: the default keeps the earlier session, the alternative ends it.
    Case {
        name: "a failed authenticate ends the alternative's session",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(LOG_IN_ALICE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "alice", "password": "wrong"}"#,
                Want::Err(9009, "INVALID_PIN"),
            ),
            Ask(STATE, Want::Ok(r#"{"authenticated": false}"#)),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
        ],
    },
    Case {
        name: "a failed authenticate keeps the default's session",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(LOG_IN_ALICE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "alice", "password": "wrong"}"#,
                Want::Err(9009, "INVALID_PIN"),
            ),
            Ask(STATE, Want::Ok(r#"{"authenticated": true}"#)),
            Ask(ENROLL, ENROLLS),
        ],
    },
    // 5. enroll without a session: the default answers 9010 itself, the alternative asks the
    // server (no bearer token) and passes its 9010 through; not configured is 10001 locally by
    // default, 9001 under the alternative (see 10).
    Case {
        name: "enroll without a session: the alternative passes the server's 9010 through",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(ENROLL, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(CONFIGURE, OK),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
            ServerLogged(&[("POST", "/mobile-auth/v1/enrollments", 401)]),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "enroll without a session: the default answers 9010 itself",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(ENROLL, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(CONFIGURE, OK),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
            ServerLogged(&[]),
        ],
    },
    // 6. is_enrolled with nobody logged in: false by default; the last logged-in user's
    // enrollment as the device knows it under the alternative. With another user logged in it
    // is false in both (fixed by the contract).
    Case {
        name: "signed out, the alternative reports the last user's enrollment",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": true}"#)),
            Ask(r#"{"op": "authenticate", "username": "bob", "password": "bob-password"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(LOG_IN_ALICE, OK),
            Ask(r#"{"op": "reset"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "signed out, the default reports not enrolled",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
            Ask(LOG_IN_ALICE, OK),
            Ask(IS_ENROLLED, ENROLLED),
        ],
    },
    // 7. Token errors other than invalid_grant and invalid_client (here invalid_request, for an
    // empty username): 10000 by default, 10001 under the alternative.
    Case {
        name: "the token endpoint's invalid_request is a configuration error to the alternative",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "", "password": "x"}"#,
                Want::Err(10001, "CONFIGURATION_ERROR"),
            ),
            Ask(LOG_IN_ALICE, OK),
        ],
    },
    Case {
        name: "the token endpoint's invalid_request is a general error to the default",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "", "password": "x"}"#,
                Want::Err(10000, "GENERAL_ERROR"),
            ),
            Ask(LOG_IN_ALICE, OK),
        ],
    },
    // 9. configure: the default makes no call, the alternative probes the base URL (and
    // answers {} whatever it finds, also with no server there).
    Case {
        name: "configure: the alternative probes the server",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            ServerLoggedAt("/", 1),
            Ask(
                r#"{"op": "configure", "server_url": "http://127.0.0.1:9", "app_client_id": "mobauth-app"}"#,
                OK,
            ),
        ],
    },
    Case {
        name: "configure: the default makes no call",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[Ask(CONFIGURE, OK), ServerLoggedAt("/", 0)],
    },
    // 10. authenticate and enroll before any configure: 10001 by default, 9001 under the
    // alternative; handle_otp's 10001 is fixed (section 9) and the same in both.
    Case {
        name: "unconfigured, the alternative has no server to reach",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Ask(LOG_IN_ALICE, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(ENROLL, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(r#"{"op": "handle_otp", "otp": "x"}"#, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    Case {
        name: "unconfigured, the default is a configuration error",
        readings: DEFAULT,
        server: None,
        acts: &[
            Ask(LOG_IN_ALICE, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(ENROLL, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(r#"{"op": "handle_otp", "otp": "x"}"#, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    // 11. A request right after a decision whose answer the server holds: the alternative answers
    // a state at once, before close_auth_otp, and holds anything else (here a second accept,
    // then 8053) until the decision lands; the default answers both after handle_otp's reply.
    Case {
        name: "the alternative answers a state while the decision is in flight",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            SlowAnswers(1500),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "accept",
                ACCEPTED,
                STATE,
                Want::Ok(r#"{"authenticated": true, "enrolled": true}"#),
                true,
            ),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "deny",
                Want::Ok(r#"{"status": "denied"}"#),
                r#"{"op": "accept"}"#,
                NOT_IN_PROGRESS,
                false,
            ),
        ],
    },
    Case {
        name: "the default finishes the decision before the next request",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            SlowAnswers(1500),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "accept",
                ACCEPTED,
                STATE,
                Want::Ok(r#"{"authenticated": true, "enrolled": true}"#),
                false,
            ),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "deny",
                Want::Ok(r#"{"status": "denied"}"#),
                r#"{"op": "accept"}"#,
                NOT_IN_PROGRESS,
                false,
            ),
        ],
    },
    // 12. A second handle_otp while one shows: the default answers 8056 before its local
    // checks, the alternative after them (a malformed OTP is 10015 then); the showing request
    // goes on in both.
    Case {
        name: "a second handle_otp: the alternative checks the OTP before 8056",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            Ask(r#"{"op": "handle_otp", "otp": "AQ=="}"#, Want::Err(10015, "INVALID_REQUEST")),
            Ask(HANDLE_OTP, ALREADY_IN_PROGRESS),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "a second handle_otp: the default answers 8056 first",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            Ask(r#"{"op": "handle_otp", "otp": "AQ=="}"#, ALREADY_IN_PROGRESS),
            Ask(HANDLE_OTP, ALREADY_IN_PROGRESS),
            Decides("accept", ACCEPTED),
        ],
    },
    // 13. A reset while a request shows: the alternative's reply comes first, the default's after
    // close_auth_otp and the 9006.
    Case {
        name: "a reset while showing: the alternative replies first",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            ResetsWhileShowing(true),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
        ],
    },
    Case {
        name: "a reset while showing: the default replies last",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            ResetsWhileShowing(false),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
        ],
    },
    // 14. A request whose id is not an integer: 8009 with "id": null by default, with the id as
    // found under the alternative; a line that is not JSON is null in both (section 9).
    Case {
        name: "a malformed id: the alternative echoes it",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Raw(r#"{"id": "seven", "op": "state"}"#, MALFORMED, r#""seven""#),
            Raw(r#"{"id": 2.5, "op": "state"}"#, MALFORMED, "2.5"),
            Raw(r#"{"op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 3, "op": "state""#, MALFORMED, "null"),
        ],
    },
    Case {
        name: "a malformed id: the default answers null",
        readings: DEFAULT,
        server: None,
        acts: &[
            Raw(r#"{"id": "seven", "op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 2.5, "op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 3, "op": "state""#, MALFORMED, "null"),
        ],
    },
    // 15. A 4xx without an error body of any API: 10000 by default, 10001 under the alternative.
    Case {
        name: "a plain 404: a configuration error to the alternative",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            PlainServer,
            Ask(r#"{"op": "configure", "server_url": "$PLAIN", "app_client_id": "mobauth-app"}"#, OK),
            Ask(LOG_IN_ALICE, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    Case {
        name: "a plain 404: a general error to the default",
        readings: DEFAULT,
        server: None,
        acts: &[
            PlainServer,
            Ask(r#"{"op": "configure", "server_url": "$PLAIN", "app_client_id": "mobauth-app"}"#, OK),
            Ask(LOG_IN_ALICE, Want::Err(10000, "GENERAL_ERROR")),
        ],
    },
];

#[test]
fn the_reference_driver_takes_each_alternative_reading_and_its_default() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the mock servers");
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            check(&runtime, case).err().map(|e| format!("{:?} {}: {e}", case.readings, case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// A reference driver process and what it wrote.
struct DriverProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    next_id: i64,
}

impl DriverProcess {
    fn start(readings: Readings) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mobauth"));
        command.arg("device-driver");
        if readings == Readings::Alternative {
            command.arg("--alternative-readings");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the reference driver starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let stdin = child.stdin.take();
        Self { child, stdin, lines, stderr: stderr_rx, next_id: 1 }
    }

    fn write(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("the driver's input is closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write to the driver: {e}"))
    }

    /// Sends `request` (an object without id) and returns its id.
    fn send(&mut self, mut request: Value) -> Result<i64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let Some(fields) = request.as_object_mut() else {
            return Err(format!("a request is a JSON object: {request}"));
        };
        fields.insert("id".into(), json!(id));
        self.write(&request.to_string())?;
        Ok(id)
    }

    /// The next line the driver writes, which must come.
    fn next(&self, waiting_for: &str) -> Result<Value, String> {
        let line = self
            .lines
            .recv_timeout(LINE_WAIT)
            .map_err(|e| format!("no line while waiting for {waiting_for}: {e:?}"))?;
        serde_json::from_str(&line)
            .map_err(|e| format!("not JSON while waiting for {waiting_for}: {line:?}: {e}"))
    }

    /// The reply to `id`, which must be the next line.
    fn reply(&self, id: Option<i64>, what: &str) -> Result<Value, String> {
        let line = self.next(&format!("the reply to {what}"))?;
        if line.get("event").is_some() || line.get("id") != Some(&json!(id)) {
            return Err(format!("expected the reply to {what} (id {id:?}), got {line}"));
        }
        Ok(line)
    }

    /// The event `name`, which must be the next line.
    fn event(&self, name: &str) -> Result<Value, String> {
        let line = self.next(name)?;
        if line.get("event") != Some(&json!(name)) {
            return Err(format!("expected the event {name}, got {line}"));
        }
        Ok(line)
    }

    /// Closes the input: the driver must write nothing more and exit with status 0.
    fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let unasked = match self.lines.recv_timeout(LINE_WAIT) {
            Err(RecvTimeoutError::Disconnected) => None,
            Ok(line) => Some(format!("the driver wrote more than the case asked for: {line}")),
            Err(RecvTimeoutError::Timeout) => {
                Some("the driver did not close its output at the end of its input".to_string())
            }
        };
        if let Some(why) = unasked {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(why);
        }
        let status = self.child.wait().map_err(|e| format!("cannot wait for the driver: {e}"))?;
        if !status.success() {
            let stderr = self.stderr.recv_timeout(LINE_WAIT).unwrap_or_default();
            return Err(format!("the driver exited with {status}; stderr:\n{stderr}"));
        }
        Ok(())
    }
}

/// A case's world: its server, its driver and what the portal started.
struct World<'r> {
    runtime: &'r tokio::runtime::Runtime,
    server: Option<mock_server::RunningServer>,
    driver: DriverProcess,
    readings: Readings,
    vars: Vec<(&'static str, String)>,
    /// The id of the `handle_otp` whose request shows.
    showing: Option<i64>,
}

impl World<'_> {
    fn server(&self) -> Result<&mock_server::RunningServer, String> {
        self.server.as_ref().ok_or_else(|| "the case has no server".to_string())
    }

    fn http(&self) -> Result<Http, String> {
        Ok(Http::new(&self.server()?.url(), Duration::from_secs(10), Transcript::default()))
    }

    fn fill(&self, template: &str) -> String {
        self.vars.iter().fold(template.to_string(), |text, (name, value)| text.replace(name, value))
    }

    fn ask(&mut self, template: &str) -> Result<Value, String> {
        let text = self.fill(template);
        let request: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the case's request {template} is not JSON: {e}"))?;
        let id = self.driver.send(request)?;
        self.driver.reply(Some(id), template)
    }

    /// The reply must be `want`; any error's text must be the driver's own kind of text.
    fn expect(&self, reply: &Value, want: &Want, what: &str) -> Result<(), String> {
        let matches = match want {
            Want::Ok(fields) => {
                let fields: Value =
                    serde_json::from_str(fields).map_err(|e| format!("bad case JSON {fields}: {e}"))?;
                reply.get("ok") == Some(&json!(true))
                    && fields.as_object().is_some_and(|fields| {
                        fields.iter().all(|(name, value)| reply.get(name) == Some(value))
                    })
            }
            Want::Err(code, kind) => {
                reply.get("ok") == Some(&json!(false))
                    && reply.get("error_code") == Some(&json!(code))
                    && reply.get("error_type") == Some(&json!(kind))
            }
        };
        if !matches {
            return Err(format!("{what}: expected {want:?}, got {reply}"));
        }
        if let Some(message) = reply.get("error_message") {
            let text =
                message.as_str().ok_or_else(|| format!("{what}: error_message is not text: {reply}"))?;
            let alternative = text.starts_with(ALTERNATIVE_TEXT);
            if alternative != (self.readings == Readings::Alternative) {
                return Err(format!(
                    "{what}: the error's text {text:?} is not the {:?} driver's",
                    self.readings
                ));
            }
        }
        Ok(())
    }

    fn act(&mut self, act: &Act) -> Result<(), String> {
        match act {
            Act::Ask(template, want) => {
                let reply = self.ask(template)?;
                self.expect(&reply, want, template)
            }
            Act::Garbage(line, want) => {
                self.driver.write(line)?;
                let reply = self.driver.reply(None, line)?;
                self.expect(&reply, want, line)
            }
            Act::Shows(template) => {
                let request: Value = serde_json::from_str(&self.fill(template))
                    .map_err(|e| format!("the case's request {template} is not JSON: {e}"))?;
                let id = self.driver.send(request)?;
                self.driver.event("open_auth_otp")?;
                self.showing = Some(id);
                Ok(())
            }
            Act::Decides(op, want) => {
                let showing = self.showing.take().ok_or("the case decides with no request showing")?;
                let id = self.driver.send(json!({"op": op}))?;
                let reply = self.driver.reply(Some(id), op)?;
                self.expect(&reply, &OK, op)?;
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, want, "handle_otp after the decision")
            }
            Act::StartsOtp => self.start_otp(),
            Act::AdminDeletes => {
                let state = self.ask(STATE)?;
                let device_id = state
                    .get("device_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("no device_id: {state}"))?;
                let path = format!("/_admin/v1/users/alice/enrollments/{device_id}");
                let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
                let (status, body) = self
                    .runtime
                    .block_on(http.send(reqwest::Method::DELETE, &path, Auth::Bearer(&token), Payload::Empty))
                    .map_err(|e| format!("the admin's deletion: {e}"))?;
                if status == 204 {
                    Ok(())
                } else {
                    Err(format!("the admin's deletion answered {status}: {body}"))
                }
            }
            Act::OtherDeviceEnrolls => {
                let mut other = peers::device::SimulatedDevice::new(
                    "other",
                    self.http()?,
                    "mobauth-app",
                    protocol::rng::seeded(99),
                );
                self.runtime
                    .block_on(async {
                        other.log_in("alice", "alice-password").await?;
                        other.enroll().await.map(|_| ())
                    })
                    .map_err(|e| format!("the other device's enrollment: {e}"))
            }
            Act::ServerLoggedAt(path, want) => {
                let got =
                    self.server_events()?.iter().filter(|e| e.kind == "request" && e.path == *path).count();
                if got == *want {
                    Ok(())
                } else {
                    Err(format!("the server logged {got} requests to {path}, expected {want}"))
                }
            }
            Act::Raw(line, want, id) => {
                self.driver.write(line)?;
                let reply = self.driver.next(line)?;
                let id: Value = serde_json::from_str(id).map_err(|e| format!("bad case JSON {id}: {e}"))?;
                if reply.get("event").is_some() || reply.get("id") != Some(&id) {
                    return Err(format!("expected the reply to {line} with id {id}, got {reply}"));
                }
                self.expect(&reply, want, line)
            }
            Act::SlowAnswers(ms) => {
                let faults = json!([{"method": "POST", "path_prefix": "/mobile-auth/v1/otp/requests/", "latency_ms": ms}]);
                let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
                let (status, body) = self
                    .runtime
                    .block_on(http.send(
                        reqwest::Method::PUT,
                        "/_admin/v1/faults",
                        Auth::Bearer(&token),
                        Payload::Json(&faults),
                    ))
                    .map_err(|e| format!("the faults: {e}"))?;
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(format!("PUT faults answered {status}: {body}"))
                }
            }
            Act::DecidesThenAsks(op, want, request, request_want, request_first) => {
                let showing = self.showing.take().ok_or("the case decides with no request showing")?;
                let id = self.driver.send(json!({"op": op}))?;
                let reply = self.driver.reply(Some(id), op)?;
                self.expect(&reply, &OK, op)?;
                let request: Value = serde_json::from_str(&self.fill(request))
                    .map_err(|e| format!("the case's request {request} is not JSON: {e}"))?;
                let asked = self.driver.send(request.clone())?;
                let what = request.to_string();
                if *request_first {
                    let reply = self.driver.reply(Some(asked), &what)?;
                    self.expect(&reply, request_want, &what)?;
                }
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, want, "handle_otp after the decision")?;
                if !*request_first {
                    let reply = self.driver.reply(Some(asked), &what)?;
                    self.expect(&reply, request_want, &what)?;
                }
                Ok(())
            }
            Act::ResetsWhileShowing(reply_first) => {
                let showing = self.showing.take().ok_or("the case resets with no request showing")?;
                let id = self.driver.send(json!({"op": "reset"}))?;
                let reset = |world: &Self| -> Result<(), String> {
                    let reply = world.driver.reply(Some(id), "reset")?;
                    world.expect(&reply, &Want::Ok("{}"), "reset")?;
                    reply
                        .get("device_id")
                        .and_then(Value::as_str)
                        .map(drop)
                        .ok_or(format!("no device_id: {reply}"))
                };
                if *reply_first {
                    reset(self)?;
                }
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, &Want::Err(9006, "ACTION_CANCELED"), "handle_otp at the reset")?;
                if !*reply_first {
                    reset(self)?;
                }
                Ok(())
            }
            Act::PlainServer => {
                let url = plain_404_server()?;
                self.vars.push(("$PLAIN", url));
                Ok(())
            }
            Act::ServerLogged(want) => {
                let got: Vec<(String, String, u16)> = self
                    .server_events()?
                    .iter()
                    .filter(|e| e.kind == "request" && e.path.starts_with("/mobile-auth/"))
                    .map(|e| (e.method.clone(), e.path.clone(), e.status))
                    .collect();
                let want: Vec<(String, String, u16)> =
                    want.iter().map(|(m, p, s)| ((*m).to_string(), (*p).to_string(), *s)).collect();
                if got == want {
                    Ok(())
                } else {
                    Err(format!("the server logged {got:?}, expected {want:?}"))
                }
            }
        }
    }

    /// Every event the server logged so far.
    fn server_events(&self) -> Result<Vec<protocol::wire::ServerEvent>, String> {
        let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
        let (_, events): (_, protocol::wire::EventsResponse) = self
            .runtime
            .block_on(http.call(
                reqwest::Method::GET,
                "/_admin/v1/events?since=0",
                Auth::Bearer(&token),
                Payload::Empty,
                &[200],
            ))
            .map_err(|e| format!("the server's events: {e}"))?;
        Ok(events.events)
    }

    /// The portal starts an OTP; the images of its QR code are made from the OTP.
    fn start_otp(&mut self) -> Result<(), String> {
        let http = self.http()?;
        let form =
            [("type", "qr-code"), ("callback_uri", "http://127.0.0.1:9/callback"), ("message", "Log in?")];
        let (_, started): (_, protocol::wire::AuthenticateUserResponse) = self
            .runtime
            .block_on(http.call(
                reqwest::Method::POST,
                protocol::wire::paths::AUTHENTICATE_USER,
                Auth::Basic("portal", "portal-secret"),
                Payload::Form(&form),
                &[200],
            ))
            .map_err(|e| format!("the portal's OTP: {e}"))?;
        let otp = started.otp;
        let images = qr_images(&otp);
        self.vars.retain(|(name, _)| *name == "$SERVER");
        self.vars.push(("$OTP", otp));
        for (name, bytes) in images {
            self.vars.push((name, STANDARD.encode(bytes)));
        }
        Ok(())
    }
}

/// The QR code of `otp` as the reference portal renders it, in three forms: light modules
/// transparent (alpha 0, colour black), with 5 % salt-and-pepper noise that only a clean-up
/// reads, and as a JPEG.
fn qr_images(otp: &str) -> [(&'static str, Vec<u8>); 3] {
    use qr::{self, RenderOptions, camera};
    let gray = qr::render_luma(otp, &RenderOptions::default()).expect("an OTP fits a QR code");
    let transparent = image::RgbaImage::from_fn(gray.width(), gray.height(), |x, y| {
        let dark = gray.get_pixel(x, y).0[0] < 128;
        image::Rgba(if dark { [0, 0, 0, 255] } else { [0, 0, 0, 0] })
    });
    let transparent =
        camera::Sample::Png(image::DynamicImage::ImageRgba8(transparent)).encode().expect("PNG encodes");
    // The noise must defeat a straight decode and not the camera pipeline, or the case shows
    // nothing: the first seed that does so.
    let noisy = (0..16)
        .map(|seed| {
            let noisy = camera::salt_and_pepper(&gray, 0.05, &mut protocol::rng::seeded(seed));
            camera::Sample::Png(image::DynamicImage::ImageLuma8(noisy)).encode().expect("PNG encodes")
        })
        .find(|png| qr::inspect(png).is_ok_and(|info| info.payload == otp && info.strategy != "plain"))
        .expect("some noise defeats a straight decode but not the pipeline");
    let jpeg = camera::Sample::Jpeg(image::DynamicImage::ImageLuma8(gray.clone()), 90)
        .encode()
        .expect("JPEG encodes");
    [("$QR_TRANSPARENT", transparent), ("$QR_NOISY", noisy), ("$QR_JPEG", jpeg)]
}

/// A server on loopback that answers every request 404 with a plain-text body (no error body
/// of any API), for as long as the test runs; its base URL.
fn plain_404_server() -> Result<String, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("a listener: {e}"))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| format!("its address: {e}"))?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The whole request first (headers, then Content-Length bytes of body), so that
            // closing the connection cannot reset it before the client reads the answer.
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            let complete = |request: &[u8]| {
                let text = String::from_utf8_lossy(request);
                let Some(end) = text.find("\r\n\r\n") else { return false };
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                request.len() >= end + 4 + length
            };
            while !complete(&request) {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let body = "no such page\n";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    Ok(url)
}

/// Runs `case` against a fresh driver (and server).
fn check(runtime: &tokio::runtime::Runtime, case: &Case) -> Result<(), String> {
    let server = case.server.map(|fixture| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/servers/{fixture}.toml"));
        let file = mock_server::ServerFile::load(&path).expect("the server fixture loads");
        runtime
            .block_on(mock_server::serve(mock_server::ServeOptions::new(([127, 0, 0, 1], 0).into(), file)))
            .expect("the mock server starts")
    });
    let vars = server.iter().map(|s| ("$SERVER", s.url())).collect();
    let mut world = World {
        runtime,
        server,
        driver: DriverProcess::start(case.readings),
        readings: case.readings,
        vars,
        showing: None,
    };
    let mut outcome = Ok(());
    for (n, act) in case.acts.iter().enumerate() {
        if let Err(e) = world.act(act) {
            outcome = Err(format!("step {} ({act:?}): {e}", n + 1));
            break;
        }
    }
    let World { server, driver, .. } = world;
    let finished = driver.finish();
    if let Some(server) = server {
        runtime.block_on(server.shutdown());
    }
    outcome.and(finished)
}
