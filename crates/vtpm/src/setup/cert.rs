//! EK and platform certificates (TCG EK Credential Profile for TPM Family 2.0, §3.2) for keys
//! that live in the TPM: the SubjectPublicKeyInfo is built from the `TPMT_PUBLIC` that
//! TPM2_CreatePrimary returned, and the local CA signs it.

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, PublicKeyData, SerialNumber, SignatureAlgorithm,
};
use tpm_proto::object::{PublicId, PublicParms, TpmtPublic};
use yasna::models::ObjectIdentifier;

use super::ca::LocalCa;
use super::engine::TpmIdentity;

/// Certificate failures.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The EK is of a kind we do not certify.
    #[error("cannot certify this key: {0}")]
    Key(String),
    /// rcgen refused the parameters or signing failed.
    #[error("certificate signing failed: {0}")]
    Sign(#[from] rcgen::Error),
    /// No randomness for the serial number.
    #[error("random generator failed")]
    Rng,
}

// TCG OIDs (TCG EK Credential Profile §3.2, TCG Platform Certificate Profile §3.1).
const TCG_AT_TPM_MANUFACTURER: &[u64] = &[2, 23, 133, 2, 1];
const TCG_AT_TPM_MODEL: &[u64] = &[2, 23, 133, 2, 2];
const TCG_AT_TPM_VERSION: &[u64] = &[2, 23, 133, 2, 3];
const TCG_AT_TPM_SPECIFICATION: &[u64] = &[2, 23, 133, 2, 16];
const TCG_AT_PLATFORM_MANUFACTURER_STR: &[u64] = &[2, 23, 133, 5, 1, 1];
const TCG_AT_PLATFORM_MODEL: &[u64] = &[2, 23, 133, 5, 1, 4];
const TCG_AT_PLATFORM_VERSION: &[u64] = &[2, 23, 133, 5, 1, 5];
const TCG_KP_EK_CERTIFICATE: &[u64] = &[2, 23, 133, 8, 1];
const TCG_KP_PLATFORM_CERTIFICATE: &[u64] = &[2, 23, 133, 8, 2];
const ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES: &[u64] = &[2, 5, 29, 9];
const ID_CE_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const ID_CE_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const ID_CE_CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
const ID_CE_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const ANY_POLICY: &[u64] = &[2, 5, 29, 32, 0];
const ID_QT_UNOTICE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 2, 2];

/// A TPM-resident public key as rcgen's `PublicKeyData`.
pub struct TpmKey {
    der: Vec<u8>,
    alg: &'static SignatureAlgorithm,
    /// True for ECC keys (keyAgreement rather than keyEncipherment).
    pub ecc: bool,
}

impl PublicKeyData for TpmKey {
    fn der_bytes(&self) -> &[u8] {
        &self.der
    }
    fn algorithm(&self) -> &SignatureAlgorithm {
        self.alg
    }
}

impl TpmKey {
    /// The SPKI key bits of an RSA or ECC NIST P-384 `TPMT_PUBLIC`.
    pub fn from_public(p: &TpmtPublic) -> Result<TpmKey, CertError> {
        match (&p.parameters, &p.unique) {
            (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) if !n.is_empty() => {
                let e = if *exponent == 0 { 65537 } else { *exponent };
                // RFC 8017 A.1.1 RSAPublicKey; algorithm rsaEncryption with NULL parameters.
                let der = yasna::construct_der(|w| {
                    w.write_sequence(|w| {
                        w.next().write_bigint_bytes(n, true);
                        w.next().write_u32(e);
                    })
                });
                Ok(TpmKey {
                    der,
                    alg: &PKCS_RSA_SHA256,
                    ecc: false,
                })
            }
            (
                PublicParms::Ecc {
                    curve_id: 0x0004, ..
                },
                PublicId::Ecc { x, y },
            ) if x.len() <= 48 && y.len() <= 48 && !x.is_empty() => {
                // SEC 1 uncompressed point, coordinates left-padded to the field size.
                let mut der = vec![0x04];
                der.extend(std::iter::repeat_n(0, 48 - x.len()));
                der.extend_from_slice(x);
                der.extend(std::iter::repeat_n(0, 48 - y.len()));
                der.extend_from_slice(y);
                Ok(TpmKey {
                    der,
                    alg: &PKCS_ECDSA_P384_SHA384,
                    ecc: true,
                })
            }
            _ => Err(CertError::Key(format!(
                "object type {:#06x} is neither RSA nor ECC NIST P-384",
                p.object_type
            ))),
        }
    }
}

