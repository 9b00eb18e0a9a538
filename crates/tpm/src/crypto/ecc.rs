//! ECC on aws-lc-rs: NIST P-256 and P-384 keys from scalars, ECDSA, ECDH (Part 1, C.? and
//! Part 1, 11.4.10.3 for the KDFe that follows ECDH). Full point multiplication (ECDH_ZGen,
//! ECDH_KeyGen, ZGen_2Phase return the whole point `d·Q`) uses RustCrypto's `p256`/`p384`:
//! aws-lc-rs' agreement API yields only the x coordinate and has no point type. BN_P256 (for
//! ECDAA) has no implementation in either, so it uses [`super::bn`], and its ECDSA is computed
//! here with crypto-bigint scalar arithmetic mod `n`.

use aws_lc_rs::agreement::{self, ECDH_P256, ECDH_P384, UnparsedPublicKey};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED,
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
};
use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Encoding, U384};
use tpm_proto::*;

/// An implemented curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// TPM_ECC_BN_P256 (the ECDAA curve).
    BnP256,
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
            TPM_ECC_BN_P256 => Some(Curve::BnP256),
            _ => None,
        }
    }
    /// Coordinate / scalar size in bytes.
    pub fn size(self) -> usize {
        match self {
            Curve::P256 | Curve::BnP256 => 32,
            Curve::P384 => 48,
        }
    }
    /// The group order `n`, big-endian.
    pub fn order(self) -> &'static [u8] {
        match self {
            Curve::P256 => &N_P256,
            Curve::P384 => &N_P384,
            Curve::BnP256 => &super::bn::N,
        }
    }
    /// The aws-lc-rs ECDH algorithm (`None` for BN_P256).
    fn ecdh(self) -> Option<&'static agreement::Algorithm> {
        match self {
            Curve::P256 => Some(&ECDH_P256),
            Curve::P384 => Some(&ECDH_P384),
            Curve::BnP256 => None,
        }
    }
}

/// True if `d` (big-endian, `curve.size()` bytes) is a valid private scalar: 0 < d < n.
pub fn scalar_ok(curve: Curve, d: &[u8]) -> bool {
    d.len() == curve.size() && d.iter().any(|&b| b != 0) && d < curve.order()
}

/// The public point `(x, y)` of scalar `d`.
pub fn public_point(curve: Curve, d: &[u8]) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let Some(alg) = curve.ecdh() else {
        return point_mul(curve, d, None);
    };
    let k = agreement::PrivateKey::from_private_key(alg, d).map_err(|_| TPM_RC_KEY)?;
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
        Curve::BnP256 => return ecdsa_bn(d, digest),
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
        Curve::BnP256 => return ecdsa_bn_verify(xy, digest, r, s),
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
    let Some(alg) = curve.ecdh() else {
        return point_mul(curve, d, Some((x, y))).map(|(x, _)| x);
    };
    let k = agreement::PrivateKey::from_private_key(alg, d).map_err(|_| TPM_RC_KEY)?;
    let q = point(x, y, curve.size()).ok_or(TPM_RC_ECC_POINT)?;
    agreement::agree(&k, UnparsedPublicKey::new(alg, q), TPM_RC_ECC_POINT, |z| {
        Ok(z.to_vec())
    })
}

/// Constant-time point arithmetic on one curve (RustCrypto's `primeorder` formulas behind
/// `p256`/`p384`): coordinates and scalars are fixed-size big-endian byte strings.
macro_rules! point_arith {
    ($m:ident, $c:ident) => {
        mod $m {
            use $c::elliptic_curve::ff::PrimeField;
            use $c::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
            use $c::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar};

            /// `v` as field bytes if it has exactly the curve's size.
            fn bytes(v: &[u8]) -> Option<FieldBytes> {
                let mut f = FieldBytes::default();
                (v.len() == f.len()).then(|| f.copy_from_slice(v))?;
                Some(f)
            }

            /// The affine point `(x, y)` if it is on the curve.
            pub fn point(x: &[u8], y: &[u8]) -> Option<AffinePoint> {
                let ep = EncodedPoint::from_affine_coordinates(&bytes(x)?, &bytes(y)?, false);
                AffinePoint::from_encoded_point(&ep).into()
            }

            /// `d · Q` (`d · G` without `q`); `None` for a scalar ≥ n or the point at infinity.
            pub fn mul(d: &[u8], q: Option<AffinePoint>) -> Option<(Vec<u8>, Vec<u8>)> {
                let s: Option<Scalar> = Scalar::from_repr(bytes(d)?).into();
                let base = q.map_or(ProjectivePoint::GENERATOR, ProjectivePoint::from);
                let r = (base * s?).to_affine().to_encoded_point(false);
                Some((r.x()?.to_vec(), r.y()?.to_vec()))
            }
        }
    };
}
point_arith!(arith_p256, p256);
point_arith!(arith_p384, p384);

