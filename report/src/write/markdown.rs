//! A Markdown summary fit for a CI job summary (e.g. `$GITHUB_STEP_SUMMARY`): the gate, the
//! requirement matrix by area and level, the problems and the expectations file's entries.

use std::fmt::Write as _;

use super::{first_line, listed, seconds};
use crate::{Report, Verdict};

/// Text that Markdown shows as written: `<` and `>` as entities (so no HTML tag is made).
fn plain(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}

/// A table cell: plain text, pipes escaped, line breaks as `<br>`.
fn cell(text: &str) -> String {
    plain(&text.replace('\\', "\\\\")).replace('|', "\\|").replace('\n', "<br>")
}

/// The summary as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let run = &report.run;
    let verdict = if report.gate.conformant { "conformant" } else { "NOT conformant" };
    let _ = writeln!(out, "# mobauth conformance: {verdict}\n");
    let _ = writeln!(out, "| | |\n| --- | --- |");
    let _ = writeln!(out, "| Target | {} |", cell(&run.target.description));
    let _ = writeln!(out, "| Suite | mobauth {} |", cell(&run.suite_version));
    let _ = writeln!(out, "| Seed | {} |", run.seed);
    if let Some(tags) = &run.tags {
        let _ = writeln!(out, "| Tags | `{}` |", cell(tags));
    }
    if let Some(shard) = run.shard {
        let _ = writeln!(out, "| Shard | {shard} |");
    }
    let _ = writeln!(out, "| Strict | {} |", if run.strict { "yes" } else { "no" });
    let _ = writeln!(out, "| Scenarios | {} of {} |", report.scenarios.len(), run.suite_scenarios);
    let _ = writeln!(out, "| Duration | {} s |", seconds(report.duration_ms()));
    let _ = writeln!(out, "| Gate | exit {} |\n", report.gate.exit_code);
    let harness_errors = report.summary.scenarios.get(Verdict::HarnessError);
    if harness_errors > 0 {
        let _ = writeln!(
            out,
            "**{harness_errors} harness errors**: mobauth itself broke in these scenarios (a defect of \
             the harness, not of the target), so the run cannot vouch for the target.\n"
        );
    }

    let heads = [
        "Passed",
        "Failed",
        "Not applicable",
        "Not implemented",
        "Expected failure",
        "Unexpected pass",
        "Not run",
    ];
    let order = [
        Verdict::Passed,
        Verdict::Failed,
        Verdict::NotApplicable,
        Verdict::NotImplemented,
        Verdict::ExpectedFailure,
        Verdict::UnexpectedPass,
        Verdict::NotRun,
    ];
    let _ = writeln!(out, "## Totals\n");
    let _ = writeln!(out, "| | {} |", heads.join(" | "));
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(heads.len()));
    for (name, counts) in
        [("Scenarios", &report.summary.scenarios), ("Requirements", &report.summary.requirements)]
    {
        let row: Vec<String> = order.iter().map(|&v| counts.get(v).to_string()).collect();
        let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
    }

    let _ = writeln!(out, "\n## Requirements by area and level\n");
    let _ = writeln!(out, "| Area | Level | {} |", heads.join(" | "));
    let _ = writeln!(out, "| --- | --- |{}", " ---: |".repeat(heads.len()));
    for row in &report.summary.by_area {
        let counts: Vec<String> = order.iter().map(|&v| row.counts.get(v).to_string()).collect();
        let area = format!("{} ({})", row.area, report.area_title(&row.area));
        let _ = writeln!(out, "| {} | {} | {} |", cell(&area), row.level, counts.join(" | "));
    }

    let problems: Vec<_> = report.scenarios.iter().filter(|s| s.verdict.is_problem()).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\n## Problems\n");
        let _ = writeln!(
            out,
            "| Verdict | Requirements | Level | Scenario | Message |\n| --- | --- | --- | --- | --- |"
        );
        for scenario in problems {
            let message =
                match (scenario.verdict, scenario.expectation.and_then(|i| report.expectations.get(i))) {
                    (Verdict::UnexpectedPass, Some(entry)) => {
                        format!("listed as a known failure: {}", entry.entry.reason)
                    }
                    _ => scenario.message.clone().unwrap_or_default(),
                };
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}` {} | {} |",
                scenario.verdict.label(),
                scenario.requirements.join(" "),
                report.scenario_level(scenario),
                cell(&scenario.id),
                cell(&scenario.name),
                cell(&message),
            );
        }
    }
    let others: Vec<_> = report.scenarios.iter().filter(|s| s.verdict.is_uncounted()).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\n## Not counted against the target\n");
        let _ = writeln!(out, "| Verdict | Requirements | Scenario | Why |\n| --- | --- | --- | --- |");
        for scenario in others {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` {} | {} |",
                scenario.verdict.label(),
                scenario.requirements.join(" "),
                cell(&scenario.id),
                cell(&scenario.name),
                cell(scenario.message.as_deref().map(first_line).unwrap_or("")),
            );
        }
    }
    if !report.expectations.is_empty() {
        let _ = writeln!(out, "\n## Expectations file\n");
        let _ =
            writeln!(out, "| Entry | Status | Owner | Expires | Reason |\n| --- | --- | --- | --- | --- |");
        for entry in &report.expectations {
            let status = entry
                .status
                .problem()
                .map_or_else(|| entry.status.as_str().to_string(), |p| format!("**{p}**"));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&entry.entry.pattern.to_string()),
                status,
                cell(&entry.entry.owner),
                entry.entry.expires,
                cell(&entry.entry.reason),
            );
        }
    }
    if !report.gate.reasons.is_empty() {
        let _ = writeln!(out, "\n## Why the gate fails\n");
        // A handful of reasons, and the count of the rest: the tables above list every problem,
        // and a job summary of hundreds of lines buries them.
        let (shown, more) = listed(&report.gate.reasons);
        for reason in shown {
            let _ = writeln!(out, "- {}", plain(&reason.replace('\n', " ")));
        }
        if more > 0 {
            let _ = writeln!(out, "- … and {more} more: see the tables above");
        }
    }
    out
}
