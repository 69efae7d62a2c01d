//! The report formats against the published definitions their readers go by: every envelope of
//! `--format ndjson` against the Cucumber Messages JSON schemas (`report/schemas/cucumber-messages`,
//! with boon), with ids that are unique, resolve and stay the same from run to run; `junit.xml`
//! against the Jenkins xUnit plugin's `junit-10.xsd` (`report/schemas/junit`, with `xmllint`, from
//! Debian's libxml2-utils); and the gate's reasons in the HTML page's banner and the Markdown
//! summary, a handful listed and the rest counted.
//!
//! The runs: the whole suite on the embedded default (every scenario passes), and the gate
//! fixture of `tests/fixtures/gate` with an expectations file, to which scenarios are added that a
//! healthy run has none of (not applicable, a failed hook, a step without a definition, a scenario
//! that never ran, scanned QR codes), so every verdict and step status goes through the writers.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use report::write::{self, Format};
use report::{Expectations, Outcome, QrImage, Report, ScenarioResult, StepStatus};
use runner::RunOptions;
use serde_json::{Value, json};

use crate::schema::violations;

const MESSAGES_SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../report/schemas/cucumber-messages");
const JUNIT_XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../report/schemas/junit/junit-10.xsd");
const ENVELOPE: &str = "https://cucumber.io/schema/Envelope.schema.json";

/// `runner::run` on a thread of its own: the runner may run steps on the thread that calls it, and
/// keeps that thread's panic messages off the terminal, so the test's own would not show.
fn run(options: RunOptions) -> Report {
    std::thread::spawn(move || runner::run(options))
        .join()
        .expect("the runner does not panic")
        .expect("the features run")
}

fn options(features: &str) -> RunOptions {
    let mut options = RunOptions::new(features);
    options.driver_command = Some(format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth")));
    options
}

/// The whole suite on the embedded default, run once for the tests that need it.
fn whole_suite() -> &'static Report {
    static RUN: OnceLock<Report> = OnceLock::new();
    RUN.get_or_init(|| run(options(concat!(env!("CARGO_MANIFEST_DIR"), "/../features"))))
}

/// The gate fixture with an expectations file that makes one failure expected and one pass
/// unexpected.
fn gate_run() -> Report {
    let mut options = options(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gate"));
    options.seed = 11;
    let entries = "[[expected_failure]]\nscenario = \"A SHOULD scenario that fails\"\nreason = \"known\"\n\
                   owner = \"qa\"\nexpires = 2999-12-31\n\n[[expected_failure]]\n\
                   scenario = \"The server reports the enrollment\"\nreason = \"was broken\"\nowner = \"qa\"\n\
                   expires = 2999-12-31\n";
    options.expectations = Expectations::parse(entries, "expectations.toml").expect("the entries parse");
    run(options)
}

/// A copy of the gate run's first scenario as a scenario of its own (line `line`, name `name`),
/// changed by `change`.
fn variant(
    base: &ScenarioResult,
    line: usize,
    name: &str,
    change: impl Fn(&mut ScenarioResult),
) -> ScenarioResult {
    let mut scenario = base.clone();
    scenario.line = line;
    scenario.id = format!("{}:{line}", scenario.file);
    scenario.name = name.to_string();
    change(&mut scenario);
    scenario
}

/// The gate run, with a scenario of every kind a healthy run lacks added.
fn every_kind() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let mut report = gate_run();
        let passed = report.scenarios.first().expect("the gate fixture has scenarios").clone();
        assert_eq!(passed.outcome, Outcome::Passed, "the fixture's first scenario passes");
        let png = qr::render_png("AQ-OTP", &qr::RenderOptions::default()).expect("a QR code");
        let image = |step| QrImage {
            step,
            media_type: "image/png".into(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(&png),
        };
        let fail_last =
            |scenario: &mut ScenarioResult, status: StepStatus, outcome: Outcome, message: &str| {
                let last = scenario.steps.last_mut().expect("the scenario has steps");
                last.status = status;
                last.error = Some(message.into());
                scenario.outcome = outcome;
                scenario.message = Some(message.into());
            };
        report.scenarios.extend([
            variant(&passed, 101, "A scenario the target cannot take part in", |s| {
                fail_last(
                    s,
                    StepStatus::Failed,
                    Outcome::NotApplicable,
                    "the target does not offer the clock",
                );
            }),
            variant(&passed, 102, "A scenario whose step has no definition", |s| {
                fail_last(s, StepStatus::Undefined, Outcome::HarnessError, "no step definition matches");
            }),
            variant(&passed, 103, "A scenario whose before hook failed", |s| {
                s.steps.iter_mut().for_each(|step| {
                    step.status = StepStatus::NotRun;
                    step.error = None;
                    step.exchanges.clear();
                });
                s.outcome = Outcome::Failed;
                s.message = Some("the before hook failed: the server could not be readied".into());
            }),
            variant(&passed, 104, "A scenario that did not run", |s| {
                s.steps.clear();
                s.outcome = Outcome::HarnessError;
                s.message = Some("the scenario did not run".into());
            }),
            variant(&passed, 105, "A scenario that scanned QR codes", |s| {
                s.qr_images = vec![image(Some(1)), image(None)];
            }),
        ]);
        report.evaluate();
        report
    })
}

