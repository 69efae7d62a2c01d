//! Times `protocol::qr::decode` on every disturbance row of `tests/qr_disturbances.rs`.
//!
//! The foundation issue asks for a measured figure: how long decoding the worst (slowest)
//! disturbance takes in a release build. This builds the exact images the tests check (one
//! shared copy, `tests/support/disturb.rs`), decodes each N times (default 20, or the first
//! argument) and prints per-row median and max in milliseconds, slowest first, with the
//! strategy that read the code. Two images without a code follow: they run the whole strategy
//! pipeline and so bound the time any input can take at that size.
//!
//! Run with `scripts/bench-qr.sh` (or `cargo run --release -p mobauth-protocol --example
//! qr_bench -- 50`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use protocol::qr::{self, RenderOptions};

#[path = "../tests/support/disturb.rs"]
mod disturb;

struct Row {
    name: String,
    pixels: (u32, u32),
    outcome: String,
    median: Duration,
    max: Duration,
}

fn time_row(name: &str, bytes: &[u8], runs: usize, expected: Option<&str>) -> (Row, bool) {
    let info = qr::inspect(bytes);
    let ok = match (&info, expected) {
        (Ok(info), Some(want)) => info.payload == want,
        (Err(_), None) => true,
        _ => false,
    };
    let outcome = match &info {
        Ok(info) => format!("read by {}", info.strategy),
        Err(e) => format!("{e}"),
    };
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let result = qr::decode(bytes);
            let elapsed = start.elapsed();
            std::hint::black_box(result).ok();
            elapsed
        })
        .collect();
    times.sort();
    let pixels = image::load_from_memory(bytes).map(|img| (img.width(), img.height())).unwrap_or((0, 0));
    let row = Row {
        name: name.to_owned(),
        pixels,
        outcome,
        median: times[times.len() / 2],
        max: times[times.len() - 1],
    };
    (row, ok)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print(rows: &mut [Row]) {
    rows.sort_by_key(|r| std::cmp::Reverse(r.median));
    println!("{:<40} {:>11} {:>10} {:>10}  outcome", "row", "pixels", "median ms", "max ms");
    for r in rows.iter() {
        println!(
            "{:<40} {:>11} {:>10.2} {:>10.2}  {}",
            r.name,
            format!("{}x{}", r.pixels.0, r.pixels.1),
            ms(r.median),
            ms(r.max),
            r.outcome
        );
    }
}

fn main() -> ExitCode {
    let runs = std::env::args().nth(1).and_then(|a| a.parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(20);
    let payload = disturb::otp_payload();
    let Ok(reference) = qr::render_luma(&payload, &RenderOptions::default()) else {
        eprintln!("the reference payload does not render");
        return ExitCode::FAILURE;
    };

    println!("QR decode time, release build, {runs} runs a row (payload: {payload})\n");
    let mut all_ok = true;
    let mut rows = Vec::new();
    for d in disturb::DISTURBANCES {
        let bytes = (d.apply)(&reference).encode();
        let (row, ok) = time_row(d.name, &bytes, runs, Some(&payload));
        all_ok &= ok;
        rows.push(row);
    }
    print(&mut rows);
    if let Some(worst) = rows.first() {
        println!(
            "\nworst disturbance row: {} (median {:.2} ms, max {:.2} ms)",
            worst.name,
            ms(worst.median),
            ms(worst.max)
        );
    }

    println!("\nImages without a code (every strategy runs, then NoCodeFound):\n");
    let mut negative = vec![
        time_row("random noise", &disturb::noise_png(reference.width()), runs, None).0,
        time_row("busy scene, no code", &disturb::busy_scene_without_code(&reference), runs, None).0,
    ];
    print(&mut negative);

    if all_ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("\nsome rows did not decode to the exact payload (see outcome column)");
        ExitCode::FAILURE
    }
}
