//! The reference device driver: the simulated device behind the driver protocol (contract
//! sections 7 and 9), as `mobauth device-driver`. It shows SDK implementers what a conforming
//! driver does, and lets CI run the driver path of the suite end to end.
//!
//! Where sections 7 and 9 leave a driver a choice, [`Readings`] says which legal reading it
//! takes: [`Readings::default`] is the reference's own, [`Readings::alternative`] (`mobauth
//! device-driver --alternative-readings`) takes a different legal one at every such point, so
//! the suite can be shown to accept every reading and not only the reference's.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::driver::{Event, Line, Op, PROTOCOL_VERSION, Reply, Request};
use protocol::error::{ErrorCode, OAuthErrorKind};
use protocol::keys::KeyPair;
use protocol::rng::SeededRng;
use protocol::wire::{Answer, AnswerStatus, EnrollmentResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::device::{DeviceError, SimulatedDevice};
use crate::http::{Auth, Http, Payload, PeerError, Transcript};

/// How long the driver waits for the server on one call.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Which legal reading the driver takes at each point where contract sections 7 and 9 leave a
/// choice. Each field is `false` for the reference's own reading ([`Readings::default`]) and
/// `true` for the alternative ([`Readings::alternative`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Readings {
    /// `qr_png`. Default: the camera pipeline of [`protocol::qr::decode`] (clean-ups for noise,
    /// blur, inversion, low contrast ...), PNG or JPEG. Alternative: only clean images, one
    /// straight decode of a PNG (alpha composited over white, so transparent light modules are
    /// read); a JPEG, or an image the decoder reads only after a clean-up, is 10015 ("no image
    /// or no QR code in it").
    pub clean_qr_only: bool,
    /// `disenroll` answered 9021 by the server. Default: the device forgets its key.
    /// Alternative: it keeps it (the reply is 9021 either way).
    pub keep_key_when_disenroll_refused: bool,
    /// A failed `authenticate`. Default: the earlier session stays. Alternative: it ends.
    pub failed_login_ends_session: bool,
    /// `enroll` with no user logged in (and configured). Default: 9010 locally, no call.
    /// Alternative: the enrollment call goes to the server without a bearer token and the
    /// server's refusal (9010) passes through.
    pub enroll_asks_server_without_session: bool,
    /// `is_enrolled` and `state.enrolled` while no user is logged in. Default: false.
    /// Alternative: the last logged-in user's enrollment as the device knows it.
    pub signed_out_reports_last_user: bool,
    /// Token endpoint errors other than `invalid_grant` (9009) and `invalid_client` (10001).
    /// Default: 10000 `GENERAL_ERROR`. Alternative: 10001 `CONFIGURATION_ERROR`.
    pub other_token_errors_are_configuration: bool,
    /// Free texts. Default: `hello` names the reference driver, and each error says what went
    /// wrong. Alternative: another `name` and `version`, and every `error_message` replaced by
    /// another text (the original goes to stderr, the driver's log).
    pub alternative_texts: bool,
}

impl Readings {
    /// A different legal reading than the default at every point.
    pub fn alternative() -> Self {
        Self {
            clean_qr_only: true,
            keep_key_when_disenroll_refused: true,
            failed_login_ends_session: true,
            enroll_asks_server_without_session: true,
            signed_out_reports_last_user: true,
            other_token_errors_are_configuration: true,
            alternative_texts: true,
        }
    }
}

/// The decoding strategy of [`protocol::qr`] that applies no clean-up (its first).
const PLAIN_STRATEGY: &str = "plain";

/// The first bytes of every PNG file.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The driver's state: one app installation.
struct Driver {
    rng: SeededRng,
    device: SimulatedDevice,
    configured: bool,
    /// The id of the `handle_otp` whose request is showing.
    pending: Option<i64>,
    readings: Readings,
    /// The user of the last successful `authenticate` on this installation.
    last_user: Option<String>,
}

/// Where the driver writes lines.
struct Out<W> {
    writer: W,
    /// [`Readings::alternative_texts`].
    alternative_texts: bool,
}

