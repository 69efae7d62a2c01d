//! Which scenarios a run runs: every scenario of the feature files (outlines expanded, in file
//! and line order), those the tag expression selects, and of those the run's shard.
//!
//! The feature files come from a folder on disk or from the binary itself ([`FeatureSource`]);
//! both name files and scenarios alike (`features/enrollment.feature:12`), so a run of the
//! embedded suite and a run of `--features features` from the workspace root give the same
//! ids, seeds and shards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv, tagexpr::TagOperation};
use cucumber::tag::Ext as _;
use futures::StreamExt as _;

/// Where a run's feature files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSource {
    /// A folder of `.feature` files (every one under it), or one file, read when the run starts.
    Folder(PathBuf),
    /// Feature files compiled into the binary.
    Embedded(EmbeddedFeatures),
}

impl From<PathBuf> for FeatureSource {
    fn from(folder: PathBuf) -> Self {
        FeatureSource::Folder(folder)
    }
}

impl From<&Path> for FeatureSource {
    fn from(folder: &Path) -> Self {
        FeatureSource::Folder(folder.to_path_buf())
    }
}

impl From<&str> for FeatureSource {
    fn from(folder: &str) -> Self {
        FeatureSource::Folder(folder.into())
    }
}

impl From<String> for FeatureSource {
    fn from(folder: String) -> Self {
        FeatureSource::Folder(folder.into())
    }
}

impl From<EmbeddedFeatures> for FeatureSource {
    fn from(embedded: EmbeddedFeatures) -> Self {
        FeatureSource::Embedded(embedded)
    }
}

/// Feature files compiled into a binary, named as a run of the folder they came from, given
/// as `root`, names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedFeatures {
    /// The folder as a run names it (`features`, as given from the workspace root).
    pub root: &'static str,
    /// The files.
    pub files: &'static [EmbeddedFile],
}

/// One feature file compiled into a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedFile {
    /// Its path under the folder, `/`-separated (`enrollment.feature`).
    pub path: &'static str,
    /// Its text.
    pub text: &'static str,
}

impl EmbeddedFeatures {
    /// How reports name the embedded suite's folder when it cannot be used.
    fn describe(&self) -> String {
        format!("{} (built into this binary)", self.root)
    }
}

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

/// The parsed features of a source (outlines expanded), each with the name reports give its
/// file, and the folder as reports name it.
struct Parsed {
    features: Vec<(gherkin::Feature, String)>,
    display_root: String,
}

/// Parses the `.feature` files under a folder (or one file) as cucumber's own parser does.
fn parse_folder(folder: &Path) -> Result<Parsed, RunError> {
    let given = folder.display().to_string();
    let features_error = |reason: String| RunError::Features { path: given.clone(), reason };
    let root = folder.canonicalize().map_err(|e| features_error(e.to_string()))?;
    let display_root = given.trim_end_matches('/').to_string();
    let parsed: Vec<cucumber::parser::Result<gherkin::Feature>> = futures::executor::block_on(
        cucumber::Parser::parse(cucumber::parser::Basic::new(), root.as_path(), Default::default())
            .collect::<Vec<_>>(),
    );
    let mut features = Vec::new();
    for feature in parsed {
        let feature = feature.map_err(|e| features_error(e.to_string()))?;
        let file = display_file(&root, &display_root, feature.path.as_deref().unwrap_or(Path::new("")));
        features.push((feature, file));
    }
    if features.is_empty() {
        return Err(features_error("no .feature files there".into()));
    }
    Ok(Parsed { features, display_root })
}

/// Parses feature files compiled into the binary. Each feature's path is its file's name in
/// reports (`features/enrollment.feature`), so scenario keys stay unique across files; files
/// come in the order cucumber's parser walks a folder (by path), as for [`parse_folder`].
fn parse_embedded(embedded: &EmbeddedFeatures) -> Result<Parsed, RunError> {
    let features_error = |reason: String| RunError::Features { path: embedded.describe(), reason };
    let display_root = embedded.root.trim_end_matches('/').to_string();
    let mut files: Vec<&EmbeddedFile> = embedded.files.iter().collect();
    files.sort_by(|a, b| Path::new(a.path).cmp(Path::new(b.path)));
    let mut features = Vec::new();
    for file in files {
        let name = if display_root.is_empty() || display_root == "." {
            file.path.to_string()
        } else {
            format!("{display_root}/{}", file.path)
        };
        let mut feature = gherkin::Feature::parse(file.text, GherkinEnv::default())
            .map_err(|e| features_error(format!("{name}: {e}")))?;
        feature.path = Some(PathBuf::from(&name));
        let feature = feature.expand_examples().map_err(|e| features_error(format!("{name}: {e}")))?;
        features.push((feature, name));
    }
    if features.is_empty() {
        return Err(features_error("this binary was built without .feature files".into()));
    }
    Ok(Parsed { features, display_root })
}

