//! Tidy checks: the invariants of ARCHITECTURE.md that the compiler cannot see, read off the
//! workspace's own files. The crate graph (which crate may depend on which), the error table as
//! the only speller of error codes, the features' refusals as pairs of that table, step files free
//! of encoding and crypto, modules that do not import in a circle, a `//!` doc on every file and
//! no file over 800 lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protocol::error::ErrorCode;
use suite::steps::Reply;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `path` relative to the workspace root, for messages.
fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// The keys of a Cargo.toml's section `[name]` (`protocol.workspace = true` gives `protocol`).
/// The workspace's manifests keep to one key a line, which is all this reads.
fn section_keys(manifest: &str, name: &str) -> Vec<String> {
    let header = format!("[{name}]");
    manifest
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter(|line| !line.trim_start().starts_with('#') && line.contains('='))
        .map(|line| line.split(['=', '.']).next().unwrap_or_default().trim().to_string())
        .collect()
}

/// The workspace's member folders, from its Cargo.toml's `members = [...]` line.
fn members() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("the workspace has a Cargo.toml");
    let line = text.lines().find(|l| l.starts_with("members = [")).expect("the workspace lists its members");
    let list = line.trim_start_matches("members = [").trim_end_matches(']');
    list.split(',').map(|m| m.trim().trim_matches('"').to_string()).filter(|m| !m.is_empty()).collect()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every Rust file of every member crate, with its path relative to the workspace root.
fn workspace_sources() -> Vec<(String, String)> {
    let root = root();
    members()
        .iter()
        .flat_map(|member| rust_files(&root.join(member)))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            (relative(&path), text)
        })
        .collect()
}

/// The lines of `text` that are code: before its first `#[cfg(test)]` (test modules may spell
/// expected values literally), without comment lines.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line))
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = workspace_sources()
        .into_iter()
        .filter(|(_, text)| text.lines().count() > 800)
        .map(|(path, text)| format!("{path}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over 800 lines (split them by concept):\n{}", long.join("\n"));
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let undocumented: Vec<String> = workspace_sources()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(path, _)| path)
        .collect();
    assert!(undocumented.is_empty(), "files without a `//!` doc first:\n{}", undocumented.join("\n"));
}

/// A crate whose library builds no unit tests (`test = false`: its tests are in `tests/it`, so
/// that testing does not compile the whole crate twice) must hold none, or they would never run.
#[test]
fn a_library_without_unit_tests_holds_none() {
    let root = root();
    let mut without = Vec::new();
    let stray: Vec<String> = members()
        .iter()
        .filter(|member| {
            let manifest = std::fs::read_to_string(root.join(member).join("Cargo.toml")).expect("a manifest");
            let lib: String = manifest
                .lines()
                .skip_while(|line| line.trim() != "[lib]")
                .take_while(|line| !line.starts_with('[') || line.trim() == "[lib]")
                .collect();
            lib.contains("test = false")
        })
        .inspect(|member| without.push(member.to_string()))
        .flat_map(|member| {
            // A binary's own modules (`mod x;` in main.rs) are tested with the binary, not the library.
            let src = root.join(member).join("src");
            let main = std::fs::read_to_string(src.join("main.rs")).unwrap_or_default();
            let bin_only: Vec<PathBuf> = main
                .lines()
                .filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_string))
                .flat_map(|module| [src.join(format!("{module}.rs")), src.join(module)])
                .chain([src.join("main.rs")])
                .collect();
            rust_files(&src).into_iter().filter(move |path| !bin_only.iter().any(|b| path.starts_with(b)))
        })
        .filter(|path| {
            let text = std::fs::read_to_string(path).expect("a source file is readable");
            text.contains("#[cfg(test)]") || text.contains("#[test]")
        })
        .map(|path| relative(&path))
        .collect();
    assert!(!without.is_empty(), "no library is marked test = false: the check reads nothing");
    assert!(
        stray.is_empty(),
        "unit tests in a library built with test = false (they never run):\n{}",
        stray.join("\n")
    );
}

