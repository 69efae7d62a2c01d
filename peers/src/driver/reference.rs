//! The reference device driver: the simulated device behind the driver protocol (contract
//! sections 7 and 9), as `mobauth device-driver`. It shows SDK implementers what a conforming
//! driver does, and lets CI run the driver path of the suite end to end.
//!
//! Where sections 7 and 9 leave a driver a choice, [`Readings`] says which legal reading it
//! takes: [`Readings::default`] is the reference's own, [`Readings::alternative`] (`mobauth
//! device-driver --alternative-readings`) takes a different legal one at every such point, so
//! the suite can be shown to accept every reading and not only the reference's.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use protocol::driver::{Event, Line, Op, PROTOCOL_VERSION, Reply, Request};
use protocol::error::{ErrorCode, OAuthErrorKind};
use protocol::keys::KeyPair;
use protocol::rng::SeededRng;
use protocol::wire::{Answer, AnswerResponse, AnswerStatus, EnrollmentResponse, paths};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::device::{DeviceError, SimulatedDevice};
use transcript::{Auth, Http, Payload, PeerError, Transcript};

/// How long the driver waits for the server on one call.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `configure`'s reachability probe waits ([`Readings::configure_probes_server`]).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which legal reading the driver takes at each point where contract sections 7 and 9 leave a
/// choice. Each field is `false` for the reference's own reading ([`Readings::default`]) and
/// `true` for the alternative ([`Readings::alternative`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Readings {
    /// `qr_png`. Default: the camera pipeline of [`qr::decode`] (clean-ups for noise,
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
    /// `configure` (DRV-004). Default: no call to the server. Alternative: a reachability probe,
    /// an unauthenticated `GET` of the server's base URL whose answer (any status, or none) is
    /// only logged; the reply is `{}` either way.
    pub configure_probes_server: bool,
    /// `authenticate` and `enroll` before any `configure` (DRV-005, DRV-006). Default: 10001
    /// `CONFIGURATION_ERROR`. Alternative: 9001 `SERVER_NOT_REACHABLE` (there is no server to
    /// reach), with no call either way. `handle_otp` gives 10001 in both: section 9 fixes it.
    pub unconfigured_is_unreachable: bool,
    /// What happens between a decision's `{}` and `handle_otp`'s reply (DRV-013). Default: the
    /// driver answers the server, writes `close_auth_otp` and the reply before it reads the next
    /// request. Alternative: the answer goes to the server in the background, and a `hello`,
    /// `state` or `is_enrolled` that arrives meanwhile is answered at once, before
    /// `close_auth_otp`; any other request first waits for the decision to land. Section 9's
    /// order of the decision's `{}`, the answer, `close_auth_otp` and the reply is kept.
    pub answers_in_background: bool,
    /// A `handle_otp` while an OTP is showing (DRV-017). Default: 8056 before any other check
    /// but the request's own shape (8009). Alternative: section 9's local checks (10001, 9010,
    /// 10015, 9021) come first, then 8056, still before any call to the server.
    pub local_checks_before_8056: bool,
    /// A `reset` while an OTP is showing (DRV-018). Default: `close_auth_otp`, `handle_otp`'s
    /// 9006, then the reset reply. Alternative: the reset reply first, then `close_auth_otp` and
    /// the 9006 (section 9 orders only those two).
    pub reset_reply_first: bool,
    /// A JSON object whose `id` is not an integer (DRV-019). Default: 8009 with `"id": null`.
    /// Alternative: 8009 with the `id` echoed as it was found (null when there was none).
    pub echo_malformed_id: bool,
    /// A 4xx whose body is not an error body of the device API or the token endpoint (DRV-020).
    /// Default: 10000 `GENERAL_ERROR`. Alternative: 10001 `CONFIGURATION_ERROR` (the server URL
    /// likely points at something that is not the Token Server).
    pub bare_4xx_is_configuration: bool,
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
            configure_probes_server: true,
            unconfigured_is_unreachable: true,
            answers_in_background: true,
            local_checks_before_8056: true,
            reset_reply_first: true,
            echo_malformed_id: true,
            bare_4xx_is_configuration: true,
        }
    }
}

