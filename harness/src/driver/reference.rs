//! The reference device driver: the simulated device behind the driver protocol (contract
//! sections 7 and 9), as `mobauth device-driver`. It shows SDK implementers what a conforming
//! driver does, and lets CI run the driver path of the suite end to end.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::driver::{Event, Line, Op, PROTOCOL_VERSION, Reply, Request};
use protocol::error::{ErrorCode, OAuthErrorKind};
use protocol::rng::SeededRng;
use protocol::wire::{Answer, AnswerStatus};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::device::{DeviceError, SimulatedDevice};
use crate::http::{Http, PeerError, Transcript};

/// How long the driver waits for the server on one call.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// The driver's state: one app installation.
struct Driver {
    rng: SeededRng,
    device: SimulatedDevice,
    configured: bool,
    /// The id of the `handle_otp` whose request is showing.
    pending: Option<i64>,
}

/// Where the driver writes lines.
struct Out<W> {
    writer: W,
}

impl<W: AsyncWrite + Unpin> Out<W> {
    async fn line(&mut self, line: Line) -> std::io::Result<()> {
        let mut text = line.to_line();
        text.push('\n');
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.flush().await
    }

    async fn reply(&mut self, reply: Reply) -> std::io::Result<()> {
        self.line(Line::Reply(reply)).await
    }

    async fn event(&mut self, event: Event) -> std::io::Result<()> {
        self.line(Line::Event(event)).await
    }
}

/// Runs the driver over `input` and `output` until the end of input; then exits cleanly.
pub async fn run(
    input: impl AsyncBufRead + Unpin,
    output: impl AsyncWrite + Unpin,
    seed: u64,
) -> std::io::Result<()> {
    let mut rng = protocol::rng::seeded(seed);
    let device = new_device(&mut rng, "http://unconfigured.invalid", "");
    let mut driver = Driver { rng, device, configured: false, pending: None };
    let mut out = Out { writer: output };
    let mut lines = input.lines();
    while let Some(text) = lines.next_line().await? {
        if text.trim().is_empty() {
            continue;
        }
        driver.handle_line(&text, &mut out).await?;
    }
    driver.cancel_showing(&mut out).await
}

fn new_device(rng: &mut SeededRng, server_url: &str, app_client_id: &str) -> SimulatedDevice {
    let seed = rand_core::Rng::next_u64(rng);
    let http = Http::new(server_url, SERVER_TIMEOUT, Transcript::default());
    SimulatedDevice::new("driver", http, app_client_id, protocol::rng::seeded(seed))
}

const KNOWN_OPS: &[&str] = &[
    "hello",
    "configure",
    "authenticate",
    "logout",
    "enroll",
    "is_enrolled",
    "handle_otp",
    "accept",
    "deny",
    "disenroll",
    "reset",
    "state",
];

