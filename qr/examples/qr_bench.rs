//! Times `qr::decode` on every disturbance row of `tests/it/qr_disturbances.rs`.
//!
//! The foundation issue asks for a measured figure: how long decoding the worst (slowest)
//! disturbance takes in a release build. This builds the exact images the tests check (the
//! tables of `qr::camera`, the same payload and the same per-row seeds), decodes each
//! N times (default 20, or the first argument) and prints per-row median and max in
//! milliseconds, slowest first, with the strategy that read the code. Two images without a code
//! follow: they run the whole strategy pipeline and so bound the time any input can take at
//! that size. Last, one `qr::grade` of the reference picture (which decodes every
//! standard row once more).
//!
//! Run with `scripts/bench-qr.sh` (or `cargo run --release -p mobauth-qr --example
//! qr_bench -- 50`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use image::{GrayImage, Luma};
use qr::{self, RenderOptions, camera};
#[path = "../tests/it/fixture.rs"]
mod fixture;

use fixture::{otp_payload, row_rng};

fn png(img: &GrayImage) -> Vec<u8> {
    camera::Sample::Png(img.clone().into()).encode().unwrap_or_default()
}

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
    let payload = otp_payload();
    let Ok(reference) = qr::render_luma(&payload, &RenderOptions::default()) else {
        eprintln!("the reference payload does not render");
        return ExitCode::FAILURE;
    };

    println!("QR decode time, release build, {runs} runs a row (payload: {payload})\n");
    let mut all_ok = true;
    let mut rows = Vec::new();
    for d in camera::STANDARD.iter().chain(camera::HARSH) {
        let Ok(bytes) = d.apply(&reference, &mut row_rng(d.id)).encode() else {
            eprintln!("row {}: the disturbed picture does not encode", d.name);
            return ExitCode::FAILURE;
        };
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
    let (w, h) = reference.dimensions();
    let noise = png(&camera::noise(w, h, &mut row_rng("noise")));
    let blank = GrayImage::from_pixel(w, h, Luma([235]));
    let busy = png(&camera::in_busy_scene(&blank, 3, &mut row_rng("busy-scene")));
    let mut negative = vec![
        time_row("random noise", &noise, runs, None).0,
        time_row("busy scene, no code", &busy, runs, None).0,
    ];
    print(&mut negative);

    let reference_png = png(&reference);
    let start = Instant::now();
    let grade = qr::grade(&reference_png);
    let elapsed = start.elapsed();
    match grade {
        Ok(grade) => println!(
            "\nqr::grade of the reference picture: {:.2} ms ({} criteria, verdict {})",
            ms(elapsed),
            grade.criteria.len(),
            grade.verdict.label()
        ),
        Err(e) => {
            eprintln!("\nqr::grade of the reference picture failed: {e}");
            all_ok = false;
        }
    }

    if all_ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("\nsome rows did not decode to the exact payload (see outcome column)");
        ExitCode::FAILURE
    }
}
