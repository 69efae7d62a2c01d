//! A small report for the writers' unit tests, with what makes writing hard: markup and
//! characters XML forbids in names, messages, headers and bodies; non-ASCII names; two scenario
//! names that slug alike; QR images scanned by a step and outside any; every step status.

use time::macros::datetime;

use crate::catalogue::{Catalogue, Level};
use crate::{
    ExchangeRecord, Expectations, Header, Outcome, QrImage, Report, RunInfo, ScenarioResult, StepResult,
    StepStatus, TargetInfo,
};

const SPEC: &str = "\
## ENR: enrollment

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| ENR-001 | MUST | §3 | Enrolling answers 201 <with> a certificate & more. |

## OTP: one-time passwords

| ID | Level | Contract | Requirement |
| --- | --- | --- | --- |
| OTP-001 | SHOULD | — | The QR code holds the OTP exactly. |
";

fn step(keyword: &str, text: &str, line: usize, status: StepStatus, error: Option<&str>) -> StepResult {
    StepResult {
        keyword: keyword.into(),
        text: text.into(),
        line,
        background: line == 3,
        status,
        duration_ms: 7,
        error: error.map(Into::into),
        exchanges: Vec::new(),
    }
}

fn scenario(file: &str, line: usize, feature: &str, name: &str, outcome: Outcome) -> ScenarioResult {
    ScenarioResult {
        id: format!("{file}:{line}"),
        file: file.into(),
        line,
        feature: feature.into(),
        name: name.into(),
        tags: vec!["ENR-001".into(), "must".into()],
        requirements: vec!["ENR-001".into()],
        level: Some(Level::Must),
        seed: 99,
        outcome,
        verdict: outcome.verdict(),
        message: None,
        expectation: None,
        duration_ms: 21,
        steps: Vec::new(),
        qr_images: Vec::new(),
        devices: Vec::new(),
    }
}

/// The report: scenarios in two files, and the first file's again after the second (a merged
/// report can have them so), which the writers give as they find them.
pub(super) fn report() -> Report {
    let message = "expected <201> & \"created\", got 'nothing'\u{0}\u{FFFE} — ✗";
    let mut failed =
        scenario("features/enrollment.feature", 7, "Enrollment", "Enrolls, <fine>", Outcome::Failed);
    failed.message = Some(message.into());
    failed.steps = vec![
        step("Given ", "a background step", 3, StepStatus::Passed, None),
        step("When ", "\"phone\" enrolls", 8, StepStatus::Failed, Some(message)),
        step("Then ", "it has a certificate", 9, StepStatus::NotRun, None),
    ];
    failed.steps[1].exchanges.push(ExchangeRecord {
        method: "POST".into(),
        url: "http://127.0.0.1:8080/enroll?a=1&b=<2>".into(),
        status: Some(201),
        duration_ms: 3,
        request_headers: vec![
            Header { name: "authorization".into(), value: "Bearer [redacted:1f2e3d4c]".into() },
            Header { name: "x-odd".into(), value: "a\u{7}b\"c'".into() },
        ],
        request_body: r#"{"csr":"<pem>","note":"ü & \uFFFF"}"#.into(),
        response_headers: vec![Header { name: "content-type".into(), value: "application/json".into() }],
        response_body: "{\"id\":\"e-1\"}\u{FFFF}\u{FFFD}".into(),
    });
    failed.qr_images = vec![
        QrImage { step: Some(1), media_type: "image/png".into(), data_base64: "iVBORw0KGgo=".into() },
        QrImage { step: None, media_type: "image/jpeg".into(), data_base64: "/9j/4AAQ".into() },
    ];
    let mut alike =
        scenario("features/enrollment.feature", 20, "Enrollment", "Enrolls fine", Outcome::Passed);
    alike.steps = vec![step("Then ", "it passes", 21, StepStatus::Passed, None)];
    let mut otp =
        scenario("features/otp.feature", 5, "OTP — ünïcode", "Ünïcode ☃ name", Outcome::NotApplicable);
    otp.message = Some("the target lacks the admin API".into());
    otp.steps = vec![
        step("When ", "the clock moves", 6, StepStatus::Failed, Some("the target lacks the admin API")),
        step("Then ", "an undefined step", 7, StepStatus::Undefined, None),
    ];
    let mut again =
        scenario("features/enrollment.feature", 30, "Enrollment", "Enrolls, again", Outcome::HarnessError);
    again.message = Some("a panic".into());
    let catalogue = Catalogue::parse(SPEC).expect("the sample spec parses");
    let run = RunInfo {
        suite_version: "0.1.0".into(),
        target: TargetInfo {
            kind: "embedded".into(),
            description: "the embedded mock <server> & co".into(),
            server: "embedded".into(),
            device: "simulated".into(),
        },
        seed: 7,
        tags: Some("@must and not @slow".into()),
        shard: None,
        strict: false,
        features: "features".into(),
        suite_scenarios: 9,
        started_at: datetime!(2026-01-01 00:00:00 UTC),
        finished_at: datetime!(2026-01-01 00:00:01.250 UTC),
    };
    let mut report = Report::new(
        run,
        &catalogue,
        vec![failed, alike, otp, again],
        &Expectations::from_entries(Vec::new()),
        &[],
    );
    // The first file's last scenario after the second file's.
    report.scenarios.swap(2, 3);
    report
}
