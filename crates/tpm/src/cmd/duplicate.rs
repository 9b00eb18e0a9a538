//! Duplication commands (Part 3, 13 "Duplication Commands"): Duplicate, Rewrap, Import; the
//! blob formats are Part 1, 23.3 ([`crate::object::duplication`]).

use super::object::check_binding;
use crate::Tpm;
use crate::crypto::{ecc, kdf::kdfe, rsa};
use crate::dispatch::{Ctx, param};
use crate::object::duplication::{self as dup, inner_key_bytes};
use crate::object::{Object, name_of, protect, public};
use tpm_proto::object::{PublicId, PublicParms, TpmtPublic, TpmtSymDef};
use tpm_proto::*;

/// `TPM2B_DATA` bound (`sizeof(TPMT_HA)`, Part 2, 10.4.3).
const MAX_DATA: usize = 66;
/// The seed label of duplication (Part 1, 23.3.2.2, "DUPLICATE" with its NUL added by the KDF
/// or by the OAEP label).
const LABEL: &[u8] = b"DUPLICATE";

/// A base code (no handle/parameter/session number yet) gets parameter `n`; anything else
/// passes unchanged (the reference `RcSafeAddToResult`).
fn at_param(rc: u32, n: u32) -> u32 {
    if rc & RC_FMT1 != 0 && rc & (RC_P | RC_S | 0xF00) == 0 {
        rc_param(rc, n)
    } else {
        rc
    }
}

/// Validates a `TPMT_SYM_DEF_OBJECT+` inner-wrapper definition (parameter `n`): NULL, or AES
/// with 128/256-bit keys. The mode is not used (the inner wrapper is always CFB, as in the
/// reference implementation) but must be a block-cipher mode.
fn check_inner_sym(sym: &TpmtSymDef, n: u32) -> Result<Option<usize>, u32> {
    match sym.algorithm {
        TPM_ALG_NULL => Ok(None),
        TPM_ALG_AES => {
            if !matches!(sym.key_bits, 128 | 256) {
                return Err(rc_param(TPM_RC_VALUE, n));
            }
            // TPM_ALG_CTR, OFB, CBC, CFB, ECB.
            if !(0x40..=0x44).contains(&sym.mode) {
                return Err(rc_param(TPM_RC_MODE, n));
            }
            let cfb = TpmtSymDef {
                mode: TPM_ALG_CFB,
                ..*sym
            };
            Ok(inner_key_bytes(&cfb))
        }
        _ => Err(rc_param(TPM_RC_SYMMETRIC, n)),
    }
}

/// A storage parent (restricted decryption key with an AES symmetric definition); only its
/// public area is needed to wrap for it.
fn storage(tpm: &Tpm, h: u32, n: u32) -> Result<Object, u32> {
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, n))?;
    if !o.is_storage_parent() {
        return Err(rc_handle(TPM_RC_TYPE, n));
    }
    Ok(o.clone())
}

/// A fresh seed shared with `key` (Part 1, 11.4.10.? "Secret Sharing"): `(seed, secret)`;
/// RSA-OAEP with `label`, or an ephemeral ECDH point and KDFe.
fn encrypt_secret(
    tpm: &mut Tpm,
    key: &TpmtPublic,
    label: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let alg = key.name_alg;
    let bits = digest_size(alg).ok_or(TPM_RC_HASH)? as u32 * 8;
    match (&key.parameters, &key.unique) {
        (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) => {
            let mut seed = vec![0u8; (bits / 8) as usize];
            tpm.random(&mut seed)?;
            let mut l = label.to_vec();
            l.push(0);
            let ct = rsa::oaep_encrypt(n, *exponent, alg, &l, &seed)?;
            Ok((seed, ct))
        }
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, y }) => {
            let c = ecc::Curve::from_id(*curve_id).ok_or(TPM_RC_CURVE)?;
            let (d, ex, ey) = ecc::generate(c)?;
            let z = ecc::ecdh(c, &d, x, y)?;
            let seed = kdfe(alg, &z, label, &ex, x, bits).ok_or(TPM_RC_HASH)?;
            let mut pt = Vec::new();
            pt.put_tpm2b(&ex);
            pt.put_tpm2b(&ey);
            Ok((seed, pt))
        }
        _ => Err(TPM_RC_TYPE),
    }
}

