//! The decoding strategies: cheap image clean-ups (median filter, inversion, adaptive and Otsu
//! thresholds, contrast stretch, upscale) and the ordered table of them, [`STRATEGIES`], that the
//! pipeline (in `decode.rs`) tries in turn; also the downscale to the working size.

use image::GrayImage;
use image::imageops::{self, FilterType};

use crate::inspect::clamp_u8;

/// One clean-up step: a pure function from greyscale to greyscale. `None` means "does not
/// apply to this image" (an upscale of an already large image, say) and skips the strategy.
type Step = fn(&GrayImage) -> Option<GrayImage>;

/// A named sequence of steps applied before handing the image to rqrr.
pub(crate) struct Strategy {
    pub(crate) name: &'static str,
    pub(crate) steps: &'static [Step],
}

/// The decoding pipeline, tried in order until one strategy yields a payload. Cheap and
/// likely first: a picture that is merely upright and sharp costs one rqrr pass (a pixel-exact
/// render none: the fast path in `aligned.rs` reads it before this table). Adding a strategy is
/// one line.
///
/// Each entry earned its place on a measured disturbance that the entries before it miss
/// (the rows of [`camera::STANDARD`](crate::camera::STANDARD) and
/// [`camera::HARSH`](crate::camera::HARSH), checked by `tests/it/qr_disturbances.rs`;
/// `examples/qr_bench.rs` prints which entry read each):
/// - median: salt-and-pepper noise breaks rqrr's finder-pattern run-length scan; a 3x3 median
///   removes isolated pixels and keeps 3+ px modules intact.
/// - invert: light modules on dark (dark-mode pages); rqrr only looks for dark finders.
/// - adaptive: a 2-D local-mean threshold rescues codes with 2-3 px modules (and noise,
///   after a median) where rqrr's own row-wise running mean smears them.
/// - stretch: contrast below ~20 grey levels (130 vs 140 after JPEG).
/// - otsu: a global cut for heavy blur plus JPEG, and, after a median, for low contrast with
///   noise; with an invert for the same on a dark background.
/// - upscale: modules under 2 px (a 0.2 downscale), which rqrr's sampling misses.
pub(crate) const STRATEGIES: &[Strategy] = &[
    Strategy { name: "plain", steps: &[] },
    Strategy { name: "median", steps: &[median3] },
    Strategy { name: "invert", steps: &[invert] },
    Strategy { name: "median+invert", steps: &[median3, invert] },
    Strategy { name: "adaptive", steps: &[adaptive_threshold] },
    Strategy { name: "median+adaptive", steps: &[median3, adaptive_threshold] },
    Strategy { name: "stretch", steps: &[stretch_contrast] },
    Strategy { name: "otsu", steps: &[otsu_threshold] },
    Strategy { name: "median+otsu", steps: &[median3, otsu_threshold] },
    Strategy { name: "median+otsu+invert", steps: &[median3, otsu_threshold, invert] },
    Strategy { name: "upscale", steps: &[upscale_if_small] },
];

/// Names of the decoding strategies, in the order they are tried (for diagnostics).
#[must_use]
pub fn strategy_names() -> Vec<&'static str> {
    STRATEGIES.iter().map(|s| s.name).collect()
}

/// 3x3 median, edges clamped.
fn median3(img: &GrayImage) -> Option<GrayImage> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let raw = img.as_raw();
    let (wu, hu) = (w as usize, h as usize);
    let mut out = vec![0u8; raw.len()];
    for y in 0..hu {
        let rows = [y.saturating_sub(1), y, (y + 1).min(hu - 1)];
        for x in 0..wu {
            let cols = [x.saturating_sub(1), x, (x + 1).min(wu - 1)];
            let mut win = [0u8; 9];
            for (i, &ry) in rows.iter().enumerate() {
                for (j, &cx) in cols.iter().enumerate() {
                    win[i * 3 + j] = raw[ry * wu + cx];
                }
            }
            out[y * wu + x] = *win.select_nth_unstable(4).1;
        }
    }
    GrayImage::from_raw(w, h, out)
}

