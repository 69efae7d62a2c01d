//! Cucumber Messages (<https://github.com/cucumber/messages>), the NDJSON stream cucumber's own
//! tools read (the official HTML formatter, cucumber's query library, report services): one
//! envelope a line, in the order a cucumber run emits them: `meta`, a `gherkinDocument` per
//! feature file, a `pickle` per scenario, `testRunStarted`, a `testCase` per scenario, then each
//! scenario's `testCaseStarted`, `testStepStarted`/`testStepFinished` per step (with its
//! attachments between them) and `testCaseFinished`, and `testRunFinished`.
//!
//! The stream is made from the report model alone and says only what the model knows:
//! - no `source` envelope and no step arguments: the model keeps no feature text, docstring or
//!   table; the `gherkinDocument`s are the model's view of the files (each scenario, an outline's
//!   row included, as a scenario of its own with every step it ran, background steps included,
//!   and every tag that applies to it, as the pickles have them);
//! - no `stepDefinition`: the model does not keep which definition matched a step;
//! - the model keeps durations, not start times (scenarios run side by side), so each test case's
//!   timestamps count from the run's start: every step and case lasts as long as it did, but its
//!   place in the run is not where it ran;
//! - `meta` names mobauth and its version; the model does not record the machine a run was on,
//!   so `os` and `cpu` are `unknown` (the schema requires them).
//!
//! Step statuses are cucumber's view, as in Cucumber JSON: a failed step is `FAILED` even when the
//! expectations file lists it, and the step that found the target lacking a capability (or the
//! driver an operation) is `SKIPPED`. A scenario that failed outside its steps (a hook, or a
//! scenario that never finished) gets one more test step, bound to a `hook`, that carries its
//! failure, so no such scenario shows as passed. `testRunFinished.success` is the gate's
//! decision. Ids are the scenario ids with a prefix per kind (`pickle:features/x.feature:12`),
//! so they are unique in the stream and the same on every run of the same scenarios.
//!
//! Each step's HTTP exchanges are `text/plain` attachments of its test step and each scanned QR
//! code an image attachment, as the HTML page shows them. Everything comes from the report's
//! scrubbed model (failure messages, exchanges, images), as in the other formats.

use std::fmt::Write as _;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::listed;
use crate::{ExchangeRecord, Outcome, Report, ScenarioResult, StepResult, StepStatus};

/// The Cucumber Messages version whose schemas the envelopes follow (the schemas vendored in
/// `report/schemas/cucumber-messages`).
pub const PROTOCOL_VERSION: &str = "34.2.1";

/// The `hook` a scenario's failure outside its steps is bound to.
const HOOK_ID: &str = "hook:outside-steps";
/// The test run's id.
const RUN_ID: &str = "test-run";

/// A `Timestamp` message.
fn timestamp(at: OffsetDateTime) -> Value {
    json!({ "seconds": at.unix_timestamp(), "nanos": at.nanosecond() })
}

/// A `Duration` message of `ms` milliseconds.
fn duration(ms: u64) -> Value {
    json!({ "seconds": ms / 1000, "nanos": (ms % 1000) * 1_000_000 })
}

/// `at` plus `ms` milliseconds (saturating at the end of time).
fn later(at: OffsetDateTime, ms: u64) -> OffsetDateTime {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    at.checked_add(time::Duration::milliseconds(ms)).unwrap_or(at)
}

/// The Gherkin `keywordType` of a keyword as written (`Given `, `And `, ...); `Unknown` for `* `
/// and for keywords of other languages.
fn keyword_type(keyword: &str) -> &'static str {
    match keyword.trim() {
        "Given" => "Context",
        "When" => "Action",
        "Then" => "Outcome",
        "And" | "But" => "Conjunction",
        _ => "Unknown",
    }
}

/// Each step's pickle `type`: its keyword's, a conjunction taking the one before it.
fn pickle_types(steps: &[StepResult]) -> Vec<&'static str> {
    let mut last = "Unknown";
    steps
        .iter()
        .map(|step| {
            match keyword_type(&step.keyword) {
                "Conjunction" => {}
                other => last = other,
            }
            last
        })
        .collect()
}

