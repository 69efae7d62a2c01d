//! The fast masking and scoring against `qrcode`: masked matrices against its `apply_mask`,
//! scores against a plain transcription of its rules, whole symbols against `QrCode::with_bits`.

use qrcode::QrCode;
use qrcode::canvas::MaskPattern;

use super::*;

/// The masks in `qrcode`'s order (its `ALL_PATTERNS_QR`), numbered 0 to 7.
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

/// The scoring as first transcribed from `qrcode` (one closure per module, as `qrcode` reads it),
/// kept to hold [`penalty`] to it: `qrcode`'s total penalty of a normal symbol: runs, 2 x 2 blocks, finder-like patterns in both
/// directions, and the dark/light balance. Summed modulo 2^16, as its `u16` sums are in a release
/// build (no score reaches that for the payloads rendered here, but the order of masks must not
/// differ even if one did).
fn reference_penalty(dark: &[bool], n: usize) -> u16 {
    let at = |x: usize, y: usize| dark.get(y * n + x).copied().unwrap_or(false);
    let rows = |i: usize, j: usize| at(j, i);
    let cols = |i: usize, j: usize| at(i, j);
    let total = reference_runs(n, rows)
        + reference_runs(n, cols)
        + reference_blocks(n, at)
        + reference_finders(n, rows)
        + reference_finders(n, cols)
        + reference_balance(dark);
    // The two finder scores each lose 360 (see `reference_finders`); the sum is taken modulo 2^16.
    u16::try_from((total + 2 * (65_536 - 360)) % 65_536).expect("reduced modulo 2^16")
}

/// Runs of five or more modules of one colour along each line: length - 2 points each.
fn reference_runs(n: usize, get: impl Fn(usize, usize) -> bool) -> u64 {
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
fn reference_blocks(n: usize, at: impl Fn(usize, usize) -> bool) -> u64 {
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
/// 40 points each. `qrcode` then takes 360 off each direction's score, which [`reference_penalty`] does.
fn reference_finders(n: usize, get: impl Fn(usize, usize) -> bool) -> u64 {
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
fn reference_balance(dark: &[bool]) -> u64 {
    let total = dark.len().max(1);
    let ratio = dark.iter().filter(|d| **d).count() * 200 / total;
    ratio.abs_diff(100) as u64
}

/// Byte-mode bits of `payload` at the smallest version that holds it, as `render` pushes them.
fn bits(payload: &[u8], level: EcLevel) -> Option<Bits> {
    (1..=40).find_map(|version| {
        let mut bits = Bits::new(qrcode::Version::Normal(version));
        (bits.push_byte_data(payload).is_ok() && bits.push_terminator(level).is_ok()).then_some(bits)
    })
}

/// Payloads of every length up to 300 bytes (versions 1 to 15 at every level), a few near
/// version 40, and the OTP's length; bytes from a fixed xorshift stream.
fn payloads() -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_u32;
    let mut byte = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[0]
    };
    let mut payloads: Vec<Vec<u8>> = (1..=300).map(|len| (0..len).map(|_| byte()).collect()).collect();
    payloads.extend([1200, 2000, 2300].map(|len| (0..len).map(|_| byte()).collect::<Vec<u8>>()));
    payloads.push(b"AQ".repeat(34));
    payloads
}

/// Each of the eight masked matrices is `qrcode`'s `apply_mask` of the same canvas, module for
/// module (format information included), and scores as the transcription of `qrcode`'s rules
/// scores it; over versions 1 to 15 at every level.
#[test]
fn every_mask_and_score_is_qrcodes() {
    let mut compared = 0;
    for payload in payloads().iter().step_by(7) {
        for level in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
            let Some(bits) = bits(payload, level) else {
                continue;
            };
            let version = bits.version();
            let n = usize::try_from(version.width()).expect("a normal version has a width");
            let (encoded, ec) =
                qrcode::ec::construct_codewords(&bits.into_bytes(), version, level).expect("the bits fit");
            let mut canvas = Canvas::new(version, level);
            canvas.draw_all_functional_patterns();
            canvas.draw_data(&encoded, &ec);
            let base = Unmasked::of(&canvas, n);
            let mut masked = Masked::new(n);
            for (number, pattern) in MASKS.into_iter().enumerate() {
                let case = format!("{} bytes at {level:?}, mask {number}", payload.len());
                let mut theirs = canvas.clone();
                theirs.apply_mask(pattern);
                let want: Vec<bool> = theirs.into_colors().into_iter().map(|c| c == Color::Dark).collect();
                base.mask_into(u8::try_from(number).expect("eight masks"), level, &mut masked);
                let got: Vec<bool> = masked.colors().into_iter().map(|c| c == Color::Dark).collect();
                assert!(got == want, "{case}: another matrix");
                let transposed = (0..n * n).all(|i| bit(&masked.cols[i % n], i / n) == want[i]);
                assert!(transposed, "{case}: the columns are not the rows transposed");
                assert_eq!(penalty(&masked.rows, &masked.cols, n), reference_penalty(&want, n), "{case}");
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "{compared} matrices compared");
}

/// The symbol is `QrCode::with_bits`'s, module for module, over payloads of every length up to
/// 300 bytes (versions 1 to 15) at every level, plus a few near version 40.
#[test]
fn the_symbol_is_the_one_qrcode_builds() {
    let mut compared = 0;
    for payload in &payloads() {
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

/// A line holding `modules` (1 dark).
fn line_of(modules: &[u8]) -> Line {
    line(modules.len(), |i| modules[i] == 1)
}

/// The scoring rules on lines small enough to count by hand, and across a word boundary.
#[test]
fn the_rules_score_by_hand() {
    use crate::penalty::{balance, blocks, finders, runs};
    // A run of 5 scores 3, of 7 scores 5; shorter runs nothing.
    let two_runs = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    assert_eq!(runs(&line_of(&two_runs), two_runs.len()), 3 + 5);
    assert_eq!(runs(&line_of(&[1, 0, 1, 1, 0, 0, 0, 0]), 8), 0);
    // Runs straddling bits 63 and 64, and one of the whole line: 177 light modules score 175.
    let mut long = [0u8; 177];
    long[60..70].fill(1);
    assert_eq!(runs(&line_of(&long), 177), (60 - 2) + (10 - 2) + (107 - 2));
    assert_eq!(runs(&[0; WORDS], 177), 175);
    // #.###.# with light on the left (the edge) scores; with dark on both sides it does not.
    assert_eq!(finders(&line_of(&[1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1]), 11), 40);
    assert_eq!(finders(&line_of(&[1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0]), 15), 0);
    let mut straddling = [0u8; 100];
    straddling[60..67].copy_from_slice(&[1, 0, 1, 1, 1, 0, 1]);
    assert_eq!(finders(&line_of(&straddling), 100), 40);
    // A 3 x 3 dark square holds four 2 x 2 blocks; a checkerboard none.
    let square = [line_of(&[1, 1, 1]); 3];
    let checkerboard = [line_of(&[1, 0, 1]), line_of(&[0, 1, 0]), line_of(&[1, 0, 1])];
    assert_eq!((blocks(&square, 3), blocks(&checkerboard, 3)), (12, 0));
    let halves = [line_of(&[1, 0]), line_of(&[1, 0])];
    let three_quarters = [line_of(&[1, 1]), line_of(&[1, 0])];
    assert_eq!(
        (balance(&halves, 2), balance(&three_quarters, 2), balance(&[[0; WORDS]; 3], 3)),
        (0, 50, 100)
    );
}
