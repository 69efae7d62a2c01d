//! A mock Token Server for mobile authentication.
//!
//! It answers every API of the wire contract (token endpoint, device API, relying-party API,
//! admin API) exactly as the contract says, reads a settable clock, delivers callbacks with
//! retries and injects seeded faults. [`serve`] starts it in-process on any address (tests use
//! `127.0.0.1:0`) and returns a [`RunningServer`] with its address and a shutdown handle; the
//! `mobauth serve` command runs it standalone.
//!
//! The rules live in [`core`] as a state machine without I/O; [`http`] is the thin HTTP layer.
//! Where the contract leaves a choice, a server file's `[readings]` ([`readings::Readings`]) can
//! make the mock take another legal reading than its own.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod core;
pub mod faults;
pub mod http;
pub mod portal_page;
pub mod readings;
pub mod store;

mod callbacks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::clock::Clock as _;
use tokio::sync::oneshot;

pub use crate::clock::ClockMode;
pub use crate::config::{ConfigError, ServerFile};
use crate::core::TokenServer;
use crate::http::{EventLog, Shared};
pub use crate::readings::Readings;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Settings, users and clients.
    pub file: ServerFile,
    /// Running (wall clock plus offset) or frozen.
    pub clock: ClockMode,
    /// Server-clock wait between the end of a failed callback delivery attempt and the next
    /// attempt; doubles after each (contract: 200 ms). Real time under the reading
    /// [`readings::CallbackTiming::RealTime`].
    pub callback_backoff: Duration,
    /// Real time after which a callback delivery attempt the receiver has not answered fails (5 s):
    /// a safety net behind the 5 s of server-clock time that fail it otherwise, for when nobody
    /// moves a standing clock.
    pub callback_attempt_timeout: Duration,
    /// Seed of all randomness, unless the file names one.
    pub seed: u64,
    /// Real time a client has to send a request's headers (from the connection's start, or the
    /// end of its last exchange on a kept-alive connection) and, apart, its body: a client slower
    /// than this loses its connection (headers) or gets 408 (body), so slow clients cannot hold
    /// the server's connections forever.
    pub read_timeout: Duration,
    /// A state file ([`store::Store`]): the server takes up the state it holds and keeps every
    /// change there before answering the request that made it.
    pub state: Option<std::path::PathBuf>,
    /// The certificate authority to issue from, instead of one the server makes from its seed at
    /// its start: many short-lived servers (the embedded target's, one a scenario) can share one,
    /// sparing each a key pair and a signature.
    pub ca: Option<Arc<protocol::ca::CertificateAuthority>>,
    /// The TLS configuration of the callback client, instead of [`platform_tls`]: a process that
    /// has read the platform's roots for clients of its own (the harness) hands them in rather
    /// than have them read a second time.
    pub callback_tls: Option<rustls::ClientConfig>,
}

impl ServeOptions {
    /// Options for a server on `addr` from `file`, with the contract's defaults.
    pub fn new(addr: SocketAddr, file: ServerFile) -> Self {
        Self {
            addr,
            file,
            clock: ClockMode::Running,
            callback_backoff: Duration::from_millis(200),
            callback_attempt_timeout: Duration::from_secs(5),
            seed: 0,
            read_timeout: Duration::from_secs(10),
            state: None,
            ca: None,
            callback_tls: None,
        }
    }
}

