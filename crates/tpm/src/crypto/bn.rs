//! Point arithmetic on TPM_ECC_BN_P256 (Part 2, 11.2.5.1; curve from ISO/IEC 15946-5, domain
//! parameters as in Part 4's curve table): `y² = x³ + 3` over the 256-bit prime `p`, prime order
//! `n`, generator `G = (1, 2)`. No audited crate implements this curve, so it is built here on
//! crypto-bigint's Montgomery-form residues (already used for RSA).
//!
//! Constant-time notes: field operations (`Residue` add/sub/mul/invert) are constant-time in
//! crypto-bigint; point addition uses the complete projective formulas of Renes, Costello and
//! Batina 2016 (Algorithm 7, `a = 0`), which need no branch for doubling or the identity (valid
//! because the group order is odd); scalar multiplication is a fixed 256-iteration
//! double-and-add-always with a constant-time select, so its time and memory pattern do not
//! depend on the scalar. Not constant-time: input validation (range checks and the curve
//! equation of public points), the final "is it the identity" answer, and callers' byte-wise
//! `0 < d < n` checks. The code is not hardened against fault or power analysis.

use crypto_bigint::modular::constant_mod::Residue;
use crypto_bigint::subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use crypto_bigint::{Encoding, U256, impl_modulus};

/// The field prime `p`, big-endian hex.
pub const P_HEX: &str = "fffffffffffcf0cd46e5f25eee71a49f0cdc65fb12980a82d3292ddbaed33013";

impl_modulus!(
    BnP,
    U256,
    "fffffffffffcf0cd46e5f25eee71a49f0cdc65fb12980a82d3292ddbaed33013"
);

/// A field element mod `p`.
type Fe = Residue<BnP, { U256::LIMBS }>;

/// The field prime as an integer.
const P: U256 = U256::from_be_hex(P_HEX);
/// The group order `n`, big-endian bytes.
pub const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xf0, 0xcd, 0x46, 0xe5, 0xf2, 0x5e, 0xee, 0x71, 0xa4, 0x9e,
    0x0c, 0xdc, 0x65, 0xfb, 0x12, 0x99, 0x92, 0x1a, 0xf6, 0x2d, 0x53, 0x6c, 0xd1, 0x0b, 0x50, 0x0d,
];

fn fe(v: u64) -> Fe {
    Fe::new(&U256::from_u64(v))
}

