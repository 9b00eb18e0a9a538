//! Hierarchy and dictionary-attack commands (Part 3, 24 and 25).

use crate::Tpm;
use crate::crypto::secret;
use crate::dispatch::{Ctx, param};
use crate::state::{Auth, trim_zeros};
use tpm_proto::*;

/// TPM2_HierarchyChangeAuth: `newAuth` may be as long as the largest digest (64 bytes; OVMF
/// sends 64). Trailing zeros are removed first (Part 3, 24.8.1).
pub fn change_auth(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let new = param(1, ctx.params.tpm2b(Auth::MAX))?;
    ctx.end()?;
    let auth = Auth::new(trim_zeros(new)).ok_or(rc_param(TPM_RC_SIZE, 1))?;
    match ctx.handles[0] {
        TPM_RH_PLATFORM => tpm.vol.platform_auth = auth,
        TPM_RH_OWNER => tpm.perm.owner_auth = auth,
        TPM_RH_ENDORSEMENT => tpm.perm.endorsement_auth = auth,
        _ => tpm.perm.lockout_auth = auth,
    }
    if ctx.handles[0] != TPM_RH_PLATFORM {
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_HierarchyControl (Part 3, 24.9).
pub fn hierarchy_control(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let enable = param(1, ctx.params.u32())?;
    let state = param(2, ctx.params.yes_no())?;
    ctx.end()?;
    let auth = ctx.handles[0];
    let v = &mut tpm.vol;
    let slot = match enable {
        TPM_RH_PLATFORM => {
            if auth != TPM_RH_PLATFORM {
                return Err(TPM_RC_AUTH_TYPE);
            }
            &mut v.ph_enable
        }
        TPM_RH_PLATFORM_NV => {
            if auth != TPM_RH_PLATFORM {
                return Err(TPM_RC_AUTH_TYPE);
            }
            &mut v.ph_enable_nv
        }
        TPM_RH_OWNER => {
            if auth != TPM_RH_PLATFORM && auth != TPM_RH_OWNER {
                return Err(TPM_RC_AUTH_TYPE);
            }
            &mut v.sh_enable
        }
        TPM_RH_ENDORSEMENT => {
            if auth != TPM_RH_PLATFORM && auth != TPM_RH_ENDORSEMENT {
                return Err(TPM_RC_AUTH_TYPE);
            }
            &mut v.eh_enable
        }
        _ => return Err(rc_param(TPM_RC_VALUE, 1)),
    };
    // Only the platform may enable a hierarchy.
    if state && auth != TPM_RH_PLATFORM {
        return Err(TPM_RC_AUTH_TYPE);
    }
    *slot = state;
    Ok(())
}

/// TPM2_Clear (Part 3, 24.6): new storage seed and proofs, owner/endorsement/lockout auth and
/// policy reset, hierarchies enabled, DA state cleared, NV indices not created with
/// platformAuth deleted.
pub fn clear(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    if tpm.perm.disable_clear {
        return Err(TPM_RC_DISABLED);
    }
    let p = &mut tpm.perm;
    p.sps = secret();
    p.sh_proof = secret();
    p.eh_proof = secret();
    p.owner_auth = Auth::default();
    p.endorsement_auth = Auth::default();
    p.lockout_auth = Auth::default();
    p.owner_policy = crate::empty_policy();
    p.endorsement_policy = crate::empty_policy();
    p.lockout_policy = crate::empty_policy();
    p.failed_tries = 0;
    p.lockout_blocked_until = 0;
    p.nv.clear_owner();
    // Owner and endorsement objects go with their seeds/proofs (Part 3, 24.6).
    p.persistent.retain(|(_, o)| o.hierarchy == TPM_RH_PLATFORM);
    p.rsa_cache.clear_hierarchy(TPM_RH_OWNER);
    tpm.vol.objects.flush_hierarchy(TPM_RH_OWNER);
    tpm.vol.objects.flush_hierarchy(TPM_RH_ENDORSEMENT);
    tpm.vol.sh_enable = true;
    tpm.vol.eh_enable = true;
    tpm.dirty = true;
    Ok(())
}

/// TPM2_ClearControl (Part 3, 24.7): lockout may only set `disableClear`.
pub fn clear_control(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let disable = param(1, ctx.params.yes_no())?;
    ctx.end()?;
    if ctx.handles[0] == TPM_RH_LOCKOUT && !disable {
        return Err(TPM_RC_AUTH_FAIL);
    }
    if tpm.perm.disable_clear != disable {
        tpm.perm.disable_clear = disable;
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_ChangeEPS (Part 3, 24.5): new endorsement seed and proof; endorsement auth/policy reset.
pub fn change_eps(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let p = &mut tpm.perm;
    p.eps = secret();
    p.eh_proof = secret();
    p.persistent
        .retain(|(_, o)| o.hierarchy != TPM_RH_ENDORSEMENT);
    p.rsa_cache.clear_hierarchy(TPM_RH_ENDORSEMENT);
    tpm.vol.objects.flush_hierarchy(TPM_RH_ENDORSEMENT);
    p.endorsement_auth = Auth::default();
    p.endorsement_policy = crate::empty_policy();
    tpm.dirty = true;
    Ok(())
}

/// TPM2_ChangePPS (Part 3, 24.4): new platform seed and proof; platform policy reset.
pub fn change_pps(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    tpm.perm.pps = secret();
    tpm.perm.ph_proof = secret();
    tpm.perm
        .persistent
        .retain(|(_, o)| o.hierarchy != TPM_RH_PLATFORM);
    tpm.perm.rsa_cache.clear_hierarchy(TPM_RH_PLATFORM);
    tpm.vol.objects.flush_hierarchy(TPM_RH_PLATFORM);
    tpm.vol.platform_policy = crate::empty_policy();
    tpm.dirty = true;
    Ok(())
}

/// TPM2_DictionaryAttackLockReset (Part 3, 25.2).
pub fn da_lock_reset(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    tpm.perm.failed_tries = 0;
    tpm.dirty = true;
    Ok(())
}

/// TPM2_DictionaryAttackParameters (Part 3, 25.3).
pub fn da_parameters(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let max_tries = param(1, ctx.params.u32())?;
    let recovery_time = param(2, ctx.params.u32())?;
    let lockout_recovery = param(3, ctx.params.u32())?;
    ctx.end()?;
    let p = &mut tpm.perm;
    p.max_tries = max_tries;
    p.recovery_time = recovery_time;
    p.lockout_recovery = lockout_recovery;
    p.failed_tries = p.failed_tries.min(max_tries);
    tpm.dirty = true;
    Ok(())
}
