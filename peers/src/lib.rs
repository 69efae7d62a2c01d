//! The peers a conformance scenario works with, over HTTP and the driver protocol: the simulated
//! device ([`device`]) and portal ([`portal`]), device drivers from both ends ([`driver`]), and
//! the [`target`] the steps talk to (a server by URL, or a local one the runner starts).
//!
//! Nothing here knows of cucumber, of verdicts or of the mock server: a local server is handed
//! in behind [`target::LocalServer`], and errors are typed for the suite to judge.
#![forbid(unsafe_code)]

pub mod device;
pub mod driver;
pub mod portal;
pub mod target;
