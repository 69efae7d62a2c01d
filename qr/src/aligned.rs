//! The fast path of decoding: a pixel-exact, upright render (the reference portal's own PNG:
//! black modules on white, a whole number of pixels a module, a quiet zone) read by sampling
//! its module grid directly, before any camera strategy runs.
//!
//! Why: the simulated devices of the suite scan nothing but such renders, and rqrr's search
//! (thresholding, finder flood fills, perspective fitting and grid fitness over every module)
//! was most of the suite's CPU time on them, for a picture whose grid is known to the pixel once
//! its bounding box is. Here one pass over the pixels finds the symbol's box and refuses any
//! grey between ink and paper; the module size comes from the top-left finder's top edge; each
//! module must be one colour throughout; the finder, separator and timing patterns must be where
//! an upright symbol has them. An error-free grid is then read by `clean_grid.rs` (the same
//! metadata and payload as rqrr, without rqrr's costly syndromes); any other grid by rqrr's own
//! decoder (format information BCH check, Reed-Solomon correction).
//!
//! The path never decides anything on doubt: any check failing, or the decoder refusing the
//! grid, returns `None` and the pipeline in `decode.rs` runs as if the path did not exist. On the
//! pictures it accepts, rqrr's plain pass samples the same module centres and gets the same
//! grid, so the payload is the same (the unit tests hold the two to that on a table of renders,
//! and to the path's refusal of disturbed ones).

use std::panic::{self, AssertUnwindSafe};

use image::GrayImage;

use crate::clean_grid;
use crate::decode::Corners;

/// Highest grey level that counts as ink. A clean render has only 0 and 255; the margin of a
/// sixteenth admits a render flattened from a translucent or colour source, never the edge greys
/// of a blurred or scaled one. Measured: with margins of a quarter (63 and 192) a picture scaled
/// to 25 % (2 px modules with filtered edges) passed every check, yet rqrr's plain pass misses it.
const DARK_MAX: u8 = 15;
/// Lowest grey level that counts as paper; anything strictly between the two refuses the picture.
const LIGHT_MIN: u8 = 240;
/// Light modules required on every side of the symbol. The contract asks for 4; 2 is what
/// rqrr's plain pass was measured to need on clean renders (the table in the tests holds the
/// path to reading no picture that pass misses), and what the pipeline's other tests render.
const QUIET_MODULES: usize = 2;
/// Smallest module, in pixels, the path reads: below it rqrr's plain pass misses codes (the
/// pipeline upscales those), and the path keeps to what that pass reads.
const MIN_MODULE_PX: usize = 2;

/// The sampled modules of a symbol, row-major, `true` for dark.
struct ModuleGrid {
    side: usize,
    dark: Vec<bool>,
}

impl ModuleGrid {
    fn at(&self, row: usize, col: usize) -> bool {
        self.dark.get(row * self.side + col).copied().unwrap_or(false)
    }
}

impl rqrr::BitGrid for ModuleGrid {
    fn size(&self) -> usize {
        self.side
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.at(y, x)
    }
}

/// The symbol's box in pixels: left and top edges, side; inclusive of its outermost modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SymbolBox {
    left: usize,
    top: usize,
    side: usize,
}

/// Reads a clean render: rqrr's metadata and payload bytes, and the symbol's corners in `gray`'s
/// pixels (top-left, top-right, bottom-right, bottom-left, on the module edges). `None` when the
/// picture is not a clean upright render or its grid does not decode; the caller then runs the
/// full pipeline.
pub(crate) fn read(gray: &GrayImage) -> Option<(rqrr::MetaData, Vec<u8>, Corners)> {
    let (width, height) = (gray.width() as usize, gray.height() as usize);
    let raw = gray.as_raw();
    let symbol = symbol_box(raw, width, height)?;
    let module = module_px(raw, width, symbol)?;
    let side = symbol.side / module;
    let quiet = QUIET_MODULES * module;
    let (right, bottom) = (symbol.left + symbol.side, symbol.top + symbol.side);
    if symbol.left < quiet || symbol.top < quiet || width - right < quiet || height - bottom < quiet {
        return None;
    }
    let grid = sample(raw, width, symbol, module, side)?;
    if !has_function_patterns(&grid) {
        return None;
    }
    // An error-free grid (every clean render) is read without rqrr's costly error correction;
    // anything else goes to rqrr's decoder, which works on the grid alone, so its cost is
    // bounded by the symbol's size. The catch is the same guard `decode.rs` keeps around rqrr
    // (a panic there is a failed read); `clean_grid` calls rqrr too.
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
        clean_grid::read(&grid).or_else(|| {
            let mut bytes = Vec::new();
            rqrr::Grid::new(grid).decode_to(&mut bytes).ok().map(|meta| (meta, bytes))
        })
    }))
    .ok()
    .flatten()?;
    let edge = |v: usize| v as f64;
    let corners = [
        [edge(symbol.left), edge(symbol.top)],
        [edge(right), edge(symbol.top)],
        [edge(right), edge(bottom)],
        [edge(symbol.left), edge(bottom)],
    ];
    Some((decoded.0, decoded.1, corners))
}

