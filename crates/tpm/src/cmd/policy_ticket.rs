//! Authorization tickets (`TPMT_TK_AUTH`, Part 2, 10.7.5) issued by PolicySigned/PolicySecret
//! with a negative expiration, and TPM2_PolicyTicket (Part 3, 23.5) which replays them.
//!
//! The ticket is `HMAC_contextAlg(proof, (TPM_ST_AUTH_xxx || timeout || cpHashA || policyRef ||
//! authName))` with the proof of the authorizing entity's hierarchy (the per-reset null proof
//! for the NULL hierarchy) and contextAlg = SHA-512, as for every other ticket of this engine.
//!
//! `timeout` is TPM-specific (TPM2B_TIMEOUT, 8 bytes here): the `Clock` value (ms) at which the
//! authorization expires, with bit 63 set when it was not bound to a session nonce. Such an
//! authorization counts from the last TPM Reset/Restart and must die with it (Part 3, 23.3);
//! since `Clock` does not restart, the HMAC of a flagged ticket also covers `resetCount ||
//! restartCount`, the rest of this TPM's timeout data, so a replay after a Reset or Restart
//! fails the ticket check.

use super::object::proof;
use crate::Tpm;
use crate::crypto::{ct_eq, hmac};
use crate::dispatch::{Ctx, param};
use crate::session::{Session, policy};
use tpm_proto::attest::TpmtTicket;
use tpm_proto::object::MAX_DIGEST;
use tpm_proto::*;

/// TPM2_PolicyTicket (0x172; not in tpm-proto's code list yet).
pub const TPM_CC_POLICY_TICKET: u32 = 0x0000_0172;

/// Bit 63 of the timeout: the authorization expires at TPM Reset/Restart.
const EXPIRES_ON_RESET: u64 = 1 << 63;

/// `TPM2B_NAME` maximum (nameAlg + SHA-512 digest).
const MAX_NAME: usize = 66;

/// The hierarchy whose proof protects tickets of entity `h` (reference `EntityGetHierarchy`):
/// objects their own, NV indices platform or owner, other permanent handles and PCRs owner.
pub fn entity_hierarchy(tpm: &Tpm, h: u32) -> u32 {
    if let Some(o) = tpm.object(h) {
        return o.hierarchy;
    }
    if let Some(i) = tpm.perm.nv.indices.get(&h) {
        return if i.attrs().has(TpmaNv::PLATFORMCREATE) {
            TPM_RH_PLATFORM
        } else {
            TPM_RH_OWNER
        };
    }
    match h {
        TPM_RH_PLATFORM | TPM_RH_ENDORSEMENT | TPM_RH_NULL => h,
        _ => TPM_RH_OWNER,
    }
}

/// The timeout buffer for an authorization expiring at `clock_ms`.
fn timeout_buffer(clock_ms: u64, expires_on_reset: bool) -> [u8; 8] {
    let flag = if expires_on_reset {
        EXPIRES_ON_RESET
    } else {
        0
    };
    ((clock_ms & !EXPIRES_ON_RESET) | flag).to_be_bytes()
}

/// The ticket digest over `timeout` (as returned to the caller), cpHashA, policyRef, authName.
fn auth_digest(
    tpm: &Tpm,
    tag: u16,
    hierarchy: u32,
    timeout: &[u8; 8],
    (cp, policy_ref, name): (&[u8], &[u8], &[u8]),
) -> Result<Vec<u8>, u32> {
    let mut boot = Vec::new();
    if u64::from_be_bytes(*timeout) & EXPIRES_ON_RESET != 0 {
        boot.extend_from_slice(&tpm.perm.reset_count.to_be_bytes());
        boot.extend_from_slice(&tpm.perm.restart_count.to_be_bytes());
    }
    let d = hmac(
        TPM_ALG_SHA512,
        proof(tpm, hierarchy),
        &[&tag.to_be_bytes(), timeout, &boot, cp, policy_ref, name],
    )
    .ok_or(TPM_RC_FAILURE)?;
    Ok(d.as_ref().to_vec())
}

