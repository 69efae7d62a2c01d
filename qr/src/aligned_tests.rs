//! The fast path against rqrr's plain pass on a table of renders, and against the camera
//! disturbances it must leave to the pipeline.

use image::{GrayImage, Luma, imageops};

use super::*;
use crate::camera;
use crate::decode::{plain_pass, read_by_strategies, read_located};
use crate::inspect::{flatten_to_luma, load};
use crate::{EcLevel, QrError, RenderOptions, render_luma};

/// Payloads across versions: a version-1 one, the OTP's length (version 5 at level M) and one
/// past version 7 (where version information blocks appear).
fn payloads() -> [String; 3] {
    ["otp".to_owned(), "AQ".repeat(34), "mobile authentication ".repeat(8)]
}

fn render(payload: &str, ec_level: EcLevel, quiet_zone_modules: u32, module_px: u32) -> GrayImage {
    render_luma(payload, &RenderOptions { ec_level, quiet_zone_modules, module_px })
        .expect("the table's payloads and options render")
}

/// The reference rendering of an OTP-length payload.
fn reference() -> GrayImage {
    render(&"AQ".repeat(34), EcLevel::M, 4, 8)
}

/// On every render of the table the path either refuses, or reads what rqrr's plain pass reads:
/// same payload, version, level and mask, and corners within a pixel of rqrr's estimate. And it
/// refuses nothing that pass reads with the quiet zone and module size the path asks for, so it
/// is not uselessly strict either.
#[test]
fn agrees_with_the_plain_pass_on_a_table_of_renders() {
    let mut hits = 0;
    for payload in payloads() {
        for ec_level in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
            for quiet in [0, 1, 2, 4] {
                for module in [1, 2, 3, 4, 8] {
                    let img = render(&payload, ec_level, quiet, module);
                    let case = format!("{payload:?} level {ec_level} quiet {quiet} module {module} px");
                    let fast = read(&img);
                    let plain = plain_pass(img);
                    let Some((meta, bytes, corners)) = fast else {
                        let eligible = quiet as usize >= QUIET_MODULES && module as usize >= MIN_MODULE_PX;
                        assert!(
                            !(eligible && plain.is_some()),
                            "{case}: the plain pass reads it, the path not"
                        );
                        continue;
                    };
                    let (want_meta, want_bytes, want_corners) =
                        plain.unwrap_or_else(|| panic!("{case}: the path reads what the plain pass misses"));
                    assert_eq!(bytes, want_bytes, "{case}");
                    assert_eq!(bytes, payload.as_bytes(), "{case}");
                    assert_eq!(
                        (meta.version.0, meta.ecc_level, meta.mask),
                        (want_meta.version.0, want_meta.ecc_level, want_meta.mask),
                        "{case}"
                    );
                    for (got, want) in corners.iter().zip(&want_corners) {
                        let off = (got[0] - want[0]).abs().max((got[1] - want[1]).abs());
                        assert!(
                            off <= f64::from(module).max(1.5),
                            "{case}: corners {corners:?} vs {want_corners:?}"
                        );
                    }
                    hits += 1;
                }
            }
        }
    }
    // Quiet zones 2 and 4 with modules of 2, 3, 4 and 8 px, for 3 payloads at 4 levels.
    assert_eq!(hits, 2 * 4 * 3 * 4, "renders the path reads");
}

/// The pipeline's entry point takes the path on a clean render: the read counts as `plain` and
/// the corners are the symbol's module edges exactly.
#[test]
fn a_clean_render_reads_through_the_path() {
    let img = reference();
    let (info, corners) = read_located(img.clone()).expect("the reference render reads");
    assert_eq!((info.payload, info.strategy), ("AQ".repeat(34), "plain"));
    assert_eq!(corners, [[32.0, 32.0], [328.0, 32.0], [328.0, 328.0], [32.0, 328.0]]);
    assert!(read(&img).is_some());
}

/// The camera rows the path reads: the clean one, the one whose transparency flattens onto white
/// into the very render, and a JPEG at quality 30: its 8 x 8 blocks fall on the 8 px modules of
/// the reference render, each block is one colour and compresses without ringing. Every other
/// disturbance moves some pixel into the grey between ink and paper, or across a module edge.
const READ_ROWS: &[&str] = &["clean", "jpeg-30", "transparent-background"];

