//! PolicyNV, PolicyCounterTimer, PolicyNvWritten and PolicyAuthorizeNV: digests computed here
//! from Part 3's formulas; checks of real sessions and of the authorization they give.

use super::*;
use std::sync::atomic::Ordering;

pub(super) const IDX: u32 = 0x0150_0020;
/// ownerwrite|authwrite|ownerread|authread.
pub(super) const RW: u32 = 0x0006_0006;
/// policywrite (Part 2, 13.4 TPMA_NV bit 3).
pub(super) const POLICYWRITE: u32 = 1 << 3;
const AUTHREAD: u32 = 1 << 18;
const OWNERREAD: u32 = 1 << 17;

pub(super) const SHA256: &digest::Algorithm = &digest::SHA256;

/// NV_DefineSpace under the owner with an empty authValue.
pub(super) fn define_nv(t: &mut Tpm, h: u32, attrs: u32, policy: &[u8], size: u16) -> u32 {
    let mut p = Vec::new();
    p.put_u16(0);
    TpmsNvPublic {
        nv_index: h,
        name_alg: TPM_ALG_SHA256,
        attributes: TpmaNv(attrs),
        auth_policy: policy.to_vec(),
        data_size: size,
    }
    .write_2b(&mut p);
    rc(&t.execute(
        0,
        &cmd(TPM_CC_NV_DEFINE_SPACE, &[TPM_RH_OWNER], Some(&[b""]), &p),
    ))
}

pub(super) fn write_params(data: &[u8], offset: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    p.put_u16(offset);
    p
}

/// NV_Write authorized by `auth` with an empty password.
pub(super) fn nv_write(t: &mut Tpm, auth: u32, h: u32, data: &[u8]) -> u32 {
    let p = write_params(data, 0);
    rc(&t.execute(0, &cmd(TPM_CC_NV_WRITE, &[auth, h], Some(&[b""]), &p)))
}

/// The index's current Name (NV_ReadPublic).
pub(super) fn nv_name(t: &mut Tpm, h: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_NV_READ_PUBLIC, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    rd.tpm2b(4096).unwrap();
    rd.tpm2b(66).unwrap().to_vec()
}

/// A policy command on session `s` alone (no authorization area).
pub(super) fn run(t: &mut Tpm, cc: u32, s: u32, params: &[u8]) -> u32 {
    rc(&t.execute(0, &cmd(cc, &[s], None, params)))
}

pub(super) fn policy_digest(t: &mut Tpm, s: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_POLICY_GET_DIGEST, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    r[12..].to_vec()
}

/// `H(old || cc || parts...)`.
pub(super) fn ext(old: &[u8], cc: u32, parts: &[&[u8]]) -> Vec<u8> {
    let cc = cc.to_be_bytes();
    let mut all: Vec<&[u8]> = vec![old, &cc];
    all.extend_from_slice(parts);
    sha(SHA256, &all)
}

/// A command whose first handle is authorized by policy session `s` (unbound, unsalted, no
/// authValue in the policy: an empty HMAC).
pub(super) fn with_policy(cc: u32, handles: &[u32], s: u32, params: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.put_u16(TPM_ST_SESSIONS);
    v.put_u32(0);
    v.put_u32(cc);
    for h in handles {
        v.put_u32(*h);
    }
    let mut a = Vec::new();
    TpmsAuthCommand {
        session_handle: s,
        nonce: &[9u8; 16],
        attributes: tpm_proto::types::TPMA_SESSION_CONTINUE_SESSION,
        hmac: &[],
    }
    .write(&mut a);
    v.put_u32(a.len() as u32);
    v.extend_from_slice(&a);
    v.extend_from_slice(params);
    let n = v.len() as u32;
    v.patch_u32(2, n);
    v
}

fn nv_params(operand: &[u8], offset: u16, op: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(operand);
    p.put_u16(offset);
    p.put_u16(op);
    p
}

fn policy_nv(t: &mut Tpm, auth: u32, s: u32, operand: &[u8], offset: u16, op: u16) -> u32 {
    let p = nv_params(operand, offset, op);
    rc(&t.execute(0, &cmd(TPM_CC_POLICY_NV, &[auth, IDX, s], Some(&[b""]), &p)))
}

fn args(operand: &[u8], offset: u16, op: u16) -> Vec<u8> {
    sha(SHA256, &[operand, &offset.to_be_bytes(), &op.to_be_bytes()])
}

