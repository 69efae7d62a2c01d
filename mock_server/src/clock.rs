//! The server's clock: the one every time rule reads, movable through the admin API.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use protocol::clock::{Clock, SystemClock};
use time::{Duration, OffsetDateTime};

use crate::readings::{ClockAfterMove, Readings};

/// How the server's clock behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Real time, plus whatever the admin API added: what a standalone server wants.
    Running,
    /// Stands still at the given instant until the admin API moves it: what tests want.
    Frozen(OffsetDateTime),
}

/// Where the clock is.
#[derive(Debug, Clone, Copy)]
enum State {
    /// The wall clock.
    Wall,
    /// Standing at an instant.
    Standing(OffsetDateTime),
    /// Running in real time from `from`, reached at the monotonic instant `since`.
    RunningFrom { from: OffsetDateTime, since: Instant },
}

/// The server's clock. It has millisecond resolution (docs/PROTOCOL.md GEN-003), and once the
/// admin API moves it, it stands still until the next move or a reset (ADM-007), so expiry
/// boundaries can be tested to the millisecond against a running server too. The readings may
/// give it microsecond resolution ([`crate::readings::TimeFormat`]) and let it run on in real time
/// from the instant a move put it at ([`ClockAfterMove::Runs`]).
#[derive(Debug)]
pub struct ServerClock {
    mode: ClockMode,
    readings: Readings,
    state: Mutex<State>,
}

/// A clock move that would leave the range of representable times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock cannot be moved out of the range of representable times")]
pub struct OutOfRange;

impl ServerClock {
    /// A clock of the given mode with the default readings.
    pub fn new(mode: ClockMode) -> Self {
        Self::with_readings(mode, Readings::default())
    }

    /// A clock of the given mode under `readings` (resolution, what a move does).
    pub fn with_readings(mode: ClockMode, readings: Readings) -> Self {
        let clock = Self { mode, readings, state: Mutex::new(State::Wall) };
        clock.reset();
        clock
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A `Copy` state cannot be left half-written: poison is harmless.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the clock moves as real time passes (false once moved, or when frozen, unless the
    /// readings let a moved clock run on).
    pub fn is_running(&self) -> bool {
        !matches!(*self.state(), State::Standing(_))
    }

    /// Moves the clock by `by` (negative moves it back); from then on it stands still, or runs on.
    pub fn advance(&self, by: Duration) -> Result<(), OutOfRange> {
        let to = self.now().checked_add(by).ok_or(OutOfRange)?;
        self.set(to);
        Ok(())
    }

    /// Puts the clock at `to`; from then on it stands still, or runs on.
    pub fn set(&self, to: OffsetDateTime) {
        let to = self.readings.truncate(to);
        *self.state() = match self.readings.clock_after_move {
            ClockAfterMove::Stands => State::Standing(to),
            ClockAfterMove::Runs => State::RunningFrom { from: to, since: Instant::now() },
        };
    }

    /// Back to the start behaviour: the wall clock, or the frozen start instant.
    pub fn reset(&self) {
        *self.state() = match self.mode {
            ClockMode::Running => State::Wall,
            ClockMode::Frozen(start) => State::Standing(self.readings.truncate(start)),
        };
    }
}

impl Clock for ServerClock {
    fn now(&self) -> OffsetDateTime {
        let state = *self.state();
        let now = match state {
            State::Standing(at) => at,
            State::Wall => SystemClock.now(),
            State::RunningFrom { from, since } => {
                let elapsed = Duration::try_from(since.elapsed()).unwrap_or(Duration::MAX);
                from.saturating_add(elapsed)
            }
        };
        self.readings.truncate(now)
    }
}
