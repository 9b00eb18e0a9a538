//! BN_P256 and ECDAA side by side with the real swtpm (libtpms), in raw TPM commands (tpm2-tools
//! has no name for BN_P256): ECC_Parameters(BN_P256) is byte-identical; a BN_P256 ECDSA
//! signature made by either TPM verifies on the other (the public key LoadExternal'ed there);
//! ECDH_KeyGen against the other TPM's BN_P256 key gives the Z that TPM's ECDH_ZGen computes;
//! Commit and ECDAA Sign answer with the same structure on both (empty K and L without P2,
//! counters 0 then 1, a spent commitment refused), and both TPMs' P-256 ECDAA signatures satisfy
//! `[s]G = E + [H(nonceK ‖ digest)]Q` in RustCrypto's P-256 arithmetic, and with a basename
//! (P2 from `s2`, `y2`) also `[s]P2 = L + [T]K`. Commit's `r` and
//! `nonceK` come from each TPM's randomness, so values are compared through the math.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::*;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::DecompressPoint;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar, U256};

const ECDSA_BN: &str = "0023000b00040072 0000 0010 0018000b 0010 0010 0000 0000";
const ECDH_BN: &str = "0023000b00020072 0000 0010 0019000b 0010 0010 0000 0000";
const ECDAA_P256: &str = "0023000b00040072 0000 0010 001a000b0000 0003 0010 0000 0000";
const ECDAA_BN: &str = "0023000b00040072 0000 0010 001a000b0000 0010 0010 0000 0000";

fn tpm2b(v: &[u8]) -> Vec<u8> {
    let mut o = (v.len() as u16).to_be_bytes().to_vec();
    o.extend_from_slice(v);
    o
}

/// A command; with `auth`, one empty password session for the first handle.
fn command(cc: u32, handles: &[u32], auth: bool, params: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for h in handles {
        b.extend_from_slice(&h.to_be_bytes());
    }
    if auth {
        b.extend_from_slice(&9u32.to_be_bytes());
        b.extend_from_slice(&hex("40000009 0000 00 0000"));
    }
    b.extend_from_slice(params);
    let tag: u16 = if auth { 0x8002 } else { 0x8001 };
    let mut c = tag.to_be_bytes().to_vec();
    c.extend_from_slice(&((10 + b.len()) as u32).to_be_bytes());
    c.extend_from_slice(&cc.to_be_bytes());
    c.extend_from_slice(&b);
    c
}

/// One TPM connection.
struct Tpm(TcpStream);

