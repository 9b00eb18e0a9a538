//! BN_P256 keys, TPM2_Commit and ECDAA signing: the ECDAA relations `[s]G = E + [T]Q` and
//! `[s]P2 = L + [T]K` (T = H(nonceK ‖ digest)) checked with RustCrypto's independent P-256
//! arithmetic, and on BN_P256 with the crate's own curve code; plus the error paths.

use super::*;
use crate::crypto::ecc::{self, Curve};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::DecompressPoint;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar, U256};

/// ECDAA (SHA-256, count 0) signing key on NIST P-256: fixedTPM|fixedParent|
/// sensitiveDataOrigin|userWithAuth|sign (pytss `ecc:ecdaa`).
const ECDAA_P256: &str = "0023000b00040072 0000 0010 001a000b0000 0003 0010 0000 0000";
/// The same on BN_P256.
const ECDAA_BN: &str = "0023000b00040072 0000 0010 001a000b0000 0010 0010 0000 0000";
/// ECDSA/SHA-256 signing key on BN_P256.
const ECDSA_BN: &str = "0023000b00040072 0000 0010 0018000b 0010 0010 0000 0000";
/// ECDH decryption key on BN_P256.
const ECDH_BN: &str = "0023000b00020072 0000 0010 0019000b 0010 0010 0000 0000";
/// ECDSA signing key on NIST P-256.
const ECDSA_P256: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

type Point = (Vec<u8>, Vec<u8>);

/// A primary key: (handle, public point).
fn primary(t: &mut Tpm, tmpl: &str) -> (u32, Point) {
    let r = create_primary_rsp(t, TPM_RH_OWNER, &hex(tmpl));
    let mut rd = Reader::new(&r[18..]);
    let public = rd.tpm2b(4096).unwrap();
    let p = tpm_proto::object::TpmtPublic::read(&mut Reader::new(public)).unwrap();
    match p.unique {
        tpm_proto::object::PublicId::Ecc { x, y } => (rsp_handle(&r), (x, y)),
        _ => panic!("not an ECC key"),
    }
}

fn put_point(out: &mut Vec<u8>, (x, y): (&[u8], &[u8])) {
    let mut inner = Vec::new();
    inner.put_tpm2b(x);
    inner.put_tpm2b(y);
    out.put_tpm2b(&inner);
}

fn read_point(r: &mut Reader<'_>) -> Point {
    let b = r.tpm2b(4096).unwrap();
    let mut p = Reader::new(b);
    let x = p.tpm2b(66).unwrap().to_vec();
    let y = p.tpm2b(66).unwrap().to_vec();
    p.finish().unwrap();
    (x, y)
}

/// TPM2_Commit: (K, L, E, counter) or the response code.
fn commit(
    t: &mut Tpm,
    h: u32,
    p1: Option<(&[u8], &[u8])>,
    s2: &[u8],
    y2: &[u8],
) -> Result<(Point, Point, Point, u16), u32> {
    let mut p = Vec::new();
    // No P1 is two empty coordinates (what tpm2-tss sends for an empty TPM2B_ECC_POINT).
    put_point(&mut p, p1.unwrap_or((&[], &[])));
    p.put_tpm2b(s2);
    p.put_tpm2b(y2);
    let r = t.execute(0, &cmd(TPM_CC_COMMIT, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[14..]);
            let k = read_point(&mut rd);
            let l = read_point(&mut rd);
            let e = read_point(&mut rd);
            Ok((k, l, e, rd.u16().unwrap()))
        }
        e => Err(e),
    }
}

