//! Session and command audit: digests recomputed here from Part 1, 33 (cpHash, rpHash and the
//! digest chains), exclusivity, the attestation commands and persistence of the audit state.

use super::*;
use tpm_proto::attest::{Attested, TpmsAttest};
use tpm_proto::types::TPMA_SESSION_CONTINUE_SESSION;

/// ECC P-256 ECDSA/SHA-256 signing key: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

/// A command whose only session is HMAC session `s` with `attrs` (unbound and unsalted, so
/// its key is empty and the empty hmac is accepted); the whole response.
fn with_session(t: &mut Tpm, cc: u32, s: u32, attrs: u8, params: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.put_u16(TPM_ST_SESSIONS);
    v.put_u32(0);
    v.put_u32(cc);
    let mut a = Vec::new();
    a.put_u32(s);
    a.put_tpm2b(&[9u8; 16]);
    a.put_u8(attrs);
    a.put_tpm2b(b"");
    v.put_u32(a.len() as u32);
    v.extend_from_slice(&a);
    v.extend_from_slice(params);
    let n = v.len() as u32;
    v.patch_u32(2, n);
    t.execute(0, &v)
}

/// GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_MANUFACTURER, 1) parameters.
fn get_cap_params() -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u32(6);
    p.put_u32(0x105);
    p.put_u32(1);
    p
}

/// Response parameters of a session response (after `parameterSize`).
fn rparams(r: &[u8]) -> &[u8] {
    let n = u32::from_be_bytes(r[10..14].try_into().unwrap()) as usize;
    &r[14..14 + n]
}

/// The response attributes byte of the single session of `r`.
fn rattrs(r: &[u8]) -> u8 {
    let after = &r[14 + rparams(r).len()..];
    let nonce = usize::from(u16::from_be_bytes([after[0], after[1]]));
    after[2 + nonce]
}

fn attested(r: &[u8], params_at: usize) -> TpmsAttest {
    let mut rd = Reader::new(&r[params_at..]);
    let b = rd.tpm2b(2048).unwrap();
    TpmsAttest::read(&mut Reader::new(b)).unwrap()
}

/// GetSessionAuditDigest of `s`, unsigned: (exclusive, digest) or the response code.
fn session_audit(t: &mut Tpm, s: u32) -> Result<(bool, Vec<u8>), u32> {
    let mut p = Vec::new();
    p.put_tpm2b(b"q");
    p.put_u16(TPM_ALG_NULL);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_GET_SESSION_AUDIT_DIGEST,
            &[TPM_RH_ENDORSEMENT, TPM_RH_NULL, s],
            Some(&[b"", b""]),
            &p,
        ),
    );
    match rc(&r) {
        0 => match attested(&r, 14).attested {
            Attested::SessionAudit {
                exclusive_session,
                session_digest,
            } => Ok((exclusive_session, session_digest)),
            a => panic!("{a:?}"),
        },
        e => Err(e),
    }
}

const AUDIT: u8 = TPMA_SESSION_AUDIT | TPMA_SESSION_CONTINUE_SESSION;

