//! The Token Server as a state machine: no sockets, no clock reads, no tasks.
//!
//! Every operation takes the current time and the already-parsed request and returns either a
//! reply or an [`ApiError`]. Checks run in the order of contract section 8 and come before any
//! change, so a refused request changes no state. Ended transactions leave a [`CallbackJob`] in
//! the outbox for the I/O layer to deliver.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::ca::{CertificateAuthority, IssueError};
use protocol::csr::VerifiedCsr;
use protocol::error::{ErrorBody, ErrorCode, OAuthErrorBody, OAuthErrorKind};
use protocol::keys::PublicKey;
use protocol::otp::SecretDigest;
use protocol::rng::SeededRng;
use protocol::wire::{
    EnrollmentInfo, EnrollmentMode, EnrollmentRequest, EnrollmentResponse, ServerConfig, TokenResponse,
    TransactionStatus, parse_id,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::readings::{
    AdminDeleteMissing, AdminEmptySecrets, ApiClientIdColon, CaAtReset, OAuthDescription, PathId, Readings,
};

pub mod durable;
pub mod fields;
mod otp;
mod relying_party;

pub use otp::{CheckedSignature, SignatureInputs};

/// A refusal: the HTTP status and the body to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// An error of the device, relying-party or admin API.
    Api {
        /// HTTP status.
        status: u16,
        /// `{"error_code", "error_type", "error_message"}`.
        body: ErrorBody,
    },
    /// An RFC 6749 error of the token endpoint or of client authentication.
    OAuth {
        /// HTTP status.
        status: u16,
        /// `{"error", "error_description"}`.
        body: OAuthErrorBody,
    },
}

impl ApiError {
    /// An error with the catalogue's usual status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(code.http_status().unwrap_or(500), code, message)
    }

    /// An error with an explicit status (9021 is 404 on the enrollment resource; 413 for big bodies).
    pub fn with_status(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Api { status, body: code.body(message) }
    }

    /// An OAuth error.
    pub fn oauth(kind: OAuthErrorKind, description: impl Into<String>) -> Self {
        ApiError::OAuth { status: kind.http_status(), body: kind.body(description) }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Api { status, .. } | ApiError::OAuth { status, .. } => *status,
        }
    }

    /// The numeric error code, if this is not an OAuth error.
    pub fn code(&self) -> Option<u32> {
        match self {
            ApiError::Api { body, .. } => Some(body.error_code),
            ApiError::OAuth { .. } => None,
        }
    }
}

type Result<T> = std::result::Result<T, ApiError>;

/// Why a request body could not be read or parsed: refused at the body step of the endpoint's
/// check order with the API's invalid-request code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// 400, or 413 for a body over the limit.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

impl BodyError {
    /// A 400 body error.
    pub fn bad(message: impl Into<String>) -> Self {
        Self { status: 400, message: message.into() }
    }

    fn into_api(self, code: ErrorCode) -> ApiError {
        ApiError::with_status(self.status, code, self.message)
    }
}

/// A parsed body, or why there is none.
pub type Body<T> = std::result::Result<T, BodyError>;

/// Which API a request belongs to: decides the invalid-request code of generic refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/oauth/token`.
    Token,
    /// `/mobile-auth/v1`.
    Device,
    /// `/oauth/api/v4`.
    RelyingParty,
    /// `/_admin/v1`.
    Admin,
}

impl Api {
    /// The API a path belongs to.
    pub fn of_path(path: &str) -> Api {
        if path.starts_with("/_admin/") {
            Api::Admin
        } else if path.starts_with("/oauth/api/") {
            Api::RelyingParty
        } else if path == "/oauth/token" {
            Api::Token
        } else {
            Api::Device
        }
    }

    /// The API's "malformed request" error, with a given status (400, 404, 405, 413, 415).
    pub fn invalid(self, status: u16, message: impl Into<String>) -> ApiError {
        let code = match self {
            Api::Device => ErrorCode::InvalidRequest,
            Api::RelyingParty => ErrorCode::InvalidParameter,
            Api::Admin if status == 404 => ErrorCode::AdminNotFound,
            Api::Admin => ErrorCode::InvalidAdminRequest,
            Api::Token => {
                return ApiError::OAuth { status, body: OAuthErrorKind::InvalidRequest.body(message) };
            }
        };
        ApiError::with_status(status, code, message)
    }
}

