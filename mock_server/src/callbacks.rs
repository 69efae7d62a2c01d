//! Callback delivery on the server's clock: when a transaction ends, POST
//! `{"callback_uri", "transaction_id"}` to its callback_uri, expecting any 2xx, and retry a failed
//! delivery with a backoff doubling from `ServeOptions::callback_backoff` (docs/PROTOCOL.md CB-004
//! to CB-007).
//!
//! Every attempt is due at an instant of the server's clock: the first when its transaction ends,
//! a retry when the server's clock has passed the instant the attempt before it ended by the
//! backoff. [`dispatch`] starts the attempts that are due and fails the ones whose receiver has
//! not answered within [`ATTEMPT_TIMEOUT`] of server-clock time. The HTTP layer calls it after
//! every request, so a `POST /_admin/v1/clock` has started (and logged) every attempt it made due,
//! and ended every attempt it timed out, before it answers; [`run_timer`] calls it as real time
//! passes while the clock runs. A standing clock is thus the only thing that moves a delivery on
//! in tests: nothing waits real time. A separate real-time bound on each attempt
//! (`ServeOptions::callback_attempt_timeout`) keeps a receiver that never answers from holding an
//! attempt open forever while nobody moves the clock.
//!
//! The event log gets `callback_start` (status 0) when an attempt starts and `callback` with the
//! receiver's status (0 for none) when it ends.
//!
//! Under [`CallbackTiming::RealTime`] (an alternative reading) the schedule runs on a monotonic
//! real-time line instead: the first attempt is due at once, retries after the backoff of real
//! time, and an attempt fails after [`REAL_TIME_ATTEMPT_TIMEOUT`], whatever the server's clock does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use protocol::clock::Clock as _;
use protocol::wire::CallbackBody;
use time::OffsetDateTime;
use tokio::sync::{Notify, oneshot};

use crate::clock::ServerClock;
use crate::core::CallbackJob;
use crate::http::Shared;
use crate::readings::{CallbackRedirects, CallbackTiming};

/// How long an attempt may wait for the receiver's answer, on the server's clock (CB-005).
pub(crate) const ATTEMPT_TIMEOUT: time::Duration = time::Duration::seconds(5);
/// How long an attempt may wait for the receiver's answer under [`CallbackTiming::RealTime`].
pub(crate) const REAL_TIME_ATTEMPT_TIMEOUT: time::Duration = time::Duration::seconds(2);

/// Event kind of an attempt's start.
pub(crate) const KIND_START: &str = "callback_start";
/// Event kind of an attempt's end, with the receiver's status.
pub(crate) const KIND_END: &str = "callback";

/// The delivery schedule: attempts waiting for their due instant and attempts under way.
#[derive(Debug)]
pub(crate) struct Deliveries {
    state: Mutex<Schedule>,
    /// Tells [`run_timer`] that the schedule or the clock changed.
    wake: Notify,
    client: reqwest::Client,
    /// Wait after the first failed attempt; doubles after each further one.
    backoff: std::time::Duration,
    /// Real-time bound of one attempt, behind [`ATTEMPT_TIMEOUT`] of server-clock time.
    attempt_timeout: std::time::Duration,
    /// The time line the schedule runs on.
    timing: CallbackTiming,
    /// The origin of the real-time line of [`CallbackTiming::RealTime`].
    origin: std::time::Instant,
}

#[derive(Debug, Default)]
struct Schedule {
    /// Bumped by every reset: series begun before it are not retried (ADM-014).
    generation: u64,
    /// Numbers attempts; orders attempts due at the same instant by when they were scheduled.
    next_id: u64,
    /// Attempts not started yet, by due instant.
    due: BTreeMap<(OffsetDateTime, u64), Attempt>,
    /// Attempts under way, in the order they started.
    in_flight: BTreeMap<u64, InFlight>,
}

#[derive(Debug)]
struct Attempt {
    job: CallbackJob,
    /// 0 for the first attempt of the series, n for its n-th retry.
    number: u32,
    generation: u64,
}

#[derive(Debug)]
struct InFlight {
    attempt: Attempt,
    /// Server-clock instant at which the attempt fails unanswered.
    deadline: OffsetDateTime,
    /// Dropping it stops the attempt's request.
    _stop: oneshot::Sender<()>,
}

impl Deliveries {
    /// An empty schedule posting through `client`.
    pub(crate) fn new(
        client: reqwest::Client,
        backoff: std::time::Duration,
        attempt_timeout: std::time::Duration,
        timing: CallbackTiming,
    ) -> Self {
        Self {
            state: Mutex::default(),
            wake: Notify::new(),
            client,
            backoff,
            attempt_timeout,
            timing,
            origin: std::time::Instant::now(),
        }
    }

