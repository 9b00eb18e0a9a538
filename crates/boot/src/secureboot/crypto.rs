//! Signature checks with aws-lc-rs for the algorithms UEFI signers use (RSA PKCS#1 v1.5,
//! RSASSA-PSS and ECDSA over SHA-1/256/384/512; RFC 5912 / RFC 4055 OIDs).

use super::pe::HashAlg;
use super::tlv::{self, Reader};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier as Oid;
use der::Any;
use spki::SubjectPublicKeyInfoOwned;

/// rsaEncryption.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// id-RSASSA-PSS: the digest, MGF and salt length live in the parameters.
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1.
const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// id-ecPublicKey.
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const P521: Oid = Oid::new_unwrap("1.3.132.0.35");
/// id-sha1.
pub const ID_SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub const ID_SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub const ID_SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Algorithm pair not supported.
    #[error("unsupported signature algorithm {alg} with key {key}")]
    Unsupported {
        /// Signature algorithm OID.
        alg: Oid,
        /// Key algorithm OID.
        key: Oid,
    },
    /// Unknown digest OID.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedDigest(Oid),
    /// RSASSA-PSS with parameters other than MGF1(same digest), salt = digest length.
    #[error(
        "unsupported RSASSA-PSS parameters (need SHA-256/384/512, MGF1 with the same digest, salt length = digest length)"
    )]
    UnsupportedPssParameters,
    /// The math failed.
    #[error("signature does not verify")]
    BadSignature,
}

/// Maps a digest OID to a [`HashAlg`].
pub fn hash_from_oid(oid: &Oid) -> Result<HashAlg, CryptoError> {
    Ok(match *oid {
        ID_SHA1 => HashAlg::Sha1,
        ID_SHA256 => HashAlg::Sha256,
        ID_SHA384 => HashAlg::Sha384,
        ID_SHA512 => HashAlg::Sha512,
        _ => return Err(CryptoError::UnsupportedDigest(*oid)),
    })
}

/// The digest an algorithm OID implies, if it names one.
fn implied_hash(sig_alg: &Oid) -> Option<HashAlg> {
    Some(match *sig_alg {
        SHA1_WITH_RSA => HashAlg::Sha1,
        SHA256_WITH_RSA | ECDSA_SHA256 => HashAlg::Sha256,
        SHA384_WITH_RSA | ECDSA_SHA384 => HashAlg::Sha384,
        SHA512_WITH_RSA | ECDSA_SHA512 => HashAlg::Sha512,
        _ => return None,
    })
}

/// The digest of RSASSA-PSS parameters (RFC 4055 §3.1) when they are a form aws-lc-rs
/// verifies: MGF1 with the same digest, salt length equal to the digest length, trailer 1.
/// SHA-1 (the DER default when fields are absent) is not accepted.
fn pss_hash(params: Option<&Any>) -> Option<HashAlg> {
    let params = params?;
    let mut r = Reader::new(params.value(), 0);
    let mut hash = None;
    let mut mgf_hash = None;
    let mut salt = None;
    let mut trailer = 1u8;
    let alg_oid = |t: &[u8]| -> Option<Oid> {
        let seq = Reader::new(t, 0)
            .expect(tlv::SEQUENCE, "AlgorithmIdentifier")
            .ok()?;
        let oid = Reader::inside(&seq).expect(0x06, "algorithm").ok()?;
        Oid::from_bytes(oid.value).ok()
    };
    while !r.is_empty() {
        let field = r.next_tlv("RSASSA-PSS-params").ok()?;
        match field.tag {
            0xa0 => hash = Some(hash_from_oid(&alg_oid(field.value)?).ok()?),
            0xa1 => {
                let seq = Reader::new(field.value, 0)
                    .expect(tlv::SEQUENCE, "maskGenAlgorithm")
                    .ok()?;
                let mut m = Reader::inside(&seq);
                let oid = m.expect(0x06, "mgf").ok()?;
                if Oid::from_bytes(oid.value).ok()? != MGF1 {
                    return None;
                }
                mgf_hash = Some(hash_from_oid(&alg_oid(m.next_tlv("mgf1 hash").ok()?.raw)?).ok()?);
            }
            0xa2 => {
                let n = Reader::new(field.value, 0)
                    .expect(0x02, "saltLength")
                    .ok()?;
                salt = Some(n.value.iter().try_fold(0usize, |a, &b| {
                    a.checked_mul(256).map(|a| a + usize::from(b))
                })?);
            }
            0xa3 => {
                let n = Reader::new(field.value, 0)
                    .expect(0x02, "trailerField")
                    .ok()?;
                trailer = *n.value.first()?;
            }
            _ => return None,
        }
    }
    let hash = hash?;
    (mgf_hash == Some(hash) && salt == Some(hash.output_len()) && trailer == 1).then_some(hash)
}

/// Verifies `sig` over `msg` with the key in `spki`. `sig_alg` is the signature algorithm OID
/// and `params` its parameters (needed for RSASSA-PSS); when the algorithm names no digest
/// (plain rsaEncryption in a SignerInfo), `digest` is used.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: &Oid,
    params: Option<&Any>,
    digest: Option<HashAlg>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    let key = spki.algorithm.oid;
    let unsupported = || CryptoError::Unsupported { alg: *sig_alg, key };
    if *sig_alg == RSASSA_PSS {
        if key != RSA_ENCRYPTION && key != RSASSA_PSS {
            return Err(unsupported());
        }
        let alg: &'static dyn VerificationAlgorithm = match pss_hash(params) {
            Some(HashAlg::Sha256) => &signature::RSA_PSS_2048_8192_SHA256,
            Some(HashAlg::Sha384) => &signature::RSA_PSS_2048_8192_SHA384,
            Some(HashAlg::Sha512) => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return Err(CryptoError::UnsupportedPssParameters),
        };
        return UnparsedPublicKey::new(alg, spki.subject_public_key.raw_bytes())
            .verify(msg, sig)
            .map_err(|_| CryptoError::BadSignature);
    }
    let hash = implied_hash(sig_alg).or(digest).ok_or_else(unsupported)?;
    let alg: &'static dyn VerificationAlgorithm = match key {
        RSA_ENCRYPTION => {
            if !matches!(
                *sig_alg,
                RSA_ENCRYPTION
                    | SHA1_WITH_RSA
                    | SHA256_WITH_RSA
                    | SHA384_WITH_RSA
                    | SHA512_WITH_RSA
            ) {
                return Err(unsupported());
            }
            match hash {
                HashAlg::Sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                HashAlg::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                HashAlg::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                HashAlg::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            }
        }
        EC_PUBLIC_KEY => {
            if !matches!(
                *sig_alg,
                EC_PUBLIC_KEY | ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512
            ) {
                return Err(unsupported());
            }
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<Oid>().ok())
                .ok_or_else(unsupported)?;
            match (curve, hash) {
                (P256, HashAlg::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
                (P256, HashAlg::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (P384, HashAlg::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (P384, HashAlg::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
                (P521, HashAlg::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
                _ => return Err(unsupported()),
            }
        }
        _ => return Err(unsupported()),
    };
    UnparsedPublicKey::new(alg, spki.subject_public_key.raw_bytes())
        .verify(msg, sig)
        .map_err(|_| CryptoError::BadSignature)
}
