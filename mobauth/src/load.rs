//! `mobauth load` and `mobauth load merge`: arguments, progress, the report files and the exit
//! code (0 when every threshold holds, 1 when one does not, 2 for a usage error, 3 when the
//! server cannot be reached, is not a Token Server, or enrolls no device).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use load::generate::{LoadError, LoadOptions, LoadTarget, Progress};
use load::report::LoadReport;
use load::schedule::{self, Plan, Rate, Shard};
use load::threshold::Threshold;
use load::write;
use peers::target::{ProbeError, TargetFile};

use crate::cli::{ProgressArg, reports_folder, usage};

/// The exit code when the load could not start against the server.
pub const EXIT_TARGET: u8 = 3;

/// `mobauth load`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub merge: Option<LoadCommand>,
    #[command(flatten)]
    pub run: RunLoadArgs,
}

/// `mobauth load merge`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LoadCommand {
    /// Join the load.json of generators 1/N to N/N of one plan into the report of the whole
    /// plan (histograms added exactly, thresholds checked again), and exit as its thresholds say.
    Merge {
        /// The shards' load.json files (or the folders holding them).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the merged report.
        #[arg(long, default_value = "reports/load-merged")]
        out: PathBuf,
    },
}

/// The arguments of a load run.
#[derive(Debug, Clone, clap::Args)]
pub struct RunLoadArgs {
    /// A server under load described by a TOML target file (as for `mobauth run`) instead of the
    /// embedded mock server.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    pub target: Option<PathBuf>,
    /// A server under load by base URL, with the clients and admin token of `mobauth serve`'s
    /// server files.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Arrivals of OTP transactions at the hold: `50`, `50/s`, `3000/min`.
    #[arg(long, default_value = "20/s", value_parser = Rate::parse)]
    pub rate: Rate,
    /// How long the rate rises from none to --rate (`10s`, `1m`).
    #[arg(long, default_value = "0s", value_parser = schedule::parse_duration)]
    pub ramp_up: Duration,
    /// How long the rate holds.
    #[arg(long, default_value = "10s", value_parser = schedule::parse_duration)]
    pub hold: Duration,
    /// How long the rate falls from --rate to none.
    #[arg(long, default_value = "0s", value_parser = schedule::parse_duration)]
    pub ramp_down: Duration,
    /// Devices enrolled before the arrivals, each with a user of its own (made through the
    /// test-control API where the server offers it, else the target file's users).
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    /// A threshold that sets the exit code, e.g. 'p99 < 250ms', 'answer.p99.9 < 50ms',
    /// 'errors < 0.1%', 'throughput >= 40/s' (repeatable).
    #[arg(long, value_parser = Threshold::parse)]
    pub threshold: Vec<Threshold>,
    /// Run generator K of N: the plan's arrivals i with i % N == K - 1 (merge the N reports with
    /// `mobauth load merge`).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// The seed of the devices' keys and ids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The most transactions in flight: an arrival beyond it is not started and counts as failed.
    #[arg(long, default_value_t = 10_000)]
    pub max_in_flight: usize,
    /// How long a transaction waits for its callback after the device answered.
    #[arg(long, default_value = "10s", value_parser = schedule::parse_duration)]
    pub callback_timeout: Duration,
    /// The OTP type the portal asks for.
    #[arg(long, default_value = "qr-code")]
    pub otp_type: String,
    /// Where to write load.json, load.html and load-summary.md.
    #[arg(long, default_value = "reports/load")]
    pub out: PathBuf,
    /// Progress output on standard error.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

/// Runs `mobauth load` or `mobauth load merge` and returns the exit code.
pub fn command(args: LoadArgs) -> u8 {
    match args.merge {
        Some(LoadCommand::Merge { reports, out }) => merge(&reports, &out),
        None => run(args.run),
    }
}

fn run(args: RunLoadArgs) -> u8 {
    if let Err(message) = reports_folder(&args.out) {
        return usage(&message);
    }
    let target = match (&args.target, &args.server) {
        (Some(path), _) => TargetFile::load(path).map(|f| LoadTarget::Server(Box::new(f))),
        (None, Some(url)) => TargetFile::for_url(url).map(|f| LoadTarget::Server(Box::new(f))),
        (None, None) => Ok(LoadTarget::Embedded),
    };
    let target = match target {
        Ok(target) => target,
        Err(e) => return usage(&e.to_string()),
    };
    let plan = match Plan::new(args.rate, args.ramp_up, args.hold, args.ramp_down) {
        Ok(plan) => plan,
        Err(e) => return usage(&e.to_string()),
    };
    let mut options = LoadOptions::new(target, plan);
    options.shard = args.shard.unwrap_or(Shard::WHOLE);
    options.devices = args.devices;
    options.seed = args.seed;
    options.thresholds = args.threshold;
    options.max_in_flight = args.max_in_flight;
    options.callback_timeout = args.callback_timeout;
    options.otp_type = args.otp_type;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let shown = ProgressShown::new(args.progress);
    let report = runtime.block_on(load::run(options, move |p| shown.show(p)));
    match report {
        Ok(report) => finish(&report, &args.out),
        Err(LoadError::Usage(message)) => usage(&message),
        // A probe that got answers it could not use (a refused admin token, say) is the target
        // file's mistake, as for `mobauth run`; a server that is not there or not a Token Server,
        // or that enrolls no device, cannot be loaded.
        Err(LoadError::Probe(e))
            if !matches!(e, ProbeError::Unreachable { .. } | ProbeError::NotATokenServer { .. }) =>
        {
            usage(&e.to_string())
        }
        Err(e) => {
            eprintln!("mobauth: {e}");
            EXIT_TARGET
        }
    }
}

/// Writes the report files, prints the summary and returns the thresholds' exit code.
fn finish(report: &LoadReport, out: &Path) -> u8 {
    let summary = write::markdown(report);
    crate::output::stdout(&summary);
    let files = [
        ("load.json", write::json(report)),
        ("load.html", write::html(report)),
        ("load-summary.md", summary),
    ];
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("mobauth: cannot create {}: {e}", out.display());
        return report::EXIT_USAGE;
    }
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("mobauth: cannot write {}: {e}", path.display());
            return report::EXIT_USAGE;
        }
        written.push(path.display().to_string());
    }
    crate::output::line(&format!("Reports: {}", written.join(", ")));
    report.exit_code()
}