/// A step's result status, as cucumber sees it.
fn step_status(step: &StepResult, outcome: Outcome) -> &'static str {
    match (step.status, outcome) {
        (StepStatus::Passed, _) => "PASSED",
        (StepStatus::Failed, Outcome::NotApplicable | Outcome::NotImplemented) => "SKIPPED",
        (StepStatus::Failed, _) => "FAILED",
        (StepStatus::Undefined, _) => "UNDEFINED",
        (StepStatus::NotRun, _) => "SKIPPED",
    }
}

/// The status of a scenario's failure outside its steps, when it has one: its outcome is not a
/// pass, yet no step failed or lacked a definition.
fn outside_steps(scenario: &ScenarioResult) -> Option<&'static str> {
    let told = scenario.steps.iter().any(|s| matches!(s.status, StepStatus::Failed | StepStatus::Undefined));
    match scenario.outcome {
        _ if told => None,
        Outcome::Passed => None,
        Outcome::NotApplicable | Outcome::NotImplemented => Some("SKIPPED"),
        Outcome::Failed | Outcome::HarnessError => Some("FAILED"),
    }
}

/// What a test case runs, in order.
#[derive(Clone, Copy)]
enum TestStep<'a> {
    /// The scenario's step of this index.
    Step(usize, &'a StepResult),
    /// The scenario's failure outside its steps.
    Outside(&'static str),
}

/// The test steps of a scenario: its steps, and its failure outside them before them when no
/// step ran (a before hook) or after them otherwise.
fn test_steps(scenario: &ScenarioResult) -> Vec<TestStep<'_>> {
    let mut steps: Vec<TestStep<'_>> =
        scenario.steps.iter().enumerate().map(|(i, step)| TestStep::Step(i, step)).collect();
    if let Some(status) = outside_steps(scenario) {
        if scenario.steps.iter().all(|s| s.status == StepStatus::NotRun) {
            steps.insert(0, TestStep::Outside(status));
        } else {
            steps.push(TestStep::Outside(status));
        }
    }
    steps
}

/// The ids of one scenario's messages, each the scenario's key with a prefix per kind.
struct Ids<'a>(&'a str);

impl Ids<'_> {
    fn ast(&self) -> String {
        format!("scenario:{}", self.0)
    }
    fn ast_step(&self, i: usize) -> String {
        format!("scenario:{}:step:{i}", self.0)
    }
    fn ast_tag(&self, i: usize) -> String {
        format!("scenario:{}:tag:{i}", self.0)
    }
    fn pickle(&self) -> String {
        format!("pickle:{}", self.0)
    }
    fn pickle_step(&self, i: usize) -> String {
        format!("pickle:{}:step:{i}", self.0)
    }
    fn test_case(&self) -> String {
        format!("test-case:{}", self.0)
    }
    fn test_step(&self, step: TestStep<'_>) -> String {
        match step {
            TestStep::Step(i, _) => format!("test-case:{}:step:{i}", self.0),
            TestStep::Outside(_) => format!("test-case:{}:outside-steps", self.0),
        }
    }
    fn started(&self) -> String {
        format!("test-case-started:{}", self.0)
    }
}

/// Each scenario's key: its id, with `#2`, `#3`, ... on repeats (a report's ids are unique, so
/// this only guards the stream's ids against a report that breaks that).
fn keys(report: &Report) -> Vec<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    report
        .scenarios
        .iter()
        .map(|scenario| {
            let count = seen.entry(scenario.id.as_str()).or_insert(0);
            *count += 1;
            if *count == 1 { scenario.id.clone() } else { format!("{}#{count}", scenario.id) }
        })
        .collect()
}

fn location(line: usize) -> Value {
    json!({ "line": line })
}

/// The scenario as the gherkinDocument's node.
fn ast_scenario(scenario: &ScenarioResult, ids: &Ids<'_>) -> Value {
    let tags: Vec<Value> = scenario
        .tags
        .iter()
        .enumerate()
        .map(|(i, tag)| json!({ "location": location(scenario.line), "name": format!("@{tag}"), "id": ids.ast_tag(i) }))
        .collect();
    let steps: Vec<Value> = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            json!({
                "location": location(step.line),
                "keyword": step.keyword,
                "keywordType": keyword_type(&step.keyword),
                "text": step.text,
                "id": ids.ast_step(i),
            })
        })
        .collect();
    json!({ "scenario": {
        "location": location(scenario.line),
        "tags": tags,
        "keyword": "Scenario",
        "name": scenario.name,
        "description": "",
        "steps": steps,
        "examples": [],
        "id": ids.ast(),
    }})
}

