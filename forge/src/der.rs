//! ECDSA P-256 signatures in DER, taken apart and put together again: the high-S and low-S
//! forms of one signature (OTP-010), and the raw r‖s form that is not DER (OTP-016).

use crate::ForgeError;

/// The order n of the P-256 group, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `(r, s)` of `SEQUENCE { INTEGER r, INTEGER s }` with short-form lengths (at most 72 bytes).
pub fn integers(der: &[u8]) -> Result<([u8; 32], [u8; 32]), ForgeError> {
    if der.first() != Some(&0x30) {
        return Err(ForgeError::NotDerSignature("a DER signature is a SEQUENCE"));
    }
    let mut at = 2;
    let mut next = || -> Result<[u8; 32], ForgeError> {
        if der.get(at) != Some(&0x02) {
            return Err(ForgeError::NotDerSignature("a DER signature holds two INTEGERs"));
        }
        let len =
            usize::from(*der.get(at + 1).ok_or(ForgeError::NotDerSignature("an INTEGER without a length"))?);
        let bytes =
            der.get(at + 2..at + 2 + len).ok_or(ForgeError::NotDerSignature("an INTEGER cut short"))?;
        at += 2 + len;
        let bytes: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        if bytes.len() > 32 {
            return Err(ForgeError::NotDerSignature("an INTEGER of more than 32 bytes"));
        }
        let mut out = [0u8; 32];
        out[32 - bytes.len()..].copy_from_slice(&bytes);
        Ok(out)
    };
    Ok((next()?, next()?))
}

/// A DER INTEGER of a 32-byte unsigned value: leading zeros dropped, one put back when the top
/// bit is set.
fn integer(value: &[u8; 32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
    if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    // At most 33 bytes, so the length fits a byte.
    let mut out = vec![0x02, bytes.len() as u8];
    out.extend(bytes);
    out
}

/// `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn encode(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let body = [integer(r), integer(s)].concat();
    // Two INTEGERs of at most 35 bytes each: the length fits a byte.
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// n - s.
fn negate(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        // d + 256 and d are in 0..=255 in their branches.
        (out[i], borrow) = if d < 0 { ((d + 256) as u8, 1) } else { (d as u8, 0) };
    }
    out
}

/// The same signature with its s in the upper (`high`) or lower half of the group order:
/// (r, s) and (r, n - s) both verify.
pub fn with_s(der: &[u8], high: bool) -> Result<Vec<u8>, ForgeError> {
    let (r, s) = integers(der)?;
    let other = negate(&s);
    let s_is_high = s > other;
    Ok(encode(&r, if s_is_high == high { &s } else { &other }))
}

/// The signature as 64 bytes, r then s (the IEEE P1363 form), which is not DER.
pub fn raw(der: &[u8]) -> Result<Vec<u8>, ForgeError> {
    let (r, s) = integers(der)?;
    Ok([r, s].concat())
}

/// The DER signature followed by a zero byte: DER with trailing data.
pub fn with_trailing_zero(der: &[u8]) -> Vec<u8> {
    let mut out = der.to_vec();
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::keys::{KeyPair, is_high_s};

    #[test]
    fn forms_of_a_signature_are_as_named() {
        let key = KeyPair::generate(&mut protocol::rng::seeded(7));
        let der = key.sign(b"message");
        let (r, _) = integers(&der).unwrap_or_else(|e| panic!("a signature of our own: {e}"));
        // (case, the form, its length's range, high-S, r kept)
        let table = [
            ("low-S", with_s(&der, false), 8..=72, false, true),
            ("high-S", with_s(&der, true), 8..=72, true, true),
            ("raw", raw(&der), 64..=64, false, false),
        ];
        for (case, form, len, high, keeps_r) in table {
            let form = form.unwrap_or_else(|e| panic!("{case}: {e}"));
            let got_r = integers(&form).ok().map(|(got, _)| got == r);
            let got = (len.contains(&form.len()), is_high_s(&form), got_r.unwrap_or(false));
            assert_eq!(got, (true, high, keeps_r), "{case}");
        }
    }

    #[test]
    fn what_is_not_der_is_refused() {
        let table: [(&[u8], ForgeError); 3] = [
            (b"not DER", ForgeError::NotDerSignature("a DER signature is a SEQUENCE")),
            (&[0x30, 0x02, 0x05, 0x00], ForgeError::NotDerSignature("a DER signature holds two INTEGERs")),
            (&[0x30, 0x04, 0x02, 0x09, 0x01], ForgeError::NotDerSignature("an INTEGER cut short")),
        ];
        for (input, expected) in table {
            assert_eq!(raw(input), Err(expected), "{input:?}");
        }
    }
}
