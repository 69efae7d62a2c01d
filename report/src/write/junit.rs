//! JUnit XML: a testsuite per feature file, a testcase per scenario named with its requirement
//! IDs, failures with the failing step and the expected-and-actual message. It follows the
//! Jenkins xUnit plugin's `junit-10.xsd` (vendored in `report/schemas/junit`, and checked by
//! `mobauth/tests/it/formats.rs`): the total of skipped tests is the testsuites' sum, not an
//! attribute of `<testsuites>`.

use std::fmt::Write as _;

use super::{first_line, seconds};
use crate::{Report, ScenarioResult, StepStatus, Verdict};

pub(crate) use protocol::markup::escape;

/// The testcase name: `[ENR-001 ENR-002] A logged-in user enrolls a device`.
pub(crate) fn case_name(scenario: &ScenarioResult) -> String {
    if scenario.requirements.is_empty() {
        scenario.name.clone()
    } else {
        format!("[{}] {}", scenario.requirements.join(" "), scenario.name)
    }
}

/// The failing step and its message.
fn failure_text(scenario: &ScenarioResult) -> String {
    let mut out = String::new();
    if let Some(step) =
        scenario.steps.iter().find(|s| matches!(s.status, StepStatus::Failed | StepStatus::Undefined))
    {
        let _ = writeln!(out, "Step: {}{} ({}:{})", step.keyword, step.text, scenario.file, step.line);
    }
    if let Some(message) = &scenario.message {
        out.push_str(message);
    }
    out
}

/// A `<failure>`: the target failed a check (a harness error is an `<error>`, counted apart).
fn is_failure(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Failed | Verdict::UnexpectedPass)
}

fn is_skipped(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::ExpectedFailure | Verdict::NotApplicable | Verdict::NotImplemented | Verdict::NotRun
    )
}

/// The report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let scenarios = &report.scenarios;
    let failures = scenarios.iter().filter(|s| is_failure(s.verdict)).count();
    let errors = scenarios.iter().filter(|s| s.verdict == Verdict::HarnessError).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"mobauth\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        scenarios.len(),
        seconds(report.duration_ms()),
    );
    let mut files: Vec<&str> = scenarios.iter().map(|s| s.file.as_str()).collect();
    files.dedup();
    for file in files {
        let cases: Vec<&ScenarioResult> = scenarios.iter().filter(|s| s.file == file).collect();
        let feature = cases.first().map_or("", |s| s.feature.as_str());
        let time: u64 = cases.iter().map(|s| s.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            escape(feature),
            escape(file),
            cases.len(),
            cases.iter().filter(|s| is_failure(s.verdict)).count(),
            cases.iter().filter(|s| s.verdict == Verdict::HarnessError).count(),
            cases.iter().filter(|s| is_skipped(s.verdict)).count(),
            seconds(time),
        );
        for scenario in cases {
            // junit-10.xsd (the Jenkins xUnit plugin's schema, `report/schemas/junit`) has no
            // `file` or `line` on a testcase: the file is its testsuite's, and the scenario's
            // `FILE:LINE` opens its `<system-out>`.
            let _ = writeln!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
                escape(&case_name(scenario)),
                escape(feature),
                seconds(scenario.duration_ms),
            );
            let expectation = scenario.expectation.and_then(|i| report.expectations.get(i));
            let message = scenario.message.as_deref().unwrap_or("");
            let mut system_out = format!("{}:{}", scenario.file, scenario.line);
            match scenario.verdict {
                Verdict::Passed => {}
                Verdict::Failed => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"failed\" message=\"{}\">{}</failure>",
                        escape(first_line(message)),
                        escape(&failure_text(scenario)),
                    );
                }
                Verdict::HarnessError => {
                    // JUnit's <error> is "an unexpected problem" as opposed to a failed check: the
                    // harness broke, the target was not judged.
                    let _ = writeln!(
                        out,
                        "      <error type=\"harness_error\" message=\"{}\">{}</error>",
                        escape(first_line(message)),
                        escape(&failure_text(scenario)),
                    );
                }
                Verdict::UnexpectedPass => {
                    let reason = expectation.map(|e| e.entry.reason.as_str()).unwrap_or("");
                    let _ = writeln!(
                        out,
                        "      <failure type=\"unexpected_pass\" message=\"{}\">expected to fail ({}), but every step passed</failure>",
                        escape("unexpected pass: the expectations file lists it as a known failure"),
                        escape(reason),
                    );
                }
                Verdict::ExpectedFailure => {
                    let why = expectation
                        .map(|e| {
                            format!(
                                "expected failure ({}, owner {}, expires {})",
                                e.entry.reason, e.entry.owner, e.entry.expires
                            )
                        })
                        .unwrap_or_else(|| "expected failure".into());
                    let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(&why));
                    system_out.push('\n');
                    system_out.push_str(&failure_text(scenario));
                }
                Verdict::NotApplicable | Verdict::NotImplemented | Verdict::NotRun => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}: {}\"/>",
                        scenario.verdict.label(),
                        escape(first_line(message)),
                    );
                }
            }
            let _ = writeln!(out, "      <system-out>{}</system-out>\n    </testcase>", escape(&system_out));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
