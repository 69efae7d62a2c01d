//! What a load run measures: latency histograms (HdrHistogram, in microseconds) per call and per
//! whole transaction, failures by call, status and code, and a timeline of each second. Every
//! part adds up exactly, so the reports of shards merge into the report one generator would
//! have written.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The lowest latency told apart: one microsecond.
const LOWEST_US: u64 = 1;
/// The highest latency kept exactly: an hour (longer ones count as an hour).
const HIGHEST_US: u64 = 3_600_000_000;
/// Significant figures of the run's histograms (0.1 %).
const RUN_FIGURES: u8 = 3;
/// Significant figures of each second's histogram (1 %), which only the charts read.
const SECOND_FIGURES: u8 = 2;

/// The calls of a load run, in the order a transaction makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// A device's user logs in (`POST /oauth/token`), before the arrivals.
    Login,
    /// A device enrolls (`POST /mobile-auth/v1/enrollments`), before the arrivals.
    Enroll,
    /// The portal starts an OTP (`POST /oauth/api/v4/authenticate/user`).
    AuthenticateUser,
    /// The device fetches the request behind the OTP (`POST /mobile-auth/v1/otp/requests`).
    OtpRequest,
    /// The device sends its signed answer (`POST .../otp/requests/{id}/answer`).
    Answer,
    /// From the device sending its answer to the server's callback reaching the portal (a server
    /// may call back before it replies to the answer).
    Callback,
    /// The portal reads the transaction's status (`GET /oauth/api/v4/authenticate/transaction/{id}`).
    Status,
}

impl Call {
    /// Every call, in order.
    pub const ALL: [Call; 7] = [
        Call::Login,
        Call::Enroll,
        Call::AuthenticateUser,
        Call::OtpRequest,
        Call::Answer,
        Call::Callback,
        Call::Status,
    ];

    /// Its name in reports and thresholds.
    pub fn name(self) -> &'static str {
        match self {
            Call::Login => "login",
            Call::Enroll => "enroll",
            Call::AuthenticateUser => "authenticate_user",
            Call::OtpRequest => "otp_request",
            Call::Answer => "answer",
            Call::Callback => "callback",
            Call::Status => "status",
        }
    }

    /// The call named `name`.
    pub fn named(name: &str) -> Option<Call> {
        Call::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A latency histogram, exact to [`RUN_FIGURES`] significant figures; in JSON its buckets, each
/// as `[highest value in microseconds, count]`, from which it is rebuilt exactly.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl PartialEq for Latencies {
    fn eq(&self, other: &Self) -> bool {
        self.buckets() == other.buckets()
    }
}

impl Latencies {
    fn with_figures(figures: u8) -> Self {
        Latencies(
            Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, figures)
                .expect("the bounds are constants that HdrHistogram accepts"),
        )
    }

    /// An empty histogram at the run's precision.
    pub fn new() -> Self {
        Self::with_figures(RUN_FIGURES)
    }

    /// Counts one latency (at least a microsecond, at most an hour).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(LOWEST_US, HIGHEST_US);
        self.0.saturating_record(us);
    }

    /// How many latencies it holds.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency below which `percent` of them are (0 when empty).
    pub fn percentile(&self, percent: f64) -> Duration {
        Duration::from_micros(if self.0.is_empty() { 0 } else { self.0.value_at_percentile(percent) })
    }

    /// The highest.
    pub fn max(&self) -> Duration {
        Duration::from_micros(if self.0.is_empty() { 0 } else { self.0.max() })
    }

    /// The mean.
    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(if self.0.is_empty() { 0.0 } else { self.0.mean() / 1e6 })
    }

    /// Adds every latency of `other` (of the same precision).
    pub fn add(&mut self, other: &Latencies) {
        for (value, count) in other.buckets() {
            self.0.saturating_record_n(value, count);
        }
    }

    /// The non-empty buckets, each as its highest value and count.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.0.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
    }

    fn from_buckets(figures: u8, buckets: &[(u64, u64)]) -> Result<Self, String> {
        let mut latencies = Self::with_figures(figures);
        for &(value, count) in buckets {
            // The top bucket's highest value lies a little above an hour; beyond it, record_n refuses.
            if value < LOWEST_US {
                return Err(format!("a bucket at {value} us, below 1 us"));
            }
            latencies.0.record_n(value, count).map_err(|e| format!("a bucket at {value} us: {e:?}"))?;
        }
        Ok(latencies)
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Serialize for Latencies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.buckets().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Latencies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let buckets = Vec::<(u64, u64)>::deserialize(d)?;
        Latencies::from_buckets(RUN_FIGURES, &buckets).map_err(serde::de::Error::custom)
    }
}

