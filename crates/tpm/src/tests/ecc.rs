//! ECDH_KeyGen, ECDH_ZGen, ECC_Parameters, EC_Ephemeral and ZGen_2Phase, their x coordinates
//! checked against aws-lc-rs' ECDH and their points against the curve, plus the error paths.

use super::*;
use aws_lc_rs::agreement::{self, ECDH_P256, ECDH_P384, PrivateKey, UnparsedPublicKey};

/// ECC P-256 ECDH/SHA-256 decryption key (pytss `ecc256:ecdh`): fixedTPM|fixedParent|
/// sensitiveDataOrigin|userWithAuth|decrypt.
const ECDH_P256_KEY: &str = "0023000b00020072 0000 0010 0019000b 0003 0010 0000 0000";
/// The same on P-384 with scheme NULL.
const ECDH_P384_KEY: &str = "0023000c00020072 0000 0010 0010 0004 0010 0000 0000";
/// ECC P-256 ECDSA signing key (no decrypt).
const ECDSA_P256_KEY: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";
/// ECC P-256 storage key (restricted decrypt, AES-128-CFB).
const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";
/// RSA-2048 storage key.
const RSA_SRK: &str = "0001000b00030072000000060080004300100800000000000000";

/// A primary key: (handle, x, y).
fn primary(t: &mut Tpm, tmpl: &str) -> (u32, Vec<u8>, Vec<u8>) {
    let r = create_primary_rsp(t, TPM_RH_OWNER, &hex(tmpl));
    let mut rd = Reader::new(&r[18..]);
    let public = rd.tpm2b(4096).unwrap();
    let mut p = Reader::new(public);
    let p = tpm_proto::object::TpmtPublic::read(&mut p).unwrap();
    match p.unique {
        tpm_proto::object::PublicId::Ecc { x, y } => (rsp_handle(&r), x, y),
        _ => (rsp_handle(&r), vec![], vec![]),
    }
}

fn point(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    inner.put_tpm2b(x);
    inner.put_tpm2b(y);
    let mut p = Vec::new();
    p.put_tpm2b(&inner);
    p
}

fn read_point(r: &mut Reader<'_>) -> (Vec<u8>, Vec<u8>) {
    let b = r.tpm2b(4096).unwrap();
    let mut p = Reader::new(b);
    let x = p.tpm2b(66).unwrap().to_vec();
    let y = p.tpm2b(66).unwrap().to_vec();
    p.finish().unwrap();
    (x, y)
}

/// A peer key pair from aws-lc: (private key, x, y).
fn peer(alg: &'static agreement::Algorithm) -> (PrivateKey, Vec<u8>, Vec<u8>) {
    let k = PrivateKey::generate(alg).unwrap();
    let p = k.compute_public_key().unwrap().as_ref().to_vec();
    let n = (p.len() - 1) / 2;
    (k, p[1..1 + n].to_vec(), p[1 + n..].to_vec())
}

/// aws-lc's ECDH: the x coordinate of `k · (x, y)`.
fn agree(alg: &'static agreement::Algorithm, k: &PrivateKey, x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut q = vec![4u8];
    q.extend_from_slice(x);
    q.extend_from_slice(y);
    agreement::agree(k, UnparsedPublicKey::new(alg, &q), (), |z| Ok(z.to_vec())).unwrap()
}

fn zgen(t: &mut Tpm, h: u32, p: &[u8]) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let r = t.execute(0, &cmd(TPM_CC_ECDH_ZGEN, &[h], Some(&[b""]), p));
    match rc(&r) {
        0 => Ok(read_point(&mut Reader::new(&r[14..]))),
        e => Err(e),
    }
}

/// A point's coordinates.
type Point = (Vec<u8>, Vec<u8>);
type Points = (Point, Point);

fn keygen(t: &mut Tpm, h: u32) -> Result<Points, u32> {
    let r = t.execute(0, &cmd(TPM_CC_ECDH_KEYGEN, &[h], None, &[]));
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[10..]);
            let z = read_point(&mut rd);
            let q = read_point(&mut rd);
            rd.finish().unwrap();
            Ok((z, q))
        }
        e => Err(e),
    }
}

