//! TPM2_Commit (Part 3, 19.2) and the TPM half of an ECDAA signature (Part 1, C.4 "ECDAA";
//! reference `CryptEccCommitCompute`, `BnSignEcdaa`): Commit returns `K = [d]P2`, `L = [r]P2`,
//! `E = [r]P1` (or `E = [r]G` without P1 and P2) for the ephemeral scalar `r` of a new
//! commitment; Sign with scheme ECDAA and that commitment's count uses `r` once for
//! `(nonceK, s = r + H(nonceK ‖ digest)·d mod n)`. The commitments are the ones EC_Ephemeral
//! uses (`super::ecdh::Commit`).

use crate::Tpm;
use crate::crypto::ecc::{self, Curve};
use crate::crypto::hash;
use crate::dispatch::{Ctx, param};
use crate::object::{Object, TPM_RC_NO_RESULT};
use tpm_proto::attest::TpmtSignature;
use tpm_proto::object::{MAX_ECC_KEY_BYTES, PublicParms, TpmtScheme};
use tpm_proto::*;

/// `MAX_SYM_DATA`: bound of `TPM2B_SENSITIVE_DATA` (Part 2, 11.1.14).
const MAX_SYM_DATA: usize = 128;

/// An affine point as big-endian coordinates.
type Point = (Vec<u8>, Vec<u8>);

/// Reads the optional `TPM2B_ECC_POINT` P1 (parameter 1): absent when both coordinates are
/// empty (size 4, the reference's `P1.size > 4` test). Size 0 is TPM_RC_SIZE, as every
/// `TPM2B_ECC_POINT` in libtpms' unmarshaling.
fn read_p1(ctx: &mut Ctx<'_>) -> Result<Option<Point>, u32> {
    let b = param(1, ctx.params.tpm2b(usize::from(u16::MAX)))?;
    if b.is_empty() {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let mut r = Reader::new(b);
    let x = param(1, r.tpm2b(MAX_ECC_KEY_BYTES))?.to_vec();
    let y = param(1, r.tpm2b(MAX_ECC_KEY_BYTES))?.to_vec();
    r.finish().map_err(|_| rc_param(TPM_RC_SIZE, 1))?;
    Ok((b.len() > 4).then_some((x, y)))
}

/// Appends a `TPM2B_ECC_POINT`; `None` is the empty point (two empty coordinates).
fn put_point(out: &mut Vec<u8>, p: Option<&Point>) {
    let (x, y) = p.map_or((&[][..], &[][..]), |(x, y)| (&x[..], &y[..]));
    let mut b = Vec::with_capacity(4 + x.len() + y.len());
    b.put_tpm2b(x);
    b.put_tpm2b(y);
    out.put_tpm2b(&b);
}

/// `k · Q` (`k · G` for `None`); the point at infinity is TPM_RC_NO_RESULT.
fn mul(c: Curve, k: &[u8], q: Option<&Point>) -> Result<Point, u32> {
    ecc::point_mul(c, k, q.map(|(x, y)| (&x[..], &y[..]))).map_err(|rc| match rc {
        TPM_RC_KEY | TPM_RC_ECC_POINT => TPM_RC_NO_RESULT,
        rc => rc,
    })
}

/// The key at handle 1 if it is an ECC key with an anonymous (ECDAA) scheme.
fn ecdaa_key(tpm: &Tpm, h: u32) -> Result<(Object, Curve), u32> {
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let PublicParms::Ecc { curve_id, .. } = o.public.parameters else {
        return Err(rc_handle(TPM_RC_KEY, 1));
    };
    if o.public.scheme().scheme != TPM_ALG_ECDAA {
        return Err(rc_handle(TPM_RC_SCHEME, 1));
    }
    let c = Curve::from_id(curve_id).ok_or(rc_handle(TPM_RC_KEY, 1))?;
    Ok((o.clone(), c))
}

/// TPM2_Commit (Part 3, 19.2): the first phase of an anonymous (ECDAA) signature.
pub fn commit(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let p1 = read_p1(ctx)?;
    let s2 = param(2, ctx.params.tpm2b(MAX_SYM_DATA))?.to_vec();
    let y2 = param(3, ctx.params.tpm2b(MAX_ECC_KEY_BYTES))?.to_vec();
    ctx.end()?;
    let (o, c) = ecdaa_key(tpm, ctx.handles[0])?;
    if s2.is_empty() != y2.is_empty() {
        return Err(rc_param(TPM_RC_SIZE, 3));
    }
    let r = tpm.commit.scalar(c, tpm.commit.counter)?;
    // P2 = (H_nameAlg(s2) mod p, y2), a point the caller derived from the basename s2.
    let p2 = if s2.is_empty() {
        None
    } else {
        let h = hash(o.public.name_alg, &[&s2]).ok_or(rc_handle(TPM_RC_HASH, 1))?;
        let x2 = ecc::mod_prime(c, h.as_ref());
        if !ecc::on_curve(c, &x2, &y2) {
            return Err(rc_param(TPM_RC_ECC_POINT, 2));
        }
        Some((x2, y2))
    };
    let d = match (&p2, &o.sensitive) {
        (None, _) => None,
        (Some(_), Some(s)) => Some(&s.sensitive[..]),
        (Some(_), None) => return Err(rc_handle(TPM_RC_KEY, 1)),
    };
    if let Some((x, y)) = &p1
        && !ecc::on_curve(c, x, y)
    {
        return Err(rc_param(TPM_RC_ECC_POINT, 1));
    }
    let (k, l) = match (&p2, d) {
        (Some(p2), Some(d)) => (Some(mul(c, d, Some(p2))?), Some(mul(c, &r, Some(p2))?)),
        _ => (None, None),
    };
    let e = match (&p1, &p2) {
        (Some(p1), _) => Some(mul(c, &r, Some(p1))?),
        (None, None) => Some(mul(c, &r, None)?),
        (None, Some(_)) => None,
    };
    let counter = tpm.commit.commit();
    put_point(out, k.as_ref());
    put_point(out, l.as_ref());
    put_point(out, e.as_ref());
    out.put_u16(counter);
    Ok(())
}

/// The ECDAA signature of `digest` with commitment `scheme.count` (TPM2_Sign): TPM_RC_VALUE
/// (no parameter, as the reference's `CryptSign`) if that commitment is not outstanding.
pub(super) fn ecdaa_sign(
    tpm: &mut Tpm,
    o: &Object,
    scheme: TpmtScheme,
    digest: &[u8],
) -> Result<TpmtSignature, u32> {
    let PublicParms::Ecc { curve_id, .. } = o.public.parameters else {
        return Err(TPM_RC_SCHEME);
    };
    let c = Curve::from_id(curve_id).ok_or(TPM_RC_CURVE)?;
    let d = &o
        .sensitive
        .as_ref()
        .ok_or(rc_handle(TPM_RC_KEY, 1))?
        .sensitive;
    let full = tpm.commit.lookup(scheme.count).ok_or(TPM_RC_VALUE)?;
    let r = tpm.commit.scalar(c, full)?;
    let nonce_k = ecc::random_scalar(c)?;
    let t = hash(scheme.hash, &[&nonce_k, digest]).ok_or(TPM_RC_SCHEME)?;
    let s = ecc::ecdaa_s(c, &r, t.as_ref(), d);
    tpm.commit.end(full);
    Ok(TpmtSignature::Ecc {
        sig_alg: TPM_ALG_ECDAA,
        hash: scheme.hash,
        r: nonce_k,
        s,
    })
}
