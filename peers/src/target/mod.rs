//! What the conformance steps talk to: a server under test, reached only over HTTP.
//!
//! A [`Target`] gives the base URL, the app client id, the API client's credentials, a way to get
//! a fresh user and, as far as the server offers it, the test-control API ([`Admin`]). Steps
//! never see how the server runs. Two kinds: a local server for one scenario
//! ([`Target::local`], which the runner starts: a fresh in-process mock server), and
//! [`RemoteServer`], a server by URL (a target file, `file.rs`) shared by the scenarios of a run,
//! which run concurrently on it unless they need it alone ([`Sharing`], `sharing.rs`; see
//! [`RemoteServer::begin_scenario`]).
//!
//! A target may lack parts of the test-control API: an [`Admin`] call that needs a part the
//! target lacks fails with [`TargetError::Missing`], naming the missing [`Capability`]; the suite
//! judges that *not applicable* and every other error *failed*.

mod file;
mod remote;
mod sharing;

pub use self::file::{TargetFile, TargetFileError};
pub use self::remote::{ProbeError, RemoteServer};
pub use self::sharing::{SERVER_WIDE_TAG, Sharing};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use protocol::wire::{ClockState, EnrollmentMode, paths};
use reqwest::Method;
use time::OffsetDateTime;

use crate::driver::client::DriverLimits;
pub use crate::portal::CallbackListen;
use transcript::{Auth, Http, Payload, PeerError, Transcript};

/// How long a single HTTP exchange with a target may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a target could not do what a step asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target lacks a capability the scenario needs (the scenario is not applicable there).
    #[error("the target does not offer {0}")]
    Missing(Capability),
    /// The local server did not start.
    #[error("the local server did not start: {0}")]
    Start(String),
    /// The server refused or misbehaved.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// A scenario that shares its server with others made a call that needs the server alone:
    /// the suite is wrong (the scenario lacks the `@server-wide` tag), not the server.
    #[error(
        "the scenario makes {method} on {part}, which changes or reads what every scenario on the \
         server shares, but it is not tagged @server-wide, so other scenarios run beside it (a \
         defect of the suite, not of the server)"
    )]
    NotAlone {
        /// The call's method.
        method: String,
        /// The part of the test-control API it calls.
        part: Capability,
    },
}

/// A capability a target may lack.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// The test-control API (contract section 6) at all.
    Admin,
    /// `GET`/`PUT /_admin/v1/config`.
    Config,
    /// `GET`/`POST /_admin/v1/clock`.
    Clock,
    /// `POST /_admin/v1/users` and the admin's deletion of an enrollment.
    Users,
    /// `POST /_admin/v1/api-clients` and `/app-clients`.
    Clients,
    /// `PUT /_admin/v1/faults`.
    Faults,
    /// `GET /_admin/v1/events`.
    Events,
    /// `POST /_admin/v1/reset`.
    Reset,
    /// More test users than the target file lists (this many), for a target that cannot create
    /// users.
    TestUsers(usize),
}

impl Capability {
    /// Every part of the test-control API, in the order reports list them.
    pub const ADMIN_PARTS: [Capability; 7] = [
        Capability::Config,
        Capability::Clock,
        Capability::Users,
        Capability::Clients,
        Capability::Faults,
        Capability::Events,
        Capability::Reset,
    ];

    /// The part of the test-control API a path under `/_admin/v1` belongs to.
    pub fn for_admin_path(rest: &str) -> Capability {
        let first = rest.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default();
        match first {
            "config" => Capability::Config,
            "clock" => Capability::Clock,
            "users" => Capability::Users,
            "api-clients" | "app-clients" => Capability::Clients,
            "faults" => Capability::Faults,
            "events" => Capability::Events,
            "reset" => Capability::Reset,
            _ => Capability::Admin,
        }
    }

