//! Hash, HMAC and event sequences (Part 3, 17 "Hash/HMAC/Event Sequences"): HMAC_Start,
//! HashSequenceStart, SequenceUpdate, SequenceComplete, EventSequenceComplete. The sequence
//! objects themselves are in `object::sequence`.

use super::misc::MAX_BUFFER;
use super::object::ticket;
use crate::Tpm;
use crate::crypto::stream::{StreamHash, StreamHmac};
use crate::crypto::{HASH_ALGS, HASH_COUNT};
use crate::dispatch::{Ctx, param};
use crate::object::sequence::{SeqState, Sequence, ticket_safe};
use crate::pcr;
use tpm_proto::attest::TpmtTicket;
use tpm_proto::object::PublicParms;
use tpm_proto::*;

/// `TPM2B_AUTH` bound: the largest implemented digest.
const MAX_AUTH: usize = 64;

/// Position of the response handle (`sequenceHandle`) in the response frame.
const RHANDLE_AT: usize = 10;

/// TPM2_HMAC_Start (Part 3, 17.2): an HMAC sequence keyed with an unrestricted keyed-hash
/// signing key; the key's own scheme hash wins, a different `hashAlg` is TPM_RC_VALUE.
pub fn hmac_start(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let auth = param(1, ctx.params.tpm2b(MAX_AUTH))?.to_vec();
    let alg = param(2, ctx.params.hash_alg(true))?;
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if !matches!(o.public.parameters, PublicParms::KeyedHash { .. }) {
        return Err(rc_handle(TPM_RC_TYPE, 1));
    }
    if o.has(TPMA_OBJECT_RESTRICTED) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    if !o.has(TPMA_OBJECT_SIGN_ENCRYPT) {
        return Err(rc_handle(TPM_RC_KEY, 1));
    }
    let own = o.public.scheme();
    let hash = match (own.scheme, alg) {
        (TPM_ALG_NULL, a) => a,
        (_, a) if a == TPM_ALG_NULL || a == own.hash => own.hash,
        _ => TPM_ALG_NULL,
    };
    if hash == TPM_ALG_NULL {
        return Err(rc_param(TPM_RC_VALUE, 2));
    }
    let key = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    let state = StreamHmac::new(hash, &key.sensitive).ok_or(rc_param(TPM_RC_HASH, 2))?;
    let h = tpm
        .vol
        .objects
        .insert_sequence(Sequence::new(&auth, SeqState::Hmac(state)))?;
    out.patch_u32(RHANDLE_AT, h);
    Ok(())
}

/// TPM2_HashSequenceStart (Part 3, 17.3): a hash sequence, or with `TPM_ALG_NULL` an event
/// sequence hashing with every implemented algorithm.
pub fn hash_sequence_start(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let auth = param(1, ctx.params.tpm2b(MAX_AUTH))?.to_vec();
    let alg = param(2, ctx.params.hash_alg(true))?;
    ctx.end()?;
    let seq = if alg == TPM_ALG_NULL {
        Sequence::event(&auth).ok_or(TPM_RC_FAILURE)?
    } else {
        let h = StreamHash::new(alg).ok_or(rc_param(TPM_RC_HASH, 2))?;
        Sequence::new(&auth, SeqState::Hash(h))
    };
    let h = tpm.vol.objects.insert_sequence(seq)?;
    out.patch_u32(RHANDLE_AT, h);
    Ok(())
}

/// The sequence object at handle `n` of the command, or TPM_RC_MODE for another object.
fn sequence_mut<'t>(tpm: &'t mut Tpm, ctx: &Ctx<'_>, n: usize) -> Result<&'t mut Sequence, u32> {
    let h = ctx.handles[n - 1];
    tpm.vol
        .objects
        .sequence_mut(h)
        .ok_or(rc_handle(TPM_RC_MODE, n as u32))
}

/// TPM2_SequenceUpdate (Part 3, 17.4).
pub fn sequence_update(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?;
    ctx.end()?;
    let s = sequence_mut(tpm, ctx, 1)?;
    if matches!(s.state, SeqState::Hash(_)) {
        s.note_block(data);
    }
    s.update(data);
    Ok(())
}

/// TPM2_SequenceComplete (Part 3, 17.5): the digest (with a `TPMT_TK_HASHCHECK` when a
/// hierarchy is named and the first block did not start with `TPM_GENERATED_VALUE`) or the
/// HMAC (always a NULL ticket); the sequence object is flushed.
pub fn sequence_complete(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?;
    let hierarchy = param(2, ctx.params.u32())?;
    ctx.end()?;
    let proof_usable = match hierarchy {
        TPM_RH_OWNER => tpm.vol.sh_enable,
        TPM_RH_ENDORSEMENT => tpm.vol.eh_enable,
        TPM_RH_PLATFORM => tpm.vol.ph_enable,
        TPM_RH_NULL => true,
        _ => return Err(rc_param(TPM_RC_VALUE, 2)),
    };
    if !proof_usable {
        return Err(rc_param(TPM_RC_HIERARCHY, 2));
    }
    let s = sequence_mut(tpm, ctx, 1)?;
    if matches!(s.state, SeqState::Event(_)) {
        return Err(rc_handle(TPM_RC_MODE, 1));
    }
    let mut s = s.clone();
    let safe = if s.first_block {
        s.ticket_safe
    } else {
        ticket_safe(data)
    };
    s.update(data);
    let (digest, tk) = match s.state {
        SeqState::Hash(h) => {
            let d = h.finish();
            let tk = if hierarchy != TPM_RH_NULL && safe {
                ticket(tpm, hierarchy, TPM_ST_HASHCHECK, &[&d])?
            } else {
                TpmtTicket::null(TPM_ST_HASHCHECK)
            };
            (d, tk)
        }
        SeqState::Hmac(h) => (h.finish(), TpmtTicket::null(TPM_ST_HASHCHECK)),
        SeqState::Event(_) => return Err(rc_handle(TPM_RC_MODE, 1)),
    };
    tpm.vol.objects.remove(ctx.handles[0]);
    out.put_tpm2b(&digest);
    tk.write(out);
    Ok(())
}

/// TPM2_EventSequenceComplete (Part 3, 17.6): finishes an event sequence, extends `pcrHandle`
/// (unless `TPM_RH_NULL`) in every allocated bank and returns the digest of every implemented
/// algorithm; the sequence object is flushed.
pub fn event_sequence_complete(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?;
    ctx.end()?;
    let s = sequence_mut(tpm, ctx, 2)?;
    let SeqState::Event(hs) = &s.state else {
        return Err(rc_handle(TPM_RC_MODE, 2));
    };
    let hs: [StreamHash; HASH_COUNT] = (**hs).clone();
    let target = match ctx.handles[0] {
        TPM_RH_NULL => None,
        h => {
            let p = h as usize;
            if !pcr::extend_allowed(p, ctx.locality) {
                return Err(TPM_RC_LOCALITY);
            }
            Some(p)
        }
    };
    out.put_u32(HASH_COUNT as u32);
    let v = &mut tpm.vol;
    for (b, mut h) in hs.into_iter().enumerate() {
        h.update(data);
        let d = h.finish();
        out.put_u16(HASH_ALGS[b]);
        out.extend_from_slice(&d);
        if let Some(p) = target
            && v.pcr_alloc[b] & (1 << p) != 0
        {
            pcr::extend(&mut v.pcrs, b, p, &d);
        }
    }
    if target.is_some() {
        v.pcr_update_counter = v.pcr_update_counter.wrapping_add(1);
    }
    v.objects.remove(ctx.handles[1]);
    Ok(())
}
