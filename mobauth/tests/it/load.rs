//! `mobauth load` as a process: on the embedded default and against `mobauth serve`, its
//! thresholds setting the exit code, the generator telling its own limit, sharded generators
//! whose merged report counts what one generator's does, and clear errors for bad input.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::path::Path;

use load::report::LoadReport;
use load::stats::Call;

use crate::process::{Outcome, mobauth, scratch, text};
use crate::server_by_url::ServeProcess;

fn report(dir: &Path) -> LoadReport {
    let json = std::fs::read_to_string(dir.join("load.json")).expect("load.json is written");
    serde_json::from_str(&json).expect("load.json is a load report")
}

/// `mobauth load` with a small plan (40 transactions in a second, 8 devices) and `args`.
fn load(dir: &Path, args: &[&str]) -> Outcome {
    let out = text(dir);
    let mut all =
        vec!["load", "--rate", "40/s", "--hold", "1s", "--devices", "8", "--progress", "off", "--out", &out];
    all.extend_from_slice(args);
    mobauth(&all)
}

#[test]
fn a_load_on_the_embedded_default_holds_its_thresholds_and_writes_its_reports() {
    let dir = scratch("load-embedded");
    let outcome = load(
        &dir,
        &["--threshold", "p99 < 10s", "--threshold", "errors < 1%", "--threshold", "answer.max < 10s"],
    );
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    let report = report(&dir);
    let m = &report.measured;
    assert_eq!((m.generator.asked, m.completed(), m.failed_transactions), (40, 40, 0), "{:#?}", m.failures);
    assert_eq!((report.target.as_str(), report.devices), ("embedded", 8));
    for call in [Call::Login, Call::Enroll] {
        assert_eq!(report.call(call).map(|l| l.count()), Some(8), "{call}: one a device");
    }
    for call in [Call::AuthenticateUser, Call::OtpRequest, Call::Answer, Call::Callback, Call::Status] {
        assert_eq!(report.call(call).map(|l| l.count()), Some(40), "{call}: one a transaction");
    }
    assert_eq!(report.checked.iter().map(|c| c.passed).collect::<Vec<_>>(), [true, true, true]);
    let started: u64 = m.timeline.iter().map(|s| s.started).sum();
    assert_eq!(started, 40, "the timeline counts every arrival");
    let html = std::fs::read_to_string(dir.join("load.html")).expect("load.html is written");
    assert_eq!(html.matches("<svg").count(), 2, "the throughput and latency charts");
    let summary = std::fs::read_to_string(dir.join("load-summary.md")).expect("the summary is written");
    assert!(summary.starts_with("# mobauth load: passed"), "{summary}");
    assert!(outcome.stdout.contains("| `errors < 1%` | 0.000% | passed |"), "{outcome:?}");
}

