//! QR codes: rendering the OTP the way the reference portal does, and reading it back from
//! whatever a phone camera (or a test) produces.
//!
//! The contract: *the QR code holds the OTP string as-is, in byte mode; the reference portal
//! renders error-correction level M, a 4-module quiet zone, 8 pixels a module, black on white,
//! as PNG (and SVG for pages).* [`RenderOptions::default`] is exactly that, and
//! [`render_png`], [`render_svg`] and [`render_luma`] draw it.
//!
//! Reading goes the other way: [`decode`] takes PNG or JPEG bytes (the format is sniffed from
//! the content, never from a file name) and returns the payload of the first code found;
//! [`inspect`] also reports version, error-correction level and mask, and [`grade`] checks a
//! portal's picture against the contract (quiet zone, module size, level, OTP payload) and
//! against the camera disturbances of [`camera`], for `mobauth qr check`.
//! The decoder underneath, `rqrr`, is a port of quirc and is fragile on its own: salt-and-pepper
//! noise, inverted colours, tiny modules or low contrast defeat it. So decoding runs a pipeline
//! of cheap image clean-ups (median filter, inversion, adaptive and Otsu thresholds, contrast
//! stretch, upscale; cheapest and likeliest first, see [`strategy_names`]) and stops at the
//! first that yields a payload.
//!
//! The input is untrusted (files people upload or photograph), so nothing here panics on input
//! and the work is bounded: images above [`MAX_PIXELS`] are refused from their header before any
//! pixel is decoded, those above 2 MP are downscaled before the search, and every rqrr pass
//! runs on a budget of pixel accesses, because rqrr's cost on noise-like content grows far
//! faster than the pixel count (one unbudgeted pass over a 768 x 768 noise image, upscaled, was
//! measured at 15 s). A search cut short that way is reported as [`QrError::TooComplex`].
//!
//! Like the rest of the crate this module is sans-I/O: bytes in, values out.

use std::cell::Cell;
use std::fmt;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{
    DynamicImage, ExtendedColorType, GenericImage, GenericImageView, GrayImage, ImageEncoder, ImageFormat,
    Luma,
};
use qrcode::bits::Bits;
use qrcode::render::Renderer;
use qrcode::render::svg;
use qrcode::{Color, QrCode};

/// Largest image [`decode`], [`decode_image`] and [`inspect`] accept, in pixels (40 megapixels:
/// a phone's default 12 MP photo fits, a full-resolution 48 MP capture does not). Checked from
/// the header, before any pixel is decoded.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Largest side, in pixels, a rendered image may have. Bounds [`RenderOptions`] so a careless
/// `module_px` cannot ask for gigabytes.
pub const MAX_RENDER_SIDE: u32 = 16_384;

pub mod camera;
mod grade;

pub use grade::{
    Criterion, MIN_MODULE_PX, QrGrade, QuietZone, REFERENCE_MODULE_PX, REQUIRED_QUIET_MODULES, Verdict,
    byte_mode_symbol, grade, grade_image,
};

/// Error-correction level of a QR code: how much of the symbol may be damaged and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum EcLevel {
    /// Low: about 7 % of codewords can be restored.
    L,
    /// Medium: about 15 %. The reference portal's level.
    #[default]
    M,
    /// Quartile: about 25 %.
    Q,
    /// High: about 30 %.
    H,
}

impl EcLevel {
    fn to_qrcode(self) -> qrcode::EcLevel {
        match self {
            Self::L => qrcode::EcLevel::L,
            Self::M => qrcode::EcLevel::M,
            Self::Q => qrcode::EcLevel::Q,
            Self::H => qrcode::EcLevel::H,
        }
    }

    /// rqrr reports the level as the two raw format bits, whose order is not L-M-Q-H:
    /// 00 is M, 01 is L, 10 is H, 11 is Q (ISO/IEC 18004).
    fn from_format_bits(bits: u16) -> Option<Self> {
        match bits {
            0 => Some(Self::M),
            1 => Some(Self::L),
            2 => Some(Self::H),
            3 => Some(Self::Q),
            _ => None,
        }
    }
}

