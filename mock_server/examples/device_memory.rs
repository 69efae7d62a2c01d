//! Bytes of server memory per enrolled device.
//!
//! Enrolls `--devices N` devices (one key pair and CSR each, all alice's, enrollment mode
//! multiple_devices) into a [`TokenServer`] through its core API, `TokenServer::enroll`, the call
//! behind `POST /mobile-auth/v1/enrollments`, without HTTP so that 100 k devices take seconds, not
//! minutes. It reads the process's resident set (`VmRSS` of `/proc/self/status`) before the first
//! enrollment and after the last and reports the growth per device: the enrollments themselves,
//! the map that holds them and whatever the allocator could not give back. (A counting global
//! allocator would be exact, but `unsafe impl GlobalAlloc` is what the workspace forbids.)
//!
//! The CSRs are made before the first reading, on every core, and are kept until after the last
//! one: memory they freed during the enrollments would otherwise be reused by the enrollments and
//! hide their growth. Run each size in a process of its own (memory a run freed stays resident and
//! would be reused by the next): `scripts/bench-device-memory.sh`.

use std::error::Error;
use std::time::Instant;

use mock_server::ServerFile;
use mock_server::core::TokenServer;
use protocol::keys::KeyPair;
use protocol::wire::{EnrollmentMode, EnrollmentRequest};
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn parse_args() -> Result<usize> {
    let mut devices = 1000;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-n" | "--devices" => {
                let v = it.next().ok_or("--devices needs a value")?;
                devices = v.parse().map_err(|e| format!("--devices {v:?}: {e}"))?;
                if devices == 0 {
                    return Err("--devices must be at least 1".into());
                }
            }
            "-h" | "--help" => {
                println!("usage: device_memory [--devices N (default 1000)]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(devices)
}

/// The resident set of this process, in bytes.
fn rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .ok_or("/proc/self/status has no VmRSS line in kB")?;
    Ok(kb.trim().parse::<u64>()? * 1024)
}

/// `n` devices' ids and CSRs, made on `threads` threads.
fn requests(n: usize, threads: usize) -> Result<Vec<EnrollmentRequest>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = n / threads + usize::from(t < n % threads);
                scope.spawn(move || -> Result<Vec<EnrollmentRequest>> {
                    let mut rng = protocol::rng::seeded(0xde71ce_u64 ^ t as u64);
                    (0..share)
                        .map(|_| {
                            let device: Uuid = protocol::rng::uuid(&mut rng);
                            let key = KeyPair::generate(&mut rng);
                            let csr = protocol::csr::create_csr(&key, &device.to_string())?;
                            Ok(EnrollmentRequest { device_id: device.to_string(), csr })
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for handle in handles {
            // A panicking thread is a bug of this bench: let it show.
            all.extend(handle.join().expect("a CSR thread does not panic")?);
        }
        Ok(all)
    })
}

fn main() -> Result<()> {
    let devices = parse_args()?;
    let now = time::OffsetDateTime::now_utc();
    let file = ServerFile::parse(include_str!("../../fixtures/servers/default.toml"), "default")?;
    let mut server = TokenServer::new(file.seed(), protocol::rng::seeded(1), now)?;
    let mut config = server.config().clone();
    config.enrollment_mode = EnrollmentMode::MultipleDevices;
    server.set_config(config).map_err(|e| format!("{e:?}"))?;
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "alice-password")]
        .into_iter()
        .chain([("client_id", "mobauth-app")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let token = server.token(Ok(form), now).map_err(|e| format!("token: {e:?}"))?.access_token;

    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let made = Instant::now();
    let requests = requests(devices, threads)?;
    let made = made.elapsed();

    let before = rss()?;
    let enrolled = Instant::now();
    for request in &requests {
        let body = EnrollmentRequest { device_id: request.device_id.clone(), csr: request.csr.clone() };
        let (created, _) =
            server.enroll(Some(&token), Ok(body), now).map_err(|e| format!("enrollment: {e:?}"))?;
        if !created {
            return Err(format!("device {} was enrolled twice", request.device_id).into());
        }
    }
    let enrolled = enrolled.elapsed();
    let after = rss()?;
    // The requests live to here, past the last reading (see the module comment).
    drop(requests);

    let growth = after.saturating_sub(before);
    println!(
        "  {devices:>7} devices: resident set {:.1} MiB -> {:.1} MiB, {:.0} bytes per enrolled device \
         (CSRs {:.1} s, enrollments {:.1} s)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        growth as f64 / devices as f64,
        made.as_secs_f64(),
        enrolled.as_secs_f64(),
    );
    Ok(())
}
