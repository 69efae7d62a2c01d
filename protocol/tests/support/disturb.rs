//! What a phone camera, a dark-mode page or a busy screenshot does to the reference QR picture.
//!
//! One copy, shared by `tests/qr_disturbances.rs` (which asserts every row decodes to the exact
//! payload) and `examples/qr_bench.rs` (which times the decode of every row in release), so the
//! figure the bench reports is for exactly the images the tests check.
//!
//! Everything is deterministic: noise and clutter come from ChaCha20 seeded per row, never from
//! a global source, so a failure reproduces bit for bit.

use std::io::Cursor;

use base64::Engine as _;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgba, RgbaImage};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng as _};

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

/// A disturbed picture, and how it reaches the decoder.
pub(crate) enum Sample {
    /// Encoded as PNG (grey, or RGBA when the image has alpha).
    Png(DynamicImage),
    /// Encoded as baseline JPEG at this quality (1..=100).
    Jpeg(DynamicImage, u8),
}

impl Sample {
    /// The file bytes the decoder is given.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Sample::Png(img) => img
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .expect("PNG encoding into memory cannot fail"),
            Sample::Jpeg(img, quality) => img
                .to_luma8()
                .write_with_encoder(JpegEncoder::new_with_quality(&mut out, *quality))
                .expect("JPEG encoding of an 8-bit grey image into memory cannot fail"),
        }
        out
    }
}

/// A named disturbance of the reference rendering (default options, 8 px modules).
pub(crate) struct Disturbance {
    /// Row name, used in failure messages and bench output.
    pub(crate) name: &'static str,
    /// Disturbs the reference picture.
    pub(crate) apply: fn(&GrayImage) -> Sample,
}

/// Every disturbance the decoder must survive.
pub(crate) const DISTURBANCES: &[Disturbance] = &[
    Disturbance { name: "clean", apply: |img| png(img.clone()) },
    Disturbance { name: "rotate 10 deg", apply: |img| png(rotate_bilinear(img, 10.0)) },
    Disturbance { name: "rotate 30 deg", apply: |img| png(rotate_bilinear(img, 30.0)) },
    Disturbance { name: "rotate 45 deg", apply: |img| png(rotate_bilinear(img, 45.0)) },
    Disturbance { name: "salt and pepper 5 %", apply: |img| png(salt_and_pepper(img, 0.05, 1)) },
    Disturbance { name: "blur sigma 1.5", apply: |img| png(imageops::blur(img, 1.5)) },
    Disturbance { name: "JPEG quality 30", apply: |img| jpeg(img.clone(), 30) },
    Disturbance { name: "downscale to 70 %", apply: |img| png(scale(img, 0.7)) },
    Disturbance { name: "low contrast 100/160", apply: |img| png(remap(img, 100, 160)) },
    Disturbance { name: "inverted", apply: |img| png(remap(img, 255, 0)) },
    Disturbance { name: "transparent background", apply: transparent_background },
    Disturbance { name: "uneven lighting", apply: |img| png(uneven_lighting(img)) },
    Disturbance { name: "off-centre in busy image", apply: |img| png(in_busy_scene(img, 3)) },
    Disturbance {
        name: "rotate 20 + noise 3 % + JPEG 50",
        apply: |img| jpeg(salt_and_pepper(&rotate_bilinear(img, 20.0), 0.03, 2), 50),
    },
    // Beyond the brief: one row for each later decoding strategy, so every entry of the
    // pipeline is exercised (and `every_strategy_earns_its_place` notices a useless one).
    Disturbance {
        name: "inverted + noise 5 %",
        apply: |img| png(salt_and_pepper(&remap(img, 255, 0), 0.05, 5)),
    },
    Disturbance { name: "2 px modules (scale 25 %)", apply: |img| png(scale(img, 0.25)) },
    Disturbance {
        name: "scale 50 % + noise 3 %",
        apply: |img| png(salt_and_pepper(&scale(img, 0.5), 0.03, 2)),
    },
    Disturbance { name: "contrast 130/140 + JPEG 50", apply: |img| jpeg(remap(img, 130, 140), 50) },
    Disturbance { name: "blur sigma 3 + JPEG 30", apply: |img| jpeg(imageops::blur(img, 3.0), 30) },
    Disturbance {
        name: "contrast 125/145 + noise 3 %",
        apply: |img| png(salt_and_pepper(&remap(img, 125, 145), 0.03, 7)),
    },
    Disturbance {
        name: "inverted contrast 140/120 + noise 3 %",
        apply: |img| png(salt_and_pepper(&remap(img, 140, 120), 0.03, 7)),
    },
    Disturbance { name: "1.6 px modules (scale 20 %)", apply: |img| png(scale(img, 0.2)) },
];

fn png(img: GrayImage) -> Sample {
    Sample::Png(DynamicImage::ImageLuma8(img))
}

fn jpeg(img: GrayImage, quality: u8) -> Sample {
    Sample::Jpeg(DynamicImage::ImageLuma8(img), quality)
}

fn rng(seed: u64) -> ChaCha20Rng {
    // One fixed base so every row's stream is distinct and reproducible.
    ChaCha20Rng::seed_from_u64(0x6d6f_6261_7574_6800 ^ seed)
}

/// Uniform in [0, 1).
fn unit(rng: &mut ChaCha20Rng) -> f64 {
    f64::from(rng.next_u32()) / 4_294_967_296.0
}

/// Uniform integer in [lo, hi).
fn between(rng: &mut ChaCha20Rng, lo: u32, hi: u32) -> u32 {
    lo + rng.next_u32() % (hi - lo).max(1)
}

