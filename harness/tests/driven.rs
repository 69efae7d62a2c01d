//! The suite with an SDK's device standing in for the scenarios' devices (`mobauth run
//! --device-driver`): the whole suite through the reference driver (`mobauth device-driver`)
//! against the embedded server must be conformant, with the driver really playing the devices; and
//! a driver that writes garbage, exits, hangs or does not implement an operation fails (or is not
//! implemented for) the scenarios that use it, with a message saying what happened, while the run
//! goes on.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harness::report::{DeviceKind, Outcome, Report, ScenarioResult, Verdict};
use harness::runner::{self, RunOptions};

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

/// A driver script in a scratch folder, run with `sh`.
fn script(case: &str, body: &str) -> String {
    let dir = std::env::temp_dir().join(format!("mobauth-driven-{}-{case}", std::process::id()));
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
            Err(e) => assert_eq!(e.exit_code(), harness::report::EXIT_USAGE, "{case}: {e}"),
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
