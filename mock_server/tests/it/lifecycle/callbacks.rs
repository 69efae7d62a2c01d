//! Callbacks and their retries: the backoff on the server's clock, giving up, and the bounds on
//! an attempt that is never answered.

use std::time::Duration;

use mock_server::ClockMode;
use serde_json::json;
use time::Duration as TimeDuration;

use super::{START, accept_with_callback, kinds, once_ended};
use crate::support::{self, T0, callback_receiver, hanging_receiver};

/// CB-002, CB-005, CB-006, ADM-016: a failed delivery is retried once the server's clock has
/// moved the backoff past the failed attempt's end, not before; the first 2xx ends the series.
#[tokio::test]
async fn callback_retried_after_a_failed_delivery() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    let mut cb = callback_receiver(&[500, 204]).await;
    let uri = cb.url("/retry");
    let (since, tx) = accept_with_callback(&s, &uri).await;
    // The first attempt started before the answer came back, logged after the answer.
    let log = s.events(since).await.events;
    assert_eq!(
        log.iter().take(2).map(|e| (e.kind.as_str(), e.method.as_str(), e.status)).collect::<Vec<_>>(),
        vec![("request", "POST", 200), ("callback_start", "POST", 0)],
        "{log:?}"
    );
    let first = cb.next().await;
    assert_eq!(first.answered, 500);
    assert_eq!(kinds(&once_ended(&s, since, &uri, 1).await), vec![START, ("callback", 500)]);

    s.advance_clock(199).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 2, "no retry 199 ms after the failure");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await)[2], START, "the move started the retry");
    let second = cb.next().await;
    assert_eq!(second.answered, 204);
    assert_eq!(first.body, second.body, "the same body each attempt");
    let events = once_ended(&s, since, &uri, 2).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 500), START, ("callback", 204)]);

    // CB-002: delivery stops at the first 2xx. An hour on, far past every backoff, no attempt
    // has started (a clock move starts every attempt it makes due before it answers).
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4);
    assert!(cb.try_next().is_none());
    // The transaction is unaffected by delivery.
    assert_eq!(s.transaction_status(tx).await["status"], "accepted");
    s.shutdown().await;
}

/// CB-007: each retry starts when the server's clock has passed the end of the attempt before it
/// by 200, 400 and 800 ms, and not 1 ms earlier.
#[tokio::test]
async fn callback_backoff_doubles_on_the_server_clock() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    let mut cb = callback_receiver(&[500, 500, 500, 204]).await;
    let uri = cb.url("/backoff");
    let (since, _) = accept_with_callback(&s, &uri).await;
    for (ended, backoff) in [(1, 200), (2, 400), (3, 800)] {
        let events = once_ended(&s, since, &uri, ended).await;
        assert_eq!(events.len(), 2 * ended, "{events:?}");
        let (_, _, end) = events[2 * ended - 1];
        s.advance_clock(backoff - 1).await;
        assert_eq!(
            s.callback_events(since, &uri).await.len(),
            2 * ended,
            "no retry {} ms after attempt {ended} ended",
            backoff - 1
        );
        s.advance_clock(1).await;
        let events = s.callback_events(since, &uri).await;
        let (kind, _, started) = &events[2 * ended];
        assert_eq!(kind, "callback_start");
        assert_eq!(*started - end, TimeDuration::milliseconds(backoff), "retry {ended}");
    }
    let events = once_ended(&s, since, &uri, 4).await;
    let ends: Vec<u16> = events.iter().filter(|(k, _, _)| k == "callback").map(|(_, s, _)| *s).collect();
    assert_eq!(ends, vec![500, 500, 500, 204]);
    for expected in [500, 500, 500, 204] {
        assert_eq!(cb.next().await.answered, expected);
    }
    s.shutdown().await;
}

