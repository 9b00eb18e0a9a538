//! ECC on aws-lc-rs: NIST P-256 and P-384 keys from scalars, ECDSA, ECDH (Part 1, C.? and
//! Part 1, 11.4.10.3 for the KDFe that follows ECDH).

use aws_lc_rs::agreement::{self, ECDH_P256, ECDH_P384, UnparsedPublicKey};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED,
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
};
use tpm_proto::*;

/// An implemented curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
}

const N_P256: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
const N_P384: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

impl Curve {
    /// The curve of a `TPM_ECC_CURVE`.
    pub fn from_id(id: u16) -> Option<Curve> {
        match id {
            TPM_ECC_NIST_P256 => Some(Curve::P256),
            TPM_ECC_NIST_P384 => Some(Curve::P384),
            _ => None,
        }
    }
    /// Coordinate / scalar size in bytes.
    pub fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
    /// The group order `n`, big-endian.
    pub fn order(self) -> &'static [u8] {
        match self {
            Curve::P256 => &N_P256,
            Curve::P384 => &N_P384,
        }
    }
    fn ecdh(self) -> &'static agreement::Algorithm {
        match self {
            Curve::P256 => &ECDH_P256,
            Curve::P384 => &ECDH_P384,
        }
    }
}

/// True if `d` (big-endian, `curve.size()` bytes) is a valid private scalar: 0 < d < n.
pub fn scalar_ok(curve: Curve, d: &[u8]) -> bool {
    d.len() == curve.size() && d.iter().any(|&b| b != 0) && d < curve.order()
}

/// The public point `(x, y)` of scalar `d`.
pub fn public_point(curve: Curve, d: &[u8]) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let k = agreement::PrivateKey::from_private_key(curve.ecdh(), d).map_err(|_| TPM_RC_KEY)?;
    let p = k.compute_public_key().map_err(|_| TPM_RC_FAILURE)?;
    let b = p.as_ref();
    let n = curve.size();
    if b.len() != 1 + 2 * n {
        return Err(TPM_RC_FAILURE);
    }
    Ok((b[1..1 + n].to_vec(), b[1 + n..].to_vec()))
}

/// A key pair: private scalar `d`, public point `x`, `y`.
pub type KeyPair = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A random key pair: `(d, x, y)`.
pub fn generate(curve: Curve) -> Result<KeyPair, u32> {
    loop {
        let mut d = vec![0u8; curve.size()];
        super::random(&mut d).map_err(|()| TPM_RC_FAILURE)?;
        if scalar_ok(curve, &d) {
            let (x, y) = public_point(curve, &d)?;
            return Ok((d, x, y));
        }
    }
}

fn point(x: &[u8], y: &[u8], n: usize) -> Option<Vec<u8>> {
    if x.len() > n || y.len() > n {
        return None;
    }
    let mut p = vec![4u8];
    p.extend(std::iter::repeat_n(0, n - x.len()));
    p.extend_from_slice(x);
    p.extend(std::iter::repeat_n(0, n - y.len()));
    p.extend_from_slice(y);
    Some(p)
}

/// ECDSA over a digest; the hash must be the curve's own (SHA-256 for P-256, SHA-384 for P-384).
pub fn sign(
    curve: Curve,
    d: &[u8],
    pub_xy: (&[u8], &[u8]),
    hash: u16,
    digest: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let (alg, want) = match curve {
        Curve::P256 => (&ECDSA_P256_SHA256_FIXED_SIGNING, TPM_ALG_SHA256),
        Curve::P384 => (&ECDSA_P384_SHA384_FIXED_SIGNING, TPM_ALG_SHA384),
    };
    if hash != want {
        return Err(TPM_RC_SCHEME);
    }
    let q = point(pub_xy.0, pub_xy.1, curve.size()).ok_or(TPM_RC_KEY)?;
    let kp =
        EcdsaKeyPair::from_private_key_and_public_key(alg, d, &q).map_err(|_| TPM_RC_BINDING)?;
    let dg = aws_lc_rs::digest::Digest::import_less_safe(
        digest,
        super::digest_alg(hash).ok_or(TPM_RC_HASH)?,
    )
    .map_err(|_| TPM_RC_SIZE)?;
    let sig = kp.sign_digest(&dg).map_err(|_| TPM_RC_FAILURE)?;
    let s = sig.as_ref();
    let n = curve.size();
    Ok((s[..n].to_vec(), s[n..].to_vec()))
}

/// Verifies an ECDSA signature over a digest.
pub fn verify(
    curve: Curve,
    xy: (&[u8], &[u8]),
    hash: u16,
    digest: &[u8],
    r: &[u8],
    s: &[u8],
) -> bool {
    let (alg, want) = match curve {
        Curve::P256 => (&ECDSA_P256_SHA256_FIXED, TPM_ALG_SHA256),
        Curve::P384 => (&ECDSA_P384_SHA384_FIXED, TPM_ALG_SHA384),
    };
    let n = curve.size();
    if hash != want || r.len() > n || s.len() > n {
        return false;
    }
    let (Some(q), Some(alg_d)) = (point(xy.0, xy.1, n), super::digest_alg(hash)) else {
        return false;
    };
    let Ok(dg) = aws_lc_rs::digest::Digest::import_less_safe(digest, alg_d) else {
        return false;
    };
    let mut sig = vec![0u8; 2 * n];
    sig[n - r.len()..n].copy_from_slice(r);
    sig[2 * n - s.len()..].copy_from_slice(s);
    signature::UnparsedPublicKey::new(alg, q)
        .verify_digest(&dg, &sig)
        .is_ok()
}

/// ECDH: the x coordinate of `d · (x, y)`; `TPM_RC_ECC_POINT` if the point is not on the curve.
pub fn ecdh(curve: Curve, d: &[u8], x: &[u8], y: &[u8]) -> Result<Vec<u8>, u32> {
    let k = agreement::PrivateKey::from_private_key(curve.ecdh(), d).map_err(|_| TPM_RC_KEY)?;
    let q = point(x, y, curve.size()).ok_or(TPM_RC_ECC_POINT)?;
    agreement::agree(
        &k,
        UnparsedPublicKey::new(curve.ecdh(), q),
        TPM_RC_ECC_POINT,
        |z| Ok(z.to_vec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_ecdh() {
        for c in [Curve::P256, Curve::P384] {
            let (d, x, y) = generate(c).unwrap();
            let h = if c == Curve::P256 {
                TPM_ALG_SHA256
            } else {
                TPM_ALG_SHA384
            };
            let dg = vec![3u8; c.size()];
            let (r, s) = sign(c, &d, (&x, &y), h, &dg).unwrap();
            assert!(verify(c, (&x, &y), h, &dg, &r, &s));
            assert!(!verify(c, (&x, &y), h, &vec![4u8; c.size()], &r, &s));
            let (d2, x2, y2) = generate(c).unwrap();
            assert_eq!(
                ecdh(c, &d, &x2, &y2).unwrap(),
                ecdh(c, &d2, &x, &y).unwrap()
            );
            assert!(ecdh(c, &d, &x2, &x2).is_err());
        }
        assert!(!scalar_ok(Curve::P256, &N_P256));
        assert!(!scalar_ok(Curve::P256, &[0; 32]));
    }
}
