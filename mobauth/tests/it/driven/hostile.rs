//! Hostile drivers, each run as a user runs one (`mobauth run --device-driver`, a process of its
//! own under `/usr/bin/time`): a driver that hangs, writes a 50 MB line, a 50 MB hello, bytes that
//! are not text, a reply with an id nobody asked for, exits at once, floods its stderr or leaves a
//! child behind. Each fails its device scenario with a message that says what the driver did,
//! the scenario without a device still passes, the harness's peak memory stays under
//! [`MEMORY_BOUND_KB`], the reports stay under [`REPORTS_BOUND`] bytes, and no process the driver
//! started outlives the run.

use std::path::{Path, PathBuf};

use report::{Report, Verdict};

use crate::measured::{MEMORY_BOUND_KB, REPORTS_BOUND, bytes_in, mobauth_under_time};

/// `@REN-001` (one scenario whose device is the driver's) and `@RP-003` (one without devices).
const TAGS: &str = "@REN-001 or @RP-003";

/// What a driver does after it greeted and took its configuration like a good one.
const GREETS: &str = "read -r line || exit 0\n\
    echo '{\"id\": 1, \"ok\": true, \"name\": \"hostile\", \"version\": \"0\", \"protocol\": 1}'\n\
    read -r line || exit 0\n\
    echo '{\"id\": 2, \"ok\": true}'\n";

/// 50 MB of one byte, without a newline, as a shell writes it.
const FIFTY_MB: &str = "head -c 50000000 /dev/zero | tr '\\0' x";

struct Case {
    name: &'static str,
    /// The driver script; `PIDFILE` is replaced by a path where it may write a child's pid.
    script: String,
    /// Words the device scenario's failure message must have.
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "hangs",
            script: format!("{GREETS}exec cat > /dev/null\n"),
            says: &["did not answer within 10s", "waiting for the reply to authenticate"],
        },
        Case {
            name: "fifty-mb-line",
            script: format!("{GREETS}read -r line\n{FIFTY_MB}\necho\nexec cat > /dev/null\n"),
            says: &["not of the driver protocol", "a line of 50000000 bytes, longer than the 65536"],
        },
        Case {
            name: "fifty-mb-hello",
            script: format!(
                "read -r line\nprintf '{{\"id\": 1, \"ok\": true, \"version\": \"0\", \"protocol\": 1, \"name\": \"'\n\
                 {FIFTY_MB}\necho '\"}}'\nexec cat > /dev/null\n"
            ),
            says: &["not of the driver protocol", "longer than the 65536", "bytes in all"],
        },
        Case {
            name: "not-text",
            script: format!("{GREETS}read -r line\nprintf '\\377\\376 not text\\n'\nexec cat > /dev/null\n"),
            says: &["not of the driver protocol", "not UTF-8 text", "not text"],
        },
        Case {
            name: "wrong-id",
            script: format!(
                "{GREETS}read -r line\necho '{{\"id\": 99, \"ok\": true}}'\nexec cat > /dev/null\n"
            ),
            says: &["replied to id 99, which is of no request awaiting a reply", "authenticate"],
        },
        Case {
            name: "exits-at-once",
            script: "exit 0\n".into(),
            says: &["the driver exited (exit status: 0)"],
        },
        Case {
            name: "floods-stderr",
            script: format!(
                "{GREETS}read -r line\nhead -c 200000000 /dev/zero | tr '\\0' e >&2\necho >&2\necho 'giving up' >&2\nexit 4\n"
            ),
            says: &["exit status: 4", "giving up", "bytes in all"],
        },
        Case {
            name: "leaves-a-child",
            script: format!("{GREETS}sleep 300 &\necho $! > 'PIDFILE'\nexec cat > /dev/null\n"),
            says: &["did not answer within 10s"],
        },
    ]
}

fn scratch(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-hostile-{case}"));
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// Whether the process `pid` still runs (a zombie that nobody reaps has ended).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

#[test]
fn a_hostile_driver_fails_its_scenario_and_the_harness_stays_small() {
    for case in cases() {
        let dir = scratch(case.name);
        let pidfile = dir.join("child.pid");
        let script = dir.join("driver.sh");
        std::fs::write(&script, case.script.replace("PIDFILE", &pidfile.display().to_string()))
            .expect("the driver script is written");
        let out = dir.join("reports");
        let driver = format!("sh '{}'", script.display());
        let out_arg = out.display().to_string();
        let (output, peak) = mobauth_under_time(&[
            "run",
            "--progress",
            "off",
            "--tags",
            TAGS,
            "--device-driver",
            &driver,
            "--out",
            &out_arg,
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{}: a failed MUST exits 1; stderr: {stderr}", case.name);

        let text = std::fs::read_to_string(out.join("report.json")).expect("report.json is written");
        let report: Report = serde_json::from_str(&text).expect("report.json is a report");
        for scenario in &report.scenarios {
            let message = scenario.message.as_deref().unwrap_or_default();
            if scenario.requirements.iter().any(|r| r == "REN-001") {
                assert_eq!(scenario.verdict, Verdict::Failed, "{}: {message}", case.name);
                for words in case.says {
                    assert!(message.contains(words), "{}: the message says {words:?}: {message}", case.name);
                }
            } else {
                assert_eq!(scenario.verdict, Verdict::Passed, "{}: the run goes on: {message}", case.name);
            }
        }
        assert_eq!(report.scenarios.len(), 2, "{}: both scenarios report", case.name);

        let reports = bytes_in(&out);
        // The figures, for whoever runs it with --nocapture.
        eprintln!("hostile driver {}: peak {peak} KB, reports {reports} bytes", case.name);
        assert!(peak < MEMORY_BOUND_KB, "{}: the harness's peak memory {peak} KB", case.name);
        assert!(reports < REPORTS_BOUND, "{}: the reports take {reports} bytes", case.name);

        if let Ok(pid) = std::fs::read_to_string(&pidfile) {
            assert!(!running(pid.trim()), "{}: the driver's child {pid} outlived the run", case.name);
        } else {
            assert_ne!(case.name, "leaves-a-child", "the driver wrote its child's pid");
        }
        std::fs::remove_dir_all(&dir).expect("the scratch folder is removed");
    }
}
