//! The protocol crate's integration tests: malformed inputs, property tests of every parser of
//! peer input, OpenSSL interoperability and the Wycheproof vectors.
//!
//! One test binary for the crate (each module was a test binary of its own), so a build links
//! the crate once for all its integration tests.

mod malformed_inputs;
mod openssl_interop;
mod properties;
mod wycheproof;
