//! The command line's everyday habits, as real processes: `mobauth list` selects as `run` does,
//! `run --dry-run` finds steps no definition matches and contacts nothing, `run --rerun-failed`
//! runs exactly what an earlier report failed, `--summary json` is one JSON line and nothing else,
//! and the completion scripts and manual pages come out valid for the tools that read them.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{mobauth, text};

const GATE: &str = "tests/fixtures/gate";

fn scratch(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-cli-{case}"));
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// The ids of a report's scenarios, and of those with a verdict that counts against the target.
fn ids(report: &Path) -> (Vec<String>, Vec<String>) {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).expect("report.json"))
            .expect("report.json is JSON");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let id = |s: &serde_json::Value| s["id"].as_str().expect("an id").to_string();
    let problems = scenarios
        .iter()
        .filter(|s| matches!(s["verdict"].as_str(), Some("failed" | "unexpected_pass" | "harness_error")))
        .map(id)
        .collect();
    (scenarios.iter().map(id).collect(), problems)
}

#[test]
fn list_selects_what_a_run_with_the_same_options_runs() {
    // (selection arguments), each listed and run: the same scenarios, in the same order.
    let cases: [&[&str]; 3] =
        [&["--tags", "@pass or @fail"], &["--tags", "@must", "--shard", "2/2"], &["--tags", "not @fail"]];
    for (i, selection) in cases.into_iter().enumerate() {
        let mut list = vec!["list", "--features", GATE, "--format", "json"];
        list.extend_from_slice(selection);
        let listed = mobauth(&list);
        assert_eq!(listed.code, Some(0), "{selection:?}: {listed:?}");
        let listed: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).expect("the list is JSON");
        let listed: Vec<String> =
            listed.iter().map(|s| s["id"].as_str().expect("an id").to_string()).collect();

        let out = scratch(&format!("list-{i}"));
        let mut run = vec!["run", "--features", GATE, "--progress", "off", "--format", "json"];
        let out_arg = text(&out);
        run.extend_from_slice(&["--out", &out_arg]);
        run.extend_from_slice(selection);
        let ran = mobauth(&run);
        assert!(matches!(ran.code, Some(0 | 1)), "{selection:?}: {ran:?}");
        assert_eq!(listed, ids(&out).0, "{selection:?}");
        assert!(!listed.is_empty(), "{selection:?} selects something");
    }
}

#[test]
fn list_shows_scenarios_requirements_and_tags() {
    // (what, the words a line of the list must start with)
    let cases = [
        (
            "scenarios",
            "tests/fixtures/gate/gate.feature:19 MUST AUTH-008 A MUST scenario that fails [@AUTH-008 @must @fail]",
        ),
        ("tags", "@must 3"),
        ("requirements", "AUTH-008 MUST 1 scenario"),
    ];
    for (what, words) in cases {
        let listed = mobauth(&["list", what, "--features", GATE]);
        assert_eq!(listed.code, Some(0), "{what}: {listed:?}");
        let words: Vec<&str> = words.split(' ').collect();
        let found = listed
            .stdout
            .lines()
            .any(|line| line.split_whitespace().take(words.len()).eq(words.iter().copied()));
        assert!(found, "{what}: no line starts with {words:?}: {listed:?}");
        assert!(listed.stderr.contains("4 of the suite's 4 scenarios selected"), "{what}: {listed:?}");
    }
    let none = mobauth(&["list", "--features", GATE, "--tags", "@nothing-has-this"]);
    assert_eq!(none.code, Some(2), "{none:?}");
    assert!(none.stderr.contains("no scenario has tags matching \"@nothing-has-this\""), "{none:?}");
}

#[test]
fn a_dry_run_names_the_steps_that_cannot_run_and_contacts_nothing() {
    let dir = scratch("dry-run");
    let features = dir.join("features");
    std::fs::create_dir_all(&features).expect("a features folder");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(GATE).join("gate.feature"),
        features.join("gate.feature"),
    )
    .expect("the gate fixture copies");
    std::fs::write(
        features.join("typo.feature"),
        "Feature: Typos\n\n  @must\n  Scenario: A step nobody defined\n    Given a device that flies\n",
    )
    .expect("a feature with an undefined step");
    let out = dir.join("reports");
    let (features_arg, out_arg) = (text(&features), text(&out));
    // Nothing listens on port 1: a dry run that contacted the server would say it cannot be reached.
    let server = ["--server", "http://127.0.0.1:1"];

    let clean =
        mobauth(&["run", "--dry-run", "--features", &features_arg, "--tags", "@pass", "--out", &out_arg]);
    assert_eq!(clean.code, Some(0), "{clean:?}");
    assert_eq!(clean.stdout.lines().count(), 2, "{clean:?}");
    let remote =
        [&["run", "--dry-run", "--features", &features_arg, "--out", &out_arg][..], &server[..]].concat();
    let typo = mobauth(&remote);
    assert_eq!(typo.code, Some(2), "{typo:?}");
    assert!(
        typo.stderr.contains("typo.feature:5: \"Given a device that flies\" matches no step definition"),
        "{typo:?}"
    );
    assert!(
        typo.stderr
            .contains("5 of the suite's 5 scenarios would run against the server at http://127.0.0.1:1"),
        "{typo:?}"
    );
    assert!(!out.exists(), "a dry run writes no report");
}