/// A callback the I/O layer must deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackJob {
    /// Where to POST.
    pub callback_uri: String,
    /// The transaction that ended.
    pub transaction_id: Uuid,
    /// How many retries after the first attempt.
    pub retries: u32,
}

/// Users, clients and settings the server starts with and returns to on reset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seed {
    /// The admin settings.
    pub config: ServerConfig,
    /// `(username, password)`.
    pub users: Vec<(String, String)>,
    /// `(client_id, client_secret)` of relying parties.
    pub api_clients: Vec<(String, String)>,
    /// App client ids.
    pub app_clients: Vec<String>,
}

#[derive(Debug)]
struct AccessToken {
    user: String,
    expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct Enrollment {
    user: String,
    enrollment_id: Uuid,
    enrolled_at: OffsetDateTime,
    key: PublicKey,
    certificate: String,
}

#[derive(Debug)]
struct Transaction {
    client_id: String,
    otp_type: String,
    message: String,
    secret: SecretDigest,
    created: OffsetDateTime,
    ttl: Duration,
    callback_uri: String,
    status: TransactionStatus,
    answered_by: Option<String>,
    /// Live challenge per device: a new request call replaces that device's entry.
    challenges: HashMap<Uuid, String>,
}

impl Transaction {
    fn expires_at(&self) -> OffsetDateTime {
        // A clock set near the end of time must not make a transaction's expiry panic.
        self.created.saturating_add(self.ttl)
    }
}

/// The longest time to live the mock takes for tokens and OTP types: a hundred years, in
/// seconds. The contract sets no bound; this one keeps every expiry a representable time.
pub const MAX_TTL_S: u64 = 100 * 365 * 24 * 3600;

/// How long, on the server's clock, a transaction is kept after its time to live ends (whatever
/// its status) and an access token after it expires; then both are forgotten, so a long-lived
/// server's memory stays bounded. Within it, a transaction reads as it ended and a token as
/// expired; after it, the transaction is unknown (404) and the token too (the same 401 9010).
pub const RETENTION: Duration = Duration::hours(1);

/// The whole server state.
#[derive(Debug)]
pub struct TokenServer {
    seed: Seed,
    config: ServerConfig,
    /// Shared where a caller gives one CA to many servers ([`Self::with_ca`]).
    ca: Arc<CertificateAuthority>,
    rng: SeededRng,
    users: HashMap<String, String>,
    api_clients: HashMap<String, String>,
    app_clients: HashSet<String>,
    tokens: HashMap<String, AccessToken>,
    enrollments: HashMap<Uuid, Enrollment>,
    /// Devices whose enrollment another device replaced (override_allowed), with their user.
    replaced: HashMap<Uuid, String>,
    transactions: HashMap<Uuid, Transaction>,
    deadlines: BTreeSet<(OffsetDateTime, Uuid)>,
    /// When each transaction is forgotten ([`RETENTION`] after its time to live ends).
    forget_transactions: BTreeSet<(OffsetDateTime, Uuid)>,
    /// When each access token is forgotten ([`RETENTION`] after it expires).
    forget_tokens: BTreeSet<(OffsetDateTime, String)>,
    outbox: Vec<CallbackJob>,
    /// Which reading of the contract to take where it leaves a choice.
    readings: Readings,
}

/// Common name of the mock's certificate authority.
pub const CA_NAME: &str = "mobauth mock Token Server mobile-authentication CA";

impl TokenServer {
    /// A server in its start state.
    pub fn new(seed: Seed, mut rng: SeededRng, now: OffsetDateTime) -> std::result::Result<Self, IssueError> {
        let ca = CertificateAuthority::generate(CA_NAME, &mut rng, now)?;
        Ok(Self::with_ca(seed, rng, Arc::new(ca)))
    }

