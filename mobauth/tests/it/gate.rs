//! The gate as a CI job sees it: `mobauth run` and `mobauth report` run as real processes on the
//! fixture features of `tests/fixtures/gate`, and each case's exit code.
//!
//! 0 conformant; 1 a MUST failed or a result was unexpected (including an expired or stale
//! expectation); 2 a usage or configuration error; 3 the target cannot be reached.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{Outcome, mobauth};

const FEATURES: &str = "tests/fixtures/gate";

/// A fresh folder for one case's files, under Cargo's per-target scratch folder (target/tmp), not
/// the system's /tmp.
fn scratch(case: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-gate-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// `mobauth run` on the fixture, with `--tags TAGS`, writing into a scratch folder.
fn run(case: &str, tags: &str, extra: &[&str]) -> (Outcome, PathBuf) {
    let out = scratch(case);
    let out_arg = out.join("reports");
    let out_text = out_arg.to_string_lossy().into_owned();
    let mut args =
        vec!["run", "--features", FEATURES, "--tags", tags, "--progress", "off", "--out", &out_text];
    args.extend_from_slice(extra);
    (mobauth(&args), out)
}

fn expectations(dir: &Path, text: &str) -> String {
    let path = dir.join("expectations.toml");
    std::fs::write(&path, text).expect("the expectations file is written");
    path.to_string_lossy().into_owned()
}

fn entry(pattern: &str, expires: &str) -> String {
    format!("[[expected_failure]]\n{pattern}\nreason = \"known\"\nowner = \"qa\"\nexpires = {expires}\n")
}

#[test]
fn conformant_exits_0_and_writes_every_report() {
    let (outcome, dir) = run("pass", "@pass", &[]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    assert!(outcome.stdout.contains("Scenarios:    2 passed\n"), "{outcome:?}");
    assert!(outcome.stdout.contains("\nResult: conformant (exit 0)\n"), "{outcome:?}");
    for file in ["report.json", "junit.xml", "report.html", "summary.md", "cucumber.json"] {
        assert!(dir.join("reports").join(file).is_file(), "{file} is missing");
    }
}

#[test]
fn a_failed_must_exits_1() {
    let (outcome, _) = run("must", "@pass or @fail", &[]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert!(
        outcome.stdout.contains(
            "  - MUST scenario failed: tests/fixtures/gate/gate.feature:19 A MUST scenario that fails\n"
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_failed_should_exits_0_and_1_when_strict() {
    let (outcome, _) = run("should", "@pass or @fail-should", &[]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    assert!(outcome.stdout.contains("Scenarios:    1 failed, 2 passed\n"), "{outcome:?}");
    let (strict, _) = run("strict", "@pass or @fail-should", &["--strict"]);
    assert_eq!(strict.code, Some(1), "{strict:?}");
    assert!(
        strict.stdout.contains(
            "SHOULD scenario failed: tests/fixtures/gate/gate.feature:25 A SHOULD scenario that fails"
        ),
        "{strict:?}"
    );
}

#[test]
fn a_listed_failure_exits_0() {
    let dir = scratch("listed");
    let file = expectations(&dir, &entry("requirement = \"AUTH-008\"", "2999-12-31"));
    let (outcome, _) = run("listed-run", "@pass or @fail", &["--expectations", &file]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    assert!(outcome.stdout.contains("Scenarios:    1 expected failure, 2 passed\n"), "{outcome:?}");
}

#[test]
fn an_unexpected_pass_exits_1() {
    let dir = scratch("xpass");
    let file = expectations(&dir, &entry("scenario = \"A logged-in user enrolls*\"", "2999-12-31"));
    let (outcome, _) = run("xpass-run", "@pass", &["--expectations", &file]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert!(
        outcome.stdout.contains(
            "  - unexpected pass: tests/fixtures/gate/gate.feature:7 A logged-in user enrolls a device (listed as a known failure)\n"
        ),
        "{outcome:?}"
    );
}

#[test]
fn an_expired_expectation_exits_1() {
    let dir = scratch("expired");
    let file = expectations(&dir, &entry("requirement = \"AUTH-008\"", "2000-01-01"));
    let (outcome, _) = run("expired-run", "@pass or @fail", &["--expectations", &file]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert!(
        outcome.stdout.contains("  - expectation requirement \"AUTH-008\": has expired\n"),
        "{outcome:?}"
    );
    // Its failure counts again.
    assert!(
        outcome.stdout.contains("  - MUST scenario failed: tests/fixtures/gate/gate.feature:19"),
        "{outcome:?}"
    );
}

#[test]
fn a_stale_expectation_exits_1() {
    let dir = scratch("stale");
    let file = expectations(&dir, &entry("requirement = \"ENR-099\"", "2999-12-31"));
    let (outcome, _) = run("stale-run", "@pass", &["--expectations", &file]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("  - expectation requirement \"ENR-099\": matches no scenario of the suite\n"),
        "{outcome:?}"
    );
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let dir = scratch("usage");
    let bad_toml = expectations(
        &dir,
        "[[expected_failure]]\nrequirement = \"AUTH-008\"\nowner = \"qa\"\nexpires = 2999-12-31\n",
    );
    let missing = dir.join("nowhere").to_string_lossy().into_owned();
    let bad_target = dir.join("target.toml");
    std::fs::write(&bad_target, "base_url = \"http://127.0.0.1:1\"\nport = 8080\n").expect("a target file");
    let bad_target = bad_target.to_string_lossy().into_owned();
    let a_file = dir.join("a-file");
    std::fs::write(&a_file, "not a folder").expect("a file");
    let a_file = a_file.to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 14] = [
        (&["run", "--features", FEATURES, "--target", &missing], "cannot read the target file"),
        (&["run", "--features", FEATURES, "--target", &bad_target], "unknown field `port`"),
        (&["run", "--features", FEATURES, "--server", "ftp://x"], "must start with http:// or https://"),
        (
            &["run", "--features", FEATURES, "--server", "http://x", "--target", &bad_target],
            "cannot be used with",
        ),
        (&["run", "--shard", "3/2"], "a shard is K/N with 1 <= K <= N"),
        (&["run", "--format", "pdf"], "invalid value 'pdf'"),
        (&["run", "--features", FEATURES, "--expectations", &bad_toml], "entry 1: `reason` is missing"),
        (&["run", "--features", &missing], "cannot use the features at"),
        (&["run", "--features", FEATURES, "--tags", "@no-such-tag"], "no scenario to run"),
        (&["run", "--features", FEATURES, "--tags", "@pass and"], "is not valid"),
        (&["report", "diff", &missing, &missing], "cannot read"),
        (&["run", "--features", FEATURES, "--out", "-"], "\"-\" (standard output) is none"),
        (&["run", "--features", FEATURES, "--out", &a_file], "is a file"),
        (&["report", "merge", &missing, "--out", "-"], "\"-\" (standard output) is none"),
    ];
    for (args, message) in cases {
        let outcome = mobauth(args);
        assert_eq!(outcome.code, Some(2), "{args:?}: {outcome:?}");
        assert!(outcome.stderr.contains(message), "{args:?}: {outcome:?}");
    }
}

/// A reader that goes away is no failure: `mobauth run | head -1` gets the run's own exit code
/// (here 0, a conformant run), no panic, and its reports are written.
#[test]
fn a_closed_pipe_on_stdout_is_no_panic() {
    let out = scratch("closed-pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["run", "--features", FEATURES, "--tags", "@pass", "--progress", "off", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mobauth starts");
    // The reader goes away before anything is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("mobauth ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("report.json").is_file(), "the reports are written");
}

/// Logs that go to a file or a pipe carry no colour codes.
#[test]
fn a_log_that_is_not_a_terminal_has_no_colour() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["serve", "--addr", "127.0.0.1:0", "--config", "../fixtures/servers/default.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mobauth serve starts");
    let mut listening = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut listening)
        .expect("it says where it listens");
    child.kill().expect("the server is stopped");
    let output = child.wait_with_output().expect("the server ends");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("mock Token Server listening"), "the log has its lines: {log}");
    assert!(!log.contains('\u{1b}'), "no escape codes: {log:?}");
}

#[test]
fn an_unreachable_target_exits_3() {
    // A port that was just free: nothing listens there.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let url = format!("http://127.0.0.1:{port}");
    let (outcome, _) = run("unreachable", "@pass", &["--server", &url]);
    assert_eq!(outcome.code, Some(3), "{outcome:?}");
    assert!(outcome.stderr.contains(&format!("the target {url} cannot be reached")), "{outcome:?}");
}

#[test]
fn shards_merge_and_diff_as_processes() {
    let (first, one) = run("shard-1", "@pass or @fail", &["--shard", "1/2"]);
    let (second, two) = run("shard-2", "@pass or @fail", &["--shard", "2/2"]);
    // Shard 1 has the scenarios at lines 7 and 19 (the failing one), shard 2 the one at 13.
    assert_eq!((first.code, second.code), (Some(1), Some(0)), "{first:?}\n{second:?}");
    let merged = scratch("merged").join("reports");
    let (one, two) = (one.join("reports"), two.join("reports"));
    let merged_arg = merged.to_string_lossy().into_owned();
    let outcome = mobauth(&[
        "report",
        "merge",
        &one.to_string_lossy(),
        &two.join("report.json").to_string_lossy(),
        "--out",
        &merged_arg,
    ]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert!(outcome.stdout.contains("Scenarios:    1 failed, 2 passed\n"), "{outcome:?}");

    let (passing, passing_dir) = run("diff-old", "@pass", &[]);
    assert_eq!(passing.code, Some(0), "{passing:?}");
    let old = passing_dir.join("reports").to_string_lossy().into_owned();
    let diff = mobauth(&["report", "diff", &old, &merged_arg]);
    assert_eq!(diff.code, Some(1), "{diff:?}");
    assert!(diff.stdout.starts_with("2 regressions, 0 fixes, 0 other changes\n"), "{diff:?}");
    assert!(diff.stdout.contains("  requirement AUTH-008 (MUST): not run -> failed\n"), "{diff:?}");
    let back = mobauth(&["report", "diff", &merged_arg, &old]);
    assert_eq!(back.code, Some(0), "{back:?}");
    assert!(back.stdout.starts_with("0 regressions, 0 fixes, 2 other changes\n"), "{back:?}");
}