    /// Now on the schedule's time line: the server's clock, or real time since the schedule was
    /// made (as an instant counted from the Unix epoch).
    fn now(&self, clock: &ServerClock) -> OffsetDateTime {
        match self.timing {
            CallbackTiming::ServerClock => clock.now(),
            CallbackTiming::RealTime => self.real_now(),
        }
    }

    fn real_now(&self) -> OffsetDateTime {
        let elapsed = time::Duration::try_from(self.origin.elapsed()).unwrap_or(time::Duration::MAX);
        OffsetDateTime::UNIX_EPOCH.saturating_add(elapsed)
    }

    /// Whether the schedule's time line moves as real time passes.
    fn runs(&self, clock: &ServerClock) -> bool {
        self.timing == CallbackTiming::RealTime || clock.is_running()
    }

    /// How long an attempt may wait for its answer, on the schedule's time line.
    fn attempt_timeout(&self) -> time::Duration {
        match self.timing {
            CallbackTiming::ServerClock => ATTEMPT_TIMEOUT,
            CallbackTiming::RealTime => REAL_TIME_ATTEMPT_TIMEOUT,
        }
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        // Every critical section leaves the schedule consistent before anything that can panic:
        // a poisoned lock still guards a valid schedule.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the first attempt of `job` due at `ended`, the server-clock instant its transaction
    /// ended (at once on the real-time line). It starts at the next [`dispatch`], which the HTTP
    /// layer runs before it answers.
    pub(crate) fn enqueue(&self, job: CallbackJob, ended: OffsetDateTime) {
        let due = match self.timing {
            CallbackTiming::ServerClock => ended,
            CallbackTiming::RealTime => self.real_now(),
        };
        let mut schedule = self.schedule();
        let attempt = Attempt { job, number: 0, generation: schedule.generation };
        schedule.add(due, attempt);
    }

    /// Drops every attempt not started yet; attempts under way end as they would but are not
    /// retried (ADM-014).
    pub(crate) fn reset(&self) {
        let mut schedule = self.schedule();
        schedule.generation += 1;
        schedule.due.clear();
        drop(schedule);
        self.wake.notify_one();
    }

    /// The wait before the retry that follows attempt `number`: the backoff doubled `number` times.
    fn backoff_after(&self, number: u32) -> time::Duration {
        let wait = self.backoff.saturating_mul(2u32.saturating_pow(number));
        time::Duration::try_from(wait).unwrap_or(time::Duration::MAX)
    }

    /// The next server-clock instant at which something becomes due or times out.
    fn next_instant(&self) -> Option<OffsetDateTime> {
        let schedule = self.schedule();
        let due = schedule.due.first_key_value().map(|((at, _), _)| *at);
        let deadline = schedule.in_flight.values().map(|f| f.deadline).min();
        due.into_iter().chain(deadline).min()
    }
}

impl Schedule {
    fn add(&mut self, due: OffsetDateTime, attempt: Attempt) {
        self.next_id += 1;
        self.due.insert((due, self.next_id), attempt);
    }

