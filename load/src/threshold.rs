//! Thresholds: `p99 < 250ms`, `errors < 0.1%`, `answer.p99.9 <= 50ms`, `throughput >= 100/s`.
//! Each holds or not on what a run measured, and one that does not fails the run (exit 1).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::schedule::{self, Rate};
use crate::stats::{Call, Latencies, Measured};

/// A statistic of a latency histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// The latency below which this percent are (`p50`, `p99.9`).
    Percentile(f64),
    /// The mean.
    Mean,
    /// The highest.
    Max,
}

/// What a threshold bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency statistic of whole transactions, or of one call (`answer.p99`).
    Latency(Option<Call>, Stat),
    /// Failed transactions, as a share of those due.
    Errors,
    /// Transactions that ended accepted, a second of the plan.
    Throughput,
}

/// How a measurement is compared with the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Below,
    /// `<=`
    AtMost,
    /// `>`
    Above,
    /// `>=`
    AtLeast,
}

impl Op {
    fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Op::Below => actual < bound,
            Op::AtMost => actual <= bound,
            Op::Above => actual > bound,
            Op::AtLeast => actual >= bound,
        }
    }

    /// `<`, `<=`, `>` or `>=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Below => "<",
            Op::AtMost => "<=",
            Op::Above => ">",
            Op::AtLeast => ">=",
        }
    }
}

/// A threshold, as given (`--threshold 'p99 < 250ms'`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What it bounds.
    pub metric: Metric,
    /// How.
    pub op: Op,
    /// The bound, in the metric's unit: seconds for latencies, a fraction for errors, arrivals a
    /// second for throughput.
    pub bound: f64,
    /// As given, trimmed.
    pub text: String,
}

/// A threshold that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "threshold {given:?}: {why} (e.g. 'p99 < 250ms', 'answer.max <= 1s', 'errors < 0.1%', 'throughput >= 100/s')"
)]
pub struct ThresholdError {
    given: String,
    why: String,
}

