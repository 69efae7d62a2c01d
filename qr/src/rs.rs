//! Reed-Solomon arithmetic for reading a QR code's codewords: the block structure of every
//! version and level, and a check that a block has no errors.
//!
//! Why here and not rqrr's: rqrr computes each syndrome with a fresh `GENERATOR.pow(i * j)` per
//! codeword, so checking one block costs O(npar x n) exponentiations, and on the suite's clean
//! renders (which never have an error) that check was its largest self cost. Evaluating the
//! block polynomial by Horner's rule with log/antilog tables gives the same syndromes (the same
//! field, x^8 + x^4 + x^3 + x^2 + 1, the same roots alpha^0 .. alpha^(npar - 1)) for one table
//! multiply per codeword and root.
//!
//! The block table is rqrr's own (`version_db.rs` of rqrr 0.11, copied by a script), so a
//! grid's codewords are split into blocks exactly as rqrr splits them; the tests hold it to
//! `qrcode`'s interleaving as well.

/// A level's short blocks: codewords, data codewords, count.
type ShortBlocks = (u8, u8, u8);

/// Per version (index `version - 1`): total codewords, then per level in the format
/// information's order (M, L, H, Q, the order rqrr indexes by) the short blocks' codewords,
/// their data codewords and how many short blocks there are. Long blocks, if any, are one data
/// codeword longer and fill the rest of the codewords.
const BLOCKS: [(u16, [ShortBlocks; 4]); 40] = [
    (26, [(26, 16, 1), (26, 19, 1), (26, 9, 1), (26, 13, 1)]), // 1
    (44, [(44, 28, 1), (44, 34, 1), (44, 16, 1), (44, 22, 1)]), // 2
    (70, [(70, 44, 1), (70, 55, 1), (35, 13, 2), (35, 17, 2)]), // 3
    (100, [(50, 32, 2), (100, 80, 1), (25, 9, 4), (50, 24, 2)]), // 4
    (134, [(67, 43, 2), (134, 108, 1), (33, 11, 2), (33, 15, 2)]), // 5
    (172, [(43, 27, 4), (86, 68, 2), (43, 15, 4), (43, 19, 4)]), // 6
    (196, [(49, 31, 4), (98, 78, 2), (39, 13, 4), (32, 14, 2)]), // 7
    (242, [(60, 38, 2), (121, 97, 2), (40, 14, 4), (40, 18, 4)]), // 8
    (292, [(58, 36, 3), (146, 116, 2), (36, 12, 4), (36, 16, 4)]), // 9
    (346, [(69, 43, 4), (86, 68, 2), (43, 15, 6), (43, 19, 6)]), // 10
    (404, [(80, 50, 1), (101, 81, 4), (36, 12, 3), (50, 22, 4)]), // 11
    (466, [(58, 36, 6), (116, 92, 2), (42, 14, 7), (46, 20, 4)]), // 12
    (532, [(59, 37, 8), (133, 107, 4), (33, 11, 12), (44, 20, 8)]), // 13
    (581, [(64, 40, 4), (145, 115, 3), (36, 12, 11), (36, 16, 11)]), // 14
    (655, [(65, 41, 5), (109, 87, 5), (36, 12, 11), (54, 24, 5)]), // 15
    (733, [(73, 45, 7), (122, 98, 5), (45, 15, 3), (43, 19, 15)]), // 16
    (815, [(74, 46, 10), (135, 107, 1), (42, 14, 2), (50, 22, 1)]), // 17
    (901, [(69, 43, 9), (150, 120, 5), (42, 14, 2), (50, 22, 17)]), // 18
    (991, [(70, 44, 3), (141, 113, 3), (39, 13, 9), (47, 21, 17)]), // 19
    (1085, [(67, 41, 3), (135, 107, 3), (43, 15, 15), (54, 24, 15)]), // 20
    (1156, [(68, 42, 17), (144, 116, 4), (46, 16, 19), (50, 22, 17)]), // 21
    (1258, [(74, 46, 17), (139, 111, 2), (37, 13, 34), (54, 24, 7)]), // 22
    (1364, [(75, 47, 4), (151, 121, 4), (45, 15, 16), (54, 24, 11)]), // 23
    (1474, [(73, 45, 6), (147, 117, 6), (46, 16, 30), (54, 24, 11)]), // 24
    (1588, [(75, 47, 8), (132, 106, 8), (45, 15, 22), (54, 24, 7)]), // 25
    (1706, [(74, 46, 19), (142, 114, 10), (46, 16, 33), (50, 22, 28)]), // 26
    (1828, [(73, 45, 22), (152, 122, 8), (45, 15, 12), (53, 23, 8)]), // 27
    (1921, [(73, 45, 3), (147, 117, 3), (45, 15, 11), (54, 24, 4)]), // 28
    (2051, [(73, 45, 21), (146, 116, 7), (45, 15, 19), (53, 23, 1)]), // 29
    (2185, [(75, 47, 19), (145, 115, 5), (45, 15, 23), (54, 24, 15)]), // 30
    (2323, [(74, 46, 2), (145, 115, 13), (45, 15, 23), (54, 24, 42)]), // 31
    (2465, [(74, 46, 10), (145, 115, 17), (45, 15, 19), (54, 24, 10)]), // 32
    (2611, [(74, 46, 14), (145, 115, 17), (45, 15, 11), (54, 24, 29)]), // 33
    (2761, [(74, 46, 14), (145, 115, 13), (46, 16, 59), (54, 24, 44)]), // 34
    (2876, [(75, 47, 12), (151, 121, 12), (45, 15, 22), (54, 24, 39)]), // 35
    (3034, [(75, 47, 6), (151, 121, 6), (45, 15, 2), (54, 24, 46)]), // 36
    (3196, [(74, 46, 29), (152, 122, 17), (45, 15, 24), (54, 24, 49)]), // 37
    (3362, [(74, 46, 13), (152, 122, 4), (45, 15, 42), (54, 24, 48)]), // 38
    (3532, [(75, 47, 40), (147, 117, 20), (45, 15, 10), (54, 24, 43)]), // 39
    (3706, [(75, 47, 18), (148, 118, 19), (45, 15, 20), (54, 24, 34)]), // 40
];

