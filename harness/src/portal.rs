//! A simulated portal: the relying party that starts OTP transactions, shows the OTP as a QR
//! code, receives the server's callbacks on a listener of its own and reads the outcome.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use protocol::qr::{self, RenderOptions};
use protocol::wire::{AuthenticateUserResponse, CallbackBody, TransactionStatusResponse, paths};
use reqwest::Method;
use tokio::sync::{Mutex, mpsc};

use crate::http::{Auth, Http, Payload, PeerError};

/// A started OTP transaction as the portal holds it.
#[derive(Debug, Clone)]
pub struct StartedOtp {
    /// The server's answer.
    pub response: AuthenticateUserResponse,
    /// The QR code the portal shows, PNG.
    pub qr_png: Vec<u8>,
}

/// A relying party with its API client credentials and a callback listener.
#[derive(Debug)]
pub struct SimulatedPortal {
    http: Http,
    client_id: String,
    client_secret: String,
    callback_addr: SocketAddr,
    callbacks: Mutex<mpsc::UnboundedReceiver<CallbackBody>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for SimulatedPortal {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl SimulatedPortal {
    /// A portal using `client_id`/`client_secret`, its callback listener on 127.0.0.1:0.
    pub async fn start(http: Http, client_id: &str, client_secret: &str) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route("/callback", post(receive)).with_state(Arc::new(tx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let callback_addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "portal callback listener stopped");
            }
        });
        Ok(Self {
            http,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callback_addr,
            callbacks: Mutex::new(rx),
            listener: task,
        })
    }

    /// The portal's callback URL.
    pub fn callback_uri(&self) -> String {
        format!("http://{}/callback", self.callback_addr)
    }

    fn auth(&self) -> Auth<'_> {
        Auth::Basic(&self.client_id, &self.client_secret)
    }

    /// Starts an OTP transaction with the given form fields and renders its QR code.
    pub async fn start_otp(&self, fields: &[(&str, &str)]) -> Result<StartedOtp, PeerError> {
        let (_, response): (_, AuthenticateUserResponse) = self
            .http
            .call(Method::POST, paths::AUTHENTICATE_USER, self.auth(), Payload::Form(fields), &[200])
            .await?;
        let qr_png =
            qr::render_png(&response.otp, &RenderOptions::default()).map_err(|e| PeerError::Unexpected {
                status: 200,
                expected: "an OTP that fits in a QR code".into(),
                body: e.to_string(),
            })?;
        Ok(StartedOtp { response, qr_png })
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
