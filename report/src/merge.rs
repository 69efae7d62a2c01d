//! Joining the reports of the shards of one run (`mobauth run --shard K/N`) into the report the
//! unsharded run would have written.

use std::collections::BTreeSet;

use super::{Report, SCHEMA_VERSION};

/// Why shard reports cannot be joined.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A report of another schema version.
    #[error("report {index} has schema version {found}; this mobauth reads version {SCHEMA_VERSION}")]
    Version {
        /// 1-based position among the inputs.
        index: usize,
        /// Its version.
        found: u32,
    },
    /// A report is not a shard.
    #[error("report {index} is not a shard (it was not run with --shard K/N)")]
    NotShard {
        /// 1-based position among the inputs.
        index: usize,
    },
    /// The reports are of different runs.
    #[error("report {index} is of another run: its {what} differs from the first report's")]
    Mismatch {
        /// 1-based position among the inputs.
        index: usize,
        /// What differs.
        what: &'static str,
    },
    /// The shards are not each of 1..=N exactly once.
    #[error("the shards must be 1/{count} to {count}/{count}, each once; got {got}")]
    Shards {
        /// N.
        count: u32,
        /// The shards given, e.g. `1/3, 1/3`.
        got: String,
    },
    /// A scenario is in two shards.
    #[error("scenario {0} is in more than one shard")]
    Duplicate(String),
}

/// Joins the reports of shards `1/N` to `N/N` of one run.
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    let mut reports = reports.into_iter();
    let mut merged = reports.next().ok_or(MergeError::Empty)?;
    let rest: Vec<Report> = reports.collect();
    let all = std::iter::once(&merged).chain(&rest);
    let mut shards = Vec::new();
    for (i, report) in all.enumerate() {
        let index = i + 1;
        if report.schema_version != SCHEMA_VERSION {
            return Err(MergeError::Version { index, found: report.schema_version });
        }
        shards.push(report.run.shard.ok_or(MergeError::NotShard { index })?);
        let a = &merged.run;
        let b = &report.run;
        let checks: [(&'static str, bool); 8] = [
            ("suite version", a.suite_version == b.suite_version),
            ("target", a.target == b.target),
            ("seed", a.seed == b.seed),
            ("tag filter", a.tags == b.tags),
            ("--strict", a.strict == b.strict),
            ("features folder", a.features == b.features && a.suite_scenarios == b.suite_scenarios),
            ("requirement catalogue", same_catalogue(&merged, report)),
            ("expectations file", same_expectations(&merged, report)),
        ];
        if let Some((what, _)) = checks.iter().find(|(_, same)| !same) {
            return Err(MergeError::Mismatch { index, what });
        }
    }
    let count = shards.first().map_or(0, |s| s.count);
    let indices: BTreeSet<u32> = shards.iter().map(|s| s.index).collect();
    if shards.iter().any(|s| s.count != count)
        || indices.len() != shards.len()
        || shards.len() != count as usize
    {
        let got = shards.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        return Err(MergeError::Shards { count, got });
    }
    let mut seen = BTreeSet::new();
    for report in rest {
        merged.run.started_at = merged.run.started_at.min(report.run.started_at);
        merged.run.finished_at = merged.run.finished_at.max(report.run.finished_at);
        merged.scenarios.extend(report.scenarios);
    }
    for scenario in &merged.scenarios {
        if !seen.insert(scenario.id.as_str()) {
            return Err(MergeError::Duplicate(scenario.id.clone()));
        }
    }
    merged.scenarios.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    merged.run.shard = None;
    merged.evaluate();
    Ok(merged)
}

fn same_catalogue(a: &Report, b: &Report) -> bool {
    a.areas == b.areas
        && a.requirements.len() == b.requirements.len()
        && a.requirements.iter().zip(&b.requirements).all(|(x, y)| x.id == y.id && x.level == y.level)
}

fn same_expectations(a: &Report, b: &Report) -> bool {
    a.expectations.len() == b.expectations.len()
        && a.expectations
            .iter()
            .zip(&b.expectations)
            .all(|(x, y)| x.entry == y.entry && x.suite_matches == y.suite_matches)
}
