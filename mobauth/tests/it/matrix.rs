//! The compatibility matrix (`mobauth matrix`): real runs of the gate fixture's scenarios on the
//! embedded target, renamed as four (server, SDK) runs, merged into a 2x2 matrix; its cells,
//! links, Markdown and HTML (snapshots); the refusals (two reports for one cell, a shard); and
//! the binary in merge and run mode with its exit codes.
//!
//! The reports' times and suite version are fixed before they are written, and links are
//! relative to the matrix's folder, so the snapshots hold no time and no path of this machine.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::path::{Path, PathBuf};

use crate::process::{mobauth, text};
use std::sync::OnceLock;

use mobauth::matrix;
use report::Report;
use report::matrix::{BuildError, CellResult};
use report::write::{self, Format};
use runner::{self, RunOptions};
use time::macros::datetime;

/// The gate fixture, relative to the package folder (the tests' working folder), so scenario ids
/// hold no path of this machine.
const GATE_FEATURES: &str = "tests/fixtures/gate";

/// A real run of the gate fixture's scenarios tagged `tags`, with fixed times and version.
fn run(tags: &str) -> Report {
    let mut options = RunOptions::new(GATE_FEATURES);
    options.seed = 11;
    options.tags = Some(tags.into());
    options.driver_command = Some(format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth")));
    let mut report = runner::run(options).expect("the fixture runs");
    report.run.suite_version = "0.0.0-test".into();
    report.run.started_at = datetime!(2025-03-01 12:00:00 UTC);
    report.run.finished_at = datetime!(2025-03-01 12:00:01.250 UTC);
    report
}

/// The two runs the matrix is made of, run once for every test: one conformant, one not.
fn runs() -> &'static (Report, Report) {
    static RUNS: OnceLock<(Report, Report)> = OnceLock::new();
    RUNS.get_or_init(|| (run("@pass"), run("@pass or @fail")))
}

/// `report` as the run of `server` with `device`.
fn renamed(report: &Report, server: &str, device: &str) -> Report {
    let mut report = report.clone();
    report.run.target.server = server.into();
    report.run.target.device = device.into();
    if server != "embedded" {
        report.run.target.kind = "url".into();
        report.run.target.description = format!("the server at {server}");
    }
    report
}

