//! Audit commands (Part 3, 18.5 GetSessionAuditDigest, 18.6 GetCommandAuditDigest, 21.2
//! SetCommandCodeAuditStatus). The digests themselves are kept by the dispatcher
//! (`crate::audit`).

use super::COMMANDS;
use super::attest::{attest_or_unsigned, resolve_scheme};
use super::platform::read_cc_list;
use crate::Tpm;
use crate::dispatch::{Ctx, param};
use crate::object::Object;
use tpm_proto::attest::Attested;
use tpm_proto::object::{MAX_DIGEST, TpmtScheme};
use tpm_proto::*;

/// TPM2_SetCommandCodeAuditStatus (Part 3, 21.2): either changes the audit hash algorithm (the
/// lists must then be empty, TPM_RC_VALUE+P1) or adds/removes implemented commands; the command
/// itself always stays audited.
pub fn set_command_code_audit_status(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    let alg = param(1, ctx.params.hash_alg(true))?;
    let set = read_cc_list(ctx, 2)?;
    let clear = read_cc_list(ctx, 3)?;
    ctx.end()?;
    let ca = &mut tpm.perm.command_audit;
    if alg != TPM_ALG_NULL && alg != ca.alg {
        if !set.is_empty() || !clear.is_empty() {
            return Err(rc_param(TPM_RC_VALUE, 1));
        }
        ca.alg = alg;
        // The old digest cannot continue under a new algorithm; this command is not audited.
        tpm.vol.audit.alg_changed = true;
        tpm.vol.audit.command_digest.clear();
        tpm.dirty = true;
        return Ok(());
    }
    let before = ca.commands.clone();
    for cc in set {
        if COMMANDS.binary_search_by_key(&cc, |d| d.cc).is_ok()
            && let Err(i) = ca.commands.binary_search(&cc)
        {
            ca.commands.insert(i, cc);
        }
    }
    for cc in clear {
        if cc != TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS {
            ca.commands.retain(|&c| c != cc);
        }
    }
    if ca.commands != before {
        tpm.dirty = true;
    }
    Ok(())
}

/// The parameters both audit reports take, `qualifyingData` and `inScheme`, and the signing
/// key at handle 2 (`TPMI_DH_OBJECT+`): `None` for `TPM_RH_NULL`.
fn read_report(tpm: &Tpm, ctx: &mut Ctx<'_>) -> Result<(Vec<u8>, TpmtScheme, Option<Object>), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    ctx.end()?;
    let h = ctx.handles[1];
    if h == TPM_RH_NULL {
        return Ok((extra, scheme, None));
    }
    let o = tpm.object(h).cloned().ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    if !o.has(TPMA_OBJECT_SIGN_ENCRYPT) {
        return Err(rc_handle(TPM_RC_KEY, 2));
    }
    Ok((extra, scheme, Some(o)))
}

/// Signs `attested` with `key` under its scheme, or without a key returns it unsigned.
fn report(
    tpm: &mut Tpm,
    key: Option<&Object>,
    (extra, scheme): (Vec<u8>, TpmtScheme),
    attested: Attested,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let signer = match key {
        Some(o) => Some((o, resolve_scheme(o, scheme, 2)?)),
        None => None,
    };
    attest_or_unsigned(tpm, signer, extra, attested, out)
}

/// TPM2_GetCommandAuditDigest (Part 3, 18.6): the command audit digest, counter, algorithm and
/// the digest of the audited command list; a signed report clears the audit digest.
pub fn get_command_audit_digest(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let (extra, scheme, key) = read_report(tpm, ctx)?;
    let ca = &tpm.perm.command_audit;
    let attested = Attested::CommandAudit {
        audit_counter: ca.counter,
        digest_alg: ca.alg,
        audit_digest: tpm.vol.audit.command_digest.clone(),
        command_digest: ca.list_digest(),
    };
    report(tpm, key.as_ref(), (extra, scheme), attested, out)?;
    if key.is_some() {
        tpm.vol.audit.command_digest.clear();
    }
    Ok(())
}

/// TPM2_GetSessionAuditDigest (Part 3, 18.5): an HMAC session's audit digest and whether it is
/// the exclusive audit session (TPM_RC_TYPE+H3 for a session never used for audit).
pub fn get_session_audit_digest(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let (extra, scheme, key) = read_report(tpm, ctx)?;
    let h = ctx.handles[2];
    let digest = tpm
        .vol
        .audit
        .digest(h)
        .ok_or(rc_handle(TPM_RC_TYPE, 3))?
        .to_vec();
    let attested = Attested::SessionAudit {
        exclusive_session: tpm.vol.audit.exclusive == Some(h),
        session_digest: digest,
    };
    report(tpm, key.as_ref(), (extra, scheme), attested, out)
}
