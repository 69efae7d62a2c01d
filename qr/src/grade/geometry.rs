//! Where the symbol is in a graded picture and how it is drawn: the colour threshold, whether the
//! modules are dark, and on an upright picture the exact edges, found by walking out of the
//! finder patterns, and the quiet zone on each side; also the scene the camera rows disturb.

use image::GrayImage;

use super::{REFERENCE_MODULE_PX, REQUIRED_QUIET_MODULES};
use crate::camera;
use crate::decode::Corners;

/// Largest picture the camera rows disturb, in pixels (1 Mi; see [`Geometry::surroundings`]).
const CAMERA_MAX_PIXELS: f64 = 1_048_576.0;
/// The symbol's edges and module size as measured on an upright picture.
#[derive(Debug, Clone, Copy)]
pub(super) struct Upright {
    /// First pixel column of the symbol.
    pub(super) left: u32,
    /// First pixel row of the symbol.
    pub(super) top: u32,
    /// One past the last pixel column.
    pub(super) right: u32,
    /// One past the last pixel row.
    pub(super) bottom: u32,
    /// Pixels per module, horizontally and vertically.
    pub(super) module: (f64, f64),
}

/// Quiet zone before rounding, in modules, and what ended each side.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quiet {
    pub(super) left: f64,
    pub(super) top: f64,
    pub(super) right: f64,
    pub(super) bottom: f64,
    /// Whether each side (left, top, right, bottom) ran into the image's edge rather than into
    /// a dark pixel.
    pub(super) to_edge: [bool; 4],
}

/// What the grade learnt about where the symbol is and how it is drawn.
#[derive(Debug, Clone)]
pub(super) struct Geometry {
    /// Modules a side.
    pub(super) modules: u32,
    /// The decoder's corners, in the picture's pixels.
    pub(super) corners: Corners,
    /// The cut between the two colours of the symbol's pixels.
    pub(super) threshold: u8,
    /// Whether the modules are darker than the background (false: inverted colours).
    pub(super) ink_is_dark: bool,
    /// Exact edges, when the symbol is upright and its finder patterns could be walked.
    pub(super) upright: Option<Upright>,
    /// Quiet zone, when `upright` is known.
    pub(super) quiet: Option<Quiet>,
}

impl Geometry {
    pub(super) fn measure(gray: &GrayImage, corners: &Corners, modules: u32) -> Self {
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

    pub(super) fn is_ink(&self, p: u8) -> bool {
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
    pub(super) fn module_px(&self) -> f64 {
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
    pub(super) fn surroundings(&self, gray: &GrayImage) -> GrayImage {
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
pub(super) fn bounding_box(gray: &GrayImage, corners: &Corners) -> (u32, u32, u32, u32) {
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
    let Some(cut) = crate::cleanup::otsu_level(&hist) else {
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

pub(super) fn pixel_at(gray: &GrayImage, p: [f64; 2]) -> Option<u8> {
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
