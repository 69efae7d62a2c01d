//! The report model and its outputs: snapshots of every format for a fixed run, the JSON schema
//! check, the expectations file's effect on the gate, and shards that merge into the unsharded
//! run.
//!
//! The fixed run is built here with fixed times, seeds, ports and ids (and a small catalogue of
//! its own), so its snapshots change only when a writer does. The real runs use the fixture
//! features of `tests/fixtures/gate`.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use base64::Engine as _;
use report::catalogue::{Catalogue, Level};
use report::write::{self, Format};
use report::{
    ExchangeRecord, Expectation, ExpectationStatus, Expectations, Header, Outcome, Pattern, QrImage, Report,
    RunInfo, ScenarioResult, StepResult, StepStatus, TargetInfo, Verdict, merge,
};
use runner::{self, RunOptions};
use time::macros::{date, datetime};

use crate::schema::violations;

const SCHEMA: &str = include_str!("../../../docs/report.schema.json");
const GATE_FEATURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gate");

const MINI_SPEC: &str = "\
## ENR: enrollment

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| ENR-001 | MUST | §3 | Enrolling answers 201 with a certificate. |
| ENR-002 | MUST | §3 | The certificate's key is the CSR's. |
| ENR-003 | SHOULD | — | Serial numbers are unique. |

## OTP: one-time passwords

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| OTP-001 | MUST | §3 | The QR code holds the OTP exactly. |
| OTP-002 | SHOULD | — | The QR code uses level M. |

## ADM: test-control API

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| ADM-001 | MUST | §3 | The admin API moves the clock. |
| ADM-002 | MUST | §3 | The admin API resets the server. |

## DRV: device driver

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| DRV-001 | MUST | §3 | The driver answers hello. |
";

