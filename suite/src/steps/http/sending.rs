//! Sending raw requests: the `<who> sends ...` step, and what later steps of other modules read
//! off its answer (the request a device fetched, the OTP the portal started, the outcome). The
//! transcript's client sends ([`transcript::Http::send_raw`]), so each exchange is in the
//! scenario's transcript.

use cucumber::gherkin::Step;
use cucumber::{given, when};
use protocol::wire::{AuthenticateUserResponse, OtpRequestResponse, paths};
use transcript::{RawExchange, RawFailure, RawRequest};

use super::request::{Who, written};
use crate::judgement::OrFail as _;
use crate::raw::expand;
use crate::world::ConformanceWorld;
use peers::portal::StartedOtp;

/// Sends one raw request; `clauses` is the step's text after the path, `docstring` its doc string.
pub async fn send(
    world: &mut ConformanceWorld,
    who: &Who,
    method: &str,
    path: &str,
    clauses: &str,
    docstring: Option<&str>,
) {
    let path = expand(world, path).await;
    // A call to a part of the test-control API the target lacks makes the scenario not applicable,
    // and one that needs the server alone fails a scenario that shares it, before any placeholder
    // of the body asks the target for something.
    if let Some(rest) = path.strip_prefix(paths::ADMIN) {
        world.target().admin_call(method, rest).or_fail(|e| format!("the scenario calls {path}, and {e}"));
    }
    let written = written(world, who, method, &path, clauses, docstring).await;
    for _ in 0..written.times {
        let exchange = send_request(world, &written.request).await;
        after_exchange(world, who, &path, &exchange);
        world.raw.last = Some(exchange);
    }
}

/// Sends one request as given and returns what came, without keeping it as the last exchange.
pub async fn exchange(
    world: &mut ConformanceWorld,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> RawExchange {
    let mut request = RawRequest::new(method, path).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    send_request(world, &request).await
}

/// Sends `request` through the target's client (its TLS trust, the scenario's transcript). A
/// request that is not HTTP is a defect of the scenario, which ends it.
async fn send_request(world: &ConformanceWorld, request: &RawRequest) -> RawExchange {
    let exchange = world.target().http().send_raw(request).await;
    if let Err(failure @ RawFailure::Unsendable(_)) = &exchange.outcome {
        fail!("the scenario's request {} {failure}", exchange.request);
    }
    exchange
}

/// Keeps what later steps of other modules read: the request a device fetched, the OTP the
/// portal started, and the outcome for `the request is refused with ...`.
fn after_exchange(world: &mut ConformanceWorld, who: &Who, path: &str, exchange: &RawExchange) {
    // Only the outcome: which driven call came last stays as it was.
    world.last = Some(exchange.peer_outcome().map_err(Into::into));
    let Ok(response) = &exchange.outcome else { return };
    if response.status != 200 {
        return;
    }
    match who {
        Who::Device(device) if path == paths::OTP_REQUESTS => {
            if let Some(request) = response.json_as::<OtpRequestResponse>() {
                world.fetched.insert(device.clone(), request);
            }
        }
        Who::Portal if path == paths::AUTHENTICATE_USER => {
            if let Some(started) = response.json_as::<AuthenticateUserResponse>() {
                let qr_png = qr::render_png(&started.otp, &qr::RenderOptions::default()).unwrap_or_default();
                world.otp = Some(StartedOtp { response: started, qr_png });
            }
        }
        _ => {}
    }
}

#[given(regex = r#"^(the admin|the portal|a client|"[^"]+") sends ([A-Z]+) "([^"]*)"(.*)$"#)]
#[when(regex = r#"^(the admin|the portal|a client|"[^"]+") sends ([A-Z]+) "([^"]*)"(.*)$"#)]
async fn sends(
    world: &mut ConformanceWorld,
    who: String,
    method: String,
    path: String,
    clauses: String,
    step: &Step,
) {
    send(world, &Who::parse(&who), &method, &path, &clauses, step.docstring.as_deref()).await;
}
