//! The expectations file: known failures of a target, each with a reason, an owner and an expiry
//! date.
//!
//! ```toml
//! [[expected_failure]]
//! requirement = "OTP-012"          # a requirement ID, or a pattern such as "CB-*"
//! reason = "the SDK trims OTPs; fix planned for 4.2"
//! owner = "sdk-team"
//! expires = 2026-06-30
//!
//! [[expected_failure]]
//! scenario = "A callback is retried*"   # a scenario name or FILE:LINE id; `*` and `?` are wildcards
//! reason = "the server retries once only"
//! owner = "server-team"
//! expires = 2026-03-31
//! ```
//!
//! A listed failure does not fail the gate (its verdict is *expected failure*). An entry whose
//! scenarios now pass (*unexpected pass*), that has expired (its failures count again) or that
//! matches no scenario of the suite is reported and fails the gate.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;

use super::ScenarioResult;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Scenarios tagged with a requirement ID that matches (`OTP-012`, `CB-*`).
    Requirement(String),
    /// Scenarios whose name or `FILE:LINE` id matches.
    Scenario(String),
}

impl Pattern {
    /// Whether a scenario with this name, id and requirement IDs matches.
    pub fn matches_parts(&self, name: &str, id: &str, requirements: &[String]) -> bool {
        match self {
            Pattern::Requirement(pattern) => requirements.iter().any(|r| glob(pattern, r)),
            Pattern::Scenario(pattern) => glob(pattern, name) || glob(pattern, id),
        }
    }

    /// Whether `scenario` matches.
    pub fn matches(&self, scenario: &ScenarioResult) -> bool {
        self.matches_parts(&scenario.name, &scenario.id, &scenario.requirements)
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Requirement(p) => write!(f, "requirement {p:?}"),
            Pattern::Scenario(p) => write!(f, "scenario {p:?}"),
        }
    }
}

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// What it matches.
    #[serde(flatten)]
    pub pattern: Pattern,
    /// Why it fails.
    pub reason: String,
    /// Who sees to it.
    pub owner: String,
    /// The last day it holds; from the day after, its failures count again.
    #[serde(with = "iso_date")]
    pub expires: Date,
}

/// What became of an entry in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationStatus {
    /// A scenario it matches failed, as it says.
    Holds,
    /// It matches scenarios of the suite, but none of them ran to a pass or a failure here.
    NotRun,
    /// A scenario it matches passed: remove the entry (fails the gate).
    NowPasses,
    /// Its date has passed (fails the gate, and its failures count again).
    Expired,
    /// It matches no scenario of the suite (fails the gate).
    Unmatched,
}

impl ExpectationStatus {
    /// What is wrong, when something is.
    pub fn problem(self) -> Option<&'static str> {
        match self {
            ExpectationStatus::Holds | ExpectationStatus::NotRun => None,
            ExpectationStatus::NowPasses => Some("now passes; remove the entry"),
            ExpectationStatus::Expired => Some("has expired"),
            ExpectationStatus::Unmatched => Some("matches no scenario of the suite"),
        }
    }

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectationStatus::Holds => "holds",
            ExpectationStatus::NotRun => "not_run",
            ExpectationStatus::NowPasses => "now_passes",
            ExpectationStatus::Expired => "expired",
            ExpectationStatus::Unmatched => "unmatched",
        }
    }
}

/// Why an expectations file cannot be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// It cannot be read.
    #[error("cannot read the expectations file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not TOML of the expected shape.
    #[error("the expectations file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// An entry is incomplete or contradictory.
    #[error("the expectations file {path}, entry {number}: {message}")]
    Entry {
        /// The file.
        path: String,
        /// 1-based entry number.
        number: usize,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    expected_failure: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    requirement: Option<String>,
    scenario: Option<String>,
    reason: Option<String>,
    owner: Option<String>,
    expires: Option<toml::value::Datetime>,
}

/// The entries of an expectations file (none when a run has no file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    entries: Vec<Expectation>,
}

impl Expectations {
    /// No entries.
    pub fn none() -> Self {
        Self::default()
    }