#[test]
fn session_audit_digest_chains_cp_and_rp_hashes() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_HMAC);
    assert_eq!(session_audit(&mut t, s), Err(rc_handle(TPM_RC_TYPE, 3)));
    let cp = sha(
        &digest::SHA256,
        &[&TPM_CC_GET_CAPABILITY.to_be_bytes(), &get_cap_params()],
    );
    let mut want = vec![0u8; 32];
    for _ in 0..2 {
        let r = with_session(&mut t, TPM_CC_GET_CAPABILITY, s, AUDIT, &get_cap_params());
        assert_eq!(rc(&r), 0);
        assert_eq!(rattrs(&r), AUDIT | TPMA_SESSION_AUDIT_EXCLUSIVE);
        let rp = sha(
            &digest::SHA256,
            &[&[0; 4], &TPM_CC_GET_CAPABILITY.to_be_bytes(), rparams(&r)],
        );
        want = sha(&digest::SHA256, &[&want, &cp, &rp]);
    }
    assert_eq!(session_audit(&mut t, s), Ok((true, want.clone())));
    // The report itself ran outside the session: no longer exclusive.
    assert_eq!(session_audit(&mut t, s), Ok((false, want.clone())));
    let r = with_session(
        &mut t,
        TPM_CC_GET_CAPABILITY,
        s,
        AUDIT | TPMA_SESSION_AUDIT_EXCLUSIVE,
        &get_cap_params(),
    );
    assert_eq!(rc(&r), TPM_RC_EXCLUSIVE);

    // The digest travels with a saved context.
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_SAVE, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    assert_eq!(session_audit(&mut t, s), Err(rc_handle(TPM_RC_HANDLE, 3)));
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_CONTEXT_LOAD, &[], None, &r[10..]))),
        0
    );
    assert_eq!(session_audit(&mut t, s), Ok((false, want)));

    // auditReset starts again from zeros and makes the session exclusive again.
    let r = with_session(
        &mut t,
        TPM_CC_GET_CAPABILITY,
        s,
        AUDIT | TPMA_SESSION_AUDIT_RESET,
        &get_cap_params(),
    );
    assert_eq!(
        rattrs(&r) & TPMA_SESSION_AUDIT_EXCLUSIVE,
        TPMA_SESSION_AUDIT_EXCLUSIVE
    );
    let rp = sha(
        &digest::SHA256,
        &[&[0; 4], &TPM_CC_GET_CAPABILITY.to_be_bytes(), rparams(&r)],
    );
    let reset = sha(&digest::SHA256, &[&[0; 32], &cp, &rp]);
    let r = with_session(
        &mut t,
        TPM_CC_GET_CAPABILITY,
        s,
        AUDIT | TPMA_SESSION_AUDIT_EXCLUSIVE,
        &get_cap_params(),
    );
    assert_eq!(rc(&r), 0);
    let rp = sha(
        &digest::SHA256,
        &[&[0; 4], &TPM_CC_GET_CAPABILITY.to_be_bytes(), rparams(&r)],
    );
    let reset = sha(&digest::SHA256, &[&reset, &cp, &rp]);
    assert_eq!(session_audit(&mut t, s), Ok((true, reset)));

    // Flushed: gone, and a new session on the same handle starts unaudited.
    t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &s.to_be_bytes()));
    let (s2, _) = start_session(&mut t, TPM_SE_HMAC);
    assert_eq!(s2, s);
    assert_eq!(session_audit(&mut t, s2), Err(rc_handle(TPM_RC_TYPE, 3)));
}

#[test]
fn audit_attribute_errors() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_HMAC);
    let r = with_session(
        &mut t,
        TPM_CC_GET_CAPABILITY,
        s,
        TPMA_SESSION_AUDIT_RESET,
        &get_cap_params(),
    );
    assert_eq!(rc(&r), rc_session(TPM_RC_ATTRIBUTES, 1));
    // A policy session is not a TPMI_SH_HMAC.
    let (p, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(session_audit(&mut t, p), Err(rc_handle(TPM_RC_VALUE, 3)));
    // A password session cannot audit.
    let mut c = cmd(TPM_CC_GET_CAPABILITY, &[], Some(&[b""]), &get_cap_params());
    c[20] = AUDIT; // the password session's attributes: after authSize, handle, empty nonce
    assert_eq!(rc(&t.execute(0, &c)), rc_session(TPM_RC_ATTRIBUTES, 1));
}

/// GetCommandAuditDigest, unsigned or signed by `key`: (counter, alg, audit digest, command
/// digest).
fn command_audit(t: &mut Tpm, key: u32) -> (u64, u16, Vec<u8>, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(b"");
    p.put_u16(TPM_ALG_NULL);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_GET_COMMAND_AUDIT_DIGEST,
            &[TPM_RH_ENDORSEMENT, key],
            Some(&[b"", b""]),
            &p,
        ),
    );
    assert_eq!(rc(&r), 0);
    match attested(&r, 14).attested {
        Attested::CommandAudit {
            audit_counter,
            digest_alg,
            audit_digest,
            command_digest,
        } => (audit_counter, digest_alg, audit_digest, command_digest),
        a => panic!("{a:?}"),
    }
}

fn set_audit(t: &mut Tpm, alg: u16, set: &[u32], clear: &[u32]) -> (u32, Vec<u8>) {
    let mut p = Vec::new();
    p.put_u16(alg);
    for l in [set, clear] {
        p.put_u32(l.len() as u32);
        l.iter().for_each(|c| p.put_u32(*c));
    }
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS,
            &[TPM_RH_OWNER],
            Some(&[b""]),
            &p,
        ),
    );
    (rc(&r), p)
}

fn get_random(t: &mut Tpm) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_GET_RANDOM, &[], None, &8u16.to_be_bytes()));
    assert_eq!(rc(&r), 0);
    r[10..].to_vec()
}

