//! Which scenarios wait in real time, for the runner's order: a scenario that starts a device
//! driver (a process, and a line at a time from it) or listens at the portal's callback receiver
//! (for attempts that may come, and for a quiet window after the last) spends most of its time
//! waiting, not computing. Started first, those waits overlap the CPU-bound scenarios; started
//! last, they trail the run with the cores idle. Only the order changes: each scenario's seed
//! comes from its label and its server is its own (or, by URL, the run's phases keep scenarios
//! apart), so no verdict depends on it.

/// The step phrases (as the features write them, after the keyword) of the steps that wait in
/// real time: what the steps of `steps::driver` and `steps::portal::callbacks` wait for.
const WAITING_STEPS: &[&str] = &[
    "a device driver",
    "the callback deliveries run their course",
    "the portal receives no other callback",
    "while the server's clock is not moved",
    "the portal's receiver gets",
];

/// Whether the step `text` (without its keyword) waits in real time.
pub fn waits_in_real_time(text: &str) -> bool {
    WAITING_STEPS.iter().any(|phrase| text.starts_with(phrase))
}

/// The phrases [`waits_in_real_time`] knows, for a check that each still starts a step.
pub fn waiting_phrases() -> &'static [&'static str] {
    WAITING_STEPS
}