#[test]
fn policy_nv_compares_index_contents() {
    let mut t = started();
    assert_eq!(define_nv(&mut t, IDX, RW, &[], 8), 0);
    // A trial session skips the checks, so an unwritten index is fine.
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    assert_eq!(
        policy_nv(&mut t, TPM_RH_OWNER, trial, b"12345678", 0, TPM_EO_EQ),
        0
    );
    let name = nv_name(&mut t, IDX);
    let want = ext(
        &[0; 32],
        TPM_CC_POLICY_NV,
        &[&args(b"12345678", 0, 0), &name],
    );
    assert_eq!(policy_digest(&mut t, trial), want);

    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(
        policy_nv(&mut t, TPM_RH_OWNER, s, &[0, 5], 6, TPM_EO_EQ),
        TPM_RC_NV_UNINITIALIZED
    );
    assert_eq!(
        nv_write(&mut t, TPM_RH_OWNER, IDX, &[0, 0, 0, 0, 0, 0, 0, 5]),
        0
    );
    assert_eq!(policy_nv(&mut t, IDX, s, &[0, 5], 6, TPM_EO_EQ), 0);
    assert_eq!(policy_nv(&mut t, IDX, s, &[0, 9], 6, TPM_EO_UNSIGNED_LT), 0);
    assert_eq!(
        policy_nv(&mut t, IDX, s, &[0, 9], 6, TPM_EO_UNSIGNED_GT),
        TPM_RC_POLICY
    );
    assert_eq!(policy_nv(&mut t, IDX, s, &[0xFF], 7, TPM_EO_SIGNED_GT), 0);
    assert_eq!(policy_nv(&mut t, IDX, s, &[0b101], 7, TPM_EO_BITSET), 0);
    // The digest names the index as it is now (WRITTEN set).
    let written = nv_name(&mut t, IDX);
    assert_ne!(written, name);
    let mut d = vec![0u8; 32];
    for (o, off, op) in [
        (&[0u8, 5][..], 6u16, TPM_EO_EQ),
        (&[0, 9], 6, TPM_EO_UNSIGNED_LT),
        (&[0xFF], 7, TPM_EO_SIGNED_GT),
        (&[0b101], 7, TPM_EO_BITSET),
    ] {
        d = ext(&d, TPM_CC_POLICY_NV, &[&args(o, off, op), &written]);
    }
    assert_eq!(policy_digest(&mut t, s), d);
    // Range, size and operation errors.
    assert_eq!(
        policy_nv(&mut t, IDX, s, &[0], 9, TPM_EO_EQ),
        rc_param(TPM_RC_VALUE, 2)
    );
    assert_eq!(
        policy_nv(&mut t, IDX, s, &[0; 4], 6, TPM_EO_EQ),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(
        policy_nv(&mut t, IDX, s, &[0], 0, 0x0C),
        rc_param(TPM_RC_VALUE, 3)
    );
    // The read rules of the index apply: it has no PPREAD.
    assert_eq!(
        policy_nv(&mut t, TPM_RH_PLATFORM, s, &[0], 0, TPM_EO_EQ),
        TPM_RC_NV_AUTHORIZATION
    );
    assert_eq!(policy_digest(&mut t, s), d);
}

#[test]
fn policy_counter_timer_reads_time_info() {
    let mut t = started();
    let clock = t.manual_clock();
    clock.fetch_add(5000, Ordering::Relaxed);
    let p = |o: &[u8], off: u16, op: u16| nv_params(o, off, op);
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    // Range checks hold for trial sessions too: TPMS_TIME_INFO is 25 octets.
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, trial, &p(&[], 26, 0)),
        rc_param(TPM_RC_VALUE, 2)
    );
    assert_eq!(
        run(
            &mut t,
            TPM_CC_POLICY_COUNTER_TIMER,
            trial,
            &p(&[0; 8], 20, 0)
        ),
        TPM_RC_RANGE
    );
    assert_eq!(
        run(
            &mut t,
            TPM_CC_POLICY_COUNTER_TIMER,
            trial,
            &p(b"12345678", 4, 0)
        ),
        0
    );
    let want = ext(
        &[0; 32],
        TPM_CC_POLICY_COUNTER_TIMER,
        &[&args(b"12345678", 4, 0)],
    );
    assert_eq!(policy_digest(&mut t, trial), want);

    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let time = t.time();
    assert!(time >= 5000);
    // time >= 5000 ms; clock < 2^63; safe = YES at offset 24.
    let ge = p(&5000u64.to_be_bytes(), 0, TPM_EO_UNSIGNED_GE);
    assert_eq!(run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, s, &ge), 0);
    let lt = p(&(time + 1).to_be_bytes(), 0, TPM_EO_UNSIGNED_LT);
    assert_eq!(run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, s, &lt), 0);
    let safe = p(&[1], 24, TPM_EO_EQ);
    assert_eq!(run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, s, &safe), 0);
    let unsafe_ = p(&[0], 24, TPM_EO_EQ);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, s, &unsafe_),
        TPM_RC_POLICY
    );
    clock.fetch_add(10, Ordering::Relaxed);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_COUNTER_TIMER, s, &lt),
        TPM_RC_POLICY
    );
}

