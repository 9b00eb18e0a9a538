//! NV storage tests: golden bytes, index types against digests computed here, lock life
//! cycles across Startup, authorization failures, size/range errors, persistence, Clear, and
//! random NV command sequences.

use super::*;
use crate::state::{PERMANENT_VERSION, reseal_permanent};

const IDX: u32 = 0x0150_0016;
/// ownerwrite|authwrite|ownerread|authread (tpm2_nvdefine's default).
const DEFAULT_ATTRS: u32 = 0x0006_0006;
const COUNTER: u32 = 0x10;
const BITS: u32 = 0x20;
const EXTEND: u32 = 0x40;
const PIN_PASS: u32 = 0x90;

fn public(h: u32, alg: u16, attrs: u32, policy: &[u8], size: u16) -> Vec<u8> {
    let mut p = Vec::new();
    TpmsNvPublic {
        nv_index: h,
        name_alg: alg,
        attributes: TpmaNv(attrs),
        auth_policy: policy.to_vec(),
        data_size: size,
    }
    .write_2b(&mut p);
    p
}

fn define_as(t: &mut Tpm, hier: u32, auth: &[u8], public: &[u8]) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(auth);
    p.extend_from_slice(public);
    rc(&t.execute(0, &cmd(TPM_CC_NV_DEFINE_SPACE, &[hier], Some(&[b""]), &p)))
}

fn define(t: &mut Tpm, h: u32, attrs: u32, size: u16, auth: &[u8]) -> u32 {
    define_as(
        t,
        TPM_RH_OWNER,
        auth,
        &public(h, TPM_ALG_SHA256, attrs, &[], size),
    )
}

fn nv_write(t: &mut Tpm, auth: (u32, &[u8]), h: u32, data: &[u8], offset: u16) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    p.put_u16(offset);
    rc(&t.execute(0, &cmd(TPM_CC_NV_WRITE, &[auth.0, h], Some(&[auth.1]), &p)))
}

fn nv_read_raw(t: &mut Tpm, auth: (u32, &[u8]), h: u32, size: u16, offset: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u16(size);
    p.put_u16(offset);
    t.execute(0, &cmd(TPM_CC_NV_READ, &[auth.0, h], Some(&[auth.1]), &p))
}

/// Reads `size` bytes at `offset`; the data or the response code.
fn nv_read(
    t: &mut Tpm,
    auth: (u32, &[u8]),
    h: u32,
    size: u16,
    offset: u16,
) -> Result<Vec<u8>, u32> {
    let r = nv_read_raw(t, auth, h, size, offset);
    match rc(&r) {
        // header, parameterSize, TPM2B, one PW auth response (5 bytes).
        0 => Ok(r[16..r.len() - 5].to_vec()),
        e => Err(e),
    }
}

fn simple(t: &mut Tpm, cc: u32, auth: (u32, &[u8]), h: u32, params: &[u8]) -> u32 {
    rc(&t.execute(0, &cmd(cc, &[auth.0, h], Some(&[auth.1]), params)))
}

fn read_public(t: &mut Tpm, h: u32) -> Vec<u8> {
    t.execute(0, &cmd(TPM_CC_NV_READ_PUBLIC, &[h], None, &[]))
}

fn restart(t: &mut Tpm, shutdown: u16) {
    assert_eq!(rc(&t.execute(0, &shutdown_command(shutdown))), 0);
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
}

const OWNER: (u32, &[u8]) = (TPM_RH_OWNER, b"");

#[test]
fn golden_define_write_read_readpublic() {
    let mut t = started();
    // NV_DefineSpace(OWNER, auth "pw", {0x01500016, sha256, 0x00060006, no policy, 32}).
    let frame = hex(
        "8002 0000002F 0000012A 40000001 00000009 40000009 0000 01 0000
         0002 7077 000E 01500016 000B 00060006 0000 0020",
    );
    assert_eq!(
        t.execute(0, &frame),
        hex("8002 00000013 00000000 00000000 0000 01 0000")
    );
    assert!(t.take_permanent_dirty());
    let r = read_public(&mut t, IDX);
    let pub_bytes = hex("01500016 000B 00060006 0000 0020");
    let name = [&[0x00, 0x0B][..], &sha(&digest::SHA256, &[&pub_bytes])].concat();
    let mut want = hex("8001 00000000 00000000 000E");
    want.extend_from_slice(&pub_bytes);
    want.put_u16(name.len() as u16);
    want.extend_from_slice(&name);
    let n = want.len() as u32;
    want.patch_u32(2, n);
    assert_eq!(r, want);
    assert!(!t.take_permanent_dirty());

    // Unwritten: NV_UNINITIALIZED; after a partial first write the rest reads as 0xFF, as
    // with swtpm/libtpms (checked side by side with tpm2_send).
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 4, 0),
        Err(TPM_RC_NV_UNINITIALIZED)
    );
    assert_eq!(nv_write(&mut t, (IDX, b"pw"), IDX, b"hello", 3), 0);
    assert_eq!(
        nv_read(&mut t, (IDX, b"pw"), IDX, 10, 0),
        Ok(b"\xff\xff\xffhello\xff\xff".to_vec())
    );
    // Golden NV_Read response: 8002, size, rc 0, parameterSize 7, TPM2B(5), PW response.
    assert_eq!(
        nv_read_raw(&mut t, OWNER, IDX, 5, 3),
        hex("8002 0000001A 00000000 00000007 0005 68656C6C6F 0000 01 0000")
    );
    // WRITTEN is now in the public area, so the Name changed.
    let r = read_public(&mut t, IDX);
    assert_eq!(&r[18..22], &hex("20060006")[..]);
    assert!(t.take_permanent_dirty());
    // Rewriting identical bytes changes nothing persistent.
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"hello", 3), 0);
    assert!(!t.take_permanent_dirty());
    assert!(nv_read(&mut t, OWNER, IDX, 1, 0).is_ok());
    assert!(!t.take_permanent_dirty());
}

