//! `mobauth qr check FILE`: the real binary on real pictures written to a temporary folder.
//!
//! Each row writes a picture (rendered by `qr`, then cropped, re-padded or otherwise
//! changed the way a portal might get it wrong), runs `mobauth qr check FILE --format json` and
//! checks the exit code and the verdict of named criteria exactly; every criterion a row does not
//! name must have the row's default verdict. Then the text output, the JSON shape and the usage
//! errors (exit 2).
#![allow(clippy::unwrap_used)] // reason: test code; a panic with its message is the failure report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{GrayImage, ImageFormat, Luma};
use qr::{self, EcLevel, RenderOptions};
use serde_json::Value;

/// The criteria every grade lists, in order: the fixed ones, then one per standard camera row.
fn criterion_ids() -> Vec<String> {
    let fixed =
        ["decodes", "otp", "version", "byte_mode", "ec_level", "quiet_zone", "module_size", "colours"];
    fixed
        .iter()
        .map(|s| (*s).to_owned())
        .chain(qr::camera::STANDARD.iter().map(|row| format!("camera.{}", row.id)))
        .collect()
}

/// A real OTP from the profile's codec, seeded.
fn otp() -> String {
    let mut rng = protocol::rng::seeded(42);
    protocol::otp::Otp::generate(protocol::rng::uuid(&mut rng), &mut rng).encode()
}

/// A scratch folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mobauth-qr-check-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn save_png(img: &GrayImage, path: &Path) {
    img.save_with_format(path, ImageFormat::Png).unwrap();
}

fn reference(opts: &RenderOptions) -> GrayImage {
    qr::render_luma(&otp(), opts).unwrap()
}

/// The reference picture with `left`, `top`, `right` and `bottom` pixels cut off.
fn cropped(left: u32, top: u32, right: u32, bottom: u32) -> GrayImage {
    let img = reference(&RenderOptions::default());
    let (w, h) = img.dimensions();
    image::imageops::crop_imm(&img, left, top, w - left - right, h - top - bottom).to_image()
}

fn mobauth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mobauth")).args(args).output().unwrap()
}

/// Runs `qr check --format json` on `path`: exit code and parsed JSON.
fn check_json(path: &Path) -> (Option<i32>, Value, String) {
    let out = mobauth(&["qr", "check", path.to_str().unwrap(), "--format", "json"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (out.status.code(), json, stderr)
}

/// One picture and the grade it must get.
struct Row {
    name: &'static str,
    picture: fn() -> GrayImage,
    exit: i32,
    /// Verdicts of named criteria, and a piece of each one's reason.
    expect: &'static [(&'static str, &'static str, &'static str)],
    /// Verdict of every criterion not in `expect`.
    others: &'static str,
}

const ROWS: &[Row] = &[
    Row {
        name: "the reference rendering of an OTP",
        picture: || reference(&RenderOptions::default()),
        exit: 0,
        expect: &[
            ("quiet_zone", "pass", "left 4, top 4, right 4, bottom 4 modules"),
            ("module_size", "pass", "8 px"),
        ],
        others: "pass",
    },
    Row {
        name: "a 1-module quiet zone (3 modules cropped off every side)",
        picture: || cropped(24, 24, 24, 24),
        exit: 1,
        expect: &[("quiet_zone", "fail", "left 1, top 1, right 1, bottom 1 modules")],
        others: "pass",
    },
    Row {
        name: "a quiet zone of 1 module on the left only",
        picture: || cropped(24, 0, 0, 0),
        exit: 1,
        expect: &[("quiet_zone", "fail", "add 24 px of white on the left")],
        others: "pass",
    },
    Row {
        name: "dark content 2 modules from the right edge of the symbol",
        picture: || {
            let mut img = reference(&RenderOptions::default());
            let right = img.width() - 32 + 16;
            for y in 0..img.height() {
                img.put_pixel(right, y, Luma([0]));
            }
            img
        },
        exit: 1,
        expect: &[("quiet_zone", "fail", "move the dark content on the right 16 px further away")],
        // A dark line beside the symbol is also worse under some camera rows; not asserted.
        others: "",
    },
    Row {
        name: "a generous quiet zone (re-padded to 10 modules)",
        picture: || {
            let img = reference(&RenderOptions::default());
            let mut padded = GrayImage::from_pixel(img.width() + 96, img.height() + 96, Luma([255]));
            image::imageops::replace(&mut padded, &img, 48, 48);
            padded
        },
        exit: 0,
        expect: &[("quiet_zone", "pass", "left 10, top 10, right 10, bottom 10 modules")],
        others: "pass",
    },
    Row {
        name: "2 px modules",
        picture: || reference(&RenderOptions { module_px: 2, ..RenderOptions::default() }),
        exit: 1,
        expect: &[("module_size", "fail", "2 px a module")],
        // Small modules also lose some camera rows (blur, downscale); not asserted row by row.
        others: "",
    },
    Row {
        name: "6 px modules",
        picture: || reference(&RenderOptions { module_px: 6, ..RenderOptions::default() }),
        exit: 0,
        expect: &[("module_size", "warn", "below the reference's 8")],
        others: "pass",
    },
    Row {
        name: "level L",
        picture: || reference(&RenderOptions { ec_level: EcLevel::L, ..RenderOptions::default() }),
        exit: 0,
        expect: &[("ec_level", "warn", "level L")],
        others: "pass",
    },
    Row {
        name: "inverted colours",
        picture: || qr::camera::remap(&reference(&RenderOptions::default()), 255, 0),
        exit: 0,
        expect: &[
            ("decodes", "warn", "`invert` clean-up"),
            ("colours", "warn", "light modules on a dark background"),
        ],
        others: "pass",
    },
    Row {
        name: "a URL instead of the OTP",
        picture: || qr::render_luma("https://portal.example/login?otp=1", &RenderOptions::default()).unwrap(),
        exit: 1,
        expect: &[("otp", "fail", "not an OTP")],
        others: "pass",
    },
    Row {
        name: "a white picture with no code",
        picture: || GrayImage::from_pixel(360, 360, Luma([255])),
        exit: 1,
        expect: &[("decodes", "fail", "no QR code found")],
        others: "skip",
    },
];

