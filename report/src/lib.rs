//! The conformance report: one model, fed by a run's events, from which every output is written.
//!
//! A [`Report`] holds the run's metadata, each scenario with its steps, their durations, the HTTP
//! exchanges of each step and the QR images scanned, the outcome of each scenario, the
//! expectations file's entries, a verdict per requirement of the catalogue and the gate.
//!
//! The parts that follow from others (scenario verdicts after expectations, the expectations'
//! status, requirement verdicts, the summary and the gate) are computed by [`Report::evaluate`],
//! which a run and a merge of shard reports both call, so a merged report is built exactly as an
//! unsharded one.
//!
//! The JSON form is versioned ([`SCHEMA_VERSION`]) and described by `docs/report.schema.json`.

pub mod catalogue;
pub mod diff;
pub mod expectations;
pub mod matrix;
pub mod merge;
pub mod summary;
pub mod write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use self::expectations::{Expectation, ExpectationStatus, Expectations, ExpectationsError, Pattern};
use crate::catalogue::{Catalogue, Level};

/// The version of the report's JSON form; it changes when a field is removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 2;

/// The exit code of a run that conforms.
pub const EXIT_CONFORMANT: u8 = 0;
/// The exit code when a MUST requirement failed or a result was unexpected.
pub const EXIT_NOT_CONFORMANT: u8 = 1;
/// The exit code of a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// The exit code when the target cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// The exit code when the harness itself broke in a scenario (a *harness error*): the run cannot
/// vouch for the target either way, and the defect is the harness's, not the target's.
pub const EXIT_HARNESS_ERROR: u8 = 4;

/// A whole conformance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// What ran, against what, when.
    pub run: RunInfo,
    /// The requirement groups, in the spec's order.
    pub areas: Vec<AreaInfo>,
    /// Every requirement of the catalogue with its verdict in this run.
    pub requirements: Vec<RequirementResult>,
    /// Every scenario that ran, by file and line.
    pub scenarios: Vec<ScenarioResult>,
    /// The expectations file's entries and what became of them.
    pub expectations: Vec<ExpectationResult>,
    /// Counts of verdicts.
    pub summary: Summary,
    /// The gate's decision.
    pub gate: Gate,
}

/// Run metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The harness version (the suite is the one it was built with).
    pub suite_version: String,
    /// The server (and driver) under test.
    pub target: TargetInfo,
    /// The run seed: the same seed, features and target repeat a run exactly.
    pub seed: u64,
    /// The tag expression that selected scenarios, if any.
    pub tags: Option<String>,
    /// The shard this run is, if it is one.
    pub shard: Option<Shard>,
    /// Whether failed SHOULD requirements count against the gate.
    pub strict: bool,
    /// The features folder as given.
    pub features: String,
    /// How many scenarios the feature files hold, before tags and shards select.
    pub suite_scenarios: usize,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
}

/// What a run was pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `embedded` (an in-process mock server per scenario) or `url`.
    pub kind: String,
    /// A sentence for humans.
    pub description: String,
    /// A short name of the server under test, a row of the compatibility matrix: `embedded`, or
    /// the target file's `name` (the URL when it has none).
    #[serde(default)]
    pub server: String,
    /// A short name of the device under test, a column of the compatibility matrix: `simulated`,
    /// or the device driver's `name version` from its `hello`.
    #[serde(default)]
    pub device: String,
}

