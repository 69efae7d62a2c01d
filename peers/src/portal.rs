//! A simulated portal: the relying party that starts OTP transactions, shows the OTP as a QR
//! code, receives the server's callbacks on a listener of its own and reads the outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use protocol::wire::{
    AuthenticateUserResponse, CallbackBody, EnabledMethod, TransactionStatusResponse, paths,
};
use qr::{self, RenderOptions};
use reqwest::Method;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, watch};

use transcript::{Auth, Http, Payload, PeerError};

/// A started OTP transaction as the portal holds it.
#[derive(Debug, Clone)]
pub struct StartedOtp {
    /// The server's answer.
    pub response: AuthenticateUserResponse,
    /// The QR code the portal shows, PNG.
    pub qr_png: Vec<u8>,
}

impl StartedOtp {
    /// The QR code as the reference portal renders it for web pages: SVG, with the same options
    /// as the PNG.
    pub fn qr_svg(&self) -> Result<String, qr::QrError> {
        qr::render_svg(&self.response.otp, &RenderOptions::default())
    }
}

/// Where a portal's callback receiver listens, and the host the server is told to call back on:
/// 127.0.0.1 for a server on this machine; for a server elsewhere (a container, another host) an
/// address it can reach (a target file's `[portal]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackListen {
    /// The address the receiver binds (port 0: any free port).
    pub bind: std::net::IpAddr,
    /// The host name or address in callback URIs; the bound address when `None`.
    pub host: Option<String>,
}

impl Default for CallbackListen {
    fn default() -> Self {
        Self { bind: std::net::Ipv4Addr::LOCALHOST.into(), host: None }
    }
}

impl CallbackListen {
    /// Binds the receiver's socket and returns it with the base URL callbacks use.
    async fn bind(&self) -> std::io::Result<(tokio::net::TcpListener, String)> {
        let listener = tokio::net::TcpListener::bind((self.bind, 0)).await?;
        let addr = listener.local_addr()?;
        let base = match &self.host {
            Some(host) => format!("http://{host}:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        Ok((listener, base))
    }
}

/// A relying party with its API client credentials and a callback listener.
#[derive(Debug)]
pub struct SimulatedPortal {
    http: Http,
    client_id: String,
    client_secret: String,
    /// `http://host:port` of the callback listener, as the server is told it.
    callback_base: String,
    callbacks: Mutex<mpsc::UnboundedReceiver<CallbackBody>>,
    listener: tokio::task::JoinHandle<()>,
    /// The delivery attempts a scripted receiver saw (see [`SimulatedPortal::start_with_script`]).
    scripted: Option<Scripted>,
}

impl Drop for SimulatedPortal {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl SimulatedPortal {
    /// A portal using `client_id`/`client_secret`, its callback listener as `listen` says.
    pub async fn start(
        http: Http,
        client_id: &str,
        client_secret: &str,
        listen: &CallbackListen,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route("/callback", post(receive)).with_state(Arc::new(tx));
        let (listener, callback_base) = listen.bind().await?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "portal callback listener stopped");
            }
        });
        Ok(Self {
            http,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callback_base,
            callbacks: Mutex::new(rx),
            listener: task,
            scripted: None,
        })
    }

    /// The portal's callback URL.
    pub fn callback_uri(&self) -> String {
        format!("{}/callback", self.callback_base)
    }

    fn auth(&self) -> Auth<'_> {
        Auth::Basic(&self.client_id, &self.client_secret)
    }

    /// Starts an OTP transaction with the given form fields and renders its QR code.
    pub async fn start_otp(&self, fields: &[(&str, &str)]) -> Result<StartedOtp, PeerError> {
        let response = self.authenticate_user(fields).await?;
        let qr_png =
            qr::render_png(&response.otp, &RenderOptions::default()).map_err(|e| PeerError::Unexpected {
                status: 200,
                expected: "an OTP that fits in a QR code".into(),
                body: e.to_string(),
            })?;
        Ok(StartedOtp { response, qr_png })
    }

    /// Starts an OTP transaction with the given form fields, without rendering its QR code (a
    /// load run hands the OTP to the device as it came).
    pub async fn authenticate_user(
        &self,
        fields: &[(&str, &str)],
    ) -> Result<AuthenticateUserResponse, PeerError> {
        let (_, response) = self
            .http
            .call(Method::POST, paths::AUTHENTICATE_USER, self.auth(), Payload::Form(fields), &[200])
            .await?;
        Ok(response)
    }

    /// Reads a transaction's status.
    pub async fn transaction(&self, transaction_id: &str) -> Result<TransactionStatusResponse, PeerError> {
        let path = format!("{}/{transaction_id}", paths::TRANSACTION);
        let (_, status) = self.http.call(Method::GET, &path, self.auth(), Payload::Empty, &[200]).await?;
        Ok(status)
    }

    /// Waits for the next callback, up to `timeout` (a bound on a wait for an event, not a sleep).
    pub async fn next_callback(&self, timeout: std::time::Duration) -> Option<CallbackBody> {
        let mut rx = self.callbacks.lock().await;
        tokio::time::timeout(timeout, rx.recv()).await.ok().flatten()
    }
}

