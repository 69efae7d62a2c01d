//! The runner behind `mobauth run`: selects scenarios of the feature files (a folder, or the
//! suite compiled into the binary; tag expression, shard), runs them with cucumber against the
//! target, and turns cucumber's events into a [`Report`]. On the embedded target each scenario
//! has a server of its own and many run at once; on a server by URL the scenarios that change
//! nothing server-wide run side by side and the `@server-wide` ones one at a time (`phases`).
//!
//! Every scenario gets a seed derived from the run seed and its name (as the `cargo test`
//! conformance suite does), so a run repeats exactly with the same `--seed`.
//!
//! A scenario's verdict comes from the type of the payload its step panicked with
//! ([`suite::judgement`]): a failure, not applicable, not implemented, or, for any other panic, a
//! harness error. Never from text.

mod collector;
pub mod embedded;
mod plan;
mod progress;
mod selection;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use cucumber::World as _;
use futures::FutureExt as _;
use time::OffsetDateTime;

use self::collector::{Captured, Collector};
pub use self::plan::{Plan, PlannedScenario, UnmatchedStep, plan};
pub use self::progress::Progress;
pub use self::selection::{EmbeddedFeatures, EmbeddedFile, FeatureSource};
pub use peers::driver::client::DriverLimits;
use peers::target::{Capability, ProbeError, RemoteServer, Sharing, TargetFile};
use report::catalogue::{Catalogue, CatalogueError};
use report::{
    EXIT_UNREACHABLE, EXIT_USAGE, Expectations, Report, RunInfo, ScenarioResult, Shard, TargetInfo,
};
use suite::judgement::OrFail as _;
use suite::world::ConformanceWorld;
use transcript::Transcript;

/// The run seed when none is given.
pub const DEFAULT_SEED: u64 = 1;

/// How many scenarios run at once by default (cucumber's own default).
pub const DEFAULT_CONCURRENCY: usize = 64;

/// What the server under test is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A fresh in-process mock Token Server per scenario (`fixtures/servers/default.toml`).
    Embedded,
    /// A server at this base URL, with the clients, users and admin token of `mobauth serve`'s
    /// server files (`--server URL`).
    Url(String),
    /// A server described by a target file (`--target FILE`, see `target/file.rs`).
    File(PathBuf),
}

/// The server under test once the run has checked it.
#[derive(Debug, Clone)]
enum Resolved {
    Embedded,
    Remote(Arc<RemoteServer>),
}

impl Resolved {
    fn info(&self) -> TargetInfo {
        match self {
            Resolved::Embedded => TargetInfo {
                kind: "embedded".into(),
                description:
                    "the embedded mock Token Server (fixtures/servers/default.toml, a fresh one per scenario)"
                        .into(),
                server: "embedded".into(),
                device: "simulated".into(),
            },
            Resolved::Remote(server) => TargetInfo {
                kind: "url".into(),
                description: server.describe(),
                server: server.file().name.clone(),
                device: "simulated".into(),
            },
        }
    }
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The feature files: a folder of `.feature` files (or one file), or the embedded suite.
    pub features: FeatureSource,
    /// A cucumber tag expression, e.g. `@must and not @slow`.
    pub tags: Option<String>,
    /// The run seed.
    pub seed: u64,
    /// This run's shard of the selected scenarios.
    pub shard: Option<Shard>,
    /// How many scenarios run at once.
    pub concurrency: usize,
    /// The server under test.
    pub target: TargetSpec,
    /// The command line of the device driver that driver scenarios start (for the embedded
    /// target, `mobauth device-driver`).
    pub driver_command: Option<String>,
    /// How many driver programs run at once and how long each wait for one may take.
    pub driver_limits: DriverLimits,
    /// Whether the driver's device stands in for the scenarios' devices too (an SDK under test,
    /// `mobauth run --device-driver`), not only in the driver protocol's own scenarios.
    pub drive_devices: bool,
    /// Progress output on standard error.
    pub progress: Progress,
    /// Whether failed SHOULD requirements fail the gate.
    pub strict: bool,
    /// Known failures.
    pub expectations: Expectations,
    /// Only these scenarios (`--rerun-failed`), when given; tags and shard still apply.
    pub only: Option<Only>,
}

