//! Grading a portal's QR picture against the contract and against the camera, for `mobauth qr
//! check`.
//!
//! The contract (docs/PROTOCOL.md OTP-003 and OTP-004): the code carries exactly the OTP, in
//! byte mode; the reference portal renders level M, a 4-module quiet zone, 8 px a module, black
//! on white. A portal builder wants to know, of the picture their portal serves, whether a
//! phone will read it, and if not, what to change. [`grade`] answers with a [`QrGrade`]: what
//! was measured (version, level, module size, quiet zone on each side) and a list of
//! [`Criterion`]s, each with a [`Verdict`] and a reason that says what to change.
//!
//! The geometry is measured on the picture, not taken from the decoder: the decoder's corner
//! estimate only says where to look, then the symbol's edges are found by walking out of the
//! three finder patterns pixel by pixel (each finder is a dark core, a light ring and a dark
//! ring, and its outer ring lies on the symbol's edge), which is exact for an upright picture.
//! A rotated or skewed code (a photo of a screen rather than the served file) gets its module
//! size from the corners and no quiet-zone or byte-mode measurement.
//!
//! Finally every row of [`camera::STANDARD`] is applied once to the symbol and its surroundings,
//! and each must still decode to the same payload: the reference rendering survives them all,
//! so a picture that does not is worse than the reference at that.

mod checks;
mod geometry;

use image::DynamicImage;

use crate::camera::{self, Disturbance};
use crate::{EcLevel, QrError};
use checks::{
    byte_mode, byte_mode_version, camera_hint, camera_row, colours, decodes, ec_level, module_size, no_code,
    otp, quiet_zone, version,
};
use geometry::Geometry;

pub use checks::byte_mode_symbol;

/// Quiet zone the standard (ISO/IEC 18004) and OTP-004 ask for, in modules on every side.
pub const REQUIRED_QUIET_MODULES: f64 = 4.0;

/// Module size of the reference rendering (OTP-004), in pixels.
pub const REFERENCE_MODULE_PX: f64 = 8.0;

/// Below this module size, in pixels, a picture fails: the decoder needs clean-up strategies to
/// sample it at all, and a browser scaling it up to a visible size blurs the module edges.
pub const MIN_MODULE_PX: f64 = 3.0;
/// How well a criterion is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Not checked, because the code could not be read at all.
    Skip,
    /// Met.
    Pass,
    /// Readable, but worse than the reference rendering in a way some phones will notice.
    Warn,
    /// Not met: phones will fail to read the code, or the contract is broken.
    Fail,
}

impl Verdict {
    /// Upper-case label for text output (`PASS`, `WARN`, `FAIL`, `SKIP`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Skip => "SKIP",
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// One graded criterion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Criterion {
    /// Stable identifier: `decodes`, `otp`, `version`, `byte_mode`, `ec_level`, `quiet_zone`,
    /// `module_size`, `colours`, or `camera.<id>` for each row of [`camera::STANDARD`].
    pub id: String,
    /// Short human-readable name.
    pub name: String,
    /// How well it is met.
    pub verdict: Verdict,
    /// What was found and, unless it passed, what to change.
    pub reason: String,
}

/// Light margin between the symbol and the nearest dark pixel (or the image's edge), in
/// modules, on each side.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QuietZone {
    /// Left of the symbol.
    pub left: f64,
    /// Above the symbol.
    pub top: f64,
    /// Right of the symbol.
    pub right: f64,
    /// Below the symbol.
    pub bottom: f64,
}

impl QuietZone {
    /// The narrowest side.
    #[must_use]
    pub fn min(&self) -> f64 {
        self.left.min(self.top).min(self.right).min(self.bottom)
    }
}

/// The grade of one QR picture.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QrGrade {
    /// The worst verdict of [`criteria`](Self::criteria) (skipped ones aside): `Fail` if any
    /// failed, else `Warn` if any warned, else `Pass`.
    pub verdict: Verdict,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// The payload, when a code was read.
    pub payload: Option<String>,
    /// Symbol version (1..=40), when a code was read.
    pub version: Option<u8>,
    /// Error-correction level, when a code was read.
    pub ec_level: Option<EcLevel>,
    /// Side of a module in pixels (two decimals), when a code was read.
    pub module_px: Option<f64>,
    /// Quiet zone in modules (one decimal), when the code is upright and could be measured.
    pub quiet_zone: Option<QuietZone>,
    /// Every criterion, always the same ones in the same order.
    pub criteria: Vec<Criterion>,
}