    /// A short name for reports: `config`, `clock`, ...
    pub fn short_name(self) -> &'static str {
        match self {
            Capability::Admin => "admin",
            Capability::Config => "config",
            Capability::Clock => "clock",
            Capability::Users => "users",
            Capability::Clients => "clients",
            Capability::Faults => "faults",
            Capability::Events => "events",
            Capability::Reset => "reset",
            Capability::TestUsers(_) => "test users",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capability::Admin => f.write_str("the test-control (admin) API"),
            Capability::Config => f.write_str("configuration changes (GET/PUT /_admin/v1/config)"),
            Capability::Clock => f.write_str("the settable clock (POST /_admin/v1/clock)"),
            Capability::Users => f.write_str("test users made on demand (POST /_admin/v1/users)"),
            Capability::Clients => f.write_str("clients made on demand (POST /_admin/v1/api-clients)"),
            Capability::Faults => f.write_str("injected faults (PUT /_admin/v1/faults)"),
            Capability::Events => f.write_str("the event log (GET /_admin/v1/events)"),
            Capability::Reset => f.write_str("a reset (POST /_admin/v1/reset)"),
            Capability::TestUsers(listed) => write!(
                f,
                "more than the {listed} test users its target file lists (list more under [[users]])"
            ),
        }
    }
}

/// The parts of the test-control API a target offers.
pub type Capabilities = Arc<BTreeSet<Capability>>;

/// A user's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// The username, which is also the `user_id` in this profile.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The test-control API of a target, reached over HTTP with the admin token; each call first
/// checks that the target offers its part of the API.
#[derive(Debug, Clone)]
pub struct Admin {
    http: Http,
    token: String,
    offers: Capabilities,
    sharing: Sharing,
}

impl Admin {
    /// The whole admin API of the server that `http` talks to.
    pub fn new(http: Http, token: &str) -> Self {
        Self::with_parts(http, token, Capability::ADMIN_PARTS.into_iter().collect::<BTreeSet<_>>().into())
    }

    /// The parts `offers` of the admin API of the server that `http` talks to.
    pub fn with_parts(http: Http, token: &str, offers: Capabilities) -> Self {
        Self { http, token: token.to_string(), offers, sharing: Sharing::Alone }
    }

    /// The same API for a scenario that shares its server as `sharing` says: a shared scenario's
    /// calls that need the server alone are refused ([`TargetError::NotAlone`]).
    pub fn sharing(mut self, sharing: Sharing) -> Self {
        self.sharing = sharing;
        self
    }

    /// Whether the target offers `part` ([`Capability::Admin`]: any of it, which an `Admin`
    /// exists for).
    pub fn offers(&self, part: Capability) -> bool {
        part == Capability::Admin || self.offers.contains(&part)
    }

    /// `Ok` when the target offers `part`, else [`TargetError::Missing`].
    pub fn require(&self, part: Capability) -> Result<(), TargetError> {
        if self.offers(part) { Ok(()) } else { Err(TargetError::Missing(part)) }
    }

    /// `Ok` when the target offers the part of the API that `rest` (the path under
    /// `/_admin/v1`) belongs to, and the scenario may make `method` on it, sharing its server as
    /// it does: what raw-request steps ask before they send an admin call of their own.
    pub fn permit_call(&self, method: &str, rest: &str) -> Result<(), TargetError> {
        self.permit(method, Capability::for_admin_path(rest))
    }

    fn permit(&self, method: &str, part: Capability) -> Result<(), TargetError> {
        self.require(part)?;
        self.sharing.allows(method, part)
    }

    /// The admin token (raw-request steps put it in headers of their own).
    pub fn token(&self) -> &str {
        &self.token
    }

    fn path(rest: &str) -> String {
        format!("{}{rest}", paths::ADMIN)
    }

    /// `GET /_admin/v1/config`.
    pub async fn config(&self) -> Result<serde_json::Value, TargetError> {
        self.require(Capability::Config)?;
        let (_, config) = self
            .http
            .call(Method::GET, &Self::path("/config"), Auth::Bearer(&self.token), Payload::Empty, &[200])
            .await?;
        Ok(config)
    }

    /// `PUT /_admin/v1/config`: replaces the whole configuration (missing keys take the defaults).
    /// Returns the configuration now in force: the reply's, or, when the reply carries none (the
    /// contract names no reply body), a fresh `GET`.
    pub async fn set_config(&self, config: &serde_json::Value) -> Result<serde_json::Value, TargetError> {
        self.permit("PUT", Capability::Config)?;
        let (_, reply): (_, serde_json::Value) = self
            .http
            .call(
                Method::PUT,
                &Self::path("/config"),
                Auth::Bearer(&self.token),
                Payload::Json(config),
                SUCCESS,
            )
            .await?;
        match reply {
            serde_json::Value::Object(_) => Ok(reply),
            _ => self.config().await,
        }
    }

