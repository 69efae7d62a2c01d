//! Steps of the portal's callback receiver: what it answers, the delivery attempts it counts
//! where they arrive (never from the server's event log, whose entries the contract fixes only
//! by their `seq`, ADM-015), and how it listens while a delivery runs its course.

use std::time::{Duration, SystemTime};

use cucumber::{given, then, when};
use protocol::wire::{Answer, TransactionStatus, paths};

use crate::world::ConformanceWorld;
use peers::portal::{CallbackAttempt, CallbackReply, REDIRECT_PATH, SimulatedPortal};
use peers::target::Capability;

/// How long a step waits for a callback that must come: the contract bounds neither how soon a
/// callback goes out once its transaction ended nor how often a server looks for transactions
/// whose time to live has passed (CB-004), so this bound on a wait (not a sleep) is generous.
const DELIVERY_WAIT: Duration = Duration::from_secs(60);

/// Bounds the rounds of a delivery the receiver watches (the contract's default is 4 attempts).
const MAX_DELIVERY_ROUNDS: u32 = 32;

/// How far each nudge moves the server's clock: past the contract's longest backoff of a default
/// delivery (800 ms), and small enough that the nudges of a quiet spell leave a pending
/// transaction of the default 300-second TTL pending.
const NUDGE_MS: i64 = 1_000;
/// How often the receiver nudges the clock while it listens.
const NUDGE_EVERY: Duration = Duration::from_millis(100);

#[then("the portal receives a callback for the transaction")]
async fn callback_arrives(world: &mut ConformanceWorld) {
    callback_within(world, DELIVERY_WAIT).await;
}

#[then(expr = "the portal receives a callback for the transaction within {int} seconds")]
async fn callback_arrives_within(world: &mut ConformanceWorld, seconds: u64) {
    callback_within(world, Duration::from_secs(seconds)).await;
}

async fn callback_within(world: &mut ConformanceWorld, wait: Duration) {
    let transaction_id = world.started_otp().response.transaction_id;
    let expected_uri = world.notes.callback_uri.clone().unwrap_or_default();
    let portal = world.portal().await;
    let Some(callback) = portal.next_callback(wait).await else {
        fail!(
            "expected the server to POST {{\"callback_uri\", \"transaction_id\": \"{transaction_id}\"}} to \
             {expected_uri} within {wait:?}, but no callback came"
        );
    };
    ensure_eq!(
        (callback.transaction_id, callback.callback_uri.as_str()),
        (transaction_id, expected_uri.as_str()),
        "expected a callback for transaction {transaction_id} holding the callback_uri as given, got {callback:?}"
    );
}

/// `500, then 204` and the like: what a scripted receiver answers, attempt by attempt.
fn parse_script(text: &str) -> Vec<CallbackReply> {
    let reply = |item: &str| {
        let item = item.trim();
        let item = item.strip_prefix("answers ").unwrap_or(item);
        if let Some(status) = item.strip_suffix(" with a Location on itself") {
            return CallbackReply::Redirect(
                status.parse().unwrap_or_else(|_| fail!("{status:?} is no status")),
            );
        }
        match item {
            "closes the connection without answering" => CallbackReply::Drop,
            "does not answer" => CallbackReply::Hang,
            status => CallbackReply::Status(
                status.parse().unwrap_or_else(|_| fail!("no such callback receiver behaviour: {item:?}")),
            ),
        }
    };
    text.split(", then ").flat_map(|part| part.split(", ")).map(reply).collect()
}

#[given(regex = r"^the portal's callback receiver (.+)$")]
async fn scripted_receiver(world: &mut ConformanceWorld, behaviour: String) {
    let script = if let Some(status) = behaviour
        .strip_prefix("answers every callback with ")
        .or_else(|| behaviour.strip_prefix("answers ").and_then(|s| s.strip_suffix(" to every callback")))
    {
        vec![CallbackReply::Status(status.parse().unwrap_or_else(|_| fail!("{status:?} is no status")))]
    } else if behaviour == "holds every callback until it is let go" {
        vec![CallbackReply::Hold]
    } else {
        parse_script(&behaviour)
    };
    let target = world.target();
    let (id, secret) = target.api_client();
    let portal =
        SimulatedPortal::start_with_script(target.http(), id, secret, script, target.callback_listen())
            .await
            .unwrap_or_else(|e| fail!("the portal's callback receiver did not start: {e}"));
    world.portal = Some(portal);
}

