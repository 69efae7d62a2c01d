//! The mock server's parts on their own, through its public modules: the clock, the readings'
//! helpers, the field rules of `core` and the fault list. Here rather than as unit tests, so that
//! testing does not build the whole crate a second time with `cfg(test)`.

mod clock;
mod faults;
mod fields;
mod readings;