/// TPM2_Sign with `scheme` (ECDAA carries `count`): (sigAlg, r, s) or the response code.
fn sign(t: &mut Tpm, h: u32, digest: &[u8], scheme: &[u8]) -> Result<(u16, Point), u32> {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.extend_from_slice(scheme);
    p.put_u16(TPM_ST_HASHCHECK);
    p.put_u32(TPM_RH_NULL);
    p.put_u16(0);
    let r = t.execute(0, &cmd(TPM_CC_SIGN, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[14..]);
            let alg = rd.u16().unwrap();
            assert_eq!(rd.u16().unwrap(), TPM_ALG_SHA256);
            let r = rd.tpm2b(66).unwrap().to_vec();
            let s = rd.tpm2b(66).unwrap().to_vec();
            Ok((alg, (r, s)))
        }
        e => Err(e),
    }
}

fn ecdaa_scheme(count: u16) -> Vec<u8> {
    let mut s = Vec::new();
    s.put_u16(TPM_ALG_ECDAA);
    s.put_u16(TPM_ALG_SHA256);
    s.put_u16(count);
    s
}

/// T = SHA-256(nonceK ‖ digest).
fn t_of(nonce_k: &[u8], digest: &[u8]) -> Vec<u8> {
    crypto::hash(TPM_ALG_SHA256, &[nonce_k, digest])
        .unwrap()
        .as_ref()
        .to_vec()
}

fn p256_point((x, y): &Point) -> ProjectivePoint {
    let ep = EncodedPoint::from_affine_coordinates(
        FieldBytes::from_slice(x),
        FieldBytes::from_slice(y),
        false,
    );
    ProjectivePoint::from(AffinePoint::from_encoded_point(&ep).unwrap())
}

fn p256_scalar(v: &[u8]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(v))
}

fn flush(t: &mut Tpm, h: u32) {
    let mut p = Vec::new();
    p.put_u32(h);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &p))),
        0
    );
}

#[test]
fn commit_and_ecdaa_sign_on_p256() {
    let mut t = started();
    let (h, q) = primary(&mut t, ECDAA_P256);
    // No P1, P2: K and L empty, E = [r]G; counters count up from 0.
    let (k, l, e, c0) = commit(&mut t, h, None, b"", b"").unwrap();
    assert_eq!((k, l, c0), ((vec![], vec![]), (vec![], vec![]), 0));
    assert!(ecc::on_curve(Curve::P256, &e.0, &e.1));
    let (_, _, e1, c1) = commit(&mut t, h, None, b"", b"").unwrap();
    assert_eq!(c1, 1);
    assert_ne!(e, e1);
    // Sign with commitment 0: [s]G = E + [T]Q with T = H(nonceK ‖ digest) mod n.
    let digest = [0x5au8; 32];
    let (alg, (nonce_k, s)) = sign(&mut t, h, &digest, &ecdaa_scheme(c0)).unwrap();
    assert_eq!(alg, TPM_ALG_ECDAA);
    assert_eq!((nonce_k.len(), s.len()), (32, 32));
    let tt = p256_scalar(&t_of(&nonce_k, &digest));
    let lhs = ProjectivePoint::GENERATOR * p256_scalar(&s);
    assert_eq!(lhs, p256_point(&e) + p256_point(&q) * tt);
    // A commitment signs once; an unissued count is refused the same way (TPM_RC_VALUE, as
    // the reference's CryptSign, no parameter number).
    assert_eq!(
        sign(&mut t, h, &digest, &ecdaa_scheme(c0)),
        Err(TPM_RC_VALUE)
    );
    assert_eq!(
        sign(&mut t, h, &digest, &ecdaa_scheme(7)),
        Err(TPM_RC_VALUE)
    );
    // The key's own scheme with count 0 (input NULL): commitment 0 is used up.
    let null = TPM_ALG_NULL.to_be_bytes();
    assert_eq!(sign(&mut t, h, &digest, &null), Err(TPM_RC_VALUE));
    // Commitment 1 still works, and a different hash in the scheme is a scheme mismatch.
    let mut sha1 = ecdaa_scheme(c1);
    sha1[3] = TPM_ALG_SHA1 as u8;
    assert_eq!(
        sign(&mut t, h, &digest, &sha1),
        Err(rc_param(TPM_RC_SCHEME, 2))
    );
    let (_, (nk1, s1)) = sign(&mut t, h, &digest, &ecdaa_scheme(c1)).unwrap();
    let lhs = ProjectivePoint::GENERATOR * p256_scalar(&s1);
    let tt = p256_scalar(&t_of(&nk1, &digest));
    assert_eq!(lhs, p256_point(&e1) + p256_point(&q) * tt);
}

