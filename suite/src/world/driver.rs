//! The device driver program of a driver scenario, and what the scenario asked of it.

use peers::driver::client::DriverProcess;
use protocol::driver::{Line, Reply};

/// A driver program and what the scenario asked of it.
#[derive(Debug)]
pub struct DriverSession {
    /// The program, while it runs.
    pub(crate) process: Option<DriverProcess>,
    /// The reply to the last request that was waited for.
    pub(crate) last: Option<Reply>,
    /// The id of a `handle_otp` whose reply is deferred.
    pub(crate) handling: Option<i64>,
    /// Lines that came after the input ended, and the exit code.
    pub(crate) finished: Option<(Option<i32>, Vec<Line>)>,
}

impl DriverSession {
    pub(crate) fn process(&mut self) -> &mut DriverProcess {
        self.process.as_mut().expect("a driver step runs after \"a device driver\" started one")
    }
}
