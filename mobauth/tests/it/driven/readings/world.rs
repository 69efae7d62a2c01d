//! A case's world (its server, its driver and what the portal started), the steps it acts out,
//! and running a case against a fresh driver.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use transcript::{Auth, Http, Payload, Transcript};

use super::driver::DriverProcess;
use super::{ALTERNATIVE_TEXT, Act, Case, OK, Readings, STATE, Want};

/// A case's world: its server, its driver and what the portal started.
struct World<'r> {
    runtime: &'r tokio::runtime::Runtime,
    server: Option<mock_server::RunningServer>,
    driver: DriverProcess,
    readings: Readings,
    vars: Vec<(&'static str, String)>,
    /// The id of the `handle_otp` whose request shows.
    showing: Option<i64>,
}

impl World<'_> {
    fn server(&self) -> Result<&mock_server::RunningServer, String> {
        self.server.as_ref().ok_or_else(|| "the case has no server".to_string())
    }

    fn http(&self) -> Result<Http, String> {
        Ok(Http::new(&self.server()?.url(), Duration::from_secs(10), Transcript::default()))
    }

    fn fill(&self, template: &str) -> String {
        self.vars.iter().fold(template.to_string(), |text, (name, value)| text.replace(name, value))
    }

    fn ask(&mut self, template: &str) -> Result<Value, String> {
        let text = self.fill(template);
        let request: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the case's request {template} is not JSON: {e}"))?;
        let id = self.driver.send(request)?;
        self.driver.reply(Some(id), template)
    }

    /// The reply must be `want`; any error's text must be the driver's own kind of text.
    fn expect(&self, reply: &Value, want: &Want, what: &str) -> Result<(), String> {
        let matches = match want {
            Want::Ok(fields) => {
                let fields: Value =
                    serde_json::from_str(fields).map_err(|e| format!("bad case JSON {fields}: {e}"))?;
                reply.get("ok") == Some(&json!(true))
                    && fields.as_object().is_some_and(|fields| {
                        fields.iter().all(|(name, value)| reply.get(name) == Some(value))
                    })
            }
            Want::Err(code, kind) => {
                reply.get("ok") == Some(&json!(false))
                    && reply.get("error_code") == Some(&json!(code))
                    && reply.get("error_type") == Some(&json!(kind))
            }
        };
        if !matches {
            return Err(format!("{what}: expected {want:?}, got {reply}"));
        }
        if let Some(message) = reply.get("error_message") {
            let text =
                message.as_str().ok_or_else(|| format!("{what}: error_message is not text: {reply}"))?;
            let alternative = text.starts_with(ALTERNATIVE_TEXT);
            if alternative != (self.readings == Readings::Alternative) {
                return Err(format!(
                    "{what}: the error's text {text:?} is not the {:?} driver's",
                    self.readings
                ));
            }
        }
        Ok(())
    }

    fn act(&mut self, act: &Act) -> Result<(), String> {
        match act {
            Act::Ask(template, want) => {
                let reply = self.ask(template)?;
                self.expect(&reply, want, template)
            }
            Act::Garbage(line, want) => {
                self.driver.write(line)?;
                let reply = self.driver.reply(None, line)?;
                self.expect(&reply, want, line)
            }
            Act::Shows(template) => {
                let request: Value = serde_json::from_str(&self.fill(template))
                    .map_err(|e| format!("the case's request {template} is not JSON: {e}"))?;
                let id = self.driver.send(request)?;
                self.driver.event("open_auth_otp")?;
                self.showing = Some(id);
                Ok(())
            }
            Act::Decides(op, want) => {
                let showing = self.showing.take().ok_or("the case decides with no request showing")?;
                let id = self.driver.send(json!({"op": op}))?;
                let reply = self.driver.reply(Some(id), op)?;
                self.expect(&reply, &OK, op)?;
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, want, "handle_otp after the decision")
            }
            Act::StartsOtp => self.start_otp(),
            Act::AdminDeletes => {
                let state = self.ask(STATE)?;
                let device_id = state
                    .get("device_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("no device_id: {state}"))?;
                let path = format!("/_admin/v1/users/alice/enrollments/{device_id}");
                let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
                let (status, body) = self
                    .runtime
                    .block_on(http.send(reqwest::Method::DELETE, &path, Auth::Bearer(&token), Payload::Empty))
                    .map_err(|e| format!("the admin's deletion: {e}"))?;
                if status == 204 {
                    Ok(())
                } else {
                    Err(format!("the admin's deletion answered {status}: {body}"))
                }
            }
            Act::OtherDeviceEnrolls => {
                let mut other = peers::device::SimulatedDevice::new(
                    "other",
                    self.http()?,
                    "mobauth-app",
                    protocol::rng::seeded(99),
                );
                self.runtime
                    .block_on(async {
                        other.log_in("alice", "alice-password").await?;
                        other.enroll().await.map(|_| ())
                    })
                    .map_err(|e| format!("the other device's enrollment: {e}"))
            }
            Act::ServerLoggedAt(path, want) => {
                let got =
                    self.server_events()?.iter().filter(|e| e.kind == "request" && e.path == *path).count();
                if got == *want {
                    Ok(())
                } else {
                    Err(format!("the server logged {got} requests to {path}, expected {want}"))
                }
            }
            Act::Raw(line, want, id) => {
                self.driver.write(line)?;
                let reply = self.driver.next(line)?;
                let id: Value = serde_json::from_str(id).map_err(|e| format!("bad case JSON {id}: {e}"))?;
                if reply.get("event").is_some() || reply.get("id") != Some(&id) {
                    return Err(format!("expected the reply to {line} with id {id}, got {reply}"));
                }
                self.expect(&reply, want, line)
            }
            Act::SlowAnswers(ms) => {
                let faults = json!([{"method": "POST", "path_prefix": "/mobile-auth/v1/otp/requests/", "latency_ms": ms}]);
                let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
                let (status, body) = self
                    .runtime
                    .block_on(http.send(
                        reqwest::Method::PUT,
                        "/_admin/v1/faults",
                        Auth::Bearer(&token),
                        Payload::Json(&faults),
                    ))
                    .map_err(|e| format!("the faults: {e}"))?;
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(format!("PUT faults answered {status}: {body}"))
                }
            }
            Act::DecidesThenAsks(op, want, request, request_want, request_first) => {
                let showing = self.showing.take().ok_or("the case decides with no request showing")?;
                let id = self.driver.send(json!({"op": op}))?;
                let reply = self.driver.reply(Some(id), op)?;
                self.expect(&reply, &OK, op)?;
                let request: Value = serde_json::from_str(&self.fill(request))
                    .map_err(|e| format!("the case's request {request} is not JSON: {e}"))?;
                let asked = self.driver.send(request.clone())?;
                let what = request.to_string();
                if *request_first {
                    let reply = self.driver.reply(Some(asked), &what)?;
                    self.expect(&reply, request_want, &what)?;
                }
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, want, "handle_otp after the decision")?;
                if !*request_first {
                    let reply = self.driver.reply(Some(asked), &what)?;
                    self.expect(&reply, request_want, &what)?;
                }
                Ok(())
            }
            Act::ResetsWhileShowing(reply_first) => {
                let showing = self.showing.take().ok_or("the case resets with no request showing")?;
                let id = self.driver.send(json!({"op": "reset"}))?;
                let reset = |world: &Self| -> Result<(), String> {
                    let reply = world.driver.reply(Some(id), "reset")?;
                    world.expect(&reply, &Want::Ok("{}"), "reset")?;
                    reply
                        .get("device_id")
                        .and_then(Value::as_str)
                        .map(drop)
                        .ok_or(format!("no device_id: {reply}"))
                };
                if *reply_first {
                    reset(self)?;
                }
                self.driver.event("close_auth_otp")?;
                let reply = self.driver.reply(Some(showing), "the showing handle_otp")?;
                self.expect(&reply, &Want::Err(9006, "ACTION_CANCELED"), "handle_otp at the reset")?;
                if !*reply_first {
                    reset(self)?;
                }
                Ok(())
            }
            Act::PlainServer => {
                let url = plain_404_server()?;
                self.vars.push(("$PLAIN", url));
                Ok(())
            }
            Act::ServerLogged(want) => {
                let got: Vec<(String, String, u16)> = self
                    .server_events()?
                    .iter()
                    .filter(|e| e.kind == "request" && e.path.starts_with("/mobile-auth/"))
                    .map(|e| (e.method.clone(), e.path.clone(), e.status))
                    .collect();
                let want: Vec<(String, String, u16)> =
                    want.iter().map(|(m, p, s)| ((*m).to_string(), (*p).to_string(), *s)).collect();
                if got == want {
                    Ok(())
                } else {
                    Err(format!("the server logged {got:?}, expected {want:?}"))
                }
            }
        }
    }

    /// Every event the server logged so far.
    fn server_events(&self) -> Result<Vec<protocol::wire::ServerEvent>, String> {
        let (http, token) = (self.http()?, self.server()?.admin_token().to_string());
        let (_, events): (_, protocol::wire::EventsResponse) = self
            .runtime
            .block_on(http.call(
                reqwest::Method::GET,
                "/_admin/v1/events?since=0",
                Auth::Bearer(&token),
                Payload::Empty,
                &[200],
            ))
            .map_err(|e| format!("the server's events: {e}"))?;
        Ok(events.events)
    }

    /// The portal starts an OTP; the images of its QR code are made from the OTP.
    fn start_otp(&mut self) -> Result<(), String> {
        let http = self.http()?;
        let form =
            [("type", "qr-code"), ("callback_uri", "http://127.0.0.1:9/callback"), ("message", "Log in?")];
        let (_, started): (_, protocol::wire::AuthenticateUserResponse) = self
            .runtime
            .block_on(http.call(
                reqwest::Method::POST,
                protocol::wire::paths::AUTHENTICATE_USER,
                Auth::Basic("portal", "portal-secret"),
                Payload::Form(&form),
                &[200],
            ))
            .map_err(|e| format!("the portal's OTP: {e}"))?;
        let otp = started.otp;
        let images = qr_images(&otp);
        self.vars.retain(|(name, _)| *name == "$SERVER");
        self.vars.push(("$OTP", otp));
        for (name, bytes) in images {
            self.vars.push((name, STANDARD.encode(bytes)));
        }
        Ok(())
    }
}

