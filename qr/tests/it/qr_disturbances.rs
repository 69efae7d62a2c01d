//! The QR decoder against what a phone camera sees, and against what it must refuse.
//!
//! Positive rows: `qr::camera` holds the tables of disturbances ([`camera::STANDARD`],
//! the foundation issue's rows, and [`camera::HARSH`], one per later decoding strategy; shared
//! with `examples/qr_bench.rs`, which times them); [`check`] renders the OTP the portal's way,
//! disturbs it, encodes it as the row says and demands the exact payload back.
//! Negative rows: broken or code-less inputs, each with the one error variant it must produce.
#![allow(clippy::unwrap_used)] // reason: test code; a panic with its message is the failure report.

use std::collections::BTreeSet;
use std::io::Cursor;

use crate::fixture;
use image::{DynamicImage, GrayImage, ImageFormat, Luma};

use fixture::{otp_payload, row_rng};
use protocol::rng;
use qr::camera::{self, Disturbance};
use qr::{self, EcLevel, QrError, RenderOptions};
use qrcode::bits::Bits;
use rand_core::{Rng as _, SeedableRng as _};

/// Every row: the foundation issue's, then the harsher ones.
fn rows() -> impl Iterator<Item = &'static Disturbance> {
    camera::STANDARD.iter().chain(camera::HARSH)
}

/// The OTP and its reference rendering (default options).
fn reference() -> (String, GrayImage) {
    let payload = otp_payload();
    let img = qr::render_luma(&payload, &RenderOptions::default()).unwrap();
    (payload, img)
}

/// Renders, disturbs, encodes, decodes; the exact payload or a message naming the row.
/// Returns the strategy that read it.
fn check(row: &Disturbance) -> Result<&'static str, String> {
    let (payload, img) = reference();
    let bytes = row.apply(&img, &mut row_rng(row.id)).encode().unwrap();
    match qr::inspect(&bytes) {
        Ok(info) if info.payload == payload => Ok(info.strategy),
        Ok(info) => Err(format!("row {:?}: decoded {:?}, want {payload:?}", row.name, info.payload)),
        Err(e) => Err(format!("row {:?}: {e} ({e:?})", row.name)),
    }
}

#[test]
fn the_otp_payload_is_realistic() {
    let payload = otp_payload();
    assert_eq!(payload.len(), 68, "{payload}");
    assert!(payload.starts_with("AQ") && payload.ends_with("=="), "{payload}");
    assert!(protocol::otp::Otp::decode(&payload).is_ok(), "{payload}");
}

/// The tables are what the tests, the bench and `qr check` name rows by: ids unique and stable
/// in form, and the foundation issue's rows all there.
#[test]
fn the_disturbance_tables_are_well_formed() {
    let ids: Vec<&str> = rows().map(|r| r.id).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate ids: {ids:?}");
    for id in &ids {
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'),
            "{id}"
        );
    }
    assert_eq!(camera::STANDARD.len(), 14, "the foundation issue's rows");
    assert_eq!(camera::HARSH.len(), 8, "one row per later strategy");
}

/// The same seed gives the same disturbed picture, bit for bit; another seed another picture.
#[test]
fn disturbances_reproduce_from_their_seed() {
    let (_, img) = reference();
    for row in rows() {
        let a = row.apply(&img, &mut row_rng(row.id)).encode().unwrap();
        let b = row.apply(&img, &mut row_rng(row.id)).encode().unwrap();
        assert!(a == b, "row {:?} is not reproducible", row.name);
    }
    let noisy = camera::STANDARD.iter().find(|r| r.id == "salt-and-pepper-5").unwrap();
    let a = noisy.apply(&img, &mut rng::seeded(1)).encode().unwrap();
    let b = noisy.apply(&img, &mut rng::seeded(2)).encode().unwrap();
    assert!(a != b, "the noise comes from the rng handed in");
}

/// Every row decodes; and each strategy of the pipeline reads at least one row that the
/// strategies before it miss (if one stops doing so, drop it or add the row that needs it).
#[test]
fn every_disturbance_decodes_to_the_exact_payload() {
    let results: Vec<Result<&str, String>> = rows().map(check).collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows().count(),
        failures.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("\n")
    );

    let used: BTreeSet<&str> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    let unused: Vec<&str> = qr::strategy_names().into_iter().filter(|s| !used.contains(s)).collect();
    assert!(unused.is_empty(), "strategies no row needs: {unused:?} (used: {used:?})");
}

// ---------------------------------------------------------------------------------------------
// Negative rows
// ---------------------------------------------------------------------------------------------

/// An input that must be refused, and the one error it must be refused with.
struct Negative {
    name: &'static str,
    bytes: fn(&GrayImage) -> Vec<u8>,
    want: &'static str,
    is: fn(&QrError) -> bool,
}

