//! The error-free reading against rqrr's `Grid::decode_to`: on clean renders it must read, and
//! read the same; on anything else (errors, other modes, mirrored) it must refuse, so that the
//! fallback to rqrr decides exactly as before.

use qrcode::bits::Bits;
use qrcode::{Color, QrCode};
use rqrr::SimpleGrid;

use super::*;
use crate::{EcLevel, RenderOptions, render_luma};

/// The module grid of a render, one pixel a module, no quiet zone.
fn rendered(payload: &str, ec_level: EcLevel) -> SimpleGrid {
    let img = render_luma(payload, &RenderOptions { ec_level, quiet_zone_modules: 0, module_px: 1 })
        .expect("the test payloads render");
    SimpleGrid::from_func(img.width() as usize, |x, y| img.get_pixel(x as u32, y as u32).0[0] == 0)
}

/// The grid of a symbol `qrcode` built, with modules optionally flipped by `flip(row, col)`.
fn grid_of(code: &QrCode, flip: impl Fn(usize, usize) -> bool) -> SimpleGrid {
    let (n, colors) = (code.width(), code.to_colors());
    SimpleGrid::from_func(n, |x, y| (colors[y * n + x] == Color::Dark) ^ flip(y, x))
}

/// The same grid with modules flipped.
fn flipped(grid: &SimpleGrid, flip: impl Fn(usize, usize) -> bool) -> SimpleGrid {
    let n = rqrr::BitGrid::size(grid);
    SimpleGrid::from_func(n, |x, y| rqrr::BitGrid::bit(grid, y, x) ^ flip(y, x))
}

type Read = Option<(u16, u16, usize, Vec<u8>)>;

/// What rqrr's decoder reads from the grid: level, mask, version, payload.
fn by_rqrr(grid: &SimpleGrid) -> Read {
    let mut bytes = Vec::new();
    let meta = rqrr::Grid::new(grid.clone()).decode_to(&mut bytes).ok()?;
    Some((meta.ecc_level, meta.mask, meta.version.0, bytes))
}

/// What this module reads.
fn by_clean(grid: &SimpleGrid) -> Read {
    read(grid).map(|(meta, bytes)| (meta.ecc_level, meta.mask, meta.version.0, bytes))
}

/// What the fast path reads: this module, else rqrr.
fn combined(grid: &SimpleGrid) -> Read {
    by_clean(grid).or_else(|| by_rqrr(grid))
}

/// Payloads of base64 characters (as OTPs are), bytes fixed by a xorshift stream.
fn base64_text(len: usize, seed: u32) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char::from(ALPHABET[state as usize % 64])
        })
        .collect()
}

/// Exactly 32 of the 2^15 words are format codewords, one per five data bits.
#[test]
fn the_format_code_has_32_codewords() {
    let valid: Vec<u16> = (0..1u16 << 15).filter(|&w| is_format_codeword(w)).collect();
    assert_eq!(valid.len(), 32);
    assert_eq!(valid.iter().map(|w| w >> 10).collect::<Vec<_>>(), (0..32).collect::<Vec<_>>());
    // Level M, mask 0, as the standard's table lists it (masked: 101010000010010).
    assert_eq!(valid[0] ^ FORMAT_MASK, 0b101_0100_0001_0010);
    assert!(!is_format_codeword(1 << 15));
}

/// The version whose alignment patterns rqrr 0.11 places wrongly: its table has the last one at
/// 92 instead of the standard's 94 (`qrcode` draws 94), so rqrr reads a few codewords shifted and
/// corrects them as errors. Such a grid is not error-free to rqrr, so this module refuses it.
const RQRR_MISPLACED: usize = 21;

/// Every render of the table reads through this module, with rqrr's metadata and payload:
/// lengths 1 to 160 (versions 1 to 10 at level H) and OTP-like ones up to version 40, at every
/// level, with UTF-8 payloads too. Only version 21 goes to rqrr (see [`RQRR_MISPLACED`]).
#[test]
fn clean_renders_read_as_rqrr_reads_them() {
    let mut payloads: Vec<String> = (1..=160).map(|len| base64_text(len, 0x9e37_79b9 ^ len as u32)).collect();
    payloads.extend([300, 700, 1200, 1800, 2900].map(|len| base64_text(len, 7)));
    // Version 21 at level L, where rqrr needs its error correction.
    payloads.push(base64_text(880, 5));
    payloads.push("héllo wörld, ünïcode ✓ ".repeat(4));
    let mut versions = std::collections::BTreeSet::new();
    let mut masks = std::collections::BTreeSet::new();
    for payload in &payloads {
        for level in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
            if payload.len() > 1200 && level != EcLevel::L {
                continue;
            }
            let grid = rendered(payload, level);
            let version = (rqrr::BitGrid::size(&grid) - 17) / 4;
            let case = format!("{} bytes at {level}, version {version}", payload.len());
            if version == RQRR_MISPLACED {
                // rqrr reads these through its error correction; so must the fast path.
                assert_eq!(by_clean(&grid), None, "{case}");
                assert_eq!(combined(&grid).map(|r| r.3), Some(payload.as_bytes().to_vec()), "{case}");
                versions.insert(version);
                continue;
            }
            let clean = by_clean(&grid).unwrap_or_else(|| panic!("{case}: a clean render is refused"));
            assert_eq!(Some(&clean), by_rqrr(&grid).as_ref(), "{case}");
            assert_eq!(clean.3, payload.as_bytes(), "{case}");
            assert_eq!(EcLevel::from_format_bits(clean.0), Some(level), "{case}");
            versions.insert(clean.2);
            masks.insert(clean.1);
        }
    }
    assert_eq!(masks.len(), 8, "every mask met: {masks:?}");
    assert!(versions.len() >= 14, "versions met: {versions:?}");
    assert!(versions.contains(&RQRR_MISPLACED) && versions.contains(&40), "versions met: {versions:?}");
}

