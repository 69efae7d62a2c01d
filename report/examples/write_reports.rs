//! Renders every report format of a saved `report.json`, for measuring the writers alone (with
//! `valgrind --tool=callgrind`, or its own wall-clock figures):
//!
//! ```text
//! cargo run --release -p mobauth-report --example write_reports -- REPORT.json [ROUNDS] [OUT_DIR]
//! ```
//!
//! Prints, per format, the bytes rendered and the median time of `ROUNDS` renderings (1 unless
//! told); with `OUT_DIR`, also writes the files there (as `mobauth run` does), to compare bytes.
//! `FORMATS=html,cucumber` in the environment renders only those (their `--format` names), so
//! that a profile shows one writer; `PARALLEL=1` renders the formats on a thread each too, to see
//! what writing the files in parallel would give.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use report::write::Format;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: write_reports REPORT.json [ROUNDS] [OUT_DIR]");
        return ExitCode::from(2);
    };
    let rounds = match args.next().map(|n| n.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("ROUNDS is a whole number above 0");
            return ExitCode::from(2);
        }
    };
    let out = args.next();
    let report = match report::load(std::path::Path::new(&path)) {
        Ok(report) => report,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let formats: Vec<Format> = match std::env::var("FORMATS") {
        Ok(names) => names.split(',').filter_map(Format::named).collect(),
        Err(_) => Format::ALL.to_vec(),
    };
    let mut total = Duration::ZERO;
    for &format in &formats {
        let mut times = Vec::with_capacity(rounds);
        let mut bytes = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let text = format.render(&report);
            times.push(start.elapsed());
            bytes = text.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        total += median;
        println!(
            "{:<26} {bytes:>9} bytes  median {:>8.2} ms",
            format.file_name(),
            median.as_secs_f64() * 1e3
        );
    }
    println!("{:<26} {:>9}        total  {:>8.2} ms", "all", "", total.as_secs_f64() * 1e3);
    if std::env::var_os("PARALLEL").is_some() {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            let report = &report;
            std::thread::scope(|scope| {
                for &format in &formats {
                    scope.spawn(move || format.render(report).len());
                }
            });
            times.push(start.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        println!("{:<26} {:>9}     parallel  {:>8.2} ms", "all", "", median.as_secs_f64() * 1e3);
    }
    if let Some(dir) = out
        && let Err(e) = report::write::write_all(&report, std::path::Path::new(&dir), &formats)
    {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
