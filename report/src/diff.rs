//! Comparing two reports (`mobauth report diff OLD NEW`): regressions, fixes and other changes
//! of requirement and scenario verdicts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::{Report, Verdict};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A requirement, by ID.
    Requirement,
    /// A scenario, by feature file and name.
    Scenario,
}

/// One verdict that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Requirement or scenario.
    pub subject: Subject,
    /// The requirement ID, or the scenario's `FILE:LINE` in the newer report (else the older).
    pub id: String,
    /// The requirement's level, or the scenario's name.
    pub label: String,
    /// The verdict before; `None` when it was not in the older report.
    pub old: Option<Verdict>,
    /// The verdict after; `None` when it is not in the newer report.
    pub new: Option<Verdict>,
}

/// The differences between two reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Now failed or an unexpected pass, and not before.
    pub regressions: Vec<Change>,
    /// Failed or an unexpected pass before, and passed now.
    pub fixes: Vec<Change>,
    /// Any other change of verdict, including scenarios added or removed.
    pub other: Vec<Change>,
}

fn bad(verdict: Option<Verdict>) -> bool {
    verdict.is_some_and(Verdict::is_problem)
}

impl Diff {
    fn push(&mut self, change: Change) {
        if change.old == change.new {
            return;
        }
        if bad(change.new) && !bad(change.old) {
            self.regressions.push(change);
        } else if bad(change.old) && change.new == Some(Verdict::Passed) {
            self.fixes.push(change);
        } else {
            self.other.push(change);
        }
    }

    /// Whether anything regressed.
    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty()
    }
}

/// Compares `old` and `new`: requirements by ID, scenarios by feature file and name (the n-th
/// scenario of a name in a file with the n-th, so outlines pair up), so moved lines do not count.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let mut out = Diff::default();
    let old_requirements: HashMap<&str, Verdict> =
        old.requirements.iter().map(|r| (r.id.as_str(), r.verdict)).collect();
    let mut new_ids = std::collections::HashSet::new();
    for requirement in &new.requirements {
        new_ids.insert(requirement.id.as_str());
        out.push(Change {
            subject: Subject::Requirement,
            id: requirement.id.clone(),
            label: requirement.level.to_string(),
            old: old_requirements.get(requirement.id.as_str()).copied(),
            new: Some(requirement.verdict),
        });
    }
    for requirement in old.requirements.iter().filter(|r| !new_ids.contains(r.id.as_str())) {
        out.push(Change {
            subject: Subject::Requirement,
            id: requirement.id.clone(),
            label: requirement.level.to_string(),
            old: Some(requirement.verdict),
            new: None,
        });
    }
    let mut old_scenarios = keyed(old);
    for (key, (id, name, verdict)) in keyed(new) {
        let before = old_scenarios.remove(&key).map(|(_, _, v)| v);
        out.push(Change { subject: Subject::Scenario, id, label: name, old: before, new: Some(verdict) });
    }
    for (id, name, verdict) in old_scenarios.into_values() {
        out.push(Change { subject: Subject::Scenario, id, label: name, old: Some(verdict), new: None });
    }
    out
}

type Keyed = BTreeMap<(String, String, usize), (String, String, Verdict)>;

fn keyed(report: &Report) -> Keyed {
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for scenario in &report.scenarios {
        let n = seen.entry((scenario.file.as_str(), scenario.name.as_str())).or_insert(0);
        out.insert(
            (scenario.file.clone(), scenario.name.clone(), *n),
            (scenario.id.clone(), scenario.name.clone(), scenario.verdict),
        );
        *n += 1;
    }
    out
}

/// The diff as text for a terminal or a CI log.
pub fn render(diff: &Diff) -> String {
    let mut out = String::new();
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "{}, {}, {}",
        plural(diff.regressions.len(), "regression", "regressions"),
        plural(diff.fixes.len(), "fix", "fixes"),
        plural(diff.other.len(), "other change", "other changes"),
    );
    for (title, changes) in
        [("Regressions", &diff.regressions), ("Fixes", &diff.fixes), ("Other changes", &diff.other)]
    {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for change in changes {
            let verdict = |v: Option<Verdict>| v.map_or("absent", Verdict::label);
            let what = match change.subject {
                Subject::Requirement => format!("requirement {} ({})", change.id, change.label),
                Subject::Scenario => format!("scenario {} {:?}", change.id, change.label),
            };
            let _ = writeln!(out, "  {what}: {} -> {}", verdict(change.old), verdict(change.new));
        }
    }
    out
}