/// `v` as exactly `n` big-endian bytes (leading zeros added or dropped); `None` if it is longer.
fn fixed(v: &[u8], n: usize) -> Option<Vec<u8>> {
    let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    let v = &v[first..];
    (v.len() <= n).then(|| {
        let mut o = vec![0u8; n - v.len()];
        o.extend_from_slice(v);
        o
    })
}

/// True if `(x, y)` is a point on `curve` (coordinates below the prime, equation satisfied).
/// The point at infinity has no `TPMS_ECC_POINT` encoding, so a valid point is never it.
pub fn on_curve(curve: Curve, x: &[u8], y: &[u8]) -> bool {
    let n = curve.size();
    let (Some(x), Some(y)) = (fixed(x, n), fixed(y, n)) else {
        return false;
    };
    match curve {
        Curve::P256 => arith_p256::point(&x, &y).is_some(),
        Curve::P384 => arith_p384::point(&x, &y).is_some(),
        Curve::BnP256 => super::bn::on_curve(&arr32(&x), &arr32(&y)),
    }
}

/// The full point `d · (x, y)`, or `d · G` when `q` is `None`, coordinates padded to the curve
/// size. `TPM_RC_ECC_POINT` if `q` is not on the curve, `TPM_RC_KEY` for a scalar outside
/// `[1, n)`, `TPM_RC_NO_RESULT` for the point at infinity (impossible on these prime-order
/// curves with a valid scalar, checked anyway).
pub fn point_mul(
    curve: Curve,
    d: &[u8],
    q: Option<(&[u8], &[u8])>,
) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let n = curve.size();
    let d = fixed(d, n)
        .filter(|d| scalar_ok(curve, d))
        .ok_or(TPM_RC_KEY)?;
    let q = match q {
        None => None,
        Some((x, y)) => {
            let x = fixed(x, n).ok_or(TPM_RC_ECC_POINT)?;
            let y = fixed(y, n).ok_or(TPM_RC_ECC_POINT)?;
            Some((x, y))
        }
    };
    let r = match curve {
        Curve::P256 => {
            let q = match &q {
                None => None,
                Some((x, y)) => Some(arith_p256::point(x, y).ok_or(TPM_RC_ECC_POINT)?),
            };
            arith_p256::mul(&d, q)
        }
        Curve::P384 => {
            let q = match &q {
                None => None,
                Some((x, y)) => Some(arith_p384::point(x, y).ok_or(TPM_RC_ECC_POINT)?),
            };
            arith_p384::mul(&d, q)
        }
        Curve::BnP256 => {
            let q = q.as_ref().map(|(x, y)| (arr32(x), arr32(y)));
            if let Some((x, y)) = &q
                && !super::bn::on_curve(x, y)
            {
                return Err(TPM_RC_ECC_POINT);
            }
            super::bn::mul(&arr32(&d), q.as_ref().map(|(x, y)| (x, y)))
                .map(|(x, y)| (x.to_vec(), y.to_vec()))
        }
    };
    r.ok_or(crate::object::TPM_RC_NO_RESULT)
}

/// `v` (exactly 32 bytes after [`fixed`]) as an array; other lengths give zeros, which no
/// caller passes.
fn arr32(v: &[u8]) -> [u8; 32] {
    let mut a = [0u8; 32];
    if v.len() == 32 {
        a.copy_from_slice(v);
    }
    a
}

/// A residue mod a curve order; 384 bits hold every implemented order.
type Scalar = DynResidue<{ U384::LIMBS }>;

/// Montgomery parameters for arithmetic mod an odd modulus of at most 48 bytes.
fn params_of(modulus: &[u8]) -> DynResidueParams<{ U384::LIMBS }> {
    let mut m = [0u8; 48];
    m[48 - modulus.len().min(48)..].copy_from_slice(&modulus[..modulus.len().min(48)]);
    DynResidueParams::new(&U384::from_be_slice(&m))
}

/// Montgomery parameters for arithmetic mod `n` of `curve`.
fn order_params(curve: Curve) -> DynResidueParams<{ U384::LIMBS }> {
    params_of(curve.order())
}

/// `v` (a big-endian integer of any length) mod the curve prime `p`, as `curve.size()` bytes
/// (Commit's `x2 = H(s2) mod p`).
pub fn mod_prime(curve: Curve, v: &[u8]) -> Vec<u8> {
    scalar_bytes(&reduce(v, params_of(&unhex(domain(curve)[0]))), curve)
}

