//! The report's outputs, each a pure function of a [`Report`](super::Report) so a fixed report
//! gives fixed text: JSON (the versioned schema of `docs/report.schema.json`), JUnit XML, one
//! self-contained HTML page, a Markdown summary for CI job pages, Cucumber JSON, Cucumber
//! Messages (NDJSON), and the plain text summary `mobauth run` prints.

mod cucumber_json;
mod escaped;
mod html;
mod junit;
/// Text escaped for HTML and XML (the matrix page uses it too).
pub(crate) use self::junit::escape;
mod markdown;
mod messages;
#[cfg(test)]
mod sample;
mod text;

use std::path::{Path, PathBuf};

pub use self::cucumber_json::cucumber_json;
pub use self::html::html;
pub use self::junit::junit;
pub use self::markdown::markdown;
pub use self::messages::{PROTOCOL_VERSION, messages};
pub use self::text::text;
use super::Report;

/// An output format of `mobauth run --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `report.json`: the report model (docs/report.schema.json).
    Json,
    /// `junit.xml`: one testcase per scenario.
    Junit,
    /// `report.html`: one self-contained page.
    Html,
    /// `summary.md`: a Markdown summary for a CI job page.
    Md,
    /// `cucumber.json`: Cucumber JSON.
    Cucumber,
    /// `cucumber-messages.ndjson`: Cucumber Messages, one JSON envelope a line.
    Ndjson,
}

impl Format {
    /// Every format, in the order files are written.
    pub const ALL: [Format; 6] =
        [Format::Json, Format::Junit, Format::Html, Format::Md, Format::Cucumber, Format::Ndjson];

    /// The formats a run writes unless told otherwise: all but Cucumber Messages, which repeat the
    /// features' whole text (megabytes for the suite) for the tools that read them, and are asked
    /// for by name (`--format ndjson`).
    pub const DEFAULT: [Format; 5] =
        [Format::Json, Format::Junit, Format::Html, Format::Md, Format::Cucumber];

    /// The format's name on the command line (`--format json,md`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Md => "md",
            Format::Cucumber => "cucumber",
            Format::Ndjson => "ndjson",
        }
    }

    /// The format named `name` on the command line, if any.
    pub fn named(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|format| format.name() == name)
    }

    /// The file this format is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "report.json",
            Format::Junit => "junit.xml",
            Format::Html => "report.html",
            Format::Md => "summary.md",
            Format::Cucumber => "cucumber.json",
            Format::Ndjson => "cucumber-messages.ndjson",
        }
    }

    /// The format's text for `report`.
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Json => json(report),
            Format::Junit => junit(report),
            Format::Html => html(report),
            Format::Md => markdown(report),
            Format::Cucumber => cucumber_json(report),
            Format::Ndjson => messages(report),
        }
    }
}

/// The report as pretty JSON (with a final newline).
pub fn json(report: &Report) -> String {
    // A report is plain data (strings, numbers, maps with string keys): serializing cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Why reports could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The file or folder.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `formats` of `report` into `dir` (created if missing); returns the files written.
pub fn write_all(report: &Report, dir: &Path, formats: &[Format]) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError { path: dir.to_path_buf(), source })?;
    let mut written = Vec::new();
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    for format in formats {
        let path = dir.join(format.file_name());
        std::fs::write(&path, format.render(report))
            .map_err(|source| WriteError { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

/// Milliseconds as seconds with three decimals, e.g. `1.234`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// How many of the gate's reasons the places that show them at once list (the HTML page's banner,
/// the Markdown summary, the Cucumber Messages' `testRunFinished`); the rest are counted, since
/// the tables beside them (and the test cases) tell every failure.
pub const LISTED_REASONS: usize = 5;

/// The first [`LISTED_REASONS`] of `items`, and how many more there are.
fn listed<T>(items: &[T]) -> (&[T], usize) {
    let (shown, rest) = items.split_at(items.len().min(LISTED_REASONS));
    (shown, rest.len())
}

/// The first line of a message (for one-line places).
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
