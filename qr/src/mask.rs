//! Building a symbol with the data mask `qrcode` would choose, without its slow masking and
//! scoring.
//!
//! `QrCode::with_bits` draws the symbol, clones the canvas for each of the eight masks, masks it
//! and scores it (a boxed closure per module and window, coordinates wrapped on every access),
//! and keeps the mask with the lowest penalty. That was most of a render's time. Here `qrcode`
//! draws the canvas once (function patterns, data and error correction); its modules become bit
//! lines, by rows and by columns (dark, and maskable: data or still empty); each mask is a few
//! word operations a line plus the 30 format-information modules of that mask; and
//! [`penalty`](crate::penalty) scores the lines with `qrcode`'s rules to the letter (including
//! its `u16` arithmetic), keeping the first of the lowest scores as `Iterator::min_by_key` does. So the chosen mask and the picture are the same:
//! the unit tests compare every masked matrix with `qrcode`'s `apply_mask`, every score with a
//! plain transcription of `qrcode`'s rules, and whole symbols with `QrCode::with_bits`.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, Module};
use qrcode::{Color, EcLevel};

use crate::QrError;
use crate::clean_grid::{FORMAT_MASK, format_codeword};
use crate::penalty::{Line, MAX_SIDE, WORDS, bit, penalty, set};

/// A drawn, masked symbol: `width` modules a side, row-major colours.
pub(crate) struct Symbol {
    pub(crate) width: usize,
    pub(crate) colors: Vec<Color>,
}

/// What `QrCode::with_bits(bits, level)` builds, for a normal (not Micro) QR version.
pub(crate) fn build(bits: Bits, level: EcLevel) -> Result<Symbol, QrError> {
    let failed = |e: qrcode::types::QrError| QrError::RenderFailed { reason: e.to_string() };
    let version = bits.version();
    let n = usize::try_from(version.width()).ok().filter(|&n| n <= MAX_SIDE).ok_or_else(|| {
        QrError::RenderFailed { reason: format!("version {version:?} has no usable width") }
    })?;
    let data = bits.into_bytes();
    let (encoded, ec) = qrcode::ec::construct_codewords(&data, version, level).map_err(failed)?;
    let mut canvas = Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&encoded, &ec);
    let base = Unmasked::of(&canvas, n);
    let mut symbol = Masked::new(n);
    let mut best: Option<(u16, u8)> = None;
    // The masks in `qrcode`'s order (its `ALL_PATTERNS_QR`, patterns 000 to 111), which decides ties.
    for mask in 0..8 {
        base.mask_into(mask, level, &mut symbol);
        let score = penalty(&symbol.rows, &symbol.cols, n);
        // Strictly lower only: the first of equal scores wins, as in `Iterator::min_by_key`.
        if best.is_none_or(|(lowest, _)| score < lowest) {
            best = Some((score, mask));
        }
    }
    let (_, mask) = best.ok_or_else(|| QrError::RenderFailed { reason: "no mask applied".to_owned() })?;
    base.mask_into(mask, level, &mut symbol);
    Ok(Symbol { width: n, colors: symbol.colors() })
}

/// The canvas before masking, as lines: each module's colour (dark set) and whether a mask flips
/// it (data and error-correction modules, and the few left empty, which `qrcode` masks as if
/// light), by rows and by columns.
pub(crate) struct Unmasked {
    n: usize,
    dark: Masked,
    maskable: Masked,
}

/// A symbol's modules by rows and, transposed, by columns (`cols[x]` bit `y` is module (x, y)).
pub(crate) struct Masked {
    pub(crate) rows: Vec<Line>,
    pub(crate) cols: Vec<Line>,
}

impl Masked {
    fn new(n: usize) -> Self {
        Self { rows: vec![[0; WORDS]; n], cols: vec![[0; WORDS]; n] }
    }

    fn put(&mut self, x: usize, y: usize, dark: bool) {
        if let (Some(row), Some(col)) = (self.rows.get_mut(y), self.cols.get_mut(x)) {
            set(row, x, dark);
            set(col, y, dark);
        }
    }

    /// Row-major colours, as `Canvas::into_colors` gives them.
    pub(crate) fn colors(&self) -> Vec<Color> {
        let n = self.rows.len();
        let module = |row: &Line, x| if bit(row, x) { Color::Dark } else { Color::Light };
        self.rows.iter().flat_map(|row| (0..n).map(move |x| module(row, x))).collect()
    }
}

