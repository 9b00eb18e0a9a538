//! PolicySigned and PolicyAuthorize: digests computed here from Part 3's formulas, signatures
//! made by a key created in the test.

use super::*;
use std::sync::atomic::Ordering;
use tpm_proto::attest::{TpmtSignature, TpmtTicket};

/// ECC P-256 ECDSA/SHA-256 signing key: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

const SHA256: &digest::Algorithm = &digest::SHA256;

/// CreatePrimary under the owner; returns (handle, name).
fn signing_key(t: &mut Tpm) -> (u32, Vec<u8>) {
    let h = rsp_handle(&create_primary_rsp(t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    let r = t.execute(0, &cmd(TPM_CC_READ_PUBLIC, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    rd.tpm2b(4096).unwrap();
    (h, rd.tpm2b(66).unwrap().to_vec())
}

fn sign(t: &mut Tpm, key: u32, digest: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.put_u16(TPM_ALG_NULL);
    TpmtTicket::null(0x8024).write(&mut p);
    let r = t.execute(0, &cmd(TPM_CC_SIGN, &[key], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    r[14..r.len() - 5].to_vec()
}

fn verify_signature(t: &mut Tpm, key: u32, digest: &[u8], sig: &[u8]) -> TpmtTicket {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.extend_from_slice(sig);
    let r = t.execute(0, &cmd(TPM_CC_VERIFY_SIGNATURE, &[key], None, &p));
    assert_eq!(rc(&r), 0);
    TpmtTicket::read(&mut Reader::new(&r[10..])).unwrap()
}

fn policy_digest(t: &mut Tpm, s: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_POLICY_GET_DIGEST, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    r[12..].to_vec()
}

fn policy_command_code(t: &mut Tpm, s: u32, cc: u32) {
    let r = t.execute(
        0,
        &cmd(TPM_CC_POLICY_COMMAND_CODE, &[s], None, &cc.to_be_bytes()),
    );
    assert_eq!(rc(&r), 0);
}

fn authorize(
    t: &mut Tpm,
    s: u32,
    approved: &[u8],
    policy_ref: &[u8],
    name: &[u8],
    tk: &TpmtTicket,
) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(approved);
    p.put_tpm2b(policy_ref);
    p.put_tpm2b(name);
    tk.write(&mut p);
    rc(&t.execute(0, &cmd(TPM_CC_POLICY_AUTHORIZE, &[s], None, &p)))
}

/// `H(H(0^32 || cc || name) || policyRef)`: PolicyUpdate from a reset digest.
fn expected(cc: u32, name: &[u8], policy_ref: &[u8]) -> Vec<u8> {
    let d = sha(SHA256, &[&[0u8; 32], &cc.to_be_bytes(), name]);
    sha(SHA256, &[&d, policy_ref])
}

#[test]
fn policy_authorize_trial_digest_resets_then_extends() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_TRIAL);
    policy_command_code(&mut t, s, TPM_CC_UNSEAL);
    let mut name = vec![0x00, 0x0b];
    name.extend_from_slice(&sha(SHA256, &[b"some key"]));
    let tk = TpmtTicket::null(TPM_ST_VERIFIED);
    assert_eq!(authorize(&mut t, s, &[], b"ref", &name, &tk), 0);
    assert_eq!(
        policy_digest(&mut t, s),
        expected(TPM_CC_POLICY_AUTHORIZE, &name, b"ref")
    );
    // keySign must be a name: nameAlg plus a digest of that size.
    assert_eq!(
        authorize(&mut t, s, &[], b"", &name[..20], &tk),
        rc_param(TPM_RC_SIZE, 3)
    );
}

#[test]
fn policy_authorize_checks_the_verified_ticket() {
    let mut t = started();
    let (key, name) = signing_key(&mut t);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    policy_command_code(&mut t, s, TPM_CC_UNSEAL);
    let approved = policy_digest(&mut t, s);
    let a_hash = sha(SHA256, &[&approved, b"ref"]);
    let sig = sign(&mut t, key, &a_hash);
    let tk = verify_signature(&mut t, key, &a_hash, &sig);
    assert_eq!(tk.hierarchy, TPM_RH_OWNER);

    // Wrong current digest, other policyRef, tampered or NULL ticket: refused, digest kept.
    assert_eq!(
        authorize(&mut t, s, &[1u8; 32], b"ref", &name, &tk),
        rc_param(TPM_RC_VALUE, 1)
    );
    assert_eq!(
        authorize(&mut t, s, &approved, b"other", &name, &tk),
        rc_param(TPM_RC_VALUE, 4)
    );
    let mut bad = tk.clone();
    bad.digest[0] ^= 1;
    assert_eq!(
        authorize(&mut t, s, &approved, b"ref", &name, &bad),
        rc_param(TPM_RC_VALUE, 4)
    );
    let null = TpmtTicket::null(TPM_ST_VERIFIED);
    assert_eq!(
        authorize(&mut t, s, &approved, b"ref", &name, &null),
        rc_param(TPM_RC_VALUE, 4)
    );
    let mut wrong_tag = tk.clone();
    wrong_tag.tag = TPM_ST_AUTH_SECRET;
    assert_eq!(
        authorize(&mut t, s, &approved, b"ref", &name, &wrong_tag),
        rc_param(TPM_RC_TAG, 4)
    );
    assert_eq!(policy_digest(&mut t, s), approved);

    assert_eq!(authorize(&mut t, s, &approved, b"ref", &name, &tk), 0);
    assert_eq!(
        policy_digest(&mut t, s),
        expected(TPM_CC_POLICY_AUTHORIZE, &name, b"ref")
    );
}

fn policy_signed(
    t: &mut Tpm,
    key: u32,
    s: u32,
    nonce: &[u8],
    policy_ref: &[u8],
    expiration: i32,
    sig: &[u8],
) -> (u32, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(nonce);
    p.put_tpm2b(&[]);
    p.put_tpm2b(policy_ref);
    p.put_u32(expiration as u32);
    p.extend_from_slice(sig);
    let r = t.execute(0, &cmd(TPM_CC_POLICY_SIGNED, &[key, s], None, &p));
    (rc(&r), r[10..].to_vec())
}

#[test]
fn policy_signed_verifies_and_extends() {
    let mut t = started();
    let (key, name) = signing_key(&mut t);
    let (s, nonce) = start_session(&mut t, TPM_SE_POLICY);
    let a_hash = sha(SHA256, &[&nonce, &0i32.to_be_bytes(), b"", b"ref"]);
    let sig = sign(&mut t, key, &a_hash);
    // Parses as an ECDSA signature, as the key's scheme says.
    assert!(matches!(
        TpmtSignature::read(&mut Reader::new(&sig)).unwrap(),
        TpmtSignature::Ecc { .. }
    ));

    let other = sign(&mut t, key, &sha(SHA256, &[b"something else"]));
    let (r, _) = policy_signed(&mut t, key, s, &nonce, b"ref", 0, &other);
    assert_eq!(r, rc_param(TPM_RC_SIGNATURE, 5));
    let (r, _) = policy_signed(&mut t, key, s, &[9u8; 32], b"ref", 0, &sig);
    assert_eq!(r, rc_param(TPM_RC_NONCE, 1));
    let (r, _) = policy_signed(&mut t, key, s, &nonce, b"refX", 0, &sig);
    assert_eq!(r, rc_param(TPM_RC_SIGNATURE, 5));
    assert_eq!(policy_digest(&mut t, s), vec![0u8; 32]);

    let (r, body) = policy_signed(&mut t, key, s, &nonce, b"ref", 0, &sig);
    assert_eq!(r, 0);
    // Empty timeout, NULL TPMT_TK_AUTH.
    assert_eq!(body, hex("0000 8025 40000007 0000"));
    assert_eq!(
        policy_digest(&mut t, s),
        expected(TPM_CC_POLICY_SIGNED, &name, b"ref")
    );

    // A trial session takes the assertion without a signature check.
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    let (r, _) = policy_signed(&mut t, key, trial, &[], b"ref", 0, &other);
    assert_eq!(r, 0);
    assert_eq!(
        policy_digest(&mut t, trial),
        expected(TPM_CC_POLICY_SIGNED, &name, b"ref")
    );
}

#[test]
fn policy_signed_expiration_counts_from_session_start() {
    let mut t = started();
    let clock = t.manual_clock();
    let (key, _) = signing_key(&mut t);
    let (s, nonce) = start_session(&mut t, TPM_SE_POLICY);
    let start = t.clock();
    let exp = -2i32;
    let a_hash = sha(SHA256, &[&nonce, &exp.to_be_bytes(), b"", b""]);
    let sig = sign(&mut t, key, &a_hash);
    assert_eq!(policy_signed(&mut t, key, s, &nonce, b"", exp, &sig).0, 0);
    assert_eq!(
        t.vol.sessions.get(s).unwrap().policy.timeout,
        Some(start + 2000)
    );
    // Survives ContextSave / ContextLoad.
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_SAVE, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_LOAD, &[], None, &r[10..]));
    assert_eq!(rc(&r), 0);
    assert_eq!(
        t.vol.sessions.get(s).unwrap().policy.timeout,
        Some(start + 2000)
    );
    clock.fetch_add(2000, Ordering::Relaxed);
    assert_eq!(
        policy_signed(&mut t, key, s, &nonce, b"", exp, &sig).0,
        rc_param(TPM_RC_EXPIRED, 4)
    );
}

#[test]
fn policy_cp_hash_extends_and_pins_one_value() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let cp = sha(SHA256, &[b"command parameters"]);
    let run = |t: &mut Tpm, v: &[u8]| {
        let mut p = Vec::new();
        p.put_tpm2b(v);
        rc(&t.execute(0, &cmd(TPM_CC_POLICY_CP_HASH, &[s], None, &p)))
    };
    assert_eq!(run(&mut t, &cp[..20]), rc_param(TPM_RC_SIZE, 1));
    assert_eq!(run(&mut t, &cp), 0);
    let want = sha(
        SHA256,
        &[&[0u8; 32], &TPM_CC_POLICY_CP_HASH.to_be_bytes(), &cp],
    );
    assert_eq!(policy_digest(&mut t, s), want);
    assert_eq!(run(&mut t, &[1u8; 32]), TPM_RC_CPHASH);
    assert_eq!(t.vol.sessions.get(s).unwrap().policy.cp_hash, Some(cp));
}