/// One pass over the pixels: the box around the ink, or `None` if a pixel is neither ink nor
/// paper, there is no ink, or the box is not square.
fn symbol_box(raw: &[u8], width: usize, height: usize) -> Option<SymbolBox> {
    if width == 0 || raw.len() != width * height {
        return None;
    }
    let (mut left, mut right, mut top, mut bottom) = (usize::MAX, 0, usize::MAX, 0);
    for (y, row) in raw.chunks_exact(width).enumerate() {
        if row.iter().any(|&p| p > DARK_MAX && p < LIGHT_MIN) {
            return None;
        }
        let Some(first) = row.iter().position(|&p| p <= DARK_MAX) else {
            continue;
        };
        // A dark pixel was found, so rposition finds one too.
        let last = row.iter().rposition(|&p| p <= DARK_MAX).unwrap_or(first);
        left = left.min(first);
        right = right.max(last);
        top = top.min(y);
        bottom = y;
    }
    if top == usize::MAX {
        return None;
    }
    let side = right - left + 1;
    (bottom - top + 1 == side).then_some(SymbolBox { left, top, side })
}

/// Pixels a module, from the top edge of the top-left finder pattern (7 modules of ink from the
/// box's corner); `None` unless it divides the box into a valid symbol side (21 to 177 modules,
/// 17 + 4 x version).
fn module_px(raw: &[u8], width: usize, symbol: SymbolBox) -> Option<usize> {
    let start = symbol.top * width + symbol.left;
    let edge = raw.get(start..start + symbol.side)?;
    let run = edge.iter().take_while(|&&p| p <= DARK_MAX).count();
    if run == 0 || !run.is_multiple_of(7) {
        return None;
    }
    let module = run / 7;
    let side = symbol.side / module;
    let valid = module >= MIN_MODULE_PX
        && symbol.side.is_multiple_of(module)
        && (21..=177).contains(&side)
        && (side - 17).is_multiple_of(4);
    valid.then_some(module)
}

/// The module grid, provided every module is one colour in all its pixels (so the grid is the
/// picture's to the pixel, not an estimate).
fn sample(raw: &[u8], width: usize, symbol: SymbolBox, module: usize, side: usize) -> Option<ModuleGrid> {
    let mut dark = vec![false; side * side];
    for dy in 0..symbol.side {
        let start = (symbol.top + dy) * width + symbol.left;
        let row = raw.get(start..start + symbol.side)?;
        let grid_row = dark.get_mut((dy / module) * side..(dy / module + 1) * side)?;
        let first_of_module = dy.is_multiple_of(module);
        for (cell, pixels) in grid_row.iter_mut().zip(row.chunks_exact(module)) {
            let ink = pixels[0] <= DARK_MAX;
            if pixels.iter().any(|&p| (p <= DARK_MAX) != ink) {
                return None;
            }
            if first_of_module {
                *cell = ink;
            } else if *cell != ink {
                return None;
            }
        }
    }
    Some(ModuleGrid { side, dark })
}

/// Finder patterns in the top-left, top-right and bottom-left corners, their light separators,
/// and the two timing patterns. A rotated code, or a picture that only happens to pass the pixel
/// checks, fails here. (A mirrored one passes: rqrr's decoder reads it mirrored, as its full
/// search does.)
fn has_function_patterns(grid: &ModuleGrid) -> bool {
    let n = grid.side;
    let finder = |row0: usize, col0: usize| {
        (0..7usize).all(|r| {
            (0..7usize).all(|c| {
                let ring = r.abs_diff(3).max(c.abs_diff(3));
                grid.at(row0 + r, col0 + c) == (ring != 2)
            })
        })
    };
    let light = |row: usize, col: usize| !grid.at(row, col);
    let separators = (0..8).all(|i| {
        light(7, i) && light(i, 7) // top-left
            && light(7, n - 1 - i) && light(i, n - 8) // top-right
            && light(n - 8, i) && light(n - 1 - i, 7) // bottom-left
    });
    let timing =
        (8..n - 8).all(|i| grid.at(6, i) == i.is_multiple_of(2) && grid.at(i, 6) == i.is_multiple_of(2));
    finder(0, 0) && finder(0, n - 7) && finder(n - 7, 0) && separators && timing
}

#[cfg(test)]
#[path = "aligned_tests.rs"]
mod tests;
