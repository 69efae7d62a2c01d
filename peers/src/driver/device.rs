//! An SDK's device as the scenarios' device steps use it (`mobauth run --device-driver`): the
//! high-level operations of the driver protocol (contract sections 7 and 9) over a
//! [`DriverProcess`], each checked against the shape the protocol gives its reply.
//!
//! What can go wrong is told apart, because a step treats each differently: the SDK refused
//! ([`DrivenError::Refused`], the step's outcome), the driver does not offer the operation
//! ([`DrivenError::Unimplemented`], not implemented), or the driver is broken — it crashed, hung
//! or wrote something that is not of the protocol ([`DrivenError::Broken`],
//! [`DrivenError::BadReply`]: the step fails, saying what was expected and what came).

use protocol::driver::{Event, Op, Reply};
use protocol::wire::Answer;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::client::{Arrival, DriverError, DriverLimits, DriverProcess};
use super::lines::{SHOWN, cut_to};
use crate::device::DriverRefusal;

/// Why a driver operation did not give its result.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrivenError {
    /// The SDK refused: an error reply.
    #[error(transparent)]
    Refused(#[from] DriverRefusal),
    /// The driver answered `unimplemented`.
    #[error("the device driver does not implement {0}")]
    Unimplemented(String),
    /// The driver crashed, hung or wrote garbage.
    #[error(transparent)]
    Broken(#[from] DriverError),
    /// A line of the protocol, but not the one the protocol gives here.
    #[error("the driver answered {op} with {got}, but the protocol gives {expected}")]
    BadReply {
        /// The operation.
        op: String,
        /// What the protocol gives.
        expected: String,
        /// What came, as JSON.
        got: String,
    },
}

/// The request a driven device shows: the `open_auth_otp` event's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Its transaction.
    pub transaction_id: String,
    /// Its message.
    pub message: String,
}

/// What `state` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverState {
    /// The installation's device id.
    pub device_id: Uuid,
    /// Whether a user is logged in.
    pub authenticated: bool,
    /// Whether the device is enrolled for that user.
    pub enrolled: bool,
}

/// What `handle_otp` is given: the OTP as text, or a QR image as a camera saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpInput {
    /// `otp`.
    Text(String),
    /// `qr_png`: PNG (or other image) bytes.
    Image(Vec<u8>),
}

impl OtpInput {
    /// The `handle_otp` request of this input: the OTP as text, or the image as base64.
    pub fn into_op(self) -> Op {
        match self {
            OtpInput::Text(otp) => Op::HandleOtp { otp: Some(otp), qr_png: None },
            OtpInput::Image(bytes) => Op::HandleOtp { otp: None, qr_png: Some(forge::b64::encode(&bytes)) },
        }
    }
}

/// The driver's device of a scenario.
#[derive(Debug)]
pub struct DrivenDevice {
    process: DriverProcess,
    name: String,
    version: String,
    /// The username the harness logged in through the driver last (`None` after logout).
    username: Option<String>,
    /// The `handle_otp` whose request is showing, waiting for the user's decision.
    waiting: Option<(i64, Shown)>,
    /// The request shown last (also after the decision).
    shown: Option<Shown>,
    /// Every image handed to the driver, for the report.
    images: Vec<Vec<u8>>,
}

/// The most characters of a driver's name or version (from its `hello`) that reports show.
pub const NAME_LIMIT: usize = 100;