#[test]
fn counter_persists_and_never_goes_back() {
    let mut t = started();
    let attrs = COUNTER | DEFAULT_ATTRS;
    assert_eq!(define(&mut t, IDX, attrs, 8, b""), 0);
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 8, 0),
        Err(TPM_RC_NV_UNINITIALIZED)
    );
    // A counter cannot be written directly.
    assert_eq!(nv_write(&mut t, OWNER, IDX, &[0; 8], 0), TPM_RC_ATTRIBUTES);
    for _ in 0..3 {
        assert_eq!(simple(&mut t, TPM_CC_NV_INCREMENT, OWNER, IDX, &[]), 0);
    }
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 8, 0),
        Ok(3u64.to_be_bytes().to_vec())
    );
    // Power cycle through the permanent blob only (no Shutdown, no volatile state).
    let mut u = Tpm::restore(&t.save(BlobType::Permanent), None).unwrap();
    u.init();
    assert_eq!(rc(&u.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    assert_eq!(
        nv_read(&mut u, OWNER, IDX, 8, 0),
        Ok(3u64.to_be_bytes().to_vec())
    );
    assert_eq!(simple(&mut u, TPM_CC_NV_INCREMENT, OWNER, IDX, &[]), 0);
    assert_eq!(
        nv_read(&mut u, OWNER, IDX, 8, 0),
        Ok(4u64.to_be_bytes().to_vec())
    );
    // Undefine and redefine: the new counter starts above the old one.
    assert_eq!(simple(&mut u, TPM_CC_NV_UNDEFINE_SPACE, OWNER, IDX, &[]), 0);
    assert_eq!(define(&mut u, IDX, attrs, 8, b""), 0);
    assert_eq!(simple(&mut u, TPM_CC_NV_INCREMENT, OWNER, IDX, &[]), 0);
    assert_eq!(
        nv_read(&mut u, OWNER, IDX, 8, 0),
        Ok(5u64.to_be_bytes().to_vec())
    );
    // Increment of a non-counter.
    assert_eq!(define(&mut u, IDX + 1, DEFAULT_ATTRS, 8, b""), 0);
    assert_eq!(
        simple(&mut u, TPM_CC_NV_INCREMENT, OWNER, IDX + 1, &[]),
        rc_handle(TPM_RC_ATTRIBUTES, 2)
    );
}

#[test]
fn bits_or_and_extend_chain() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, BITS | DEFAULT_ATTRS, 8, b""), 0);
    for b in [0x0101u64, 0x8000_0000_0000_0010] {
        assert_eq!(
            simple(&mut t, TPM_CC_NV_SET_BITS, OWNER, IDX, &b.to_be_bytes()),
            0
        );
    }
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 8, 0),
        Ok(0x8000_0000_0000_0111u64.to_be_bytes().to_vec())
    );

    for (h, alg, dalg) in [
        (IDX + 1, TPM_ALG_SHA256, &digest::SHA256),
        (IDX + 2, TPM_ALG_SHA1, &digest::SHA1_FOR_LEGACY_USE_ONLY),
    ] {
        let size = dalg.output_len() as u16;
        let p = public(h, alg, EXTEND | DEFAULT_ATTRS, &[], size);
        assert_eq!(define_as(&mut t, TPM_RH_OWNER, b"", &p), 0);
        let mut want = vec![0u8; usize::from(size)];
        for data in [&b"first"[..], &b"second event"[..]] {
            let mut prm = Vec::new();
            prm.put_tpm2b(data);
            assert_eq!(simple(&mut t, TPM_CC_NV_EXTEND, OWNER, h, &prm), 0);
            want = sha(dalg, &[&want, data]);
        }
        assert_eq!(nv_read(&mut t, OWNER, h, size, 0), Ok(want));
        // Extend index size must equal the nameAlg digest size.
        let bad = public(h + 0x10, alg, EXTEND | DEFAULT_ATTRS, &[], size + 1);
        assert_eq!(
            define_as(&mut t, TPM_RH_OWNER, b"", &bad),
            rc_param(TPM_RC_SIZE, 2)
        );
    }
    assert_eq!(
        simple(&mut t, TPM_CC_NV_SET_BITS, OWNER, IDX + 1, &[0; 8]),
        rc_handle(TPM_RC_ATTRIBUTES, 2)
    );
}

