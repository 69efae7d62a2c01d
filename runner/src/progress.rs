//! Progress on standard error while a run goes: a bar redrawn in place on a terminal, one plain
//! line per finished scenario otherwise (pipes, files, CI logs).

use std::io::{IsTerminal as _, Write as _};
use std::time::Instant;

use report::{Outcome, ScenarioResult};

/// How a run shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Off,
    /// A bar redrawn in place (for a terminal).
    Bar,
    /// A line per finished scenario.
    Lines,
}

impl Progress {
    /// A bar when standard error is a terminal and `CI` is not set, plain lines otherwise.
    pub fn detect() -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        if std::io::stderr().is_terminal() && !ci { Progress::Bar } else { Progress::Lines }
    }
}

/// Width of the bar in characters.
const BAR_WIDTH: usize = 30;

/// Where a run reports finished scenarios.
#[derive(Debug)]
pub(crate) struct Sink {
    mode: Progress,
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
}

impl Sink {
    pub(crate) fn new(mode: Progress, total: usize) -> Self {
        Self { mode, total, done: 0, failed: 0, started: Instant::now() }
    }

    pub(crate) fn scenario_done(&mut self, result: &ScenarioResult) {
        self.done += 1;
        if matches!(result.outcome, Outcome::Failed | Outcome::HarnessError) {
            self.failed += 1;
        }
        let mut err = std::io::stderr().lock();
        match self.mode {
            Progress::Off => {}
            Progress::Lines => {
                let outcome = match result.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "FAILED",
                    Outcome::NotApplicable => "not applicable",
                    Outcome::NotImplemented => "not implemented",
                    Outcome::HarnessError => "HARNESS ERROR",
                };
                let width = self.total.to_string().len();
                let _ = writeln!(
                    err,
                    "[{:>width$}/{}] {outcome:<15} {} {}",
                    self.done, self.total, result.id, result.name
                );
            }
            Progress::Bar => {
                let filled =
                    (self.done * BAR_WIDTH).checked_div(self.total).unwrap_or(BAR_WIDTH).min(BAR_WIDTH);
                let failed =
                    if self.failed > 0 { format!(", {} failed", self.failed) } else { String::new() };
                let _ = write!(
                    err,
                    "\r\x1b[2K[{}{}] {}/{} scenarios{failed}, {:.1} s",
                    "#".repeat(filled),
                    "-".repeat(BAR_WIDTH - filled),
                    self.done,
                    self.total,
                    self.started.elapsed().as_secs_f64(),
                );
                let _ = err.flush();
            }
        }
    }

    pub(crate) fn finish(&mut self) {
        if self.mode == Progress::Bar && self.done > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}