fn step(keyword: &str, text: &str, line: usize, status: StepStatus, error: Option<&str>) -> StepResult {
    StepResult {
        keyword: keyword.into(),
        text: text.into(),
        line,
        background: false,
        status,
        duration_ms: if status == StepStatus::NotRun { 0 } else { 4 },
        error: error.map(Into::into),
        exchanges: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    file: &str,
    line: usize,
    feature: &str,
    name: &str,
    requirements: &[&str],
    level: Level,
    outcome: Outcome,
    message: Option<&str>,
    steps: Vec<StepResult>,
) -> ScenarioResult {
    let level_tag = if level == Level::Must { "must" } else { "should" };
    ScenarioResult {
        id: format!("{file}:{line}"),
        file: file.into(),
        line,
        feature: feature.into(),
        name: name.into(),
        tags: requirements.iter().map(|r| (*r).to_string()).chain([level_tag.to_string()]).collect(),
        requirements: requirements.iter().map(|r| (*r).to_string()).collect(),
        level: Some(level),
        seed: 1000 + line as u64,
        outcome,
        verdict: outcome.verdict(),
        message: message.map(Into::into),
        expectation: None,
        duration_ms: 12,
        steps,
        qr_images: Vec::new(),
        devices: Vec::new(),
    }
}

fn header(name: &str, value: &str) -> Header {
    Header { name: name.into(), value: value.into() }
}

/// A run with one scenario of every verdict and an expectations file with an entry of every
/// problem.
fn fixed_report() -> Report {
    let catalogue = Catalogue::parse(MINI_SPEC).expect("the mini spec parses");
    let enroll = ExchangeRecord {
        method: "POST".into(),
        url: "http://127.0.0.1:8080/mobile-auth/v1/enrollments".into(),
        status: Some(201),
        duration_ms: 3,
        request_headers: vec![header("authorization", "Bearer [redacted]"), header("content-type", "application/json")],
        request_body: r#"{"csr":"-----BEGIN CERTIFICATE REQUEST-----\n...","device_id":"0f6b2c4e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"}"#
            .into(),
        response_headers: vec![header("content-type", "application/json")],
        response_body: r#"{"enrollment_id":"e-1","re_enrolled":false,"certificate":"-----BEGIN CERTIFICATE-----\n..."}"#.into(),
    };
    let token = ExchangeRecord {
        method: "POST".into(),
        url: "http://127.0.0.1:8080/oauth/token".into(),
        status: Some(200),
        duration_ms: 2,
        request_headers: vec![header("content-type", "application/x-www-form-urlencoded")],
        request_body: "grant_type=password&username=alice&password=[redacted]&client_id=mobauth-app".into(),
        response_headers: vec![header("content-type", "application/json")],
        response_body: r#"{"access_token":"[redacted]","token_type":"bearer"}"#.into(),
    };
    let lost = ExchangeRecord {
        method: "POST".into(),
        url: "http://127.0.0.1:8080/mobile-auth/v1/otp/requests".into(),
        status: None,
        duration_ms: 10000,
        request_headers: vec![header("authorization", "Bearer [redacted]")],
        request_body: r#"{"device_id":"0f6b2c4e-1d2a-4c3b-9e8f-7a6b5c4d3e2f","otp":"AQ<tampered>"}"#.into(),
        response_headers: Vec::new(),
        response_body:
            "no answer from http://127.0.0.1:8080/mobile-auth/v1/otp/requests: operation timed out".into(),
    };
    let png = qr::render_png("AQ-OTP", &qr::RenderOptions::default()).expect("a QR code");

    let mut enrolls = scenario(
        "features/enrollment.feature",
        7,
        "Enrollment",
        "A logged-in user enrolls a device",
        &["ENR-001", "ENR-002"],
        Level::Must,
        Outcome::Passed,
        None,
        vec![
            step("Given ", "\"Alice\" is logged in on the device \"phone\"", 8, StepStatus::Passed, None),
            step("When ", "\"phone\" enrolls", 9, StepStatus::Passed, None),
            step("Then ", "the enrollment is created for \"Alice\"", 10, StepStatus::Passed, None),
        ],
    );
    enrolls.steps[0].exchanges.push(token);
    enrolls.steps[1].exchanges.push(enroll);
    let serials_message = "expected serial numbers to be unique, but 01 was issued twice";
    let serials = scenario(
        "features/enrollment.feature",
        20,
        "Enrollment",
        "Serial numbers are unique",
        &["ENR-003"],
        Level::Should,
        Outcome::Failed,
        Some(serials_message),
        vec![
            step("Given ", "\"phone\" and \"tablet\" have enrolled", 21, StepStatus::Passed, None),
            step(
                "Then ",
                "their certificates' serial numbers differ",
                22,
                StepStatus::Failed,
                Some(serials_message),
            ),
        ],
    );
    let mut qr = scenario(
        "features/otp.feature",
        5,
        "OTP via QR code",
        "The portal's QR code holds the OTP",
        &["OTP-001"],
        Level::Must,
        Outcome::Passed,
        None,
        vec![
            step("When ", "the portal starts a QR-code OTP", 6, StepStatus::Passed, None),
            step("And ", "\"phone\" scans the QR code", 7, StepStatus::Passed, None),
            step("Then ", "\"phone\" read the OTP the portal was given", 8, StepStatus::Passed, None),
        ],
    );
    qr.qr_images.push(QrImage {
        step: Some(1),
        media_type: "image/png".into(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(&png),
    });
    let tamper_message = "expected the OTP request to be refused with status 400, error 10015 INVALID_REQUEST, \
                          but no answer from http://127.0.0.1:8080/mobile-auth/v1/otp/requests: operation timed out";
    let mut tampered = scenario(
        "features/otp.feature",
        14,
        "OTP via QR code",
        "A tampered OTP is refused <with> \"care\" & more",
        &["OTP-001"],
        Level::Must,
        Outcome::Failed,
        Some(tamper_message),
        vec![
            step("Given ", "\"phone\" has scanned the QR code", 15, StepStatus::Passed, None),
            step("When ", "\"phone\" handles a tampered OTP", 16, StepStatus::Failed, Some(tamper_message)),
            step(
                "Then ",
                "the request is refused with status 400, error 10015 INVALID_REQUEST",
                17,
                StepStatus::NotRun,
                None,
            ),
        ],
    );
    tampered.steps[1].exchanges.push(lost);
    let level_m = scenario(
        "features/otp.feature",
        30,
        "OTP via QR code",
        "The QR code uses level M",
        &["OTP-002"],
        Level::Should,
        Outcome::Passed,
        None,
        vec![step("Then ", "the QR code's error correction level is M", 31, StepStatus::Passed, None)],
    );
    let admin_message =
        "cannot move the server's clock: the target does not offer the test-control (admin) API";
    let clock = scenario(
        "features/admin.feature",
        3,
        "Test control",
        "The clock moves",
        &["ADM-001"],
        Level::Must,
        Outcome::NotApplicable,
        Some(admin_message),
        vec![step("When ", "the server's clock moves 5 minutes", 4, StepStatus::Failed, Some(admin_message))],
    );
    let hello_message = "the device driver does not implement hello";
    let hello = scenario(
        "features/driver.feature",
        3,
        "Device driver",
        "The driver answers hello",
        &["DRV-001"],
        Level::Must,
        Outcome::NotImplemented,
        Some(hello_message),
        vec![step("When ", "the harness says hello", 4, StepStatus::Failed, Some(hello_message))],
    );
    let expectations = Expectations::from_entries(vec![
        Expectation {
            pattern: Pattern::Requirement("ENR-003".into()),
            reason: "serials come from a counter that restarts".into(),
            owner: "server-team".into(),
            expires: date!(2026 - 06 - 30),
        },
        Expectation {
            pattern: Pattern::Scenario("*level M".into()),
            reason: "renders at level L".into(),
            owner: "portal-team".into(),
            expires: date!(2026 - 12 - 31),
        },
        Expectation {
            pattern: Pattern::Requirement("ADM-002".into()),
            reason: "reset is slow".into(),
            owner: "server-team".into(),
            expires: date!(2025 - 12 - 31),
        },
        Expectation {
            pattern: Pattern::Scenario("A scenario that was renamed".into()),
            reason: "old".into(),
            owner: "qa".into(),
            expires: date!(2026 - 12 - 31),
        },
    ]);
    let run = RunInfo {
        suite_version: "0.1.0".into(),
        target: TargetInfo {
            kind: "embedded".into(),
            description:
                "the embedded mock Token Server (fixtures/servers/default.toml, a fresh one per scenario)"
                    .into(),
            server: "embedded".into(),
            device: "simulated".into(),
        },
        seed: 7,
        tags: None,
        shard: None,
        strict: false,
        features: "features".into(),
        suite_scenarios: 8,
        started_at: datetime!(2026-01-01 00:00:00 UTC),
        finished_at: datetime!(2026-01-01 00:00:01.250 UTC),
    };
    // Given out of order: the report sorts scenarios by file and line.
    let scenarios = vec![hello, tampered, enrolls, serials, qr, level_m, clock];
    Report::new(run, &catalogue, scenarios, &expectations, &[1, 1, 1, 0])
}

#[test]
fn the_fixed_run_judges_every_verdict_and_expectation() {
    let report = fixed_report();
    let verdicts: Vec<(&str, Verdict)> =
        report.scenarios.iter().map(|s| (s.id.as_str(), s.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("features/admin.feature:3", Verdict::NotApplicable),
            ("features/driver.feature:3", Verdict::NotImplemented),
            ("features/enrollment.feature:7", Verdict::Passed),
            ("features/enrollment.feature:20", Verdict::ExpectedFailure),
            ("features/otp.feature:5", Verdict::Passed),
            ("features/otp.feature:14", Verdict::Failed),
            ("features/otp.feature:30", Verdict::UnexpectedPass),
        ]
    );
    let requirements: Vec<(&str, Verdict)> =
        report.requirements.iter().map(|r| (r.id.as_str(), r.verdict)).collect();
    assert_eq!(
        requirements,
        [
            ("ENR-001", Verdict::Passed),
            ("ENR-002", Verdict::Passed),
            ("ENR-003", Verdict::ExpectedFailure),
            // One scenario passed and one failed: the requirement failed.
            ("OTP-001", Verdict::Failed),
            ("OTP-002", Verdict::UnexpectedPass),
            ("ADM-001", Verdict::NotApplicable),
            // No scenario ran: not run, never passed.
            ("ADM-002", Verdict::NotRun),
            ("DRV-001", Verdict::NotImplemented),
        ]
    );
    let statuses: Vec<ExpectationStatus> = report.expectations.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            ExpectationStatus::Holds,
            ExpectationStatus::NowPasses,
            ExpectationStatus::Expired,
            ExpectationStatus::Unmatched
        ]
    );
    assert_eq!(report.gate.exit_code, 1);
    assert_eq!(
        report.gate.reasons,
        [
            "MUST scenario failed: features/otp.feature:14 A tampered OTP is refused <with> \"care\" & more",
            "unexpected pass: features/otp.feature:30 The QR code uses level M (listed as a known failure)",
            "expectation scenario \"*level M\": now passes; remove the entry",
            "expectation requirement \"ADM-002\": has expired",
            "expectation scenario \"A scenario that was renamed\": matches no scenario of the suite",
        ]
    );
}