    /// Entries as given.
    pub fn from_entries(entries: Vec<Expectation>) -> Self {
        Self { entries }
    }

    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Self, ExpectationsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ExpectationsError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a file called `path` (the name is for messages).
    pub fn parse(text: &str, path: &str) -> Result<Self, ExpectationsError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ExpectationsError::Syntax {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let entries = raw
            .expected_failure
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                check(entry).map_err(|message| ExpectationsError::Entry {
                    path: path.to_string(),
                    number: i + 1,
                    message,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Expectation] {
        &self.entries
    }
}

fn check(raw: RawEntry) -> Result<Expectation, String> {
    let pattern = match (raw.requirement, raw.scenario) {
        (Some(_), Some(_)) => return Err("give `requirement` or `scenario`, not both".into()),
        (None, None) => {
            return Err("give `requirement` (an ID or pattern) or `scenario` (a name pattern)".into());
        }
        (Some(p), None) => {
            let ok = !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '*' | '?'));
            if !ok {
                return Err(format!("`requirement` {p:?} is not an ID like ENR-001 or a pattern like ENR-*"));
            }
            Pattern::Requirement(p)
        }
        (None, Some(p)) if p.trim().is_empty() => return Err("`scenario` is empty".into()),
        (None, Some(p)) => Pattern::Scenario(p),
    };
    let reason = raw.reason.filter(|r| !r.trim().is_empty()).ok_or("`reason` is missing")?;
    let owner = raw.owner.filter(|o| !o.trim().is_empty()).ok_or("`owner` is missing")?;
    let expires = raw.expires.ok_or("`expires` (a date such as 2026-06-30) is missing")?;
    let date = match (expires.date, expires.time) {
        (Some(date), None) => date,
        _ => return Err(format!("`expires` must be a date such as 2026-06-30, not {expires}")),
    };
    let month = time::Month::try_from(date.month).map_err(|e| format!("`expires`: {e}"))?;
    let expires = Date::from_calendar_date(i32::from(date.year), month, date.day)
        .map_err(|e| format!("`expires`: {e}"))?;
    Ok(Expectation { pattern, reason, owner, expires })
}

/// `*` matches any text (also none), `?` one character; everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_wildcards() {
        let table = [
            ("ENR-001", "ENR-001", true),
            ("ENR-*", "ENR-001", true),
            ("ENR-00?", "ENR-010", false),
            ("*enrolls*", "A device enrolls twice", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(glob(pattern, text), expected, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn a_file_parses_and_mistakes_are_told_by_entry() {
        let good = "[[expected_failure]]\nrequirement = \"OTP-012\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-06-30\n";
        let parsed = Expectations::parse(good, "x.toml").map(|e| e.entries().to_vec());
        let expected = Expectation {
            pattern: Pattern::Requirement("OTP-012".into()),
            reason: "r".into(),
            owner: "o".into(),
            expires: time::macros::date!(2026 - 06 - 30),
        };
        assert_eq!(parsed.ok(), Some(vec![expected]));
        let cases = [
            (
                "[[expected_failure]]\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-06-30\n",
                "the expectations file x.toml, entry 1: give `requirement` (an ID or pattern) or `scenario` (a name pattern)",
            ),
            (
                "[[expected_failure]]\nscenario = \"s\"\nowner = \"o\"\nexpires = 2026-06-30\n",
                "the expectations file x.toml, entry 1: `reason` is missing",
            ),
            (
                "[[expected_failure]]\nscenario = \"s\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-06-30T10:00:00Z\n",
                "the expectations file x.toml, entry 1: `expires` must be a date such as 2026-06-30, not 2026-06-30T10:00:00Z",
            ),
            (
                "[[expected_failure]]\nrequirement = \"enr 1\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-06-30\n",
                "the expectations file x.toml, entry 1: `requirement` \"enr 1\" is not an ID like ENR-001 or a pattern like ENR-*",
            ),
        ];
        for (text, message) in cases {
            let error = Expectations::parse(text, "x.toml").err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(message));
        }
        let unknown = Expectations::parse("[[expected_failure]]\nwho = 1\n", "x.toml").err();
        assert!(matches!(unknown, Some(ExpectationsError::Syntax { .. })), "{unknown:?}");
    }
}
