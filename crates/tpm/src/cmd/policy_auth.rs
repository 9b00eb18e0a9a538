//! Policy assertions backed by a signature (Part 3, 23.3 PolicySigned, 23.16 PolicyAuthorize).

use super::attest::verify;
use super::object::ticket;
use super::policy_ticket;
use crate::Tpm;
use crate::crypto::{Hasher, ct_eq};
use crate::dispatch::{Ctx, param};
use crate::session::policy;
use tpm_proto::attest::{TpmtSignature, TpmtTicket};
use tpm_proto::object::MAX_DIGEST;
use tpm_proto::*;

/// `TPM2B_NAME` maximum (nameAlg + SHA-512 digest).
const MAX_NAME: usize = 66;

fn hash_parts(alg: u16, parts: &[&[u8]]) -> Result<Vec<u8>, u32> {
    let mut h = Hasher::new(alg).ok_or(TPM_RC_HASH)?;
    for p in parts {
        h.update(p);
    }
    Ok(h.finish().as_ref().to_vec())
}

/// TPM2_PolicySigned (Part 3, 23.3): `authObject` signed
/// `aHash = H(nonceTPM || expiration || cpHashA || policyRef)`.
///
/// A negative expiration (outside a trial session) returns the timeout and a `TPMT_TK_AUTH`
/// for TPM2_PolicyTicket (`policy_ticket`); otherwise an empty timeout and a NULL ticket.
pub fn policy_signed(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let nonce = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let cp = param(2, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let policy_ref = param(3, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let expiration = param(4, ctx.params.u32())? as i32;
    let sig = param(5, TpmtSignature::read(&mut ctx.params))?;
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[0])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let (now, init_clock) = (tpm.clock(), tpm.clock().saturating_sub(tpm.time()));
    let s = tpm
        .vol
        .sessions
        .get_mut(ctx.handles[1])
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    let timeout = policy_ticket::expiry(s, &nonce, expiration, (now, init_clock))?;
    if s.kind != TPM_SE_TRIAL {
        if !cp.is_empty() {
            if Some(cp.len()) != digest_size(s.hash) {
                return Err(rc_param(TPM_RC_SIZE, 2));
            }
            if s.policy.cp_hash_conflict(&cp) {
                return Err(TPM_RC_CPHASH);
            }
        }
        let alg = match &sig {
            TpmtSignature::Rsa { hash, .. }
            | TpmtSignature::Ecc { hash, .. }
            | TpmtSignature::Hmac { hash, .. } => *hash,
            TpmtSignature::Null => return Err(rc_param(TPM_RC_SCHEME, 5)),
        };
        let a_hash = hash_parts(alg, &[&nonce, &expiration.to_be_bytes(), &cp, &policy_ref])
            .map_err(|_| rc_param(TPM_RC_SCHEME, 5))?;
        if !verify(&o, &a_hash, &sig) {
            return Err(rc_param(TPM_RC_SIGNATURE, 5));
        }
        if !cp.is_empty() {
            s.policy.cp_hash = Some(cp.clone());
        }
        if let Some(t) = timeout {
            s.policy.timeout = Some(s.policy.timeout.map_or(t, |old| old.min(t)));
        }
    }
    policy::extend(s, TPM_CC_POLICY_SIGNED, &[&o.name])?;
    policy::update_ref(s, &policy_ref)?;
    policy_ticket::respond(
        tpm,
        (TPM_ST_AUTH_SIGNED, o.hierarchy),
        (timeout, expiration, nonce.is_empty()),
        (&cp, &policy_ref, &o.name),
        out,
    )
}

/// TPM2_PolicyAuthorize (Part 3, 23.16): replaces the policy digest by
/// `H(0 || TPM_CC_PolicyAuthorize || keySign || policyRef)` (two steps) when `keySign` approved
/// the current digest: `checkTicket` is VerifySignature's ticket over
/// `aHash = H_keySign.nameAlg(approvedPolicy || policyRef)`.
pub fn policy_authorize(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let approved = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let policy_ref = param(2, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let key_sign = param(3, ctx.params.tpm2b(MAX_NAME))?.to_vec();
    let tk = param(4, TpmtTicket::read(&mut ctx.params))?;
    ctx.end()?;
    if tk.tag != TPM_ST_VERIFIED {
        return Err(rc_param(TPM_RC_TAG, 4));
    }
    let name_alg = match key_sign[..] {
        [a, b, ..] => u16::from_be_bytes([a, b]),
        _ => return Err(rc_param(TPM_RC_SIZE, 3)),
    };
    if digest_size(name_alg) != Some(key_sign.len() - 2) {
        return Err(rc_param(TPM_RC_SIZE, 3));
    }
    let s = tpm
        .vol
        .sessions
        .get(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if s.kind != TPM_SE_TRIAL {
        if approved != s.policy.digest {
            return Err(rc_param(TPM_RC_VALUE, 1));
        }
        let a_hash = hash_parts(name_alg, &[&approved, &policy_ref])?;
        // A NULL-hierarchy ticket carries no HMAC, so it can never vouch for a signature.
        if !matches!(
            tk.hierarchy,
            TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM
        ) {
            return Err(rc_param(TPM_RC_VALUE, 4));
        }
        let want = ticket(tpm, tk.hierarchy, TPM_ST_VERIFIED, &[&a_hash, &key_sign])?;
        if !ct_eq(&tk.digest, &want.digest) {
            return Err(rc_param(TPM_RC_VALUE, 4));
        }
    }
    let s = tpm
        .vol
        .sessions
        .get_mut(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    s.policy.digest.fill(0);
    policy::extend(s, TPM_CC_POLICY_AUTHORIZE, &[&key_sign])?;
    policy::update_ref(s, &policy_ref)
}
