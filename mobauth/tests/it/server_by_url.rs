//! The suite against a server by URL, as a server implementer runs it: `mobauth serve` started as
//! its own process and `mobauth run --server URL` (or `--target FILE`) pointed at it, over real
//! sockets, with real TLS where the target file asks for it.
//!
//! - the whole suite against the override-enabled fixture is conformant, and against the
//!   alternative-readings fixture too, by URL and with the alternative-readings driver as its SDK;
//! - error messages that repeat the harness's own words change no verdict;
//! - a server that breaks a rule (fixtures/servers/faulty.toml) fails with that rule's ID;
//! - a target without the test-control API, or with a fixed enrollment mode, reports the
//!   scenarios it cannot run as not applicable, naming what is missing;
//! - TLS: a target file's CA file, `insecure = true`, and the refusals when neither trusts the
//!   server's certificate.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use futures::StreamExt as _;

use report::{Report, Verdict};
use runner::{self, RunError, RunOptions, TargetSpec};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn workspace(path: &str) -> PathBuf {
    Path::new(WORKSPACE).join(path)
}

/// A fresh folder for one case's files, under Cargo's per-target scratch folder (target/tmp), not
/// the system's /tmp.
fn scratch(case: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-by-url-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// `mobauth serve` as a process of its own, stopped (SIGKILL) when dropped.
pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) url: String,
}

impl ServeProcess {
    pub(crate) fn start(server_file: &str) -> Self {
        Self::start_with(server_file, &[])
    }

