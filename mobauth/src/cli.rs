//! The `mobauth run` and `mobauth report` commands: arguments, output and exit codes.
//!
//! Exit codes: 0 when the target conforms, 1 when a MUST failed or a result was unexpected
//! (including a stale or expired expectation), 2 for a usage or configuration error, 3 when the
//! target cannot be reached. `report diff` exits 1 when something regressed.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use report::write::{self, Format};
use report::{EXIT_USAGE, Expectations, Report, Shard, diff, merge};
use runner::{self, FeatureSource, Progress, RunOptions, TargetSpec};

/// The exit code of a harness bug (as Rust's own for a panic).
pub const EXIT_INTERNAL: u8 = 101;

/// How `mobauth run` shows progress on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressArg {
    /// A bar on a terminal; plain lines when standard error is not a terminal or `CI` is set.
    Auto,
    /// Always the bar.
    Bar,
    /// Always plain lines.
    Lines,
    /// Nothing.
    Off,
}

/// `mobauth run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Run the feature files of this folder (or this one file) instead of the suite built into
    /// this binary.
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Run only scenarios whose tags match this cucumber tag expression, e.g. "@must and not @ENR-003".
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// The run seed; the same seed repeats a run exactly.
    #[arg(long, default_value_t = runner::DEFAULT_SEED)]
    pub seed: u64,
    /// Run only shard K of N (scenario i, in file and line order after --tags, is in shard i % N + 1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Where to write the reports.
    #[arg(long, default_value = "reports/latest")]
    pub out: PathBuf,
    /// The reports to write, comma-separated.
    #[arg(long, value_parser = format_arg(), value_delimiter = ',', default_value = "json,junit,html,md,cucumber")]
    pub format: Vec<Format>,
    /// A TOML file of known failures (see README: Reports and exit codes).
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
    /// Count failed SHOULD requirements against the gate too.
    #[arg(long)]
    pub strict: bool,
    /// How many scenarios run at once.
    #[arg(long, default_value_t = NonZeroUsize::new(runner::DEFAULT_CONCURRENCY).unwrap_or(NonZeroUsize::MIN))]
    pub concurrency: NonZeroUsize,
    /// A server under test described by a TOML target file (base URL, clients, users, admin token,
    /// TLS, timeouts; see docs/IMPLEMENTERS.md) instead of the embedded mock server.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    pub target: Option<PathBuf>,
    /// A server under test by base URL, with the clients, users and admin token of `mobauth
    /// serve`'s server files (a target file with only `base_url`, plus the admin token).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Progress output on standard error.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
    /// Test an SDK: the device driver program (command and arguments, as a shell reads them) whose
    /// device stands in for the first device of every scenario; later devices stay simulated.
    #[arg(long, value_name = "COMMAND ARGS")]
    pub device_driver: Option<String>,
    /// How many device driver programs run at once (default: four per core of this machine); the
    /// scenarios that need a driver wait for a free slot.
    #[arg(long, value_name = "N")]
    pub driver_concurrency: Option<NonZeroUsize>,
    /// How long the harness waits for any one line of a device driver, in seconds, before the
    /// scenario fails naming this wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub driver_timeout: u64,
}

/// `mobauth report ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReportCommand {
    /// Join the reports of shards 1/N to N/N of one run into the report of the whole run, and
    /// exit as the gate says for it.
    Merge {
        /// The shards' report.json files (or the folders holding them).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the merged reports.
        #[arg(long, default_value = "reports/merged")]
        out: PathBuf,
        /// The reports to write, comma-separated.
        #[arg(long, value_parser = format_arg(), value_delimiter = ',', default_value = "json,junit,html,md,cucumber")]
        format: Vec<Format>,
    },
    /// List the regressions and fixes from OLD to NEW (report.json files or their folders);
    /// exit 1 when something regressed.
    Diff {
        /// The earlier report.
        old: PathBuf,
        /// The later report.
        new: PathBuf,
    },
}