/// Only the failures that are not excused: one scenario, judged with and without the
/// expectations that excuse it, expired or stale.
#[test]
fn an_expired_and_a_stale_expectation_fail_the_gate() {
    let catalogue = Catalogue::parse(MINI_SPEC).expect("the mini spec parses");
    let failing = || {
        vec![scenario(
            "features/enrollment.feature",
            20,
            "Enrollment",
            "Serial numbers are unique",
            &["ENR-001"],
            Level::Must,
            Outcome::Failed,
            Some("expected x, but y"),
            Vec::new(),
        )]
    };
    let run = fixed_report().run;
    let entry = |pattern: Pattern, expires| Expectation {
        pattern,
        reason: "known".into(),
        owner: "qa".into(),
        expires,
    };
    let judge = |entries: Vec<Expectation>, suite_matches: &[usize]| {
        let report = Report::new(
            run.clone(),
            &catalogue,
            failing(),
            &Expectations::from_entries(entries),
            suite_matches,
        );
        (report.gate.exit_code, report.gate.reasons, report.scenarios[0].verdict)
    };
    let holds = entry(Pattern::Requirement("ENR-001".into()), date!(2026 - 01 - 01));
    assert_eq!(judge(vec![holds], &[1]), (0, Vec::<String>::new(), Verdict::ExpectedFailure));

    let expired = entry(Pattern::Requirement("ENR-001".into()), date!(2025 - 12 - 31));
    assert_eq!(
        judge(vec![expired], &[1]),
        (
            1,
            vec![
                "MUST scenario failed: features/enrollment.feature:20 Serial numbers are unique".to_string(),
                "expectation requirement \"ENR-001\": has expired".to_string(),
            ],
            Verdict::Failed
        )
    );
    let holds = entry(Pattern::Requirement("ENR-001".into()), date!(2026 - 06 - 30));
    let stale = entry(Pattern::Scenario("Gone".into()), date!(2026 - 06 - 30));
    assert_eq!(
        judge(vec![holds, stale], &[1, 0]),
        (
            1,
            vec!["expectation scenario \"Gone\": matches no scenario of the suite".to_string()],
            Verdict::ExpectedFailure
        )
    );
}

