//! Cucumber JSON (the format of cucumber-jvm's `json` plugin), for tools that read it: one
//! element per feature file, each scenario with its steps' results and the scanned QR images
//! as embeddings. Step results are cucumber's own view: a failed step is `failed` even when the
//! expectations file lists it (the gate's view is in `report.json`); the step that found the
//! target lacks a capability, or the driver an operation, is `skipped`.

use std::collections::HashMap;

use serde::Serialize;

use crate::{Outcome, Report, ScenarioResult, StepStatus};

/// `Enrollment` → `enrollment`; anything not alphanumeric becomes `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            // The common case, without `to_lowercase`'s iterator; the same letter it gives.
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

// The document's parts, borrowing from the report: a tree of `serde_json::Value`s copied every
// string (the QR images' base64 too) into maps only to write them out. Members are declared in
// the order of their names, the order `Value`'s maps gave them and the files have.

#[derive(Serialize)]
struct Feature<'a> {
    description: &'static str,
    elements: Vec<Element<'a>>,
    id: String,
    keyword: &'static str,
    line: usize,
    name: &'a str,
    tags: &'static [Tag],
    uri: &'a str,
}

#[derive(Serialize)]
struct Element<'a> {
    description: &'static str,
    id: &'a str,
    keyword: &'static str,
    line: usize,
    name: &'a str,
    steps: Vec<Step<'a>>,
    tags: Vec<Tag>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Tag {
    name: String,
}

#[derive(Serialize)]
struct Step<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    embeddings: Vec<Embedding<'a>>,
    keyword: &'a str,
    line: usize,
    #[serde(rename = "match")]
    matched: Match,
    name: &'a str,
    result: StepOutcome<'a>,
}

#[derive(Serialize)]
struct Embedding<'a> {
    data: &'a str,
    mime_type: &'a str,
    name: &'static str,
}

#[derive(Serialize)]
struct Match {
    location: String,
}

#[derive(Serialize)]
struct StepOutcome<'a> {
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    status: &'static str,
}

fn element<'a>(scenario: &'a ScenarioResult, id: &'a str) -> Element<'a> {
    let steps = scenario
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
            let embeddings = scenario
                .qr_images
                .iter()
                .filter(|image| image.step == Some(i))
                .map(|image| Embedding {
                    data: &image.data_base64,
                    mime_type: &image.media_type,
                    name: "QR code",
                })
                .collect();
            Step {
                embeddings,
                keyword: &step.keyword,
                line: step.line,
                matched: Match { location: format!("{}:{}", scenario.file, step.line) },
                name: &step.text,
                result: StepOutcome {
                    duration: step.duration_ms.saturating_mul(1_000_000),
                    error_message: step.error.as_deref(),
                    status,
                },
            }
        })
        .collect();
    Element {
        description: "",
        id,
        keyword: "Scenario",
        line: scenario.line,
        name: &scenario.name,
        steps,
        tags: scenario.tags.iter().map(|t| Tag { name: format!("@{t}") }).collect(),
        kind: "scenario",
    }
}

/// Each scenario's element id, in the report's order: `feature-slug;scenario-slug` as
/// cucumber-jvm makes it, unique in the report: where two names slug alike (they differ only in
/// punctuation), each of them gets its line too, `...;scenario-slug;93`. Each slug is made once.
fn element_ids(report: &Report) -> Vec<String> {
    let plain: Vec<String> = report
        .scenarios
        .iter()
        .map(|scenario| format!("{};{}", slug(&scenario.feature), slug(&scenario.name)))
        .collect();
    let mut taken: HashMap<&str, usize> = HashMap::new();
    for id in &plain {
        *taken.entry(id).or_insert(0) += 1;
    }
    let shared: Vec<bool> = plain.iter().map(|id| taken.get(id.as_str()).is_some_and(|&n| n > 1)).collect();
    plain
        .into_iter()
        .zip(shared)
        .zip(&report.scenarios)
        .map(|((id, shared), scenario)| if shared { format!("{id};{}", scenario.line) } else { id })
        .collect()
}

