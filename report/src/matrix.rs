//! The compatibility matrix's model and its writers: servers down, SDKs (device drivers) across,
//! each cell the verdict counts and the gate of one run of the suite, linked to that run's report.
//!
//! The model ([`Matrix`]) is built by pure functions from reports ([`from_reports`], [`build`]),
//! and rendered by pure functions as Markdown ([`markdown`]) and as one self-contained HTML page
//! ([`html`]). `mobauth matrix` feeds it (from reports, or from runs it makes) and writes it.
//!
//! A cell's row is the report's `run.target.server` and its column `run.target.device`. Two
//! reports for the same cell are an error ([`BuildError::Duplicate`]) rather than one silently
//! hiding the other; shards of a run are refused too (merge them first with `mobauth report
//! merge`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::write::escape;
use crate::{EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, Gate, Report, RunInfo, Shard, Summary, TargetInfo};

/// The matrix's HTML page, in the output folder.
pub const HTML_FILE: &str = "matrix.html";
/// The matrix's Markdown, in the output folder.
pub const MARKDOWN_FILE: &str = "matrix.md";
/// The column of the harness's own simulated devices.
pub const SIMULATED: &str = "simulated";
/// The row of the embedded mock Token Server.
pub const EMBEDDED: &str = "embedded";

/// How many gate reasons a cell shows before "and N more".
const MAX_REASONS: usize = 10;

/// Why reports do not make a matrix.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Nothing to put in it.
    #[error(
        "no run for a matrix: name report.json files (or their folders) to merge, or servers to run with --server SPEC"
    )]
    Empty,
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
    pub fn from_report(report: Report, link: Option<String>, origin: String) -> Result<Entry, BuildError> {
        if let Some(shard) = report.run.shard {
            return Err(BuildError::Shard { origin, shard });
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
pub fn from_reports(reports: Vec<(Report, String)>) -> Result<Matrix, BuildError> {
    let entries = reports
        .into_iter()
        .map(|(report, link)| Entry::from_report(report, Some(link.clone()), link))
        .collect::<Result<Vec<_>, _>>()?;
    build(entries)
}

/// The matrix of `entries`: rows and columns sorted by name, one cell per entry; two entries
/// for one cell are [`BuildError::Duplicate`], no entry at all [`BuildError::Empty`].
pub fn build(entries: Vec<Entry>) -> Result<Matrix, BuildError> {
    if entries.is_empty() {
        return Err(BuildError::Empty);
    }
    let mut entries = entries;
    // Stable: of two entries for one cell, the first given is `first` in the error.
    entries.sort_by(|a, b| (&a.server, &a.device).cmp(&(&b.server, &b.device)));
    for pair in entries.windows(2) {
        if let [a, b] = pair
            && (&a.server, &a.device) == (&b.server, &b.device)
        {
            return Err(BuildError::Duplicate {
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
pub fn headline(matrix: &Matrix) -> String {
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
