//! When transactions arrive: a rate that ramps up, holds and ramps down, and the arrival instants
//! it gives. The model is open: an arrival's instant is fixed by the plan alone, never by when
//! earlier transactions end, so a slow server cannot slow the arrivals and hide its slowness
//! (no coordinated omission). Pure: instants are offsets from the run's start.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Arrivals a second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rate(f64);

/// A phrase that is not a rate, a duration or a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {given:?}: {why}")]
pub struct PlanError {
    what: &'static str,
    given: String,
    why: &'static str,
}

impl PlanError {
    fn new(what: &'static str, given: &str, why: &'static str) -> Self {
        Self { what, given: given.to_string(), why }
    }
}

/// The most arrivals a second a plan may ask for: a bound on what one generator schedules.
pub const MAX_RATE: f64 = 100_000.0;
/// The longest a plan may last.
pub const MAX_PLAN: Duration = Duration::from_secs(24 * 3600);

impl Rate {
    /// `n` arrivals a second (`0 <= n <= MAX_RATE`).
    pub fn per_second(n: f64) -> Result<Rate, PlanError> {
        if n.is_finite() && (0.0..=MAX_RATE).contains(&n) {
            Ok(Rate(n))
        } else {
            Err(PlanError::new("rate", &n.to_string(), "not between 0 and 100000 a second"))
        }
    }

    /// Arrivals a second.
    pub fn get(self) -> f64 {
        self.0
    }

    /// `50`, `50/s`, `3000/min` or `36000/h`.
    pub fn parse(text: &str) -> Result<Rate, PlanError> {
        let (number, per) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
        let seconds = match per.trim() {
            "s" => 1.0,
            "min" | "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(PlanError::new("rate", text, "the unit is /s, /min or /h")),
        };
        let n: f64 =
            number.trim().parse().map_err(|_| PlanError::new("rate", text, "not a number of arrivals"))?;
        Rate::per_second(n / seconds)
            .map_err(|_| PlanError::new("rate", text, "not between 0 and 100000 a second"))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// `500ms`, `30s`, `2m`, `1h` or a bare number of seconds, at most [`MAX_PLAN`].
pub fn parse_duration(text: &str) -> Result<Duration, PlanError> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| PlanError::new("duration", text, "not a number"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "us" | "µs" => n / 1_000_000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(PlanError::new("duration", text, "the unit is us, ms, s, m or h")),
    };
    if !(seconds.is_finite() && seconds >= 0.0 && seconds <= MAX_PLAN.as_secs_f64()) {
        return Err(PlanError::new("duration", text, "not between 0 and 24 hours"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// What a phase of a plan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// From no arrivals to the rate.
    RampUp,
    /// At the rate.
    Hold,
    /// From the rate to none.
    RampDown,
}

/// A stretch of the plan whose rate goes linearly from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Ramp up, hold or ramp down.
    pub kind: PhaseKind,
    /// How long it lasts.
    #[serde(with = "millis")]
    pub duration: Duration,
    /// The rate at its start.
    pub from: Rate,
    /// The rate at its end.
    pub to: Rate,
}

impl Phase {
    /// How many arrivals it holds: the integral of its rate.
    fn arrivals(&self) -> f64 {
        (self.from.0 + self.to.0) / 2.0 * self.duration.as_secs_f64()
    }

    /// The time into the phase by which `n` arrivals are due (`0 <= n <= self.arrivals()`): the
    /// `t` at which `from*t + (to-from)*t^2/(2*duration) = n`, in the form that stays exact when
    /// the rate is flat or starts at zero.
    fn time_of(&self, n: f64) -> f64 {
        let a = self.from.0;
        let slope = (self.to.0 - self.from.0) / self.duration.as_secs_f64();
        let root = (a * a + 2.0 * slope * n).max(0.0).sqrt();
        if a + root == 0.0 { 0.0 } else { 2.0 * n / (a + root) }
    }
}

/// Phases in turn: `ramp_up` from none to `rate`, `hold` at it, `ramp_down` to none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The phases that last, in order.
    pub phases: Vec<Phase>,
}

impl Plan {
    /// The plan of a ramp up, a hold and a ramp down at `rate` (phases of no length left out).
    pub fn new(
        rate: Rate,
        ramp_up: Duration,
        hold: Duration,
        ramp_down: Duration,
    ) -> Result<Plan, PlanError> {
        let total = ramp_up + hold + ramp_down;
        if total > MAX_PLAN {
            return Err(PlanError::new("plan", &format!("{total:?}"), "longer than 24 hours"));
        }
        let zero = Rate(0.0);
        let phases = [
            Phase { kind: PhaseKind::RampUp, duration: ramp_up, from: zero, to: rate },
            Phase { kind: PhaseKind::Hold, duration: hold, from: rate, to: rate },
            Phase { kind: PhaseKind::RampDown, duration: ramp_down, from: rate, to: zero },
        ]
        .into_iter()
        .filter(|p| !p.duration.is_zero())
        .collect();
        Ok(Plan { phases })
    }

    /// How long the plan lasts.
    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// The arrivals of the whole plan, in order: the `n`-th (from 0) when `n + 1/2` arrivals are
    /// due, so a flat rate `r` over `d` seconds gives `round(r*d)` arrivals evenly spaced.
    pub fn arrivals(&self) -> Arrivals<'_> {
        Arrivals { plan: self, n: 0, phase: 0, before: 0.0, start: Duration::ZERO }
    }
}

/// One arrival of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Its number in the whole plan (from 0), the same in every shard.
    pub index: u64,
    /// When it is due, from the run's start.
    pub at: Duration,
}

