//! The conformance harness: simulated devices and portal, the HTTP client that keeps each
//! scenario's transcript, the target the steps talk to, device drivers, the cucumber suite's world
//! and steps, the requirement catalogue, the runner and the reports behind the `mobauth` command.
#![forbid(unsafe_code)]

// First, so that its check macros (`fail!`, `ensure!`, ...) are in scope in every module below.
#[macro_use]
pub mod judgement;

pub mod catalogue;
pub mod cli;
pub mod device;
pub mod driver;
pub mod http;
pub mod matrix;
pub mod portal;
pub mod report;
pub mod runner;
pub mod steps;
pub mod target;
pub mod world;