/// How a version's codewords split into blocks at one level, as rqrr computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocks {
    /// All codewords of the symbol (data and error correction, all blocks).
    pub(crate) total: usize,
    /// Codewords of a short block.
    pub(crate) short_len: usize,
    /// Data codewords of a short block (a long block has one more).
    pub(crate) short_data: usize,
    /// Number of short blocks.
    pub(crate) short_count: usize,
    /// Number of long blocks.
    pub(crate) long_count: usize,
}

impl Blocks {
    /// The split for `version` (1..=40) at `ecc_level` (the two format bits: 0 M, 1 L, 2 H, 3 Q).
    pub(crate) fn of(version: usize, ecc_level: u16) -> Option<Self> {
        let (total, levels) = BLOCKS.get(version.checked_sub(1)?)?;
        let &(short_len, short_data, short_count) = levels.get(usize::from(ecc_level))?;
        let (total, short_len, short_data, short_count) =
            (usize::from(*total), usize::from(short_len), usize::from(short_data), usize::from(short_count));
        // rqrr's formula for the long blocks (`codestream_ecc`).
        let long_count = total.checked_sub(short_len * short_count)? / (short_len + 1);
        Some(Self { total, short_len, short_data, short_count, long_count })
    }

    /// Error-correction codewords per block (the same in short and long blocks).
    pub(crate) fn ecc_len(&self) -> usize {
        self.short_len - self.short_data
    }

    /// Number of blocks.
    pub(crate) fn count(&self) -> usize {
        self.short_count + self.long_count
    }
}

/// Antilogarithms of GF(256) under x^8 + x^4 + x^3 + x^2 + 1, alpha = 2, doubled in length so a
/// sum of two logarithms indexes it without a reduction modulo 255.
const EXP: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut value: u16 = 1;
    let mut i = 0;
    while i < 512 {
        table[i] = value as u8;
        value <<= 1;
        if value & 0x100 != 0 {
            value ^= 0x11d;
        }
        i += 1;
    }
    table
};

/// Logarithms to base alpha; `LOG[0]` is unused (zero has none).
const LOG: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        table[EXP[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Whether `block` (data codewords then error-correction codewords, first codeword the highest
/// power) is a codeword of the code with `ecc_len` error-correction codewords: every syndrome,
/// the block's polynomial at alpha^0 .. alpha^(ecc_len - 1), is zero. This is the condition
/// under which rqrr's `correct_block` returns the block unchanged.
pub(crate) fn is_codeword(block: &[u8], ecc_len: usize) -> bool {
    (0..ecc_len).all(|root| {
        // Horner's rule: s = s * alpha^root + c, codeword by codeword.
        let log_x = root % 255;
        let syndrome = block.iter().fold(0u8, |s, &c| {
            let product = if s == 0 { 0 } else { EXP[usize::from(LOG[usize::from(s)]) + log_x] };
            product ^ c
        });
        syndrome == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field tables are inverse to each other and alpha has order 255.
    #[test]
    fn the_tables_are_a_field() {
        assert_eq!((EXP[0], EXP[1], EXP[8], EXP[255]), (1, 2, 0x1d, 1));
        for v in 1..=255u8 {
            assert_eq!(EXP[usize::from(LOG[usize::from(v)])], v);
        }
    }

    /// The blocks add up for every version and level, and match the standard where it is easy to
    /// see: version 1-M is one (26, 16) block; 5-Q two (33, 15) and two (34, 16); 40-H twenty
    /// (45, 15) and sixty-one (46, 16).
    #[test]
    fn the_block_table_adds_up() {
        for version in 1..=40 {
            for level in 0..4 {
                let b = Blocks::of(version, level).expect("every version and level");
                let sum = b.short_len * b.short_count + (b.short_len + 1) * b.long_count;
                assert_eq!(sum, b.total, "version {version} level {level}");
            }
        }
        let v1m = Blocks { total: 26, short_len: 26, short_data: 16, short_count: 1, long_count: 0 };
        assert_eq!(Blocks::of(1, 0), Some(v1m));
        let v5q = Blocks { total: 134, short_len: 33, short_data: 15, short_count: 2, long_count: 2 };
        assert_eq!(Blocks::of(5, 3), Some(v5q));
        let v40h = Blocks { total: 3706, short_len: 45, short_data: 15, short_count: 20, long_count: 61 };
        assert_eq!(Blocks::of(40, 2), Some(v40h));
        assert_eq!((Blocks::of(0, 0), Blocks::of(41, 0), Blocks::of(1, 4)), (None, None, None));
    }

    /// `qrcode`'s error-correction codewords make a codeword; any one changed byte breaks it.
    #[test]
    fn a_codeword_checks_and_a_changed_byte_does_not() {
        let data: Vec<u8> = (0..43u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let mut block = data.clone();
        block.extend(qrcode::ec::create_error_correction_code(&data, 24));
        assert!(is_codeword(&block, 24));
        for at in 0..block.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut bad = block.clone();
                bad[at] ^= flip;
                assert!(!is_codeword(&bad, 24), "byte {at} ^ {flip:#x}");
            }
        }
    }
}
