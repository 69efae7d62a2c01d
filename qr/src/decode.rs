//! The decoding pipeline: a clean render is read directly by the fast path of [`aligned`];
//! anything else goes to the strategies of [`STRATEGIES`], each of which prepares the working
//! image for one budgeted rqrr pass, until a code is read. A found code's metadata becomes a
//! [`QrInfo`] and its corners are mapped back to the input's pixels.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use image::{GenericImage, GenericImageView, GrayImage, Luma};

use crate::aligned;
use crate::cleanup::{STRATEGIES, Strategy, fit_working_size};
use crate::{EcLevel, QrError, QrInfo};

/// Outcome of one rqrr pass over one prepared image.
enum Pass {
    /// A grid decoded; its metadata, raw payload bytes and corners (top-left, top-right,
    /// bottom-right, bottom-left, in the prepared image's pixels).
    Read(rqrr::MetaData, Vec<u8>, [rqrr::Point; 4]),
    /// Grids were found, none decoded; the last complaint.
    Unreadable(String),
    /// No grid found.
    Nothing,
    /// The pass ran out of its work budget and was abandoned.
    OverBudget,
}

/// Pixel accesses one rqrr pass may make, per pixel of the image it searches. Finding and
/// reading a code takes 6 to 12 (thresholding touches each pixel four times, the finder scan
/// once); pathological content takes thousands (see [`Metered`]).
const PASS_BUDGET_PER_PIXEL: u64 = 32;
/// Pixel accesses the whole pipeline may make, per pixel of the working image: enough for
/// every strategy at a normal cost (ten passes at 12 plus an upscaled one at 4 x 12), while a
/// handful of runaway passes exhaust it.
const TOTAL_BUDGET_PER_PIXEL: u64 = 192;
/// Budget floor for one pass, so tiny images (where rqrr's fixed costs dominate) are never
/// starved. The total floor is eight of these.
const PASS_BUDGET_MIN: u64 = 1 << 20;

/// A greyscale image that counts rqrr's pixel accesses against a shared budget.
///
/// rqrr's cost is not linear in the image size. Its region flood fill keeps at most 251
/// regions labelled (the labels are pixel values); on noise-like content with many candidate
/// finder patterns it evicts and re-fills large regions over and over. Measured in release,
/// before this meter: one pass over a 768 x 768 noise image upscaled x2 took 14.5 s, one over
/// 1600 x 1600 block noise 47 s, and the pipeline on 4000 x 4000 noise did not finish in ten
/// minutes, whereas a real code is found in tens of milliseconds.
/// A pixel cap alone therefore does not bound decoding of untrusted files; this meter does.
/// When the budget is spent the access unwinds with [`BudgetExhausted`] (through
/// `resume_unwind`, which skips the panic hook, so nothing is printed) and [`rqrr_pass`]
/// catches it. The budget is shared (`Rc`) because rqrr clones the image while grouping
/// finder patterns.
///
/// With `panic = "abort"` unwinding is impossible, so the meter does not stop the pass: the
/// decode stays correct but is only bounded by [`MAX_PIXELS`](crate::MAX_PIXELS).
struct Metered {
    img: GrayImage,
    budget: Rc<Cell<u64>>,
}

/// rqrr clones the whole image once per candidate group of finder patterns, which is the
/// other superlinear cost on busy content: a clone is charged one access per pixel.
impl Clone for Metered {
    fn clone(&self) -> Self {
        let pixels = u64::from(self.img.width()) * u64::from(self.img.height());
        self.spend(pixels);
        Self { img: self.img.clone(), budget: Rc::clone(&self.budget) }
    }
}

/// Unwind payload of a pass that spent its budget.
struct BudgetExhausted;

impl Metered {
    fn spend(&self, accesses: u64) {
        match self.budget.get().checked_sub(accesses) {
            Some(left) => self.budget.set(left),
            None if cfg!(panic = "unwind") => panic::resume_unwind(Box::new(BudgetExhausted)),
            None => {}
        }
    }
}

impl GenericImageView for Metered {
    type Pixel = Luma<u8>;

    fn dimensions(&self) -> (u32, u32) {
        self.img.dimensions()
    }

    fn get_pixel(&self, x: u32, y: u32) -> Luma<u8> {
        self.spend(1);
        *self.img.get_pixel(x, y)
    }
}

impl GenericImage for Metered {
    fn get_pixel_mut(&mut self, x: u32, y: u32) -> &mut Luma<u8> {
        self.spend(1);
        self.img.get_pixel_mut(x, y)
    }