impl QrGrade {
    /// The criterion with this [`id`](Criterion::id).
    #[must_use]
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

/// Grades the QR code in PNG or JPEG bytes. A picture without a readable code is a grade (its
/// `decodes` criterion fails), not an error.
///
/// # Errors
/// [`QrError::UnreadableImage`] when the bytes are not a PNG or JPEG image,
/// [`QrError::ImageTooLarge`] when it is above [`MAX_PIXELS`](crate::MAX_PIXELS).
pub fn grade(image_bytes: &[u8]) -> Result<QrGrade, QrError> {
    grade_image(&crate::inspect::load(image_bytes)?)
}

/// Grades the QR code in an already decoded image (alpha is flattened onto white, and its
/// presence is graded).
///
/// # Errors
/// [`QrError::ImageTooLarge`] when the image is above [`MAX_PIXELS`](crate::MAX_PIXELS).
pub fn grade_image(img: &DynamicImage) -> Result<QrGrade, QrError> {
    crate::inspect::check_size(img.width(), img.height())?;
    let gray = crate::inspect::flatten_to_luma(img);
    let (width, height) = gray.dimensions();
    let read = crate::decode::read_located(gray.clone());
    let mut criteria = Vec::new();
    let mut grade = QrGrade {
        verdict: Verdict::Pass,
        width,
        height,
        payload: None,
        version: None,
        ec_level: None,
        module_px: None,
        quiet_zone: None,
        criteria: Vec::new(),
    };
    match read {
        Ok((info, corners)) => {
            let geometry = Geometry::measure(&gray, &corners, info.side_modules());
            grade.payload = Some(info.payload.clone());
            grade.version = Some(info.version);
            grade.ec_level = Some(info.ec_level);
            grade.module_px = Some(round_to(geometry.module_px(), 100.0));
            grade.quiet_zone = geometry.quiet.map(|q| QuietZone {
                left: round_to(q.left, 10.0),
                top: round_to(q.top, 10.0),
                right: round_to(q.right, 10.0),
                bottom: round_to(q.bottom, 10.0),
            });
            criteria.push(decodes(&info));
            criteria.push(otp(&info.payload));
            let min_version = byte_mode_version(&info.payload, info.ec_level);
            criteria.push(version(&info, min_version));
            criteria.push(byte_mode(&gray, &info, &geometry, min_version));
            criteria.push(ec_level(info.ec_level));
            criteria.push(quiet_zone(&geometry));
            criteria.push(module_size(&geometry));
            criteria.push(colours(img, &gray, &geometry));
            let hint = camera_hint(&info, &geometry);
            let scene = geometry.surroundings(&gray);
            for row in camera::STANDARD {
                criteria.push(camera_row(row, &scene, &info.payload, &hint));
            }
        }
        Err(e @ (QrError::UnreadableImage { .. } | QrError::ImageTooLarge { .. })) => return Err(e),
        Err(e) => {
            criteria.push(no_code(&e));
            let skipped = |id: &str, name: &str| Criterion {
                id: id.to_owned(),
                name: name.to_owned(),
                verdict: Verdict::Skip,
                reason: "not checked: no code was read".to_owned(),
            };
            for (id, name) in FIXED_CRITERIA.iter().skip(1) {
                criteria.push(skipped(id, name));
            }
            for row in camera::STANDARD {
                criteria.push(skipped(&camera_id(row), &camera_name(row)));
            }
        }
    }
    grade.verdict =
        criteria.iter().map(|c| c.verdict).filter(|v| *v != Verdict::Skip).max().unwrap_or(Verdict::Pass);
    grade.criteria = criteria;
    Ok(grade)
}

/// The criteria before the camera rows: id and name, in report order.
const FIXED_CRITERIA: &[(&str, &str)] = &[
    ("decodes", "decodes"),
    ("otp", "OTP payload"),
    ("version", "version"),
    ("byte_mode", "byte mode"),
    ("ec_level", "error correction"),
    ("quiet_zone", "quiet zone"),
    ("module_size", "module size"),
    ("colours", "colours"),
];

fn criterion(id: &str, verdict: Verdict, reason: String) -> Criterion {
    let name = FIXED_CRITERIA.iter().find(|(i, _)| *i == id).map_or(id, |(_, name)| name);
    Criterion { id: id.to_owned(), name: name.to_owned(), verdict, reason }
}

fn camera_id(row: &Disturbance) -> String {
    format!("camera.{}", row.id)
}

fn camera_name(row: &Disturbance) -> String {
    format!("camera: {}", row.name)
}

fn round_to(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}
