//! The suite with an SDK's device standing in for the scenarios' devices (`mobauth run
//! --device-driver`): the whole suite through the reference driver (`mobauth device-driver`)
//! against the embedded server must be conformant, with the driver really playing the devices; and
//! a driver that writes garbage, exits, hangs or does not implement an operation fails (or is not
//! implemented for) the scenarios that use it, with a message saying what happened, while the run
//! goes on.
//!
//! This module holds the runs of the whole suite through the reference driver; the broken drivers
//! are in `broken`, the reference driver's alternative readings in `readings`.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

mod broken;
mod hostile;
mod readings;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use report::{DeviceKind, Outcome, Report, ScenarioResult, Verdict};
use runner::{self, RunOptions};

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