/// The most bytes of a load.json read.
const MAX_REPORT: u64 = 64 * 1024 * 1024;

fn read_report(path: &Path) -> Result<(String, LoadReport), String> {
    let path = if path.is_dir() { path.join("load.json") } else { path.to_path_buf() };
    let shown = path.display().to_string();
    let file = std::fs::File::open(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_REPORT + 1), &mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_REPORT {
        return Err(format!("{shown} is over {MAX_REPORT} bytes: not a load report"));
    }
    let report = serde_json::from_str(&text).map_err(|e| format!("{shown} is not a load report: {e}"))?;
    Ok((shown, report))
}

fn merge(paths: &[PathBuf], out: &Path) -> u8 {
    if let Err(message) = reports_folder(out) {
        return usage(&message);
    }
    let reports = match paths.iter().map(|p| read_report(p)).collect::<Result<Vec<_>, _>>() {
        Ok(reports) => reports,
        Err(message) => return usage(&message),
    };
    match load::merge(&reports) {
        Ok(merged) => finish(&merged, out),
        Err(e) => usage(&e.to_string()),
    }
}

/// The progress display: a bar redrawn in place on a terminal, a line every five seconds
/// otherwise.
struct ProgressShown {
    bar: bool,
    off: bool,
    last: Mutex<Option<Instant>>,
}

impl ProgressShown {
    fn new(arg: ProgressArg) -> Self {
        // `auto` decides as `mobauth run` does (a terminal, and `CI` unset, empty, "false" or "0").
        let bar = matches!(arg, ProgressArg::Bar)
            || (matches!(arg, ProgressArg::Auto) && runner::Progress::detect() == runner::Progress::Bar);
        Self { bar, off: matches!(arg, ProgressArg::Off), last: Mutex::new(None) }
    }

    fn show(&self, p: &Progress) {
        if self.off {
            return;
        }
        let done = p.finished;
        let fraction =
            if p.plan.is_zero() { 1.0 } else { (p.elapsed.as_secs_f64() / p.plan.as_secs_f64()).min(1.0) };
        let counts = format!(
            "{:.1}/{:.1} s · {} started · {} accepted · {} failed",
            p.elapsed.as_secs_f64().min(p.plan.as_secs_f64()),
            p.plan.as_secs_f64(),
            p.started,
            p.completed,
            p.failed
        );
        let mut stderr = std::io::stderr().lock();
        if self.bar {
            const WIDTH: usize = 30;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a fraction of 30 in 0..=30"
            )]
            let filled = (fraction * WIDTH as f64) as usize;
            let _ = write!(stderr, "\r[{}{}] {counts}\x1b[K", "#".repeat(filled), "-".repeat(WIDTH - filled));
            if done {
                let _ = writeln!(stderr);
            }
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if done || last.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
            *last = Some(Instant::now());
            let _ = writeln!(stderr, "load: {counts}");
        }
    }
}
