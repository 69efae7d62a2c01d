//! Time as a dependency.
//!
//! Every time rule of the profile (token lifetime, transaction expiry, certificate validity)
//! reads a [`Clock`] handed in by the caller. Tests and the mock server's admin API move a
//! [`SettableClock`]; only binaries use [`SystemClock`], the one place that reads the wall clock.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of the current time, in UTC.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is moved. Clones share the same time.
#[derive(Debug, Clone)]
pub struct SettableClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl SettableClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(start.to_offset(time::UtcOffset::UTC))) }
    }

    /// Moves the clock forward (or backward, for a negative duration) and returns the new time.
    pub fn advance(&self, by: Duration) -> OffsetDateTime {
        let mut now = self.lock();
        *now = now.saturating_add(by);
        *now
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.lock() = to.to_offset(time::UtcOffset::UTC);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // The guarded value is a plain timestamp that no code path leaves half-written,
        // so a poisoned lock still holds a valid time.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for SettableClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

/// Formats an instant as the profile writes times: RFC 3339, UTC.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn settable_clock_moves_only_when_told_and_clones_share_it() {
        let clock = SettableClock::new(datetime!(2026-01-01 00:00 UTC));
        let other = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        other.advance(Duration::milliseconds(1500));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00:01.5 UTC));
        clock.set(datetime!(2030-06-01 12:00 +02:00));
        assert_eq!(other.now(), datetime!(2030-06-01 10:00 UTC));
        assert_eq!(rfc3339(other.now()), "2030-06-01T10:00:00Z");
    }
}