const NEGATIVE: &[Negative] = &[
    Negative {
        name: "empty bytes",
        bytes: |_| Vec::new(),
        want: "UnreadableImage",
        is: |e| matches!(e, QrError::UnreadableImage { .. }),
    },
    Negative {
        name: "random bytes",
        bytes: |_| {
            let mut bytes = vec![0u8; 4096];
            rand_chacha::ChaCha20Rng::seed_from_u64(11).fill_bytes(&mut bytes);
            bytes
        },
        want: "UnreadableImage",
        is: |e| matches!(e, QrError::UnreadableImage { .. }),
    },
    Negative {
        name: "truncated PNG",
        bytes: |img| {
            let mut bytes = png(img);
            bytes.truncate(bytes.len() / 2);
            bytes
        },
        want: "UnreadableImage",
        is: |e| matches!(e, QrError::UnreadableImage { .. }),
    },
    Negative {
        name: "a GIF, not PNG or JPEG",
        bytes: |_| b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
        want: "UnreadableImage",
        is: |e| matches!(e, QrError::UnreadableImage { .. }),
    },
    Negative {
        name: "PNG header claiming 60000 x 60000 pixels",
        bytes: |_| oversized_png(60_000, 60_000),
        want: "ImageTooLarge",
        is: |e| matches!(e, QrError::ImageTooLarge { width: 60_000, height: 60_000, .. }),
    },
    Negative {
        name: "blank white PNG",
        bytes: |img| png(&GrayImage::from_pixel(img.width(), img.height(), Luma([255]))),
        want: "NoCodeFound",
        is: |e| matches!(e, QrError::NoCodeFound),
    },
    Negative {
        name: "PNG of random noise",
        bytes: |img| png(&camera::noise(img.width(), img.height(), &mut row_rng("noise"))),
        want: "NoCodeFound",
        is: |e| matches!(e, QrError::NoCodeFound),
    },
    Negative {
        name: "busy scene without a code",
        bytes: |img| png(&busy_scene_without_code(img)),
        want: "NoCodeFound",
        is: |e| matches!(e, QrError::NoCodeFound),
    },
    Negative {
        name: "code with its data area scrambled",
        bytes: |img| png(&scramble_data_modules(img)),
        want: "CodeUnreadable",
        is: |e| matches!(e, QrError::CodeUnreadable { .. }),
    },
    Negative {
        name: "code holding bytes that are not UTF-8",
        bytes: |_| png(&draw_byte_mode(&[0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0x80, 0x00])),
        want: "NotUtf8",
        is: |e| matches!(e, QrError::NotUtf8 { len: 8 }),
    },
];

