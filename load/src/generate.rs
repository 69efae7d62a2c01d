//! The generator, the I/O around the pure parts: it starts or probes the server, enrolls the
//! population of devices, then starts each transaction of its shard of the plan when it is due,
//! whether or not earlier ones have ended (open model), and measures every call. Everything it
//! waits for is bounded: each HTTP call by the client's timeout, each callback by
//! `callback_timeout`, the transactions in flight by `max_in_flight`, and the plan by its length.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use peers::device::{DeviceError, SimulatedDevice};
use peers::portal::{CallbackListen, SimulatedPortal};
use peers::target::{
    LocalServer, LocalTargetParts, ProbeError, RemoteServer, Sharing, Target, TargetError, TargetFile,
};
use protocol::wire::{Answer, TransactionStatus};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, oneshot};
use transcript::{ClientSettings, Http, Transcript};
use uuid::Uuid;

use crate::report::{LoadReport, SCHEMA_VERSION};
use crate::schedule::{Plan, Shard};
use crate::stats::{Call, Failure, Measured};
use crate::threshold::Threshold;

/// The server file of the embedded target (the suite's default).
const DEFAULT_SERVER_FILE: &str = include_str!("../../fixtures/servers/default.toml");

/// The most devices a generator enrolls.
pub const MAX_DEVICES: usize = 100_000;
/// The most transactions a generator keeps in flight.
pub const MAX_IN_FLIGHT: usize = 100_000;

/// The server to load.
#[derive(Debug, Clone)]
pub enum LoadTarget {
    /// A mock server started in this process, its clock running.
    Embedded,
    /// A server by URL, as a target file (or `--server URL`) describes it.
    Server(Box<TargetFile>),
}

/// What a load run does.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The server.
    pub target: LoadTarget,
    /// When transactions arrive.
    pub plan: Plan,
    /// Which of the plan's arrivals this generator runs.
    pub shard: Shard,
    /// How many devices enroll before the arrivals (each its own user).
    pub devices: usize,
    /// Seed of the devices' keys and ids (and of the embedded server).
    pub seed: u64,
    /// The thresholds that set the verdict.
    pub thresholds: Vec<Threshold>,
    /// The most transactions in flight; an arrival beyond it is not started and counts as failed.
    pub max_in_flight: usize,
    /// The OTP type the portal asks for.
    pub otp_type: String,
    /// The message each transaction shows.
    pub message: String,
    /// How long after its answer a transaction waits for its callback.
    pub callback_timeout: Duration,
    /// How many devices enroll at once.
    pub enroll_concurrency: usize,
}

impl LoadOptions {
    /// Options with the defaults: 100 devices, 10 s for a callback, 10 000 in flight, the
    /// suite's OTP type.
    pub fn new(target: LoadTarget, plan: Plan) -> Self {
        Self {
            target,
            plan,
            shard: Shard::WHOLE,
            devices: 100,
            seed: 1,
            thresholds: Vec::new(),
            max_in_flight: 10_000,
            otp_type: "qr-code".to_string(),
            message: "Log in to the load test?".to_string(),
            callback_timeout: Duration::from_secs(10),
            enroll_concurrency: 16,
        }
    }
}

/// Why a load run could not measure anything.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The options are out of bounds (we were misused).
    #[error("{0}")]
    Usage(String),
    /// The server cannot be reached or is not a Token Server.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The embedded server did not start, or the server cannot give the devices users.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The HTTP client cannot be built from the target's settings.
    #[error(transparent)]
    Client(#[from] transcript::ClientError),
    /// The portal's callback receiver cannot listen.
    #[error("the portal's callback receiver cannot listen: {0}")]
    Listen(std::io::Error),
    /// No device enrolled, so no transaction can run.
    #[error("no device could enroll ({failed} tried); the first failure: {first}")]
    NoDevice {
        /// Devices that tried.
        failed: usize,
        /// What the first one got.
        first: String,
    },
}

/// How far a run has come, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Time since the first arrival was due.
    pub elapsed: Duration,
    /// The plan's length.
    pub plan: Duration,
    /// Transactions started.
    pub started: u64,
    /// Transactions that ended accepted.
    pub completed: u64,
    /// Transactions that failed.
    pub failed: u64,
    /// Whether this is the last call: every transaction has ended.
    pub finished: bool,
}

/// The in-process mock server of an embedded load run.
#[derive(Debug)]
struct Embedded(mock_server::RunningServer);

impl LocalServer for Embedded {
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let Embedded(server) = *self;
        Box::pin(server.shutdown())
    }
}

/// The server as the run uses it, and what to give back at the end.
struct Server {
    target: Target,
    remote: Option<RemoteServer>,
    client: reqwest::Client,
    base_url: String,
    callback_listen: CallbackListen,
    label: String,
}

