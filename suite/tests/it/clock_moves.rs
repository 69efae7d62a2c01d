//! The clock move that reaches an instant: whole milliseconds, rounded up, so a server whose
//! instants are finer than a millisecond is moved to (or past) its expiry, never just short of it.

use suite::steps::server::move_to_reach;
use time::macros::datetime;

#[test]
fn a_move_rounds_up_to_the_millisecond() {
    let now = datetime!(2026-12-04 05:14:44.754096 UTC);
    let table = [
        // The failure this fixes: an expiry 299 997.487 ms ahead was moved to by 299 997 ms.
        ("a fraction short of a millisecond", datetime!(2026-12-04 05:19:44.751583 UTC), 0, 299_998),
        ("whole milliseconds ahead", datetime!(2026-12-04 05:14:45.754096 UTC), 0, 1_000),
        ("N ms before, rounded up", datetime!(2026-12-04 05:19:44.751583 UTC), 1, 299_997),
        ("the instant itself", now, 0, 0),
        ("an instant past, a fraction", datetime!(2026-12-04 05:14:44.753596 UTC), 0, 0),
        ("an instant past, more", datetime!(2026-12-04 05:14:43.754096 UTC), 0, -1_000),
    ];
    for (case, instant, before_ms, expected) in table {
        assert_eq!(move_to_reach(now, instant, before_ms), expected, "{case}");
    }
}