/// Platform identity for the platform certificate.
#[derive(Debug, Clone)]
pub struct Platform {
    /// platformManufacturerStr.
    pub manufacturer: String,
    /// platformModel.
    pub model: String,
    /// platformVersion.
    pub version: String,
}

fn oid(o: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(o)
}

/// `GeneralNames ::= SEQUENCE { [4] directoryName Name }` with one RDN per attribute.
fn san_directory_name(attrs: &[(&[u64], &str)]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            // Name is a CHOICE, so the [4] tag is explicit (RFC 5280 §4.2.1.6).
            w.next().write_tagged(yasna::Tag::context(4), |w| {
                w.write_sequence(|w| {
                    for (o, v) in attrs {
                        w.next().write_set(|w| {
                            w.next().write_sequence(|w| {
                                w.next().write_oid(&oid(o));
                                w.next().write_utf8_string(v);
                            })
                        })
                    }
                })
            })
        })
    })
}

/// subjectDirectoryAttributes with `TPMSpecification ::= SEQUENCE { family UTF8String,
/// level INTEGER, revision INTEGER }` (EK Credential Profile §3.2.11).
fn subject_directory_attributes(id: &TpmIdentity) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&oid(TCG_AT_TPM_SPECIFICATION));
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next().write_utf8_string(&id.family);
                        w.next().write_u32(id.level);
                        w.next().write_u32(id.revision);
                    })
                })
            })
        })
    })
}

/// certificatePolicies: anyPolicy with the profile's userNotice text (we own no policy OID).
fn certificate_policies(notice: &str) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&oid(ANY_POLICY));
                w.next().write_sequence(|w| {
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&oid(ID_QT_UNOTICE));
                        w.next().write_sequence(|w| {
                            w.next().write_utf8_string(notice);
                        })
                    })
                })
            })
        })
    })
}

fn ext(o: &[u64], critical: bool, content: Vec<u8>) -> CustomExtension {
    let mut e = CustomExtension::from_oid_content(o, content);
    e.set_criticality(critical);
    e
}

fn base_params(vmid: Option<&str>, san: Vec<u8>) -> Result<CertificateParams, CertError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    // EK Credential Profile §3.2.9: an empty subject makes subjectAltName critical.
    if let Some(v) = vmid {
        p.distinguished_name.push(DnType::CommonName, v);
    }
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    // §3.2.5: no well-defined expiration → 99991231235959Z.
    p.not_after = rcgen::date_time_ymd(9999, 12, 31) + time::Duration::seconds(86399);
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| CertError::Rng)?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    p.is_ca = IsCa::NoCa;
    p.use_authority_key_identifier_extension = true;
    p.custom_extensions = vec![
        ext(ID_CE_SUBJECT_ALT_NAME, vmid.is_none(), san),
        // basicConstraints CA:FALSE, DER (the default cA is omitted), critical.
        ext(ID_CE_BASIC_CONSTRAINTS, true, vec![0x30, 0x00]),
    ];
    Ok(p)
}

fn eku(o: &[u64]) -> Vec<u8> {
    yasna::construct_der(|w| w.write_sequence(|w| w.next().write_oid(&oid(o))))
}