async fn start(options: &LoadOptions, seed: u64) -> Result<Server, LoadError> {
    match &options.target {
        LoadTarget::Embedded => {
            let mut file =
                mock_server::ServerFile::parse(DEFAULT_SERVER_FILE, "fixtures/servers/default.toml")
                    .map_err(|e| TargetError::Start(e.to_string()))?;
            file.seed = Some(protocol::rng::derive_seed(seed, "server"));
            let app_client_id = file.app_clients.first().map(|c| c.client_id.clone());
            let api_client = file.api_clients.first().map(|c| (c.client_id.clone(), c.client_secret.clone()));
            let (Some(app_client_id), Some(api_client)) = (app_client_id, api_client) else {
                return Err(TargetError::Start("the server file names no app or API client".into()).into());
            };
            let mut serve = mock_server::ServeOptions::new(([127, 0, 0, 1], 0).into(), file);
            serve.seed = seed;
            let server = mock_server::serve(serve).await.map_err(|e| TargetError::Start(e.to_string()))?;
            let base_url = server.url();
            let parts = LocalTargetParts {
                url: base_url.clone(),
                admin_token: server.admin_token().to_string(),
                app_client_id,
                api_client,
                seed,
                sharing: Sharing::Shared,
            };
            Ok(Server {
                target: Target::local(parts, Box::new(Embedded(server))),
                remote: None,
                client: transcript::build_client(&ClientSettings::local(Duration::from_secs(10)))?,
                base_url,
                callback_listen: CallbackListen::default(),
                label: "embedded".to_string(),
            })
        }
        LoadTarget::Server(file) => {
            // A server that keeps users between runs keeps this run's apart by the tag.
            let tag = format!("load{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000);
            let remote = RemoteServer::probe(file.as_ref().clone(), &tag).await?;
            let target = remote.begin_scenario(seed, Sharing::Shared).await?;
            Ok(Server {
                target,
                client: transcript::build_client(&file.client)?,
                base_url: file.base_url.clone(),
                callback_listen: file.callback_listen.clone(),
                label: file.base_url.clone(),
                remote: Some(remote),
            })
        }
    }
}

/// What a device's refusal or mishap counts as.
fn device_failure(call: Call, error: &DeviceError) -> Failure {
    match error {
        DeviceError::Peer(e) => Failure::of_peer(call, e),
        other => Failure { call, status: None, what: other.to_string().chars().take(80).collect() },
    }
}

/// The devices not in a transaction, and a permit for each.
struct Pool {
    idle: Mutex<Vec<SimulatedDevice>>,
    permits: Arc<Semaphore>,
}

/// Shared by the transactions of a run.
struct Context {
    portal: SimulatedPortal,
    pool: Pool,
    measured: Mutex<Measured>,
    waiters: Mutex<HashMap<Uuid, oneshot::Sender<Instant>>>,
    fields: Vec<(String, String)>,
    callback_timeout: Duration,
    /// When the first arrival was due.
    start: Instant,
}

impl Context {
    fn measured(&self) -> std::sync::MutexGuard<'_, Measured> {
        self.measured.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Instant>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Times `call`, counting its success.
    async fn timed<T, E>(&self, call: Call, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let at = Instant::now();
        let result = work.await;
        if result.is_ok() {
            self.measured().call(call, at.elapsed());
        }
        result
    }

    /// The device part of a transaction: an idle device fetches the request behind `otp` and
    /// accepts it; the device is idle again after. Returns when the answer was sent.
    async fn on_a_device(&self, otp: &str) -> Result<Instant, Failure> {
        let permit = match Arc::clone(&self.pool.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.measured().generator.waited_for_device += 1;
                Arc::clone(&self.pool.permits).acquire_owned().await.map_err(|_| Failure {
                    call: Call::OtpRequest,
                    status: None,
                    what: "no device left".into(),
                })?
            }
        };
        let mut device =
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).pop().ok_or_else(|| Failure {
                call: Call::OtpRequest,
                status: None,
                what: "no idle device".into(),
            })?;
        let result = async {
            self.timed(Call::OtpRequest, device.handle_otp(otp))
                .await
                .map_err(|e| device_failure(Call::OtpRequest, &e))?;
            let answering = Instant::now();
            self.timed(Call::Answer, device.decide(Answer::Accept))
                .await
                .map_err(|e| device_failure(Call::Answer, &e))?;
            Ok(answering)
        }
        .await;
        device.clear_events();
        // A request a failure left showing is not this transaction's to answer any more.
        let _ = device.dismiss();
        self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(device);
        drop(permit);
        result
    }

    /// One whole transaction: the portal starts it, a device accepts it, the callback comes and
    /// the portal reads it accepted.
    async fn transaction(&self) -> Result<(), Failure> {
        let fields: Vec<(&str, &str)> = self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let started = self
            .timed(Call::AuthenticateUser, self.portal.authenticate_user(&fields))
            .await
            .map_err(|e| Failure::of_peer(Call::AuthenticateUser, &e))?;
        let id = started.transaction_id;
        let (tx, called) = oneshot::channel();
        self.waiters().insert(id, tx);
        let answered = match self.on_a_device(&started.otp).await {
            Ok(at) => at,
            Err(failure) => {
                self.waiters().remove(&id);
                return Err(failure);
            }
        };
        let called = match tokio::time::timeout(self.callback_timeout, called).await {
            Ok(Ok(at)) => at,
            _ => {
                self.waiters().remove(&id);
                let what = format!("no callback within {:?}", self.callback_timeout);
                return Err(Failure { call: Call::Callback, status: None, what });
            }
        };
        self.measured().call(Call::Callback, called.saturating_duration_since(answered));
        let status = self
            .timed(Call::Status, self.portal.transaction(&id.to_string()))
            .await
            .map_err(|e| Failure::of_peer(Call::Status, &e))?;
        if status.status != TransactionStatus::Accepted {
            let what = format!("status {:?} after the device accepted", status.status).to_lowercase();
            return Err(Failure { call: Call::Status, status: Some(200), what });
        }
        Ok(())
    }
}

