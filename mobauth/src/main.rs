//! `mobauth`: the command line of the conformance harness.
//!
//! This is the binary's edge: errors become `anyhow` reports and exit codes here and nowhere else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};

mod qr_check;

/// A conformance harness for mobile authentication.
#[derive(Debug, Parser)]
#[command(name = "mobauth", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the conformance suite (default: against the embedded mock Token Server), print a
    /// summary by requirement and write reports; exit 0 when conformant, 1 when not, 2 for a
    /// usage or configuration error, 3 when the target cannot be reached.
    Run(mobauth::cli::RunArgs),
    /// List the scenarios a run would run (with their ids, levels, requirements and tags), the
    /// requirements, or the tags, without running anything; --tags and --shard select as in `run`.
    List(mobauth::list::ListArgs),
    /// Merge shard reports, or list regressions and fixes between two reports.
    #[command(subcommand)]
    Report(mobauth::cli::ReportCommand),
    /// The compatibility matrix, servers down and SDKs across: merge reports (REPORT...) or run
    /// every server with the simulated devices and each device driver (--server, --device-driver),
    /// then write matrix.html and matrix.md; exit 0 when every cell is conformant, 1 when not, 2
    /// for a usage error.
    Matrix(mobauth::matrix::MatrixArgs),
    /// Load a Token Server: OTP transactions at a set rate (ramp up, hold, ramp down), each the
    /// whole flow, with latency percentiles per call and end to end, and thresholds that set the
    /// exit code (0 when every one holds, 1 when one does not, 2 for a usage error, 3 when the
    /// server cannot be used); `mobauth load merge` joins the reports of sharded generators.
    Load(mobauth::load::LoadArgs),
    /// Encode, decode or check the QR code of an OTP.
    #[command(subcommand)]
    Qr(QrCommand),
    /// Run the mock Token Server standalone.
    Serve {
        /// Server file (see fixtures/servers/).
        #[arg(long, default_value = "fixtures/servers/default.toml")]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed for the server's randomness (tokens, keys, ids) when the file names none: the
        /// same seed gives the same token stream, for a deterministic test only. Without one,
        /// each process draws its own.
        #[arg(long)]
        seed: Option<u64>,
        /// A state file: the server takes up the users, clients, enrollments, transactions,
        /// configuration and event sequence it holds, and keeps each change there before it
        /// answers (created when missing).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// The reference device driver: the simulated device behind the driver protocol, JSON Lines
    /// on stdin and stdout (what an SDK implementer's driver program does for a real SDK).
    DeviceDriver {
        /// Seed for the device's ids and keys (default: the harness's MOBAUTH_DRIVER_SEED, the
        /// scenario's seed, or else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Take, wherever the driver protocol leaves a choice, a different legal reading than
        /// the reference's own (clean QR images only, stale enrollment state, other texts ...),
        /// to show that the suite accepts it.
        #[arg(long)]
        alternative_readings: bool,
    },
    /// Print a shell completion script for mobauth on standard output, e.g.
    /// `mobauth completions bash > /etc/bash_completion.d/mobauth`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages: mobauth.1 and one for each command (mobauth-run.1, ...) into DIR,
    /// or mobauth.1 alone to standard output without --out.
    Man {
        /// The folder to write the pages into (created when missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum QrCommand {
    /// Render TEXT as the reference portal does (level M, 4-module quiet zone, 8 px a module).
    Encode {
        /// The payload, e.g. an OTP.
        text: String,
        /// Output file: `.png` or `.svg`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the payload of the QR code in a PNG or JPEG image, exactly, and exit 0; or say why not and exit 1.
    Decode {
        /// The image file.
        file: PathBuf,
    },
    /// Grade a portal's QR picture: decodes, OTP payload, version, byte mode, error correction,
    /// quiet zone, module size, colours, and whether it still decodes under each camera
    /// disturbance; exit 0 when nothing fails, 1 when a criterion fails, 2 when the file is not
    /// a readable PNG or JPEG.
    Check(qr_check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => Ok(ExitCode::from(mobauth::cli::run(args, own_driver_command()))),
        Command::List(args) => Ok(ExitCode::from(mobauth::list::list(args))),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "mobauth", &mut script);
            mobauth::output::stdout(&String::from_utf8_lossy(&script));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => man(out.as_deref()),
        Command::Report(cmd) => Ok(ExitCode::from(mobauth::cli::report(cmd))),
        Command::Matrix(args) => Ok(ExitCode::from(mobauth::matrix::command(args, own_driver_command()))),
        Command::Load(args) => Ok(ExitCode::from(mobauth::load::command(args))),
        Command::Qr(cmd) => qr(cmd),
        Command::Serve { config, addr, seed, state } => serve(config, addr, seed, state),
        Command::DeviceDriver { seed, alternative_readings } => {
            let readings = if alternative_readings {
                peers::driver::reference::Readings::alternative()
            } else {
                peers::driver::reference::Readings::default()
            };
            seed.map_or_else(seed_from_harness, Ok).and_then(|seed| device_driver(seed, readings))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mobauth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the manual pages into `out`, or `mobauth.1` to standard output.
fn man(out: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    let Some(out) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page).context("cannot render the manual page")?;
        mobauth::output::stdout(&String::from_utf8_lossy(&page));
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    clap_mangen::generate_to(command, out)
        .with_context(|| format!("cannot write the pages into {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// This binary's own reference device driver (`mobauth device-driver`), for driver scenarios.
fn own_driver_command() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    Some(format!("'{}' device-driver", exe.display()))
}

fn qr(cmd: QrCommand) -> anyhow::Result<ExitCode> {
    use qr::{self, RenderOptions};
    match cmd {
        QrCommand::Encode { text, out } => {
            let opts = RenderOptions::default();
            let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            let bytes = match ext.as_deref() {
                Some("png") => qr::render_png(&text, &opts)?,
                Some("svg") => qr::render_svg(&text, &opts)?.into_bytes(),
                _ => anyhow::bail!("--out must end in .png or .svg: {}", out.display()),
            };
            std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        QrCommand::Decode { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match qr::decode(&bytes) {
                Ok(payload) => {
                    mobauth::output::line(&payload);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("mobauth: {}: {e}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        QrCommand::Check(args) => Ok(qr_check::run(&args)),
    }
}

/// A seed of this process's own, from the operating system's randomness (the keys the standard
/// library draws for its hash maps), never printed: it determines every token the server issues.
fn process_seed() -> u64 {
    use std::hash::BuildHasher as _;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

fn serve(
    config: PathBuf,
    addr: SocketAddr,
    seed: Option<u64>,
    state: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    init_tracing();
    let file = mock_server::ServerFile::load(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut options = mock_server::ServeOptions::new(addr, file);
        options.seed = seed.unwrap_or_else(process_seed);
        options.state = state;
        let server = mock_server::serve(options).await?;
        tracing::info!(url = %server.url(), config = %config.display(), "mock Token Server listening");
        mobauth::output::line(&format!("mock Token Server listening on {}", server.url()));
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The seed the harness hands a driver program in its environment, or 0 when it hands none.
fn seed_from_harness() -> anyhow::Result<u64> {
    match std::env::var(peers::driver::client::SEED_VARIABLE) {
        Ok(text) => text.parse().with_context(|| {
            format!("{} must be a decimal u64, got {text:?}", peers::driver::client::SEED_VARIABLE)
        }),
        Err(_) => Ok(0),
    }
}

fn device_driver(seed: u64, readings: peers::driver::reference::Readings) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        peers::driver::reference::run_with(stdin, tokio::io::stdout(), seed, readings)
            .await
            .context("driver I/O failed")?;
        Ok(ExitCode::SUCCESS)
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(mobauth::output::colour_on_stderr())
        .init();
}
