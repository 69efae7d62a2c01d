//! Which scenarios a run runs: every scenario of the feature files (outlines expanded, in file
//! and line order), those the tag expression selects, and of those the run's shard.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use cucumber::gherkin::{self, tagexpr::TagOperation};
use cucumber::tag::Ext as _;
use futures::StreamExt as _;

use super::{RunError, RunOptions, scenario_label};
use report::catalogue::{Level, is_requirement_id};

/// A scenario's identity within a run: its feature file and its position.
pub(crate) type Key = (PathBuf, usize, usize);

/// The key of `scenario` in `feature`.
pub(crate) fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    (feature.path.clone().unwrap_or_default(), scenario.position.line, scenario.position.col)
}

/// What the report says of a scenario before it runs.
#[derive(Debug, Clone)]
pub(crate) struct ScenarioMeta {
    pub(crate) id: String,
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) feature: String,
    pub(crate) name: String,
    pub(crate) tags: Vec<String>,
    pub(crate) requirements: Vec<String>,
    pub(crate) level: Option<Level>,
    pub(crate) seed: u64,
}

/// The selected scenarios, ready for cucumber.
#[derive(Debug)]
pub(crate) struct Selection {
    /// The features, holding only the selected scenarios.
    pub(crate) features: Vec<gherkin::Feature>,
    /// How many scenarios were selected.
    pub(crate) count: usize,
    /// The selected scenarios by key.
    pub(crate) scenarios: HashMap<Key, ScenarioMeta>,
    /// Every scenario of the suite (before tags and shard).
    pub(crate) suite: Vec<ScenarioMeta>,
    /// The features folder as the user gave it, for display.
    pub(crate) display_root: String,
}

/// Feeds already parsed features to cucumber.
#[derive(Debug)]
pub(crate) struct Preparsed(pub(crate) Vec<gherkin::Feature>);

impl cucumber::Parser<()> for Preparsed {
    type Cli = cucumber::cli::Empty;
    type Output = futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, (): (), _cli: Self::Cli) -> Self::Output {
        let features: Vec<_> = self.0.into_iter().map(Ok).collect();
        futures::stream::iter(features)
    }
}

/// Every tag that applies to a scenario: the feature's, the rule's, then its own (which hold an
/// outline example's tags once cucumber has expanded it).
fn tags_of(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags) {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    tags
}

fn display_file(root: &Path, display_root: &str, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => display_root.to_string(),
        Ok(rel) => {
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            if display_root.is_empty() || display_root == "." { rel } else { format!("{display_root}/{rel}") }
        }
        Err(_) => path.display().to_string(),
    }
}

