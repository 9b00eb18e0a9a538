//! A private key and its certificate: the signer of images, modules and authenticated variables.
//! Keys are RSA (PKCS#1 v1.5, what every UEFI verifier accepts) or ECDSA P-256/P-384, loaded
//! from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) and used through aws-lc-rs.

use super::crypto::{self, RSA_ENCRYPTION};
use super::pe::HashAlg;
use super::pkcs7::{Pkcs7Error, X509};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, RsaKeyPair};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{AnyRef, ObjectIdentifier};
use spki::AlgorithmIdentifierOwned;
use std::path::{Path, PathBuf};

/// sha256WithRSAEncryption (RFC 4055).
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// A file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file is not PEM or has an unsupported label.
    #[error("private key: {0}")]
    KeyFormat(String),
    /// aws-lc-rs rejected the key bytes.
    #[error("private key rejected: {0}")]
    KeyRejected(String),
    /// The certificate did not parse.
    #[error("certificate: {0}")]
    Certificate(#[from] Pkcs7Error),
    /// The certificate's public key is not the private key's.
    #[error("certificate public key does not match the private key")]
    KeyMismatch,
    /// The digest cannot be used with this key.
    #[error("{digest} is not supported with a {key} key")]
    UnsupportedDigest {
        /// Requested digest.
        digest: &'static str,
        /// Key kind.
        key: &'static str,
    },
    /// Key generation or signing failed inside aws-lc-rs.
    #[error("{0} failed")]
    Crypto(&'static str),
}

/// A private key usable for the signatures UEFI and Linux verify.
#[derive(Debug)]
pub enum PrivateKey {
    /// RSA, signing with PKCS#1 v1.5.
    Rsa(RsaKeyPair),
    /// ECDSA on P-256 (signs with SHA-256).
    EcdsaP256(EcdsaKeyPair),
    /// ECDSA on P-384 (signs with SHA-384).
    EcdsaP384(EcdsaKeyPair),
}

impl PrivateKey {
    /// Generates an RSA key of `bits` (2048, 3072 or 4096).
    pub fn generate_rsa(bits: u32) -> Result<Self, SignerError> {
        let size = match bits {
            2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
            _ => return Err(SignerError::Crypto("RSA key generation (size)")),
        };
        RsaKeyPair::generate(size)
            .map(PrivateKey::Rsa)
            .map_err(|_| SignerError::Crypto("RSA key generation"))
    }

    /// Generates an ECDSA P-256 key.
    pub fn generate_p256() -> Result<Self, SignerError> {
        EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING)
            .map(PrivateKey::EcdsaP256)
            .map_err(|_| SignerError::Crypto("ECDSA key generation"))
    }

    /// Parses a PEM private key: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, or SEC1
    /// `EC PRIVATE KEY` (encrypted keys must be decrypted first).
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignerError> {
        let text =
            std::str::from_utf8(pem).map_err(|_| SignerError::KeyFormat("not PEM text".into()))?;
        // Keys written by openssl may carry EC PARAMETERS before the key block; take the key.
        let start = [
            "-----BEGIN PRIVATE KEY",
            "-----BEGIN RSA PRIVATE KEY",
            "-----BEGIN EC PRIVATE KEY",
            "-----BEGIN ENCRYPTED PRIVATE KEY",
        ]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .ok_or_else(|| SignerError::KeyFormat("no PEM private key block".into()))?;
        let (label, der) = der::pem::decode_vec(&text.as_bytes()[start..])
            .map_err(|e| SignerError::KeyFormat(format!("bad PEM: {e}")))?;
        Self::from_der(label, &der)
    }

    /// Parses DER under a PEM label (see [`PrivateKey::from_pem`]).
    pub fn from_der(label: &str, der: &[u8]) -> Result<Self, SignerError> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| SignerError::KeyRejected(e.to_string());
        match label {
            "PRIVATE KEY" => {
                if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
                    return Ok(PrivateKey::Rsa(k));
                }
                if let Ok(k) =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der)
                {
                    return Ok(PrivateKey::EcdsaP256(k));
                }
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, der)
                    .map(PrivateKey::EcdsaP384)
                    .map_err(|_| {
                        SignerError::KeyRejected(
                            "PKCS#8 key is neither RSA nor ECDSA P-256/P-384".into(),
                        )
                    })
            }
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
                .map(PrivateKey::Rsa)
                .map_err(rejected),
            "EC PRIVATE KEY" => {
                let try_curve = |alg: &'static EcdsaSigningAlgorithm| {
                    EcdsaKeyPair::from_private_key_der(alg, der)
                };
                if let Ok(k) = try_curve(&signature::ECDSA_P256_SHA256_ASN1_SIGNING) {
                    return Ok(PrivateKey::EcdsaP256(k));
                }
                try_curve(&signature::ECDSA_P384_SHA384_ASN1_SIGNING)
                    .map(PrivateKey::EcdsaP384)
                    .map_err(rejected)
            }
            "ENCRYPTED PRIVATE KEY" => Err(SignerError::KeyFormat(
                "encrypted key: decrypt it first (openssl pkey -in KEY -out PLAIN)".into(),
            )),
            other => Err(SignerError::KeyFormat(format!(
                "PEM label {other:?} is not a private key"
            ))),
        }
    }

    /// The key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<String, SignerError> {
        let der: Vec<u8> = match self {
            PrivateKey::Rsa(k) => k
                .as_der()
                .map_err(|_| SignerError::Crypto("PKCS#8 encoding"))?
                .as_ref()
                .to_vec(),
            PrivateKey::EcdsaP256(k) | PrivateKey::EcdsaP384(k) => k
                .to_pkcs8v1()
                .map_err(|_| SignerError::Crypto("PKCS#8 encoding"))?
                .as_ref()
                .to_vec(),
        };
        der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &der)
            .map_err(|_| SignerError::Crypto("PEM encoding"))
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, SignerError> {
        match self {
            PrivateKey::Rsa(k) => Ok(k
                .public_key()
                .as_der()
                .map_err(|_| SignerError::Crypto("public key encoding"))?
                .as_ref()
                .to_vec()),
            PrivateKey::EcdsaP256(k) | PrivateKey::EcdsaP384(k) => Ok(k
                .public_key()
                .as_der()
                .map_err(|_| SignerError::Crypto("public key encoding"))?
                .as_ref()
                .to_vec()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            PrivateKey::Rsa(_) => "RSA",
            PrivateKey::EcdsaP256(_) => "ECDSA P-256",
            PrivateKey::EcdsaP384(_) => "ECDSA P-384",
        }
    }

    /// The digest an ECDSA key is bound to (aws-lc-rs fixes it per key); RSA takes any.
    fn check_digest(&self, digest: HashAlg) -> Result<(), SignerError> {
        let ok = match self {
            PrivateKey::Rsa(_) => digest != HashAlg::Sha1,
            PrivateKey::EcdsaP256(_) => digest == HashAlg::Sha256,
            PrivateKey::EcdsaP384(_) => digest == HashAlg::Sha384,
        };
        if ok {
            Ok(())
        } else {
            Err(SignerError::UnsupportedDigest {
                digest: digest.name(),
                key: self.kind(),
            })
        }
    }

    /// Signs `msg` (hashed here with `digest`).
    pub fn sign(&self, digest: HashAlg, msg: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.check_digest(digest)?;
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(k) => {
                let pad: &'static dyn signature::RsaEncoding = match digest {
                    HashAlg::Sha384 => &signature::RSA_PKCS1_SHA384,
                    HashAlg::Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(pad, &rng, msg, &mut sig)
                    .map_err(|_| SignerError::Crypto("RSA signing"))?;
                Ok(sig)
            }
            PrivateKey::EcdsaP256(k) | PrivateKey::EcdsaP384(k) => k
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignerError::Crypto("ECDSA signing")),
        }
    }

    /// The AlgorithmIdentifier of a certificate signature made with `digest`.
    pub fn certificate_signature_algorithm(&self, digest: HashAlg) -> AlgorithmIdentifierOwned {
        let oid = match (self, digest) {
            (PrivateKey::Rsa(_), HashAlg::Sha384) => SHA384_WITH_RSA,
            (PrivateKey::Rsa(_), HashAlg::Sha512) => SHA512_WITH_RSA,
            (PrivateKey::Rsa(_), _) => SHA256_WITH_RSA,
            (_, HashAlg::Sha384) => ECDSA_SHA384,
            _ => ECDSA_SHA256,
        };
        algorithm(oid, matches!(self, PrivateKey::Rsa(_)))
    }

    /// The SignerInfo signatureAlgorithm: rsaEncryption (as sbsign, sign-file and Windows write
    /// it) or ecdsa-with-SHA*.
    pub fn signer_info_algorithm(&self, digest: HashAlg) -> AlgorithmIdentifierOwned {
        match self {
            PrivateKey::Rsa(_) => algorithm(RSA_ENCRYPTION, true),
            _ => self.certificate_signature_algorithm(digest),
        }
    }
}

