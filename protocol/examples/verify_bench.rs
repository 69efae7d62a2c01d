//! Times one ECDSA P-256 SHA-256 check both ways: `PublicKey::verify` (p256 reads the DER, ring
//! does the arithmetic: `keys::verifies`) and p256's own `VerifyingKey::verify`, on the same
//! seeded keys and signatures, alternating rounds so the machine's drift weighs on both alike.
//! Prints each median per check and their ratio:
//!
//! ```text
//! cargo run --release -p mobauth-protocol --example verify_bench -- [rounds (default 21)]
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use p256::ecdsa::signature::Verifier as _;
use protocol::keys::KeyPair;

/// Checks in one round (a few milliseconds of work: long enough for the clock, short enough
/// for many rounds).
const PER_ROUND: usize = 64;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> ExitCode {
    let rounds = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 21,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: verify_bench [rounds > 0]");
            return ExitCode::from(2);
        }
    };
    let mut rng = protocol::rng::seeded(0x7665_7269_6679);
    let cases: Vec<(KeyPair, Vec<u8>, Vec<u8>)> = (0..PER_ROUND)
        .map(|i| {
            let key = KeyPair::generate(&mut rng);
            let message = format!("mobile-auth-v1|message {i}").into_bytes();
            let signature = key.sign(&message);
            (key, message, signature)
        })
        .collect();
    let theirs: Vec<(p256::ecdsa::VerifyingKey, p256::ecdsa::Signature)> = cases
        .iter()
        .map(|(key, _, signature)| {
            (
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_point())
                    .expect("a generated key is a point"),
                p256::ecdsa::Signature::from_der(signature).expect("our signature is DER"),
            )
        })
        .collect();
    let ours: Vec<_> = cases.iter().map(|(key, _, _)| key.public_key()).collect();
    let (mut ring_times, mut p256_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for ((_, message, signature), key) in cases.iter().zip(&ours) {
            assert_eq!(key.verify(message, signature), Ok(()), "a signature of ours verifies");
        }
        ring_times.push(start.elapsed() / PER_ROUND as u32);
        let start = Instant::now();
        for ((_, message, _), (key, signature)) in cases.iter().zip(&theirs) {
            assert!(key.verify(message, signature).is_ok(), "a signature of ours verifies");
        }
        p256_times.push(start.elapsed() / PER_ROUND as u32);
    }
    let (ring, p256) = (median(ring_times), median(p256_times));
    println!("PublicKey::verify (ring arithmetic): {:>8.1} us a check", ring.as_secs_f64() * 1e6);
    println!("p256 VerifyingKey::verify:           {:>8.1} us a check", p256.as_secs_f64() * 1e6);
    println!(
        "ratio p256 / ring: {:.2}x (median of {rounds} alternating rounds of {PER_ROUND})",
        p256.as_secs_f64() / ring.as_secs_f64()
    );
    ExitCode::SUCCESS
}