#[test]
fn strict_counts_should_failures() {
    let mut report = fixed_report();
    report.expectations.clear();
    report.run.strict = false;
    report.evaluate();
    let should_failure = "SHOULD scenario failed: features/enrollment.feature:20 Serial numbers are unique";
    assert!(!report.gate.reasons.iter().any(|r| r == should_failure), "{:?}", report.gate.reasons);
    report.run.strict = true;
    report.evaluate();
    assert!(report.gate.reasons.iter().any(|r| r == should_failure), "{:?}", report.gate.reasons);
}

#[test]
fn a_harness_error_is_its_own_verdict_and_exit_code_and_never_the_targets_failure() {
    let mut report = fixed_report();
    report.expectations.clear();
    let scenario = report
        .scenarios
        .iter_mut()
        .find(|s| s.outcome == Outcome::Passed)
        .expect("the fixed run has a passed scenario");
    scenario.outcome = Outcome::HarnessError;
    scenario.message = Some("the harness itself panicked: index out of bounds".into());
    let (id, requirement) = (scenario.id.clone(), scenario.requirements[0].clone());
    report.evaluate();
    let scenario = report.scenarios.iter().find(|s| s.id == id).expect("still there");
    assert_eq!(scenario.verdict, Verdict::HarnessError);
    assert_eq!(report.requirement(&requirement).map(|r| r.verdict), Some(Verdict::HarnessError));
    assert_eq!(report.summary.scenarios.harness_error, 1);
    assert_eq!(report.gate.exit_code, report::EXIT_HARNESS_ERROR);
    assert!(!report.gate.conformant);
    assert!(
        report.gate.reasons.iter().any(|r| r.starts_with("harness error") && r.contains(&id)),
        "{:?}",
        report.gate.reasons
    );
    let junit = write::junit(&report);
    assert!(junit.contains("<error type=\"harness_error\""), "JUnit tells it as an error, not a failure");
    assert!(junit.contains("errors=\"1\""), "and counts it among the errors");
    let errors = violations(&validator(), &serde_json::to_value(&report).expect("a report serializes"));
    assert_eq!(errors, Vec::<String>::new(), "the schema knows the verdict");
}

