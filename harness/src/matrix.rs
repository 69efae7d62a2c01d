//! The compatibility matrix behind `mobauth matrix`: servers down, SDKs (device drivers) across,
//! each cell the verdict counts and the gate of one run of the suite, linked to that run's report.
//!
//! The model ([`Matrix`]) is built by pure functions from reports ([`from_reports`], [`build`]),
//! and rendered by pure functions as Markdown ([`markdown`]) and as one self-contained HTML page
//! ([`html`]). Two modes feed it:
//!
//! - **merge**: [`merge_reports`] reads `report.json` files (or the folders holding them) written
//!   by earlier runs, wherever they ran, and links each cell to the report beside it;
//! - **run**: [`run_matrix`] runs the suite on every server with the simulated devices and with
//!   each device driver, writes each run's reports into `DIR/<server>__<device>/` and links to
//!   them. A run that cannot start on its target (say, an unreachable server) becomes a cell that
//!   says why; the matrix is written anyway.
//!
//! A cell's row is the report's `run.target.server` and its column `run.target.device`. Two
//! reports for the same cell are an error ([`MatrixError::Duplicate`]) rather than one silently
//! hiding the other; shards of a run are refused too (merge them first with `mobauth report
//! merge`).
//!
//! Exit codes of the command: 0 when every cell is conformant, 1 otherwise (a failed gate or a run
//! that did not happen), 2 for a usage or configuration error.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::report::write::{self, Format, escape};
use crate::report::{
    EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_USAGE, Expectations, Gate, Report, RunInfo, Shard, Summary,
    TargetInfo,
};
use crate::runner::{self, Progress, RunError, RunOptions, TargetSpec};
use crate::target::TargetFile;

/// The matrix's HTML page, in the output folder.
pub const HTML_FILE: &str = "matrix.html";
/// The matrix's Markdown, in the output folder.
pub const MARKDOWN_FILE: &str = "matrix.md";
/// The column of the harness's own simulated devices.
pub const SIMULATED: &str = "simulated";
/// The row of the embedded mock Token Server.
pub const EMBEDDED: &str = "embedded";

/// The exit code of a harness bug (as Rust's own for a panic).
const EXIT_INTERNAL: u8 = 101;

/// How many gate reasons a cell shows before "and N more".
const MAX_REASONS: usize = 10;

/// Why a matrix cannot be built or written.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// Nothing to put in it.
    #[error(
        "no run for a matrix: name report.json files (or their folders) to merge, or servers to run with --server SPEC"
    )]
    Empty,
    /// A report cannot be read.
    #[error("{0}")]
    Load(String),
    /// A report is one shard of a run, not a whole run.
    #[error(
        "{origin} is shard {shard} of a run: merge its shards with `mobauth report merge` and name the merged report"
    )]
    Shard {
        /// The report as named.
        origin: String,
        /// Which shard.
        shard: Shard,
    },
    /// Two runs claim one cell.
    #[error(
        "two reports for server {server:?} and SDK {device:?}: {first} and {second}; a matrix takes one run per server and SDK, so leave one out"
    )]
    Duplicate {
        /// The row.
        server: String,
        /// The column.
        device: String,
        /// The first report, as named.
        first: String,
        /// The second.
        second: String,
    },
    /// A `--server` value is not a server this harness can run against.
    #[error("--server {spec:?} is not a server: {reason}")]
    Server {
        /// The value given.
        spec: String,
        /// Why, and what to give instead.
        reason: String,
    },
    /// The arguments do not make a matrix.
    #[error("{0}")]
    Usage(String),
    /// The run options fail every run alike (features, tag expression, catalogue), so none ran.
    #[error("no run of the matrix can start: {0}")]
    Run(#[source] RunError),
    /// A file or folder cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The compatibility matrix: rows are servers, columns devices (SDKs), both sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The rows' names, sorted.
    pub servers: Vec<String>,
    /// The columns' names, sorted.
    pub devices: Vec<String>,
    /// One cell per run, sorted by server and device; a combination without a run has none.
    pub cells: Vec<Cell>,
}

/// One run's place in the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its row.
    pub server: String,
    /// Its column.
    pub device: String,
    /// What the run gave.
    pub result: CellResult,
    /// The run's report (`report.html`, or `report.json` when there is no page), relative to the
    /// matrix's folder, `/`-separated and not percent-encoded; `None` when there is no report.
    pub link: Option<String>,
}

