//! Reading a module grid that has no errors at all, without rqrr's error correction.
//!
//! Why: the grids the fast path of `aligned.rs` samples are the portal's own renders, whose
//! codewords are always intact, yet rqrr's `Grid::decode` spends most of its time proving so
//! (its syndromes cost an exponentiation per codeword and root, see `rs.rs`). Here the same
//! decision is taken cheaply, and the payload read as rqrr reads it, or nothing is decided:
//!
//! - the first copy of the format information must be a valid BCH codeword as read (rqrr
//!   corrects it, and reads the second copy only if the first does not correct, so an exact
//!   first copy is the one it uses, unchanged);
//! - the raw codewords are read by rqrr itself (`Grid::get_raw_data`, through a view that
//!   removes the mask), so the module order is rqrr's;
//! - they are de-interleaved into blocks exactly as rqrr's `codestream_ecc` does, and every
//!   block must have all syndromes zero (then rqrr's `correct_block` leaves it unchanged, and
//!   rqrr never tries the mirrored reading);
//! - the data codewords hold byte segments and a terminator only; any other mode (numeric,
//!   alphanumeric, kanji, ECI, unknown) or a segment that runs past the data is left to rqrr.
//!
//! On `None` the caller runs rqrr's `Grid::decode` as before, so a grid reads the same with or
//! without this module; the tests compare the two on renders of every level and many versions,
//! and on corrupted grids.

use crate::rs::{Blocks, is_codeword};

/// The first copy of the format information, in rqrr's reading order (`read_format`): bit `i`
/// of the word is the module at row `FORMAT_ROWS[i]`, column `FORMAT_COLS[i]`.
const FORMAT_ROWS: [usize; 15] = [0, 1, 2, 3, 4, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8];
const FORMAT_COLS: [usize; 15] = [8, 8, 8, 8, 8, 8, 8, 8, 7, 5, 4, 3, 2, 1, 0];
/// The mask XORed onto the format information (ISO/IEC 18004, 7.9.1).
pub(crate) const FORMAT_MASK: u16 = 0x5412;
/// Generator of the format information's BCH (15, 5) code: x^10 + x^8 + x^5 + x^4 + x^2 + x + 1.
const FORMAT_GENERATOR: u16 = 0x537;

/// The format information's codeword for its five data bits (level and mask), before the
/// format mask: the data bits, then the remainder of their polynomial by the generator.
pub(crate) fn format_codeword(data: u16) -> u16 {
    let shifted = (data & 0x1f) << 10;
    let mut rest = shifted;
    for bit in (10..15).rev() {
        if rest & (1 << bit) != 0 {
            rest ^= FORMAT_GENERATOR << (bit - 10);
        }
    }
    shifted | rest
}

/// Whether a 15-bit format word (mask removed) is a codeword of the BCH (15, 5) code, i.e. all
/// six syndromes rqrr computes are zero: its polynomial is a multiple of the generator.
fn is_format_codeword(word: u16) -> bool {
    format_codeword(word >> 10) == word
}

/// rqrr's data masks (`mask_bit`), by row and column.
fn mask_bit(mask: u16, y: usize, x: usize) -> bool {
    match mask {
        0 => (y + x).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (y + x).is_multiple_of(3),
        4 => ((y / 2) + (x / 3)).is_multiple_of(2),
        5 => (y * x) % 2 + (y * x) % 3 == 0,
        6 => ((y * x) % 2 + (y * x) % 3).is_multiple_of(2),
        _ => ((y * x) % 3 + (y + x) % 2).is_multiple_of(2),
    }
}

/// A grid seen with its data mask removed everywhere but on the format information, which
/// rqrr reads (both copies) before the data. Every other module the mask touches is either a
/// data module, where removing it is the point, or a function module, which rqrr skips.
struct Unmasked<'a, G> {
    grid: &'a G,
    mask: u16,
}

