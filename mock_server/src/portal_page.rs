//! The portal page: a relying party in a browser, for demonstrations of the mock Token Server.
//!
//! `GET /` shows a form (the API client's credentials, the OTP type, the message, the callback
//! URL); submitting it (a plain HTML form POST to [`START`]) starts an OTP transaction through the
//! server's own relying-party operation ([`TokenServer::authenticate_user`], so every rule of the
//! contract applies: a wrong secret is 401, a long message 400 1005) and answers a page with the
//! QR code exactly as the reference portal renders it (`qr::render_png` with the default options,
//! inline as a `data:` URI, so the page needs nothing from elsewhere), the OTP, the transaction id
//! and its status. The status changes live: a small script (served by the page itself, no
//! framework) polls [`status_path`], and without scripts a `<noscript>` frame reloads itself. The
//! transaction's callback URL defaults to the page's own [`CALLBACK`], which shows that the
//! server called the portal back.
//!
//! The HTML and JSON are pure functions of plain views; the handlers only call the server and
//! fill the views. Everything put into HTML goes through [`escape`] (`protocol::markup`).
//!
//! [`TokenServer::authenticate_user`]: crate::core::TokenServer::authenticate_user

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::markup::escape;
use protocol::wire::{AuthenticateUserForm, TransactionStatus, TransactionStatusResponse};
use uuid::Uuid;

use crate::core::ApiError;
use crate::http::{BODY_LIMIT, Shared};

/// Where the form posts to start a transaction.
pub const START: &str = "/portal/otp";
/// Where the page's callback URL points: the server calls the page back here.
pub const CALLBACK: &str = "/portal/callback";
/// The page's status script.
pub const SCRIPT: &str = "/portal/status.js";
/// How many transactions the page keeps watching; the oldest is forgotten first, so a long demo
/// holds bounded memory.
pub const WATCHED: usize = 256;
/// The API client the form starts with: the one every fixture of `fixtures/servers/` defines.
pub const FIXTURE_CLIENT: (&str, &str) = ("portal", "portal-secret");
/// The message the form starts with.
pub const DEFAULT_MESSAGE: &str = "Log in to the portal?";

/// The JSON status of a transaction the page started.
pub fn status_path(transaction_id: Uuid) -> String {
    format!("{START}/{transaction_id}/status")
}

/// The self-reloading status frame of a transaction, for browsers without scripts.
pub fn frame_path(transaction_id: Uuid) -> String {
    format!("{START}/{transaction_id}/frame")
}

// ------------------------------------------------------------------------------------ pure views

/// What the form shows: its values, the server's OTP types and, after a refusal, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormView {
    /// The API client's id.
    pub client_id: String,
    /// The API client's secret.
    pub client_secret: String,
    /// The OTP types to choose from, `(name, time to live in seconds)`.
    pub types: Vec<(String, u64)>,
    /// The chosen type.
    pub otp_type: String,
    /// The message the user is asked to confirm.
    pub message: String,
    /// Where the server reports the outcome.
    pub callback_uri: String,
    /// Why the server refused the last submission.
    pub error: Option<String>,
}

/// What the page of a started transaction shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedView {
    /// The transaction.
    pub transaction_id: Uuid,
    /// The OTP the QR code holds.
    pub otp: String,
    /// The QR code as the reference portal renders it (PNG).
    pub qr_png: Vec<u8>,
    /// The message as submitted (or the type's default, when empty).
    pub message: String,
    /// The time to live, milliseconds.
    pub time_to_live_ms: u64,
}

/// A transaction's status as the page reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusView {
    /// The transaction.
    pub transaction_id: Uuid,
    /// `pending`, `accepted`, `denied`, `expired`, or `unknown` when the server no longer knows
    /// it (or no longer takes the page's client).
    pub status: String,
    /// The user whose device answered.
    pub user_id: Option<String>,
    /// Whether the server's callback reached the page.
    pub callback_received: bool,
    /// Why the status could not be read.
    pub error: Option<String>,
}