/// What a run gave.
#[derive(Debug, Clone, PartialEq)]
pub enum CellResult {
    /// The run made a report.
    Ran(Box<RunCell>),
    /// The run could not start (e.g. its target cannot be reached).
    Failed {
        /// Why.
        message: String,
        /// The exit code `mobauth run` would have given.
        exit_code: u8,
    },
}

/// The parts of a report a cell shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCell {
    /// The run's metadata.
    pub run: RunInfo,
    /// Its verdict counts.
    pub summary: Summary,
    /// Its gate.
    pub gate: Gate,
}

impl Cell {
    /// Whether the run happened and its gate passed.
    pub fn conformant(&self) -> bool {
        matches!(&self.result, CellResult::Ran(run) if run.gate.conformant)
    }

    /// The run's exit code: the gate's, or the one of the error that stopped it.
    pub fn exit_code(&self) -> u8 {
        match &self.result {
            CellResult::Ran(run) => run.gate.exit_code,
            CellResult::Failed { exit_code, .. } => *exit_code,
        }
    }
}

impl Matrix {
    /// The cell of `server` and `device`, if a run made one.
    pub fn cell(&self, server: &str, device: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.server == server && c.device == device)
    }

    /// Whether every cell is conformant (a combination without a run does not count).
    pub fn conformant(&self) -> bool {
        self.cells.iter().all(Cell::conformant)
    }

    /// [`EXIT_CONFORMANT`] when every cell is conformant, [`EXIT_NOT_CONFORMANT`] otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.conformant() { EXIT_CONFORMANT } else { EXIT_NOT_CONFORMANT }
    }

    /// How many cells are not conformant.
    pub fn problems(&self) -> usize {
        self.cells.iter().filter(|c| !c.conformant()).count()
    }
}

/// A run on its way into a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its row.
    pub server: String,
    /// Its column.
    pub device: String,
    /// What it gave.
    pub result: CellResult,
    /// Its report, relative to the matrix's folder (see [`Cell::link`]).
    pub link: Option<String>,
    /// How to name it in an error (the path given, or the link).
    pub origin: String,
}

impl Entry {
    /// The entry of a report: its row and column are [`server_name`] and [`device_name`] of its
    /// target. A shard's report is refused.
    pub fn from_report(report: Report, link: Option<String>, origin: String) -> Result<Entry, MatrixError> {
        if let Some(shard) = report.run.shard {
            return Err(MatrixError::Shard { origin, shard });
        }
        let Report { run, summary, gate, .. } = report;
        Ok(Entry {
            server: server_name(&run.target),
            device: device_name(&run.target),
            result: CellResult::Ran(Box::new(RunCell { run, summary, gate })),
            link,
            origin,
        })
    }

    /// The entry of a run that could not start.
    pub fn failed(server: String, device: String, message: String, exit_code: u8) -> Entry {
        let origin = format!("the run of {server} with {device}");
        Entry { server, device, result: CellResult::Failed { message, exit_code }, link: None, origin }
    }
}

/// A report's row: `run.target.server`, or for a report that does not name it (written before
/// the field), `embedded` or the target's description.
pub fn server_name(target: &TargetInfo) -> String {
    if !target.server.is_empty() {
        target.server.clone()
    } else if target.kind == EMBEDDED {
        EMBEDDED.to_string()
    } else {
        target.description.clone()
    }
}

/// A report's column: `run.target.device`, or [`SIMULATED`] for a report that does not name it.
pub fn device_name(target: &TargetInfo) -> String {
    if target.device.is_empty() { SIMULATED.to_string() } else { target.device.clone() }
}

/// The matrix of reports, each with the link to it (relative to the matrix's folder).
pub fn from_reports(reports: Vec<(Report, String)>) -> Result<Matrix, MatrixError> {
    let entries = reports
        .into_iter()
        .map(|(report, link)| Entry::from_report(report, Some(link.clone()), link))
        .collect::<Result<Vec<_>, _>>()?;
    build(entries)
}

