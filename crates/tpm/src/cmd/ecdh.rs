//! ECC point commands (Part 3, 14.4 ECDH_KeyGen, 14.5 ECDH_ZGen, 14.6 ECC_Parameters,
//! 14.7 ZGen_2Phase, 19.3 EC_Ephemeral) and the commit state that links EC_Ephemeral to
//! ZGen_2Phase (Part 1, C.2.3 "Commit counter"; reference `CryptGenerateR`/`CryptCommit`).

use crate::Tpm;
use crate::crypto::ecc::{self, Curve};
use crate::crypto::kdf::kdfa;
use crate::dispatch::{Ctx, param};
use crate::object::{Object, TPM_RC_NO_RESULT};
use tpm_proto::object::{MAX_ECC_KEY_BYTES, PublicId, PublicParms};
use tpm_proto::*;

/// Bits of `commitArray` (`COMMIT_INDEX_MASK + 1`, 128 as in libtpms): a commitment older
/// than this many later ones can no longer be used.
const COMMIT_SLOTS: u64 = 128;

/// The commit state (reference `gr.commitNonce`, `commitCounter`, `commitArray`): the
/// ephemeral scalar of commitment `c` is `KDFa(SHA-256, nonce, "ECDAA Commit", [i]32, c)`
/// (first `i` giving a valid scalar), so it is recomputed from the counter instead of stored,
/// and each commitment can be used once. Kept in memory: new at TPM Reset and when the engine
/// is rebuilt from its blobs (a commitment does not outlive the process, so ZGen_2Phase then
/// refuses its counter with TPM_RC_VALUE, the same answer as for a used one).
pub struct Commit {
    nonce: [u8; 32],
    pub(super) counter: u64,
    array: u128,
}

impl Commit {
    /// A fresh state: random nonce, counter 0, no commitments.
    pub fn new() -> Commit {
        let mut nonce = [0u8; 32];
        nonce.copy_from_slice(&crate::crypto::secret()[..32]);
        Commit {
            nonce,
            counter: 0,
            array: 0,
        }
    }

    /// The ephemeral scalar of commitment `count` on `curve`.
    pub(super) fn scalar(&self, curve: Curve, count: u64) -> Result<Vec<u8>, u32> {
        for i in 1u32..=16 {
            let r = kdfa(
                TPM_ALG_SHA256,
                &self.nonce,
                b"ECDAA Commit",
                &i.to_be_bytes(),
                &count.to_be_bytes(),
                (curve.size() * 8) as u32,
            )
            .ok_or(TPM_RC_FAILURE)?;
            if ecc::scalar_ok(curve, &r) {
                return Ok(r);
            }
        }
        Err(TPM_RC_NO_RESULT)
    }

    /// Records a commitment at the current counter and returns its 16-bit value.
    pub(super) fn commit(&mut self) -> u16 {
        let c = self.counter;
        self.array |= 1 << (c % COMMIT_SLOTS);
        self.counter = c.wrapping_add(1);
        c as u16
    }

    /// The full counter of the outstanding commitment whose low 16 bits are `c`: one of the
    /// last [`COMMIT_SLOTS`] made and not used yet.
    pub(super) fn lookup(&self, c: u16) -> Option<u64> {
        let back = u64::from((self.counter as u16).wrapping_sub(c));
        if back == 0 || back > COMMIT_SLOTS || back > self.counter {
            return None;
        }
        let full = self.counter - back;
        (self.array & (1 << (full % COMMIT_SLOTS)) != 0).then_some(full)
    }

    /// Marks commitment `full` as used.
    pub(super) fn end(&mut self, full: u64) {
        self.array &= !(1 << (full % COMMIT_SLOTS));
    }
}

impl Default for Commit {
    fn default() -> Self {
        Commit::new()
    }
}

/// Reads a `TPM2B_ECC_POINT` as parameter `n` (an empty one is `TPM_RC_SIZE`, and the size
/// must match its two coordinates exactly).
fn read_point(ctx: &mut Ctx<'_>, n: u32) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let b = param(n, ctx.params.tpm2b(usize::from(u16::MAX)))?;
    if b.is_empty() {
        return Err(rc_param(TPM_RC_SIZE, n));
    }
    let mut r = Reader::new(b);
    let x = param(n, r.tpm2b(MAX_ECC_KEY_BYTES))?.to_vec();
    let y = param(n, r.tpm2b(MAX_ECC_KEY_BYTES))?.to_vec();
    r.finish().map_err(|_| rc_param(TPM_RC_SIZE, n))?;
    Ok((x, y))
}