/// A second's histogram: coarser, for the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondLatencies(Latencies);

impl SecondLatencies {
    fn new() -> Self {
        SecondLatencies(Latencies::with_figures(SECOND_FIGURES))
    }

    /// The histogram.
    pub fn get(&self) -> &Latencies {
        &self.0
    }
}

impl Serialize for SecondLatencies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SecondLatencies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let buckets = Vec::<(u64, u64)>::deserialize(d)?;
        Latencies::from_buckets(SECOND_FIGURES, &buckets)
            .map(SecondLatencies)
            .map_err(serde::de::Error::custom)
    }
}

/// Why a call failed, as reports count it: the call, the HTTP status when one came, and what
/// came (the error code and type, the OAuth error, or what went wrong).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Failure {
    /// The call that failed.
    pub call: Call,
    /// The status of its answer, when one came.
    pub status: Option<u16>,
    /// What it was: `9016 INVALID_SIGNATURE`, `invalid_grant`, `unexpected answer`, `no answer`,
    /// `no callback within 10s`, `status denied`.
    pub what: String,
}

impl Failure {
    /// What a peer's refusal or misbehaviour was, as a failure of `call`.
    pub fn of_peer(call: Call, error: &transcript::PeerError) -> Failure {
        use transcript::PeerError;
        let (status, what) = match error {
            PeerError::Refused { status, body } => {
                (Some(*status), format!("{} {}", body.error_code, body.error_type))
            }
            PeerError::OAuthRefused { status, body } => (Some(*status), body.error.as_str().to_string()),
            PeerError::Unexpected { status, .. } => (Some(*status), "unexpected answer".to_string()),
            PeerError::Unreachable { .. } => (None, "no answer".to_string()),
            _ => (None, "failed".to_string()),
        };
        // Codes and types are the peer's: bound what a report carries of them.
        Failure { call, status, what: what.chars().take(80).collect() }
    }
}

impl Failure {
    /// The kind that failures of `call` past [`MAX_FAILURE_KINDS`] are counted as.
    pub fn other(call: Call) -> Failure {
        Failure { call, status: None, what: format!("other failures (past {MAX_FAILURE_KINDS} kinds)") }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{}: {status} {}", self.call, self.what),
            None => write!(f, "{}: {}", self.call, self.what),
        }
    }
}

/// One second of the run, counted by when things happened in it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Second {
    /// Transactions that arrived (were started).
    pub started: u64,
    /// Transactions that ended accepted.
    pub completed: u64,
    /// Transactions that failed.
    pub failed: u64,
    /// End-to-end latencies of the transactions that ended in it.
    pub latencies: Option<SecondLatencies>,
}

/// How well the generator kept the plan: its own limit, apart from the server's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Generator {
    /// Arrivals the plan gave this generator.
    pub asked: u64,
    /// Arrivals started more than [`LATE`] after they were due (the generator was short of CPU).
    pub late: u64,
    /// The latest start after an arrival was due, in microseconds.
    pub max_lateness_us: u64,
    /// Arrivals not started because the in-flight bound was reached (the server kept that many
    /// transactions open); each counts as a failed transaction too.
    pub dropped: u64,
    /// Transactions that waited for an idle device (the population was too small for the rate).
    pub waited_for_device: u64,
}

