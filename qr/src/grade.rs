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

use image::{DynamicImage, GrayImage};

use super::camera::{self, Disturbance};
use super::{Corners, EcLevel, QrError, QrInfo};
use protocol::otp::{OTP_CHARS, Otp};
use protocol::rng;

/// Quiet zone the standard (ISO/IEC 18004) and OTP-004 ask for, in modules on every side.
pub const REQUIRED_QUIET_MODULES: f64 = 4.0;

/// Module size of the reference rendering (OTP-004), in pixels.
pub const REFERENCE_MODULE_PX: f64 = 8.0;

/// Below this module size, in pixels, a picture fails: the decoder needs clean-up strategies to
/// sample it at all, and a browser scaling it up to a visible size blurs the module edges.
pub const MIN_MODULE_PX: f64 = 3.0;

/// Seed of the noise and clutter the camera rows draw, so a grade is the same on every run.
const CAMERA_SEED: u64 = 0x7172_2d63_6865_636b;

/// Largest picture the camera rows disturb, in pixels (1 Mi; see [`Geometry::surroundings`]).
const CAMERA_MAX_PIXELS: f64 = 1_048_576.0;

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
/// [`QrError::ImageTooLarge`] when it is above [`MAX_PIXELS`](super::MAX_PIXELS).
pub fn grade(image_bytes: &[u8]) -> Result<QrGrade, QrError> {
    grade_image(&super::load(image_bytes)?)
}

