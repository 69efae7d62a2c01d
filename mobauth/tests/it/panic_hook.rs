//! A run gives the process its panic hook back. Each cucumber instance swaps the hook for a silent
//! one while it runs; the parts of a run are instances side by side, and without the runner's
//! guard one part could put back the silent hook another installed, after which a failing test
//! in this binary would print only "FAILED". The hook is the process's own, and the other tests
//! of this binary run (and swap it) at the same time, so the check runs in a child process: this
//! test binary again, running only this test.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use runner::RunOptions;

const CHILD: &str = "MOBAUTH_TEST_PANIC_HOOK_CHILD";
const NAME: &str = "panic_hook::a_run_gives_the_process_its_panic_hook_back";

static SEEN: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_run_gives_the_process_its_panic_hook_back() {
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().expect("the test binary's path");
        let child = Command::new(exe)
            .args([NAME, "--exact", "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .expect("the test binary runs again");
        let stdout = String::from_utf8_lossy(&child.stdout);
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(child.status.success(), "the child failed:\n{stdout}\n{stderr}");
        // The filter matched this test, so the child ran it rather than nothing.
        assert!(stdout.contains("1 passed"), "the child ran no test:\n{stdout}");
        return;
    }
    std::panic::set_hook(Box::new(|_| {
        SEEN.fetch_add(1, Ordering::SeqCst);
    }));
    // Several runs, each split over the cores with failing scenarios, so parts start and end
    // together as they would on any run.
    for seed in 1..=4 {
        let mut options = RunOptions::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gate"));
        options.seed = seed;
        options.concurrency = 4;
        let report = runner::run(options).expect("the fixture runs");
        assert!(report.scenarios.iter().any(|s| s.verdict.is_problem()), "the fixture has failures");
    }
    let before = SEEN.load(Ordering::SeqCst);
    let caught = std::panic::catch_unwind(|| panic!("after the runs"));
    assert!(caught.is_err());
    assert_eq!(
        SEEN.load(Ordering::SeqCst),
        before + 1,
        "the hook set before the runs saw the panic after them"
    );
}