/// The decoding strategy of [`qr`] that applies no clean-up (its first).
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
    /// A decision whose answer is on its way to the server
    /// ([`Readings::answers_in_background`]).
    in_flight: Option<InFlight>,
}

/// An answer call on its way to the server, owning all it needs.
type AnswerCall = Pin<Box<dyn Future<Output = Result<AnswerResponse, PeerError>> + Send>>;

/// The answer call of a decision taken, not yet landed.
struct InFlight {
    /// The id of the `handle_otp` it answers.
    pending: i64,
    answer: AnswerCall,
}

/// What the driver's loop got next.
enum Next {
    /// A line of input, or the end of it.
    Line(Option<String>),
    /// The server's answer to a decision in flight.
    Landed(Result<AnswerResponse, PeerError>),
}

/// Where the driver writes lines.
struct Out<W> {
    writer: W,
    /// [`Readings::alternative_texts`].
    alternative_texts: bool,
}

impl<W: AsyncWrite + Unpin> Out<W> {
    async fn line(&mut self, line: Line) -> std::io::Result<()> {
        let line = self.texts(line);
        self.write(line.to_line()).await
    }

    async fn write(&mut self, mut text: String) -> std::io::Result<()> {
        text.push('\n');
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.flush().await
    }

    /// The line with its free texts as [`Readings::alternative_texts`] has them.
    fn texts(&self, line: Line) -> Line {
        match line {
            Line::Reply(reply) => Line::Reply(self.reply_texts(reply)),
            event => event,
        }
    }

    fn reply_texts(&self, reply: Reply) -> Reply {
        match reply {
            Reply::Error { id, error_code, error_type, error_message } if self.alternative_texts => {
                eprintln!("mobauth device-driver: error {error_code} {error_type}: {error_message}");
                let error_message = format!(
                    "the SDK could not do this (error {error_code}); the driver's log has the details"
                );
                Reply::Error { id, error_code, error_type, error_message }
            }
            reply => reply,
        }
    }

    async fn reply(&mut self, reply: Reply) -> std::io::Result<()> {
        self.line(Line::Reply(reply)).await
    }

