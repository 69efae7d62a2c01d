//! The device driver protocol (contract sections 7 and 9): JSON Lines between the harness and a
//! program that puts an SDK under test behind a small set of operations.
//!
//! Each request is one line `{"id", "op", ...}`; each reply one line `{"id", "ok": true, ...}`,
//! `{"id", "ok": false, "error_code", "error_type", "error_message"}` or `{"id", "unimplemented": true}`;
//! events come unasked: `{"event": "open_auth_otp", ...}` and `{"event": "close_auth_otp"}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ErrorCode;

/// The protocol version a driver answers `hello` with.
pub const PROTOCOL_VERSION: u32 = 1;

/// An operation and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Who is there: `{"name", "version", "protocol"}`.
    Hello,
    /// Where the server is and which app client to use.
    Configure {
        /// Base URL of the Token Server.
        server_url: String,
        /// The app's client id.
        app_client_id: String,
    },
    /// Log a user in.
    Authenticate {
        /// User name.
        username: String,
        /// Password (stands in for the SDK's PIN).
        password: String,
    },
    /// End the session.
    Logout,
    /// Enroll for mobile authentication: `{"re_enrolled"}`.
    Enroll,
    /// `{"enrolled"}`.
    IsEnrolled,
    /// Handle an OTP, given as text or as a QR image; the reply comes after the user's decision.
    HandleOtp {
        /// The OTP text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        otp: Option<String>,
        /// Base64 of a PNG holding the OTP's QR code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qr_png: Option<String>,
    },
    /// The user accepts the showing request.
    Accept,
    /// The user denies the showing request.
    Deny,
    /// Remove this device's enrollment.
    Disenroll,
    /// A new installation: `{"device_id"}`.
    Reset,
    /// `{"device_id", "authenticated", "enrolled"}`.
    State,
}

impl Op {
    /// The op's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Hello => "hello",
            Op::Configure { .. } => "configure",
            Op::Authenticate { .. } => "authenticate",
            Op::Logout => "logout",
            Op::Enroll => "enroll",
            Op::IsEnrolled => "is_enrolled",
            Op::HandleOtp { .. } => "handle_otp",
            Op::Accept => "accept",
            Op::Deny => "deny",
            Op::Disenroll => "disenroll",
            Op::Reset => "reset",
            Op::State => "state",
        }
    }
}

/// A request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the harness, echoed in the reply.
    pub id: i64,
    /// The operation.
    #[serde(flatten)]
    pub op: Op,
}

/// A reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `{"id", "ok": true, ...fields}`.
    Ok {
        /// The request's id.
        id: i64,
        /// The op's result fields.
        fields: Map<String, Value>,
    },
    /// `{"id", "ok": false, "error_code", "error_type", "error_message"}`.
    Error {
        /// The request's id; `None` for a line that was not JSON.
        id: Option<i64>,
        /// The numeric code.
        error_code: u32,
        /// Its type name.
        error_type: String,
        /// Text for a person.
        error_message: String,
    },
    /// `{"id", "unimplemented": true}`.
    Unimplemented {
        /// The request's id.
        id: Option<i64>,
    },
}

impl Reply {
    /// A success with `fields` (an object; anything else becomes `{}`).
    pub fn ok(id: i64, fields: Value) -> Self {
        let fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Reply::Ok { id, fields }
    }

    /// An error of the catalogue.
    pub fn error(id: Option<i64>, code: ErrorCode, message: impl Into<String>) -> Self {
        Reply::Error {
            id,
            error_code: code.code(),
            error_type: code.type_name().into(),
            error_message: message.into(),
        }
    }

    /// The request id this reply answers.
    pub fn id(&self) -> Option<i64> {
        match self {
            Reply::Ok { id, .. } => Some(*id),
            Reply::Error { id, .. } | Reply::Unimplemented { id } => *id,
        }
    }

    /// The line's JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Reply::Ok { id, fields } => {
                let mut map = fields.clone();
                map.insert("id".into(), Value::from(*id));
                map.insert("ok".into(), Value::Bool(true));
                Value::Object(map)
            }
            Reply::Error { id, error_code, error_type, error_message } => serde_json::json!({
                "id": id, "ok": false, "error_code": error_code, "error_type": error_type, "error_message": error_message,
            }),
            Reply::Unimplemented { id } => serde_json::json!({ "id": id, "unimplemented": true }),
        }
    }
}

/// An event line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A request is showing.
    OpenAuthOtp {
        /// Its transaction.
        transaction_id: String,
        /// Its message.
        message: String,
    },
    /// The request left the screen.
    CloseAuthOtp,
}

/// Any line a driver writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A reply to a request.
    Reply(Reply),
    /// An unasked event.
    Event(Event),
}

