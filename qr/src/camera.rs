//! What a phone camera, a dark-mode page or a busy screenshot does to a QR picture.
//!
//! The decoder in [`crate`] is held to a table of named disturbances: [`STANDARD`] holds the
//! rows the foundation issue asked for (rotation, salt-and-pepper noise, blur, JPEG, downscale,
//! low contrast, inversion, a transparent background, uneven light, a code off-centre in a busy
//! picture, and a combination), and [`HARSH`] adds one row for each later clean-up strategy of
//! the decoder so that every strategy is exercised. `tests/it/qr_disturbances.rs` demands that the
//! reference rendering survives every row, `examples/qr_bench.rs` times them, and
//! [`grade`](crate::grade) runs [`STANDARD`] on a portal's own picture: a picture that loses
//! a row the reference survives is worse than the reference at that.
//!
//! Every function here is pure: images in, images out. Noise and clutter come from the
//! [`SeededRng`] the caller hands in, never from a global source, so a disturbed picture (and a
//! failure on it) reproduces bit for bit from its seed.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgba, RgbaImage};
use rand_core::Rng as _;

use super::QrError;
use protocol::rng::SeededRng;

/// A disturbed picture, and how it reaches the decoder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Sample {
    /// Encoded as PNG (grey, or RGBA when the image has alpha): lossless.
    Png(DynamicImage),
    /// Encoded as baseline greyscale JPEG at this quality (1..=100): the blocks and ringing are
    /// part of the disturbance.
    Jpeg(DynamicImage, u8),
}

impl Sample {
    /// The file bytes a decoder is given.
    ///
    /// # Errors
    /// [`QrError::RenderFailed`] if the image encoder refuses the picture (it does not for the
    /// grey and RGBA pictures the rows here make; a hand-built [`Sample`] might).
    pub fn encode(&self) -> Result<Vec<u8>, QrError> {
        let failed = |e: image::ImageError| QrError::RenderFailed { reason: e.to_string() };
        let mut out = Vec::new();
        match self {
            Sample::Png(img) => img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(failed)?,
            Sample::Jpeg(img, quality) => img
                .to_luma8()
                .write_with_encoder(JpegEncoder::new_with_quality(&mut out, (*quality).clamp(1, 100)))
                .map_err(failed)?,
        }
        Ok(out)
    }
}

/// A named disturbance of a QR picture. The pixel amounts (blur sigma, noise, scale) are in the
/// picture's own pixels and were chosen for the reference rendering's 8 px modules: a picture
/// with smaller modules is disturbed relatively more, as a camera further away would.
#[derive(Debug, Clone, Copy)]
pub struct Disturbance {
    /// Stable identifier, lowercase with hyphens (e.g. `rotate-30`), for JSON reports.
    pub id: &'static str,
    /// Human-readable name (e.g. `rotate 30 deg`).
    pub name: &'static str,
    disturb: fn(&GrayImage, &mut SeededRng) -> Sample,
}

impl Disturbance {
    /// Disturbs `img`, drawing any noise or clutter from `rng`.
    #[must_use]
    pub fn apply(&self, img: &GrayImage, rng: &mut SeededRng) -> Sample {
        (self.disturb)(img, rng)
    }
}