/// Bradley-Roth local-mean threshold: a pixel is dark if it is 15 % below the mean of a
/// window about 1/8 of the shorter side, computed from an integral image (O(pixels)).
fn adaptive_threshold(img: &GrayImage) -> Option<GrayImage> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let (wu, hu) = (w as usize, h as usize);
    let raw = img.as_raw();
    // Integral image with a zero row and column in front; u64 so no image size overflows it.
    let stride = wu + 1;
    let mut integral = vec![0u64; stride * (hu + 1)];
    for y in 0..hu {
        let mut row_sum = 0u64;
        for x in 0..wu {
            row_sum += u64::from(raw[y * wu + x]);
            integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row_sum;
        }
    }
    let half = (wu.min(hu) / 16).max(4);
    let mut out = vec![0u8; raw.len()];
    for y in 0..hu {
        let (y0, y1) = (y.saturating_sub(half), (y + half + 1).min(hu));
        for x in 0..wu {
            let (x0, x1) = (x.saturating_sub(half), (x + half + 1).min(wu));
            let count = ((x1 - x0) * (y1 - y0)) as u64;
            let sum = integral[y1 * stride + x1] + integral[y0 * stride + x0]
                - integral[y0 * stride + x1]
                - integral[y1 * stride + x0];
            let dark = u64::from(raw[y * wu + x]) * count * 100 < sum * 85;
            out[y * wu + x] = if dark { 0 } else { 255 };
        }
    }
    GrayImage::from_raw(w, h, out)
}

/// 256-bin histogram.
fn histogram(img: &GrayImage) -> [u64; 256] {
    let mut hist = [0u64; 256];
    for &p in img.as_raw() {
        hist[usize::from(p)] += 1;
    }
    hist
}

/// Linear stretch of the 1st..99th percentile to 0..255 (percentiles, not min/max, so a few
/// noise pixels cannot pin the range). Skipped when the image already spans the range.
fn stretch_contrast(img: &GrayImage) -> Option<GrayImage> {
    let hist = histogram(img);
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let cut = total / 100;
    let mut acc = 0;
    let lo = hist.iter().position(|&c| {
        acc += c;
        acc > cut
    })?;
    acc = 0;
    let hi = 255
        - hist.iter().rev().position(|&c| {
            acc += c;
            acc > cut
        })?;
    if hi <= lo || (lo < 16 && hi > 239) {
        return None;
    }
    let (lo, span) = (u32::from(lo as u8), u32::from((hi - lo) as u8));
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = clamp_u8(u32::from(*p).saturating_sub(lo) * 255 / span);
    }
    Some(out)
}

/// Global Otsu threshold: the cut that best separates the histogram into two classes.
fn otsu_threshold(img: &GrayImage) -> Option<GrayImage> {
    let threshold = otsu_level(&histogram(img))?;
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = if *p <= threshold { 0 } else { 255 };
    }
    Some(out)
}

/// Otsu's cut of a histogram: grey levels up to it are one class, above it the other. `None`
/// for an empty histogram.
pub(crate) fn otsu_level(hist: &[u64; 256]) -> Option<u8> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w_b, mut sum_b, mut best, mut threshold) = (0.0f64, 0.0f64, -1.0f64, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c as f64;
        if w_b == 0.0 {
            continue;
        }
        let w_f = total as f64 - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let (m_b, m_f) = (sum_b / w_b, (sum_all - sum_b) / w_f);
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            threshold = u8::try_from(t).unwrap_or(u8::MAX);
        }
    }
    Some(threshold)
}

fn invert(img: &GrayImage) -> Option<GrayImage> {
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = 255 - *p;
    }
    Some(out)
}

/// Largest working image, in pixels (2 Mi, 1448 x 1448; a full-HD screenshot fits). Bigger
/// images are downscaled before the pipeline runs: rqrr's cost grows faster than the pixel
/// count (see `Metered` in `decode.rs`), and the OTP's version-5 code a quarter as wide as a
/// 40 MP photo still gets about 9 px modules at this size.
const WORK_MAX_PIXELS: u64 = 1 << 21;

/// Longer side at or below which an image counts as small (worth an upscale).
const SMALL_SIDE: u32 = 1_000;

/// Downscales an image above [`WORK_MAX_PIXELS`] to fit, keeping its aspect ratio.
pub(crate) fn fit_working_size(img: GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels <= WORK_MAX_PIXELS {
        return img;
    }
    let scale = (WORK_MAX_PIXELS as f64 / pixels as f64).sqrt();
    // Rounded down, so the result is within the limit; at least 1 px a side.
    let nw = ((f64::from(w) * scale) as u32).max(1);
    let nh = ((f64::from(h) * scale) as u32).max(1);
    // Triangle filtering with image's support scaling averages the dropped pixels instead of
    // skipping them, which also smooths sensor noise.
    imageops::resize(&img, nw, nh, FilterType::Triangle)
}

/// Doubles a small image (bilinear), giving rqrr more samples per module.
fn upscale_if_small(img: &GrayImage) -> Option<GrayImage> {
    let (w, h) = img.dimensions();
    if w.max(h) > SMALL_SIDE || w == 0 || h == 0 {
        return None;
    }
    Some(imageops::resize(img, w * 2, h * 2, FilterType::Triangle))
}