#[test]
fn each_picture_gets_its_grade() {
    let scratch = Scratch::new("rows");
    let mut failures = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        let path = scratch.path(&format!("row-{i}.png"));
        save_png(&(row.picture)(), &path);
        let (exit, json, stderr) = check_json(&path);
        if exit != Some(row.exit) {
            failures.push(format!("{}: exit {exit:?}, want {} (stderr: {stderr})", row.name, row.exit));
        }
        let criteria = json["criteria"].as_array().unwrap();
        for c in criteria {
            let id = c["id"].as_str().unwrap();
            let verdict = c["verdict"].as_str().unwrap();
            let reason = c["reason"].as_str().unwrap();
            match row.expect.iter().find(|(want_id, _, _)| *want_id == id) {
                Some((_, want, part)) if verdict != *want || !reason.contains(part) => {
                    failures.push(format!(
                        "{}: {id} is {verdict} ({reason}), want {want} with {part:?}",
                        row.name
                    ));
                }
                Some(_) => {}
                None if !row.others.is_empty() && verdict != row.others => {
                    failures.push(format!("{}: {id} is {verdict} ({reason}), want {}", row.name, row.others));
                }
                None => {}
            }
        }
        let want = if row.exit == 0 { ["pass", "warn"].as_slice() } else { ["fail"].as_slice() };
        if !want.contains(&json["verdict"].as_str().unwrap_or("")) {
            failures.push(format!("{}: overall verdict {}, want one of {want:?}", row.name, json["verdict"]));
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn json_names_every_criterion_and_the_measurements() {
    let scratch = Scratch::new("json");
    let path = scratch.path("otp.png");
    std::fs::write(&path, qr::render_png(&otp(), &RenderOptions::default()).unwrap()).unwrap();
    let (exit, json, _) = check_json(&path);
    assert_eq!(exit, Some(0));
    let ids: Vec<&str> =
        json["criteria"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, criterion_ids());
    for c in json["criteria"].as_array().unwrap() {
        assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
        assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()), "{c}");
    }
    assert_eq!(json["file"], path.to_str().unwrap());
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["payload"], otp());
    assert_eq!(json["version"], 5);
    assert_eq!(json["ec_level"], "M");
    assert_eq!(json["module_px"], 8.0);
    assert_eq!(json["width"], 360);
    assert_eq!(json["height"], 360);
    for side in ["left", "top", "right", "bottom"] {
        assert_eq!(json["quiet_zone"][side], 4.0, "{side}");
    }
}

#[test]
fn text_output_is_for_a_person() {
    let scratch = Scratch::new("text");
    let path = scratch.path("narrow.png");
    save_png(&cropped(24, 24, 24, 24), &path);
    let out = mobauth(&["qr", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.ends_with("narrow.png: FAIL (1 failed, 0 warnings, 21 passed)"), "{text}");
    let measured = "  312 x 312 px, version 5, level M, 8 px a module\n  \
                    quiet zone: left 1, top 1, right 1, bottom 1 modules\n";
    assert!(text.contains(measured), "{text}");
    assert!(text.contains("  FAIL  quiet zone "), "{text}");
    assert!(
        text.split_whitespace().collect::<Vec<_>>().join(" ").contains("add 24 px of white on every side"),
        "{text}"
    );
    assert!(text.contains("  PASS  module size "), "{text}");
    assert!(text.contains("camera disturbances"), "{text}");
    assert!(text.contains("  PASS  rotate 30 deg "), "{text}");
    // The first line holds the path, which may be long; criterion lines wrap at 100.
    assert!(text.lines().skip(1).all(|l| l.len() <= 100), "lines wrap at 100:\n{text}");
}

#[test]
fn files_that_cannot_be_graded_exit_2_with_a_message() {
    let scratch = Scratch::new("usage");
    let text_file = scratch.path("notes.png");
    std::fs::write(&text_file, "this is not a picture\n").unwrap();
    let gif = scratch.path("code.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    let missing = scratch.path("missing.png");
    for (path, message) in [
        (&text_file, "not a PNG or JPEG image; qr check reads the PNG or JPEG picture a portal serves"),
        (&gif, "Gif images are not accepted, only PNG or JPEG"),
        (&missing, "cannot read"),
        (&scratch.0, "cannot read"),
    ] {
        let out = mobauth(&["qr", "check", path.to_str().unwrap()]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(stderr.contains(message) && stderr.contains(path.to_str().unwrap()), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout for {}", path.display());
    }
    let out = mobauth(&["qr", "check", text_file.to_str().unwrap(), "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2), "an unknown format is a usage error");
}
