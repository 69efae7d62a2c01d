//! The conformance suite's code: one cucumber [`world::ConformanceWorld`] and the steps of
//! `features/`, split by domain concept. A step parses its phrase, calls the peers, and checks;
//! it ends a scenario only through [`judgement`]'s typed payloads.
//!
//! The suite knows neither the runner, the report writers nor the mock server: it talks to a
//! [`peers::target::Target`] and to device drivers, so it runs unchanged against any
//! implementation.
#![forbid(unsafe_code)]

// First, so that its check macros (`fail!`, `ensure!`, ...) are in scope in every module below.
#[macro_use]
pub mod judgement;

pub mod raw;

pub mod schedule;

pub mod steps;
pub mod world;
