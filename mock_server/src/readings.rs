//! Alternative readings of the wire contract: the `[readings]` table of a server file.
//!
//! Where the contract is silent or ambiguous, docs/PROTOCOL.md decides, and the mock server's
//! default behaviour is that decision. The conformance suite must accept every legal reading,
//! not only ours, so a server file can switch the mock to a *different* legal reading at each
//! such point (fixtures/servers/alternative-readings.toml switches them all). Every reading is a
//! two-valued enum whose default is today's behaviour, so a file without `[readings]` behaves
//! exactly as before.
//!
//! This module holds the readings and the pure functions that apply them (no I/O, no clock
//! reads); [`crate::core`], [`crate::http`], [`crate::clock`], [`crate::callbacks`] and
//! [`crate::faults`] ask them at each point of choice.

use protocol::error::{ErrorBody, ErrorCode, OAuthErrorKind};
use protocol::wire::{OtpType, ServerConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::core::{Api, ApiError};

/// One point of choice: an enum of two readings, the first being the default (today's).
macro_rules! reading {
    (
        $(#[$doc:meta])* $name:ident {
            $(#[$default_doc:meta])* $default:ident,
            $(#[$alt_doc:meta])* $alt:ident $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[$default_doc])*
            #[default]
            $default,
            $(#[$alt_doc])*
            $alt,
        }
    };
}

reading! {
    /// What the clock does after `POST /_admin/v1/clock`.
    ClockAfterMove {
        /// It stands still at the new instant until the next move or reset (ADM-007).
        Stands,
        /// It runs on in real time from the new instant.
        Runs,
    }
}

reading! {
    /// The shape of `GET /_admin/v1/events`.
    EventLogStyle {
        /// `{"seq", "time", "kind", "method", "path", "status", "error_code"?}`, test-control calls
        /// not logged, a reset keeps the retained entries (ADM-015, ADM-016).
        Full,
        /// `{"seq", "at", "what", "status": null}` (callbacks add their `url`), test-control
        /// calls logged too, a reset empties the retained log (sequence numbers go on).
        Minimal,
    }
}

reading! {
    /// How times are written, and the clock's resolution.
    TimeFormat {
        /// Millisecond precision at most, `Z` (GEN-003); the clock has millisecond resolution.
        MillisZ,
        /// Always six fractional digits and `+00:00`; the clock has microsecond resolution.
        MicrosOffset,
    }
}

reading! {
    /// The body of a successful `PUT /_admin/v1/faults`.
    FaultsReply {
        /// The stored list (ADM-010).
        StoredList,
        /// `{"installed": N}`.
        InstalledCount,
    }
}

reading! {
    /// The body of an injected status.
    InjectedFaultBody {
        /// 20009 `INJECTED_FAULT` (ADM-012).
        InjectedFault,
        /// 10000 `GENERAL_ERROR`, message "injected fault".
        GeneralError,
    }
}

reading! {
    /// What a fault's `"count": 0` means.
    FaultCountZero {
        /// No limit, as an absent count (ADM-013).
        NoLimit,
        /// The rule never applies (an absent count is still no limit).
        Never,
    }
}

reading! {
    /// Unknown keys in admin bodies other than `PUT config` (which always refuses them).
    AdminUnknownKeys {
        /// Refused with 400 20001 (ADM-002).
        Refuse,
        /// Ignored.
        Ignore,
    }
}

reading! {
    /// An empty `password` (POST users) or `client_secret` (POST api-clients).
    AdminEmptySecrets {
        /// Refused with 400 20001 (ADM-008).
        Refuse,
        /// Accepted.
        Accept,
    }
}

reading! {
    /// The answer of POST users / api-clients / app-clients.
    AdminCreateReply {
        /// 201 new or 200 replaced, with the `username` or `client_id` (ADM-008).
        Named,
        /// 201 `{}`, new or replaced.
        Empty,
    }
}

reading! {
    /// An API client id containing `:` (which HTTP Basic cannot carry unencoded).
    ApiClientIdColon {
        /// Accepted at creation.
        Accept,
        /// Refused at creation with 400 20001.
        Refuse,
    }
}

reading! {
    /// The `default_message` of the default OTP type (when a PUT config or the server file's
    /// settings give no `otp_types`).
    DefaultOtpMessage {
        /// "Do you want to confirm this login?" (ADM-003).
        Standard,
        /// [`ALTERNATIVE_DEFAULT_MESSAGE`].
        Alternative,
    }
}

reading! {
    /// An OTP type without `expires_in_s` in a PUT config.
    OtpTypeExpiresInS {
        /// It means 300 (ADM-004).
        #[serde(rename = "defaults_to_300")]
        DefaultsTo300,
        /// Refused with 400 20001: the key is required.
        Required,
    }
}

reading! {
    /// The body of a successful `POST /_admin/v1/clock`.
    ClockReply {
        /// `{"now"}` (ADM-006).
        Now,
        /// `{}`.
        Empty,
    }
}

reading! {
    /// A negative `advance_ms`.
    NegativeAdvance {
        /// Refused with 400 20001 (ADM-006).
        Refuse,
        /// Accepted: the clock moves back.
        Accept,
    }
}

reading! {
    /// The answer of a successful `PUT /_admin/v1/config`.
    PutConfigReply {
        /// 200 with the resulting configuration (ADM-004).
        Config,
        /// 204 without a body.
        NoContent,
    }
}

reading! {
    /// The token endpoint's order of checks (after the body is read: 413 and the content type
    /// come first in both).
    TokenCheckOrder {
        /// `grant_type` (missing, then value), then the other fields, then the client (AUTH-006).
        GrantTypeFirst,
        /// `client_id` (missing, then unknown: 401), then `grant_type`, then the other fields.
        ClientFirst,
    }
}

reading! {
    /// A token form field given more than once.
    TokenRepeatedField {
        /// 400 `invalid_request` (AUTH-006).
        Refuse,
        /// The last value wins.
        LastWins,
    }
}

reading! {
    /// An empty `username` or `password` on the token endpoint.
    TokenEmptyField {
        /// A missing field: 400 `invalid_request`.
        Missing,
        /// A value like any other, so a wrong user or password: 400 `invalid_grant`.
        WrongCredentials,
    }
}

reading! {
    /// A request without `Content-Type` on the token endpoint, `authenticate/user` and the JSON
    /// endpoints of the device API (a wrong Content-Type is refused in both readings).
    MissingContentType {
        /// Refused as a body error.
        Refuse,
        /// The body is parsed as the endpoint's type.
        Accept,
    }
}

reading! {
    /// Unknown paths and wrong methods.
    UnknownRoute {
        /// 404 (405 with `Allow` for a wrong method) with the API's own code (GEN-009).
        ApiError,
        /// 404 10000 `GENERAL_ERROR` on every API, also for a wrong method (no 405, no `Allow`).
        GeneralError,
    }
}

reading! {
    /// An id in a path that is not a lowercase hyphenated UUID.
    PathId {
        /// An unknown id: the resource's "not found" error.
        UnknownId,
        /// 400 with the API's invalid-request code (10015 device, 1003 relying party, 20001
        /// admin), at the request-validation step.
        InvalidRequest,
    }
}

reading! {
    /// `language_code` on `authenticate/user`.
    LanguageCode {
        /// `xx`, `xx-YY` or `xx_YY`, else 400 1003 (RP-011).
        Checked,
        /// Any value.
        Any,
    }
}

reading! {
    /// A relying-party form field given more than once.
    RpRepeatedField {
        /// 400 1003.
        Refuse,
        /// The first value wins.
        FirstWins,
    }
}

reading! {
    /// What callback backoff and attempt timeouts run on.
    CallbackTiming {
        /// The server's clock: a clock move makes retries due and times attempts out (5 s)
        /// (CB-005 to CB-007).
        ServerClock,
        /// Real time: the backoff (`ServeOptions::callback_backoff`, 200 ms doubling) and a 2 s
        /// attempt timeout, whatever the clock does.
        RealTime,
    }
}

reading! {
    /// Admin DELETE of an enrollment of a known user whose device is not enrolled for them.
    AdminDeleteMissing {
        /// 404 20004 (ADM-009).
        NotFound,
        /// 204: the delete is idempotent (an unknown user is still 404 20004).
        NoContent,
    }
}

/// The default OTP type's `default_message` under [`DefaultOtpMessage::Alternative`].
pub const ALTERNATIVE_DEFAULT_MESSAGE: &str = "Please confirm this request.";

/// The `[readings]` table of a server file: one reading per point where the contract leaves a
/// choice. Every default is the mock's own reading (docs/PROTOCOL.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Readings {
    /// Whether the clock stands still or runs on after a move.
    pub clock_after_move: ClockAfterMove,
    /// The event log's shape, what it logs and what a reset does to it.
    pub event_log: EventLogStyle,
    /// How times are written, and the clock's resolution.
    pub time_format: TimeFormat,
    /// The body of `PUT /_admin/v1/faults`.
    pub faults_reply: FaultsReply,
    /// The body of an injected status.
    pub injected_fault_body: InjectedFaultBody,
    /// What `"count": 0` means in a fault rule.
    pub fault_count_zero: FaultCountZero,
    /// Unknown keys in admin bodies other than PUT config.
    pub admin_unknown_keys: AdminUnknownKeys,
    /// Empty passwords and client secrets on admin creation.
    pub admin_empty_secrets: AdminEmptySecrets,
    /// The answer of admin creation calls.
    pub admin_create_reply: AdminCreateReply,
    /// A `:` in a new API client's id.
    pub api_client_id_colon: ApiClientIdColon,
    /// The default OTP type's message.
    pub default_otp_message: DefaultOtpMessage,
    /// An OTP type without `expires_in_s` in a PUT config.
    pub otp_type_expires_in_s: OtpTypeExpiresInS,
    /// The body of `POST /_admin/v1/clock`.
    pub clock_reply: ClockReply,
    /// A negative `advance_ms`.
    pub negative_advance: NegativeAdvance,
    /// The answer of `PUT /_admin/v1/config`.
    pub put_config_reply: PutConfigReply,
    /// The token endpoint's order of checks.
    pub token_check_order: TokenCheckOrder,
    /// A repeated token form field.
    pub token_repeated_field: TokenRepeatedField,
    /// An empty username or password on the token endpoint.
    pub token_empty_field: TokenEmptyField,
    /// A missing `Content-Type` outside the admin API.
    pub missing_content_type: MissingContentType,
    /// Unknown paths and wrong methods.
    pub unknown_route: UnknownRoute,
    /// A non-UUID id in a path.
    pub path_id: PathId,
    /// `language_code` on authenticate/user.
    pub language_code: LanguageCode,
    /// A repeated relying-party form field.
    pub rp_repeated_field: RpRepeatedField,
    /// What callback backoff and attempt timeouts run on.
    pub callback_timing: CallbackTiming,
    /// Admin DELETE of an enrollment that does not exist.
    pub admin_delete_missing: AdminDeleteMissing,
}

/// The members of each admin body, for [`AdminUnknownKeys::Ignore`].
pub(crate) mod keys {
    /// `POST /_admin/v1/users`.
    pub(crate) const USER: &[&str] = &["username", "password"];
    /// `POST /_admin/v1/api-clients`.
    pub(crate) const API_CLIENT: &[&str] = &["client_id", "client_secret"];
    /// `POST /_admin/v1/app-clients`.
    pub(crate) const APP_CLIENT: &[&str] = &["client_id"];
    /// `POST /_admin/v1/clock`.
    pub(crate) const CLOCK: &[&str] = &["advance_ms", "set"];
    /// One rule of `PUT /_admin/v1/faults`.
    pub(crate) const FAULT: &[&str] =
        &["method", "path_prefix", "latency_ms", "status", "drop_connection", "probability", "count"];
    /// `POST /_admin/v1/reset`.
    pub(crate) const RESET: &[&str] = &[];
}

/// Keys whose string values are times, in every answer body.
const TIME_KEYS: &[&str] = &["timestamp", "expires_at", "enrolled_at", "now", "time", "at"];

impl Readings {
    // ------------------------------------------------------------ times

    /// `t` cut to the clock's resolution: milliseconds, or microseconds.
    pub fn truncate(&self, t: OffsetDateTime) -> OffsetDateTime {
        let unit = match self.time_format {
            TimeFormat::MillisZ => 1_000_000,
            TimeFormat::MicrosOffset => 1_000,
        };
        t - time::Duration::nanoseconds(i64::from(t.nanosecond() % unit))
    }

    /// Rewrites every time in an answer body to this reading's format; `None` when the default
    /// format stands (the body is then serialised as it is).
    pub(crate) fn rewrite_times<T: Serialize>(&self, body: &T) -> Option<Value> {
        if self.time_format == TimeFormat::MillisZ {
            return None;
        }
        let mut value = serde_json::to_value(body).ok()?;
        rewrite_time_keys(&mut value);
        Some(value)
    }

    // ------------------------------------------------------------ configuration

    /// The OTP types of a configuration that names none.
    pub fn default_otp_types(&self) -> Vec<OtpType> {
        let mut types = ServerConfig::default().otp_types;
        if self.default_otp_message == DefaultOtpMessage::Alternative {
            for t in &mut types {
                t.default_message = Some(ALTERNATIVE_DEFAULT_MESSAGE.to_string());
            }
        }
        types
    }

    /// A PUT config body (already known to be a JSON object) under the configuration readings.
    /// Unknown keys are refused in every reading, as the contract says.
    pub(crate) fn server_config(&self, bytes: &[u8]) -> Result<ServerConfig, String> {
        let not_expected = |e: serde_json::Error| format!("the body is not the expected JSON: {e}");
        if self.default_otp_message == DefaultOtpMessage::Standard
            && self.otp_type_expires_in_s == OtpTypeExpiresInS::DefaultsTo300
        {
            return serde_json::from_slice(bytes).map_err(not_expected);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(not_expected)?;
        let types = value.get("otp_types");
        if self.otp_type_expires_in_s == OtpTypeExpiresInS::Required
            && let Some(Value::Array(types)) = types
            && let Some(i) = types.iter().position(|t| t.get("expires_in_s").is_none())
        {
            return Err(format!("otp_types[{i}]: expires_in_s is required"));
        }
        let named_types = types.is_some();
        let mut config: ServerConfig = serde_json::from_value(value).map_err(not_expected)?;
        if !named_types {
            config.otp_types = self.default_otp_types();
        }
        Ok(config)
    }

    // ------------------------------------------------------------ bodies

    /// Whether a request without `Content-Type` is read as the endpoint's type on `api`.
    pub(crate) fn takes_missing_content_type(&self, api: Api) -> bool {
        self.missing_content_type == MissingContentType::Accept && api != Api::Admin
    }

    /// An admin JSON body of type `T` whose members are `known`, under [`AdminUnknownKeys`]:
    /// other members are refused by `T` itself, or dropped first. An array body has the members of
    /// each of its objects dropped.
    pub(crate) fn admin_body<T: DeserializeOwned>(&self, bytes: &[u8], known: &[&str]) -> Result<T, String> {
        let not_expected = |e: serde_json::Error| format!("the body is not the expected JSON: {e}");
        if self.admin_unknown_keys == AdminUnknownKeys::Refuse {
            return serde_json::from_slice(bytes).map_err(not_expected);
        }
        let mut value: Value = serde_json::from_slice(bytes).map_err(not_expected)?;
        let keep = |map: &mut serde_json::Map<String, Value>| map.retain(|k, _| known.contains(&k.as_str()));
        match &mut value {
            Value::Object(map) => keep(map),
            Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(keep),
            _ => {}
        }
        serde_json::from_value(value).map_err(not_expected)
    }

    /// The relying-party form's pairs as the JSON object its type is read from: a repeated field
    /// is refused, or its first value wins.
    pub(crate) fn rp_form(&self, pairs: Vec<(String, String)>) -> Result<Value, String> {
        let mut object = serde_json::Map::new();
        for (k, v) in pairs {
            if object.contains_key(&k) {
                match self.rp_repeated_field {
                    RpRepeatedField::Refuse => return Err(format!("the form has {k:?} more than once")),
                    RpRepeatedField::FirstWins => continue,
                }
            }
            object.insert(k, Value::String(v));
        }
        Ok(Value::Object(object))
    }

    /// One token form field: absent, empty or repeated is `invalid_request` by default; under the
    /// readings a repeat takes the last value, and an empty `credential` (username, password) is a
    /// value like any other (so a wrong user or password).
    pub(crate) fn token_field<'a>(
        &self,
        form: &'a [(String, String)],
        name: &str,
        credential: bool,
    ) -> Result<&'a str, ApiError> {
        let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let value = match values.next() {
            None => None,
            Some(first) => match self.token_repeated_field {
                TokenRepeatedField::LastWins => Some(values.next_back().unwrap_or(first)),
                TokenRepeatedField::Refuse if values.next().is_some() => {
                    return Err(ApiError::oauth(
                        OAuthErrorKind::InvalidRequest,
                        format!("field {name} is repeated"),
                    ));
                }
                TokenRepeatedField::Refuse => Some(first),
            },
        };
        let empty_is_value = credential && self.token_empty_field == TokenEmptyField::WrongCredentials;
        match value {
            Some(v) if !v.is_empty() || empty_is_value => Ok(v),
            _ => Err(ApiError::oauth(OAuthErrorKind::InvalidRequest, format!("missing field {name}"))),
        }
    }

    // ------------------------------------------------------------ errors

    /// The answer to an unknown path (404) or a wrong method (405) under `api`.
    pub(crate) fn route_error(&self, api: Api, status: u16, message: String) -> ApiError {
        match self.unknown_route {
            UnknownRoute::ApiError => api.invalid(status, message),
            UnknownRoute::GeneralError => ApiError::with_status(404, ErrorCode::GeneralError, message),
        }
    }

    /// The body of an injected `status`.
    pub(crate) fn injected_fault(&self, status: u16) -> ErrorBody {
        match self.injected_fault_body {
            InjectedFaultBody::InjectedFault => {
                ErrorCode::InjectedFault.body(format!("status {status} injected by the test-control API"))
            }
            InjectedFaultBody::GeneralError => ErrorCode::GeneralError.body("injected fault"),
        }
    }
}

/// Rewrites, at every depth, the string values of [`TIME_KEYS`] that are RFC 3339 times.
fn rewrite_time_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if TIME_KEYS.contains(&k.as_str()) => {
                        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
                            *s = micros_offset(t);
                        }
                    }
                    other => rewrite_time_keys(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_time_keys),
        _ => {}
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, in UTC.
fn micros_offset(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// One entry of the minimal event log.
#[derive(Debug, Serialize)]
pub(crate) struct MinimalEvent {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// Always `null` in this reading.
    status: Option<u16>,
}

/// `GET /_admin/v1/events` in the minimal reading.
#[derive(Debug, Serialize)]
pub(crate) struct MinimalEvents {
    events: Vec<MinimalEvent>,
    last_seq: u64,
}

impl MinimalEvents {
    /// The minimal form of a full answer: requests say `"METHOD /path"`, callbacks their kind and
    /// `url`.
    pub(crate) fn of(full: protocol::wire::EventsResponse) -> Self {
        let events = full
            .events
            .into_iter()
            .map(|e| {
                let (what, url) = if e.kind == "request" {
                    (format!("{} {}", e.method, e.path), None)
                } else {
                    (e.kind, Some(e.path))
                };
                MinimalEvent { seq: e.seq, at: e.time, what, url, status: None }
            })
            .collect();
        Self { events, last_seq: full.last_seq }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn defaults_are_the_mock_reading_and_keys_are_snake_case() {
        let parsed: Readings = toml::from_str("").expect("an empty table is every default");
        assert_eq!(parsed, Readings::default());
        let parsed: Readings =
            toml::from_str("clock_after_move = \"runs\"\ntime_format = \"micros_offset\"").expect("parses");
        assert_eq!(parsed.clock_after_move, ClockAfterMove::Runs);
        assert_eq!(parsed.time_format, TimeFormat::MicrosOffset);
        let parsed: Readings = toml::from_str("otp_type_expires_in_s = \"defaults_to_300\"").expect("parses");
        assert_eq!(parsed, Readings::default());
        assert!(toml::from_str::<Readings>("nope = true").is_err());
        assert!(toml::from_str::<Readings>("time_format = \"nope\"").is_err());
    }

    #[test]
    fn times_and_resolution() {
        let t = datetime!(2026-01-01 00:00:00.123456789 UTC);
        let micros = Readings { time_format: TimeFormat::MicrosOffset, ..Readings::default() };
        assert_eq!(Readings::default().truncate(t), datetime!(2026-01-01 00:00:00.123 UTC));
        assert_eq!(micros.truncate(t), datetime!(2026-01-01 00:00:00.123456 UTC));
        assert_eq!(micros_offset(datetime!(2026-01-01 00:00 UTC)), "2026-01-01T00:00:00.000000+00:00");
        let body = serde_json::json!({"now": "2026-01-01T00:00:00.5Z", "events": [{"at": "2026-01-01T01:00:00Z"}],
            "message": "2026-01-01T00:00:00Z"});
        let rewritten = micros.rewrite_times(&body).expect("rewritten");
        assert_eq!(rewritten["now"], "2026-01-01T00:00:00.500000+00:00");
        assert_eq!(rewritten["events"][0]["at"], "2026-01-01T01:00:00.000000+00:00");
        assert_eq!(rewritten["message"], "2026-01-01T00:00:00Z", "only time keys");
        assert!(Readings::default().rewrite_times(&body).is_none());
    }

    #[test]
    fn token_fields() {
        let form: Vec<(String, String)> =
            [("a", "1"), ("a", "2"), ("e", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let strict = Readings::default();
        let lenient = Readings {
            token_repeated_field: TokenRepeatedField::LastWins,
            token_empty_field: TokenEmptyField::WrongCredentials,
            ..Readings::default()
        };
        assert!(strict.token_field(&form, "a", false).is_err());
        assert_eq!(lenient.token_field(&form, "a", false), Ok("2"));
        assert!(strict.token_field(&form, "e", true).is_err());
        assert!(lenient.token_field(&form, "e", false).is_err(), "only credentials may be empty");
        assert_eq!(lenient.token_field(&form, "e", true), Ok(""));
        assert!(lenient.token_field(&form, "x", true).is_err(), "absent is still missing");
    }
}