impl fmt::Display for EcLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::L => "L",
            Self::M => "M",
            Self::Q => "Q",
            Self::H => "H",
        })
    }
}

/// How a QR code is drawn. `Default` is the reference portal's: level M, 4-module quiet zone,
/// 8 px a module, black on white.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    /// Error-correction level.
    pub ec_level: EcLevel,
    /// Width of the light border around the symbol, in modules (the standard asks for 4).
    pub quiet_zone_modules: u32,
    /// Side of one module, in pixels (SVG user units for [`render_svg`]). At least 1.
    pub module_px: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self { ec_level: EcLevel::M, quiet_zone_modules: 4, module_px: 8 }
    }
}

/// What [`inspect`] learnt about the first readable code in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QrInfo {
    /// Symbol version, 1..=40; the symbol is `17 + 4 * version` modules a side.
    pub version: u8,
    /// Error-correction level read from the format information.
    pub ec_level: EcLevel,
    /// Data mask pattern, 0..=7.
    pub mask: u8,
    /// The payload, as UTF-8 text.
    pub payload: String,
    /// Name of the decoding strategy that read it (see [`strategy_names`]); `"plain"` means the
    /// image needed no help. Diagnostic only: names may change between releases.
    pub strategy: &'static str,
}

impl QrInfo {
    /// Modules a side of the symbol, without quiet zone.
    #[must_use]
    pub fn side_modules(&self) -> u32 {
        17 + 4 * u32::from(self.version)
    }
}