async fn require_scripted(world: &mut ConformanceWorld) {
    let scripted = world.portal().await.is_scripted();
    ensure!(scripted, "the scenario must give the portal a scripted callback receiver first");
}

fn is_redirect_target(attempt: &CallbackAttempt) -> bool {
    attempt.target.split('?').next() == Some(REDIRECT_PATH)
}

/// The delivery attempts the receiver got, a redirect it was asked to follow not counted.
fn attempts_counted(world: &ConformanceWorld) -> usize {
    world.notes.attempts.iter().filter(|a| !is_redirect_target(a)).count()
}

fn check_attempt_is_for_transaction(world: &ConformanceWorld, attempt: &CallbackAttempt) {
    let transaction_id = world.started_otp().response.transaction_id;
    let given = world.notes.callback_uri.clone().unwrap_or_default();
    let callback = attempt.callback();
    ensure!(
        attempt.method == "POST"
            && callback.as_ref().map(|c| (c.transaction_id, c.callback_uri.as_str()))
                == Some((transaction_id, given.as_str())),
        "expected a POST of {{\"callback_uri\": {given:?}, \"transaction_id\": \"{transaction_id}\"}}, got {} {} \
         with the body {:?}",
        attempt.method,
        attempt.target,
        String::from_utf8_lossy(&attempt.body)
    );
}

/// Waits for the next attempt without any request to the server (CB-004: the expiry callback
/// comes "without any further request"), and checks it is the callback of CB-001.
#[then(
    regex = r#"^the portal's receiver gets a POST of Content-Type application/json with the body \{"callback_uri", "transaction_id"\} for the transaction$"#
)]
async fn receiver_gets_json(world: &mut ConformanceWorld) {
    require_scripted(world).await;
    let Some(attempt) = world.portal().await.next_attempt(DELIVERY_WAIT).await else {
        fail!("expected a callback delivery attempt within {DELIVERY_WAIT:?}, but none came");
    };
    world.notes.attempts.push(attempt.clone());
    check_attempt_is_for_transaction(world, &attempt);
    let media_type = attempt
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    ensure_eq!(
        media_type.as_deref(),
        Some("application/json"),
        "expected the callback to be sent with Content-Type: application/json, got {:?}",
        attempt.content_type
    );
    let given = world.notes.callback_uri.clone().unwrap_or_default();
    let path_and_query = given.splitn(4, '/').nth(3).map(|rest| format!("/{rest}")).unwrap_or_default();
    ensure_eq!(
        attempt.target,
        path_and_query,
        "expected the callback to be POSTed to the callback_uri as given"
    );
}

/// Moves the server's clock on by [`NUDGE_MS`], where the target lets the harness move it: a
/// server whose backoff runs on its own clock then sends what that made due; one whose backoff
/// runs on real time is not held up by it.
async fn nudge_clock(world: &ConformanceWorld) {
    if world.target().offers(Capability::Clock) {
        super::super::server::advance(world, NUDGE_MS).await;
    }
}

/// What `listen` hears at the portal's receiver within `bound` of listening, the server's clock
/// nudged on every [`NUDGE_EVERY`] meanwhile, so that either reading of the backoff's clock shows
/// what it sends (a server may take a failed attempt as ended only once the receiver answered,
/// so one nudge right after an attempt can come too early to make its retry due).
async fn listen_nudging<T>(
    world: &mut ConformanceWorld,
    bound: Duration,
    listen: impl AsyncFn(&SimulatedPortal, Duration) -> Option<T>,
) -> Option<T> {
    let mut listened = Duration::ZERO;
    while listened < bound {
        nudge_clock(world).await;
        if let Some(heard) = listen(world.portal().await, NUDGE_EVERY).await {
            return Some(heard);
        }
        listened += NUDGE_EVERY;
    }
    None
}

