//! QR codes: rendering the OTP the way the reference portal does, and reading it back from
//! whatever a phone camera (or a test) produces.
//!
//! The contract: *the QR code holds the OTP string as-is, in byte mode; the reference portal
//! renders error-correction level M, a 4-module quiet zone, 8 pixels a module, black on white,
//! as PNG (and SVG for pages).* [`RenderOptions::default`] is exactly that, and
//! [`render_png`], [`render_svg`] and [`render_luma`] draw it.
//!
//! Reading goes the other way: [`decode`] takes PNG or JPEG bytes (the format is sniffed from
//! the content, never from a file name) and returns the payload of the first code found;
//! [`inspect`] also reports version, error-correction level and mask, and [`grade`] checks a
//! portal's picture against the contract (quiet zone, module size, level, OTP payload) and
//! against the camera disturbances of [`camera`], for `mobauth qr check`.
//! The decoder underneath, `rqrr`, is a port of quirc and is fragile on its own: salt-and-pepper
//! noise, inverted colours, tiny modules or low contrast defeat it. So decoding runs a pipeline
//! of cheap image clean-ups (median filter, inversion, adaptive and Otsu thresholds, contrast
//! stretch, upscale; cheapest and likeliest first, see [`strategy_names`]) and stops at the
//! first that yields a payload. In front of it, a pixel-exact upright render (the portal's own
//! PNG, what the suite's simulated devices scan) is read by sampling its module grid directly,
//! which costs a pass over the pixels instead of rqrr's search; anything that path doubts goes
//! through the pipeline.
//!
//! The input is untrusted (files people upload or photograph), so nothing here panics on input
//! and the work is bounded: images above [`MAX_PIXELS`] are refused from their header before any
//! pixel is decoded, those above 2 MP are downscaled before the search, and every rqrr pass
//! runs on a budget of pixel accesses, because rqrr's cost on noise-like content grows far
//! faster than the pixel count (one unbudgeted pass over a 768 x 768 noise image, upscaled, was
//! measured at 15 s). A search cut short that way is reported as [`QrError::TooComplex`].
//!
//! Like the rest of the crate this module is sans-I/O: bytes in, values out.

use std::fmt;

/// Largest image [`decode`], [`decode_image`] and [`inspect`] accept, in pixels (40 megapixels:
/// a phone's default 12 MP photo fits, a full-resolution 48 MP capture does not). Checked from
/// the header, before any pixel is decoded.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Largest side, in pixels, a rendered image may have. Bounds [`RenderOptions`] so a careless
/// `module_px` cannot ask for gigabytes.
pub const MAX_RENDER_SIDE: u32 = 16_384;

mod aligned;
pub mod camera;
mod clean_grid;
mod cleanup;
mod decode;
mod grade;
mod inspect;
mod mask;
mod penalty;
mod render;
mod rs;

pub use cleanup::strategy_names;
pub use grade::{
    Criterion, MIN_MODULE_PX, QrGrade, QuietZone, REFERENCE_MODULE_PX, REQUIRED_QUIET_MODULES, Verdict,
    byte_mode_symbol, grade, grade_image,
};
pub use inspect::{decode, decode_image, inspect, inspect_image};
pub use render::{render_luma, render_png, render_svg};

/// Error-correction level of a QR code: how much of the symbol may be damaged and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum EcLevel {
    /// Low: about 7 % of codewords can be restored.
    L,
    /// Medium: about 15 %. The reference portal's level.
    #[default]
    M,
    /// Quartile: about 25 %.
    Q,
    /// High: about 30 %.
    H,
}

impl EcLevel {
    fn to_qrcode(self) -> qrcode::EcLevel {
        match self {
            Self::L => qrcode::EcLevel::L,
            Self::M => qrcode::EcLevel::M,
            Self::Q => qrcode::EcLevel::Q,
            Self::H => qrcode::EcLevel::H,
        }
    }

    /// rqrr reports the level as the two raw format bits, whose order is not L-M-Q-H:
    /// 00 is M, 01 is L, 10 is H, 11 is Q (ISO/IEC 18004).
    fn from_format_bits(bits: u16) -> Option<Self> {
        match bits {
            0 => Some(Self::M),
            1 => Some(Self::L),
            2 => Some(Self::H),
            3 => Some(Self::Q),
            _ => None,
        }
    }
}