    /// Reads the configuration, lets `change` edit it and puts it back whole.
    pub async fn update_config(
        &self,
        change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> Result<serde_json::Value, TargetError> {
        self.permit("PUT", Capability::Config)?;
        let mut config = self.config().await?;
        let Some(map) = config.as_object_mut() else {
            return Err(PeerError::Unexpected {
                status: 200,
                expected: "a JSON object as the configuration".into(),
                body: config.to_string(),
            }
            .into());
        };
        change(map);
        self.set_config(&config).await
    }

    /// `POST /_admin/v1/clock {"advance_ms"}`; returns the new time: the reply's `now`, or, when
    /// the reply carries none (the contract names no reply body), a fresh `GET`.
    pub async fn advance_clock(&self, ms: i64) -> Result<OffsetDateTime, TargetError> {
        self.permit("POST", Capability::Clock)?;
        let body = serde_json::json!({ "advance_ms": ms });
        let (_, reply): (_, serde_json::Value) = self
            .http
            .call(
                Method::POST,
                &Self::path("/clock"),
                Auth::Bearer(&self.token),
                Payload::Json(&body),
                SUCCESS,
            )
            .await?;
        match serde_json::from_value::<ClockState>(reply) {
            Ok(state) => Ok(state.now),
            Err(_) => self.now().await,
        }
    }

    /// `GET /_admin/v1/clock`.
    pub async fn now(&self) -> Result<OffsetDateTime, TargetError> {
        self.require(Capability::Clock)?;
        let (_, state): (_, ClockState) = self
            .http
            .call(Method::GET, &Self::path("/clock"), Auth::Bearer(&self.token), Payload::Empty, &[200])
            .await?;
        Ok(state.now)
    }

    /// Any admin call: `(status, body)` as sent back.
    pub async fn send(
        &self,
        method: Method,
        rest: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), TargetError> {
        self.permit_call(method.as_str(), rest)?;
        let payload = body.map_or(Payload::Empty, Payload::Json);
        Ok(self.http.send(method, &Self::path(rest), Auth::Bearer(&self.token), payload).await?)
    }

    /// Removes a user's enrollment of a device (the admin's deletion).
    pub async fn delete_enrollment(&self, username: &str, device_id: &str) -> Result<(), TargetError> {
        let rest = format!("/users/{username}/enrollments/{device_id}");
        let (status, body) = self.send(Method::DELETE, &rest, None).await?;
        Ok(transcript::interpret::<serde_json::Value>(status, &body, SUCCESS, "no content").map(|_| ())?)
    }

    /// Installs injected faults (`PUT /faults?seed=`).
    pub async fn set_faults(&self, faults: &serde_json::Value, seed: u64) -> Result<(), TargetError> {
        let (status, body) = self.send(Method::PUT, &format!("/faults?seed={seed}"), Some(faults)).await?;
        Ok(transcript::interpret::<serde_json::Value>(status, &body, SUCCESS, "fault list").map(|_| ())?)
    }

    /// `POST /_admin/v1/users`: creates (or updates) a user.
    pub async fn create_user(&self, user: &UserCredentials) -> Result<(), TargetError> {
        self.require(Capability::Users)?;
        let body = serde_json::json!({ "username": user.username, "password": user.password });
        let _: (_, serde_json::Value) = self
            .http
            .call(
                Method::POST,
                &Self::path("/users"),
                Auth::Bearer(&self.token),
                Payload::Json(&body),
                SUCCESS,
            )
            .await?;
        Ok(())
    }

    /// `POST /_admin/v1/reset`: the server's start configuration, all state gone.
    pub async fn reset(&self) -> Result<(), TargetError> {
        let (status, body) = self.send(Method::POST, "/reset", Some(&serde_json::json!({}))).await?;
        Ok(transcript::interpret::<serde_json::Value>(status, &body, &[200], "{\"reset\": true}")
            .map(|_| ())?)
    }
}

/// Every 2xx status: the contract names the reply of few test-control calls (GET config and clock,
/// reset), so the harness's own setup calls take any success (docs/PROTOCOL.md ADM-004, ADM-006,
/// ADM-008 to ADM-010).
const SUCCESS: &[u16] = &[200, 201, 202, 203, 204, 205, 206, 207, 208, 226];

/// A server on this machine that one scenario alone uses, started by whoever made the target
/// (the runner starts an in-process mock server); the target stops it at the scenario's end.
pub trait LocalServer: std::fmt::Debug + Send + Sync {
    /// Stops the server and waits until it has stopped.
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// What a [`Target::local`] needs to know of its server.
#[derive(Debug)]
pub struct LocalTargetParts {
    /// The server's base URL (no trailing slash).
    pub url: String,
    /// The test-control API's token.
    pub admin_token: String,
    /// The mobile app's public client id.
    pub app_client_id: String,
    /// The relying party's `(client_id, client_secret)`.
    pub api_client: (String, String),
    /// Tells this scenario's user names apart from every other's.
    pub seed: u64,
    /// Whether the scenario is held to what a scenario sharing its server may do (the server is
    /// its own either way: this keeps the embedded run as strict as one by URL).
    pub sharing: Sharing,
}

/// How the server behind a target runs.
#[derive(Debug)]
enum Backend {
    /// A server on this machine for this scenario alone, stopped when the target is dropped.
    Local(Box<dyn LocalServer>),
    /// A server by URL, shared by the run's scenarios.
    Remote,
}

/// A server under test, as the steps see it.
#[derive(Debug)]
pub struct Target {
    backend: Backend,
    http: Http,
    app_client_id: String,
    api_client: (String, String),
    admin: Option<Admin>,
    user_seq: u32,
    user_prefix: String,
    /// Users the server already has, handed out in turn when it cannot make new ones.
    listed_users: Vec<UserCredentials>,
    /// The enrollment mode the server is fixed at, if it declares one.
    fixed_enrollment_mode: Option<EnrollmentMode>,
    /// The configuration the server started with, when the harness has changed it since.
    start_config: Option<serde_json::Value>,
    /// Where portals' callback receivers listen.
    callback_listen: CallbackListen,
    /// The command line of the device driver (an SDK under test) that driver scenarios use.
    driver_command: Option<String>,
    /// How many driver programs run at once, and how long each wait for one may take.
    driver_limits: DriverLimits,
}

impl Target {
    /// Names the device driver program that driver scenarios start.
    pub fn set_driver_command(&mut self, command: Option<String>) {
        self.driver_command = command;
    }