/// A fresh folder for one test's files, under Cargo's per-target scratch folder (target/tmp), not
/// the system's /tmp.
fn scratch(case: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-matrix-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

const STAGING: &str = "https://staging.example";
const SDK: &str = "acme-sdk 4.2";

/// The four runs of the 2x2 matrix, each with its folder name and formats: the embedded server
/// fails with the SDK; the staging server's SDK run has a report.json only.
fn four_runs() -> Vec<(&'static str, Report, Vec<Format>)> {
    let (pass, fail) = runs();
    vec![
        ("embedded-simulated", renamed(pass, "embedded", "simulated"), Format::ALL.to_vec()),
        ("embedded-sdk", renamed(fail, "embedded", SDK), Format::ALL.to_vec()),
        ("staging simulated", renamed(pass, STAGING, "simulated"), Format::ALL.to_vec()),
        ("staging-sdk", renamed(pass, STAGING, SDK), vec![Format::Json]),
    ]
}

/// Writes the four runs into `dir/runs/<folder>/` and returns the paths to name them by: the
/// folder, or its report.json for the second.
fn write_four(dir: &Path) -> Vec<(PathBuf, Report)> {
    four_runs()
        .into_iter()
        .enumerate()
        .map(|(i, (folder, report, formats))| {
            let folder = dir.join("runs").join(folder);
            write::write_all(&report, &folder, &formats).expect("the reports are written");
            let path = if i == 1 { folder.join("report.json") } else { folder };
            (path, report)
        })
        .collect()
}

#[test]
fn four_reports_merge_into_a_two_by_two_matrix() {
    let dir = scratch("merge");
    let inputs = write_four(&dir);
    let out = dir.join("matrix");
    let paths: Vec<PathBuf> = inputs.iter().map(|(path, _)| path.clone()).collect();
    let matrix = matrix::merge_reports(&paths, &out).expect("the reports make a matrix");

    // Sorted by name, whatever the order given.
    assert_eq!(matrix.servers, ["embedded", STAGING]);
    assert_eq!(matrix.devices, [SDK, "simulated"]);
    let cells: Vec<(&str, &str)> =
        matrix.cells.iter().map(|c| (c.server.as_str(), c.device.as_str())).collect();
    assert_eq!(cells, [("embedded", SDK), ("embedded", "simulated"), (STAGING, SDK), (STAGING, "simulated")]);

    let links = [
        "../runs/embedded-sdk/report.html",
        "../runs/embedded-simulated/report.html",
        "../runs/staging-sdk/report.json",
        "../runs/staging simulated/report.html",
    ];
    for (cell, link) in matrix.cells.iter().zip(links) {
        let (_, report) = inputs
            .iter()
            .find(|(_, r)| r.run.target.server == cell.server && r.run.target.device == cell.device)
            .expect("each cell is one of the reports");
        let CellResult::Ran(run) = &cell.result else { panic!("{} × {} ran", cell.server, cell.device) };
        assert_eq!(run.summary, report.summary, "{} × {}", cell.server, cell.device);
        assert_eq!(run.gate, report.gate);
        assert_eq!(cell.link.as_deref(), Some(link));
        assert!(out.join(link).is_file(), "{link} is a file");
    }
    let counts = |server: &str, device: &str| {
        let cell = matrix.cell(server, device).expect("a cell");
        let CellResult::Ran(run) = &cell.result else { panic!("it ran") };
        let c = run.summary.scenarios;
        (c.passed, c.failed, c.not_applicable, cell.conformant(), cell.exit_code())
    };
    assert_eq!(counts("embedded", "simulated"), (2, 0, 0, true, 0));
    assert_eq!(counts("embedded", SDK), (2, 1, 0, false, 1));
    assert!(!matrix.conformant());
    assert_eq!(matrix.exit_code(), 1);

    let written = matrix::write(&matrix, &out).expect("the matrix is written");
    assert_eq!(written, [out.join("matrix.html"), out.join("matrix.md")]);
    insta::assert_snapshot!("matrix.md", report::matrix::markdown(&matrix));
    insta::assert_snapshot!("matrix.html", report::matrix::html(&matrix));
}

#[test]
fn two_reports_for_one_cell_are_refused() {
    let (pass, fail) = runs();
    let error = report::matrix::from_reports(vec![
        (renamed(pass, "embedded", "simulated"), "a/report.html".into()),
        (renamed(pass, STAGING, "simulated"), "b/report.html".into()),
        (renamed(fail, "embedded", "simulated"), "c/report.html".into()),
    ])
    .expect_err("one cell, two reports");
    assert!(matches!(error, BuildError::Duplicate { .. }));
    assert_eq!(
        error.to_string(),
        "two reports for server \"embedded\" and SDK \"simulated\": a/report.html and c/report.html; \
         a matrix takes one run per server and SDK, so leave one out"
    );

    let mut shard = pass.clone();
    shard.run.shard = Some("1/2".parse().expect("a shard"));
    let error = report::matrix::from_reports(vec![(shard, "s/report.html".into())]).expect_err("a shard");
    assert_eq!(
        error.to_string(),
        "s/report.html is shard 1/2 of a run: merge its shards with `mobauth report merge` and name the \
         merged report"
    );
    let error = report::matrix::from_reports(Vec::new()).expect_err("nothing");
    assert!(matches!(error, BuildError::Empty));
}

#[test]
fn names_for_folders_and_drivers() {
    assert_eq!(matrix::folder_name("https://staging.example:8443"), "https---staging.example-8443");
    assert_eq!(matrix::folder_name("acme-sdk 4.2"), "acme-sdk-4.2");
    assert_eq!(matrix::folder_name("../up"), "-.-up");
    assert_eq!(matrix::driver_label("'/opt/bin/mobauth' device-driver"), "mobauth device-driver");
    assert_eq!(matrix::driver_label("./acme-driver --sdk 4.2"), "acme-driver --sdk 4.2");
    assert_eq!(matrix::driver_label("acme"), "acme");
    let target =
        |spec: &str| matrix::parse_server(spec).map(|s| (s.target, s.name)).map_err(|e| e.to_string());
    assert_eq!(target("embedded"), Ok((runner::TargetSpec::Embedded, "embedded".into())));
    assert_eq!(
        target("https://x.example"),
        Ok((runner::TargetSpec::Url("https://x.example".into()), "https://x.example".into()))
    );
    let dir = scratch("names");
    let file = dir.join("acme.toml");
    std::fs::write(&file, "name = \"acme-token-server\"\nbase_url = \"https://tokens.acme.test\"\n")
        .expect("a target file");
    assert_eq!(
        target(&text(&file)),
        Ok((runner::TargetSpec::File(file.clone()), "acme-token-server".into()))
    );
    let missing = target(&text(&dir.join("missing.toml"))).expect_err("no such file");
    assert!(missing.contains("is not a server"), "{missing}");
    assert!(missing.contains("missing.toml"), "{missing}");
}

#[test]
fn the_command_merges_reports_and_exits_as_the_cells_say() {
    let dir = scratch("command");
    let inputs = write_four(&dir);
    let paths: Vec<String> = inputs.iter().map(|(path, _)| text(path)).collect();
    let out = dir.join("matrix");

    let mut args = vec!["matrix".to_string()];
    args.extend(paths.iter().cloned());
    args.extend(["--out".to_string(), text(&out)]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let all = mobauth(&args);
    assert_eq!(all.code, Some(1), "{all:?}");
    assert!(all.stdout.contains("NOT conformant (1 of 4 runs)"), "{all:?}");
    let md = std::fs::read_to_string(out.join("matrix.md")).expect("matrix.md");
    assert_eq!(
        md,
        report::matrix::markdown(&matrix::merge_reports(&inputs_paths(&inputs), &out).expect("a matrix"))
    );
    assert!(out.join("matrix.html").is_file());

    // Only the conformant runs: exit 0.
    let ok_out = text(&dir.join("ok"));
    let ok = mobauth(&["matrix", &paths[0], &paths[2], "--out", &ok_out]);
    assert_eq!(ok.code, Some(0), "{ok:?}");

    // The same cell twice: a usage error that says which reports.
    let twice = mobauth(&["matrix", &paths[0], &paths[0], "--out", &ok_out]);
    assert_eq!(twice.code, Some(2), "{twice:?}");
    assert!(twice.stderr.contains("two reports for server \"embedded\" and SDK \"simulated\""), "{twice:?}");

    // Reports and --server together, or nothing at all: usage errors.
    assert_eq!(mobauth(&["matrix", &paths[0], "--server", "embedded"]).code, Some(2));
    let nothing = mobauth(&["matrix", "--out", &ok_out]);
    assert_eq!(nothing.code, Some(2), "{nothing:?}");
    assert!(nothing.stderr.contains("no run for a matrix"), "{nothing:?}");
    let missing = mobauth(&["matrix", &text(&dir.join("nowhere")), "--out", &ok_out]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(missing.stderr.contains("cannot read"), "{missing:?}");
}

fn inputs_paths(inputs: &[(PathBuf, Report)]) -> Vec<PathBuf> {
    inputs.iter().map(|(path, _)| path.clone()).collect()
}

#[test]
fn the_command_runs_every_server_with_every_device_and_tells_an_unreachable_one() {
    let dir = scratch("run");
    let out = text(&dir.join("matrix"));
    let reference = format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth"));
    let outcome = mobauth(&[
        "matrix",
        "--server",
        "embedded",
        "--server",
        "http://127.0.0.1:1",
        "--device-driver",
        &reference,
        "--features",
        GATE_FEATURES,
        "--tags",
        "@pass",
        "--out",
        &out,
    ]);
    // The embedded runs conform; the unreachable server's do not happen: exit 1.
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    let out = dir.join("matrix");
    let md = std::fs::read_to_string(out.join("matrix.md")).expect("matrix.md");
    assert_eq!(md.matches("⚠️ did not run (exit 3)").count(), 2, "{md}");
    assert_eq!(md.matches("[✅ 2 pass · 0 fail · 0 n/a](embedded__").count(), 2, "{md}");
    assert_eq!(md.matches("- the target http://127.0.0.1:1").count(), 2, "{md}");
    assert!(md.contains("cannot be reached"), "{md}");
    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .expect("the matrix folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("matrix."))
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 2, "{folders:?}");
    assert!(folders.iter().all(|f| f.starts_with("embedded__")), "{folders:?}");
    assert!(folders.contains(&"embedded__simulated".to_string()), "{folders:?}");
    for folder in &folders {
        assert!(out.join(folder).join("report.html").is_file());
        assert!(out.join(folder).join("report.json").is_file());
    }

    // An unknown server spec is a usage error before anything runs.
    let bad = mobauth(&["matrix", "--server", "ftp://x", "--out", &text(&dir.join("bad"))]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("--server \"ftp://x\" is not a server"), "{bad:?}");
}
