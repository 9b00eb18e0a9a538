//! PCR commands (Part 3, 22): PCR_Read, PCR_Extend, PCR_Event, PCR_Reset, PCR_Allocate.

use crate::Tpm;
use crate::crypto::{HASH_ALGS, HASH_COUNT, bank_index, hash};
use crate::dispatch::{Ctx, param};
use crate::pcr::{self, ALL_PCRS, PCR_COUNT, PCR_SELECT_SIZE};
use tpm_proto::types::TpmsPcrSelection;
use tpm_proto::*;

/// Most digests one `TPML_DIGEST` may carry (Part 2, 10.9.3).
const MAX_TPML_DIGEST: u32 = 8;

/// Reads a `TPML_PCR_SELECTION` bounded by `HASH_COUNT`, with `sizeofSelect` between
/// `PCR_SELECT_MIN` and `PCR_SELECT_MAX` (both 3 here).
pub(crate) fn read_selection(ctx: &mut Ctx<'_>, n: u32) -> Result<TpmlPcrSelection, u32> {
    let sel = param(n, TpmlPcrSelection::read(&mut ctx.params, HASH_COUNT))?;
    if sel.0.iter().any(|s| s.size_of_select != PCR_SELECT_SIZE) {
        return Err(rc_param(TPM_RC_VALUE, n));
    }
    Ok(sel)
}

/// TPM2_PCR_Read.
pub fn read(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let sel = read_selection(ctx, 1)?;
    ctx.end()?;
    let v = &tpm.vol;
    out.put_u32(v.pcr_update_counter);
    // pcrSelectionOut lists every requested bank; only returned PCRs keep their bit.
    let mut digests: [(usize, usize); MAX_TPML_DIGEST as usize] =
        [(0, 0); MAX_TPML_DIGEST as usize];
    let mut count = 0usize;
    out.put_u32(sel.0.len() as u32);
    for s in &sel.0 {
        let mut bits_out = 0u64;
        if let Some(b) = bank_index(s.hash) {
            let want = s.bits() & u64::from(v.pcr_alloc[b]);
            for p in 0..PCR_COUNT {
                if want & (1 << p) != 0 && count < digests.len() {
                    digests[count] = (b, p);
                    count += 1;
                    bits_out |= 1 << p;
                }
            }
        }
        TpmsPcrSelection::new(s.hash, PCR_SELECT_SIZE, bits_out).write(out);
    }
    out.put_u32(count as u32);
    for &(b, p) in &digests[..count] {
        let n = digest_size(HASH_ALGS[b]).unwrap_or(0);
        out.put_tpm2b(&v.pcrs[b][p][..n]);
    }
    Ok(())
}

/// Handle and locality checks shared by Extend/Event; `None` for `TPM_RH_NULL`.
fn extend_target(ctx: &Ctx<'_>) -> Result<Option<usize>, u32> {
    let h = ctx.handles[0];
    if h == TPM_RH_NULL {
        return Ok(None);
    }
    let p = h as usize;
    if !pcr::extend_allowed(p, ctx.locality) {
        return Err(TPM_RC_LOCALITY);
    }
    Ok(Some(p))
}

/// TPM2_PCR_Extend: extends each allocated bank named in `digests`.
pub fn extend(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let digests = param(1, TpmlDigestValues::read(&mut ctx.params, HASH_COUNT))?;
    ctx.end()?;
    let Some(p) = extend_target(ctx)? else {
        return Ok(());
    };
    let v = &mut tpm.vol;
    for d in &digests.0 {
        if let Some(b) = bank_index(d.hash_alg)
            && v.pcr_alloc[b] & (1 << p) != 0
        {
            pcr::extend(&mut v.pcrs, b, p, d.bytes());
        }
    }
    v.pcr_update_counter = v.pcr_update_counter.wrapping_add(1);
    Ok(())
}

/// TPM2_PCR_Event: hashes `eventData` with every implemented algorithm, extends the allocated
/// banks and returns all digests.
pub fn event(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(1024))?;
    ctx.end()?;
    let target = extend_target(ctx)?;
    out.put_u32(HASH_COUNT as u32);
    let v = &mut tpm.vol;
    for (b, &alg) in HASH_ALGS.iter().enumerate() {
        let d = hash(alg, &[data]).ok_or(TPM_RC_FAILURE)?;
        out.put_u16(alg);
        out.extend_from_slice(d.as_ref());
        if let Some(p) = target
            && v.pcr_alloc[b] & (1 << p) != 0
        {
            pcr::extend(&mut v.pcrs, b, p, d.as_ref());
        }
    }
    if target.is_some() {
        v.pcr_update_counter = v.pcr_update_counter.wrapping_add(1);
    }
    Ok(())
}

/// TPM2_PCR_Reset: PC Client locality rules; resets to zero in every bank.
pub fn reset(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let h = ctx.handles[0];
    if h == TPM_RH_NULL {
        return Ok(());
    }
    let p = h as usize;
    if !pcr::reset_allowed(p, ctx.locality) {
        return Err(TPM_RC_LOCALITY);
    }
    let v = &mut tpm.vol;
    for bank in v.pcrs.iter_mut() {
        bank[p] = [0; 64];
    }
    v.pcr_update_counter = v.pcr_update_counter.wrapping_add(1);
    Ok(())
}

/// TPM2_PCR_Allocate: records the allocation for the next `_TPM_Init`. Banks not named keep
/// their current allocation (Part 3, 22.5.1).
pub fn allocate(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let sel = read_selection(ctx, 1)?;
    ctx.end()?;
    let mut new = tpm.perm.pcr_alloc;
    for s in &sel.0 {
        if let Some(b) = bank_index(s.hash) {
            new[b] = (s.bits() as u32) & ALL_PCRS;
        }
    }
    let size_needed: u32 = new
        .iter()
        .zip(HASH_ALGS)
        .filter(|(a, _)| **a != 0)
        .map(|(_, alg)| digest_size(alg).unwrap_or(0) as u32 * PCR_COUNT as u32)
        .sum();
    // All implemented banks fit at once, so every allocation succeeds.
    let size_available = ((20 + 32 + 48 + 64) * PCR_COUNT) as u32;
    if new != tpm.perm.pcr_alloc {
        tpm.perm.pcr_alloc = new;
        tpm.dirty = true;
    }
    out.put_u8(1);
    out.put_u32(PCR_COUNT as u32);
    out.put_u32(size_needed);
    out.put_u32(size_available);
    Ok(())
}