#[test]
fn a_threshold_that_does_not_hold_fails_the_run() {
    let dir = scratch("load-threshold");
    let outcome = load(&dir, &["--threshold", "errors < 1%", "--threshold", "p50 < 1us"]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    let report = report(&dir);
    let verdicts: Vec<_> = report.checked.iter().map(|c| (c.threshold.as_str(), c.passed)).collect();
    assert_eq!(verdicts, [("errors < 1%", true), ("p50 < 1us", false)]);
    assert!(outcome.stdout.starts_with("# mobauth load: FAILED"), "{outcome:?}");
    assert!(outcome.stdout.contains("| `p50 < 1us` |"), "{outcome:?}");
}

/// One device and one transaction in flight, for arrivals a millisecond apart: the generator
/// cannot keep the rate, says so, and counts the arrivals it did not start as failed.
#[test]
fn the_generator_tells_when_it_could_not_keep_the_rate() {
    let dir = scratch("load-limit");
    let out = text(&dir);
    let outcome = mobauth(&[
        "load",
        "--rate",
        "1000/s",
        "--hold",
        "200ms",
        "--devices",
        "1",
        "--max-in-flight",
        "1",
        "--progress",
        "off",
        "--out",
        &out,
        "--threshold",
        "errors < 1%",
    ]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    let m = report(&dir).measured;
    assert_eq!(m.generator.asked, 200);
    assert!(m.generator.dropped > 0, "{:?}", m.generator);
    assert_eq!(m.failed_transactions, m.generator.dropped, "{:#?}", m.failures);
    assert_eq!(m.completed() + m.failed_transactions, 200);
    assert!(outcome.stdout.contains("could not keep the asked rate"), "{outcome:?}");
    assert!(
        outcome.stdout.contains("were not started because the in-flight bound was reached"),
        "{outcome:?}"
    );
}

/// Two generators, each one shard of the plan, merge into the counts of one generator running it
/// all; a merge that lacks a shard or mixes plans is refused.
#[test]
fn sharded_generators_merge_into_the_counts_of_one() {
    let whole = scratch("load-whole");
    let shards = [scratch("load-shard-1"), scratch("load-shard-2")];
    assert_eq!(load(&whole, &["--threshold", "errors < 1%"]).code, Some(0));
    for (k, dir) in shards.iter().enumerate() {
        let shard = format!("{}/2", k + 1);
        let outcome = load(dir, &["--threshold", "errors < 1%", "--shard", &shard]);
        assert_eq!(outcome.code, Some(0), "{outcome:?}");
        assert_eq!(report(dir).measured.generator.asked, 20, "shard {shard} runs half the arrivals");
    }
    let merged = scratch("load-merged");
    let (one, two) = (text(&shards[0]), text(&shards[1]));
    let outcome = mobauth(&["load", "merge", &one, &two, "--out", &text(&merged)]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    let (whole, merged) = (report(&whole), report(&merged));
    let counts = |r: &LoadReport| {
        let m = &r.measured;
        let calls: Vec<_> = Call::ALL.iter().map(|c| r.call(*c).map_or(0, |l| l.count())).collect();
        let started: u64 = m.timeline.iter().map(|s| s.started).sum();
        (m.generator.asked, m.completed(), m.failed_transactions, calls, started, r.devices)
    };
    assert_eq!(counts(&merged), (40, 40, 0, vec![16, 16, 40, 40, 40, 40, 40], 40, 16));
    assert_eq!(counts(&merged).0..=counts(&merged).2, counts(&whole).0..=counts(&whole).2);
    let shown: Vec<_> = merged.shards.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["1/2", "2/2"]);

    let refused = mobauth(&["load", "merge", &one, &one, "--out", &text(&scratch("load-merge-twice"))]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("the shards do not make up the plan: got 1/2, 1/2"), "{refused:?}");
    let other = scratch("load-other-plan");
    assert_eq!(
        mobauth(&[
            "load",
            "--rate",
            "10",
            "--hold",
            "1s",
            "--devices",
            "2",
            "--shard",
            "2/2",
            "--progress",
            "off",
            "--out",
            &text(&other),
            "--threshold",
            "errors < 1%"
        ])
        .code,
        Some(0)
    );
    let refused =
        mobauth(&["load", "merge", &one, &text(&other), "--out", &text(&scratch("load-merge-plans"))]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("its plan differs"), "{refused:?}");
}

#[test]
fn a_load_against_mobauth_serve() {
    let server = ServeProcess::start("fixtures/servers/default.toml");
    let dir = scratch("load-serve");
    let outcome = load(&dir, &["--server", &server.url, "--threshold", "errors < 1%"]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    let report = report(&dir);
    assert_eq!(report.target, server.url);
    assert_eq!((report.measured.generator.asked, report.measured.completed()), (40, 40));

    // Without the test-control API the devices' users are the target file's, one each.
    let target = dir.join("target.toml");
    let file = format!(
        "base_url = \"{}\"\n[[users]]\nusername = \"alice\"\npassword = \"alice-password\"\n\n\
         [[users]]\nusername = \"bob\"\npassword = \"bob-password\"\n",
        server.url
    );
    std::fs::write(&target, file).expect("the target file is written");
    let listed = scratch("load-serve-listed");
    let args = ["load", "--target", &text(&target), "--rate", "20", "--hold", "500ms", "--progress", "off"];
    let outcome = mobauth(&[&args[..], &["--devices", "2", "--out", &text(&listed)]].concat());
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    let from_listed = self::report(&listed);
    assert_eq!((from_listed.devices, from_listed.measured.completed()), (2, 10));
    let outcome = mobauth(&[&args[..], &["--devices", "3", "--out", &text(&listed)]].concat());
    assert_eq!(outcome.code, Some(2), "{outcome:?}");
    assert!(outcome.stderr.contains("--devices 3 asks for a user each"), "{outcome:?}");
    assert!(outcome.stderr.contains("the target file lists 2"), "{outcome:?}");
}

/// (arguments, exit code, what standard error says)
#[test]
fn bad_input_gets_a_clear_error() {
    let dir = scratch("load-bad-input");
    let out = text(&dir);
    let cases: [(&[&str], i32, &str); 9] = [
        (&["--rate", "fast"], 2, "rate \"fast\": not a number of arrivals"),
        (&["--rate", "5/day"], 2, "the unit is /s, /min or /h"),
        (&["--ramp-up", "soon"], 2, "duration \"soon\""),
        (&["--threshold", "p99 250ms"], 2, "no comparison"),
        (&["--shard", "3/2"], 2, "not K/N"),
        (&["--devices", "0"], 2, "--devices is between 1 and"),
        (&["--out", "-"], 2, "\"-\" (standard output) is none"),
        (&["--server", "http://127.0.0.1:1"], 3, "127.0.0.1:1"),
        (&["--target", "no-such-target.toml"], 2, "no-such-target.toml"),
    ];
    for (args, code, says) in cases {
        let mut all = vec!["load", "--hold", "100ms", "--progress", "off"];
        all.extend_from_slice(args);
        if !args.contains(&"--out") {
            all.extend(["--out", &out]);
        }
        let outcome = mobauth(&all);
        assert_eq!(outcome.code, Some(code), "{args:?}: {outcome:?}");
        assert!(outcome.stderr.contains(says), "{args:?} should say {says:?}: {outcome:?}");
    }
}
