//! How each reading is applied: pure functions of a [`Readings`] value that the server's core,
//! HTTP layer, clock and callbacks call at each point of choice (no I/O, no clock reads).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD};
use protocol::csr::{CommonNameReading, CsrReading, PemReading};
use protocol::error::{ErrorBody, ErrorCode, OAuthErrorKind};
use protocol::otp::{Otp, OtpError};
use protocol::wire::{OtpType, ServerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::*;
use crate::core::{Api, ApiError};
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
    pub fn rewrite_times<T: Serialize>(&self, body: &T) -> Option<Value> {
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
            && self.nested_config_keys == NestedConfigKeys::Refuse
        {
            return serde_json::from_slice(bytes).map_err(not_expected);
        }
        let mut value: Value = serde_json::from_slice(bytes).map_err(not_expected)?;
        if self.nested_config_keys == NestedConfigKeys::Ignore
            && let Some(Value::Array(types)) = value.get_mut("otp_types")
        {
            for t in types.iter_mut().filter_map(Value::as_object_mut) {
                t.retain(|k, _| keys::OTP_TYPE.contains(&k.as_str()));
            }
        }
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
    pub fn token_field<'a>(
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

    // ------------------------------------------------------------ device API

    /// A body's `device_id`: the lowercase hyphenated spelling, or under
    /// [`DeviceIdSpelling::AnyUuid`] any spelling of a UUID; 400 10015 otherwise.
    pub(crate) fn body_device_id(&self, text: &str) -> Result<Uuid, ApiError> {
        let (id, wanted) = match self.device_id_spelling {
            DeviceIdSpelling::Lowercase => (protocol::wire::parse_id(text), "a lowercase hyphenated UUID"),
            DeviceIdSpelling::AnyUuid => (Uuid::parse_str(text).ok(), "a UUID"),
        };
        id.ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, format!("device_id is not {wanted}")))
    }

    /// How an enrollment's CSR is read.
    pub(crate) fn csr_reading(&self) -> CsrReading {
        CsrReading {
            pem: match self.csr_pem {
                CsrPem::Lax => PemReading::Lax,
                CsrPem::Strict => PemReading::Strict,
            },
            common_name: match self.device_id_spelling {
                DeviceIdSpelling::Lowercase => CommonNameReading::Lowercase,
                DeviceIdSpelling::AnyUuid => CommonNameReading::AnySpelling,
            },
        }
    }

    /// An OTP as the request call reads it.
    pub(crate) fn decode_otp(&self, text: &str) -> Result<Otp, OtpError> {
        match self.otp_base64 {
            OtpBase64::Canonical => Otp::decode(text),
            OtpBase64::Lenient => {
                const LENIENT: GeneralPurpose = GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    GeneralPurposeConfig::new()
                        .with_decode_allow_trailing_bits(true)
                        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
                );
                let bytes = LENIENT.decode(text).map_err(|e| OtpError::NotBase64(e.to_string()))?;
                Otp::from_bytes(&bytes)
            }
        }
    }

    /// A challenge's 32 bytes as the request call writes them.
    pub(crate) fn encode_challenge(&self, bytes: &[u8; 32]) -> String {
        match self.challenge_encoding {
            ChallengeEncoding::Padded => STANDARD.encode(bytes),
            ChallengeEncoding::Unpadded => STANDARD_NO_PAD.encode(bytes),
        }
    }

    /// The `expires_in` of a token that lives `ttl` seconds.
    pub(crate) fn expires_in(&self, ttl: u64) -> u64 {
        match self.token_expires_in {
            TokenExpiresIn::Ttl => ttl,
            TokenExpiresIn::OneSecondShort => ttl.saturating_sub(1),
        }
    }

    // ------------------------------------------------------------ errors

    /// An error as this reading writes it; `None` when the default stands.
    pub(crate) fn rewrite_error(&self, error: &ApiError) -> Option<ApiError> {
        match error {
            ApiError::Api { status, body } if self.error_message == ErrorMessage::Empty => {
                Some(ApiError::Api {
                    status: *status,
                    body: ErrorBody { error_message: String::new(), ..body.clone() },
                })
            }
            ApiError::OAuth { status, body }
                if self.oauth_error_description == OAuthDescription::Sparse
                    && body.error != OAuthErrorKind::InvalidGrant =>
            {
                let mut body = body.clone();
                body.error_description = None;
                Some(ApiError::OAuth { status: *status, body })
            }
            _ => None,
        }
    }

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
pub fn micros_offset(t: OffsetDateTime) -> String {
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
