//! Renders and reads back N portal OTPs the way the suite does: `qr::render_png` with the
//! reference options (level M, 8 px modules, 4-module quiet zone), then `qr::decode` of those
//! bytes, checking every payload comes back exactly.
//!
//! Why: the disturbance bench (`qr_bench`) times camera rows, but most of the suite's QR CPU is
//! this clean round trip, once per portal page. The OTPs are fixed (a seeded stream), so the
//! work is the same on every run and an instruction count under callgrind is repeatable:
//!
//! ```text
//! cargo run --release -p mobauth-qr --example qr_portal -- [count] [chars]
//! valgrind --tool=callgrind target/release/examples/qr_portal 50
//! ```
//!
//! `count` defaults to 200; `chars` (default 68, the contract's OTP: base64 of 49 bytes) sets the
//! payload length, drawn from the base64 alphabet, to see other versions.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine as _;
use qr::RenderOptions;
use rand_core::Rng as _;

/// `count` payloads of `chars` characters: real OTP-shaped base64 at the contract's length,
/// base64-alphabet text otherwise.
fn payloads(count: usize, chars: usize) -> Vec<String> {
    let mut rng = protocol::rng::seeded(0x6d6f_6261_7574_6801);
    let engine = base64::engine::general_purpose::STANDARD;
    (0..count)
        .map(|_| {
            let mut bytes = vec![0u8; chars.div_ceil(4) * 3];
            rng.fill_bytes(&mut bytes);
            let mut text = engine.encode(&bytes);
            text.truncate(chars);
            text
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok().filter(|&n| n > 0));
    let count = args.next().flatten().unwrap_or(200);
    let chars = args.next().flatten().unwrap_or(protocol::otp::OTP_CHARS);
    let opts = RenderOptions::default();
    let (mut render, mut decode) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for payload in payloads(count, chars) {
        let start = Instant::now();
        let png = match qr::render_png(&payload, &opts) {
            Ok(png) => png,
            Err(e) => {
                eprintln!("{payload:?} does not render: {e}");
                return ExitCode::FAILURE;
            }
        };
        render.push(start.elapsed());
        let start = Instant::now();
        let read = qr::decode(&png);
        decode.push(start.elapsed());
        if read.as_deref() != Ok(payload.as_str()) {
            eprintln!("{payload:?} read back as {read:?}");
            return ExitCode::FAILURE;
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{count} OTPs of {chars} chars: render_png median {:.1} us, decode median {:.1} us",
        us(median(render)),
        us(median(decode))
    );
    ExitCode::SUCCESS
}