/// Routes each callback to the transaction waiting for it, until `stop`.
async fn route_callbacks(context: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            callback = context.portal.next_callback(Duration::from_secs(1)) => {
                let Some(callback) = callback else { continue };
                let waiter = context.waiters().remove(&callback.transaction_id);
                match waiter {
                    Some(tx) => { let _ = tx.send(Instant::now()); }
                    None => context.measured().stray_callbacks += 1,
                }
            }
        }
    }
}

/// Enrolls `count` devices, each with a user of its own, `at_once` at a time.
async fn enroll(
    server: &mut Server,
    options: &LoadOptions,
    seed: u64,
    measured: &Mutex<Measured>,
) -> Result<Vec<SimulatedDevice>, LoadError> {
    let mut users = Vec::with_capacity(options.devices);
    for _ in 0..options.devices {
        match server.target.new_user().await {
            Ok(user) => users.push(user),
            Err(TargetError::Missing(peers::target::Capability::TestUsers(listed))) => {
                return Err(LoadError::Usage(format!(
                    "--devices {} asks for a user each, but the server offers no test-control API to make \
                     users and the target file lists {listed}: list more [[users]] or ask for fewer devices",
                    options.devices
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let app = server.target.app_client_id().to_string();
    let http = Http::with_client(server.client.clone(), &server.base_url, Transcript::discarding());
    let permits = Arc::new(Semaphore::new(options.enroll_concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, user) in users.into_iter().enumerate() {
        let rng = protocol::rng::seeded(protocol::rng::derive_seed(seed, &format!("device-{i}")));
        let mut device = SimulatedDevice::new(&format!("device-{i}"), http.clone(), &app, rng);
        let permits = Arc::clone(&permits);
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let at = Instant::now();
            if let Err(e) = device.log_in(&user.username, &user.password).await {
                return Err(device_failure(Call::Login, &e));
            }
            let logged_in = at.elapsed();
            let at = Instant::now();
            device.enroll().await.map_err(|e| device_failure(Call::Enroll, &e))?;
            Ok((device, logged_in, at.elapsed()))
        });
    }
    let mut devices = Vec::with_capacity(options.devices);
    let mut first = None;
    while let Some(joined) = set.join_next().await {
        let mut m = measured.lock().unwrap_or_else(PoisonError::into_inner);
        match joined {
            Ok(Ok((device, login, enrollment))) => {
                m.call(Call::Login, login);
                m.call(Call::Enroll, enrollment);
                devices.push(device);
            }
            Ok(Err(failure)) => {
                first.get_or_insert_with(|| failure.to_string());
                m.failure(failure);
            }
            Err(e) => {
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if devices.is_empty() {
        return Err(LoadError::NoDevice { failed: options.devices, first: first.unwrap_or_default() });
    }
    Ok(devices)
}

/// Runs the shard of the plan and returns its report; `progress` is called about four times a
/// second while the arrivals go.
pub async fn run(
    options: LoadOptions,
    progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<LoadReport, LoadError> {
    if options.devices == 0 || options.devices > MAX_DEVICES {
        return Err(LoadError::Usage(format!("--devices is between 1 and {MAX_DEVICES}")));
    }
    if options.max_in_flight == 0 || options.max_in_flight > MAX_IN_FLIGHT {
        return Err(LoadError::Usage(format!("--max-in-flight is between 1 and {MAX_IN_FLIGHT}")));
    }
    // Each shard's devices, users and server seed are its own, so shards on one server do not meet.
    let seed = protocol::rng::derive_seed(options.seed, &format!("shard-{}", options.shard));
    let mut server = start(&options, seed).await?;
    // Whatever happens after the probe, the server gets back the configuration it had, and an
    // embedded one stops.
    let driven = drive(&mut server, &options, seed, progress).await;
    if let Some(remote) = &server.remote
        && let Err(e) = remote.finish().await
    {
        tracing::warn!(error = %e, "could not give the server under load back its configuration");
    }
    server.target.shutdown().await;
    let Driven { measured, enrolled, started_at, duration } = driven?;
    let checked = LoadReport::check(&measured, &options.plan, &options.thresholds);
    Ok(LoadReport {
        schema_version: SCHEMA_VERSION,
        mobauth_version: env!("CARGO_PKG_VERSION").to_string(),
        target: server.label,
        seed: options.seed,
        plan: options.plan,
        shards: vec![options.shard],
        devices: u64::try_from(enrolled).unwrap_or(u64::MAX),
        started_at,
        duration,
        thresholds: options.thresholds.iter().map(ToString::to_string).collect(),
        measured,
        checked,
    })
}

/// What a run measured once its transactions have all ended.
struct Driven {
    measured: Measured,
    enrolled: usize,
    started_at: OffsetDateTime,
    duration: Duration,
}

/// Enrolls the population and runs the shard's arrivals on `server`.
async fn drive(
    server: &mut Server,
    options: &LoadOptions,
    seed: u64,
    progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<Driven, LoadError> {
    let measured = Mutex::new(Measured::default());
    let devices = enroll(server, options, seed, &measured).await?;
    let enrolled = devices.len();
    let (id, secret) = server.target.api_client();
    let http = Http::with_client(server.client.clone(), &server.base_url, Transcript::discarding());
    let portal =
        SimulatedPortal::start(http, id, secret, &server.callback_listen).await.map_err(LoadError::Listen)?;
    let fields = vec![
        ("type".to_string(), options.otp_type.clone()),
        ("callback_uri".to_string(), portal.callback_uri()),
        ("message".to_string(), options.message.clone()),
    ];
    let started_at = OffsetDateTime::now_utc();
    let start = Instant::now();
    let context = Arc::new(Context {
        portal,
        pool: Pool { idle: Mutex::new(devices), permits: Arc::new(Semaphore::new(enrolled)) },
        measured,
        waiters: Mutex::new(HashMap::new()),
        fields,
        callback_timeout: options.callback_timeout,
        start,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let router = tokio::spawn(route_callbacks(Arc::clone(&context), stopped.clone()));
    let ticker = tokio::spawn(tick(Arc::clone(&context), options.plan.duration(), stopped, progress));

    let mut in_flight = tokio::task::JoinSet::new();
    for arrival in options.plan.arrivals().filter(|a| options.shard.runs(a)) {
        let due = start + arrival.at;
        tokio::time::sleep_until(due.into()).await;
        while in_flight.try_join_next().is_some() {}
        context.measured().arrival(arrival.at, Instant::now().saturating_duration_since(due));
        if in_flight.len() >= options.max_in_flight {
            let mut m = context.measured();
            m.generator.dropped += 1;
            let what = format!("not started: {} transactions in flight", options.max_in_flight);
            m.transaction(arrival.at, Err(Failure { call: Call::AuthenticateUser, status: None, what }));
            continue;
        }
        let context = Arc::clone(&context);
        in_flight.spawn(async move {
            let outcome = context.transaction().await.map(|()| due.elapsed());
            let at = context.start.elapsed();
            context.measured().transaction(at, outcome);
        });
    }
    // Every transaction ends within its calls' timeouts and the callback's.
    while in_flight.join_next().await.is_some() {}
    let duration = start.elapsed();
    let _ = stop.send(true);
    let _ = tokio::join!(router, ticker);
    let context = Arc::into_inner(context).expect("the router, the ticker and every transaction have ended");
    let measured = context.measured.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok(Driven { measured, enrolled, started_at, duration })
}

/// Calls `progress` about four times a second until `stop`, and once at the end.
async fn tick(
    context: Arc<Context>,
    plan: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    progress: impl Fn(&Progress),
) {
    let snapshot = |context: &Context, finished: bool| {
        let m = context.measured();
        Progress {
            elapsed: context.start.elapsed(),
            plan,
            started: m.started(),
            completed: m.completed(),
            failed: m.failed_transactions,
            finished,
        }
    };
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = every.tick() => progress(&snapshot(&context, false)),
        }
    }
    progress(&snapshot(&context, true));
}