/// A point in homogeneous projective coordinates `(X : Y : Z)`; the identity is `(0 : 1 : 0)`.
#[derive(Clone, Copy, Debug)]
struct Point {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl ConditionallySelectable for Point {
    fn conditional_select(a: &Self, b: &Self, c: Choice) -> Self {
        Point {
            x: Fe::conditional_select(&a.x, &b.x, c),
            y: Fe::conditional_select(&a.y, &b.y, c),
            z: Fe::conditional_select(&a.z, &b.z, c),
        }
    }
}

impl Point {
    const IDENTITY: Point = Point {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    fn generator() -> Point {
        Point {
            x: Fe::ONE,
            y: fe(2),
            z: Fe::ONE,
        }
    }

    /// `self + o` by the complete addition law for `a = 0` (RCB 2016, Algorithm 7, with
    /// `b3 = 3·b = 9`): correct for equal inputs and the identity too, without branches.
    fn add(&self, o: &Point) -> Point {
        let b3 = fe(9);
        let (x1, y1, z1) = (self.x, self.y, self.z);
        let (x2, y2, z2) = (o.x, o.y, o.z);
        let mut t0 = x1 * x2;
        let mut t1 = y1 * y2;
        let mut t2 = z1 * z2;
        let mut t3 = (x1 + y1) * (x2 + y2);
        let mut t4 = t0 + t1;
        t3 -= t4;
        t4 = (y1 + z1) * (y2 + z2);
        let mut x3 = t1 + t2;
        t4 -= x3;
        x3 = (x1 + z1) * (x2 + z2);
        let mut y3 = t0 + t2;
        y3 = x3 - y3;
        x3 = t0 + t0;
        t0 += x3;
        t2 *= b3;
        let mut z3 = t1 + t2;
        t1 -= t2;
        y3 *= b3;
        x3 = t4 * y3;
        t2 = t3 * t1;
        x3 = t2 - x3;
        y3 *= t0;
        t1 *= z3;
        y3 = t1 + y3;
        t0 *= t3;
        z3 *= t4;
        z3 += t0;
        Point {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `k · self` for a 32-byte big-endian `k`: 256 doublings, each followed by an addition
    /// whose result is kept or dropped by a constant-time select on the scalar bit.
    fn mul(&self, k: &[u8; 32]) -> Point {
        let mut r = Point::IDENTITY;
        for byte in k {
            for j in (0..8).rev() {
                r = r.add(&r);
                let t = r.add(self);
                r = Point::conditional_select(&r, &t, Choice::from((byte >> j) & 1));
            }
        }
        r
    }

    /// Affine coordinates, `None` for the identity.
    fn to_affine(self) -> Option<([u8; 32], [u8; 32])> {
        let (zi, ok) = self.z.invert();
        if !bool::from(ok) {
            return None;
        }
        Some((
            (self.x * zi).retrieve().to_be_bytes(),
            (self.y * zi).retrieve().to_be_bytes(),
        ))
    }

    /// True if this is the identity (`Z = 0`).
    fn is_identity(&self) -> bool {
        self.z.ct_eq(&Fe::ZERO).into()
    }
}

/// The affine point `(x, y)` (32-byte big-endian coordinates) if both are below `p` and it
/// satisfies `y² = x³ + 3`.
fn decode(x: &[u8; 32], y: &[u8; 32]) -> Option<Point> {
    let (xi, yi) = (U256::from_be_slice(x), U256::from_be_slice(y));
    if xi >= P || yi >= P {
        return None;
    }
    let (x, y) = (Fe::new(&xi), Fe::new(&yi));
    let on = (y * y).ct_eq(&(x * x * x + fe(3)));
    bool::from(on).then_some(Point { x, y, z: Fe::ONE })
}

/// True if `(x, y)` is a point of the curve.
pub fn on_curve(x: &[u8; 32], y: &[u8; 32]) -> bool {
    decode(x, y).is_some()
}

/// `d · Q` (`d · G` when `q` is `None`) in affine coordinates; `None` if `q` is not on the
/// curve or the result is the identity. The scalar is not range-checked here (any 256-bit
/// value works; callers require `0 < d < n`).
pub fn mul(d: &[u8; 32], q: Option<(&[u8; 32], &[u8; 32])>) -> Option<([u8; 32], [u8; 32])> {
    let base = match q {
        None => Point::generator(),
        Some((x, y)) => decode(x, y)?,
    };
    base.mul(d).to_affine()
}

/// `a · P + b · Q` in affine coordinates for public points (signature verification); `None`
/// for an invalid point or an identity result.
pub fn mul_add(
    a: &[u8; 32],
    p: Option<(&[u8; 32], &[u8; 32])>,
    b: &[u8; 32],
    q: (&[u8; 32], &[u8; 32]),
) -> Option<([u8; 32], [u8; 32])> {
    let p = match p {
        None => Point::generator(),
        Some((x, y)) => decode(x, y)?,
    };
    let q = decode(q.0, q.1)?;
    let r = p.mul(a).add(&q.mul(b));
    if r.is_identity() {
        return None;
    }
    r.to_affine()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(v: u64) -> [u8; 32] {
        U256::from_u64(v).to_be_bytes()
    }

    /// Variable-time affine arithmetic with the textbook chord-and-tangent formulas, an
    /// independent check of the projective code.
    fn affine_add(a: (Fe, Fe), b: (Fe, Fe)) -> (Fe, Fe) {
        let l = if a == b {
            (a.0 * a.0 * fe(3)) * (a.1 + a.1).invert().0
        } else {
            (b.1 - a.1) * (b.0 - a.0).invert().0
        };
        let x = l * l - a.0 - b.0;
        (x, l * (a.0 - x) - a.1)
    }

    fn bytes(p: (Fe, Fe)) -> ([u8; 32], [u8; 32]) {
        (p.0.retrieve().to_be_bytes(), p.1.retrieve().to_be_bytes())
    }

    #[test]
    fn constants_and_generator() {
        // G = (1, 2) is on y² = x³ + 3: 4 = 1 + 3.
        assert!(on_curve(&be(1), &be(2)));
        assert!(!on_curve(&be(1), &be(3)));
        // The BN family with u = -0x6882F5C030B0A801 (ISO/IEC 15946-5's BN256 parameter):
        // p = 36u⁴ + 36u³ + 24u² + 6u + 1 and n = p - 6u². With t = -u > 0:
        // p = 36t⁴ - 36t³ + 24t² - 6t + 1 (every term fits in 256 bits).
        let t = U256::from_u64(0x6882_f5c0_30b0_a801);
        let t2 = t.wrapping_mul(&t);
        let t3 = t2.wrapping_mul(&t);
        let t4 = t3.wrapping_mul(&t);
        let k = |c: u64, v: &U256| U256::from_u64(c).wrapping_mul(v);
        let p = k(36, &t4)
            .wrapping_sub(&k(36, &t3))
            .wrapping_add(&k(24, &t2))
            .wrapping_sub(&k(6, &t))
            .wrapping_add(&U256::ONE);
        assert_eq!(p, P);
        assert_eq!(p.wrapping_sub(&k(6, &t2)).to_be_bytes(), N);
    }

    #[test]
    fn order_times_generator_is_identity() {
        let g = Point::generator();
        assert!(g.mul(&N).is_identity());
        assert_eq!(mul(&N, None), None);
        // (n - 1)·G = -G = (1, p - 2).
        let nm1 = U256::from_be_slice(&N)
            .wrapping_sub(&U256::ONE)
            .to_be_bytes();
        let minus_g = P.wrapping_sub(&U256::from_u64(2)).to_be_bytes();
        assert_eq!(mul(&nm1, None), Some((be(1), minus_g)));
        assert!(g.mul(&be(0)).is_identity());
    }

    #[test]
    fn small_multiples_match_affine_formulas() {
        let g = (Fe::ONE, fe(2));
        let mut acc = g;
        for k in 2..40u64 {
            acc = affine_add(acc, g);
            assert_eq!(mul(&be(k), None), Some(bytes(acc)), "k = {k}");
        }
        // Doubling chain: 2^i · G by the tangent formula.
        let mut d = g;
        for i in 1..20 {
            d = affine_add(d, d);
            assert_eq!(mul(&be(1 << i), None), Some(bytes(d)));
        }
    }

    #[test]
    fn multiplication_is_consistent() {
        // a·(b·G) = b·(a·G) = (ab mod n)·G for large scalars.
        let a =
            U256::from_be_hex("3a5f0c1d2e4b6a798897a6b5c4d3e2f1000102030405060708090a0b0c0d0e0f");
        let b =
            U256::from_be_hex("7e6d5c4b3a291807f6e5d4c3b2a19080deadbeefcafebabe0123456789abcdef");
        let (a, b) = (a.to_be_bytes(), b.to_be_bytes());
        let (ax, ay) = mul(&a, None).unwrap();
        let (bx, by) = mul(&b, None).unwrap();
        let ab = mul(&b, Some((&ax, &ay))).unwrap();
        assert_eq!(ab, mul(&a, Some((&bx, &by))).unwrap());
        assert!(on_curve(&ab.0, &ab.1));
        // a·G + b·G = (a + b)·G, with a + b < n here.
        let sum = U256::from_be_slice(&a)
            .wrapping_add(&U256::from_be_slice(&b))
            .to_be_bytes();
        assert_eq!(mul_add(&a, None, &b, (&be(1), &be(2))), mul(&sum, None));
        // Off-curve and out-of-range points are refused.
        assert_eq!(mul(&a, Some((&ax, &ax))), None);
        assert!(!on_curve(&P.to_be_bytes(), &be(2)));
    }
}
