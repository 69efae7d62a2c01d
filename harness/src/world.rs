//! The cucumber world of the conformance suite: one per scenario, holding the target, the
//! scenario's named users and devices, the portal, the OTP it started and the last outcome.

use std::collections::HashMap;
use std::time::Duration;

use protocol::keys::KeyPair;
use protocol::rng::SeededRng;
use protocol::wire::OtpRequestResponse;
use time::OffsetDateTime;

use crate::device::{DeviceEnrollment, DeviceError, SimulatedDevice};
use crate::portal::{SimulatedPortal, StartedOtp};
use crate::target::{Target, UserCredentials};

/// How long a step waits for a callback before it fails (a bound, not a sleep).
pub const CALLBACK_WAIT: Duration = Duration::from_secs(10);

/// The outcome of the last device or portal call, for `Then` steps: a success as JSON (to show
/// in failure messages) or what went wrong.
pub type Outcome = Result<serde_json::Value, DeviceError>;

/// One scenario's state.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct ConformanceWorld {
    /// The scenario's seed (derived from the run seed and the scenario's name).
    pub seed: u64,
    target: Option<Target>,
    rng: SeededRng,
    /// Users by the name the scenario gives them.
    pub users: HashMap<String, UserCredentials>,
    /// Devices by the name the scenario gives them.
    pub devices: HashMap<String, SimulatedDevice>,
    /// Each device's enrollment before its latest successful re-enrollment.
    pub previous_enrollments: HashMap<String, DeviceEnrollment>,
    /// `enrolled_at` as the server reported it before the device's latest enrollment call.
    pub enrolled_at_before: HashMap<String, OffsetDateTime>,
    /// The request (with its challenge) each device fetched last.
    pub fetched: HashMap<String, OtpRequestResponse>,
    /// The OTP each device read from the QR code last.
    pub scanned: HashMap<String, String>,
    /// The relying party, once a step needs it.
    pub portal: Option<SimulatedPortal>,
    /// The OTP the portal started last.
    pub otp: Option<StartedOtp>,
    /// The outcome of the last call.
    pub last: Option<Outcome>,
    /// The device driver (an SDK under test) of driver scenarios.
    pub driver: Option<crate::steps::driver::DriverSession>,
    /// What the enrollment, OTP, relying-party and callback steps keep between steps.
    pub notes: crate::steps::device::Notes,
    /// What the raw-request steps (general, token and test-control scenarios) keep between steps.
    pub raw: crate::steps::http::RawState,
}

impl ConformanceWorld {
    fn new() -> Self {
        Self {
            seed: 0,
            target: None,
            rng: protocol::rng::seeded(0),
            users: HashMap::new(),
            devices: HashMap::new(),
            previous_enrollments: HashMap::new(),
            enrolled_at_before: HashMap::new(),
            fetched: HashMap::new(),
            scanned: HashMap::new(),
            portal: None,
            otp: None,
            last: None,
            driver: None,
            notes: crate::steps::device::Notes::default(),
            raw: crate::steps::http::RawState::default(),
        }
    }

    /// Starts the scenario on `target` with `seed` (called by the runner's `before` hook).
    pub fn begin(&mut self, seed: u64, target: Target) {
        self.seed = seed;
        self.rng = protocol::rng::seeded(protocol::rng::derive_seed(seed, "world"));
        self.target = Some(target);
    }

    /// The target; a scenario without one is a harness bug.
    pub fn target(&self) -> &Target {
        self.target.as_ref().expect("the runner's before hook gives every scenario a target")
    }

    /// The target, mutably.
    pub fn target_mut(&mut self) -> &mut Target {
        self.target.as_mut().expect("the runner's before hook gives every scenario a target")
    }

    /// The world's own seeded generator (foreign keys and the like).
    pub fn rng(&mut self) -> &mut SeededRng {
        &mut self.rng
    }

    /// A fresh key pair that no device holds.
    pub fn foreign_key(&mut self) -> KeyPair {
        KeyPair::generate(&mut self.rng)
    }

    /// The server's current time; devices check certificates against it.
    pub async fn server_now(&self) -> OffsetDateTime {
        self.target().now().await.unwrap_or_else(|e| panic!("cannot read the server's clock: {e}"))
    }

    /// The user called `name`, created on the target the first time it is named.
    pub async fn user(&mut self, name: &str) -> UserCredentials {
        if let Some(user) = self.users.get(name) {
            return user.clone();
        }
        let user = self
            .target_mut()
            .new_user()
            .await
            .unwrap_or_else(|e| panic!("cannot create the user {name:?} on the target: {e}"));
        self.users.insert(name.to_string(), user.clone());
        user
    }

    /// The scenario's username of the user called `name`.
    pub fn username(&self, name: &str) -> &str {
        match self.users.get(name) {
            Some(user) => &user.username,
            None => panic!("the scenario never introduced a user called {name:?}"),
        }
    }

    /// The device called `name`, installed the first time it is named.
    pub fn device_or_install(&mut self, name: &str) -> &mut SimulatedDevice {
        if !self.devices.contains_key(name) {
            let seed = protocol::rng::derive_seed(self.seed, &format!("device {name}"));
            let target = self.target();
            let device = SimulatedDevice::new(
                name,
                target.http(),
                target.app_client_id(),
                protocol::rng::seeded(seed),
            );
            self.devices.insert(name.to_string(), device);
        }
        self.device(name)
    }

    /// The device called `name`, which an earlier step must have introduced.
    pub fn device(&mut self, name: &str) -> &mut SimulatedDevice {
        match self.devices.get_mut(name) {
            Some(device) => device,
            None => panic!("the scenario never introduced a device called {name:?}"),
        }
    }

    /// The portal, started on first use with the target's API client.
    pub async fn portal(&mut self) -> &SimulatedPortal {
        if self.portal.is_none() {
            let target = self.target();
            let (id, secret) = target.api_client();
            let portal = SimulatedPortal::start(target.http(), id, secret)
                .await
                .unwrap_or_else(|e| panic!("the portal's callback listener did not start: {e}"));
            self.portal = Some(portal);
        }
        self.portal.as_ref().expect("set just above")
    }

    /// The OTP the portal started last.
    pub fn started_otp(&self) -> &StartedOtp {
        self.otp.as_ref().expect("a step must start an OTP at the portal first")
    }

    /// Records the outcome of a call for the `Then` steps.
    pub fn record<T: serde::Serialize>(&mut self, outcome: Result<T, impl Into<DeviceError>>) {
        self.last = Some(
            outcome
                .map(|value| serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
                .map_err(Into::into),
        );
    }

    /// The last outcome; a `Then` without a preceding call is a scenario bug.
    pub fn last(&self) -> &Outcome {
        self.last.as_ref().expect("a step must make a call before its outcome is checked")
    }

    /// The last outcome's success value, or a failure telling what came instead.
    pub fn last_ok(&self, expected: &str) -> &serde_json::Value {
        match self.last() {
            Ok(value) => value,
            Err(e) => panic!("expected {expected}, but the call failed: {e}"),
        }
    }
}