/// The scenarios a run is limited to, by id and name, as an earlier report named them
/// (`mobauth run --rerun-failed REPORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Only {
    /// Where the list came from, for messages (the report's path).
    pub source: String,
    /// Each scenario's id (`FILE:LINE`) and name.
    pub scenarios: Vec<(String, String)>,
}

impl RunOptions {
    /// The defaults for `features` (a folder's path, or a [`FeatureSource`]): every scenario,
    /// seed [`DEFAULT_SEED`], the embedded target, no driver command, no progress output.
    pub fn new(features: impl Into<FeatureSource>) -> Self {
        Self {
            features: features.into(),
            tags: None,
            seed: DEFAULT_SEED,
            shard: None,
            concurrency: DEFAULT_CONCURRENCY,
            target: TargetSpec::Embedded,
            driver_command: None,
            driver_limits: DriverLimits::for_this_machine(),
            drive_devices: false,
            progress: Progress::Off,
            strict: false,
            expectations: Expectations::none(),
            only: None,
        }
    }
}

/// Why a run could not produce a report.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The features cannot be read or parsed.
    #[error("cannot use the features at {path}: {reason}")]
    Features {
        /// The folder or file given, or the suite built into the binary.
        path: String,
        /// Why.
        reason: String,
    },
    /// The tag expression does not parse.
    #[error("the tag expression {expr:?} is not valid: {reason}")]
    Tags {
        /// The expression.
        expr: String,
        /// Why.
        reason: String,
    },
    /// Tags and shard select nothing.
    #[error("no scenario to run: {0}")]
    NoScenarios(String),
    /// The spec's requirement tables are broken.
    #[error("the requirement catalogue (docs/PROTOCOL.md) is broken: {0}")]
    Catalogue(#[from] CatalogueError),
    /// The options ask for something this harness cannot do.
    #[error("{0}")]
    Usage(String),
    /// The target answers, but not as a Token Server (its own message says what came).
    #[error("{0}")]
    NotATokenServer(String),
    /// The target does not answer.
    #[error("the target {target} cannot be reached: {reason}")]
    Unreachable {
        /// The target.
        target: String,
        /// Why.
        reason: String,
    },
}

impl RunError {
    /// The process exit code for this error: [`EXIT_UNREACHABLE`] for a target that cannot be
    /// reached or is not a Token Server, [`EXIT_USAGE`] for everything else (usage and
    /// configuration).
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Unreachable { .. } | RunError::NotATokenServer(_) => EXIT_UNREACHABLE,
            _ => EXIT_USAGE,
        }
    }
}

/// The label a scenario's seed and embedded server are derived from (shared with the `cargo test`
/// conformance suite, so both give a scenario the same seed).
pub fn scenario_label(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
) -> String {
    format!("{} / {} / line {}", feature.name, scenario.name, scenario.position.line)
}

/// Starts a scenario on a server by URL, sharing it as `sharing` says: the server readied for it
/// ([`RemoteServer::begin_scenario`]), the driver command, the world. Returns the transcript.
/// Panics (failing the scenario, as a hook does) when the server cannot be readied.
pub async fn begin_remote_scenario(
    world: &mut ConformanceWorld,
    server: &RemoteServer,
    run_seed: u64,
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
    driver: Option<DriverSetup>,
    sharing: Sharing,
) -> Transcript {
    let label = scenario_label(feature, scenario);
    let seed = protocol::rng::derive_seed(run_seed, &label);
    let target = server
        .begin_scenario(seed, sharing)
        .await
        .or_fail(|e| format!("cannot ready the server under test for the scenario: {e}"));
    hand_over(world, seed, target, driver)
}

/// How a scenario that `wants` to share a server by URL runs on it: alone when the server cannot
/// give each scenario users of its own ([`RemoteServer::sharing_for`]), and alone when an SDK
/// under test plays the devices: the contract does not say whether a driver's installation (its
/// device_id) outlives its process, so two of its processes at once may be one device.
fn remote_sharing(server: &RemoteServer, drive_devices: bool, wants: Sharing) -> Sharing {
    if drive_devices { Sharing::Alone } else { server.sharing_for(wants) }
}

