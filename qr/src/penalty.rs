//! `qrcode`'s mask penalty, computed on bit rows: a symbol line (row or column, at most 177
//! modules) is three `u64` words, and each rule is a few word operations per line instead of a
//! comparison per module.
//!
//! Why: scoring eight masked matrices module by module was most of `mask::build`'s time, which
//! runs once per portal render. The rules are `qrcode`'s to the letter (`compute_*_penalty_score`
//! of its canvas, including its `u16` arithmetic), so the scores and the chosen mask are the
//! same; the tests in `mask_tests.rs` hold every score to a plain transcription of those rules.

/// Words a line takes: 3 x 64 bits hold the widest symbol (version 40, 177 modules).
pub(crate) const WORDS: usize = 3;
/// Modules a side a [`Line`] can hold.
pub(crate) const MAX_SIDE: usize = WORDS * 64;

/// One line of a symbol: bit `i` (word `i / 64`, bit `i % 64`) is module `i`, set when dark.
/// Bits at and past the symbol's side are always clear.
pub(crate) type Line = [u64; WORDS];

/// Whether module `i` of the line is dark.
pub(crate) fn bit(line: &Line, i: usize) -> bool {
    line.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
}

/// Makes module `i` dark or light.
pub(crate) fn set(line: &mut Line, i: usize, dark: bool) {
    if let Some(w) = line.get_mut(i / 64) {
        let m = 1u64 << (i % 64);
        *w = if dark { *w | m } else { *w & !m };
    }
}

/// Bits `0..len` set.
fn ones(len: usize) -> Line {
    std::array::from_fn(|k| match len.saturating_sub(k * 64) {
        0 => 0,
        r if r >= 64 => u64::MAX,
        r => (1u64 << r) - 1,
    })
}

/// Module `i` of the result is module `i + k` of `line` (0 past the end), for `k` in 1..64.
fn shr(line: &Line, k: usize) -> Line {
    std::array::from_fn(|w| (line[w] >> k) | line.get(w + 1).map_or(0, |next| next << (64 - k)))
}

/// Module `i` of the result is module `i - 1` of `line` (0 at the start).
fn shl1(line: &Line) -> Line {
    std::array::from_fn(|w| (line[w] << 1) | w.checked_sub(1).map_or(0, |prev| line[prev] >> 63))
}

fn and(a: &Line, b: &Line) -> Line {
    std::array::from_fn(|w| a[w] & b[w])
}

fn xor(a: &Line, b: &Line) -> Line {
    std::array::from_fn(|w| a[w] ^ b[w])
}

fn not(a: &Line) -> Line {
    a.map(|w| !w)
}

fn count(line: &Line) -> u64 {
    line.iter().map(|w| u64::from(w.count_ones())).sum()
}

/// Where module `i` equals module `i + 1`, for `i` in `0..n - 1`.
fn equal_next(line: &Line, n: usize) -> Line {
    and(&not(&xor(line, &shr(line, 1))), &ones(n.saturating_sub(1)))
}

/// `qrcode`'s total penalty of a normal symbol of side `n`, from its rows and its columns (the
/// same modules transposed): runs, 2 x 2 blocks, finder-like patterns in both directions, and
/// the dark/light balance. Summed modulo 2^16, as its `u16` sums are in a release build (no
/// score reaches that for the payloads rendered here, but the order of masks must not differ
/// even if one did).
pub(crate) fn penalty(rows: &[Line], cols: &[Line], n: usize) -> u16 {
    let lines = rows.iter().chain(cols);
    let total: u64 =
        lines.map(|line| runs(line, n) + finders(line, n)).sum::<u64>() + blocks(rows, n) + balance(rows, n);
    // The two finder scores each lose 360 (see `finders`); the sum is taken modulo 2^16.
    u16::try_from((total + 2 * (65_536 - 360)) % 65_536).expect("reduced modulo 2^16")
}

/// Runs of five or more modules of one colour along a line: length - 2 points each. A run of
/// length L starts L - 4 windows of five equal modules, and is one group of consecutive such
/// starts, so the score is the number of starts plus two per group.
pub(crate) fn runs(line: &Line, n: usize) -> u64 {
    let eq = equal_next(line, n);
    let starts = and(&and(&eq, &shr(&eq, 1)), &and(&shr(&eq, 2), &shr(&eq, 3)));
    let groups = and(&starts, &not(&shl1(&starts)));
    count(&starts) + 2 * count(&groups)
}

/// Every 2 x 2 block of one colour, overlapping ones counted: 3 points each.
pub(crate) fn blocks(rows: &[Line], n: usize) -> u64 {
    let valid = ones(n.saturating_sub(1));
    let pairs = rows.iter().zip(rows.iter().skip(1));
    let same: u64 = pairs
        .map(|(a, b)| {
            let right = not(&xor(a, &shr(a, 1)));
            let below = not(&xor(a, b));
            let diagonal = not(&xor(a, &shr(b, 1)));
            count(&and(&and(&right, &below), &and(&diagonal, &valid)))
        })
        .sum();
    3 * same
}

/// `#.###.#` along a line with four light modules (or the symbol's edge) on at least one side:
/// 40 points each. `qrcode` then takes 360 off each direction's score, which [`penalty`] does.
pub(crate) fn finders(line: &Line, n: usize) -> u64 {
    if n < 7 {
        return 0;
    }
    let dark = |k: usize| shr(line, k);
    let light = |k: usize| not(&shr(line, k));
    let mut found = and(&and(line, &light(1)), &and(&dark(2), &dark(3)));
    found = and(&and(&found, &dark(4)), &and(&light(5), &dark(6)));
    found = and(&found, &ones(n - 6));
    let mut score = 0;
    for (w, mut word) in found.into_iter().enumerate() {
        while word != 0 {
            let start = w * 64 + word.trailing_zeros() as usize;
            word &= word - 1;
            let any_dark = |from: usize, to: usize| (from..to.min(n)).any(|k| bit(line, k));
            if !any_dark(start.saturating_sub(4), start) || !any_dark(start + 7, start + 11) {
                score += 40;
            }
        }
    }
    score
}

/// Distance of the dark share from one half, in half-percent steps rounded down: `qrcode`'s
/// `|dark * 200 / total - 100|`.
pub(crate) fn balance(rows: &[Line], n: usize) -> u64 {
    let dark: u64 = rows.iter().map(count).sum();
    let total = u64::try_from(n * n).unwrap_or(u64::MAX).max(1);
    (dark * 200 / total).abs_diff(100)
}