impl StatusView {
    /// Whether the status can still change (the page keeps polling).
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2329;max-width:48rem}\
label{display:block;margin:.5rem 0}input,select{font:inherit;width:100%;box-sizing:border-box;padding:.3rem}\
button{font:inherit;padding:.4rem 1rem;margin-top:.5rem}.error{background:#ffebe9;color:#82071e;padding:.5rem 1rem;border-radius:6px}\
img.qr{image-rendering:pixelated;border:1px solid #d0d7de}code{word-break:break-all}\
#status{padding:0 .4rem;border-radius:4px}.s-pending{background:#fff8c5}.s-accepted{background:#dafbe1}\
.s-denied,.s-expired,.s-unknown{background:#ffebe9}iframe{border:0;width:100%;height:6rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// `GET /`: the form that starts an OTP transaction.
pub fn form_page(view: &FormView) -> String {
    let mut body = String::from("<h1>mobauth mock portal</h1>\n");
    body.push_str(
        "<p>Starts an OTP transaction on this mock Token Server as a relying party would \
         (<code>POST /oauth/api/v4/authenticate/user</code>) and shows its QR code for a device to scan.</p>\n",
    );
    if let Some(error) = &view.error {
        let _ = writeln!(body, "<p class=\"error\" id=\"error\">{}</p>", escape(error));
    }
    let _ = write!(body, "<form method=\"post\" action=\"{}\">", escape(START));
    let field = |body: &mut String, label: &str, name: &str, kind: &str, value: &str| {
        let _ = write!(
            body,
            "<label>{} <input type=\"{kind}\" name=\"{name}\" id=\"{name}\" value=\"{}\"></label>",
            escape(label),
            escape(value)
        );
    };
    field(&mut body, "API client id", "client_id", "text", &view.client_id);
    field(&mut body, "API client secret", "client_secret", "password", &view.client_secret);
    body.push_str("<label>OTP type <select name=\"type\" id=\"type\">");
    for (name, ttl_s) in &view.types {
        let selected = if *name == view.otp_type { " selected" } else { "" };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{} (time to live {ttl_s} s)</option>",
            escape(name),
            escape(name)
        );
    }
    body.push_str("</select></label>");
    field(&mut body, "Message", "message", "text", &view.message);
    field(&mut body, "Callback URL", "callback_uri", "text", &view.callback_uri);
    body.push_str("<button type=\"submit\" id=\"start\">Start OTP</button></form>\n");
    page("mobauth mock portal", &body)
}

/// The page of a started transaction: its QR code, OTP, id and live status.
pub fn started_page(view: &StartedView) -> String {
    let mut body = String::from("<h1>Scan to confirm</h1>\n");
    let _ = writeln!(body, "<p id=\"message\">{}</p>", escape(&view.message));
    let _ = writeln!(
        body,
        "<p><img class=\"qr\" id=\"qr\" alt=\"QR code of the OTP\" src=\"data:image/png;base64,{}\"></p>",
        STANDARD.encode(&view.qr_png)
    );
    let _ = writeln!(
        body,
        "<p>Status: <strong id=\"status\" class=\"s-pending\" data-poll=\"{}\">pending</strong> \
         <span id=\"answered-by\"></span> <span id=\"callback\"></span></p>",
        escape(&status_path(view.transaction_id))
    );
    let _ = writeln!(
        body,
        "<noscript><iframe title=\"status\" src=\"{}\"></iframe></noscript>",
        escape(&frame_path(view.transaction_id))
    );
    let _ = writeln!(
        body,
        "<table><tr><th>Transaction</th><td><code id=\"transaction-id\">{}</code></td></tr>\
         <tr><th>OTP</th><td><code id=\"otp\">{}</code></td></tr>\
         <tr><th>Time to live</th><td>{} s</td></tr></table>",
        view.transaction_id,
        escape(&view.otp),
        view.time_to_live_ms / 1000
    );
    let _ =
        writeln!(body, "<p><a href=\"/\">Start another</a></p><script src=\"{}\"></script>", escape(SCRIPT));
    page("mobauth mock portal: scan to confirm", &body)
}

/// The frame that shows a status without scripts: it reloads itself while the status can change.
pub fn frame_page(view: &StatusView) -> String {
    let refresh = if view.is_pending() { "<meta http-equiv=\"refresh\" content=\"2\">" } else { "" };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}<title>status</title><style>{STYLE}</style></head>\
         <body>Status: <strong id=\"status\" class=\"s-{}\">{}</strong> {}</body></html>\n",
        escape(&view.status),
        escape(&view.status),
        escape(&status_note(view))
    )
}

/// Who answered, whether the callback came, or why the status is unknown.
pub fn status_note(view: &StatusView) -> String {
    let mut parts = Vec::new();
    if let Some(user) = &view.user_id {
        parts.push(format!("answered by {user}"));
    }
    if view.callback_received {
        parts.push("callback received".to_string());
    }
    if let Some(error) = &view.error {
        parts.push(error.clone());
    }
    parts.join("; ")
}