    /// Shares the run's driver limits with this target's scenario.
    pub fn set_driver_limits(&mut self, limits: DriverLimits) {
        self.driver_limits = limits;
    }

    /// How many driver programs run at once, and the bound on every wait for one.
    pub fn driver_limits(&self) -> &DriverLimits {
        &self.driver_limits
    }

    /// The device driver program's command line, if the run has one.
    pub fn driver_command(&self) -> Option<&str> {
        self.driver_command.as_deref()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.http.base()
    }

    /// A fresh HTTP client for a peer of this scenario (sharing the scenario's transcript).
    pub fn http(&self) -> Http {
        self.http.clone()
    }

    /// The scenario's transcript of every exchange.
    pub fn transcript(&self) -> &Transcript {
        self.http.transcript()
    }

    /// The mobile app's public client id.
    pub fn app_client_id(&self) -> &str {
        &self.app_client_id
    }

    /// The relying party's `(client_id, client_secret)`.
    pub fn api_client(&self) -> (&str, &str) {
        (&self.api_client.0, &self.api_client.1)
    }

    /// Whether the server is on this machine and only this scenario uses it (so a scenario may
    /// stop it, or rely on nobody else changing it).
    pub fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Local(_))
    }

    /// The parts of the test-control API this target offers.
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ADMIN_PARTS.into_iter().filter(|part| self.offers(*part)).collect()
    }

    /// Whether this target offers `part` of the test-control API.
    pub fn offers(&self, part: Capability) -> bool {
        self.admin.as_ref().is_some_and(|admin| admin.offers(part))
    }

    /// The test-control API, or [`TargetError::Missing`].
    pub fn admin(&self) -> Result<&Admin, TargetError> {
        self.admin.as_ref().ok_or(TargetError::Missing(Capability::Admin))
    }

    /// The test-control API for a call of its own (`method` on `rest`, the path under
    /// `/_admin/v1`) when the target offers it and the scenario may make it
    /// ([`Admin::permit_call`]).
    pub fn admin_call(&self, method: &str, rest: &str) -> Result<&Admin, TargetError> {
        let admin = self.admin()?;
        admin.permit_call(method, rest)?;
        Ok(admin)
    }

    /// The test-control API if it offers `part`, else [`TargetError::Missing`] naming it.
    pub fn admin_for(&self, part: Capability) -> Result<&Admin, TargetError> {
        let admin = self.admin()?;
        admin.require(part)?;
        Ok(admin)
    }

    /// The configuration the server started with (and returns to on reset), when the harness
    /// changed it before the scenario; `None` when the scenario's server is as it started.
    pub fn start_config(&self) -> Option<&serde_json::Value> {
        self.start_config.as_ref()
    }

    /// Where the scenario's portals listen for callbacks, and the host the server is told.
    pub fn callback_listen(&self) -> &CallbackListen {
        &self.callback_listen
    }

    /// The enrollment mode the server is fixed at, when its target file declares one.
    pub fn fixed_enrollment_mode(&self) -> Option<EnrollmentMode> {
        self.fixed_enrollment_mode
    }

    /// The server's current time: through the admin API's clock, or this machine's time when the
    /// target has no settable clock (its clock is then taken to run in step with ours).
    pub async fn now(&self) -> Result<OffsetDateTime, TargetError> {
        match &self.admin {
            Some(admin) if admin.offers(Capability::Clock) => admin.now().await,
            _ => Ok(OffsetDateTime::now_utc()),
        }
    }

    /// The secrets the target's description holds (the admin token, the API client's secret,
    /// the listed users' passwords), for the scenario's transcript to mask wherever they appear:
    /// also where no exchange carried them under a secret's name (a driver's log, say).
    pub(crate) fn keep_secrets(&self, admin_token: Option<&str>) {
        let transcript = self.http.transcript();
        for secret in admin_token.into_iter().chain([self.api_client.1.as_str()]) {
            transcript.keep_secret(secret);
        }
        for user in &self.listed_users {
            transcript.keep_secret(&user.password);
        }
    }

    /// A user that no other scenario uses: made through the admin API, or else the next of the
    /// users the target file lists ([`Capability::TestUsers`] when they are used up). Its password
    /// is one of the scenario's secrets.
    pub async fn new_user(&mut self) -> Result<UserCredentials, TargetError> {
        if self.offers(Capability::Users) {
            self.user_seq += 1;
            let username = format!("{}-{}", self.user_prefix, self.user_seq);
            let user = UserCredentials { password: format!("{username}-password"), username };
            self.http.transcript().keep_secret(&user.password);
            self.admin()?.create_user(&user).await?;
            return Ok(user);
        }
        let index = self.user_seq as usize;
        let user = self
            .listed_users
            .get(index)
            .cloned()
            .ok_or(TargetError::Missing(Capability::TestUsers(self.listed_users.len())))?;
        self.user_seq += 1;
        Ok(user)
    }

    /// Stops what the target started (an embedded server); dropping it does the same without waiting.
    pub async fn shutdown(self) {
        match self.backend {
            Backend::Local(server) => server.shutdown().await,
            Backend::Remote => {}
        }
    }
}

impl Target {
    /// The target around a server on this machine that only this scenario uses, with the whole
    /// test-control API; `server` is stopped at [`Target::shutdown`] (or dropped with the target).
    pub fn local(parts: LocalTargetParts, server: Box<dyn LocalServer>) -> Target {
        let http = Http::new(&parts.url, EXCHANGE_TIMEOUT, Transcript::default());
        let admin = Admin::new(http.clone(), &parts.admin_token).sharing(parts.sharing);
        let target = Target {
            backend: Backend::Local(server),
            http,
            app_client_id: parts.app_client_id,
            api_client: parts.api_client,
            admin: Some(admin),
            user_seq: 0,
            user_prefix: format!("user-{:016x}", parts.seed),
            listed_users: Vec::new(),
            fixed_enrollment_mode: None,
            start_config: None,
            callback_listen: CallbackListen::default(),
            driver_command: None,
            driver_limits: DriverLimits::for_this_machine(),
        };
        target.keep_secrets(Some(&parts.admin_token));
        target
    }
}