/// CB-006: with `callback_retries` 1 a receiver that always fails gets exactly 2 attempts.
#[tokio::test]
async fn callback_gives_up_after_the_configured_retries() {
    let s = support::start("default").await;
    s.put_config_ok(json!({"callback_retries": 1})).await;
    let mut cb = callback_receiver(&[503, 503]).await;
    let uri = cb.url("/failing");
    let (since, tx) = accept_with_callback(&s, &uri).await;
    assert_eq!(kinds(&once_ended(&s, since, &uri, 1).await), vec![START, ("callback", 503)]);
    s.advance_clock(5).await;
    let events = once_ended(&s, since, &uri, 2).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 503), START, ("callback", 503)]);
    // An hour on, far past every backoff: no third attempt has started.
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4);
    assert_eq!((cb.next().await.answered, cb.next().await.answered), (503, 503));
    assert!(cb.try_next().is_none());
    assert_eq!(s.transaction_status(tx).await["status"], "accepted", "delivery leaves it unchanged");
    s.shutdown().await;
}

/// CB-005: an attempt whose receiver does not answer fails once the server's clock has passed
/// its start by 5 s, ended by the clock move itself; its retry follows the backoff after that.
#[tokio::test]
async fn unanswered_attempt_fails_when_the_server_clock_passes_5_seconds() {
    let s = support::start_with("default", Duration::from_millis(200)).await;
    s.put_config_ok(json!({"callback_retries": 1})).await;
    let mut cb = hanging_receiver().await;
    let uri = cb.url("/silent");
    let (since, _) = accept_with_callback(&s, &uri).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START]);
    s.advance_clock(4_999).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START], "still open at 4999 ms");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START, ("callback", 0)]);
    cb.closed().await;
    s.advance_clock(199).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 2, "no retry 199 ms after the timeout");
    s.advance_clock(1).await;
    assert_eq!(kinds(&s.callback_events(since, &uri).await), vec![START, ("callback", 0), START]);
    s.advance_clock(5_000).await;
    let events = s.callback_events(since, &uri).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 0), START, ("callback", 0)]);
    cb.closed().await;
    s.advance_clock(3_600_000).await;
    assert_eq!(s.callback_events(since, &uri).await.len(), 4, "callback_retries 1: given up");
    s.shutdown().await;
}

/// CB-005: while nobody moves the clock, an unanswered attempt still fails after the real-time
/// bound of `ServeOptions::callback_attempt_timeout`.
#[tokio::test]
async fn unanswered_attempt_fails_after_the_real_time_bound() {
    let s = support::start_configured("default", |options| {
        options.callback_attempt_timeout = Duration::from_millis(100);
    })
    .await;
    s.put_config_ok(json!({"callback_retries": 0})).await;
    let mut cb = hanging_receiver().await;
    let uri = cb.url("/silent");
    let (since, _) = accept_with_callback(&s, &uri).await;
    let events = once_ended(&s, since, &uri, 1).await;
    assert_eq!(kinds(&events), vec![START, ("callback", 0)]);
    assert_eq!(events[1].2, T0, "the clock did not move");
    cb.closed().await;
    s.shutdown().await;
}

/// CB-007: with a running clock, retries come as real time passes, each at least the backoff
/// after the attempt before it ended.
#[tokio::test]
async fn retries_follow_a_running_clock() {
    let s = support::start_configured("default", |options| {
        options.clock = ClockMode::Running;
        options.callback_backoff = Duration::from_millis(20);
    })
    .await;
    let mut cb = callback_receiver(&[500, 500, 204]).await;
    let uri = cb.url("/running");
    let (since, _) = accept_with_callback(&s, &uri).await;
    for expected in [500, 500, 204] {
        assert_eq!(cb.next().await.answered, expected);
    }
    let events = once_ended(&s, since, &uri, 3).await;
    assert_eq!(
        kinds(&events),
        vec![START, ("callback", 500), START, ("callback", 500), START, ("callback", 204)]
    );
    for (retry, backoff) in [(2, 20), (4, 40)] {
        let waited = events[retry].2 - events[retry - 1].2;
        assert!(waited >= TimeDuration::milliseconds(backoff), "retry waited {waited}, not {backoff} ms");
    }
    s.shutdown().await;
}
