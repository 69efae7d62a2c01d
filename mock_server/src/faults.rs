//! Injected faults, as Pebble injects them for ACME clients: per method and path prefix, added
//! latency, a forced status or a dropped connection, with a probability and a count, drawn from a
//! seeded generator so a run repeats. Faults never touch the admin API, so a test can always
//! clear them.

use protocol::rng::SeededRng;
use protocol::wire::Fault;
use rand_core::Rng as _;

use crate::readings::FaultCountZero;

/// What to do with one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultAction {
    /// Wait this long first.
    pub latency_ms: u64,
    /// Answer this status instead of handling the request.
    pub status: Option<u16>,
    /// Close the connection without answering.
    pub drop_connection: bool,
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    remaining: Option<u64>,
}

/// The installed faults and their generator.
#[derive(Debug)]
pub struct Faults {
    armed: Vec<Armed>,
    rng: SeededRng,
    /// The faults of the server file, installed at start and by every reset, with their seed.
    start: (Vec<Fault>, u64),
    /// What `"count": 0` means.
    count_zero: FaultCountZero,
}

impl Faults {
    /// No faults; `rng` decides probabilities.
    pub fn new(rng: SeededRng) -> Self {
        Self { armed: Vec::new(), rng, start: (Vec::new(), 0), count_zero: FaultCountZero::NoLimit }
    }

    /// The faults a server starts with (and returns to on reset), drawn with `seed`.
    pub fn with_start(start: Vec<Fault>, seed: u64) -> Self {
        let mut faults = Self::new(protocol::rng::seeded(seed));
        faults.start = (start, seed);
        faults.reset();
        faults
    }

    /// The same faults with `"count": 0` read as `count_zero` says, from now on and after resets.
    pub fn counting_zero_as(mut self, count_zero: FaultCountZero) -> Self {
        self.count_zero = count_zero;
        self.reset();
        self
    }

    /// Back to the start faults, re-seeded (ADM-014: faults not defined at start-up are gone).
    pub fn reset(&mut self) {
        let (start, seed) = self.start.clone();
        self.install(start, seed);
    }

    /// Checks a fault list: probabilities in 0..=1, statuses 100..=599.
    pub fn validate(faults: &[Fault]) -> Result<(), String> {
        for (i, f) in faults.iter().enumerate() {
            if let Some(p) = f.probability
                && !(0.0..=1.0).contains(&p)
            {
                return Err(format!("fault {i}: probability {p} is not between 0 and 1"));
            }
            if let Some(s) = f.status
                && !(200..=599).contains(&s)
            {
                return Err(format!("fault {i}: status {s} is not an HTTP status"));
            }
        }
        Ok(())
    }

    /// Replaces the installed faults and re-seeds the dice, so the same seed and the same
    /// requests give the same faults.
    pub fn install(&mut self, faults: Vec<Fault>, seed: u64) {
        self.rng = protocol::rng::seeded(seed);
        let zero_is_no_limit = self.count_zero == FaultCountZero::NoLimit;
        self.armed = faults
            .into_iter()
            // By default a count of 0 means no limit, as an absent one does; in the other reading
            // it leaves nothing to apply.
            .map(|fault| Armed { remaining: fault.count.filter(|n| *n > 0 || !zero_is_no_limit), fault })
            .collect();
    }

    /// The action for a request: the first matching fault with count left whose dice roll hits.
    pub fn decide(&mut self, method: &str, path: &str) -> FaultAction {
        if path.starts_with(protocol::wire::paths::ADMIN) {
            return FaultAction::default();
        }
        for armed in &mut self.armed {
            let f = &armed.fault;
            let method_ok = f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method));
            let path_ok = f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p));
            if !method_ok || !path_ok || armed.remaining == Some(0) {
                continue;
            }
            let p = f.probability.unwrap_or(1.0);
            // 53 random bits give a uniform float in [0, 1).
            let roll = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if roll >= p {
                continue;
            }
            if let Some(n) = armed.remaining.as_mut() {
                *n -= 1;
            }
            return FaultAction {
                latency_ms: f.latency_ms.unwrap_or(0),
                status: f.status,
                drop_connection: f.drop_connection,
            };
        }
        FaultAction::default()
    }
}
