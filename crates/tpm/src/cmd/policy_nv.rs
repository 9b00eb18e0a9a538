//! Policy assertions on NV contents, the TPM's clock and NV state (Part 3, 23.9 PolicyNV,
//! 23.10 PolicyCounterTimer, 23.20 PolicyNvWritten, 23.22 PolicyAuthorizeNV). A trial
//! session skips the checks and only extends its digest.

use crate::Tpm;
use crate::crypto::{ct_eq, hash};
use crate::dispatch::{Ctx, param};
use crate::nv;
use crate::session::{Session, policy};
use std::cmp::Ordering;
use tpm_proto::object::MAX_DIGEST;
use tpm_proto::*;

/// `TPMS_TIME_INFO` marshaled: time, clock, resetCount, restartCount, safe (25 octets).
const TIME_INFO_SIZE: usize = 25;

/// `TPMT_HA` at its largest (hashAlg + SHA-512 digest).
const MAX_TPMT_HA: usize = 2 + 64;

/// The policy session in handle slot `n` (1-based).
pub(super) fn session_mut(tpm: &mut Tpm, h: u32, n: u32) -> Result<&mut Session, u32> {
    tpm.vol
        .sessions
        .get_mut(h)
        .ok_or(rc_handle(TPM_RC_HANDLE, n))
}

fn is_trial(tpm: &Tpm, h: u32, n: u32) -> Result<bool, u32> {
    let s = tpm.vol.sessions.get(h).ok_or(rc_handle(TPM_RC_HANDLE, n))?;
    Ok(s.kind == TPM_SE_TRIAL)
}

/// A `TPM_EO` parameter (unmarshal: TPM_RC_VALUE for an unknown operation).
fn read_eo(ctx: &mut Ctx<'_>, n: u32) -> Result<u16, u32> {
    let op = param(n, ctx.params.u16())?;
    if op > TPM_EO_BITCLEAR {
        return Err(rc_param(TPM_RC_VALUE, n));
    }
    Ok(op)
}

/// `a op b` for two big-endian integers of the same length (reference
/// `PolicySptCheckCondition`); signed operations read them as two's complement.
pub fn condition(op: u16, a: &[u8], b: &[u8]) -> bool {
    let unsigned = a.cmp(b);
    let negative = |x: &[u8]| x.first().is_some_and(|v| v & 0x80 != 0);
    // Same sign: two's complement orders like the unsigned value.
    let signed = match (negative(a), negative(b)) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => unsigned,
    };
    match op {
        TPM_EO_EQ => unsigned == Ordering::Equal,
        TPM_EO_NEQ => unsigned != Ordering::Equal,
        TPM_EO_SIGNED_GT => signed == Ordering::Greater,
        TPM_EO_UNSIGNED_GT => unsigned == Ordering::Greater,
        TPM_EO_SIGNED_LT => signed == Ordering::Less,
        TPM_EO_UNSIGNED_LT => unsigned == Ordering::Less,
        TPM_EO_SIGNED_GE => signed != Ordering::Less,
        TPM_EO_UNSIGNED_GE => unsigned != Ordering::Less,
        TPM_EO_SIGNED_LE => signed != Ordering::Greater,
        TPM_EO_UNSIGNED_LE => unsigned != Ordering::Greater,
        TPM_EO_BITSET => a.iter().zip(b).all(|(x, y)| x & y == *y),
        TPM_EO_BITCLEAR => a.iter().zip(b).all(|(x, y)| x & y == 0),
        _ => false,
    }
}

/// `args = H(operandB || offset || operation)`, the first step of both comparison assertions.
fn args_hash(s: &Session, operand: &[u8], offset: u16, op: u16) -> Result<Vec<u8>, u32> {
    let d = hash(s.hash, &[operand, &offset.to_be_bytes(), &op.to_be_bytes()]);
    Ok(d.ok_or(TPM_RC_HASH)?.as_ref().to_vec())
}

/// TPM2_PolicyNV (Part 3, 23.9): `operandB op nvIndex[offset..]`;
/// `policyDigest = H(policyDigest || TPM_CC_PolicyNV || args || nvIndex→Name)`.
pub fn policy_nv(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let operand = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let offset = param(2, ctx.params.u16())?;
    let op = read_eo(ctx, 3)?;
    ctx.end()?;
    let [auth_handle, h, sh] = ctx.handles;
    if !is_trial(tpm, sh, 3)? {
        let idx = tpm.nv_index(h)?;
        nv::read_access(auth_handle, h, idx.attrs())?;
        let off = usize::from(offset);
        if off > idx.data.len() {
            return Err(rc_param(TPM_RC_VALUE, 2));
        }
        let a = idx
            .data
            .get(off..off + operand.len())
            .ok_or(rc_param(TPM_RC_SIZE, 1))?;
        if !condition(op, a, &operand) {
            return Err(TPM_RC_POLICY);
        }
    }
    let name = tpm.handle_name(h);
    let s = session_mut(tpm, sh, 3)?;
    let args = args_hash(s, &operand, offset, op)?;
    policy::extend(s, TPM_CC_POLICY_NV, &[&args, &name])
}