impl Tpm {
    /// The response's parameter area (after the handle and parameterSize when `auth`); the
    /// response code must be 0.
    fn ok(
        &mut self,
        cc: u32,
        handles: &[u32],
        auth: bool,
        params: &[u8],
        rhandle: bool,
    ) -> Vec<u8> {
        let r = self.raw(cc, handles, auth, params);
        assert_eq!(rc(&r), 0, "command {cc:#x}");
        let mut at = 10 + if rhandle { 4 } else { 0 };
        if auth {
            at += 4;
        }
        r[at..].to_vec()
    }
    fn raw(&mut self, cc: u32, handles: &[u32], auth: bool, params: &[u8]) -> Vec<u8> {
        transact(&mut self.0, &command(cc, handles, auth, params))
    }
    fn create_primary(&mut self, tmpl: &str) -> (u32, Vec<u8>) {
        let mut p = hex("0004 0000 0000");
        p.extend(tpm2b(&hex(tmpl)));
        p.extend(hex("0000 00000000"));
        let r = self.raw(0x131, &[0x4000_0001], true, &p);
        assert_eq!(rc(&r), 0, "CreatePrimary");
        let h = u32::from_be_bytes(r[10..14].try_into().unwrap());
        let mut rd = Rd(&r[18..]);
        (h, rd.b2().to_vec())
    }
    fn load_public(&mut self, public: &[u8]) -> u32 {
        let mut p = hex("0000");
        p.extend(tpm2b(public));
        p.extend(hex("40000007"));
        let r = self.raw(0x167, &[], false, &p);
        assert_eq!(rc(&r), 0, "LoadExternal");
        u32::from_be_bytes(r[10..14].try_into().unwrap())
    }
    fn sign(&mut self, h: u32, digest: &[u8], scheme: &[u8]) -> Result<Vec<u8>, u32> {
        let mut p = tpm2b(digest);
        p.extend_from_slice(scheme);
        p.extend(hex("8024 40000007 0000"));
        let mut r = self.raw(0x15d, &[h], true, &p);
        // libtpms may answer TPM_RC_RETRY (its ECDSA on BN_P256 draws a nonce that can fail).
        for _ in 0..5 {
            if rc(&r) != 0x922 {
                break;
            }
            r = self.raw(0x15d, &[h], true, &p);
        }
        match rc(&r) {
            0 => Ok(r[14..r.len() - 5].to_vec()),
            e => Err(e),
        }
    }
    fn verify(&mut self, h: u32, digest: &[u8], sig: &[u8]) -> u32 {
        let mut p = tpm2b(digest);
        p.extend_from_slice(sig);
        rc(&self.raw(0x177, &[h], false, &p))
    }
    fn commit(&mut self, h: u32, p1: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>, u16) {
        self.commit_p2(h, p1, b"", b"")
    }
    fn commit_p2(
        &mut self,
        h: u32,
        p1: &[u8],
        s2: &[u8],
        y2: &[u8],
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>, u16) {
        let mut p = p1.to_vec();
        p.extend(tpm2b(s2));
        p.extend(tpm2b(y2));
        let r = self.ok(0x18b, &[h], true, &p, false);
        let mut rd = Rd(&r);
        let (k, l, e) = (rd.b2().to_vec(), rd.b2().to_vec(), rd.b2().to_vec());
        (k, l, e, u16::from_be_bytes([rd.0[0], rd.0[1]]))
    }
}

/// A byte reader for TPM2B fields.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn b2(&mut self) -> &'a [u8] {
        let n = usize::from(u16::from_be_bytes([self.0[0], self.0[1]]));
        let v = &self.0[2..2 + n];
        self.0 = &self.0[2 + n..];
        v
    }
}

/// `unique` of a TPM2B_PUBLIC's content for the ECC templates above: (x, y).
fn ecc_unique(public: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // type, nameAlg, attributes, authPolicy (empty), symmetric NULL, scheme, curve, kdf NULL.
    let scheme_len = match u16::from_be_bytes([public[12], public[13]]) {
        0x001a => 6,
        _ => 4,
    };
    let mut rd = Rd(&public[12 + scheme_len + 4..]);
    (rd.b2().to_vec(), rd.b2().to_vec())
}

fn p256_scalar(v: &[u8]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(v))
}

fn p256_point(x: &[u8], y: &[u8]) -> ProjectivePoint {
    let ep = EncodedPoint::from_affine_coordinates(
        FieldBytes::from_slice(x),
        FieldBytes::from_slice(y),
        false,
    );
    ProjectivePoint::from(AffinePoint::from_encoded_point(&ep).unwrap())
}

/// A point from a TPM2B_ECC_POINT's content.
fn p256_point_2b(v: &[u8]) -> ProjectivePoint {
    let mut rd = Rd(v);
    p256_point(rd.b2(), rd.b2())
}

/// `[s]B = R + [T]K` on P-256 for an ECDAA signature (TPMT_SIGNATURE bytes), T = H(nonceK ‖
/// digest): with B = G, R = E, K = Q, or B = P2, R = L, K = Commit's K.
fn ecdaa_relation(
    sig: &[u8],
    base: ProjectivePoint,
    r: ProjectivePoint,
    k: ProjectivePoint,
    digest: &[u8],
) -> bool {
    assert_eq!(&sig[..4], &hex("001a 000b"));
    let mut rd = Rd(&sig[4..]);
    let (nonce_k, s) = (rd.b2(), rd.b2());
    let t = sha256(&[nonce_k, digest]);
    base * p256_scalar(s) == r + k * p256_scalar(&t)
}

