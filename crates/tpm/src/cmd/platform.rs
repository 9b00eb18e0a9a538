//! Platform and hierarchy management (Part 3, 24.3 SetPrimaryPolicy, 26.2 PP_Commands, 26.3
//! SetAlgorithmSet, 29.3 ClockRateAdjust).

use super::COMMANDS;
use crate::Tpm;
use crate::dispatch::{Ctx, param};
use crate::pp;
use crate::state::{Auth, Policy};
use tpm_proto::object::MAX_DIGEST;
use tpm_proto::*;

/// `MAX_CAP_CC`: largest `TPML_CC`.
const MAX_CAP_CC: u32 = 256;

/// A `TPML_CC` parameter (also SetCommandCodeAuditStatus's).
pub(super) fn read_cc_list(ctx: &mut Ctx<'_>, n: u32) -> Result<Vec<u32>, u32> {
    let count = param(n, ctx.params.u32())?;
    if count > MAX_CAP_CC {
        return Err(rc_param(TPM_RC_SIZE, n));
    }
    (0..count).map(|_| param(n, ctx.params.u32())).collect()
}

/// TPM2_PP_Commands (Part 3, 26.2): adds and removes commands from the list that needs
/// physical presence when authorized by the platform. Commands that are not implemented or
/// cannot take physical presence are ignored, and PP_Commands itself always stays on the
/// list; the dispatcher has already required physical presence for this command.
pub fn pp_commands(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let set = read_cc_list(ctx, 1)?;
    let clear = read_cc_list(ctx, 2)?;
    ctx.end()?;
    let implemented = |cc: &u32| COMMANDS.binary_search_by_key(cc, |d| d.cc).is_ok();
    let mut list = tpm.perm.pp_list.clone();
    for cc in set {
        if pp::capable(cc) && implemented(&cc) && !list.contains(&cc) {
            list.push(cc);
        }
    }
    list.retain(|cc| *cc == TPM_CC_PP_COMMANDS || !clear.contains(cc));
    list.sort_unstable();
    if list != tpm.perm.pp_list {
        tpm.perm.pp_list = list;
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_SetPrimaryPolicy (Part 3, 24.3): a hierarchy's authPolicy. The digest must have the
/// size of `hashAlg` (empty with TPM_ALG_NULL, which removes the policy).
pub fn set_primary_policy(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let digest = param(1, ctx.params.tpm2b(MAX_DIGEST))?;
    let alg = param(2, ctx.params.hash_alg(true))?;
    ctx.end()?;
    if digest.len() != digest_size(alg).unwrap_or(0) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let policy = Policy {
        alg,
        digest: Auth::new(digest).ok_or(rc_param(TPM_RC_SIZE, 1))?,
    };
    let slot = match ctx.handles[0] {
        TPM_RH_OWNER => &mut tpm.perm.owner_policy,
        TPM_RH_ENDORSEMENT => &mut tpm.perm.endorsement_policy,
        TPM_RH_LOCKOUT => &mut tpm.perm.lockout_policy,
        // platformPolicy is cleared at every Startup(CLEAR): volatile state.
        TPM_RH_PLATFORM => {
            tpm.vol.platform_policy = policy;
            return Ok(());
        }
        _ => return Err(rc_handle(TPM_RC_VALUE, 1)),
    };
    if *slot != policy {
        *slot = policy;
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_SetAlgorithmSet (Part 3, 26.3): records the vendor-defined algorithm set
/// (`TPM_PT_ALGORITHM_SET`). This TPM has one set, so the value changes nothing else.
pub fn set_algorithm_set(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let set = param(1, ctx.params.u32())?;
    ctx.end()?;
    if tpm.perm.algorithm_set != set {
        tpm.perm.algorithm_set = set;
        tpm.dirty = true;
    }
    Ok(())
}

/// TPM2_ClockRateAdjust (Part 3, 29.3): `rateAdjust` (TPM_CLOCK_ADJUST, −3 … 3) speeds up or
/// slows down the rate at which Clock and Time advance, within the platform's limits.
pub fn clock_rate_adjust(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let adjust = param(1, ctx.params.u8())? as i8;
    ctx.end()?;
    if !(TPM_CLOCK_COARSE_SLOWER..=TPM_CLOCK_COARSE_FASTER).contains(&adjust) {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    tpm.adjust_clock_rate(adjust);
    Ok(())
}
