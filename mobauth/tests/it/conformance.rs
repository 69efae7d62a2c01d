//! The conformance suite: every scenario of `features/` against the embedded mock Token Server,
//! each scenario on a fresh server of its own, the driver scenarios through the reference driver
//! (this package's own binary), exactly as `mobauth run` runs them. `MOBAUTH_SEED` sets the run
//! seed. To run a part of the suite with cucumber's own selection, use `mobauth run --tags EXPR`.

use std::collections::BTreeSet;

use report::Outcome;
use runner::RunOptions;

#[test]
fn every_scenario_passes_against_the_embedded_mock_server() {
    let seed = match std::env::var("MOBAUTH_SEED") {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("MOBAUTH_SEED must be a u64, got {text:?}")),
        Err(_) => runner::DEFAULT_SEED,
    };
    let mut options = RunOptions::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../features"));
    options.seed = seed;
    options.driver_command = Some(format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth")));
    let report = runner::run(options).expect("the suite runs on the embedded default");
    let not_passed: Vec<String> = report
        .scenarios
        .iter()
        .filter(|scenario| scenario.outcome != Outcome::Passed)
        .map(|scenario| {
            let message = scenario.message.as_deref().unwrap_or_default();
            format!("{} {:?}: {}: {message}", scenario.id, scenario.outcome, scenario.name)
        })
        .collect();
    assert!(not_passed.is_empty(), "run seed {seed}: not every scenario passed:\n{}", not_passed.join("\n"));
    assert!(report.gate.conformant, "run seed {seed}: the gate says {:?}", report.gate.reasons);
    assert!(report.scenarios.len() > 400, "the suite ran only {} scenarios", report.scenarios.len());
    // A step that sends a request shows that exchange in the report, so a failing one would show
    // what was sent and what came (raw requests included).
    let silent: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|scenario| {
            scenario
                .steps
                .iter()
                .filter(|step| sends_a_request(&step.text) && step.exchanges.is_empty())
                .map(move |step| format!("{}: {} {}", scenario.id, step.keyword, step.text))
        })
        .collect();
    assert!(silent.is_empty(), "steps that sent a request but show no exchange:\n{}", silent.join("\n"));
    every_test_identity_is_unique(&report);
}

/// Each scenario, an outline's rows included, is a test of its own in every format: its name in
/// the report, its (classname, name) in JUnit, its element id in Cucumber JSON.
fn every_test_identity_is_unique(report: &report::Report) {
    let count = report.scenarios.len();
    let names: BTreeSet<(&str, &str)> =
        report.scenarios.iter().map(|s| (s.file.as_str(), s.name.as_str())).collect();
    let junit = report::write::junit(report);
    let cases: BTreeSet<(&str, &str)> = junit
        .split("<testcase name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let classname = rest.split_once("classname=\"")?.1.split_once('"')?.0;
            Some((classname, name))
        })
        .collect();
    let cucumber: serde_json::Value =
        serde_json::from_str(&report::write::cucumber_json(report)).expect("Cucumber JSON");
    let ids: BTreeSet<&str> = cucumber
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|feature| feature["elements"].as_array().into_iter().flatten())
        .filter_map(|element| element["id"].as_str())
        .collect();
    assert_eq!(
        (names.len(), cases.len(), ids.len()),
        (count, count, count),
        "distinct report names, JUnit cases, Cucumber ids"
    );
}

/// Whether a step sends a request itself: `<who> sends <METHOD> "<path>"...` (a raw request),
/// or `"phone" sends a request call with ...` and the like (a device's malformed calls).
fn sends_a_request(text: &str) -> bool {
    text.contains(" sends ")
}
