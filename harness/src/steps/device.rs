//! Steps of a device: logging its user in, enrolling, reading and deleting its enrollment,
//! scanning QR codes, handling OTPs and answering them (also in the ways a broken or malicious
//! device would).
//!
//! When the run drives devices (`mobauth run --device-driver`), the device the driver plays (see
//! [`ConformanceWorld::name_device`]) takes the high-level steps through the driver protocol: log
//! in (`authenticate`), enroll, scan a QR code and handle the OTP (`handle_otp` with the image),
//! accept or deny, disenroll. The driver's error reply is the step's outcome, and the `Then` steps
//! compare its code and type ([`assert_driver_refused`]). What the driver protocol does not carry
//! (the HTTP status of the server's answer to the SDK) is not read from the server's event log
//! either: the contract fixes only the entries' `seq` there. So the steps observe the server for
//! themselves where they can (`GET enrollment` with a session of the user's own, `GET
//! transaction` through the portal), and a step that needs what neither shows is not applicable,
//! naming it. Steps that need what an SDK does not show — its keys, certificate, access token,
//! the challenge, requests of the scenario's making in its name — are not applicable for the
//! driver's device too, saying what they needed.

use std::collections::HashMap;

use protocol::wire::{Answer, EnrollmentResponse, OtpRequestResponse};
use time::OffsetDateTime;

use crate::portal::{CallbackAttempt, SimulatedPortal, StartedOtp};
use crate::world::Outcome;

mod answers;
mod certificates;
mod concurrent;
mod csr;
mod der;
mod driven;
mod enrollment;
mod malformed;
mod otp;
mod outcomes;
mod reading;

pub(crate) use driven::assert_driver_refused;
pub use otp::CameraImage;

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