fn pickle(scenario: &ScenarioResult, ids: &Ids<'_>) -> Value {
    let steps: Vec<Value> = scenario
        .steps
        .iter()
        .zip(pickle_types(&scenario.steps))
        .enumerate()
        .map(|(i, (step, kind))| {
            json!({ "id": ids.pickle_step(i), "astNodeIds": [ids.ast_step(i)], "text": step.text, "type": kind })
        })
        .collect();
    let tags: Vec<Value> = scenario
        .tags
        .iter()
        .enumerate()
        .map(|(i, tag)| json!({ "name": format!("@{tag}"), "astNodeId": ids.ast_tag(i) }))
        .collect();
    json!({ "pickle": {
        "id": ids.pickle(),
        "uri": scenario.file,
        "location": location(scenario.line),
        "name": scenario.name,
        // The model keeps no language; the keywords are as written.
        "language": "en",
        "steps": steps,
        "tags": tags,
        "astNodeIds": [ids.ast()],
    }})
}

fn test_case(scenario: &ScenarioResult, ids: &Ids<'_>) -> Value {
    let steps: Vec<Value> = test_steps(scenario)
        .into_iter()
        .map(|step| match step {
            TestStep::Step(i, _) => json!({ "id": ids.test_step(step), "pickleStepId": ids.pickle_step(i) }),
            TestStep::Outside(_) => json!({ "id": ids.test_step(step), "hookId": HOOK_ID }),
        })
        .collect();
    json!({ "testCase": {
        "id": ids.test_case(),
        "pickleId": ids.pickle(),
        "testSteps": steps,
        "testRunStartedId": RUN_ID,
    }})
}

/// One HTTP exchange as text, for an attachment.
fn exchange_text(ex: &ExchangeRecord) -> String {
    let status = ex.status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let mut out = format!("{} {} -> {status} ({} ms)\n", ex.method, ex.url, ex.duration_ms);
    for (side, headers, body) in [
        ("request", &ex.request_headers, &ex.request_body),
        ("response", &ex.response_headers, &ex.response_body),
    ] {
        let _ = writeln!(out, "\n{side}");
        for header in headers {
            let _ = writeln!(out, "{}: {}", header.name, header.value);
        }
        if !body.is_empty() {
            let _ = writeln!(out, "\n{body}");
        }
    }
    out
}

/// The envelopes of one scenario's run, from `testCaseStarted` to `testCaseFinished`.
fn run_case(out: &mut Vec<Value>, scenario: &ScenarioResult, ids: &Ids<'_>, start: OffsetDateTime) {
    let started = ids.started();
    out.push(json!({ "testCaseStarted": {
        "id": started, "testCaseId": ids.test_case(), "attempt": 0, "timestamp": timestamp(start),
    }}));
    let image = |data: &str, media_type: &str, step: Option<String>| {
        let mut attachment = json!({
            "body": data, "contentEncoding": "BASE64", "mediaType": media_type, "testCaseStartedId": started,
        });
        if let Some(step) = step {
            attachment["testStepId"] = json!(step);
        }
        json!({ "attachment": attachment })
    };
    for qr in scenario.qr_images.iter().filter(|qr| qr.step.is_none()) {
        out.push(image(&qr.data_base64, &qr.media_type, None));
    }
    let mut at = start;
    for step in test_steps(scenario) {
        let id = ids.test_step(step);
        out.push(json!({ "testStepStarted": {
            "testCaseStartedId": started, "testStepId": id, "timestamp": timestamp(at),
        }}));
        let (ms, status, message) = match step {
            TestStep::Step(i, result) => {
                for ex in &result.exchanges {
                    out.push(json!({ "attachment": {
                        "body": exchange_text(ex), "contentEncoding": "IDENTITY", "mediaType": "text/plain",
                        "testCaseStartedId": started, "testStepId": id,
                    }}));
                }
                for qr in scenario.qr_images.iter().filter(|qr| qr.step == Some(i)) {
                    out.push(image(&qr.data_base64, &qr.media_type, Some(id.clone())));
                }
                (result.duration_ms, step_status(result, scenario.outcome), result.error.as_deref())
            }
            TestStep::Outside(status) => (0, status, scenario.message.as_deref()),
        };
        at = later(at, ms);
        let mut result = json!({ "duration": duration(ms), "status": status });
        if let Some(message) = message {
            result["message"] = json!(message);
        }
        out.push(json!({ "testStepFinished": {
            "testCaseStartedId": started, "testStepId": id, "testStepResult": result, "timestamp": timestamp(at),
        }}));
    }
    let end = later(start, scenario.duration_ms).max(at);
    out.push(json!({ "testCaseFinished": {
        "testCaseStartedId": started, "timestamp": timestamp(end), "willBeRetried": false,
    }}));
}