/// Runs `mobauth run` and returns the exit code. `driver_command` is the reference device
/// driver's command line (the binary's own `device-driver` subcommand), which driver scenarios
/// use unless `--device-driver` names the SDK's driver (whose device then also stands in for the
/// scenarios' devices).
pub fn run(args: RunArgs, driver_command: Option<String>) -> u8 {
    if let Err(message) = reports_folder(&args.out) {
        return usage(&message);
    }
    let expectations = match &args.expectations {
        Some(path) => match Expectations::load(path) {
            Ok(expectations) => expectations,
            Err(e) => return usage(&e.to_string()),
        },
        None => Expectations::none(),
    };
    let progress = match args.progress {
        ProgressArg::Auto => Progress::detect(),
        ProgressArg::Bar => Progress::Bar,
        ProgressArg::Lines => Progress::Lines,
        ProgressArg::Off => Progress::Off,
    };
    let options = RunOptions {
        features: args.features.map_or_else(crate::features::embedded, FeatureSource::Folder),
        tags: args.tags,
        seed: args.seed,
        shard: args.shard,
        concurrency: args.concurrency.get(),
        driver_limits: runner::DriverLimits::new(
            args.driver_concurrency.map_or_else(
                || std::thread::available_parallelism().map_or(1, usize::from),
                NonZeroUsize::get,
            ),
            std::time::Duration::from_secs(args.driver_timeout),
        ),
        target: match (args.target, args.server) {
            (Some(file), _) => TargetSpec::File(file),
            (None, Some(url)) => TargetSpec::Url(url),
            (None, None) => TargetSpec::Embedded,
        },
        drive_devices: args.device_driver.is_some(),
        driver_command: args.device_driver.or(driver_command),
        progress,
        strict: args.strict,
        expectations,
    };
    runner::quiet_step_panics();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner::run(options)));
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => {
            eprintln!("mobauth: {e}");
            return e.exit_code();
        }
        Err(payload) => {
            eprintln!(
                "mobauth: internal error (a harness bug): {}",
                runner::panic_text(payload.as_ref()).unwrap_or_default()
            );
            return EXIT_INTERNAL;
        }
    };
    finish(&report, &args.out, &args.format)
}

/// Prints the summary, writes the reports and returns the gate's exit code.
fn finish(report: &Report, out: &Path, formats: &[Format]) -> u8 {
    crate::output::stdout(&write::text(report));
    match write::write_all(report, out, formats) {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            crate::output::line(&format!("Reports: {}", names.join(", ")));
            report.gate.exit_code
        }
        Err(e) => usage(&e.to_string()),
    }
}

/// Runs `mobauth report ...` and returns the exit code.
pub fn report(command: ReportCommand) -> u8 {
    match command {
        ReportCommand::Merge { reports, out, format } => {
            if let Err(message) = reports_folder(&out) {
                return usage(&message);
            }
            let mut loaded = Vec::new();
            for path in &reports {
                match report::load(path) {
                    Ok(report) => loaded.push(report),
                    Err(message) => return usage(&message),
                }
            }
            match merge::merge(loaded) {
                Ok(merged) => finish(&merged, &out, &format),
                Err(e) => usage(&e.to_string()),
            }
        }
        ReportCommand::Diff { old, new } => {
            let (old, new) = match (report::load(&old), report::load(&new)) {
                (Ok(old), Ok(new)) => (old, new),
                (Err(message), _) | (_, Err(message)) => return usage(&message),
            };
            let diff = diff::diff(&old, &new);
            crate::output::stdout(&diff::render(&diff));
            u8::from(diff.has_regressions())
        }
    }
}

/// `--format`'s parser: one of the formats' names.
fn format_arg() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Format::ALL.map(Format::name))
        .map(|name| Format::named(&name).expect("the parser admits only the formats' names"))
}

/// `--out` names a folder for the reports; `-`, which other tools read as standard output, is
/// refused before anything runs instead of becoming a folder named `-`.
fn reports_folder(out: &Path) -> Result<(), String> {
    if out == Path::new("-") {
        return Err("--out names the folder the reports are written to; \"-\" (standard output) is none: \
                    give a folder, and read its report.json or summary.md"
            .into());
    }
    if out.is_file() {
        return Err(format!(
            "--out names the folder the reports are written to, but {} is a file",
            out.display()
        ));
    }
    Ok(())
}

fn usage(message: &str) -> u8 {
    eprintln!("mobauth: {message}");
    EXIT_USAGE
}
