//! Full OTP transactions per second against an in-process mock server.
//!
//! One transaction is what a login costs the server: the portal starts it
//! (`POST /oauth/api/v4/authenticate/user`), a device fetches it with its challenge
//! (`POST /mobile-auth/v1/otp/requests`) and answers with a signature
//! (`POST .../answer`), after which the server delivers the callback to a local receiver.
//! `--concurrency` workers (one enrolled device each) run `--transactions` of them over pooled
//! keep-alive connections; the report gives the rate and the latency of whole transactions.
//!
//! Beside it, in the same run and on as many threads as the machine has cores, the bench measures
//! the ceiling the crypto alone allows: the device's ECDSA P-256 signature of the answer and the
//! server's verification of it (with the OTP secret's two SHA-256 digests, at creation and at the
//! check), through the same `protocol::keys` types the device and the server use, in a loop of as
//! many transactions. The callback is not signed and the rest is hashing-free, so that is all the
//! crypto one transaction costs, client and server together, since both run on these cores. Rounds
//! alternate ceiling and server so that both see the same noise; the report gives the medians and
//! the ratio.
//!
//! Run it in release: `scripts/bench-mock-server.sh [--transactions N] [--concurrency C] [--rounds R]`. With
//! `--server URL` it runs against a server of its own (`mobauth serve` of a fixture file, whose
//! admin token is `mobauth-admin`) instead, its devices made from `--seed S` so that rounds of it
//! do not collide (`scripts/soak-mock-server.sh`).

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mock_server::{ClockMode, ServeOptions, ServerFile};
use protocol::keys::KeyPair;
use protocol::wire::{
    Answer, AuthenticateUserResponse, EnrollmentResponse, OtpRequestResponse, TokenResponse,
};
use serde_json::json;
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Debug)]
struct Args {
    transactions: usize,
    concurrency: usize,
    /// Unset: 5 in-process, 1 against `--server` (a soak round is one pass).
    rounds: Option<usize>,
    server: Option<String>,
    seed: u64,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { transactions: 2000, concurrency: 8, rounds: None, server: None, seed: 7 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--server" => {
                args.server = Some(it.next().ok_or("--server needs a URL")?);
                continue;
            }
            "--seed" => {
                let v = it.next().ok_or("--seed needs a value")?;
                args.seed = v.parse().map_err(|e| format!("--seed {v:?}: {e}"))?;
                continue;
            }
            _ => {}
        }
        let mut value = |name: &str| -> Result<usize> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            let n: usize = v.parse().map_err(|e| format!("{name} {v:?}: {e}"))?;
            if n == 0 {
                return Err(format!("{name} must be at least 1").into());
            }
            Ok(n)
        };
        match flag.as_str() {
            "-n" | "--transactions" => args.transactions = value("--transactions")?,
            "-c" | "--concurrency" => args.concurrency = value("--concurrency")?,
            "-r" | "--rounds" => args.rounds = Some(value("--rounds")?),
            "-h" | "--help" => {
                println!(
                    "usage: otp_throughput [--transactions N (default 2000)] [--concurrency C (default 8)] \
                     [--rounds R (default 5, 1 with --server)] [--server URL] [--seed S (default 7)]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(args)
}

/// What one worker needs: the server, its device and its user's token.
struct Worker {
    http: reqwest::Client,
    base: String,
    callback: String,
    token: String,
    device: Uuid,
    key: KeyPair,
}

async fn check(response: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    if response.status().is_success() {
        Ok(response)
    } else {
        let status = response.status();
        Err(format!("{what}: {status} {}", response.text().await.unwrap_or_default()).into())
    }
}

impl Worker {
    /// One full transaction; returns how long it took.
    async fn transaction(&self) -> Result<Duration> {
        let began = Instant::now();
        let started: AuthenticateUserResponse = check(
            self.http
                .post(format!("{}/oauth/api/v4/authenticate/user", self.base))
                .basic_auth("portal", Some("portal-secret"))
                .form(&[("type", "qr-code"), ("callback_uri", self.callback.as_str())])
                .send()
                .await?,
            "authenticate/user",
        )
        .await?
        .json()
        .await?;
        let request: OtpRequestResponse = check(
            self.http
                .post(format!("{}/mobile-auth/v1/otp/requests", self.base))
                .bearer_auth(&self.token)
                .json(&json!({"device_id": self.device, "otp": started.otp}))
                .send()
                .await?,
            "otp request",
        )
        .await?
        .json()
        .await?;
        let signed = protocol::keys::signing_string(
            started.transaction_id,
            &request.challenge,
            Answer::Accept,
            self.device,
        );
        let signature = STANDARD.encode(self.key.sign(signed.as_bytes()));
        check(
            self.http
                .post(format!("{}/mobile-auth/v1/otp/requests/{}/answer", self.base, started.transaction_id))
                .bearer_auth(&self.token)
                .json(&json!({"device_id": self.device, "answer": "accept", "signature": signature}))
                .send()
                .await?,
            "answer",
        )
        .await?;
        Ok(began.elapsed())
    }
}

/// A callback receiver that answers 204 to everything.
async fn callback_sink() -> Result<String> {
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::NO_CONTENT });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/callback", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What one measurement gave: transactions per second and the process's CPU time per transaction.
struct Measured {
    rate: f64,
    cpu_us: f64,
}

/// CPU time the thread has run, from `/proc/thread-self/schedstat` (its first field, in ns):
/// unlike wall time it does not count the time other processes took the cores.
fn thread_cpu_ns(schedstat: &str) -> Result<u64> {
    let text = std::fs::read_to_string(schedstat)?;
    let ns = text.split_whitespace().next().ok_or_else(|| format!("{schedstat} is empty"))?;
    Ok(ns.parse()?)
}

/// CPU time all the process's threads have run, in ns.
fn process_cpu_ns() -> Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let path = task?.path().join("schedstat");
        // A thread that ended since the listing has no file any more: it runs no more either.
        if let Ok(ns) = thread_cpu_ns(&path.to_string_lossy()) {
            total += ns;
        }
    }
    Ok(total)
}

