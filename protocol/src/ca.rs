//! The Token Server's mobile-authentication certificate authority, and checking its certificates.
//!
//! [`CertificateAuthority`] issues a device certificate from a [`VerifiedCsr`]: subject CN = device
//! id, the CSR's key, signed ECDSA P-256 SHA-256. [`TrustAnchor`] is the other side: from the CA's
//! certificate alone (what the device gets as `ca_certificate`) it checks a device certificate and
//! yields a [`DeviceCertificate`] saying whose key it certifies.

use std::fmt;

use der::{Decode as _, Encode as _};
use p256::ecdsa::Signature;
use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use x509_cert::Certificate;
use x509_cert::der;

use crate::csr::{self, CsrError, VerifiedCsr};
use crate::keys::{KeyPair, PublicKey};

/// Why a certificate could not be issued.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// rcgen refused the parameters (a bug in this crate, not the peer's fault).
    #[error("could not issue the certificate: {0}")]
    Rcgen(String),
}

/// Why a certificate was not accepted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not a PEM `CERTIFICATE`, or not an X.509 structure.
    #[error("not a PEM X.509 certificate: {0}")]
    Malformed(String),
    /// The certificate's key is not a P-256 key.
    #[error("the certificate's key is not usable: {0}")]
    Key(CsrError),
    /// The issuer name is not the CA's subject.
    #[error("the certificate was not issued by this CA (issuer {found})")]
    WrongIssuer {
        /// The certificate's issuer name.
        found: String,
    },
    /// Signed with an algorithm other than ecdsa-with-SHA256.
    #[error("the certificate is signed with {0}, expected ecdsa-with-SHA256")]
    UnsupportedSignatureAlgorithm(String),
    /// The CA's signature does not verify.
    #[error("the CA's signature on the certificate does not verify")]
    BadSignature,
    /// `now` is outside the validity period.
    #[error("the certificate is not valid at {now} (valid {not_before} to {not_after})")]
    OutsideValidity {
        /// The instant checked.
        now: OffsetDateTime,
        /// Start of validity.
        not_before: OffsetDateTime,
        /// End of validity.
        not_after: OffsetDateTime,
    },
    /// A CA certificate where a device certificate belongs, or the other way round.
    #[error("wrong kind of certificate: {0}")]
    WrongKind(&'static str),
    /// The subject has no single CN that is a device id (a UUID).
    #[error("the certificate's subject CN is not a device id: {0}")]
    Subject(String),
}

/// A certificate as PEM and DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// PEM `CERTIFICATE` block.
    pub pem: String,
    /// The DER inside it.
    pub der: Vec<u8>,
}

/// A CA: its key and its self-signed certificate.
pub struct CertificateAuthority {
    key: KeyPair,
    params: rcgen::CertificateParams,
    certificate: IssuedCertificate,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority").field("key", &self.key).finish_non_exhaustive()
    }
}

/// How long device certificates are valid.
pub const DEVICE_CERT_VALIDITY: Duration = Duration::days(365);
/// How long the CA certificate is valid.
pub const CA_CERT_VALIDITY: Duration = Duration::days(3650);
/// Backdating of `notBefore`, so a peer whose clock is slightly behind still accepts a fresh certificate.
const BACKDATE: Duration = Duration::minutes(5);

impl CertificateAuthority {
    /// A new CA named `common_name`, its key from `rng`, valid from `now`.
    pub fn generate(
        common_name: &str,
        rng: &mut impl CryptoRng,
        now: OffsetDateTime,
    ) -> Result<Self, IssueError> {
        let key = KeyPair::generate(rng);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "mobauth");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        // Without rcgen's crypto feature the key identifier must be given, or the CA's SKI and the
        // issued certificates' AKI come out empty.
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key_id(&key.public_key()));
        params.serial_number = Some(serial(rng));
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_CERT_VALIDITY;
        let cert = params.self_signed(&key).map_err(|e| IssueError::Rcgen(e.to_string()))?;
        let certificate = IssuedCertificate { pem: cert.pem(), der: cert.der().to_vec() };
        Ok(Self { key, params, certificate })
    }

    /// The CA's own certificate (`ca_certificate` on the wire).
    pub fn certificate(&self) -> &IssuedCertificate {
        &self.certificate
    }

    /// A trust anchor for this CA's certificates.
    pub fn trust_anchor(&self) -> Result<TrustAnchor, CertError> {
        TrustAnchor::from_pem(&self.certificate.pem)
    }

    /// Issues a device certificate for a verified CSR, valid from `now`.
    pub fn issue(
        &self,
        csr: &VerifiedCsr,
        rng: &mut impl CryptoRng,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, IssueError> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, csr.device_id().to_string());
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key_id(csr.public_key()));
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(serial(rng));
        params.not_before = now - BACKDATE;
        params.not_after = now + DEVICE_CERT_VALIDITY;
        let subject_key = SubjectKey(csr.public_key().to_sec1_bytes());
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&subject_key, &issuer).map_err(|e| IssueError::Rcgen(e.to_string()))?;
        Ok(IssuedCertificate { pem: cert.pem(), der: cert.der().to_vec() })
    }
}

/// A subject's public key as rcgen wants it.
struct SubjectKey(Box<[u8]>);

impl rcgen::PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits.
fn key_id(key: &PublicKey) -> Vec<u8> {
    Sha256::digest(key.to_sec1_bytes())[..20].to_vec()
}