/// An arrival started later than this after it was due was started late.
pub const LATE: Duration = Duration::from_millis(10);

impl Generator {
    /// Whether the generator kept the asked rate: no arrival late, dropped or kept waiting.
    pub fn kept_rate(&self) -> bool {
        self.late == 0 && self.dropped == 0 && self.waited_for_device == 0
    }

    fn add(&mut self, other: &Generator) {
        self.asked += other.asked;
        self.late += other.late;
        self.max_lateness_us = self.max_lateness_us.max(other.max_lateness_us);
        self.dropped += other.dropped;
        self.waited_for_device += other.waited_for_device;
    }
}

/// Everything a run measured, added to as it goes; shards' measurements add up ([`Measured::add`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measured {
    /// Each call's latencies (successes only: a failure is counted in `failures`).
    pub calls: BTreeMap<Call, Latencies>,
    /// Whole transactions that ended accepted, from when each was due to its status read.
    pub transactions: Latencies,
    /// Transactions that failed.
    pub failed_transactions: u64,
    /// Failures by call, status and what.
    pub failures: BTreeMap<String, FailureCount>,
    /// The run's seconds, from its start.
    pub timeline: Vec<Second>,
    /// The generator's own limit.
    pub generator: Generator,
    /// Callbacks that came for no transaction of the run (a repeat, or another run's).
    pub stray_callbacks: u64,
}

/// A failure and how often it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCount {
    /// The failure.
    pub failure: Failure,
    /// How often.
    pub count: u64,
}

/// The most kinds of failure a report tells apart (the rest are counted by call).
pub const MAX_FAILURE_KINDS: usize = 64;

/// The most seconds a timeline holds (a day).
const MAX_SECONDS: usize = 24 * 3600 + 60;

impl Measured {
    fn second(&mut self, at: Duration) -> &mut Second {
        let index = usize::try_from(at.as_secs()).unwrap_or(usize::MAX).min(MAX_SECONDS);
        if self.timeline.len() <= index {
            self.timeline.resize_with(index + 1, Second::default);
        }
        &mut self.timeline[index]
    }

    /// A call that succeeded after `latency`.
    pub fn call(&mut self, call: Call, latency: Duration) {
        self.calls.entry(call).or_default().record(latency);
    }

    /// A failure of a call (its transaction fails with it when it is one's).
    pub fn failure(&mut self, failure: Failure) {
        self.count_failure(failure, 1);
    }

    /// Counts `n` of `failure`. The kinds are the server's codes and types, so a server that
    /// answers each call with another one would grow the report with every call: past
    /// [`MAX_FAILURE_KINDS`] kinds, a new one is counted as [`Failure::other`] of its call.
    fn count_failure(&mut self, failure: Failure, n: u64) {
        let key = failure.to_string();
        let failure = if self.failures.contains_key(&key) || self.failures.len() < MAX_FAILURE_KINDS {
            failure
        } else {
            Failure::other(failure.call)
        };
        self.failures.entry(failure.to_string()).or_insert(FailureCount { failure, count: 0 }).count += n;
    }

