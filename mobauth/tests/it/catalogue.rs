//! The catalogue test: the requirement tags of `features/*.feature` against the requirement
//! tables of `docs/PROTOCOL.md`.
//!
//! Requirements are only the rows of tables headed `| ID | Level | Contract | Requirement |`; IDs
//! named in prose are explanation and are ignored. Every `@XXX-NNN` tag must name a requirement, a
//! scenario's level tag (`@must`/`@should`) must be the level of each ID it carries, and every MUST
//! row must name the wire-contract sections that fix it.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::collections::{BTreeMap, BTreeSet};

use report::catalogue::{Catalogue, Level, is_requirement_id as is_id};

const SPEC: &str = include_str!("../../../docs/PROTOCOL.md");
const FEATURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features");

/// `ID -> level`, from the requirement tables only (the library's parser, which the report uses too).
fn requirements(spec: &str) -> BTreeMap<String, Level> {
    let catalogue =
        Catalogue::parse(spec).unwrap_or_else(|e| panic!("the requirement tables are broken: {e}"));
    catalogue.requirements().iter().map(|r| (r.id.clone(), r.level)).collect()
}

/// A scenario (or an Examples block of an outline) with the tags that apply to it.
#[derive(Debug)]
struct Tagged {
    place: String,
    ids: BTreeSet<String>,
    levels: BTreeSet<Level>,
}

/// Tag sets of every scenario: the feature's tags, plus the scenario's, plus (for an outline)
/// each Examples block's, which Gherkin merges the same way.
fn tagged_scenarios(file: &str, text: &str) -> Vec<Tagged> {
    let mut out = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut feature_tags: Vec<String> = Vec::new();
    let mut outline: Option<(String, Vec<String>)> = None;
    let mut outline_has_examples = false;
    let flush_outline =
        |outline: &mut Option<(String, Vec<String>)>, has_examples: bool, out: &mut Vec<Tagged>| {
            if let Some((place, tags)) = outline.take()
                && !has_examples
            {
                out.push(tagged(place, &tags));
            }
        };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let place = format!("{file}:{}", n + 1);
        if line.starts_with('@') {
            pending.extend(line.split_whitespace().map(str::to_string));
        } else if line.starts_with("Feature:") {
            feature_tags = std::mem::take(&mut pending);
        } else if line.starts_with("Scenario Outline:") || line.starts_with("Scenario Template:") {
            flush_outline(&mut outline, outline_has_examples, &mut out);
            let tags = feature_tags.iter().cloned().chain(pending.drain(..)).collect();
            outline = Some((place, tags));
            outline_has_examples = false;
        } else if line.starts_with("Scenario:") || line.starts_with("Example:") {
            flush_outline(&mut outline, outline_has_examples, &mut out);
            let tags: Vec<String> = feature_tags.iter().cloned().chain(pending.drain(..)).collect();
            out.push(tagged(place, &tags));
        } else if line.starts_with("Examples:") || line.starts_with("Scenarios:") {
            let (_, outline_tags) = outline.as_ref().expect("Examples belong to a Scenario Outline");
            let tags: Vec<String> = outline_tags.iter().cloned().chain(pending.drain(..)).collect();
            out.push(tagged(place, &tags));
            outline_has_examples = true;
        } else if line.starts_with("Background:") || line.starts_with("Rule:") {
            pending.clear();
        }
    }
    flush_outline(&mut outline, outline_has_examples, &mut out);
    out
}

fn tagged(place: String, tags: &[String]) -> Tagged {
    let mut ids = BTreeSet::new();
    let mut levels = BTreeSet::new();
    for tag in tags {
        let name = tag.trim_start_matches('@');
        match name {
            "must" => {
                levels.insert(Level::Must);
            }
            "should" => {
                levels.insert(Level::Should);
            }
            _ if is_id(name) => {
                ids.insert(name.to_string());
            }
            _ => {}
        }
    }
    Tagged { place, ids, levels }
}

fn all_tagged() -> Vec<Tagged> {
    let mut files: Vec<_> = std::fs::read_dir(FEATURES_DIR)
        .expect("features/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "feature"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "features/ holds no .feature files");
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).expect("a feature file is readable");
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            tagged_scenarios(&name, &text)
        })
        .collect()
}

