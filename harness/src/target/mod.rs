//! What the conformance steps talk to: a server under test, reached only over HTTP.
//!
//! A [`Target`] gives the base URL, the app client id, the API client's credentials, a way to get
//! a fresh user and, when the server offers it, the test-control API ([`Admin`]). Steps never see
//! how the server runs; today the one kind is [`EmbeddedTarget`], a fresh in-process mock server
//! per scenario, and a server-by-URL target (which may lack the admin API) comes later.

use std::time::Duration;

use mock_server::{ClockMode, RunningServer, ServeOptions, ServerFile};
use protocol::wire::{ClockState, paths};
use reqwest::Method;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::http::{Auth, Http, Payload, PeerError, Transcript};

/// The instant an embedded server's clock is frozen at when a scenario starts.
pub const EMBEDDED_START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// How long a single HTTP exchange with a target may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server file an embedded target starts from; compiled in so the suite runs from any cwd.
const DEFAULT_SERVER_FILE: &str = include_str!("../../fixtures/servers/default.toml");

/// Why a target could not do what a step asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target lacks a capability the scenario needs (the scenario is not applicable there).
    #[error("the target does not offer {0}")]
    Missing(Capability),
    /// The server did not start.
    #[error("the embedded server did not start: {0}")]
    Start(String),
    /// The server refused or misbehaved.
    #[error(transparent)]
    Peer(#[from] PeerError),
}

/// A capability a target may lack.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// The test-control API (contract section 6): config, clock, users.
    Admin,
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capability::Admin => f.write_str("the test-control (admin) API"),
        }
    }
}

/// A user's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// The username, which is also the `user_id` in this profile.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The test-control API of a target, reached over HTTP with the admin token.
#[derive(Debug, Clone)]
pub struct Admin {
    http: Http,
    token: String,
}

impl Admin {
    /// The admin API of the server that `http` talks to.
    pub fn new(http: Http, token: &str) -> Self {
        Self { http, token: token.to_string() }
    }

    /// The admin token (raw-request steps put it in headers of their own).
    pub fn token(&self) -> &str {
        &self.token
    }

    fn path(rest: &str) -> String {
        format!("{}{rest}", paths::ADMIN)
    }

    /// `GET /_admin/v1/config`.
    pub async fn config(&self) -> Result<serde_json::Value, PeerError> {
        let (_, config) = self
            .http
            .call(Method::GET, &Self::path("/config"), Auth::Bearer(&self.token), Payload::Empty, &[200])
            .await?;
        Ok(config)
    }

    /// `PUT /_admin/v1/config`: replaces the whole configuration (missing keys take the defaults).
    pub async fn set_config(&self, config: &serde_json::Value) -> Result<serde_json::Value, PeerError> {
        let (_, config) = self
            .http
            .call(
                Method::PUT,
                &Self::path("/config"),
                Auth::Bearer(&self.token),
                Payload::Json(config),
                &[200],
            )
            .await?;
        Ok(config)
    }