#[test]
fn snapshots_of_every_format() {
    let report = fixed_report();
    insta::assert_snapshot!("summary.txt", write::text(&report));
    insta::assert_snapshot!("report.json", write::json(&report));
    insta::assert_snapshot!("junit.xml", write::junit(&report));
    insta::assert_snapshot!("summary.md", write::markdown(&report));
    insta::assert_snapshot!("cucumber.json", write::cucumber_json(&report));
    insta::assert_snapshot!("report.html", write::html(&report));
}

#[test]
fn the_html_report_is_self_contained() {
    let html = write::html(&fixed_report());
    for outside in ["http://cdn", "https://", "<script", "<link", "@import", "src=\"http", "url("] {
        assert!(!html.contains(outside), "the HTML refers outside itself: {outside}");
    }
    assert!(
        html.contains("<img class=\"qr\" alt=\"QR code scanned\" src=\"data:image/png;base64,iVBORw0KGgo")
    );
    assert!(html.contains("<details"));
}

/// The report schema, compiled (formats asserted, as `format` in the schema means them).
fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("report.schema.json", schema).expect("the schema's location is free");
    let index =
        compiler.compile("report.schema.json", &mut schemas).expect("the schema is a valid JSON Schema");
    (schemas, index)
}

#[test]
fn the_json_report_follows_its_schema() {
    let validator = validator();
    let fixed: serde_json::Value = serde_json::from_str(&write::json(&fixed_report())).expect("JSON");
    assert_eq!(violations(&validator, &fixed), Vec::<String>::new());
    // The schema is strict: a missing field and an unknown one are errors.
    let mut broken = fixed.clone();
    broken.as_object_mut().expect("an object").remove("gate");
    broken["scenarios"][0]["surprise"] = serde_json::json!(1);
    assert_eq!(
        violations(&validator, &broken),
        [
            "missing properties 'gate' at \"\"",
            "additionalProperties 'surprise' not allowed at \"/scenarios/0\"",
        ]
    );
    // And it reads back as the same report.
    let back: Report = serde_json::from_value(fixed).expect("a report reads back");
    assert_eq!(back, fixed_report());
}