    /// An arrival due at `due` (from the run's start) started `lateness` after it.
    pub fn arrival(&mut self, due: Duration, lateness: Duration) {
        self.generator.asked += 1;
        if lateness > LATE {
            self.generator.late += 1;
        }
        let us = u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX);
        self.generator.max_lateness_us = self.generator.max_lateness_us.max(us);
        self.second(due).started += 1;
    }

    /// A transaction that ended at `at` (from the run's start), accepted after `latency` from when
    /// it was due, or failed.
    pub fn transaction(&mut self, at: Duration, outcome: Result<Duration, Failure>) {
        match outcome {
            Ok(latency) => {
                self.transactions.record(latency);
                let second = self.second(at);
                second.completed += 1;
                second.latencies.get_or_insert_with(SecondLatencies::new).0.record(latency);
            }
            Err(failure) => {
                self.failed_transactions += 1;
                self.second(at).failed += 1;
                self.failure(failure);
            }
        }
    }

    /// Transactions that started (an arrival dropped at the in-flight bound never did).
    pub fn started(&self) -> u64 {
        self.generator.asked - self.generator.dropped
    }

    /// Transactions that ended accepted.
    pub fn completed(&self) -> u64 {
        self.transactions.count()
    }

    /// Adds `other`'s measurements (another shard of the same plan), second by second.
    pub fn add(&mut self, other: &Measured) {
        for (call, latencies) in &other.calls {
            self.calls.entry(*call).or_default().add(latencies);
        }
        self.transactions.add(&other.transactions);
        self.failed_transactions += other.failed_transactions;
        for failure in other.failures.values() {
            self.count_failure(failure.failure.clone(), failure.count);
        }
        if self.timeline.len() < other.timeline.len() {
            self.timeline.resize_with(other.timeline.len(), Second::default);
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            mine.started += theirs.started;
            mine.completed += theirs.completed;
            mine.failed += theirs.failed;
            if let Some(latencies) = &theirs.latencies {
                mine.latencies.get_or_insert_with(SecondLatencies::new).0.add(&latencies.0);
            }
        }
        self.generator.add(&other.generator);
        self.stray_callbacks += other.stray_callbacks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_comes_back_exactly_from_its_json() {
        let mut latencies = Latencies::new();
        for us in [1, 7, 999, 1000, 1001, 12_345, 250_000, 3_599_999_999, 9_000_000_000] {
            latencies.record(Duration::from_micros(us));
        }
        let json = serde_json::to_string(&latencies).expect("serialises");
        let back: Latencies = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, latencies);
        assert_eq!((back.count(), back.max()), (9, latencies.max()));
        assert!(serde_json::from_str::<Latencies>("[[0, 1]]").is_err(), "a bucket below 1 us");
        assert!(
            serde_json::from_str::<Latencies>("[[99999999999999, 1]]").is_err(),
            "a bucket above an hour"
        );
    }

    /// A server that answers every call with a code of its own grows the failures by call only.
    #[test]
    fn failure_kinds_are_bounded() {
        let mut m = Measured::default();
        for code in 0..1000 {
            m.failure(Failure { call: Call::Answer, status: Some(400), what: format!("{code} MADE_UP") });
        }
        m.failure(Failure { call: Call::Answer, status: Some(400), what: "0 MADE_UP".into() });
        assert_eq!(m.failures.len(), MAX_FAILURE_KINDS + 1);
        assert_eq!(m.failures["answer: 400 0 MADE_UP"].count, 2, "a kind already counted keeps counting");
        let other = Failure::other(Call::Answer).to_string();
        assert_eq!(m.failures[&other].count, 1000 - MAX_FAILURE_KINDS as u64);
        assert_eq!(m.failures.values().map(|f| f.count).sum::<u64>(), 1001);
    }

    #[test]
    fn measurements_of_two_shards_add_up_to_those_of_one_run() {
        let mut one = Measured::default();
        let mut shards = [Measured::default(), Measured::default()];
        for i in 0..100u64 {
            let due = Duration::from_millis(i * 37);
            let latency = Duration::from_micros(500 + i * i * 13);
            let outcome = if i % 9 == 0 {
                Err(Failure { call: Call::Answer, status: Some(400), what: "9016 INVALID_SIGNATURE".into() })
            } else {
                Ok(latency)
            };
            for m in [&mut one, &mut shards[usize::try_from(i % 2).expect("0 or 1")]] {
                m.arrival(due, Duration::from_micros(i));
                m.call(Call::AuthenticateUser, latency / 3);
                m.transaction(due + latency, outcome.clone());
            }
        }
        let mut merged = shards[0].clone();
        merged.add(&shards[1]);
        assert_eq!(merged, one);
        assert_eq!((one.completed(), one.failed_transactions, one.started()), (88, 12, 100));
    }
}