/// The Cucumber Messages schemas, compiled: every vendored file under its `$id`.
fn messages_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let mut files = 0;
    for entry in std::fs::read_dir(MESSAGES_SCHEMAS).expect("the vendored schemas are there") {
        let path = entry.expect("a folder entry").path();
        if !path.to_string_lossy().ends_with(".schema.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a schema file reads");
        let schema: Value = serde_json::from_str(&text).expect("a schema is JSON");
        let id = schema["$id"].as_str().expect("each schema has an $id").to_string();
        compiler.add_resource(&id, schema).expect("each $id is free");
        files += 1;
    }
    assert!(files > 20, "only {files} schemas in {MESSAGES_SCHEMAS}");
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(ENVELOPE, &mut schemas).expect("the envelope schema compiles");
    (schemas, index)
}

/// The lines of `--format ndjson` for `report`, each parsed.
fn envelopes(report: &Report) -> Vec<Value> {
    let text = Format::Ndjson.render(report);
    assert!(text.ends_with('\n'), "every envelope ends its line");
    text.lines().map(|line| serde_json::from_str(line).expect("each line is one JSON value")).collect()
}

/// Every line that breaks the schemas, with its number and kind.
fn invalid_lines(validator: &(boon::Schemas, boon::SchemaIndex), envelopes: &[Value]) -> Vec<String> {
    envelopes
        .iter()
        .enumerate()
        .flat_map(|(i, envelope)| {
            let kind = envelope.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
            violations(validator, envelope).into_iter().map(move |v| format!("line {} ({kind}): {v}", i + 1))
        })
        .collect()
}

/// Every `id` the stream defines, in order, and every id it refers to (`...Id`, `...Ids`).
fn ids(envelopes: &[Value]) -> (Vec<String>, BTreeSet<String>) {
    fn walk(value: &Value, defined: &mut Vec<String>, used: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(id) if key == "id" => defined.push(id.clone()),
                        Value::String(id) if key.ends_with("Id") => {
                            used.insert(id.clone());
                        }
                        Value::Array(list) if key.ends_with("Ids") => {
                            used.extend(list.iter().filter_map(Value::as_str).map(String::from));
                        }
                        _ => walk(value, defined, used),
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|v| walk(v, defined, used)),
            _ => {}
        }
    }
    let (mut defined, mut used) = (Vec::new(), BTreeSet::new());
    envelopes.iter().for_each(|e| walk(e, &mut defined, &mut used));
    (defined, used)
}

/// Checks the stream's shape: meta first, testRunFinished last, ids unique and resolved.
fn assert_well_formed(envelopes: &[Value]) {
    let kind = |e: &Value| e.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
    assert_eq!(envelopes.first().map(kind).as_deref(), Some("meta"));
    assert_eq!(envelopes.last().map(kind).as_deref(), Some("testRunFinished"));
    let (defined, used) = ids(envelopes);
    let unique: BTreeSet<&String> = defined.iter().collect();
    assert_eq!(unique.len(), defined.len(), "an id is defined twice");
    let dangling: Vec<&String> = used.iter().filter(|id| !unique.contains(id)).collect();
    assert!(dangling.is_empty(), "ids referred to but not defined: {dangling:?}");
}