impl DrivenDevice {
    /// Starts `command_line` with `seed` in its environment, checks its `hello` and configures it
    /// for the server at `server_url` with the app client `app_client_id`, once `limits` has a
    /// slot free. Every wait is bounded by the limits' timeout.
    pub async fn start(
        command_line: &str,
        limits: &DriverLimits,
        seed: u64,
        server_url: &str,
        app_client_id: &str,
    ) -> Result<Self, DrivenError> {
        let process = limits.start(command_line, seed).await?;
        let mut device = Self {
            process,
            name: String::new(),
            version: String::new(),
            username: None,
            waiting: None,
            shown: None,
            images: Vec::new(),
        };
        let hello = device.call(Op::Hello).await?;
        let text = |key: &str| hello.get(key).and_then(Value::as_str).map(str::to_string);
        match (text("name"), text("version"), hello.get("protocol").and_then(Value::as_u64)) {
            // A name is for reports: a peer's, so it is cut to a bound.
            (Some(name), Some(version), Some(1)) => {
                (device.name, device.version) = (cut_to(&name, NAME_LIMIT), cut_to(&version, NAME_LIMIT));
            }
            _ => {
                return Err(bad("hello", "{\"name\": text, \"version\": text, \"protocol\": 1}", &hello));
            }
        }
        let configure =
            Op::Configure { server_url: server_url.to_string(), app_client_id: app_client_id.to_string() };
        device.call(configure).await?;
        Ok(device)
    }

    /// The driver's name and version, as its `hello` gave them.
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// The username logged in through the driver last, if the session was not ended since.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Whether a request is showing (a `handle_otp` waits for the user's decision).
    pub fn is_showing(&self) -> bool {
        self.waiting.is_some()
    }

    /// The request shown last, whether or not it is still showing.
    pub fn shown(&self) -> Option<&Shown> {
        self.shown.as_ref()
    }

    /// Every image handed to the driver so far.
    pub fn images(&self) -> &[Vec<u8>] {
        &self.images
    }

    /// `authenticate`: `{}` once the server gave a token.
    pub async fn authenticate(&mut self, username: &str, password: &str) -> Result<(), DrivenError> {
        let op = Op::Authenticate { username: username.to_string(), password: password.to_string() };
        self.call(op).await?;
        self.username = Some(username.to_string());
        Ok(())
    }

    /// `logout`: always `{}`.
    pub async fn logout(&mut self) -> Result<(), DrivenError> {
        self.call(Op::Logout).await?;
        self.username = None;
        Ok(())
    }