/// The arrivals of a plan ([`Plan::arrivals`]).
#[derive(Debug, Clone)]
pub struct Arrivals<'a> {
    plan: &'a Plan,
    n: u64,
    phase: usize,
    /// Arrivals due before the current phase.
    before: f64,
    /// When the current phase starts.
    start: Duration,
}

impl Iterator for Arrivals<'_> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        #[allow(clippy::cast_precision_loss, reason = "plans hold far fewer than 2^52 arrivals")]
        let due = self.n as f64 + 0.5;
        loop {
            let phase = self.plan.phases.get(self.phase)?;
            let within = due - self.before;
            if within <= phase.arrivals() {
                let offset = Duration::from_secs_f64(phase.time_of(within).min(phase.duration.as_secs_f64()));
                let arrival = Arrival { index: self.n, at: self.start + offset };
                self.n += 1;
                return Some(arrival);
            }
            self.before += phase.arrivals();
            self.start += phase.duration;
            self.phase += 1;
        }
    }
}

/// Generator `index` of `count` (`--shard K/N`, shown from 1): it runs the arrivals whose number
/// is `index - 1` modulo `count`, so the shards of one plan run exactly its arrivals between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// From 1.
    pub index: u32,
    /// How many generators share the plan.
    pub count: u32,
}

impl Shard {
    /// The whole plan.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// `K/N`, `1 <= K <= N <= 1000`.
    pub fn parse(text: &str) -> Result<Shard, PlanError> {
        let bad = || PlanError::new("shard", text, "not K/N with 1 <= K <= N <= 1000");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count || count > 1000 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether this generator runs `arrival`.
    pub fn runs(self, arrival: &Arrival) -> bool {
        arrival.index % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A duration as whole milliseconds in JSON.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: f64, up: u64, hold: u64, down: u64) -> Plan {
        let s = Duration::from_secs;
        Plan::new(Rate::per_second(rate).expect("a rate in bounds"), s(up), s(hold), s(down)).expect("a plan")
    }

    /// (rate, ramp up, hold, ramp down in seconds, arrivals the plan holds)
    #[test]
    fn a_plan_holds_the_integral_of_its_rate() {
        let cases = [
            (10.0, 0, 5, 0, 50),
            (10.0, 4, 0, 0, 20),
            (10.0, 0, 0, 4, 20),
            (10.0, 2, 3, 2, 50),
            (0.0, 1, 1, 1, 0),
        ];
        for (rate, up, hold, down, want) in cases {
            let plan = plan(rate, up, hold, down);
            let arrivals: Vec<_> = plan.arrivals().collect();
            assert_eq!(arrivals.len(), want, "{rate}/s over {up}+{hold}+{down} s");
            assert!(arrivals.windows(2).all(|w| w[0].at <= w[1].at), "in order");
            assert!(arrivals.iter().all(|a| a.at <= plan.duration()), "within the plan");
            assert!(arrivals.iter().enumerate().all(|(i, a)| a.index == i as u64));
        }
    }

    #[test]
    fn a_flat_rate_spaces_arrivals_evenly_and_a_ramp_speeds_them_up() {
        let flat: Vec<_> = plan(4.0, 0, 1, 0).arrivals().map(|a| a.at.as_millis()).collect();
        assert_eq!(flat, [125, 375, 625, 875]);
        let ramp: Vec<_> = plan(20.0, 2, 0, 0).arrivals().map(|a| a.at).collect();
        let gaps: Vec<_> = ramp.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] <= g[0]), "gaps shrink as the rate rises: {gaps:?}");
        // Half the arrivals of a ramp from zero are due at 1/sqrt(2) of it.
        let half = ramp[ramp.len() / 2].as_secs_f64();
        assert!((half - 2.0 / 2f64.sqrt()).abs() < 0.05, "{half}");
    }

    #[test]
    fn shards_split_a_plan_into_its_arrivals_exactly() {
        let plan = plan(30.0, 1, 2, 1);
        let whole: Vec<_> = plan.arrivals().collect();
        let shards = (1..=3).map(|k| Shard { index: k, count: 3 });
        let mut joined: Vec<_> = shards.flat_map(|s| plan.arrivals().filter(move |a| s.runs(a))).collect();
        joined.sort_by_key(|a| a.index);
        assert_eq!(joined, whole);
    }

    /// (text, parsed)
    #[test]
    fn phrases_parse_or_say_why_not() {
        for (text, per_second) in [("50", 50.0), ("50/s", 50.0), ("3000/min", 50.0), ("36000/h", 10.0)] {
            assert_eq!(Rate::parse(text).map(Rate::get), Ok(per_second), "{text}");
        }
        for text in ["fast", "50/day", "-1", "1000000/s", "NaN"] {
            assert_eq!(Rate::parse(text).map_err(|e| e.what), Err("rate"), "{text}");
        }
        for (text, ms) in [("250ms", 250), ("2s", 2000), ("1.5", 1500), ("2m", 120_000)] {
            assert_eq!(parse_duration(text).map(|d| d.as_millis()), Ok(ms), "{text}");
        }
        for text in ["soon", "5 days", "-3s", "25h"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for text in ["0/3", "4/3", "3", "a/b", "1/1001"] {
            assert_eq!(Shard::parse(text).map_err(|e| e.what), Err("shard"), "{text}");
        }
    }
}
