//! RSA on aws-lc-rs (constant-time; the RustCrypto `rsa` crate is banned for private-key
//! operations, reference/vtpm.md §10). Private keys are carried as PKCS#8 documents and, for
//! a loaded object, as a [`PrivateKey`] parsed once.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, KeyPairComponents, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
    OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, PublicKeyComponents,
};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding, RsaParameters};
use crypto_bigint::{Encoding, NonZero, U2048, U3072};
use std::sync::Arc;
use tpm_proto::*;

/// A parsed RSA private key, built once when an object is loaded: parsing PKCS#8, aws-lc's key
/// check and a fresh blinding context otherwise dominate every signature and decryption.
/// Cloning shares the parsed key; the key is a function of the object's sensitive area, so
/// equality always holds and `Debug` shows nothing of it.
#[derive(Clone)]
pub struct PrivateKey(Arc<Parsed>);

struct Parsed {
    sign: Option<KeyPair>,
    decrypt: Option<OaepPrivateDecryptingKey>,
}

impl PrivateKey {
    /// Parses `pkcs8` for signing and/or OAEP decryption; `None` if it does not parse.
    pub fn new(pkcs8: &[u8], sign: bool, decrypt: bool) -> Option<PrivateKey> {
        let sign = if sign {
            Some(KeyPair::from_pkcs8(pkcs8).ok()?)
        } else {
            None
        };
        let decrypt = if decrypt {
            let k = PrivateDecryptingKey::from_pkcs8(pkcs8).ok()?;
            Some(OaepPrivateDecryptingKey::new(k).ok()?)
        } else {
            None
        };
        Some(PrivateKey(Arc::new(Parsed { sign, decrypt })))
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PrivateKey {}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// The only public exponent this engine generates (a template's 0 means this value).
pub const EXPONENT: u32 = 65537;

/// Generates a key pair of `bits` (2048 or 3072): `(pkcs8, modulus)`.
pub fn generate(bits: u16) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        _ => return Err(TPM_RC_KEY_SIZE),
    };
    let kp = KeyPair::generate(size).map_err(|_| TPM_RC_FAILURE)?;
    let der = kp.as_der().map_err(|_| TPM_RC_FAILURE)?;
    let n = modulus(&kp);
    Ok((der.as_ref().to_vec(), n))
}

fn modulus(kp: &KeyPair) -> Vec<u8> {
    kp.public_key()
        .modulus()
        .big_endian_without_leading_zero()
        .to_vec()
}

/// `key_from_prime` at one fixed integer width (`$U`, at least the modulus size): the
/// constant-time loops cost the square of the width, so a 2048-bit key gets 2048-bit integers.
macro_rules! key_from_prime_at {
    ($name:ident, $U:ty) => {
        fn $name(n: &[u8], e: u32, p: &[u8]) -> Option<Vec<u8>> {
            // Big-endian bytes (no leading zeros) as an integer, `None` if too long.
            let big = |v: &[u8]| -> Option<$U> {
                let mut b = [0u8; <$U>::BYTES];
                let start = b.len().checked_sub(v.len())?;
                b[start..].copy_from_slice(v);
                Some(<$U>::from_be_slice(&b))
            };
            let (nb, pb) = (big(n)?, big(p)?);
            let one = <$U>::ONE;
            // An even p is no RSA prime, and crypto-bigint's odd-modulus inversion below
            // asserts oddness in debug builds: refuse it here.
            if pb <= one || pb >= nb || p.last().is_none_or(|b| b & 1 == 0) {
                return None;
            }
            let p_nz: NonZero<$U> = Option::from(NonZero::new(pb))?;
            let (q, r) = nb.div_rem(&p_nz);
            if r != <$U>::ZERO || q <= one {
                return None;
            }
            let (pm1, qm1) = (pb.wrapping_sub(&one), q.wrapping_sub(&one));
            // (p-1)(q-1) < n: no overflow.
            let phi = pm1.wrapping_mul(&qm1);
            let (d, ok) = <$U>::from_u32(e).inv_mod(&phi);
            if !bool::from(ok) {
                return None;
            }
            let pm1: NonZero<$U> = Option::from(NonZero::new(pm1))?;
            let qm1: NonZero<$U> = Option::from(NonZero::new(qm1))?;
            let (qinv, ok) = q.rem(&p_nz).inv_odd_mod(&pb);
            if !bool::from(ok) {
                return None;
            }
            let kp = KeyPair::from_components(&KeyPairComponents {
                public_key: PublicKeyComponents {
                    n,
                    e: &exponent_bytes(e)[..],
                },
                d: d.to_be_bytes(),
                p: pb.to_be_bytes(),
                q: q.to_be_bytes(),
                dP: d.rem(&pm1).to_be_bytes(),
                dQ: d.rem(&qm1).to_be_bytes(),
                qInv: qinv.to_be_bytes(),
            })
            .ok()?;
            kp.as_der().ok().map(|der| der.as_ref().to_vec())
        }
    };
}
key_from_prime_at!(key_from_prime_2048, U2048);
key_from_prime_at!(key_from_prime_3072, U3072);