/// One of `count` deterministic parts of a run: scenario `i` (in file and line order, after the
/// tag filter) belongs to shard `i % count + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Whether scenario number `position` (0-based, in run order) belongs to this shard.
    pub fn contains(self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a `--shard` value is not `K/N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shard is K/N with 1 <= K <= N, e.g. 2/4; got {0:?}")]
pub struct ShardError(pub String);

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ShardError(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(error)?;
        let index: u32 = k.trim().parse().map_err(|_| error())?;
        let count: u32 = n.trim().parse().map_err(|_| error())?;
        if index == 0 || count == 0 || index > count {
            return Err(error());
        }
        Ok(Shard { index, count })
    }
}

/// A requirement group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaInfo {
    /// The IDs' prefix, e.g. `ENR`.
    pub prefix: String,
    /// The spec's title for it.
    pub title: String,
}

/// What became of a scenario, or of a requirement through its scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The harness itself broke (a panic in its own code, a step without a definition): says
    /// nothing about the target.
    HarnessError,
    /// It failed and the expectations file does not say it would.
    Failed,
    /// It passed, but the expectations file says it would fail.
    UnexpectedPass,
    /// It failed, as the expectations file says it would.
    ExpectedFailure,
    /// The device driver answered `unimplemented` for an operation it needs.
    NotImplemented,
    /// The target lacks a capability it needs.
    NotApplicable,
    /// It passed.
    Passed,
    /// No scenario of it ran (requirements only).
    NotRun,
}

impl Verdict {
    /// Every verdict, worst first (the order of [`Ord`]).
    pub const ALL: [Verdict; 8] = [
        Verdict::HarnessError,
        Verdict::Failed,
        Verdict::UnexpectedPass,
        Verdict::ExpectedFailure,
        Verdict::NotImplemented,
        Verdict::NotApplicable,
        Verdict::Passed,
        Verdict::NotRun,
    ];

    /// The JSON name, e.g. `not_applicable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::HarnessError => "harness_error",
            Verdict::Failed => "failed",
            Verdict::UnexpectedPass => "unexpected_pass",
            Verdict::ExpectedFailure => "expected_failure",
            Verdict::NotImplemented => "not_implemented",
            Verdict::NotApplicable => "not_applicable",
            Verdict::Passed => "passed",
            Verdict::NotRun => "not_run",
        }
    }

    /// Words for humans, e.g. `not applicable`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::HarnessError => "harness error",
            Verdict::Failed => "failed",
            Verdict::UnexpectedPass => "unexpected pass",
            Verdict::ExpectedFailure => "expected failure",
            Verdict::NotImplemented => "not implemented",
            Verdict::NotApplicable => "not applicable",
            Verdict::Passed => "passed",
            Verdict::NotRun => "not run",
        }
    }

    /// Whether this verdict is bad news by itself (a failure or a surprise).
    pub fn is_problem(self) -> bool {
        matches!(self, Verdict::HarnessError | Verdict::Failed | Verdict::UnexpectedPass)
    }

    /// Whether a scenario with this verdict ran but is not counted against the target: a listed
    /// known failure, or a scenario the target or its driver cannot take part in.
    pub fn is_uncounted(self) -> bool {
        matches!(self, Verdict::ExpectedFailure | Verdict::NotApplicable | Verdict::NotImplemented)
    }
}

/// What a scenario did, before the expectations file is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step passed.
    Passed,
    /// A step or a hook failed, or a step has no definition.
    Failed,
    /// The target lacks a capability the scenario needs.
    NotApplicable,
    /// The driver does not implement an operation the scenario needs.
    NotImplemented,
    /// The harness itself broke: a panic in its own code, or a step without a definition.
    HarnessError,
}

impl Outcome {
    /// The verdict of this outcome when no expectation applies.
    pub fn verdict(self) -> Verdict {
        match self {
            Outcome::Passed => Verdict::Passed,
            Outcome::Failed => Verdict::Failed,
            Outcome::NotApplicable => Verdict::NotApplicable,
            Outcome::NotImplemented => Verdict::NotImplemented,
            Outcome::HarnessError => Verdict::HarnessError,
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// `FILE:LINE`, e.g. `features/enrollment.feature:7`.
    pub id: String,
    /// The feature file, under the features folder as given.
    pub file: String,
    /// The scenario's line (for an outline's example, the example row's).
    pub line: usize,
    /// The feature's name.
    pub feature: String,
    /// The scenario's name.
    pub name: String,
    /// Every tag that applies (feature, rule, scenario, examples), without `@`.
    pub tags: Vec<String>,
    /// The requirement IDs among the tags.
    pub requirements: Vec<String>,
    /// The level among the tags (`@must`/`@should`), if one.
    pub level: Option<Level>,
    /// The scenario's seed (derived from the run seed and its name).
    pub seed: u64,
    /// What it did.
    pub outcome: Outcome,
    /// Its verdict once the expectations file is applied.
    pub verdict: Verdict,
    /// Why it failed or did not apply: the failing step's message.
    pub message: Option<String>,
    /// The index in [`Report::expectations`] of the entry that matched it.
    pub expectation: Option<usize>,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// Its steps, background steps first; steps after a failure are `not_run`.
    pub steps: Vec<StepResult>,
    /// The QR images scanned in it.
    pub qr_images: Vec<QrImage>,
    /// The devices it named, in the order named, and which of them the device driver (the SDK
    /// under test) played; empty when it named none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceUse>,
}

/// A device a scenario named, and who played it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceUse {
    /// The name the scenario calls it by.
    pub name: String,
    /// Who played it.
    pub kind: DeviceKind,
}

/// Who plays a scenario's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The device driver: the SDK under test (`mobauth run --device-driver`).
    Driver,
    /// The harness's simulated device.
    Simulated,
}