/// TPM2_Duplicate (Part 3, 13.1): `objectHandle` in the DUP role (dispatch), `newParentHandle`
/// a storage key or `TPM_RH_NULL`.
pub fn duplicate(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let key_in = param(1, ctx.params.tpm2b(MAX_DATA))?.to_vec();
    let sym = param(2, TpmtSymDef::read(&mut ctx.params))?;
    ctx.end()?;
    let inner = check_inner_sym(&sym, 2)?;
    let (oh, ph) = (ctx.handles[0], ctx.handles[1]);
    let obj = tpm.object(oh).cloned().ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if obj.has(TPMA_OBJECT_FIXED_PARENT) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let sens = obj.sensitive.as_ref().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    let parent = if ph == TPM_RH_NULL {
        None
    } else {
        Some(storage(tpm, ph, 2)?)
    };
    if obj.has(TPMA_OBJECT_ENCRYPTED_DUPLICATION) {
        if inner.is_none() {
            return Err(rc_param(TPM_RC_SYMMETRIC, 2));
        }
        if parent.is_none() {
            return Err(rc_handle(TPM_RC_HIERARCHY, 2));
        }
    }
    match inner {
        None if !key_in.is_empty() => return Err(rc_param(TPM_RC_SIZE, 1)),
        Some(n) if !key_in.is_empty() && key_in.len() != n => {
            return Err(rc_param(TPM_RC_SIZE, 1));
        }
        _ => {}
    }
    let (seed, secret) = match &parent {
        Some(p) => encrypt_secret(tpm, &p.public, LABEL)?,
        None => (Vec::new(), Vec::new()),
    };
    let sens2b = dup::sensitive_2b(&dup::to_spec(&obj.public, sens)?);
    let (key_out, blob) = match inner {
        None => (Vec::new(), sens2b),
        Some(n) => {
            // Part 3 says encryptionKeyOut is empty when the caller supplied the key; the
            // reference implementation (libtpms, so swtpm) returns the key used either way,
            // and TSS tools are tested against that.
            let key = if key_in.is_empty() {
                let mut k = vec![0u8; n];
                tpm.random(&mut k)?;
                k
            } else {
                key_in
            };
            let w = dup::inner_wrap(obj.public.name_alg, &obj.name, &key, &sens2b)?;
            (key, w)
        }
    };
    let blob = match &parent {
        Some(p) => dup::outer_wrap(
            p.public.name_alg,
            &seed,
            &obj.name,
            p.public.symmetric().key_bits,
            &blob,
        )?,
        None => blob,
    };
    out.put_tpm2b(&key_out);
    out.put_tpm2b(&blob);
    out.put_tpm2b(&secret);
    Ok(())
}