fn on_curve(c: crypto::ecc::Curve, (x, y): &(Vec<u8>, Vec<u8>)) -> bool {
    crypto::ecc::on_curve(c, x, y)
}

#[test]
fn ecdh_zgen_matches_aws_lc() {
    let mut t = started();
    for (tmpl, alg, c) in [
        (ECDH_P256_KEY, &ECDH_P256, crypto::ecc::Curve::P256),
        (ECDH_P384_KEY, &ECDH_P384, crypto::ecc::Curve::P384),
    ] {
        let (h, kx, ky) = primary(&mut t, tmpl);
        let (pk, px, py) = peer(alg);
        let z = zgen(&mut t, h, &point(&px, &py)).unwrap();
        assert_eq!(z.0, agree(alg, &pk, &kx, &ky));
        assert_eq!(z.0.len(), c.size());
        assert!(on_curve(c, &z));
        // Leading zero octets in the coordinates are the same point.
        let mut px0 = vec![0];
        px0.extend_from_slice(&px);
        assert_eq!(zgen(&mut t, h, &point(&px0, &py)).unwrap(), z);
        flush(&mut t, h);
    }
}

#[test]
fn ecdh_zgen_errors() {
    let mut t = started();
    let (h, kx, ky) = primary(&mut t, ECDH_P256_KEY);
    // Off the curve, empty, a P-384 point on a P-256 key: TPM_RC_ECC_POINT on parameter 1.
    let mut bad = ky.clone();
    bad[31] ^= 1;
    let ecc_point = rc_param(TPM_RC_ECC_POINT, 1);
    assert_eq!(zgen(&mut t, h, &point(&kx, &bad)), Err(ecc_point));
    assert_eq!(zgen(&mut t, h, &point(&[], &[])), Err(ecc_point));
    let (_, qx, qy) = peer(&ECDH_P384);
    assert_eq!(zgen(&mut t, h, &point(&qx, &qy)), Err(ecc_point));
    // An empty TPM2B_ECC_POINT, or one with bytes after y: TPM_RC_SIZE.
    assert_eq!(zgen(&mut t, h, &[0, 0]), Err(rc_param(TPM_RC_SIZE, 1)));
    let mut long = point(&kx, &ky);
    long.push(0);
    long[1] += 1;
    assert_eq!(zgen(&mut t, h, &long), Err(rc_param(TPM_RC_SIZE, 1)));
    // A coordinate longer than MAX_ECC_KEY_BYTES.
    assert_eq!(
        zgen(&mut t, h, &point(&[1; 67], &ky)),
        Err(rc_param(TPM_RC_SIZE, 1))
    );
    flush(&mut t, h);
    // Signing key (no decrypt) and a restricted storage key: TPM_RC_ATTRIBUTES; an RSA key:
    // TPM_RC_KEY.
    for (tmpl, want) in [
        (ECDSA_P256_KEY, rc_handle(TPM_RC_ATTRIBUTES, 1)),
        (ECC_SRK, rc_handle(TPM_RC_ATTRIBUTES, 1)),
        (RSA_SRK, rc_handle(TPM_RC_KEY, 1)),
    ] {
        let (h2, _, _) = primary(&mut t, tmpl);
        assert_eq!(zgen(&mut t, h2, &point(&kx, &ky)), Err(want));
        flush(&mut t, h2);
    }
}