/// `TPMS_TIME_INFO` as PolicyCounterTimer compares it (reference `TimeGetMarshaled`; not
/// obfuscated: no key is involved).
fn time_info(tpm: &Tpm) -> [u8; TIME_INFO_SIZE] {
    let mut b = Vec::with_capacity(TIME_INFO_SIZE);
    b.put_u64(tpm.time());
    b.put_u64(tpm.clock());
    b.put_u32(tpm.perm.reset_count);
    b.put_u32(tpm.perm.restart_count);
    b.put_u8(u8::from(tpm.vol.clock_safe));
    let mut out = [0u8; TIME_INFO_SIZE];
    out.copy_from_slice(&b);
    out
}

/// TPM2_PolicyCounterTimer (Part 3, 23.10): `operandB op TPMS_TIME_INFO[offset..]`;
/// `policyDigest = H(policyDigest || TPM_CC_PolicyCounterTimer || args)`. The range is
/// checked even in a trial session: a reference outside the structure makes no policy.
pub fn policy_counter_timer(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    let operand = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let offset = param(2, ctx.params.u16())?;
    let op = read_eo(ctx, 3)?;
    ctx.end()?;
    let off = usize::from(offset);
    if off > TIME_INFO_SIZE {
        return Err(rc_param(TPM_RC_VALUE, 2));
    }
    if off + operand.len() > TIME_INFO_SIZE {
        return Err(TPM_RC_RANGE);
    }
    let sh = ctx.handles[0];
    if !is_trial(tpm, sh, 1)? {
        let info = time_info(tpm);
        if !condition(op, &info[off..off + operand.len()], &operand) {
            return Err(TPM_RC_POLICY);
        }
    }
    let s = session_mut(tpm, sh, 1)?;
    let args = args_hash(s, &operand, offset, op)?;
    policy::extend(s, TPM_CC_POLICY_COUNTER_TIMER, &[&args])
}

/// TPM2_PolicyNvWritten (Part 3, 23.20): the authorized NV index must (not) have been written;
/// a conflicting earlier setting is TPM_RC_VALUE.
pub fn policy_nv_written(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let written = param(1, ctx.params.yes_no())?;
    ctx.end()?;
    let s = session_mut(tpm, ctx.handles[0], 1)?;
    if s.policy.nv_written.is_some_and(|w| w != written) {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    s.policy.nv_written = Some(written);
    policy::extend(s, TPM_CC_POLICY_NV_WRITTEN, &[&[u8::from(written)]])
}

/// TPM2_PolicyAuthorizeNV (Part 3, 23.22): the index holds a `TPMT_HA` naming the approved
/// policy; if it equals the current digest, the digest becomes
/// `H(0 || TPM_CC_PolicyAuthorizeNV || nvIndex→Name)`.
pub fn policy_authorize_nv(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    ctx.end()?;
    let [auth_handle, h, sh] = ctx.handles;
    if !is_trial(tpm, sh, 3)? {
        let idx = tpm.nv_index(h)?;
        nv::read_access(auth_handle, h, idx.attrs())?;
        let stored = &idx.data[..idx.data.len().min(MAX_TPMT_HA)];
        let mut r = Reader::new(stored);
        let alg = r.u16().map_err(|_| TPM_RC_INSUFFICIENT)?;
        let size = digest_size(alg).ok_or(TPM_RC_HASH)?;
        let approved = r.take(size).map_err(|_| TPM_RC_INSUFFICIENT)?;
        let s = tpm
            .vol
            .sessions
            .get(sh)
            .ok_or(rc_handle(TPM_RC_HANDLE, 3))?;
        if alg != s.hash {
            return Err(TPM_RC_HASH);
        }
        if !ct_eq(approved, &s.policy.digest) {
            return Err(TPM_RC_VALUE);
        }
    }
    let name = tpm.handle_name(h);
    let s = session_mut(tpm, sh, 3)?;
    s.policy.digest.fill(0);
    policy::extend(s, TPM_CC_POLICY_AUTHORIZE_NV, &[&name])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        let (one, two, minus) = ([0u8, 1], [0u8, 2], [0xFFu8, 0xFF]);
        assert!(condition(TPM_EO_EQ, &one, &one));
        assert!(condition(TPM_EO_NEQ, &one, &two));
        assert!(condition(TPM_EO_UNSIGNED_LT, &one, &two));
        assert!(condition(TPM_EO_UNSIGNED_GT, &minus, &one));
        assert!(condition(TPM_EO_SIGNED_LT, &minus, &one));
        assert!(condition(TPM_EO_SIGNED_GE, &two, &minus));
        assert!(condition(TPM_EO_SIGNED_LE, &one, &one));
        assert!(condition(TPM_EO_UNSIGNED_GE, &two, &two));
        assert!(!condition(TPM_EO_UNSIGNED_LE, &two, &one));
        assert!(condition(TPM_EO_BITSET, &[0b1011], &[0b0011]));
        assert!(!condition(TPM_EO_BITSET, &[0b1001], &[0b0011]));
        assert!(condition(TPM_EO_BITCLEAR, &[0b1000], &[0b0011]));
        assert!(!condition(TPM_EO_BITCLEAR, &[0b1010], &[0b0011]));
        assert!(condition(TPM_EO_EQ, &[], &[]));
        assert!(!condition(0x0C, &one, &one));
    }
}
