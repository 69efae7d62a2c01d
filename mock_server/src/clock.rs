//! The server's clock: the one every time rule reads, movable through the admin API.

use std::sync::{Mutex, PoisonError};

use protocol::clock::{Clock, SettableClock, SystemClock};
use time::{Duration, OffsetDateTime};

/// How the server's clock behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Real time, plus whatever the admin API added: what a standalone server wants.
    Running,
    /// Stands still at the given instant until the admin API moves it: what tests want.
    Frozen(OffsetDateTime),
}

/// The server's clock. It has millisecond resolution (docs/PROTOCOL.md GEN-003), and once the
/// admin API moves it, it stands still until the next move or a reset (ADM-007), so expiry
/// boundaries can be tested to the millisecond against a running server too.
#[derive(Debug)]
pub struct ServerClock {
    mode: ClockMode,
    /// `None` while running on the wall clock; the standing instant once moved or frozen.
    standing: Mutex<Option<SettableClock>>,
}

impl ServerClock {
    /// A clock of the given mode.
    pub fn new(mode: ClockMode) -> Self {
        let clock = Self { mode, standing: Mutex::new(None) };
        clock.reset();
        clock
    }

    fn standing(&self) -> std::sync::MutexGuard<'_, Option<SettableClock>> {
        // An `Option` of a clock handle cannot be left half-written: poison is harmless.
        self.standing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the clock follows the wall clock (false once moved, or when frozen).
    pub fn is_running(&self) -> bool {
        self.standing().is_none()
    }

    /// Moves the clock by `by`; from then on it stands still.
    pub fn advance(&self, by: Duration) {
        let to = self.now() + by;
        self.set(to);
    }

    /// Puts the clock at `to`; from then on it stands still.
    pub fn set(&self, to: OffsetDateTime) {
        *self.standing() = Some(SettableClock::new(truncate_ms(to)));
    }

    /// Back to the start behaviour: the wall clock, or the frozen start instant.
    pub fn reset(&self) {
        *self.standing() = match self.mode {
            ClockMode::Running => None,
            ClockMode::Frozen(start) => Some(SettableClock::new(truncate_ms(start))),
        };
    }
}

/// Drops everything below the millisecond.
fn truncate_ms(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t - Duration::nanoseconds(i64::from(nanos % 1_000_000))
}

impl Clock for ServerClock {
    fn now(&self) -> OffsetDateTime {
        match self.standing().as_ref() {
            Some(clock) => clock.now(),
            None => truncate_ms(SystemClock.now()),
        }
    }
}
