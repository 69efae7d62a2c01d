//! The catalogue of the profile's error codes.
//!
//! One table says, for every error the contract names, its numeric code, its `UPPER_SNAKE` type
//! and the HTTP status it is usually answered with. The mock server answers from this table, the
//! simulated device and the harness compare against it, and the driver protocol reuses the codes.

use serde::{Deserialize, Serialize};

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $type_name:literal, $status:expr); )*) => {
        /// Every error code of the profile: the device, relying-party and admin APIs, and the
        /// device driver protocol.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the catalogue's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The numeric `error_code`.
            pub const fn code(self) -> u32 {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The `error_type` name.
            pub const fn type_name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $type_name,)* }
            }

            /// The HTTP status this error is answered with, or `None` for errors that exist only
            /// in the driver protocol. (9021 is 404 on the enrollment lookup, see [`ErrorCode::MobileAuthenticationNotEnrolled`].)
            pub const fn http_status(self) -> Option<u16> {
                match self { $(ErrorCode::$variant => $status,)* }
            }
        }
    };
}

catalogue! {
    /// 8009: the driver got a request it cannot parse.
    ParametersNotCorrect = (8009, "PARAMETERS_NOT_CORRECT", None);
    /// 8053: `accept` or `deny` while no OTP request is showing.
    NotInProgressOtpAuthentication = (8053, "NOT_IN_PROGRESS_OTP_AUTHENTICATION", None);
    /// 8056: a second `handle_otp` while one is showing.
    AlreadyInProgressMobileAuth = (8056, "ALREADY_IN_PROGRESS_MOBILE_AUTH", None);
    /// 9001: the server could not be reached or timed out.
    ServerNotReachable = (9001, "SERVER_NOT_REACHABLE", None);
    /// 9006: the showing request was cancelled (reset or end of input).
    ActionCanceled = (9006, "ACTION_CANCELED", None);
    /// 9009: the token endpoint refused the user's credentials.
    InvalidPin = (9009, "INVALID_PIN", None);
    /// 9010: missing, unknown or expired access token.
    UserNotAuthenticated = (9010, "USER_NOT_AUTHENTICATED", Some(401));
    /// 9016: this device is already enrolled (or enrolled for another user).
    DeviceAlreadyEnrolled = (9016, "DEVICE_ALREADY_ENROLLED", Some(409));
    /// 9017: mobile authentication or enrollment is disabled.
    EnrollmentNotAvailable = (9017, "ENROLLMENT_NOT_AVAILABLE", Some(403));
    /// 9018: the user is enrolled on another device.
    UserAlreadyEnrolled = (9018, "USER_ALREADY_ENROLLED", Some(409));
    /// 9021: the device is not enrolled for this user: 403 on OTP calls, 404 on the enrollment resource.
    MobileAuthenticationNotEnrolled = (9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED", Some(403));
    /// 9023: this device's enrollment was replaced by another device's.
    MobileAuthenticationDisenrolled = (9023, "MOBILE_AUTHENTICATION_DISENROLLED", Some(403));
    /// 9029: the transaction was already answered.
    AlreadyHandled = (9029, "ALREADY_HANDLED", Some(409));
    /// 10000: an unexpected server answer (5xx, a redirect).
    GeneralError = (10000, "GENERAL_ERROR", None);
    /// 10001: the driver is not configured, or the app client is unknown.
    ConfigurationError = (10001, "CONFIGURATION_ERROR", None);
    /// 10013: unknown transaction, wrong secret, or no live challenge for this device.
    MobileAuthRequestNotFound = (10013, "MOBILE_AUTH_REQUEST_NOT_FOUND", Some(404));
    /// 10015: the device API request is malformed.
    InvalidRequest = (10015, "INVALID_REQUEST", Some(400));
    /// 10019: the answer's signature does not verify with the device's current key.
    InvalidSignature = (10019, "INVALID_SIGNATURE", Some(403));
    /// 10020: the transaction's time to live has passed.
    MobileAuthRequestExpired = (10020, "MOBILE_AUTH_REQUEST_EXPIRED", Some(410));
    /// 1000: mobile authentication is disabled (relying-party API).
    MobileAuthenticationDisabled = (1000, "MOBILE_AUTHENTICATION_DISABLED", Some(404));
    /// 1003: a missing or invalid relying-party parameter.
    InvalidParameter = (1003, "INVALID_PARAMETER", Some(400));
    /// 1005: the message is longer than `message_max_length`.
    MessageTooLong = (1005, "MESSAGE_TOO_LONG", Some(400));
    /// 3004: unknown transaction, or one another API client created.
    InvalidTransactionId = (3004, "INVALID_TRANSACTION_ID", Some(404));
    /// 3005: no OTP type of that name.
    AuthenticationTypeNotFound = (3005, "AUTHENTICATION_TYPE_NOT_FOUND", Some(404));
    /// 20001: a malformed admin request.
    InvalidAdminRequest = (20001, "INVALID_ADMIN_REQUEST", Some(400));
    /// 20002: missing or wrong admin token.
    AdminUnauthorized = (20002, "ADMIN_UNAUTHORIZED", Some(401));
    /// 20004: an admin resource that does not exist.
    AdminNotFound = (20004, "ADMIN_NOT_FOUND", Some(404));
    /// 20009: the answer is a fault injected through the admin API (its status is the fault's).
    InjectedFault = (20009, "INJECTED_FAULT", None);
}

impl ErrorCode {
    /// The catalogue entry for a numeric code.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The catalogue entry for an `error_type` name.
    pub fn from_type_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.type_name() == name)
    }

    /// An error body for this code with a message for a person.
    pub fn body(self, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error_code: self.code(),
            error_type: self.type_name().to_owned(),
            error_message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.type_name())
    }
}