/// The camera disturbances the foundation issue asked the decoder to survive, in its order. The
/// reference rendering decodes to the exact payload under every row (`tests/it/qr_disturbances.rs`).
pub const STANDARD: &[Disturbance] = &[
    Disturbance { id: "clean", name: "clean", disturb: |img, _| png(img.clone()) },
    Disturbance { id: "rotate-10", name: "rotate 10 deg", disturb: |img, _| png(rotate(img, 10.0)) },
    Disturbance { id: "rotate-30", name: "rotate 30 deg", disturb: |img, _| png(rotate(img, 30.0)) },
    Disturbance { id: "rotate-45", name: "rotate 45 deg", disturb: |img, _| png(rotate(img, 45.0)) },
    Disturbance {
        id: "salt-and-pepper-5",
        name: "salt and pepper 5 %",
        disturb: |img, rng| png(salt_and_pepper(img, 0.05, rng)),
    },
    Disturbance { id: "blur-1.5", name: "blur sigma 1.5", disturb: |img, _| png(imageops::blur(img, 1.5)) },
    Disturbance { id: "jpeg-30", name: "JPEG quality 30", disturb: |img, _| jpeg(img.clone(), 30) },
    Disturbance { id: "downscale-70", name: "downscale to 70 %", disturb: |img, _| png(scale(img, 0.7)) },
    Disturbance {
        id: "low-contrast",
        name: "low contrast 100/160",
        disturb: |img, _| png(remap(img, 100, 160)),
    },
    Disturbance { id: "inverted", name: "inverted", disturb: |img, _| png(remap(img, 255, 0)) },
    Disturbance {
        id: "transparent-background",
        name: "transparent background",
        disturb: |img, _| Sample::Png(DynamicImage::ImageRgba8(transparent_background(img))),
    },
    Disturbance {
        id: "uneven-lighting",
        name: "uneven lighting",
        disturb: |img, _| png(uneven_lighting(img)),
    },
    Disturbance {
        id: "busy-scene",
        name: "off-centre in busy image",
        disturb: |img, rng| png(in_busy_scene(img, 3, rng)),
    },
    Disturbance {
        id: "rotate-noise-jpeg",
        name: "rotate 20 + noise 3 % + JPEG 50",
        disturb: |img, rng| jpeg(salt_and_pepper(&rotate(img, 20.0), 0.03, rng), 50),
    },
];

/// Harder rows beyond the foundation issue's: one for each later clean-up strategy of the
/// decoder, so that every strategy of the pipeline reads a row that the ones before it miss
/// (`tests/it/qr_disturbances.rs` checks that none is useless). The module sizes in the names are
/// for the reference rendering's 8 px modules.
pub const HARSH: &[Disturbance] = &[
    Disturbance {
        id: "inverted-noise-5",
        name: "inverted + noise 5 %",
        disturb: |img, rng| png(salt_and_pepper(&remap(img, 255, 0), 0.05, rng)),
    },
    Disturbance {
        id: "scale-25",
        name: "2 px modules (scale 25 %)",
        disturb: |img, _| png(scale(img, 0.25)),
    },
    Disturbance {
        id: "scale-50-noise-3",
        name: "scale 50 % + noise 3 %",
        disturb: |img, rng| png(salt_and_pepper(&scale(img, 0.5), 0.03, rng)),
    },
    Disturbance {
        id: "contrast-130-140-jpeg-50",
        name: "contrast 130/140 + JPEG 50",
        disturb: |img, _| jpeg(remap(img, 130, 140), 50),
    },
    Disturbance {
        id: "blur-3-jpeg-30",
        name: "blur sigma 3 + JPEG 30",
        disturb: |img, _| jpeg(imageops::blur(img, 3.0), 30),
    },
    Disturbance {
        id: "contrast-125-145-noise-3",
        name: "contrast 125/145 + noise 3 %",
        disturb: |img, rng| png(salt_and_pepper(&remap(img, 125, 145), 0.03, rng)),
    },
    Disturbance {
        id: "inverted-contrast-140-120-noise-3",
        name: "inverted contrast 140/120 + noise 3 %",
        disturb: |img, rng| png(salt_and_pepper(&remap(img, 140, 120), 0.03, rng)),
    },
    Disturbance {
        id: "scale-20",
        name: "1.6 px modules (scale 20 %)",
        disturb: |img, _| png(scale(img, 0.2)),
    },
];

fn png(img: GrayImage) -> Sample {
    Sample::Png(DynamicImage::ImageLuma8(img))
}

fn jpeg(img: GrayImage, quality: u8) -> Sample {
    Sample::Jpeg(DynamicImage::ImageLuma8(img), quality)
}

/// Uniform in [0, 1).
fn unit(rng: &mut SeededRng) -> f64 {
    f64::from(rng.next_u32()) / 4_294_967_296.0
}

