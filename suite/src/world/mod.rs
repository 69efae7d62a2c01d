//! The cucumber world of the conformance suite: one per scenario, holding the target, the
//! scenario's named users and devices, the portal, the OTP it started and the last outcome.
//!
//! A device is simulated, or — when the run drives devices (`mobauth run --device-driver`) — the
//! first device a scenario names is the device driver's: the SDK under test stands in for it, and
//! later devices stay simulated. Steps that need a device's internals (its keys, access token or
//! raw requests in its name) reach a simulated device only ([`DeviceHandle::simulated`]); for
//! the driver's device they end the scenario as not applicable, saying what was needed. Steps
//! reach either kind through one handle ([`ConformanceWorld::device_handle`]).

mod driven;
pub mod driver;
mod handle;
mod notes;
pub mod raw;

pub use self::handle::DeviceHandle;
pub use self::notes::{CameraImage, Notes};

use std::collections::HashMap;
use std::time::Duration;

use protocol::keys::KeyPair;
use protocol::rng::SeededRng;
use protocol::wire::OtpRequestResponse;
use time::OffsetDateTime;

use crate::judgement::OrFail as _;
use peers::device::{DeviceEnrollment, DeviceError, SimulatedDevice};
use peers::driver::device::{DrivenDevice, DrivenError};
use peers::portal::{SimulatedPortal, StartedOtp};
use peers::target::{Target, UserCredentials};

/// Who plays a scenario's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// The device driver: the SDK under test.
    Driver,
    /// The harness's simulated device.
    Simulated,
}

/// A device a scenario named, and who played it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUse {
    /// The name the scenario calls it by.
    pub name: String,
    /// Who played it.
    pub kind: DeviceKind,
}

/// How long the callback receiver listens for a first delivery attempt that must not come (a
/// transaction still pending, an answer refused) before it takes it as not coming: there is no
/// backoff to time that by, so the longest quiet window below.
pub const CALLBACK_QUIET: Duration = Duration::from_millis(2000);

/// The first wait of the contract's backoff: waits double from 200 ms (section 8).
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What a quiet window allows beyond the backoff's next wait, for the attempt's own time on the
/// wire and a loaded machine.
const QUIET_MARGIN: Duration = Duration::from_millis(400);

/// How long the callback receiver listens for one more delivery attempt, after `attempts` came,
/// before it takes the delivery as over, on a server by URL. The contract fixes the backoff
/// ("doubling from 200 ms") but not which clock it runs on: a server that waits real time sends
/// the attempt after the n-th 200·2^(n−1) ms after the n-th failed, so an attempt too many (one
/// more than 1 + callback_retries, or a retry after a 2xx) comes that long after the last one
/// that may come, and the window is that wait and [`QUIET_MARGIN`]: 600 ms after one attempt, 2 s
/// after four (a default delivery's fifth attempt would come 1.6 s after the fourth). A server
/// on its own clock sends what a clock move made due at once, on the first nudge. Before any
/// attempt the window is [`CALLBACK_QUIET`].
pub fn callback_quiet_after(attempts: usize) -> Duration {
    match attempts.checked_sub(1) {
        None => CALLBACK_QUIET,
        Some(doublings) => {
            let factor = 1_u32.checked_shl(u32::try_from(doublings).unwrap_or(u32::MAX)).unwrap_or(u32::MAX);
            FIRST_BACKOFF.saturating_mul(factor).saturating_add(QUIET_MARGIN)
        }
    }
}

/// The quiet window on the embedded target, after any count of attempts. That target is the mock
/// server with its clock frozen and its backoff on that clock (its default reading,
/// `fixtures/servers/default.toml`): no attempt comes there but what a clock move made due, and
/// the receiver's nudges (a second of the server's clock every 100 ms) pass the longest backoff
/// of a default delivery (800 ms) at the first nudge, whose answer comes only once it has started
/// every attempt it made due. A window too short for a slow machine could only miss an attempt
/// too many, never fail one that must come: those are waited for apart, up to a minute. A server
/// by URL may back off in real time, so it keeps [`callback_quiet_after`].
pub const EMBEDDED_CALLBACK_QUIET: Duration = Duration::from_millis(300);

