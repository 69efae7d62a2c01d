//! The mock server's parts on their own, through its public modules: the clock, the readings'
//! helpers, the field rules of `core`, its answer check made ahead of the call, and the fault
//! list. Here rather than as unit tests, so that testing does not build the whole crate a second
//! time with `cfg(test)`.

mod answer_check;
mod clock;
mod faults;
mod fields;
mod readings;
