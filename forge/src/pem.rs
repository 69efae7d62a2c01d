//! PEM of the scenario's making: RFC 7468's strict form, re-wrapped, relabelled, with text
//! around it, cut short, or with the signature of the CSR inside spoilt.

use crate::{ForgeError, b64};

/// The label of a CSR's PEM block.
pub const CSR_LABEL: &str = "CERTIFICATE REQUEST";

/// A PEM form a CSR is sent in: the strict one every server must read (ENR-005), or one of the
/// lax forms OpenSSL reads (ENR-005 readings: Android wraps base64 at 76 columns, iOS and Java do
/// not wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemForm {
    /// RFC 7468's strict form: base64 lines of 64 characters.
    Strict,
    /// Base64 lines of this many characters.
    Wrapped(usize),
    /// All the base64 on one line.
    OneLine,
    /// Labelled with this label instead of the CSR's.
    Labelled(&'static str),
    /// The strict form with a line of text before and after it.
    WithTextAround,
}

impl PemForm {
    /// `der` as a CSR's PEM in this form.
    pub fn apply(self, der: &[u8]) -> String {
        match self {
            PemForm::Strict => pem(CSR_LABEL, der),
            PemForm::Wrapped(width) => pem_wrapped(CSR_LABEL, der, width),
            PemForm::OneLine => pem_wrapped(CSR_LABEL, der, usize::MAX),
            PemForm::Labelled(label) => pem(label, der),
            PemForm::WithTextAround => {
                format!("Certificate request of the device\n{}and nothing else\n", pem(CSR_LABEL, der))
            }
        }
    }
}

/// PEM in RFC 7468's strict form: base64 lines of 64 characters.
pub fn pem(label: &str, der: &[u8]) -> String {
    pem_wrapped(label, der, 64)
}

/// PEM with base64 lines of `width` characters (at least one).
pub fn pem_wrapped(label: &str, der: &[u8], width: usize) -> String {
    let encoded = b64::encode(der);
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(width.max(1)).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// The DER inside the first PEM block of `pem`, whatever its label.
pub fn der(pem: &str) -> Result<Vec<u8>, ForgeError> {
    let mut lines = pem.lines().skip_while(|line| !line.starts_with("-----BEGIN "));
    if lines.next().is_none() {
        return Err(ForgeError::NotPem("no -----BEGIN line"));
    }
    let body: String = lines.take_while(|line| !line.starts_with("-----END ")).collect();
    b64::decode(body.trim())
}

/// The same DER under another label.
pub fn relabelled(pem: &str, label: &str) -> Result<String, ForgeError> {
    Ok(self::pem(label, &der(pem)?))
}

/// A CSR's PEM holding only the first half of its DER: base64 that decodes, a structure that
/// does not parse.
pub fn cut_in_half(pem: &str) -> Result<String, ForgeError> {
    let der = der(pem)?;
    Ok(self::pem(CSR_LABEL, &der[..der.len() / 2]))
}

/// The CSR with the last byte of its DER flipped, which is the last byte of its signature
/// value: the structure still parses, the signature no longer verifies.
pub fn signature_spoilt(pem: &str) -> Result<String, ForgeError> {
    let mut der = der(pem)?;
    let Some(last) = der.last_mut() else { return Err(ForgeError::NotPem("an empty PEM block")) };
    *last ^= 0x01;
    Ok(self::pem(CSR_LABEL, &der))
}

/// A CSR's PEM block whose content is not base64.
pub fn not_base64() -> String {
    format!("-----BEGIN {CSR_LABEL}-----\n%%%% not base64 %%%%\n-----END {CSR_LABEL}-----\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_wrap_and_label_as_named() {
        let der: Vec<u8> = (0..=255).collect();
        // (form, first line, length of the first base64 line)
        let table: [(PemForm, &str, usize); 5] = [
            (PemForm::Strict, "-----BEGIN CERTIFICATE REQUEST-----", 64),
            (PemForm::Wrapped(76), "-----BEGIN CERTIFICATE REQUEST-----", 76),
            (PemForm::OneLine, "-----BEGIN CERTIFICATE REQUEST-----", 344),
            (PemForm::Labelled("NEW CERTIFICATE REQUEST"), "-----BEGIN NEW CERTIFICATE REQUEST-----", 64),
            (PemForm::WithTextAround, "Certificate request of the device", 35),
        ];
        for (form, first, width) in table {
            let text = form.apply(&der);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(
                (lines[0], lines[1].len(), super::der(&text)),
                (first, width, Ok(der.clone())),
                "{form:?}"
            );
        }
    }

    #[test]
    fn changes_keep_or_break_what_they_name() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let strict = pem(CSR_LABEL, &der);
        let table = [
            ("relabelled", relabelled(&strict, "CERTIFICATE"), Ok(der.clone())),
            ("halved", cut_in_half(&strict), Ok(der[..2].to_vec())),
            ("spoilt", signature_spoilt(&strict), Ok(vec![0x30, 0x03, 0x02, 0x01, 0x04])),
            ("no PEM", relabelled("hello", "X"), Err(ForgeError::NotPem("no -----BEGIN line"))),
        ];
        for (case, changed, expected) in table {
            assert_eq!(changed.and_then(|pem| super::der(&pem)), expected, "{case}");
        }
        assert!(matches!(super::der(&not_base64()), Err(ForgeError::NotBase64(_))));
    }
}