/// The big-endian integer `v` (any length) reduced mod `n`, by Horner's rule over its bytes
/// (the same operations for every value of a given length).
fn reduce(v: &[u8], params: DynResidueParams<{ U384::LIMBS }>) -> Scalar {
    let base = Scalar::new(&U384::from_u64(256), params);
    v.iter().fold(Scalar::zero(params), |acc, &b| {
        acc.mul(&base).add(&Scalar::new(&U384::from_u8(b), params))
    })
}

/// A reduced scalar as `curve.size()` big-endian bytes.
fn scalar_bytes(v: &Scalar, curve: Curve) -> Vec<u8> {
    v.retrieve().to_be_bytes()[48 - curve.size()..].to_vec()
}

/// A random scalar in `[1, n)`.
pub fn random_scalar(curve: Curve) -> Result<Vec<u8>, u32> {
    for _ in 0..64 {
        let mut d = vec![0u8; curve.size()];
        super::random(&mut d).map_err(|()| TPM_RC_FAILURE)?;
        if scalar_ok(curve, &d) {
            return Ok(d);
        }
    }
    Err(crate::object::TPM_RC_NO_RESULT)
}

/// The ECDAA signature's `s = r + T·d mod n` (Part 1, C.? "ECDAA"; reference `BnSignEcdaa`):
/// `r` the commitment's ephemeral scalar, `t` the digest `H(nonceK ‖ digest)` (reduced here).
pub fn ecdaa_s(curve: Curve, r: &[u8], t: &[u8], d: &[u8]) -> Vec<u8> {
    let params = order_params(curve);
    let s = reduce(r, params).add(&reduce(t, params).mul(&reduce(d, params)));
    scalar_bytes(&s, curve)
}

/// The ECDSA `e` of a digest for a 256-bit order: its leftmost 256 bits, mod `n`.
fn ecdsa_e(digest: &[u8], params: DynResidueParams<{ U384::LIMBS }>) -> Scalar {
    reduce(&digest[..digest.len().min(32)], params)
}

/// ECDSA on BN_P256 (any hash; the digest is truncated to 256 bits as FIPS 186-4, 6.4 says).
fn ecdsa_bn(d: &[u8], digest: &[u8]) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let c = Curve::BnP256;
    let params = order_params(c);
    let (d, e) = (reduce(d, params), ecdsa_e(digest, params));
    for _ in 0..16 {
        let k = random_scalar(c)?;
        let Some((kx, _)) = super::bn::mul(&arr32(&k), None) else {
            continue;
        };
        let r = reduce(&kx, params);
        let (kinv, ok) = reduce(&k, params).invert();
        let s = kinv.mul(&e.add(&r.mul(&d)));
        let zero = U384::ZERO;
        if bool::from(ok) && r.retrieve() != zero && s.retrieve() != zero {
            return Ok((scalar_bytes(&r, c), scalar_bytes(&s, c)));
        }
    }
    Err(crate::object::TPM_RC_NO_RESULT)
}

/// Verifies an ECDSA signature on BN_P256: `x(u1·G + u2·Q) mod n = r` with `w = s⁻¹`,
/// `u1 = e·w`, `u2 = r·w`.
fn ecdsa_bn_verify(xy: (&[u8], &[u8]), digest: &[u8], r: &[u8], s: &[u8]) -> bool {
    let c = Curve::BnP256;
    let (Some(x), Some(y), Some(r), Some(s)) =
        (fixed(xy.0, 32), fixed(xy.1, 32), fixed(r, 32), fixed(s, 32))
    else {
        return false;
    };
    if !scalar_ok(c, &r) || !scalar_ok(c, &s) {
        return false;
    }
    let params = order_params(c);
    let (w, _) = reduce(&s, params).invert();
    let u1 = scalar_bytes(&ecdsa_e(digest, params).mul(&w), c);
    let u2 = scalar_bytes(&reduce(&r, params).mul(&w), c);
    super::bn::mul_add(&arr32(&u1), None, &arr32(&u2), (&arr32(&x), &arr32(&y)))
        .is_some_and(|(rx, _)| scalar_bytes(&reduce(&rx, params), c) == r)
}

