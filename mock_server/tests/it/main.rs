//! The mock server's integration tests, each against an in-process server on 127.0.0.1:0.
//!
//! One test binary for the crate (each module was a test binary of its own), so a build links
//! the crate once for all its integration tests.

mod api_errors;
mod concurrency;
mod enrollment_modes;
mod hostile;
mod lifecycle;
mod portal_page;
mod readings;
mod snapshots;
mod support;
mod units;