fn strip_zeros(v: &[u8]) -> &[u8] {
    &v[v.iter().position(|&b| b != 0).unwrap_or(v.len())..]
}

/// The PKCS#8 private key of the modulus `n`, public exponent `e` (0 = 65537) and prime `p`,
/// the spec's form of an RSA sensitive area (`TPM2B_PRIVATE_KEY_RSA`, Part 2, 11.2.4.7): `q =
/// n / p` (remainder zero), `d = e⁻¹ mod (p-1)(q-1)`, `dP`, `dQ`, `qInv = q⁻¹ mod p`, checked
/// again by aws-lc when it builds the key. LoadExternal, Load (private blobs carry p) and
/// Import all complete keys here. The arithmetic is crypto-bigint's constant-time `Uint` at a
/// width fixed by the modulus size (2048 or 3072 bits), so its timing depends on neither p nor
/// q; stripping leading zeros and the DER encoding are not constant-time, as in every DER
/// encoder of a private key. `TPM_RC_KEY` if the modulus is not 2048/3072 bits,
/// `TPM_RC_BINDING` if `p` does not divide `n` or the key is otherwise inconsistent.
pub fn from_prime(n: &[u8], e: u32, p: &[u8]) -> Result<Vec<u8>, u32> {
    let e = if e == 0 { EXPONENT } else { e };
    let (n, p) = (strip_zeros(n), strip_zeros(p));
    match n.len() {
        256 => key_from_prime_2048(n, e, p),
        384 => key_from_prime_3072(n, e, p),
        _ => return Err(TPM_RC_KEY),
    }
    .ok_or(TPM_RC_BINDING)
}

/// One DER TLV (definite length, at most 4 length octets): `(tag, content, rest)`.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l, b) = b.split_first()?;
    let (len, b) = if l < 0x80 {
        (usize::from(l), b)
    } else {
        let k = usize::from(l & 0x7f);
        if k == 0 || k > 4 || b.len() < k {
            return None;
        }
        let (lb, b) = b.split_at(k);
        (lb.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)), b)
    };
    (len <= b.len()).then(|| (tag, &b[..len], &b[len..]))
}

/// The modulus n and prime p of a PKCS#8 RSA key (`PrivateKeyInfo` → `RSAPrivateKey`
/// INTEGERs `version, n, e, d, p, …`), each without leading zeros.
fn modulus_and_prime(pkcs8: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, info, _) = der(pkcs8)? else {
        return None;
    };
    let (_, _, rest) = der(info)?; // version
    let (_, _, rest) = der(rest)?; // AlgorithmIdentifier
    let (0x04, octets, _) = der(rest)? else {
        return None;
    };
    let (0x30, mut ints, _) = der(octets)? else {
        return None;
    };
    let mut n: &[u8] = &[];
    for i in 0..5 {
        let (tag, v, rest) = der(ints)?;
        if tag != 0x02 {
            return None;
        }
        match i {
            1 => n = strip_zeros(v),
            4 => return Some((n, strip_zeros(v))),
            _ => {}
        }
        ints = rest;
    }
    None
}

/// The prime p of a PKCS#8 RSA key without leading zeros: the spec's sensitive form that
/// private blobs carry.
pub fn prime_of(pkcs8: &[u8]) -> Option<Vec<u8>> {
    modulus_and_prime(pkcs8).map(|(_, p)| p.to_vec())
}