/// Every envelope of the report, in stream order.
fn envelopes(report: &Report) -> Vec<Value> {
    let run = &report.run;
    let keys = keys(report);
    let scenarios: Vec<(&ScenarioResult, Ids<'_>)> =
        report.scenarios.iter().zip(keys.iter().map(|k| Ids(k))).collect();
    let mut out = vec![json!({ "meta": {
        "protocolVersion": PROTOCOL_VERSION,
        "implementation": { "name": "mobauth", "version": run.suite_version },
        "runtime": { "name": "rust" },
        "os": { "name": "unknown" },
        "cpu": { "name": "unknown" },
    }})];
    let mut files: Vec<&str> = Vec::new();
    for (scenario, _) in &scenarios {
        if !files.contains(&scenario.file.as_str()) {
            files.push(&scenario.file);
        }
    }
    for file in files {
        let mine: Vec<&(&ScenarioResult, Ids<'_>)> =
            scenarios.iter().filter(|(s, _)| s.file == file).collect();
        let name = mine.first().map_or("", |(s, _)| s.feature.as_str());
        out.push(json!({ "gherkinDocument": {
            "uri": file,
            "feature": {
                // The model keeps no feature line; Cucumber JSON says 1 as well.
                "location": location(1),
                "tags": [],
                "language": "en",
                "keyword": "Feature",
                "name": name,
                "description": "",
                "children": mine.iter().map(|(s, ids)| ast_scenario(s, ids)).collect::<Vec<_>>(),
            },
            "comments": [],
        }}));
        out.extend(mine.iter().map(|(s, ids)| pickle(s, ids)));
    }
    if report.scenarios.iter().any(|s| outside_steps(s).is_some()) {
        out.push(json!({ "hook": {
            "id": HOOK_ID,
            "name": "the scenario outside its steps (its hooks, or a scenario that did not finish)",
            "sourceReference": {},
        }}));
    }
    out.push(json!({ "testRunStarted": { "timestamp": timestamp(run.started_at), "id": RUN_ID } }));
    out.extend(scenarios.iter().map(|(s, ids)| test_case(s, ids)));
    for (scenario, ids) in &scenarios {
        run_case(&mut out, scenario, ids, run.started_at);
    }
    let mut finished = json!({
        "success": report.gate.conformant, "timestamp": timestamp(run.finished_at), "testRunStartedId": RUN_ID,
    });
    if !report.gate.conformant {
        let (shown, more) = listed(&report.gate.reasons);
        let mut message = format!("not conformant (exit {})", report.gate.exit_code);
        for reason in shown {
            let _ = write!(message, "\n- {reason}");
        }
        if more > 0 {
            let _ = write!(message, "\n... and {more} more");
        }
        finished["message"] = json!(message);
    }
    out.push(json!({ "testRunFinished": finished }));
    out
}

/// The report as Cucumber Messages: one JSON envelope a line.
pub fn messages(report: &Report) -> String {
    // Straight into one buffer: `to_string` wrote each envelope through `Display`'s formatter
    // adapter into a `String` of its own, then copied it; the bytes are the same (`Display` of a
    // `Value` is `to_writer`'s compact JSON).
    let mut text = Vec::new();
    for envelope in envelopes(report) {
        // Writing a `Value` into a `Vec` cannot fail: its maps' keys are strings, and a `Vec`
        // takes every byte.
        let _ = serde_json::to_writer(&mut text, &envelope);
        text.push(b'\n');
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
