//! One handle on a scenario's device, whoever plays it: the harness's simulated device or, in a
//! driver run, the SDK under test through the device driver. The handle runs what both can do
//! (log in, enroll, scan and handle an OTP, accept, deny, disenroll) and records the outcome the
//! `Then` steps read; a step that needs a simulated device's internals says so with
//! [`DeviceHandle::simulated`], which ends the scenario as not applicable for the driver's device.

use protocol::keys::KeyPair;
use protocol::wire::Answer;
use serde_json::{Value, json};
use uuid::Uuid;

use super::driven::{decide_driven, decide_if_showing, drive, drive_ok, driven_device_id, handle_driven};
use super::{CameraImage, ConformanceWorld, DeviceKind, DrivenCall};
use peers::device::{DeviceError, SimulatedDevice};
use peers::driver::device::{DrivenDevice, OtpInput};

/// A scenario's device, by its name, with the world it lives in.
#[derive(Debug)]
pub struct DeviceHandle<'w> {
    world: &'w mut ConformanceWorld,
    name: String,
}

impl ConformanceWorld {
    /// The device the scenario calls `name`, simulated or the driver's alike. Who plays it is
    /// decided where it always was: by the first step that logs a user in on it, enrolls it or
    /// introduces it ([`ConformanceWorld::name_device`]).
    pub fn device_handle(&mut self, name: &str) -> DeviceHandle<'_> {
        DeviceHandle { world: self, name: name.to_string() }
    }
}

