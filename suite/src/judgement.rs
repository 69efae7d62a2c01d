//! How a step ends a scenario with a verdict other than *passed*: by panicking with one of the
//! typed payloads of this module, never with text that the runner would have to read.
//!
//! - [`Failure`] (through [`fail!`], [`ensure!`], [`ensure_eq!`] and [`ensure_ne!`]): the
//!   implementation under test broke a rule; the scenario *failed*.
//! - [`NotApplicable`]: the target lacks something the scenario needs; *not applicable*.
//! - [`NotImplemented`]: the device driver answered `unimplemented`; *not implemented*.
//!
//! Any other panic (an index out of bounds, an `expect` whose invariant did not hold, a step
//! without a definition) is the harness's own defect and is reported as a *harness error*, never
//! as the implementation's failure. The kind of a verdict is therefore decided by the type the
//! harness itself chose, so nothing a server or a driver sends (an `error_message` that repeats
//! the harness's words, say) can change it: peer text only ever lands inside a payload's message.

use peers::target::TargetError;

/// The panic payload of a check that the implementation failed: the scenario's verdict is
/// *failed*, and the text says what was expected and what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

/// The panic payload of a step that finds the target lacks a capability the scenario needs: the
/// scenario's verdict is *not applicable*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplicable(pub String);

/// The panic payload of a step whose device driver answered `unimplemented`: the scenario's
/// verdict is *not implemented*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotImplemented(pub String);

/// Ends the step: the implementation broke a rule, as `message` says.
pub fn fail(message: impl Into<String>) -> ! {
    std::panic::panic_any(Failure(message.into()))
}

/// Ends the step: the scenario does not apply to this target, because `reason`.
pub fn not_applicable(reason: impl Into<String>) -> ! {
    std::panic::panic_any(NotApplicable(reason.into()))
}

/// Ends the step: the device driver does not implement `operation`.
pub fn not_implemented(operation: impl Into<String>) -> ! {
    std::panic::panic_any(NotImplemented(operation.into()))
}

/// Fails the scenario with a formatted message ([`Failure`]), as `panic!` formats one.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)+) => {
        $crate::judgement::fail(format!($($arg)+))
    };
}

/// Fails the scenario ([`Failure`]) unless the condition holds, as `assert!` would panic.
#[macro_export]
macro_rules! ensure {
    ($cond:expr $(,)?) => {
        if !$cond {
            $crate::judgement::fail(concat!("the check `", stringify!($cond), "` does not hold"))
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::judgement::fail(format!($($arg)+))
        }
    };
}

/// Fails the scenario ([`Failure`]) unless the two values are equal, as `assert_eq!` would
/// panic; the message shows both (what came first, then what the profile expects).
#[macro_export]
macro_rules! ensure_eq {
    ($got:expr, $expected:expr $(,)?) => {
        match (&$got, &$expected) {
            (got, expected) => {
                if !(*got == *expected) {
                    $crate::judgement::fail(format!(
                        "expected {:?}, got {:?} (`{}`)",
                        expected,
                        got,
                        stringify!($got)
                    ))
                }
            }
        }
    };
    ($got:expr, $expected:expr, $($arg:tt)+) => {
        match (&$got, &$expected) {
            (got, expected) => {
                if !(*got == *expected) {
                    $crate::judgement::fail(format!(
                        "{}\n  expected: {:?}\n  got:      {:?}",
                        format_args!($($arg)+),
                        expected,
                        got
                    ))
                }
            }
        }
    };
}

/// Fails the scenario ([`Failure`]) when the two values are equal, as `assert_ne!` would panic.
#[macro_export]
macro_rules! ensure_ne {
    ($got:expr, $unexpected:expr, $($arg:tt)+) => {
        match (&$got, &$unexpected) {
            (got, unexpected) => {
                if *got == *unexpected {
                    $crate::judgement::fail(format!(
                        "{}\n  got, and must not be: {:?}",
                        format_args!($($arg)+),
                        got
                    ))
                }
            }
        }
    };
}

/// How a step ends on a [`TargetError`]: a capability the target lacks makes the scenario *not
/// applicable*, anything else (a refusal or misbehaviour of the server) *failed*. This is the only
/// way a target's error becomes a verdict, so the kind of verdict comes from the error's type and
/// never from its words.
pub trait OrFail<T> {
    /// The value, or the end of the step: `context` says what the step was doing, given the
    /// error.
    fn or_fail(self, context: impl FnOnce(&TargetError) -> String) -> T;
}

impl<T> OrFail<T> for Result<T, TargetError> {
    fn or_fail(self, context: impl FnOnce(&TargetError) -> String) -> T {
        match self {
            Ok(value) => value,
            Err(error @ TargetError::Missing(_)) => not_applicable(error.to_string()),
            Err(error) => fail(context(&error)),
        }
    }
}