/// The longest part of an outline row's cells that its name shows.
const ROW_IN_NAME: usize = 60;

/// The rows of an outline share its name; each gets its number among the scenarios of that name
/// in its file and its cells, `Outline name (example #2: GET, /_admin/v1/clock)`, so that every
/// test identity in every report format is unique. Numbered over the whole suite in file order,
/// whatever `--tags` and `--shard` select, so a name is the same on every run and in merged shards.
fn name_outline_rows(suite: &mut [(Key, ScenarioMeta, bool)], examples: &HashMap<Key, String>) {
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for (_, meta, _) in suite.iter() {
        *counts.entry((meta.file.clone(), meta.name.clone())).or_default() += 1;
    }
    let mut numbered: HashMap<(String, String), usize> = HashMap::new();
    for (key, meta, _) in suite.iter_mut() {
        let group = (meta.file.clone(), meta.name.clone());
        let (Some(cells), Some(&count)) = (examples.get(key), counts.get(&group)) else { continue };
        if count < 2 {
            continue;
        }
        let number = numbered.entry(group).or_default();
        *number += 1;
        let cells = match cells.char_indices().nth(ROW_IN_NAME) {
            Some((at, _)) => format!("{}…", &cells[..at]),
            None => cells.clone(),
        };
        meta.name = format!("{} (example #{number}: {cells})", meta.name);
    }
}

/// Deselects every scenario `only` does not name. Each scenario it names must be in the suite
/// under the same id and name: a report of other feature files (or of features edited since)
/// names scenarios this run cannot find, and re-running others in their place would mislead.
fn keep_only(suite: &mut [(Key, ScenarioMeta, bool)], only: &super::Only) -> Result<(), RunError> {
    let names: HashMap<&str, &str> = suite.iter().map(|(_, m, _)| (m.id.as_str(), m.name.as_str())).collect();
    for (id, name) in &only.scenarios {
        match names.get(id.as_str()) {
            Some(found) if found == name => {}
            Some(found) => {
                return Err(RunError::Usage(format!(
                    "{} names scenario {id} {name:?}, but in these features {id} is {found:?}: \
                     the features changed since that run; run them all",
                    only.source
                )));
            }
            None => {
                return Err(RunError::Usage(format!(
                    "{} names scenario {id} {name:?}, which these features do not hold: \
                     the features changed since that run, or the report is of other features",
                    only.source
                )));
            }
        }
    }
    let wanted: std::collections::HashSet<&str> = only.scenarios.iter().map(|(id, _)| id.as_str()).collect();
    for (_, meta, selected) in suite.iter_mut() {
        *selected &= wanted.contains(meta.id.as_str());
    }
    Ok(())
}

/// Parses the features and selects the run's scenarios.
pub(crate) fn select(options: &RunOptions) -> Result<Selection, RunError> {
    let tag_filter = match &options.tags {
        Some(expr) => Some(
            TagOperation::from_str(expr)
                .map_err(|e| RunError::Tags { expr: expr.clone(), reason: e.to_string() })?,
        ),
        None => None,
    };
    let Parsed { features: parsed, display_root } = match &options.features {
        FeatureSource::Folder(folder) => parse_folder(folder)?,
        FeatureSource::Embedded(embedded) => parse_embedded(embedded)?,
    };

    // Every scenario of the suite in file and line order, and whether the tags select it.
    let mut suite: Vec<(Key, ScenarioMeta, bool)> = Vec::new();
    // The cells of each outline row, by its key.
    let mut examples: HashMap<Key, String> = HashMap::new();
    for (feature, file) in &parsed {
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
            let row = scenario.examples.first().and_then(|e| e.table.as_ref()).and_then(|t| t.rows.get(1));
            if let Some(cells) = row {
                examples.insert(key(feature, scenario), cells.join(", "));
            }
            suite.push((key(feature, scenario), meta, selected));
        }
    }
    suite.sort_by(|a, b| (&a.1.file, a.0.1, a.0.2).cmp(&(&b.1.file, b.0.1, b.0.2)));
    name_outline_rows(&mut suite, &examples);
    if let Some(only) = &options.only {
        keep_only(&mut suite, only)?;
    }
    let mut features: Vec<gherkin::Feature> = parsed.into_iter().map(|(feature, _)| feature).collect();

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
            (_, _) if options.only.as_ref().is_some_and(|only| only.scenarios.is_empty()) => {
                "the report to re-run has no failed scenario".to_string()
            }
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

