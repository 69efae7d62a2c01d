//! Certificate signing requests: a device makes one, the server parses it into a [`VerifiedCsr`].
//!
//! Parse, don't validate: the only way to get a [`VerifiedCsr`] is [`VerifiedCsr::from_pem`], which
//! checks everything the contract asks (it parses, the key is P-256, the self-signature holds, the
//! subject has exactly one CN and it is the device id). The certificate authority issues only from
//! a `VerifiedCsr`, so an unchecked request cannot reach it.

use der::{Decode as _, Encode as _};
use p256::ecdsa::Signature;
use uuid::Uuid;
use x509_cert::der;
use x509_cert::request::CertReq;
use x509_cert::spki::ObjectIdentifier;

use crate::keys::{KeyPair, PublicKey};

/// id-ecPublicKey (RFC 5480).
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1 / secp256r1 (RFC 5480).
pub(crate) const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// ecdsa-with-SHA256 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// commonName (RFC 4519).
pub(crate) const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Why a CSR was refused. Each cause has its own variant so a report can say exactly what was wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Not a PEM `CERTIFICATE REQUEST` block.
    #[error("the CSR is not a PEM CERTIFICATE REQUEST: {0}")]
    NotPem(String),
    /// PEM, but the DER inside is not a PKCS#10 request.
    #[error("the CSR is not a valid PKCS#10 structure: {0}")]
    Malformed(String),
    /// The key is not an elliptic-curve key.
    #[error("the CSR's key is not an EC key (algorithm {0})")]
    NotEcKey(String),
    /// An EC key on a curve other than P-256.
    #[error("the CSR's key is not on P-256 (curve {0})")]
    NotP256(String),
    /// The key bytes are not a point on P-256.
    #[error("the CSR's public key is not a valid P-256 point")]
    InvalidPublicKey,
    /// Signed with an algorithm other than ecdsa-with-SHA256.
    #[error("the CSR is signed with {0}, expected ecdsa-with-SHA256")]
    UnsupportedSignatureAlgorithm(String),
    /// The self-signature does not verify with the CSR's own key (no proof of possession).
    #[error("the CSR's signature does not verify with its own key")]
    BadSignature,
    /// The subject has no common name.
    #[error("the CSR's subject has no CN")]
    MissingCommonName,
    /// The subject has more than one common name.
    #[error("the CSR's subject has {0} CNs, expected exactly one")]
    MultipleCommonNames(usize),
    /// The common name is not the device id the request names.
    #[error("the CSR's CN is {found:?}, expected the device id {expected}")]
    CommonNameMismatch {
        /// The device id of the enrollment request.
        expected: Uuid,
        /// The CN the CSR carries.
        found: String,
    },
}

/// How the PEM text around a CSR is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PemReading {
    /// As leniently as OpenSSL: lines of any width, the `NEW CERTIFICATE REQUEST` label, text
    /// around the block.
    #[default]
    Lax,
    /// RFC 7468's strict form only: the `CERTIFICATE REQUEST` label, 64-character lines.
    Strict,
}

/// How the CSR's CN is compared with the device id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommonNameReading {
    /// The CN is the device id's lowercase hyphenated spelling.
    #[default]
    Lowercase,
    /// The CN is the device id in any UUID spelling (upper case, no hyphens, ...).
    AnySpelling,
}

/// The readings a server takes where the contract leaves a CSR's form open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsrReading {
    /// The PEM form.
    pub pem: PemReading,
    /// The CN comparison.
    pub common_name: CommonNameReading,
}

/// A CSR that passed every check for `device_id`.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    device_id: Uuid,
    public_key: PublicKey,
}

impl VerifiedCsr {
    /// Parses and checks a PEM CSR for `device_id`.
    ///
    /// The PEM layout is read as leniently as OpenSSL reads it (RFC 7468 §3 "lax" parsing): lines of
    /// any width or one long line, `NEW CERTIFICATE REQUEST` labels, and text around the block.
    /// Devices differ here (Android wraps base64 at 76 columns, iOS and Java not at all); what
    /// matters for the profile is the DER inside.
    pub fn from_pem(pem: &str, device_id: Uuid) -> Result<Self, CsrError> {
        Self::read(pem, device_id, CsrReading::default())
    }

