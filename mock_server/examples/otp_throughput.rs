//! Full OTP transactions per second against an in-process mock server.
//!
//! One transaction is what a login costs the server: the portal starts it
//! (`POST /oauth/api/v4/authenticate/user`), a device fetches it with its challenge
//! (`POST /mobile-auth/v1/otp/requests`) and answers with a signature
//! (`POST .../answer`), after which the server delivers the callback to a local receiver.
//! `--concurrency` workers (one enrolled device each) run `--transactions` of them over pooled
//! keep-alive connections; the report gives the rate and the latency of whole transactions.
//!
//! Run it in release: `scripts/bench-mock-server.sh [--transactions N] [--concurrency C]`. With
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
    server: Option<String>,
    seed: u64,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { transactions: 2000, concurrency: 8, server: None, seed: 7 };
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
            "-h" | "--help" => {
                println!(
                    "usage: otp_throughput [--transactions N (default 2000)] [--concurrency C (default 8)] \
                     [--server URL] [--seed S (default 7)]"
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

    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .map(|w| {
            let (w, next, n) = (Arc::clone(w), Arc::clone(&next), args.transactions);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    latencies.push(w.transaction().await?);
                }
                Ok::<_, Box<dyn Error + Send + Sync>>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.transactions);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();

    let at = if server.is_some() { "in-process" } else { base.as_str() };
    println!("mock server OTP throughput (release, {at}, keep-alive)");
    println!(
        "  transactions: {} (authenticate/user + otp request + signed answer + callback)",
        latencies.len()
    );
    println!("  concurrency:  {}", args.concurrency);
    println!("  elapsed:      {:.3} s", elapsed.as_secs_f64());
    println!("  throughput:   {:.0} transactions/s", latencies.len() as f64 / elapsed.as_secs_f64());
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