impl<G: rqrr::BitGrid> rqrr::BitGrid for Unmasked<'_, G> {
    fn size(&self) -> usize {
        self.grid.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        let n = self.grid.size();
        let format = (y == 8 && (x < 9 || x + 8 >= n)) || (x == 8 && (y < 9 || y + 7 >= n));
        self.grid.bit(y, x) ^ (!format && mask_bit(self.mask, y, x))
    }
}

/// Reads an error-free grid: rqrr's metadata and the payload bytes, as `rqrr::Grid::decode_to`
/// would give them; `None` whenever that is not certain (see the module documentation).
pub(crate) fn read<G: rqrr::BitGrid>(grid: &G) -> Option<(rqrr::MetaData, Vec<u8>)> {
    let format =
        (0..15).rev().fold(0u16, |word, i| (word << 1) | u16::from(grid.bit(FORMAT_ROWS[i], FORMAT_COLS[i])))
            ^ FORMAT_MASK;
    if !is_format_codeword(format) {
        return None;
    }
    let (ecc_level, mask) = (format >> 13, (format >> 10) & 7);
    let (meta, raw) = rqrr::Grid::new(Unmasked { grid, mask }).get_raw_data().ok()?;
    if (meta.ecc_level, meta.mask) != (ecc_level, mask) {
        return None;
    }
    let blocks = Blocks::of(meta.version.0, ecc_level)?;
    let codewords = raw.data.get(..blocks.total).filter(|_| raw.len >= blocks.total * 8)?;
    let data = error_free_data(codewords, &blocks)?;
    let payload = byte_segments(&data, meta.version.0)?;
    Some((meta, payload))
}

/// The data codewords of all blocks, in block order, if every block is a codeword; the
/// de-interleaving is rqrr's `codestream_ecc`, index for index.
fn error_free_data(codewords: &[u8], b: &Blocks) -> Option<Vec<u8>> {
    let count = b.count();
    let ecc_offset = b.short_data * count + b.long_count;
    let mut data = Vec::with_capacity(b.total);
    let mut block = Vec::with_capacity(b.short_len + 1);
    for i in 0..count {
        block.clear();
        for j in 0..b.short_data {
            block.push(*codewords.get(j * count + i)?);
        }
        // A long block's extra data codeword sits in the run after the common columns.
        if i >= b.short_count {
            block.push(*codewords.get(b.short_data * count + (i - b.short_count))?);
        }
        let data_len = block.len();
        for j in 0..b.ecc_len() {
            block.push(*codewords.get(ecc_offset + j * count + i)?);
        }
        if !is_codeword(&block, b.ecc_len()) {
            return None;
        }
        data.extend_from_slice(block.get(..data_len)?);
    }
    Some(data)
}

/// Big-endian bits of a byte slice, as rqrr's `CorrectedDataStream` takes them.
struct BitReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BitReader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() * 8 - self.at
    }

    /// The next `n` bits (at most 16), or `None` if fewer remain.
    fn take(&mut self, n: usize) -> Option<usize> {
        if self.remaining() < n {
            return None;
        }
        let mut value = 0;
        for _ in 0..n {
            let byte = self.bytes.get(self.at / 8)?;
            value = (value << 1) | usize::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Some(value)
    }
}

/// The payload of a data stream of byte segments, decoded as rqrr's `decode_payload` does:
/// segments while four bits remain, a zero mode ending the stream. `None` on any other mode,
/// or on a segment rqrr would refuse (count or bytes cut off).
fn byte_segments(data: &[u8], version: usize) -> Option<Vec<u8>> {
    let count_bits = if version <= 9 { 8 } else { 16 };
    let mut bits = BitReader { bytes: data, at: 0 };
    let mut payload = Vec::new();
    while bits.remaining() >= 4 {
        match bits.take(4)? {
            0 => break,
            4 => {
                let count = bits.take(count_bits)?;
                if bits.remaining() < count * 8 {
                    return None;
                }
                for _ in 0..count {
                    payload.push(u8::try_from(bits.take(8)?).ok()?);
                }
            }
            _ => return None,
        }
    }
    Some(payload)
}

#[cfg(test)]
#[path = "clean_grid_tests.rs"]
mod tests;
