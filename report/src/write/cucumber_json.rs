//! Cucumber JSON (the format of cucumber-jvm's `json` plugin), for tools that read it: one
//! element per feature file, each scenario with its steps' results and the scanned QR images
//! as embeddings. Step results are cucumber's own view: a failed step is `failed` even when the
//! expectations file lists it (the gate's view is in `report.json`); the step that found the
//! target lacks a capability, or the driver an operation, is `skipped`.

use serde_json::{Value, json};

use crate::{Outcome, Report, ScenarioResult, StepStatus};

/// `Enrollment` → `enrollment`; anything not alphanumeric becomes `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn element(scenario: &ScenarioResult, id: String) -> Value {
    let steps: Vec<Value> = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let status = match (step.status, scenario.outcome) {
                (StepStatus::Passed, _) => "passed",
                (StepStatus::Failed, Outcome::NotApplicable | Outcome::NotImplemented) => "skipped",
                (StepStatus::Failed, _) => "failed",
                (StepStatus::Undefined, _) => "undefined",
                (StepStatus::NotRun, _) => "skipped",
            };
            let mut result = json!({ "status": status, "duration": step.duration_ms.saturating_mul(1_000_000) });
            if let Some(error) = &step.error {
                result["error_message"] = json!(error);
            }
            let embeddings: Vec<Value> = scenario
                .qr_images
                .iter()
                .filter(|image| image.step == Some(i))
                .map(|image| json!({ "mime_type": image.media_type, "data": image.data_base64, "name": "QR code" }))
                .collect();
            let mut value = json!({
                "keyword": step.keyword,
                "name": step.text,
                "line": step.line,
                "match": { "location": format!("{}:{}", scenario.file, step.line) },
                "result": result,
            });
            if !embeddings.is_empty() {
                value["embeddings"] = json!(embeddings);
            }
            value
        })
        .collect();
    let tags: Vec<Value> = scenario.tags.iter().map(|t| json!({ "name": format!("@{t}") })).collect();
    json!({
        "id": id,
        "keyword": "Scenario",
        "name": scenario.name,
        "description": "",
        "line": scenario.line,
        "type": "scenario",
        "tags": tags,
        "steps": steps,
    })
}

/// Each scenario's element id, `feature-slug;scenario-slug` as cucumber-jvm makes it, unique in
/// the report: where two names slug alike (they differ only in punctuation), each of them gets
/// its line too, `...;scenario-slug;93`.
struct Ids {
    taken: std::collections::HashMap<String, usize>,
}

impl Ids {
    fn of(report: &Report) -> Self {
        let mut taken = std::collections::HashMap::new();
        for scenario in &report.scenarios {
            *taken.entry(Self::plain(scenario)).or_insert(0) += 1;
        }
        Self { taken }
    }

    fn plain(scenario: &ScenarioResult) -> String {
        format!("{};{}", slug(&scenario.feature), slug(&scenario.name))
    }

    fn id(&self, scenario: &ScenarioResult) -> String {
        let plain = Self::plain(scenario);
        match self.taken.get(&plain) {
            Some(&count) if count > 1 => format!("{plain};{}", scenario.line),
            _ => plain,
        }
    }
}

/// The report as Cucumber JSON.
pub fn cucumber_json(report: &Report) -> String {
    let ids = Ids::of(report);
    let mut features: Vec<Value> = Vec::new();
    let mut files: Vec<&str> = report.scenarios.iter().map(|s| s.file.as_str()).collect();
    files.dedup();
    for file in files {
        let scenarios: Vec<&ScenarioResult> = report.scenarios.iter().filter(|s| s.file == file).collect();
        let name = scenarios.first().map_or("", |s| s.feature.as_str());
        features.push(json!({
            "uri": file,
            "id": slug(name),
            "keyword": "Feature",
            "name": name,
            "description": "",
            "line": 1,
            "tags": [],
            "elements": scenarios.iter().map(|s| element(s, ids.id(s))).collect::<Vec<_>>(),
        }));
    }
    let mut text = serde_json::to_string_pretty(&features).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