/// Why a QR code could not be rendered or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The payload does not fit in a version-40 symbol at the requested level in byte mode.
    #[error("payload of {len} bytes does not fit in a QR code at level {ec_level}")]
    PayloadTooLong {
        /// Payload length in bytes.
        len: usize,
        /// The requested level (a lower level holds more).
        ec_level: EcLevel,
    },
    /// The render options are unusable (zero-size modules, or an image side above
    /// [`MAX_RENDER_SIDE`]).
    #[error("invalid render options: {reason}")]
    InvalidOptions {
        /// What is wrong with them.
        reason: String,
    },
    /// Building the symbol or encoding the picture failed for a reason other than length.
    #[error("QR rendering failed: {reason}")]
    RenderFailed {
        /// The underlying encoder's message.
        reason: String,
    },
    /// The bytes are not a PNG or JPEG image, or the image data is corrupt.
    #[error("unreadable image: {reason}")]
    UnreadableImage {
        /// What the image decoder said.
        reason: String,
    },
    /// The image is above [`MAX_PIXELS`]; it was refused before its pixels were decoded.
    #[error("image of {width}x{height} pixels is above the {max_pixels}-pixel limit")]
    ImageTooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit, [`MAX_PIXELS`].
        max_pixels: u64,
    },
    /// The image is fine but no QR code was located in it by any strategy.
    #[error("no QR code found in the image")]
    NoCodeFound,
    /// No code was found, and the search was cut short: on some clean-up strategies the
    /// decoder exceeded its work budget (noise-like or pathological content), so a code may
    /// have been missed. Decoding is bounded rather than left to run for minutes.
    #[error("no QR code found; the image is too busy to search fully ({abandoned} strategies abandoned)")]
    TooComplex {
        /// How many strategies were abandoned.
        abandoned: usize,
    },
    /// A QR code was located but its content could not be recovered (too damaged, or not a
    /// QR code after all).
    #[error("a QR code was found but could not be read: {reason}")]
    CodeUnreadable {
        /// The last decoder complaint, e.g. too many errors to correct.
        reason: String,
    },
    /// The code was read but its payload bytes are not UTF-8 text.
    #[error("the QR code payload ({len} bytes) is not UTF-8")]
    NotUtf8 {
        /// Payload length in bytes.
        len: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Builds the symbol in byte mode, smallest version that fits.
///
/// `QrCode::new` would split a base64 OTP into numeric/alphanumeric/byte segments to save a
/// few bits; the contract says byte mode, and some readers mishandle mixed segments, so the
/// bits are pushed by hand, trying versions upwards.
fn encode(payload: &str, ec_level: EcLevel) -> Result<QrCode, QrError> {
    let level = ec_level.to_qrcode();
    for version in 1..=40 {
        let mut bits = Bits::new(qrcode::Version::Normal(version));
        // Both calls fail with DataTooLong when this version is too small (the byte count
        // field is only 8 bits below version 10); then the next version is tried.
        if bits.push_byte_data(payload.as_bytes()).is_err() || bits.push_terminator(level).is_err() {
            continue;
        }
        return QrCode::with_bits(bits, level).map_err(|e| QrError::RenderFailed { reason: e.to_string() });
    }
    Err(QrError::PayloadTooLong { len: payload.len(), ec_level })
}

/// Side of the rendered picture in pixels, checked against [`MAX_RENDER_SIDE`].
fn rendered_side(code: &QrCode, opts: &RenderOptions) -> Result<u32, QrError> {
    if opts.module_px == 0 {
        return Err(QrError::InvalidOptions { reason: "module_px must be at least 1".to_owned() });
    }
    let modules = u64::try_from(code.width()).unwrap_or(u64::MAX);
    let side = modules
        .saturating_add(2 * u64::from(opts.quiet_zone_modules))
        .saturating_mul(u64::from(opts.module_px));
    match u32::try_from(side) {
        Ok(side) if side <= MAX_RENDER_SIDE => Ok(side),
        _ => Err(QrError::InvalidOptions {
            reason: format!("image side of {side} px is above {MAX_RENDER_SIDE} px"),
        }),
    }
}

/// Renders `payload` as an 8-bit greyscale image, black modules on white: exactly the pixels
/// [`render_png`] encodes. Tests disturb it with [`camera`].
///
/// # Errors
/// [`QrError::PayloadTooLong`], [`QrError::InvalidOptions`], [`QrError::RenderFailed`].
pub fn render_luma(payload: &str, opts: &RenderOptions) -> Result<GrayImage, QrError> {
    let code = encode(payload, opts.ec_level)?;
    let side = rendered_side(&code, opts)?;
    let modules = code.width();
    let colors = code.to_colors();
    let quiet = opts.quiet_zone_modules;
    let px = opts.module_px;
    // rendered_side bounded side * side, so the module index arithmetic below cannot overflow.
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / px, y / px);
        let inside = |m: u32| m.checked_sub(quiet).map(|m| m as usize).filter(|&m| m < modules);
        let dark = match (inside(mx), inside(my)) {
            (Some(cx), Some(cy)) => colors.get(cy * modules + cx) == Some(&Color::Dark),
            _ => false,
        };
        Luma([if dark { 0 } else { 255 }])
    }))
}

/// Renders `payload` as PNG bytes (8-bit greyscale, byte mode), the reference portal's picture
/// when `opts` is the default.
///
/// # Errors
/// As [`render_luma`], plus [`QrError::RenderFailed`] if PNG encoding fails.
pub fn render_png(payload: &str, opts: &RenderOptions) -> Result<Vec<u8>, QrError> {
    let img = render_luma(payload, opts)?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::L8)
        .map_err(|e| QrError::RenderFailed { reason: e.to_string() })?;
    Ok(out)
}

