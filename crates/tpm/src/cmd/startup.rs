//! TPM2_Startup and TPM2_Shutdown (Part 3, 9.3 and 9.4).

use crate::Tpm;
use crate::dispatch::{Ctx, param};
use crate::nv::StartupKind;
use crate::pcr;
use crate::state::{Auth, Orderly, SavedState};
use tpm_proto::*;

fn su(ctx: &mut Ctx<'_>) -> Result<u16, u32> {
    let su = param(1, ctx.params.u16())?;
    ctx.end()?;
    if su != TPM_SU_CLEAR && su != TPM_SU_STATE {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    Ok(su)
}

/// TPM2_Startup: TPM Reset, TPM Restart (CLEAR after Shutdown(STATE)) or TPM Resume (STATE).
pub fn startup(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    if tpm.vol.started {
        return Err(TPM_RC_INITIALIZE);
    }
    let su = su(ctx)?;
    super::misc::run_self_test(tpm)?;
    let prev = tpm.perm.orderly;
    let clock = tpm.clock();
    // The save area of a Shutdown(STATE): all of it for TPM Resume, its state-reset part
    // (null proof, context counter, context-saved sessions) for TPM Restart as well.
    let area = if prev == Orderly::State {
        tpm.perm.saved.take()
    } else {
        None
    };
    let (resume, area) = if su == TPM_SU_STATE {
        match area {
            Some(s) if s.pcr_alloc == tpm.vol.pcr_alloc => (Some(s), None),
            other => {
                // Nothing (valid) to resume from: keep the area as it was and refuse.
                tpm.perm.saved = other;
                return Err(rc_param(TPM_RC_VALUE, 1));
            }
        }
    } else {
        (None, area)
    };
    let state_reset = resume.as_ref().or(area.as_ref());

    let v = &mut tpm.vol;
    pcr::reset_all(&mut v.pcrs, ctx.locality);
    v.ph_enable = true;
    match &resume {
        Some(s) => {
            for (b, bank) in v.pcrs.iter_mut().enumerate() {
                for (p, slot) in bank.iter_mut().enumerate() {
                    if pcr::state_saved(p) {
                        *slot = s.pcrs[b][p];
                    }
                }
            }
            v.pcr_update_counter = s.pcr_update_counter;
            v.sh_enable = s.sh_enable;
            v.eh_enable = s.eh_enable;
            v.ph_enable_nv = s.ph_enable_nv;
            v.platform_auth = s.platform_auth;
            v.platform_policy = s.platform_policy;
        }
        None => {
            v.pcr_update_counter = 0;
            v.sh_enable = true;
            v.eh_enable = true;
            v.ph_enable_nv = true;
            v.platform_auth = Auth::default();
            v.platform_policy = crate::empty_policy();
        }
    }
    let kind = match (&resume, prev) {
        (Some(_), _) => StartupKind::Resume,
        (None, Orderly::State) => StartupKind::Restart,
        (None, _) => StartupKind::Reset,
    };
    match state_reset {
        Some(s) => {
            // Reference `HierarchyStartup`/`SessionStartup`: nullProof (hence the null seed)
            // and the context-saved sessions survive Restart and Resume; loaded ones do not.
            if let Some(np) = s.null_proof {
                v.null_proof = np;
            }
            v.context_counter = s.context_counter;
            v.sessions = s.sessions.clone();
        }
        None => {
            // TPM Reset: new commit nonce, counter and array (reference `CryptStartup`).
            tpm.commit = super::ecdh::Commit::new();
            // TPM Reset: the null seed is new (fresh at `_TPM_Init`), so its RSA primaries go.
            if tpm.perm.rsa_cache.clear_hierarchy(TPM_RH_NULL) {
                tpm.dirty = true;
            }
        }
    }
    let p = &mut tpm.perm;
    p.nv.startup(kind);
    if prev == Orderly::State {
        // TPM Restart or Resume.
        p.restart_count = p.restart_count.wrapping_add(1);
    } else {
        // TPM Reset.
        p.reset_count = p.reset_count.wrapping_add(1);
        p.restart_count = 0;
    }
    v.clock_safe = prev.is_orderly();
    // A non-orderly end after a DA-protected authorization counts as one failure (reference
    // `DAStartup` with USE_DA_USED), and the self-healing period restarts.
    if prev == Orderly::DaUsed && p.recovery_time != 0 && p.failed_tries < p.max_tries {
        p.failed_tries += 1;
    }
    if !prev.is_orderly() {
        p.self_heal_from = clock;
    }
    if p.lockout_recovery == 0 && p.lockout_blocked_until == u64::MAX {
        // With lockoutRecovery 0 a lockoutAuth failure is only cleared by a TPM Reset/Restart.
        p.lockout_blocked_until = 0;
    }
    p.saved = None;
    p.orderly = Orderly::None;
    v.started = true;
    tpm.dirty = true;
    Ok(())
}

/// TPM2_Shutdown: records an orderly shutdown; STATE also saves what Startup(STATE) restores.
pub fn shutdown(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let su = su(ctx)?;
    if su == TPM_SU_STATE {
        let v = &tpm.vol;
        tpm.perm.saved = Some(SavedState {
            pcr_alloc: v.pcr_alloc,
            pcrs: v.pcrs.clone(),
            pcr_update_counter: v.pcr_update_counter,
            sh_enable: v.sh_enable,
            eh_enable: v.eh_enable,
            ph_enable_nv: v.ph_enable_nv,
            platform_auth: v.platform_auth,
            platform_policy: v.platform_policy,
            null_proof: Some(v.null_proof),
            context_counter: v.context_counter,
            sessions: v.sessions.saved_only(),
        });
        tpm.perm.orderly = Orderly::State;
    } else {
        tpm.perm.saved = None;
        tpm.perm.orderly = Orderly::Clear;
    }
    tpm.perm.clock = tpm.clock();
    tpm.dirty = true;
    Ok(())
}