/// The next delivery attempt within `bound`, the clock nudged meanwhile.
async fn next_attempt_nudging(world: &mut ConformanceWorld, bound: Duration) -> Option<CallbackAttempt> {
    listen_nudging(world, bound, async |portal: &SimulatedPortal, wait| portal.next_attempt(wait).await).await
}

/// Waits (nudging the clock) for the attempts that must come, then takes in any that came besides
/// without waiting: the count is exact for what arrived. That no further attempt comes is what
/// "the callback deliveries run their course" saw before, listening until none came.
#[then(expr = "the portal's receiver gets {int} delivery attempt(s) for the transaction")]
async fn receiver_gets_attempts(world: &mut ConformanceWorld, count: usize) {
    require_scripted(world).await;
    while attempts_counted(world) < count {
        let Some(attempt) = next_attempt_nudging(world, DELIVERY_WAIT).await else {
            fail!(
                "expected {count} delivery attempts, but no further one came within {DELIVERY_WAIT:?}: {:?}",
                world.notes.attempts
            );
        };
        world.notes.attempts.push(attempt.clone());
        if !is_redirect_target(&attempt) {
            check_attempt_is_for_transaction(world, &attempt);
        }
    }
    while let Some(attempt) = world.portal().await.next_attempt(Duration::ZERO).await {
        world.notes.attempts.push(attempt);
    }
    let counted = attempts_counted(world);
    ensure_eq!(counted, count, "expected {count} delivery attempts, got {:?}", world.notes.attempts);
}

/// Lets a delivery run to its end as the receiver sees it: the receiver takes attempt after
/// attempt, nudging the server's clock on while it listens (where the target offers that), until
/// none comes within [`ConformanceWorld::callback_quiet`], whichever clock the server's backoff reads.
#[when("the callback deliveries run their course")]
async fn deliveries_run(world: &mut ConformanceWorld) {
    require_scripted(world).await;
    for _ in 0..MAX_DELIVERY_ROUNDS {
        let quiet = world.callback_quiet(attempts_counted(world));
        match next_attempt_nudging(world, quiet).await {
            Some(attempt) => world.notes.attempts.push(attempt),
            None => return,
        }
    }
    fail!(
        "expected a delivery to end after 1 + callback_retries attempts, but the receiver got more than \
         {MAX_DELIVERY_ROUNDS}: {:?}",
        world.notes.attempts
    );
}

#[then("the portal receives no other callback for the transaction")]
async fn no_other_callback(world: &mut ConformanceWorld) {
    // One callback came (the step before waited for it): a retry of it, or a second series
    // (from a racing answer, which comes at once), falls inside the window after one attempt.
    let quiet = world.callback_quiet(1);
    let again =
        listen_nudging(world, quiet, async |portal: &SimulatedPortal, wait| portal.next_callback(wait).await)
            .await;
    ensure!(again.is_none(), "expected one callback for the transaction, but another came: {again:?}");
}

/// A lower bound, in real time, on the start of the transaction's first delivery attempt: the
/// transaction ended no sooner than the device sent its answer (the start of the last answer
/// exchange in the scenario's transcript) and, for a device whose exchanges the harness does not
/// see (the driver's), no sooner than the portal got the OTP (the end of authenticate/user).
fn first_attempt_no_sooner_than(world: &ConformanceWorld) -> SystemTime {
    let transaction_id = world.started_otp().response.transaction_id;
    let answer_path = format!("{}/{transaction_id}/answer", paths::OTP_REQUESTS);
    let exchanges = world.target().transcript().exchanges();
    let last_post = |path: &str| exchanges.iter().rev().find(|e| e.method == "POST" && e.url.ends_with(path));
    let answered = last_post(&answer_path).and_then(|e| e.at.checked_sub(e.elapsed));
    let started = last_post(paths::AUTHENTICATE_USER).map(|e| e.at);
    answered
        .or(started)
        .unwrap_or_else(|| fail!("the portal must start an OTP before its deliveries are timed"))
}

