//! `mobauth matrix`: the compatibility matrix of servers down and SDKs (device drivers) across,
//! fed in one of two modes and written as `matrix.html` and `matrix.md`:
//!
//! - **merge**: [`merge_reports`] reads `report.json` files (or the folders holding them) written
//!   by earlier runs, wherever they ran, and links each cell to the report beside it;
//! - **run**: [`run_matrix`] runs the suite on every server with the simulated devices and with
//!   each device driver, writes each run's reports into `DIR/<server>__<device>/` and links to
//!   them. A run that cannot start on its target (say, an unreachable server) becomes a cell that
//!   says why; the matrix is written anyway.
//!
//! The model and its writers are pure and live in `report::matrix`; this module reads reports,
//! runs the suite and writes files.
//!
//! Exit codes of the command: 0 when every cell is conformant, 1 otherwise (a failed gate or a run
//! that did not happen), 2 for a usage or configuration error.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::{Component, Path, PathBuf};

use peers::target::TargetFile;
use report::matrix::{
    BuildError, EMBEDDED, Entry, HTML_FILE, MARKDOWN_FILE, Matrix, SIMULATED, build, device_name, headline,
    html, markdown,
};
use report::write::{self, Format};
use report::{EXIT_USAGE, Expectations};
use runner::{self, FeatureSource, Progress, RunError, RunOptions, TargetSpec};

/// The exit code of a harness bug (as Rust's own for a panic).
const EXIT_INTERNAL: u8 = 101;

/// Why a matrix cannot be built or written.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The reports or runs do not make a matrix.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A report cannot be read.
    #[error("{0}")]
    Load(String),
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
        let report = report::load(path).map_err(MatrixError::Load)?;
        let json = if path.is_dir() { path.join(Format::Json.file_name()) } else { path.clone() };
        let folder = json.parent().unwrap_or(Path::new("."));
        let page = folder.join(Format::Html.file_name());
        let target = if page.is_file() { page } else { json };
        let target = canonical(&target)
            .map_err(|e| MatrixError::Load(format!("cannot resolve {}: {e}", target.display())))?;
        let link = relative_link(&out_dir, &target);
        entries.push(Entry::from_report(report, Some(link), path.display().to_string())?);
    }
    Ok(build(entries)?)
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
    /// The feature files.
    pub features: FeatureSource,
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
        return Err(MatrixError::Build(BuildError::Empty));
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
                only: None,
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
                        runner::panic_text(payload.as_ref()).unwrap_or_default()
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
            write::write_all(&report, &dir, &Format::DEFAULT)
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
    Ok(build(ran.into_iter().map(|(_, _, e)| e).chain(failed).collect())?)
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
    /// Run mode: a folder of feature files (or one file) instead of the suite this binary carries.
    #[arg(long, value_name = "DIR", conflicts_with = "reports")]
    pub features: Option<PathBuf>,
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
        return if args.reports.is_empty() { Err(MatrixError::Build(BuildError::Empty)) } else { Ok(None) };
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
        features: args.features.clone().map_or_else(crate::features::embedded, FeatureSource::Folder),
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
            runner::quiet_step_panics();
            run_matrix(&plan, &args.out, &mut |line| eprintln!("mobauth matrix: {line}"))
        }
    };
    let matrix = match matrix {
        Ok(matrix) => matrix,
        Err(e) => return usage(&e),
    };
    match write(&matrix, &args.out) {
        Ok(files) => {
            crate::output::line(&format!("mobauth compatibility matrix: {}", headline(&matrix)));
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            crate::output::line(&format!("Matrix: {}", names.join(", ")));
            matrix.exit_code()
        }
        Err(e) => usage(&e),
    }
}

fn usage(error: &MatrixError) -> u8 {
    eprintln!("mobauth: {error}");
    EXIT_USAGE
}
