//! What the enrollment, OTP, relying-party and callback steps keep between steps.

use std::collections::HashMap;

use peers::portal::{CallbackAttempt, SimulatedPortal, StartedOtp};
use protocol::wire::{Answer, EnrollmentResponse, OtpRequestResponse};
use time::OffsetDateTime;

use super::Outcome;

/// What the enrollment, OTP, relying-party and callback steps keep between steps.
#[derive(Debug, Default)]
pub struct Notes {
    /// Every request each device fetched, oldest first.
    pub fetches: HashMap<String, Vec<OtpRequestResponse>>,
    /// The device that fetched a request last.
    pub last_fetcher: Option<String>,
    /// Every successful enrollment answer of the scenario, in order, with the device's name.
    pub enrollments: Vec<(String, EnrollmentResponse)>,
    /// The server's clock just before and just after each device's latest successful enrollment.
    pub enrolled_between: HashMap<String, Option<(OffsetDateTime, OffsetDateTime)>>,
    /// The device that disenrolled a device by enrolling under `override_allowed`.
    pub replaced_by: HashMap<String, String>,
    /// Every OTP the portal started, oldest first.
    pub started: Vec<StartedOtp>,
    /// The callback_uri of the OTP the portal started last, as given.
    pub callback_uri: Option<String>,
    /// The server's clock just before and just after the portal started its last OTP.
    pub started_between: Option<(OffsetDateTime, OffsetDateTime)>,
    /// Relying parties besides the portal, by client id.
    pub portals: HashMap<String, SimulatedPortal>,
    /// The callback delivery attempts a scripted receiver saw, in order.
    pub attempts: Vec<CallbackAttempt>,
    /// The winner of concurrent answers: its device and answer.
    pub winner: Option<(String, Answer)>,
    /// The outcomes of concurrent answers, in the order they were listed.
    pub concurrent: Vec<(String, Answer, Outcome)>,
    /// The server's clock when the scenario made it stand still.
    pub clock_at: Option<OffsetDateTime>,
    /// What the camera of the driver's device saw last.
    pub camera: HashMap<String, CameraImage>,
    /// The error reply to the latest `handle_otp` of the driver's device, while it stands: a later
    /// decision step fails with it rather than with the 8053 that a decision with nothing showing
    /// gets, which would hide the first error.
    pub handle_refused: Option<(String, String)>,
}

/// What the camera of the driver's device saw last: the image and the OTP the harness put in it.
/// An SDK reads the image itself when it handles it (`handle_otp` with `qr_png`).
#[derive(Debug, Clone)]
pub struct CameraImage {
    /// The image, PNG.
    pub png: Vec<u8>,
    /// The OTP its QR code holds.
    pub otp: String,
}
