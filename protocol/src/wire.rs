//! The messages of the wire contract, as serde types.
//!
//! Field names and shapes are fixed by the contract; these types are what the mock server answers
//! and what the simulated device and portal send and expect. Times are RFC 3339 UTC, ids are
//! lowercase hyphenated UUIDs, `time_to_live` is milliseconds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::error::{ErrorBody, OAuthErrorBody};

/// Paths of the contract, one place to change them (they never should).
pub mod paths {
    /// Token endpoint (section 2).
    pub const TOKEN: &str = "/oauth/token";
    /// Enrollment collection (section 3.1).
    pub const ENROLLMENTS: &str = "/mobile-auth/v1/enrollments";
    /// OTP request collection (section 3.2).
    pub const OTP_REQUESTS: &str = "/mobile-auth/v1/otp/requests";
    /// Relying party: start an OTP transaction (section 5).
    pub const AUTHENTICATE_USER: &str = "/oauth/api/v4/authenticate/user";
    /// Relying party: transaction status prefix (section 5).
    pub const TRANSACTION: &str = "/oauth/api/v4/authenticate/transaction";
    /// Admin API prefix (section 6).
    pub const ADMIN: &str = "/_admin/v1";
}

// ---------------------------------------------------------------- section 2

/// `POST /oauth/token` form body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Always `password` in this profile.
    pub grant_type: String,
    /// The user's name.
    pub username: String,
    /// The user's password.
    pub password: String,
    /// The app client's id.
    pub client_id: String,
}

/// Token endpoint success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Opaque bearer token for the device API.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Always `mobile_auth`.
    pub scope: String,
}

// ---------------------------------------------------------------- section 3.1

/// `POST /mobile-auth/v1/enrollments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentRequest {
    /// The device's own id.
    pub device_id: String,
    /// PEM PKCS#10 request, CN = device_id.
    pub csr: String,
}

/// Enrollment success (201 new, 200 re-enrolled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentResponse {
    /// A new id for every (re-)enrollment.
    pub enrollment_id: Uuid,
    /// The enrolled device.
    pub device_id: Uuid,
    /// The user, as the server knows them (the username in this profile).
    pub user_id: String,
    /// The device certificate, PEM.
    pub certificate: String,
    /// The mobile-authentication CA's certificate, PEM.
    pub ca_certificate: String,
    /// True when an existing enrollment of this device was replaced.
    pub re_enrolled: bool,
}

/// `GET /mobile-auth/v1/enrollments/{device_id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentInfo {
    /// The device.
    pub device_id: Uuid,
    /// Its user.
    pub user_id: String,
    /// When the current enrollment was made.
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
    /// The current certificate, PEM.
    pub certificate: String,
}

// ---------------------------------------------------------------- section 3.2

/// `POST /mobile-auth/v1/otp/requests` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpRequestBody {
    /// The asking device.
    pub device_id: String,
    /// The OTP as scanned.
    pub otp: String,
}

/// The request a device shows its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpRequestResponse {
    /// The transaction.
    pub transaction_id: Uuid,
    /// The OTP type's name, e.g. `qr-code`.
    #[serde(rename = "type")]
    pub otp_type: String,
    /// What the user is asked to confirm.
    pub message: String,
    /// When the transaction was created.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Base64 of 32 random bytes, bound to this device and transaction.
    pub challenge: String,
}

/// The user's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// Confirm.
    Accept,
    /// Refuse.
    Deny,
}

impl Answer {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Answer::Accept => "accept",
            Answer::Deny => "deny",
        }
    }

    /// The status an answer of this kind leads to.
    pub const fn outcome(self) -> AnswerStatus {
        match self {
            Answer::Accept => AnswerStatus::Accepted,
            Answer::Deny => AnswerStatus::Denied,
        }
    }
}

/// `POST /mobile-auth/v1/otp/requests/{transaction_id}/answer` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerBody {
    /// The answering device.
    pub device_id: String,
    /// `accept` or `deny` (a string on the wire so a bad value is the server's 10015, not a parse error here).
    pub answer: String,
    /// Base64 of the DER signature over [`crate::keys::signing_string`].
    pub signature: String,
}

/// Outcome of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerStatus {
    /// The user accepted.
    Accepted,
    /// The user denied.
    Denied,
}

/// Answer success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerResponse {
    /// The transaction.
    pub transaction_id: Uuid,
    /// Its new status.
    pub status: AnswerStatus,
}

// ---------------------------------------------------------------- section 5

/// `POST /oauth/api/v4/authenticate/user` form body. Every field is optional here because the
/// server must tell which one is missing, in the contract's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticateUserForm {
    /// The OTP type's name.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub otp_type: Option<String>,
    /// Where the server reports the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_uri: Option<String>,
    /// What the user is asked to confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Optional language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// Must be absent for an OTP type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The only `auth_method` / `authentication_method` of this profile.
pub const AUTH_METHOD_OTP: &str = "OTP";

/// `authenticate/user` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticateUserResponse {
    /// The new transaction.
    pub transaction_id: Uuid,
    /// Always `OTP`.
    pub auth_method: String,
    /// Full time to live in milliseconds.
    pub time_to_live: u64,
    /// The OTP of section 4.
    pub otp: String,
}

/// A transaction's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    /// Waiting for an answer.
    Pending,
    /// A device accepted.
    Accepted,
    /// A device denied.
    Denied,
    /// Its time to live passed unanswered.
    Expired,
}

/// Why a transaction is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotAuthenticatedReason {
    /// `not_accepted` or `expired`.
    pub reason: String,
    /// Text for a person.
    pub description: String,
}