fn options(shard: Option<&str>) -> RunOptions {
    let mut options = RunOptions::new(GATE_FEATURES);
    options.seed = 11;
    options.shard = shard.map(|s| s.parse().expect("a shard"));
    options.driver_command = Some(format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth")));
    options
}

/// A report with what varies between runs of the same seed replaced: times, durations, ports
/// and the `date` header.
fn normalized(report: &Report) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("name").and_then(|n| n.as_str()) == Some("date") && map.contains_key("value") {
                    map.insert("value".into(), "[date]".into());
                }
                for (key, item) in map.iter_mut() {
                    if key == "duration_ms" {
                        *item = 0.into();
                    } else {
                        walk(item);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::String(text) => *text = without_ports(text),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(report).expect("a report serializes");
    value["run"]["started_at"] = "[start]".into();
    value["run"]["finished_at"] = "[end]".into();
    walk(&mut value);
    value
}

fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str("[port]");
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

#[test]
fn two_shards_merge_into_the_unsharded_run() {
    let whole = runner::run(options(None)).expect("the fixture runs");
    let first = runner::run(options(Some("1/2"))).expect("shard 1 runs");
    let second = runner::run(options(Some("2/2"))).expect("shard 2 runs");
    assert_eq!((whole.scenarios.len(), first.scenarios.len(), second.scenarios.len()), (4, 2, 2));
    // Deterministic: scenario i is in shard i % 2 + 1.
    let lines = |r: &Report| r.scenarios.iter().map(|s| s.line).collect::<Vec<_>>();
    assert_eq!((lines(&first), lines(&second)), (vec![7, 19], vec![13, 25]));
    // Either order of the inputs.
    let merged = merge::merge(vec![second, first]).expect("the shards merge");
    assert_eq!(normalized(&merged), normalized(&whole));
    assert_eq!(merged.gate.exit_code, 1);

    // A seed repeats a run exactly (but for times and ports).
    let again = runner::run(options(None)).expect("the fixture runs again");
    assert_eq!(normalized(&again), normalized(&whole));
}

#[test]
fn merging_needs_every_shard_of_one_run_once() {
    let mut one = fixed_report();
    one.run.shard = Some("1/2".parse().expect("a shard"));
    let mut other = one.clone();
    other.scenarios.clear();
    let twice = merge::merge(vec![one.clone(), other.clone()]).err().map(|e| e.to_string());
    assert_eq!(twice.as_deref(), Some("the shards must be 1/2 to 2/2, each once; got 1/2, 1/2"));
    other.run.shard = Some("2/2".parse().expect("a shard"));
    other.run.seed = 8;
    let seeds = merge::merge(vec![one.clone(), other]).err().map(|e| e.to_string());
    assert_eq!(
        seeds.as_deref(),
        Some("report 2 is of another run: its seed differs from the first report's")
    );
    let unsharded = merge::merge(vec![fixed_report()]).err().map(|e| e.to_string());
    assert_eq!(unsharded.as_deref(), Some("report 1 is not a shard (it was not run with --shard K/N)"));
}

#[test]
fn a_real_run_reports_steps_exchanges_and_follows_the_schema() {
    let mut options = options(None);
    options.tags = Some("@pass or @fail".into());
    let report = runner::run(options).expect("the fixture runs");
    let value: serde_json::Value = serde_json::from_str(&write::json(&report)).expect("JSON");
    assert_eq!(violations(&validator(), &value), Vec::<String>::new());

    let summary: Vec<(&str, Verdict, Vec<StepStatus>)> = report
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.verdict, s.steps.iter().map(|st| st.status).collect()))
        .collect();
    use StepStatus::{Failed, Passed};
    assert_eq!(
        summary,
        [
            ("A logged-in user enrolls a device", Verdict::Passed, vec![Passed, Passed, Passed]),
            ("The server reports the enrollment", Verdict::Passed, vec![Passed, Passed, Passed]),
            ("A MUST scenario that fails", Verdict::Failed, vec![Passed, Passed, Failed]),
        ]
    );
    let failed = &report.scenarios[2];
    assert!(
        failed
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("expected ") && m.contains("USER_NOT_AUTHENTICATED")),
        "{:?}",
        failed.message
    );
    // The enrollment call is the `When` step's, with its bearer token redacted.
    let enroll = report.scenarios[0].steps[1]
        .exchanges
        .iter()
        .find(|e| e.method == "POST" && e.url.ends_with("/mobile-auth/v1/enrollments"))
        .expect("the When step made the enrollment call");
    assert_eq!(enroll.status, Some(201));
    let authorization =
        enroll.request_headers.iter().find(|h| h.name == "authorization").expect("a bearer token");
    assert!(
        authorization.value.starts_with("Bearer [redacted:") && authorization.value.ends_with(']'),
        "{authorization:?}"
    );
    assert!(report.scenarios[0].steps[0].exchanges.iter().any(|e| e.url.ends_with("/oauth/token")));
    assert!(report.scenarios[0].steps[0].exchanges.iter().all(|e| !e.request_body.contains("-password&")));
    assert_eq!(report.requirement("ENR-001").map(|r| r.verdict), Some(Verdict::Passed));
    assert_eq!(report.requirement("AUTH-008").map(|r| r.verdict), Some(Verdict::Failed));
    assert_eq!(report.requirement("OTP-001").map(|r| r.verdict), Some(Verdict::NotRun));
    assert_eq!(report.run.suite_scenarios, 4);
    for format in Format::ALL {
        assert!(!format.render(&report).is_empty(), "{format:?}");
    }
}