    fn put_pixel(&mut self, x: u32, y: u32, pixel: Luma<u8>) {
        self.spend(1);
        self.img.put_pixel(x, y, pixel);
    }

    fn blend_pixel(&mut self, x: u32, y: u32, pixel: Luma<u8>) {
        // Luma has no alpha: blending is overwriting.
        self.put_pixel(x, y, pixel);
    }
}

/// One rqrr pass: detect grids, return the first that decodes, within `budget` pixel
/// accesses. Also returns the accesses spent.
///
/// Besides the budget unwind, this catches rqrr's own panics: it has open ones on adversarial
/// images (an assertion in its perspective maths, rqrr issue #54, and `expect`s on float
/// comparisons). A bug there becomes a failed pass instead of a crashed harness; the default
/// panic hook still prints it, which is the right noise for a bug.
fn rqrr_pass(img: GrayImage, budget: u64) -> (Pass, u64) {
    let left = Rc::new(Cell::new(budget));
    let metered = Metered { img, budget: Rc::clone(&left) };
    let run = move || {
        let mut prepared = rqrr::PreparedImage::prepare(metered);
        let grids = prepared.detect_grids();
        let mut complaint = None;
        for grid in &grids {
            let mut bytes = Vec::new();
            match grid.decode_to(&mut bytes) {
                Ok(meta) => return Pass::Read(meta, bytes, grid.bounds),
                Err(e) => complaint = Some(e.to_string()),
            }
        }
        complaint.map_or(Pass::Nothing, Pass::Unreadable)
    };
    let pass = match panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(pass) => pass,
        Err(payload) if payload.is::<BudgetExhausted>() => Pass::OverBudget,
        Err(_) => Pass::Unreadable("the QR decoder panicked on this image".to_owned()),
    };
    (pass, budget - left.get().min(budget))
}

/// Applies a strategy's steps; `None` when one does not apply.
fn apply(strategy: &Strategy, img: &GrayImage) -> Option<GrayImage> {
    let mut current = img.clone();
    for step in strategy.steps {
        current = step(&current)?;
    }
    Some(current)
}

/// Corners of a located symbol in the searched image's pixels: top-left, top-right,
/// bottom-right, bottom-left, as `[x, y]` (the module edges exactly from the fast path of
/// [`aligned`]; from the pipeline an estimate of rqrr's perspective fit, within a pixel or two on
/// an upright picture, see [`symbol_corners`]).
pub(crate) type Corners = [[f64; 2]; 4];

/// Runs the pipeline over a greyscale image.
pub(crate) fn read(gray: GrayImage) -> Result<QrInfo, QrError> {
    read_located(gray).map(|(info, _)| info)
}

/// [`read`], also returning where the symbol is in `gray`.
///
/// A clean render is read by the fast path of [`aligned`] first. The reads it makes count as the
/// first strategy's (`plain`: no clean-up of the picture), which is what they are; anything it
/// does not read, or reads into a payload that is not UTF-8, goes through the whole pipeline, so
/// its errors are the pipeline's.
pub(crate) fn read_located(gray: GrayImage) -> Result<(QrInfo, Corners), QrError> {
    if let Some((meta, bytes, corners)) = aligned::read(&gray)
        && let Ok(info) = info(PLAIN, meta, bytes)
    {
        return Ok((info, corners));
    }
    read_by_strategies(gray)
}

/// Name of the first strategy, the one without clean-up steps.
const PLAIN: &str = match STRATEGIES.first() {
    Some(plain) => plain.name,
    None => "plain",
};