/// Why a server did not start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate authority could not be made.
    #[error("cannot create the certificate authority: {0}")]
    Ca(#[from] protocol::ca::IssueError),
    /// The client that delivers callbacks could not be made (the platform's TLS roots).
    #[error("cannot make the callback client: {0}")]
    Tls(String),
    /// The state file cannot be used.
    #[error(transparent)]
    State(#[from] store::StoreError),
    /// The state file's state cannot be taken up.
    #[error("cannot take up the state file's state: {0}")]
    Damaged(#[from] core::durable::DurableError),
}

/// A server running in this process.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin API's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Stops accepting, closes connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a server and returns once it listens.
pub async fn serve(options: ServeOptions) -> Result<RunningServer, ServeError> {
    let (store, kept) = match &options.state {
        Some(path) => {
            let (store, kept) = store::Store::open(path)?;
            (Some(store), kept)
        }
        None => (None, None),
    };
    let starts = kept.as_ref().map_or(0, |kept| kept.starts) + 1;
    let seed = options.file.seed.unwrap_or(options.seed);
    // On a kept state each start draws its own stream, even from one seed: a token of an earlier
    // process is never handed out again.
    let seed =
        if store.is_some() { protocol::rng::derive_seed(seed, &format!("start {starts}")) } else { seed };
    let readings = options.file.readings;
    let clock = clock::ServerClock::with_readings(options.clock, readings);
    let mut rng = protocol::rng::seeded(seed);
    let server_rng = protocol::rng::seeded(rand_core::Rng::next_u64(&mut rng));
    let server = match &options.ca {
        Some(ca) => TokenServer::with_ca(options.file.seed(), server_rng, Arc::clone(ca)),
        None => TokenServer::new(options.file.seed(), server_rng, clock.now())?,
    };
    let mut server = server.with_readings(readings);
    let event_seq = kept.as_ref().map_or(0, |kept| kept.event_seq);
    if let Some(kept) = kept {
        server.restore(kept)?;
    }
    let listener =
        http::bind(options.addr).await.map_err(|source| ServeError::Bind { addr: options.addr, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: options.addr, source })?;
    let admin_token =
        options.file.admin_token.clone().unwrap_or_else(|| config::DEFAULT_ADMIN_TOKEN.to_string());
    let tls = match options.callback_tls {
        Some(tls) => tls,
        None => platform_tls().map_err(ServeError::Tls)?,
    };
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(callbacks::redirect_policy(readings.callback_redirects))
        .build()
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    let deliveries = callbacks::Deliveries::new(
        client,
        options.callback_backoff,
        options.callback_attempt_timeout,
        readings.callback_timing,
    );
    let faults = faults::Faults::with_start(options.file.faults.clone(), seed)
        .counting_zero_as(readings.fault_count_zero);
    let shared = Arc::new(Shared {
        server: Mutex::new(server),
        clock,
        admin_token: admin_token.clone(),
        faults: Mutex::new(faults),
        events: Mutex::new(EventLog::new(readings.event_seq, event_seq)),
        deliveries,
        readings,
        read_timeout: options.read_timeout,
        store,
        starts,
    });
    // The start itself is kept (its count), before the server answers anyone.
    shared.persist()?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let delivery = tokio::spawn(callbacks::run_timer(shared.clone()));
        let sweeper = tokio::spawn(sweep_running_clock(shared.clone()));
        http::accept_loop(listener, shared, stop_rx).await;
        sweeper.abort();
        delivery.abort();
    });
    Ok(RunningServer { addr, admin_token, shutdown: Some(stop_tx), task })
}

/// With a running clock, transactions expire as real time passes: look once a second so their
/// callbacks go out without waiting for a request. A standing clock only moves through the admin
/// API, which sweeps itself.
async fn sweep_running_clock(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if shared.clock.is_running() {
            shared.sweep_now();
        }
    }
}

/// Makes ring the process's rustls crypto provider unless one is installed already: reqwest
/// builds a TLS configuration for every client, and the workspace gives it rustls without a
/// provider of its own (so no aws-lc C build).
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race to install; either way a provider is installed after.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The TLS configuration that trusts the platform's roots, made once per process: reading them
/// is file reads and PEM parsing that a client per server or per scenario would repeat (a
/// measured tenth of the conformance suite's CPU time). The harness's clients use it too.
pub fn platform_tls() -> Result<rustls::ClientConfig, String> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            install_crypto_provider();
            rustls::ClientConfig::builder()
                .with_platform_verifier()
                .map(|builder| builder.with_no_client_auth())
                .map_err(|e| format!("cannot read the platform's trusted roots: {e}"))
        })
        .clone()
}