    /// A server in its start state that issues from `ca` (made elsewhere, perhaps shared by other
    /// servers) instead of a CA of its own.
    pub fn with_ca(seed: Seed, rng: SeededRng, ca: Arc<CertificateAuthority>) -> Self {
        let mut server = TokenServer {
            config: seed.config.clone(),
            seed,
            ca,
            rng,
            users: HashMap::new(),
            api_clients: HashMap::new(),
            app_clients: HashSet::new(),
            tokens: HashMap::new(),
            enrollments: HashMap::new(),
            replaced: HashMap::new(),
            transactions: HashMap::new(),
            deadlines: BTreeSet::new(),
            forget_transactions: BTreeSet::new(),
            forget_tokens: BTreeSet::new(),
            outbox: Vec::new(),
            readings: Readings::default(),
        };
        server.load_seed();
        server
    }

    /// The same server taking `readings` where the contract leaves a choice.
    pub fn with_readings(mut self, readings: Readings) -> Self {
        self.readings = readings;
        self
    }

    /// A path's id: `Ok(None)` for text that is not a lowercase hyphenated UUID, which reads as an
    /// unknown id, or under [`PathId::InvalidRequest`] a 400 with `api`'s invalid-request code.
    fn path_id(&self, text: &str, api: Api) -> Result<Option<Uuid>> {
        match parse_id(text) {
            Some(id) => Ok(Some(id)),
            None if self.readings.path_id == PathId::InvalidRequest => {
                Err(api.invalid(400, format!("{text:?} in the path is not a lowercase hyphenated UUID")))
            }
            None => Ok(None),
        }
    }

    fn load_seed(&mut self) {
        self.config = self.seed.config.clone();
        self.users = self.seed.users.iter().cloned().collect();
        self.api_clients = self.seed.api_clients.iter().cloned().collect();
        self.app_clients = self.seed.app_clients.iter().cloned().collect();
    }

    /// Back to the start configuration; every user-made state is gone. The CA is kept, or under
    /// [`CaAtReset::New`] a new one is made (the old one stays if that fails).
    pub fn reset(&mut self, now: OffsetDateTime) {
        if self.readings.ca_at_reset == CaAtReset::New
            && let Ok(ca) = CertificateAuthority::generate(CA_NAME, &mut self.rng, now)
        {
            self.ca = Arc::new(ca);
        }
        self.tokens.clear();
        self.enrollments.clear();
        self.replaced.clear();
        self.transactions.clear();
        self.deadlines.clear();
        self.forget_transactions.clear();
        self.forget_tokens.clear();
        self.outbox.clear();
        self.load_seed();
    }

    /// Callbacks waiting for delivery, oldest first.
    pub fn take_callbacks(&mut self) -> Vec<CallbackJob> {
        std::mem::take(&mut self.outbox)
    }

    /// Expires every pending transaction whose time to live has passed at `now`, and forgets the
    /// transactions and tokens whose [`RETENTION`] has.
    pub fn sweep(&mut self, now: OffsetDateTime) {
        self.expire(now);
        while let Some((at, id)) = self.forget_transactions.first().cloned()
            && at <= now
        {
            self.forget_transactions.pop_first();
            self.transactions.remove(&id);
        }
        while let Some((at, token)) = self.forget_tokens.first().cloned()
            && at <= now
        {
            self.forget_tokens.pop_first();
            self.tokens.remove(&token);
        }
    }

    /// The number of transactions and access tokens the server holds.
    pub fn held(&self) -> (usize, usize) {
        (self.transactions.len(), self.tokens.len())
    }

