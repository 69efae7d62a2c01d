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

    /// How much work the format's file is, relative to the others (what [`write_all`] takes
    /// first): by the bytes each gives for the suite's report, the largest first.
    fn weight(self) -> u8 {
        match self {
            Format::Ndjson => 5,
            Format::Json => 4,
            Format::Html => 3,
            Format::Cucumber => 2,
            Format::Junit => 1,
            Format::Md => 0,
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

/// Writes `formats` of `report` into `dir` (created if missing); returns the files written, in
/// [`Format::ALL`]'s order, or the first (in that order) that could not be written.
///
/// The files need nothing of one another, so they are rendered and written side by side, on up
/// to one thread per core, the heaviest taken first: one after another they were the last
/// 55 ms of the embedded suite's run, on one core while the other idled.
pub fn write_all(report: &Report, dir: &Path, formats: &[Format]) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError { path: dir.to_path_buf(), source })?;
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    formats.sort_by_key(|format| std::cmp::Reverse(format.weight()));
    let write = |format: Format| {
        let path = dir.join(format.file_name());
        std::fs::write(&path, format.render(report))
            .map(|()| path.clone())
            .map_err(|source| WriteError { path, source })
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        while let Some(&format) = formats.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            done.push((format, write(format)));
        }
        done
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // This thread takes formats too, so one core (or one format) starts no other.
    let helpers = cores.min(formats.len()).saturating_sub(1);
    let mut written: Vec<(Format, Result<PathBuf, WriteError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..helpers).map(|_| scope.spawn(take)).collect();
        let mut all = take();
        for worker in workers {
            // A renderer is plain string building: a panic in one is a bug, and the caller's.
            all.extend(worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        all
    });
    written.sort_by_key(|(format, _)| *format);
    written.into_iter().map(|(_, result)| result).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of its own under the system's temporary one, emptied first.
    fn scratch(case: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mobauth-write-all-{}-{case}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn write_all_writes_each_format_as_render_gives_it_in_format_order() {
        let report = sample::report();
        let dir = scratch("each");
        // Asked out of order and twice: written once each, listed in Format::ALL's order.
        let asked = [
            Format::Md,
            Format::Ndjson,
            Format::Json,
            Format::Html,
            Format::Junit,
            Format::Cucumber,
            Format::Json,
        ];
        let written = write_all(&report, &dir, &asked).expect("a fresh folder takes every file");
        let expected: Vec<PathBuf> = Format::ALL.iter().map(|f| dir.join(f.file_name())).collect();
        assert_eq!(written, expected);
        for format in Format::ALL {
            let text = std::fs::read_to_string(dir.join(format.file_name())).expect("written");
            assert_eq!(text, format.render(&report), "{}", format.file_name());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_all_names_the_first_file_in_format_order_that_cannot_be_written() {
        let report = sample::report();
        // (folders standing where these files go, the file the error must name)
        let cases: [(&[Format], Format); 3] = [
            (&[Format::Junit], Format::Junit),
            (&[Format::Cucumber, Format::Junit], Format::Junit),
            (&[Format::Ndjson], Format::Ndjson),
        ];
        for (i, (blocked, named)) in cases.into_iter().enumerate() {
            let dir = scratch(&format!("blocked-{i}"));
            for format in blocked {
                std::fs::create_dir_all(dir.join(format.file_name())).expect("a folder in the way");
            }
            let err = write_all(&report, &dir, &Format::ALL).expect_err("a folder stands where a file goes");
            assert_eq!(err.path, dir.join(named.file_name()), "case {i}");
            assert_eq!(err.source.kind(), std::io::ErrorKind::IsADirectory, "case {i}");
            // The files that could be written were.
            for format in Format::ALL.iter().filter(|f| !blocked.contains(f)) {
                assert!(dir.join(format.file_name()).is_file(), "case {i}: {}", format.file_name());
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