async fn receive(
    State(tx): State<Arc<mpsc::UnboundedSender<CallbackBody>>>,
    axum::Json(body): axum::Json<CallbackBody>,
) -> StatusCode {
    // The receiver lives as long as the portal; after that nobody waits for callbacks.
    let _ = tx.send(body);
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------- scripted callback receiver

/// How a scripted callback receiver answers one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackReply {
    /// Answer this status with an empty body.
    Status(u16),
    /// Answer this redirect status (302, 307 ...) with a `Location` on the receiver's own
    /// [`REDIRECT_PATH`].
    Redirect(u16),
    /// Close the connection without answering.
    Drop,
    /// Never answer: keep the connection open until the server gives up on the attempt.
    Hang,
    /// Keep the attempt open until [`SimulatedPortal::release_held`] names the status to answer.
    Hold,
}

/// Where a [`CallbackReply::Redirect`] points, on the receiver itself.
pub const REDIRECT_PATH: &str = "/redirected";

/// One request a scripted receiver got.
#[derive(Debug, Clone)]
pub struct CallbackAttempt {
    /// The request method.
    pub method: String,
    /// The request target (path and query) as sent.
    pub target: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
    /// How the receiver answers it.
    pub reply: CallbackReply,
}

impl CallbackAttempt {
    /// The body as a callback body, if it is one.
    pub fn callback(&self) -> Option<CallbackBody> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The parts of a portal that only a scripted receiver has.
#[derive(Debug)]
struct Scripted {
    attempts: Mutex<mpsc::UnboundedReceiver<CallbackAttempt>>,
    release: watch::Sender<Option<u16>>,
}

/// What every connection of a scripted receiver shares.
#[derive(Debug)]
struct ScriptState {
    script: Vec<CallbackReply>,
    next: AtomicUsize,
    /// `http://host:port` of the receiver, for redirects to itself.
    base: String,
    attempts: mpsc::UnboundedSender<CallbackAttempt>,
    callbacks: mpsc::UnboundedSender<CallbackBody>,
    release: watch::Receiver<Option<u16>>,
}

impl ScriptState {
    /// The reply to the next callback attempt: the script's entry, its last entry once it ran
    /// out, and 204 for an empty script.
    fn next_reply(&self) -> CallbackReply {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        self.script.get(n).or(self.script.last()).copied().unwrap_or(CallbackReply::Status(204))
    }
}

impl SimulatedPortal {
    /// A portal whose callback receiver answers attempt N with `script[N]` (the last entry once
    /// the script runs out, 204 for an empty script) and records every attempt it sees, also
    /// the ones it fails on purpose. Successful deliveries (2xx) also reach
    /// [`SimulatedPortal::next_callback`].
    ///
    /// The receiver speaks plain HTTP/1.1 on a socket of its own, so it can also close a
    /// connection without answering or keep it open.
    pub async fn start_with_script(
        http: Http,
        client_id: &str,
        client_secret: &str,
        script: Vec<CallbackReply>,
        listen: &CallbackListen,
    ) -> std::io::Result<Self> {
        let (listener, callback_base) = listen.bind().await?;
        let (callback_tx, callback_rx) = mpsc::unbounded_channel();
        let (attempt_tx, attempt_rx) = mpsc::unbounded_channel();
        let (release_tx, release_rx) = watch::channel(None);
        let state = Arc::new(ScriptState {
            script,
            next: AtomicUsize::new(0),
            base: callback_base.clone(),
            attempts: attempt_tx,
            callbacks: callback_tx,
            release: release_rx,
        });
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve_attempt(stream, state.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "scripted callback receiver stopped");
                        break;
                    }
                }
            }
        });
        Ok(Self {
            http,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callback_base,
            callbacks: Mutex::new(callback_rx),
            listener: task,
            scripted: Some(Scripted { attempts: Mutex::new(attempt_rx), release: release_tx }),
        })
    }

    /// The next request the scripted receiver saw, waiting up to `timeout` (a bound on a wait
    /// for an event, not a sleep); `None` when none came or the receiver is not scripted.
    pub async fn next_attempt(&self, timeout: std::time::Duration) -> Option<CallbackAttempt> {
        let scripted = self.scripted.as_ref()?;
        let mut rx = scripted.attempts.lock().await;
        tokio::time::timeout(timeout, rx.recv()).await.ok().flatten()
    }

    /// Whether the callback receiver is a scripted one.
    pub fn is_scripted(&self) -> bool {
        self.scripted.is_some()
    }

    /// Lets every attempt held by [`CallbackReply::Hold`] go with `status`; false when the
    /// receiver is not scripted.
    pub fn release_held(&self, status: u16) -> bool {
        match &self.scripted {
            Some(scripted) => scripted.release.send(Some(status)).is_ok(),
            None => false,
        }
    }

    /// A URL on the portal's own callback listener with this path and query (`/callback?x=1`).
    pub fn callback_uri_with(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.callback_base)
    }

    /// The portal's `(client_id, client_secret)`.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    /// The HTTP client the portal calls the server with.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// `GET /oauth/api/v4/authenticate/user/{user_id}/enabled`, with `user_id` percent-encoded
    /// (every byte but ASCII letters, digits and `-._~`).
    pub async fn enabled(&self, user_id: &str) -> Result<Vec<EnabledMethod>, PeerError> {
        const SEGMENT: &percent_encoding::AsciiSet =
            &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
        let encoded = percent_encoding::utf8_percent_encode(user_id, SEGMENT);
        let path = format!("{}/{encoded}/enabled", paths::AUTHENTICATE_USER);
        let (_, methods) = self.http.call(Method::GET, &path, self.auth(), Payload::Empty, &[200]).await?;
        Ok(methods)
    }

    /// Sends a request with exactly this `Authorization` header, `Content-Type` and body bytes,
    /// for what a well-behaved portal never sends (Basic credentials encoded by hand, bodies that
    /// are not UTF-8). The exchange is in the scenario's transcript like every other.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, String), PeerError> {
        let mut request = transcript::RawRequest::new(method.as_str(), path).body(body);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let exchange = self.http.send_raw(&request).await;
        match exchange.outcome {
            Ok(response) => Ok((response.status, String::from_utf8_lossy(&response.body).into_owned())),
            Err(failure) => Err(PeerError::Unreachable {
                url: format!("{}{path}", self.http.base()),
                reason: failure.to_string(),
            }),
        }
    }
}