/// Uniform integer in [lo, hi) (just `lo` when the range is empty).
fn between(rng: &mut SeededRng, lo: u32, hi: u32) -> u32 {
    lo + rng.next_u32() % hi.saturating_sub(lo).max(1)
}

fn to_u8(v: f64) -> u8 {
    // Clamped first, so the cast only drops the fraction.
    v.round().clamp(0.0, 255.0) as u8
}

/// Rotates by `degrees` (counter-clockwise) onto a white canvas large enough for the corners,
/// plus 8 px a side, sampling bilinearly: nearest-neighbour rotation leaves jagged module
/// edges that decode erratically, unlike what a camera's optics produce.
#[must_use]
pub fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    if img.width() == 0 || img.height() == 0 {
        return img.clone();
    }
    let (sin, cos) = degrees.to_radians().sin_cos();
    let nw = (w * cos.abs() + h * sin.abs()).ceil() + 16.0;
    let nh = (w * sin.abs() + h * cos.abs()).ceil() + 16.0;
    let (cx, cy, ncx, ncy) = (w / 2.0, h / 2.0, nw / 2.0, nh / 2.0);
    let sample = |x: f64, y: f64| -> f64 {
        if x < 0.0 || y < 0.0 || x > w - 1.0 || y > h - 1.0 {
            return 255.0;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let px = |xi: f64, yi: f64| {
            // In range: x and y were checked against the image above, and min clamps the +1.
            let (xi, yi) = (xi.min(w - 1.0) as u32, yi.min(h - 1.0) as u32);
            f64::from(img.get_pixel(xi, yi).0[0])
        };
        let top = px(x0, y0) * (1.0 - fx) + px(x0 + 1.0, y0) * fx;
        let bottom = px(x0, y0 + 1.0) * (1.0 - fx) + px(x0 + 1.0, y0 + 1.0) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    GrayImage::from_fn(nw as u32, nh as u32, |x, y| {
        // Inverse mapping: where in the source does this output pixel come from?
        let (dx, dy) = (f64::from(x) + 0.5 - ncx, f64::from(y) + 0.5 - ncy);
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        Luma([to_u8(sample(sx, sy))])
    })
}

/// Sets a `fraction` of pixels to pure black or pure white (half each), as a dusty lens or a
/// noisy sensor does.
#[must_use]
pub fn salt_and_pepper(img: &GrayImage, fraction: f64, rng: &mut SeededRng) -> GrayImage {
    let mut out = img.clone();
    for p in out.iter_mut() {
        let r = unit(rng);
        if r < fraction / 2.0 {
            *p = 0;
        } else if r < fraction {
            *p = 255;
        }
    }
    out
}

/// Bilinear resize by `factor` (at least 1 px a side).
#[must_use]
pub fn scale(img: &GrayImage, factor: f64) -> GrayImage {
    let side = |s: u32| (f64::from(s) * factor).round().clamp(1.0, f64::from(u32::MAX)) as u32;
    imageops::resize(img, side(img.width()), side(img.height()), FilterType::Triangle)
}

/// Maps black to `dark` and white to `light`, linearly (`255, 0` inverts).
#[must_use]
pub fn remap(img: &GrayImage, dark: u8, light: u8) -> GrayImage {
    let (d, l) = (f64::from(dark), f64::from(light));
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = to_u8(d + (l - d) * f64::from(*p) / 255.0);
    }
    out
}

/// Dark modules opaque black, light ones fully transparent *black* pixels: a decoder that
/// drops alpha instead of flattening onto white sees a black square.
#[must_use]
pub fn transparent_background(img: &GrayImage) -> RgbaImage {
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let alpha = 255 - img.get_pixel(x, y).0[0];
        Rgba([0, 0, 0, alpha])
    })
}

/// A grey picture, as [`render_luma`](crate::render_luma) draws a code and the disturbances take it.
pub type Picture = GrayImage;