/// The camera pipeline alone: each strategy of [`STRATEGIES`] in turn, within the budgets.
pub(crate) fn read_by_strategies(gray: GrayImage) -> Result<(QrInfo, Corners), QrError> {
    if gray.width() == 0 || gray.height() == 0 {
        return Err(QrError::NoCodeFound);
    }
    let (width, height) = gray.dimensions();
    let work = fit_working_size(gray);
    let pixels = |img: &GrayImage| u64::from(img.width()) * u64::from(img.height());
    let mut total = (8 * PASS_BUDGET_MIN).max(pixels(&work) * TOTAL_BUDGET_PER_PIXEL);
    let (mut unreadable, mut abandoned) = (None, 0);
    for strategy in STRATEGIES {
        if total == 0 {
            // Budget spent: the remaining strategies count as abandoned too.
            abandoned += 1;
            continue;
        }
        let Some(prepared) = apply(strategy, &work) else {
            continue;
        };
        let budget = PASS_BUDGET_MIN.max(pixels(&prepared) * PASS_BUDGET_PER_PIXEL);
        // Downscaling and upscaling keep the aspect ratio to within a pixel, so the corners map
        // back by the ratio of the sides.
        let (sx, sy) = (
            f64::from(width) / f64::from(prepared.width()),
            f64::from(height) / f64::from(prepared.height()),
        );
        let (pass, spent) = rqrr_pass(prepared, budget.min(total));
        total -= spent.min(total);
        match pass {
            Pass::Read(meta, bytes, bounds) => {
                let corners = bounds.map(|p| [f64::from(p.x) * sx, f64::from(p.y) * sy]);
                return info(strategy.name, meta, bytes).map(|info| {
                    let corners = symbol_corners(corners, info.side_modules());
                    (info, corners)
                });
            }
            Pass::Unreadable(reason) => unreadable = Some(reason),
            Pass::Nothing => {}
            Pass::OverBudget => abandoned += 1,
        }
    }
    // A located-but-unreadable code is the most useful thing to report, then abandoned work.
    Err(match unreadable {
        Some(reason) => QrError::CodeUnreadable { reason },
        None if abandoned > 0 => QrError::TooComplex { abandoned },
        None => QrError::NoCodeFound,
    })
}

/// rqrr's bounds map grid coordinates 0 and `side + 1` (quirc's convention), so only the
/// top-left one is the symbol's corner and the others lie a module beyond it (measured: a
/// 37-module symbol of 8 px modules at (32, 32) gets bounds up to 336, not 328). Pulls them in
/// along the sides to the symbol's own corners.
fn symbol_corners(bounds: Corners, side_modules: u32) -> Corners {
    let [tl, tr, br, bl] = bounds;
    let k = f64::from(side_modules) / (f64::from(side_modules) + 1.0);
    let toward = |p: [f64; 2]| [tl[0] + (p[0] - tl[0]) * k, tl[1] + (p[1] - tl[1]) * k];
    [tl, toward(tr), toward(br), toward(bl)]
}

/// One rqrr pass over `img` as it is (the `plain` strategy on a picture within the working
/// size): metadata, payload bytes and symbol corners, for the fast path's tests to compare with.
#[cfg(test)]
pub(crate) fn plain_pass(img: GrayImage) -> Option<(rqrr::MetaData, Vec<u8>, Corners)> {
    let budget =
        PASS_BUDGET_MIN.max(u64::from(img.width()) * u64::from(img.height()) * PASS_BUDGET_PER_PIXEL);
    match rqrr_pass(img, budget).0 {
        Pass::Read(meta, bytes, bounds) => {
            let corners = bounds.map(|p| [f64::from(p.x), f64::from(p.y)]);
            let side = u32::try_from(meta.version.to_size()).ok()?;
            Some((meta, bytes, symbol_corners(corners, side)))
        }
        _ => None,
    }
}

fn info(strategy: &'static str, meta: rqrr::MetaData, bytes: Vec<u8>) -> Result<QrInfo, QrError> {
    let bad =
        |what: &str| QrError::CodeUnreadable { reason: format!("decoder reported an impossible {what}") };
    let version =
        u8::try_from(meta.version.0).ok().filter(|v| (1..=40).contains(v)).ok_or_else(|| bad("version"))?;
    let ec_level = EcLevel::from_format_bits(meta.ecc_level).ok_or_else(|| bad("EC level"))?;
    let mask = u8::try_from(meta.mask).ok().filter(|m| *m < 8).ok_or_else(|| bad("mask"))?;
    let len = bytes.len();
    let payload = String::from_utf8(bytes).map_err(|_| QrError::NotUtf8 { len })?;
    Ok(QrInfo { version, ec_level, mask, payload, strategy })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RenderOptions, render_luma};

    #[test]
    fn a_pass_stops_when_its_budget_is_spent() {
        let img = render_luma("budget", &RenderOptions::default()).expect("short payload fits");
        let pixels = u64::from(img.width()) * u64::from(img.height());
        let (pass, spent) = rqrr_pass(img.clone(), pixels);
        assert!(matches!(pass, Pass::OverBudget));
        assert!(spent <= pixels, "spent {spent} of {pixels}");
        let (pass, spent) = rqrr_pass(img, pixels * PASS_BUDGET_PER_PIXEL);
        assert!(matches!(pass, Pass::Read(..)), "a clean code reads within the normal budget");
        assert!(spent < pixels * 16, "spent {spent} for {pixels} pixels");
    }
}
