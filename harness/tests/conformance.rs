//! The conformance suite: every scenario of `features/` against the embedded mock Token Server,
//! each scenario on a fresh server of its own (so they run concurrently and stay isolated).
//!
//! `cargo test -p mobauth --test conformance` runs it. The command line takes cucumber's options
//! (`--tags @must`, `--name REGEX`, `-c N`, `--fail-fast`, `-v` ...) and the libtest ones that
//! `cargo test` passes on (`--nocapture`, `--test-threads N`, a positional name filter), so
//! `cargo test -- --nocapture` and `cargo test NAME` work. `MOBAUTH_SEED` sets the run seed.

use futures::FutureExt as _;
use harness::world::ConformanceWorld;

/// The run seed when `MOBAUTH_SEED` is not set (as `mobauth run`'s).
const DEFAULT_SEED: u64 = harness::runner::DEFAULT_SEED;

/// Options `cargo test` passes to every test binary, accepted so a cucumber binary sits among them.
#[derive(Debug, Clone, clap::Args)]
struct LibtestCompat {
    /// Run only scenarios whose feature or scenario name contains this text (as `cargo test NAME`).
    #[arg(value_name = "FILTER")]
    filter: Option<String>,
    /// With a filter: the scenario name must equal it.
    #[arg(long)]
    exact: bool,
    /// Accepted for libtest compatibility: output is never captured.
    #[arg(long)]
    nocapture: bool,
    /// Accepted for libtest compatibility: use `-c N` for cucumber's concurrency.
    #[arg(long, value_name = "N")]
    test_threads: Option<usize>,
    /// List nothing and exit: a cucumber suite has no libtest tests to list.
    #[arg(long)]
    list: bool,
    /// Accepted for libtest compatibility: no scenario is ignored.
    #[arg(long)]
    ignored: bool,
    /// Accepted for libtest compatibility.
    #[arg(long)]
    include_ignored: bool,
}

#[tokio::main]
async fn main() {
    let cli = cucumber::cli::Opts::<_, _, _, LibtestCompat>::parsed();
    let compat = cli.custom.clone();
    if compat.list || compat.ignored {
        return;
    }
    let seed = match std::env::var("MOBAUTH_SEED") {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("MOBAUTH_SEED must be a u64, got {text:?}")),
        Err(_) => DEFAULT_SEED,
    };
    println!("conformance suite against the embedded mock server, run seed {seed} (MOBAUTH_SEED)");
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/../features");
    <ConformanceWorld as cucumber::World>::cucumber()
        .fail_on_skipped()
        .before(move |feature, _rule, scenario, world| {
            async move {
                // The same start as `mobauth run`'s (so a scenario gets the same seed in both). The
                // driver scenarios run the reference driver: this package's own binary.
                let driver = format!("'{}' device-driver", env!("CARGO_BIN_EXE_mobauth"));
                harness::runner::begin_embedded_scenario(
                    world,
                    seed,
                    feature,
                    scenario,
                    Some(harness::runner::DriverSetup::new(driver)),
                )
                .await;
            }
            .boxed_local()
        })
        .with_cli(cli)
        .filter_run_and_exit(features, move |feature, _rule, scenario| match &compat.filter {
            None => true,
            Some(filter) if compat.exact => scenario.name == *filter,
            Some(filter) => scenario.name.contains(filter.as_str()) || feature.name.contains(filter.as_str()),
        })
        .await;
}