#[test]
fn write_and_read_locks_across_startup() {
    let mut t = started();
    let stclear = DEFAULT_ATTRS | TpmaNv::WRITE_STCLEAR | TpmaNv::READ_STCLEAR;
    let define_lock = DEFAULT_ATTRS | TpmaNv::WRITEDEFINE;
    assert_eq!(define(&mut t, IDX, stclear, 4, b""), 0);
    assert_eq!(define(&mut t, IDX + 1, define_lock, 4, b""), 0);
    assert_eq!(define(&mut t, IDX + 2, DEFAULT_ATTRS, 4, b""), 0);
    for h in [IDX, IDX + 1] {
        assert_eq!(nv_write(&mut t, OWNER, h, b"abcd", 0), 0);
        assert_eq!(simple(&mut t, TPM_CC_NV_WRITE_LOCK, OWNER, h, &[]), 0);
        assert_eq!(nv_write(&mut t, OWNER, h, b"wxyz", 0), TPM_RC_NV_LOCKED);
        // Locking again succeeds without changing anything.
        t.take_permanent_dirty();
        assert_eq!(simple(&mut t, TPM_CC_NV_WRITE_LOCK, OWNER, h, &[]), 0);
        assert!(!t.take_permanent_dirty());
    }
    assert_eq!(
        simple(&mut t, TPM_CC_NV_WRITE_LOCK, OWNER, IDX + 2, &[]),
        rc_handle(TPM_RC_ATTRIBUTES, 2)
    );
    assert_eq!(simple(&mut t, TPM_CC_NV_READ_LOCK, OWNER, IDX, &[]), 0);
    assert_eq!(nv_read(&mut t, OWNER, IDX, 4, 0), Err(TPM_RC_NV_LOCKED));
    assert_eq!(
        simple(&mut t, TPM_CC_NV_READ_LOCK, OWNER, IDX + 1, &[]),
        rc_handle(TPM_RC_ATTRIBUTES, 2)
    );
    // TPM Resume keeps every lock.
    assert_eq!(rc(&t.execute(0, &shutdown_command(TPM_SU_STATE))), 0);
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_STATE))), 0);
    assert_eq!(nv_read(&mut t, OWNER, IDX, 4, 0), Err(TPM_RC_NV_LOCKED));
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"wxyz", 0), TPM_RC_NV_LOCKED);
    // TPM Restart clears the STCLEAR locks; WRITEDEFINE stays locked until undefined.
    restart(&mut t, TPM_SU_STATE);
    assert_eq!(nv_read(&mut t, OWNER, IDX, 4, 0), Ok(b"abcd".to_vec()));
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"wxyz", 0), 0);
    assert_eq!(
        nv_write(&mut t, OWNER, IDX + 1, b"wxyz", 0),
        TPM_RC_NV_LOCKED
    );
    restart(&mut t, TPM_SU_CLEAR);
    assert_eq!(
        nv_write(&mut t, OWNER, IDX + 1, b"wxyz", 0),
        TPM_RC_NV_LOCKED
    );
    assert_eq!(nv_read(&mut t, OWNER, IDX + 1, 4, 0), Ok(b"abcd".to_vec()));
}

#[test]
fn global_lock_and_clear_stclear() {
    let mut t = started();
    assert_eq!(
        define(&mut t, IDX, DEFAULT_ATTRS | TpmaNv::GLOBALLOCK, 4, b""),
        0
    );
    assert_eq!(
        define(
            &mut t,
            IDX + 1,
            DEFAULT_ATTRS | TpmaNv::CLEAR_STCLEAR,
            4,
            b""
        ),
        0
    );
    assert_eq!(nv_write(&mut t, OWNER, IDX + 1, b"tmp!", 0), 0);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_NV_GLOBAL_WRITE_LOCK,
            &[TPM_RH_OWNER],
            Some(&[b""]),
            &[],
        ),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"abcd", 0), TPM_RC_NV_LOCKED);
    assert_eq!(nv_write(&mut t, OWNER, IDX + 1, b"abcd", 0), 0);
    restart(&mut t, TPM_SU_CLEAR);
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"abcd", 0), 0);
    assert_eq!(
        nv_read(&mut t, OWNER, IDX + 1, 4, 0),
        Err(TPM_RC_NV_UNINITIALIZED)
    );
    // CLEAR_STCLEAR cannot be combined with WRITEDEFINE, nor with a counter.
    assert_eq!(
        define(
            &mut t,
            IDX + 2,
            DEFAULT_ATTRS | TpmaNv::CLEAR_STCLEAR | TpmaNv::WRITEDEFINE,
            4,
            b""
        ),
        rc_param(TPM_RC_ATTRIBUTES, 2)
    );
    assert_eq!(
        define(
            &mut t,
            IDX + 2,
            COUNTER | DEFAULT_ATTRS | TpmaNv::CLEAR_STCLEAR,
            8,
            b""
        ),
        rc_param(TPM_RC_ATTRIBUTES, 2)
    );
}

