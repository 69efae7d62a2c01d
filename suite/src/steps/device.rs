//! Steps of a device: logging its user in, enrolling, reading and deleting its enrollment,
//! scanning QR codes, handling OTPs and answering them (also in the ways a broken or malicious
//! device would).
//!
//! When the run drives devices (`mobauth run --device-driver`), the device the driver plays (see
//! [`ConformanceWorld::name_device`]) takes the high-level steps through the driver protocol: log
//! in (`authenticate`), enroll, scan a QR code and handle the OTP (`handle_otp` with the image),
//! accept or deny, disenroll, all behind the world's one handle on a device
//! ([`crate::world::DeviceHandle`]), which serves a simulated device alike; a step that needs a
//! simulated device's internals says so there ([`crate::world::DeviceHandle::simulated`]). The
//! driver's error reply is the step's outcome, and the `Then` steps
//! compare its code and type ([`assert_driver_refused`]). What the driver protocol does not carry
//! (the HTTP status of the server's answer to the SDK) is not read from the server's event log
//! either: the contract fixes only the entries' `seq` there. So the steps observe the server for
//! themselves where they can (`GET enrollment` with a session of the user's own, `GET
//! transaction` through the portal), and a step that needs what neither shows is not applicable,
//! naming it. Steps that need what an SDK does not show — its keys, certificate, access token,
//! the challenge, requests of the scenario's making in its name — are not applicable for the
//! driver's device too, saying what they needed.

mod answers;
mod certificates;
mod concurrent;
mod csr;
pub mod driven;
mod enrollment;
mod malformed;
mod otp;
pub mod outcomes;
mod reading;

pub(crate) use driven::assert_driver_refused;