/// The prime p of a PKCS#8 RSA key left-padded to half the modulus length, the size other TPMs
/// expect in a duplication blob (`None` for an empty p or one longer than that).
pub fn padded_prime_of(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (n, p) = modulus_and_prime(pkcs8)?;
    let half = n.len().div_ceil(2);
    if p.is_empty() || p.len() > half {
        return None;
    }
    let mut out = vec![0u8; half - p.len()];
    out.extend_from_slice(p);
    Some(out)
}

/// The modulus of a PKCS#8 private key (checks that the document parses).
pub fn modulus_of(pkcs8: &[u8]) -> Option<Vec<u8>> {
    KeyPair::from_pkcs8(pkcs8).ok().map(|kp| modulus(&kp))
}

fn sign_encoding(scheme: u16, hash: u16) -> Option<&'static dyn RsaEncoding> {
    Some(match (scheme, hash) {
        (TPM_ALG_RSASSA, TPM_ALG_SHA256) => &signature::RSA_PKCS1_SHA256,
        (TPM_ALG_RSASSA, TPM_ALG_SHA384) => &signature::RSA_PKCS1_SHA384,
        (TPM_ALG_RSASSA, TPM_ALG_SHA512) => &signature::RSA_PKCS1_SHA512,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA256) => &signature::RSA_PSS_SHA256,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA384) => &signature::RSA_PSS_SHA384,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA512) => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn verify_params(scheme: u16, hash: u16) -> Option<&'static RsaParameters> {
    Some(match (scheme, hash) {
        (TPM_ALG_RSASSA, TPM_ALG_SHA256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (TPM_ALG_RSASSA, TPM_ALG_SHA384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (TPM_ALG_RSASSA, TPM_ALG_SHA512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA256) => &signature::RSA_PSS_2048_8192_SHA256,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA384) => &signature::RSA_PSS_2048_8192_SHA384,
        (TPM_ALG_RSAPSS, TPM_ALG_SHA512) => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// Signs a digest with RSASSA-PKCS1-v1_5 or RSASSA-PSS (salt = digest length).
pub fn sign(key: &PrivateKey, scheme: u16, hash: u16, digest: &[u8]) -> Result<Vec<u8>, u32> {
    let enc = sign_encoding(scheme, hash).ok_or(TPM_RC_SCHEME)?;
    let alg = super::digest_alg(hash).ok_or(TPM_RC_HASH)?;
    let d = aws_lc_rs::digest::Digest::import_less_safe(digest, alg).map_err(|_| TPM_RC_SIZE)?;
    let kp = key.0.sign.as_ref().ok_or(TPM_RC_KEY)?;
    let mut sig = vec![0u8; kp.public_modulus_len()];
    kp.sign_digest(enc, &d, &mut sig)
        .map_err(|_| TPM_RC_FAILURE)?;
    Ok(sig)
}

/// Verifies a signature over a digest.
pub fn verify(n: &[u8], e: u32, scheme: u16, hash: u16, digest: &[u8], sig: &[u8]) -> bool {
    let (Some(p), Some(alg)) = (verify_params(scheme, hash), super::digest_alg(hash)) else {
        return false;
    };
    let Ok(d) = aws_lc_rs::digest::Digest::import_less_safe(digest, alg) else {
        return false;
    };
    let pk = PublicKeyComponents {
        n,
        e: &exponent_bytes(e)[..],
    };
    pk.to_parsed_public_key(p)
        .is_ok_and(|k| k.verify_digest_sig(&d, sig).is_ok())
}

fn exponent_bytes(e: u32) -> Vec<u8> {
    let e = if e == 0 { EXPONENT } else { e };
    let b = e.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

fn oaep(hash: u16) -> Option<&'static OaepAlgorithm> {
    Some(match hash {
        TPM_ALG_SHA1 => &OAEP_SHA1_MGF1SHA1,
        TPM_ALG_SHA256 => &OAEP_SHA256_MGF1SHA256,
        TPM_ALG_SHA384 => &OAEP_SHA384_MGF1SHA384,
        TPM_ALG_SHA512 => &OAEP_SHA512_MGF1SHA512,
        _ => return None,
    })
}

/// RSAES-OAEP decryption with `label` (which must include its terminating NUL if any).
pub fn oaep_decrypt(key: &PrivateKey, hash: u16, label: &[u8], ct: &[u8]) -> Result<Vec<u8>, u32> {
    let alg = oaep(hash).ok_or(TPM_RC_HASH)?;
    let k = key.0.decrypt.as_ref().ok_or(TPM_RC_KEY)?;
    let mut out = vec![0u8; k.min_output_size()];
    let pt = k
        .decrypt(alg, ct, &mut out, Some(label))
        .map_err(|_| TPM_RC_VALUE)?;
    Ok(pt.to_vec())
}

/// RSAES-PKCS1-v1_5 decryption with the PKCS#8 key (parsed per call: RSA_Decrypt with RSAES
/// is rare, and keeping a second parsed key per loaded object would double every load).
pub fn pkcs1_decrypt(pkcs8: &[u8], ct: &[u8]) -> Result<Vec<u8>, u32> {
    let k = PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|_| TPM_RC_KEY)?;
    let k = Pkcs1PrivateDecryptingKey::new(k).map_err(|_| TPM_RC_KEY)?;
    let mut out = vec![0u8; k.min_output_size()];
    let pt = k.decrypt(ct, &mut out).map_err(|_| TPM_RC_VALUE)?;
    Ok(pt.to_vec())
}

/// RSAES-PKCS1-v1_5 encryption to `(n, e)`.
pub fn pkcs1_encrypt(n: &[u8], e: u32, pt: &[u8]) -> Result<Vec<u8>, u32> {
    let pk: PublicEncryptingKey = PublicKeyComponents {
        n,
        e: &exponent_bytes(e)[..],
    }
    .try_into()
    .map_err(|_| TPM_RC_KEY)?;
    let k = Pkcs1PublicEncryptingKey::new(pk).map_err(|_| TPM_RC_KEY)?;
    let mut out = vec![0u8; k.ciphertext_size()];
    let ct = k.encrypt(pt, &mut out).map_err(|_| TPM_RC_VALUE)?;
    Ok(ct.to_vec())
}

/// RSAES-OAEP encryption to `(n, e)` with `label`.
pub fn oaep_encrypt(n: &[u8], e: u32, hash: u16, label: &[u8], pt: &[u8]) -> Result<Vec<u8>, u32> {
    let alg = oaep(hash).ok_or(TPM_RC_HASH)?;
    let pk: PublicEncryptingKey = PublicKeyComponents {
        n,
        e: &exponent_bytes(e)[..],
    }
    .try_into()
    .map_err(|_| TPM_RC_KEY)?;
    let k = OaepPublicEncryptingKey::new(pk).map_err(|_| TPM_RC_KEY)?;
    let mut out = vec![0u8; k.ciphertext_size()];
    let ct = k
        .encrypt(alg, pt, &mut out, Some(label))
        .map_err(|_| TPM_RC_VALUE)?;
    Ok(ct.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::U4096;

    #[test]
    fn sign_verify_and_oaep_round_trip() {
        let (pkcs8, n) = generate(2048).unwrap();
        assert_eq!(n.len(), 256);
        assert_eq!(modulus_of(&pkcs8).unwrap(), n);
        let k = PrivateKey::new(&pkcs8, true, true).unwrap();
        assert_eq!(format!("{k:?}"), "PrivateKey(..)");
        let d = [9u8; 32];
        for scheme in [TPM_ALG_RSASSA, TPM_ALG_RSAPSS] {
            let s = sign(&k, scheme, TPM_ALG_SHA256, &d).unwrap();
            assert!(verify(&n, 0, scheme, TPM_ALG_SHA256, &d, &s));
            assert!(!verify(&n, 0, scheme, TPM_ALG_SHA256, &[8u8; 32], &s));
        }
        let ct = oaep_encrypt(&n, 0, TPM_ALG_SHA256, b"SECRET\0", b"seed").unwrap();
        assert_eq!(
            oaep_decrypt(&k, TPM_ALG_SHA256, b"SECRET\0", &ct).unwrap(),
            b"seed"
        );
        assert!(oaep_decrypt(&k, TPM_ALG_SHA256, b"IDENTITY\0", &ct).is_err());
        // A key parsed for one use refuses the other.
        let sign_only = PrivateKey::new(&pkcs8, true, false).unwrap();
        assert_eq!(
            oaep_decrypt(&sign_only, TPM_ALG_SHA256, b"SECRET\0", &ct),
            Err(TPM_RC_KEY)
        );
        let dec_only = PrivateKey::new(&pkcs8, false, true).unwrap();
        assert_eq!(
            sign(&dec_only, TPM_ALG_RSASSA, TPM_ALG_SHA256, &d),
            Err(TPM_RC_KEY)
        );
        assert!(PrivateKey::new(b"not a key", true, false).is_none());
    }

    #[test]
    fn prime_of_pkcs8_rebuilds_the_key() {
        let (pkcs8, n) = generate(2048).unwrap();
        let p = prime_of(&pkcs8).unwrap();
        assert_eq!(p.len(), 128);
        let again = from_prime(&n, 0, &p).unwrap();
        assert_eq!(modulus_of(&again).unwrap(), n);
        assert_eq!(prime_of(&again).unwrap(), p);
        // Truncated or garbage documents give nothing (and never panic).
        for cut in [0, 1, 5, 30, pkcs8.len() / 2] {
            assert!(prime_of(&pkcs8[..cut]).is_none());
        }
        assert!(prime_of(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn prime_round_trip_gives_the_same_working_key() {
        for bits in [2048u16, 3072] {
            let (pkcs8, n) = generate(bits).unwrap();
            let p = padded_prime_of(&pkcs8).unwrap();
            assert_eq!(p.len(), n.len() / 2);
            let rebuilt = from_prime(&n, 0, &p).unwrap();
            assert_eq!(modulus_of(&rebuilt).unwrap(), n);
            assert_eq!(padded_prime_of(&rebuilt).unwrap(), p);
            // The rebuilt key signs what the public key verifies.
            let k = PrivateKey::new(&rebuilt, true, true).unwrap();
            let d = [7u8; 32];
            let s = sign(&k, TPM_ALG_RSASSA, TPM_ALG_SHA256, &d).unwrap();
            assert!(verify(&n, 0, TPM_ALG_RSASSA, TPM_ALG_SHA256, &d, &s));
            // q works as well as p (it is the other factor).
            let q = U4096::from_be_slice(&pad(&n, 512))
                .div_rem(&NonZero::new(U4096::from_be_slice(&pad(&p, 512))).unwrap())
                .0
                .to_be_bytes();
            assert_eq!(modulus_of(&from_prime(&n, 65537, &q).unwrap()).unwrap(), n);
        }
    }

    fn pad(v: &[u8], len: usize) -> Vec<u8> {
        [&vec![0u8; len - v.len()][..], v].concat()
    }

    #[test]
    fn wrong_primes_are_binding_errors() {
        let (pkcs8, n) = generate(2048).unwrap();
        let mut p = padded_prime_of(&pkcs8).unwrap();
        let last = p.len() - 1;
        p[last] ^= 2; // still odd, no longer a factor
        assert_eq!(from_prime(&n, 0, &p), Err(TPM_RC_BINDING));
        assert_eq!(from_prime(&n, 0, &[]), Err(TPM_RC_BINDING));
        assert_eq!(from_prime(&n, 0, &[1]), Err(TPM_RC_BINDING));
        assert_eq!(from_prime(&n, 0, &n), Err(TPM_RC_BINDING));
        assert_eq!(from_prime(&n, 0, &[2]), Err(TPM_RC_BINDING));
        assert_eq!(from_prime(&[0xff; 600], 0, &[3]), Err(TPM_RC_KEY));
    }

    #[test]
    fn malformed_documents_have_no_prime() {
        assert!(padded_prime_of(&[]).is_none());
        assert!(padded_prime_of(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(padded_prime_of(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        let (pkcs8, _) = generate(2048).unwrap();
        for cut in [1, 10, 100, pkcs8.len() / 2, pkcs8.len() - 1] {
            assert!(padded_prime_of(&pkcs8[..cut]).is_none(), "cut at {cut}");
        }
    }
}