impl<'w> DeviceHandle<'w> {
    /// The name the scenario calls the device by.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn driven(&self) -> bool {
        self.world.is_driven(&self.name)
    }

    /// The simulated device, for a step that needs `needs` of it (its keys, access token,
    /// certificate, the challenge it fetched, a request of the scenario's making in its name),
    /// which an SDK does not show through the driver protocol: for the driver's device the
    /// scenario is not applicable, with `needs` as the reason.
    pub fn simulated(self, needs: &str) -> &'w mut SimulatedDevice {
        self.world.simulated(&self.name, needs)
    }

    /// Records `result` as the outcome of the device's last call, for the `Then` steps (for the
    /// driver's device, marked as its: [`ConformanceWorld::last_driven`]).
    pub fn record<T: serde::Serialize>(self, result: Result<T, DeviceError>) {
        if self.driven() {
            let outcome = result.map(|value| serde_json::to_value(value).unwrap_or(Value::Null));
            self.world.record_driven(outcome, DrivenCall { device: self.name });
        } else {
            self.world.record(result);
        }
    }

    /// Logs the scenario's user `user` in on the device (the driver's `authenticate`), deciding
    /// who plays the device if this is the first step naming it. A refusal fails the step.
    pub async fn log_in(&mut self, user: &str) {
        let credentials = self.world.user(user).await;
        let name = self.name.clone();
        if self.world.name_device(&name) == DeviceKind::Driver {
            let (username, password) = (credentials.username, credentials.password);
            let what = format!("log {user:?} in");
            drive_ok(self.world, &name, &what, async |d| d.authenticate(&username, &password).await).await;
            return;
        }
        self.world
            .device_or_install(&name)
            .log_in(&credentials.username, &credentials.password)
            .await
            .unwrap_or_else(|e| fail!("expected {user:?} to log in on {name:?}, but {e}"));
    }

    /// The device enrolls with a new key of its own (the driver's `enroll`), keeping what later
    /// steps check. Recorded: the enrollment answer, for the driver's device `{"re_enrolled"}`,
    /// or the refusal.
    pub async fn enroll(&mut self) {
        if self.driven() {
            return self.enroll_driven().await;
        }
        self.enroll_simulated(None).await;
    }

    /// The device enrolls with `key` and `csr` of the scenario's making: a simulated device's only.
    pub async fn enroll_with(&mut self, key: KeyPair, csr: String) {
        self.enroll_simulated(Some((key, csr))).await;
    }

    async fn enroll_driven(&mut self) {
        let name = self.name.clone();
        let before = self.world.target().now().await.ok();
        let (result, call) = drive(self.world, &name, "enroll", async |d| d.enroll().await).await;
        let after = self.world.target().now().await.ok();
        if result.is_ok() {
            self.world.notes.enrolled_between.insert(name, before.zip(after));
        }
        self.world.record_driven(result.map(|re_enrolled| json!({ "re_enrolled": re_enrolled })), call);
    }

    async fn enroll_simulated(&mut self, with: Option<(KeyPair, String)>) {
        let (world, name) = (&mut *self.world, self.name.as_str());
        let previous = world.device_or_install(name).enrollment().cloned();
        if previous.is_some()
            && let Ok(info) = world.device(name).fetch_enrollment().await
        {
            world.enrolled_at_before.insert(name.to_string(), info.enrolled_at);
        }
        let before = world.target().now().await.ok();
        let result = match with {
            None => world.device(name).enroll().await,
            Some((key, csr)) => world.device(name).enroll_with(key, csr).await,
        };
        let after = world.target().now().await.ok();
        if let Ok(response) = &result {
            if let Some(previous) = previous {
                world.previous_enrollments.insert(name.to_string(), previous);
            }
            world.notes.enrollments.push((name.to_string(), response.clone()));
            world.notes.enrolled_between.insert(name.to_string(), before.zip(after));
        }
        world.record(result);
    }

    /// The device scans the QR code of the OTP the portal started last. A simulated device
    /// decodes the picture, recorded as the outcome, and an error tells why it could not; the
    /// driver's device takes it into its camera, for the SDK to read when it handles it.
    pub fn scan(&mut self) -> Result<(), String> {
        let png = self.world.started_otp().qr_png.clone();
        if self.driven() {
            let otp = self.world.started_otp().response.otp.clone();
            self.world.notes.camera.insert(self.name.clone(), CameraImage { png, otp });
            return Ok(());
        }
        let result = self.world.device(&self.name).scan(&png);
        let scanned = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        if let Ok(otp) = &result {
            self.world.scanned.insert(self.name.clone(), otp.clone());
        }
        self.world.record(result);
        scanned
    }

    /// The OTP the device read from the QR code last (for the driver's device, the one in the
    /// image its camera saw).
    pub fn scanned(&self) -> Option<String> {
        match self.driven() {
            true => self.world.notes.camera.get(&self.name).map(|c| c.otp.clone()),
            false => self.world.scanned.get(&self.name).cloned(),
        }
    }

    /// The device handles `otp` as text (the request call; the driver's `handle_otp` with the
    /// text). Recorded: the request, for the driver's device the one shown
    /// (`{"transaction_id", "message"}`), or the refusal.
    pub async fn handle_otp(&mut self, otp: String) {
        let name = self.name.clone();
        if self.driven() {
            return handle_driven(self.world, &name, OtpInput::Text(otp.clone()), &otp).await;
        }
        let result = self.world.device(&name).handle_otp(&otp).await;
        if let Ok(request) = &result {
            self.world.fetched.insert(name.clone(), request.clone());
            self.world.notes.fetches.entry(name.clone()).or_default().push(request.clone());
            self.world.notes.last_fetcher = Some(name);
        }
        self.world.record(result);
    }

    /// The device handles the OTP of the QR code it scanned last: the driver's device is given
    /// the image its camera saw, as an app hands a scan to the SDK.
    pub async fn handle_scanned(&mut self) {
        let name = self.name.clone();
        if self.driven() {
            let Some(camera) = self.world.notes.camera.get(&name).cloned() else {
                fail!("{name:?} must scan the QR code before it handles the OTP");
            };
            return handle_driven(self.world, &name, OtpInput::Image(camera.png), &camera.otp).await;
        }
        let Some(otp) = self.scanned() else {
            fail!("{name:?} must scan the QR code before it handles the OTP");
        };
        self.handle_otp(otp).await;
    }

    /// The user's decision on the request the device fetched (the driver's `accept` or `deny`).
    /// Recorded: `{"status"}` and more, or the refusal.
    pub async fn decide(&mut self, answer: Answer) {
        let name = self.name.clone();
        if self.driven() {
            return decide_driven(self.world, &name, answer).await;
        }
        let result = self.world.device(&name).decide(answer).await;
        self.world.record(result);
    }

    /// The driver's device answers `what` as the SDK's own decision: only on the request it
    /// shows, else the scenario is not applicable (an SDK answers only what it shows). A
    /// simulated device decides as [`DeviceHandle::decide`] does.
    pub async fn decide_if_showing(&mut self, answer: Answer, what: &str) {
        let name = self.name.clone();
        if self.driven() {
            return decide_if_showing(self.world, &name, answer, what).await;
        }
        self.decide(answer).await;
    }

    /// The request the device shows: its transaction id and message (for a simulated device, the
    /// request it fetched last; for the driver's device, what `open_auth_otp` showed).
    pub fn shown(&self) -> Option<(String, String)> {
        if self.driven() {
            let shown = self.world.started_driven_device().and_then(DrivenDevice::shown)?;
            return Some((shown.transaction_id.clone(), shown.message.clone()));
        }
        let request = self.world.fetched.get(&self.name)?;
        Some((request.transaction_id.to_string(), request.message.clone()))
    }

    /// The device deletes its own enrollment (the driver's `disenroll`); a simulated device keeps
    /// its key as its previous one. Not recorded: [`DeviceHandle::record`] it where a `Then` step
    /// reads it.
    pub async fn disenroll(&mut self) -> Result<(), DeviceError> {
        let name = self.name.clone();
        if self.driven() {
            return drive(self.world, &name, "disenroll", async |d| d.disenroll().await).await.0.map(|_| ());
        }
        if let Some(enrollment) = self.world.device(&name).enrollment().cloned() {
            self.world.previous_enrollments.insert(name.clone(), enrollment);
        }
        self.world.device(&name).disenroll().await
    }

    /// The device's id (the driver's, from `state`).
    pub async fn device_id(&mut self) -> Uuid {
        let name = self.name.clone();
        if self.driven() {
            return driven_device_id(self.world, &name).await;
        }
        self.world.device(&name).device_id()
    }

    /// The username logged in on the device (for the driver's device, the one the harness logged
    /// in through it last).
    pub fn username(&mut self) -> Option<String> {
        if self.driven() {
            return self.world.started_driven_device().and_then(DrivenDevice::username).map(str::to_string);
        }
        self.world.device(&self.name).user().map(str::to_string)
    }
}
