//! Hostile targets, each a small server on 127.0.0.1 that misbehaves one way at every request: it
//! hangs, answers bytes that are not HTTP, a body of 100 MB, a redirect to itself forever, `{}` to
//! everything, or closes the connection at once. `mobauth run --server URL` against each (a
//! process of its own, under `/usr/bin/time`) ends within its timeouts with a verdict that says
//! what came (exit 1, scenarios failed, or 3, the target unreachable), its peak memory under
//! [`MEMORY_BOUND_KB`] and its reports under [`REPORTS_BOUND`] bytes.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The harness's peak resident memory whatever a target sends.
const MEMORY_BOUND_KB: u64 = 200 * 1024;

/// The bytes of every report of such a run together.
const REPORTS_BOUND: u64 = 2 * 1024 * 1024;

/// How long such a run may take: the probe's and the scenarios' timeouts, with room for a loaded
/// machine.
const TIME_BOUND: Duration = Duration::from_secs(120);

/// What the target does with each connection.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Hangs,
    NotHttp,
    HundredMegabytes,
    RedirectsForever,
    EmptyObject,
    ClosesAtOnce,
}

/// Reads a request, head and body (up to a bound): enough to answer after it without the
/// connection being reset for bytes left unread.
fn read_request(stream: &mut TcpStream) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length.min(64 * 1024) {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) if bytes.len() < 128 * 1024 => bytes.extend_from_slice(&chunk[..n]),
            Ok(_) => return,
        }
    }
}

/// Each answer says `Connection: close` and the connection ends after it: a client must not
/// reuse it, so a closed connection is the behaviour under test, never a keep-alive race.
fn serve_one(mut stream: TcpStream, behaviour: Behaviour) {
    match behaviour {
        Behaviour::ClosesAtOnce => {}
        Behaviour::Hangs => {
            // Reads whatever comes and never answers, until the client gives up.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
        Behaviour::NotHttp => {
            read_request(&mut stream);
            let _ = stream.write_all(b"\x00\xffthis is not HTTP\r\n\r\n");
        }
        Behaviour::HundredMegabytes => {
            read_request(&mut stream);
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n";
            let chunk = vec![b'x'; 64 * 1024];
            let mut written = stream.write_all(head.as_bytes());
            // 1,600 chunks of 64 KiB, unless the client hangs up first.
            for _ in 0..1_600 {
                if written.is_err() {
                    break;
                }
                written = stream.write_all(&chunk);
            }
        }
        Behaviour::RedirectsForever => {
            read_request(&mut stream);
            let _ = stream.write_all(
                b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Behaviour::EmptyObject => {
            read_request(&mut stream);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    }
}

/// Starts the target on 127.0.0.1: each connection on a thread of its own, for the rest of the
/// test binary's life.
fn start(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_one(stream, behaviour));
        }
    });
    url
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[test]
fn a_hostile_target_gets_a_clear_verdict_and_the_harness_stays_small() {
    // (behaviour, the exit code, words of the terminal's or the report's account of it)
    let cases = [
        (Behaviour::Hangs, 3, "operation timed out"),
        (Behaviour::NotHttp, 3, "invalid HTTP version"),
        (Behaviour::HundredMegabytes, 3, "a body of more than 1048576 bytes (not read on)"),
        (Behaviour::RedirectsForever, 1, "302"),
        (Behaviour::EmptyObject, 1, "{}"),
        // Reset or closed before the answer, as the timing falls: either way not reachable.
        (Behaviour::ClosesAtOnce, 3, "cannot be reached"),
    ];
    for (behaviour, exit, words) in cases {
        let url = start(behaviour);
        let out =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-hostile-target-{behaviour:?}"));
        drop(std::fs::remove_dir_all(&out));
        let began = Instant::now();
        let output = Command::new("/usr/bin/time")
            .args(["-f", "max-rss-kb %M"])
            .arg(env!("CARGO_BIN_EXE_mobauth"))
            .args(["run", "--progress", "off", "--server", &url, "--tags", "@AUTH-001 or @RP-003", "--out"])
            .arg(&out)
            .output()
            .expect("/usr/bin/time runs mobauth");
        let took = began.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let account = format!(
            "{}{stderr}{}",
            String::from_utf8_lossy(&output.stdout),
            std::fs::read_to_string(out.join("report.json")).unwrap_or_default()
        );
        assert_eq!(output.status.code(), Some(exit), "{behaviour:?}: {account}");
        assert!(account.contains(words), "{behaviour:?}: the account says {words:?}: {account}");
        let peak: u64 = stderr
            .lines()
            .find_map(|line| line.strip_prefix("max-rss-kb "))
            .and_then(|kb| kb.trim().parse().ok())
            .unwrap_or_else(|| panic!("{behaviour:?}: /usr/bin/time gives the peak memory: {stderr}"));
        // The figures, for whoever runs it with --nocapture.
        eprintln!(
            "hostile target {behaviour:?}: exit {exit}, peak {peak} KB, reports {} bytes, {took:?}",
            size_of(&out)
        );
        assert!(peak < MEMORY_BOUND_KB, "{behaviour:?}: the harness's peak memory {peak} KB");
        assert!(size_of(&out) < REPORTS_BOUND, "{behaviour:?}: the reports take {} bytes", size_of(&out));
        assert!(took < TIME_BOUND, "{behaviour:?}: the run took {took:?}");
        drop(std::fs::remove_dir_all(&out));
    }
}