    /// Reads the configuration, lets `change` edit it and puts it back whole.
    pub async fn update_config(
        &self,
        change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> Result<serde_json::Value, PeerError> {
        let mut config = self.config().await?;
        let Some(map) = config.as_object_mut() else {
            return Err(PeerError::Unexpected {
                status: 200,
                expected: "a JSON object as the configuration".into(),
                body: config.to_string(),
            });
        };
        change(map);
        self.set_config(&config).await
    }

    /// `POST /_admin/v1/clock {"advance_ms"}`; returns the new time.
    pub async fn advance_clock(&self, ms: i64) -> Result<OffsetDateTime, PeerError> {
        let body = serde_json::json!({ "advance_ms": ms });
        let (_, state): (_, ClockState) = self
            .http
            .call(
                Method::POST,
                &Self::path("/clock"),
                Auth::Bearer(&self.token),
                Payload::Json(&body),
                &[200],
            )
            .await?;
        Ok(state.now)
    }

    /// `GET /_admin/v1/clock`.
    pub async fn now(&self) -> Result<OffsetDateTime, PeerError> {
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
    ) -> Result<(u16, String), PeerError> {
        let payload = body.map_or(Payload::Empty, Payload::Json);
        self.http.send(method, &Self::path(rest), Auth::Bearer(&self.token), payload).await
    }

    /// Removes a user's enrollment of a device (the admin's deletion).
    pub async fn delete_enrollment(&self, username: &str, device_id: &str) -> Result<(), PeerError> {
        let rest = format!("/users/{username}/enrollments/{device_id}");
        let (status, body) = self.send(Method::DELETE, &rest, None).await?;
        crate::http::interpret::<serde_json::Value>(status, &body, &[204], "no content").map(|_| ())
    }

    /// Installs injected faults (`PUT /faults?seed=`).
    pub async fn set_faults(&self, faults: &serde_json::Value, seed: u64) -> Result<(), PeerError> {
        let (status, body) = self.send(Method::PUT, &format!("/faults?seed={seed}"), Some(faults)).await?;
        crate::http::interpret::<serde_json::Value>(status, &body, &[200], "fault list").map(|_| ())
    }

    /// `POST /_admin/v1/users`: creates (or updates) a user.
    pub async fn create_user(&self, user: &UserCredentials) -> Result<(), PeerError> {
        let body = serde_json::json!({ "username": user.username, "password": user.password });
        let _: (_, serde_json::Value) = self
            .http
            .call(
                Method::POST,
                &Self::path("/users"),
                Auth::Bearer(&self.token),
                Payload::Json(&body),
                &[200, 201],
            )
            .await?;
        Ok(())
    }
}

/// How the server behind a target runs.
#[derive(Debug)]
enum Backend {
    /// A mock server in this process, stopped when the target is dropped.
    Embedded(EmbeddedTarget),
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
    /// The command line of the device driver (an SDK under test) that driver scenarios use.
    driver_command: Option<String>,
}

impl Target {
    /// Names the device driver program that driver scenarios start.
    pub fn set_driver_command(&mut self, command: Option<String>) {
        self.driver_command = command;
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

    /// The capabilities beyond the profile's core that this target offers.
    pub fn capabilities(&self) -> Vec<Capability> {
        self.admin.iter().map(|_| Capability::Admin).collect()
    }

    /// The test-control API, or [`TargetError::Missing`].
    pub fn admin(&self) -> Result<&Admin, TargetError> {
        self.admin.as_ref().ok_or(TargetError::Missing(Capability::Admin))
    }

    /// The server's current time (through the admin API).
    pub async fn now(&self) -> Result<OffsetDateTime, TargetError> {
        Ok(self.admin()?.now().await?)
    }

    /// A new user that no other scenario uses, created through the admin API.
    pub async fn new_user(&mut self) -> Result<UserCredentials, TargetError> {
        self.user_seq += 1;
        let username = format!("{}-{}", self.user_prefix, self.user_seq);
        let user = UserCredentials { password: format!("{username}-password"), username };
        self.admin()?.create_user(&user).await?;
        Ok(user)
    }

    /// Stops what the target started (an embedded server); dropping it does the same without waiting.
    pub async fn shutdown(self) {
        match self.backend {
            Backend::Embedded(embedded) => embedded.server.shutdown().await,
        }
    }
}

/// A fresh in-process mock server for one scenario: `fixtures/servers/default.toml`, on
/// 127.0.0.1:0, its clock frozen at [`EMBEDDED_START`], seeded from the run seed and the
/// scenario's name.
#[derive(Debug)]
pub struct EmbeddedTarget {
    server: RunningServer,
}

impl EmbeddedTarget {
    /// Starts the server and returns the target around it.
    pub async fn start(run_seed: u64, scenario: &str) -> Result<Target, TargetError> {
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
        let server = mock_server::serve(options).await.map_err(|e| TargetError::Start(e.to_string()))?;
        let http = Http::new(&server.url(), EXCHANGE_TIMEOUT, Transcript::default());
        let admin = Admin::new(http.clone(), server.admin_token());
        Ok(Target {
            backend: Backend::Embedded(EmbeddedTarget { server }),
            http,
            app_client_id,
            api_client,
            admin: Some(admin),
            user_seq: 0,
            user_prefix: format!("user-{seed:016x}"),
            driver_command: None,
        })
    }
}
