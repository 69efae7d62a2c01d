//! What of the server's state outlives its process (`mobauth serve --state`): the configuration,
//! users, clients, enrollments, transactions and the event sequence, as one value to store and to
//! restore from. Access tokens are not kept: after a restart every earlier token is unknown, so it
//! is refused, never taken as another user's (each start draws a token stream of its own, see
//! [`Durable::starts`]). Nor are the certificate authority (a restarted server issues from a new
//! one; the certificates it issued stay as they were), the clock, faults or callbacks under way.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::keys::PublicKey;
use protocol::otp::SecretDigest;
use protocol::wire::{ServerConfig, TransactionStatus};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Enrollment, RETENTION, TokenServer, Transaction};

/// The state a restarted server takes up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durable {
    /// How many processes have started on this state: the next one's randomness is drawn from
    /// its seed and this count, so that no two processes hand out the same tokens.
    pub starts: u64,
    /// The last event sequence number given out.
    pub event_seq: u64,
    config: ServerConfig,
    users: BTreeMap<String, String>,
    api_clients: BTreeMap<String, String>,
    app_clients: BTreeSet<String>,
    enrollments: BTreeMap<Uuid, StoredEnrollment>,
    replaced: BTreeMap<Uuid, String>,
    transactions: BTreeMap<Uuid, StoredTransaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredEnrollment {
    user: String,
    enrollment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    enrolled_at: OffsetDateTime,
    /// The device's public key, SEC1, base64.
    key: String,
    certificate: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredTransaction {
    client_id: String,
    otp_type: String,
    message: String,
    /// The OTP secret's SHA-256, base64: the secret itself is never stored.
    secret_digest: String,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    ttl_ms: i64,
    callback_uri: String,
    status: TransactionStatus,
    answered_by: Option<String>,
    challenges: BTreeMap<Uuid, String>,
}

/// Why a stored state cannot be taken up: it was written by something else, or damaged.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurableError {
    /// A stored key or digest does not read back.
    #[error("the stored state is damaged: {0}")]
    Damaged(String),
}

impl TokenServer {
    /// The state to keep, with the event sequence and start count the I/O layer holds.
    pub fn durable(&self, starts: u64, event_seq: u64) -> Durable {
        let enrollments = self
            .enrollments
            .iter()
            .map(|(id, e)| {
                let stored = StoredEnrollment {
                    user: e.user.clone(),
                    enrollment_id: e.enrollment_id,
                    enrolled_at: e.enrolled_at,
                    key: STANDARD.encode(e.key.to_sec1_bytes()),
                    certificate: e.certificate.clone(),
                };
                (*id, stored)
            })
            .collect();
        let transactions = self
            .transactions
            .iter()
            .map(|(id, t)| {
                let stored = StoredTransaction {
                    client_id: t.client_id.clone(),
                    otp_type: t.otp_type.clone(),
                    message: t.message.clone(),
                    secret_digest: STANDARD.encode(t.secret.to_bytes()),
                    created: t.created,
                    ttl_ms: i64::try_from(t.ttl.whole_milliseconds()).unwrap_or(i64::MAX),
                    callback_uri: t.callback_uri.clone(),
                    status: t.status,
                    answered_by: t.answered_by.clone(),
                    challenges: t.challenges.iter().map(|(k, v)| (*k, v.clone())).collect(),
                };
                (*id, stored)
            })
            .collect();
        Durable {
            starts,
            event_seq,
            config: self.config.clone(),
            users: self.users.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            api_clients: self.api_clients.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            app_clients: self.app_clients.iter().cloned().collect(),
            enrollments,
            replaced: self.replaced.iter().map(|(k, v)| (*k, v.clone())).collect(),
            transactions,
        }
    }

    /// Takes up a kept state in place of this server's own (its tokens are gone); a transaction
    /// still pending expires as its time to live says, and everything is forgotten after its
    /// retention, as if the server had never stopped.
    pub fn restore(&mut self, durable: Durable) -> Result<(), DurableError> {
        let damaged = |what: &str, e: &dyn std::fmt::Display| DurableError::Damaged(format!("{what}: {e}"));
        let mut enrollments = std::collections::HashMap::new();
        for (id, e) in durable.enrollments {
            let bytes = STANDARD.decode(&e.key).map_err(|x| damaged("an enrollment's key", &x))?;
            let key = PublicKey::from_sec1_bytes(&bytes).map_err(|x| damaged("an enrollment's key", &x))?;
            let enrollment = Enrollment {
                user: e.user,
                enrollment_id: e.enrollment_id,
                enrolled_at: e.enrolled_at,
                key,
                certificate: e.certificate,
            };
            enrollments.insert(id, enrollment);
        }
        let mut transactions = std::collections::HashMap::new();
        for (id, t) in durable.transactions {
            let digest =
                STANDARD.decode(&t.secret_digest).map_err(|x| damaged("a transaction's digest", &x))?;
            let digest: [u8; 32] = digest
                .try_into()
                .map_err(|_| DurableError::Damaged("a transaction's digest is not 32 bytes".into()))?;
            let transaction = Transaction {
                client_id: t.client_id,
                otp_type: t.otp_type,
                message: t.message,
                secret: SecretDigest::from_bytes(digest),
                created: t.created,
                ttl: Duration::milliseconds(t.ttl_ms),
                callback_uri: t.callback_uri,
                status: t.status,
                answered_by: t.answered_by,
                challenges: t.challenges.into_iter().collect(),
            };
            transactions.insert(id, transaction);
        }
        self.config = durable.config;
        self.users = durable.users.into_iter().collect();
        self.api_clients = durable.api_clients.into_iter().collect();
        self.app_clients = durable.app_clients.into_iter().collect();
        self.enrollments = enrollments;
        self.replaced = durable.replaced.into_iter().collect();
        self.tokens.clear();
        self.forget_tokens.clear();
        self.deadlines.clear();
        self.forget_transactions.clear();
        for (id, tx) in &transactions {
            if tx.status == TransactionStatus::Pending {
                self.deadlines.insert((tx.expires_at(), *id));
            }
            self.forget_transactions.insert((tx.expires_at().saturating_add(RETENTION), *id));
        }
        self.transactions = transactions;
        self.outbox.clear();
        Ok(())
    }
}
