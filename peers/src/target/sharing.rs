//! Whether a scenario has its server to itself, and which test-control calls need that.
//!
//! Scenarios on a server by URL run concurrently unless they change (or read) what every scenario
//! on the server shares: its configuration, clock, injected faults, event log, or a reset. Such a
//! scenario carries the tag [`SERVER_WIDE_TAG`] and runs alone. The tag is the suite's promise,
//! and [`Admin`](super::Admin) holds the suite to it: in a [`Sharing::Shared`] scenario a call
//! that needs the server alone is refused with [`TargetError::NotAlone`], a suite defect that
//! fails the scenario on every target, the embedded one included, so a missing tag shows in the
//! suite's own conformance run rather than as a flaky verdict against someone's server.

use super::{Capability, TargetError};

/// The tag (without `@`) of a scenario that needs its server to itself.
pub const SERVER_WIDE_TAG: &str = "server-wide";

/// Whether other scenarios use the scenario's server at the same time.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// The scenario has the server to itself: every test-control call is allowed.
    #[default]
    Alone,
    /// Other scenarios run on the same server meanwhile: calls that change or read what they all
    /// share are refused.
    Shared,
}

impl Sharing {
    /// How a scenario with these tags (feature, rule and scenario tags, without `@`) runs.
    pub fn for_tags<'a>(tags: impl IntoIterator<Item = &'a String>) -> Sharing {
        if tags.into_iter().any(|tag| tag == SERVER_WIDE_TAG) { Sharing::Alone } else { Sharing::Shared }
    }

    /// `Ok` when a scenario of this sharing may make `method` on the part `part` of the
    /// test-control API: reading the configuration or the clock is fine while others run (they
    /// change neither), changing them is not, and the fault list, the event log (every
    /// scenario's exchanges) and a reset are the whole server's.
    pub(super) fn allows(self, method: &str, part: Capability) -> Result<(), TargetError> {
        let reads = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
        let server_wide = match part {
            Capability::Config | Capability::Clock => !reads,
            Capability::Faults | Capability::Events | Capability::Reset => true,
            _ => false,
        };
        if server_wide && self == Sharing::Shared {
            return Err(TargetError::NotAlone { method: method.to_uppercase(), part });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_scenario_may_read_but_not_change_what_all_share() {
        use Capability as C;
        // (method, part, allowed when shared)
        let table = [
            ("GET", C::Config, true),
            ("PUT", C::Config, false),
            ("get", C::Clock, true),
            ("POST", C::Clock, false),
            ("POST", C::Users, true),
            ("DELETE", C::Users, true),
            ("POST", C::Clients, true),
            ("PUT", C::Faults, false),
            ("GET", C::Events, false),
            ("POST", C::Reset, false),
            ("GET", C::Admin, true),
        ];
        for (method, part, allowed) in table {
            let shared = Sharing::Shared.allows(method, part);
            match (allowed, shared) {
                (true, Ok(())) => {}
                (false, Err(TargetError::NotAlone { method: m, part: p })) => {
                    assert_eq!((m, p), (method.to_uppercase(), part));
                }
                (_, other) => panic!("{method} {part:?}: {other:?}"),
            }
            assert!(Sharing::Alone.allows(method, part).is_ok(), "{method} {part:?} alone");
        }
    }

    #[test]
    fn the_tag_makes_a_scenario_run_alone() {
        let tags = |list: &[&str]| list.iter().map(|t| (*t).to_string()).collect::<Vec<_>>();
        assert_eq!(Sharing::for_tags(&tags(&["must", "server-wide"])), Sharing::Alone);
        assert_eq!(Sharing::for_tags(&tags(&["must", "OTP-001"])), Sharing::Shared);
        assert_eq!(Sharing::for_tags(&tags(&["server-wide-ish"])), Sharing::Shared);
    }
}
