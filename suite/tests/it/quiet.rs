//! The callback receiver's quiet window on a server by URL: the backoff's next wait after the
//! attempts seen, and a margin, so an attempt too many from a real-time backoff falls inside it.

use std::time::Duration;

use suite::world::{CALLBACK_QUIET, callback_quiet_after};

#[test]
fn the_window_is_the_next_backoff_wait_and_a_margin() {
    let ms = Duration::from_millis;
    let table: &[(usize, Duration)] = &[
        // Nothing to time an attempt that must not come by: the longest window.
        (0, CALLBACK_QUIET),
        // A retry after the first attempt would come 200 ms after it.
        (1, ms(600)),
        (2, ms(800)),
        (3, ms(1200)),
        // A default delivery's fifth attempt would come 1.6 s after the fourth.
        (4, ms(2000)),
        (5, ms(3600)),
    ];
    for &(attempts, window) in table {
        assert_eq!(callback_quiet_after(attempts), window, "after {attempts} attempts");
    }
}

#[test]
fn a_long_series_saturates_instead_of_overflowing() {
    let table = [33, 64, usize::MAX];
    for attempts in table {
        let window = callback_quiet_after(attempts);
        assert!(window >= callback_quiet_after(32), "after {attempts} attempts: {window:?}");
    }
}