/// The error body of the device, relying-party and admin APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The numeric code, e.g. 9016.
    pub error_code: u32,
    /// The code's name, e.g. `DEVICE_ALREADY_ENROLLED`.
    pub error_type: String,
    /// Text for a person.
    pub error_message: String,
}

impl ErrorBody {
    /// The catalogue entry whose code and type both match this body, if any.
    pub fn known_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.error_code).filter(|c| c.type_name() == self.error_type)
    }
}

/// The OAuth error kinds of RFC 6749 §5.2 that the token endpoint and client authentication use.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorKind {
    /// Unknown client, or bad or missing client credentials (401).
    InvalidClient,
    /// Wrong user or password (400).
    InvalidGrant,
    /// A missing or malformed field (400).
    InvalidRequest,
    /// A grant type other than `password` (400).
    UnsupportedGrantType,
}

impl OAuthErrorKind {
    /// The HTTP status of this error.
    pub const fn http_status(self) -> u16 {
        match self {
            OAuthErrorKind::InvalidClient => 401,
            _ => 400,
        }
    }

    /// The `error` string on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            OAuthErrorKind::InvalidClient => "invalid_client",
            OAuthErrorKind::InvalidGrant => "invalid_grant",
            OAuthErrorKind::InvalidRequest => "invalid_request",
            OAuthErrorKind::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    /// An error body of this kind.
    pub fn body(self, description: impl Into<String>) -> OAuthErrorBody {
        OAuthErrorBody { error: self, error_description: Some(description.into()) }
    }
}

/// An RFC 6749 §5.2 error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// The error kind.
    pub error: OAuthErrorKind,
    /// Text for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_type_names_are_unique_and_round_trip() {
        for (i, a) in ErrorCode::ALL.iter().enumerate() {
            for b in &ErrorCode::ALL[i + 1..] {
                assert_ne!(a.code(), b.code(), "{a:?} and {b:?} share a code");
                assert_ne!(a.type_name(), b.type_name(), "{a:?} and {b:?} share a type");
            }
            assert_eq!(ErrorCode::from_code(a.code()), Some(*a));
            assert_eq!(ErrorCode::from_type_name(a.type_name()), Some(*a));
            assert!(a.type_name().chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
    }

    #[test]
    fn error_body_wire_shape() {
        let body = ErrorCode::DeviceAlreadyEnrolled.body("already");
        let json = serde_json::to_value(&body).expect("a struct of strings serialises");
        assert_eq!(
            json,
            serde_json::json!({"error_code": 9016, "error_type": "DEVICE_ALREADY_ENROLLED", "error_message": "already"})
        );
        assert_eq!(body.known_code(), Some(ErrorCode::DeviceAlreadyEnrolled));
        let mismatched = ErrorBody { error_type: "OTHER".into(), ..body };
        assert_eq!(mismatched.known_code(), None);
        let oauth = serde_json::to_value(OAuthErrorKind::InvalidClient.body("who?")).expect("serialises");
        assert_eq!(oauth, serde_json::json!({"error": "invalid_client", "error_description": "who?"}));
    }
}
