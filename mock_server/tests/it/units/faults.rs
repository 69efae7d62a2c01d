//! The fault list: matching, counts, seeded probability, and never the admin API.

use mock_server::faults::*;
use mock_server::readings::FaultCountZero;
use protocol::wire::Fault;

fn fault(prefix: &str, probability: Option<f64>, count: Option<u64>) -> Fault {
    Fault {
        method: Some("POST".into()),
        path_prefix: Some(prefix.into()),
        latency_ms: None,
        status: Some(503),
        drop_connection: false,
        probability,
        count,
    }
}

#[test]
fn matching_count_and_seeded_probability() {
    let mut faults = Faults::new(protocol::rng::seeded(1));
    faults.install(vec![fault("/mobile-auth/", None, Some(2))], 0);
    let hit = FaultAction { status: Some(503), ..FaultAction::default() };
    assert_eq!(faults.decide("GET", "/mobile-auth/v1/x"), FaultAction::default());
    assert_eq!(faults.decide("post", "/oauth/token"), FaultAction::default());
    assert_eq!(faults.decide("POST", "/mobile-auth/v1/x"), hit);
    assert_eq!(faults.decide("POST", "/mobile-auth/v1/x"), hit);
    assert_eq!(faults.decide("POST", "/mobile-auth/v1/x"), FaultAction::default(), "count spent");

    let pattern = |seed| {
        let mut f = Faults::new(protocol::rng::seeded(0));
        f.install(vec![fault("/", Some(0.5), None)], seed);
        (0..64).map(|_| f.decide("POST", "/x").status.is_some()).collect::<Vec<_>>()
    };
    assert_eq!(pattern(9), pattern(9), "same seed, same faults");
    let hits = pattern(9).iter().filter(|h| **h).count();
    assert!((16..=48).contains(&hits), "p=0.5 over 64 requests gave {hits}");
    let mut never = Faults::new(protocol::rng::seeded(1)).counting_zero_as(FaultCountZero::Never);
    never.install(vec![fault("/", None, Some(0)), fault("/x", None, None)], 0);
    assert_eq!(never.decide("POST", "/x"), hit, "count 0 never applies, absent is no limit");
    assert_eq!(never.decide("POST", "/y"), FaultAction::default());
    let mut admin = Faults::new(protocol::rng::seeded(1));
    admin.install(vec![fault("/", None, None)], 0);
    assert_eq!(admin.decide("POST", "/_admin/v1/faults"), FaultAction::default());
}