    /// Logs the end of `attempt` with `status` and schedules its retry after a failure, unless it
    /// was the last one or a reset dropped its series.
    fn end(&mut self, shared: &Shared, attempt: Attempt, status: u16, now: OffsetDateTime) {
        shared.record(KIND_END, "POST", &attempt.job.callback_uri, status, None);
        if (200..300).contains(&status) || attempt.generation != self.generation {
            return;
        }
        if attempt.number >= attempt.job.retries {
            tracing::warn!(
                uri = %attempt.job.callback_uri,
                transaction = %attempt.job.transaction_id,
                "callback not delivered"
            );
            return;
        }
        let wait = shared.deliveries.backoff_after(attempt.number);
        // The backoff counts from the end as the event log has it, which was read after `now`:
        // so that the log never shows a retry sooner than the backoff after the end.
        let ended = now.max(shared.deliveries.now(&shared.clock));
        // A retry beyond the end of time never comes due: the series ends here.
        if let Some(due) = ended.checked_add(wait) {
            self.add(due, Attempt { number: attempt.number + 1, ..attempt });
        }
    }
}

/// Fails the attempts under way whose server-clock deadline has passed, then starts every attempt
/// that is due, logging each start before returning; the requests themselves run in tasks of their
/// own, so this never waits for a receiver.
pub(crate) fn dispatch(shared: &Arc<Shared>) {
    let deliveries = &shared.deliveries;
    let now = deliveries.now(&shared.clock);
    let mut schedule = deliveries.schedule();
    let timed_out: Vec<u64> =
        schedule.in_flight.iter().filter(|(_, f)| f.deadline <= now).map(|(id, _)| *id).collect();
    for id in timed_out {
        if let Some(flight) = schedule.in_flight.remove(&id) {
            // Removing the attempt dropped its stop sender: its request is abandoned unanswered.
            schedule.end(shared, flight.attempt, 0, now);
        }
    }
    while let Some(entry) = schedule.due.first_entry() {
        if entry.key().0 > now {
            break;
        }
        let ((_, id), attempt) = entry.remove_entry();
        shared.record(KIND_START, "POST", &attempt.job.callback_uri, 0, None);
        let body = CallbackBody {
            callback_uri: attempt.job.callback_uri.clone(),
            transaction_id: attempt.job.transaction_id,
        };
        let (stop, stopped) = oneshot::channel();
        let deadline = now.saturating_add(deliveries.attempt_timeout());
        schedule.in_flight.insert(id, InFlight { attempt, deadline, _stop: stop });
        tokio::spawn(post(
            Arc::downgrade(shared),
            id,
            deliveries.client.clone(),
            body,
            stopped,
            deliveries.attempt_timeout,
        ));
    }
    drop(schedule);
    deliveries.wake.notify_one();
}

/// One attempt's request; reports its status unless [`dispatch`] ended the attempt first.
async fn post(
    shared: Weak<Shared>,
    id: u64,
    client: reqwest::Client,
    body: CallbackBody,
    stopped: oneshot::Receiver<()>,
    limit: std::time::Duration,
) {
    let request = client.post(&body.callback_uri).json(&body).send();
    let status = tokio::select! {
        // The schedule let go of the attempt: a clock move timed it out (and logged its end),
        // or the server is gone.
        _ = stopped => return,
        answered = tokio::time::timeout(limit, request) => match answered {
            Ok(Ok(response)) => response.status().as_u16(),
            Ok(Err(e)) => {
                tracing::debug!(uri = %body.callback_uri, error = %e, "callback attempt failed");
                0
            }
            Err(_) => {
                tracing::debug!(uri = %body.callback_uri, ?limit, "callback attempt got no answer in real time");
                0
            }
        },
    };
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let now = shared.deliveries.now(&shared.clock);
    let mut schedule = shared.deliveries.schedule();
    // Absent when a dispatch timed the attempt out while its answer was on the way: the attempt
    // has ended already.
    if let Some(flight) = schedule.in_flight.remove(&id) {
        schedule.end(&shared, flight.attempt, status, now);
    }
    drop(schedule);
    shared.deliveries.wake.notify_one();
}

/// While the schedule's time line runs (the server's clock runs, or the schedule is on real time),
/// dispatches as real time reaches the next due instant or attempt deadline. A standing clock
/// moves only through the admin API, whose requests dispatch themselves, so then this waits for
/// the schedule or the clock to change.
pub(crate) async fn run_timer(shared: Arc<Shared>) {
    loop {
        let changed = shared.deliveries.wake.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let deliveries = &shared.deliveries;
        let wait = if deliveries.runs(&shared.clock) {
            deliveries.next_instant().map(|at| at - deliveries.now(&shared.clock))
        } else {
            None
        };
        match wait {
            Some(wait) if !wait.is_positive() => dispatch(&shared),
            Some(wait) => {
                let wait = std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::MAX);
                tokio::select! {
                    () = tokio::time::sleep(wait) => dispatch(&shared),
                    () = &mut changed => {}
                }
            }
            None => changed.await,
        }
    }
}

/// What a callback delivery does with a 3xx answer: it fails the attempt, or under
/// [`CallbackRedirects::Follow`] is followed at most 3 times and only on the callback's own
/// host, so a receiver cannot send the mock's POSTs anywhere else.
pub(crate) fn redirect_policy(redirects: CallbackRedirects) -> reqwest::redirect::Policy {
    match redirects {
        CallbackRedirects::Fail => reqwest::redirect::Policy::none(),
        CallbackRedirects::Follow => reqwest::redirect::Policy::custom(|attempt| {
            let same_host =
                attempt.previous().first().map(reqwest::Url::host_str) == Some(attempt.url().host_str());
            if attempt.previous().len() > 3 || !same_host { attempt.stop() } else { attempt.follow() }
        }),
    }
}