#[test]
fn authorization_failures() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 4, b"secret"), 0);
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS | TpmaNv::NO_DA, 4, b"secret"),
        0
    );
    // ownerwrite only: index auth may not read, owner may not... read.
    let owner_only = TpmaNv::OWNERWRITE | TpmaNv::OWNERREAD;
    assert_eq!(define(&mut t, IDX + 2, owner_only, 4, b"secret"), 0);
    let auth_only = TpmaNv::AUTHWRITE | TpmaNv::AUTHREAD;
    assert_eq!(define(&mut t, IDX + 3, auth_only, 4, b""), 0);

    // Wrong password for a DA-protected index: AUTH_FAIL + session 1 and a failed try.
    assert_eq!(nv_write(&mut t, (IDX, b"nope"), IDX, b"x", 0), 0x98E);
    // NO_DA index: BAD_AUTH + session 1.
    assert_eq!(
        nv_write(&mut t, (IDX + 1, b"nope"), IDX + 1, b"x", 0),
        0x9A2
    );
    // Wrong owner password: BAD_AUTH (hierarchies are DA-exempt).
    assert_eq!(nv_write(&mut t, (TPM_RH_OWNER, b"x"), IDX, b"x", 0), 0x9A2);
    // Trailing zeros do not matter.
    assert_eq!(nv_write(&mut t, (IDX, b"secret\0\0"), IDX, b"x", 0), 0);
    // The index's authValue is not available for an index without AUTHREAD/AUTHWRITE.
    assert_eq!(
        nv_write(&mut t, (IDX + 2, b"secret"), IDX + 2, b"x", 0),
        TPM_RC_AUTH_UNAVAILABLE
    );
    // Owner authorized, but the index does not allow owner access.
    assert_eq!(
        nv_write(&mut t, OWNER, IDX + 3, b"x", 0),
        TPM_RC_NV_AUTHORIZATION
    );
    assert_eq!(
        nv_read(&mut t, OWNER, IDX + 3, 1, 0),
        Err(TPM_RC_NV_AUTHORIZATION)
    );
    // Another index's auth cannot authorize this one.
    assert_eq!(
        nv_write(&mut t, (IDX + 3, b""), IDX, b"x", 0),
        TPM_RC_NV_AUTHORIZATION
    );
    // Platform may not write owner's index without PPWRITE.
    assert_eq!(
        nv_write(&mut t, (TPM_RH_PLATFORM, b""), IDX, b"x", 0),
        TPM_RC_NV_AUTHORIZATION
    );
    // No session at all.
    let mut p = Vec::new();
    p.put_u16(1);
    p.put_u16(0);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_NV_READ, &[TPM_RH_OWNER, IDX], None, &p))),
        TPM_RC_AUTH_MISSING
    );
    // maxTries (3) failures put DA-protected entities into lockout; NO_DA ones still work.
    assert_eq!(nv_write(&mut t, (IDX, b"nope"), IDX, b"x", 0), 0x98E);
    assert_eq!(nv_write(&mut t, (IDX, b"nope"), IDX, b"x", 0), 0x98E);
    assert_eq!(
        nv_write(&mut t, (IDX, b"secret"), IDX, b"x", 0),
        TPM_RC_LOCKOUT
    );
    assert_eq!(nv_write(&mut t, (IDX + 1, b"secret"), IDX + 1, b"x", 0), 0);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_DICTIONARY_ATTACK_LOCK_RESET,
            &[TPM_RH_LOCKOUT],
            Some(&[b""]),
            &[],
        ),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(nv_write(&mut t, (IDX, b"secret"), IDX, b"x", 0), 0);
    // ADMIN role (NV_ChangeAuth) needs a policy session.
    let mut p = Vec::new();
    p.put_tpm2b(b"new");
    let r = t.execute(
        0,
        &cmd(TPM_CC_NV_CHANGE_AUTH, &[IDX], Some(&[b"secret"]), &p),
    );
    assert_eq!(rc(&r), TPM_RC_AUTH_TYPE);
    // Unknown index and a non-NV handle.
    assert_eq!(
        nv_write(&mut t, OWNER, IDX + 9, b"x", 0),
        rc_handle(TPM_RC_HANDLE, 2)
    );
    assert_eq!(
        nv_write(&mut t, (TPM_RH_ENDORSEMENT, b""), IDX, b"x", 0),
        rc_handle(TPM_RC_VALUE, 1)
    );
    assert_eq!(
        rc(&read_public(&mut t, 0x8100_0001)),
        rc_handle(TPM_RC_VALUE, 1)
    );
}

#[test]
fn pin_pass_index_counts_uses() {
    let mut t = started();
    let attrs = PIN_PASS | TpmaNv::OWNERWRITE | TpmaNv::OWNERREAD | TpmaNv::AUTHREAD;
    assert_eq!(define(&mut t, IDX, attrs, 8, b"pin"), 0);
    // Not written yet: its authValue is unavailable.
    assert_eq!(
        nv_read(&mut t, (IDX, b"pin"), IDX, 8, 0),
        Err(TPM_RC_AUTH_UNAVAILABLE)
    );
    // pinCount 0, pinLimit 2.
    assert_eq!(
        nv_write(&mut t, OWNER, IDX, &hex("00000000 00000002"), 0),
        0
    );
    assert_eq!(
        nv_read(&mut t, (IDX, b"pin"), IDX, 8, 0),
        Ok(hex("00000001 00000002"))
    );
    assert_eq!(
        nv_read(&mut t, (IDX, b"pin"), IDX, 8, 0),
        Ok(hex("00000002 00000002"))
    );
    assert_eq!(
        nv_read(&mut t, (IDX, b"pin"), IDX, 8, 0),
        Err(TPM_RC_AUTH_UNAVAILABLE)
    );
    // PIN Pass may not have AUTHWRITE; PIN Fail needs NO_DA.
    assert_eq!(
        define(&mut t, IDX + 1, PIN_PASS | DEFAULT_ATTRS, 8, b""),
        rc_param(TPM_RC_ATTRIBUTES, 2)
    );
    assert_eq!(
        define(
            &mut t,
            IDX + 1,
            0x80 | TpmaNv::OWNERWRITE | TpmaNv::OWNERREAD,
            8,
            b""
        ),
        rc_param(TPM_RC_ATTRIBUTES, 2)
    );
}