/// What became of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// No step definition matches it (the scenario fails).
    Undefined,
    /// An earlier step failed, so it did not run.
    NotRun,
}

impl StepStatus {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Undefined => "undefined",
            StepStatus::NotRun => "not_run",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// `Given `, `When `, `Then `, `And `, `But ` or `* `, as written.
    pub keyword: String,
    /// The step's text.
    pub text: String,
    /// Its line in the feature file.
    pub line: usize,
    /// Whether it comes from a Background.
    pub background: bool,
    /// What became of it.
    pub status: StepStatus,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// The failure message.
    pub error: Option<String>,
    /// The HTTP exchanges it made, in order.
    pub exchanges: Vec<ExchangeRecord>,
}

/// One HTTP exchange, credentials and tokens redacted, bodies cut at a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Response status, or `null` when no response came.
    pub status: Option<u16>,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// Request headers.
    pub request_headers: Vec<Header>,
    /// Request body.
    pub request_body: String,
    /// Response headers.
    pub response_headers: Vec<Header>,
    /// Response body, or the transport error.
    pub response_body: String,
}

/// An HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Lower-case name.
    pub name: String,
    /// Value (redacted for credentials).
    pub value: String,
}

/// A QR image scanned in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrImage {
    /// The index in [`ScenarioResult::steps`] of the step that scanned it, when known.
    pub step: Option<usize>,
    /// The image's media type, `image/png` or `image/jpeg`.
    pub media_type: String,
    /// The image, base64 (standard alphabet, padded).
    pub data_base64: String,
}

/// A requirement's verdict in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementResult {
    /// `PREFIX-NNN`.
    pub id: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// The ID's prefix.
    pub area: String,
    /// The requirement's sentence.
    pub text: String,
    /// The worst verdict of its scenarios that ran, or `not_run`.
    pub verdict: Verdict,
    /// The ids of its scenarios that ran.
    pub scenarios: Vec<String>,
}

/// An expectations file's entry and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// The entry.
    #[serde(flatten)]
    pub entry: Expectation,
    /// What became of it.
    pub status: ExpectationStatus,
    /// Scenarios of this run it matched.
    pub matched: Vec<String>,
    /// Scenarios of the whole suite (every feature file, before tags and shards) it matches.
    pub suite_matches: usize,
}

/// Verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Harness errors (absent from reports written before the verdict existed).
    #[serde(default)]
    pub harness_error: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Not implemented.
    pub not_implemented: usize,
    /// Expected failure.
    pub expected_failure: usize,
    /// Unexpected pass.
    pub unexpected_pass: usize,
    /// Not run.
    pub not_run: usize,
}

impl Counts {
    /// Counts one more `verdict`.
    pub fn add(&mut self, verdict: Verdict) {
        *self.slot(verdict) += 1;
    }

    /// The count of `verdict`.
    pub fn get(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::HarnessError => self.harness_error,
            Verdict::Passed => self.passed,
            Verdict::Failed => self.failed,
            Verdict::NotApplicable => self.not_applicable,
            Verdict::NotImplemented => self.not_implemented,
            Verdict::ExpectedFailure => self.expected_failure,
            Verdict::UnexpectedPass => self.unexpected_pass,
            Verdict::NotRun => self.not_run,
        }
    }

    fn slot(&mut self, verdict: Verdict) -> &mut usize {
        match verdict {
            Verdict::HarnessError => &mut self.harness_error,
            Verdict::Passed => &mut self.passed,
            Verdict::Failed => &mut self.failed,
            Verdict::NotApplicable => &mut self.not_applicable,
            Verdict::NotImplemented => &mut self.not_implemented,
            Verdict::ExpectedFailure => &mut self.expected_failure,
            Verdict::UnexpectedPass => &mut self.unexpected_pass,
            Verdict::NotRun => &mut self.not_run,
        }
    }

    /// The sum of every count.
    pub fn total(&self) -> usize {
        Verdict::ALL.iter().map(|&v| self.get(v)).sum()
    }
}