/// Renders `payload` as a standalone SVG document, black on white, `module_px` user units a
/// module (so `width`/`height` equal the PNG's pixel size).
///
/// # Errors
/// [`QrError::PayloadTooLong`], [`QrError::InvalidOptions`], [`QrError::RenderFailed`].
pub fn render_svg(payload: &str, opts: &RenderOptions) -> Result<String, QrError> {
    let code = encode(payload, opts.ec_level)?;
    rendered_side(&code, opts)?;
    let colors = code.to_colors();
    // Renderer::new asserts colors.len() == width^2, which QrCode guarantees.
    Ok(Renderer::<svg::Color<'_>>::new(&colors, code.width(), opts.quiet_zone_modules)
        .module_dimensions(opts.module_px, opts.module_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

// ---------------------------------------------------------------------------------------------
// Decoding: loading
// ---------------------------------------------------------------------------------------------

fn unreadable(reason: impl fmt::Display) -> QrError {
    QrError::UnreadableImage { reason: reason.to_string() }
}

fn check_size(width: u32, height: u32) -> Result<(), QrError> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(QrError::ImageTooLarge { width, height, max_pixels: MAX_PIXELS });
    }
    Ok(())
}

/// Decodes PNG or JPEG bytes, refusing anything else and anything above [`MAX_PIXELS`].
fn load(image_bytes: &[u8]) -> Result<DynamicImage, QrError> {
    if image_bytes.is_empty() {
        return Err(unreadable("no bytes"));
    }
    let reader = || -> Result<image::ImageReader<Cursor<&[u8]>>, QrError> {
        let reader =
            image::ImageReader::new(Cursor::new(image_bytes)).with_guessed_format().map_err(unreadable)?;
        match reader.format() {
            Some(ImageFormat::Png | ImageFormat::Jpeg) => Ok(reader),
            Some(other) => Err(unreadable(format!("{other:?} images are not accepted, only PNG or JPEG"))),
            None => Err(unreadable("not a PNG or JPEG image")),
        }
    };
    // Header first: a 100-byte PNG can claim to be 60000 x 60000 pixels.
    let (width, height) = reader()?.into_dimensions().map_err(unreadable)?;
    check_size(width, height)?;
    let mut reader = reader()?;
    let mut limits = image::Limits::default();
    // Backstop should the pixel data disagree with the header: dimensions as read, and
    // room for the largest sample layout (16-bit RGBA, 8 bytes a pixel).
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => QrError::ImageTooLarge { width, height, max_pixels: MAX_PIXELS },
        other => unreadable(other),
    })
}

/// Greyscale with transparency flattened onto white.
///
/// A transparent pixel's colour channels are arbitrary (often black), so dropping alpha would
/// turn a QR code whose light modules are transparent into a black square. Compositing onto
/// white is what a browser page with a white background shows.
fn flatten_to_luma(img: &DynamicImage) -> GrayImage {
    if !img.color().has_alpha() {
        return img.to_luma8();
    }
    let rgba = img.to_rgba8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let over_white = |c: u8| (u32::from(c) * a + 255 * (255 - a) + 127) / 255;
        // Rec. 709 luma, the same weights image's to_luma8 uses.
        let y = (2126 * over_white(r) + 7152 * over_white(g) + 722 * over_white(b) + 5000) / 10_000;
        Luma([clamp_u8(y)])
    })
}

