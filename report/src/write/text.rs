//! The plain-text summary `mobauth run` prints: requirement verdicts by area and level, the
//! problems, and the gate's decision.

use std::fmt::Write as _;

use super::{first_line, seconds};
use crate::{Counts, Report, Verdict};

/// Short column heads, in the order of [`Verdict::ALL`].
const HEADS: [&str; 8] = ["h/err", "failed", "xpass", "xfail", "n/impl", "n/a", "passed", "not run"];

fn counts_row(counts: &Counts) -> String {
    Verdict::ALL
        .iter()
        .zip(HEADS)
        .map(|(&v, head)| format!("{:>w$}", counts.get(v), w = head.len()))
        .collect::<Vec<_>>()
        .join("  ")
}

fn counts_sentence(counts: &Counts) -> String {
    let parts: Vec<String> = Verdict::ALL
        .iter()
        .filter(|&&v| counts.get(v) > 0)
        .map(|&v| format!("{} {}", counts.get(v), v.label()))
        .collect();
    if parts.is_empty() { "none".to_string() } else { parts.join(", ") }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The summary as plain text.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let run = &report.run;
    let shard = run.shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    let tags = run.tags.as_ref().map(|t| format!(", tags {t}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "mobauth {}: {} of {} scenarios against {} (seed {}{shard}{tags}) in {} s",
        run.suite_version,
        report.scenarios.len(),
        run.suite_scenarios,
        run.target.description,
        run.seed,
        seconds(report.duration_ms()),
    );
    let _ = writeln!(out, "Scenarios:    {}", counts_sentence(&report.summary.scenarios));
    let _ = writeln!(out, "Requirements: {}", counts_sentence(&report.summary.requirements));
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<44}  {:<6}  {}", "Requirements by area", "level", HEADS.join("  "));
    for row in &report.summary.by_area {
        let area = format!("{:<4} {}", row.area, report.area_title(&row.area));
        let _ =
            writeln!(out, "{:<44}  {:<6}  {}", cut(&area, 44), row.level.as_str(), counts_row(&row.counts));
    }
    let problems: Vec<_> = report.scenarios.iter().filter(|s| s.verdict.is_problem()).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nProblems:");
        for scenario in problems {
            let ids = scenario.requirements.join(" ");
            let level = report.scenario_level(scenario);
            let _ = writeln!(
                out,
                "  {} {ids} ({level}) {} {}",
                scenario.verdict.label().to_uppercase(),
                scenario.id,
                scenario.name
            );
            if let Some(message) = &scenario.message {
                for line in message.lines().take(4) {
                    let _ = writeln!(out, "      {line}");
                }
            }
            if let Some(entry) = scenario.expectation.and_then(|i| report.expectations.get(i))
                && scenario.verdict == Verdict::UnexpectedPass
            {
                let _ = writeln!(
                    out,
                    "      listed as a known failure: {} (owner {}, expires {})",
                    entry.entry.reason, entry.entry.owner, entry.entry.expires
                );
            }
        }
    }
    let others: Vec<_> = report.scenarios.iter().filter(|s| s.verdict.is_uncounted()).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\nNot counted against the target:");
        for scenario in others {
            let why = scenario.message.as_deref().map(first_line).unwrap_or("");
            let _ = writeln!(out, "  {} {} {}: {why}", scenario.verdict.label(), scenario.id, scenario.name);
        }
    }
    let entries: Vec<_> = report.expectations.iter().filter(|e| e.status.problem().is_some()).collect();
    if !entries.is_empty() {
        let _ = writeln!(out, "\nExpectations file:");
        for entry in entries {
            let _ = writeln!(
                out,
                "  {} {} (owner {}, expires {}): {}",
                entry.entry.pattern,
                entry.status.problem().unwrap_or(""),
                entry.entry.owner,
                entry.entry.expires,
                entry.entry.reason
            );
        }
    }
    let _ = writeln!(out);
    if report.gate.conformant {
        let _ = writeln!(out, "Result: conformant (exit {})", report.gate.exit_code);
    } else {
        let _ = writeln!(out, "Result: NOT conformant (exit {}):", report.gate.exit_code);
        for reason in &report.gate.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
    }
    out
}