#[test]
fn policy_locality_digest_and_intersection() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_TRIAL);
    let run =
        |t: &mut Tpm, l: u8| rc(&t.execute(0, &cmd(TPM_CC_POLICY_LOCALITY, &[s], None, &[l])));
    assert_eq!(run(&mut t, 0), rc_param(TPM_RC_RANGE, 1));
    assert_eq!(run(&mut t, 0b1_1000), 0);
    let d1 = sha(
        SHA256,
        &[
            &[0u8; 32],
            &TPM_CC_POLICY_LOCALITY.to_be_bytes(),
            &[0b1_1000],
        ],
    );
    assert_eq!(policy_digest(&mut t, s), d1);
    // The digest takes the input; the session keeps the intersection.
    assert_eq!(run(&mut t, 0b0_1100), 0);
    let d2 = sha(
        SHA256,
        &[&d1, &TPM_CC_POLICY_LOCALITY.to_be_bytes(), &[0b0_1100]],
    );
    assert_eq!(policy_digest(&mut t, s), d2);
    assert_eq!(
        t.vol.sessions.get(s).unwrap().policy.locality,
        Some(0b0_1000)
    );
    assert_eq!(run(&mut t, 0b0_0100), rc_param(TPM_RC_RANGE, 1));
    assert_eq!(run(&mut t, 32), rc_param(TPM_RC_RANGE, 1));
}
