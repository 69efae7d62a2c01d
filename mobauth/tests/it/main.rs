//! The `mobauth` package's integration tests: the whole suite on the embedded default, by URL and
//! through drivers; the gate, reports, the matrix and `mobauth qr check`; the catalogue's checks.
//!
//! One test binary (each module was a test binary of its own), so a build links the harness once
//! for all of them.

mod browser;
mod catalogue;
mod cli_habits;
mod conformance;
mod driven;
mod formats;
mod gate;
mod hostile_targets;
mod install;
mod load;
mod matrix;
mod measured;
mod panic_hook;
mod persistence;
mod process;
mod qr_check;
mod reports;
mod schema;
mod server_by_url;
mod simulated_flow;
mod tidy;
