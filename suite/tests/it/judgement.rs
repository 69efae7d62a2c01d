//! The check macros and the payloads they panic with.

use suite::judgement::*;
use suite::{ensure, ensure_eq, ensure_ne, fail};

/// The payload a closure panicked with, by type.
fn payload(check: impl FnOnce() + std::panic::UnwindSafe) -> Box<dyn std::any::Any + Send> {
    match std::panic::catch_unwind(check) {
        Ok(()) => Box::new("no panic"),
        Err(payload) => payload,
    }
}

/// A check that should panic.
type Check = Box<dyn FnOnce() + std::panic::UnwindSafe>;

#[test]
fn each_macro_panics_with_a_failure_and_its_message() {
    let cases: Vec<(&str, Check, &str)> = vec![
        ("fail", Box::new(|| fail!("expected {}, got {}", 1, 2)), "expected 1, got 2"),
        ("ensure", Box::new(|| ensure!(1 + 1 == 3, "sum {}", 2)), "sum 2"),
        ("ensure bare", Box::new(|| ensure!(1 + 1 == 3)), "the check `1 + 1 == 3` does not hold"),
        ("ensure_eq", Box::new(|| ensure_eq!(2, 3, "the count")), "the count\n  expected: 3\n  got:      2"),
        ("ensure_ne", Box::new(|| ensure_ne!(4, 4, "a new id")), "a new id\n  got, and must not be: 4"),
    ];
    for (name, check, message) in cases {
        let payload = payload(check);
        let failure = payload.downcast_ref::<Failure>();
        assert_eq!(failure.map(|f| f.0.as_str()), Some(message), "{name}");
    }
}

#[test]
fn checks_that_hold_do_not_panic() {
    ensure!(1 + 1 == 2, "unused");
    ensure_eq!(2, 2, "unused");
    ensure_ne!(1, 2, "unused");
}
