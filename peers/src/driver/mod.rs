//! The device driver protocol (contract sections 7 and 9) from both ends: [`client`] starts an
//! implementer's driver program and talks to it, [`device`] puts the high-level operations a
//! scenario's device steps need on top of it (an SDK's device standing in for the scenarios'
//! devices), [`reference`] is the simulated device behind the protocol (`mobauth device-driver`).

pub mod client;
pub mod device;
pub mod lines;
pub mod reference;
