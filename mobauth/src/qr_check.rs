//! `mobauth qr check FILE`: grades the QR picture a portal serves, for the portal's builder.
//!
//! The grading itself is pure and lives in `qr::grade`; this is the command's edge:
//! reading the file, printing the grade as text for a person or as JSON for a script, and the
//! exit code: 0 when no criterion fails (warnings allowed), 1 when one fails, 2 when the file
//! cannot be graded at all (unreadable, not a PNG or JPEG, too large).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qr::{self, Criterion, QrError, QrGrade, Verdict};

/// Exit code when a criterion fails.
const EXIT_FAIL: u8 = 1;
/// Exit code when the file cannot be graded (as for command-line usage errors).
const EXIT_USAGE: u8 = 2;

/// Width text output wraps reasons at.
const TEXT_WIDTH: usize = 100;

/// Arguments of `mobauth qr check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The picture the portal serves: a PNG or JPEG file.
    file: PathBuf,
    /// Output format: `text` for a person, `json` for a script (the same criteria, stable ids).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How the grade is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Aligned lines, one a criterion.
    Text,
    /// One JSON object: the file, the measurements and every criterion.
    Json,
}

/// Why a file could not be graded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum CheckError {
    /// The file could not be read (missing, a directory, no permission).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file given.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a PNG or JPEG image, or its image data is corrupt.
    #[error("{}: {reason}; qr check reads the PNG or JPEG picture a portal serves", path.display())]
    NotAnImage {
        /// The file given.
        path: PathBuf,
        /// What the image decoder said.
        reason: String,
    },
    /// The image is above the decoder's pixel limit.
    #[error("{}: {source}", path.display())]
    TooLarge {
        /// The file given.
        path: PathBuf,
        /// The decoder's refusal, with the dimensions and the limit.
        source: QrError,
    },
    /// The grade could not be written as JSON.
    #[error("cannot write the grade as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The JSON document: the file named as given, then the grade's fields.
#[derive(Debug, serde::Serialize)]
struct JsonReport<'a> {
    file: String,
    #[serde(flatten)]
    grade: &'a QrGrade,
}

/// Runs the command: prints the grade and returns the exit code.
pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    match check(args) {
        Ok(grade) if grade.verdict == Verdict::Fail => ExitCode::from(EXIT_FAIL),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mobauth: qr check: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn check(args: &CheckArgs) -> Result<QrGrade, CheckError> {
    let path = &args.file;
    let bytes = std::fs::read(path).map_err(|source| CheckError::Read { path: path.clone(), source })?;
    let grade = qr::grade(&bytes).map_err(|e| match e {
        QrError::UnreadableImage { reason } => CheckError::NotAnImage { path: path.clone(), reason },
        other => CheckError::TooLarge { path: path.clone(), source: other },
    })?;
    match args.format {
        Format::Text => mobauth::output::stdout(&text(path, &grade)),
        Format::Json => {
            let report = JsonReport { file: path.display().to_string(), grade: &grade };
            mobauth::output::line(&serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(grade)
}

/// The grade for a person: a verdict line, the measurements, then one line a criterion with
/// its reason wrapped under it.
fn text(path: &Path, grade: &QrGrade) -> String {
    let count = |v: Verdict| grade.criteria.iter().filter(|c| c.verdict == v).count();
    let mut out = String::new();
    // Writing to a String cannot fail, hence the ignored results below.
    let _ = writeln!(
        out,
        "{}: {} ({} failed, {} warnings, {} passed{})",
        path.display(),
        grade.verdict.label(),
        count(Verdict::Fail),
        count(Verdict::Warn),
        count(Verdict::Pass),
        match count(Verdict::Skip) {
            0 => String::new(),
            n => format!(", {n} not checked"),
        }
    );
    let mut measured = vec![format!("{} x {} px", grade.width, grade.height)];
    if let Some(v) = grade.version {
        measured.push(format!("version {v}"));
    }
    if let Some(level) = grade.ec_level {
        measured.push(format!("level {level}"));
    }
    if let Some(px) = grade.module_px {
        measured.push(format!("{px} px a module"));
    }
    let _ = writeln!(out, "  {}", measured.join(", "));
    if let Some(q) = grade.quiet_zone {
        let _ = writeln!(
            out,
            "  quiet zone: left {}, top {}, right {}, bottom {} modules",
            q.left, q.top, q.right, q.bottom
        );
    }
    if let Some(payload) = &grade.payload {
        let _ = writeln!(out, "  payload: {payload}");
    }
    let (fixed, camera): (Vec<&Criterion>, Vec<&Criterion>) =
        grade.criteria.iter().partition(|c| !c.id.starts_with("camera."));
    let width = fixed.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let _ = writeln!(out);
    for c in fixed {
        line(&mut out, c.verdict, &c.name, width, &c.reason);
    }
    let _ = writeln!(out, "\n  camera disturbances: does the code still decode?");
    let names: Vec<&str> =
        camera.iter().map(|c| c.name.strip_prefix("camera: ").unwrap_or(&c.name)).collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for (c, name) in camera.iter().zip(names) {
        line(&mut out, c.verdict, name, width, &c.reason);
    }
    out
}

/// `  PASS  name     reason`, the reason wrapped at [`TEXT_WIDTH`] under its own column (a word
/// longer than the room left stays whole).
fn line(out: &mut String, verdict: Verdict, name: &str, width: usize, reason: &str) {
    let head = format!("  {}  {name:<width$}  ", verdict.label());
    let indent = head.len();
    out.push_str(&head);
    let mut column = indent;
    let mut line_empty = true;
    for word in reason.split_whitespace() {
        if !line_empty && column + 1 + word.len() > TEXT_WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
            line_empty = true;
        }
        if !line_empty {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
        line_empty = false;
    }
    // An empty reason leaves the head's padding behind.
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_wrap_under_their_column() {
        let mut out = String::new();
        let reason = "word ".repeat(60);
        line(&mut out, Verdict::Warn, "name", 6, &reason);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[0].starts_with("  WARN  name    word"), "{out}");
        for l in &lines {
            assert!(l.len() <= TEXT_WIDTH, "{l:?} is {} long", l.len());
        }
        for l in &lines[1..] {
            assert!(l.starts_with(&" ".repeat(16)) && !l[16..].starts_with(' '), "{l:?}");
        }
        assert_eq!(out.split_whitespace().filter(|w| *w == "word").count(), 60);
    }
}
