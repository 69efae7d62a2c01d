//! What a run would run, without running it: the scenarios `mobauth list` shows and `mobauth
//! run --dry-run` checks. Nothing here contacts a target or starts a server: the features are
//! parsed and selected as a run would, and every step is matched against the suite's step
//! definitions, so a feature file with a step no definition matches (or two match) is found
//! before anything runs.

use cucumber::World as _;
use cucumber::gherkin;

use super::{RunError, RunOptions, selection};
use report::catalogue::Level;
use suite::world::ConformanceWorld;

/// A scenario a run would run, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedScenario {
    /// `FILE:LINE`, as reports name it.
    pub id: String,
    /// Its feature's name.
    pub feature: String,
    /// Its name (an outline row's with its example), as reports name it.
    pub name: String,
    /// The requirement ids it tests.
    pub requirements: Vec<String>,
    /// Its level (`@must` or `@should`), if tagged with one.
    pub level: Option<Level>,
    /// Every tag that applies to it (the feature's, the rule's, its own).
    pub tags: Vec<String>,
}

/// A step that no step definition matches, or that more than one does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnmatchedStep {
    /// The feature file of the step.
    pub file: String,
    /// The step's line.
    pub line: usize,
    /// The first selected scenario that has it (its id; a background's step is in several).
    pub scenario: String,
    /// The step, keyword and text (`Given a device`).
    pub step: String,
    /// How many definitions match it: 0 (undefined) or more than 1 (ambiguous).
    pub matches: usize,
}

/// What a run with the same options would run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The selected scenarios, in file and line order.
    pub scenarios: Vec<PlannedScenario>,
    /// How many scenarios the whole suite holds (before tags, shard and `--rerun-failed`).
    pub suite_scenarios: usize,
    /// The selected scenarios' steps that cannot run as written.
    pub unmatched: Vec<UnmatchedStep>,
}

/// Selects the scenarios `options` would run and matches their steps, without running them.
pub fn plan(options: &RunOptions) -> Result<Plan, RunError> {
    let selection = selection::select(options)?;
    let mut metas: Vec<&selection::ScenarioMeta> = selection.scenarios.values().collect();
    metas.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let scenarios = metas
        .into_iter()
        .map(|meta| PlannedScenario {
            id: meta.id.clone(),
            feature: meta.feature.clone(),
            name: meta.name.clone(),
            requirements: meta.requirements.clone(),
            level: meta.level,
            tags: meta.tags.clone(),
        })
        .collect();
    Ok(Plan { scenarios, suite_scenarios: selection.suite.len(), unmatched: unmatched_steps(&selection) })
}

/// The steps of the selected scenarios (with their backgrounds') that do not match exactly one
/// step definition, each once, in file and line order.
fn unmatched_steps(selection: &selection::Selection) -> Vec<UnmatchedStep> {
    let definitions = ConformanceWorld::collection();
    let mut unmatched = Vec::new();
    for feature in &selection.features {
        let rules = feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
        for (rule, scenario) in feature.scenarios.iter().map(|s| (None, s)).chain(rules) {
            let Some(meta) = selection.scenarios.get(&selection::key(feature, scenario)) else { continue };
            let background = feature
                .background
                .iter()
                .chain(rule.and_then(|r| r.background.as_ref()))
                .flat_map(|b| &b.steps);
            for step in background.chain(&scenario.steps) {
                let matches = match definitions.find(step) {
                    Ok(Some(_)) => continue,
                    Ok(None) => 0,
                    Err(ambiguous) => ambiguous.possible_matches.len(),
                };
                unmatched.push(UnmatchedStep {
                    file: meta.file.clone(),
                    line: step.position.line,
                    scenario: meta.id.clone(),
                    step: describe(step),
                    matches,
                });
            }
        }
    }
    unmatched.sort_by(|a, b| (&a.file, a.line, &a.scenario).cmp(&(&b.file, b.line, &b.scenario)));
    unmatched.dedup_by(|later, first| (&later.file, later.line) == (&first.file, first.line));
    unmatched
}

fn describe(step: &gherkin::Step) -> String {
    format!("{} {}", step.keyword.trim(), step.value)
}
