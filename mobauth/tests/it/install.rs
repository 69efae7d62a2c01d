//! An installed `mobauth` carries its suite: `mobauth run` from an empty folder.
//!
//! The binary runs in a folder with nothing in it (no `features/`, no `fixtures/`, no `docs/`),
//! as after `cargo install --path mobauth` or in a CI image, and must run the whole suite it was
//! built with, naming scenarios as a run of `--features features` from the workspace root does.
//! `scripts/check-install.sh` checks the same of a real `cargo install`.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cucumber::feature::Ext as _;
use futures::StreamExt as _;

/// The workspace's feature files, the ones build.rs compiles in.
const FEATURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features");

/// An empty folder under Cargo's per-target scratch folder, removed when dropped (also when the
/// test fails, so a rerun starts empty).
struct EmptyFolder(PathBuf);

impl EmptyFolder {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        // A previous run killed before its clean-up may have left it.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder can be made under target/tmp");
        Self(dir)
    }
}

impl Drop for EmptyFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every scenario id (`features/FILE:LINE`, outlines expanded) of the features folder, as
/// cucumber's own parser reads it.
fn suite_ids() -> BTreeSet<String> {
    let root = Path::new(FEATURES_DIR).canonicalize().expect("features/ exists");
    let parsed: Vec<_> = futures::executor::block_on(
        cucumber::Parser::parse(cucumber::parser::Basic::new(), root.as_path(), Default::default())
            .collect::<Vec<_>>(),
    );
    let mut ids = BTreeSet::new();
    for feature in parsed {
        let feature = feature.expect("every feature file parses");
        assert!(feature.count_scenarios() > 0, "{:?} holds no scenario", feature.path);
        let path = feature.path.clone().expect("a parsed file has its path");
        let relative = path.strip_prefix(&root).expect("the file is under features/");
        let file =
            relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let rules = feature.rules.iter().flat_map(|r| &r.scenarios);
        for scenario in feature.scenarios.iter().chain(rules) {
            ids.insert(format!("features/{file}:{}", scenario.position.line));
        }
    }
    ids
}

#[test]
fn runs_the_built_in_suite_from_an_empty_folder() {
    let folder = EmptyFolder::new("mobauth-install-empty-folder");
    let reports = folder.0.join("reports");
    let output = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["run", "--progress", "off", "--out"])
        .arg(&reports)
        .current_dir(&folder.0)
        .env_remove("CI")
        .output()
        .expect("mobauth starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert_eq!(output.status.code(), Some(0), "mobauth run exits 0 from an empty folder\n{shown}");
    assert!(
        stdout.lines().any(|line| line == "Result: conformant (exit 0)"),
        "the summary says conformant\n{shown}"
    );

    let report = report::load(&reports).expect("report.json is written and reads back");
    assert!(report.gate.conformant, "the report's gate says conformant");
    let expected = suite_ids();
    let ran: BTreeSet<String> = report.scenarios.iter().map(|s| s.id.clone()).collect();
    assert_eq!(report.scenarios.len(), expected.len(), "one result per scenario of features/");
    assert_eq!(report.run.suite_scenarios, expected.len(), "the suite is the whole of features/");
    assert_eq!(ran, expected, "scenario ids are those of a run of --features features");
    assert_eq!(report.run.features, "features", "the suite's folder is named as from the workspace root");

    // Only the reports were written into the working folder.
    let left: Vec<_> = std::fs::read_dir(&folder.0)
        .expect("the scratch folder is readable")
        .map(|entry| entry.expect("a readable entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("reports")], "nothing but the reports is written");
}