/// The matrix of `entries`: rows and columns sorted by name, one cell per entry; two entries
/// for one cell are [`MatrixError::Duplicate`], no entry at all [`MatrixError::Empty`].
pub fn build(entries: Vec<Entry>) -> Result<Matrix, MatrixError> {
    if entries.is_empty() {
        return Err(MatrixError::Empty);
    }
    let mut entries = entries;
    // Stable: of two entries for one cell, the first given is `first` in the error.
    entries.sort_by(|a, b| (&a.server, &a.device).cmp(&(&b.server, &b.device)));
    for pair in entries.windows(2) {
        if let [a, b] = pair
            && (&a.server, &a.device) == (&b.server, &b.device)
        {
            return Err(MatrixError::Duplicate {
                server: a.server.clone(),
                device: a.device.clone(),
                first: a.origin.clone(),
                second: b.origin.clone(),
            });
        }
    }
    let servers: BTreeSet<&String> = entries.iter().map(|e| &e.server).collect();
    let devices: BTreeSet<&String> = entries.iter().map(|e| &e.device).collect();
    let servers = servers.into_iter().cloned().collect();
    let devices = devices.into_iter().cloned().collect();
    let cells = entries
        .into_iter()
        .map(|e| Cell { server: e.server, device: e.device, result: e.result, link: e.link })
        .collect();
    Ok(Matrix { servers, devices, cells })
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The characters a link's path segment percent-encodes (for Markdown and HTML alike).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A [`Cell::link`] as a URL path.
fn href(link: &str) -> String {
    link.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The symbol of a cell: conformant, not conformant, or did not run.
fn symbol(cell: &Cell) -> &'static str {
    match &cell.result {
        CellResult::Ran(run) if run.gate.conformant => "✅",
        CellResult::Ran(_) => "❌",
        CellResult::Failed { .. } => "⚠️",
    }
}

/// A cell's words: scenario counts (`2 pass · 0 fail · 0 n/a`, then the rarer verdicts when
/// there are any), or that the run did not happen.
fn cell_text(cell: &Cell) -> String {
    match &cell.result {
        CellResult::Ran(run) => {
            let counts = &run.summary.scenarios;
            let mut parts = vec![
                format!("{} pass", counts.passed),
                format!("{} fail", counts.failed),
                format!("{} n/a", counts.not_applicable),
            ];
            for (count, words) in [
                (counts.not_implemented, "not impl."),
                (counts.expected_failure, "known fail"),
                (counts.unexpected_pass, "unexpected pass"),
                (counts.not_run, "not run"),
            ] {
                if count > 0 {
                    parts.push(format!("{count} {words}"));
                }
            }
            format!("{} {}", symbol(cell), parts.join(" · "))
        }
        CellResult::Failed { exit_code, .. } => format!("{} did not run (exit {exit_code})", symbol(cell)),
    }
}

/// The matrix's one-line verdict.
fn headline(matrix: &Matrix) -> String {
    if matrix.conformant() {
        format!("every run conformant ({} of {})", matrix.cells.len(), matrix.cells.len())
    } else {
        format!("NOT conformant ({} of {} runs)", matrix.problems(), matrix.cells.len())
    }
}

/// Why a cell is not conformant, one line each (at most [`MAX_REASONS`] and a count of the rest).
fn problems(cell: &Cell) -> Vec<String> {
    match &cell.result {
        CellResult::Ran(run) => {
            let reasons = &run.gate.reasons;
            let mut lines: Vec<String> = reasons.iter().take(MAX_REASONS).cloned().collect();
            if reasons.len() > MAX_REASONS {
                lines.push(format!("and {} more (see the report)", reasons.len() - MAX_REASONS));
            }
            lines
        }
        CellResult::Failed { message, .. } => vec![message.clone()],
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Milliseconds as seconds with three decimals, e.g. `1.234`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn duration_ms(run: &RunInfo) -> u64 {
    u64::try_from((run.finished_at - run.started_at).whole_milliseconds()).unwrap_or(0)
}

const LEGEND: &str = "✅ conformant (exit 0) · ❌ not conformant (exit 1) · ⚠️ did not run · — no run";

/// Text Markdown shows as written in a table cell: `<`, `>` as entities, `\` and `|` escaped,
/// line breaks as `<br>`.
fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

/// The matrix as Markdown: the table, a legend, the runs and the problems.
pub fn markdown(matrix: &Matrix) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# mobauth compatibility matrix: {}\n", headline(matrix));
    let _ = writeln!(
        out,
        "Servers down, SDKs across: each cell counts one run's scenarios by verdict and links to its report.\n"
    );
    let heads: Vec<String> = matrix.devices.iter().map(|d| md_cell(d)).collect();
    let _ = writeln!(out, "| Server \\\\ SDK | {} |", heads.join(" | "));
    let _ = writeln!(out, "| --- |{}", " --- |".repeat(matrix.devices.len()));
    for server in &matrix.servers {
        let row: Vec<String> = matrix
            .devices
            .iter()
            .map(|device| match matrix.cell(server, device) {
                None => "—".to_string(),
                Some(cell) => match &cell.link {
                    Some(link) => format!("[{}]({})", md_cell(&cell_text(cell)), href(link)),
                    None => md_cell(&cell_text(cell)),
                },
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", md_cell(server), row.join(" | "));
    }
    let _ = writeln!(out, "\n{LEGEND}\n");

    let _ = writeln!(out, "## Runs\n");
    let _ = writeln!(out, "| Server | SDK | Gate | Target | Suite | Seed | Tags | Started | Duration |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | ---: | --- | --- | ---: |");
    for cell in &matrix.cells {
        let (server, device) = (md_cell(&cell.server), md_cell(&cell.device));
        match &cell.result {
            CellResult::Ran(run) => {
                let info = &run.run;
                let tags = info.tags.as_deref().map_or_else(String::new, |t| format!("`{}`", md_cell(t)));
                let _ = writeln!(
                    out,
                    "| {server} | {device} | {} exit {} | {} | mobauth {} | {} | {tags} | {} | {} s |",
                    symbol(cell),
                    run.gate.exit_code,
                    md_cell(&info.target.description),
                    md_cell(&info.suite_version),
                    info.seed,
                    rfc3339(info.started_at),
                    seconds(duration_ms(info)),
                );
            }
            CellResult::Failed { exit_code, .. } => {
                let _ = writeln!(
                    out,
                    "| {server} | {device} | {} exit {exit_code} | did not run | | | | | |",
                    symbol(cell)
                );
            }
        }
    }

    let bad: Vec<&Cell> = matrix.cells.iter().filter(|c| !c.conformant()).collect();
    if !bad.is_empty() {
        let _ = writeln!(out, "\n## Problems");
        for cell in bad {
            let _ = writeln!(out, "\n### {} × {}\n", md_cell(&cell.server), md_cell(&cell.device));
            for line in problems(cell) {
                let _ = writeln!(out, "- {}", md_cell(&line));
            }
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2329;max-width:80rem}\
h1{margin-bottom:.2rem}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f5f7}td.n{text-align:right}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}\
.banner{padding:.6rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#82071e}\
.err{background:#fff8c5;color:#7d4e00}.none{color:#6e7781;text-align:center}td.ok a,td.bad a,td.err a{color:inherit}\
.muted{color:#6e7781;font-size:.85rem}ul{margin:.2rem 0 .8rem}";

fn class(cell: &Cell) -> &'static str {
    match &cell.result {
        CellResult::Ran(run) if run.gate.conformant => "ok",
        CellResult::Ran(_) => "bad",
        CellResult::Failed { .. } => "err",
    }
}

/// The matrix as one HTML page that opens offline (inline style, no scripts or other assets).
pub fn html(matrix: &Matrix) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mobauth compatibility matrix</title><style>{STYLE}</style></head><body>\n<h1>mobauth compatibility matrix</h1>\n"
    );
    let banner = if matrix.conformant() { "ok" } else { "bad" };
    let _ = writeln!(out, "<div class=\"banner {banner}\">{}</div>", escape(&headline(matrix)));
    out.push_str(
        "<p class=\"muted\">Servers down, SDKs across: each cell counts one run's scenarios by verdict and links to its report.</p>\n",
    );
    out.push_str("<table><tr><th>Server \\ SDK</th>");
    for device in &matrix.devices {
        let _ = write!(out, "<th>{}</th>", escape(device));
    }
    out.push_str("</tr>\n");
    for server in &matrix.servers {
        let _ = write!(out, "<tr><th>{}</th>", escape(server));
        for device in &matrix.devices {
            let Some(cell) = matrix.cell(server, device) else {
                out.push_str("<td class=\"none\">—</td>");
                continue;
            };
            let text = escape(&cell_text(cell));
            let _ = write!(out, "<td class=\"{}\">", class(cell));
            match &cell.link {
                Some(link) => {
                    let _ = write!(out, "<a href=\"{}\">{text}</a>", escape(&href(link)));
                }
                None => out.push_str(&text),
            }
            let _ = write!(out, "<div class=\"muted\">exit {}</div></td>", cell.exit_code());
        }
        out.push_str("</tr>\n");
    }
    let _ = writeln!(out, "</table>\n<p class=\"muted\">{}</p>", escape(LEGEND));

    out.push_str("<h2>Runs</h2>\n<table><tr><th>Server</th><th>SDK</th><th>Gate</th><th>Target</th><th>Suite</th><th>Seed</th><th>Tags</th><th>Started</th><th>Duration</th></tr>\n");
    for cell in &matrix.cells {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{} exit {}</td>",
            escape(&cell.server),
            escape(&cell.device),
            class(cell),
            symbol(cell),
            cell.exit_code()
        );
        match &cell.result {
            CellResult::Ran(run) => {
                let info = &run.run;
                let _ = writeln!(
                    out,
                    "<td>{}</td><td>mobauth {}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{} s</td></tr>",
                    escape(&info.target.description),
                    escape(&info.suite_version),
                    info.seed,
                    info.tags.as_deref().map_or_else(String::new, |t| format!("<code>{}</code>", escape(t))),
                    rfc3339(info.started_at),
                    seconds(duration_ms(info)),
                );
            }
            CellResult::Failed { .. } => {
                out.push_str("<td colspan=\"6\">did not run</td></tr>\n");
            }
        }
    }
    out.push_str("</table>\n");

    let bad: Vec<&Cell> = matrix.cells.iter().filter(|c| !c.conformant()).collect();
    if !bad.is_empty() {
        out.push_str("<h2>Problems</h2>\n");
        for cell in bad {
            let _ = write!(out, "<h3>{} × {}</h3><ul>", escape(&cell.server), escape(&cell.device));
            for line in problems(cell) {
                let _ = write!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// Writes [`HTML_FILE`] and [`MARKDOWN_FILE`] of `matrix` into `dir` (created if missing);
/// returns the files written.
pub fn write(matrix: &Matrix, dir: &Path) -> Result<Vec<PathBuf>, MatrixError> {
    std::fs::create_dir_all(dir).map_err(|source| MatrixError::Write { path: dir.to_path_buf(), source })?;
    let mut written = Vec::new();
    for (name, text) in [(HTML_FILE, html(matrix)), (MARKDOWN_FILE, markdown(matrix))] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| MatrixError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Merge mode

/// `to` relative to the folder `from`, both absolute, as a `/`-separated link; `to` itself when
/// they share no root (e.g. two Windows drives).
fn relative_link(from: &Path, to: &Path) -> String {
    let from: Vec<Component<'_>> = from.components().collect();
    let to_parts: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to.to_string_lossy().replace('\\', "/");
    }
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let downs = to_parts[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}

fn canonical(path: &Path) -> Result<PathBuf, std::io::Error> {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    std::fs::canonicalize(path)
}

/// The matrix of the reports at `paths` (`report.json` files or the folders holding them), each
/// linked, relative to `out`, to the `report.html` beside it (its `report.json` when there is
/// none). Creates `out`; writes nothing else.
pub fn merge_reports(paths: &[PathBuf], out: &Path) -> Result<Matrix, MatrixError> {
    std::fs::create_dir_all(out).map_err(|source| MatrixError::Write { path: out.to_path_buf(), source })?;
    let out_dir = canonical(out).map_err(|source| MatrixError::Write { path: out.to_path_buf(), source })?;
    let mut entries = Vec::new();
    for path in paths {
        let report = crate::cli::load(path).map_err(MatrixError::Load)?;
        let json = if path.is_dir() { path.join(Format::Json.file_name()) } else { path.clone() };
        let folder = json.parent().unwrap_or(Path::new("."));
        let page = folder.join(Format::Html.file_name());
        let target = if page.is_file() { page } else { json };
        let target = canonical(&target)
            .map_err(|e| MatrixError::Load(format!("cannot resolve {}: {e}", target.display())))?;
        let link = relative_link(&out_dir, &target);
        entries.push(Entry::from_report(report, Some(link), path.display().to_string())?);
    }
    build(entries)
}

// ---------------------------------------------------------------------------------------------
// Run mode

/// A server of run mode: what to run against, and its row's name when no run of it makes a
/// report (a run names its row itself: `embedded`, the target file's `name`, or the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// The server.
    pub target: TargetSpec,
    /// Its row's name.
    pub name: String,
}

/// The server a `--server` value names: `embedded`, an `http://` or `https://` URL, or the path of
/// a TOML target file (read and checked here, so a broken one stops the matrix before any run).
pub fn parse_server(spec: &str) -> Result<ServerSpec, MatrixError> {
    let spec = spec.trim();
    if spec == EMBEDDED {
        Ok(ServerSpec { target: TargetSpec::Embedded, name: EMBEDDED.to_string() })
    } else if spec.starts_with("http://") || spec.starts_with("https://") {
        Ok(ServerSpec { target: TargetSpec::Url(spec.to_string()), name: spec.to_string() })
    } else if spec.contains("://") {
        Err(MatrixError::Server {
            spec: spec.to_string(),
            reason: "give `embedded`, an http:// or https:// URL, or the path of a TOML target file".into(),
        })
    } else {
        let path = PathBuf::from(spec);
        let file = TargetFile::load(&path).map_err(|e| MatrixError::Server {
            spec: spec.to_string(),
            reason: format!(
                "{e} (give `embedded`, an http:// or https:// URL, or the path of a TOML target file)"
            ),
        })?;
        Ok(ServerSpec { target: TargetSpec::File(path), name: file.name })
    }
}

/// A column's name for a device driver whose runs did not name it: the program's file name and
/// its arguments, e.g. `acme-driver --sdk 4.2` for `'./bin/acme-driver' --sdk 4.2`.
pub fn driver_label(command: &str) -> String {
    let command = command.trim();
    let (program, rest) = match command.chars().next() {
        Some(quote @ ('\'' | '"')) => {
            let inner = &command[1..];
            match inner.find(quote) {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => (inner, ""),
            }
        }
        _ => command.split_once(char::is_whitespace).unwrap_or((command, "")),
    };
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let label = format!("{name} {}", rest.trim());
    let label = label.trim();
    if label.is_empty() { "device driver".to_string() } else { label.to_string() }
}

/// A folder name for a row or column: ASCII letters, digits, `.`, `-` and `_` kept, anything
/// else `-`, no leading `.`.
pub fn folder_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    if out.starts_with('.') {
        out.replace_range(..1, "-");
    }
    if out.is_empty() { "-".to_string() } else { out }
}

/// What `mobauth matrix` runs in run mode.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The servers, rows (each run with the simulated devices and with every driver).
    pub servers: Vec<ServerSpec>,
    /// The device drivers' command lines, columns besides the simulated one.
    pub drivers: Vec<String>,
    /// The reference device driver's command line, for the simulated column's driver scenarios.
    pub reference_driver: Option<String>,
    /// The features folder.
    pub features: PathBuf,
    /// A tag expression.
    pub tags: Option<String>,
    /// The run seed.
    pub seed: u64,
    /// Scenarios at once in a run.
    pub concurrency: usize,
    /// Whether failed SHOULD requirements fail a run's gate.
    pub strict: bool,
}

/// One column of a run plan: the simulated devices, or a driver.
fn columns(plan: &RunPlan) -> Vec<Option<&String>> {
    std::iter::once(None).chain(plan.drivers.iter().map(Some)).collect()
}

/// Runs every server with the simulated devices and with each driver, one run at a time, writes
/// each run's reports (every format) into `out/<server>__<device>/` and returns the matrix,
/// linked relative to `out`. `log` hears a line as each run starts and ends.
///
/// A run that fails on its target becomes a [`CellResult::Failed`] cell; an error of the options
/// that fails every run alike (features, tag expression, catalogue) ends the whole matrix as
/// [`MatrixError::Run`].
///
/// Must not be called from within an async runtime (a run starts its own).
pub fn run_matrix(plan: &RunPlan, out: &Path, log: &mut dyn FnMut(&str)) -> Result<Matrix, MatrixError> {
    if plan.servers.is_empty() {
        return Err(MatrixError::Empty);
    }
    std::fs::create_dir_all(out).map_err(|source| MatrixError::Write { path: out.to_path_buf(), source })?;
    let columns = columns(plan);
    // (server index, column index, entry); failed entries are named once every run is done.
    let mut ran: Vec<(usize, usize, Entry)> = Vec::new();
    let mut failed: Vec<(usize, usize, String, u8)> = Vec::new();
    let mut folders: HashSet<String> = HashSet::new();
    for (row, server) in plan.servers.iter().enumerate() {
        for (column, driver) in columns.iter().enumerate() {
            let what = format!(
                "{} with {}",
                server.name,
                driver.map_or_else(|| SIMULATED.to_string(), |d| driver_label(d))
            );
            log(&format!("running {what}"));
            let options = RunOptions {
                features: plan.features.clone(),
                tags: plan.tags.clone(),
                seed: plan.seed,
                shard: None,
                concurrency: plan.concurrency,
                target: server.target.clone(),
                driver_command: driver.cloned().or_else(|| plan.reference_driver.clone()),
                driver_limits: runner::DriverLimits::for_this_machine(),
                drive_devices: driver.is_some(),
                progress: Progress::Off,
                strict: plan.strict,
                expectations: Expectations::none(),
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner::run(options)));
            let mut report = match outcome {
                Ok(Ok(report)) => report,
                Ok(Err(
                    e @ (RunError::Features { .. }
                    | RunError::Tags { .. }
                    | RunError::NoScenarios(_)
                    | RunError::Catalogue(_)),
                )) => return Err(MatrixError::Run(e)),
                Ok(Err(e)) => {
                    log(&format!("{what}: did not run: {e}"));
                    failed.push((row, column, e.to_string(), e.exit_code()));
                    continue;
                }
                Err(payload) => {
                    let message = format!(
                        "internal error (a harness bug): {}",
                        crate::cli::panic_text(payload.as_ref()).unwrap_or_default()
                    );
                    log(&format!("{what}: {message}"));
                    failed.push((row, column, message, EXIT_INTERNAL));
                    continue;
                }
            };
            let target = &mut report.run.target;
            if target.server.is_empty() {
                target.server = server.name.clone();
            }
            if let Some(driver) = driver
                && (target.device.is_empty() || target.device == SIMULATED)
            {
                // The run did not name the SDK its driver stands for: name it by its command.
                target.device = driver_label(driver);
            }
            let base = format!("{}__{}", folder_name(&target.server), folder_name(&device_name(target)));
            let mut folder = base.clone();
            let mut n = 1;
            while !folders.insert(folder.clone()) {
                n += 1;
                folder = format!("{base}-{n}");
            }
            let dir = out.join(&folder);
            write::write_all(&report, &dir, &Format::ALL)
                .map_err(|e| MatrixError::Write { path: e.path, source: e.source })?;
            log(&format!(
                "{what}: {} (exit {}), reports in {}",
                if report.gate.conformant { "conformant" } else { "NOT conformant" },
                report.gate.exit_code,
                dir.display()
            ));
            let link = format!("{folder}/{}", Format::Html.file_name());
            let entry = Entry::from_report(report, Some(link), dir.display().to_string())?;
            ran.push((row, column, entry));
        }
    }
    // A row or column keeps the name its runs gave it, so a run that failed lines up with them.
    let row_name = |row: usize| {
        ran.iter().find(|(r, _, _)| *r == row).map_or_else(
            || plan.servers.get(row).map_or_else(String::new, |s| s.name.clone()),
            |(_, _, e)| e.server.clone(),
        )
    };
    let column_name = |column: usize| {
        ran.iter().find(|(_, c, _)| *c == column).map_or_else(
            || match columns.get(column).copied().flatten() {
                Some(driver) => driver_label(driver),
                None => SIMULATED.to_string(),
            },
            |(_, _, e)| e.device.clone(),
        )
    };
    let failed: Vec<Entry> = failed
        .into_iter()
        .map(|(row, column, message, code)| Entry::failed(row_name(row), column_name(column), message, code))
        .collect();
    build(ran.into_iter().map(|(_, _, e)| e).chain(failed).collect())
}

// ---------------------------------------------------------------------------------------------
// The command

/// `mobauth matrix`.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// Merge mode: the reports to put in the matrix, report.json files or the folders holding
    /// them (one per server and SDK).
    #[arg(value_name = "REPORT", conflicts_with_all = ["servers", "drivers"])]
    pub reports: Vec<PathBuf>,
    /// Run mode: a server to run the suite against, repeatable: `embedded` (the default when only
    /// --device-driver is given), an http:// or https:// URL, or the path of a TOML target file.
    #[arg(long = "server", value_name = "SPEC")]
    pub servers: Vec<String>,
    /// Run mode: an SDK's device driver command line, repeatable; every server runs with each
    /// driver and with the simulated devices.
    #[arg(long = "device-driver", value_name = "CMD")]
    pub drivers: Vec<String>,
    /// Where to write matrix.html and matrix.md (and, in run mode, each run's reports).
    #[arg(long, default_value = "reports/matrix")]
    pub out: PathBuf,
    /// Run mode: the folder of feature files (or one file).
    #[arg(long, default_value = "features", conflicts_with = "reports")]
    pub features: PathBuf,
    /// Run mode: run only scenarios whose tags match this cucumber tag expression.
    #[arg(long, value_name = "EXPR", conflicts_with = "reports")]
    pub tags: Option<String>,
    /// Run mode: the run seed of every run.
    #[arg(long, default_value_t = runner::DEFAULT_SEED, conflicts_with = "reports")]
    pub seed: u64,
    /// Run mode: how many scenarios of a run run at once.
    #[arg(long, default_value_t = NonZeroUsize::new(runner::DEFAULT_CONCURRENCY).unwrap_or(NonZeroUsize::MIN), conflicts_with = "reports")]
    pub concurrency: NonZeroUsize,
    /// Run mode: count failed SHOULD requirements against each run's gate too.
    #[arg(long, conflicts_with = "reports")]
    pub strict: bool,
}

/// The run plan of run-mode arguments; `None` in merge mode.
fn plan(args: &MatrixArgs, reference_driver: Option<String>) -> Result<Option<RunPlan>, MatrixError> {
    if args.servers.is_empty() && args.drivers.is_empty() {
        return if args.reports.is_empty() { Err(MatrixError::Empty) } else { Ok(None) };
    }
    let specs = if args.servers.is_empty() { vec![EMBEDDED.to_string()] } else { args.servers.clone() };
    let mut servers = Vec::new();
    for spec in &specs {
        let server = parse_server(spec)?;
        if servers.iter().any(|s: &ServerSpec| s.target == server.target) {
            return Err(MatrixError::Usage(format!(
                "--server {spec:?} is given twice; give each server once"
            )));
        }
        servers.push(server);
    }
    let mut drivers: Vec<String> = Vec::new();
    for driver in &args.drivers {
        if driver.trim().is_empty() {
            return Err(MatrixError::Usage(
                "--device-driver is empty; give the driver's command line".into(),
            ));
        }
        if drivers.contains(driver) {
            return Err(MatrixError::Usage(format!(
                "--device-driver {driver:?} is given twice; give each driver once"
            )));
        }
        drivers.push(driver.clone());
    }
    Ok(Some(RunPlan {
        servers,
        drivers,
        reference_driver,
        features: args.features.clone(),
        tags: args.tags.clone(),
        seed: args.seed,
        concurrency: args.concurrency.get(),
        strict: args.strict,
    }))
}

/// Runs `mobauth matrix` and returns the exit code: 0 when every cell is conformant, 1
/// otherwise, 2 for a usage or configuration error. `reference_driver` is the reference device
/// driver's command line (the binary's own `device-driver` subcommand).
pub fn command(args: MatrixArgs, reference_driver: Option<String>) -> u8 {
    let matrix = match plan(&args, reference_driver) {
        Err(e) => return usage(&e),
        Ok(None) => merge_reports(&args.reports, &args.out),
        Ok(Some(plan)) => {
            crate::cli::quiet_step_panics();
            run_matrix(&plan, &args.out, &mut |line| eprintln!("mobauth matrix: {line}"))
        }
    };
    let matrix = match matrix {
        Ok(matrix) => matrix,
        Err(e) => return usage(&e),
    };
    match write(&matrix, &args.out) {
        Ok(files) => {
            println!("mobauth compatibility matrix: {}", headline(&matrix));
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            println!("Matrix: {}", names.join(", "));
            matrix.exit_code()
        }
        Err(e) => usage(&e),
    }
}

fn usage(error: &MatrixError) -> u8 {
    eprintln!("mobauth: {error}");
    EXIT_USAGE
}
