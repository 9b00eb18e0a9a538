//! Protection of a child's sensitive area by its storage parent (Part 1, 22 "Protected Storage"
//! and 23 "Protected Storage Hierarchy"): inner TPM2B_SENSITIVE, symmetric encryption with
//! `KDFa(parentNameAlg, seedValue, "STORAGE", name, NULL, keyBits)` (AES-CFB), outer HMAC keyed
//! with `KDFa(parentNameAlg, seedValue, "INTEGRITY", NULL, NULL, bits)` over `encSensitive ||
//! name`. A `TPM2B_PRIVATE` is `TPM2B outerHMAC || TPM2B iv || encrypted`, with a random IV,
//! as the reference `ProduceOuterWrap(useIV = TRUE)` and libtpms write it; blobs of the first
//! tl-vtpm releases (zero IV, no IV field) still load: the HMAC covers the same bytes in both
//! layouts, and the one whose decryption parses is taken. An RSA key's sensitive part in the
//! blob is its prime p (as in libtpms); the PKCS#8 form of earlier blobs still loads.

use super::Object;
use crate::crypto::{ct_eq, hmac, kdf::kdfa, sym};
use tpm_proto::object::TpmtSensitive;
use tpm_proto::*;

/// Keys derived from a protection seed: `(symKey, hmacKey)`.
pub fn keys(
    name_alg: u16,
    seed: &[u8],
    name: &[u8],
    key_bits: u16,
) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let bits = digest_size(name_alg).ok_or(TPM_RC_HASH)? as u32 * 8;
    let k = kdfa(name_alg, seed, b"STORAGE", name, &[], u32::from(key_bits)).ok_or(TPM_RC_HASH)?;
    let h = kdfa(name_alg, seed, b"INTEGRITY", &[], &[], bits).ok_or(TPM_RC_HASH)?;
    Ok((k, h))
}

/// Encrypts and HMACs `plain` (a marshaled TPM2B): `TPM2B(outerHMAC) || encrypted`.
pub fn seal(
    name_alg: u16,
    seed: &[u8],
    name: &[u8],
    key_bits: u16,
    plain: &[u8],
) -> Result<Vec<u8>, u32> {
    let (k, h) = keys(name_alg, seed, name, key_bits)?;
    let mut enc = plain.to_vec();
    sym::cfb_encrypt(&k, &[0; 16], &mut enc).ok_or(TPM_RC_SYMMETRIC)?;
    let tag = hmac(name_alg, &h, &[&enc, name]).ok_or(TPM_RC_HASH)?;
    let mut out = Vec::with_capacity(enc.len() + 66);
    out.put_tpm2b(tag.as_ref());
    out.extend_from_slice(&enc);
    Ok(out)
}

/// Checks the outer HMAC and decrypts: the inner marshaled TPM2B. `TPM_RC_INTEGRITY` on a bad
/// HMAC.
pub fn open(
    name_alg: u16,
    seed: &[u8],
    name: &[u8],
    key_bits: u16,
    blob: &[u8],
) -> Result<Vec<u8>, u32> {
    let (k, h) = keys(name_alg, seed, name, key_bits)?;
    let mut r = Reader::new(blob);
    let tag = r.tpm2b(64).map_err(|_| TPM_RC_SIZE)?;
    let enc = r.rest();
    let want = hmac(name_alg, &h, &[enc, name]).ok_or(TPM_RC_HASH)?;
    if !ct_eq(tag, want.as_ref()) {
        return Err(TPM_RC_INTEGRITY);
    }
    let mut plain = enc.to_vec();
    sym::cfb_decrypt(&k, &[0; 16], &mut plain).ok_or(TPM_RC_SYMMETRIC)?;
    Ok(plain)
}

fn parent_params(parent: &Object) -> Result<(&[u8], u16), u32> {
    let seed = parent
        .sensitive
        .as_ref()
        .map(|s| &s.seed_value[..])
        .filter(|s| !s.is_empty())
        .ok_or(TPM_RC_TYPE)?;
    Ok((seed, parent.public.symmetric().key_bits))
}