/// The QR code of `otp` as the reference portal renders it, in three forms: light modules
/// transparent (alpha 0, colour black), with 5 % salt-and-pepper noise that only a clean-up
/// reads, and as a JPEG.
fn qr_images(otp: &str) -> [(&'static str, Vec<u8>); 3] {
    use qr::{self, RenderOptions, camera};
    let gray = qr::render_luma(otp, &RenderOptions::default()).expect("an OTP fits a QR code");
    let transparent = image::RgbaImage::from_fn(gray.width(), gray.height(), |x, y| {
        let dark = gray.get_pixel(x, y).0[0] < 128;
        image::Rgba(if dark { [0, 0, 0, 255] } else { [0, 0, 0, 0] })
    });
    let transparent =
        camera::Sample::Png(image::DynamicImage::ImageRgba8(transparent)).encode().expect("PNG encodes");
    // The noise must defeat a straight decode and not the camera pipeline, or the case shows
    // nothing: the first seed that does so.
    let noisy = (0..16)
        .map(|seed| {
            let noisy = camera::salt_and_pepper(&gray, 0.05, &mut protocol::rng::seeded(seed));
            camera::Sample::Png(image::DynamicImage::ImageLuma8(noisy)).encode().expect("PNG encodes")
        })
        .find(|png| qr::inspect(png).is_ok_and(|info| info.payload == otp && info.strategy != "plain"))
        .expect("some noise defeats a straight decode but not the pipeline");
    let jpeg = camera::Sample::Jpeg(image::DynamicImage::ImageLuma8(gray.clone()), 90)
        .encode()
        .expect("JPEG encodes");
    [("$QR_TRANSPARENT", transparent), ("$QR_NOISY", noisy), ("$QR_JPEG", jpeg)]
}

/// A server on loopback that answers every request 404 with a plain-text body (no error body
/// of any API), for as long as the test runs; its base URL.
fn plain_404_server() -> Result<String, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("a listener: {e}"))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| format!("its address: {e}"))?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The whole request first (headers, then Content-Length bytes of body), so that
            // closing the connection cannot reset it before the client reads the answer.
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            let complete = |request: &[u8]| {
                let text = String::from_utf8_lossy(request);
                let Some(end) = text.find("\r\n\r\n") else { return false };
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                request.len() >= end + 4 + length
            };
            while !complete(&request) {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let body = "no such page\n";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    Ok(url)
}

/// Runs `case` against a fresh driver (and server).
pub(super) fn check(runtime: &tokio::runtime::Runtime, case: &Case) -> Result<(), String> {
    let server = case.server.map(|fixture| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/servers/{fixture}.toml"));
        let file = mock_server::ServerFile::load(&path).expect("the server fixture loads");
        runtime
            .block_on(mock_server::serve(mock_server::ServeOptions::new(([127, 0, 0, 1], 0).into(), file)))
            .expect("the mock server starts")
    });
    let vars = server.iter().map(|s| ("$SERVER", s.url())).collect();
    let mut world = World {
        runtime,
        server,
        driver: DriverProcess::start(case.readings),
        readings: case.readings,
        vars,
        showing: None,
    };
    let mut outcome = Ok(());
    for (n, act) in case.acts.iter().enumerate() {
        if let Err(e) = world.act(act) {
            outcome = Err(format!("step {} ({act:?}): {e}", n + 1));
            break;
        }
    }
    let World { server, driver, .. } = world;
    let finished = driver.finish();
    if let Some(server) = server {
        runtime.block_on(server.shutdown());
    }
    outcome.and(finished)
}
