//! Hostile targets, each a small server on 127.0.0.1 that misbehaves one way at every request: it
//! hangs, answers bytes that are not HTTP, a body of 100 MB, a redirect to itself forever, `{}` to
//! everything, 404 with an empty body to everything (a web server that is not a Token Server), or
//! closes the connection at once. `mobauth run --server URL` against each (a process of its own,
//! under `/usr/bin/time`) ends within its timeouts with exit 3 (the target cannot be reached, or is
//! not a Token Server) and a message that says what came, its peak memory under
//! [`MEMORY_BOUND_KB`] and its reports under [`REPORTS_BOUND`] bytes.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::measured::{MEMORY_BOUND_KB, REPORTS_BOUND, bytes_in, mobauth_under_time};

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
    NotFound,
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
        Behaviour::NotFound => {
            read_request(&mut stream);
            let _ =
                stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
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

#[test]
fn a_hostile_target_gets_a_clear_verdict_and_the_harness_stays_small() {
    // (behaviour, the exit code, words of the terminal's or the report's account of it)
    let cases = [
        (Behaviour::Hangs, 3, "operation timed out"),
        (Behaviour::NotHttp, 3, "invalid HTTP version"),
        (Behaviour::HundredMegabytes, 3, "a body of more than 1048576 bytes (not read on)"),
        // None of these answers has the contract's error shapes: not a Token Server, said once,
        // instead of every scenario failing on it.
        (Behaviour::RedirectsForever, 3, "answers, but not as a Token Server"),
        (Behaviour::EmptyObject, 3, "POST /oauth/token: 200, \"{}\""),
        (Behaviour::NotFound, 3, "POST /mobile-auth/v1/otp/requests: 404, an empty body"),
        // Reset or closed before the answer, as the timing falls: either way not reachable.
        (Behaviour::ClosesAtOnce, 3, "cannot be reached"),
    ];
    for (behaviour, exit, words) in cases {
        let url = start(behaviour);
        let out =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-hostile-target-{behaviour:?}"));
        drop(std::fs::remove_dir_all(&out));
        let began = Instant::now();
        let out_arg = out.display().to_string();
        let (output, peak) = mobauth_under_time(&[
            "run",
            "--progress",
            "off",
            "--server",
            &url,
            "--tags",
            "@AUTH-001 or @RP-003",
            "--out",
            &out_arg,
        ]);
        let took = began.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let account = format!(
            "{}{stderr}{}",
            String::from_utf8_lossy(&output.stdout),
            std::fs::read_to_string(out.join("report.json")).unwrap_or_default()
        );
        assert_eq!(output.status.code(), Some(exit), "{behaviour:?}: {account}");
        assert!(account.contains(words), "{behaviour:?}: the account says {words:?}: {account}");
        // The figures, for whoever runs it with --nocapture.
        let reports = bytes_in(&out);
        eprintln!(
            "hostile target {behaviour:?}: exit {exit}, peak {peak} KB, reports {reports} bytes, {took:?}"
        );
        assert!(peak < MEMORY_BOUND_KB, "{behaviour:?}: the harness's peak memory {peak} KB");
        assert!(reports < REPORTS_BOUND, "{behaviour:?}: the reports take {reports} bytes");
        assert!(took < TIME_BOUND, "{behaviour:?}: the run took {took:?}");
        drop(std::fs::remove_dir_all(&out));
    }
}