/// Appends a `TPM2B_ECC_POINT`.
fn put_point(out: &mut Vec<u8>, (x, y): &(Vec<u8>, Vec<u8>)) {
    let mut p = Vec::with_capacity(4 + x.len() + y.len());
    p.put_tpm2b(x);
    p.put_tpm2b(y);
    out.put_tpm2b(&p);
}

/// Reads a `TPMI_ECC_CURVE` as parameter `n`: an implemented curve, else `TPM_RC_CURVE`.
fn read_curve(ctx: &mut Ctx<'_>, n: u32) -> Result<Curve, u32> {
    let id = param(n, ctx.params.u16())?;
    Curve::from_id(id).ok_or(rc_param(TPM_RC_CURVE, n))
}

/// The ECC key at handle 1 and its curve (`TPM_RC_KEY` otherwise).
fn ecc_key(tpm: &Tpm, h: u32) -> Result<(Object, Curve), u32> {
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let PublicParms::Ecc { curve_id, .. } = o.public.parameters else {
        return Err(rc_handle(TPM_RC_KEY, 1));
    };
    let c = Curve::from_id(curve_id).ok_or(rc_handle(TPM_RC_KEY, 1))?;
    Ok((o.clone(), c))
}

/// An unrestricted decryption key's private scalar (ECDH_ZGen, ZGen_2Phase).
fn decrypt_scalar(o: &Object) -> Result<&[u8], u32> {
    if o.has(TPMA_OBJECT_RESTRICTED) || !o.has(TPMA_OBJECT_DECRYPT) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    o.sensitive
        .as_ref()
        .map(|s| &s.sensitive[..])
        .ok_or(rc_handle(TPM_RC_KEY, 1))
}

/// A format-one code gets parameter `n`; `TPM_RC_NO_RESULT` (format zero) stays as it is.
fn with_param(rc: u32, n: u32) -> u32 {
    if rc & RC_FMT1 != 0 {
        rc_param(rc, n)
    } else {
        rc
    }
}

/// TPM2_ECDH_KeyGen (Part 3, 14.4): an ephemeral key pair and `Z = d_e · Q_key`, the sender's
/// half of a one-pass ECDH with the key's public point (no authorization).
pub fn ecdh_keygen(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let (o, c) = ecc_key(tpm, ctx.handles[0])?;
    let PublicId::Ecc { x, y } = &o.public.unique else {
        return Err(rc_handle(TPM_RC_KEY, 1));
    };
    let (d, ex, ey) = ecc::generate(c)?;
    // A public point off the curve (possible for LoadExternal'ed keys) makes the key bad.
    let z = ecc::point_mul(c, &d, Some((x, y))).map_err(|rc| match rc {
        TPM_RC_ECC_POINT => rc_handle(TPM_RC_KEY, 1),
        rc => rc,
    })?;
    put_point(out, &z);
    put_point(out, &(ex, ey));
    Ok(())
}

/// TPM2_ECDH_ZGen (Part 3, 14.5): `d_key · inPoint` for an unrestricted ECDH decryption key.
pub fn ecdh_zgen(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let (x, y) = read_point(ctx, 1)?;
    ctx.end()?;
    let (o, c) = ecc_key(tpm, ctx.handles[0])?;
    let d = decrypt_scalar(&o)?;
    if !matches!(o.public.scheme().scheme, TPM_ALG_ECDH | TPM_ALG_NULL) {
        return Err(rc_handle(TPM_RC_SCHEME, 1));
    }
    let z = ecc::point_mul(c, d, Some((&x, &y))).map_err(|rc| match rc {
        TPM_RC_KEY => rc_handle(TPM_RC_KEY, 1),
        rc => with_param(rc, 1),
    })?;
    put_point(out, &z);
    Ok(())
}

/// TPM2_ECC_Parameters (Part 3, 14.6): `TPMS_ALGORITHM_DETAIL_ECC` of an implemented curve,
/// with the KDF and signing scheme libtpms reports (KDF1_SP800_56A with the curve's hash for
/// the NIST curves, none for BN_P256; no scheme) and the cofactor 1.
pub fn ecc_parameters(_tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let c = read_curve(ctx, 1)?;
    ctx.end()?;
    let (id, hash) = match c {
        Curve::P256 => (TPM_ECC_NIST_P256, Some(TPM_ALG_SHA256)),
        Curve::P384 => (TPM_ECC_NIST_P384, Some(TPM_ALG_SHA384)),
        Curve::BnP256 => (TPM_ECC_BN_P256, None),
    };
    out.put_u16(id);
    out.put_u16((c.size() * 8) as u16);
    if let Some(hash) = hash {
        out.put_u16(TPM_ALG_KDF1_SP800_56A);
        out.put_u16(hash);
    } else {
        out.put_u16(TPM_ALG_NULL);
    }
    out.put_u16(TPM_ALG_NULL);
    for v in ecc::domain(c) {
        out.put_tpm2b(&ecc::unhex(v));
    }
    out.put_tpm2b(&[1]);
    Ok(())
}

