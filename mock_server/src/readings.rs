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

use serde::{Deserialize, Serialize};

mod apply;

pub use self::apply::micros_offset;

pub(crate) use apply::MinimalEvents;

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

reading! {
    /// The `error_message` of an error body.
    ErrorMessage {
        /// A text for a person saying what was wrong (GEN-002).
        Written,
        /// Always `""`: the contract asks for a text, not for a non-empty one.
        Empty,
    }
}

reading! {
    /// The `error_description` of RFC 6749 errors.
    OAuthDescription {
        /// Always present, the same text for an unknown user and a wrong password.
        Always,
        /// Absent, except for `invalid_grant`, where it tells an unknown user from a wrong
        /// password.
        Sparse,
    }
}

reading! {
    /// The `expires_in` of a token reply.
    TokenExpiresIn {
        /// The configured `access_token_ttl_s`, the token's whole lifetime.
        Ttl,
        /// One second less than the lifetime (a cautious server leaves room for the trip).
        OneSecondShort,
    }
}

reading! {
    /// The scheme name of `Authorization: Bearer`.
    BearerScheme {
        /// Compared case-insensitively (RFC 9110 §11.1).
        AnyCase,
        /// Only `Bearer` exactly: `bearer` is refused as a missing token.
        ExactCase,
    }
}

reading! {
    /// An answer's ECDSA signature with a high `s`.
    HighS {
        /// Verified like any other.
        Accept,
        /// Refused with 403 10019, as low-S rules do.
        Refuse,
    }
}

reading! {
    /// How a challenge's 32 bytes are written.
    ChallengeEncoding {
        /// Standard base64 with padding: 44 characters.
        Padded,
        /// Standard base64 without padding: 43 characters.
        Unpadded,
    }
}

reading! {
    /// How an OTP's base64 is decoded.
    OtpBase64 {
        /// Canonically: padding required, no stray trailing bits.
        Canonical,
        /// Leniently: padding optional and trailing bits ignored.
        Lenient,
    }
}

reading! {
    /// A `device_id` in a body that is a UUID in another spelling (upper case, no hyphens, ...).
    DeviceIdSpelling {
        /// Refused with 400 10015: only the lowercase hyphenated spelling.
        Lowercase,
        /// Read as that UUID (a CSR's CN may then be any spelling of it too).
        AnyUuid,
    }
}

reading! {
    /// The PEM form of an enrollment's CSR.
    CsrPem {
        /// Read as laxly as OpenSSL reads it (ENR-005).
        Lax,
        /// RFC 7468's strict form only; anything else is 400 10015.
        Strict,
    }
}

reading! {
    /// The mobile-authentication CA at a reset.
    CaAtReset {
        /// Kept.
        Kept,
        /// A new CA is made.
        New,
    }
}

reading! {
    /// An empty `type` on `authenticate/user`.
    EmptyType {
        /// A missing type: 400 1003.
        Missing,
        /// A type that names nothing: 404 3005.
        Unknown,
    }
}

reading! {
    /// How a `type` is matched with the configured OTP types' names.
    TypeNames {
        /// Exactly.
        Exact,
        /// Case-insensitively (ASCII).
        CaseInsensitive,
    }
}

reading! {
    /// The list that `enabled` answers for an enrolled user.
    EnabledList {
        /// One entry per configured OTP type.
        EveryType,
        /// Only the first configured type.
        FirstType,
    }
}

reading! {
    /// Unknown keys inside an OTP type of a PUT config (unknown top-level keys are refused in
    /// every reading, as the contract says).
    NestedConfigKeys {
        /// Refused with 400 20001.
        Refuse,
        /// Ignored.
        Ignore,
    }
}

reading! {
    /// A clock `set` to an instant before the clock's reading.
    ClockSetBackwards {
        /// Accepted: the clock goes back.
        Accept,
        /// Refused with 400 20001: the clock only moves forward.
        Refuse,
    }
}

reading! {
    /// Event sequence numbers and `since`.
    EventSeq {
        /// 1, 2, 3, ...; `since=N` gives the events after N.
        ExclusiveByOne,
        /// 2, 4, 6, ...; `since=N` gives the events from N on (N itself included).
        InclusiveByTwo,
    }
}

reading! {
    /// A 3xx answer to a callback delivery.
    CallbackRedirects {
        /// A failed attempt: redirects are not followed.
        Fail,
        /// Followed (at most 3 times, on the same host); the attempt is judged by the last answer.
        Follow,
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
    /// The `error_message` of error bodies.
    pub error_message: ErrorMessage,
    /// The `error_description` of RFC 6749 errors.
    pub oauth_error_description: OAuthDescription,
    /// The `expires_in` of a token reply.
    pub token_expires_in: TokenExpiresIn,
    /// The bearer scheme's case.
    pub bearer_scheme: BearerScheme,
    /// High-S answer signatures.
    pub high_s: HighS,
    /// How challenges are written.
    pub challenge_encoding: ChallengeEncoding,
    /// How OTP base64 is decoded.
    pub otp_base64: OtpBase64,
    /// Other spellings of a body's `device_id`.
    pub device_id_spelling: DeviceIdSpelling,
    /// The PEM form of a CSR.
    pub csr_pem: CsrPem,
    /// The CA at a reset.
    pub ca_at_reset: CaAtReset,
    /// An empty `type`.
    pub empty_type: EmptyType,
    /// How `type` is matched.
    pub type_names: TypeNames,
    /// The `enabled` list.
    pub enabled_list: EnabledList,
    /// Unknown keys inside an OTP type of a PUT config.
    pub nested_config_keys: NestedConfigKeys,
    /// A clock `set` backwards.
    pub clock_set_backwards: ClockSetBackwards,
    /// Event sequence numbers and `since`.
    pub event_seq: EventSeq,
    /// A 3xx answer to a callback.
    pub callback_redirects: CallbackRedirects,
}

/// The members of each admin body, for [`AdminUnknownKeys::Ignore`] and [`NestedConfigKeys::Ignore`].
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
    /// One OTP type of `PUT /_admin/v1/config`, for [`NestedConfigKeys::Ignore`].
    pub(crate) const OTP_TYPE: &[&str] = &["name", "expires_in_s", "default_message"];
}
