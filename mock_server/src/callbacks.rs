//! Callback delivery: when a transaction ends, POST `{"callback_uri", "transaction_id"}` to its
//! callback_uri, expecting any 2xx, and retry a failed delivery with doubling backoff.

use std::sync::Arc;
use std::time::Duration;

use protocol::wire::CallbackBody;
use tokio::sync::mpsc;

use crate::core::CallbackJob;
use crate::http::Shared;

/// Receives jobs until the channel closes, delivering each in its own task.
pub(crate) async fn deliver_all(
    mut jobs: mpsc::UnboundedReceiver<CallbackJob>,
    shared: std::sync::Weak<Shared>,
    client: reqwest::Client,
    backoff: Duration,
) {
    while let Some(job) = jobs.recv().await {
        let Some(shared) = shared.upgrade() else {
            break;
        };
        tokio::spawn(deliver(job, shared, client.clone(), backoff));
    }
}

async fn deliver(job: CallbackJob, shared: Arc<Shared>, client: reqwest::Client, backoff: Duration) {
    let body = CallbackBody { callback_uri: job.callback_uri.clone(), transaction_id: job.transaction_id };
    let mut wait = backoff;
    let generation = shared.generation.load(std::sync::atomic::Ordering::SeqCst);
    for attempt in 0..=job.retries {
        if attempt > 0 {
            // Backoff between delivery attempts is the server's real behaviour toward a real
            // receiver, not a stand-in for synchronisation.
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
            if shared.generation.load(std::sync::atomic::Ordering::SeqCst) != generation {
                return; // a reset dropped this pending callback
            }
        }
        let status = match client.post(&job.callback_uri).json(&body).send().await {
            Ok(response) => response.status().as_u16(),
            Err(e) => {
                tracing::debug!(uri = %job.callback_uri, error = %e, "callback delivery failed");
                0
            }
        };
        shared.record("callback", "POST", &job.callback_uri, status, None);
        if (200..300).contains(&status) {
            return;
        }
    }
    tracing::warn!(uri = %job.callback_uri, transaction = %job.transaction_id, "callback not delivered");
}
