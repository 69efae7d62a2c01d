//! `mobauth list` and `mobauth run --dry-run`: what a run would run, without running it. Both
//! select exactly as `mobauth run` does (the runner's own [`runner::plan`]); the listing goes
//! to standard output, one line per scenario, requirement or tag (or one JSON document), and
//! counts go to standard error, so a pipe reads only the list.

use std::collections::BTreeMap;

use report::catalogue::Catalogue;
use report::{EXIT_CONFORMANT, EXIT_USAGE};
use runner::{FeatureSource, Plan, PlannedScenario, RunOptions, TargetSpec};

use crate::cli::{SelectArgs, usage};

/// What `mobauth list` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListWhat {
    /// Each selected scenario: its id, level, requirements, name and tags.
    Scenarios,
    /// Each requirement of docs/PROTOCOL.md: its level, area and how many selected scenarios test it.
    Requirements,
    /// Each tag of the selected scenarios, with how many carry it.
    Tags,
}

/// How `mobauth list` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for a person, one item a line (tags with their `@`).
    Text,
    /// One JSON array.
    Json,
}

/// `mobauth list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum, default_value_t = ListWhat::Scenarios)]
    pub what: ListWhat,
    #[command(flatten)]
    pub select: SelectArgs,
    /// How to write the list.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Runs `mobauth list` and returns the exit code: 0, or 2 for a usage error (features that do
/// not parse, a bad tag expression, a selection of nothing).
pub fn list(args: ListArgs) -> u8 {
    let mut options =
        RunOptions::new(args.select.features.map_or_else(crate::features::embedded, FeatureSource::Folder));
    options.tags = args.select.tags;
    options.shard = args.select.shard;
    let plan = match runner::plan(&options) {
        Ok(plan) => plan,
        Err(e) => return usage(&e.to_string()),
    };
    let text = match (args.what, args.format) {
        (ListWhat::Scenarios, ListFormat::Text) => scenarios_text(&plan.scenarios),
        (ListWhat::Scenarios, ListFormat::Json) => json(&plan.scenarios),
        (ListWhat::Requirements, format) => match Catalogue::embedded() {
            Ok(catalogue) => requirements(&catalogue, &plan, format),
            Err(e) => return usage(&e.to_string()),
        },
        (ListWhat::Tags, format) => tags(&plan, format),
    };
    crate::output::stdout(&text);
    eprintln!("mobauth: {} of the suite's {} scenarios selected", plan.scenarios.len(), plan.suite_scenarios);
    EXIT_CONFORMANT
}

/// Runs `mobauth run --dry-run` with the options the run would have: lists what would run, and
/// exits 2 when a step matches no definition or several, or the target is misdescribed.
pub fn dry_run(options: &RunOptions) -> u8 {
    let target = match &options.target {
        TargetSpec::Embedded => Ok("the embedded mock Token Server".to_string()),
        TargetSpec::Url(url) => {
            peers::target::TargetFile::for_url(url).map(|file| format!("the server at {}", file.base_url))
        }
        TargetSpec::File(path) => peers::target::TargetFile::load(path)
            .map(|file| format!("the server at {} (target file {})", file.base_url, path.display())),
    };
    let target = match target {
        Ok(target) => target,
        Err(e) => return usage(&e.to_string()),
    };
    let plan = match runner::plan(options) {
        Ok(plan) => plan,
        Err(e) => return usage(&e.to_string()),
    };
    crate::output::stdout(&scenarios_text(&plan.scenarios));
    for step in &plan.unmatched {
        let problem = match step.matches {
            0 => "matches no step definition".to_string(),
            n => format!("matches {n} step definitions"),
        };
        eprintln!(
            "mobauth: {}:{}: \"{}\" {problem} (scenario {})",
            step.file, step.line, step.step, step.scenario
        );
    }
    eprintln!(
        "mobauth: dry run: {} of the suite's {} scenarios would run against {target}; nothing was contacted",
        plan.scenarios.len(),
        plan.suite_scenarios
    );
    if plan.unmatched.is_empty() {
        EXIT_CONFORMANT
    } else {
        eprintln!("mobauth: {} steps cannot run as written", plan.unmatched.len());
        EXIT_USAGE
    }
}

/// One line per scenario: id, level, requirements, name, tags, in aligned columns.
fn scenarios_text(scenarios: &[PlannedScenario]) -> String {
    let id_width = scenarios.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let requirements: Vec<String> = scenarios.iter().map(|s| s.requirements.join(",")).collect();
    let req_width = requirements.iter().map(String::len).max().unwrap_or(0);
    scenarios
        .iter()
        .zip(&requirements)
        .map(|(s, reqs)| {
            let level = s.level.map_or("-", |level| level.as_str());
            let tags: Vec<String> = s.tags.iter().map(|t| format!("@{t}")).collect();
            format!("{:id_width$}  {level:6}  {reqs:req_width$}  {}  [{}]\n", s.id, s.name, tags.join(" "))
        })
        .collect()
}

fn requirements(catalogue: &Catalogue, plan: &Plan, format: ListFormat) -> String {
    #[derive(serde::Serialize)]
    struct Listed<'a> {
        id: &'a str,
        level: report::catalogue::Level,
        area: &'a str,
        text: &'a str,
        scenarios: Vec<&'a str>,
    }
    let listed: Vec<Listed<'_>> = catalogue
        .requirements()
        .iter()
        .map(|r| Listed {
            id: &r.id,
            level: r.level,
            area: &r.area,
            text: &r.text,
            scenarios: plan
                .scenarios
                .iter()
                .filter(|s| s.requirements.contains(&r.id))
                .map(|s| s.id.as_str())
                .collect(),
        })
        .collect();
    match format {
        ListFormat::Json => json(&listed),
        ListFormat::Text => {
            let width = listed.iter().map(|r| r.id.len()).max().unwrap_or(0);
            listed
                .iter()
                .map(|r| {
                    let count = match r.scenarios.len() {
                        1 => "1 scenario".to_string(),
                        n => format!("{n} scenarios"),
                    };
                    format!("{:width$}  {:6}  {count:>13}  {}\n", r.id, r.level.as_str(), r.text)
                })
                .collect()
        }
    }
}

fn tags(plan: &Plan, format: ListFormat) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for tag in plan.scenarios.iter().flat_map(|s| &s.tags) {
        *counts.entry(tag).or_default() += 1;
    }
    match format {
        ListFormat::Json => json(
            &counts
                .iter()
                .map(|(tag, scenarios)| serde_json::json!({ "tag": tag, "scenarios": scenarios }))
                .collect::<Vec<_>>(),
        ),
        ListFormat::Text => {
            let width = counts.keys().map(|t| t.len() + 1).max().unwrap_or(0);
            counts.iter().map(|(tag, n)| format!("{:width$}  {n}\n", format!("@{tag}"))).collect()
        }
    }
}

fn json(value: &impl serde::Serialize) -> String {
    let mut text =
        serde_json::to_string_pretty(value).expect("a listing is plain data: strings, numbers and lists");
    text.push('\n');
    text
}
