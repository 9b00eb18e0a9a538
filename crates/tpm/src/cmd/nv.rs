//! NV storage commands (Part 3, 31). Authorization of the handles has already been checked
//! by the dispatcher; these handlers apply the attribute rules and change the indices. Check
//! order and response codes follow the reference implementation, which libtpms shares.

use crate::Tpm;
use crate::crypto;
use crate::dispatch::{Ctx, param};
use crate::nv::{self, NV_BUFFER_MAX, NV_INDEX_MAX, NV_MEMORY, NvIndex};
use crate::state::{Auth, trim_zeros};
use tpm_proto::*;

/// `TPM2B_MAX_NV_BUFFER` parameter `n`.
fn nv_buffer<'a>(ctx: &mut Ctx<'a>, n: u32) -> Result<&'a [u8], u32> {
    param(n, ctx.params.tpm2b(NV_BUFFER_MAX))
}

fn index_mut(tpm: &mut Tpm, h: u32) -> Result<&mut NvIndex, u32> {
    tpm.perm.nv.indices.get_mut(&h).ok_or(TPM_RC_HANDLE)
}

fn attrs(tpm: &Tpm, h: u32) -> Result<TpmaNv, u32> {
    tpm.nv_index(h).map(NvIndex::attrs)
}

/// Writes `bytes` at `offset` of index `h`; marks permanent state dirty if anything changed.
fn store(tpm: &mut Tpm, h: u32, offset: usize, bytes: &[u8]) -> Result<(), u32> {
    if index_mut(tpm, h)?.write(offset, bytes) {
        tpm.dirty = true;
    }
    Ok(())
}