#[test]
fn broken_or_codeless_inputs_get_the_right_error() {
    let (_, img) = reference();
    let failures: Vec<String> = NEGATIVE
        .iter()
        .filter_map(|row| match qr::decode(&(row.bytes)(&img)) {
            Err(e) if (row.is)(&e) => None,
            other => Some(format!("row {:?}: want {}, got {other:?}", row.name, row.want)),
        })
        .collect();
    assert!(failures.is_empty(), "{} negative rows failed:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

#[test]
fn png_render_is_the_reference_picture() {
    let payload = otp_payload();
    let bytes = qr::render_png(&payload, &RenderOptions::default()).unwrap();
    let decoded = image::load_from_memory_with_format(&bytes, ImageFormat::Png).unwrap();
    assert_eq!(decoded.color(), image::ColorType::L8, "8-bit greyscale");

    let info = qr::inspect(&bytes).unwrap();
    assert_eq!(info.payload, payload);
    assert_eq!(info.ec_level, EcLevel::M);
    // 68 bytes at level M in byte mode need version 5 (version 4 holds 62).
    assert_eq!(info.version, 5);
    let side = (info.side_modules() + 2 * 4) * 8;
    assert_eq!((decoded.width(), decoded.height()), (side, side), "(modules + 8) * 8 px");
    assert_eq!(decoded.to_luma8(), qr::render_luma(&payload, &RenderOptions::default()).unwrap());
}

/// The picture is the byte-mode symbol, module for module (an automatic encoder would split a
/// base64 string into numeric, alphanumeric and byte segments).
#[test]
fn render_is_byte_mode() {
    let payload = otp_payload();
    let expected = byte_mode_symbol(payload.as_bytes(), 5);
    let img = qr::render_luma(&payload, &RenderOptions::default()).unwrap();
    assert_eq!(modules_of(&img, 4, 8), expected);
}

#[test]
fn svg_render_has_the_png_dimensions() {
    let svg = qr::render_svg(&otp_payload(), &RenderOptions::default()).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    // Version 5: 37 modules + 2 x 4 quiet, 8 units each.
    assert!(svg.contains(r#"width="360" height="360""#), "{svg}");
    assert!(svg.contains(r#"viewBox="0 0 360 360""#), "{svg}");
}

#[test]
fn other_options_render_and_read_back() {
    let payload = otp_payload();
    for ec_level in [EcLevel::L, EcLevel::Q, EcLevel::H] {
        let opts = RenderOptions { ec_level, quiet_zone_modules: 2, module_px: 4 };
        let info = qr::inspect(&qr::render_png(&payload, &opts).unwrap()).unwrap();
        assert_eq!((info.ec_level, info.payload.as_str()), (ec_level, payload.as_str()));
    }
}

#[test]
fn payload_too_long_is_refused() {
    let long = "A".repeat(5000);
    let err = qr::render_png(&long, &RenderOptions::default()).unwrap_err();
    assert_eq!(err, QrError::PayloadTooLong { len: 5000, ec_level: EcLevel::M });
    assert!(matches!(qr::render_svg(&long, &RenderOptions::default()), Err(QrError::PayloadTooLong { .. })));
}

#[test]
fn decode_image_accepts_what_decode_does() {
    let (payload, img) = reference();
    assert_eq!(qr::decode_image(&DynamicImage::ImageLuma8(img)).unwrap(), payload);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The busy scene without the code (the code's area left as clutter-free background).
fn busy_scene_without_code(reference: &GrayImage) -> GrayImage {
    let blank = GrayImage::from_pixel(reference.width(), reference.height(), Luma([235]));
    camera::in_busy_scene(&blank, 3, &mut row_rng("busy-scene"))
}

fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    out
}

/// The byte-mode symbol of `data` at level M and `version`, as rows of dark flags.
fn byte_mode_symbol(data: &[u8], version: i16) -> Vec<Vec<bool>> {
    let mut bits = Bits::new(qrcode::Version::Normal(version));
    bits.push_byte_data(data).unwrap();
    bits.push_terminator(qrcode::EcLevel::M).unwrap();
    let code = qrcode::QrCode::with_bits(bits, qrcode::EcLevel::M).unwrap();
    let n = code.width();
    let colors = code.to_colors();
    (0..n).map(|y| (0..n).map(|x| colors[y * n + x] == qrcode::Color::Dark).collect()).collect()
}

/// Samples the centre of every module of a clean render.
fn modules_of(img: &GrayImage, quiet: u32, px: u32) -> Vec<Vec<bool>> {
    let n = img.width() / px - 2 * quiet;
    (0..n)
        .map(|my| {
            (0..n)
                .map(|mx| img.get_pixel((mx + quiet) * px + px / 2, (my + quiet) * px + px / 2).0[0] < 128)
                .collect()
        })
        .collect()
}

/// Draws a byte-mode symbol of arbitrary bytes the portal's way (the library only renders
/// text, so non-UTF-8 payloads are drawn here).
fn draw_byte_mode(data: &[u8]) -> GrayImage {
    let modules = byte_mode_symbol(data, 1);
    let n = u32::try_from(modules.len()).unwrap();
    GrayImage::from_fn((n + 8) * 8, (n + 8) * 8, |x, y| {
        let (mx, my) = ((x / 8).wrapping_sub(4), (y / 8).wrapping_sub(4));
        let dark = mx < n && my < n && modules[my as usize][mx as usize];
        Luma([if dark { 0 } else { 255 }])
    })
}

/// The reference picture with every data module right and below of the format strips
/// replaced by seeded random ones, finder, timing and alignment patterns left intact: rqrr
/// still locates the grid but far more codewords are wrong than level M can correct.
fn scramble_data_modules(img: &GrayImage) -> GrayImage {
    let n = img.width() / 8 - 8;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    let mut out = img.clone();
    for my in 9..n {
        for mx in 9..n {
            // Version 5's alignment pattern is centred on module (30, 30).
            if (28..=32).contains(&mx) && (28..=32).contains(&my) {
                continue;
            }
            let v = if rng.next_u32() & 1 == 1 { 0 } else { 255 };
            for y in 0..8 {
                for x in 0..8 {
                    out.put_pixel((mx + 4) * 8 + x, (my + 4) * 8 + y, Luma([v]));
                }
            }
        }
    }
    out
}

/// A PNG whose header claims `width` x `height` pixels, with an empty IDAT: the decoder must
/// refuse it from the header alone.
fn oversized_png(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [ihdr, b"IDAT".to_vec(), b"IEND".to_vec()] {
        let len = u32::try_from(chunk.len() - 4).unwrap();
        png.extend_from_slice(&len.to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

/// CRC-32 (IEEE), as PNG chunks carry.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