#[test]
fn only_the_error_table_spells_error_codes() {
    // 1000 is also a count of milliseconds; every other code is a number nothing else needs.
    let codes: Vec<String> =
        ErrorCode::ALL.iter().map(|c| c.code()).filter(|&c| c != 1000).map(|c| c.to_string()).collect();
    let mut found = Vec::new();
    for (path, text) in workspace_sources() {
        let in_src = path.split('/').nth(1) == Some("src");
        if !in_src || path == "protocol/src/error.rs" {
            continue;
        }
        for (line_no, line) in code_lines(&text) {
            let tokens = line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if tokens.into_iter().any(|token| codes.iter().any(|code| code == token)) {
                found.push(format!("{path}:{line_no}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "error codes spelled as numbers outside protocol/src/error.rs (use ErrorCode):\n{}",
        found.join("\n")
    );
}

/// The refusals a feature file's line names, in `Reply`'s spellings: `status S, error C TYPE`,
/// `error C TYPE`, `S C TYPE`, and a bare `C TYPE` pair (as `error C TYPE`).
fn refusals(line: &str) -> Vec<String> {
    let tokens: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || "|\"'(),".contains(c)).filter(|t| !t.is_empty()).collect();
    let is_number = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let is_type = |t: &str| t.len() > 3 && t.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    let mut out = Vec::new();
    for (i, pair) in tokens.windows(2).enumerate() {
        let [code, error_type] = pair else { continue };
        if !(is_number(code) && code.len() >= 4 && is_type(error_type)) {
            continue;
        }
        let status = i.checked_sub(1).map(|j| tokens[j]).filter(|t| is_number(t) && t.len() == 3);
        let status = status.or_else(|| {
            let (before, status) = (i.checked_sub(3).map(|j| tokens[j]), i.checked_sub(2).map(|j| tokens[j]));
            (before == Some("status") && tokens[i - 1] == "error").then_some(status).flatten()
        });
        out.push(match status {
            Some(status) => format!("{status} {code} {error_type}"),
            None => format!("error {code} {error_type}"),
        });
    }
    out
}

#[test]
fn every_refusal_the_features_name_is_in_the_error_table() {
    let dir = root().join("features");
    let mut checked = 0;
    let mut wrong = Vec::new();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("features/ is readable").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "feature")) {
        let text = std::fs::read_to_string(&path).expect("a feature file is readable");
        for (line_no, line) in text.lines().enumerate() {
            for refusal in refusals(line) {
                checked += 1;
                if let Err(error) = refusal.parse::<Reply>() {
                    wrong.push(format!("{}:{}: {refusal:?}: {error}", relative(&path), line_no + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "refusals that are not the error table's:\n{}", wrong.join("\n"));
    assert!(checked > 0, "no refusal found in features/: the reader of this check is broken");
}

#[test]
fn the_refusal_reader_finds_every_spelling() {
    let table: [(&str, &[&str]); 5] = [
        (
            "Then it is refused with status 409, error 9016 DEVICE_ALREADY_ENROLLED",
            &["409 9016 DEVICE_ALREADY_ENROLLED"],
        ),
        (
            "Then the driver answers error 8053 NOT_IN_PROGRESS_OTP_AUTHENTICATION",
            &["error 8053 NOT_IN_PROGRESS_OTP_AUTHENTICATION"],
        ),
        ("      | signature | 403 10019 INVALID_SIGNATURE |", &["403 10019 INVALID_SIGNATURE"]),
        ("      | 10015 INVALID_REQUEST |", &["error 10015 INVALID_REQUEST"]),
        ("Given a device waits 2000 ms", &[]),
    ];
    for (line, expected) in table {
        assert_eq!(refusals(line), expected.to_vec(), "{line}");
    }
}

#[test]
fn step_files_hold_no_encoding_or_crypto() {
    let banned = ["base64::", "p256::", "rcgen::", "x509_cert::", "image::", "sha2::", "signing_string("];
    let steps = root().join("suite/src/steps");
    let mut found = Vec::new();
    for path in rust_files(&steps) {
        let text = std::fs::read_to_string(&path).expect("a step file is readable");
        for (line_no, line) in code_lines(&text) {
            if let Some(word) = banned.iter().find(|word| line.contains(*word)) {
                found.push(format!("{}:{line_no}: {word}", relative(&path)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "encoding or crypto in step files (steps call forge, peers or protocol):\n{}",
        found.join("\n")
    );
}

/// A member crate's dependencies by section (`dependencies`, `dev-dependencies`), by the names the
/// workspace gives them.
fn dependencies(member: &str) -> BTreeMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(root().join(member).join("Cargo.toml")).expect("a member has a Cargo.toml");
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .into_iter()
        .map(|section| (section.to_string(), section_keys(&text, section)))
        .collect()
}

#[test]
fn the_manifest_reader_reads_keys_of_one_section() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nprotocol.workspace = true\n# a comment\nserde = { workspace = true }\n\n[dev-dependencies]\ninsta.workspace = true\n";
    assert_eq!(section_keys(manifest, "dependencies"), ["protocol", "serde"]);
    assert_eq!(section_keys(manifest, "dev-dependencies"), ["insta"]);
    assert_eq!(section_keys(manifest, "build-dependencies"), Vec::<String>::new());
}

#[test]
fn the_crate_graph_points_one_way() {
    const HARNESS: [&str; 6] = ["transcript", "peers", "report", "suite", "runner", "mobauth"];
    const IO: [&str; 6] = ["tokio", "reqwest", "axum", "hyper", "hyper-util", "cucumber"];
    // (member, sections checked, dependencies it must not have, why)
    let rules: [(&str, &[&str], Vec<&str>, &str); 10] = [
        (
            "protocol",
            &["dependencies"],
            [&IO[..], &["image", "qrcode", "rqrr"]].concat(),
            "pure, no image libraries",
        ),
        ("qr", &["dependencies"], IO.to_vec(), "pure"),
        ("forge", &["dependencies"], IO.to_vec(), "pure"),
        (
            "transcript",
            &["dependencies"],
            [&HARNESS[1..], &["mock_server", "cucumber"]].concat(),
            "the bottom of the harness",
        ),
        (
            "mock_server",
            &["dependencies", "dev-dependencies"],
            [&HARNESS[..], &["cucumber"]].concat(),
            "knows nothing of the harness",
        ),
        (
            "peers",
            &["dependencies"],
            vec!["report", "suite", "runner", "mobauth", "mock_server", "cucumber"],
            "below the suite",
        ),
        (
            "report",
            &["dependencies"],
            [&HARNESS[..], &IO[..], &["clap", "mock_server"]].concat(),
            "a model and pure writers",
        ),
        (
            "suite",
            &["dependencies"],
            vec!["runner", "report", "mobauth", "mock_server", "clap", "anyhow"],
            "judges through peers only",
        ),
        ("runner", &["dependencies"], vec!["mobauth", "clap", "anyhow"], "below the binary"),
        (
            "load",
            &["dependencies"],
            vec!["suite", "runner", "report", "mobauth", "cucumber", "clap", "anyhow"],
            "a generator through peers, beside the conformance run",
        ),
    ];
    let mut broken = Vec::new();
    for (member, sections, forbidden, why) in rules {
        let deps = dependencies(member);
        for section in sections {
            for dep in deps.get(*section).into_iter().flatten() {
                if forbidden.contains(&dep.as_str()) {
                    broken.push(format!("{member} [{section}] depends on {dep}, but it is {why}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn modules_do_not_import_in_a_circle() {
    // (folder or file, what it must not name, why)
    let rules = [
        (
            "suite/src/world",
            "crate::steps",
            "the world holds the scenario's state; steps use it, never the other way",
        ),
        ("suite/src/judgement.rs", "crate::steps", "verdict payloads are below the steps"),
        ("suite/src/judgement.rs", "crate::world", "verdict payloads are below the world"),
        (
            "mobauth/src/matrix.rs",
            "crate::cli",
            "the matrix command and the run command share the runner, not each other",
        ),
    ];
    let mut found = Vec::new();
    for (place, name, why) in rules {
        let path = root().join(place);
        let files = if path.is_dir() { rust_files(&path) } else { vec![path] };
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file is readable");
            if text.contains(name) {
                found.push(format!("{} names {name}: {why}", relative(&file)));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