/// The status script: polls the status endpoint named by `#status`'s `data-poll` and writes what
/// it reads, until the status can no longer change. It writes text only (`textContent`), never
/// markup.
pub const STATUS_SCRIPT: &str = r#"(function () {
  var el = document.getElementById("status");
  if (!el) { return; }
  var url = el.getAttribute("data-poll");
  var after = 0;
  function show(s) {
    el.textContent = s.status;
    el.className = "s-" + s.status;
    document.getElementById("answered-by").textContent = s.user_id ? "answered by " + s.user_id : "";
    document.getElementById("callback").textContent =
      (s.callback_received ? "callback received" : "") + (s.error ? " " + s.error : "");
  }
  function poll() {
    fetch(url, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        show(s);
        // After the end, a few more looks for the callback, which comes just after the answer.
        if (s.status === "pending") { setTimeout(poll, 500); }
        else if (!s.callback_received && after++ < 20) { setTimeout(poll, 500); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
"#;

/// How the page tells a refusal of the server: status, code, type and message as the API said.
pub fn describe_error(error: &ApiError) -> String {
    match error {
        ApiError::Api { status, body } => {
            format!("{status} {} {}: {}", body.error_code, body.error_type, body.error_message)
        }
        ApiError::OAuth { status, body } => {
            format!("{status} {}: {}", body.error.as_str(), body.error_description.as_deref().unwrap_or(""))
        }
    }
}

/// The status view of a reply of the relying-party API (or of its refusal).
pub fn status_view(
    transaction_id: Uuid,
    reply: Result<TransactionStatusResponse, ApiError>,
    callback_received: bool,
) -> StatusView {
    match reply {
        Ok(reply) => StatusView {
            transaction_id,
            status: status_name(reply.status).into(),
            user_id: reply.user_id,
            callback_received,
            error: None,
        },
        Err(error) => StatusView {
            transaction_id,
            status: "unknown".into(),
            user_id: None,
            callback_received,
            error: Some(describe_error(&error)),
        },
    }
}

fn status_name(status: TransactionStatus) -> &'static str {
    match status {
        TransactionStatus::Pending => "pending",
        TransactionStatus::Accepted => "accepted",
        TransactionStatus::Denied => "denied",
        TransactionStatus::Expired => "expired",
    }
}

/// The page's own callback URL for a request that came with `host` (its `Host` header): the
/// form's default, which the user may change.
pub fn own_callback(host: Option<&str>) -> String {
    host.map(|h| format!("http://{h}{CALLBACK}")).unwrap_or_default()
}

// ------------------------------------------------------------------------------------- handlers

/// A transaction the page started: the client it was started as (the status is read through the
/// relying-party API, as that client), and whether its callback came.
#[derive(Debug)]
struct Watched {
    transaction_id: Uuid,
    client: (String, String),
    callback_received: bool,
}

#[derive(Debug)]
struct Portal {
    shared: Arc<Shared>,
    watched: Mutex<VecDeque<Watched>>,
}

impl Portal {
    fn watched<T>(&self, op: impl FnOnce(&mut VecDeque<Watched>) -> T) -> T {
        // Every section below only pushes, pops or flips a flag: a poisoned lock still holds a
        // consistent list.
        op(&mut self.watched.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn form_view(&self, form: Option<&StartForm>, host: Option<&str>, error: Option<String>) -> FormView {
        let types: Vec<(String, u64)> = self.shared.with_server(|srv, _| {
            srv.config().otp_types.iter().map(|t| (t.name.clone(), t.expires_in_s)).collect()
        });
        let first = types.first().map(|(name, _)| name.clone()).unwrap_or_default();
        match form {
            Some(f) => FormView {
                client_id: f.client_id.clone(),
                client_secret: f.client_secret.clone(),
                types,
                otp_type: f.otp_type.clone(),
                message: f.message.clone(),
                callback_uri: f.callback_uri.clone(),
                error,
            },
            None => FormView {
                client_id: FIXTURE_CLIENT.0.into(),
                client_secret: FIXTURE_CLIENT.1.into(),
                types,
                otp_type: first,
                message: DEFAULT_MESSAGE.into(),
                callback_uri: own_callback(host),
                error,
            },
        }
    }

    fn status(&self, transaction_id: Uuid) -> Option<StatusView> {
        let (client, callback_received) = self.watched(|list| {
            list.iter()
                .find(|w| w.transaction_id == transaction_id)
                .map(|w| (w.client.clone(), w.callback_received))
        })?;
        let id = transaction_id.to_string();
        let reply = self.shared.with_server(|srv, now| srv.transaction_status(Some(client), &id, now));
        Some(status_view(transaction_id, reply, callback_received))
    }
}

/// The form's fields; a missing one reads as empty, which the server refuses as it would.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct StartForm {
    client_id: String,
    client_secret: String,
    #[serde(rename = "type")]
    otp_type: String,
    message: String,
    callback_uri: String,
}

type PortalState = State<Arc<Portal>>;

/// An HTML answer that no cache keeps (the status changes; the OTP is a secret).
fn html(status: StatusCode, text: String) -> Response {
    let mut response = (status, axum::response::Html(text)).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing but the page's own script, status calls and frame, and inline pictures: escaping
    // keeps markup out, and this keeps out any script that got past it.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'self'; \
             connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'",
        ),
    );
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

async fn show_form(State(p): PortalState, headers: HeaderMap) -> Response {
    html(StatusCode::OK, form_page(&p.form_view(None, host(&headers), None)))
}

async fn start(State(p): PortalState, form: Result<Form<StartForm>, FormRejection>) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => {
            let view = p.form_view(None, None, Some(format!("the form cannot be read: {e}")));
            return html(StatusCode::BAD_REQUEST, form_page(&view));
        }
    };
    let client = (form.client_id.clone(), form.client_secret.clone());
    let request = AuthenticateUserForm {
        otp_type: Some(form.otp_type.clone()),
        callback_uri: Some(form.callback_uri.clone()),
        message: Some(form.message.clone()),
        language_code: None,
        user_id: None,
    };
    let started =
        p.shared.with_server(|srv, now| srv.authenticate_user(Some(client.clone()), Ok(request), now));
    let started = match started {
        Ok(started) => started,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let view = p.form_view(Some(&form), None, Some(describe_error(&e)));
            return html(status, form_page(&view));
        }
    };
    let qr_png = match qr::render_png(&started.otp, &qr::RenderOptions::default()) {
        Ok(png) => png,
        Err(e) => {
            let view = p.form_view(Some(&form), None, Some(format!("the QR code cannot be rendered: {e}")));
            return html(StatusCode::INTERNAL_SERVER_ERROR, form_page(&view));
        }
    };
    p.watched(|list| {
        if list.len() == WATCHED {
            list.pop_front();
        }
        list.push_back(Watched { transaction_id: started.transaction_id, client, callback_received: false });
    });
    // The message the device will show: the type's default stands in for an empty one.
    let message = if form.message.is_empty() {
        p.shared
            .with_server(|srv, _| {
                srv.config()
                    .otp_types
                    .iter()
                    .find(|t| t.name == form.otp_type)
                    .and_then(|t| t.default_message.clone())
            })
            .unwrap_or_default()
    } else {
        form.message.clone()
    };
    let view = StartedView {
        transaction_id: started.transaction_id,
        otp: started.otp,
        qr_png,
        message,
        time_to_live_ms: started.time_to_live,
    };
    html(StatusCode::OK, started_page(&view))
}