/// Grades the QR code in an already decoded image (alpha is flattened onto white, and its
/// presence is graded).
///
/// # Errors
/// [`QrError::ImageTooLarge`] when the image is above [`MAX_PIXELS`](super::MAX_PIXELS).
pub fn grade_image(img: &DynamicImage) -> Result<QrGrade, QrError> {
    super::check_size(img.width(), img.height())?;
    let gray = super::flatten_to_luma(img);
    let (width, height) = gray.dimensions();
    let read = super::read_located(gray.clone());
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

// ---------------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------------

/// The symbol's edges and module size as measured on an upright picture.
#[derive(Debug, Clone, Copy)]
struct Upright {
    /// First pixel column of the symbol.
    left: u32,
    /// First pixel row of the symbol.
    top: u32,
    /// One past the last pixel column.
    right: u32,
    /// One past the last pixel row.
    bottom: u32,
    /// Pixels per module, horizontally and vertically.
    module: (f64, f64),
}

/// Quiet zone before rounding, in modules, and what ended each side.
#[derive(Debug, Clone, Copy)]
struct Quiet {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    /// Whether each side (left, top, right, bottom) ran into the image's edge rather than into
    /// a dark pixel.
    to_edge: [bool; 4],
}

/// What the grade learnt about where the symbol is and how it is drawn.
#[derive(Debug, Clone)]
struct Geometry {
    /// Modules a side.
    modules: u32,
    /// The decoder's corners, in the picture's pixels.
    corners: Corners,
    /// The cut between the two colours of the symbol's pixels.
    threshold: u8,
    /// Whether the modules are darker than the background (false: inverted colours).
    ink_is_dark: bool,
    /// Exact edges, when the symbol is upright and its finder patterns could be walked.
    upright: Option<Upright>,
    /// Quiet zone, when `upright` is known.
    quiet: Option<Quiet>,
}

impl Geometry {
    fn measure(gray: &GrayImage, corners: &Corners, modules: u32) -> Self {
        let (x0, y0, x1, y1) = bounding_box(gray, corners);
        let threshold = region_threshold(gray, (x0, y0, x1, y1));
        let n = f64::from(modules);
        let approx = corner_module_px(corners, n);
        // The top-left finder's 3 x 3-module core is dark in every QR code, so its colour tells
        // which side of the threshold the modules are on. Its centre is 3.5 modules in from the
        // corner, along the symbol's sides.
        let [tl, tr, _, bl] = *corners;
        let along = |from: [f64; 2], to: [f64; 2], t: f64| {
            [from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t]
        };
        let core = |u: f64, v: f64| {
            let top = along(tl, tr, u / n);
            let offset = [(bl[0] - tl[0]) * v / n, (bl[1] - tl[1]) * v / n];
            [top[0] + offset[0], top[1] + offset[1]]
        };
        let tl_core = core(3.5, 3.5);
        let ink_is_dark = pixel_at(gray, tl_core).is_none_or(|p| p <= threshold);
        let mut geometry =
            Self { modules, corners: *corners, threshold, ink_is_dark, upright: None, quiet: None };
        if is_upright(corners, approx) {
            geometry.upright =
                geometry.walk_finders(gray, [tl_core, core(n - 3.5, 3.5), core(3.5, n - 3.5)], approx);
            geometry.quiet = geometry.upright.map(|u| geometry.measure_quiet(gray, &u));
        }
        geometry
    }

    fn is_ink(&self, p: u8) -> bool {
        (p <= self.threshold) == self.ink_is_dark
    }

    /// Whether the pixel at (x, y) is the modules' colour; `None` outside the picture.
    fn ink_at(&self, gray: &GrayImage, x: i64, y: i64) -> Option<bool> {
        let (x, y) = (u32::try_from(x).ok()?, u32::try_from(y).ok()?);
        (x < gray.width() && y < gray.height()).then(|| self.is_ink(gray.get_pixel(x, y).0[0]))
    }

    /// Finds the symbol's edges by walking out of the top-left finder to the left and up, out of
    /// the top-right one to the right and out of the bottom-left one down.
    fn walk_finders(&self, gray: &GrayImage, cores: [[f64; 2]; 3], approx: f64) -> Option<Upright> {
        let [tl, tr, bl] = cores.map(|c| (c[0].floor() as i64, c[1].floor() as i64));
        // A finder's rings are a module wide and its core three: a run longer than three
        // modules and a half means this is not a finder.
        let max_run = (approx * 3.5).ceil() as i64 + 2;
        let left = self.finder_edge(gray, tl, (-1, 0), max_run)?.0;
        let top = self.finder_edge(gray, tl, (0, -1), max_run)?.1;
        let right = self.finder_edge(gray, tr, (1, 0), max_run)?.0 + 1;
        let bottom = self.finder_edge(gray, bl, (0, 1), max_run)?.1 + 1;
        let n = f64::from(self.modules);
        let module = ((right - left) as f64 / n, (bottom - top) as f64 / n);
        // Edges more than a quarter module off the decoder's estimate mean the walk went astray.
        let plausible = |m: f64| (m - approx).abs() <= approx * 0.25;
        if !(plausible(module.0) && plausible(module.1)) {
            return None;
        }
        Some(Upright {
            left: u32::try_from(left).ok()?,
            top: u32::try_from(top).ok()?,
            right: u32::try_from(right).ok()?,
            bottom: u32::try_from(bottom).ok()?,
            module,
        })
    }

    /// From inside a finder's core, crosses the rest of the core, the light ring and the dark
    /// ring in direction `step`; the last pixel of the dark ring, on the symbol's edge.
    fn finder_edge(
        &self,
        gray: &GrayImage,
        start: (i64, i64),
        step: (i64, i64),
        max_run: i64,
    ) -> Option<(i64, i64)> {
        let mut pos = start;
        let mut last = start;
        for want in [true, false, true] {
            let mut run = 0;
            while self.ink_at(gray, pos.0, pos.1) == Some(want) {
                last = pos;
                pos = (pos.0 + step.0, pos.1 + step.1);
                run += 1;
                if run > max_run {
                    return None;
                }
            }
            if run == 0 {
                return None;
            }
        }
        Some(last)
    }

    /// Counts the light rows or columns between each edge and the first one holding a pixel of
    /// the modules' colour (or the picture's edge), across the symbol's span.
    fn measure_quiet(&self, gray: &GrayImage, u: &Upright) -> Quiet {
        let (w, h) = gray.dimensions();
        let column_clear = |x: u32| (u.top..u.bottom).all(|y| !self.is_ink(gray.get_pixel(x, y).0[0]));
        let row_clear = |y: u32| (u.left..u.right).all(|x| !self.is_ink(gray.get_pixel(x, y).0[0]));
        let left = (0..u.left).rev().take_while(|&x| column_clear(x)).count();
        let right = (u.right..w).take_while(|&x| column_clear(x)).count();
        let top = (0..u.top).rev().take_while(|&y| row_clear(y)).count();
        let bottom = (u.bottom..h).take_while(|&y| row_clear(y)).count();
        let px = |count: usize| count as f64;
        Quiet {
            left: px(left) / u.module.0,
            right: px(right) / u.module.0,
            top: px(top) / u.module.1,
            bottom: px(bottom) / u.module.1,
            to_edge: [
                left == u.left as usize,
                top == u.top as usize,
                right == (w - u.right) as usize,
                bottom == (h - u.bottom) as usize,
            ],
        }
    }

    /// Pixels a module: measured edges when upright, else the decoder's corners.
    fn module_px(&self) -> f64 {
        match self.upright {
            Some(u) => (u.module.0 + u.module.1) / 2.0,
            None => corner_module_px(&self.corners, f64::from(self.modules)),
        }
    }

    /// The symbol and up to [`REQUIRED_QUIET_MODULES`] modules around it: what a camera framing
    /// the code sees, and what the camera rows disturb. A picture that is the code and its
    /// margin is kept whole; a screenshot of a page is cut down to the code. Above
    /// [`CAMERA_MAX_PIXELS`] it is scaled down, though never below the reference's 8 px
    /// modules: the busy-scene row triples each side and every row is decoded, so a 4000 px
    /// symbol would cost seconds and gigabytes, while the rows' pixel amounts were chosen for
    /// 8 px modules anyway.
    fn surroundings(&self, gray: &GrayImage) -> GrayImage {
        let scene = self.crop_surroundings(gray);
        let pixels = f64::from(scene.width()) * f64::from(scene.height());
        let factor = (CAMERA_MAX_PIXELS / pixels).sqrt().max(REFERENCE_MODULE_PX / self.module_px());
        if factor >= 1.0 {
            return scene;
        }
        camera::scale(&scene, factor)
    }

    fn crop_surroundings(&self, gray: &GrayImage) -> GrayImage {
        let margin = self.module_px() * REQUIRED_QUIET_MODULES;
        let (x0, y0, x1, y1) = match self.upright {
            Some(u) => (f64::from(u.left), f64::from(u.top), f64::from(u.right), f64::from(u.bottom)),
            None => {
                let (x0, y0, x1, y1) = bounding_box(gray, &self.corners);
                (f64::from(x0), f64::from(y0), f64::from(x1), f64::from(y1))
            }
        };
        let clamp = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
        let (w, h) = gray.dimensions();
        let (cx0, cy0) = (clamp(x0 - margin, w), clamp(y0 - margin, h));
        let (cx1, cy1) = (clamp(x1 + margin, w), clamp(y1 + margin, h));
        if (cx0, cy0, cx1, cy1) == (0, 0, w, h) || cx1 <= cx0 || cy1 <= cy0 {
            return gray.clone();
        }
        image::imageops::crop_imm(gray, cx0, cy0, cx1 - cx0, cy1 - cy0).to_image()
    }
}

/// The decoder's corners as a pixel box `(x0, y0, x1, y1)`, `x1` and `y1` exclusive, clamped to
/// the picture.
fn bounding_box(gray: &GrayImage, corners: &Corners) -> (u32, u32, u32, u32) {
    let xs = corners.map(|c| c[0]);
    let ys = corners.map(|c| c[1]);
    let clamp = |v: f64, max: u32| v.clamp(0.0, f64::from(max)) as u32;
    let (w, h) = gray.dimensions();
    let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
    let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
    (clamp(min(xs).floor(), w), clamp(min(ys).floor(), h), clamp(max(xs).ceil(), w), clamp(max(ys).ceil(), h))
}

/// The cut between the symbol's two colours, over the pixels of `region`: halfway between the
/// mean grey of the two classes Otsu's method separates. Otsu's cut itself is not used as is:
/// on a pure black-and-white picture every cut from 0 to 254 separates equally well and it
/// returns 0, which would class a dark grey next to the code as light.
fn region_threshold(gray: &GrayImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> u8 {
    let mut hist = [0u64; 256];
    for y in y0..y1 {
        for x in x0..x1 {
            hist[usize::from(gray.get_pixel(x, y).0[0])] += 1;
        }
    }
    // A decoded code has both colours; mid-grey only for a region without them, which a read
    // symbol does not have.
    let Some(cut) = super::otsu_level(&hist) else {
        return 127;
    };
    let mean = |range: std::ops::RangeInclusive<usize>| {
        let (count, sum) = range.fold((0u64, 0u64), |(c, s), i| (c + hist[i], s + hist[i] * i as u64));
        (count > 0).then(|| sum as f64 / count as f64)
    };
    match (mean(0..=usize::from(cut)), mean(usize::from(cut) + 1..=255)) {
        (Some(dark), Some(light)) => ((dark + light) / 2.0).floor().clamp(0.0, 254.0) as u8,
        _ => cut,
    }
}

fn pixel_at(gray: &GrayImage, p: [f64; 2]) -> Option<u8> {
    let (x, y) = (p[0].floor(), p[1].floor());
    let inside = x >= 0.0 && y >= 0.0 && x < f64::from(gray.width()) && y < f64::from(gray.height());
    // In range: checked just above.
    inside.then(|| gray.get_pixel(x as u32, y as u32).0[0])
}

/// Pixels a module from the mean length of the corners' four sides.
fn corner_module_px(corners: &Corners, modules: f64) -> f64 {
    let dist = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let sides: f64 = (0..4).map(|i| dist(corners[i], corners[(i + 1) % 4])).sum();
    sides / 4.0 / modules
}

/// Whether the symbol's sides are horizontal and vertical to within a module.
fn is_upright(corners: &Corners, module_px: f64) -> bool {
    let [tl, tr, br, bl] = *corners;
    let near = |a: f64, b: f64| (a - b).abs() <= module_px;
    near(tl[1], tr[1])
        && near(bl[1], br[1])
        && near(tl[0], bl[0])
        && near(tr[0], br[0])
        && tr[0] > tl[0]
        && bl[1] > tl[1]
}

// ---------------------------------------------------------------------------------------------
// Criteria
// ---------------------------------------------------------------------------------------------

fn no_code(e: &QrError) -> Criterion {
    let advice = match e {
        QrError::CodeUnreadable { .. } => {
            "something like a code was found but not read: check the picture is not cut, stretched or \
             smudged, and render it as `mobauth qr encode` does"
        }
        QrError::NotUtf8 { .. } => {
            "the code holds binary data: a portal's code must carry the OTP string (OTP-003)"
        }
        _ => "the file must be the picture of the QR code the portal shows, with its white margin",
    };
    criterion("decodes", Verdict::Fail, format!("{e}: {advice}"))
}

fn decodes(info: &QrInfo) -> Criterion {
    if info.strategy == "plain" {
        return criterion("decodes", Verdict::Pass, "read as it is, with no clean-up".to_owned());
    }
    criterion(
        "decodes",
        Verdict::Warn,
        format!(
            "read only after the decoder's `{}` clean-up, which simpler phone readers lack: serve the \
             picture as rendered, dark modules on white, without scaling, noise or JPEG compression",
            info.strategy
        ),
    )
}

fn otp(payload: &str) -> Criterion {
    match Otp::decode(payload) {
        Ok(_) => criterion(
            "otp",
            Verdict::Pass,
            format!("a well-formed OTP: {OTP_CHARS} characters of base64, format version 0x01 (OTP-001)"),
        ),
        Err(e) => {
            let hint = if payload.trim() != payload && Otp::decode(payload.trim()).is_ok() {
                "it is an OTP with whitespace around it: put the OTP in the code exactly, with nothing added"
                    .to_owned()
            } else {
                format!(
                    "a portal's code must carry exactly the {OTP_CHARS}-character OTP from the relying-party \
                     API, with no URL, prefix or whitespace around it (OTP-003)"
                )
            };
            criterion(
                "otp",
                Verdict::Fail,
                format!("the payload ({} characters) is not an OTP: {e}; {hint}", payload.chars().count()),
            )
        }
    }
}

/// Smallest version holding `payload` as one byte-mode segment at `level`, if any does.
fn byte_mode_version(payload: &str, level: EcLevel) -> Option<u8> {
    let code = super::encode(payload, level).ok()?;
    match code.version() {
        qrcode::Version::Normal(v) => u8::try_from(v).ok(),
        qrcode::Version::Micro(_) => None,
    }
}

fn version(info: &QrInfo, min_version: Option<u8>) -> Criterion {
    let v = info.version;
    let side = info.side_modules();
    match min_version {
        Some(min) if v > min => criterion(
            "version",
            Verdict::Warn,
            format!(
                "version {v} ({side} modules a side) where version {min} holds this payload at level {}: the \
                 larger symbol gets smaller modules at the same picture size; let the encoder choose the \
                 smallest version",
                info.ec_level
            ),
        ),
        Some(min) if v < min => criterion(
            "version",
            Verdict::Pass,
            format!("version {v} ({side} modules a side), smaller than byte mode allows (see byte mode)"),
        ),
        Some(_) => criterion(
            "version",
            Verdict::Pass,
            format!(
                "version {v} ({side} modules a side), the smallest that holds this payload in byte mode at \
                 level {}",
                info.ec_level
            ),
        ),
        None => criterion("version", Verdict::Pass, format!("version {v} ({side} modules a side)")),
    }
}

fn byte_mode(gray: &GrayImage, info: &QrInfo, geometry: &Geometry, min_version: Option<u8>) -> Criterion {
    let len = info.payload.len();
    if min_version.is_none_or(|min| info.version < min) {
        return criterion(
            "byte_mode",
            Verdict::Fail,
            format!(
                "version {} cannot hold the {len}-byte payload in byte mode at level {}: the encoder used \
                 numeric or alphanumeric segments; OTP-003 requires the OTP in byte mode (most libraries \
                 have a byte or binary mode option)",
                info.version, info.ec_level
            ),
        );
    }
    let Some(u) = geometry.upright else {
        return criterion(
            "byte_mode",
            Verdict::Warn,
            "not checked: the code is rotated or skewed in the picture; check the picture the portal \
             serves"
                .to_owned(),
        );
    };
    let Some(expected) = byte_mode_symbol(&info.payload, info) else {
        return criterion(
            "byte_mode",
            Verdict::Warn,
            "not checked: the byte-mode symbol could not be rebuilt for comparison".to_owned(),
        );
    };
    let n = geometry.modules;
    let centre = |start: u32, m: f64, i: u32| f64::from(start) + (f64::from(i) + 0.5) * m;
    let differ = (0..n)
        .flat_map(|my| (0..n).map(move |mx| (mx, my)))
        .zip(expected.iter())
        .filter(|&((mx, my), &want)| {
            let p = [centre(u.left, u.module.0, mx), centre(u.top, u.module.1, my)];
            pixel_at(gray, p).map(|v| geometry.is_ink(v)) != Some(want)
        })
        .count();
    if differ == 0 {
        return criterion(
            "byte_mode",
            Verdict::Pass,
            "the payload as one byte-mode segment, module for module (OTP-003)".to_owned(),
        );
    }
    criterion(
        "byte_mode",
        Verdict::Warn,
        format!(
            "{differ} of {} modules differ from the payload as one byte-mode segment at version {}, \
             level {}, \
             mask {}: the encoder split the payload into several segments, added an ECI header, or the \
             picture is damaged; OTP-003 asks for exactly the OTP in byte mode",
            n * n,
            info.version,
            info.ec_level,
            info.mask
        ),
    )
}

/// The modules (row by row, dark = true) of `payload` as one byte-mode segment at the version,
/// level and mask the picture has; `None` when the payload does not fit that version and level.
pub fn byte_mode_symbol(payload: &str, info: &QrInfo) -> Option<Vec<bool>> {
    use qrcode::canvas::{Canvas, MaskPattern};
    let version = qrcode::Version::Normal(i16::from(info.version));
    let level = info.ec_level.to_qrcode();
    let mut bits = qrcode::bits::Bits::new(version);
    bits.push_byte_data(payload.as_bytes()).ok()?;
    bits.push_terminator(level).ok()?;
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, level).ok()?;
    let mut canvas = Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    // The mask number read from the format bits is ISO/IEC 18004's pattern reference.
    let pattern = match info.mask {
        0 => MaskPattern::Checkerboard,
        1 => MaskPattern::HorizontalLines,
        2 => MaskPattern::VerticalLines,
        3 => MaskPattern::DiagonalLines,
        4 => MaskPattern::LargeCheckerboard,
        5 => MaskPattern::Fields,
        6 => MaskPattern::Diamonds,
        _ => MaskPattern::Meadow,
    };
    canvas.apply_mask(pattern);
    Some(canvas.into_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect())
}

fn ec_level(level: EcLevel) -> Criterion {
    match level {
        EcLevel::L => criterion(
            "ec_level",
            Verdict::Warn,
            "level L restores only about 7 % of the symbol: glare or a smudged screen can defeat it; render \
             level M as the reference portal does (OTP-004)"
                .to_owned(),
        ),
        EcLevel::M => criterion(
            "ec_level",
            Verdict::Pass,
            "level M, as the reference portal renders (OTP-004)".to_owned(),
        ),
        EcLevel::Q | EcLevel::H => criterion(
            "ec_level",
            Verdict::Pass,
            format!(
                "level {level}: more robust than the reference portal's M, at the cost of a larger symbol"
            ),
        ),
    }
}

fn quiet_zone(geometry: &Geometry) -> Criterion {
    let (Some(q), Some(u)) = (geometry.quiet, geometry.upright) else {
        return criterion(
            "quiet_zone",
            Verdict::Warn,
            "not measured: the code is rotated or skewed in the picture, or its finder patterns are \
             damaged; check the picture the portal serves"
                .to_owned(),
        );
    };
    let sides = [
        ("left", q.left, u.module.0, q.to_edge[0]),
        ("top", q.top, u.module.1, q.to_edge[1]),
        ("right", q.right, u.module.0, q.to_edge[2]),
        ("bottom", q.bottom, u.module.1, q.to_edge[3]),
    ];
    let all = sides.iter().map(|(name, modules, _, _)| format!("{name} {}", round_to(*modules, 10.0)));
    let all = format!("{} modules", all.collect::<Vec<_>>().join(", "));
    // A twentieth of a module of slack absorbs the rounding of a non-integer module size.
    let short: Vec<(&str, f64, bool)> = sides
        .iter()
        .filter(|(_, modules, _, _)| *modules < REQUIRED_QUIET_MODULES - 0.05)
        .map(|(name, modules, px, to_edge)| {
            (*name, ((REQUIRED_QUIET_MODULES - modules) * px).ceil(), *to_edge)
        })
        .collect();
    // `place` is "on the left" and so on, or "on every side" when all four need the same.
    let fix = |place: &str, add: f64, to_edge: bool| {
        if to_edge {
            format!("add {add} px of white {place}")
        } else {
            format!("move the dark content {place} {add} px further away")
        }
    };
    let short: Vec<String> = match short.as_slice() {
        [(_, add, edge), rest @ ..]
            if rest.len() == 3 && rest.iter().all(|(_, a, e)| a == add && e == edge) =>
        {
            vec![fix("on every side", *add, *edge)]
        }
        _ => short.iter().map(|(name, add, edge)| fix(&format!("on the {name}"), *add, *edge)).collect(),
    };
    if short.is_empty() {
        return criterion("quiet_zone", Verdict::Pass, format!("{all}: at least 4 on every side"));
    }
    criterion(
        "quiet_zone",
        Verdict::Fail,
        format!(
            "{all}; ISO/IEC 18004 and OTP-004 ask for 4 modules of light margin on every side, in the \
             picture \
             itself (the page around it may be dark or busy): {}",
            short.join(", ")
        ),
    )
}

fn module_size(geometry: &Geometry) -> Criterion {
    let m = geometry.module_px();
    let shown = round_to(m, 100.0);
    let symbol = round_to(m * f64::from(geometry.modules), 1.0);
    if m < MIN_MODULE_PX {
        return criterion(
            "module_size",
            Verdict::Fail,
            format!(
                "{shown} px a module ({symbol} px for the symbol): too small to read reliably, and a browser \
                 scaling it up blurs the modules; render 8 px a module (OTP-004)"
            ),
        );
    }
    if m < REFERENCE_MODULE_PX - 0.05 {
        return criterion(
            "module_size",
            Verdict::Warn,
            format!(
                "{shown} px a module ({symbol} px for the symbol), below the reference's 8: the code is \
                 small \
                 on screen and frail under blur and distance; render 8 px a module (OTP-004)"
            ),
        );
    }
    if let Some(u) = geometry.upright {
        let (mx, my) = u.module;
        if (mx - my).abs() > 0.05 * m {
            return criterion(
                "module_size",
                Verdict::Warn,
                format!(
                    "modules are {} x {} px: the picture was stretched; keep its aspect ratio",
                    round_to(mx, 100.0),
                    round_to(my, 100.0)
                ),
            );
        }
        if (m - m.round()).abs() > 0.1 {
            return criterion(
                "module_size",
                Verdict::Warn,
                format!(
                    "{shown} px a module, not a whole number: the picture was resampled, which blurs module \
                     edges; render a whole number of pixels a module (8) and show the picture at its size"
                ),
            );
        }
    }
    criterion("module_size", Verdict::Pass, format!("{shown} px a module ({symbol} px for the symbol)"))
}

fn colours(img: &DynamicImage, gray: &GrayImage, geometry: &Geometry) -> Criterion {
    let (x0, y0, x1, y1) = match geometry.upright {
        Some(u) => (u.left, u.top, u.right, u.bottom),
        None => bounding_box(gray, &geometry.corners),
    };
    let (mut dark, mut light) = ([0u64; 256], [0u64; 256]);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = gray.get_pixel(x, y).0[0];
            let hist = if p <= geometry.threshold { &mut dark } else { &mut light };
            hist[usize::from(p)] += 1;
        }
    }
    let contrast = i32::from(median(&light)) - i32::from(median(&dark));
    let transparent = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    let mut problems = Vec::new();
    if !geometry.ink_is_dark {
        problems.push(
            "light modules on a dark background: many phone readers only look for dark modules; draw dark \
             modules on white (OTP-004: black on white)"
                .to_owned(),
        );
    }
    if contrast < 128 {
        problems.push(format!(
            "low contrast ({contrast} grey levels of 255 between the modules and the background): use black \
             on white"
        ));
    }
    if transparent {
        problems.push(
            "transparent pixels: on a dark page (dark mode) they show dark and the code vanishes; give the \
             picture an opaque white background"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        return criterion(
            "colours",
            Verdict::Pass,
            format!("dark modules on a light background, {contrast} grey levels of 255 apart"),
        );
    }
    criterion("colours", Verdict::Warn, problems.join("; "))
}