/// An EK certificate (DER) for `key`.
pub fn ek_certificate(
    ca: &LocalCa,
    key: &TpmKey,
    id: &TpmIdentity,
    vmid: Option<&str>,
    decrypt: bool,
    sign: bool,
) -> Result<Vec<u8>, CertError> {
    let san = san_directory_name(&[
        (TCG_AT_TPM_MANUFACTURER, &id.manufacturer),
        (TCG_AT_TPM_MODEL, &id.model),
        (TCG_AT_TPM_VERSION, &id.version),
    ]);
    let mut p = base_params(vmid, san)?;
    // §3.2.8: keyEncipherment for RSA EKs, keyAgreement for ECC EKs.
    if decrypt {
        p.key_usages.push(if key.ecc {
            KeyUsagePurpose::KeyAgreement
        } else {
            KeyUsagePurpose::KeyEncipherment
        });
    }
    if sign {
        p.key_usages.push(KeyUsagePurpose::DigitalSignature);
    }
    p.custom_extensions.extend([
        ext(
            ID_CE_CERTIFICATE_POLICIES,
            false,
            certificate_policies("TCG Trusted Platform Module Endorsement"),
        ),
        ext(
            ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES,
            false,
            subject_directory_attributes(id),
        ),
        ext(ID_CE_EXT_KEY_USAGE, false, eku(TCG_KP_EK_CERTIFICATE)),
    ]);
    ca.sign(p, key)
}

/// An X.509 platform certificate over the EK (as swtpm's `swtpm_cert --type platform`): the
/// TCG platform attributes in subjectAltName, TPM specification in subjectDirectoryAttributes.
/// Not a TCG Platform *Attribute* Certificate.
pub fn platform_certificate(
    ca: &LocalCa,
    key: &TpmKey,
    id: &TpmIdentity,
    platform: &Platform,
    vmid: Option<&str>,
) -> Result<Vec<u8>, CertError> {
    let san = san_directory_name(&[
        (TCG_AT_PLATFORM_MANUFACTURER_STR, &platform.manufacturer),
        (TCG_AT_PLATFORM_MODEL, &platform.model),
        (TCG_AT_PLATFORM_VERSION, &platform.version),
    ]);
    let mut p = base_params(vmid, san)?;
    p.custom_extensions.extend([
        ext(
            ID_CE_CERTIFICATE_POLICIES,
            false,
            certificate_policies("TCG Trusted Platform Endorsement"),
        ),
        ext(
            ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES,
            false,
            subject_directory_attributes(id),
        ),
        ext(ID_CE_EXT_KEY_USAGE, false, eku(TCG_KP_PLATFORM_CERTIFICATE)),
    ]);
    ca.sign(p, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_is_explicitly_tagged_directory_name() {
        let d = san_directory_name(&[(TCG_AT_TPM_MODEL, "m")]);
        // SEQUENCE { [4] { SEQUENCE { SET { SEQUENCE { OID 2.23.133.2.2, UTF8 "m" } } } } }
        assert_eq!(
            d,
            [
                0x30, 0x12, 0xA4, 0x10, 0x30, 0x0E, 0x31, 0x0C, 0x30, 0x0A, 0x06, 0x05, 0x67, 0x81,
                0x05, 0x02, 0x02, 0x0C, 0x01, b'm'
            ]
        );
    }

    #[test]
    fn rejects_unsupported_keys() {
        let p = TpmtPublic {
            object_type: 0x0023,
            name_alg: 0x000B,
            object_attributes: 0,
            auth_policy: vec![],
            parameters: PublicParms::Ecc {
                symmetric: tpm_proto::object::TpmtSymDef::NULL,
                scheme: tpm_proto::object::TpmtScheme::NULL,
                curve_id: 0x0003,
                kdf: tpm_proto::object::TpmtScheme::NULL,
            },
            unique: PublicId::Ecc {
                x: vec![1; 32],
                y: vec![2; 32],
            },
        };
        assert!(TpmKey::from_public(&p).is_err());
    }
}