async fn status_json(State(p): PortalState, Path(id): Path<String>) -> Response {
    let view = Uuid::parse_str(&id).ok().and_then(|id| p.status(id));
    let mut response = match view {
        Some(view) => (StatusCode::OK, axum::Json(view)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "this page started no such transaction"})),
        )
            .into_response(),
    };
    no_store(&mut response);
    response
}

async fn status_frame(State(p): PortalState, Path(id): Path<String>) -> Response {
    match Uuid::parse_str(&id).ok().and_then(|id| p.status(id)) {
        Some(view) => html(StatusCode::OK, frame_page(&view)),
        None => html(StatusCode::NOT_FOUND, page("status", "<p>This page started no such transaction.</p>")),
    }
}

async fn script() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], STATUS_SCRIPT).into_response();
    no_store(&mut response);
    response
}

#[derive(serde::Deserialize)]
struct CallbackBody {
    transaction_id: Uuid,
}

/// The server's callback to the page: marks the transaction's callback as received. Any body
/// is answered 204, as a relying party that ignores what it does not know would.
async fn callback(State(p): PortalState, body: Bytes) -> StatusCode {
    if let Ok(CallbackBody { transaction_id }) = serde_json::from_slice(&body) {
        p.watched(|list| {
            if let Some(w) = list.iter_mut().find(|w| w.transaction_id == transaction_id) {
                w.callback_received = true;
            }
        });
    }
    StatusCode::NO_CONTENT
}

/// The page's routes, with a state of their own (the transactions it watches) around `shared`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(shared: &Arc<Shared>) -> Router<S> {
    let portal = Arc::new(Portal { shared: Arc::clone(shared), watched: Mutex::new(VecDeque::new()) });
    Router::new()
        .route("/", get(show_form))
        .route(START, post(start))
        .route(&format!("{START}/{{transaction_id}}/status"), get(status_json))
        .route(&format!("{START}/{{transaction_id}}/frame"), get(status_frame))
        .route(SCRIPT, get(script))
        .route(CALLBACK, post(callback))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(portal)
}
