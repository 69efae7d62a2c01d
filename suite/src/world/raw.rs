//! What the raw-request steps (general, token and test-control scenarios) keep between steps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use protocol::keys::KeyPair;

/// The raw-request state of one scenario: the last exchange and what the scenario remembered.
#[derive(Debug, Default)]
pub struct RawState {
    /// The last exchange a raw step made.
    pub last: Option<RawExchange>,
    /// Values remembered by name (`is remembered as "<name>"`), as text.
    pub saved: HashMap<String, String>,
    /// Keys made for `{csr of <device>}`, by device name.
    pub(crate) keys: HashMap<String, KeyPair>,
    /// For a remembered server clock reading, the real instant just before it was asked for: a
    /// clock that runs on can have moved on by at most the real time since then (ADM-006).
    pub clock_read_at: HashMap<String, Instant>,
    /// `{unreachable url}`, and the socket that keeps its port bound (but not listening) for the
    /// scenario's life, so no other server can take the port and every connection is refused.
    pub(crate) unreachable: Option<(String, tokio::net::TcpSocket)>,
}

/// One raw exchange: what was sent (for messages), what came and how long it took.
#[derive(Debug, Clone)]
pub struct RawExchange {
    /// `METHOD path`, for failure messages.
    pub request: String,
    /// The answer, or why none came.
    pub outcome: Result<RawResponse, String>,
    /// From sending the request to the end of the answer's body.
    pub elapsed: Duration,
}

/// An HTTP answer as it came.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
