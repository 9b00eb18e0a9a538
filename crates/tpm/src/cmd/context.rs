//! Context management (Part 3, 28): ContextSave, ContextLoad, FlushContext. A saved context is
//! `TPMS_CONTEXT { sequence, savedHandle, hierarchy, TPM2B(integrity || encrypted) }`; the
//! payload is AES-256-CFB encrypted and HMAC-SHA256 protected with keys
//! `KDFa(SHA256, proof, "CONTEXT", sequence || savedHandle || resetCount, hierarchy, 256 + 128 +
//! 256)` where `proof` is the object's hierarchy proof (the per-reset null proof for sessions
//! and NULL objects), so contexts die with their hierarchy, and `resetCount` makes every context
//! die at TPM Reset as the reference's `totalResetCount` in the integrity does (Part 1, 30
//! "Context Management").

use super::object::proof;
use crate::Tpm;
use crate::crypto::{ct_eq, hmac, kdf::kdfa, sym};
use crate::dispatch::{Ctx, param};
use crate::object::Object;
use crate::object::sequence::Sequence;
use crate::session::Session;
use tpm_proto::*;

/// `savedHandle` of a transient object context.
const SAVED_OBJECT: u32 = 0x8000_0000;
/// `savedHandle` of a sequence object context (Part 2, 14.6 TPMS_CONTEXT).
const SAVED_SEQUENCE: u32 = 0x8000_0001;
/// `savedHandle` of an stClear object context.
const SAVED_ST_CLEAR: u32 = 0x8000_0002;
/// Largest `TPM2B_CONTEXT_DATA` accepted.
const MAX_CONTEXT: usize = 4000;

fn keys(p: &[u8; 64], seq: u64, saved: u32, hierarchy: u32, resets: u32) -> Result<Vec<u8>, u32> {
    let mut u = seq.to_be_bytes().to_vec();
    u.extend_from_slice(&saved.to_be_bytes());
    u.extend_from_slice(&resets.to_be_bytes());
    kdfa(
        TPM_ALG_SHA256,
        p,
        b"CONTEXT",
        &u,
        &hierarchy.to_be_bytes(),
        256 + 128 + 256,
    )
    .ok_or(TPM_RC_FAILURE)
}

fn seal(
    p: &[u8; 64],
    (seq, saved, hierarchy, resets): (u64, u32, u32, u32),
    mut plain: Vec<u8>,
) -> Result<Vec<u8>, u32> {
    let k = keys(p, seq, saved, hierarchy, resets)?;
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&k[32..48]);
    sym::cfb_encrypt(&k[..32], &iv, &mut plain).ok_or(TPM_RC_FAILURE)?;
    let tag = hmac(TPM_ALG_SHA256, &k[48..], &[&plain]).ok_or(TPM_RC_FAILURE)?;
    let mut blob = Vec::with_capacity(plain.len() + 34);
    blob.put_tpm2b(tag.as_ref());
    blob.extend_from_slice(&plain);
    Ok(blob)
}

fn open(
    p: &[u8; 64],
    (seq, saved, hierarchy, resets): (u64, u32, u32, u32),
    blob: &[u8],
) -> Result<Vec<u8>, u32> {
    let k = keys(p, seq, saved, hierarchy, resets)?;
    let mut r = Reader::new(blob);
    let tag = r.tpm2b(64).map_err(|_| rc_param(TPM_RC_SIZE, 1))?;
    let enc = r.rest();
    let want = hmac(TPM_ALG_SHA256, &k[48..], &[enc]).ok_or(TPM_RC_FAILURE)?;
    if !ct_eq(tag, want.as_ref()) {
        return Err(rc_param(TPM_RC_INTEGRITY, 1));
    }
    let mut plain = enc.to_vec();
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&k[32..48]);
    sym::cfb_decrypt(&k[..32], &iv, &mut plain).ok_or(TPM_RC_FAILURE)?;
    Ok(plain)
}

