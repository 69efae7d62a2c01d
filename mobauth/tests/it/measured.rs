//! What a run keeps to whatever its peers send, and how the hostile-peer tests measure it:
//! `mobauth` as a process under GNU time (`/usr/bin/time`, whose peak includes the largest reaped
//! descendant, so it bounds the harness from above), its reports' bytes on disk.

use std::path::Path;
use std::process::{Command, Output};

/// The harness's peak resident memory whatever a peer sends (README, "Testing an SDK").
pub(crate) const MEMORY_BOUND_KB: u64 = 200 * 1024;

/// The bytes of every report of such a run together.
pub(crate) const REPORTS_BOUND: u64 = 2 * 1024 * 1024;

/// Runs `mobauth ARGS` under `/usr/bin/time`: what it wrote and did, and its peak memory in KB.
pub(crate) fn mobauth_under_time(args: &[&str]) -> (Output, u64) {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "max-rss-kb %M"])
        .arg(env!("CARGO_BIN_EXE_mobauth"))
        .args(args)
        .output()
        .expect("/usr/bin/time runs mobauth");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak = stderr
        .lines()
        .find_map(|line| line.strip_prefix("max-rss-kb "))
        .and_then(|kb| kb.trim().parse().ok())
        .unwrap_or_else(|| panic!("/usr/bin/time gives the peak memory: {stderr}"));
    (output, peak)
}

/// The bytes of the files in `dir` (0 when there is none).
pub(crate) fn bytes_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}