fn clamp_u8(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

// ---------------------------------------------------------------------------------------------
// Decoding: strategies
// ---------------------------------------------------------------------------------------------

/// One clean-up step: a pure function from greyscale to greyscale. `None` means "does not
/// apply to this image" (an upscale of an already large image, say) and skips the strategy.
type Step = fn(&GrayImage) -> Option<GrayImage>;

/// A named sequence of steps applied before handing the image to rqrr.
struct Strategy {
    name: &'static str,
    steps: &'static [Step],
}

/// The decoding pipeline, tried in order until one strategy yields a payload. Cheap and
/// likely first: a clean render costs one rqrr pass. Adding a strategy is one line.
///
/// Each entry earned its place on a measured disturbance that the entries before it miss
/// (the rows of [`camera::STANDARD`] and [`camera::HARSH`], checked by
/// `tests/qr_disturbances.rs`; `examples/qr_bench.rs` prints which entry read each):
/// - median: salt-and-pepper noise breaks rqrr's finder-pattern run-length scan; a 3x3 median
///   removes isolated pixels and keeps 3+ px modules intact.
/// - invert: light modules on dark (dark-mode pages); rqrr only looks for dark finders.
/// - adaptive: a 2-D local-mean threshold rescues codes with 2-3 px modules (and noise,
///   after a median) where rqrr's own row-wise running mean smears them.
/// - stretch: contrast below ~20 grey levels (130 vs 140 after JPEG).
/// - otsu: a global cut for heavy blur plus JPEG, and, after a median, for low contrast with
///   noise; with an invert for the same on a dark background.
/// - upscale: modules under 2 px (a 0.2 downscale), which rqrr's sampling misses.
const STRATEGIES: &[Strategy] = &[
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
fn otsu_level(hist: &[u64; 256]) -> Option<u8> {
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
/// count (see [`Metered`]), and the OTP's version-5 code a quarter as wide as a 40 MP photo
/// still gets about 9 px modules at this size.
const WORK_MAX_PIXELS: u64 = 1 << 21;

/// Longer side at or below which an image counts as small (worth an upscale).
const SMALL_SIDE: u32 = 1_000;

/// Downscales an image above [`WORK_MAX_PIXELS`] to fit, keeping its aspect ratio.
fn fit_working_size(img: GrayImage) -> GrayImage {
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

// ---------------------------------------------------------------------------------------------
// Decoding: running rqrr
// ---------------------------------------------------------------------------------------------

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
/// decode stays correct but is only bounded by [`MAX_PIXELS`].
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
/// bottom-right, bottom-left, as `[x, y]` (an estimate from rqrr's perspective fit, within a
/// pixel or two on an upright picture; see [`symbol_corners`]).
type Corners = [[f64; 2]; 4];

/// Runs the pipeline over a greyscale image.
fn read(gray: GrayImage) -> Result<QrInfo, QrError> {
    read_located(gray).map(|(info, _)| info)
}

/// [`read`], also returning where the symbol is in `gray`.
fn read_located(gray: GrayImage) -> Result<(QrInfo, Corners), QrError> {
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

/// Reads the first QR code in PNG or JPEG bytes and returns its payload.
///
/// # Errors
/// [`QrError::UnreadableImage`], [`QrError::ImageTooLarge`], [`QrError::NoCodeFound`],
/// [`QrError::TooComplex`], [`QrError::CodeUnreadable`], [`QrError::NotUtf8`].
pub fn decode(image_bytes: &[u8]) -> Result<String, QrError> {
    inspect(image_bytes).map(|info| info.payload)
}

/// Reads the first QR code in an already decoded image (alpha is flattened onto white).
///
/// # Errors
/// As [`decode`], except [`QrError::UnreadableImage`].
pub fn decode_image(img: &DynamicImage) -> Result<String, QrError> {
    inspect_image(img).map(|info| info.payload)
}

/// Like [`decode`], but also reports version, error-correction level, mask and the strategy
/// that read the code.
///
/// # Errors
/// As [`decode`].
pub fn inspect(image_bytes: &[u8]) -> Result<QrInfo, QrError> {
    inspect_image(&load(image_bytes)?)
}

/// Like [`decode_image`], but returns a [`QrInfo`].
///
/// # Errors
/// As [`decode_image`].
pub fn inspect_image(img: &DynamicImage) -> Result<QrInfo, QrError> {
    check_size(img.width(), img.height())?;
    read(flatten_to_luma(img))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bits_map_to_levels() {
        assert_eq!(EcLevel::from_format_bits(0), Some(EcLevel::M));
        assert_eq!(EcLevel::from_format_bits(1), Some(EcLevel::L));
        assert_eq!(EcLevel::from_format_bits(2), Some(EcLevel::H));
        assert_eq!(EcLevel::from_format_bits(3), Some(EcLevel::Q));
        assert_eq!(EcLevel::from_format_bits(4), None);
    }

    #[test]
    fn unusable_options_are_refused() {
        for opts in [
            RenderOptions { module_px: 0, ..RenderOptions::default() },
            RenderOptions { module_px: 1000, ..RenderOptions::default() },
            RenderOptions { quiet_zone_modules: u32::MAX, ..RenderOptions::default() },
        ] {
            assert!(matches!(render_luma("x", &opts), Err(QrError::InvalidOptions { .. })), "{opts:?}");
            assert!(matches!(render_svg("x", &opts), Err(QrError::InvalidOptions { .. })), "{opts:?}");
        }
    }

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