#[test]
fn quote_with_ecdaa_uses_a_commitment() {
    let mut t = started();
    let (h, q) = primary(&mut t, ECDAA_P256);
    let (_, _, e, c) = commit(&mut t, h, None, b"", b"").unwrap();
    let quote = |t: &mut Tpm, count: u16| {
        let mut p = Vec::new();
        p.put_tpm2b(b"nonce");
        p.extend_from_slice(&ecdaa_scheme(count));
        p.put_u32(0);
        t.execute(0, &cmd(TPM_CC_QUOTE, &[h], Some(&[b""]), &p))
    };
    let r = quote(&mut t, c);
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    let attest = rd.tpm2b(4096).unwrap().to_vec();
    assert_eq!(
        (rd.u16().unwrap(), rd.u16().unwrap()),
        (TPM_ALG_ECDAA, TPM_ALG_SHA256)
    );
    let nonce_k = rd.tpm2b(66).unwrap().to_vec();
    let s = rd.tpm2b(66).unwrap().to_vec();
    // The signed digest is SHA-256 of the TPMS_ATTEST.
    let digest = t_of(&attest, b"");
    let tt = p256_scalar(&t_of(&nonce_k, &digest));
    assert_eq!(
        ProjectivePoint::GENERATOR * p256_scalar(&s),
        p256_point(&e) + p256_point(&q) * tt
    );
    // The commitment is spent.
    assert_eq!(rc(&quote(&mut t, c)), TPM_RC_VALUE);
}

/// A basename `s2` whose `x2 = SHA-256(s2) mod p` is the x of a P-256 point, and its `y2`.
fn p256_basename() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    for i in 0u32.. {
        let s2 = format!("basename {i}").into_bytes();
        let h = t_of(&s2, b"");
        // SHA-256 output below p for these inputs (p's top 32 bits are 0xffffffff).
        let x2 = FieldBytes::from_slice(&h);
        let pt: Option<AffinePoint> = AffinePoint::decompress(x2, 0.into()).into();
        if let Some(pt) = pt {
            let ep = pt.to_encoded_point(false);
            return (s2, ep.x().unwrap().to_vec(), ep.y().unwrap().to_vec());
        }
    }
    unreachable!()
}

#[test]
fn commit_with_points_gives_k_l_e() {
    let mut t = started();
    let (h, q) = primary(&mut t, ECDAA_P256);
    let (s2, x2, y2) = p256_basename();
    // P1 = G: E = [r]G. P2 = (H(s2) mod p, y2): K = [d]P2, L = [r]P2.
    let g = (
        ecc::unhex(ecc::domain(Curve::P256)[3]),
        ecc::unhex(ecc::domain(Curve::P256)[4]),
    );
    let (k, l, e, c) = commit(&mut t, h, Some((&g.0, &g.1)), &s2, &y2).unwrap();
    let p2 = p256_point(&(x2, y2.clone()));
    let digest = [7u8; 32];
    let (_, (nonce_k, s)) = sign(&mut t, h, &digest, &ecdaa_scheme(c)).unwrap();
    let (s, tt) = (p256_scalar(&s), p256_scalar(&t_of(&nonce_k, &digest)));
    // s = r + T·d: [s]P2 = L + [T]K and [s]G = E + [T]Q.
    assert_eq!(p2 * s, p256_point(&l) + p256_point(&k) * tt);
    assert_eq!(
        ProjectivePoint::GENERATOR * s,
        p256_point(&e) + p256_point(&q) * tt
    );
    // Only P2: E is empty.
    let (_, _, e2, _) = commit(&mut t, h, None, &s2, &y2).unwrap();
    assert_eq!(e2, (vec![], vec![]));
}

