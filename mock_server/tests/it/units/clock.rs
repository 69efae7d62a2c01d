//! The server clock: standing still or running on after a move, and its resolution.

use mock_server::clock::*;
use mock_server::readings::*;
use protocol::clock::Clock as _;
use time::Duration;
use time::macros::datetime;

#[test]
fn stands_or_runs_after_a_move() {
    let start = datetime!(2026-01-01 00:00:00.123456 UTC);
    let standing = ServerClock::new(ClockMode::Frozen(start));
    assert_eq!(standing.now(), datetime!(2026-01-01 00:00:00.123 UTC));
    assert!(!standing.is_running());
    standing.advance(Duration::milliseconds(5)).expect("in range");
    assert!(!standing.is_running());
    assert_eq!(standing.now(), datetime!(2026-01-01 00:00:00.128 UTC));
    assert_eq!(standing.advance(Duration::MAX), Err(OutOfRange));

    let readings = Readings {
        clock_after_move: ClockAfterMove::Runs,
        time_format: TimeFormat::MicrosOffset,
        ..Readings::default()
    };
    let running = ServerClock::with_readings(ClockMode::Frozen(start), readings);
    assert_eq!(running.now(), start, "microsecond resolution");
    assert!(!running.is_running(), "frozen until moved");
    running.advance(Duration::milliseconds(-1000)).expect("in range");
    assert!(running.is_running());
    let moved = running.now();
    assert!(moved >= start - Duration::seconds(1) && moved < start);
    running.reset();
    assert_eq!(running.now(), start);
    assert!(!running.is_running());
}