impl Driver {
    async fn handle_line<W: AsyncWrite + Unpin>(
        &mut self,
        text: &str,
        out: &mut Out<W>,
    ) -> std::io::Result<()> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return out
                .reply(Reply::error(None, ErrorCode::ParametersNotCorrect, "the line is not JSON"))
                .await;
        };
        let id = value.get("id").and_then(Value::as_i64);
        let op = value.get("op").and_then(Value::as_str);
        match (id, op) {
            (Some(id), Some(op)) if !KNOWN_OPS.contains(&op) => {
                out.reply(Reply::Unimplemented { id: Some(id) }).await
            }
            (Some(_), Some(_)) => match serde_json::from_value::<Request>(value) {
                Ok(request) => self.handle(request, out).await,
                Err(e) => {
                    let message = format!("malformed request: {e}");
                    out.reply(Reply::error(id, ErrorCode::ParametersNotCorrect, message)).await
                }
            },
            _ => {
                let message = "a request needs an integer \"id\" and a string \"op\"";
                out.reply(Reply::error(id, ErrorCode::ParametersNotCorrect, message)).await
            }
        }
    }

    async fn handle<W: AsyncWrite + Unpin>(
        &mut self,
        request: Request,
        out: &mut Out<W>,
    ) -> std::io::Result<()> {
        let id = request.id;
        let reply = match request.op {
            Op::Hello => Reply::ok(
                id,
                json!({"name": "mobauth reference driver", "version": env!("CARGO_PKG_VERSION"), "protocol": PROTOCOL_VERSION}),
            ),
            Op::Configure { server_url, app_client_id } => {
                let http = Http::new(&server_url, SERVER_TIMEOUT, Transcript::default());
                self.device.reconfigure(http, &app_client_id);
                self.configured = true;
                Reply::ok(id, json!({}))
            }
            Op::Authenticate { username, password } => match self.ready() {
                Err(code) => Reply::error(Some(id), code, "the driver is not configured"),
                Ok(()) => match self.device.log_in(&username, &password).await {
                    Ok(()) => Reply::ok(id, json!({})),
                    Err(e) => error_reply(id, &e),
                },
            },
            Op::Logout => {
                self.device.log_out();
                Reply::ok(id, json!({}))
            }
            Op::Enroll => match self.ready_with_user() {
                Err((code, why)) => Reply::error(Some(id), code, why),
                Ok(()) => match self.device.enroll().await {
                    Ok(response) => Reply::ok(id, json!({"re_enrolled": response.re_enrolled})),
                    Err(e) => error_reply(id, &e),
                },
            },
            Op::IsEnrolled => Reply::ok(id, json!({"enrolled": self.device.enrollment().is_some()})),
            Op::HandleOtp { otp, qr_png } => return self.handle_otp(id, otp, qr_png, out).await,
            Op::Accept => return self.decide(id, Answer::Accept, out).await,
            Op::Deny => return self.decide(id, Answer::Deny, out).await,
            Op::Disenroll => match self.ready_with_user() {
                Err((code, why)) => Reply::error(Some(id), code, why),
                Ok(()) if self.device.enrollment().is_none() => Reply::error(
                    Some(id),
                    ErrorCode::MobileAuthenticationNotEnrolled,
                    "this device is not enrolled",
                ),
                Ok(()) => match self.device.disenroll().await {
                    Ok(()) => Reply::ok(id, json!({})),
                    Err(e) => error_reply(id, &e),
                },
            },
            Op::Reset => {
                self.cancel_showing(out).await?;
                // A new installation: new device id, no keys, no session; the configuration stays.
                let (url, app) = (self.device_http_base(), self.device_app_client());
                self.device = new_device(&mut self.rng, &url, &app);
                Reply::ok(id, json!({"device_id": self.device.device_id()}))
            }
            Op::State => Reply::ok(
                id,
                json!({
                    "device_id": self.device.device_id(),
                    "authenticated": self.device.user().is_some(),
                    "enrolled": self.device.enrollment().is_some(),
                }),
            ),
        };
        out.reply(reply).await
    }

    fn device_http_base(&self) -> String {
        self.device.server_url().to_string()
    }

    fn device_app_client(&self) -> String {
        self.device.app_client_id().to_string()
    }

    fn ready(&self) -> Result<(), ErrorCode> {
        if self.configured { Ok(()) } else { Err(ErrorCode::ConfigurationError) }
    }

    fn ready_with_user(&self) -> Result<(), (ErrorCode, &'static str)> {
        self.ready().map_err(|code| (code, "the driver is not configured"))?;
        if self.device.user().is_none() {
            return Err((ErrorCode::UserNotAuthenticated, "no user is authenticated"));
        }
        Ok(())
    }

    /// Section 9: local checks first (10001, 9010, 10015, 9021), then the server; the reply waits
    /// for the user's decision.
    async fn handle_otp<W: AsyncWrite + Unpin>(
        &mut self,
        id: i64,
        otp: Option<String>,
        qr_png: Option<String>,
        out: &mut Out<W>,
    ) -> std::io::Result<()> {
        if self.pending.is_some() {
            let why = "another mobile authentication request is showing";
            return out.reply(Reply::error(Some(id), ErrorCode::AlreadyInProgressMobileAuth, why)).await;
        }
        // The request's own shape first (8009), then section 9's local checks in order.
        let source = match (otp, qr_png) {
            (Some(otp), None) => OtpSource::Text(otp),
            (None, Some(png)) => match STANDARD.decode(png.as_bytes()) {
                Ok(bytes) => OtpSource::Image(bytes),
                Err(_) => {
                    let why = "qr_png is not base64";
                    return out.reply(Reply::error(Some(id), ErrorCode::ParametersNotCorrect, why)).await;
                }
            },
            _ => {
                let why = "give exactly one of otp and qr_png";
                return out.reply(Reply::error(Some(id), ErrorCode::ParametersNotCorrect, why)).await;
            }
        };
        if let Err((code, why)) = self.ready_with_user() {
            return out.reply(Reply::error(Some(id), code, why)).await;
        }
        let otp = match source {
            OtpSource::Text(otp) => otp,
            OtpSource::Image(bytes) => match self.device.scan(&bytes) {
                Ok(otp) => otp,
                Err(e) => {
                    return out.reply(Reply::error(Some(id), ErrorCode::InvalidRequest, e.to_string())).await;
                }
            },
        };
        if let Err(e) = crate::device::check_otp_locally(&otp) {
            return out.reply(Reply::error(Some(id), ErrorCode::InvalidRequest, e.to_string())).await;
        }
        if self.device.enrollment().is_none() {
            let why = "this device is not enrolled for the logged-in user";
            return out.reply(Reply::error(Some(id), ErrorCode::MobileAuthenticationNotEnrolled, why)).await;
        }
        match self.device.handle_otp(&otp).await {
            Ok(request) => {
                self.pending = Some(id);
                out.event(Event::OpenAuthOtp {
                    transaction_id: request.transaction_id.to_string(),
                    message: request.message,
                })
                .await
            }
            Err(e) => out.reply(error_reply(id, &e)).await,
        }
    }

    /// Section 9: the decision's `{}` first, then the answer to the server, then
    /// `close_auth_otp`, then `handle_otp`'s reply.
    async fn decide<W: AsyncWrite + Unpin>(
        &mut self,
        id: i64,
        answer: Answer,
        out: &mut Out<W>,
    ) -> std::io::Result<()> {
        let Some(pending) = self.pending.take() else {
            let why = "no mobile authentication request is showing";
            return out.reply(Reply::error(Some(id), ErrorCode::NotInProgressOtpAuthentication, why)).await;
        };
        out.reply(Reply::ok(id, json!({}))).await?;
        let result = self.device.decide(answer).await;
        // DRV-008: an answer refused with 9021 or 9023 tells the device its enrollment is gone.
        if let Err(DeviceError::Peer(error)) = &result {
            self.device.forget_if_disenrolled(error);
        }
        out.event(Event::CloseAuthOtp).await?;
        let reply = match result {
            Ok(response) => {
                let status = match response.status {
                    AnswerStatus::Accepted => "accepted",
                    AnswerStatus::Denied => "denied",
                };
                Reply::ok(pending, json!({"status": status}))
            }
            Err(e) => error_reply(pending, &e),
        };
        out.reply(reply).await
    }

    /// A showing request is cancelled: `close_auth_otp`, then 9006 for its `handle_otp`.
    async fn cancel_showing<W: AsyncWrite + Unpin>(&mut self, out: &mut Out<W>) -> std::io::Result<()> {
        if let Some(pending) = self.pending.take() {
            self.device.dismiss();
            out.event(Event::CloseAuthOtp).await?;
            out.reply(Reply::error(Some(pending), ErrorCode::ActionCanceled, "the request was cancelled"))
                .await?;
        }
        Ok(())
    }
}