/// Dark modules opaque black, light ones fully transparent *white* pixels: what a page overlay
/// or an app asset draws, which any decoder that drops alpha or flattens onto white still reads.
#[must_use]
pub fn transparent_white_background(img: &GrayImage) -> RgbaImage {
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        if img.get_pixel(x, y).0[0] < 128 { Rgba([0, 0, 0, 255]) } else { Rgba([255, 255, 255, 0]) }
    })
}

/// A lamp off to the top-left: brightness falls linearly along the diagonal to 15 % in the
/// far corner, so the light modules there are darker than the dark modules' neighbourhood
/// average elsewhere and no global threshold separates them.
#[must_use]
pub fn uneven_lighting(img: &GrayImage) -> GrayImage {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let mut out = img.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let t = (f64::from(x) + f64::from(y)) / (w + h);
        p.0[0] = to_u8(f64::from(p.0[0]) * (1.0 - 0.85 * t));
    }
    out
}

/// Pastes `img` near the top-left corner of a canvas `times` its size, full of clutter drawn
/// from `rng`: grey and dark rectangles, lines and rows of glyph-sized blocks like text. The
/// picture's own margin is what keeps the clutter off the code.
#[must_use]
pub fn in_busy_scene(img: &GrayImage, times: u32, rng: &mut SeededRng) -> GrayImage {
    let (cw, ch) = (img.width().saturating_mul(times.max(1)), img.height().saturating_mul(times.max(1)));
    let mut canvas = GrayImage::from_pixel(cw, ch, Luma([235]));
    if cw == 0 || ch == 0 {
        return canvas;
    }
    let fill = |canvas: &mut GrayImage, x: u32, y: u32, w: u32, h: u32, v: u8| {
        for yy in y..y.saturating_add(h).min(ch) {
            for xx in x..x.saturating_add(w).min(cw) {
                canvas.put_pixel(xx, yy, Luma([v]));
            }
        }
    };
    let shade = |rng: &mut SeededRng, below: u32| u8::try_from(between(rng, 0, below)).unwrap_or(u8::MAX);
    // Large and small rectangles in every shade.
    for _ in 0..60 {
        let (x, y) = (between(rng, 0, cw), between(rng, 0, ch));
        let (w, h) = (between(rng, 10, cw / 4), between(rng, 10, ch / 4));
        let v = shade(rng, 256);
        fill(&mut canvas, x, y, w, h, v);
    }
    // Thin lines, horizontal and vertical.
    for _ in 0..40 {
        let (x, y) = (between(rng, 0, cw), between(rng, 0, ch));
        let v = shade(rng, 120);
        let len = between(rng, 40, cw / 2);
        if rng.next_u32().is_multiple_of(2) {
            let thick = between(rng, 1, 4);
            fill(&mut canvas, x, y, len, thick, v);
        } else {
            let thick = between(rng, 1, 4);
            fill(&mut canvas, x, y, thick, len, v);
        }
    }
    // "Text": lines of dark glyph-sized blocks on a light strip.
    for _ in 0..12 {
        let (x0, y) = (between(rng, 0, cw / 2), between(rng, 0, ch));
        fill(&mut canvas, x0, y, cw / 2, 16, 250);
        let mut x = x0 + 4;
        while x < (x0 + cw / 2).min(cw) {
            let gw = between(rng, 3, 9);
            let gh = between(rng, 6, 11);
            fill(&mut canvas, x, y + 3, gw, gh, 20);
            x += gw + between(rng, 2, 8);
        }
    }
    // The code goes in the top-left area, off-centre.
    let (ox, oy) = (img.width() / 5, img.height() / 4);
    imageops::replace(&mut canvas, img, i64::from(ox), i64::from(oy));
    canvas
}

/// A `width` x `height` picture of uniform random grey noise: no code in it.
#[must_use]
pub fn noise(width: u32, height: u32, rng: &mut SeededRng) -> GrayImage {
    // The top byte of a u32 always fits a u8.
    GrayImage::from_fn(width, height, |_, _| Luma([u8::try_from(rng.next_u32() >> 24).unwrap_or(u8::MAX)]))
}
