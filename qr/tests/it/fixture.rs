//! The disturbance rows' fixture, shared by `tests/qr_disturbances.rs` (which checks the pictures)
//! and `examples/qr_bench.rs` (which times exactly those pictures): the OTP they carry and each
//! row's random stream.

use base64::Engine as _;
use protocol::rng::{self, SeededRng};

/// The row's own random stream. These are the streams the rows drew from when the decoding
/// pipeline was tuned on them, kept so that the pictures stay exactly those on which each
/// strategy earned its place (`every_disturbance_decodes_to_the_exact_payload`): that check is
/// about particular noise patterns, and another stream can move a row to another strategy.
pub(crate) fn row_rng(id: &str) -> SeededRng {
    let seed = match id {
        "salt-and-pepper-5" => 1,
        "rotate-noise-jpeg" | "scale-50-noise-3" => 2,
        "busy-scene" => 3,
        "noise" => 4,
        "inverted-noise-5" => 5,
        "contrast-125-145-noise-3" | "inverted-contrast-140-120-noise-3" => 7,
        _ => 0,
    };
    rng::seeded(0x6d6f_6261_7574_6800 ^ seed)
}

/// A realistic OTP: standard base64 of 49 fixed bytes starting 0x01, so 68 characters
/// beginning `AQ` and ending in `==`, as the portal shows them.
pub(crate) fn otp_payload() -> String {
    let mut bytes = [0u8; 49];
    bytes[0] = 0x01;
    for (i, b) in bytes.iter_mut().enumerate().skip(1) {
        // Any fixed spread of values; the second byte stays below 0x10 so the text starts "AQ".
        *b = u8::try_from((i * 73 + 5) % 251).expect("reduced modulo 251");
    }
    bytes[1] = 0x0a;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