/// Where `handle_otp`'s OTP comes from.
enum OtpSource {
    Text(String),
    Image(Vec<u8>),
}

/// Section 9's mapping of what went wrong to a driver error.
fn error_reply(id: i64, error: &DeviceError) -> Reply {
    let (code, message) = match error {
        DeviceError::Peer(PeerError::Refused { status, body }) if (400..500).contains(status) => {
            return Reply::Error {
                id: Some(id),
                error_code: body.error_code,
                error_type: body.error_type.clone(),
                error_message: body.error_message.clone(),
            };
        }
        DeviceError::Peer(PeerError::OAuthRefused { body, .. }) => match body.error {
            OAuthErrorKind::InvalidGrant => (ErrorCode::InvalidPin, "wrong username or password".to_string()),
            OAuthErrorKind::InvalidClient => {
                (ErrorCode::ConfigurationError, "the server does not know the app client".to_string())
            }
            _ => (ErrorCode::GeneralError, error.to_string()),
        },
        DeviceError::Peer(PeerError::Unreachable { .. }) => {
            (ErrorCode::ServerNotReachable, error.to_string())
        }
        DeviceError::Peer(_) => (ErrorCode::GeneralError, error.to_string()),
        DeviceError::NotAuthenticated => (ErrorCode::UserNotAuthenticated, error.to_string()),
        DeviceError::NotEnrolled => (ErrorCode::MobileAuthenticationNotEnrolled, error.to_string()),
        DeviceError::NothingShowing => (ErrorCode::NotInProgressOtpAuthentication, error.to_string()),
        DeviceError::Qr(_) => (ErrorCode::InvalidRequest, error.to_string()),
        _ => (ErrorCode::GeneralError, error.to_string()),
    };
    Reply::error(Some(id), code, message)
}
