//! A cucumber [`Writer`](cucumber::Writer) that turns the run's events into scenario results:
//! each step's status, duration and failure message, the scenario's outcome, and the HTTP
//! exchanges and scanned images of the scenario's transcript, each given to the step that was
//! running when it happened (by the time cucumber stamped on the step's events).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use cucumber::event::{self, HookType};
use cucumber::gherkin;

use super::progress::Sink;
use super::selection::{Key, ScenarioMeta, key};
use report::{
    DeviceKind, DeviceUse, ExchangeRecord, Header, Outcome, QrImage, ScenarioResult, StepResult, StepStatus,
    millis,
};
use suite::judgement::{Failure, NotApplicable, NotImplemented};
use suite::world::ConformanceWorld;
use transcript::Transcript;

/// What the hooks hand the collector: each scenario's transcript, the QR images its world
/// holds at the end and the devices it named.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) transcripts: HashMap<Key, Transcript>,
    pub(crate) world_images: HashMap<Key, Vec<Vec<u8>>>,
    pub(crate) devices: HashMap<Key, Vec<DeviceUse>>,
}

/// The QR images a scenario's world shows were scanned, for scenarios whose devices do not record
/// their scans in the transcript: the portal's last QR code, when a device decoded its OTP, and
/// every image handed to the device driver (whose device is another program).
pub(crate) fn world_images(world: &ConformanceWorld) -> Vec<Vec<u8>> {
    let mut images = match &world.otp {
        Some(otp) if world.scanned.values().any(|read| *read == otp.response.otp) => vec![otp.qr_png.clone()],
        _ => Vec::new(),
    };
    if let Some(driven) = world.started_driven_device() {
        images.extend(
            driven.images().iter().filter(|image| !images.contains(image)).cloned().collect::<Vec<_>>(),
        );
    }
    images
}

/// The devices a scenario named and who played each, for its result.
pub(crate) fn world_devices(world: &ConformanceWorld) -> Vec<DeviceUse> {
    use suite::world::DeviceKind as Played;
    let kind = |kind| match kind {
        Played::Driver => DeviceKind::Driver,
        Played::Simulated => DeviceKind::Simulated,
    };
    world
        .device_uses()
        .iter()
        .map(|used| DeviceUse { name: used.name.clone(), kind: kind(used.kind) })
        .collect()
}

#[derive(Debug)]
struct StepState {
    keyword: String,
    text: String,
    line: usize,
    background: bool,
    status: StepStatus,
    started: Option<SystemTime>,
    finished: Option<SystemTime>,
    error: Option<String>,
}

#[derive(Debug)]
struct Running {
    started: SystemTime,
    steps: Vec<StepState>,
    failure: Option<(Outcome, String)>,
}

impl Running {
    fn new(
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        at: SystemTime,
    ) -> Self {
        let state = |step: &gherkin::Step, background: bool| StepState {
            keyword: step.keyword.clone(),
            text: step.value.clone(),
            line: step.position.line,
            background,
            status: StepStatus::NotRun,
            started: None,
            finished: None,
            error: None,
        };
        let backgrounds = feature.background.iter().chain(rule.and_then(|r| r.background.as_ref()));
        let mut steps: Vec<StepState> =
            backgrounds.flat_map(|b| b.steps.iter().map(|s| state(s, true))).collect();
        steps.extend(scenario.steps.iter().map(|s| state(s, false)));
        Self { started: at, steps, failure: None }
    }

    fn step_mut(&mut self, step: &gherkin::Step, background: bool) -> Option<&mut StepState> {
        self.steps.iter_mut().find(|s| s.line == step.position.line && s.background == background)
    }

    fn fail(&mut self, outcome: Outcome, message: String) {
        if self.failure.is_none() {
            self.failure = Some((outcome, message));
        }
    }
}

/// Kind and text of a panic payload. The kind comes from the payload's type alone (see
/// [`suite::judgement`]): text a peer sent can only ever be part of the message. A payload of no
/// judgement type is a panic in the harness's own code.
fn classify(info: &event::Info) -> (Outcome, String) {
    if let Some(Failure(message)) = info.downcast_ref::<Failure>() {
        return (Outcome::Failed, message.clone());
    }
    if let Some(NotApplicable(reason)) = info.downcast_ref::<NotApplicable>() {
        return (Outcome::NotApplicable, reason.clone());
    }
    if let Some(NotImplemented(operation)) = info.downcast_ref::<NotImplemented>() {
        return (Outcome::NotImplemented, format!("the device driver does not implement {operation}"));
    }
    let message =
        crate::panic_text(info.as_ref()).unwrap_or_else(|| "a payload that is not text".to_string());
    (
        Outcome::HarnessError,
        format!("the harness itself panicked (a defect of mobauth, not of the target): {message}"),
    )
}