    /// An error reply whose `id` is echoed as the request had it, which [`Reply`] (an integer
    /// or null) cannot carry ([`Readings::echo_malformed_id`]).
    async fn error_with_raw_id(&mut self, id: Value, code: ErrorCode, message: &str) -> std::io::Result<()> {
        let mut line = self.reply_texts(Reply::error(None, code, message)).to_json();
        line["id"] = id;
        self.write(line.to_string()).await
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
    let mut driver =
        Driver { rng, device, configured: false, pending: None, readings, last_user: None, in_flight: None };
    let mut out = Out { writer: output, alternative_texts: readings.alternative_texts };
    let mut lines = input.lines();
    loop {
        // A decision in flight lands whenever the server answers, between two requests.
        let next = match driver.in_flight.as_mut() {
            Some(flight) => tokio::select! {
                landed = &mut flight.answer => Next::Landed(landed),
                line = lines.next_line() => Next::Line(line?),
            },
            None => Next::Line(lines.next_line().await?),
        };
        match next {
            Next::Landed(result) => driver.land(result, &mut out).await?,
            Next::Line(None) => break,
            Next::Line(Some(text)) if text.trim().is_empty() => {}
            Next::Line(Some(text)) => driver.handle_line(&text, &mut out).await?,
        }
    }
    driver.land_now(&mut out).await?;
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
                match value.get("id") {
                    Some(found) if id.is_none() && self.readings.echo_malformed_id => {
                        out.error_with_raw_id(found.clone(), ErrorCode::ParametersNotCorrect, message).await
                    }
                    _ => out.reply(Reply::error(id, ErrorCode::ParametersNotCorrect, message)).await,
                }
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
        if !matches!(request.op, Op::Hello | Op::State | Op::IsEnrolled) {
            // Only what reads the device goes past a decision in flight; the rest waits for it.
            self.land_now(out).await?;
        }
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
                if readings.configure_probes_server {
                    // Its own short timeout: a probe that hangs must not hold configure's reply
                    // past the harness's wait for it.
                    let probe = Http::new(&server_url, PROBE_TIMEOUT, Transcript::default());
                    match probe.send(Method::GET, "/", Auth::None, Payload::Empty).await {
                        Ok((status, _)) => eprintln!("mobauth device-driver: {server_url} answered {status}"),
                        Err(e) => eprintln!("mobauth device-driver: {server_url} is not reachable yet: {e}"),
                    }
                }
                self.device.reconfigure(http, &app_client_id);
                self.configured = true;
                Reply::ok(id, json!({}))
            }
            Op::Authenticate { username, password } => match self.ready() {
                Err(code) => self.unconfigured(id, code),
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
                Err((ErrorCode::ConfigurationError, _)) => {
                    self.unconfigured(id, ErrorCode::ConfigurationError)
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
                if !readings.reset_reply_first {
                    self.cancel_showing(out).await?;
                }
                let showing = self.pending.take();
                self.device.dismiss();
                // A new installation: new device id, no keys, no session; the configuration stays.
                let (url, app) = (self.device_http_base(), self.device_app_client());
                self.device = new_device(&mut self.rng, &url, &app);
                self.last_user = None;
                out.reply(Reply::ok(id, json!({"device_id": self.device.device_id()}))).await?;
                return write_cancel(showing, out).await;
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
        // qr offers no single-pass entry point, but its pipeline stops at the first
        // strategy that reads and tries the plain one (no clean-up) first: a read by any other
        // is exactly an image that one straight decode does not read.
        match qr::inspect(bytes) {
            Ok(info) if info.strategy == PLAIN_STRATEGY => Ok(info.payload),
            Ok(_) => {
                Err("no QR code that this device reads in the image (it reads only clean images)".into())
            }
            Err(e) => Err(format!("cannot read the QR code: {e}")),
        }
    }

    /// The reply of an `authenticate` or `enroll` before any `configure`:
    /// [`Readings::unconfigured_is_unreachable`].
    fn unconfigured(&self, id: i64, code: ErrorCode) -> Reply {
        if self.readings.unconfigured_is_unreachable {
            Reply::error(Some(id), ErrorCode::ServerNotReachable, "no server is configured to reach")
        } else {
            Reply::error(Some(id), code, "the driver is not configured")
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
        let already = "another mobile authentication request is showing";
        if self.pending.is_some() && !self.readings.local_checks_before_8056 {
            return out.reply(Reply::error(Some(id), ErrorCode::AlreadyInProgressMobileAuth, already)).await;
        }
        // The request's own shape first (8009), then section 9's local checks in order.
        let source = match (otp, qr_png) {
            (Some(otp), None) => OtpSource::Text(otp),
            (None, Some(png)) => match forge::b64::decode(&png) {
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
        if self.pending.is_some() {
            return out.reply(Reply::error(Some(id), ErrorCode::AlreadyInProgressMobileAuth, already)).await;
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
        if self.readings.answers_in_background
            && let Some(answer) = self.answer_call(answer)
        {
            self.in_flight = Some(InFlight { pending, answer });
            return Ok(());
        }
        let result = self.device.decide(answer).await;
        // DRV-008: an answer refused with 9021 or 9023 tells the device its enrollment is gone
        // (contract section 9: the state may be stale only until the device next talks to the
        // server, so no reading keeps it stale after that).
        if let Err(DeviceError::Peer(error)) = &result {
            self.device.forget_if_disenrolled(error);
        }
        out.event(Event::CloseAuthOtp).await?;
        let reply = match result {
            Ok(response) => Reply::ok(pending, json!({"status": status_name(response.status)})),
            Err(e) => error_reply(pending, &e, self.readings),
        };
        out.reply(reply).await
    }

    /// [`Readings::answers_in_background`]: the answer call of `answer` on the showing request,
    /// made from owned copies so that requests can be handled while it runs; the request is off
    /// the device's screen. `None` when the device cannot sign (no request or no key): the
    /// decision then goes the default way, which gives the error.
    fn answer_call(&mut self, answer: Answer) -> Option<AnswerCall> {
        let key = self.device.enrollment()?.key.clone();
        let token = self.device.access_token()?.to_string();
        let request = self.device.dismiss()?;
        let device_id = self.device.device_id();
        let tx = request.transaction_id;
        let signed = self.device.signed_answer(&key, tx, &request.challenge, answer);
        let body = json!({
            "device_id": device_id,
            "answer": answer.as_str(),
            "signature": signed.signature,
        });
        let http = Http::new(self.device.server_url(), SERVER_TIMEOUT, self.device.transcript().clone());
        let path = format!("{}/{tx}/answer", paths::OTP_REQUESTS);
        Some(Box::pin(async move {
            http.call::<AnswerResponse>(
                Method::POST,
                &path,
                Auth::Bearer(&token),
                Payload::Json(&body),
                &[200],
            )
            .await
            .map(|(_, response)| response)
        }))
    }

    /// Waits for a decision in flight, if any, and lands it.
    async fn land_now<W: AsyncWrite + Unpin>(&mut self, out: &mut Out<W>) -> std::io::Result<()> {
        if let Some(flight) = self.in_flight.as_mut() {
            let result = (&mut flight.answer).await;
            self.land(result, out).await?;
        }
        Ok(())
    }

    /// The server answered a decision in flight: as [`Driver::decide`] goes on after the answer.
    async fn land<W: AsyncWrite + Unpin>(
        &mut self,
        result: Result<AnswerResponse, PeerError>,
        out: &mut Out<W>,
    ) -> std::io::Result<()> {
        let Some(InFlight { pending, .. }) = self.in_flight.take() else { return Ok(()) };
        if let Err(error) = &result {
            self.device.forget_if_disenrolled(error);
        }
        out.event(Event::CloseAuthOtp).await?;
        let reply = match result {
            Ok(response) => Reply::ok(pending, json!({"status": status_name(response.status)})),
            Err(e) => error_reply(pending, &DeviceError::Peer(e), self.readings),
        };
        out.reply(reply).await
    }

    /// A showing request is cancelled: `close_auth_otp`, then 9006 for its `handle_otp`.
    async fn cancel_showing<W: AsyncWrite + Unpin>(&mut self, out: &mut Out<W>) -> std::io::Result<()> {
        let showing = self.pending.take();
        self.device.dismiss();
        write_cancel(showing, out).await
    }
}

/// The lines of a cancelled request, if one was showing: `close_auth_otp`, then 9006 for its
/// `handle_otp`.
async fn write_cancel<W: AsyncWrite + Unpin>(showing: Option<i64>, out: &mut Out<W>) -> std::io::Result<()> {
    if let Some(pending) = showing {
        out.event(Event::CloseAuthOtp).await?;
        out.reply(Reply::error(Some(pending), ErrorCode::ActionCanceled, "the request was cancelled"))
            .await?;
    }
    Ok(())
}

fn status_name(status: AnswerStatus) -> &'static str {
    match status {
        AnswerStatus::Accepted => "accepted",
        AnswerStatus::Denied => "denied",
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
        DeviceError::Peer(PeerError::Unexpected { status, .. })
            if readings.bare_4xx_is_configuration && (400..500).contains(status) =>
        {
            (
                ErrorCode::ConfigurationError,
                format!("the server URL does not lead to a Token Server: {error}"),
            )
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