#[test]
fn commit_errors() {
    let mut t = started();
    let (h, q) = primary(&mut t, ECDAA_P256);
    let (s2, _, y2) = p256_basename();
    // s2 without y2 and the reverse: TPM_RC_SIZE on y2 (parameter 3).
    assert_eq!(
        commit(&mut t, h, None, &s2, b""),
        Err(rc_param(TPM_RC_SIZE, 3))
    );
    assert_eq!(
        commit(&mut t, h, None, b"", &y2),
        Err(rc_param(TPM_RC_SIZE, 3))
    );
    // (H(s2) mod p, y2) off the curve: TPM_RC_ECC_POINT on s2 (parameter 2).
    let mut bad_y = y2.clone();
    bad_y[31] ^= 1;
    assert_eq!(
        commit(&mut t, h, None, &s2, &bad_y),
        Err(rc_param(TPM_RC_ECC_POINT, 2))
    );
    // P1 off the curve: TPM_RC_ECC_POINT on parameter 1.
    let mut bad = q.1.clone();
    bad[0] ^= 0x40;
    assert_eq!(
        commit(&mut t, h, Some((&q.0, &bad)), b"", b""),
        Err(rc_param(TPM_RC_ECC_POINT, 1))
    );
    // Failed commits use no counter value.
    assert_eq!(commit(&mut t, h, None, b"", b"").unwrap().3, 0);
    // A P1 of size 0 (libtpms refuses every empty TPM2B_ECC_POINT) or with bytes after y:
    // TPM_RC_SIZE.
    let r = t.execute(
        0,
        &cmd(TPM_CC_COMMIT, &[h], Some(&[b""]), &hex("0000 0000 0000")),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 1));
    let mut p = Vec::new();
    let mut inner = Vec::new();
    inner.put_tpm2b(&q.0);
    inner.put_tpm2b(&q.1);
    inner.push(0);
    p.put_tpm2b(&inner);
    p.put_u16(0);
    p.put_u16(0);
    let r = t.execute(0, &cmd(TPM_CC_COMMIT, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 1));
    // An ECDSA key is no anonymous-scheme key (TPM_RC_SCHEME), an RSA key no ECC key.
    let (ecdsa, _) = primary(&mut t, ECDSA_P256);
    assert_eq!(
        commit(&mut t, ecdsa, None, b"", b""),
        Err(rc_handle(TPM_RC_SCHEME, 1))
    );
    let rsa = rsp_handle(&create_primary_rsp(
        &mut t,
        TPM_RH_OWNER,
        &hex("0001000b00040072 0000 0010 0014000b 0800 00000000 0000"),
    ));
    assert_eq!(
        commit(&mut t, rsa, None, b"", b""),
        Err(rc_handle(TPM_RC_KEY, 1))
    );
    // ECDAA is a signing scheme: a decrypt key with it is refused (TPM_RC_SCHEME on the
    // template, parameter 2 of CreatePrimary).
    let mut p = Vec::new();
    p.put_u16(4);
    p.put_u32(0);
    p.put_tpm2b(&hex(
        "0023000b00060072 0000 0010 001a000b0000 0003 0010 0000 0000",
    ));
    p.put_u16(0);
    p.put_u32(0);
    let r = t.execute(
        0,
        &cmd(TPM_CC_CREATE_PRIMARY, &[TPM_RH_OWNER], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SCHEME, 2));
}