/// Median of a histogram.
fn median(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    let mut acc = 0;
    let index = hist.iter().position(|&c| {
        acc += c;
        acc * 2 > total
    });
    index.and_then(|i| u8::try_from(i).ok()).unwrap_or(0)
}

/// What about the picture, worse than the reference, could explain a camera row it loses.
fn camera_hint(info: &QrInfo, geometry: &Geometry) -> String {
    let mut causes = Vec::new();
    let m = geometry.module_px();
    if m < REFERENCE_MODULE_PX - 0.05 {
        causes.push(format!("{} px modules (8 would help)", round_to(m, 100.0)));
    }
    if geometry
        .quiet
        .is_some_and(|q| q.left.min(q.top).min(q.right).min(q.bottom) < REQUIRED_QUIET_MODULES - 0.05)
    {
        causes.push("a quiet zone under 4 modules".to_owned());
    }
    if info.ec_level == EcLevel::L {
        causes.push("level L (M would help)".to_owned());
    }
    if !geometry.ink_is_dark {
        causes.push("inverted colours".to_owned());
    }
    if causes.is_empty() {
        "the reference rendering (`mobauth qr encode`) survives it; compare the two pictures".to_owned()
    } else {
        format!("the reference rendering survives it; this picture has {}", causes.join(", "))
    }
}

fn camera_row(row: &Disturbance, scene: &GrayImage, payload: &str, hint: &str) -> Criterion {
    let mut rng = rng::seeded(rng::derive_seed(CAMERA_SEED, row.id));
    // PNG is lossless, so its pixels are decoded as they are, sparing an encode and a decode
    // (a tenth of the grade's time); JPEG goes through the file, whose artefacts are the point.
    let outcome = match row.apply(scene, &mut rng) {
        camera::Sample::Png(img) => super::inspect_image(&img),
        jpeg @ camera::Sample::Jpeg(..) => jpeg.encode().and_then(|bytes| super::inspect(&bytes)),
    };
    let (verdict, reason) = match outcome {
        Ok(info) if info.payload == payload => {
            (Verdict::Pass, "still decodes to the same payload".to_owned())
        }
        Ok(_) => (Verdict::Fail, format!("decodes to a different payload; {hint}")),
        Err(e) => (Verdict::Fail, format!("no longer decodes ({e}); {hint}")),
    };
    Criterion { id: camera_id(row), name: camera_name(row), verdict, reason }
}