    /// Parses and checks a PEM CSR for `device_id` as `reading` says where the contract leaves
    /// room (a server may take either reading; docs/PROTOCOL.md ENR-004 and ENR-005).
    pub fn read(pem: &str, device_id: Uuid, reading: CsrReading) -> Result<Self, CsrError> {
        let req = match reading.pem {
            PemReading::Lax => {
                let der = pem_block(pem, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])
                    .map_err(CsrError::NotPem)?;
                CertReq::from_der(&der).map_err(|e| CsrError::Malformed(e.to_string()))?
            }
            PemReading::Strict => {
                use der::DecodePem as _;
                CertReq::from_pem(pem.as_bytes()).map_err(|e| CsrError::NotPem(e.to_string()))?
            }
        };
        Self::check(&req, device_id, reading.common_name)
    }

    /// Parses and checks a DER CSR for `device_id`.
    pub fn from_der(bytes: &[u8], device_id: Uuid) -> Result<Self, CsrError> {
        let req = CertReq::from_der(bytes).map_err(|e| CsrError::Malformed(e.to_string()))?;
        Self::check(&req, device_id, CommonNameReading::Lowercase)
    }

    fn check(req: &CertReq, device_id: Uuid, cn: CommonNameReading) -> Result<Self, CsrError> {
        let public_key = p256_key(&req.info.public_key)?;
        if req.algorithm.oid != ECDSA_WITH_SHA256 {
            return Err(CsrError::UnsupportedSignatureAlgorithm(req.algorithm.oid.to_string()));
        }
        let signed = req.info.to_der().map_err(|e| CsrError::Malformed(e.to_string()))?;
        let signature = req
            .signature
            .as_bytes()
            .and_then(|der| Signature::from_der(der).ok())
            .ok_or(CsrError::BadSignature)?;
        if !crate::keys::verifies(&public_key, &signed, &signature) {
            return Err(CsrError::BadSignature);
        }
        let found = single_common_name(&req.info.subject)?;
        let matches = match cn {
            CommonNameReading::Lowercase => found == device_id.to_string(),
            CommonNameReading::AnySpelling => Uuid::parse_str(&found).is_ok_and(|id| id == device_id),
        };
        if !matches {
            return Err(CsrError::CommonNameMismatch { expected: device_id, found });
        }
        Ok(Self {
            device_id,
            public_key: PublicKey::from_sec1_bytes(&public_key.to_sec1_bytes())
                .map_err(|_| CsrError::InvalidPublicKey)?,
        })
    }

    /// The device the CSR is for (its CN).
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// The key the CSR proved possession of.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

/// The DER of the first PEM block with one of `labels`, read laxly: whitespace inside the base64
/// is ignored, text before and after the block too.
pub(crate) fn pem_block(text: &str, labels: &[&str]) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    for label in labels {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(start) = text.find(&begin) else { continue };
        let body_start = start + begin.len();
        let Some(len) = text[body_start..].find(&end) else {
            return Err(format!("no {end} line"));
        };
        let body: String = text[body_start..body_start + len].split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("the {label} block is not base64: {e}"));
    }
    Err(format!("no -----BEGIN {}----- line", labels.first().copied().unwrap_or_default()))
}

/// The P-256 verifying key of a SubjectPublicKeyInfo, or why it is not one.
pub(crate) fn p256_key(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<p256::ecdsa::VerifyingKey, CsrError> {
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(CsrError::NotEcKey(spki.algorithm.oid.to_string()));
    }
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match curve {
        Some(oid) if oid == PRIME256V1 => {}
        Some(oid) => return Err(CsrError::NotP256(oid.to_string())),
        None => return Err(CsrError::NotP256("absent".into())),
    }
    let point = spki.subject_public_key.as_bytes().ok_or(CsrError::InvalidPublicKey)?;
    p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| CsrError::InvalidPublicKey)
}