#[test]
fn command_audit_digest_counter_and_list() {
    let mut t = started();
    let sha512 = &digest::SHA512;
    // As manufactured: SHA-512, only SetCommandCodeAuditStatus, counter 0, digest clear.
    let list0 = sha(
        sha512,
        &[&TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS.to_be_bytes()],
    );
    assert_eq!(
        command_audit(&mut t, TPM_RH_NULL),
        (0, TPM_ALG_SHA512, vec![], list0)
    );

    let (r, p) = set_audit(&mut t, TPM_ALG_NULL, &[TPM_CC_GET_RANDOM, 0x2000_0000], &[]);
    assert_eq!(r, 0);
    let cp = sha(
        sha512,
        &[
            &TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS.to_be_bytes(),
            &TPM_RH_OWNER.to_be_bytes(),
            &p,
        ],
    );
    let rp = |cc: u32, params: &[u8]| sha(sha512, &[&[0; 4], &cc.to_be_bytes(), params]);
    let mut want = sha(
        sha512,
        &[
            &[0; 64],
            &cp,
            &rp(TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS, b""),
        ],
    );
    let cp_rand = sha(
        sha512,
        &[&TPM_CC_GET_RANDOM.to_be_bytes(), &8u16.to_be_bytes()],
    );
    for _ in 0..2 {
        let out = get_random(&mut t);
        want = sha(sha512, &[&want, &cp_rand, &rp(TPM_CC_GET_RANDOM, &out)]);
    }
    // Unimplemented 0x20000000 was ignored; the list is ascending.
    let list = sha(
        sha512,
        &[
            &TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS.to_be_bytes(),
            &TPM_CC_GET_RANDOM.to_be_bytes(),
        ],
    );
    assert_eq!(
        command_audit(&mut t, TPM_RH_NULL),
        (1, TPM_ALG_SHA512, want.clone(), list.clone())
    );
    let r = get_cap(&mut t, TPM_CAP_AUDIT_COMMANDS, 0, 16);
    assert_eq!(&r[15..], &hex("00000002 00000140 0000017B")[..]);

    // The list and counter are permanent state.
    let perm = t.save(BlobType::Permanent);
    let mut u = Tpm::restore(&perm, None).unwrap();
    assert_eq!(u.perm.command_audit, t.perm.command_audit);
    u.init();
    assert_eq!(rc(&u.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    assert_eq!(
        command_audit(&mut u, TPM_RH_NULL),
        (1, TPM_ALG_SHA512, vec![], list)
    );

    // A signed report clears the digest; the next audited command bumps the counter.
    let key = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    assert_eq!(command_audit(&mut t, key).2, want);
    assert_eq!(command_audit(&mut t, TPM_RH_NULL).2, vec![]);

    // Algorithm and lists cannot change together; an algorithm change is not itself audited.
    assert_eq!(
        set_audit(&mut t, TPM_ALG_SHA256, &[TPM_CC_GET_TIME], &[]).0,
        rc_param(TPM_RC_VALUE, 1)
    );
    assert_eq!(set_audit(&mut t, TPM_ALG_SHA256, &[], &[]).0, 0);
    assert_eq!(command_audit(&mut t, TPM_RH_NULL).2, vec![]);
    let out = get_random(&mut t);
    let cp_rand = sha(
        &digest::SHA256,
        &[&TPM_CC_GET_RANDOM.to_be_bytes(), &8u16.to_be_bytes()],
    );
    let rp = sha(
        &digest::SHA256,
        &[&[0; 4], &TPM_CC_GET_RANDOM.to_be_bytes(), &out],
    );
    let (counter, alg, d, _) = command_audit(&mut t, TPM_RH_NULL);
    assert_eq!(
        (counter, alg, d),
        (
            2,
            TPM_ALG_SHA256,
            sha(&digest::SHA256, &[&[0; 32], &cp_rand, &rp])
        )
    );

    // SetCommandCodeAuditStatus cannot be cleared.
    assert_eq!(
        set_audit(
            &mut t,
            TPM_ALG_NULL,
            &[],
            &[TPM_CC_GET_RANDOM, TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS]
        )
        .0,
        0
    );
    assert_eq!(
        t.perm.command_audit.commands,
        vec![TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS]
    );
    // A too-long list is refused.
    let mut p = Vec::new();
    p.put_u16(TPM_ALG_NULL);
    p.put_u32(257);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS,
            &[TPM_RH_OWNER],
            Some(&[b""]),
            &p,
        ),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 2));
}