/// TPM2_EC_Ephemeral (Part 3, 19.3): `Q = r · G` for the ephemeral scalar of a new
/// commitment, and the commitment's counter for ZGen_2Phase.
pub fn ec_ephemeral(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let c = read_curve(ctx, 1)?;
    ctx.end()?;
    let r = tpm.commit.scalar(c, tpm.commit.counter)?;
    let q = ecc::point_mul(c, &r, None)?;
    let counter = tpm.commit.commit();
    put_point(out, &q);
    out.put_u16(counter);
    Ok(())
}

/// TPM2_ZGen_2Phase (Part 3, 14.7), scheme ECDH only (SP 800-56A C(2e, 2s, ECC CDH)):
/// `Z1 = d_sA · QsB`, `Z2 = r · QeB` with `r` the ephemeral scalar of commitment `counter`,
/// which is used up on success. ECMQV and SM2 are not implemented (TPM_RC_SCHEME).
pub fn zgen_2phase(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let qs = read_point(ctx, 1)?;
    let qe = read_point(ctx, 2)?;
    let in_scheme = param(3, ctx.params.u16())?;
    if !matches!(in_scheme, TPM_ALG_ECDH | TPM_ALG_NULL) {
        return Err(rc_param(TPM_RC_SCHEME, 3));
    }
    let counter = param(4, ctx.params.u16())?;
    ctx.end()?;
    let (o, c) = ecc_key(tpm, ctx.handles[0])?;
    if o.has(TPMA_OBJECT_RESTRICTED) || !o.has(TPMA_OBJECT_DECRYPT) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let scheme = match o.public.scheme().scheme {
        TPM_ALG_NULL => in_scheme,
        s if s == in_scheme => s,
        _ => return Err(rc_param(TPM_RC_SCHEME, 3)),
    };
    if scheme != TPM_ALG_ECDH {
        return Err(rc_param(TPM_RC_SCHEME, 3));
    }
    if !ecc::on_curve(c, &qs.0, &qs.1) {
        return Err(rc_param(TPM_RC_ECC_POINT, 1));
    }
    if !ecc::on_curve(c, &qe.0, &qe.1) {
        return Err(rc_param(TPM_RC_ECC_POINT, 2));
    }
    let full = tpm
        .commit
        .lookup(counter)
        .ok_or(rc_param(TPM_RC_VALUE, 4))?;
    let r = tpm.commit.scalar(c, full)?;
    let ds = decrypt_scalar(&o)?;
    let z1 = ecc::point_mul(c, ds, Some((&qs.0, &qs.1)))?;
    let z2 = ecc::point_mul(c, &r, Some((&qe.0, &qe.1)))?;
    tpm.commit.end(full);
    put_point(out, &z1);
    put_point(out, &z2);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_are_single_use_and_expire() {
        let mut c = Commit::new();
        assert_eq!(c.lookup(0), None);
        let first = c.commit();
        assert_eq!(first, 0);
        assert_eq!(c.lookup(0), Some(0));
        assert_eq!(c.lookup(1), None, "not issued yet");
        c.end(0);
        assert_eq!(c.lookup(0), None, "used");
        // 128 later commitments push the oldest out of the window.
        let second = c.commit();
        for _ in 0..127 {
            c.commit();
        }
        assert_eq!(c.lookup(second), Some(1));
        c.commit();
        assert_eq!(c.lookup(second), None, "expired");
        // The scalar depends on the counter and is a valid one.
        let a = c.scalar(Curve::P256, 5).unwrap();
        assert!(ecc::scalar_ok(Curve::P256, &a));
        assert_ne!(a, c.scalar(Curve::P256, 6).unwrap());
        assert_eq!(a, c.scalar(Curve::P256, 5).unwrap());
    }

    #[test]
    fn counter_wraps_at_16_bits() {
        let mut c = Commit::new();
        c.counter = 0xFFFF;
        assert_eq!(c.commit(), 0xFFFF);
        assert_eq!(c.commit(), 0);
        assert_eq!(c.lookup(0xFFFF), Some(0xFFFF));
        assert_eq!(c.lookup(0), Some(0x1_0000));
    }
}