/// A positive 127-bit serial number.
fn serial(rng: &mut impl CryptoRng) -> rcgen::SerialNumber {
    let mut bytes: [u8; 16] = crate::rng::bytes(rng);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // no leading zero byte: DER INTEGERs must be minimal
    rcgen::SerialNumber::from_slice(&bytes)
}

/// What a device certificate says, once checked against its CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    /// The subject CN.
    pub device_id: Uuid,
    /// The certified key.
    pub public_key: PublicKey,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// A CA certificate to check device certificates against.
#[derive(Clone)]
pub struct TrustAnchor {
    subject: x509_cert::name::Name,
    key: p256::ecdsa::VerifyingKey,
}

impl fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustAnchor({})", self.subject)
    }
}

impl TrustAnchor {
    /// From the CA's PEM certificate.
    pub fn from_pem(pem: &str) -> Result<Self, CertError> {
        let cert = parse_pem(pem)?;
        let tbs = cert.tbs_certificate();
        if !is_ca(tbs)? {
            return Err(CertError::WrongKind(
                "a trust anchor must be a CA certificate (basicConstraints cA)",
            ));
        }
        Ok(Self {
            subject: tbs.subject().clone(),
            key: csr::p256_key(tbs.subject_public_key_info()).map_err(CertError::Key)?,
        })
    }

    /// Checks a device certificate: issued by this CA, signature valid, valid at `now`, subject CN a device id.
    pub fn verify(&self, pem: &str, now: OffsetDateTime) -> Result<DeviceCertificate, CertError> {
        let cert = self.verify_chain(pem)?;
        if now < cert.not_before || now > cert.not_after {
            return Err(CertError::OutsideValidity {
                now,
                not_before: cert.not_before,
                not_after: cert.not_after,
            });
        }
        Ok(cert)
    }

    /// Everything [`TrustAnchor::verify`] checks but the validity period: what a device checks on
    /// enrollment, since its own clock need not agree with the server's.
    pub fn verify_chain(&self, pem: &str) -> Result<DeviceCertificate, CertError> {
        let cert = parse_pem(pem)?;
        let tbs = cert.tbs_certificate();
        if is_ca(tbs)? {
            return Err(CertError::WrongKind("a device certificate must not be a CA certificate"));
        }
        if tbs.issuer() != &self.subject {
            return Err(CertError::WrongIssuer { found: tbs.issuer().to_string() });
        }
        if cert.signature_algorithm().oid != csr::ECDSA_WITH_SHA256 {
            return Err(CertError::UnsupportedSignatureAlgorithm(cert.signature_algorithm().oid.to_string()));
        }
        let signed = tbs.to_der().map_err(|e| CertError::Malformed(e.to_string()))?;
        let signature = cert
            .signature()
            .as_bytes()
            .and_then(|der| Signature::from_der(der).ok())
            .ok_or(CertError::BadSignature)?;
        if !crate::keys::verifies(&self.key, &signed, &signature) {
            return Err(CertError::BadSignature);
        }
        let not_before = tbs.validity().not_before.to_system_time().into();
        let not_after = tbs.validity().not_after.to_system_time().into();
        let cn = csr::single_common_name(tbs.subject()).map_err(|e| CertError::Subject(e.to_string()))?;
        let device_id = Uuid::try_parse(&cn).map_err(|_| CertError::Subject(cn.clone()))?;
        let key = csr::p256_key(tbs.subject_public_key_info()).map_err(CertError::Key)?;
        let public_key = PublicKey::from_sec1_bytes(&key.to_sec1_bytes())
            .map_err(|_| CertError::Key(CsrError::InvalidPublicKey))?;
        Ok(DeviceCertificate { device_id, public_key, not_before, not_after })
    }
}

fn parse_pem(pem: &str) -> Result<Certificate, CertError> {
    let der = csr::pem_block(pem, &["CERTIFICATE"]).map_err(CertError::Malformed)?;
    Certificate::from_der(&der).map_err(|e| CertError::Malformed(e.to_string()))
}

/// Whether the certificate's basicConstraints say it is a CA.
fn is_ca(tbs: &x509_cert::TbsCertificate) -> Result<bool, CertError> {
    let constraints = tbs
        .get_extension::<x509_cert::ext::pkix::BasicConstraints>()
        .map_err(|e| CertError::Malformed(format!("basicConstraints: {e}")))?;
    Ok(constraints.is_some_and(|(_, bc)| bc.ca))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;
    use time::macros::datetime;

    #[test]
    fn issue_and_verify() {
        let mut rng = seeded(9);
        let now = datetime!(2026-11-29 12:00 UTC);
        let ca = CertificateAuthority::generate("test CA", &mut rng, now).expect("CA");
        let key = KeyPair::generate(&mut rng);
        let device = crate::rng::uuid(&mut rng);
        let pem = csr::create_csr(&key, &device.to_string()).expect("csr");
        let verified = VerifiedCsr::from_pem(&pem, device).expect("verified");
        let cert = ca.issue(&verified, &mut rng, now).expect("issued");
        let anchor = ca.trust_anchor().expect("anchor");
        let checked = anchor.verify(&cert.pem, now).expect("verifies");
        assert_eq!(checked.device_id, device);
        assert_eq!(checked.public_key, key.public_key());
        let later = now + DEVICE_CERT_VALIDITY + Duration::days(1);
        assert!(matches!(anchor.verify(&cert.pem, later), Err(CertError::OutsideValidity { .. })));
        let other = CertificateAuthority::generate("test CA", &mut rng, now).expect("CA");
        assert_eq!(
            other.trust_anchor().expect("anchor").verify(&cert.pem, now),
            Err(CertError::BadSignature)
        );
    }
}