    /// With more arguments to `mobauth serve`.
    pub(crate) fn start_with(server_file: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mobauth"))
            .args(["serve", "--addr", "127.0.0.1:0", "--config"])
            .arg(workspace(server_file))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mobauth serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("mobauth serve prints where it listens");
        let url = line
            .trim()
            .rsplit_once(" on ")
            .map(|(_, url)| url.to_string())
            .unwrap_or_else(|| panic!("expected 'mock Token Server listening on URL', got {line:?}"));
        Self { child, url }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mobauth run ARGS --out DIR` of the whole suite as a process: its exit code and report.
fn run_process(case: &str, args: &[&str]) -> (Option<i32>, Report) {
    run_features(case, &workspace("features"), args)
}

/// `mobauth run ARGS --features FEATURES --out DIR` as a process: its exit code and report.
fn run_features(case: &str, features: &Path, args: &[&str]) -> (Option<i32>, Report) {
    let out = scratch(case);
    let output = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .arg("run")
        .args(args)
        .arg("--features")
        .arg(features)
        .args(["--format", "json", "--progress", "off", "--out"])
        .arg(&out)
        .env_remove("CI")
        .output()
        .expect("mobauth run starts");
    let report = report::load(&out).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

fn failures(report: &Report) -> Vec<String> {
    report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Failed)
        .map(|s| format!("{} {}: {}", s.id, s.name, s.message.as_deref().unwrap_or("")))
        .collect()
}

#[test]
fn the_whole_suite_by_url_against_the_override_enabled_server_is_conformant() {
    let server = ServeProcess::start("fixtures/servers/override-enabled.toml");
    let (code, report) = run_process("override", &["--server", &server.url]);
    assert_eq!(failures(&report), Vec::<String>::new(), "no scenario may fail");
    assert_eq!(code, Some(0), "the gate passes");
    assert_eq!(report.run.target.kind, "url");
    assert_eq!(report.run.target.server, server.url);
    assert!(
        report
            .run
            .target
            .description
            .contains("test-control API: config, clock, users, clients, faults, events, reset"),
        "the probe finds the whole test-control API: {}",
        report.run.target.description
    );
    assert_eq!(report.scenarios.len(), report.run.suite_scenarios, "every scenario ran");
    // Only the scenarios that need a server of their own are not applicable on a shared one.
    let not_applicable: Vec<&str> = report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::NotApplicable)
        .map(|s| s.message.as_deref().unwrap_or(""))
        .collect();
    assert!(
        not_applicable.iter().all(|m| m.contains("a server started for it alone")),
        "{not_applicable:#?}"
    );
}

/// Scenarios that change nothing server-wide run side by side on a server by URL, the others
/// (tagged @server-wide) one at a time after them; the verdicts are those of a run that takes
/// every scenario in turn. Three features that hold both kinds, the harness's own driver among
/// them (each of its processes seeded apart, so no two share a device_id).
#[test]
fn scenarios_side_by_side_by_url_get_the_verdicts_of_a_serial_run() {
    let features = scratch("side-by-side-features");
    for name in ["auth.feature", "driver.feature", "enrollment.feature"] {
        std::fs::copy(workspace("features").join(name), features.join(name)).expect("a feature file");
    }
    let server = ServeProcess::start("fixtures/servers/override-enabled.toml");
    let (serial_code, serial) =
        run_features("one-at-a-time", &features, &["--server", &server.url, "--concurrency", "1"]);
    let (code, side_by_side) = run_features("side-by-side", &features, &["--server", &server.url]);
    assert_eq!(verdicts(&side_by_side), verdicts(&serial));
    assert_eq!((code, serial_code), (Some(0), Some(0)), "{:#?}", failures(&side_by_side));
    let alone = |s: &&report::ScenarioResult| s.tags.iter().any(|t| t == "server-wide");
    let count = serial.scenarios.iter().filter(alone).count();
    assert!(
        count > 0 && count < serial.scenarios.len(),
        "the features hold both kinds: {count} of {} alone",
        serial.scenarios.len()
    );
}

/// A server that has lived long holds more events than the harness reads in one answer (1 MiB):
/// the scenarios that read the event log still find its position and judge it as on a new one.
#[test]
fn a_long_event_log_is_read_from_its_position_not_whole() {
    let server = ServeProcess::start("fixtures/servers/override-enabled.toml");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let client =
        transcript::build_client(&transcript::ClientSettings::local(std::time::Duration::from_secs(10)))
            .expect("a client for 127.0.0.1");
    let log_size = runtime.block_on(async {
        // 14 000 refused token requests (each a logged exchange), 8 at a time: a bounded load on
        // 127.0.0.1.
        let token = format!("{}/oauth/token", server.url);
        futures::stream::iter(0..14_000)
            .for_each_concurrent(8, |_| {
                let (client, token) = (client.clone(), token.clone());
                async move {
                    let _ = client.post(&token).form(&[("grant_type", "password")]).send().await;
                }
            })
            .await;
        let log = client
            .get(format!("{}/_admin/v1/events?since=0", server.url))
            .bearer_auth("mobauth-admin")
            .send()
            .await
            .expect("the admin API answers");
        log.bytes().await.expect("the log is read").len()
    });
    assert!(log_size > transcript::MAX_RESPONSE_BODY, "the log holds {log_size} bytes");
    let tags = "@ADM-014 or @ADM-015 or @GEN-001";
    let (code, report) = run_process("long-event-log", &["--server", &server.url, "--tags", tags]);
    assert_eq!(code, Some(0), "{:#?}", failures(&report));
    assert!(report.scenarios.len() > 10, "{} scenarios", report.scenarios.len());
}

/// A run by URL gives the server back the configuration it found, whatever its scenarios set
/// (REN-001 sets the enrollment mode), after the probe's reset and every scenario's settling.
#[test]
fn a_run_by_url_leaves_the_configuration_it_found() {
    let server = ServeProcess::start("fixtures/servers/override-enabled.toml");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let http = transcript::Http::new(&server.url, std::time::Duration::from_secs(10), Default::default());
    let admin = peers::target::Admin::new(http, "mobauth-admin");
    let config = |body: Option<serde_json::Value>| {
        runtime
            .block_on(async {
                match &body {
                    Some(body) => admin.set_config(body).await,
                    None => admin.config().await,
                }
            })
            .expect("the admin API answers")
    };
    let mut found = config(None);
    found["message_max_length"] = serde_json::json!(77);
    found["callback_retries"] = serde_json::json!(1);
    let found = config(Some(found));
    let (code, report) = run_process("leaves-config", &["--server", &server.url, "--tags", "@REN-001"]);
    assert_eq!((code, report.scenarios.len()), (Some(0), 1), "{:#?}", failures(&report));
    assert_eq!(config(None), found);
}

/// The mock server taking, wherever the wire contract leaves a choice, another legal reading than
/// its default (a clock that runs on, events with only `seq`, other codes for unknown paths, 204
/// replies, unknown admin keys accepted, another token check order, ...): the suite must judge
/// it conformant too, so no scenario checks the mock's own choices. What it cannot give (exact
/// instants, a fresh server, a client id with ':') is not applicable, naming it, never failed.
#[test]
fn the_whole_suite_by_url_against_the_alternative_readings_server_is_conformant() {
    let server = ServeProcess::start("fixtures/servers/alternative-readings.toml");
    let (code, report) = run_process("alternative", &["--server", &server.url]);
    assert_eq!(failures(&report), Vec::<String>::new(), "no scenario may fail");
    assert_eq!(code, Some(0), "the gate passes");
    assert_eq!(report.scenarios.len(), report.run.suite_scenarios, "every scenario ran");
    let allowed = [
        "a server clock that stands still between moves",
        "a server started for it alone",
        "refused to create it",
    ];
    let unexplained: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::NotApplicable)
        .map(|s| format!("{} {}: {}", s.id, s.name, s.message.as_deref().unwrap_or("")))
        .filter(|m| !allowed.iter().any(|reason| m.contains(reason)))
        .collect();
    assert_eq!(unexplained, Vec::<String>::new(), "not applicable only for what the reading cannot give");
    let ran: usize = report.scenarios.iter().filter(|s| s.verdict == Verdict::Passed).count();
    assert!(ran * 10 >= report.scenarios.len() * 9, "at least 90 % of the suite still judges it: {ran}");
}

/// Both alternatives at once, as an independent server and an independent SDK would meet: the
/// alternative-readings server by URL, its devices played by the alternative-readings reference
/// driver. Nothing may fail; what a driver cannot show (the server's own answers) is not
/// applicable.
#[test]
fn the_whole_suite_through_the_alternative_driver_against_the_alternative_server_is_conformant() {
    let server = ServeProcess::start("fixtures/servers/alternative-readings.toml");
    let driver = format!("{} device-driver --alternative-readings", env!("CARGO_BIN_EXE_mobauth"));
    let (code, report) =
        run_process("both-alternatives", &["--server", &server.url, "--device-driver", &driver]);
    let broken: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| matches!(s.verdict, Verdict::Failed | Verdict::HarnessError))
        .map(|s| format!("{} {}: {}", s.id, s.name, s.message.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(broken, Vec::<String>::new(), "no scenario may fail or break");
    assert_eq!(code, Some(0), "the gate passes");
    assert_eq!(report.scenarios.len(), report.run.suite_scenarios, "every scenario ran");
    let drv: Vec<&str> = report
        .scenarios
        .iter()
        .filter(|s| s.requirements.iter().any(|r| r.starts_with("DRV-")))
        .map(|s| s.id.as_str())
        .collect();
    let passed = report.scenarios.iter().filter(|s| s.verdict == Verdict::Passed).count();
    assert!(
        !drv.is_empty() && passed * 3 >= report.scenarios.len(),
        "a third or more still judges: {passed}"
    );
}

#[test]
fn a_server_that_breaks_a_rule_fails_with_the_rules_id() {
    let server = ServeProcess::start("fixtures/servers/faulty.toml");
    let (code, report) = run_process("faulty", &["--server", &server.url, "--tags", "@ENR-011 or @ENR-012"]);
    assert_eq!(code, Some(1), "a failed MUST fails the gate");
    let failed: Vec<&str> =
        report.requirements.iter().filter(|r| r.verdict == Verdict::Failed).map(|r| r.id.as_str()).collect();
    assert_eq!(failed, ["ENR-011", "ENR-012"], "the rules the fault breaks, and no other");
    let messages = failures(&report).join("\n");
    assert!(messages.contains("500"), "the failure tells what came instead: {messages}");
}

/// The words the harness itself uses for a missing capability and an unimplemented operation.
const HARNESS_WORDS: &str =
    "the target does not offer the test-control (admin) API; the device driver does not implement hello";

/// A hostile front for `upstream`: every request is passed on as it came, and every JSON answer
/// with an `error_message` or `error_description` comes back with that text replaced by the
/// harness's own not-applicable and not-implemented words.
fn hostile_front(upstream: String) -> String {
    rewriting_front(upstream, |_, map| {
        for key in ["error_message", "error_description"] {
            if map.contains_key(key) {
                map.insert(key.into(), HARNESS_WORDS.into());
            }
        }
    })
}

/// A front for `upstream` that passes every request on as it came and every answer back, a JSON
/// object's members first rewritten by `rewrite` (given the request's path). Runs on 127.0.0.1
/// until the test ends.
fn rewriting_front(
    upstream: String,
    rewrite: impl Fn(&str, &mut serde_json::Map<String, serde_json::Value>) + Clone + Send + Sync + 'static,
) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        mock_server::install_crypto_provider();
        runtime.block_on(async move {
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
            let client = client.expect("a plain HTTP client");
            let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
                let (client, upstream, rewrite) = (client.clone(), upstream.clone(), rewrite.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                    let target = format!("{upstream}{}", parts.uri);
                    let mut forward = client.request(parts.method, target).body(body.to_vec());
                    for (name, value) in &parts.headers {
                        if name != "host" {
                            forward = forward.header(name, value);
                        }
                    }
                    let Ok(answer) = forward.send().await else {
                        let mut gone = axum::http::Response::new(axum::body::Body::empty());
                        *gone.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
                        return gone;
                    };
                    let status = answer.status();
                    let headers = answer.headers().clone();
                    let bytes = answer.bytes().await.unwrap_or_default();
                    let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(serde_json::Value::Object(mut map)) => {
                            rewrite(parts.uri.path(), &mut map);
                            serde_json::to_vec(&map).unwrap_or_default()
                        }
                        _ => bytes.to_vec(),
                    };
                    let mut reply = axum::http::Response::builder().status(status);
                    for (name, value) in &headers {
                        if name != "content-length" && name != "transfer-encoding" {
                            reply = reply.header(name, value);
                        }
                    }
                    reply
                        .body(axum::body::Body::from(bytes))
                        .unwrap_or_else(|_| axum::http::Response::new(axum::body::Body::empty()))
                }
            });
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    url
}

/// No verdict is read from text: a server whose every error message says the harness's own
/// not-applicable and not-implemented words still fails the rules it breaks.
#[test]
fn error_messages_that_repeat_the_harness_words_do_not_change_a_verdict() {
    let server = ServeProcess::start("fixtures/servers/faulty.toml");
    let front = hostile_front(server.url.clone());
    let (code, report) =
        run_process("hostile-words", &["--server", &front, "--tags", "@ENR-011 or @ENR-012"]);
    assert_eq!(code, Some(1), "a failed MUST fails the gate");
    let failed: Vec<&str> =
        report.requirements.iter().filter(|r| r.verdict == Verdict::Failed).map(|r| r.id.as_str()).collect();
    assert_eq!(failed, ["ENR-011", "ENR-012"], "the rules the faults break, and no other");
    let messages = failures(&report).join("\n");
    assert!(
        messages.contains(HARNESS_WORDS),
        "the server's words are in the message, and only there: {messages}"
    );
    assert!(
        report
            .scenarios
            .iter()
            .all(|s| !matches!(s.verdict, Verdict::NotApplicable | Verdict::NotImplemented)),
        "no scenario is set aside by what the server wrote"
    );
}

/// Runs the selected scenarios in this process against the target file `text` (written to a
/// scratch folder, beside the TLS fixtures' names it may use).
fn run_target(case: &str, text: &str, tags: &str) -> Result<Report, RunError> {
    let dir = scratch(case);
    for name in ["ca.pem", "other-ca.pem"] {
        std::fs::copy(workspace("fixtures/tls").join(name), dir.join(name)).expect("TLS fixtures");
    }
    let file = dir.join("target.toml");
    std::fs::write(&file, text).expect("a target file");
    let mut options = RunOptions::new(workspace("features"));
    options.target = TargetSpec::File(file);
    options.tags = Some(tags.to_string());
    runner::run(options)
}

/// The verdict and message of each scenario, by its first requirement tag and name.
fn verdicts(report: &Report) -> Vec<(String, Verdict, String)> {
    report
        .scenarios
        .iter()
        .map(|s| (s.name.clone(), s.verdict, s.message.clone().unwrap_or_default()))
        .collect()
}

/// An in-process mock server (on a runtime of its own, kept alive by the returned value).
fn mock_server(server_file: &str) -> (tokio::runtime::Runtime, mock_server::RunningServer) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let file = mock_server::ServerFile::load(&workspace(server_file)).expect("a server file");
    let server = runtime
        .block_on(mock_server::serve(mock_server::ServeOptions::new(([127, 0, 0, 1], 0).into(), file)))
        .expect("the mock server starts");
    (runtime, server)
}

#[test]
fn without_the_admin_api_scenarios_that_need_it_are_not_applicable_with_the_reason() {
    let (_runtime, server) = mock_server("fixtures/servers/override-enabled.toml");
    let text = format!(
        "name = \"no admin\"\nbase_url = \"{}\"\nenrollment_mode = \"override_allowed\"\n",
        server.url()
    );
    // REN-001 is about single_device, REN-003 about override_allowed, OTP-015 needs the clock,
    // ENR-001 needs nothing beyond the listed users.
    let report = run_target("no-admin", &text, "@REN-001 or @REN-003 or @ENR-001 or @OTP-015")
        .expect("the run starts");
    assert!(
        report.run.target.description.contains("no test-control API"),
        "{}",
        report.run.target.description
    );
    assert_eq!(report.run.target.server, "no admin");
    let table: [(&str, Verdict, &str); 4] = [
        (
            "In single_device mode the same device cannot enroll again",
            Verdict::NotApplicable,
            "fixed at override_allowed",
        ),
        ("With override allowed the same device re-enrolls", Verdict::Passed, ""),
        ("A logged-in user enrolls a device", Verdict::Passed, ""),
        ("", Verdict::NotApplicable, "the target does not offer"),
    ];
    let got = verdicts(&report);
    for (name, verdict, reason) in table {
        let matching: Vec<_> = got.iter().filter(|(n, _, _)| n.starts_with(name)).collect();
        assert!(!matching.is_empty(), "no scenario named {name:?} ran: {got:#?}");
        if name.is_empty() {
            // The scenarios that move the clock are not applicable, naming what is missing.
            let clocked: Vec<_> =
                got.iter().filter(|(_, v, m)| *v == Verdict::NotApplicable && m.contains(reason)).collect();
            assert!(
                clocked.iter().any(|(_, _, m)| m.contains("the test-control (admin) API")),
                "a not-applicable scenario names the missing API: {got:#?}"
            );
            continue;
        }
        for (n, v, m) in matching {
            assert_eq!(*v, verdict, "{n}: {m}");
            assert!(m.contains(reason), "{n}: expected {reason:?} in {m:?}");
        }
    }
    assert!(got.iter().all(|(_, v, _)| *v != Verdict::Failed), "{got:#?}");
}

/// A TLS front for a plain HTTP server: accepts TLS on 127.0.0.1:0 with the fixture certificate
/// (for 127.0.0.1, signed by fixtures/tls/ca.pem) and relays each connection to `backend`.
fn tls_front(runtime: &tokio::runtime::Runtime, backend: std::net::SocketAddr) -> String {
    use rustls_pki_types::pem::PemObject as _;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(workspace("fixtures/tls/server.pem"))
        .expect("the server certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates");
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(workspace("fixtures/tls/server.key"))
        .expect("the server key");
    mock_server::install_crypto_provider();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a TLS server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0))).expect("a TLS port");
    let port = listener.local_addr().expect("a bound address").port();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A handshake the client refuses ends here; the client reports why.
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[test]
fn tls_trust_comes_from_the_target_file() {
    let (runtime, server) = mock_server("fixtures/servers/default.toml");
    let url = tls_front(&runtime, server.addr());
    let admin = "[admin]\ntoken = \"mobauth-admin\"\n";
    // (case, [tls] section, expected: Ok = the scenario passes, Err = words of the refusal)
    let table: [(&str, &str, Result<(), &str>); 4] = [
        // The callbacks of CB-001 come back through a receiver on every interface, named localhost.
        ("ca-file", "[tls]\nca_file = \"ca.pem\"\n[portal]\ncallback_host = \"localhost\"\n", Ok(())),
        ("insecure", "[tls]\ninsecure = true\n", Ok(())),
        ("other-ca", "[tls]\nca_file = \"other-ca.pem\"\n", Err("UnknownIssuer")),
        ("system-roots", "", Err("certificate")),
    ];
    for (case, tls, expected) in table {
        let text = format!("base_url = \"{url}\"\n{admin}{tls}");
        let outcome = run_target(case, &text, "(@ENR-001 and @ENR-002) or @CB-001");
        match (outcome, expected) {
            (Ok(report), Ok(())) => {
                let got = verdicts(&report);
                assert!(
                    !got.is_empty() && got.iter().all(|(_, v, _)| *v == Verdict::Passed),
                    "{case}: {got:#?}"
                );
            }
            (Err(RunError::Unreachable { reason, .. }), Err(words)) => {
                assert!(reason.contains(words), "{case}: expected {words:?} in {reason:?}");
            }
            (outcome, expected) => panic!("{case}: expected {expected:?}, got {outcome:?}"),
        }
    }
}

/// No secret in any output: a server that hands its tokens out wrongly (a `token_type` of `mac`,
/// and a refresh token and an id token the contract does not know beside each access token) makes
/// scenarios fail with its token answers in their messages; none of the tokens it handed out, nor
/// the run's passwords, client secret or admin token, is in any report, the terminal or the log.
#[test]
fn a_server_that_hands_out_tokens_wrongly_leaks_none_into_any_output() {
    let server = ServeProcess::start("fixtures/servers/override-enabled.toml");
    let handed_out = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&handed_out);
    let front = rewriting_front(server.url.clone(), move |path, map| {
        let Some(token) = map.get("access_token").and_then(serde_json::Value::as_str).map(str::to_string)
        else {
            return;
        };
        if path.ends_with("/oauth/token") {
            let (refresh, id) = (format!("refresh-{token}"), format!("id-{token}"));
            map.insert("token_type".into(), "mac".into());
            map.insert("refresh_token".into(), refresh.clone().into());
            map.insert("id_token".into(), id.clone().into());
            seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend([token, refresh, id]);
        }
    });
    let out = scratch("leaks-no-token");
    let output = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["run", "--server", &front, "--tags", "@AUTH-001 or @AUTH-003 or @ENR-001 or @OTP-001"])
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "debug")
        .output()
        .expect("mobauth run starts");
    let report = report::load(&out).expect("the run writes its reports");
    assert_eq!(output.status.code(), Some(1), "the wrong token answers fail MUST scenarios");
    let messages = failures(&report).join("\n");
    assert!(messages.contains("[redacted:"), "the failures show the token answers, masked: {messages}");

    let handed_out = handed_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    assert!(handed_out.len() >= 3, "the server handed tokens out: {handed_out:?}");
    let mut secrets = handed_out;
    secrets.extend(["portal-secret", "mobauth-admin", "alice-password", "bob-password"].map(String::from));
    let mut outputs = vec![
        ("stdout".to_string(), String::from_utf8_lossy(&output.stdout).into_owned()),
        ("stderr".to_string(), String::from_utf8_lossy(&output.stderr).into_owned()),
    ];
    for entry in std::fs::read_dir(&out).expect("the reports folder") {
        let path = entry.expect("a report").path();
        outputs.push((path.display().to_string(), std::fs::read_to_string(&path).expect("a text report")));
    }
    assert!(
        outputs.len() >= 7,
        "every report format and the terminal: {:?}",
        outputs.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    for (name, text) in &outputs {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} holds the secret {secret:?}");
        }
        // The passwords of the users the run made: `user-<seed>-<n>-password`.
        let made = text
            .match_indices("-password")
            .find(|(at, _)| text[..*at].ends_with(|c: char| c.is_ascii_digit()));
        assert!(
            made.is_none(),
            "{name} holds a user's password: {:?}",
            made.map(|(at, _)| &text[at.saturating_sub(40)..at + 9])
        );
    }
}

/// Secrets differ between processes: two `mobauth serve` processes of the same file hand alice
/// different access tokens (so a restarted server cannot take an old token as another user's),
/// and only an explicit `--seed` makes them the same.
#[test]
fn serve_processes_draw_their_own_secrets_unless_a_seed_is_given() {
    mock_server::install_crypto_provider();
    // Alice logs in as a simulated device does; its token is the one the server handed out.
    let token = |server: &ServeProcess| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let http =
                transcript::Http::new(&server.url, std::time::Duration::from_secs(10), Default::default());
            let mut device =
                peers::device::SimulatedDevice::new("phone", http, "mobauth-app", protocol::rng::seeded(1));
            device.log_in("alice", "alice-password").await.expect("alice logs in");
            device.access_token().expect("an access token").to_string()
        })
    };
    let file = "fixtures/servers/default.toml";
    let (first, second) = (token(&ServeProcess::start(file)), token(&ServeProcess::start(file)));
    assert_ne!(first, second, "two processes, two token streams");
    let seeded = || token(&ServeProcess::start_with(file, &["--seed", "7"]));
    assert_eq!(seeded(), seeded(), "one explicit seed, one token stream");
}
