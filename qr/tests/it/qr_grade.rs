//! `qr::grade` on real pictures: the reference rendering and the ways a portal's
//! picture can differ from it, each with the exact verdicts it must get.
//!
//! The harness's `tests/qr_check.rs` runs the command on files; this checks the measurements
//! (module size, quiet zone, version, byte mode) and the cases that are easier to build in
//! memory (other encoders, resampling, rotation, JPEG, a code in a page).
#![allow(clippy::unwrap_used)] // reason: test code; a panic with its message is the failure report.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use qr::{self, QrError, QrGrade, RenderOptions, Verdict, camera};

fn otp() -> String {
    let mut rng = protocol::rng::seeded(7);
    protocol::otp::Otp::generate(protocol::rng::uuid(&mut rng), &mut rng).encode()
}

fn reference() -> GrayImage {
    qr::render_luma(&otp(), &RenderOptions::default()).unwrap()
}

/// `payload` encoded by `qrcode`'s own segmentation (numeric and alphanumeric where they are
/// shorter, as many encoders do), drawn at 8 px a module with a 4-module quiet zone.
fn auto_segmented(payload: &str) -> GrayImage {
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M).unwrap();
    let n = u32::try_from(code.width()).unwrap();
    let colors = code.to_colors();
    GrayImage::from_fn((n + 8) * 8, (n + 8) * 8, |x, y| {
        let (mx, my) = ((x / 8).wrapping_sub(4), (y / 8).wrapping_sub(4));
        let dark = mx < n && my < n && colors[(my * n + mx) as usize] == qrcode::Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    })
}

fn jpeg(img: &GrayImage, quality: u8) -> DynamicImage {
    let bytes = camera::Sample::Jpeg(img.clone().into(), quality).encode().unwrap();
    image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap()
}

/// The reference code on a 1600 x 1000 page: white around it, a dark header band and text-like
/// blocks well away from it.
fn in_page() -> GrayImage {
    let mut page = GrayImage::from_pixel(1600, 1000, Luma([255]));
    for y in 0..80 {
        for x in 0..1600 {
            page.put_pixel(x, y, Luma([30]));
        }
    }
    for row in 0..10 {
        for x in (900..1500).step_by(14) {
            for y in 0..10 {
                for dx in 0..9 {
                    page.put_pixel(x + dx, 200 + row * 40 + y, Luma([20]));
                }
            }
        }
    }
    image::imageops::replace(&mut page, &reference(), 300, 300);
    page
}

struct Row {
    name: &'static str,
    picture: fn() -> DynamicImage,
    /// Criterion id, verdict, a piece of the reason.
    expect: &'static [(&'static str, Verdict, &'static str)],
    /// Verdict of every criterion not named (`None`: not asserted).
    others: Option<Verdict>,
    check: fn(&QrGrade),
}

