//! The mobile-authentication reference profile as pure code.
//!
//! Everything the mock Token Server, the simulated devices and the harness agree on lives here:
//! wire types ([`wire`]), the error catalogue ([`error`]), the OTP codec ([`otp`]), keys and
//! signatures ([`keys`]), CSRs ([`csr`]), the certificate authority ([`ca`]),
//! time ([`clock`]) and seeded randomness ([`rng`]).
//!
//! QR codes are the `qr` crate's, so that this crate needs no image libraries.
//!
//! This crate does no I/O and its logic reads no clock: time and randomness come in as arguments,
//! bytes come in as slices and go out as values. [`clock::SystemClock`] is the one wall-clock
//! reader, for binaries to hand in.
#![forbid(unsafe_code)]

pub mod ca;
pub mod clock;
pub mod csr;
pub mod driver;
pub mod error;
pub mod keys;
pub mod markup;
pub mod otp;
pub mod rng;
pub mod wire;

pub use error::{ErrorBody, ErrorCode};
