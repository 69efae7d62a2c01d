//! The machine-readable summary `mobauth run --summary json` prints on standard output: the
//! gate, the counts and the scenarios that count against the target, small enough to read in a
//! CI step without opening report.json, and versioned as report.json is.

use std::path::PathBuf;

use serde::Serialize;

use super::{Counts, Report, SCHEMA_VERSION, Verdict};

/// The summary of a run (or of merged shards).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The report's schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Whether the target conforms.
    pub conformant: bool,
    /// The exit code the run ends with.
    pub exit_code: u8,
    /// Why the target does not conform, one line each.
    pub reasons: Vec<String>,
    /// What was judged: the target's description.
    pub target: String,
    /// The run seed (`--seed` repeats the run).
    pub seed: u64,
    /// Scenario verdicts.
    pub scenarios: Counts,
    /// Requirement verdicts.
    pub requirements: Counts,
    /// The scenarios that count against the target: failed, unexpected passes and harness errors.
    pub problems: Vec<Problem>,
    /// The report files written.
    pub reports: Vec<PathBuf>,
}

/// A scenario that counts against the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// `FILE:LINE`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The requirements it tests.
    pub requirements: Vec<String>,
    /// Its verdict.
    pub verdict: Verdict,
    /// What went wrong, as the report says it.
    pub message: Option<String>,
}

impl RunSummary {
    /// The summary of `report`, whose files were written to `reports`.
    pub fn of(report: &Report, reports: Vec<PathBuf>) -> Self {
        RunSummary {
            schema_version: SCHEMA_VERSION,
            conformant: report.gate.conformant,
            exit_code: report.gate.exit_code,
            reasons: report.gate.reasons.clone(),
            target: report.run.target.description.clone(),
            seed: report.run.seed,
            scenarios: report.summary.scenarios,
            requirements: report.summary.requirements,
            problems: report
                .scenarios
                .iter()
                .filter(|s| s.verdict.is_problem())
                .map(|s| Problem {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    requirements: s.requirements.clone(),
                    verdict: s.verdict,
                    message: s.message.clone(),
                })
                .collect(),
            reports,
        }
    }

    /// The summary as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary is plain data: strings, numbers and lists")
    }
}