const ROWS: &[Row] = &[
    Row {
        name: "reference rendering",
        picture: || reference().into(),
        expect: &[("byte_mode", Verdict::Pass, "module for module")],
        others: Some(Verdict::Pass),
        check: |g| {
            assert_eq!(g.verdict, Verdict::Pass);
            assert_eq!((g.version, g.ec_level, g.module_px), (Some(5), Some(qr::EcLevel::M), Some(8.0)));
            assert_eq!(g.payload.as_deref(), Some(otp().as_str()));
            let q = g.quiet_zone.unwrap();
            assert_eq!((q.left, q.top, q.right, q.bottom), (4.0, 4.0, 4.0, 4.0));
        },
    },
    Row {
        name: "alphanumeric segments instead of byte mode",
        picture: || auto_segmented("HTTPS://PORTAL.EXAMPLE/OTP/1234567890").into(),
        expect: &[
            ("otp", Verdict::Fail, "not an OTP"),
            ("version", Verdict::Pass, "smaller than byte mode allows"),
            ("byte_mode", Verdict::Fail, "numeric or alphanumeric segments"),
        ],
        others: Some(Verdict::Pass),
        check: |g| assert_eq!(g.version, Some(2)),
    },
    Row {
        name: "resampled to 8.8 px a module",
        picture: || camera::scale(&reference(), 1.1).into(),
        expect: &[("module_size", Verdict::Warn, "not a whole number")],
        others: None,
        check: |g| {
            let m = g.module_px.unwrap();
            assert!((m - 8.8).abs() < 0.1, "{m}");
            assert!(g.quiet_zone.unwrap().min() >= 3.9, "{:?}", g.quiet_zone);
        },
    },
    Row {
        name: "stretched to 10 x 8 px modules",
        picture: || {
            let img = reference();
            image::imageops::resize(&img, 450, 360, image::imageops::FilterType::Nearest).into()
        },
        expect: &[("module_size", Verdict::Warn, "the picture was stretched")],
        others: Some(Verdict::Pass),
        check: |_| {},
    },
    Row {
        name: "photo rotated 30 degrees",
        picture: || camera::rotate(&reference(), 30.0).into(),
        expect: &[
            ("quiet_zone", Verdict::Warn, "not measured: the code is rotated"),
            ("byte_mode", Verdict::Warn, "not checked: the code is rotated"),
            ("module_size", Verdict::Pass, "px a module"),
        ],
        others: None,
        check: |g| {
            let m = g.module_px.unwrap();
            assert!((m - 8.0).abs() < 0.3, "module size from the corners: {m}");
            assert_eq!(g.quiet_zone, None);
        },
    },
    Row {
        name: "served as JPEG quality 90",
        picture: || jpeg(&reference(), 90),
        expect: &[],
        others: Some(Verdict::Pass),
        check: |g| assert_eq!(g.module_px, Some(8.0)),
    },
    Row {
        name: "a code in a page screenshot",
        picture: || in_page().into(),
        expect: &[("quiet_zone", Verdict::Pass, "at least 4 on every side")],
        others: Some(Verdict::Pass),
        check: |g| {
            let q = g.quiet_zone.unwrap();
            // Symbol at 332..628 in both axes; the header band ends at y = 80, the text at x = 900.
            assert_eq!((q.left, q.top, q.right, q.bottom), (41.5, 31.5, 34.0, 46.5));
        },
    },
    Row {
        name: "40 px modules, a 3.2 MP picture (the camera rows run on it scaled down)",
        picture: || {
            qr::render_luma(&otp(), &RenderOptions { module_px: 40, ..RenderOptions::default() })
                .unwrap()
                .into()
        },
        expect: &[],
        others: Some(Verdict::Pass),
        check: |g| {
            assert_eq!((g.width, g.module_px), (1800, Some(40.0)));
        },
    },
    Row {
        name: "transparent background",
        picture: || DynamicImage::ImageRgba8(camera::transparent_background(&reference())),
        expect: &[("colours", Verdict::Warn, "transparent pixels")],
        others: Some(Verdict::Pass),
        check: |_| {},
    },
    Row {
        name: "random noise",
        picture: || camera::noise(360, 360, &mut protocol::rng::seeded(4)).into(),
        expect: &[("decodes", Verdict::Fail, "")],
        others: Some(Verdict::Skip),
        check: |g| {
            assert_eq!(g.verdict, Verdict::Fail);
            assert_eq!((g.payload.as_ref(), g.version, g.module_px), (None, None, None));
        },
    },
];

#[test]
fn each_picture_gets_its_grade() {
    let mut failures = Vec::new();
    for row in ROWS {
        let grade = qr::grade_image(&(row.picture)()).unwrap();
        for c in &grade.criteria {
            match row.expect.iter().find(|(id, _, _)| *id == c.id) {
                Some((_, want, part)) if c.verdict != *want || !c.reason.contains(part) => {
                    failures.push(format!(
                        "{}: {} is {:?} ({}), want {want:?} with {part:?}",
                        row.name, c.id, c.verdict, c.reason
                    ))
                }
                Some(_) => {}
                None => match row.others {
                    Some(want) if c.verdict != want => failures.push(format!(
                        "{}: {} is {:?} ({}), want {want:?}",
                        row.name, c.id, c.verdict, c.reason
                    )),
                    _ => {}
                },
            }
        }
        (row.check)(&grade);
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_grade_is_deterministic_and_serialises_with_stable_names() {
    let mut bytes = Vec::new();
    reference().write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    let a = qr::grade(&bytes).unwrap();
    assert_eq!(a, qr::grade(&bytes).unwrap());
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["ec_level"], "M");
    assert_eq!(json["criteria"][0]["id"], "decodes");
    assert_eq!(json["criteria"][0]["verdict"], "pass");
    assert_eq!(a.criteria.len(), 8 + camera::STANDARD.len());
    assert_eq!(a.criterion("quiet_zone").map(|c| c.verdict), Some(Verdict::Pass));
}

#[test]
fn what_is_not_an_image_is_an_error_not_a_grade() {
    assert!(matches!(qr::grade(b"not a picture"), Err(QrError::UnreadableImage { .. })));
    assert!(matches!(qr::grade(&[]), Err(QrError::UnreadableImage { .. })));
}