#[test]
fn bn_p256_keys() {
    let mut t = started();
    // CreatePrimary derives the same key from the same template; its point is on the curve.
    let (h, q) = primary(&mut t, ECDSA_BN);
    assert!(ecc::on_curve(Curve::BnP256, &q.0, &q.1));
    let (h2, q2) = primary(&mut t, ECDSA_BN);
    assert_eq!(q, q2);
    flush(&mut t, h2);
    // ECDSA on BN_P256: VerifySignature accepts the TPM's signature and refuses a changed one.
    let digest = [0x42u8; 32];
    let mut scheme = Vec::new();
    scheme.put_u16(TPM_ALG_ECDSA);
    scheme.put_u16(TPM_ALG_SHA256);
    let (alg, (r, s)) = sign(&mut t, h, &digest, &scheme).unwrap();
    assert_eq!(alg, TPM_ALG_ECDSA);
    let verify = |t: &mut Tpm, digest: &[u8], s: &[u8]| {
        let mut p = Vec::new();
        p.put_tpm2b(digest);
        p.put_u16(TPM_ALG_ECDSA);
        p.put_u16(TPM_ALG_SHA256);
        p.put_tpm2b(&r);
        p.put_tpm2b(s);
        rc(&t.execute(0, &cmd(TPM_CC_VERIFY_SIGNATURE, &[h], None, &p)))
    };
    assert_eq!(verify(&mut t, &digest, &s), 0);
    assert_eq!(
        verify(&mut t, &[0x43u8; 32], &s),
        rc_param(TPM_RC_SIGNATURE, 2)
    );
    flush(&mut t, h);
    // ECDH on BN_P256: KeyGen's Z = d_e·Q_key is ZGen's d_key·Q_e, as full points.
    let (h, _) = primary(&mut t, ECDH_BN);
    let r = t.execute(0, &cmd(TPM_CC_ECDH_KEYGEN, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    let (z, qe) = (read_point(&mut rd), read_point(&mut rd));
    assert!(ecc::on_curve(Curve::BnP256, &z.0, &z.1));
    let mut p = Vec::new();
    put_point(&mut p, (&qe.0, &qe.1));
    let r = t.execute(0, &cmd(TPM_CC_ECDH_ZGEN, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(read_point(&mut Reader::new(&r[14..])), z);
    // A P-256 point is not on BN_P256.
    let (_, q256) = primary(&mut t, ECDSA_P256);
    let mut p = Vec::new();
    put_point(&mut p, (&q256.0, &q256.1));
    let r = t.execute(0, &cmd(TPM_CC_ECDH_ZGEN, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), rc_param(TPM_RC_ECC_POINT, 1));
}

#[test]
fn bn_p256_commit_and_ecdaa_sign() {
    let mut t = started();
    let (h, q) = primary(&mut t, ECDAA_BN);
    let (_, _, e, c) = commit(&mut t, h, None, b"", b"").unwrap();
    let digest = [0x11u8; 32];
    let (_, (nonce_k, s)) = sign(&mut t, h, &digest, &ecdaa_scheme(c)).unwrap();
    // [s]G - [T]Q = E, computed as [s]G + [n - T]Q with T reduced mod n by hand.
    let n = crypto_bigint::U256::from_be_slice(&crate::crypto::bn::N);
    let tt = crypto_bigint::U256::from_be_slice(&t_of(&nonce_k, &digest));
    let tt = if tt >= n { tt.wrapping_sub(&n) } else { tt };
    let neg_t = crypto_bigint::Encoding::to_be_bytes(&n.wrapping_sub(&tt));
    let arr = |v: &[u8]| <[u8; 32]>::try_from(v).unwrap();
    let got = crate::crypto::bn::mul_add(&arr(&s), None, &neg_t, (&arr(&q.0), &arr(&q.1))).unwrap();
    assert_eq!((got.0.to_vec(), got.1.to_vec()), e);
}

#[test]
fn ecc_parameters_of_bn_p256() {
    let mut t = started();
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_ECC_PARAMETERS,
            &[],
            None,
            &TPM_ECC_BN_P256.to_be_bytes(),
        ),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    assert_eq!(rd.u16().unwrap(), TPM_ECC_BN_P256);
    assert_eq!(rd.u16().unwrap(), 256);
    // No KDF, no signing scheme.
    assert_eq!(
        (rd.u16().unwrap(), rd.u16().unwrap()),
        (TPM_ALG_NULL, TPM_ALG_NULL)
    );
    let v: Vec<Vec<u8>> = (0..7).map(|_| rd.tpm2b(66).unwrap().to_vec()).collect();
    rd.finish().unwrap();
    // Left-padded to 32 bytes: `a` is a single zero byte, as in libtpms.
    assert_eq!(v[1], [0]);
    let int = |v: &[u8]| {
        let mut b = [0u8; 32];
        b[32 - v.len()..].copy_from_slice(v);
        crypto_bigint::U256::from_be_slice(&b)
    };
    assert_eq!(int(&v[1]), crypto_bigint::U256::ZERO);
    assert_eq!(int(&v[2]), crypto_bigint::U256::from_u8(3));
    assert_eq!(
        (int(&v[3]), int(&v[4])),
        (crypto_bigint::U256::ONE, crypto_bigint::U256::from_u8(2))
    );
    assert_eq!(v[5], crate::crypto::bn::N);
    assert_eq!(v[6], [1]);
    // n·G is the point at infinity, which point_mul reports as no result (after refusing n
    // as a scalar); (n-1)·G is -G.
    let nm1 =
        crypto_bigint::Encoding::to_be_bytes(&int(&v[5]).wrapping_sub(&crypto_bigint::U256::ONE));
    let neg_g = ecc::point_mul(Curve::BnP256, &nm1, None).unwrap();
    assert_eq!(neg_g.0, v[3]);
    assert_eq!(
        int(&neg_g.1),
        int(&v[0]).wrapping_sub(&crypto_bigint::U256::from_u8(2))
    );
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    /// One parameter piece: a TPM2B, a point-shaped TPM2B, an interesting u16 or a byte.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
                let mut v = Vec::new();
                v.put_tpm2b(&b);
                v
            }),
            (
                prop::collection::vec(any::<u8>(), 0..40),
                prop::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(x, y)| {
                    let mut v = Vec::new();
                    put_point(&mut v, (&x, &y));
                    v
                }),
            prop::sample::select(vec![0u16, 1, 3, 0x10, 0x18, 0x1a, 0x0b, 0x8024, 0xffff])
                .prop_map(|v| v.to_be_bytes().to_vec()),
            any::<u8>().prop_map(|b| vec![b]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Commit, Sign and the ECC commands on ECDAA and BN_P256 keys with half-sensible
        /// parameters never panic and always answer a framed response.
        #[test]
        fn commit_and_bn_commands_never_panic(
            cc in prop::sample::select(vec![
                TPM_CC_COMMIT, TPM_CC_SIGN, TPM_CC_ECDH_ZGEN, TPM_CC_ECDH_KEYGEN,
                TPM_CC_ECC_PARAMETERS, TPM_CC_VERIFY_SIGNATURE,
            ]),
            which in 0usize..4,
            pieces in prop::collection::vec(piece(), 0..6),
        ) {
            let mut t = started();
            let tmpl = [ECDAA_P256, ECDAA_BN, ECDH_BN, ECDSA_BN][which];
            let (h, _) = primary(&mut t, tmpl);
            // Commitments 0 and 1 are live.
            let _ = commit(&mut t, h, None, b"", b"");
            let _ = commit(&mut t, h, None, b"", b"");
            let params = pieces.concat();
            let r = t.execute(0, &cmd(cc, &[h], Some(&[b""]), &params));
            prop_assert!(ResponseHeader::parse_frame(&r).is_ok());
            let r = t.execute(0, &cmd(cc, &[h], None, &params));
            prop_assert!(ResponseHeader::parse_frame(&r).is_ok());
        }
    }
}