#[test]
fn ecdh_keygen_is_zgen_of_its_ephemeral_point() {
    let mut t = started();
    for (tmpl, c) in [
        (ECDH_P256_KEY, crypto::ecc::Curve::P256),
        (ECDH_P384_KEY, crypto::ecc::Curve::P384),
    ] {
        let (h, _, _) = primary(&mut t, tmpl);
        let (z, q) = keygen(&mut t, h).unwrap();
        assert!(on_curve(c, &z) && on_curve(c, &q));
        // d_e · Q_key (KeyGen) = d_key · Q_e (ZGen): the full point, both coordinates.
        assert_eq!(zgen(&mut t, h, &point(&q.0, &q.1)).unwrap(), z);
        assert_ne!(
            keygen(&mut t, h).unwrap().1,
            q,
            "a new ephemeral key each time"
        );
        flush(&mut t, h);
    }
    // Any ECC key will do (a storage key here: no authorization, no attribute check).
    let (srk, _, _) = primary(&mut t, ECC_SRK);
    assert!(keygen(&mut t, srk).is_ok());
    flush(&mut t, srk);
    let (rsa, _, _) = primary(&mut t, RSA_SRK);
    assert_eq!(keygen(&mut t, rsa), Err(rc_handle(TPM_RC_KEY, 1)));
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
fn ecc_parameters_describe_the_curves() {
    let mut t = started();
    for (id, alg, bits, hash) in [
        (TPM_ECC_NIST_P256, &ECDH_P256, 256u16, TPM_ALG_SHA256),
        (TPM_ECC_NIST_P384, &ECDH_P384, 384, TPM_ALG_SHA384),
    ] {
        let r = t.execute(0, &cmd(TPM_CC_ECC_PARAMETERS, &[], None, &id.to_be_bytes()));
        assert_eq!(rc(&r), 0);
        let mut rd = Reader::new(&r[10..]);
        assert_eq!(rd.u16().unwrap(), id);
        assert_eq!(rd.u16().unwrap(), bits);
        assert_eq!(
            (rd.u16().unwrap(), rd.u16().unwrap()),
            (TPM_ALG_KDF1_SP800_56A, hash)
        );
        assert_eq!(rd.u16().unwrap(), TPM_ALG_NULL);
        let v: Vec<Vec<u8>> = (0..7).map(|_| rd.tpm2b(66).unwrap().to_vec()).collect();
        rd.finish().unwrap();
        let n = usize::from(bits / 8);
        assert!(v[..6].iter().all(|f| f.len() == n));
        assert_eq!(v[6], [1], "cofactor");
        // The generator is aws-lc's public key of the scalar 1.
        let mut one = vec![0u8; n];
        one[n - 1] = 1;
        let g = PrivateKey::from_private_key(alg, &one)
            .unwrap()
            .compute_public_key()
            .unwrap();
        assert_eq!(&g.as_ref()[1..1 + n], &v[3][..]);
        assert_eq!(&g.as_ref()[1 + n..], &v[4][..]);
        // a = p - 3 (both NIST curves).
        assert_eq!(v[1][..n - 1], v[0][..n - 1]);
        assert_eq!(v[1][n - 1] + 3, v[0][n - 1]);
    }
    // NIST P-521 (0x05) and NULL are not implemented curves (BN_P256: tests/ecdaa.rs).
    for id in [0x0005u16, 0] {
        let r = t.execute(0, &cmd(TPM_CC_ECC_PARAMETERS, &[], None, &id.to_be_bytes()));
        assert_eq!(rc(&r), rc_param(TPM_RC_CURVE, 1));
    }
}

fn ec_ephemeral(t: &mut Tpm, curve: u16) -> Result<(Point, u16), u32> {
    let r = t.execute(
        0,
        &cmd(TPM_CC_EC_EPHEMERAL, &[], None, &curve.to_be_bytes()),
    );
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[10..]);
            let q = read_point(&mut rd);
            let c = rd.u16().unwrap();
            rd.finish().unwrap();
            Ok((q, c))
        }
        e => Err(e),
    }
}

fn zgen_2phase(
    t: &mut Tpm,
    h: u32,
    qs: &[u8],
    qe: &[u8],
    scheme: u16,
    counter: u16,
) -> Result<Points, u32> {
    let mut p = qs.to_vec();
    p.extend_from_slice(qe);
    p.put_u16(scheme);
    p.put_u16(counter);
    let r = t.execute(0, &cmd(TPM_CC_ZGEN_2PHASE, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[14..]);
            let z1 = read_point(&mut rd);
            let z2 = read_point(&mut rd);
            Ok((z1, z2))
        }
        e => Err(e),
    }
}

