//! Building a symbol with the data mask `qrcode` would choose, without its slow scoring.
//!
//! `QrCode::with_bits` draws the symbol, applies each of the eight masks and keeps the one with
//! the lowest penalty score; its scoring (a boxed closure per module and window, coordinates
//! wrapped on every access) was most of a render's time and a tenth of the suite's CPU. Here the
//! same canvas is drawn and masked by `qrcode` itself, and only the scoring is redone over a
//! plain array of dark flags, with `qrcode`'s rules to the letter (including its `u16`
//! arithmetic and its first-lowest tie-break), so the chosen mask and so the picture are the
//! same: the unit tests compare whole symbols with `QrCode::with_bits` over many payloads.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

use crate::QrError;

/// A drawn, masked symbol: `width` modules a side, row-major colours.
pub(crate) struct Symbol {
    pub(crate) width: usize,
    pub(crate) colors: Vec<Color>,
}

/// The masks in `qrcode`'s order (its `ALL_PATTERNS_QR`), which decides ties.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// What `QrCode::with_bits(bits, level)` builds, for a normal (not Micro) QR version.
pub(crate) fn build(bits: Bits, level: EcLevel) -> Result<Symbol, QrError> {
    let failed = |e: qrcode::types::QrError| QrError::RenderFailed { reason: e.to_string() };
    let version = bits.version();
    let width = usize::try_from(version.width())
        .map_err(|_| QrError::RenderFailed { reason: format!("version {version:?} has no width") })?;
    let data = bits.into_bytes();
    let (encoded, ec) = qrcode::ec::construct_codewords(&data, version, level).map_err(failed)?;
    let mut canvas = Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&encoded, &ec);
    let mut best: Option<(u16, Vec<Color>)> = None;
    for mask in MASKS {
        let mut masked = canvas.clone();
        masked.apply_mask(mask);
        let colors = masked.into_colors();
        let dark: Vec<bool> = colors.iter().map(|c| *c == Color::Dark).collect();
        let score = penalty(&dark, width);
        // Strictly lower only: the first of equal scores wins, as in `Iterator::min_by_key`.
        if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
            best = Some((score, colors));
        }
    }
    let (_, colors) = best.ok_or_else(|| QrError::RenderFailed { reason: "no mask applied".to_owned() })?;
    Ok(Symbol { width, colors })
}

/// `qrcode`'s total penalty of a normal symbol: runs, 2 x 2 blocks, finder-like patterns in both
/// directions, and the dark/light balance. Summed modulo 2^16, as its `u16` sums are in a release
/// build (no score reaches that for the payloads rendered here, but the order of masks must not
/// differ even if one did).
fn penalty(dark: &[bool], n: usize) -> u16 {
    let at = |x: usize, y: usize| dark.get(y * n + x).copied().unwrap_or(false);
    let rows = |i: usize, j: usize| at(j, i);
    let cols = |i: usize, j: usize| at(i, j);
    let total =
        runs(n, rows) + runs(n, cols) + blocks(n, at) + finders(n, rows) + finders(n, cols) + balance(dark);
    // The two finder scores each lose 360 (see `finders`); the sum is taken modulo 2^16.
    u16::try_from((total + 2 * (65_536 - 360)) % 65_536).expect("reduced modulo 2^16")
}

/// Runs of five or more modules of one colour along each line: length - 2 points each.
fn runs(n: usize, get: impl Fn(usize, usize) -> bool) -> u64 {
    let mut score = 0;
    for i in 0..n {
        let mut len = 1;
        for j in 1..n {
            if get(i, j) == get(i, j - 1) {
                len += 1;
            } else {
                score += if len >= 5 { len - 2 } else { 0 };
                len = 1;
            }
        }
        score += if len >= 5 { len - 2 } else { 0 };
    }
    score
}

/// Every 2 x 2 block of one colour, overlapping ones counted: 3 points each.
fn blocks(n: usize, at: impl Fn(usize, usize) -> bool) -> u64 {
    let mut score = 0;
    for y in 0..n.saturating_sub(1) {
        for x in 0..n.saturating_sub(1) {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    score
}

/// `#.###.#` along a line with four light modules (or the symbol's edge) on at least one side:
/// 40 points each. `qrcode` then takes 360 off each direction's score, which [`penalty`] does.
fn finders(n: usize, get: impl Fn(usize, usize) -> bool) -> u64 {
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let mut score = 0;
    for i in 0..n {
        for j in 0..n.saturating_sub(6) {
            if !(0..7).all(|k| get(i, j + k) == PATTERN[k]) {
                continue;
            }
            let dark_before = (j.saturating_sub(4)..j).any(|k| get(i, k));
            let dark_after = (j + 7..(j + 11).min(n)).any(|k| get(i, k));
            if !dark_before || !dark_after {
                score += 40;
            }
        }
    }
    score
}

/// Distance of the dark share from one half, in half-percent steps rounded down: `qrcode`'s
/// `|dark * 200 / total - 100|`.
fn balance(dark: &[bool]) -> u64 {
    let total = dark.len().max(1);
    let ratio = dark.iter().filter(|d| **d).count() * 200 / total;
    ratio.abs_diff(100) as u64
}

#[cfg(test)]
mod tests {
    use qrcode::QrCode;

    use super::*;

    /// Byte-mode bits of `payload` at the smallest version that holds it, as `render` pushes them.
    fn bits(payload: &[u8], level: EcLevel) -> Option<Bits> {
        (1..=40).find_map(|version| {
            let mut bits = Bits::new(qrcode::Version::Normal(version));
            (bits.push_byte_data(payload).is_ok() && bits.push_terminator(level).is_ok()).then_some(bits)
        })
    }

    /// The symbol is `QrCode::with_bits`'s, module for module, over payloads of every length up to
    /// 300 bytes (versions 1 to 15) at every level, plus a few near version 40.
    #[test]
    fn the_symbol_is_the_one_qrcode_builds() {
        let mut state = 0x9e37_79b9_u32;
        let mut byte = || {
            // xorshift: fixed, varied payload bytes.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        };
        let mut payloads: Vec<Vec<u8>> = (1..=300).map(|len| (0..len).map(|_| byte()).collect()).collect();
        payloads.extend([1200, 2000, 2300].map(|len| (0..len).map(|_| byte()).collect::<Vec<u8>>()));
        payloads.push(b"AQ".repeat(34));
        let mut compared = 0;
        for payload in &payloads {
            for level in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                let (Some(ours), Some(theirs)) = (bits(payload, level), bits(payload, level)) else {
                    continue;
                };
                let want = QrCode::with_bits(theirs, level).expect("qrcode builds what fits");
                let got = build(ours, level).expect("builds what fits");
                assert_eq!(got.width, want.width(), "{} bytes at {level:?}", payload.len());
                assert!(got.colors == want.to_colors(), "{} bytes at {level:?}: another mask", payload.len());
                compared += 1;
            }
        }
        assert!(compared > 1000, "{compared} symbols compared");
    }
}