#[test]
fn policy_nv_written_gates_the_authorized_index() {
    let mut t = started();
    let yes_no = |t: &mut Tpm, s, v: u8| run(t, TPM_CC_POLICY_NV_WRITTEN, s, &[v]);
    let not_written = ext(&[0; 32], TPM_CC_POLICY_NV_WRITTEN, &[&[0]]);
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    assert_eq!(yes_no(&mut t, trial, 0), 0);
    assert_eq!(policy_digest(&mut t, trial), not_written);
    assert_eq!(yes_no(&mut t, trial, 0), 0);
    assert_eq!(yes_no(&mut t, trial, 1), rc_param(TPM_RC_VALUE, 1));
    assert_eq!(yes_no(&mut t, trial, 2), rc_param(TPM_RC_VALUE, 1));

    // Write-once index: policywrite with "not yet written".
    let attrs = POLICYWRITE | OWNERREAD | AUTHREAD;
    assert_eq!(define_nv(&mut t, IDX, attrs, &not_written, 4), 0);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let write = |t: &mut Tpm, s| {
        let c = with_policy(TPM_CC_NV_WRITE, &[IDX, IDX], s, &write_params(b"once", 0));
        rc(&t.execute(0, &c))
    };
    assert_eq!(yes_no(&mut t, s, 0), 0);
    assert_eq!(write(&mut t, s), 0);
    // The session was reset by its use; the index is now written.
    assert_eq!(yes_no(&mut t, s, 0), 0);
    assert_eq!(write(&mut t, s), rc_session(TPM_RC_POLICY_FAIL, 1));
}

#[test]
fn policy_authorize_nv_checks_the_stored_policy() {
    let mut t = started();
    assert_eq!(define_nv(&mut t, IDX, RW, &[], 34), 0);
    let name = nv_name(&mut t, IDX);
    let auth_nv = |t: &mut Tpm, auth: u32, s: u32| {
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_POLICY_AUTHORIZE_NV,
                &[auth, IDX, s],
                Some(&[b""]),
                &[],
            ),
        ))
    };
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    assert_eq!(auth_nv(&mut t, IDX, trial), 0);
    assert_eq!(
        policy_digest(&mut t, trial),
        ext(&[0; 32], TPM_CC_POLICY_AUTHORIZE_NV, &[&name])
    );

    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(auth_nv(&mut t, IDX, s), TPM_RC_NV_UNINITIALIZED);
    // The approved policy: PolicyCommandCode(NV_Read), stored as a TPMT_HA.
    let approved = ext(
        &[0; 32],
        TPM_CC_POLICY_COMMAND_CODE,
        &[&TPM_CC_NV_READ.to_be_bytes()],
    );
    let mut ha = TPM_ALG_SHA256.to_be_bytes().to_vec();
    ha.extend_from_slice(&approved);
    assert_eq!(nv_write(&mut t, TPM_RH_OWNER, IDX, &ha), 0);
    let written = nv_name(&mut t, IDX);
    assert_eq!(auth_nv(&mut t, TPM_RH_OWNER, s), TPM_RC_VALUE);
    let cc = TPM_CC_NV_READ.to_be_bytes();
    assert_eq!(run(&mut t, TPM_CC_POLICY_COMMAND_CODE, s, &cc), 0);
    assert_eq!(auth_nv(&mut t, TPM_RH_OWNER, s), 0);
    assert_eq!(
        policy_digest(&mut t, s),
        ext(&[0; 32], TPM_CC_POLICY_AUTHORIZE_NV, &[&written])
    );
    // A TPMT_HA of another hash than the session's.
    let mut sha1 = TPM_ALG_SHA1.to_be_bytes().to_vec();
    sha1.extend_from_slice(&[0; 20]);
    assert_eq!(nv_write(&mut t, TPM_RH_OWNER, IDX, &sha1), 0);
    assert_eq!(auth_nv(&mut t, TPM_RH_OWNER, s), TPM_RC_HASH);
    // Not a hash algorithm at all.
    assert_eq!(nv_write(&mut t, TPM_RH_OWNER, IDX, &[0, 0x25]), 0);
    assert_eq!(auth_nv(&mut t, TPM_RH_OWNER, s), TPM_RC_HASH);
}
