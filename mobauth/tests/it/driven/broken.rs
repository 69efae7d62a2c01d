//! Broken drivers: one that writes garbage, crashes, stops answering, cannot greet or lacks an
//! operation fails (or is not implemented for) the scenarios that use it, with a message saying
//! what happened, while the run goes on.

use report::{ScenarioResult, Verdict};

use super::driven_run;

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

/// A driver that cannot greet is no usage error: the run goes on, and each scenario that starts
/// it fails with what the driver did, in its own words where it gave some (README, "Testing an
/// SDK").
#[test]
fn a_driver_that_cannot_greet_fails_its_scenarios_and_the_run_goes_on() {
    let cases = [
        (
            "silent-exit",
            "echo 'no SDK licence found' >&2\nexit 3\n",
            ["exit status: 3", "no SDK licence found"],
        ),
        ("garbage-hello", "read -r line; echo 'not JSON'\n", ["not of the driver protocol", "not JSON"]),
    ];
    for (case, body, words) in cases {
        let scenario = broken_run(&script(case, body));
        assert_failed_with(&scenario, &words);
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