/// Parses the features and selects the run's scenarios.
pub(crate) fn select(options: &RunOptions) -> Result<Selection, RunError> {
    let given = options.features.display().to_string();
    let features_error = |reason: String| RunError::Features { path: given.clone(), reason };
    let root = options.features.canonicalize().map_err(|e| features_error(e.to_string()))?;
    let display_root = given.trim_end_matches('/').to_string();
    let tag_filter = match &options.tags {
        Some(expr) => Some(
            TagOperation::from_str(expr)
                .map_err(|e| RunError::Tags { expr: expr.clone(), reason: e.to_string() })?,
        ),
        None => None,
    };
    let parsed: Vec<cucumber::parser::Result<gherkin::Feature>> = futures::executor::block_on(
        cucumber::Parser::parse(cucumber::parser::Basic::new(), root.as_path(), Default::default())
            .collect::<Vec<_>>(),
    );
    let mut features = Vec::new();
    for feature in parsed {
        features.push(feature.map_err(|e| features_error(e.to_string()))?);
    }
    if features.is_empty() {
        return Err(features_error("no .feature files there".into()));
    }

    // Every scenario of the suite in file and line order, and whether the tags select it.
    let mut suite: Vec<(Key, ScenarioMeta, bool)> = Vec::new();
    for feature in &features {
        let path = feature.path.clone().unwrap_or_default();
        let file = display_file(&root, &display_root, &path);
        let rules = feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
        for (rule, scenario) in feature.scenarios.iter().map(|s| (None, s)).chain(rules) {
            let tags = tags_of(feature, rule, scenario);
            let selected = tag_filter.as_ref().is_none_or(|op| op.eval(tags.iter()));
            let requirements = tags.iter().filter(|t| is_requirement_id(t)).cloned().collect();
            let level = tags.iter().find_map(|t| Level::from_tag(t));
            let label = scenario_label(feature, scenario);
            let meta = ScenarioMeta {
                id: format!("{file}:{}", scenario.position.line),
                file: file.clone(),
                line: scenario.position.line,
                feature: feature.name.clone(),
                name: scenario.name.clone(),
                tags,
                requirements,
                level,
                seed: protocol::rng::derive_seed(options.seed, &label),
            };
            suite.push((key(feature, scenario), meta, selected));
        }
    }
    suite.sort_by(|a, b| (&a.1.file, a.0.1, a.0.2).cmp(&(&b.1.file, b.0.1, b.0.2)));

    let mut scenarios = HashMap::new();
    let mut position = 0;
    for (key, meta, selected) in &suite {
        if !selected {
            continue;
        }
        if options.shard.is_none_or(|shard| shard.contains(position)) {
            scenarios.insert(key.clone(), meta.clone());
        }
        position += 1;
    }
    if scenarios.is_empty() {
        let why = match (&options.tags, options.shard) {
            (None, None) => "the feature files hold no scenario".to_string(),
            (Some(tags), None) => format!("no scenario has tags matching {tags:?}"),
            (tags, Some(shard)) => format!(
                "shard {shard} of the {position} scenarios{} is empty",
                tags.as_ref().map(|t| format!(" matching {t:?}")).unwrap_or_default()
            ),
        };
        return Err(RunError::NoScenarios(why));
    }
    for feature in &mut features {
        let path = feature.path.clone().unwrap_or_default();
        let wanted =
            |s: &gherkin::Scenario| scenarios.contains_key(&(path.clone(), s.position.line, s.position.col));
        feature.scenarios.retain(wanted);
        for rule in &mut feature.rules {
            rule.scenarios.retain(wanted);
        }
        feature.rules.retain(|r| !r.scenarios.is_empty());
    }
    features.retain(|f| !f.scenarios.is_empty() || !f.rules.is_empty());
    Ok(Selection {
        features,
        count: scenarios.len(),
        scenarios,
        suite: suite.into_iter().map(|(_, meta, _)| meta).collect(),
        display_root,
    })
}

/// The selection split round-robin (in file and line order) into `parts` parts of features and
/// scenario metadata; no part is empty when `parts` is at most the number of scenarios.
pub(crate) fn split(
    selection: &Selection,
    parts: usize,
) -> Vec<(Vec<gherkin::Feature>, HashMap<Key, ScenarioMeta>)> {
    let parts = parts.max(1);
    let mut keys: Vec<(&Key, &ScenarioMeta)> = selection.scenarios.iter().collect();
    keys.sort_by(|a, b| (&a.1.file, a.0.1, a.0.2).cmp(&(&b.1.file, b.0.1, b.0.2)));
    let mut out: Vec<(Vec<gherkin::Feature>, HashMap<Key, ScenarioMeta>)> =
        (0..parts).map(|_| (Vec::new(), HashMap::new())).collect();
    for (i, (key, meta)) in keys.into_iter().enumerate() {
        if let Some(part) = out.get_mut(i % parts) {
            part.1.insert(key.clone(), meta.clone());
        }
    }
    for (features, meta) in &mut out {
        for feature in &selection.features {
            let mut feature = feature.clone();
            let path = feature.path.clone().unwrap_or_default();
            let mine =
                |s: &gherkin::Scenario| meta.contains_key(&(path.clone(), s.position.line, s.position.col));
            feature.scenarios.retain(mine);
            for rule in &mut feature.rules {
                rule.scenarios.retain(mine);
            }
            feature.rules.retain(|r| !r.scenarios.is_empty());
            if !feature.scenarios.is_empty() || !feature.rules.is_empty() {
                features.push(feature);
            }
        }
    }
    out.retain(|(features, _)| !features.is_empty());
    out
}