/// Why a driver's line is not of the protocol.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// JSON, but neither a reply nor an event of the protocol.
    #[error("not a reply or event of the driver protocol: {0}")]
    NotProtocol(String),
}

impl Line {
    /// Parses one line a driver wrote.
    pub fn parse(text: &str) -> Result<Line, LineError> {
        let value: Value = serde_json::from_str(text).map_err(|e| LineError::NotJson(e.to_string()))?;
        let Value::Object(mut map) = value else {
            return Err(LineError::NotJson("a JSON value that is not an object".into()));
        };
        if map.contains_key("event") {
            return serde_json::from_value(Value::Object(map))
                .map(Line::Event)
                .map_err(|e| LineError::NotProtocol(e.to_string()));
        }
        let id = match map.remove("id") {
            Some(Value::Null) | None => None,
            Some(Value::Number(n)) => n.as_i64(),
            // The harness sends only integer ids, so any other id answers no request of its; a
            // driver may echo a malformed request's id as it found it (DRV-019), e.g. "seven".
            Some(_) => None,
        };
        if map.get("unimplemented") == Some(&Value::Bool(true)) {
            return Ok(Line::Reply(Reply::Unimplemented { id }));
        }
        match map.remove("ok") {
            Some(Value::Bool(true)) => {
                let id = id.ok_or_else(|| LineError::NotProtocol("a success without an id".into()))?;
                Ok(Line::Reply(Reply::Ok { id, fields: map }))
            }
            Some(Value::Bool(false)) => {
                let code = map.get("error_code").and_then(Value::as_u64).and_then(|c| u32::try_from(c).ok());
                let error_type = map.get("error_type").and_then(Value::as_str);
                match (code, error_type) {
                    (Some(error_code), Some(error_type)) => Ok(Line::Reply(Reply::Error {
                        id,
                        error_code,
                        error_type: error_type.to_string(),
                        error_message: map
                            .get("error_message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    })),
                    _ => Err(LineError::NotProtocol("an error reply needs error_code and error_type".into())),
                }
            }
            _ => Err(LineError::NotProtocol(
                "a reply needs \"ok\": true or false, or \"unimplemented\": true".into(),
            )),
        }
    }

    /// The line as written on the wire (no newline).
    pub fn to_line(&self) -> String {
        match self {
            Line::Reply(reply) => reply.to_json().to_string(),
            Line::Event(event) => serde_json::to_string(event).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_their_arguments() {
        let table = [
            (r#"{"id":1,"op":"hello"}"#, Op::Hello),
            (
                r#"{"id":1,"op":"configure","server_url":"http://x","app_client_id":"app"}"#,
                Op::Configure { server_url: "http://x".into(), app_client_id: "app".into() },
            ),
            (
                r#"{"id":1,"op":"handle_otp","otp":"AQ"}"#,
                Op::HandleOtp { otp: Some("AQ".into()), qr_png: None },
            ),
            (r#"{"id":1,"op":"is_enrolled"}"#, Op::IsEnrolled),
        ];
        for (line, op) in table {
            let request: Request = serde_json::from_str(line).expect(line);
            assert_eq!(request, Request { id: 1, op });
        }
        assert!(serde_json::from_str::<Request>(r#"{"id":1,"op":"fly"}"#).is_err());
    }

    #[test]
    fn lines_round_trip_and_garbage_is_named() {
        let lines = [
            Line::Reply(Reply::ok(3, serde_json::json!({"enrolled": true}))),
            Line::Reply(Reply::error(Some(4), ErrorCode::NotInProgressOtpAuthentication, "nothing showing")),
            Line::Reply(Reply::error(None, ErrorCode::ParametersNotCorrect, "not JSON")),
            Line::Reply(Reply::Unimplemented { id: Some(5) }),
            Line::Event(Event::OpenAuthOtp { transaction_id: "t".into(), message: "m".into() }),
            Line::Event(Event::CloseAuthOtp),
        ];
        for line in lines {
            assert_eq!(Line::parse(&line.to_line()), Ok(line.clone()), "{}", line.to_line());
        }
        assert!(matches!(Line::parse("hello"), Err(LineError::NotJson(_))));
        assert!(matches!(Line::parse(r#"{"id":1}"#), Err(LineError::NotProtocol(_))));
        assert!(matches!(Line::parse(r#"{"id":1,"ok":false}"#), Err(LineError::NotProtocol(_))));
        // A malformed request's id echoed as found (DRV-019) answers no request of ours.
        let echoed = r#"{"id":"seven","ok":false,"error_code":8009,"error_type":"PARAMETERS_NOT_CORRECT"}"#;
        assert!(matches!(
            Line::parse(echoed),
            Ok(Line::Reply(Reply::Error { id: None, error_code: 8009, .. }))
        ));
        assert!(matches!(Line::parse(r#"{"id":"seven","ok":true}"#), Err(LineError::NotProtocol(_))));
    }
}