/// Each test case's pickle name and its test steps' statuses, in stream order.
fn statuses(envelopes: &[Value]) -> BTreeMap<String, Vec<String>> {
    let find = |kind: &str, key: &str| -> BTreeMap<String, Value> {
        envelopes
            .iter()
            .filter_map(|e| e.get(kind))
            .map(|m| (m[key].as_str().unwrap_or_default().to_string(), m.clone()))
            .collect()
    };
    let (pickles, cases, started) =
        (find("pickle", "id"), find("testCase", "id"), find("testCaseStarted", "id"));
    let name_of = |started_id: &str| {
        let case = &cases[started[started_id]["testCaseId"].as_str().unwrap_or_default()];
        pickles[case["pickleId"].as_str().unwrap_or_default()]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finished in envelopes.iter().filter_map(|e| e.get("testStepFinished")) {
        let status = finished["testStepResult"]["status"].as_str().unwrap_or_default().to_string();
        out.entry(name_of(finished["testCaseStartedId"].as_str().unwrap_or_default()))
            .or_default()
            .push(status);
    }
    out
}

#[test]
fn every_envelope_of_a_whole_suite_run_follows_the_cucumber_messages_schemas() {
    let report = whole_suite();
    let envelopes = envelopes(report);
    assert_eq!(invalid_lines(&messages_validator(), &envelopes), Vec::<String>::new());
    assert_well_formed(&envelopes);
    let count = |kind: &str| envelopes.iter().filter(|e| e.get(kind).is_some()).count();
    let scenarios = report.scenarios.len();
    assert!(scenarios > 400, "the suite ran {scenarios} scenarios");
    assert_eq!(
        [count("pickle"), count("testCase"), count("testCaseStarted"), count("testCaseFinished")],
        [scenarios; 4]
    );
    assert_eq!(
        count("gherkinDocument"),
        report.scenarios.iter().map(|s| &s.file).collect::<BTreeSet<_>>().len()
    );
    let steps: usize = report.scenarios.iter().map(|s| s.steps.len()).sum();
    assert_eq!([count("testStepStarted"), count("testStepFinished")], [steps; 2], "a pass has no hook step");
    let exchanges: usize = report.scenarios.iter().flat_map(|s| &s.steps).map(|s| s.exchanges.len()).sum();
    let images: usize = report.scenarios.iter().map(|s| s.qr_images.len()).sum();
    assert_eq!(count("attachment"), exchanges + images, "each exchange and QR image is attached");
    let finished = &envelopes.last().expect("a stream")["testRunFinished"];
    assert_eq!(finished["success"], json!(true), "{finished}");
}

#[test]
fn every_verdict_and_step_status_follows_the_schemas_as_cucumber_sees_it() {
    let report = every_kind();
    let envelopes = envelopes(report);
    assert_eq!(invalid_lines(&messages_validator(), &envelopes), Vec::<String>::new());
    assert_well_formed(&envelopes);
    let (pass, fail, skip) = ("PASSED", "FAILED", "SKIPPED");
    let expected: BTreeMap<String, Vec<String>> = [
        ("A logged-in user enrolls a device", vec![pass, pass, pass]),
        ("The server reports the enrollment", vec![pass, pass, pass]),
        ("A MUST scenario that fails", vec![pass, pass, fail]),
        // An expected failure is still a failed step: the gate's view is in report.json.
        ("A SHOULD scenario that fails", vec![pass, pass, fail]),
        ("A scenario the target cannot take part in", vec![pass, pass, skip]),
        ("A scenario whose step has no definition", vec![pass, pass, "UNDEFINED"]),
        // A failure outside the steps is a step of its own, bound to the hook, so it shows.
        ("A scenario whose before hook failed", vec![fail, skip, skip, skip]),
        ("A scenario that did not run", vec![fail]),
        ("A scenario that scanned QR codes", vec![pass, pass, pass]),
    ]
    .into_iter()
    .map(|(name, list)| (name.to_string(), list.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(statuses(&envelopes), expected);

    let messages: Vec<&str> = envelopes
        .iter()
        .filter_map(|e| e["testStepFinished"]["testStepResult"]["message"].as_str())
        .collect();
    assert!(messages.iter().any(|m| m.starts_with("expected the request to be refused")), "{messages:?}");
    assert!(messages.contains(&"the before hook failed: the server could not be readied"), "{messages:?}");
    assert!(messages.contains(&"the target does not offer the clock"), "a skip says why: {messages:?}");
    let hooks: Vec<&Value> = envelopes.iter().filter_map(|e| e.get("hook")).collect();
    assert_eq!(hooks.len(), 1, "one hook carries every failure outside steps");
    let images: Vec<&Value> = envelopes
        .iter()
        .filter_map(|e| e.get("attachment"))
        .filter(|a| a["mediaType"] == "image/png")
        .collect();
    assert_eq!(images.len(), 2, "both QR images are attached");
    assert!(images.iter().any(|a| a["testStepId"].as_str().is_some_and(|id| id.ends_with(":105:step:1"))));
    assert!(images.iter().any(|a| a.get("testStepId").is_none()), "an image of no step is the case's");
    let finished = &envelopes.last().expect("a stream")["testRunFinished"];
    assert_eq!(finished["success"], json!(false));
    assert!(
        finished["message"].as_str().is_some_and(|m| m.starts_with("not conformant (exit 4)\n- ")),
        "{finished}"
    );
}

#[test]
fn the_schemas_reject_a_broken_envelope() {
    let validator = messages_validator();
    let envelopes = envelopes(every_kind());
    let first =
        |kind: &str| envelopes.iter().find(|e| e.get(kind).is_some()).expect("the stream has one").clone();
    for kind in ["testStepFinished", "pickle", "testCaseStarted"] {
        assert_eq!(violations(&validator, &first(kind)), Vec::<String>::new(), "{kind} as written is valid");
    }
    let mut status = first("testStepFinished");
    status["testStepFinished"]["testStepResult"]["status"] = json!("BROKEN");
    let mut missing = first("pickle");
    missing["pickle"].as_object_mut().expect("an object").remove("uri");
    let mut timestamp = first("testCaseStarted");
    timestamp["testCaseStarted"]["timestamp"]["seconds"] = json!("soon");
    let unknown = json!({ "surprise": {} });
    let cases = [
        (
            status,
            "value must be one of 'UNKNOWN', 'PASSED', 'SKIPPED', 'PENDING', 'UNDEFINED', 'AMBIGUOUS', 'FAILED' \
             at \"/testStepFinished/testStepResult/status\"",
        ),
        (missing, "missing properties 'uri' at \"/pickle\""),
        (timestamp, "want integer, but got string at \"/testCaseStarted/timestamp/seconds\""),
        (unknown, "additionalProperties 'surprise' not allowed at \"\""),
    ];
    for (envelope, expected) in cases {
        assert_eq!(violations(&validator, &envelope), [expected], "{envelope}");
    }
}

#[test]
fn the_ids_are_the_same_on_every_run_of_the_same_scenarios() {
    let (first, second) = (envelopes(&gate_run()), envelopes(&gate_run()));
    let (first_ids, _) = ids(&first);
    let (second_ids, _) = ids(&second);
    let pickle =
        |id: &String| id.starts_with("pickle:/") && id.ends_with("/tests/fixtures/gate/gate.feature:7");
    assert!(first_ids.iter().any(pickle), "ids are made of the scenarios' FILE:LINE: {first_ids:?}");
    assert_eq!(first_ids, second_ids);
}

/// `xmllint ARGS`: its exit code and what it wrote on standard error. A machine without xmllint
/// fails the test, saying what to install: the check must not pass by being skipped.
fn xmllint(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let output = match Command::new("xmllint").args(args).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run xmllint ({error}): install it (Debian: apt-get install libxml2-utils) to check junit.xml"
        ),
    };
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `xmllint --noout --schema XSD FILE`.
fn validate(xsd: &str, file: &Path) -> (Option<i32>, String) {
    xmllint(&["--noout".as_ref(), "--schema".as_ref(), xsd.as_ref(), file.as_os_str()])
}

fn scratch(name: &str, text: &str) -> std::path::PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-formats-{name}"));
    std::fs::write(&path, text).expect("a scratch file is written");
    path
}

#[test]
fn junit_follows_the_junit_10_schema() {
    // Before any run: cucumber may leave a silent panic hook behind, and this message must show.
    let (code, version) = xmllint(&["--version".as_ref()]);
    assert_eq!(code, Some(0), "xmllint --version: {version}");
    for (name, report) in [("whole-suite", whole_suite()), ("every-kind", every_kind())] {
        let junit = write::junit(report);
        let (code, errors) = validate(JUNIT_XSD, &scratch(&format!("{name}.xml"), &junit));
        assert_eq!(code, Some(0), "{name}: {errors}");
    }
    // Each kind of element the schema constrains is in there, so the check means something.
    let junit = write::junit(every_kind());
    for element in [
        "<failure type=\"failed\"",
        "<failure type=\"unexpected_pass\"",
        "<error ",
        "<skipped ",
        "<system-out>",
    ] {
        assert!(junit.contains(element), "{element}");
    }
    // And the schema is strict: the testcase attributes of JUnit's dialects it lacks are refused.
    let broken = junit.replacen("<testcase name=", "<testcase line=\"7\" name=", 1);
    let (code, errors) = validate(JUNIT_XSD, &scratch("broken.xml", &broken));
    assert_eq!(code, Some(3), "xmllint's exit code for a document that does not validate: {errors}");
    assert!(
        errors.contains("Element 'testcase', attribute 'line': The attribute 'line' is not allowed."),
        "{errors}"
    );
}

/// The gate run with `failures` MUST scenarios that fail and nothing else wrong.
fn failing(failures: usize) -> Report {
    let mut report = every_kind().clone();
    report.expectations.clear();
    let base = report
        .scenarios
        .iter()
        .find(|s| s.name == "A MUST scenario that fails")
        .expect("the fixture")
        .clone();
    let passed = report.scenarios.iter().find(|s| s.outcome == Outcome::Passed).expect("the fixture").clone();
    report.scenarios = std::iter::once(passed)
        .chain((0..failures).map(|i| variant(&base, 1000 + i, &format!("Failure number {i}"), |_| {})))
        .collect();
    report.evaluate();
    report
}

#[test]
fn the_banner_and_the_summary_list_five_reasons_and_count_the_rest() {
    for (failures, listed, more) in [(1, 1, None), (5, 5, None), (6, 5, Some(1)), (459, 5, Some(454))] {
        let report = failing(failures);
        assert_eq!(report.gate.reasons.len(), failures);
        let html = write::html(&report);
        let banner = html
            .split_once("<div class=\"banner bad\">")
            .and_then(|(_, rest)| rest.split_once("</div>"))
            .map(|(banner, _)| banner)
            .expect("a failing run's page has a banner");
        let items: Vec<&str> = banner.split("<li>").skip(1).collect();
        let reasons = items.iter().filter(|i| i.starts_with("MUST scenario failed")).count();
        assert_eq!(reasons, listed, "{failures} failures: {banner}");
        let counted = items.iter().find(|i| i.starts_with("… and "));
        let expected =
            more.map(|n| format!("… and {n} more: see <a href=\"#failures\">Failures</a> below</li></ul>"));
        assert_eq!(counted.map(|s| s.to_string()), expected, "{failures} failures");
        assert_eq!(
            html.matches("<tr><td><span class=\"v v-failed\">").count(),
            failures,
            "the table lists them all"
        );

        let markdown = write::markdown(&report);
        let why = markdown.split_once("## Why the gate fails\n\n").expect("a failing run says why").1;
        let lines: Vec<&str> = why.lines().take_while(|l| l.starts_with("- ")).collect();
        let mut expected: Vec<String> =
            report.gate.reasons.iter().take(listed).map(|r| format!("- {r}")).collect();
        expected.extend(more.map(|n| format!("- … and {n} more: see the tables above")));
        assert_eq!(lines, expected, "{failures} failures");
        assert_eq!(markdown.matches("| failed | AUTH-008 |").count(), failures, "the table lists them all");
    }
}