#[test]
fn two_phase_ecdh_matches_aws_lc() {
    let mut t = started();
    let (h, kx, ky) = primary(&mut t, ECDH_P256_KEY);
    let (q, counter) = ec_ephemeral(&mut t, TPM_ECC_NIST_P256).unwrap();
    assert!(on_curve(crypto::ecc::Curve::P256, &q));
    let (q2, counter2) = ec_ephemeral(&mut t, TPM_ECC_NIST_P256).unwrap();
    assert_eq!(counter2, counter.wrapping_add(1));
    assert_ne!(q, q2);
    // Party B: static and ephemeral keys.
    let (bs, bsx, bsy) = peer(&ECDH_P256);
    let (be, bex, bey) = peer(&ECDH_P256);
    let (qs, qe) = (point(&bsx, &bsy), point(&bex, &bey));
    let (z1, z2) = zgen_2phase(&mut t, h, &qs, &qe, TPM_ALG_ECDH, counter).unwrap();
    // Z1 = d_sA · QsB, Z2 = r · QeB: B computes the same x from its side.
    assert_eq!(z1.0, agree(&ECDH_P256, &bs, &kx, &ky));
    assert_eq!(z2.0, agree(&ECDH_P256, &be, &q.0, &q.1));
    assert!(on_curve(crypto::ecc::Curve::P256, &z2));
    // A commitment is used once.
    assert_eq!(
        zgen_2phase(&mut t, h, &qs, &qe, TPM_ALG_ECDH, counter),
        Err(rc_param(TPM_RC_VALUE, 4))
    );
    // A failure does not use it: off-curve QeB, then the real call works with counter2.
    let mut bad = bey.clone();
    bad[0] ^= 0x80;
    assert_eq!(
        zgen_2phase(&mut t, h, &qs, &point(&bex, &bad), TPM_ALG_ECDH, counter2),
        Err(rc_param(TPM_RC_ECC_POINT, 2))
    );
    assert_eq!(
        zgen_2phase(&mut t, h, &point(&bsx, &bad), &qe, TPM_ALG_ECDH, counter2),
        Err(rc_param(TPM_RC_ECC_POINT, 1))
    );
    let (_, z2b) = zgen_2phase(&mut t, h, &qs, &qe, TPM_ALG_ECDH, counter2).unwrap();
    assert_eq!(z2b.0, agree(&ECDH_P256, &be, &q2.0, &q2.1));
    // Not issued yet.
    assert_eq!(
        zgen_2phase(&mut t, h, &qs, &qe, TPM_ALG_ECDH, counter2.wrapping_add(1)),
        Err(rc_param(TPM_RC_VALUE, 4))
    );
    // Schemes: the key's is ECDH, so NULL mismatches; ECMQV/SM2 are not implemented.
    let (_, c3) = ec_ephemeral(&mut t, TPM_ECC_NIST_P256).unwrap();
    for s in [TPM_ALG_NULL, TPM_ALG_ECMQV, 0x001B] {
        assert_eq!(
            zgen_2phase(&mut t, h, &qs, &qe, s, c3),
            Err(rc_param(TPM_RC_SCHEME, 3))
        );
    }
    // TPM Reset forgets the commitments.
    assert_eq!(
        rc(&t.execute(0, &shutdown_command(TPM_SU_CLEAR))),
        0,
        "shutdown"
    );
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    let (h, _, _) = primary(&mut t, ECDH_P256_KEY);
    assert_eq!(
        zgen_2phase(&mut t, h, &qs, &qe, TPM_ALG_ECDH, c3),
        Err(rc_param(TPM_RC_VALUE, 4))
    );
}

