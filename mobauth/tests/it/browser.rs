//! The mock server's portal page and the HTML report in a real headless Chromium, driven through
//! chromedriver over the W3C WebDriver protocol:
//!
//! - the portal page: `GET /` loads, the form starts an OTP, the QR code in the page (its `data:`
//!   URI, and what the browser shows of it) decodes to the OTP shown, a simulated device enrolls
//!   and accepts it, and the page shows `accepted` without being reloaded;
//! - report.html of a run that fails (fixtures/servers/faulty.toml by URL) opens from `file://`
//!   and shows its gate and failures (displayed, not only in the DOM);
//! - load.html of a load that fails a threshold opens from `file://` with its verdict and charts.
//!
//! The WebDriver client is a few JSON calls over the workspace's reqwest (no WebDriver crate:
//! fantoccini would add some 26 crates, a second `http`, `thiserror`, `cookie` and ICU). The test
//! fails, never skips, without Debian's `chromium` and `chromium-driver`. Every wait has a
//! deadline; chromedriver and the browsers it started are killed with their process group on
//! drop, and only 127.0.0.1 is used.
#![allow(clippy::expect_used, reason = "a test stops at the first broken step")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use peers::device::SimulatedDevice;
use protocol::wire::{Answer, AnswerStatus};
use serde_json::{Value, json};
use transcript::{Http, Transcript};

use crate::server_by_url::ServeProcess;

/// How long any one wait lasts: chromedriver's start, a page load, a status change.
const PATIENCE: Duration = Duration::from_secs(20);
/// The key of an element reference in W3C WebDriver.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// `name` on the PATH, or under /usr/bin; a failure (never a skip) that says what to install.
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed; this test needs a real browser: {INSTALL}"))
}