#[test]
fn size_and_range_errors() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 2048, b""), 0);
    assert_eq!(
        define(&mut t, IDX, DEFAULT_ATTRS, 4, b""),
        TPM_RC_NV_DEFINED
    );
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS, 2049, b""),
        rc_param(TPM_RC_SIZE, 2)
    );
    assert_eq!(
        define(&mut t, IDX + 1, COUNTER | DEFAULT_ATTRS, 4, b""),
        rc_param(TPM_RC_SIZE, 2)
    );
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS | TpmaNv::WRITEALL, 1025, b""),
        rc_param(TPM_RC_SIZE, 2)
    );
    // authValue longer than the nameAlg digest; policy of the wrong size.
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS, 4, &[1; 33]),
        rc_param(TPM_RC_SIZE, 1)
    );
    let p = public(IDX + 1, TPM_ALG_SHA256, DEFAULT_ATTRS, &[0; 20], 4);
    assert_eq!(
        define_as(&mut t, TPM_RH_OWNER, b"", &p),
        rc_param(TPM_RC_SIZE, 2)
    );
    // Attribute rules.
    for bad in [
        DEFAULT_ATTRS | TpmaNv::WRITTEN,
        DEFAULT_ATTRS | 0x30, // TPM_NT 3 is unassigned
        TpmaNv::OWNERWRITE,   // nobody may read
        TpmaNv::OWNERREAD,    // nobody may write
        DEFAULT_ATTRS | TpmaNv::POLICY_DELETE,
    ] {
        assert_eq!(
            define(&mut t, IDX + 1, bad, 4, b""),
            rc_param(TPM_RC_ATTRIBUTES, 2),
            "{bad:#x}"
        );
    }
    assert_eq!(
        define(
            &mut t,
            IDX + 1,
            DEFAULT_ATTRS | TpmaNv::PLATFORMCREATE,
            4,
            b""
        ),
        rc_handle(TPM_RC_ATTRIBUTES, 1)
    );
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS | 0x100, 4, b""),
        rc_param(TPM_RC_RESERVED_BITS, 2)
    );

    let data = vec![7u8; 1024];
    assert_eq!(nv_write(&mut t, OWNER, IDX, &data, 1024), 0);
    assert_eq!(nv_write(&mut t, OWNER, IDX, &data, 1025), TPM_RC_NV_RANGE);
    assert_eq!(
        nv_write(&mut t, OWNER, IDX, b"", 2049),
        rc_param(TPM_RC_VALUE, 2)
    );
    assert_eq!(
        nv_write(&mut t, OWNER, IDX, &[0; 1025], 0),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(nv_read(&mut t, OWNER, IDX, 1024, 1024), Ok(data));
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 1025, 0),
        Err(rc_param(TPM_RC_VALUE, 1))
    );
    assert_eq!(
        nv_read(&mut t, OWNER, IDX, 0, 2049),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
    assert_eq!(nv_read(&mut t, OWNER, IDX, 2, 2047), Err(TPM_RC_NV_RANGE));
    assert_eq!(nv_read(&mut t, OWNER, IDX, 0, 2048), Ok(vec![]));
    // WRITEALL refuses partial writes.
    assert_eq!(
        define(&mut t, IDX + 1, DEFAULT_ATTRS | TpmaNv::WRITEALL, 4, b""),
        0
    );
    assert_eq!(nv_write(&mut t, OWNER, IDX + 1, b"abc", 0), TPM_RC_NV_RANGE);
    assert_eq!(nv_write(&mut t, OWNER, IDX + 1, b"abcd", 0), 0);

    // NV memory is bounded.
    let mut h = IDX + 0x100;
    let code = loop {
        let code = define(&mut t, h, DEFAULT_ATTRS, 2048, b"");
        if code != 0 {
            break code;
        }
        h += 1;
    };
    assert_eq!(code, TPM_RC_NV_SPACE);
    assert!(h - (IDX + 0x100) > 50);
    // Undefining one makes room again.
    assert_eq!(
        simple(&mut t, TPM_CC_NV_UNDEFINE_SPACE, OWNER, IDX + 0x100, &[]),
        0
    );
    assert_eq!(define(&mut t, h, DEFAULT_ATTRS, 2048, b""), 0);
}

