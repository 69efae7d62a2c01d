//! The conformance suite: every scenario of `features/` against the embedded mock Token Server,
//! each scenario on a fresh server of its own, the driver scenarios through the reference driver
//! (this package's own binary), exactly as `mobauth run` runs them. `MOBAUTH_SEED` sets the run
//! seed. To run a part of the suite with cucumber's own selection, use `mobauth run --tags EXPR`.

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
}

/// Whether a step sends a request itself: `<who> sends <METHOD> "<path>"...` (a raw request),
/// or `"phone" sends a request call with ...` and the like (a device's malformed calls).
fn sends_a_request(text: &str) -> bool {
    text.contains(" sends ")
}