impl Threshold {
    /// Parses `METRIC OP BOUND`.
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let bad = |why: &str| ThresholdError { given: text.to_string(), why: why.to_string() };
        let t = text.trim();
        let (at, op) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|symbol| t.find(symbol).map(|at| (at, *symbol)))
            .ok_or_else(|| bad("no comparison (<, <=, > or >=)"))?;
        let (name, bound) = (t[..at].trim(), t[at + op.len()..].trim());
        let op = match op {
            "<=" => Op::AtMost,
            ">=" => Op::AtLeast,
            "<" => Op::Below,
            _ => Op::Above,
        };
        let metric = match name {
            "errors" => Metric::Errors,
            "throughput" => Metric::Throughput,
            _ => {
                let (call, stat) = match name.split_once('.') {
                    Some((call, stat)) if Call::named(call).is_some() => (Call::named(call), stat),
                    _ => (None, name),
                };
                let stat = match stat {
                    "max" => Stat::Max,
                    "mean" => Stat::Mean,
                    _ => {
                        let percent: f64 = stat
                            .strip_prefix('p')
                            .and_then(|p| p.parse().ok())
                            .ok_or_else(|| bad("no such metric: errors, throughput, pNN, mean or max, optionally after a call's name and a dot"))?;
                        if !(0.0..=100.0).contains(&percent) {
                            return Err(bad("a percentile is between p0 and p100"));
                        }
                        Stat::Percentile(percent)
                    }
                };
                Metric::Latency(call, stat)
            }
        };
        let bound = match metric {
            Metric::Latency(..) => {
                schedule::parse_duration(bound).map_err(|e| bad(&e.to_string()))?.as_secs_f64()
            }
            Metric::Errors => {
                let percent = bound.strip_suffix('%').ok_or_else(|| bad("an error rate is a percentage"))?;
                let percent: f64 = percent.trim().parse().map_err(|_| bad("not a percentage"))?;
                if !(0.0..=100.0).contains(&percent) {
                    return Err(bad("a percentage is between 0% and 100%"));
                }
                percent / 100.0
            }
            Metric::Throughput => Rate::parse(bound).map_err(|e| bad(&e.to_string()))?.get(),
        };
        Ok(Threshold { metric, op, bound, text: t.to_string() })
    }

    /// The threshold's measurement on `measured` over a plan of `plan` seconds, in its unit.
    fn measure(&self, measured: &Measured, plan: Duration) -> Option<f64> {
        match self.metric {
            Metric::Latency(call, stat) => {
                let latencies: &Latencies = match call {
                    None => &measured.transactions,
                    Some(call) => measured.calls.get(&call)?,
                };
                if latencies.count() == 0 {
                    return None;
                }
                let value = match stat {
                    Stat::Percentile(p) => latencies.percentile(p),
                    Stat::Mean => latencies.mean(),
                    Stat::Max => latencies.max(),
                };
                Some(value.as_secs_f64())
            }
            Metric::Errors => {
                let asked = measured.generator.asked;
                #[allow(clippy::cast_precision_loss, reason = "counts of a run are far below 2^52")]
                (asked > 0).then(|| measured.failed_transactions as f64 / asked as f64)
            }
            #[allow(clippy::cast_precision_loss, reason = "counts of a run are far below 2^52")]
            Metric::Throughput => {
                (plan > Duration::ZERO).then(|| measured.completed() as f64 / plan.as_secs_f64())
            }
        }
    }

    fn show(&self, value: f64) -> String {
        match self.metric {
            Metric::Latency(..) => format!("{:.3} ms", value * 1000.0),
            Metric::Errors => format!("{:.3}%", value * 100.0),
            Metric::Throughput => format!("{value:.1}/s"),
        }
    }

    /// Whether the threshold holds on `measured`: one with nothing to measure (no transaction
    /// ended, say) does not.
    pub fn check(&self, measured: &Measured, plan: Duration) -> Checked {
        let actual = self.measure(measured, plan);
        Checked {
            threshold: self.text.clone(),
            actual: actual.map_or_else(|| "nothing measured".to_string(), |v| self.show(v)),
            passed: actual.is_some_and(|v| self.op.holds(v, self.bound)),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A threshold and how the run measured against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    /// As given.
    pub threshold: String,
    /// What was measured, with its unit.
    pub actual: String,
    /// Whether it holds.
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Failure;

    fn measured() -> Measured {
        let mut m = Measured::default();
        for i in 1..=100u64 {
            m.arrival(Duration::ZERO, Duration::ZERO);
            m.call(Call::Answer, Duration::from_millis(i));
            m.transaction(Duration::from_secs(1), Ok(Duration::from_millis(10 * i)));
        }
        m.arrival(Duration::ZERO, Duration::ZERO);
        m.transaction(
            Duration::from_secs(1),
            Err(Failure { call: Call::Status, status: None, what: "no answer".into() }),
        );
        m
    }

    /// (threshold, holds, measured as shown) on 100 transactions of 10..=1000 ms, answers of
    /// 1..=100 ms, 1 failure in 101, over 10 s.
    #[test]
    fn thresholds_hold_or_not_on_what_was_measured() {
        let cases = [
            ("p99 < 1s", true, "990.207 ms"),
            ("p99 < 900ms", false, "990.207 ms"),
            // A bucket's value is the highest it holds, up to 0.1 % above what was recorded.
            ("p50 <= 500ms", false, "500.223 ms"),
            ("p50 < 501ms", true, "500.223 ms"),
            ("max >= 1s", true, "1000.447 ms"),
            ("answer.p99.9 < 101ms", true, "100.031 ms"),
            ("answer.mean > 60ms", false, "50.504 ms"),
            ("errors < 1%", true, "0.990%"),
            ("errors < 0.5%", false, "0.990%"),
            ("throughput >= 10/s", true, "10.0/s"),
            ("throughput > 600/min", false, "10.0/s"),
            ("status.p99 < 1s", false, "nothing measured"),
        ];
        let m = measured();
        for (text, passed, actual) in cases {
            let threshold = Threshold::parse(text).expect("a threshold");
            let checked = threshold.check(&m, Duration::from_secs(10));
            assert_eq!((checked.passed, checked.actual.as_str()), (passed, actual), "{text}");
        }
    }

    /// (text, what the error says)
    #[test]
    fn a_threshold_that_does_not_parse_says_why() {
        let cases = [
            ("p99 250ms", "no comparison"),
            ("p101 < 1s", "between p0 and p100"),
            ("latency < 1s", "no such metric"),
            ("p99 < soon", "duration"),
            ("errors < 1", "a percentage"),
            ("errors < 101%", "between 0% and 100%"),
            ("throughput > fast", "rate"),
        ];
        for (text, why) in cases {
            let error = Threshold::parse(text).expect_err(text).to_string();
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
