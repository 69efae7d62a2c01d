//! The conformance harness: simulated devices and portal, targets, the cucumber suite's world
//! and steps, and the runner behind the `mobauth` command.
#![forbid(unsafe_code)]
