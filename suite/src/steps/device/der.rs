//! ECDSA P-256 signatures in DER, taken apart and put together again for the high-S and raw
//! forms of OTP-010 and OTP-016.

/// The order n of the P-256 group, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `(r, s)` of `SEQUENCE { INTEGER r, INTEGER s }` (short-form lengths: at most 72 bytes).
fn integers(der: &[u8]) -> ([u8; 32], [u8; 32]) {
    ensure_eq!(der.first(), Some(&0x30), "a DER signature is a SEQUENCE");
    let mut at = 2;
    let mut next = || {
        ensure_eq!(der.get(at), Some(&0x02), "a DER signature holds two INTEGERs");
        let len = usize::from(der[at + 1]);
        let bytes = &der[at + 2..at + 2 + len];
        at += 2 + len;
        let bytes: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        let mut out = [0u8; 32];
        out[32 - bytes.len()..].copy_from_slice(&bytes);
        out
    };
    (next(), next())
}

fn integer(value: &[u8; 32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
    if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(bytes.len()).expect("at most 33 bytes")];
    out.extend(bytes);
    out
}

fn encode(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).expect("at most 70 bytes")];
    out.extend(body);
    out
}

/// n - s.
fn negate(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        (out[i], borrow) = if d < 0 { ((d + 256) as u8, 1) } else { (d as u8, 0) };
    }
    out
}

/// The same signature with its s in the upper (`high`) or lower half of the group order:
/// (r, s) and (r, n - s) both verify.
pub(super) fn with_s(der: &[u8], high: bool) -> Vec<u8> {
    let (r, s) = integers(der);
    let other = negate(&s);
    let s_is_high = s > other;
    encode(&r, if s_is_high == high { &s } else { &other })
}

/// The signature as 64 bytes, r then s (the IEEE P1363 form), which is not DER.
pub(super) fn raw(der: &[u8]) -> Vec<u8> {
    let (r, s) = integers(der);
    [r, s].concat()
}
