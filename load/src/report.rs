//! A load run's report: what was asked (target, plan, shard, seed, thresholds), what was
//! measured, and the verdict of each threshold. Shards' reports merge into the report of the
//! whole plan: their measurements add up exactly ([`Measured::add`]) and the thresholds are
//! checked again on the sum.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::schedule::{Plan, Shard};
use crate::stats::{Call, Latencies, Measured};
use crate::threshold::{Checked, Threshold, ThresholdError};

/// The version of the report's JSON: a change that a reader would misread raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// The most shards a merge takes.
pub const MAX_SHARDS: usize = 1000;

/// A load run's report (`load.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The mobauth version that ran it.
    pub mobauth_version: String,
    /// The server under load: its base URL, or `embedded`.
    pub target: String,
    /// The seed of the devices' keys and ids.
    pub seed: u64,
    /// The plan's arrivals.
    pub plan: Plan,
    /// The shards whose arrivals this report holds (one, or every shard of a merge).
    pub shards: Vec<Shard>,
    /// Devices enrolled before the arrivals, over all shards.
    pub devices: u64,
    /// When the first shard started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long the longest shard took from its first arrival to its last transaction's end.
    #[serde(with = "crate::schedule::millis")]
    pub duration: Duration,
    /// The thresholds, as given.
    pub thresholds: Vec<String>,
    /// What was measured.
    pub measured: Measured,
    /// Each threshold's verdict on it.
    pub checked: Vec<Checked>,
}

/// Why reports do not merge.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// More than [`MAX_SHARDS`].
    #[error("{0} reports: a merge takes at most {MAX_SHARDS}")]
    TooMany(usize),
    /// A report of another schema version.
    #[error("{path}: schema version {found}, this mobauth reads {SCHEMA_VERSION}")]
    Version {
        /// Which report.
        path: String,
        /// Its version.
        found: u32,
    },
    /// Reports of different runs.
    #[error("{path} is not a shard of the same run as {first}: its {what} differs")]
    NotTheSameRun {
        /// The first report.
        first: String,
        /// The one that differs.
        path: String,
        /// What differs.
        what: &'static str,
    },
    /// A shard twice, or one missing.
    #[error("the shards do not make up the plan: {0}")]
    Shards(String),
    /// A threshold no longer parses.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
}

impl LoadReport {
    /// The exit code of the run: 0 when every threshold holds, 1 when one does not.
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }

    /// Whether every threshold holds.
    pub fn passed(&self) -> bool {
        self.checked.iter().all(|c| c.passed)
    }

    /// Whole transactions' latencies.
    pub fn transactions(&self) -> &Latencies {
        &self.measured.transactions
    }

    /// A call's latencies, when it was made.
    pub fn call(&self, call: Call) -> Option<&Latencies> {
        self.measured.calls.get(&call)
    }

    /// Checks `thresholds` on the measurements.
    pub fn check(measured: &Measured, plan: &Plan, thresholds: &[Threshold]) -> Vec<Checked> {
        thresholds.iter().map(|t| t.check(measured, plan.duration())).collect()
    }
}

/// Joins shard reports (each with its path, for messages) of one run into the report of the
/// whole plan, the thresholds checked again on the sum.
pub fn merge(reports: &[(String, LoadReport)]) -> Result<LoadReport, MergeError> {
    let ((first_path, first), rest) = reports.split_first().ok_or(MergeError::Empty)?;
    if reports.len() > MAX_SHARDS {
        return Err(MergeError::TooMany(reports.len()));
    }
    let mut merged = first.clone();
    for (path, report) in reports {
        if report.schema_version != SCHEMA_VERSION {
            return Err(MergeError::Version { path: path.clone(), found: report.schema_version });
        }
    }
    for (path, report) in rest {
        let differs =
            |what| MergeError::NotTheSameRun { first: first_path.clone(), path: path.clone(), what };
        if report.plan != first.plan {
            return Err(differs("plan"));
        }
        if report.seed != first.seed {
            return Err(differs("seed"));
        }
        if report.target != first.target {
            return Err(differs("target"));
        }
        if report.thresholds != first.thresholds {
            return Err(differs("thresholds"));
        }
        merged.shards.extend(report.shards.iter().copied());
        merged.devices += report.devices;
        merged.started_at = merged.started_at.min(report.started_at);
        merged.duration = merged.duration.max(report.duration);
        merged.measured.add(&report.measured);
    }
    merged.shards.sort_by_key(|s| s.index);
    let count = merged.shards.first().map_or(1, |s| s.count);
    let indexes: Vec<u32> = merged.shards.iter().map(|s| s.index).collect();
    if merged.shards.iter().any(|s| s.count != count) || indexes != (1..=count).collect::<Vec<_>>() {
        let shown: Vec<String> = merged.shards.iter().map(ToString::to_string).collect();
        return Err(MergeError::Shards(format!(
            "got {}, want each of 1/{count} to {count}/{count} once",
            shown.join(", ")
        )));
    }
    let thresholds = merged.thresholds.iter().map(|t| Threshold::parse(t)).collect::<Result<Vec<_>, _>>()?;
    merged.checked = LoadReport::check(&merged.measured, &merged.plan, &thresholds);
    Ok(merged)
}
