//! Rendering: the OTP drawn the way the reference portal does, as greyscale pixels, PNG or SVG.
//!
//! The symbol is always built in byte mode (see [`encode`]), and the picture's size is bounded by
//! [`MAX_RENDER_SIDE`].

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use qrcode::bits::Bits;
use qrcode::render::Renderer;
use qrcode::render::svg;
use qrcode::{Color, QrCode};

use crate::{EcLevel, MAX_RENDER_SIDE, QrError, RenderOptions};

/// Builds the symbol in byte mode, smallest version that fits.
///
/// `QrCode::new` would split a base64 OTP into numeric/alphanumeric/byte segments to save a
/// few bits; the contract says byte mode, and some readers mishandle mixed segments, so the
/// bits are pushed by hand, trying versions upwards.
pub(crate) fn encode(payload: &str, ec_level: EcLevel) -> Result<QrCode, QrError> {
    let level = ec_level.to_qrcode();
    for version in 1..=40 {
        let mut bits = Bits::new(qrcode::Version::Normal(version));
        // Both calls fail with DataTooLong when this version is too small (the byte count
        // field is only 8 bits below version 10); then the next version is tried.
        if bits.push_byte_data(payload.as_bytes()).is_err() || bits.push_terminator(level).is_err() {
            continue;
        }
        return QrCode::with_bits(bits, level).map_err(|e| QrError::RenderFailed { reason: e.to_string() });
    }
    Err(QrError::PayloadTooLong { len: payload.len(), ec_level })
}

/// Side of the rendered picture in pixels, checked against [`MAX_RENDER_SIDE`].
fn rendered_side(code: &QrCode, opts: &RenderOptions) -> Result<u32, QrError> {
    if opts.module_px == 0 {
        return Err(QrError::InvalidOptions { reason: "module_px must be at least 1".to_owned() });
    }
    let modules = u64::try_from(code.width()).unwrap_or(u64::MAX);
    let side = modules
        .saturating_add(2 * u64::from(opts.quiet_zone_modules))
        .saturating_mul(u64::from(opts.module_px));
    match u32::try_from(side) {
        Ok(side) if side <= MAX_RENDER_SIDE => Ok(side),
        _ => Err(QrError::InvalidOptions {
            reason: format!("image side of {side} px is above {MAX_RENDER_SIDE} px"),
        }),
    }
}

/// Renders `payload` as an 8-bit greyscale image, black modules on white: exactly the pixels
/// [`render_png`] encodes. Tests disturb it with [`camera`](crate::camera).
///
/// # Errors
/// [`QrError::PayloadTooLong`], [`QrError::InvalidOptions`], [`QrError::RenderFailed`].
pub fn render_luma(payload: &str, opts: &RenderOptions) -> Result<GrayImage, QrError> {
    let code = encode(payload, opts.ec_level)?;
    let side = rendered_side(&code, opts)?;
    let modules = code.width();
    let colors = code.to_colors();
    let quiet = opts.quiet_zone_modules;
    let px = opts.module_px;
    // rendered_side bounded side * side, so the module index arithmetic below cannot overflow.
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / px, y / px);
        let inside = |m: u32| m.checked_sub(quiet).map(|m| m as usize).filter(|&m| m < modules);
        let dark = match (inside(mx), inside(my)) {
            (Some(cx), Some(cy)) => colors.get(cy * modules + cx) == Some(&Color::Dark),
            _ => false,
        };
        Luma([if dark { 0 } else { 255 }])
    }))
}

/// Renders `payload` as PNG bytes (8-bit greyscale, byte mode), the reference portal's picture
/// when `opts` is the default.
///
/// # Errors
/// As [`render_luma`], plus [`QrError::RenderFailed`] if PNG encoding fails.
pub fn render_png(payload: &str, opts: &RenderOptions) -> Result<Vec<u8>, QrError> {
    let img = render_luma(payload, opts)?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::L8)
        .map_err(|e| QrError::RenderFailed { reason: e.to_string() })?;
    Ok(out)
}

/// Renders `payload` as a standalone SVG document, black on white, `module_px` user units a
/// module (so `width`/`height` equal the PNG's pixel size).
///
/// # Errors
/// [`QrError::PayloadTooLong`], [`QrError::InvalidOptions`], [`QrError::RenderFailed`].
pub fn render_svg(payload: &str, opts: &RenderOptions) -> Result<String, QrError> {
    let code = encode(payload, opts.ec_level)?;
    rendered_side(&code, opts)?;
    let colors = code.to_colors();
    // Renderer::new asserts colors.len() == width^2, which QrCode guarantees.
    Ok(Renderer::<svg::Color<'_>>::new(&colors, code.width(), opts.quiet_zone_modules)
        .module_dimensions(opts.module_px, opts.module_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_options_are_refused() {
        for opts in [
            RenderOptions { module_px: 0, ..RenderOptions::default() },
            RenderOptions { module_px: 1000, ..RenderOptions::default() },
            RenderOptions { quiet_zone_modules: u32::MAX, ..RenderOptions::default() },
        ] {
            assert!(matches!(render_luma("x", &opts), Err(QrError::InvalidOptions { .. })), "{opts:?}");
            assert!(matches!(render_svg("x", &opts), Err(QrError::InvalidOptions { .. })), "{opts:?}");
        }
    }
}