fn set_attr(tpm: &mut Tpm, h: u32, mask: u32) -> Result<(), u32> {
    let idx = index_mut(tpm, h)?;
    if !idx.attrs().has(mask) {
        idx.public.attributes = idx.attrs().with(mask, true);
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_NV_DefineSpace (Part 3, 31.3).
pub fn define_space(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let auth = param(1, ctx.params.tpm2b(Auth::MAX))?;
    let public = param(2, TpmsNvPublic::read_2b(&mut ctx.params))?;
    ctx.end()?;
    let auth_handle = ctx.handles[0];
    let a = public.attributes;
    let p2 = |rc| rc_param(rc, 2);
    let name_size = digest_size(public.name_alg).unwrap_or(0);
    if !public.auth_policy.is_empty() && public.auth_policy.len() != name_size {
        return Err(p2(TPM_RC_SIZE));
    }
    let auth = trim_zeros(auth);
    if auth.len() > name_size {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    if auth_handle == TPM_RH_PLATFORM && !tpm.vol.ph_enable_nv {
        return Err(rc_handle(TPM_RC_HIERARCHY, 1));
    }
    let nt = a.nt().ok_or(p2(TPM_RC_ATTRIBUTES))?;
    let size = usize::from(public.data_size);
    let size_ok = match nt {
        TpmNt::Ordinary => size <= NV_INDEX_MAX,
        TpmNt::Extend => size == name_size,
        TpmNt::Counter | TpmNt::Bits | TpmNt::PinFail | TpmNt::PinPass => size == 8,
    };
    if !size_ok {
        return Err(p2(TPM_RC_SIZE));
    }
    let type_ok = match nt {
        TpmNt::Counter => !a.has(TpmaNv::CLEAR_STCLEAR),
        TpmNt::PinFail | TpmNt::PinPass => {
            (nt != TpmNt::PinFail || a.has(TpmaNv::NO_DA))
                && !a.has(TpmaNv::AUTHWRITE)
                && !a.has(TpmaNv::GLOBALLOCK)
                && !a.has(TpmaNv::WRITEDEFINE)
        }
        _ => true,
    };
    let any = |m: u32| a.0 & m != 0;
    if !type_ok
        || any(TpmaNv::WRITTEN | TpmaNv::WRITELOCKED | TpmaNv::READLOCKED)
        || !any(TpmaNv::OWNERREAD | TpmaNv::PPREAD | TpmaNv::AUTHREAD | TpmaNv::POLICYREAD)
        || !any(TpmaNv::OWNERWRITE | TpmaNv::PPWRITE | TpmaNv::AUTHWRITE | TpmaNv::POLICYWRITE)
        || a.has(TpmaNv::CLEAR_STCLEAR | TpmaNv::WRITEDEFINE)
    {
        return Err(p2(TPM_RC_ATTRIBUTES));
    }
    if a.has(TpmaNv::PLATFORMCREATE) != (auth_handle == TPM_RH_PLATFORM) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    if a.has(TpmaNv::POLICY_DELETE) && auth_handle != TPM_RH_PLATFORM {
        return Err(p2(TPM_RC_ATTRIBUTES));
    }
    if size > NV_BUFFER_MAX && a.has(TpmaNv::WRITEALL) {
        return Err(p2(TPM_RC_SIZE));
    }
    if tpm.perm.nv.indices.contains_key(&public.nv_index) {
        return Err(TPM_RC_NV_DEFINED);
    }
    let idx = NvIndex {
        data: vec![0; size],
        auth: Auth::new(auth).unwrap_or_default(),
        public,
    };
    if tpm.perm.nv.used() + idx.cost() > NV_MEMORY {
        return Err(TPM_RC_NV_SPACE);
    }
    tpm.perm.nv.indices.insert(idx.public.nv_index, idx);
    tpm.dirty = true;
    Ok(())
}

/// TPM2_NV_UndefineSpace (Part 3, 31.4).
pub fn undefine_space(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let a = attrs(tpm, h)?;
    if a.has(TpmaNv::POLICY_DELETE) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    if auth_handle == TPM_RH_OWNER && a.has(TpmaNv::PLATFORMCREATE) {
        return Err(TPM_RC_NV_AUTHORIZATION);
    }
    tpm.perm.nv.remove(h);
    tpm.dirty = true;
    Ok(())
}

/// TPM2_NV_UndefineSpaceSpecial (Part 3, 31.5). The index authorizes in the ADMIN role, so
/// the dispatcher only lets it through with a policy session.
pub fn undefine_space_special(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    ctx.end()?;
    let h = ctx.handles[0];
    if !attrs(tpm, h)?.has(TpmaNv::POLICY_DELETE) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    tpm.perm.nv.remove(h);
    tpm.dirty = true;
    Ok(())
}

/// TPM2_NV_ReadPublic (Part 3, 31.6): `TPM2B_NV_PUBLIC nvPublic`, `TPM2B_NAME nvName`.
pub fn read_public(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let idx = tpm.nv_index(ctx.handles[0])?;
    idx.public.write_2b(out);
    out.put_tpm2b(&idx.name());
    Ok(())
}

/// TPM2_NV_Write (Part 3, 31.7).
pub fn write(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let data = nv_buffer(ctx, 1)?;
    let offset = usize::from(param(2, ctx.params.u16())?);
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let idx = tpm.nv_index(h)?;
    let a = idx.attrs();
    nv::write_access(auth_handle, h, a)?;
    if matches!(a.nt(), Some(TpmNt::Counter | TpmNt::Bits | TpmNt::Extend)) {
        return Err(TPM_RC_ATTRIBUTES);
    }
    let size = usize::from(idx.public.data_size);
    if offset > size {
        return Err(rc_param(TPM_RC_VALUE, 2));
    }
    if data.len() > size - offset || (a.has(TpmaNv::WRITEALL) && data.len() < size) {
        return Err(TPM_RC_NV_RANGE);
    }
    store(tpm, h, offset, data)
}

/// TPM2_NV_Increment (Part 3, 31.8): a counter's first increment starts above every counter
/// deleted so far.
pub fn increment(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let idx = tpm.nv_index(h)?;
    nv::write_access(auth_handle, h, idx.attrs())?;
    if idx.attrs().nt() != Some(TpmNt::Counter) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    let old = if idx.attrs().has(TpmaNv::WRITTEN) {
        idx.u64()
    } else {
        tpm.perm.nv.max_counter
    };
    // Saturate rather than wrap: a counter must never go backwards.
    store(tpm, h, 0, &old.saturating_add(1).to_be_bytes())
}

/// TPM2_NV_Extend (Part 3, 31.9): data = H_nameAlg(data ‖ input), from zeros when unwritten.
pub fn extend(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let input = nv_buffer(ctx, 1)?;
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let idx = tpm.nv_index(h)?;
    nv::write_access(auth_handle, h, idx.attrs())?;
    if idx.attrs().nt() != Some(TpmNt::Extend) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    let zeros = vec![0u8; idx.data.len()];
    let old: &[u8] = if idx.attrs().has(TpmaNv::WRITTEN) {
        &idx.data
    } else {
        &zeros
    };
    let new = crypto::hash(idx.public.name_alg, &[old, input]).ok_or(TPM_RC_FAILURE)?;
    let new = new.as_ref().to_vec();
    store(tpm, h, 0, &new)
}

/// TPM2_NV_SetBits (Part 3, 31.10): data |= bits, from zero when unwritten.
pub fn set_bits(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let bits = param(1, ctx.params.u64())?;
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let idx = tpm.nv_index(h)?;
    nv::write_access(auth_handle, h, idx.attrs())?;
    if idx.attrs().nt() != Some(TpmNt::Bits) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    let old = if idx.attrs().has(TpmaNv::WRITTEN) {
        idx.u64()
    } else {
        0
    };
    store(tpm, h, 0, &(old | bits).to_be_bytes())
}

/// TPM2_NV_WriteLock (Part 3, 31.11): locking a locked index succeeds.
pub fn write_lock(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let a = attrs(tpm, h)?;
    match nv::write_access(auth_handle, h, a) {
        Err(TPM_RC_NV_AUTHORIZATION) => return Err(TPM_RC_NV_AUTHORIZATION),
        Err(_) => return Ok(()),
        Ok(()) => {}
    }
    if !a.has(TpmaNv::WRITEDEFINE) && !a.has(TpmaNv::WRITE_STCLEAR) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    set_attr(tpm, h, TpmaNv::WRITELOCKED)
}

/// TPM2_NV_GlobalWriteLock (Part 3, 31.12).
pub fn global_write_lock(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    if tpm.perm.nv.global_lock() {
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_NV_Read (Part 3, 31.13): `TPM2B_MAX_NV_BUFFER data`.
pub fn read(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let size = usize::from(param(1, ctx.params.u16())?);
    let offset = usize::from(param(2, ctx.params.u16())?);
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let idx = tpm.nv_index(h)?;
    nv::read_access(auth_handle, h, idx.attrs())?;
    if size > NV_BUFFER_MAX {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    let total = usize::from(idx.public.data_size);
    if offset > total {
        return Err(rc_param(TPM_RC_VALUE, 2));
    }
    if size > total - offset {
        return Err(TPM_RC_NV_RANGE);
    }
    out.put_tpm2b(idx.data.get(offset..offset + size).unwrap_or_default());
    Ok(())
}

/// TPM2_NV_ReadLock (Part 3, 31.14): locking a locked index succeeds; an unwritten index may
/// be locked.
pub fn read_lock(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let [auth_handle, h, _] = ctx.handles;
    let a = attrs(tpm, h)?;
    match nv::read_access(auth_handle, h, a) {
        Err(TPM_RC_NV_AUTHORIZATION) => return Err(TPM_RC_NV_AUTHORIZATION),
        Err(TPM_RC_NV_LOCKED) => return Ok(()),
        _ => {}
    }
    if !a.has(TpmaNv::READ_STCLEAR) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
    }
    set_attr(tpm, h, TpmaNv::READLOCKED)
}

/// TPM2_NV_ChangeAuth (Part 3, 31.15). ADMIN role: reachable only with a policy session.
pub fn change_auth(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let new = param(1, ctx.params.tpm2b(Auth::MAX))?;
    ctx.end()?;
    let h = ctx.handles[0];
    let name_size = digest_size(tpm.nv_index(h)?.public.name_alg).unwrap_or(0);
    let new = trim_zeros(new);
    if new.len() > name_size {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let idx = index_mut(tpm, h)?;
    let new = Auth::new(new).unwrap_or_default();
    if idx.auth != new {
        idx.auth = new;
        tpm.dirty = true;
    }
    Ok(())
}