fn step_error(error: &event::StepError) -> (Outcome, String) {
    match error {
        event::StepError::Panic(info) => classify(info),
        // An ambiguous or missing step definition is a defect of the suite.
        other => (Outcome::HarnessError, format!("the suite's step definitions: {other}")),
    }
}

/// Collects the results of a run.
#[derive(Debug)]
pub(crate) struct Collector {
    meta: HashMap<Key, ScenarioMeta>,
    captured: Arc<Mutex<Captured>>,
    running: HashMap<Key, Running>,
    results: Vec<ScenarioResult>,
    errors: Vec<String>,
    progress: Arc<Mutex<Sink>>,
}

impl Collector {
    pub(crate) fn new(
        meta: HashMap<Key, ScenarioMeta>,
        captured: Arc<Mutex<Captured>>,
        progress: Arc<Mutex<Sink>>,
    ) -> Self {
        Self { meta, captured, running: HashMap::new(), results: Vec::new(), errors: Vec::new(), progress }
    }

    /// The scenario results; scenarios cucumber never finished (or never started) are failures.
    pub(crate) fn finish(mut self) -> Vec<ScenarioResult> {
        let now = SystemTime::now();
        let unfinished: Vec<Key> = self.running.keys().cloned().collect();
        for key in unfinished {
            if let Some(mut running) = self.running.remove(&key) {
                running.fail(Outcome::HarnessError, "the scenario did not finish".into());
                self.complete(&key, running, now);
            }
        }
        let done: std::collections::HashSet<String> = self.results.iter().map(|r| r.id.clone()).collect();
        let missing: Vec<ScenarioMeta> =
            self.meta.values().filter(|m| !done.contains(&m.id)).cloned().collect();
        for meta in missing {
            let message = match self.errors.first() {
                Some(error) => format!("the scenario did not run: {error}"),
                None => "the scenario did not run".to_string(),
            };
            self.results.push(result(&meta, Outcome::HarnessError, Some(message), 0, Vec::new(), Vec::new()));
        }
        self.results
    }

    fn scenario(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        ev: event::Scenario<ConformanceWorld>,
        at: SystemTime,
    ) {
        let key = key(feature, scenario);
        if let event::Scenario::Started = ev {
            self.running.insert(key, Running::new(feature, rule, scenario, at));
            return;
        }
        if let event::Scenario::Finished = ev {
            if let Some(running) = self.running.remove(&key) {
                self.complete(&key, running, at);
            }
            return;
        }
        let Some(running) = self.running.get_mut(&key) else { return };
        match ev {
            event::Scenario::Hook(which, event::Hook::Failed(_, info)) => {
                let (outcome, message) = classify(&info);
                let hook = match which {
                    HookType::Before => "before",
                    HookType::After => "after",
                };
                running.fail(outcome, format!("the {hook} hook failed: {message}"));
            }
            event::Scenario::Background(step, ev) => step_event(running, &step, true, ev, at),
            event::Scenario::Step(step, ev) => step_event(running, &step, false, ev, at),
            _ => {}
        }
    }

    fn complete(&mut self, key: &Key, running: Running, at: SystemTime) {
        let Some(meta) = self.meta.get(key) else { return };
        let (transcript, world_images, devices) = {
            let mut captured = self.captured.lock().unwrap_or_else(PoisonError::into_inner);
            (
                captured.transcripts.remove(key),
                captured.world_images.remove(key).unwrap_or_default(),
                captured.devices.remove(key).unwrap_or_default(),
            )
        };
        // Nothing of a scenario's secrets reaches a report, a failure message's text included: each
        // value its exchanges carried as a secret is masked wherever it appears.
        let transcript = transcript.unwrap_or_default();
        let (outcome, message) = match running.failure {
            Some((outcome, message)) => (outcome, Some(transcript.scrub(&message))),
            None => (Outcome::Passed, None),
        };
        let started: Vec<Option<SystemTime>> = running.steps.iter().map(|s| s.started).collect();
        let mut steps: Vec<StepResult> = running
            .steps
            .into_iter()
            .map(|s| StepResult {
                duration_ms: match (s.started, s.finished) {
                    (Some(a), Some(b)) => millis(b.duration_since(a).unwrap_or(Duration::ZERO)),
                    _ => 0,
                },
                keyword: s.keyword,
                text: s.text,
                line: s.line,
                background: s.background,
                status: s.status,
                error: s.error.map(|error| transcript.scrub(&error)),
                exchanges: Vec::new(),
            })
            .collect();
        let mut qr_images = Vec::new();
        for exchange in transcript.reported_exchanges() {
            if let Some(step) = step_at(&started, exchange.at).and_then(|i| steps.get_mut(i)) {
                step.exchanges.push(exchange_record(&exchange));
            }
        }
        for image in transcript.images() {
            qr_images.push(qr_image(step_at(&started, image.at), &image.bytes));
        }
        if qr_images.is_empty() {
            qr_images.extend(world_images.iter().map(|bytes| qr_image(None, bytes)));
        }
        let duration = millis(at.duration_since(running.started).unwrap_or(Duration::ZERO));
        let mut result = result(meta, outcome, message, duration, steps, qr_images);
        result.devices = devices;
        self.progress.lock().unwrap_or_else(PoisonError::into_inner).scenario_done(&result);
        self.results.push(result);
    }
}