#[test]
fn undefine_platform_indices_and_clear() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 4, b""), 0);
    let plat = public(
        0x01C0_0002,
        TPM_ALG_SHA256,
        TpmaNv::PPWRITE
            | TpmaNv::PPREAD
            | TpmaNv::OWNERREAD
            | TpmaNv::AUTHREAD
            | TpmaNv::PLATFORMCREATE
            | TpmaNv::NO_DA,
        &[],
        4,
    );
    assert_eq!(define_as(&mut t, TPM_RH_PLATFORM, b"", &plat), 0);
    let special = public(
        0x01C0_0003,
        TPM_ALG_SHA256,
        TpmaNv::PPWRITE | TpmaNv::PPREAD | TpmaNv::PLATFORMCREATE | TpmaNv::POLICY_DELETE,
        &[0xAA; 32],
        4,
    );
    assert_eq!(define_as(&mut t, TPM_RH_PLATFORM, b"", &special), 0);
    // Owner cannot define a platform index.
    let p2 = public(
        0x01C0_0004,
        TPM_ALG_SHA256,
        TpmaNv::PPWRITE | TpmaNv::PPREAD | TpmaNv::PLATFORMCREATE,
        &[],
        4,
    );
    assert_eq!(
        define_as(&mut t, TPM_RH_OWNER, b"", &p2),
        rc_handle(TPM_RC_ATTRIBUTES, 1)
    );

    let r = get_cap(&mut t, TPM_CAP_HANDLES, 0x0100_0000, 16);
    assert_eq!(&r[15..], &hex("00000003 01500016 01C00002 01C00003")[..]);
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x202, 1);
    assert_eq!(&r[15..], &hex("00000001 00000202 00000003")[..]);
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x117, 1);
    assert_eq!(&r[15..], &hex("00000001 00000117 00000800")[..]);
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x12C, 1);
    assert_eq!(&r[15..], &hex("00000001 0000012C 00000400")[..]);

    // Owner may not undefine the platform's index; POLICY_DELETE needs the special command,
    // whose ADMIN role needs a policy session.
    assert_eq!(
        simple(&mut t, TPM_CC_NV_UNDEFINE_SPACE, OWNER, 0x01C0_0002, &[]),
        TPM_RC_NV_AUTHORIZATION
    );
    assert_eq!(
        simple(
            &mut t,
            TPM_CC_NV_UNDEFINE_SPACE,
            (TPM_RH_PLATFORM, b""),
            0x01C0_0003,
            &[]
        ),
        rc_handle(TPM_RC_ATTRIBUTES, 2)
    );
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_NV_UNDEFINE_SPACE_SPECIAL,
            &[0x01C0_0003, TPM_RH_PLATFORM],
            Some(&[b"", b""]),
            &[],
        ),
    );
    assert_eq!(rc(&r), TPM_RC_AUTH_TYPE);

    // Platform-created index readable by the owner (EK certificate pattern).
    assert_eq!(
        nv_write(&mut t, (TPM_RH_PLATFORM, b""), 0x01C0_0002, b"cert", 0),
        0
    );
    assert_eq!(
        nv_read(&mut t, OWNER, 0x01C0_0002, 4, 0),
        Ok(b"cert".to_vec())
    );

    // Clear removes owner indices only.
    let r = t.execute(0, &cmd(TPM_CC_CLEAR, &[TPM_RH_PLATFORM], Some(&[b""]), &[]));
    assert_eq!(rc(&r), 0);
    assert_eq!(rc(&read_public(&mut t, IDX)), rc_handle(TPM_RC_HANDLE, 1));
    assert_eq!(rc(&read_public(&mut t, 0x01C0_0002)), 0);
    assert_eq!(
        simple(
            &mut t,
            TPM_CC_NV_UNDEFINE_SPACE,
            (TPM_RH_PLATFORM, b""),
            0x01C0_0002,
            &[]
        ),
        0
    );
    assert_eq!(
        rc(&read_public(&mut t, 0x01C0_0002)),
        rc_handle(TPM_RC_HANDLE, 1)
    );
}