/// `[s]G = E + [T]Q` on P-256.
fn ecdaa_holds(sig: &[u8], e: &[u8], q: &(Vec<u8>, Vec<u8>), digest: &[u8]) -> bool {
    let g = ProjectivePoint::GENERATOR;
    ecdaa_relation(sig, g, p256_point_2b(e), p256_point(&q.0, &q.1), digest)
}

/// A basename `s2` whose `SHA-256(s2)` (below p for these inputs) is the x of a P-256
/// point, and that point's `y2`.
fn p256_basename() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    for i in 0u32.. {
        let s2 = format!("basename {i}").into_bytes();
        let x2 = sha256(&[&s2]);
        let pt: Option<AffinePoint> =
            AffinePoint::decompress(FieldBytes::from_slice(&x2), 0.into()).into();
        if let Some(pt) = pt {
            let ep = pt.to_encoded_point(false);
            return (s2, x2, ep.y().unwrap().to_vec());
        }
    }
    unreachable!()
}

/// A BN_P256 ECDSA signature by `signer` verifies on `verifier` (and not for another digest).
fn ecdsa_cross(signer: &mut Tpm, verifier: &mut Tpm, name: &str) {
    let digest = sha256(&[b"bn ecdsa"]);
    let (h, public) = signer.create_primary(ECDSA_BN);
    let sig = signer.sign(h, &digest, &hex("0018 000b")).unwrap();
    let ext = verifier.load_public(&public);
    assert_eq!(verifier.verify(ext, &digest, &sig), 0, "{name} signature");
    let other = sha256(&[b"other"]);
    assert_ne!(
        verifier.verify(ext, &other, &sig),
        0,
        "{name} signature, other digest"
    );
    signer.ok(0x165, &[], false, &h.to_be_bytes(), false);
    verifier.ok(0x165, &[], false, &ext.to_be_bytes(), false);
}

/// ECDH_KeyGen on `keygen` with `owner`'s BN_P256 key: `owner`'s ECDH_ZGen of the ephemeral
/// point is KeyGen's Z.
fn ecdh_cross(keygen: &mut Tpm, owner: &mut Tpm, name: &str) {
    let (h, public) = owner.create_primary(ECDH_BN);
    let ext = keygen.load_public(&public);
    let r = keygen.ok(0x163, &[ext], false, &[], false);
    let mut rd = Rd(&r);
    let (z, qe) = (rd.b2().to_vec(), rd.b2().to_vec());
    let zgen = owner.ok(0x154, &[h], true, &tpm2b(&qe), false);
    assert_eq!(Rd(&zgen).b2(), &z[..], "Z of {name} KeyGen");
    owner.ok(0x165, &[], false, &h.to_be_bytes(), false);
    keygen.ok(0x165, &[], false, &ext.to_be_bytes(), false);
}