/// Domain parameters of a curve for `TPMS_ALGORITHM_DETAIL_ECC` (Part 2, 11.2.5.3), from SEC 2
/// / FIPS 186-4 D.1.2: `(p, a, b, gX, gY, n)`, each `size()` bytes (BN_P256's `a`: one), big-endian hex.
pub fn domain(curve: Curve) -> [&'static str; 6] {
    match curve {
        Curve::P256 => [
            "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
            "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
            "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        ],
        Curve::P384 => [
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
            "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        ],
        // Part 4's BN_P256 table (ISO/IEC 15946-5): a = 0, b = 3, G = (1, 2). `a` is one zero
        // byte there (and so in libtpms' ECC_Parameters answer), not 32.
        Curve::BnP256 => [
            super::bn::P_HEX,
            "00",
            "0000000000000000000000000000000000000000000000000000000000000003",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "0000000000000000000000000000000000000000000000000000000000000002",
            "fffffffffffcf0cd46e5f25eee71a49e0cdc65fb1299921af62d536cd10b500d",
        ],
    }
}

/// Decodes a lowercase hex constant (only used on the tables above).
pub fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .map(|c| {
            let v = |b: u8| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => 0,
            };
            (v(c[0]) << 4) | v(*c.get(1).unwrap_or(&b'0'))
        })
        .collect()
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

    #[test]
    fn point_mul_matches_aws_lc() {
        for c in [Curve::P256, Curve::P384] {
            let n = c.size();
            let (d, x, y) = generate(c).unwrap();
            // d·G is the public point aws-lc computes.
            assert_eq!(point_mul(c, &d, None).unwrap(), (x.clone(), y.clone()));
            let (d2, x2, y2) = generate(c).unwrap();
            let (zx, zy) = point_mul(c, &d, Some((&x2, &y2))).unwrap();
            // The x coordinate is aws-lc's ECDH output; the point is on the curve.
            assert_eq!(zx, ecdh(c, &d, &x2, &y2).unwrap());
            assert_eq!((zx.len(), zy.len()), (n, n));
            assert!(on_curve(c, &zx, &zy));
            assert_eq!(point_mul(c, &d2, Some((&x, &y))).unwrap().0, zx);
            // Leading zeros in coordinates and scalars are accepted.
            let mut px = vec![0, 0];
            px.extend_from_slice(&x2);
            assert_eq!(point_mul(c, &d, Some((&px, &y2))).unwrap().0, zx);
            // Off-curve, too long, identity-like (0, 0) and empty points are refused.
            let mut bad = y2.clone();
            bad[n - 1] ^= 1;
            assert_eq!(point_mul(c, &d, Some((&x2, &bad))), Err(TPM_RC_ECC_POINT));
            assert_eq!(
                point_mul(c, &d, Some((&[1; 70], &y2))),
                Err(TPM_RC_ECC_POINT)
            );
            assert_eq!(point_mul(c, &d, Some((&[], &[]))), Err(TPM_RC_ECC_POINT));
            assert_eq!(
                point_mul(c, &d, Some((&vec![0; n], &vec![0; n]))),
                Err(TPM_RC_ECC_POINT)
            );
            // A coordinate ≥ p is refused.
            assert!(!on_curve(c, &vec![0xff; n], &y2));
            // Scalars 0 and n are refused.
            assert_eq!(point_mul(c, &vec![0; n], None), Err(TPM_RC_KEY));
            assert_eq!(point_mul(c, c.order(), None), Err(TPM_RC_KEY));
        }
    }

    #[test]
    fn domain_parameters_match_the_curve() {
        for c in [Curve::P256, Curve::P384] {
            let [p, a, b, gx, gy, n] = domain(c).map(unhex);
            assert!(
                [&p, &a, &b, &gx, &gy, &n]
                    .iter()
                    .all(|v| v.len() == c.size())
            );
            assert_eq!(n, c.order());
            let mut one = vec![0u8; c.size()];
            one[c.size() - 1] = 1;
            assert_eq!(point_mul(c, &one, None).unwrap(), (gx.clone(), gy.clone()));
            assert!(on_curve(c, &gx, &gy));
            // a = p - 3.
            assert_eq!(&a[..c.size() - 1], &p[..c.size() - 1]);
            assert_eq!(a[c.size() - 1] + 3, p[c.size() - 1]);
        }
        // p and b against the curve arithmetic: y² = x³ + ax + b at G, in the crates' fields.
        use p256::elliptic_curve::ff::PrimeField;
        macro_rules! check_b {
            ($c:ident, $curve:expr) => {{
                let [p, a, b, gx, gy, _] = domain($curve);
                assert_eq!(p, <$c::FieldElement as PrimeField>::MODULUS);
                let fe = |h: &str| {
                    let mut f = $c::FieldBytes::default();
                    f.copy_from_slice(&unhex(h));
                    Option::<$c::FieldElement>::from($c::FieldElement::from_bytes(&f)).unwrap()
                };
                let (a, b, x, y) = (fe(a), fe(b), fe(gx), fe(gy));
                assert_eq!(y.square(), x.square() * x + a * x + b);
            }};
        }
        check_b!(p256, Curve::P256);
        check_b!(p384, Curve::P384);
    }
}