/// `GET /oauth/api/v4/authenticate/transaction/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatusResponse {
    /// The transaction.
    pub transaction_id: Uuid,
    /// Its callback.
    pub callback_uri: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// Current status.
    pub status: TransactionStatus,
    /// True only when accepted.
    pub is_authenticated: bool,
    /// Always `OTP`.
    pub authentication_method: String,
    /// The answering device's user, once a device answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Present when denied or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_authenticated_reason: Option<NotAuthenticatedReason>,
}

/// One entry of `GET .../user/{user_id}/enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledMethod {
    /// The OTP type's name.
    #[serde(rename = "type")]
    pub otp_type: String,
    /// Always `OTP`.
    pub method: String,
}

/// What the server POSTs to a callback_uri.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackBody {
    /// The callback itself.
    pub callback_uri: String,
    /// The transaction that ended.
    pub transaction_id: Uuid,
}

// ---------------------------------------------------------------- section 6

/// How a second enrollment is treated (contract 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentMode {
    /// One device per user; enrolling again is refused.
    #[default]
    SingleDevice,
    /// "Mobile authentication override enabled": a new enrollment replaces the old one.
    OverrideAllowed,
    /// Several devices per user.
    MultipleDevices,
}

impl EnrollmentMode {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EnrollmentMode::SingleDevice => "single_device",
            EnrollmentMode::OverrideAllowed => "override_allowed",
            EnrollmentMode::MultipleDevices => "multiple_devices",
        }
    }
}

/// An OTP type the relying party can start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpType {
    /// Its name, e.g. `qr-code`.
    pub name: String,
    /// Time to live of its transactions, seconds.
    #[serde(default = "default_expires_in_s")]
    pub expires_in_s: u64,
    /// Message used when the request has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_message: Option<String>,
}

fn default_expires_in_s() -> u64 {
    300
}

/// The server configuration (`GET`/`PUT /_admin/v1/config`). Missing keys take the defaults of
/// contract section 6; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Master switch for mobile authentication.
    pub mobile_auth_enabled: bool,
    /// Whether devices may enroll.
    pub enrollment_enabled: bool,
    /// Second-enrollment behaviour.
    pub enrollment_mode: EnrollmentMode,
    /// Longest message, in Unicode code points.
    pub message_max_length: u32,
    /// The OTP types.
    pub otp_types: Vec<OtpType>,
    /// Allowed callback URLs (exact, or prefix when ending in `/`); empty allows any.
    pub callback_whitelist: Vec<String>,
    /// Retries after a failed callback delivery.
    pub callback_retries: u32,
    /// Access token lifetime, seconds.
    pub access_token_ttl_s: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            mobile_auth_enabled: true,
            enrollment_enabled: true,
            enrollment_mode: EnrollmentMode::SingleDevice,
            message_max_length: 155,
            otp_types: vec![OtpType {
                name: "qr-code".into(),
                expires_in_s: 300,
                default_message: Some("Do you want to confirm this login?".into()),
            }],
            callback_whitelist: Vec::new(),
            callback_retries: 3,
            access_token_ttl_s: 3600,
        }
    }
}

/// `GET /_admin/v1/clock` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The server's current time.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
}

/// `POST /_admin/v1/clock` body: exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockCommand {
    /// Move forward by this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_ms: Option<i64>,
    /// Jump to this instant.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub set: Option<OffsetDateTime>,
}

/// `POST /_admin/v1/users` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name (also the user_id).
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /_admin/v1/api-clients` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiClient {
    /// The relying party's id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// `POST /_admin/v1/app-clients` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAppClient {
    /// The app's public client id.
    pub client_id: String,
}

/// One injected fault (`PUT /_admin/v1/faults` takes a list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// HTTP method to match; absent matches any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path prefix to match; absent matches any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Delay added before the request is handled, milliseconds (server clock is not moved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Answer this status instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Close the connection without an answer.
    #[serde(default)]
    pub drop_connection: bool,
    /// Chance the fault applies to a matching request, 0 to 1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// How many matching requests it applies to; absent means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// `POST /_admin/v1/reset` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetResponse {
    /// Always true.
    pub reset: bool,
}

/// One exchange in the server's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerEvent {
    /// Sequence number; never restarts, not even on reset.
    pub seq: u64,
    /// Server clock time of the exchange.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// What happened: `request` for an HTTP exchange, `callback` for a delivery attempt.
    pub kind: String,
    /// HTTP method (`POST` for callbacks).
    pub method: String,
    /// Request path, or the callback URL.
    pub path: String,
    /// Answered status; for a callback the receiver's status, 0 when it could not be reached.
    pub status: u16,
    /// The error code answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
}

/// `GET /_admin/v1/events` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsResponse {
    /// Events after `since`.
    pub events: Vec<ServerEvent>,
    /// The newest sequence number (0 when none yet).
    pub last_seq: u64,
}

/// Parses a device or transaction id as the contract writes them: lowercase, hyphenated.
pub fn parse_id(text: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_canonical() {
        let id = "0b8f8d7a-3c6e-4f5e-9a1b-2c3d4e5f6a7b";
        assert!(parse_id(id).is_some());
        assert!(parse_id(&id.to_uppercase()).is_none());
        assert!(parse_id(&id.replace('-', "")).is_none());
        assert!(parse_id("").is_none());
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let cfg: ServerConfig = serde_json::from_str(r#"{"enrollment_mode":"override_allowed"}"#)
            .expect("a partial config fills in defaults");
        assert_eq!(cfg.enrollment_mode, EnrollmentMode::OverrideAllowed);
        assert_eq!(cfg.message_max_length, 155);
        assert_eq!(cfg.callback_retries, 3);
        assert!(serde_json::from_str::<ServerConfig>(r#"{"nope":1}"#).is_err());
    }
}
