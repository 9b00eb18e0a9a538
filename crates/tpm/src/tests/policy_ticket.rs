//! TPMT_TK_AUTH tickets from PolicySigned/PolicySecret and their replay with PolicyTicket:
//! digests computed here from Part 3's formulas, every check of the ticket and its timeout.

use super::*;
use std::sync::atomic::Ordering;
use tpm_proto::attest::TpmtTicket;

/// ECC P-256 ECDSA/SHA-256 signing key: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

/// CreatePrimary under the owner; returns (handle, name).
fn signing_key(t: &mut Tpm) -> (u32, Vec<u8>) {
    let h = rsp_handle(&create_primary_rsp(t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    let r = t.execute(0, &cmd(TPM_CC_READ_PUBLIC, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    rd.tpm2b(4096).unwrap();
    (h, rd.tpm2b(66).unwrap().to_vec())
}

/// TPM2_Sign of `digest` with a NULL scheme and ticket: the TPMT_SIGNATURE bytes.
fn sign(t: &mut Tpm, key: u32, digest: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.put_u16(TPM_ALG_NULL);
    TpmtTicket::null(TPM_ST_HASHCHECK).write(&mut p);
    let r = t.execute(0, &cmd(TPM_CC_SIGN, &[key], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    r[14..r.len() - 5].to_vec()
}

/// Parses `timeout || TPMT_TK_AUTH`.
fn timeout_and_ticket(body: &[u8]) -> (Vec<u8>, TpmtTicket) {
    let mut rd = Reader::new(body);
    let timeout = rd.tpm2b(8).unwrap().to_vec();
    (timeout, TpmtTicket::read(&mut rd).unwrap())
}

/// PolicySigned by `key` (signature made here) with an empty cpHashA.
fn policy_signed(
    t: &mut Tpm,
    key: u32,
    s: u32,
    nonce: &[u8],
    policy_ref: &[u8],
    exp: i32,
) -> Result<(Vec<u8>, TpmtTicket), u32> {
    let a_hash = sha(
        &digest::SHA256,
        &[nonce, &exp.to_be_bytes(), b"", policy_ref],
    );
    let sig = sign(t, key, &a_hash);
    let mut p = Vec::new();
    p.put_tpm2b(nonce);
    p.put_tpm2b(b"");
    p.put_tpm2b(policy_ref);
    p.put_u32(exp as u32);
    p.extend_from_slice(&sig);
    let r = t.execute(0, &cmd(TPM_CC_POLICY_SIGNED, &[key, s], None, &p));
    match rc(&r) {
        0 => Ok(timeout_and_ticket(&r[10..])),
        e => Err(e),
    }
}

/// PolicySecret with the owner's (empty) password.
fn policy_secret(
    t: &mut Tpm,
    s: u32,
    nonce: &[u8],
    policy_ref: &[u8],
    exp: i32,
) -> Result<(Vec<u8>, TpmtTicket), u32> {
    let mut p = Vec::new();
    p.put_tpm2b(nonce);
    p.put_tpm2b(b"");
    p.put_tpm2b(policy_ref);
    p.put_u32(exp as u32);
    let r = t.execute(
        0,
        &cmd(TPM_CC_POLICY_SECRET, &[TPM_RH_OWNER, s], Some(&[b""]), &p),
    );
    match rc(&r) {
        0 => Ok(timeout_and_ticket(&r[14..])),
        e => Err(e),
    }
}

fn policy_ticket(
    t: &mut Tpm,
    s: u32,
    timeout: &[u8],
    policy_ref: &[u8],
    name: &[u8],
    tk: &TpmtTicket,
) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(timeout);
    p.put_tpm2b(b"");
    p.put_tpm2b(policy_ref);
    p.put_tpm2b(name);
    tk.write(&mut p);
    rc(&t.execute(0, &cmd(0x172, &[s], None, &p)))
}

fn flush(t: &mut Tpm, h: u32) {
    let r = t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &h.to_be_bytes()));
    assert_eq!(rc(&r), 0);
}

fn policy_digest(t: &mut Tpm, s: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_POLICY_GET_DIGEST, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    r[12..].to_vec()
}

/// `H(H(0^32 || cc || name) || policyRef)`.
fn expected(cc: u32, name: &[u8], policy_ref: &[u8]) -> Vec<u8> {
    let d = sha(&digest::SHA256, &[&[0u8; 32], &cc.to_be_bytes(), name]);
    sha(&digest::SHA256, &[&d, policy_ref])
}

#[test]
fn policy_signed_ticket_replays_with_policy_ticket() {
    let mut t = started();
    let clock = t.manual_clock();
    let (key, name) = signing_key(&mut t);
    let (s, nonce) = start_session(&mut t, TPM_SE_POLICY);
    let start = t.clock();
    let (timeout, tk) = policy_signed(&mut t, key, s, &nonce, b"ref", -60).unwrap();
    assert_eq!(timeout, (start + 60_000).to_be_bytes());
    assert_eq!(
        (tk.tag, tk.hierarchy, tk.digest.len()),
        (TPM_ST_AUTH_SIGNED, TPM_RH_OWNER, 64)
    );
    // Expiration 0 or positive: no ticket.
    let (s0, n0) = start_session(&mut t, TPM_SE_POLICY);
    let (to, tk0) = policy_signed(&mut t, key, s0, &n0, b"ref", 60).unwrap();
    assert_eq!((to.len(), tk0), (0, TpmtTicket::null(TPM_ST_AUTH_SIGNED)));
    flush(&mut t, s0);
    flush(&mut t, s);

    let (s2, _) = start_session(&mut t, TPM_SE_POLICY);
    // Every part of the assertion is covered by the ticket.
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"ref", &[0, 0x0b, 1, 2], &tk),
        rc_param(TPM_RC_TICKET, 5)
    );
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"other", &name, &tk),
        rc_param(TPM_RC_TICKET, 5)
    );
    let longer = (start + 70_000).to_be_bytes();
    assert_eq!(
        policy_ticket(&mut t, s2, &longer, b"ref", &name, &tk),
        rc_param(TPM_RC_TICKET, 5)
    );
    let secret = TpmtTicket {
        tag: TPM_ST_AUTH_SECRET,
        ..tk.clone()
    };
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"ref", &name, &secret),
        rc_param(TPM_RC_TICKET, 5)
    );
    let wrong_tag = TpmtTicket {
        tag: TPM_ST_HASHCHECK,
        ..tk.clone()
    };
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"ref", &name, &wrong_tag),
        rc_param(TPM_RC_TAG, 5)
    );
    let wrong_hierarchy = TpmtTicket {
        hierarchy: TPM_RH_LOCKOUT,
        ..tk.clone()
    };
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"ref", &name, &wrong_hierarchy),
        rc_param(TPM_RC_VALUE, 5)
    );
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout[..4], b"ref", &name, &tk),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(policy_digest(&mut t, s2), vec![0u8; 32]);
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    assert_eq!(
        policy_ticket(&mut t, trial, &timeout, b"ref", &name, &tk),
        rc_handle(TPM_RC_ATTRIBUTES, 1)
    );
    flush(&mut t, trial);

    // The genuine ticket: the same digest PolicySigned gives, and the same time limit.
    assert_eq!(policy_ticket(&mut t, s2, &timeout, b"ref", &name, &tk), 0);
    assert_eq!(
        policy_digest(&mut t, s2),
        expected(TPM_CC_POLICY_SIGNED, &name, b"ref")
    );
    assert_eq!(
        t.vol.sessions.get(s2).unwrap().policy.timeout,
        Some(start + 60_000)
    );
    // A nonce-bound ticket outlives its session and a TPM Reset, not its timeout.
    t.execute(
        0,
        &cmd(TPM_CC_SHUTDOWN, &[], None, &TPM_SU_CLEAR.to_be_bytes()),
    );
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    let (s3, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(policy_ticket(&mut t, s3, &timeout, b"ref", &name, &tk), 0);
    flush(&mut t, s3);
    clock.fetch_add(60_000, Ordering::Relaxed);
    let (s4, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(
        policy_ticket(&mut t, s4, &timeout, b"ref", &name, &tk),
        rc_param(TPM_RC_EXPIRED, 1)
    );
}

#[test]
fn ticket_without_nonce_dies_at_tpm_reset() {
    let mut t = started();
    t.manual_clock();
    let (key, name) = signing_key(&mut t);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let (timeout, tk) = policy_signed(&mut t, key, s, b"", b"", -100).unwrap();
    assert_eq!(timeout[0] & 0x80, 0x80);
    let (s2, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(policy_ticket(&mut t, s2, &timeout, b"", &name, &tk), 0);
    t.execute(
        0,
        &cmd(TPM_CC_SHUTDOWN, &[], None, &TPM_SU_CLEAR.to_be_bytes()),
    );
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    let (s3, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout, b"", &name, &tk),
        rc_param(TPM_RC_TICKET, 5)
    );
}

#[test]
fn policy_secret_honours_expiration_and_issues_tickets() {
    let mut t = started();
    let clock = t.manual_clock();
    let owner = TPM_RH_OWNER.to_be_bytes();
    let (s, nonce) = start_session(&mut t, TPM_SE_POLICY);
    let start = t.clock();
    // Positive expiration: a time limit, no ticket.
    let (to, tk) = policy_secret(&mut t, s, &nonce, b"", 5).unwrap();
    assert_eq!((to.len(), tk), (0, TpmtTicket::null(TPM_ST_AUTH_SECRET)));
    assert_eq!(
        t.vol.sessions.get(s).unwrap().policy.timeout,
        Some(start + 5000)
    );
    // Negative: the ticket, in the owner hierarchy.
    let (s1, n1) = start_session(&mut t, TPM_SE_POLICY);
    let (timeout, tk) = policy_secret(&mut t, s1, &n1, b"r", -30).unwrap();
    assert_eq!(timeout, (start + 30_000).to_be_bytes());
    assert_eq!((tk.tag, tk.hierarchy), (TPM_ST_AUTH_SECRET, TPM_RH_OWNER));
    let (s2, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(policy_ticket(&mut t, s2, &timeout, b"r", &owner, &tk), 0);
    assert_eq!(
        policy_digest(&mut t, s2),
        expected(TPM_CC_POLICY_SECRET, &owner, b"r")
    );
    flush(&mut t, s2);
    // A trial session gets neither limit nor ticket.
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    let (to, tk) = policy_secret(&mut t, trial, b"", b"", -30).unwrap();
    assert_eq!((to.len(), tk.hierarchy), (0, TPM_RH_NULL));
    assert_eq!(t.vol.sessions.get(trial).unwrap().policy.timeout, None);
    // Already past: the session started 10 s ago, the limit is 2 s from its start.
    clock.fetch_add(10_000, Ordering::Relaxed);
    assert_eq!(
        policy_secret(&mut t, s1, &n1, b"", 2).unwrap_err(),
        rc_param(TPM_RC_EXPIRED, 4)
    );
    // The session limited to 5 s no longer authorizes.
    assert!(t.vol.sessions.get(s).unwrap().policy.timeout < Some(t.clock()));
}

#[test]
fn policy_secret_with_another_sessions_nonce_is_tpm_rc_nonce() {
    // The reference's PolicyParameterChecks blames nonceTPM (parameter 1) with TPM_RC_NONCE for
    // PolicySecret as for PolicySigned.
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let (_, other) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(
        policy_secret(&mut t, s, &other, b"", 0).unwrap_err(),
        rc_param(TPM_RC_NONCE, 1)
    );
    // Its own nonce, or none, is accepted.
    let own = t.vol.sessions.get(s).unwrap().nonce_tpm.clone();
    assert!(policy_secret(&mut t, s, &own, b"", 0).is_ok());
    assert!(policy_secret(&mut t, s, b"", b"", 0).is_ok());
}