#[test]
fn two_phase_key_checks() {
    let mut t = started();
    let (_, c) = ec_ephemeral(&mut t, TPM_ECC_NIST_P256).unwrap();
    let (_, x, y) = peer(&ECDH_P256);
    let q = point(&x, &y);
    // A NULL-scheme key takes the caller's scheme; NULL from both is refused.
    let (h384, _, _) = primary(&mut t, ECDH_P384_KEY);
    assert_eq!(
        zgen_2phase(&mut t, h384, &q, &q, TPM_ALG_NULL, c),
        Err(rc_param(TPM_RC_SCHEME, 3))
    );
    // A P-256 point on a P-384 key is off its curve.
    assert_eq!(
        zgen_2phase(&mut t, h384, &q, &q, TPM_ALG_ECDH, c),
        Err(rc_param(TPM_RC_ECC_POINT, 1))
    );
    flush(&mut t, h384);
    for (tmpl, want) in [
        (ECDSA_P256_KEY, rc_handle(TPM_RC_ATTRIBUTES, 1)),
        (RSA_SRK, rc_handle(TPM_RC_KEY, 1)),
    ] {
        let (h, _, _) = primary(&mut t, tmpl);
        assert_eq!(zgen_2phase(&mut t, h, &q, &q, TPM_ALG_ECDH, c), Err(want));
        flush(&mut t, h);
    }
    // EC_Ephemeral on an unimplemented curve.
    assert_eq!(ec_ephemeral(&mut t, 0x0005), Err(rc_param(TPM_RC_CURVE, 1)));
    // The P-384 ephemeral works with a P-384 key.
    let (h, _, _) = primary(&mut t, ECDH_P384_KEY);
    let (_, c384) = ec_ephemeral(&mut t, TPM_ECC_NIST_P384).unwrap();
    let (_, x, y) = peer(&ECDH_P384);
    let q = point(&x, &y);
    assert!(zgen_2phase(&mut t, h, &q, &q, TPM_ALG_ECDH, c384).is_ok());
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    /// One parameter piece: a TPM2B (possibly a point-shaped one) or an interesting u16.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
                let mut v = Vec::new();
                v.put_tpm2b(&b);
                v
            }),
            (
                prop::collection::vec(any::<u8>(), 0..50),
                prop::collection::vec(any::<u8>(), 0..50)
            )
                .prop_map(|(x, y)| point(&x, &y)),
            prop::sample::select(vec![
                0u16, 1, 2, 3, 4, 0x10, 0x19, 0x1d, 0x40, 0x41, 0x42, 0x43, 0x44, 0xffff
            ])
            .prop_map(|v| v.to_be_bytes().to_vec()),
            any::<u8>().prop_map(|b| vec![b]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// The ECC and EncryptDecrypt commands with real keys and half-sensible parameters never
        /// panic and always answer a framed response.
        #[test]
        fn new_commands_never_panic(
            cc in prop::sample::select(vec![
                TPM_CC_ECDH_ZGEN, TPM_CC_ECDH_KEYGEN, TPM_CC_ENCRYPT_DECRYPT,
                TPM_CC_ECC_PARAMETERS, TPM_CC_ZGEN_2PHASE, TPM_CC_EC_EPHEMERAL,
                TPM_CC_ENCRYPT_DECRYPT2,
            ]),
            which in 0usize..4,
            pieces in prop::collection::vec(piece(), 0..6),
        ) {
            let mut t = started();
            let (ecdh, _, _) = primary(&mut t, ECDH_P256_KEY);
            let (srk, _, _) = primary(&mut t, ECC_SRK);
            // An EC_Ephemeral so that counter 0 is a live commitment.
            let _ = ec_ephemeral(&mut t, TPM_ECC_NIST_P256);
            // pytss' `aes` symmetric-cipher template (AES-128, mode NULL).
            let aes = rsp_handle(&create_primary_rsp(
                &mut t,
                TPM_RH_OWNER,
                &hex("0025000b0006007200000006008000100000"),
            ));
            let handles = [ecdh, srk, aes, 0x8000_0007];
            let has_handle = !matches!(cc, TPM_CC_ECC_PARAMETERS | TPM_CC_EC_EPHEMERAL);
            let auth = matches!(
                cc,
                TPM_CC_ECDH_ZGEN | TPM_CC_ENCRYPT_DECRYPT | TPM_CC_ZGEN_2PHASE | TPM_CC_ENCRYPT_DECRYPT2
            );
            let h = [handles[which]];
            let params = pieces.concat();
            let r = t.execute(
                0,
                &cmd(cc, if has_handle { &h } else { &[] }, auth.then_some(&[b"".as_slice()][..]), &params),
            );
            let code = rc(&r);
            prop_assert!(code == 0 || r.len() == 10);
        }
    }
}
