//! Duplication blobs (Part 1, 23.3 "Duplication"): the optional inner wrapper
//! (`CFB(innerKey, 0, TPM2B(H_nameAlg(sensitive || name)) || TPM2B_SENSITIVE)`), the optional
//! outer wrapper (the same HMAC-and-CFB protection as [`super::protect::seal`], keyed from a
//! seed shared with the new parent), and the conversion between this engine's sensitive
//! areas and the spec's (RSA: the prime p rather than a PKCS#8 document).

use super::protect;
use crate::crypto::{ct_eq, ecc, hash, rsa, sym};
use tpm_proto::object::{PublicId, PublicParms, TpmtPublic, TpmtSensitive, TpmtSymDef};
use tpm_proto::*;

/// The spec form of an internal sensitive area (for Duplicate's output).
pub fn to_spec(public: &TpmtPublic, s: &TpmtSensitive) -> Result<TpmtSensitive, u32> {
    let mut out = s.clone();
    if let PublicParms::Rsa { .. } = public.parameters {
        out.sensitive = rsa::padded_prime_of(&s.sensitive).ok_or(TPM_RC_FAILURE)?;
    }
    Ok(out)
}

/// The internal form of a spec sensitive area belonging to `public` (Import, LoadExternal):
/// RSA's prime p becomes a PKCS#8 document, an ECC scalar shorter than the curve is
/// left-padded. Errors are base codes (`TPM_RC_BINDING`, `TPM_RC_KEY`, `TPM_RC_TYPE`) for the
/// caller to attach to its parameter.
pub fn from_spec(public: &TpmtPublic, s: &TpmtSensitive) -> Result<TpmtSensitive, u32> {
    if s.sensitive_type != public.object_type {
        return Err(TPM_RC_TYPE);
    }
    let mut out = s.clone();
    match (&public.parameters, &public.unique) {
        (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) => {
            out.sensitive = rsa::from_prime(n, *exponent, &s.sensitive)?;
        }
        (PublicParms::Ecc { curve_id, .. }, _) => {
            let size = ecc::Curve::from_id(*curve_id).ok_or(TPM_RC_CURVE)?.size();
            if s.sensitive.len() < size {
                let mut d = vec![0u8; size - s.sensitive.len()];
                d.extend_from_slice(&s.sensitive);
                out.sensitive = d;
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Inner wrapper key size in bytes of a `TPMT_SYM_DEF_OBJECT` (AES-CFB only, as for storage
/// keys); `None` for any other definition.
pub fn inner_key_bytes(sym: &TpmtSymDef) -> Option<usize> {
    super::public::sym_ok(sym).then_some(usize::from(sym.key_bits / 8))
}

/// Applies the inner wrapper to a marshaled `TPM2B_SENSITIVE` (Part 1, 23.3.2.3).
pub fn inner_wrap(name_alg: u16, name: &[u8], key: &[u8], sens2b: &[u8]) -> Result<Vec<u8>, u32> {
    let integrity = hash(name_alg, &[sens2b, name]).ok_or(TPM_RC_HASH)?;
    let mut v = Vec::with_capacity(sens2b.len() + 66);
    v.put_tpm2b(integrity.as_ref());
    v.extend_from_slice(sens2b);
    sym::cfb_encrypt(key, &[0; 16], &mut v).ok_or(TPM_RC_SYMMETRIC)?;
    Ok(v)
}

/// Removes the inner wrapper: the marshaled `TPM2B_SENSITIVE`, `TPM_RC_INTEGRITY` if the inner
/// integrity does not match.
pub fn inner_unwrap(name_alg: u16, name: &[u8], key: &[u8], blob: &[u8]) -> Result<Vec<u8>, u32> {
    let mut v = blob.to_vec();
    sym::cfb_decrypt(key, &[0; 16], &mut v).ok_or(TPM_RC_SYMMETRIC)?;
    let dsize = digest_size(name_alg).ok_or(TPM_RC_HASH)?;
    let mut r = Reader::new(&v);
    // A wrong key decrypts to garbage: a size that does not match is an integrity failure.
    let tag = r.tpm2b(dsize).map_err(|_| TPM_RC_INTEGRITY)?;
    let sens2b = r.rest();
    let want = hash(name_alg, &[sens2b, name]).ok_or(TPM_RC_HASH)?;
    if tag.len() != dsize || !ct_eq(tag, want.as_ref()) {
        return Err(TPM_RC_INTEGRITY);
    }
    Ok(sens2b.to_vec())
}

/// Parses a marshaled `TPM2B_SENSITIVE` that must fill `b` exactly (`TPM_RC_SIZE` otherwise,
/// as the reference `DuplicateToSensitive`).
pub fn parse_sensitive_2b(b: &[u8]) -> Result<TpmtSensitive, u32> {
    let mut r = Reader::new(b);
    let inner = r.tpm2b(u16::MAX as usize).map_err(|_| TPM_RC_SIZE)?;
    r.finish().map_err(|_| TPM_RC_SIZE)?;
    let mut ir = Reader::new(inner);
    let s = TpmtSensitive::read(&mut ir).map_err(|e| e.rc())?;
    ir.finish().map_err(|_| TPM_RC_SIZE)?;
    Ok(s)
}

/// Marshals a `TPM2B_SENSITIVE`.
pub fn sensitive_2b(s: &TpmtSensitive) -> Vec<u8> {
    let mut inner = Vec::new();
    s.write(&mut inner);
    let mut v = Vec::with_capacity(inner.len() + 2);
    v.put_tpm2b(&inner);
    v
}

/// The outer wrapper under a new parent (`parent_alg` its nameAlg, `key_bits` its symmetric
/// key size): `TPM2B(outerHMAC) || CFB(…)`.
pub fn outer_wrap(
    parent_alg: u16,
    seed: &[u8],
    name: &[u8],
    key_bits: u16,
    data: &[u8],
) -> Result<Vec<u8>, u32> {
    protect::seal(parent_alg, seed, name, key_bits, data)
}

/// Removes the outer wrapper; `TPM_RC_INTEGRITY` on a bad outer HMAC.
pub fn outer_unwrap(
    parent_alg: u16,
    seed: &[u8],
    name: &[u8],
    key_bits: u16,
    blob: &[u8],
) -> Result<Vec<u8>, u32> {
    let dsize = digest_size(parent_alg).ok_or(TPM_RC_HASH)?;
    // The reference `UnwrapOuter` insists on a digest-sized HMAC before checking it.
    let mut r = Reader::new(blob);
    let tag = r.tpm2b(64).map_err(|_| TPM_RC_INSUFFICIENT)?;
    if tag.len() != dsize {
        return Err(TPM_RC_INTEGRITY);
    }
    protect::open(parent_alg, seed, name, key_bits, blob)
}