fn to_u8(v: f64) -> u8 {
    // Clamped first, so the cast only drops the fraction.
    v.round().clamp(0.0, 255.0) as u8
}

/// Rotates by `degrees` (counter-clockwise) onto a white canvas large enough for the corners,
/// sampling bilinearly: nearest-neighbour rotation leaves jagged module edges that decode
/// erratically, unlike what a camera's optics produce.
pub(crate) fn rotate_bilinear(img: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
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

/// Sets a `fraction` of pixels to pure black or pure white (half each).
pub(crate) fn salt_and_pepper(img: &GrayImage, fraction: f64, seed: u64) -> GrayImage {
    let mut rng = rng(seed);
    let mut out = img.clone();
    for p in out.iter_mut() {
        let r = unit(&mut rng);
        if r < fraction / 2.0 {
            *p = 0;
        } else if r < fraction {
            *p = 255;
        }
    }
    out
}

/// Bilinear resize by `factor`.
pub(crate) fn scale(img: &GrayImage, factor: f64) -> GrayImage {
    let nw = (f64::from(img.width()) * factor).round() as u32;
    let nh = (f64::from(img.height()) * factor).round() as u32;
    imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// Maps black to `dark` and white to `light`, linearly (`255, 0` inverts).
pub(crate) fn remap(img: &GrayImage, dark: u8, light: u8) -> GrayImage {
    let (d, l) = (f64::from(dark), f64::from(light));
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = to_u8(d + (l - d) * f64::from(*p) / 255.0);
    }
    out
}

/// Dark modules opaque black, light modules fully transparent *black* pixels, as PNG RGBA:
/// a decoder that drops alpha instead of flattening onto white sees a black square.
fn transparent_background(img: &GrayImage) -> Sample {
    let rgba = RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let alpha = 255 - img.get_pixel(x, y).0[0];
        Rgba([0, 0, 0, alpha])
    });
    Sample::Png(DynamicImage::ImageRgba8(rgba))
}

/// A lamp off to the top-left: brightness falls linearly along the diagonal to 15 % in the
/// far corner, so the light modules there are darker than the dark modules' neighbourhood
/// average elsewhere and no global threshold separates them.
pub(crate) fn uneven_lighting(img: &GrayImage) -> GrayImage {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let mut out = img.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let t = (f64::from(x) + f64::from(y)) / (w + h);
        p.0[0] = to_u8(f64::from(p.0[0]) * (1.0 - 0.85 * t));
    }
    out
}

/// Pastes the code near the top-left corner of a canvas `times` its size, full of seeded
/// clutter: grey and dark rectangles, lines and rows of glyph-sized blocks like text.
pub(crate) fn in_busy_scene(img: &GrayImage, times: u32) -> GrayImage {
    let mut rng = rng(3);
    let (cw, ch) = (img.width() * times, img.height() * times);
    let mut canvas = GrayImage::from_pixel(cw, ch, Luma([235]));
    let fill = |canvas: &mut GrayImage, x: u32, y: u32, w: u32, h: u32, v: u8| {
        for yy in y..(y + h).min(ch) {
            for xx in x..(x + w).min(cw) {
                canvas.put_pixel(xx, yy, Luma([v]));
            }
        }
    };
    // Large and small rectangles in every shade.
    for _ in 0..60 {
        let (x, y) = (between(&mut rng, 0, cw), between(&mut rng, 0, ch));
        let (w, h) = (between(&mut rng, 10, cw / 4), between(&mut rng, 10, ch / 4));
        let v = u8::try_from(between(&mut rng, 0, 256)).expect("below 256");
        fill(&mut canvas, x, y, w, h, v);
    }
    // Thin lines, horizontal and vertical.
    for _ in 0..40 {
        let (x, y) = (between(&mut rng, 0, cw), between(&mut rng, 0, ch));
        let v = u8::try_from(between(&mut rng, 0, 120)).expect("below 256");
        let len = between(&mut rng, 40, cw / 2);
        if rng.next_u32().is_multiple_of(2) {
            fill(&mut canvas, x, y, len, between(&mut rng, 1, 4), v);
        } else {
            fill(&mut canvas, x, y, between(&mut rng, 1, 4), len, v);
        }
    }
    // "Text": lines of dark glyph-sized blocks on a light strip.
    for _ in 0..12 {
        let (x0, y) = (between(&mut rng, 0, cw / 2), between(&mut rng, 0, ch));
        fill(&mut canvas, x0, y, cw / 2, 16, 250);
        let mut x = x0 + 4;
        while x < (x0 + cw / 2).min(cw) {
            let gw = between(&mut rng, 3, 9);
            fill(&mut canvas, x, y + 3, gw, between(&mut rng, 6, 11), 20);
            x += gw + between(&mut rng, 2, 8);
        }
    }
    // The code goes in the top-left area, off-centre; its own quiet zone keeps clutter away.
    let (ox, oy) = (img.width() / 5, img.height() / 4);
    imageops::replace(&mut canvas, img, i64::from(ox), i64::from(oy));
    canvas
}

/// A grey PNG of uniform random noise, same size as the reference picture: no code in it.
pub(crate) fn noise_png(side: u32) -> Vec<u8> {
    let mut rng = rng(4);
    let img = GrayImage::from_fn(side, side, |_, _| {
        Luma([u8::try_from(rng.next_u32() >> 24).expect("a u32 shifted by 24 fits a u8")])
    });
    png(img).encode()
}

/// The busy scene without the code (the code's area left as clutter-free background).
pub(crate) fn busy_scene_without_code(reference: &GrayImage) -> Vec<u8> {
    let blank = GrayImage::from_pixel(reference.width(), reference.height(), Luma([235]));
    png(in_busy_scene(&blank, 3)).encode()
}