/// The report as Cucumber JSON.
pub fn cucumber_json(report: &Report) -> String {
    let ids = element_ids(report);
    let mut features = Vec::new();
    let mut files: Vec<&str> = report.scenarios.iter().map(|s| s.file.as_str()).collect();
    files.dedup();
    for file in files {
        let scenarios: Vec<(&ScenarioResult, &str)> = report
            .scenarios
            .iter()
            .zip(&ids)
            .filter(|(s, _)| s.file == file)
            .map(|(s, id)| (s, id.as_str()))
            .collect();
        let name = scenarios.first().map_or("", |(s, _)| s.feature.as_str());
        features.push(Feature {
            description: "",
            elements: scenarios.iter().map(|&(s, id)| element(s, id)).collect(),
            id: slug(name),
            keyword: "Feature",
            line: 1,
            name,
            tags: &[],
            uri: file,
        });
    }
    let mut text = serde_json::to_string_pretty(&features).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    // The writer as it was, building a tree of `Value`s, kept to hold the new one to its bytes.

    fn reference_slug(text: &str) -> String {
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

    fn reference_element(scenario: &ScenarioResult, id: String) -> Value {
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

    struct ReferenceIds {
        taken: std::collections::HashMap<String, usize>,
    }

    impl ReferenceIds {
        fn of(report: &Report) -> Self {
            let mut taken = std::collections::HashMap::new();
            for scenario in &report.scenarios {
                *taken.entry(Self::plain(scenario)).or_insert(0) += 1;
            }
            Self { taken }
        }

        fn plain(scenario: &ScenarioResult) -> String {
            format!("{};{}", reference_slug(&scenario.feature), reference_slug(&scenario.name))
        }

        fn id(&self, scenario: &ScenarioResult) -> String {
            let plain = Self::plain(scenario);
            match self.taken.get(&plain) {
                Some(&count) if count > 1 => format!("{plain};{}", scenario.line),
                _ => plain,
            }
        }
    }

    fn reference_cucumber_json(report: &Report) -> String {
        let ids = ReferenceIds::of(report);
        let mut features: Vec<Value> = Vec::new();
        let mut files: Vec<&str> = report.scenarios.iter().map(|s| s.file.as_str()).collect();
        files.dedup();
        for file in files {
            let scenarios: Vec<&ScenarioResult> =
                report.scenarios.iter().filter(|s| s.file == file).collect();
            let name = scenarios.first().map_or("", |s| s.feature.as_str());
            features.push(json!({
                "uri": file,
                "id": reference_slug(name),
                "keyword": "Feature",
                "name": name,
                "description": "",
                "line": 1,
                "tags": [],
                "elements": scenarios.iter().map(|s| reference_element(s, ids.id(s))).collect::<Vec<_>>(),
            }));
        }
        let mut text = serde_json::to_string_pretty(&features).unwrap_or_else(|_| "[]".into());
        text.push('\n');
        text
    }

    #[test]
    fn the_document_is_the_one_the_value_tree_gave() {
        let report = super::super::sample::report();
        assert_eq!(cucumber_json(&report), reference_cucumber_json(&report));
    }

    /// What the sample's document says: the first file twice (its scenarios come again after the
    /// second file's, and each time with all of them), ids with lines where slugs are alike, the
    /// step that scanned an image with its embedding, errors on failed steps only.
    #[test]
    fn the_document_holds_each_scenario_with_its_steps() {
        let report = super::super::sample::report();
        let document: Value = serde_json::from_str(&cucumber_json(&report)).expect("the writer writes JSON");
        let uris: Vec<&str> =
            document.as_array().into_iter().flatten().filter_map(|f| f["uri"].as_str()).collect();
        assert_eq!(
            uris,
            ["features/enrollment.feature", "features/otp.feature", "features/enrollment.feature"]
        );
        let ids: Vec<&str> = document[0]["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            ["enrollment;enrolls-fine;7", "enrollment;enrolls-fine;20", "enrollment;enrolls-again"]
        );
        assert_eq!(document[1]["id"], json!("otp-ünïcode"));
        let steps = &document[0]["elements"][0]["steps"];
        assert_eq!(steps[0]["result"], json!({ "status": "passed", "duration": 7_000_000 }));
        assert_eq!(steps[1]["result"]["status"], json!("failed"));
        assert!(
            steps[1]["result"]["error_message"].as_str().is_some_and(|e| e.starts_with("expected <201>"))
        );
        assert_eq!(
            steps[1]["embeddings"],
            json!([{ "mime_type": "image/png", "data": "iVBORw0KGgo=", "name": "QR code" }])
        );
        assert_eq!(steps[0].get("embeddings"), None);
        assert_eq!(steps[2]["match"], json!({ "location": "features/enrollment.feature:9" }));
        let otp_steps = &document[1]["elements"][0]["steps"];
        assert_eq!(
            (&otp_steps[0]["result"]["status"], &otp_steps[1]["result"]["status"]),
            (&json!("skipped"), &json!("undefined"))
        );
    }
}