/// `TPM2B_PRIVATE` content for `sens` of the object named `name` under `parent`:
/// `TPM2B(outerHMAC) || TPM2B(iv) || AES-CFB_iv(TPM2B(TPMT_SENSITIVE))`.
pub fn wrap(parent: &Object, name: &[u8], sens: &TpmtSensitive) -> Result<Vec<u8>, u32> {
    let (seed, bits) = parent_params(parent)?;
    let alg = parent.public.name_alg;
    let (k, h) = keys(alg, seed, name, bits)?;
    let mut inner = Vec::new();
    // An RSA key goes in the spec's form, its prime p (Load completes the key again).
    let prime = (sens.sensitive_type == TPM_ALG_RSA)
        .then(|| crate::crypto::rsa::prime_of(&sens.sensitive))
        .flatten();
    match prime {
        Some(p) => TpmtSensitive {
            sensitive: p,
            ..sens.clone()
        }
        .write(&mut inner),
        None => sens.write(&mut inner),
    }
    let mut iv = [0u8; 16];
    crate::crypto::random(&mut iv).map_err(|()| TPM_RC_FAILURE)?;
    let mut enc = Vec::with_capacity(inner.len() + 20);
    enc.put_tpm2b(&iv);
    enc.put_tpm2b(&inner);
    sym::cfb_encrypt(&k, &iv, &mut enc[18..]).ok_or(TPM_RC_SYMMETRIC)?;
    let tag = hmac(alg, &h, &[&enc, name]).ok_or(TPM_RC_HASH)?;
    let mut out = Vec::with_capacity(enc.len() + 66);
    out.put_tpm2b(tag.as_ref());
    out.extend_from_slice(&enc);
    Ok(out)
}

/// A decrypted `TPM2B(TPMT_SENSITIVE)`, if it is exactly one.
fn parse_inner(plain: &[u8]) -> Option<TpmtSensitive> {
    let mut r = Reader::new(plain);
    let inner = r.tpm2b(u16::MAX as usize).ok()?;
    r.finish().ok()?;
    let mut ir = Reader::new(inner);
    let s = TpmtSensitive::read(&mut ir).ok()?;
    ir.finish().ok()?;
    Some(s)
}

/// Inverse of [`wrap`]; also opens the older layout without an IV field (zero IV).
/// `TPM_RC_INTEGRITY` on a bad HMAC, `TPM_RC_SENSITIVE` if neither layout decrypts to one
/// `TPM2B(TPMT_SENSITIVE)`.
pub fn unwrap(parent: &Object, name: &[u8], private: &[u8]) -> Result<TpmtSensitive, u32> {
    let (seed, bits) = parent_params(parent)?;
    let alg = parent.public.name_alg;
    let (k, h) = keys(alg, seed, name, bits)?;
    let mut r = Reader::new(private);
    let tag = r.tpm2b(64).map_err(|_| TPM_RC_SIZE)?;
    // The HMAC covers everything after it: the same bytes in both layouts.
    let rest = r.rest();
    let want = hmac(alg, &h, &[rest, name]).ok_or(TPM_RC_HASH)?;
    if !ct_eq(tag, want.as_ref()) {
        return Err(TPM_RC_INTEGRITY);
    }
    if let Some((iv, enc)) = rest
        .strip_prefix(&[0, 16])
        .and_then(|b| b.split_first_chunk::<16>())
    {
        let mut plain = enc.to_vec();
        sym::cfb_decrypt(&k, iv, &mut plain).ok_or(TPM_RC_SYMMETRIC)?;
        if let Some(s) = parse_inner(&plain) {
            return Ok(s);
        }
    }
    let mut plain = rest.to_vec();
    sym::cfb_decrypt(&k, &[0; 16], &mut plain).ok_or(TPM_RC_SYMMETRIC)?;
    parse_inner(&plain).ok_or(TPM_RC_SENSITIVE)
}