/// A request as the scripted receiver read it.
struct RawRequest {
    method: String,
    target: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Largest request head and body the scripted receiver reads.
const RAW_LIMIT: usize = 256 * 1024;

/// How long the scripted receiver waits for a delivery attempt's request to come whole.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve_attempt(mut stream: TcpStream, state: Arc<ScriptState>) {
    let Ok(Some(request)) = tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await else {
        return;
    };
    let redirected = request.target.split('?').next() == Some(REDIRECT_PATH);
    let reply = if redirected { CallbackReply::Status(204) } else { state.next_reply() };
    let attempt = CallbackAttempt {
        method: request.method,
        target: request.target,
        content_type: request.content_type,
        body: request.body,
        reply,
    };
    let delivered = |attempt: &CallbackAttempt, status: u16| {
        if (200..300).contains(&status)
            && !redirected
            && let Some(body) = attempt.callback()
        {
            // The receivers live as long as the portal; after that nobody waits.
            let _ = state.callbacks.send(body);
        }
    };
    match reply {
        CallbackReply::Status(status) => {
            write_reply(&mut stream, status, None).await;
            let _ = state.attempts.send(attempt.clone());
            delivered(&attempt, status);
        }
        CallbackReply::Redirect(status) => {
            let location = format!("{}{REDIRECT_PATH}", state.base);
            write_reply(&mut stream, status, Some(&location)).await;
            let _ = state.attempts.send(attempt);
        }
        CallbackReply::Drop => {
            drop(stream);
            let _ = state.attempts.send(attempt);
        }
        CallbackReply::Hang => {
            let _ = state.attempts.send(attempt);
            wait_closed(&mut stream).await;
        }
        CallbackReply::Hold => {
            let _ = state.attempts.send(attempt.clone());
            let mut release = state.release.clone();
            let (reader, mut writer) = stream.split();
            let status = tokio::select! {
                released = release.wait_for(Option::is_some) => released.ok().and_then(|s| *s),
                () = wait_closed(reader) => None,
            };
            if let Some(status) = status {
                write_reply(&mut writer, status, None).await;
                delivered(&attempt, status);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes into `buf`; false at the end of input, on an error or past the limit.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            buf.len() <= RAW_LIMIT
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        if !read_more(stream, &mut buf).await {
            return None;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let (mut length, mut chunked, mut content_type) = (0usize, false, None);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "content-type" => content_type = Some(value.to_string()),
            _ => {}
        }
    }
    let mut rest = buf.split_off(head_end + 4);
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(end) = find(&rest, b"\r\n") {
                    break end;
                }
                if !read_more(stream, &mut rest).await {
                    return None;
                }
            };
            let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                break body;
            }
            // A peer's chunk size: the body's whole stays within the limit, and no sum overflows.
            if body.len().saturating_add(size) > RAW_LIMIT {
                return None;
            }
            while rest.len() < line_end + 2 + size + 2 {
                if !read_more(stream, &mut rest).await {
                    return None;
                }
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
        }
    } else {
        while rest.len() < length {
            if !read_more(stream, &mut rest).await {
                return None;
            }
        }
        rest.truncate(length);
        rest
    };
    Some(RawRequest { method, target, content_type, body })
}

async fn write_reply(stream: &mut (impl AsyncWrite + Unpin), status: u16, location: Option<&str>) {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Scripted");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n");
    if let Some(location) = location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    // A peer that gave up already is what a failing attempt looks like; nothing to report here.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Waits until the peer closes the connection (or it breaks), reading and dropping anything sent.
async fn wait_closed(mut stream: impl AsyncRead + Unpin) {
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}
