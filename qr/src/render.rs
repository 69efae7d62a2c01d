//! Rendering: the OTP drawn the way the reference portal does, as greyscale pixels, PNG or SVG.
//!
//! The symbol is always built in byte mode (see [`encode`]), with `qrcode`'s choice of mask (made
//! faster by [`mask`]), and the picture's size is bounded by [`MAX_RENDER_SIDE`].

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder};
use qrcode::bits::Bits;
use qrcode::render::Renderer;
use qrcode::render::svg;
use qrcode::{Color, QrCode};

use crate::mask::{self, Symbol};
use crate::{EcLevel, MAX_RENDER_SIDE, QrError, RenderOptions};

/// Byte-mode bits of `payload`, at the smallest version that holds them.
///
/// `QrCode::new` would split a base64 OTP into numeric/alphanumeric/byte segments to save a
/// few bits; the contract says byte mode, and some readers mishandle mixed segments, so the
/// bits are pushed by hand, trying versions upwards.
fn byte_mode_bits(payload: &str, ec_level: EcLevel) -> Result<Bits, QrError> {
    let level = ec_level.to_qrcode();
    for version in 1..=40 {
        let mut bits = Bits::new(qrcode::Version::Normal(version));
        // Both calls fail with DataTooLong when this version is too small (the byte count
        // field is only 8 bits below version 10); then the next version is tried.
        if bits.push_byte_data(payload.as_bytes()).is_err() || bits.push_terminator(level).is_err() {
            continue;
        }
        return Ok(bits);
    }
    Err(QrError::PayloadTooLong { len: payload.len(), ec_level })
}

/// Builds the symbol in byte mode, smallest version that fits, as `qrcode` does.
pub(crate) fn encode(payload: &str, ec_level: EcLevel) -> Result<QrCode, QrError> {
    QrCode::with_bits(byte_mode_bits(payload, ec_level)?, ec_level.to_qrcode())
        .map_err(|e| QrError::RenderFailed { reason: e.to_string() })
}

/// The symbol [`encode`] builds, module for module, with the mask chosen by [`mask`]'s faster
/// scoring: what the pictures are drawn from.
fn symbol(payload: &str, ec_level: EcLevel) -> Result<Symbol, QrError> {
    mask::build(byte_mode_bits(payload, ec_level)?, ec_level.to_qrcode())
}

/// Side of the rendered picture in pixels, checked against [`MAX_RENDER_SIDE`].
fn rendered_side(modules: usize, opts: &RenderOptions) -> Result<u32, QrError> {
    if opts.module_px == 0 {
        return Err(QrError::InvalidOptions { reason: "module_px must be at least 1".to_owned() });
    }
    let modules = u64::try_from(modules).unwrap_or(u64::MAX);
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
    let code = symbol(payload, opts.ec_level)?;
    let side = rendered_side(code.width, opts)?;
    Ok(draw(&code.colors, code.width, side, opts))
}

/// Paints the modules row by row: one pixel row per module row, copied down for the module's
/// height (a closure per pixel, with its divisions, was measured at a third of the render's time
/// in the suite).
fn draw(colors: &[Color], modules: usize, side: u32, opts: &RenderOptions) -> GrayImage {
    // rendered_side bounded side * side, so none of the index arithmetic below overflows.
    let (px, quiet, stride) = (opts.module_px as usize, opts.quiet_zone_modules as usize, side as usize);
    let mut raw = vec![255u8; stride * stride];
    for (my, module_row) in colors.chunks_exact(modules.max(1)).enumerate() {
        let start = (quiet + my) * px * stride;
        if let Some(row) = raw.get_mut(start..start + stride) {
            for (mx, _) in module_row.iter().enumerate().filter(|(_, c)| **c == Color::Dark) {
                let x = (quiet + mx) * px;
                if let Some(pixels) = row.get_mut(x..x + px) {
                    pixels.fill(0);
                }
            }
        }
        for k in 1..px {
            let to = start + k * stride;
            if to + stride <= raw.len() {
                raw.copy_within(start..start + stride, to);
            }
        }
    }
    GrayImage::from_raw(side, side, raw).expect("the buffer was allocated with side * side bytes")
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
    let code = symbol(payload, opts.ec_level)?;
    rendered_side(code.width, opts)?;
    // Renderer::new asserts colors.len() == width^2, which the canvas the symbol comes from guarantees.
    Ok(Renderer::<svg::Color<'_>>::new(&code.colors, code.width, opts.quiet_zone_modules)
        .module_dimensions(opts.module_px, opts.module_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use image::Luma;

    use super::*;

    /// The row painter draws what a per-pixel reading of the contract draws: a pixel is dark when
    /// it lies in a dark module, counted from the quiet zone.
    #[test]
    fn the_row_painter_matches_a_pixel_by_pixel_drawing() {
        let long = "x".repeat(90);
        for (payload, quiet_zone_modules, module_px) in [("otp", 4, 8), ("AQ==", 0, 1), (long.as_str(), 2, 3)]
        {
            let opts = RenderOptions { ec_level: EcLevel::M, quiet_zone_modules, module_px };
            let code = encode(payload, opts.ec_level).expect("fits");
            let (modules, colors) = (code.width(), code.to_colors());
            let side = rendered_side(modules, &opts).expect("within the limit");
            let want = GrayImage::from_fn(side, side, |x, y| {
                let inside =
                    |m: u32| m.checked_sub(quiet_zone_modules).map(|m| m as usize).filter(|&m| m < modules);
                let dark = match (inside(x / module_px), inside(y / module_px)) {
                    (Some(cx), Some(cy)) => colors[cy * modules + cx] == Color::Dark,
                    _ => false,
                };
                Luma([if dark { 0 } else { 255 }])
            });
            assert_eq!(render_luma(payload, &opts).expect("renders"), want, "{payload} {opts:?}");
        }
    }

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
