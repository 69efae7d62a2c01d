//! The `mobauth run` and `mobauth report` commands: arguments, output and exit codes.
//!
//! Exit codes: 0 when the target conforms, 1 when a MUST failed or a result was unexpected
//! (including a stale or expired expectation), 2 for a usage or configuration error, 3 when the
//! target cannot be reached. `report diff` exits 1 when something regressed.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use report::summary::RunSummary;
use report::write::{self, Format};
use report::{EXIT_USAGE, Expectations, Report, Shard, diff, merge};
use runner::{self, FeatureSource, Only, Progress, RunOptions, TargetSpec};

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

/// Which scenarios: the feature files, a tag expression and a shard (`mobauth run` and `mobauth
/// list` alike, so a listing shows what the same run runs).
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Run the feature files of this folder (or this one file) instead of the suite built into
    /// this binary.
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Run only scenarios whose tags match this cucumber tag expression, e.g. "@must and not @ENR-003".
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// Run only shard K of N (scenario i, in file and line order after --tags, is in shard i % N + 1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

/// What `mobauth run` prints on standard output when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryArg {
    /// The summary by requirement, for people, then the report files written.
    Text,
    /// One line of JSON: the gate, the counts, the scenarios against the target and the report
    /// files (and nothing else on standard output).
    Json,
}

/// `mobauth run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Check what would run without running it: parse and select the features, match every step
    /// to a step definition, read the target file and the expectations; list the scenarios and
    /// exit 0, or 2 when a step matches no definition (or several). Contacts nothing and writes
    /// no report.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only the scenarios that count against the target in this earlier report (a
    /// report.json or its folder): failed, unexpected passes and harness errors. Exits 0 without
    /// running when there are none.
    #[arg(long, value_name = "REPORT")]
    pub rerun_failed: Option<PathBuf>,
    /// What to print on standard output at the end.
    #[arg(long, value_enum, default_value_t = SummaryArg::Text)]
    pub summary: SummaryArg,
    /// The run seed; the same seed repeats a run exactly.
    #[arg(long, default_value_t = runner::DEFAULT_SEED)]
    pub seed: u64,
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
        /// What to print on standard output at the end.
        #[arg(long, value_enum, default_value_t = SummaryArg::Text)]
        summary: SummaryArg,
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
    let only = match &args.rerun_failed {
        Some(path) => match to_rerun(path) {
            Ok(only) if only.scenarios.is_empty() => {
                eprintln!(
                    "mobauth: {}: no scenario counts against the target: nothing to re-run",
                    only.source
                );
                return report::EXIT_CONFORMANT;
            }
            Ok(only) => Some(only),
            Err(message) => return usage(&message),
        },
        None => None,
    };
    let (out, formats, summary, dry_run) =
        (args.out.clone(), args.format.clone(), args.summary, args.dry_run);
    let options = run_options(args, driver_command, expectations, only);
    if dry_run {
        return crate::list::dry_run(&options);
    }
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
    finish(&report, &out, &formats, summary)
}

/// The scenarios of an earlier report that count against the target, to run again.
fn to_rerun(path: &Path) -> Result<Only, String> {
    let earlier = report::load(path)?;
    Ok(Only {
        source: path.display().to_string(),
        scenarios: earlier
            .scenarios
            .into_iter()
            .filter(|s| s.verdict.is_problem())
            .map(|s| (s.id, s.name))
            .collect(),
    })
}

/// The runner's options for `args`.
fn run_options(
    args: RunArgs,
    driver_command: Option<String>,
    expectations: Expectations,
    only: Option<Only>,
) -> RunOptions {
    let progress = match args.progress {
        ProgressArg::Auto => Progress::detect(),
        ProgressArg::Bar => Progress::Bar,
        ProgressArg::Lines => Progress::Lines,
        ProgressArg::Off => Progress::Off,
    };
    RunOptions {
        features: args.select.features.map_or_else(crate::features::embedded, FeatureSource::Folder),
        tags: args.select.tags,
        seed: args.seed,
        shard: args.select.shard,
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
        only,
    }
}

/// Writes the reports, prints the summary as asked and returns the gate's exit code.
fn finish(report: &Report, out: &Path, formats: &[Format], summary: SummaryArg) -> u8 {
    if summary == SummaryArg::Text {
        crate::output::stdout(&write::text(report));
    }
    match write::write_all(report, out, formats) {
        Ok(files) => {
            match summary {
                SummaryArg::Text => {
                    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                    crate::output::line(&format!("Reports: {}", names.join(", ")));
                }
                SummaryArg::Json => crate::output::line(&RunSummary::of(report, files).to_json()),
            }
            report.gate.exit_code
        }
        Err(e) => usage(&e.to_string()),
    }
}

/// Runs `mobauth report ...` and returns the exit code.
pub fn report(command: ReportCommand) -> u8 {
    match command {
        ReportCommand::Merge { reports, out, format, summary } => {
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
                Ok(merged) => finish(&merged, &out, &format, summary),
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
pub(crate) fn reports_folder(out: &Path) -> Result<(), String> {
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

pub(crate) fn usage(message: &str) -> u8 {
    eprintln!("mobauth: {message}");
    EXIT_USAGE
}