/// TPM2_Rewrap (Part 3, 13.2): moves the outer wrapper of a duplication blob from `oldParent`
/// (USER role) to `newParent`; either may be `TPM_RH_NULL` (no outer wrapper on that side).
pub fn rewrap(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let in_dup = param(1, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let name = param(2, ctx.params.tpm2b(attest::MAX_NAME))?.to_vec();
    let seed_in = param(3, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    ctx.end()?;
    let (oh, nh) = (ctx.handles[0], ctx.handles[1]);
    if seed_in.is_empty() != (oh == TPM_RH_NULL) {
        return Err(rc_handle(TPM_RC_HANDLE, 1));
    }
    let blob = if oh == TPM_RH_NULL {
        in_dup
    } else {
        let old = storage(tpm, oh, 1)?;
        let seed = super::session::decrypt_secret(tpm, oh, LABEL, &seed_in)
            .map_err(|_| rc_param(TPM_RC_VALUE, 3))?;
        dup::outer_unwrap(
            old.public.name_alg,
            &seed,
            &name,
            old.public.symmetric().key_bits,
            &in_dup,
        )
        .map_err(|rc| at_param(rc, 1))?
    };
    let (blob, secret) = if nh == TPM_RH_NULL {
        (blob, Vec::new())
    } else {
        let new = storage(tpm, nh, 2)?;
        let (seed, secret) = encrypt_secret(tpm, &new.public, LABEL)?;
        let w = dup::outer_wrap(
            new.public.name_alg,
            &seed,
            &name,
            new.public.symmetric().key_bits,
            &blob,
        )?;
        (w, secret)
    };
    out.put_tpm2b(&blob);
    out.put_tpm2b(&secret);
    Ok(())
}

/// TPM2_Import (Part 3, 13.3): a duplication blob becomes a `TPM2B_PRIVATE` of this TPM under
/// `parentHandle`, loadable with TPM2_Load.
pub fn import(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let key = param(1, ctx.params.tpm2b(MAX_DATA))?.to_vec();
    let p = param(2, TpmtPublic::read_2b(&mut ctx.params))?;
    let blob = param(3, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let seed_in = param(4, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let sym = param(5, TpmtSymDef::read(&mut ctx.params))?;
    ctx.end()?;
    let inner = check_inner_sym(&sym, 5)?;
    public::check(&p, false).map_err(|rc| rc_param(rc, 2))?;
    // The reference order: the object's attributes, then the parent, then the wrappers.
    let a = p.object_attributes;
    if a & (TPMA_OBJECT_FIXED_TPM | TPMA_OBJECT_FIXED_PARENT) != 0 {
        return Err(rc_param(TPM_RC_ATTRIBUTES, 2));
    }
    let ph = ctx.handles[0];
    let parent = storage(tpm, ph, 1)?;
    if parent.sensitive.is_none() {
        return Err(rc_handle(TPM_RC_TYPE, 1));
    }
    let enc_dup = a & TPMA_OBJECT_ENCRYPTED_DUPLICATION != 0;
    match inner {
        Some(n) if key.len() != n => return Err(rc_param(TPM_RC_SIZE, 1)),
        None if !key.is_empty() => return Err(rc_param(TPM_RC_SIZE, 1)),
        None if enc_dup => return Err(rc_param(TPM_RC_ATTRIBUTES, 1)),
        _ => {}
    }
    let seed = if seed_in.is_empty() {
        if enc_dup {
            return Err(rc_param(TPM_RC_ATTRIBUTES, 4));
        }
        Vec::new()
    } else {
        super::session::decrypt_secret(tpm, ph, LABEL, &seed_in).map_err(|rc| at_param(rc, 4))?
    };
    let name = name_of(&p);
    let mut data = blob;
    if !seed.is_empty() {
        data = dup::outer_unwrap(
            parent.public.name_alg,
            &seed,
            &name,
            parent.public.symmetric().key_bits,
            &data,
        )
        .map_err(|rc| at_param(rc, 3))?;
    }
    if inner.is_some() {
        data = dup::inner_unwrap(p.name_alg, &name, &key, &data).map_err(|rc| at_param(rc, 3))?;
    }
    let s = dup::parse_sensitive_2b(&data).map_err(|rc| at_param(rc, 3))?;
    if s.auth_value.len() > digest_size(p.name_alg).unwrap_or(0) {
        return Err(rc_param(TPM_RC_SIZE, 3));
    }
    let s = dup::from_spec(&p, &s).map_err(|rc| match rc {
        TPM_RC_TYPE => rc_param(TPM_RC_TYPE, 3),
        rc => at_param(rc, 2),
    })?;
    check_binding(&p, &s).map_err(|rc| rc_param(rc, 2))?;
    out.put_tpm2b(&protect::wrap(&parent, &name, &s)?);
    Ok(())
}