/// The expiry a PolicySigned/PolicySecret `expiration` sets on policy session `s` (`None` for
/// zero and in a trial session), after checking a given `nonceTPM` against the session's
/// (TPM_RC_NONCE+P1 when it differs, for both commands as in the reference
/// `PolicyParameterChecks`). Bound to nonceTPM the limit counts from the session's
/// start, otherwise from the last TPM Reset/Restart (Part 3, 23.3); `clocks` is `(Clock, Clock
/// at that Reset/Restart)`.
pub fn expiry(
    s: &Session,
    nonce: &[u8],
    expiration: i32,
    (now, init_clock): (u64, u64),
) -> Result<Option<u64>, u32> {
    if s.kind == TPM_SE_TRIAL {
        return Ok(None);
    }
    if !nonce.is_empty() && !ct_eq(nonce, &s.nonce_tpm) {
        return Err(rc_param(TPM_RC_NONCE, 1));
    }
    if expiration == 0 {
        return Ok(None);
    }
    let base = if nonce.is_empty() {
        init_clock
    } else {
        s.start_clock
    };
    let t = base.saturating_add(u64::from(expiration.unsigned_abs()) * 1000);
    if t <= now {
        return Err(rc_param(TPM_RC_EXPIRED, 4));
    }
    Ok(Some(t))
}

/// PolicySigned's/PolicySecret's response: for a negative expiration that set a timeout, the
/// timeout and a `TPMT_TK_AUTH` of `tag` (`TPM_ST_AUTH_SIGNED`/`TPM_ST_AUTH_SECRET`) over
/// `assertion` (cpHashA, policyRef, authName); otherwise an empty timeout and a NULL ticket.
pub fn respond(
    tpm: &Tpm,
    (tag, hierarchy): (u16, u32),
    (timeout, expiration, nonce_empty): (Option<u64>, i32, bool),
    assertion: (&[u8], &[u8], &[u8]),
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let Some(t) = timeout.filter(|_| expiration < 0) else {
        out.put_u16(0);
        TpmtTicket::null(tag).write(out);
        return Ok(());
    };
    let timeout = timeout_buffer(t, nonce_empty);
    let digest = auth_digest(tpm, tag, hierarchy, &timeout, assertion)?;
    out.put_tpm2b(&timeout);
    TpmtTicket {
        tag,
        hierarchy,
        digest,
    }
    .write(out);
    Ok(())
}

/// TPM2_PolicyTicket (Part 3, 23.5): a ticket from PolicySigned/PolicySecret stands in for the
/// signed or secret assertion; the policy is updated as that command would have.
pub fn policy_ticket(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let timeout = param(1, ctx.params.tpm2b(8))?.to_vec();
    let cp = param(2, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let policy_ref = param(3, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let name = param(4, ctx.params.tpm2b(MAX_NAME))?.to_vec();
    let tk = param(5, TpmtTicket::read(&mut ctx.params))?;
    ctx.end()?;
    let cc = match tk.tag {
        TPM_ST_AUTH_SIGNED => TPM_CC_POLICY_SIGNED,
        TPM_ST_AUTH_SECRET => TPM_CC_POLICY_SECRET,
        _ => return Err(rc_param(TPM_RC_TAG, 5)),
    };
    if !matches!(
        tk.hierarchy,
        TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM | TPM_RH_NULL
    ) {
        return Err(rc_param(TPM_RC_VALUE, 5));
    }
    let now = tpm.clock();
    let s = tpm
        .vol
        .sessions
        .get(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    // A trial session authorizes nothing, so it has no use for a ticket (Part 3, 23.5).
    if s.kind == TPM_SE_TRIAL {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let timeout: [u8; 8] = timeout.try_into().map_err(|_| rc_param(TPM_RC_SIZE, 1))?;
    let expires = u64::from_be_bytes(timeout) & !EXPIRES_ON_RESET;
    if expires != 0 && expires <= now {
        return Err(rc_param(TPM_RC_EXPIRED, 1));
    }
    if !cp.is_empty() {
        if Some(cp.len()) != digest_size(s.hash) {
            return Err(rc_param(TPM_RC_SIZE, 2));
        }
        if s.policy.cp_hash.as_ref().is_some_and(|c| *c != cp) {
            return Err(TPM_RC_CPHASH);
        }
    }
    let want = auth_digest(
        tpm,
        tk.tag,
        tk.hierarchy,
        &timeout,
        (&cp, &policy_ref, &name),
    )?;
    if !ct_eq(&want, &tk.digest) {
        return Err(rc_param(TPM_RC_TICKET, 5));
    }
    let s = tpm
        .vol
        .sessions
        .get_mut(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if !cp.is_empty() {
        s.policy.cp_hash = Some(cp);
    }
    if expires != 0 {
        s.policy.timeout = Some(s.policy.timeout.map_or(expires, |t| t.min(expires)));
    }
    policy::extend(s, cc, &[&name])?;
    policy::update_ref(s, &policy_ref)
}
