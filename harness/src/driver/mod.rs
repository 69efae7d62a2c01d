//! The device driver protocol (contract sections 7 and 9) from both ends: [`client`] starts an
//! implementer's driver program and talks to it, [`reference`] is the simulated device behind the
//! protocol (`mobauth device-driver`).

pub mod client;
pub mod reference;