impl<W: AsyncWrite + Unpin> Out<W> {
    async fn line(&mut self, line: Line) -> std::io::Result<()> {
        let line = match line {
            Line::Reply(Reply::Error { id, error_code, error_type, error_message })
                if self.alternative_texts =>
            {
                eprintln!("mobauth device-driver: error {error_code} {error_type}: {error_message}");
                let error_message = format!(
                    "the SDK could not do this (error {error_code}); the driver's log has the details"
                );
                Line::Reply(Reply::Error { id, error_code, error_type, error_message })
            }
            line => line,
        };
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
    run_with(input, output, seed, Readings::default()).await
}

/// [`run`], taking `readings` where the contract leaves a choice.
pub async fn run_with(
    input: impl AsyncBufRead + Unpin,
    output: impl AsyncWrite + Unpin,
    seed: u64,
    readings: Readings,
) -> std::io::Result<()> {
    let mut rng = protocol::rng::seeded(seed);
    let device = new_device(&mut rng, "http://unconfigured.invalid", "");
    let mut driver = Driver { rng, device, configured: false, pending: None, readings, last_user: None };
    let mut out = Out { writer: output, alternative_texts: readings.alternative_texts };
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
        let readings = self.readings;
        let reply = match request.op {
            Op::Hello if readings.alternative_texts => Reply::ok(
                id,
                json!({
                    "name": "mobauth reference driver (alternative readings)",
                    "version": concat!(env!("CARGO_PKG_VERSION"), "+alternative"),
                    "protocol": PROTOCOL_VERSION,
                }),
            ),
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
                    Ok(()) => {
                        self.last_user = Some(username);
                        Reply::ok(id, json!({}))
                    }
                    Err(e) => {
                        if readings.failed_login_ends_session {
                            self.device.log_out();
                        }
                        error_reply(id, &e, readings)
                    }
                },
            },
            Op::Logout => {
                self.device.log_out();
                Reply::ok(id, json!({}))
            }
            Op::Enroll => match self.ready_with_user() {
                Err((ErrorCode::UserNotAuthenticated, _)) if readings.enroll_asks_server_without_session => {
                    self.enroll_without_session(id).await
                }
                Err((code, why)) => Reply::error(Some(id), code, why),
                Ok(()) => match self.device.enroll().await {
                    Ok(response) => Reply::ok(id, json!({"re_enrolled": response.re_enrolled})),
                    Err(e) => error_reply(id, &e, readings),
                },
            },
            Op::IsEnrolled => Reply::ok(id, json!({"enrolled": self.knows_enrolled()})),
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
                Ok(()) => {
                    let known = self.device.enrollment().cloned();
                    match self.device.disenroll().await {
                        Ok(()) => Reply::ok(id, json!({})),
                        Err(e) => {
                            // The device forgot its key on the server's 9021; this reading keeps it.
                            if let Some(known) = known.filter(|_| readings.keep_key_when_disenroll_refused) {
                                self.device.restore_enrollment(known);
                            }
                            error_reply(id, &e, readings)
                        }
                    }
                }
            },
            Op::Reset => {
                self.cancel_showing(out).await?;
                // A new installation: new device id, no keys, no session; the configuration stays.
                let (url, app) = (self.device_http_base(), self.device_app_client());
                self.device = new_device(&mut self.rng, &url, &app);
                self.last_user = None;
                Reply::ok(id, json!({"device_id": self.device.device_id()}))
            }
            Op::State => Reply::ok(
                id,
                json!({
                    "device_id": self.device.device_id(),
                    "authenticated": self.device.user().is_some(),
                    "enrolled": self.knows_enrolled(),
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

    /// What `is_enrolled` and `state.enrolled` report: the logged-in user's enrollment as the
    /// device knows it; with nobody logged in, false or (an alternative reading) the last
    /// logged-in user's.
    fn knows_enrolled(&self) -> bool {
        match (self.device.user(), &self.last_user) {
            (Some(_), _) => self.device.enrollment().is_some(),
            (None, Some(last)) if self.readings.signed_out_reports_last_user => {
                self.device.enrollment_of(last).is_some()
            }
            (None, _) => false,
        }
    }

    /// `enroll` with nobody logged in, under [`Readings::enroll_asks_server_without_session`]:
    /// a new key pair and CSR as always, sent without a bearer token; the server's refusal
    /// passes through. The key is dropped whatever the answer: there is no user to keep it for.
    async fn enroll_without_session(&mut self, id: i64) -> Reply {
        let key = KeyPair::generate(&mut self.rng);
        let device_id = self.device.device_id();
        let csr = match protocol::csr::create_csr(&key, &device_id.to_string()) {
            Ok(csr) => csr,
            Err(e) => {
                return Reply::error(Some(id), ErrorCode::GeneralError, format!("cannot make a CSR: {e}"));
            }
        };
        let http = Http::new(self.device.server_url(), SERVER_TIMEOUT, self.device.transcript().clone());
        let body = json!({"device_id": device_id, "csr": csr});
        let answer = http
            .call::<EnrollmentResponse>(
                Method::POST,
                paths::ENROLLMENTS,
                Auth::None,
                Payload::Json(&body),
                &[200, 201],
            )
            .await;
        match answer {
            Ok(_) => Reply::error(
                Some(id),
                ErrorCode::GeneralError,
                "the server accepted an enrollment without an authenticated user",
            ),
            Err(e) => error_reply(id, &DeviceError::Peer(e), self.readings),
        }
    }

    /// Reads the OTP from a `qr_png` image: the camera pipeline, or under
    /// [`Readings::clean_qr_only`] only what one straight decode of a PNG reads.
    fn read_qr(&self, bytes: &[u8]) -> Result<String, String> {
        if !self.readings.clean_qr_only {
            return self.device.scan(bytes).map_err(|e| e.to_string());
        }
        self.device.transcript().record_image(bytes);
        if !bytes.starts_with(PNG_SIGNATURE) {
            return Err("qr_png is not a PNG image".into());
        }
        // protocol::qr offers no single-pass entry point, but its pipeline stops at the first
        // strategy that reads and tries the plain one (no clean-up) first: a read by any other
        // is exactly an image that one straight decode does not read.
        match protocol::qr::inspect(bytes) {
            Ok(info) if info.strategy == PLAIN_STRATEGY => Ok(info.payload),
            Ok(_) => {
                Err("no QR code that this device reads in the image (it reads only clean images)".into())
            }
            Err(e) => Err(format!("cannot read the QR code: {e}")),
        }
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
            OtpSource::Image(bytes) => match self.read_qr(&bytes) {
                Ok(otp) => otp,
                Err(why) => {
                    return out.reply(Reply::error(Some(id), ErrorCode::InvalidRequest, why)).await;
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
            Err(e) => out.reply(error_reply(id, &e, self.readings)).await,
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
        // DRV-008: an answer refused with 9021 or 9023 tells the device its enrollment is gone
        // (contract section 9: the state may be stale only until the device next talks to the
        // server, so no reading keeps it stale after that).
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
            Err(e) => error_reply(pending, &e, self.readings),
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
fn error_reply(id: i64, error: &DeviceError, readings: Readings) -> Reply {
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
            _ if readings.other_token_errors_are_configuration => (
                ErrorCode::ConfigurationError,
                format!("the token endpoint refused the app's request: {error}"),
            ),
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
