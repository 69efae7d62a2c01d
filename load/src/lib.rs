//! `mobauth load`: OTP transactions at a set rate against a Token Server, each the whole flow
//! (the portal starts it, a device fetches and accepts it, the callback comes, the portal reads
//! it accepted), with latency histograms per call and end to end, failures by status and code,
//! a timeline, and thresholds that set the exit code.
//!
//! The parts are pure and tested alone: [`schedule`] (when arrivals are due: ramp up, hold, ramp
//! down, and the shard of them a generator runs), [`stats`] (what is measured, and how shards'
//! measurements add up), [`threshold`], [`report`] (the report and the merge of shards) and
//! [`write`] (JSON, Markdown and HTML). [`generate`] is the I/O around them.

pub mod generate;
pub mod report;
pub mod schedule;
pub mod stats;
pub mod threshold;
pub mod write;

pub use generate::{LoadError, LoadOptions, LoadTarget, Progress, run};
pub use report::{LoadReport, MergeError, merge};