/// Requirement counts of one area and level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaCounts {
    /// The area's prefix.
    pub area: String,
    /// The level.
    pub level: Level,
    /// Requirement verdicts.
    pub counts: Counts,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario verdicts.
    pub scenarios: Counts,
    /// Requirement verdicts.
    pub requirements: Counts,
    /// Requirement verdicts by area and level, in the spec's order (MUST before SHOULD).
    pub by_area: Vec<AreaCounts>,
}

/// The gate's decision (exit 0 or 1; usage errors and an unreachable target end a run before
/// there is a report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// [`EXIT_CONFORMANT`], [`EXIT_NOT_CONFORMANT`] or [`EXIT_HARNESS_ERROR`].
    pub exit_code: u8,
    /// Whether the target conforms.
    pub conformant: bool,
    /// Why it does not, one line each.
    pub reasons: Vec<String>,
}

impl Report {
    /// A report of `scenarios` (their `outcome`s set, verdicts not yet) against `catalogue`,
    /// applying `expectations`; `suite_matches` tells, for each expectation, how many scenarios
    /// of the whole suite it matches.
    pub fn new(
        run: RunInfo,
        catalogue: &Catalogue,
        mut scenarios: Vec<ScenarioResult>,
        expectations: &Expectations,
        suite_matches: &[usize],
    ) -> Self {
        scenarios.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let areas = catalogue
            .areas()
            .iter()
            .map(|a| AreaInfo { prefix: a.prefix.clone(), title: a.title.clone() })
            .collect();
        let requirements = catalogue
            .requirements()
            .iter()
            .map(|r| RequirementResult {
                id: r.id.clone(),
                level: r.level,
                area: r.area.clone(),
                text: r.text.clone(),
                verdict: Verdict::NotRun,
                scenarios: Vec::new(),
            })
            .collect();
        let expectations = expectations
            .entries()
            .iter()
            .enumerate()
            .map(|(i, entry)| ExpectationResult {
                entry: entry.clone(),
                status: ExpectationStatus::NotRun,
                matched: Vec::new(),
                suite_matches: suite_matches.get(i).copied().unwrap_or(0),
            })
            .collect();
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            run,
            areas,
            requirements,
            scenarios,
            expectations,
            summary: Summary::default(),
            gate: Gate::default(),
        };
        report.evaluate();
        report
    }

    /// Recomputes everything that follows from the scenarios' outcomes, the expectations'
    /// entries, the catalogue rows and `run.strict`: scenario verdicts, expectation status,
    /// requirement verdicts, the summary and the gate.
    pub fn evaluate(&mut self) {
        let today = self.run.started_at.date();
        self.apply_expectations(today);
        self.judge_requirements();
        self.summary = self.summarize();
        self.gate = self.judge_gate();
    }

    fn apply_expectations(&mut self, today: time::Date) {
        for scenario in &mut self.scenarios {
            scenario.expectation = None;
            scenario.verdict = scenario.outcome.verdict();
        }
        for (index, result) in self.expectations.iter_mut().enumerate() {
            result.matched.clear();
            let expired = result.entry.expires < today;
            let mut held = false;
            let mut passed = false;
            for scenario in &mut self.scenarios {
                if scenario.expectation.is_some() || !result.entry.pattern.matches(scenario) {
                    continue;
                }
                result.matched.push(scenario.id.clone());
                if expired {
                    continue;
                }
                match scenario.outcome {
                    Outcome::Failed => {
                        scenario.verdict = Verdict::ExpectedFailure;
                        scenario.expectation = Some(index);
                        held = true;
                    }
                    Outcome::Passed => {
                        scenario.verdict = Verdict::UnexpectedPass;
                        scenario.expectation = Some(index);
                        passed = true;
                    }
                    Outcome::NotApplicable | Outcome::NotImplemented | Outcome::HarnessError => {}
                }
            }
            result.status = if expired {
                ExpectationStatus::Expired
            } else if result.suite_matches == 0 && result.matched.is_empty() {
                ExpectationStatus::Unmatched
            } else if passed {
                ExpectationStatus::NowPasses
            } else if held {
                ExpectationStatus::Holds
            } else {
                ExpectationStatus::NotRun
            };
        }
    }

    fn judge_requirements(&mut self) {
        let mut by_id: BTreeMap<&str, (Verdict, Vec<String>)> = BTreeMap::new();
        for scenario in &self.scenarios {
            for id in &scenario.requirements {
                let slot = by_id.entry(id.as_str()).or_insert((Verdict::NotRun, Vec::new()));
                slot.0 = slot.0.min(scenario.verdict);
                slot.1.push(scenario.id.clone());
            }
        }
        for requirement in &mut self.requirements {
            let (verdict, scenarios) =
                by_id.remove(requirement.id.as_str()).unwrap_or((Verdict::NotRun, Vec::new()));
            requirement.verdict = verdict;
            requirement.scenarios = scenarios;
        }
    }

    fn summarize(&self) -> Summary {
        let mut summary = Summary::default();
        for scenario in &self.scenarios {
            summary.scenarios.add(scenario.verdict);
        }
        for area in &self.areas {
            for level in [Level::Must, Level::Should] {
                let mut counts = Counts::default();
                for requirement in
                    self.requirements.iter().filter(|r| r.area == area.prefix && r.level == level)
                {
                    counts.add(requirement.verdict);
                }
                if counts.total() > 0 {
                    summary.by_area.push(AreaCounts { area: area.prefix.clone(), level, counts });
                }
            }
        }
        for requirement in &self.requirements {
            summary.requirements.add(requirement.verdict);
        }
        summary
    }

    /// The level a scenario is judged at: its tag, else the strictest of its requirements'
    /// levels, else MUST (an untagged failure is never waved through).
    pub fn scenario_level(&self, scenario: &ScenarioResult) -> Level {
        if let Some(level) = scenario.level {
            return level;
        }
        scenario
            .requirements
            .iter()
            .filter_map(|id| self.requirements.iter().find(|r| &r.id == id).map(|r| r.level))
            .min()
            .unwrap_or(Level::Must)
    }

    fn judge_gate(&self) -> Gate {
        let mut reasons = Vec::new();
        let mut harness_errors = false;
        for scenario in &self.scenarios {
            let level = self.scenario_level(scenario);
            match scenario.verdict {
                Verdict::HarnessError => {
                    harness_errors = true;
                    reasons.push(format!(
                        "harness error (a defect of mobauth, not of the target): {} {}",
                        scenario.id, scenario.name
                    ));
                }
                Verdict::Failed if level == Level::Must || self.run.strict => {
                    reasons.push(format!("{level} scenario failed: {} {}", scenario.id, scenario.name));
                }
                Verdict::UnexpectedPass => {
                    reasons.push(format!(
                        "unexpected pass: {} {} (listed as a known failure)",
                        scenario.id, scenario.name
                    ));
                }
                _ => {}
            }
        }
        for result in &self.expectations {
            if let Some(problem) = result.status.problem() {
                reasons.push(format!("expectation {}: {problem}", result.entry.pattern));
            }
        }
        let conformant = reasons.is_empty();
        Gate {
            exit_code: if harness_errors {
                EXIT_HARNESS_ERROR
            } else if conformant {
                EXIT_CONFORMANT
            } else {
                EXIT_NOT_CONFORMANT
            },
            conformant,
            reasons,
        }
    }

    /// The requirement result with this ID.
    pub fn requirement(&self, id: &str) -> Option<&RequirementResult> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// The area's title.
    pub fn area_title<'a>(&'a self, prefix: &'a str) -> &'a str {
        self.areas.iter().find(|a| a.prefix == prefix).map_or(prefix, |a| a.title.as_str())
    }

    /// Wall time of the run, milliseconds.
    pub fn duration_ms(&self) -> u64 {
        let nanos = (self.run.finished_at - self.run.started_at).whole_milliseconds();
        u64::try_from(nanos).unwrap_or(0)
    }
}

/// A duration in whole milliseconds (saturating).
pub fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Reads a report.json (or the one in a folder).
pub fn load(path: &std::path::Path) -> Result<Report, String> {
    let file = if path.is_dir() { path.join(write::Format::Json.file_name()) } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    match value.get("schema_version").and_then(serde_json::Value::as_u64) {
        Some(version) if version == u64::from(SCHEMA_VERSION) => {}
        Some(version) => {
            return Err(format!(
                "{} has report schema version {version}; this mobauth reads version {SCHEMA_VERSION}",
                file.display()
            ));
        }
        None => return Err(format!("{} is not a mobauth report (no schema_version)", file.display())),
    }
    serde_json::from_value(value)
        .map_err(|e| format!("{} is not a valid mobauth report: {e}", file.display()))
}