/// CB-007: listening without moving the server's clock, each retry comes no sooner than the
/// backoffs before it allow: the k-th retry follows k failed attempts, the retry after the i-th
/// starting at least 200·2^(i−1) ms after that attempt started, so no sooner than 200·(2^k − 1)
/// ms after the first attempt started. With the clock not moved, the server's clock has passed
/// no more than real time has (ADM-006), so the bound holds in real time on either reading of
/// the backoff's clock. Measured from a lower bound on the first attempt's start, the check
/// never fails a server that keeps the backoff; on a clock that stands still, where only a clock
/// move makes a retry due, no retry comes here and the check holds trivially.
#[then(
    "while the server's clock is not moved, no retry reaches the portal's receiver sooner than the backoff allows"
)]
async fn retries_back_off(world: &mut ConformanceWorld) {
    require_scripted(world).await;
    let first_started = first_attempt_no_sooner_than(world);
    for _ in 0..MAX_DELIVERY_ROUNDS {
        let quiet = world.callback_quiet(attempts_counted(world));
        let Some(attempt) = world.portal().await.next_attempt(quiet).await else {
            return;
        };
        let seen = SystemTime::now();
        world.notes.attempts.push(attempt.clone());
        let retries = u32::try_from(attempts_counted(world).saturating_sub(1)).unwrap_or(u32::MAX);
        let earliest = Duration::from_millis(200 * (2_u64.saturating_pow(retries) - 1));
        // A real-time clock set back meanwhile leaves nothing to compare.
        if let Ok(after) = seen.duration_since(first_started) {
            ensure!(
                after >= earliest,
                "expected retry {retries} to come no sooner than {earliest:?} after the first attempt started \
                 (waits doubling from 200 ms, the server's clock not moved), but it came {after:?} after the \
                 device's answer was sent (POST {})",
                attempt.target
            );
        }
    }
    fail!(
        "expected a delivery to end after 1 + callback_retries attempts, but the receiver got more than \
         {MAX_DELIVERY_ROUNDS}: {:?}",
        world.notes.attempts
    );
}

/// CB-003: the device answers while the portal's receiver holds the callback open and, on its
/// receipt, reads the transaction, which must read as the device's answer already. The two run
/// side by side because a server may answer the device before it delivers the callback or only
/// after the delivery (the contract does not say), and the held callback must not stall either.
#[when(
    expr = "{string} accepts while the portal's receiver holds the callback and reads the transaction on its receipt"
)]
async fn accepts_reading_on_receipt(world: &mut ConformanceWorld, device: String) {
    require_scripted(world).await;
    let user = world
        .device_handle(&device)
        .simulated("its answer call sent side by side with the portal's read of the transaction")
        .user()
        .map(str::to_string)
        .unwrap_or_else(|| fail!("{device:?} must be logged in to answer"));
    let transaction_id = world.started_otp().response.transaction_id.to_string();
    let (Some(portal), Some(phone)) = (world.portal.as_ref(), world.devices.get_mut(&device)) else {
        fail!("the scenario must give the portal a receiver and introduce {device:?} first");
    };
    let read_on_receipt = async {
        let attempt = portal.next_attempt(DELIVERY_WAIT).await;
        let read = match &attempt {
            Some(_) => Some(portal.transaction(&transaction_id).await),
            None => None,
        };
        // Let the callback go whatever came, so a server that answers the device only after its
        // delivery can answer it.
        portal.release_held(204);
        (attempt, read)
    };
    let (answer, (attempt, read)) = tokio::join!(phone.decide(Answer::Accept), read_on_receipt);
    world.record(answer);
    let (Some(attempt), Some(read)) = (attempt, read) else {
        fail!("expected a callback for the accepted transaction within {DELIVERY_WAIT:?}, but none came");
    };
    world.notes.attempts.push(attempt.clone());
    check_attempt_is_for_transaction(world, &attempt);
    ensure_eq!(attempt.reply, CallbackReply::Hold, "expected the receiver to hold the attempt");
    let status = read.unwrap_or_else(|e| {
        fail!("expected GET transaction on receipt of the callback to answer 200, but it was {e}")
    });
    let got = (status.status, status.is_authenticated, status.user_id.as_deref());
    ensure_eq!(
        got,
        (TransactionStatus::Accepted, true, Some(user.as_str())),
        "expected the transaction to read as accepted on receipt of its callback (the callback goes out \
         once the transaction has ended), got {status:?}"
    );
}
