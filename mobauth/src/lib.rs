//! The `mobauth` command: `run`, `list`, `report`, `matrix` and `qr check`, the exit codes, and the
//! features and requirement catalogue the binary carries. The binary (`main.rs`) is the only
//! place where errors become `anyhow` reports.
#![forbid(unsafe_code)]

pub mod cli;
pub mod features;
pub mod list;
pub mod load;
pub mod matrix;
pub mod output;