impl Unmasked {
    pub(crate) fn of(canvas: &Canvas, n: usize) -> Self {
        let (mut dark, mut maskable) = (Masked::new(n), Masked::new(n));
        // n is at most MAX_SIDE (192), so the coordinates fit an i16.
        let coords = (0..n).filter_map(|i| i16::try_from(i).ok().map(|c| (i, c)));
        for (y, cy) in coords.clone() {
            for (x, cx) in coords.clone() {
                let module = canvas.get(cx, cy);
                dark.put(x, y, module.is_dark());
                maskable.put(x, y, !matches!(module, Module::Masked(_)));
            }
        }
        Self { n, dark, maskable }
    }

    /// The symbol under `mask` (0..8, the pattern's number), as `qrcode`'s `apply_mask` leaves
    /// it: data modules flipped where the mask is dark, then the format information drawn.
    pub(crate) fn mask_into(&self, mask: u8, level: EcLevel, out: &mut Masked) {
        let n = self.n;
        // Every mask depends on the row only through `y % 12` (its periods are 2, 3, 4 and 6),
        // and on the column through `x % 12`; so twelve lines of each direction cover it.
        let along_rows: [Line; 12] = std::array::from_fn(|y| line(n, |x| mask_dark(mask, x, y)));
        let along_cols: [Line; 12] = std::array::from_fn(|x| line(n, |y| mask_dark(mask, x, y)));
        let lanes = [
            (&mut out.rows, &self.dark.rows, &self.maskable.rows, &along_rows),
            (&mut out.cols, &self.dark.cols, &self.maskable.cols, &along_cols),
        ];
        for (out, dark, maskable, pattern) in lanes {
            for (i, (o, (d, m))) in out.iter_mut().zip(dark.iter().zip(maskable)).enumerate() {
                let p = &pattern[i % 12];
                *o = std::array::from_fn(|w| d[w] ^ (m[w] & p[w]));
            }
        }
        // `qrcode`'s format number: level bits (L 01, M 00, Q 11, H 10) and mask, BCH-coded, masked.
        let level_bits = match level {
            EcLevel::L => 1,
            EcLevel::M => 0,
            EcLevel::Q => 3,
            EcLevel::H => 2,
        };
        let word = format_codeword((level_bits << 3) | u16::from(mask)) ^ FORMAT_MASK;
        // Bit 14 first, along qrcode's FORMAT_INFO_COORDS_QR_MAIN and _SIDE ((x, y); the side copy
        // runs up column 8 from the bottom, then along row 8 to the right edge).
        const MAIN: [(usize, usize); 15] = [
            (0, 8),
            (1, 8),
            (2, 8),
            (3, 8),
            (4, 8),
            (5, 8),
            (7, 8),
            (8, 8),
            (8, 7),
            (8, 5),
            (8, 4),
            (8, 3),
            (8, 2),
            (8, 1),
            (8, 0),
        ];
        for (k, &(x, y)) in MAIN.iter().enumerate() {
            let dark = word & (1 << (14 - k)) != 0;
            let (sx, sy) = if k < 7 { (8, n - 1 - k) } else { (n - 15 + k, 8) };
            out.put(x, y, dark);
            out.put(sx, sy, dark);
        }
    }
}

/// A line of side `n` whose module `i` is `dark(i)`.
fn line(n: usize, dark: impl Fn(usize) -> bool) -> Line {
    let mut line = [0; WORDS];
    for i in (0..n).filter(|&i| dark(i)) {
        set(&mut line, i, true);
    }
    line
}

/// `qrcode`'s mask functions (`mask_functions`), by column and row: whether the mask flips the
/// module.
fn mask_dark(mask: u8, x: usize, y: usize) -> bool {
    match mask {
        0 => (x + y).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (x + y).is_multiple_of(3),
        4 => ((y / 2) + (x / 3)).is_multiple_of(2),
        5 => (x * y) % 2 + (x * y) % 3 == 0,
        6 => ((x * y) % 2 + (x * y) % 3).is_multiple_of(2),
        _ => ((x + y) % 2 + (x * y) % 3).is_multiple_of(2),
    }
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;