/// Errors in the codewords, however few, are left to rqrr, which corrects them as before or
/// fails as before; so is a damaged first copy of the format information, which rqrr repairs.
#[test]
fn corrupted_grids_fall_back_to_rqrr() {
    for (payload, level) in [(base64_text(68, 1), EcLevel::M), (base64_text(150, 2), EcLevel::Q)] {
        let grid = rendered(&payload, level);
        let n = rqrr::BitGrid::size(&grid);
        let want = by_rqrr(&grid).expect("the clean grid decodes");
        // The bottom-right 2 x 2 modules: the first codeword's first bits, always data.
        let one_module = flipped(&grid, |y, x| (y, x) == (n - 1, n - 1));
        let four_modules = flipped(&grid, |y, x| y + 2 >= n && x + 2 >= n);
        // Row 8, column 0: the first format bit of the first copy.
        let format_bit = flipped(&grid, |y, x| (y, x) == (8, 0));
        for (name, damaged) in
            [("one module", &one_module), ("four modules", &four_modules), ("format", &format_bit)]
        {
            assert_eq!(by_clean(damaged), None, "{name}");
            assert_eq!(combined(damaged), Some(want.clone()), "{name}: rqrr corrects it");
        }
        // Half the data area flipped: beyond correction, by either reading.
        let wrecked = flipped(&grid, |y, x| y > 8 && x > 8 && y > x);
        assert_eq!((by_clean(&wrecked), by_rqrr(&wrecked)), (None, None));
        assert_eq!(combined(&wrecked), None);
    }
}

/// A grid read mirrored (rows for columns) is rqrr's second attempt; this module only ever
/// makes the first, so it refuses and rqrr reads it mirrored as before.
#[test]
fn a_mirrored_grid_falls_back_to_rqrr() {
    let payload = base64_text(68, 3);
    let grid = rendered(&payload, EcLevel::M);
    let n = rqrr::BitGrid::size(&grid);
    let transposed = SimpleGrid::from_func(n, |x, y| rqrr::BitGrid::bit(&grid, x, y));
    assert_eq!(by_clean(&transposed), None);
    let read = combined(&transposed).expect("rqrr reads it mirrored");
    assert_eq!(read.3, payload.as_bytes());
}

/// Segments other than bytes (numeric, alphanumeric, ECI) are left to rqrr, which reads them.
#[test]
fn other_modes_fall_back_to_rqrr() {
    let numeric = QrCode::new(b"0123456789012345").expect("fits");
    let alphanumeric = QrCode::new(b"HELLO WORLD 123").expect("fits");
    let mut bits = Bits::new(qrcode::Version::Normal(2));
    bits.push_eci_designator(26).expect("fits");
    bits.push_byte_data(b"eci then bytes").expect("fits");
    bits.push_terminator(qrcode::EcLevel::M).expect("fits");
    let eci = QrCode::with_bits(bits, qrcode::EcLevel::M).expect("fits");
    for (name, code, want) in [
        ("numeric", numeric, &b"0123456789012345"[..]),
        ("alphanumeric", alphanumeric, b"HELLO WORLD 123"),
        ("eci", eci, b"eci then bytes"),
    ] {
        let grid = grid_of(&code, |_, _| false);
        assert_eq!(by_clean(&grid), None, "{name}");
        assert_eq!(combined(&grid).map(|r| r.3), Some(want.to_vec()), "{name}");
    }
}

/// A byte segment claiming more bytes than the data holds is refused here and by rqrr alike.
#[test]
fn a_segment_past_the_data_is_refused() {
    // Version 1: mode 4, count 255, then far fewer than 255 bytes.
    let mut data = vec![0x4f, 0xf0];
    data.resize(19, 0xec);
    assert_eq!(byte_segments(&data, 1), None);
    // Count 2, bytes 0xab 0xcd, then the terminator: 0100 00000010 10101011 11001101 0000.
    data[..4].copy_from_slice(&[0x40, 0x2a, 0xbc, 0xd0]);
    assert_eq!(byte_segments(&data, 1), Some(vec![0xab, 0xcd]));
}