/// TPM2_ContextSave (Part 3, 28.2).
pub fn context_save(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let h = ctx.handles[0];
    tpm.vol.context_counter = tpm.vol.context_counter.wrapping_add(1);
    let seq = tpm.vol.context_counter;
    let (saved, hierarchy, plain) = if let Some(s) = tpm.vol.objects.sequence(h) {
        // Sequence objects belong to the NULL hierarchy (reference `ObjectCreateHashSequence`),
        // so their contexts die at TPM Reset with the null proof.
        let mut b = Vec::new();
        s.write(&mut b);
        (SAVED_SEQUENCE, TPM_RH_NULL, b)
    } else if h >> 24 == u32::from(TPM_HT_TRANSIENT) {
        let o = tpm.vol.objects.get(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
        let mut b = Vec::new();
        o.write(&mut b);
        let saved = if o.has(TPMA_OBJECT_ST_CLEAR) {
            SAVED_ST_CLEAR
        } else {
            SAVED_OBJECT
        };
        (saved, o.hierarchy, b)
    } else {
        let s = tpm.vol.sessions.get(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
        let mut b = Vec::new();
        s.write(&mut b);
        // An audit session's digest travels after the session: `u8 1 | TPM2B auditDigest`.
        if let Some(d) = tpm.vol.audit.digest(h) {
            b.put_u8(1);
            b.put_tpm2b(d);
        }
        (h, TPM_RH_NULL, b)
    };
    let id = (seq, saved, hierarchy, tpm.perm.reset_count);
    let blob = seal(proof(tpm, hierarchy), id, plain)?;
    if saved == h {
        tpm.vol.sessions.save(h, seq);
        tpm.vol.audit.take(h);
    }
    out.put_u64(seq);
    out.put_u32(saved);
    out.put_u32(hierarchy);
    out.put_tpm2b(&blob);
    Ok(())
}

/// TPM2_ContextLoad (Part 3, 28.3).
pub fn context_load(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let seq = param(1, ctx.params.u64())?;
    let saved = param(1, ctx.params.u32())?;
    let hierarchy = param(1, ctx.params.u32())?;
    let blob = param(1, ctx.params.tpm2b(MAX_CONTEXT))?.to_vec();
    ctx.end()?;
    if !matches!(
        hierarchy,
        TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM | TPM_RH_NULL
    ) {
        return Err(rc_param(TPM_RC_HIERARCHY, 1));
    }
    let id = (seq, saved, hierarchy, tpm.perm.reset_count);
    let plain = open(proof(tpm, hierarchy), id, &blob)?;
    let mut r = Reader::new(&plain);
    let h = match (saved >> 24) as u8 {
        TPM_HT_TRANSIENT if saved == SAVED_SEQUENCE => {
            let s = Sequence::read(&mut r).map_err(|_| rc_param(TPM_RC_INTEGRITY, 1))?;
            if r.remaining() != 0 || hierarchy != TPM_RH_NULL {
                return Err(rc_param(TPM_RC_INTEGRITY, 1));
            }
            tpm.vol.objects.insert_sequence(s)?
        }
        TPM_HT_TRANSIENT => {
            let o = Object::read(&mut r).map_err(|_| rc_param(TPM_RC_INTEGRITY, 1))?;
            if o.hierarchy != hierarchy {
                return Err(rc_param(TPM_RC_INTEGRITY, 1));
            }
            tpm.vol.objects.insert(o)?
        }
        TPM_HT_HMAC_SESSION | TPM_HT_POLICY_SESSION => {
            let s = Session::read(&mut r).map_err(|_| rc_param(TPM_RC_INTEGRITY, 1))?;
            let audit = match r.remaining() {
                0 => None,
                _ => match (r.u8(), r.tpm2b(64)) {
                    (Ok(1), Ok(d)) if r.remaining() == 0 => Some(d.to_vec()),
                    _ => return Err(rc_param(TPM_RC_INTEGRITY, 1)),
                },
            };
            tpm.vol.sessions.restore(saved, seq, s).map_err(|rc| {
                if rc == TPM_RC_HANDLE {
                    rc_param(TPM_RC_HANDLE, 1)
                } else {
                    rc
                }
            })?;
            if let Some(d) = audit {
                tpm.vol.audit.restore(saved, d);
            }
            saved
        }
        _ => return Err(rc_param(TPM_RC_HANDLE, 1)),
    };
    out.patch_u32(10, h);
    Ok(())
}

/// TPM2_FlushContext (Part 3, 28.4).
pub fn flush_context(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let h = param(1, ctx.params.u32())?;
    ctx.end()?;
    let ok = match (h >> 24) as u8 {
        TPM_HT_TRANSIENT => tpm.vol.objects.remove(h),
        TPM_HT_HMAC_SESSION | TPM_HT_POLICY_SESSION => {
            tpm.vol.audit.forget(h);
            tpm.vol.sessions.remove(h)
        }
        _ => return Err(rc_param(TPM_RC_VALUE, 1)),
    };
    if ok {
        Ok(())
    } else {
        Err(rc_param(TPM_RC_HANDLE, 1))
    }
}
