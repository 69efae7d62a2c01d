//! The qr crate's integration tests: the camera disturbances and the grade of a portal's picture.
//!
//! One test binary for the crate (each module was a test binary of its own), so a build links
//! the crate once for all its integration tests.

mod fixture;
mod qr_disturbances;
mod qr_grade;