#[test]
fn rerun_failed_runs_what_the_report_failed_and_the_json_summary_says_so() {
    let dir = scratch("rerun");
    let (first, second) = (dir.join("first"), dir.join("second"));
    let (first_arg, second_arg) = (text(&first), text(&second));
    let ran = mobauth(&["run", "--features", GATE, "--progress", "off", "--out", &first_arg]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    let (_, failed) = ids(&first);
    // A failed SHOULD scenario is failed too (it only does not fail the gate): both run again.
    assert_eq!(
        failed,
        ["tests/fixtures/gate/gate.feature:19", "tests/fixtures/gate/gate.feature:25"],
        "the fixture fails one MUST and one SHOULD scenario"
    );

    let again = mobauth(&[
        "run",
        "--features",
        GATE,
        "--progress",
        "off",
        "--rerun-failed",
        &first_arg,
        "--out",
        &second_arg,
        "--summary",
        "json",
    ]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert_eq!(ids(&second).0, failed, "only the failed scenarios run again");
    // One line of JSON and nothing else on standard output.
    assert_eq!(again.stdout.lines().count(), 1, "{again:?}");
    let summary: serde_json::Value = serde_json::from_str(&again.stdout).expect("the summary is JSON");
    assert_eq!(summary["exit_code"], 1, "{summary}");
    assert_eq!(summary["conformant"], false, "{summary}");
    assert_eq!(summary["scenarios"]["failed"], 2, "{summary}");
    assert_eq!(summary["scenarios"]["passed"], 0, "{summary}");
    assert_eq!(summary["problems"][0]["id"], failed[0], "{summary}");
    assert_eq!(summary["problems"][0]["requirements"][0], "AUTH-008", "{summary}");
    assert!(
        summary["reports"].as_array().is_some_and(|files| files
            .iter()
            .any(|f| f.as_str() == Some(&text(&second.join("report.json"))))),
        "{summary}"
    );

    // A report without failures leaves nothing to re-run: exit 0, nothing written.
    let (clean, third) = (dir.join("clean"), dir.join("third"));
    let clean_arg = text(&clean);
    let passed =
        mobauth(&["run", "--features", GATE, "--tags", "@pass", "--progress", "off", "--out", &clean_arg]);
    assert_eq!(passed.code, Some(0), "{passed:?}");
    let nothing = mobauth(&["run", "--features", GATE, "--rerun-failed", &clean_arg, "--out", &text(&third)]);
    assert_eq!(nothing.code, Some(0), "{nothing:?}");
    assert!(nothing.stderr.contains("nothing to re-run"), "{nothing:?}");
    assert!(!third.exists(), "{nothing:?}");

    // A report of other features: refused, naming the scenario, rather than running something else.
    let elsewhere = mobauth(&["run", "--rerun-failed", &first_arg, "--out", &text(&third)]);
    assert_eq!(elsewhere.code, Some(2), "{elsewhere:?}");
    assert!(
        elsewhere
            .stderr
            .contains("names scenario tests/fixtures/gate/gate.feature:19 \"A MUST scenario that fails\""),
        "{elsewhere:?}"
    );
}

#[test]
fn completions_and_manual_pages_are_valid_for_their_readers() {
    // Every shell clap_complete writes for: a script naming the commands and their flags.
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = mobauth(&["completions", shell]);
        assert_eq!(script.code, Some(0), "{shell}: {script:?}");
        for word in ["list", "rerun-failed", "dry-run", "completions"] {
            assert!(script.stdout.contains(word), "{shell}: the script lacks {word:?}");
        }
    }
    // bash reads its script without a syntax error.
    let script = mobauth(&["completions", "bash"]);
    let dir = scratch("man");
    let bash_file = dir.join("mobauth.bash");
    std::fs::write(&bash_file, &script.stdout).expect("the script is written");
    let checked = Command::new("bash").arg("-n").arg(&bash_file).output().expect("bash runs");
    assert!(checked.status.success(), "bash -n: {}", String::from_utf8_lossy(&checked.stderr));

    // A page for the binary and each command; groff renders them without a warning.
    let pages = dir.join("man");
    let made = mobauth(&["man", "--out", &text(&pages)]);
    assert_eq!(made.code, Some(0), "{made:?}");
    for (page, words) in [
        ("mobauth.1", &["mobauth-run(1)", "mobauth-list(1)"][..]),
        ("mobauth-run.1", &["--rerun-failed", "--dry-run", "--summary"][..]),
        ("mobauth-list.1", &["requirements"][..]),
        ("mobauth-report-merge.1", &["--summary"][..]),
    ] {
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(pages.join(page))
            .output()
            .expect("groff runs (apt-get install groff-base)");
        assert!(rendered.status.success(), "{page}: groff failed");
        assert_eq!(String::from_utf8_lossy(&rendered.stderr), "", "{page}: groff warns");
        let roff = std::fs::read_to_string(pages.join(page)).expect("the page is written");
        for word in words {
            // roff escapes the hyphens of options (`\-\-dry\-run`).
            assert!(roff.replace("\\-", "-").contains(word), "{page} lacks {word:?}");
        }
    }
}