/// Spec IDs with no scenario.
fn uncovered(spec: &BTreeMap<String, Level>, scenarios: &[Tagged]) -> Vec<String> {
    let covered: BTreeSet<&String> = scenarios.iter().flat_map(|s| &s.ids).collect();
    spec.keys().filter(|id| !covered.contains(id)).cloned().collect()
}

#[test]
fn the_spec_has_requirement_tables() {
    let spec = requirements(SPEC);
    assert!(
        spec.len() > 100,
        "expected the spec's tables to hold over 100 requirements, found {}",
        spec.len()
    );
    assert_eq!(spec.get("ENR-001"), Some(&Level::Must));
    assert_eq!(spec.get("ENR-003"), Some(&Level::Should));
    // Prose mentions such as "ADM-010 to ADM-013" are not rows of their own.
    assert!(spec.keys().all(|id| is_id(id)));
}

#[test]
fn every_must_requirement_names_a_contract_section() {
    // Parsing already refuses a MUST row without sections; this says so explicitly, by ID.
    let catalogue =
        Catalogue::parse(SPEC).unwrap_or_else(|e| panic!("the requirement tables are broken: {e}"));
    let offenders: Vec<String> = catalogue
        .requirements()
        .iter()
        .filter(|r| {
            r.level == Level::Must
                && !r
                    .contract
                    .as_deref()
                    .is_some_and(|cell| report::catalogue::is_contract_sections(cell) && cell.contains('§'))
        })
        .map(|r| format!("{} ({:?})", r.id, r.contract))
        .collect();
    assert!(
        offenders.is_empty(),
        "MUST requirements of docs/PROTOCOL.md that name no wire-contract section: {}",
        offenders.join(", ")
    );
}

#[test]
fn every_scenario_tag_names_a_spec_requirement_with_its_level() {
    let spec = requirements(SPEC);
    let scenarios = all_tagged();
    let mut problems = Vec::new();
    for scenario in &scenarios {
        if scenario.ids.is_empty() {
            problems.push(format!("{}: no requirement ID tag", scenario.place));
        }
        if scenario.levels.len() != 1 {
            problems.push(format!(
                "{}: needs exactly one of @must/@should, has {:?}",
                scenario.place, scenario.levels
            ));
        }
        for id in &scenario.ids {
            match spec.get(id) {
                None => problems
                    .push(format!("{}: @{id} is not a requirement of docs/PROTOCOL.md", scenario.place)),
                Some(level) if !scenario.levels.contains(level) => problems.push(format!(
                    "{}: @{id} is {level:?} in the spec, but the scenario is tagged {:?}",
                    scenario.place, scenario.levels
                )),
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "catalogue problems:\n{}", problems.join("\n"));
}

#[test]
fn every_requirement_has_a_scenario() {
    let spec = requirements(SPEC);
    let scenarios = all_tagged();
    let missing = uncovered(&spec, &scenarios);
    assert!(
        missing.is_empty(),
        "{} of {} requirements of docs/PROTOCOL.md have no scenario tagged with their ID: {}",
        missing.len(),
        spec.len(),
        missing.join(" ")
    );
}

#[test]
fn the_tag_parser_merges_feature_scenario_and_examples_tags() {
    let text = "@ENR-001\nFeature: x\n\n  @must\n  Scenario: a\n    Given y\n\n  Scenario Outline: b\n    Given <z>\n\n    @REN-002 @must\n    Examples: one\n      | z |\n      | 1 |\n";
    let scenarios = tagged_scenarios("t.feature", text);
    let ids: Vec<Vec<&str>> = scenarios.iter().map(|s| s.ids.iter().map(String::as_str).collect()).collect();
    assert_eq!(ids, [vec!["ENR-001"], vec!["ENR-001", "REN-002"]]);
    assert!(scenarios.iter().all(|s| s.levels.contains(&Level::Must)));
}

#[test]
fn a_requirement_without_a_scenario_is_named() {
    let spec = requirements(
        "| ID | Level | Contract | Requirement |\n| --- | --- | --- | --- |\n| ENR-001 | MUST | §3.1 | a |\n| XYZ-001 | SHOULD | — | b |\n",
    );
    let scenarios =
        tagged_scenarios("t.feature", "Feature: x\n\n  @ENR-001 @must\n  Scenario: a\n    Given y\n");
    assert_eq!(uncovered(&spec, &scenarios), ["XYZ-001"]);
}