#[test]
fn bn_p256_and_ecdaa_match_swtpm() {
    if Command::new("swtpm").arg("--version").output().is_err() {
        println!("SKIPPED: swtpm not found (apt-get install swtpm)");
        return;
    }
    let ours_dir = tempfile::tempdir().unwrap();
    let theirs_dir = tempfile::tempdir().unwrap();
    let v = start_tcp(ours_dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let s = start_swtpm(theirs_dir.path());
    let mut ours = Tpm(connect(v.port));
    let mut theirs = Tpm(connect(s.port));

    // ECC_Parameters(BN_P256): the same bytes.
    let a = ours.raw(0x178, &[], false, &hex("0010"));
    let b = theirs.raw(0x178, &[], false, &hex("0010"));
    assert_eq!(rc(&a), 0);
    assert_eq!(a, b, "ECC_Parameters(BN_P256)");

    // BN_P256 ECDSA: each side's signature verifies on the other side.
    ecdsa_cross(&mut ours, &mut theirs, "ours");
    ecdsa_cross(&mut theirs, &mut ours, "theirs");
    // BN_P256 ECDH: KeyGen against the other side's key; that side's ZGen gives the same Z.
    ecdh_cross(&mut ours, &mut theirs, "ours");
    ecdh_cross(&mut theirs, &mut ours, "theirs");

    // Commit + ECDAA Sign (P-256 and BN_P256 keys): same structure; P-256 math checked.
    let empty_point = hex("0004 0000 0000");
    for tmpl in [ECDAA_P256, ECDAA_BN] {
        let mut shapes = Vec::new();
        for t in [&mut ours, &mut theirs] {
            let (h, public) = t.create_primary(tmpl);
            let q = ecc_unique(&public);
            let (k, l, e, c0) = t.commit(h, &empty_point);
            let (_, _, e1, c1) = t.commit(h, &empty_point);
            let digest = sha256(&[b"ecdaa"]);
            let mut sch = hex("001a 000b");
            sch.extend_from_slice(&c0.to_be_bytes());
            let sig = t.sign(h, &digest, &sch).unwrap();
            if tmpl == ECDAA_P256 {
                assert!(ecdaa_holds(&sig, &e, &q, &digest), "ECDAA relation");
            }
            // A spent commitment: the same response code on both.
            let spent = t.sign(h, &digest, &sch).unwrap_err();
            sch[4..].copy_from_slice(&c1.to_be_bytes());
            let sig1 = t.sign(h, &digest, &sch).unwrap();
            if tmpl == ECDAA_P256 {
                assert!(ecdaa_holds(&sig1, &e1, &q, &digest), "ECDAA relation");
            }
            t.ok(0x165, &[], false, &h.to_be_bytes(), false);
            shapes.push((
                c0,
                k,
                l,
                e.len(),
                c1.wrapping_sub(c0),
                spent,
                sig[..4].to_vec(),
                sig.len(),
            ));
        }
        assert_eq!(shapes[0], shapes[1], "Commit/Sign shape, template {tmpl}");
        // K and L are empty points: two empty coordinates.
        let no_coords = hex("0000 0000");
        assert_eq!((&shapes[0].1, &shapes[0].2), (&no_coords, &no_coords));
    }

    // Commit with P1 = G and a basename (P2 = (SHA-256(s2) mod p, y2)) on a P-256 key: both
    // TPMs accept P2 and their K, L, E satisfy [s]P2 = L + [T]K and [s]G = E + [T]Q.
    let (s2, x2, y2) = p256_basename();
    let p2 = p256_point(&x2, &y2);
    let g = ProjectivePoint::GENERATOR
        .to_affine()
        .to_encoded_point(false);
    let mut p1 = tpm2b(g.x().unwrap());
    p1.extend(tpm2b(g.y().unwrap()));
    let p1 = tpm2b(&p1);
    for (t, name) in [(&mut ours, "ours"), (&mut theirs, "theirs")] {
        let (h, public) = t.create_primary(ECDAA_P256);
        let q = ecc_unique(&public);
        let (k, l, e, c) = t.commit_p2(h, &p1, &s2, &y2);
        let digest = sha256(&[b"basename signature"]);
        let mut sch = hex("001a 000b");
        sch.extend_from_slice(&c.to_be_bytes());
        let sig = t.sign(h, &digest, &sch).unwrap();
        let (k, l) = (p256_point_2b(&k), p256_point_2b(&l));
        assert!(
            ecdaa_relation(&sig, p2, l, k, &digest),
            "{name}: [s]P2 = L + [T]K"
        );
        assert!(
            ecdaa_holds(&sig, &e, &q, &digest),
            "{name}: [s]G = E + [T]Q"
        );
        t.ok(0x165, &[], false, &h.to_be_bytes(), false);
    }
    drop(v);
    drop(s);
}
