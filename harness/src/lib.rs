//! The conformance harness: simulated devices and portal, the HTTP client that keeps each
//! scenario's transcript, and (being built) targets, the cucumber suite's world and steps, and the
//! runner behind the `mobauth` command.
#![forbid(unsafe_code)]

pub mod catalogue;
pub mod cli;
pub mod device;
pub mod driver;
pub mod http;
pub mod portal;
pub mod report;
pub mod runner;
pub mod steps;
pub mod target;
pub mod world;
