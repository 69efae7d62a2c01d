//! CSRs with subjects a well-behaved SDK never makes: no common name, two of them, or other
//! attributes only (ENR-006 readings); and CSRs whose key names a curve other than P-256 (ENR-005).

use protocol::csr::{CsrReading, VerifiedCsr};
use protocol::keys::KeyPair;

use crate::ForgeError;
use crate::pem::{CSR_LABEL, der, pem};

/// The DER of the OID prime256v1 (1.2.840.10045.3.1.7), the curve a P-256 key names.
const PRIME256V1: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The last byte of prime192v1 (1.2.840.10045.3.1.1), which differs from prime256v1 only there.
const PRIME192V1_LAST: u8 = 0x01;

/// One attribute of a CSR's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// The common name (2.5.4.3).
    CommonName,
    /// A second common name: an attribute with the CN's OID, which rcgen otherwise keeps once.
    AnotherCommonName,
    /// The organisation (2.5.4.10).
    Organisation,
}

impl Attribute {
    fn dn_type(self) -> rcgen::DnType {
        match self {
            Attribute::CommonName => rcgen::DnType::CommonName,
            Attribute::AnotherCommonName => rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]),
            Attribute::Organisation => rcgen::DnType::OrganizationName,
        }
    }
}

/// A PEM CSR for `key`, self-signed, whose subject holds exactly these attributes in order.
pub fn with_subject(key: &KeyPair, subject: &[(Attribute, &str)]) -> Result<String, ForgeError> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (attribute, value) in subject {
        params.distinguished_name.push(attribute.dn_type(), *value);
    }
    params.serialize_request(key).and_then(|csr| csr.pem()).map_err(|e| ForgeError::Csr(e.to_string()))
}

/// The CSR `pem` with its key's named curve changed from prime256v1 to prime192v1: an OID of the
/// same length, so the DER stays well-formed while the key is no longer on P-256. Strict PEM.
pub fn curve_changed(pem_text: &str) -> Result<String, ForgeError> {
    let mut der = der(pem_text)?;
    let at = der
        .windows(PRIME256V1.len())
        .position(|w| w == PRIME256V1)
        .ok_or(ForgeError::Missing("prime256v1 OID"))?;
    der[at + PRIME256V1.len() - 1] = PRIME192V1_LAST;
    Ok(pem(CSR_LABEL, &der))
}

/// Whether the strict reading of the profile takes `pem` as `device_id`'s CSR (for tests).
pub fn strictly_valid(pem: &str, device_id: uuid::Uuid) -> bool {
    VerifiedCsr::read(pem, device_id, CsrReading::default()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_common_name_of_the_device_id_is_strictly_valid() {
        let key = KeyPair::generate(&mut protocol::rng::seeded(3));
        let id = protocol::rng::uuid(&mut protocol::rng::seeded(4));
        let own = id.to_string();
        let own = own.as_str();
        let table = [
            ("its id as CN", vec![(Attribute::CommonName, own)], true),
            ("no CN", vec![(Attribute::Organisation, own)], false),
            ("two CNs", vec![(Attribute::CommonName, own), (Attribute::AnotherCommonName, own)], false),
            ("another CN", vec![(Attribute::CommonName, "someone else")], false),
        ];
        for (case, subject, valid) in table {
            let pem = with_subject(&key, &subject).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(strictly_valid(&pem, id), valid, "{case}");
        }
    }

    #[test]
    fn a_changed_curve_is_prime192v1_or_says_why_not() {
        let key = KeyPair::generate(&mut protocol::rng::seeded(5));
        let id = protocol::rng::uuid(&mut protocol::rng::seeded(6));
        let own = protocol::csr::create_csr(&key, &id.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let prime192v1 = [&PRIME256V1[..9], &[PRIME192V1_LAST]].concat();
        let names = |pem: &str, oid: &[u8]| der(pem).is_ok_and(|d| d.windows(oid.len()).any(|w| w == oid));
        // (case, the CSR, what its changed form is: (names prime192v1, names prime256v1, valid))
        type Named = Result<(bool, bool, bool), ForgeError>;
        let table: [(&str, String, Named); 3] = [
            ("our own CSR", own, Ok((true, false, false))),
            ("no curve named", pem(CSR_LABEL, &[0x30, 0x00]), Err(ForgeError::Missing("prime256v1 OID"))),
            ("not PEM", "hello".into(), Err(ForgeError::NotPem("no -----BEGIN line"))),
        ];
        for (case, csr, expected) in table {
            let got = curve_changed(&csr)
                .map(|c| (names(&c, &prime192v1), names(&c, &PRIME256V1), strictly_valid(&c, id)));
            assert_eq!(got, expected, "{case}");
        }
    }
}