    fn expire(&mut self, now: OffsetDateTime) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(tx) = self.transactions.get_mut(&id)
                && tx.status == TransactionStatus::Pending
            {
                tx.status = TransactionStatus::Expired;
                self.outbox.push(CallbackJob {
                    callback_uri: tx.callback_uri.clone(),
                    transaction_id: id,
                    retries: self.config.callback_retries,
                });
            }
        }
    }

    // ------------------------------------------------------------ token endpoint

    /// `POST /oauth/token` with the form's fields.
    pub fn token(&mut self, form: Body<Vec<(String, String)>>, now: OffsetDateTime) -> Result<TokenResponse> {
        let form = form.map_err(|e| ApiError::OAuth {
            status: e.status,
            body: OAuthErrorKind::InvalidRequest.body(e.message),
        })?;
        // AUTH-006: a missing or repeated grant_type is a body error, checked before the grant
        // type's value; the other fields are checked after it. The readings may check the client
        // first, let the last of repeated values win and take an empty credential as a wrong one.
        let readings = self.readings;
        let field = |name: &str| readings.token_field(&form, name, matches!(name, "username" | "password"));
        let grant_type = |value: &str| match value {
            "password" => Ok(()),
            other => Err(ApiError::oauth(
                OAuthErrorKind::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported; use password"),
            )),
        };
        let client = |id: &str| match self.app_clients.contains(id) {
            true => Ok(()),
            false => Err(ApiError::oauth(OAuthErrorKind::InvalidClient, "unknown app client")),
        };
        let (username, password) = match readings.token_check_order {
            crate::readings::TokenCheckOrder::GrantTypeFirst => {
                grant_type(field("grant_type")?)?;
                let client_id = field("client_id")?;
                let credentials = (field("username")?, field("password")?);
                client(client_id)?;
                credentials
            }
            crate::readings::TokenCheckOrder::ClientFirst => {
                client(field("client_id")?)?;
                grant_type(field("grant_type")?)?;
                (field("username")?, field("password")?)
            }
        };
        match self.users.get(username) {
            Some(known) if known == password => {}
            // AUTH-002: both are invalid_grant; only the sparse reading's text tells them apart.
            found => {
                let why = match (readings.oauth_error_description, found) {
                    (OAuthDescription::Always, _) => "wrong username or password",
                    (OAuthDescription::Sparse, None) => "unknown user",
                    (OAuthDescription::Sparse, Some(_)) => "wrong password",
                };
                return Err(ApiError::oauth(OAuthErrorKind::InvalidGrant, why));
            }
        }
        let access_token = URL_SAFE_NO_PAD.encode(protocol::rng::bytes::<32>(&mut self.rng));
        let ttl = self.config.access_token_ttl_s;
        let expires_at = now.saturating_add(Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX)));
        self.forget_tokens.insert((expires_at.saturating_add(RETENTION), access_token.clone()));
        self.tokens.insert(access_token.clone(), AccessToken { user: username.to_string(), expires_at });
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: readings.expires_in(ttl),
            scope: "mobile_auth".into(),
        })
    }

    /// The user a bearer token belongs to, or 9010.
    pub fn authenticate(&self, bearer: Option<&str>, now: OffsetDateTime) -> Result<String> {
        let not_authenticated = |why: &str| ApiError::new(ErrorCode::UserNotAuthenticated, why.to_string());
        let token = bearer.ok_or_else(|| not_authenticated("no bearer access token"))?;
        let entry = self.tokens.get(token).ok_or_else(|| not_authenticated("unknown access token"))?;
        if now >= entry.expires_at {
            return Err(not_authenticated("the access token has expired"));
        }
        Ok(entry.user.clone())
    }

    // ------------------------------------------------------------ device API: enrollment

    /// `POST /mobile-auth/v1/enrollments`: the `bool` is true for 201 (new), false for 200 (re-enrolled).
    pub fn enroll(
        &mut self,
        bearer: Option<&str>,
        body: Body<EnrollmentRequest>,
        now: OffsetDateTime,
    ) -> Result<(bool, EnrollmentResponse)> {
        let user = self.authenticate(bearer, now)?;
        if !self.config.mobile_auth_enabled || !self.config.enrollment_enabled {
            return Err(ApiError::new(
                ErrorCode::EnrollmentNotAvailable,
                "enrollment for mobile authentication is not available on this server",
            ));
        }
        let body = body.map_err(|e| e.into_api(ErrorCode::InvalidRequest))?;
        let device_id = self.readings.body_device_id(&body.device_id)?;
        let csr = VerifiedCsr::read(&body.csr, device_id, self.readings.csr_reading())
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.to_string()))?;

        let mode = self.config.enrollment_mode;
        let existing = self.enrollments.get(&device_id);
        if let Some(e) = existing
            && e.user != user
        {
            return Err(ApiError::new(
                ErrorCode::DeviceAlreadyEnrolled,
                "this device is enrolled for another user",
            ));
        }
        let re_enrolling = existing.is_some();
        // Only single_device and override_allowed look at the user's other devices: scanning every
        // enrollment on each call would make enrolling n devices under multiple_devices quadratic.
        let others: Vec<Uuid> = match mode {
            EnrollmentMode::MultipleDevices => Vec::new(),
            EnrollmentMode::SingleDevice | EnrollmentMode::OverrideAllowed => self
                .enrollments
                .iter()
                .filter(|(d, e)| **d != device_id && e.user == user)
                .map(|(d, _)| *d)
                .collect(),
        };
        match mode {
            EnrollmentMode::SingleDevice | EnrollmentMode::MultipleDevices if re_enrolling => {
                return Err(ApiError::new(
                    ErrorCode::DeviceAlreadyEnrolled,
                    format!("this device is already enrolled and the enrollment mode is {}", mode.as_str()),
                ));
            }
            EnrollmentMode::SingleDevice if !others.is_empty() => {
                return Err(ApiError::new(
                    ErrorCode::UserAlreadyEnrolled,
                    "the user is already enrolled on another device and the enrollment mode is single_device",
                ));
            }
            _ => {}
        }
        let certificate = self
            .ca
            .issue(&csr, &mut self.rng, now)
            .map_err(|e| ApiError::with_status(500, ErrorCode::InvalidRequest, e.to_string()))?;

        // Every check passed: from here on the state changes.
        if mode == EnrollmentMode::OverrideAllowed {
            for other in others {
                self.remove_enrollment(other);
                self.replaced.insert(other, user.clone());
            }
        }
        self.replaced.remove(&device_id);
        let enrollment = Enrollment {
            user: user.clone(),
            enrollment_id: protocol::rng::uuid(&mut self.rng),
            enrolled_at: now,
            key: *csr.public_key(),
            certificate: certificate.pem,
        };
        let response = EnrollmentResponse {
            enrollment_id: enrollment.enrollment_id,
            device_id,
            user_id: user,
            certificate: enrollment.certificate.clone(),
            ca_certificate: self.ca.certificate().pem.clone(),
            re_enrolled: re_enrolling,
        };
        self.enrollments.insert(device_id, enrollment);
        Ok((!re_enrolling, response))
    }

    /// Removing an enrollment (DELETE, admin, override) voids the device's challenges (OTP-008).
    fn remove_enrollment(&mut self, device_id: Uuid) {
        self.enrollments.remove(&device_id);
        for tx in self.transactions.values_mut() {
            tx.challenges.remove(&device_id);
        }
    }

    fn own_enrollment(&self, user: &str, device_id: Option<Uuid>) -> Result<(Uuid, &Enrollment)> {
        let not_enrolled = || {
            ApiError::with_status(
                404,
                ErrorCode::MobileAuthenticationNotEnrolled,
                "this device is not enrolled for this user",
            )
        };
        let device_id = device_id.ok_or_else(not_enrolled)?;
        match self.enrollments.get(&device_id) {
            Some(e) if e.user == user => Ok((device_id, e)),
            _ => Err(not_enrolled()),
        }
    }

    /// `GET /mobile-auth/v1/enrollments/{device_id}`.
    pub fn enrollment(
        &self,
        bearer: Option<&str>,
        device: &str,
        now: OffsetDateTime,
    ) -> Result<EnrollmentInfo> {
        let user = self.authenticate(bearer, now)?;
        let device_id = self.path_id(device, Api::Device)?;
        let (device_id, e) = self.own_enrollment(&user, device_id)?;
        Ok(EnrollmentInfo {
            device_id,
            user_id: e.user.clone(),
            enrolled_at: e.enrolled_at,
            certificate: e.certificate.clone(),
        })
    }

    /// `DELETE /mobile-auth/v1/enrollments/{device_id}`.
    pub fn disenroll(&mut self, bearer: Option<&str>, device: &str, now: OffsetDateTime) -> Result<()> {
        let user = self.authenticate(bearer, now)?;
        let device_id = self.path_id(device, Api::Device)?;
        let (device_id, _) = self.own_enrollment(&user, device_id)?;
        self.remove_enrollment(device_id);
        Ok(())
    }

    /// `DELETE /_admin/v1/users/{username}/enrollments/{device_id}`.
    /// Under [`AdminDeleteMissing::NoContent`] a known user's device that is not enrolled for them
    /// is already as asked: 204.
    pub fn admin_disenroll(&mut self, username: &str, device: &str) -> Result<()> {
        let device_id = self.path_id(device, Api::Admin)?;
        let idempotent = self.readings.admin_delete_missing == AdminDeleteMissing::NoContent
            && self.users.contains_key(username);
        match self.own_enrollment(username, device_id) {
            Ok((device_id, _)) => self.remove_enrollment(device_id),
            Err(_) if idempotent => {}
            Err(_) => {
                return Err(ApiError::new(ErrorCode::AdminNotFound, "no such enrollment for that user"));
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ admin API

    /// The current settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Replaces the settings (already parsed with defaults filled in).
    pub fn set_config(&mut self, config: ServerConfig) -> Result<()> {
        let invalid = |m: &str| Err(ApiError::new(ErrorCode::InvalidAdminRequest, m.to_string()));
        if config.message_max_length < 1 {
            return invalid("message_max_length must be 1 or more");
        }
        if !(1..=MAX_TTL_S).contains(&config.access_token_ttl_s) {
            return invalid("access_token_ttl_s must be from 1 to 3153600000 (a hundred years)");
        }
        if config.otp_types.iter().any(|t| !(1..=MAX_TTL_S).contains(&t.expires_in_s)) {
            return invalid("expires_in_s must be from 1 to 3153600000 (a hundred years)");
        }
        let mut names = HashSet::new();
        for t in &config.otp_types {
            if t.name.is_empty() || !names.insert(t.name.as_str()) {
                return Err(ApiError::new(
                    ErrorCode::InvalidAdminRequest,
                    format!("otp type names must be non-empty and unique ({:?})", t.name),
                ));
            }
        }
        self.config = config;
        Ok(())
    }

    /// Adds a user (true) or replaces its password (false).
    pub fn add_user(&mut self, username: String, password: String) -> Result<bool> {
        let empty_ok = self.readings.admin_empty_secrets == AdminEmptySecrets::Accept;
        if username.is_empty() || (password.is_empty() && !empty_ok) {
            return Err(ApiError::new(
                ErrorCode::InvalidAdminRequest,
                "username and password must not be empty",
            ));
        }
        Ok(self.users.insert(username, password).is_none())
    }

    /// Adds a relying party (true) or replaces its secret (false).
    pub fn add_api_client(&mut self, client_id: String, secret: String) -> Result<bool> {
        let empty_ok = self.readings.admin_empty_secrets == AdminEmptySecrets::Accept;
        if client_id.is_empty() || (secret.is_empty() && !empty_ok) {
            return Err(ApiError::new(
                ErrorCode::InvalidAdminRequest,
                "client_id and client_secret must not be empty",
            ));
        }
        if self.readings.api_client_id_colon == ApiClientIdColon::Refuse && client_id.contains(':') {
            return Err(ApiError::new(ErrorCode::InvalidAdminRequest, "client_id must not contain ':'"));
        }
        Ok(self.api_clients.insert(client_id, secret).is_none())
    }

    /// Adds an app client (true), or finds it there already (false).
    pub fn add_app_client(&mut self, client_id: String) -> Result<bool> {
        if client_id.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidAdminRequest, "client_id must not be empty"));
        }
        Ok(self.app_clients.insert(client_id))
    }
}
