//! Duplicate, Import and Rewrap: round trips to another parent (RSA and ECC parents, RSA and
//! ECC children, with and without the inner wrapper, with no outer wrapper), tampering, and
//! the role and attribute rules with their exact response codes.

use super::*;
use tpm_proto::object::TpmtPublic;

/// RSA-2048 storage key, AES-128-CFB (tpm2_createprimary default attributes).
const RSA_SRK: &str = "0001000b00030072 0000 000600800043 0010 0800 00000000 0000";
/// ECC P-256 storage key, AES-128-CFB.
const ECC_SRK: &str = "0023000b00030072 0000 000600800043 0010 0003 0010 0000 0000";
/// RSA-2048 signing key, no scheme: sign|userWithAuth|sensitiveDataOrigin (duplicable).
const RSA_CHILD: &str = "0001000b00040060 0000 0010 0010 0800 00000000 0000";
/// ECC P-256 ECDSA/SHA-256 signing key: sign|userWithAuth|sensitiveDataOrigin (duplicable).
const ECC_CHILD: &str = "0023000b00040060 0000 0010 0018000b 0003 0010 0000 0000";

/// AES-128-CFB as a `TPMT_SYM_DEF_OBJECT`.
const AES128: [u8; 6] = [0x00, 0x06, 0x00, 0x80, 0x00, 0x43];
const NULL_SYM: [u8; 2] = [0x00, 0x10];
const DATA_KEY: &[u8; 16] = b"is sixteen bytes";

/// `PolicyCommandCode(Duplicate)` from a reset SHA-256 digest.
fn dup_policy() -> Vec<u8> {
    sha(
        &digest::SHA256,
        &[
            &[0u8; 32],
            &TPM_CC_POLICY_COMMAND_CODE.to_be_bytes(),
            &TPM_CC_DUPLICATE.to_be_bytes(),
        ],
    )
}

/// A template with the given extra attributes and authPolicy.
fn template(base: &str, set: u32, clear: u32, policy: &[u8]) -> Vec<u8> {
    let mut p = TpmtPublic::read(&mut Reader::new(&hex(base))).unwrap();
    p.object_attributes = (p.object_attributes | set) & !clear;
    p.auth_policy = policy.to_vec();
    p.to_bytes()
}

fn primary(t: &mut Tpm, tmpl: &str) -> u32 {
    rsp_handle(&create_primary_rsp(t, TPM_RH_OWNER, &hex(tmpl)))
}

/// Create under `parent`: (outPrivate, outPublic).
fn create(t: &mut Tpm, parent: u32, tmpl: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut p = Vec::new();
    p.put_u16(4);
    p.put_u32(0);
    p.put_tpm2b(tmpl);
    p.put_u16(0);
    p.put_u32(0);
    let r = t.execute(0, &cmd(TPM_CC_CREATE, &[parent], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    let private = rd.tpm2b(4096).unwrap().to_vec();
    let public = rd.tpm2b(4096).unwrap().to_vec();
    (private, public)
}

/// Load under `parent`: the rc and, on success, (handle, name).
fn load(t: &mut Tpm, parent: u32, private: &[u8], public: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(private);
    p.put_tpm2b(public);
    let r = t.execute(0, &cmd(TPM_CC_LOAD, &[parent], Some(&[b""]), &p));
    if rc(&r) != 0 {
        return (rc(&r), 0, Vec::new());
    }
    let mut rd = Reader::new(&r[18..]);
    (0, rsp_handle(&r), rd.tpm2b(66).unwrap().to_vec())
}

fn flush(t: &mut Tpm, h: u32) {
    let r = t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &h.to_be_bytes()));
    assert_eq!(rc(&r), 0);
}

/// A policy session that has run PolicyCommandCode(`cc`) (no command code if `cc` is 0).
fn policy_session(t: &mut Tpm, cc: u32) -> u32 {
    let (s, _) = start_session(t, TPM_SE_POLICY);
    if cc != 0 {
        let r = t.execute(
            0,
            &cmd(TPM_CC_POLICY_COMMAND_CODE, &[s], None, &cc.to_be_bytes()),
        );
        assert_eq!(rc(&r), 0);
    }
    s
}

