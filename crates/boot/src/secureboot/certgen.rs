//! Self-signed X.509 v3 certificates (RFC 5280 §4.1) for platform owner keys, built from
//! x509-cert types and signed with aws-lc-rs.

use super::pe::HashAlg;
use super::pkcs7::X509;
use super::signer::{PrivateKey, Signer, SignerError};
use const_oid::ObjectIdentifier as Oid;
use const_oid::db::rfc4519::CN;
use const_oid::db::rfc5280::ID_KP_CODE_SIGNING;
use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime, Utf8StringRef};
use der::{Any, DateTime, Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use std::time::{Duration, SystemTime};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// Why a certificate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CertGenError {
    /// DER encoding of a field failed.
    #[error("encoding {what}: {source}")]
    Der {
        /// Field.
        what: &'static str,
        /// Cause.
        source: der::Error,
    },
    /// The validity period cannot be represented.
    #[error("validity of {0} days is out of range")]
    Validity(u32),
    /// Signing failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> CertGenError {
    move |source| CertGenError::Der { what, source }
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertUsage {
    /// PK or KEK: signs authenticated variable updates.
    KeyExchange,
    /// db: signs boot images (code-signing EKU).
    CodeSigning,
}

/// Parameters of a self-signed certificate.
#[derive(Debug, Clone)]
pub struct CertParams {
    /// The subject (and issuer) common name.
    pub common_name: String,
    /// Days of validity from `not_before`.
    pub days: u32,
    /// Start of validity.
    pub not_before: SystemTime,
    /// Extensions to set.
    pub usage: CertUsage,
}

/// X.509 time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn x509_time(t: SystemTime) -> Result<Time, der::Error> {
    let dt = DateTime::from_system_time(t)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// A Name holding one CN as UTF8String (no RFC 4514 parsing: a prefix may contain commas).
fn common_name(cn: &str) -> Result<Name, der::Error> {
    let value = Any::encode_from(&Utf8StringRef::new(cn)?)?;
    let atv = AttributeTypeAndValue { oid: CN, value };
    let rdn = RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?);
    Ok(RdnSequence(vec![rdn]))
}

/// 16 random bytes, positive and without a leading zero octet (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<SerialNumber, der::Error> {
    let mut b = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b[0] = (b[0] & 0x7f) | 0x40;
    SerialNumber::new(&b)
}

fn extension<T: AsExtension>(subject: &Name, v: &T) -> Result<Extension, der::Error> {
    v.to_extension(subject, &[])
}

/// Issues a self-signed certificate for `key`.
pub fn self_signed(key: &PrivateKey, params: &CertParams) -> Result<X509, CertGenError> {
    let name = common_name(&params.common_name).map_err(der_err("subject"))?;
    let spki_der = key.public_key_spki_der()?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(der_err("public key"))?;
    let not_after = params
        .not_before
        .checked_add(Duration::from_secs(u64::from(params.days) * 86_400))
        .ok_or(CertGenError::Validity(params.days))?;
    let validity = Validity {
        not_before: x509_time(params.not_before).map_err(der_err("notBefore"))?,
        not_after: x509_time(not_after).map_err(|_| CertGenError::Validity(params.days))?,
    };
    let ski = HashAlg::Sha1.digest(spki.subject_public_key.raw_bytes());
    let ski = SubjectKeyIdentifier(OctetString::new(ski).map_err(der_err("subjectKeyIdentifier"))?);
    let mut extensions = vec![
        extension(
            &name,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )
        .map_err(der_err("basicConstraints"))?,
        extension(&name, &KeyUsage(KeyUsages::DigitalSignature.into()))
            .map_err(der_err("keyUsage"))?,
    ];
    if params.usage == CertUsage::CodeSigning {
        extensions.push(
            extension(&name, &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]))
                .map_err(der_err("extendedKeyUsage"))?,
        );
    }
    extensions.push(extension(&name, &ski).map_err(der_err("subjectKeyIdentifier"))?);
    let signature_algorithm = key.certificate_signature_algorithm(default_digest(key));
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial().map_err(der_err("serialNumber"))?,
        signature: signature_algorithm.clone(),
        issuer: name.clone(),
        validity,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(der_err("TBSCertificate"))?;
    let sig = key.sign(default_digest(key), &tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm,
        signature: BitString::from_bytes(&sig).map_err(der_err("signature"))?,
    };
    let der = cert.to_der().map_err(der_err("Certificate"))?;
    X509::from_der(&der).map_err(|e| CertGenError::Signer(SignerError::Certificate(e)))
}

/// SHA-256 for RSA and P-256, SHA-384 for P-384.
pub fn default_digest(key: &PrivateKey) -> HashAlg {
    match key {
        PrivateKey::EcdsaP384(_) => HashAlg::Sha384,
        _ => HashAlg::Sha256,
    }
}

/// A new key of `algorithm` and its self-signed certificate.
pub fn generate(algorithm: KeyAlgorithm, params: &CertParams) -> Result<Signer, CertGenError> {
    let key = match algorithm {
        KeyAlgorithm::Rsa2048 => PrivateKey::generate_rsa(2048)?,
        KeyAlgorithm::Rsa3072 => PrivateKey::generate_rsa(3072)?,
        KeyAlgorithm::Rsa4096 => PrivateKey::generate_rsa(4096)?,
        KeyAlgorithm::EcdsaP256 => PrivateKey::generate_p256()?,
    };
    let cert = self_signed(&key, params)?;
    Ok(Signer::new(key, cert)?)
}

/// Key types `tl secureboot keys create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// RSA 2048 (what every firmware accepts).
    #[default]
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
    /// ECDSA P-256 (edk2 builds without EC support reject it).
    EcdsaP256,
}

/// OID of the code-signing EKU (for tests and callers checking certificates).
pub const CODE_SIGNING_EKU: Oid = ID_KP_CODE_SIGNING;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::crypto;
    use const_oid::AssociatedOid;

    #[test]
    fn self_signed_certificate_verifies_and_carries_extensions() {
        for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256] {
            let s = generate(
                alg,
                &CertParams {
                    common_name: "tl test, db".into(),
                    days: 3650,
                    not_before: SystemTime::now(),
                    usage: CertUsage::CodeSigning,
                },
            )
            .unwrap();
            let c = &s.cert;
            assert_eq!(c.subject(), c.issuer());
            assert!(c.subject().contains("tl test"), "{}", c.subject());
            assert!(c.issued(c), "self-signature verifies");
            let exts = c.cert.tbs_certificate.extensions.as_ref().unwrap();
            let eku = exts
                .iter()
                .find(|e| e.extn_id == ExtendedKeyUsage::OID)
                .unwrap();
            let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
            assert_eq!(eku.0, vec![CODE_SIGNING_EKU]);
            let serial = c.cert.tbs_certificate.serial_number.as_bytes();
            assert_eq!(serial.len(), 16);
            // The signature algorithm matches what our verifier expects.
            crypto::verify(
                &c.cert.tbs_certificate.subject_public_key_info,
                &c.cert.signature_algorithm.oid,
                c.cert.signature_algorithm.parameters.as_ref(),
                None,
                c.tbs(),
                c.cert.signature.raw_bytes(),
            )
            .unwrap();
        }
    }

    #[test]
    fn year_2050_switches_to_generalized_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(2_556_144_000); // 2051
        assert!(matches!(x509_time(t).unwrap(), Time::GeneralTime(_)));
        assert!(matches!(
            x509_time(SystemTime::UNIX_EPOCH).unwrap(),
            Time::UtcTime(_)
        ));
    }
}
