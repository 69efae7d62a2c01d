//! Broken inputs on purpose, each made by one pure function and unit-tested: what a broken or
//! malicious peer would send. The mock server's tests and the suite's steps both forge through
//! here, so a malformed input means the same thing on both sides.
//!
//! - [`b64`]: base64 as the contract spells it, and spelled otherwise (padding changed, unused
//!   bits set).
//! - [`otp`]: OTPs with a character, a bit or a byte changed, bytes added or the version set.
//! - [`pem`]: PEM relabelled, re-wrapped, cut short or with its signature spoilt.
//! - [`der`]: ECDSA signatures in their high-S, low-S and raw forms.
//! - [`csr`]: CSRs with subjects a well-behaved SDK never makes, or a key not on P-256.
//! - [`answer`]: the signature of an answer, right or over the wrong text.
//! - [`body`]: request bodies of an exact length, form bodies and `Authorization` headers.
//!
//! Where an input can be refused (it is not base64, not DER, too short), the function says so
//! with a [`ForgeError`]; nothing here panics on its input.
#![forbid(unsafe_code)]

pub mod answer;
pub mod b64;
pub mod body;
pub mod csr;
pub mod der;
pub mod otp;
pub mod pem;

/// Why an input could not be forged into what was asked.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    /// The text is not standard padded base64.
    #[error("not standard base64: {0}")]
    NotBase64(String),
    /// The bytes are not a DER ECDSA signature `SEQUENCE { INTEGER r, INTEGER s }`.
    #[error("not a DER ECDSA P-256 signature: {0}")]
    NotDerSignature(&'static str),
    /// The text has no PEM block.
    #[error("not a PEM block: {0}")]
    NotPem(&'static str),
    /// The input is shorter than the change needs.
    #[error("{what} has {got} bytes or characters, and the change needs {needs}")]
    TooShort {
        /// What was given.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length the change needs.
        needs: usize,
    },
    /// The input has no spelling of the kind asked for (no padding to take off or put on, no
    /// unused bits).
    #[error("{0}")]
    NoSuchSpelling(String),
    /// The input lacks the part the change is made to.
    #[error("the input has no {0}")]
    Missing(&'static str),
    /// rcgen refused to build a CSR.
    #[error("the CSR does not build: {0}")]
    Csr(String),
}