/// An AlgorithmIdentifier with NULL parameters (RSA, digests) or none (ECDSA).
pub(crate) fn algorithm(oid: ObjectIdentifier, null_params: bool) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: null_params.then(|| AnyRef::NULL.into()),
    }
}

/// The AlgorithmIdentifier of a digest, with NULL parameters as OpenSSL writes it.
pub(crate) fn digest_algorithm(digest: HashAlg) -> AlgorithmIdentifierOwned {
    let oid = match digest {
        HashAlg::Sha1 => crypto::ID_SHA1,
        HashAlg::Sha256 => crypto::ID_SHA256,
        HashAlg::Sha384 => crypto::ID_SHA384,
        HashAlg::Sha512 => crypto::ID_SHA512,
    };
    algorithm(oid, true)
}

/// A private key with its certificate.
#[derive(Debug)]
pub struct Signer {
    /// The key.
    pub key: PrivateKey,
    /// The certificate naming it (issuer + serial identify the signer).
    pub cert: X509,
}

impl Signer {
    /// The SignerInfo for `signature` made with this key over `signed_attrs` (or, without them,
    /// directly over the content): the signer named by issuer and serial, as UEFI and the kernel
    /// look signers up.
    pub fn signer_info(
        &self,
        digest: HashAlg,
        signed_attrs: Option<cms::signed_data::SignedAttributes>,
        signature: Vec<u8>,
    ) -> Result<cms::signed_data::SignerInfo, der::Error> {
        let t = &self.cert.cert.tbs_certificate;
        Ok(cms::signed_data::SignerInfo {
            version: cms::content_info::CmsVersion::V1,
            sid: cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
                cms::cert::IssuerAndSerialNumber {
                    issuer: t.issuer.clone(),
                    serial_number: t.serial_number.clone(),
                },
            ),
            digest_alg: digest_algorithm(digest),
            signed_attrs,
            signature_algorithm: self.key.signer_info_algorithm(digest),
            signature: der::asn1::OctetString::new(signature)?,
            unsigned_attrs: None,
        })
    }

    /// Pairs `key` with `cert`, checking that the certificate carries the key's public half.
    pub fn new(key: PrivateKey, cert: X509) -> Result<Self, SignerError> {
        let spki = key.public_key_spki_der()?;
        let cert_spki = der::Encode::to_der(&cert.cert.tbs_certificate.subject_public_key_info)
            .map_err(|_| SignerError::Crypto("SPKI encoding"))?;
        if spki != cert_spki {
            return Err(SignerError::KeyMismatch);
        }
        Ok(Signer { key, cert })
    }

    /// Loads a PEM key and a PEM or DER certificate.
    pub fn from_pem_files(key: &Path, cert: &Path) -> Result<Self, SignerError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| SignerError::Read {
                path: p.to_owned(),
                source,
            })
        };
        let key = PrivateKey::from_pem(&read(key)?)?;
        let cert = read_certificate(&read(cert)?)?;
        Self::new(key, cert)
    }

    /// Signs `msg` with `digest`.
    pub fn sign(&self, digest: HashAlg, msg: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.key.sign(digest, msg)
    }
}

/// Parses a certificate given as PEM or DER.
pub fn read_certificate(data: &[u8]) -> Result<X509, Pkcs7Error> {
    if data.starts_with(b"-----BEGIN") {
        X509::from_pem(data)
    } else {
        X509::from_der(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_bad_input() {
        let k = PrivateKey::generate_p256().unwrap();
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = PrivateKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(
            back.public_key_spki_der().unwrap(),
            k.public_key_spki_der().unwrap()
        );
        assert!(matches!(
            PrivateKey::from_pem(b"hello"),
            Err(SignerError::KeyFormat(_))
        ));
        let cert_label = pem.replace("PRIVATE KEY", "CERTIFICATE");
        assert!(PrivateKey::from_pem(cert_label.as_bytes()).is_err());
        // ECDSA P-256 only signs with SHA-256.
        assert!(matches!(
            k.sign(HashAlg::Sha384, b"x"),
            Err(SignerError::UnsupportedDigest { .. })
        ));
    }
}