fn scratch(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mobauth-browser-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// chromedriver on a free 127.0.0.1 port, in a process group of its own that is killed (with
/// every browser it started) when this is dropped.
struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl ChromeDriver {
    async fn start(dir: &Path) -> Self {
        use std::os::unix::process::CommandExt as _;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port on 127.0.0.1")
            .port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(program("chromedriver"))
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver does not start ({e}): {INSTALL}"));
        let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}"), log };
        let client = client();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ready = client.get(format!("{}/status", driver.url)).send().await;
            if let Ok(reply) = ready
                && let Ok(body) = reply.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver is not ready within {PATIENCE:?}; see {}",
                driver.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = i32::try_from(self.child.id()).ok().and_then(rustix::process::Pid::from_raw);
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    // reqwest builds a TLS configuration for every client, even one that speaks only plain HTTP.
    mock_server::install_crypto_provider();
    reqwest::Client::builder().no_proxy().timeout(PATIENCE).build().expect("a plain HTTP client builds")
}

/// One browser session: the few WebDriver commands the tests need.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    /// Headless Chromium with a fresh profile and its network chatter off.
    async fn open(driver: &ChromeDriver, profile: &Path) -> Self {
        Self::open_with(driver, profile, true).await
    }

    /// As [`Browser::open`], with scripts off when `scripts` is false.
    async fn open_with(driver: &ChromeDriver, profile: &Path, scripts: bool) -> Self {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program("chromium"),
                "args": args,
                "prefs": {"profile.managed_default_content_settings.javascript": if scripts { 1 } else { 2 }},
            },
            "timeouts": {"implicit": 0, "pageLoad": PATIENCE.as_millis(), "script": PATIENCE.as_millis()},
        }}});
        let http = client();
        let reply =
            call(&http, reqwest::Method::POST, &format!("{}/session", driver.url), Some(capabilities))
                .await
                .unwrap_or_else(|e| panic!("no browser session ({e}); see {}", driver.log.display()));
        let session = reply["sessionId"].as_str().expect("a new session has an id").to_string();
        Browser { http, session: format!("{}/session/{session}", driver.url) }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.session), body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    async fn find_xpath(&self, xpath: &str) -> Vec<String> {
        let found = self
            .cmd(reqwest::Method::POST, "/elements", Some(json!({"using": "xpath", "value": xpath})))
            .await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
            .collect()
    }

    async fn text(&self, element: &str) -> String {
        let text = self.cmd(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().unwrap_or_default().to_string()
    }

    async fn attribute(&self, element: &str, name: &str) -> String {
        let value =
            self.cmd(reqwest::Method::GET, &format!("/element/{element}/attribute/{name}"), None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    async fn displayed(&self, element: &str) -> bool {
        self.cmd(reqwest::Method::GET, &format!("/element/{element}/displayed"), None).await == true
    }

    async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text})))
            .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// What the browser shows of an element, as PNG.
    async fn screenshot(&self, element: &str) -> Vec<u8> {
        let shot = self.cmd(reqwest::Method::GET, &format!("/element/{element}/screenshot"), None).await;
        STANDARD.decode(shot.as_str().unwrap_or_default()).expect("a screenshot is base64")
    }

    async fn script(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Polls the DOM (no reload) until `css`'s text is `want`, for at most [`PATIENCE`]; `what`
    /// names the wait in the failure.
    async fn wait_for_text(&self, css: &str, want: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = match self.text_while_reloading(css).await {
                Ok(text) => text,
                // The document was replaced between finding the element and reading it, or is
                // being replaced: look again.
                Err(e) if e.contains("stale element reference") || e.contains("no such element") => e,
                Err(e) => panic!("WebDriver, reading {css}: {e}"),
            };
            if now == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: {css} still shows {now:?} after {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of `css`, or the WebDriver error of finding or reading it: a document that
    /// reloads itself can drop the element between the two commands.
    async fn text_while_reloading(&self, css: &str) -> Result<String, String> {
        let find = json!({"using": "css selector", "value": css});
        let found =
            call(&self.http, reqwest::Method::POST, &format!("{}/element", self.session), Some(find)).await?;
        let element = found[ELEMENT].as_str().ok_or_else(|| format!("no element {css}: {found}"))?;
        let url = format!("{}/element/{element}/text", self.session);
        let text = call(&self.http, reqwest::Method::GET, &url, None).await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Commands go to the frame `element` from now on.
    async fn enter_frame(&self, element: &str) {
        self.cmd(reqwest::Method::POST, "/frame", Some(json!({"id": {ELEMENT: element}}))).await;
    }

    async fn quit(self) {
        let _ = call(&self.http, reqwest::Method::DELETE, &self.session, None).await;
    }
}

/// One WebDriver command: its `value`, or the error chromedriver reported.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.map_err(|e| e.to_string())?;
    let status = reply.status();
    let body: Value = reply.json().await.map_err(|e| format!("{status}, not JSON: {e}"))?;
    if status.is_success() {
        Ok(body["value"].clone())
    } else {
        Err(format!("{status}: {} {}", body["value"]["error"], body["value"]["message"]))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_page_shows_the_otps_qr_code_and_the_device_accepting_it_live() {
    let dir = scratch("portal");
    let server = ServeProcess::start("fixtures/servers/default.toml");
    let driver = ChromeDriver::start(&dir).await;
    let browser = Browser::open(&driver, &dir.join("profile")).await;

    browser.go(&format!("{}/", server.url)).await;
    let heading = browser.find("h1").await;
    assert_eq!(browser.text(&heading).await, "mobauth mock portal");
    browser.fill("#message", "Pay 10 EUR to the browser test?").await;
    browser.click("#start").await;

    let otp = browser.text(&browser.find("#otp").await).await;
    let transaction_id = browser.text(&browser.find("#transaction-id").await).await;
    let message = browser.text(&browser.find("#message").await).await;
    assert_eq!(message, "Pay 10 EUR to the browser test?");
    let qr = browser.find("#qr").await;
    assert!(browser.displayed(&qr).await, "the QR code is shown");
    let src = browser.attribute(&qr, "src").await;
    let png = STANDARD
        .decode(src.strip_prefix("data:image/png;base64,").expect("the QR code is an inline PNG"))
        .expect("the data URI is base64");
    assert_eq!(qr::decode(&png).expect("the page's QR code decodes"), otp);
    assert_eq!(
        png,
        qr::render_png(&otp, &qr::RenderOptions::default()).expect("renders"),
        "the reference rendering"
    );
    let shown = browser.screenshot(&qr).await;
    assert_eq!(qr::decode(&shown).expect("what the browser shows decodes"), otp);
    let status = browser.find("#status").await;
    assert_eq!(browser.text(&status).await, "pending");
    // A mark in the window: gone if anything reloads the page.
    browser.script("window.mobauthMark = 'not reloaded'; return null;").await;

    let http = Http::new(&server.url, Duration::from_secs(10), Transcript::default());
    let mut device = SimulatedDevice::new("phone", http, "mobauth-app", protocol::rng::seeded(11));
    device.log_in("alice", "alice-password").await.expect("alice logs in");
    device.enroll().await.expect("the device enrolls");
    let scanned = device.scan(&shown).expect("the device scans what the browser shows");
    assert_eq!(scanned, otp);
    let request = device.handle_otp(&scanned).await.expect("the OTP request is fetched");
    assert_eq!(request.transaction_id.to_string(), transaction_id, "the OTP is the page's transaction");
    let answer = device.decide(Answer::Accept).await.expect("the answer is taken");
    assert_eq!(answer.status, AnswerStatus::Accepted);

    browser.wait_for_text("#status", "accepted", "the page after the device accepted").await;
    assert!(browser.displayed(&status).await);
    assert_eq!(browser.script("return window.mobauthMark || null;").await, "not reloaded");
    let answered_by = browser.find("#answered-by").await;
    assert_eq!(browser.text(&answered_by).await, "answered by alice");
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_html_opens_offline_and_shows_its_gate_and_failures() {
    let dir = scratch("report");
    let server = ServeProcess::start("fixtures/servers/faulty.toml");
    let out = dir.join("report");
    let run = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["run", "--server", &server.url, "--tags", "@ENR-011 or @ENR-012"])
        .args(["--format", "html,json", "--progress", "off", "--out"])
        .arg(&out)
        .env_remove("CI")
        .output()
        .expect("mobauth run starts");
    assert_eq!(
        run.status.code(),
        Some(1),
        "the faulty server fails the gate: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    drop(server);

    let driver = ChromeDriver::start(&dir).await;
    let browser = Browser::open(&driver, &dir.join("profile")).await;
    let page = out.join("report.html").canonicalize().expect("report.html is written");
    browser.go(&format!("file://{}", page.display())).await;
    let banner = browser.find(".banner").await;
    assert!(browser.displayed(&banner).await, "the gate is shown");
    let gate = browser.text(&banner).await;
    assert!(gate.starts_with("Not conformant (exit 1)"), "{gate}");
    let failures = browser.find_xpath("//h2[text()='Failures']/following-sibling::table[1]//a").await;
    assert!(!failures.is_empty(), "report.html lists failures");
    let mut shown = Vec::new();
    for link in &failures {
        assert!(browser.displayed(link).await, "a failure's link is shown");
        shown.push(browser.text(link).await);
    }
    assert!(shown.iter().any(|s| s.contains("enrollment.feature")), "{shown:?}");
    // The failed scenario's own block is open: its message is shown where the link leads.
    let messages = browser.find_xpath("//div[@class='scenario']//pre[@class='msg']").await;
    let mut visible = 0;
    for message in &messages {
        if browser.displayed(message).await && browser.text(message).await.contains("500") {
            visible += 1;
        }
    }
    assert!(visible > 0, "a failed scenario shows its message naming the 500 it got");
    browser.quit().await;
}

/// load.html of a load whose threshold fails opens from `file://` and shows its verdict, the
/// generator's line and both charts, drawn (an SVG the browser lays out, with its legend).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_page_opens_offline_with_its_verdict_and_charts() {
    let dir = scratch("load-page");
    let out = dir.join("load");
    let run = Command::new(env!("CARGO_BIN_EXE_mobauth"))
        .args(["load", "--rate", "20/s", "--hold", "1s", "--devices", "2", "--progress", "off"])
        .args(["--threshold", "p50 < 1us", "--out"])
        .arg(&out)
        .env_remove("CI")
        .output()
        .expect("mobauth load starts");
    assert_eq!(run.status.code(), Some(1), "the threshold fails: {}", String::from_utf8_lossy(&run.stderr));

    let driver = ChromeDriver::start(&dir).await;
    let browser = Browser::open(&driver, &dir.join("profile")).await;
    let page = out.join("load.html").canonicalize().expect("load.html is written");
    browser.go(&format!("file://{}", page.display())).await;
    let verdict = browser.find("#verdict").await;
    assert!(browser.displayed(&verdict).await, "the verdict is shown");
    assert_eq!(browser.text(&verdict).await, "mobauth load: FAILED");
    let generator = browser.text(&browser.find("#generator").await).await;
    assert!(generator.starts_with("Generator: "), "{generator}");
    let charts = browser.find_xpath("//figure/*[name()='svg']").await;
    assert_eq!(charts.len(), 2, "the throughput and latency charts");
    for chart in &charts {
        assert!(browser.displayed(chart).await, "a chart is shown");
    }
    // Both laid out at the size they were drawn, and the first (in view) drawn in colour.
    let sizes = browser
        .script(
            "return [...document.querySelectorAll('figure svg')]\
             .map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });",
        )
        .await;
    assert_eq!(sizes, json!([[860, 300], [860, 300]]), "the charts' laid-out sizes");
    let png = browser.screenshot(&charts[0]).await;
    let shot = image::load_from_memory(&png).expect("the chart's screenshot is an image").to_rgb8();
    let colours: std::collections::BTreeSet<[u8; 3]> = shot.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 10, "the chart is drawn, not blank: {} colours", colours.len());
    let legend = browser.find_xpath("//*[name()='text' and normalize-space()='accepted']").await;
    assert_eq!(legend.len(), 1, "the throughput chart's legend names the accepted line");
    browser.quit().await;
}

/// Without scripts, the `<noscript>` frame follows the status: it reloads itself until the device
/// has answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_the_status_frame_shows_the_device_accepting() {
    let dir = scratch("noscript");
    let server = ServeProcess::start("fixtures/servers/default.toml");
    let driver = ChromeDriver::start(&dir).await;
    let browser = Browser::open_with(&driver, &dir.join("profile"), false).await;
    browser.go(&format!("{}/", server.url)).await;
    browser.click("#start").await;
    let otp = browser.text(&browser.find("#otp").await).await;
    // A browser that runs scripts does not render <noscript>: the frame is there only without.
    let frame = browser.find("iframe").await;
    assert!(browser.displayed(&frame).await, "the status frame is shown without scripts");
    browser.enter_frame(&frame).await;
    assert_eq!(browser.text(&browser.find("#status").await).await, "pending");

    let http = Http::new(&server.url, Duration::from_secs(10), Transcript::default());
    let mut device = SimulatedDevice::new("phone", http, "mobauth-app", protocol::rng::seeded(12));
    device.log_in("bob", "bob-password").await.expect("bob logs in");
    device.enroll().await.expect("the device enrolls");
    device.handle_otp(&otp).await.expect("the OTP request is fetched");
    device.decide(Answer::Accept).await.expect("the answer is taken");

    // The frame reloads itself: the element is found again at each look.
    browser.wait_for_text("#status", "accepted", "the status frame after the device accepted").await;
    browser.quit().await;
}