#[test]
fn disabled_hierarchies_hide_their_indices() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 4, b""), 0);
    let plat = public(
        0x01C0_0002,
        TPM_ALG_SHA256,
        TpmaNv::PPWRITE | TpmaNv::PPREAD | TpmaNv::PLATFORMCREATE,
        &[],
        4,
    );
    assert_eq!(define_as(&mut t, TPM_RH_PLATFORM, b"", &plat), 0);
    let mut p = Vec::new();
    p.put_u32(TPM_RH_PLATFORM_NV);
    p.put_u8(0);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CONTROL,
            &[TPM_RH_PLATFORM],
            Some(&[b""]),
            &p,
        ),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(
        rc(&read_public(&mut t, 0x01C0_0002)),
        rc_handle(TPM_RC_HANDLE, 1)
    );
    assert_eq!(rc(&read_public(&mut t, IDX)), 0);
    let plat2 = public(
        0x01C0_0005,
        TPM_ALG_SHA256,
        TpmaNv::PPWRITE | TpmaNv::PPREAD | TpmaNv::PLATFORMCREATE,
        &[],
        4,
    );
    assert_eq!(
        define_as(&mut t, TPM_RH_PLATFORM, b"", &plat2),
        rc_handle(TPM_RC_HIERARCHY, 1)
    );
    let mut p = Vec::new();
    p.put_u32(TPM_RH_OWNER);
    p.put_u8(0);
    let r = t.execute(
        0,
        &cmd(TPM_CC_HIERARCHY_CONTROL, &[TPM_RH_OWNER], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(rc(&read_public(&mut t, IDX)), rc_handle(TPM_RC_HANDLE, 1));
}

/// Octets permanent version 6 appends for a default TPM: PP list count and [PP_Commands],
/// algorithmSet, and the command audit section (alg 2, counter 8, count 2, [SetCommandCodeAuditStatus] 4).
const V6_TAIL: usize = 2 + 4 + 4 + 16;

#[test]
fn permanent_blob_versions() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 4, b"pw"), 0);
    assert_eq!(nv_write(&mut t, OWNER, IDX, b"data", 0), 0);
    let blob = t.save(BlobType::Permanent);
    assert_eq!(&blob[4..6], &PERMANENT_VERSION.to_be_bytes());
    let mut u = Tpm::restore(&blob, None).unwrap();
    assert_eq!(u.save(BlobType::Permanent)[..200], blob[..200]);
    u.init();
    u.execute(0, &startup_command(TPM_SU_CLEAR));
    assert_eq!(
        nv_read(&mut u, (IDX, b"pw"), IDX, 4, 0),
        Ok(b"data".to_vec())
    );

    // Version 5 (no version-6 tail: the PP list [PP_Commands], 2 + 4, algorithmSet, 4, and the
    // command audit section, 16)
    // loads with those defaults. Version 2 (objects and RSA cache, no NV section: the empty
    // section is 12 octets, plus the version-5 self-heal clock, 8) and version 1 (neither:
    // 2 + 2 more octets of empty lists) still load, with no indices.
    let empty = Tpm::manufacture().save(BlobType::Permanent);
    for (version, cut) in [(5, V6_TAIL), (2, 20 + V6_TAIL), (1, 24 + V6_TAIL)] {
        let old_blob = reseal_permanent(&empty, version, |p| p.truncate(p.len() - cut));
        let mut old = Tpm::restore(&old_blob, None).unwrap();
        assert_eq!(old.save(BlobType::Permanent), empty, "version {version}");
        old.init();
        old.execute(0, &startup_command(TPM_SU_CLEAR));
        let r = get_cap(&mut old, TPM_CAP_HANDLES, 0x0100_0000, 16);
        assert_eq!(&r[15..], &hex("00000000")[..], "version {version}");
        // …but an old-version blob with the newer sections still attached is refused.
        let bad = reseal_permanent(&blob, version, |_| {});
        assert!(matches!(
            Tpm::restore(&bad, None),
            Err(StateError::Malformed {
                source: CodecError::Trailing(_),
                ..
            })
        ));
    }
    assert_eq!(
        Tpm::restore(&reseal_permanent(&empty, 7, |_| {}), None).err(),
        Some(StateError::UnsupportedVersion(7))
    );
    // Version 3: the save area lacks null proof, context counter and saved sessions.
    let mut t = Tpm::manufacture();
    t.execute(0, &startup_command(TPM_SU_CLEAR));
    t.execute(
        0,
        &cmd(TPM_CC_SHUTDOWN, &[], None, &TPM_SU_STATE.to_be_bytes()),
    );
    let v4 = t.save(BlobType::Permanent);
    let mut ext = vec![1u8];
    ext.extend_from_slice(&t.vol.null_proof);
    let v3 = reseal_permanent(&v4, 3, |p| {
        let at = p.windows(65).position(|w| w == &ext[..]).unwrap();
        // flag + proof, contextCounter, empty session table; the version-5 self-heal clock and
        // the version-6 command audit section.
        p.drain(at..at + 65 + 8 + 2);
        p.truncate(p.len() - 8 - V6_TAIL);
    });
    let mut old = Tpm::restore(&v3, None).unwrap();
    let saved = old.perm.saved.clone().unwrap();
    assert_eq!(saved.null_proof, None);
    assert_eq!(saved.pcrs, t.perm.saved.clone().unwrap().pcrs);
    old.init();
    assert_eq!(rc(&old.execute(0, &startup_command(TPM_SU_STATE))), 0);

    // Malformed NV sections with a valid checksum are refused precisely. The section starts
    // 12 + (2 + 14 + 2+2 + 2+4) = 38 bytes from the end: maxCounter, count, TPM2B_NV_PUBLIC,
    // TPM2B auth "pw", TPM2B data "data" (offsets before the 8-octet self-heal clock and the
    // 16-octet command audit section).
    let refused = |edit: &dyn Fn(&mut Vec<u8>)| {
        let bad = reseal_permanent(&blob, PERMANENT_VERSION, |p| {
            let tail = p.split_off(p.len() - 8 - V6_TAIL);
            edit(p);
            p.extend_from_slice(&tail);
        });
        Tpm::restore(&bad, None).err().unwrap()
    };
    // A count of 2 with one index (and no self-heal clock after it): the payload ends early.
    let got = Tpm::restore(
        &reseal_permanent(&blob, PERMANENT_VERSION, |p| {
            p.truncate(p.len() - 8 - V6_TAIL);
            let i = p.len() - 38 + 8;
            p[i + 3] = 2;
        }),
        None,
    )
    .err()
    .unwrap();
    assert!(matches!(
        got,
        StateError::Malformed {
            source: CodecError::Insufficient { .. },
            ..
        }
    ));
    // TPM_NT 3 in the stored attributes.
    let got = refused(&|p| {
        let i = p.len() - 38 + 12 + 2 + 6;
        p[i + 3] = 0x36;
    });
    assert_eq!(got, StateError::Invalid("nv index type"));
    // Three data octets for a four-octet index.
    let got = refused(&|p| {
        let i = p.len() - 6;
        p[i + 1] = 3;
        p.truncate(p.len() - 1);
    });
    assert_eq!(got, StateError::Invalid("nv data size"));
}