/// Whether a scenario may share its server with others: not when it, its rule or its feature is
/// tagged `@server-wide` ([`Sharing::for_tags`]).
fn sharing_of(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> Sharing {
    Sharing::for_tags(feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags))
}

/// The device driver a run's scenarios start, and the limits they share.
#[derive(Debug, Clone)]
pub struct DriverSetup {
    /// The driver's command line.
    pub command: String,
    /// How many driver programs run at once, and the bound on each wait for one.
    pub limits: DriverLimits,
}

impl DriverSetup {
    /// `command` with this machine's default limits.
    pub fn new(command: impl Into<String>) -> Self {
        Self { command: command.into(), limits: DriverLimits::for_this_machine() }
    }
}

/// Gives the scenario's target the driver and the world the target; returns the transcript the
/// scenario's exchanges are recorded in.
fn hand_over(
    world: &mut ConformanceWorld,
    seed: u64,
    mut target: peers::target::Target,
    driver: Option<DriverSetup>,
) -> Transcript {
    if let Some(driver) = driver {
        target.set_driver_limits(driver.limits);
        target.set_driver_command(Some(driver.command));
    }
    let transcript = target.transcript().clone();
    world.begin(seed, target);
    transcript
}

/// Starts a scenario: a fresh embedded target seeded from the run seed and the scenario's label
/// ([`scenario_label`]), given the driver command, held to what `sharing` allows, handed to the
/// world. Returns the transcript the scenario's exchanges are recorded in. Panics (failing the scenario, as a hook does) when
/// the target does not start.
pub async fn begin_embedded_scenario(
    world: &mut ConformanceWorld,
    run_seed: u64,
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
    driver: Option<DriverSetup>,
    sharing: Sharing,
) -> Transcript {
    let label = scenario_label(feature, scenario);
    let target = embedded::start(run_seed, &label, sharing)
        .await
        .unwrap_or_else(|e| panic!("cannot start the embedded target: {e}"));
    hand_over(world, protocol::rng::derive_seed(run_seed, &label), target, driver)
}