impl fmt::Display for EcLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::L => "L",
            Self::M => "M",
            Self::Q => "Q",
            Self::H => "H",
        })
    }
}

/// How a QR code is drawn. `Default` is the reference portal's: level M, 4-module quiet zone,
/// 8 px a module, black on white.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    /// Error-correction level.
    pub ec_level: EcLevel,
    /// Width of the light border around the symbol, in modules (the standard asks for 4).
    pub quiet_zone_modules: u32,
    /// Side of one module, in pixels (SVG user units for [`render_svg`]). At least 1.
    pub module_px: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self { ec_level: EcLevel::M, quiet_zone_modules: 4, module_px: 8 }
    }
}

/// What [`inspect`] learnt about the first readable code in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QrInfo {
    /// Symbol version, 1..=40; the symbol is `17 + 4 * version` modules a side.
    pub version: u8,
    /// Error-correction level read from the format information.
    pub ec_level: EcLevel,
    /// Data mask pattern, 0..=7.
    pub mask: u8,
    /// The payload, as UTF-8 text.
    pub payload: String,
    /// Name of the decoding strategy that read it (see [`strategy_names`]); `"plain"` means the
    /// image needed no help. Diagnostic only: names may change between releases.
    pub strategy: &'static str,
}

impl QrInfo {
    /// Modules a side of the symbol, without quiet zone.
    #[must_use]
    pub fn side_modules(&self) -> u32 {
        17 + 4 * u32::from(self.version)
    }
}

/// Why a QR code could not be rendered or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The payload does not fit in a version-40 symbol at the requested level in byte mode.
    #[error("payload of {len} bytes does not fit in a QR code at level {ec_level}")]
    PayloadTooLong {
        /// Payload length in bytes.
        len: usize,
        /// The requested level (a lower level holds more).
        ec_level: EcLevel,
    },
    /// The render options are unusable (zero-size modules, or an image side above
    /// [`MAX_RENDER_SIDE`]).
    #[error("invalid render options: {reason}")]
    InvalidOptions {
        /// What is wrong with them.
        reason: String,
    },
    /// Building the symbol or encoding the picture failed for a reason other than length.
    #[error("QR rendering failed: {reason}")]
    RenderFailed {
        /// The underlying encoder's message.
        reason: String,
    },
    /// The bytes are not a PNG or JPEG image, or the image data is corrupt.
    #[error("unreadable image: {reason}")]
    UnreadableImage {
        /// What the image decoder said.
        reason: String,
    },
    /// The image is above [`MAX_PIXELS`]; it was refused before its pixels were decoded.
    #[error("image of {width}x{height} pixels is above the {max_pixels}-pixel limit")]
    ImageTooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit, [`MAX_PIXELS`].
        max_pixels: u64,
    },
    /// The image is fine but no QR code was located in it by any strategy.
    #[error("no QR code found in the image")]
    NoCodeFound,
    /// No code was found, and the search was cut short: on some clean-up strategies the
    /// decoder exceeded its work budget (noise-like or pathological content), so a code may
    /// have been missed. Decoding is bounded rather than left to run for minutes.
    #[error("no QR code found; the image is too busy to search fully ({abandoned} strategies abandoned)")]
    TooComplex {
        /// How many strategies were abandoned.
        abandoned: usize,
    },
    /// A QR code was located but its content could not be recovered (too damaged, or not a
    /// QR code after all).
    #[error("a QR code was found but could not be read: {reason}")]
    CodeUnreadable {
        /// The last decoder complaint, e.g. too many errors to correct.
        reason: String,
    },
    /// The code was read but its payload bytes are not UTF-8 text.
    #[error("the QR code payload ({len} bytes) is not UTF-8")]
    NotUtf8 {
        /// Payload length in bytes.
        len: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bits_map_to_levels() {
        assert_eq!(EcLevel::from_format_bits(0), Some(EcLevel::M));
        assert_eq!(EcLevel::from_format_bits(1), Some(EcLevel::L));
        assert_eq!(EcLevel::from_format_bits(2), Some(EcLevel::H));
        assert_eq!(EcLevel::from_format_bits(3), Some(EcLevel::Q));
        assert_eq!(EcLevel::from_format_bits(4), None);
    }
}