/// `n` full transactions shared among the workers: the rate, the CPU per transaction and each
/// one's latency.
async fn server_round(workers: &[Arc<Worker>], n: usize) -> Result<(Measured, Vec<Duration>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = process_cpu_ns()?;
    let began = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .map(|w| {
            let (w, next) = (Arc::clone(w), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    latencies.push(w.transaction().await?);
                }
                Ok::<_, Box<dyn Error + Send + Sync>>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = began.elapsed().as_secs_f64();
    let cpu_us = process_cpu_ns()?.saturating_sub(cpu) as f64 / 1000.0 / latencies.len() as f64;
    Ok((Measured { rate: latencies.len() as f64 / elapsed, cpu_us }, latencies))
}

/// Transactions per second that the crypto of `n` transactions allows on `threads` threads: per
/// transaction, the OTP secret's digest (made when the transaction starts, compared when the
/// device fetches it), the device's signature of the signing string and the server's check of it,
/// with the same key types and calls the device and the server use. Each thread has a key of its
/// own; `round` varies the strings so no round signs what another did.
fn crypto_ceiling(threads: usize, n: usize, round: usize) -> Result<Measured> {
    let began = Instant::now();
    let (done, cpu_ns) = std::thread::scope(|scope| -> Result<(usize, u64)> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                // The first threads take the remainder: the n transactions are all done.
                let share = n / threads + usize::from(t < n % threads);
                scope.spawn(move || -> Result<(usize, u64)> {
                    let cpu = thread_cpu_ns("/proc/thread-self/schedstat")?;
                    let mut rng = protocol::rng::seeded(((round as u64) << 32) | t as u64);
                    let key = KeyPair::generate(&mut rng);
                    let public = key.public_key();
                    let device = protocol::rng::uuid(&mut rng);
                    let mut verified = 0;
                    for _ in 0..share {
                        let transaction = protocol::rng::uuid(&mut rng);
                        let otp = protocol::otp::Otp::generate(transaction, &mut rng);
                        let digest = otp.secret_digest();
                        let challenge = STANDARD.encode(protocol::rng::bytes::<32>(&mut rng));
                        let signed =
                            protocol::keys::signing_string(transaction, &challenge, Answer::Accept, device);
                        let signature = key.sign(signed.as_bytes());
                        if digest.matches(&otp) && public.verify(signed.as_bytes(), &signature).is_ok() {
                            verified += 1;
                        }
                    }
                    let cpu = thread_cpu_ns("/proc/thread-self/schedstat")?.saturating_sub(cpu);
                    Ok((verified, cpu))
                })
            })
            .collect();
        let (mut done, mut cpu_ns) = (0, 0);
        for handle in handles {
            // A panicking thread is a bug of this bench: let it show.
            let (verified, cpu) = handle.join().expect("a crypto thread does not panic")?;
            (done, cpu_ns) = (done + verified, cpu_ns + cpu);
        }
        Ok((done, cpu_ns))
    })?;
    let elapsed = began.elapsed().as_secs_f64();
    if done != n {
        return Err(format!("only {done} of the crypto loop's {n} signatures verified").into());
    }
    Ok(Measured { rate: n as f64 / elapsed, cpu_us: cpu_ns as f64 / 1000.0 / n as f64 })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    // reqwest has rustls without a provider of its own; serving in-process installs one too.
    mock_server::install_crypto_provider();
    let (server, base, admin_token) = match &args.server {
        Some(url) => (None, url.trim_end_matches('/').to_string(), "mobauth-admin".to_string()),
        None => {
            let file = ServerFile::parse(include_str!("../../fixtures/servers/default.toml"), "default")?;
            let mut options = ServeOptions::new("127.0.0.1:0".parse()?, file);
            options.clock = ClockMode::Frozen(time::OffsetDateTime::now_utc());
            options.seed = 1;
            let server = mock_server::serve(options).await?;
            let (base, token) = (server.url(), server.admin_token().to_string());
            (Some(server), base, token)
        }
    };
    let callback = callback_sink().await?;
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(args.concurrency * 2).build()?;

    // One enrolled device per worker, all alice's.
    check(
        http.put(format!("{base}/_admin/v1/config"))
            .bearer_auth(&admin_token)
            .json(&json!({"enrollment_mode": "multiple_devices"}))
            .send()
            .await?,
        "config",
    )
    .await?;
    let token: TokenResponse = check(
        http.post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password"),
                ("client_id", "mobauth-app"),
            ])
            .send()
            .await?,
        "token",
    )
    .await?
    .json()
    .await?;
    let mut rng = protocol::rng::seeded(args.seed);
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let device = protocol::rng::uuid(&mut rng);
        let key = KeyPair::generate(&mut rng);
        let csr = protocol::csr::create_csr(&key, &device.to_string())?;
        let _: EnrollmentResponse = check(
            http.post(format!("{base}/mobile-auth/v1/enrollments"))
                .bearer_auth(&token.access_token)
                .json(&json!({"device_id": device, "csr": csr}))
                .send()
                .await?,
            "enrollment",
        )
        .await?
        .json()
        .await?;
        workers.push(Arc::new(Worker {
            http: http.clone(),
            base: base.clone(),
            callback: callback.clone(),
            token: token.access_token.clone(),
            device,
            key,
        }));
    }

    // Warm-up: one transaction per worker, not counted (connections, allocator, caches).
    for w in &workers {
        w.transaction().await?;
    }

    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let rounds = args.rounds.unwrap_or(if args.server.is_some() { 1 } else { 5 });
    let (mut ceilings, mut rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut crypto_cpu, mut server_cpu) = (Vec::new(), Vec::new());
    let mut latencies = Vec::with_capacity(args.transactions * rounds);
    let at = if server.is_some() { "in-process" } else { base.as_str() };
    println!("mock server OTP throughput (release, {at}, keep-alive)");
    println!(
        "  transactions: {} per round (authenticate/user + otp request + signed answer + callback)",
        args.transactions
    );
    println!("  concurrency:  {}; crypto ceiling on {threads} threads (the cores)", args.concurrency);
    for round in 1..=rounds {
        // The crypto runs on threads of its own while the server idles: no request is in flight
        // between rounds, so the two never share the cores.
        let ceiling = crypto_ceiling(threads, args.transactions, round)?;
        let (served, round_latencies) = server_round(&workers, args.transactions).await?;
        println!(
            "  round {round}: crypto ceiling {:.0} tx/s, server {:.0} tx/s, ratio {:.1} %; \
             CPU per transaction: crypto {:.0} us, server run {:.0} us",
            ceiling.rate,
            served.rate,
            100.0 * served.rate / ceiling.rate,
            ceiling.cpu_us,
            served.cpu_us,
        );
        ceilings.push(ceiling.rate);
        rates.push(served.rate);
        // Each round's ratio pairs two measurements made seconds apart: steadier than the ratio
        // of medians on a machine whose load comes and goes.
        ratios.push(100.0 * served.rate / ceiling.rate);
        crypto_cpu.push(ceiling.cpu_us);
        server_cpu.push(served.cpu_us);
        latencies.extend(round_latencies);
    }
    latencies.sort_unstable();
    // `throughput:` keeps the shape scripts/soak-mock-server.sh reads.
    println!("  medians of {rounds} rounds:");
    println!("  crypto ceiling: {:.0} transactions/s", median(&mut ceilings));
    println!("  throughput:   {:.0} transactions/s", median(&mut rates));
    println!(
        "  ratio:        {:.1} % of the crypto ceiling (median of the rounds' ratios)",
        median(&mut ratios)
    );
    if server.is_some() {
        // The process's CPU time is the whole transaction's only when the server runs in it.
        let (crypto, served) = (median(&mut crypto_cpu), median(&mut server_cpu));
        println!(
            "  CPU per transaction: crypto {crypto:.0} us, server run {served:.0} us (all threads): \
             the crypto is {:.1} % of it",
            100.0 * crypto / served
        );
    }
    println!(
        "  latency per transaction: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    if let Some(server) = server {
        server.shutdown().await;
    }
    Ok(())
}