/// The one CN of a name, or why there is not exactly one.
pub(crate) fn single_common_name(name: &x509_cert::name::Name) -> Result<String, CsrError> {
    let cns: Vec<_> =
        name.iter_rdn().flat_map(|rdn| rdn.iter()).filter(|atv| atv.oid == COMMON_NAME).collect();
    match cns.as_slice() {
        [] => Err(CsrError::MissingCommonName),
        [one] => x509_cert::ext::pkix::name::DirectoryString::try_from(&one.value)
            .map(|s| s.value().into_owned())
            .map_err(|e| CsrError::Malformed(format!("CN is not a string: {e}"))),
        many => Err(CsrError::MultipleCommonNames(many.len())),
    }
}

/// rcgen signs through this: the key pair's public point and DER signatures from p256.
impl rcgen::PublicKeyData for KeyPair {
    fn der_bytes(&self) -> &[u8] {
        self.public_point()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for KeyPair {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(KeyPair::sign(self, msg))
    }
}

/// Why a CSR could not be made.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrBuildError {
    /// rcgen refused the parameters.
    #[error("could not build the CSR: {0}")]
    Rcgen(String),
}

/// A PEM PKCS#10 request for `key`, subject CN = `common_name` (a device id in the profile).
pub fn create_csr(key: &KeyPair, common_name: &str) -> Result<String, CsrBuildError> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.serialize_request(key).and_then(|csr| csr.pem()).map_err(|e| CsrBuildError::Rcgen(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;

    #[test]
    fn own_csr_verifies_and_binds_key_and_device() {
        let mut rng = seeded(5);
        let key = KeyPair::generate(&mut rng);
        let device = crate::rng::uuid(&mut rng);
        let pem = create_csr(&key, &device.to_string()).expect("rcgen builds a CSR");
        let csr = VerifiedCsr::from_pem(&pem, device).expect("our own CSR verifies");
        assert_eq!(csr.device_id(), device);
        assert_eq!(csr.public_key(), &key.public_key());
        let other = crate::rng::uuid(&mut rng);
        assert_eq!(
            VerifiedCsr::from_pem(&pem, other).map(|_| ()),
            Err(CsrError::CommonNameMismatch { expected: other, found: device.to_string() })
        );
    }

    #[test]
    fn readings_of_pem_form_and_cn_spelling() {
        let mut rng = seeded(6);
        let key = KeyPair::generate(&mut rng);
        let device = crate::rng::uuid(&mut rng);
        let strict_pem = create_csr(&key, &device.to_string()).expect("rcgen builds a CSR");
        let upper = create_csr(&key, &device.to_string().to_uppercase()).expect("rcgen builds a CSR");
        let body: String = strict_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let one_line =
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n");
        let new_label = strict_pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
        let strict = CsrReading { pem: PemReading::Strict, ..CsrReading::default() };
        let any = CsrReading { common_name: CommonNameReading::AnySpelling, ..CsrReading::default() };
        // (pem, reading, accepted)
        let cases = [
            (&strict_pem, CsrReading::default(), true),
            (&strict_pem, strict, true),
            (&one_line, CsrReading::default(), true),
            (&one_line, strict, false),
            (&new_label, CsrReading::default(), true),
            (&new_label, strict, false),
            (&upper, CsrReading::default(), false),
            (&upper, any, true),
        ];
        for (i, (pem, reading, accepted)) in cases.into_iter().enumerate() {
            let got = VerifiedCsr::read(pem, device, reading);
            assert_eq!(got.is_ok(), accepted, "case {i}: {got:?}");
            if let Err(e) = got {
                assert!(
                    matches!(e, CsrError::NotPem(_) | CsrError::CommonNameMismatch { .. }),
                    "case {i}: {e:?}"
                );
            }
        }
    }
}