/// Every camera row is either refused by the path (and so left to the camera strategies, which
/// the disturbance tests hold to the exact payload) or read by it into the payload that rqrr's
/// plain pass reads from the same picture; and the rows read are exactly [`READ_ROWS`].
#[test]
fn disturbed_pictures_are_left_to_the_pipeline() {
    let img = reference();
    let mut read_rows = Vec::new();
    for row in camera::STANDARD.iter().chain(camera::HARSH) {
        let bytes = row.apply(&img, &mut protocol::rng::seeded(0)).encode().expect("the row encodes");
        let gray = flatten_to_luma(&load(&bytes).expect("the row's bytes load"));
        let Some((_, payload, _)) = read(&gray) else {
            continue;
        };
        assert_eq!(payload, "AQ".repeat(34).into_bytes(), "row {}", row.id);
        let plain = plain_pass(gray).map(|(_, bytes, _)| bytes);
        assert_eq!(plain, Some(payload), "row {}: the path reads what the plain pass does not", row.id);
        read_rows.push(row.id);
    }
    read_rows.sort_unstable();
    assert_eq!(read_rows, READ_ROWS);
}

/// Pictures that pass some checks and must fail a later one: a rotated render (finders in the
/// wrong corners), one grey pixel, one module with a pixel of the other colour, a second code
/// beside the first (the box is not square), no code at all.
#[test]
fn near_misses_are_refused() {
    let img = reference();
    let mut grey = img.clone();
    grey.put_pixel(100, 100, Luma([128]));
    let mut speck = img.clone();
    // Module (9, 9) of the symbol, one pixel in from its corner; flipped to the other colour.
    let (x, y) = ((4 + 9) * 8 + 1, (4 + 9) * 8 + 1);
    let flipped = 255 - img.get_pixel(x, y).0[0];
    speck.put_pixel(x, y, Luma([flipped]));
    let mut two = GrayImage::from_pixel(img.width() * 2, img.height(), Luma([255]));
    imageops::replace(&mut two, &img, 0, 0);
    imageops::replace(&mut two, &img, i64::from(img.width()), 0);
    let blank = GrayImage::from_pixel(img.width(), img.height(), Luma([255]));
    for (name, picture) in [
        ("rotated 90", imageops::rotate90(&img)),
        ("rotated 180", imageops::rotate180(&img)),
        ("one grey pixel", grey),
        ("a speck in a module", speck),
        ("two codes", two),
        ("blank", blank),
        ("empty", GrayImage::new(0, 0)),
    ] {
        assert!(read(&picture).is_none(), "{name}");
    }
}

/// A mirrored render passes the pattern checks and is read mirrored, as rqrr's search reads it.
#[test]
fn a_mirrored_render_reads_as_the_plain_pass_reads_it() {
    let mirrored = imageops::flip_horizontal(&imageops::rotate90(&reference()));
    let fast = read(&mirrored).map(|(_, bytes, _)| bytes);
    let plain = plain_pass(mirrored).map(|(_, bytes, _)| bytes);
    assert_eq!(fast, plain);
    assert_eq!(fast, Some("AQ".repeat(34).into_bytes()));
}

/// A clean picture whose grid does not decode (data modules scrambled, patterns intact) is left
/// to the pipeline, which reports it unreadable as before.
#[test]
fn an_undecodable_grid_falls_back() {
    let img = reference();
    let mut scrambled = img.clone();
    let mut state = 0x2545_f491_u32;
    for my in 9..28u32 {
        for mx in 9..28u32 {
            // xorshift: a fixed scramble, no rng needed.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let v = if state & 1 == 1 { 0 } else { 255 };
            for dy in 0..8 {
                for dx in 0..8 {
                    scrambled.put_pixel((mx + 4) * 8 + dx, (my + 4) * 8 + dy, Luma([v]));
                }
            }
        }
    }
    assert!(read(&scrambled).is_none());
    assert!(matches!(read_by_strategies(scrambled.clone()), Err(QrError::CodeUnreadable { .. })));
    assert!(matches!(read_located(scrambled), Err(QrError::CodeUnreadable { .. })));
}