fn step_event(
    running: &mut Running,
    step: &gherkin::Step,
    background: bool,
    ev: event::Step<ConformanceWorld>,
    at: SystemTime,
) {
    let mut failure = None;
    if let Some(state) = running.step_mut(step, background) {
        match ev {
            event::Step::Started => state.started = Some(at),
            event::Step::Passed(..) => {
                state.status = StepStatus::Passed;
                state.finished = Some(at);
            }
            event::Step::Skipped => {
                state.status = StepStatus::Undefined;
                state.finished = Some(at);
                let message = format!(
                    "no step definition matches `{}{}` (a defect of the suite, not of the target)",
                    state.keyword, state.text
                );
                state.error = Some(message.clone());
                failure = Some((Outcome::HarnessError, message));
            }
            event::Step::Failed(_, _, _, error) => {
                let (outcome, message) = step_error(&error);
                state.status = StepStatus::Failed;
                state.finished = Some(at);
                state.error = Some(message.clone());
                failure = Some((outcome, message));
            }
        }
    }
    if let Some((outcome, message)) = failure {
        running.fail(outcome, message);
    }
}

/// The index of the step running at `at`: the last one started by then (the first one for
/// anything earlier).
fn step_at(started: &[Option<SystemTime>], at: SystemTime) -> Option<usize> {
    let last = started.iter().rposition(|s| s.is_some_and(|s| s <= at));
    last.or_else(|| started.iter().position(Option::is_some))
}

fn qr_image(step: Option<usize>, bytes: &[u8]) -> QrImage {
    let media_type = if bytes.starts_with(&[0xFF, 0xD8]) { "image/jpeg" } else { "image/png" };
    QrImage {
        step,
        media_type: media_type.to_string(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

fn result(
    meta: &ScenarioMeta,
    outcome: Outcome,
    message: Option<String>,
    duration_ms: u64,
    steps: Vec<StepResult>,
    qr_images: Vec<QrImage>,
) -> ScenarioResult {
    ScenarioResult {
        id: meta.id.clone(),
        file: meta.file.clone(),
        line: meta.line,
        feature: meta.feature.clone(),
        name: meta.name.clone(),
        tags: meta.tags.clone(),
        requirements: meta.requirements.clone(),
        level: meta.level,
        seed: meta.seed,
        outcome,
        verdict: outcome.verdict(),
        message,
        expectation: None,
        duration_ms,
        steps,
        qr_images,
        devices: Vec::new(),
    }
}

impl cucumber::Writer<ConformanceWorld> for Collector {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(
        &mut self,
        event: cucumber::parser::Result<cucumber::Event<event::Cucumber<ConformanceWorld>>>,
        _cli: &Self::Cli,
    ) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                self.errors.push(error.to_string());
                return;
            }
        };
        let at = event.at;
        match event.value {
            event::Cucumber::Feature(feature, event::Feature::Scenario(scenario, ev)) => {
                self.scenario(&feature, None, &scenario, ev.event, at);
            }
            event::Cucumber::Feature(
                feature,
                event::Feature::Rule(rule, event::Rule::Scenario(scenario, ev)),
            ) => {
                self.scenario(&feature, Some(&rule), &scenario, ev.event, at);
            }
            _ => {}
        }
    }
}

/// The collector reads events of concurrent scenarios by their scenario, so it needs no
/// normalized order.
impl cucumber::writer::Normalized for Collector {}

/// An exchange of the transcript as the report model keeps it.
fn exchange_record(exchange: &transcript::Exchange) -> ExchangeRecord {
    let headers = |list: &[(String, String)]| {
        list.iter().map(|(name, value)| Header { name: name.clone(), value: value.clone() }).collect()
    };
    ExchangeRecord {
        method: exchange.method.clone(),
        url: exchange.url.clone(),
        status: exchange.status,
        duration_ms: millis(exchange.elapsed),
        request_headers: headers(&exchange.request_headers),
        request_body: exchange.request_body.clone(),
        response_headers: headers(&exchange.response_headers),
        response_body: exchange.response_body.clone(),
    }
}
