//! `mobauth` as a real process, the way a CI job or a person at a shell runs it: its exit code
//! and what it wrote on each stream.
#![allow(clippy::expect_used, reason = "a test stops when the binary under test cannot start")]

use std::path::Path;
use std::process::Command;

/// What a `mobauth` process did.
pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `mobauth ARGS` in the package folder (so `tests/fixtures/...` paths resolve), outside CI
/// (whose variable changes the progress output).
pub(crate) fn mobauth(args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CI")
        .output()
        .expect("mobauth starts");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A path as an argument (scratch paths under the target folder are UTF-8).
pub(crate) fn text(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

/// An empty scratch folder for `case` under the target folder.
pub(crate) fn scratch(case: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}