#[test]
fn command_attributes_match_libtpms() {
    // TPMA_CC as libtpms' s_ccAttr reports them (commandIndex | nv << 22 | cHandles << 25).
    let want = [
        (TPM_CC_NV_UNDEFINE_SPACE_SPECIAL, 0x0440_011F),
        (TPM_CC_NV_UNDEFINE_SPACE, 0x0440_0122),
        (TPM_CC_NV_DEFINE_SPACE, 0x0240_012A),
        (TPM_CC_NV_GLOBAL_WRITE_LOCK, 0x0240_0132),
        (TPM_CC_NV_INCREMENT, 0x0440_0134),
        (TPM_CC_NV_SET_BITS, 0x0440_0135),
        (TPM_CC_NV_EXTEND, 0x0440_0136),
        (TPM_CC_NV_WRITE, 0x0440_0137),
        (TPM_CC_NV_WRITE_LOCK, 0x0440_0138),
        (TPM_CC_NV_CHANGE_AUTH, 0x0240_013B),
        (TPM_CC_NV_READ, 0x0400_014E),
        (TPM_CC_NV_READ_LOCK, 0x0440_014F),
        (TPM_CC_NV_READ_PUBLIC, 0x0200_0169),
    ];
    for (cc, attr) in want {
        let d = crate::cmd::COMMANDS.iter().find(|d| d.cc == cc).unwrap();
        assert_eq!(d.tpma_cc(), attr, "{cc:#x}");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = (u8, u8, u16, u16, Vec<u8>, bool)> {
        (
            0u8..12,
            0u8..4,
            any::<u16>(),
            0u16..40,
            prop::collection::vec(any::<u8>(), 0..40),
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Random NV command sequences (well-formed and not) never panic, always get framed
        /// responses, and the resulting state survives save → restore unchanged.
        #[test]
        fn random_nv_commands(ops in prop::collection::vec(op(), 1..24)) {
            let mut t = started();
            for (kind, which, a, b, bytes, owner) in ops {
                let h = IDX + u32::from(which);
                let auth = if owner { OWNER } else { (h, &b""[..]) };
                let types = [0u32, COUNTER, BITS, EXTEND];
                let r = match kind {
                    0 => {
                        let attrs = (types[usize::from(which)] | DEFAULT_ATTRS
                            | (u32::from(a) << 10 & 0x0000_FC00)) & !TpmaNv::RESERVED;
                        let size = match which { 1 | 2 => 8, 3 => 32, _ => b };
                        define(&mut t, h, attrs, size, &bytes[..bytes.len().min(32)])
                    }
                    1 => nv_write(&mut t, auth, h, &bytes, b),
                    2 => nv_read(&mut t, auth, h, b, a % 48).err().unwrap_or(0),
                    3 => simple(&mut t, TPM_CC_NV_INCREMENT, auth, h, &[]),
                    4 => simple(&mut t, TPM_CC_NV_SET_BITS, auth, h, &u64::from(a).to_be_bytes()),
                    5 => { let mut p = Vec::new(); p.put_tpm2b(&bytes); simple(&mut t, TPM_CC_NV_EXTEND, auth, h, &p) }
                    6 => simple(&mut t, TPM_CC_NV_WRITE_LOCK, auth, h, &[]),
                    7 => simple(&mut t, TPM_CC_NV_READ_LOCK, auth, h, &[]),
                    8 => simple(&mut t, TPM_CC_NV_UNDEFINE_SPACE, OWNER, h, &[]),
                    9 => rc(&read_public(&mut t, h)),
                    10 => { restart(&mut t, if owner { TPM_SU_CLEAR } else { TPM_SU_STATE }); 0 }
                    _ => {
                        // Raw garbage after a valid NV header and handles.
                        let mut f = cmd(TPM_CC_NV_DEFINE_SPACE + u32::from(which), &[TPM_RH_OWNER, h], Some(&[b""]), &bytes);
                        let n = f.len() as u32;
                        f.patch_u32(2, n);
                        rc(&t.execute(0, &f))
                    }
                };
                let _ = r;
            }
            let blob = t.save(BlobType::Permanent);
            let u = Tpm::restore(&blob, None).unwrap();
            prop_assert_eq!(&u.perm.nv, &t.perm.nv);
            prop_assert_eq!(u.perm.failed_tries, t.perm.failed_tries);
        }

        /// Arbitrary bytes as an NV command body never panic.
        #[test]
        fn arbitrary_nv_frames(cc in prop::sample::select(vec![
                TPM_CC_NV_UNDEFINE_SPACE_SPECIAL, TPM_CC_NV_UNDEFINE_SPACE, TPM_CC_NV_DEFINE_SPACE,
                TPM_CC_NV_GLOBAL_WRITE_LOCK, TPM_CC_NV_INCREMENT, TPM_CC_NV_SET_BITS,
                TPM_CC_NV_EXTEND, TPM_CC_NV_WRITE, TPM_CC_NV_WRITE_LOCK, TPM_CC_NV_CHANGE_AUTH,
                TPM_CC_NV_READ, TPM_CC_NV_READ_LOCK, TPM_CC_NV_READ_PUBLIC]),
                handle_idx in any::<bool>(),
                body in prop::collection::vec(any::<u8>(), 0..80)) {
            let mut t = started();
            assert_eq!(define(&mut t, IDX, DEFAULT_ATTRS, 16, b""), 0);
            let hs: &[u32] = if handle_idx { &[IDX, IDX] } else { &[TPM_RH_OWNER, IDX] };
            let r = t.execute(0, &cmd(cc, hs, Some(&[b""]), &body));
            let code = rc(&r);
            if code != 0 {
                prop_assert_eq!(r.len(), 10);
            }
        }
    }
}