/// The scenario's device that the device driver plays.
#[derive(Debug)]
struct DrivenSlot {
    /// The name the scenario calls it by.
    name: String,
    /// The driver, once a step needed it.
    device: Option<DrivenDevice>,
}

/// Where the last outcome came from, when it came from the driver's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrivenCall {
    /// The device's name.
    pub device: String,
}

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
    /// The simulated devices by the name the scenario gives them (the driver's device is not here).
    pub devices: HashMap<String, SimulatedDevice>,
    /// Whether the first device the scenario names is the device driver's.
    drive_devices: bool,
    /// The device the driver plays, once named.
    driven: Option<DrivenSlot>,
    /// Every device named, in order, and who plays it.
    named: Vec<DeviceUse>,
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
    /// Set when the last outcome is a driven device's (see [`ConformanceWorld::record_driven`]).
    pub last_driven: Option<DrivenCall>,
    /// The device driver (an SDK under test) of driver scenarios.
    pub driver: Option<driver::DriverSession>,
    /// What the enrollment, OTP, relying-party and callback steps keep between steps.
    pub notes: notes::Notes,
    /// What the raw-request steps (general, token and test-control scenarios) keep between steps.
    pub raw: raw::RawState,
}

impl ConformanceWorld {
    fn new() -> Self {
        Self {
            seed: 0,
            target: None,
            rng: protocol::rng::seeded(0),
            users: HashMap::new(),
            devices: HashMap::new(),
            drive_devices: false,
            driven: None,
            named: Vec::new(),
            previous_enrollments: HashMap::new(),
            enrolled_at_before: HashMap::new(),
            fetched: HashMap::new(),
            scanned: HashMap::new(),
            portal: None,
            otp: None,
            last: None,
            last_driven: None,
            driver: None,
            notes: notes::Notes::default(),
            raw: raw::RawState::default(),
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
        self.target().now().await.or_fail(|e| format!("cannot read the server's clock: {e}"))
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
            .or_fail(|e| format!("cannot create the user {name:?} on the target: {e}"));
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

    /// Lets the first device the scenario names be the device driver's (the runner's `before`
    /// hook, for `mobauth run --device-driver`).
    pub fn set_drive_devices(&mut self, on: bool) {
        self.drive_devices = on;
    }

    /// Who plays the device called `name`, deciding it the first time it is named: the driver
    /// when the run drives devices and no device is the driver's yet, else a simulated device.
    pub fn name_device(&mut self, name: &str) -> DeviceKind {
        if let Some(kind) = self.device_kind(name) {
            return kind;
        }
        if self.drive_devices && self.driven.is_none() {
            self.driven = Some(DrivenSlot { name: name.to_string(), device: None });
            self.named.push(DeviceUse { name: name.to_string(), kind: DeviceKind::Driver });
            return DeviceKind::Driver;
        }
        self.install_simulated(name);
        DeviceKind::Simulated
    }

    /// Who plays the device called `name`, if it was named.
    pub fn device_kind(&self, name: &str) -> Option<DeviceKind> {
        if self.driven.as_ref().is_some_and(|slot| slot.name == name) {
            Some(DeviceKind::Driver)
        } else if self.devices.contains_key(name) {
            Some(DeviceKind::Simulated)
        } else {
            None
        }
    }

    /// Whether the device called `name` is the driver's.
    pub fn is_driven(&self, name: &str) -> bool {
        self.driven_name() == Some(name)
    }

    /// The name of the driver's device, once one is named.
    pub fn driven_name(&self) -> Option<&str> {
        self.driven.as_ref().map(|slot| slot.name.as_str())
    }

    /// Installs a simulated device called `name` unless one is there: a device of the harness's
    /// own (another session of a user, a replacement device) that the driver never plays.
    pub fn install_simulated(&mut self, name: &str) -> &mut SimulatedDevice {
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
            self.named.push(DeviceUse { name: name.to_string(), kind: DeviceKind::Simulated });
        }
        match self.devices.get_mut(name) {
            Some(device) => device,
            None => unreachable!("installed just above"),
        }
    }

    /// The simulated device called `name`, installed the first time it is named. A step that
    /// reaches the driver's device this way needs its internals: not applicable.
    pub fn device_or_install(&mut self, name: &str) -> &mut SimulatedDevice {
        self.name_device(name);
        self.device(name)
    }

    /// The simulated device called `name`, which an earlier step must have introduced. For the
    /// driver's device the scenario is not applicable: the caller needs the device's internals
    /// (a step that has already said what it needs of it with [`DeviceHandle::simulated`]).
    pub fn device(&mut self, name: &str) -> &mut SimulatedDevice {
        self.simulated(name, "its internals (its keys, certificate, access token or device id)")
    }

    /// The simulated device called `name`, for a step that needs `needs` of it, which an SDK
    /// does not show through the driver protocol: for the driver's device the scenario is not
    /// applicable, with `needs` as the reason. Steps say it with [`DeviceHandle::simulated`].
    pub(crate) fn simulated(&mut self, name: &str, needs: &str) -> &mut SimulatedDevice {
        if self.driven_name() == Some(name) {
            crate::judgement::not_applicable(format!(
                "{name:?} is the device driver's device (the SDK under test), and this step needs {needs}, \
                 which an SDK does not expose through the driver protocol"
            ));
        }
        match self.devices.get_mut(name) {
            Some(device) => device,
            None => panic!("the scenario never introduced a device called {name:?}"),
        }
    }

    /// The driver's device, started on first use: the run's driver command, checked with
    /// `hello` and configured for the target's base URL and app client.
    pub async fn driven_device(&mut self) -> Result<&mut DrivenDevice, DrivenError> {
        let Some(slot) = self.driven.as_ref() else {
            panic!("no device of this scenario is the device driver's (a harness bug)");
        };
        if slot.device.is_none() {
            let target = self.target();
            let Some(command) = target.driver_command() else {
                panic!("this run drives devices but names no device driver command (a harness bug)");
            };
            let device = DrivenDevice::start(
                command,
                target.driver_limits(),
                protocol::rng::derive_seed(self.seed, "driven device"),
                target.base_url(),
                target.app_client_id(),
            )
            .await?;
            if let Some(slot) = self.driven.as_mut() {
                slot.device = Some(device);
            }
        }
        match self.driven.as_mut().and_then(|slot| slot.device.as_mut()) {
            Some(device) => Ok(device),
            None => unreachable!("started just above"),
        }
    }

    /// The driver's device if it was started, without starting it.
    pub fn started_driven_device(&self) -> Option<&DrivenDevice> {
        self.driven.as_ref().and_then(|slot| slot.device.as_ref())
    }

    /// Every device the scenario named, in order, and who played it (for the report).
    pub fn device_uses(&self) -> &[DeviceUse] {
        &self.named
    }

    /// The portal, started on first use with the target's API client.
    pub async fn portal(&mut self) -> &SimulatedPortal {
        if self.portal.is_none() {
            let target = self.target();
            let (id, secret) = target.api_client();
            let portal = SimulatedPortal::start(target.http(), id, secret, target.callback_listen())
                .await
                .unwrap_or_else(|e| fail!("the portal's callback listener did not start: {e}"));
            self.portal = Some(portal);
        }
        self.portal.as_ref().expect("set just above")
    }

    /// How long the portal's receiver listens for one more delivery attempt, after `attempts`
    /// came, before it takes the delivery as over: [`EMBEDDED_CALLBACK_QUIET`] on the embedded
    /// target, [`callback_quiet_after`] on a server by URL.
    pub fn callback_quiet(&self, attempts: usize) -> Duration {
        if self.target().is_embedded() { EMBEDDED_CALLBACK_QUIET } else { callback_quiet_after(attempts) }
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
        self.last_driven = None;
    }

    /// Records the outcome of an operation of the driver's device, with the server's log of the
    /// exchanges the driver made for it.
    pub fn record_driven(&mut self, outcome: Outcome, call: DrivenCall) {
        self.last = Some(outcome);
        self.last_driven = Some(call);
    }

    /// The last outcome; a `Then` without a preceding call is a scenario bug.
    pub fn last(&self) -> &Outcome {
        self.last.as_ref().expect("a step must make a call before its outcome is checked")
    }

    /// The last outcome's success value, or a failure telling what came instead.
    pub fn last_ok(&self, expected: &str) -> &serde_json::Value {
        match self.last() {
            Ok(value) => value,
            Err(e) => fail!("expected {expected}, but the call failed: {e}"),
        }
    }
}