/// The selected scenarios that `keep` keeps, split round-robin (in file and line order) into at
/// most `parts` parts of features and scenario metadata; no part is empty. In each part the
/// features that wait in real time come first, the others after them in file order.
pub(crate) fn split(
    selection: &Selection,
    parts: usize,
    keep: &dyn Fn(&ScenarioMeta) -> bool,
) -> Vec<(Vec<gherkin::Feature>, HashMap<Key, ScenarioMeta>)> {
    let parts = parts.max(1);
    let mut keys: Vec<(&Key, &ScenarioMeta)> =
        selection.scenarios.iter().filter(|(_, meta)| keep(meta)).collect();
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
    for (features, _) in &mut out {
        // Stable: the rest keep file order.
        features.sort_by_key(|feature| !waits_in_real_time(feature));
    }
    out
}

/// Whether any step of `feature` (its backgrounds' included) waits in real time
/// ([`suite::schedule`]): such features run first.
fn waits_in_real_time(feature: &gherkin::Feature) -> bool {
    let rule_backgrounds = feature.rules.iter().flat_map(|r| &r.background);
    let backgrounds = feature.background.iter().chain(rule_backgrounds).flat_map(|b| &b.steps);
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| &r.scenarios))
        .flat_map(|s| &s.steps);
    backgrounds.chain(scenarios).any(|step| suite::schedule::waits_in_real_time(&step.value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

    use super::*;

    const ENROLL: &str = "@ENR\nFeature: Enrol\n\n  @must\n  Scenario: One\n    Given a device\n\n  \
                          Scenario Outline: Two <n>\n    Given a device\n\n    Examples:\n      | n |\n      \
                          | 1 |\n      | 2 |\n";
    const NESTED: &str = "Feature: Nested\n  Rule: R\n    Scenario: Three\n      Given a device\n";
    static FILES: &[EmbeddedFile] = &[
        EmbeddedFile { path: "sub/nested.feature", text: NESTED },
        EmbeddedFile { path: "enroll.feature", text: ENROLL },
    ];

    /// What a report says of a scenario: id, file, line, seed, tags.
    type Named = (String, String, usize, u64, Vec<String>);

    /// What a report says of each scenario, and which scenarios a shard holds.
    fn summary(source: FeatureSource, shard: &str) -> (Vec<Named>, Vec<String>) {
        let mut options = RunOptions::new(source);
        options.seed = 7;
        let whole = select(&options).expect("the features select");
        options.shard = Some(shard.parse().expect("a shard"));
        let part = select(&options).expect("the shard selects");
        let mut ids: Vec<String> = part.scenarios.values().map(|m| m.id.clone()).collect();
        ids.sort();
        (whole.suite.into_iter().map(|m| (m.id, m.file, m.line, m.seed, m.tags)).collect(), ids)
    }

    /// Rows of an outline whose name has no placeholder get their number and cells, counted over
    /// the whole suite, so a row has the same name whatever `--tags` selects.
    #[test]
    fn outline_rows_are_named_by_their_number_and_cells_whatever_is_selected() {
        static ROWS: &[EmbeddedFile] = &[EmbeddedFile {
            path: "rows.feature",
            text: "Feature: Rows\n\n  Scenario Outline: Same\n    Given a <thing>\n\n    Examples:\n      \
                   | thing |\n      | key |\n\n    @only\n    Examples:\n      | thing |\n      | lock |\n",
        }];
        let names = |tags: Option<&str>| {
            let mut options = RunOptions::new(EmbeddedFeatures { root: "features", files: ROWS });
            options.tags = tags.map(str::to_string);
            let selection = select(&options).expect("the rows select");
            let mut names: Vec<String> = selection.scenarios.values().map(|m| m.name.clone()).collect();
            names.sort();
            names
        };
        assert_eq!(names(None), ["Same (example #1: key)", "Same (example #2: lock)"]);
        assert_eq!(names(Some("@only")), ["Same (example #2: lock)"]);
    }

    #[test]
    fn embedded_files_are_named_as_the_folder_they_came_from() {
        let dir = std::env::temp_dir().join(format!("mobauth-runner-selection-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("features/sub")).expect("a scratch folder");
        for file in FILES {
            std::fs::write(dir.join("features").join(file.path), file.text).expect("a fixture file");
        }
        let folder = dir.join("features");
        // Embedded files are named under the folder as given: here the scratch folder's path
        // (a test process may not change its working folder to give `features`). Leaked once,
        // as the binary's own names are `'static`.
        let root: &'static str = folder.display().to_string().leak();
        let on_disk = summary(FeatureSource::Folder(folder.clone()), "2/2");
        let embedded = summary(EmbeddedFeatures { root, files: FILES }.into(), "2/2");
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(embedded, on_disk);
        let ids: Vec<&str> = embedded.0.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            ids,
            [
                format!("{root}/enroll.feature:5"),
                format!("{root}/enroll.feature:13"),
                format!("{root}/enroll.feature:14"),
                format!("{root}/sub/nested.feature:3"),
            ]
        );
        assert_eq!(embedded.1, [format!("{root}/enroll.feature:13"), format!("{root}/sub/nested.feature:3")]);
    }

    #[test]
    fn a_broken_embedded_file_is_named() {
        static BROKEN: &[EmbeddedFile] = &[EmbeddedFile {
            path: "bad.feature",
            text: "Scenario: outside any feature\n  Given a device\n",
        }];
        let options = RunOptions::new(EmbeddedFeatures { root: "features", files: BROKEN });
        match select(&options) {
            Err(RunError::Features { path, reason }) => {
                assert_eq!(path, "features (built into this binary)");
                assert!(reason.starts_with("features/bad.feature: "), "{reason}");
            }
            other => panic!("expected a features error, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_embedded_suite_is_refused() {
        let options = RunOptions::new(EmbeddedFeatures { root: "features", files: &[] });
        match select(&options) {
            Err(RunError::Features { reason, .. }) => {
                assert_eq!(reason, "this binary was built without .feature files");
            }
            other => panic!("expected a features error, got {other:?}"),
        }
    }

    /// Each phrase the schedule knows still starts a step of the suite's features, so a
    /// rephrased step cannot quietly drop its scenarios back to file order.
    #[test]
    fn every_waiting_phrase_starts_a_step_of_the_suite() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../features");
        let selection = select(&RunOptions::new(folder)).expect("the suite's features select");
        let steps: Vec<&str> = selection
            .features
            .iter()
            .flat_map(|f| {
                f.background.iter().flat_map(|b| &b.steps).chain(f.scenarios.iter().flat_map(|s| &s.steps))
            })
            .map(|step| step.value.as_str())
            .collect();
        for phrase in suite::schedule::waiting_phrases() {
            assert!(
                steps.iter().any(|step| step.starts_with(phrase)),
                "no step of the suite starts {phrase:?}"
            );
        }
    }

    /// In every part, a feature with a step that waits in real time comes before the others,
    /// which keep file order; each part still holds its round-robin share of the scenarios.
    #[test]
    fn features_that_wait_in_real_time_run_first() {
        static ORDER: &[EmbeddedFile] = &[
            EmbeddedFile {
                path: "a.feature",
                text: "Feature: A\n  Scenario: A1\n    Given a device\n  Scenario: A2\n    Given a device\n",
            },
            EmbeddedFile {
                path: "b.feature",
                text: "Feature: B\n  Scenario: B1\n    Given a device\n  Scenario: B2\n    Given a device\n",
            },
            EmbeddedFile {
                path: "c.feature",
                text: "Feature: C\n  Background:\n    Given a device driver\n  Scenario: C1\n    Given a device\n  \
                       Scenario: C2\n    Given a device\n",
            },
        ];
        let selection = select(&RunOptions::new(EmbeddedFeatures { root: "features", files: ORDER }))
            .expect("the fixture selects");
        let parts: Vec<(Vec<String>, usize)> = split(&selection, 2, &|_| true)
            .into_iter()
            .map(|(features, meta)| (features.into_iter().map(|f| f.name).collect(), meta.len()))
            .collect();
        let names = |list: &[&str]| list.iter().map(|n| (*n).to_string()).collect::<Vec<_>>();
        assert_eq!(parts, [(names(&["C", "A", "B"]), 3), (names(&["C", "A", "B"]), 3)]);
    }
}
