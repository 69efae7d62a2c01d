//! What the raw-request steps (general, token and test-control scenarios) keep between steps.

use std::collections::HashMap;
use std::time::Instant;

use protocol::keys::KeyPair;

pub use transcript::{RawExchange, RawResponse};

/// The raw-request state of one scenario: the last exchange and what the scenario remembered.
#[derive(Debug, Default)]
pub struct RawState {
    /// The last exchange a raw step made (the transcript has it too, redacted).
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
