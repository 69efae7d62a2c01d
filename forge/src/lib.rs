//! Broken inputs on purpose, each made by one pure function and unit-tested: what a broken or
//! malicious peer would send. The mock server's tests and the suite's steps both forge through
//! here, so a malformed input means the same thing on both sides.
#![forbid(unsafe_code)]
