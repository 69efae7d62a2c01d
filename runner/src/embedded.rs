//! The embedded target: a fresh in-process mock server for each scenario.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mock_server::{ClockMode, RunningServer, ServeOptions, ServerFile};
use peers::target::{LocalServer, LocalTargetParts, Sharing, Target, TargetError};
use protocol::ca::CertificateAuthority;
use time::OffsetDateTime;
use time::macros::datetime;

/// The instant an embedded server's clock is frozen at when a scenario starts.
pub const EMBEDDED_START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// The server file an embedded target starts from; compiled in so the suite runs from any cwd.
const DEFAULT_SERVER_FILE: &str = include_str!("../../fixtures/servers/default.toml");

/// The in-process mock server behind an embedded target.
#[derive(Debug)]
struct Embedded(RunningServer);

impl LocalServer for Embedded {
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let Embedded(server) = *self;
        Box::pin(server.shutdown())
    }
}

/// Starts a fresh in-process mock server for one scenario, `fixtures/servers/default.toml` on
/// 127.0.0.1:0 with its clock frozen at [`EMBEDDED_START`], seeded from the run seed and the
/// scenario's name, and returns the target around it, held to what a scenario that shares its
/// server as `sharing` says may do (so that the embedded run checks the suite's `@server-wide`
/// tags as a run by URL needs them).
pub async fn start(run_seed: u64, scenario: &str, sharing: Sharing) -> Result<Target, TargetError> {
    let seed = protocol::rng::derive_seed(run_seed, scenario);
    let mut file = ServerFile::parse(DEFAULT_SERVER_FILE, "fixtures/servers/default.toml")
        .map_err(|e| TargetError::Start(e.to_string()))?;
    file.seed = Some(protocol::rng::derive_seed(seed, "server"));
    let app_client_id = file.app_clients.first().map(|c| c.client_id.clone());
    let api_client = file.api_clients.first().map(|c| (c.client_id.clone(), c.client_secret.clone()));
    let (Some(app_client_id), Some(api_client)) = (app_client_id, api_client) else {
        return Err(TargetError::Start("the server file names no app client or no API client".into()));
    };
    let mut options = ServeOptions::new(([127, 0, 0, 1], 0).into(), file);
    options.clock = ClockMode::Frozen(EMBEDDED_START);
    options.seed = seed;
    options.ca = Some(run_ca(run_seed)?);
    // The platform's roots the harness's own clients read, not a second reading of them.
    options.callback_tls = Some(transcript::platform_tls().map_err(TargetError::Start)?);
    // The scenario moves the frozen clock past an attempt's 5 s; the real-time safety net
    // only stops a hung attempt from outliving a scenario that never does, so on a loaded
    // machine it must not fire first.
    options.callback_attempt_timeout = Duration::from_secs(60);
    let server = mock_server::serve(options).await.map_err(|e| TargetError::Start(e.to_string()))?;
    let parts = LocalTargetParts {
        url: server.url(),
        admin_token: server.admin_token().to_string(),
        app_client_id,
        api_client,
        seed,
        sharing,
    };
    Ok(Target::local(parts, Box::new(Embedded(server))))
}

/// The certificate authority every embedded server of a run issues from, made once from the run
/// seed. Each scenario's server is its own all the same (its users, tokens, enrollments and
/// transactions): what a scenario sees of the CA is its certificate and the certificates it
/// issues, which a CA of its own would give alike. Making a CA is a key pair and a signature,
/// which for every scenario of the suite was about 4 % of a run's CPU.
fn run_ca(run_seed: u64) -> Result<Arc<CertificateAuthority>, TargetError> {
    // The last run's CA: a process runs one run at a time, or tests several with other seeds.
    static LAST: Mutex<Option<(u64, Arc<CertificateAuthority>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((seed, ca)) = last.as_ref()
        && *seed == run_seed
    {
        return Ok(Arc::clone(ca));
    }
    let mut rng = protocol::rng::seeded(protocol::rng::derive_seed(run_seed, "embedded CA"));
    let ca = CertificateAuthority::generate(mock_server::core::CA_NAME, &mut rng, EMBEDDED_START)
        .map(Arc::new)
        .map_err(|e| TargetError::Start(e.to_string()))?;
    *last = Some((run_seed, Arc::clone(&ca)));
    Ok(ca)
}