    /// `enroll`: whether the server re-enrolled the device (200) rather than enrolling it anew (201).
    pub async fn enroll(&mut self) -> Result<bool, DrivenError> {
        let fields = self.call(Op::Enroll).await?;
        fields
            .get("re_enrolled")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("enroll", "{\"re_enrolled\": bool}", &fields))
    }

    /// `is_enrolled`.
    pub async fn is_enrolled(&mut self) -> Result<bool, DrivenError> {
        let fields = self.call(Op::IsEnrolled).await?;
        fields
            .get("enrolled")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("is_enrolled", "{\"enrolled\": bool}", &fields))
    }

    /// `state`.
    pub async fn state(&mut self) -> Result<DriverState, DrivenError> {
        let fields = self.call(Op::State).await?;
        let device_id = fields.get("device_id").and_then(Value::as_str).and_then(protocol::wire::parse_id);
        let flag = |key: &str| fields.get(key).and_then(Value::as_bool);
        match (device_id, flag("authenticated"), flag("enrolled")) {
            (Some(device_id), Some(authenticated), Some(enrolled)) => {
                Ok(DriverState { device_id, authenticated, enrolled })
            }
            _ => Err(bad(
                "state",
                "{\"device_id\": a lowercase UUID, \"authenticated\": bool, \"enrolled\": bool}",
                &fields,
            )),
        }
    }

    /// `disenroll`.
    pub async fn disenroll(&mut self) -> Result<(), DrivenError> {
        self.call(Op::Disenroll).await.map(drop)
    }

    /// `handle_otp`: the request the driver shows (its `open_auth_otp`), or the SDK's refusal.
    /// The reply to `handle_otp` comes after the decision ([`DrivenDevice::decide`]).
    pub async fn handle_otp(&mut self, input: OtpInput) -> Result<Shown, DrivenError> {
        self.no_stray_event("handle_otp")?;
        if let OtpInput::Image(bytes) = &input {
            self.images.push(bytes.clone());
        }
        let op = input.into_op();
        let id = self.process.send(op).await?;
        let waiting_for = format!("waiting for open_auth_otp or the reply to handle_otp (id {id})");
        match self.process.event_or_reply(id, &waiting_for).await? {
            Arrival::Event(Event::OpenAuthOtp { transaction_id, message }) => {
                let shown = Shown { transaction_id, message };
                self.waiting = Some((id, shown.clone()));
                self.shown = Some(shown.clone());
                Ok(shown)
            }
            Arrival::Event(Event::CloseAuthOtp) => Err(DrivenError::BadReply {
                op: "handle_otp".into(),
                expected: "open_auth_otp or an error reply".into(),
                got: "close_auth_otp with no request showing".into(),
            }),
            Arrival::Reply(reply) => {
                let fields = outcome("handle_otp", reply)?;
                let expected = "open_auth_otp before a success reply (which waits for the decision)";
                Err(bad("handle_otp", expected, &fields))
            }
        }
    }

    /// `accept` or `deny`, then `handle_otp`'s reply: `accepted` or `denied`, or the SDK's
    /// refusal (a server refusal of the answer keeps the server's code). Without a request
    /// showing the driver answers 8053, which is the outcome then.
    pub async fn decide(&mut self, answer: Answer) -> Result<String, DrivenError> {
        let op = match answer {
            Answer::Accept => Op::Accept,
            Answer::Deny => Op::Deny,
        };
        let name = op.name();
        self.call(op).await?;
        let Some((id, _)) = self.waiting.take() else {
            return Err(DrivenError::BadReply {
                op: name.into(),
                expected: {
                    let code = protocol::error::ErrorCode::NotInProgressOtpAuthentication;
                    format!("error {} {} with no request showing", code.code(), code.type_name())
                },
                got: "{} (a decision taken)".into(),
            });
        };
        let reply = self
            .process
            .reply(Some(id), &format!("waiting for handle_otp's reply (id {id}) after {name}"))
            .await?;
        // Section 9: close_auth_otp comes after the decision's {} and before handle_otp's reply.
        match self.process.take_event() {
            Some(Event::CloseAuthOtp) => {}
            other => {
                return Err(DrivenError::BadReply {
                    op: "handle_otp".into(),
                    expected: "close_auth_otp before handle_otp's reply".into(),
                    got: match other {
                        Some(event) => format!("{event:?} first"),
                        None => "the reply with no close_auth_otp before it".into(),
                    },
                });
            }
        }
        let fields = outcome("handle_otp", reply)?;
        match fields.get("status").and_then(Value::as_str) {
            Some(status @ ("accepted" | "denied")) => Ok(status.to_string()),
            _ => Err(bad("handle_otp", "{\"status\": \"accepted\" | \"denied\"}", &fields)),
        }
    }

    /// Sends `op` and waits for its reply: its fields, or the refusal.
    async fn call(&mut self, op: Op) -> Result<Map<String, Value>, DrivenError> {
        let name = op.name();
        let reply = self.process.request(op).await?;
        outcome(name, reply)
    }

    /// An event nobody asked for (a close without an open, a second open) is a broken driver.
    fn no_stray_event(&mut self, before: &str) -> Result<(), DrivenError> {
        self.process.drain()?;
        match self.process.take_event() {
            None => Ok(()),
            Some(event) => Err(DrivenError::BadReply {
                op: before.into(),
                expected: "no event before it was sent".into(),
                got: format!("{event:?}"),
            }),
        }
    }
}

/// A reply as the fields of a success, or the refusal.
fn outcome(op: &str, reply: Reply) -> Result<Map<String, Value>, DrivenError> {
    match reply {
        Reply::Ok { fields, .. } => Ok(fields),
        Reply::Error { error_code, error_type, error_message, .. } => {
            Err(DrivenError::Refused(DriverRefusal {
                op: op.to_string(),
                code: error_code,
                error_type,
                message: error_message,
                refused_locally: false,
            }))
        }
        Reply::Unimplemented { .. } => Err(DrivenError::Unimplemented(op.to_string())),
    }
}

fn bad(op: &str, expected: &str, fields: &Map<String, Value>) -> DrivenError {
    DrivenError::BadReply {
        op: op.into(),
        expected: expected.into(),
        got: cut_to(&Value::Object(fields.clone()).to_string(), SHOWN),
    }
}