/// A frame authorized by session `s` with an empty HMAC (enough for an unsalted, unbound
/// policy session that needs no authValue).
fn session_cmd(cc: u32, handles: &[u32], s: u32, params: &[u8]) -> Vec<u8> {
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
        attributes: 0,
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

/// Duplicate's output: (encryptionKeyOut, duplicate, outSymSeed).
struct Dup {
    key_out: Vec<u8>,
    blob: Vec<u8>,
    seed: Vec<u8>,
}

fn duplicate_rc(t: &mut Tpm, obj: u32, new_parent: u32, key_in: &[u8], sym: &[u8]) -> (u32, Dup) {
    let s = policy_session(t, TPM_CC_DUPLICATE);
    let mut p = Vec::new();
    p.put_tpm2b(key_in);
    p.extend_from_slice(sym);
    let r = t.execute(0, &session_cmd(TPM_CC_DUPLICATE, &[obj, new_parent], s, &p));
    let mut d = Dup {
        key_out: Vec::new(),
        blob: Vec::new(),
        seed: Vec::new(),
    };
    if rc(&r) == 0 {
        let mut rd = Reader::new(&r[14..]);
        d.key_out = rd.tpm2b(4096).unwrap().to_vec();
        d.blob = rd.tpm2b(4096).unwrap().to_vec();
        d.seed = rd.tpm2b(4096).unwrap().to_vec();
    } else {
        // A failed command leaves the policy session loaded.
        flush(t, s);
    }
    (rc(&r), d)
}

fn duplicate(t: &mut Tpm, obj: u32, new_parent: u32, key_in: &[u8], sym: &[u8]) -> Dup {
    let (code, d) = duplicate_rc(t, obj, new_parent, key_in, sym);
    assert_eq!(code, 0, "Duplicate");
    d
}

/// Import under `parent`: the rc and, on success, outPrivate.
fn import(
    t: &mut Tpm,
    parent: u32,
    key: &[u8],
    public: &[u8],
    d: &Dup,
    sym: &[u8],
) -> (u32, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(key);
    p.put_tpm2b(public);
    p.put_tpm2b(&d.blob);
    p.put_tpm2b(&d.seed);
    p.extend_from_slice(sym);
    let r = t.execute(0, &cmd(TPM_CC_IMPORT, &[parent], Some(&[b""]), &p));
    if rc(&r) != 0 {
        return (rc(&r), Vec::new());
    }
    let mut rd = Reader::new(&r[14..]);
    (0, rd.tpm2b(4096).unwrap().to_vec())
}

/// Two storage primaries (`from`, `to`) and a duplicable child of `from`, loaded.
struct Setup {
    t: Tpm,
    from: u32,
    to: u32,
    child: u32,
    public: Vec<u8>,
    name: Vec<u8>,
}

fn setup(from: &str, to: &str, child: &str, set: u32) -> Setup {
    let mut t = started();
    let from = primary(&mut t, from);
    let to = primary(&mut t, to);
    let (private, public) = create(&mut t, from, &template(child, set, 0, &dup_policy()));
    let (code, child, name) = load(&mut t, from, &private, &public);
    assert_eq!(code, 0);
    Setup {
        t,
        from,
        to,
        child,
        public,
        name,
    }
}

/// Duplicates the child to `to` and imports it there: the new private loads under `to` and
/// names the same object.
fn round_trip(from: &str, to: &str, child: &str, inner: bool) {
    let mut s = setup(from, to, child, 0);
    let (key_in, sym): (&[u8], &[u8]) = if inner {
        (DATA_KEY, &AES128)
    } else {
        (&[], &NULL_SYM)
    };
    let d = duplicate(&mut s.t, s.child, s.to, key_in, sym);
    // The inner key used comes back, as the reference implementation does (Part 3's text
    // would leave it empty for a caller-supplied key).
    assert_eq!(d.key_out, key_in);
    assert!(!d.seed.is_empty());
    flush(&mut s.t, s.child);
    let (code, private) = import(&mut s.t, s.to, key_in, &s.public, &d, sym);
    assert_eq!(code, 0, "Import {from} -> {to}, inner {inner}");
    let (code, _, name) = load(&mut s.t, s.to, &private, &s.public);
    assert_eq!(code, 0);
    assert_eq!(name, s.name);
}

#[test]
fn round_trip_rsa_parent_to_ecc_parent() {
    round_trip(RSA_SRK, ECC_SRK, ECC_CHILD, false);
    round_trip(RSA_SRK, ECC_SRK, RSA_CHILD, true);
}

#[test]
fn round_trip_ecc_parent_to_rsa_parent() {
    round_trip(ECC_SRK, RSA_SRK, RSA_CHILD, false);
    round_trip(ECC_SRK, RSA_SRK, ECC_CHILD, true);
}

#[test]
fn tpm_generated_inner_key_and_null_new_parent() {
    let mut s = setup(ECC_SRK, RSA_SRK, ECC_CHILD, 0);
    // No key given: the TPM makes one and returns it.
    let d = duplicate(&mut s.t, s.child, s.to, &[], &AES128);
    assert_eq!(d.key_out.len(), 16);
    // NULL new parent: no outer wrapper and no seed; the blob is the (inner-wrapped) sensitive.
    let plain = duplicate(&mut s.t, s.child, TPM_RH_NULL, &[], &NULL_SYM);
    assert!(plain.seed.is_empty());
    let mut r = Reader::new(&plain.blob);
    let sens = r.tpm2b(4096).unwrap();
    assert!(r.finish().is_ok());
    assert_eq!(&sens[..2], &TPM_ALG_ECC.to_be_bytes());
    flush(&mut s.t, s.child);
    let (code, private) = import(&mut s.t, s.to, &d.key_out, &s.public, &d, &AES128);
    assert_eq!(code, 0);
    let (code, h, _) = load(&mut s.t, s.to, &private, &s.public);
    assert_eq!(code, 0);
    flush(&mut s.t, h);
    let (code, private) = import(&mut s.t, s.to, &[], &s.public, &plain, &NULL_SYM);
    assert_eq!(code, 0);
    assert_eq!(load(&mut s.t, s.to, &private, &s.public).0, 0);
}

#[test]
fn rsa_duplicate_carries_the_spec_prime() {
    let mut s = setup(RSA_SRK, ECC_SRK, RSA_CHILD, 0);
    let d = duplicate(&mut s.t, s.child, TPM_RH_NULL, &[], &NULL_SYM);
    let mut r = Reader::new(&d.blob);
    let mut sr = Reader::new(r.tpm2b(4096).unwrap());
    let sens = tpm_proto::object::TpmtSensitive::read(&mut sr).unwrap();
    // TPM2B_PRIVATE_KEY_RSA holds one prime, half the modulus (Part 2, 11.2.4.7).
    assert_eq!(sens.sensitive.len(), 128);
    assert_eq!(sens.sensitive[127] & 1, 1);
}

#[test]
fn tampered_blobs_fail_integrity() {
    let mut s = setup(RSA_SRK, ECC_SRK, ECC_CHILD, 0);
    let d = duplicate(&mut s.t, s.child, s.to, DATA_KEY, &AES128);
    flush(&mut s.t, s.child);
    // A flipped bit in the encrypted part: outer HMAC.
    let mut bad = Dup {
        key_out: Vec::new(),
        blob: d.blob.clone(),
        seed: d.seed.clone(),
    };
    let last = bad.blob.len() - 1;
    bad.blob[last] ^= 1;
    let (code, _) = import(&mut s.t, s.to, DATA_KEY, &s.public, &bad, &AES128);
    assert_eq!(code, rc_param(TPM_RC_INTEGRITY, 3));
    // The wrong inner key: inner integrity.
    let (code, _) = import(&mut s.t, s.to, b"is not the right", &s.public, &d, &AES128);
    assert_eq!(code, rc_param(TPM_RC_INTEGRITY, 3));
    // Another object's public area: the name differs, so the outer HMAC does.
    let other = template(ECC_CHILD, TPMA_OBJECT_NO_DA, 0, &dup_policy());
    let (code, _) = import(&mut s.t, s.to, DATA_KEY, &other, &d, &AES128);
    assert_eq!(code, rc_param(TPM_RC_INTEGRITY, 3));
    // Under the wrong (RSA) parent the seed, an ECC point, does not OAEP-decrypt.
    let (code, _) = import(&mut s.t, s.from, DATA_KEY, &s.public, &d, &AES128);
    assert_eq!(code, rc_param(TPM_RC_VALUE, 4));
    // Still fine with everything right.
    assert_eq!(
        import(&mut s.t, s.to, DATA_KEY, &s.public, &d, &AES128).0,
        0
    );
}

#[test]
fn rewrap_moves_the_outer_wrapper() {
    let mut s = setup(ECC_SRK, RSA_SRK, RSA_CHILD, 0);
    // Duplicate to `to`, then Rewrap from `to` to `from`, then import under `from`.
    let d = duplicate(&mut s.t, s.child, s.to, DATA_KEY, &AES128);
    let mut p = Vec::new();
    p.put_tpm2b(&d.blob);
    p.put_tpm2b(&s.name);
    p.put_tpm2b(&d.seed);
    let r =
        s.t.execute(0, &cmd(TPM_CC_REWRAP, &[s.to, s.from], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    let re = Dup {
        key_out: Vec::new(),
        blob: rd.tpm2b(4096).unwrap().to_vec(),
        seed: rd.tpm2b(4096).unwrap().to_vec(),
    };
    flush(&mut s.t, s.child);
    let (code, private) = import(&mut s.t, s.from, DATA_KEY, &s.public, &re, &AES128);
    assert_eq!(code, 0);
    assert_eq!(load(&mut s.t, s.from, &private, &s.public).0, 0);
    // A seed with a NULL old parent, or none with a real one: TPM_RC_HANDLE on oldParent.
    let r = s.t.execute(
        0,
        &cmd(TPM_CC_REWRAP, &[TPM_RH_NULL, s.from], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), rc_handle(TPM_RC_HANDLE, 1));
    // A tampered blob fails the outer HMAC on inDuplicate.
    let mut p = Vec::new();
    let mut blob = d.blob.clone();
    blob[40] ^= 0x80;
    p.put_tpm2b(&blob);
    p.put_tpm2b(&s.name);
    p.put_tpm2b(&d.seed);
    let r =
        s.t.execute(0, &cmd(TPM_CC_REWRAP, &[s.to, s.from], Some(&[b""]), &p));
    assert_eq!(rc(&r), rc_param(TPM_RC_INTEGRITY, 1));
}

#[test]
fn dup_role_needs_a_policy_session_with_the_command_code() {
    let mut s = setup(RSA_SRK, ECC_SRK, ECC_CHILD, 0);
    let mut p = Vec::new();
    p.put_u16(0);
    p.extend_from_slice(&NULL_SYM);
    // Password and HMAC sessions cannot authorize the DUP role.
    let r = s.t.execute(
        0,
        &cmd(TPM_CC_DUPLICATE, &[s.child, s.to], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), TPM_RC_AUTH_TYPE);
    let (hs, _) = start_session(&mut s.t, TPM_SE_HMAC);
    let r =
        s.t.execute(0, &session_cmd(TPM_CC_DUPLICATE, &[s.child, s.to], hs, &p));
    assert_eq!(rc(&r), TPM_RC_AUTH_TYPE);
    flush(&mut s.t, hs);
    // A policy session without PolicyCommandCode: its digest is not the object's policy.
    let ps = policy_session(&mut s.t, 0);
    let r =
        s.t.execute(0, &session_cmd(TPM_CC_DUPLICATE, &[s.child, s.to], ps, &p));
    assert_eq!(rc(&r), rc_session(TPM_RC_POLICY_FAIL, 1));
    flush(&mut s.t, ps);

    // An object whose policy is PolicyAuthValue alone: the digest matches, but the DUP role
    // still needs the command code bound.
    let mut t = started();
    let parent = primary(&mut t, RSA_SRK);
    let auth_value_policy = sha(
        &digest::SHA256,
        &[&[0u8; 32], &TPM_CC_POLICY_AUTH_VALUE.to_be_bytes()],
    );
    let (private, public) = create(
        &mut t,
        parent,
        &template(ECC_CHILD, 0, 0, &auth_value_policy),
    );
    let (code, child, _) = load(&mut t, parent, &private, &public);
    assert_eq!(code, 0);
    let (ps, _) = start_session(&mut t, TPM_SE_POLICY);
    let r = t.execute(0, &cmd(TPM_CC_POLICY_AUTH_VALUE, &[ps], None, &[]));
    assert_eq!(rc(&r), 0);
    let r = t.execute(
        0,
        &session_cmd(TPM_CC_DUPLICATE, &[child, TPM_RH_NULL], ps, &p),
    );
    assert_eq!(rc(&r), rc_session(TPM_RC_POLICY_FAIL, 1));
}

#[test]
fn attribute_and_parameter_rules() {
    // fixedParent: not duplicable.
    let mut s = setup(RSA_SRK, ECC_SRK, ECC_CHILD, TPMA_OBJECT_FIXED_PARENT);
    let (code, _) = duplicate_rc(&mut s.t, s.child, s.to, &[], &NULL_SYM);
    assert_eq!(code, rc_handle(TPM_RC_ATTRIBUTES, 1));

    // encryptedDuplication: both wrappers are required.
    let mut s = setup(
        RSA_SRK,
        ECC_SRK,
        ECC_CHILD,
        TPMA_OBJECT_ENCRYPTED_DUPLICATION,
    );
    let (code, _) = duplicate_rc(&mut s.t, s.child, s.to, &[], &NULL_SYM);
    assert_eq!(code, rc_param(TPM_RC_SYMMETRIC, 2));
    let (code, _) = duplicate_rc(&mut s.t, s.child, TPM_RH_NULL, &[], &AES128);
    assert_eq!(code, rc_handle(TPM_RC_HIERARCHY, 2));
    let d = duplicate(&mut s.t, s.child, s.to, &[], &AES128);
    // Import checks the same rule on its side.
    let (code, _) = import(&mut s.t, s.to, &[], &s.public, &d, &NULL_SYM);
    assert_eq!(code, rc_param(TPM_RC_ATTRIBUTES, 1));

    // Key sizes, the new parent's type, the inner algorithm.
    let (code, _) = duplicate_rc(&mut s.t, s.child, s.to, b"short", &AES128);
    assert_eq!(code, rc_param(TPM_RC_SIZE, 1));
    let (code, _) = duplicate_rc(&mut s.t, s.child, s.child, &[], &AES128);
    assert_eq!(code, rc_handle(TPM_RC_TYPE, 2));
    let mut xor = Vec::new();
    xor.put_u16(TPM_ALG_XOR);
    xor.put_u16(TPM_ALG_SHA256);
    let (code, _) = duplicate_rc(&mut s.t, s.child, s.to, &[], &xor);
    assert_eq!(code, rc_param(TPM_RC_SYMMETRIC, 2));

    let (code, _) = import(&mut s.t, s.to, b"short", &s.public, &d, &AES128);
    assert_eq!(code, rc_param(TPM_RC_SIZE, 1));
    // Import of an object claiming fixedTPM|fixedParent.
    let fixed = template(
        ECC_CHILD,
        TPMA_OBJECT_FIXED_TPM | TPMA_OBJECT_FIXED_PARENT,
        0,
        &dup_policy(),
    );
    let (code, _) = import(&mut s.t, s.to, &d.key_out, &fixed, &d, &AES128);
    assert_eq!(code, rc_param(TPM_RC_ATTRIBUTES, 2));
    // Import under a key that is not a storage parent.
    let (code, _) = import(&mut s.t, s.child, &d.key_out, &s.public, &d, &AES128);
    assert_eq!(code, rc_handle(TPM_RC_TYPE, 1));
    // And the real thing.
    assert_eq!(
        import(&mut s.t, s.to, &d.key_out, &s.public, &d, &AES128).0,
        0
    );
}

#[test]
fn load_external_takes_the_spec_rsa_private() {
    let mut s = setup(RSA_SRK, ECC_SRK, RSA_CHILD, 0);
    let d = duplicate(&mut s.t, s.child, TPM_RH_NULL, &[], &NULL_SYM);
    flush(&mut s.t, s.child);
    let mut r = Reader::new(&d.blob);
    let sens = r.tpm2b(4096).unwrap().to_vec();
    let mut p = Vec::new();
    p.put_tpm2b(&sens);
    p.put_tpm2b(&s.public);
    p.put_u32(TPM_RH_NULL);
    let r = s.t.execute(0, &cmd(TPM_CC_LOAD_EXTERNAL, &[], None, &p));
    assert_eq!(rc(&r), 0);
    // The same area with another prime is not this key.
    let mut bad = sens.clone();
    let n = bad.len();
    bad[n - 2] ^= 1;
    let mut p = Vec::new();
    p.put_tpm2b(&bad);
    p.put_tpm2b(&s.public);
    p.put_u32(TPM_RH_NULL);
    let r = s.t.execute(0, &cmd(TPM_CC_LOAD_EXTERNAL, &[], None, &p));
    assert_eq!(rc(&r), rc_param(TPM_RC_BINDING, 2));
}