thread_local! {
    static STEP_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread runs scenario steps (whose panics are step failures, told in the
/// report): for a panic hook that keeps them off the terminal.
pub fn on_step_thread() -> bool {
    STEP_THREAD.with(std::cell::Cell::get)
}

/// Runs the selected scenarios and builds the report.
///
/// Cucumber runs the scenarios of one instance concurrently on one thread, and steps do real
/// work (keys, signatures, QR codes), so each round of the run (`phases`) is split
/// round-robin into one part per core (at most `concurrency`), each run by a cucumber instance
/// on a thread of its own; the servers run on a shared multi-threaded async runtime. Each
/// scenario's seed comes from its label, so how scenarios are split does not change what they
/// do.
///
/// Must not be called from within an async runtime (it starts its own).
pub fn run(options: RunOptions) -> Result<Report, RunError> {
    let _hook = PanicHookGuard::install();
    // Compiling the step definitions' patterns and reading the platform's trusted roots (which
    // the servers' callback clients take) are tens of milliseconds each that need nothing from
    // the features: on threads of their own they overlap parsing them and starting the target.
    let steps = std::thread::spawn(ConformanceWorld::collection);
    let roots = std::thread::spawn(|| drop(transcript::platform_tls()));
    let catalogue = Catalogue::embedded()?;
    let started_at = OffsetDateTime::now_utc();
    let selection = selection::select(&options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Usage(format!("cannot start the async runtime: {e}")))?;
    let target = runtime.block_on(preflight(&options.target, options.seed, started_at))?;
    let device = match (&options.driver_command, options.drive_devices) {
        (Some(command), true) => runtime.block_on(driver_name(command)),
        _ => "simulated".to_string(),
    };

    // Neither thread can panic but by a bug in a dependency; either way it is the run's.
    let steps = steps.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    roots.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let progress = Arc::new(Mutex::new(progress::Sink::new(options.progress, selection.count)));
    let mut scenarios: Vec<ScenarioResult> = Vec::with_capacity(selection.count);
    for phase in phases(&options, &target, &runtime) {
        let parts = selection::split(&selection, phase.threads, &phase.keep);
        let handle = runtime.handle();
        scenarios.extend(std::thread::scope(|scope| {
            let workers: Vec<_> = parts
                .into_iter()
                .map(|(features, meta)| {
                    let part = Part {
                        steps: steps.clone(),
                        features,
                        meta,
                        progress: Arc::clone(&progress),
                        seed: options.seed,
                        target: target.clone(),
                        driver: options
                            .driver_command
                            .clone()
                            .map(|command| DriverSetup { command, limits: options.driver_limits.clone() }),
                        drive_devices: options.drive_devices,
                        concurrency: phase.concurrency.div_ceil(phase.threads),
                    };
                    scope.spawn(move || {
                        STEP_THREAD.with(|flag| flag.set(true));
                        handle.block_on(run_part(part))
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Vec<_>>()
        }));
    }
    if let Resolved::Remote(server) = &target {
        if let Err(e) = runtime.block_on(server.finish()) {
            tracing::warn!(error = %e, "could not give the server under test back its configuration");
        }
        // A scanned QR code carries its transaction's OTP, which a server by URL may still take
        // when the report is read (a transaction a scenario left pending lives on until its time
        // to live ends): reports of such a run show none (README, "Reports and exit codes"). The
        // embedded servers end with their scenarios, so their OTPs are dead by then.
        for scenario in &mut scenarios {
            scenario.qr_images.clear();
        }
    }
    progress.lock().unwrap_or_else(PoisonError::into_inner).finish();
    drop(runtime);
    let finished_at = OffsetDateTime::now_utc();
    let run = RunInfo {
        suite_version: env!("CARGO_PKG_VERSION").to_string(),
        target: TargetInfo { device, ..target.info() },
        seed: options.seed,
        tags: options.tags.clone(),
        shard: options.shard,
        strict: options.strict,
        features: selection.display_root,
        suite_scenarios: selection.suite.len(),
        started_at,
        finished_at,
    };
    let suite_matches: Vec<usize> = options
        .expectations
        .entries()
        .iter()
        .map(|e| {
            selection
                .suite
                .iter()
                .filter(|s| e.pattern.matches_parts(&s.name, &s.id, &s.requirements))
                .count()
        })
        .collect();
    Ok(Report::new(run, &catalogue, scenarios, &options.expectations, &suite_matches))
}

/// One round of a run: the scenarios it runs, on how many threads (one cucumber instance
/// each), and how many at once in all.
struct Phase {
    keep: Box<dyn Fn(&selection::ScenarioMeta) -> bool>,
    threads: usize,
    concurrency: usize,
}

/// The rounds of a run. On the embedded target every scenario has a server of its own, so all
/// run in one round, split over the cores. A server by URL is shared: first the scenarios that
/// may share it run side by side on the settled server, then those that need it alone
/// ([`Sharing::Alone`]: tagged `@server-wide`, or every scenario on a server that cannot make
/// users) one at a time. When the server cannot be settled, every scenario runs alone, and
/// each fails on its own settling, saying why.
fn phases(options: &RunOptions, target: &Resolved, runtime: &tokio::runtime::Runtime) -> Vec<Phase> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let at_once = options.concurrency.max(1);
    let threads = cores.min(at_once);
    let server = match target {
        Resolved::Embedded => {
            return vec![Phase { keep: Box::new(|_| true), threads, concurrency: at_once }];
        }
        Resolved::Remote(server) => Arc::clone(server),
    };
    let drive_devices = options.drive_devices;
    let alone = {
        let server = Arc::clone(&server);
        move |meta: &selection::ScenarioMeta| {
            remote_sharing(&server, drive_devices, Sharing::for_tags(&meta.tags)) == Sharing::Alone
        }
    };
    let one_by_one =
        |keep: Box<dyn Fn(&selection::ScenarioMeta) -> bool>| Phase { keep, threads: 1, concurrency: 1 };
    if let Err(e) = runtime.block_on(server.settle()) {
        tracing::warn!(error = %e, "could not settle the server under test: every scenario runs alone");
        return vec![one_by_one(Box::new(|_| true))];
    }
    let shared = alone.clone();
    vec![
        Phase { keep: Box::new(move |meta| !shared(meta)), threads, concurrency: at_once },
        one_by_one(Box::new(alone)),
    ]
}

/// One cucumber instance's share of a run.
struct Part {
    /// The step definitions, compiled once for every part of the run.
    steps: cucumber::step::Collection<ConformanceWorld>,
    features: Vec<cucumber::gherkin::Feature>,
    meta: std::collections::HashMap<selection::Key, selection::ScenarioMeta>,
    progress: Arc<Mutex<progress::Sink>>,
    seed: u64,
    target: Resolved,
    driver: Option<DriverSetup>,
    drive_devices: bool,
    concurrency: usize,
}

/// Runs one part's scenarios with cucumber and collects their results.
async fn run_part(part: Part) -> Vec<ScenarioResult> {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let collector = Collector::new(part.meta, Arc::clone(&captured), part.progress);
    let (seed, driver, target, drive_devices) = (part.seed, part.driver, part.target, part.drive_devices);
    let before_captured = Arc::clone(&captured);
    let after_target = target.clone();
    let after_captured = Arc::clone(&captured);
    let collector = cucumber::Cucumber::<
        ConformanceWorld,
        cucumber::parser::Basic,
        PathBuf,
        cucumber::runner::Basic<ConformanceWorld>,
        _,
    >::new()
    .steps(part.steps)
    .with_parser(selection::Preparsed(part.features))
    .with_writer(collector)
    .max_concurrent_scenarios(part.concurrency)
    .before(move |feature, rule, scenario, world| {
        let driver = driver.clone();
        let target = target.clone();
        let captured = Arc::clone(&before_captured);
        async move {
            let wants = sharing_of(feature, rule, scenario);
            let transcript = match &target {
                Resolved::Embedded => {
                    begin_embedded_scenario(world, seed, feature, scenario, driver, wants).await
                }
                Resolved::Remote(server) => {
                    let sharing = remote_sharing(server, drive_devices, wants);
                    begin_remote_scenario(world, server, seed, feature, scenario, driver, sharing).await
                }
            };
            world.set_drive_devices(drive_devices);
            captured
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .transcripts
                .insert(selection::key(feature, scenario), transcript);
        }
        .boxed_local()
    })
    .after(move |feature, _rule, scenario, _finished, world| {
        let captured = Arc::clone(&after_captured);
        let shared = matches!(
            &after_target,
            Resolved::Remote(server) if !server.offers().contains(&Capability::Reset)
        );
        async move {
            let Some(world) = world else { return };
            if shared {
                clean_up(world).await;
            }
            let images = collector::world_images(world);
            let mut captured = captured.lock().unwrap_or_else(PoisonError::into_inner);
            captured.devices.insert(selection::key(feature, scenario), collector::world_devices(world));
            if !images.is_empty() {
                captured.world_images.insert(selection::key(feature, scenario), images);
            }
        }
        .boxed_local()
    })
    .with_default_cli()
    .run(())
    .await;
    collector.finish()
}

/// Leaves a server that cannot be reset as the scenario found it, as far as devices can: each
/// simulated device still enrolled removes its enrollment, so a later scenario of the same
/// listed user is not refused as already enrolled. Best effort: a removal that fails is logged.
async fn clean_up(world: &mut ConformanceWorld) {
    for (name, device) in &mut world.devices {
        if device.enrollment().is_some()
            && let Err(e) = device.disenroll().await
        {
            tracing::warn!(device = %name, error = %e, "could not remove the enrollment after the scenario");
        }
    }
}

/// How long the device driver may take to start and greet before the run.
const DRIVER_HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The device driver's `name version` from its `hello`, the report's name for the device under
/// test (cut to [`peers::driver::device::NAME_LIMIT`] characters each). A driver that does not
/// start or greet is named by its command line: the run goes on, and each scenario that starts
/// the driver fails with what the driver did (README, "Testing an SDK").
async fn driver_name(command: &str) -> String {
    use peers::driver::device::NAME_LIMIT;
    use peers::driver::lines::cut_to;
    let greeting = async {
        let mut driver = peers::driver::client::DriverProcess::start(command, DRIVER_HELLO_TIMEOUT, 0)?;
        let reply = driver.request(protocol::driver::Op::Hello).await;
        // The driver's exit status is checked by the driver scenarios; here only the name counts.
        drop(driver.finish().await);
        reply
    };
    match greeting.await {
        Ok(protocol::driver::Reply::Ok { fields, .. }) => {
            let text = |key: &str| {
                cut_to(fields.get(key).and_then(serde_json::Value::as_str).unwrap_or("").trim(), NAME_LIMIT)
            };
            let name = format!("{} {}", text("name"), text("version")).trim().to_string();
            if name.is_empty() { command.to_string() } else { name }
        }
        Ok(other) => {
            tracing::warn!(driver = command, reply = ?other, "the device driver answers hello with no name");
            command.to_string()
        }
        Err(e) => {
            tracing::warn!(driver = command, error = %e, "the device driver does not greet: its scenarios will fail");
            command.to_string()
        }
    }
}

/// Checks the target before any scenario runs: an embedded server starts; a server by URL
/// answers and is probed for its test-control API. `started_at` tags the run's users on a server
/// that cannot be reset.
async fn preflight(target: &TargetSpec, seed: u64, started_at: OffsetDateTime) -> Result<Resolved, RunError> {
    let file = match target {
        TargetSpec::Embedded => {
            return match embedded::start(seed, "preflight", Sharing::Alone).await {
                Ok(target) => {
                    target.shutdown().await;
                    Ok(Resolved::Embedded)
                }
                Err(e) => Err(RunError::Unreachable {
                    target: "embedded mock server".into(),
                    reason: e.to_string(),
                }),
            };
        }
        TargetSpec::Url(url) => TargetFile::for_url(url),
        TargetSpec::File(path) => TargetFile::load(path),
    }
    .map_err(|e| RunError::Usage(e.to_string()))?;
    let run_tag = format!("{:x}", started_at.unix_timestamp_nanos() / 1_000_000);
    let base_url = file.base_url.clone();
    match RemoteServer::probe(file, &run_tag).await {
        Ok(server) => Ok(Resolved::Remote(Arc::new(server))),
        Err(ProbeError::Unreachable { url, reason }) => Err(RunError::Unreachable { target: url, reason }),
        Err(e @ ProbeError::NotATokenServer { .. }) => Err(RunError::NotATokenServer(e.to_string())),
        Err(e) => Err(RunError::Usage(format!("{base_url}: {e}"))),
    }
}

/// The process's panic hook as it was before a run, given back when the run ends.
///
/// Each cucumber instance takes the panic hook, installs a silent one and puts back what it took
/// when it ends; the parts of a run are instances on threads of their own, so one can take the
/// silent hook another installed and put that back last, which would leave every later panic of
/// the process (a failing test's message, a harness bug) unprinted. The guard holds the hook that
/// was there before any part started and reinstalls it once they have all ended.
struct PanicHookGuard(Arc<PanicHook>);

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>;

impl PanicHookGuard {
    fn install() -> Self {
        let original: Arc<PanicHook> = Arc::new(std::panic::take_hook());
        let forward = Arc::clone(&original);
        std::panic::set_hook(Box::new(move |info| forward(info)));
        PanicHookGuard(original)
    }
}

impl Drop for PanicHookGuard {
    fn drop(&mut self) {
        // `set_hook` may not be called while the thread unwinds; a run that panics ends the
        // process's work anyway.
        if std::thread::panicking() {
            return;
        }
        let original = Arc::clone(&self.0);
        std::panic::set_hook(Box::new(move |info| original(info)));
    }
}

/// The text a panic carried, when it carried a `String` or a `&str`.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
}

/// Steps fail by panicking, and the report tells every failure with its step: keep the default
/// panic message off the terminal for panics on the threads that run steps, and keep it for any
/// other thread (a mock server task, a harness bug).
pub fn quiet_step_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !on_step_thread() {
            default(info);
        }
    }));
}
