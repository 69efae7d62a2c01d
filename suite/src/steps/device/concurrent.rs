//! Concurrent answers to one transaction (OTP-021).

use cucumber::gherkin::Step;
use cucumber::{then, when};
use protocol::wire::Answer;
use serde_json::Value;

use crate::world::{ConformanceWorld, Outcome};
use peers::device::DeviceError;
use transcript::PeerError;

use super::answers::{current_key, fetched, parse_answer};

#[when("these answers are sent at the same moment:")]
async fn concurrent_answers(world: &mut ConformanceWorld, step: &Step) {
    let table = step.table.as_ref().expect("the step has a table of devices and answers");
    let rows: Vec<(String, Answer)> = table
        .rows
        .iter()
        .skip(1)
        .map(|row| match row.as_slice() {
            [device, answer] => (device.clone(), parse_answer(answer)),
            other => fail!("expected | device | answer | rows, got {other:?}"),
        })
        .collect();
    for (device, _) in &rows {
        world
            .device_handle(device)
            .simulated("answers signed with its key and sent at the same moment as others");
    }
    let mut sends = Vec::new();
    for (device, answer) in &rows {
        let request = fetched(world, device);
        let key = current_key(world, device);
        let signed =
            world.device(device).signed_answer(&key, request.transaction_id, &request.challenge, *answer);
        sends.push((device.clone(), *answer, signed));
    }
    let devices = &world.devices;
    let calls = sends.iter().map(|(device, _, signed)| devices[device].send_answer(signed));
    let outcomes = futures::future::join_all(calls).await;
    world.notes.concurrent = sends
        .into_iter()
        .zip(outcomes)
        .map(|((device, answer, _), outcome)| {
            let outcome = outcome.map(|response| serde_json::to_value(response).unwrap_or(Value::Null));
            (device, answer, outcome)
        })
        .collect();
}

/// OTP-021: exactly one answer wins; each other one gets an error reply, which the contract does
/// not name (the check order gives 409 9029 once the winner has committed, but a server may refuse
/// a loser otherwise: OTP-021 readings). Judged from the replies the harness's own clients got:
/// an HTTP error status with the error body of section 0.
#[then("exactly one of them is answered 200 and every other one gets an error reply")]
async fn exactly_one_wins(world: &mut ConformanceWorld) {
    let outcomes = &world.notes.concurrent;
    let winners: Vec<&(String, Answer, Outcome)> = outcomes.iter().filter(|(_, _, o)| o.is_ok()).collect();
    let [(device, answer, Ok(value))] = winners.as_slice() else {
        fail!("expected exactly one concurrent answer to be answered 200, got {outcomes:?}");
    };
    ensure_eq!(
        value["status"].as_str(),
        Some(status_name(*answer)),
        "expected the winner's status to match its answer, got {value}"
    );
    for (loser, _, outcome) in outcomes.iter().filter(|(_, _, o)| o.is_err()) {
        ensure!(
            matches!(outcome, Err(DeviceError::Peer(PeerError::Refused { status, .. })) if *status >= 400),
            "expected the concurrent answer of {loser:?} to get an error reply (an HTTP error status with \
             the error body of contract section 0), but {}",
            outcome.as_ref().err().map(ToString::to_string).unwrap_or_default()
        );
    }
    world.notes.winner = Some((device.clone(), *answer));
}

/// The status an answer of this kind reads as.
fn status_name(answer: Answer) -> &'static str {
    match answer {
        Answer::Accept => "accepted",
        Answer::Deny => "denied",
    }
}
