//! Volatile state: loaded objects, sessions and the context counter in the volatile blob, and
//! what the Shutdown(STATE) save area keeps across TPM Resume / Restart / Reset.

use super::*;
use crate::state::{read_volatile, reseal_volatile, write_volatile};

/// ECC P-256 storage key template (tpm2_createprimary -G ecc256 default attributes).
const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";

fn ecc_primary(t: &mut Tpm) -> u32 {
    rsp_handle(&create_primary_rsp(t, TPM_RH_OWNER, &hex(ECC_SRK)))
}

fn policy_command_code(t: &mut Tpm, s: u32, cc: u32) {
    let r = t.execute(
        0,
        &cmd(TPM_CC_POLICY_COMMAND_CODE, &[s], None, &cc.to_be_bytes()),
    );
    assert_eq!(rc(&r), 0);
}

fn policy_digest(t: &mut Tpm, s: u32) -> Result<Vec<u8>, u32> {
    let r = t.execute(0, &cmd(TPM_CC_POLICY_GET_DIGEST, &[s], None, &[]));
    match rc(&r) {
        0 => Ok(r[12..].to_vec()),
        e => Err(e),
    }
}

/// ContextSave: the `TPMS_CONTEXT` bytes.
fn context_save(t: &mut Tpm, h: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_SAVE, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    r[10..].to_vec()
}

fn context_load(t: &mut Tpm, ctx: &[u8]) -> Result<u32, u32> {
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_LOAD, &[], None, ctx));
    match rc(&r) {
        0 => Ok(u32::from_be_bytes(r[10..14].try_into().unwrap())),
        e => Err(e),
    }
}

fn read_public(t: &mut Tpm, h: u32) -> Result<Vec<u8>, u32> {
    let r = t.execute(0, &cmd(TPM_CC_READ_PUBLIC, &[h], None, &[]));
    match rc(&r) {
        0 => Ok(r[10..].to_vec()),
        e => Err(e),
    }
}

fn shutdown(t: &mut Tpm, su: u16) {
    let r = t.execute(0, &cmd(TPM_CC_SHUTDOWN, &[], None, &su.to_be_bytes()));
    assert_eq!(rc(&r), 0);
}

fn power_cycle(t: &mut Tpm, su: u16) -> u32 {
    t.init();
    rc(&t.execute(0, &startup_command(su)))
}

#[test]
fn volatile_blob_carries_objects_sessions_and_context_counter() {
    let mut t = started();
    let obj = ecc_primary(&mut t);
    let hmac = start_session(&mut t, TPM_SE_HMAC).0;
    let pol = start_session(&mut t, TPM_SE_POLICY).0;
    policy_command_code(&mut t, pol, TPM_CC_UNSEAL);
    let saved_pol = start_session(&mut t, TPM_SE_POLICY).0;
    policy_command_code(&mut t, saved_pol, TPM_CC_NV_READ);
    let saved_digest = policy_digest(&mut t, saved_pol).unwrap();
    let ctx = context_save(&mut t, saved_pol);
    let want_pub = read_public(&mut t, obj).unwrap();
    let want_digest = policy_digest(&mut t, pol).unwrap();

    let perm = t.save(BlobType::Permanent);
    let vol = t.save(BlobType::Volatile);
    let mut u = Tpm::restore(&perm, Some(&vol)).unwrap();
    assert_eq!(u.vol.objects, t.vol.objects);
    assert_eq!(u.vol.sessions, t.vol.sessions);
    assert_eq!(u.vol.context_counter, 1);
    // The migrated TPM uses what was loaded, continues the policy, and loads the saved context
    // (same null proof and sequence numbers).
    assert_eq!(read_public(&mut u, obj).unwrap(), want_pub);
    assert_eq!(policy_digest(&mut u, pol).unwrap(), want_digest);
    assert!(u.vol.sessions.get(hmac).is_some());
    assert_eq!(context_load(&mut u, &ctx), Ok(saved_pol));
    assert_eq!(policy_digest(&mut u, saved_pol).unwrap(), saved_digest);
    // The next ContextSave continues the counter.
    let ctx2 = context_save(&mut u, hmac);
    assert_eq!(&ctx2[..8], &2u64.to_be_bytes());
    // A context saved by the original cannot be loaded twice once the copy has loaded it...
    assert!(context_load(&mut u, &ctx).is_err());
    // ...while the original, independently, still can.
    assert_eq!(context_load(&mut t, &ctx), Ok(saved_pol));
}

#[test]
fn saved_sessions_survive_resume_and_restart_not_reset() {
    for (su, survives) in [
        (TPM_SU_STATE, true), // TPM Resume
        (TPM_SU_CLEAR, true), // TPM Restart (CLEAR after Shutdown(STATE))
    ] {
        let mut t = started();
        let obj = ecc_primary(&mut t);
        let obj_ctx = context_save(&mut t, obj);
        let loaded = start_session(&mut t, TPM_SE_HMAC).0;
        let s = start_session(&mut t, TPM_SE_POLICY).0;
        policy_command_code(&mut t, s, TPM_CC_NV_READ);
        let digest = policy_digest(&mut t, s).unwrap();
        let ctx = context_save(&mut t, s);
        shutdown(&mut t, TPM_SU_STATE);
        // Through the permanent blob, as the daemon restarts.
        let perm = t.save(BlobType::Permanent);
        let mut t = Tpm::restore(&perm, None).unwrap();
        assert_eq!(power_cycle(&mut t, su), 0);
        // Loaded objects and sessions are gone.
        assert_eq!(read_public(&mut t, obj), Err(rc_handle(TPM_RC_HANDLE, 1)));
        assert!(t.vol.sessions.get(loaded).is_none());
        assert_eq!(context_load(&mut t, &ctx).is_ok(), survives, "su {su:#x}");
        assert_eq!(policy_digest(&mut t, s).unwrap(), digest);
        assert_eq!(t.vol.context_counter, 2);
        // The saved object context also loads (not stClear).
        assert!(context_load(&mut t, &obj_ctx).is_ok());
    }
    // TPM Reset: every saved context is dead.
    let mut t = started();
    let obj = ecc_primary(&mut t);
    let obj_ctx = context_save(&mut t, obj);
    let s = start_session(&mut t, TPM_SE_POLICY).0;
    let ctx = context_save(&mut t, s);
    shutdown(&mut t, TPM_SU_CLEAR);
    assert_eq!(power_cycle(&mut t, TPM_SU_CLEAR), 0);
    assert!(context_load(&mut t, &ctx).is_err());
    assert!(context_load(&mut t, &obj_ctx).is_err());
    assert_eq!(t.vol.context_counter, 0);
    // Shutdown(STATE) then Reset by a non-orderly cycle (no Shutdown): contexts are dead too.
    let mut t = started();
    let s = start_session(&mut t, TPM_SE_POLICY).0;
    let ctx = context_save(&mut t, s);
    shutdown(&mut t, TPM_SU_STATE);
    assert_eq!(power_cycle(&mut t, TPM_SU_CLEAR), 0);
    assert_eq!(power_cycle(&mut t, TPM_SU_CLEAR), 0);
    assert!(context_load(&mut t, &ctx).is_err());
}

#[test]
fn save_state_blob_carries_saved_sessions() {
    let mut t = started();
    let s = start_session(&mut t, TPM_SE_HMAC).0;
    let ctx = context_save(&mut t, s);
    shutdown(&mut t, TPM_SU_STATE);
    let perm = t.save(BlobType::Permanent);
    let ss = t.save(BlobType::SaveState);
    // A TPM given the permanent blob and then the save area separately (swtpm's order).
    let mut u = Tpm::restore(&perm, None).unwrap();
    u.load(BlobType::SaveState, &ss).unwrap();
    assert_eq!(power_cycle(&mut u, TPM_SU_STATE), 0);
    assert_eq!(context_load(&mut u, &ctx), Ok(s));
}

/// A started TPM with nothing loaded: its volatile payload ends in
/// `contextCounter[8] | 00 00 00 | 0000`.
fn empty_volatile() -> Vec<u8> {
    started().save(BlobType::Volatile)
}

#[test]
fn malformed_volatile_tables_get_precise_errors() {
    let vol = empty_volatile();
    // The session table (here empty: `0000`) is followed by the 9-octet empty audit section.
    let with_tail = |tail: &[u8]| {
        reseal_volatile(&vol, |p| {
            let audit = p.split_off(p.len() - 9);
            p.truncate(p.len() - 2);
            p.extend_from_slice(tail);
            p.extend_from_slice(&audit);
        })
    };
    let ok = with_tail(&hex("0000"));
    assert!(Tpm::restore(&started().save(BlobType::Permanent), Some(&ok)).is_ok());
    let cases: [(&str, &str); 5] = [
        ("0001 07", "invalid session slot tag"),
        ("0001 02 0000000000000001 09", "invalid session type"),
        ("0041", "invalid session slot count"),
        ("0001 01 0000", "malformed payload"),
        ("0001 02 00000000", "malformed payload"),
    ];
    for (tail, want) in cases {
        let e = read_volatile(&with_tail(&hex(tail))).unwrap_err();
        assert!(e.to_string().starts_with(want), "{tail}: {e}");
    }
    // Four loaded sessions (the table holds three).
    let mut t = started();
    for _ in 0..3 {
        start_session(&mut t, TPM_SE_HMAC);
    }
    let three = t.save(BlobType::Volatile);
    let mut sessions = read_volatile(&three).unwrap().sessions.slots().to_vec();
    sessions.push(sessions[0].clone());
    assert!(crate::session::Sessions::from_slots(sessions).is_err());
    // Object presence flag.
    let bad = reseal_volatile(&vol, |p| {
        let n = p.len() - 9;
        p[n - 5] = 3;
    });
    assert_eq!(
        read_volatile(&bad).unwrap_err(),
        StateError::Invalid("object slot presence flag")
    );
    // An object that does not parse.
    let bad = reseal_volatile(&vol, |p| {
        let n = p.len() - 9;
        p[n - 5] = 1;
        p.splice(n - 4..n - 4, hex("0002 0000"));
    });
    assert!(matches!(
        read_volatile(&bad).unwrap_err(),
        StateError::Malformed { .. }
    ));
    // Every truncation is refused.
    for n in 0..vol.len() {
        assert!(read_volatile(&vol[..n]).is_err());
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Primary,
        Session(bool),
        Policy(u8),
        Save(u8),
        Load(u8),
        Flush(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Primary),
            any::<bool>().prop_map(Op::Session),
            any::<u8>().prop_map(Op::Policy),
            any::<u8>().prop_map(Op::Save),
            any::<u8>().prop_map(Op::Load),
            any::<u8>().prop_map(Op::Flush),
        ]
    }

    fn handles(t: &Tpm) -> Vec<u32> {
        let mut h = t.vol.objects.handles();
        h.extend(t.vol.sessions.handles(TPM_HT_HMAC_SESSION, false));
        h.extend(t.vol.sessions.handles(TPM_HT_POLICY_SESSION, false));
        h
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// After any sequence of object/session/context operations, the volatile blob reads
        /// back to the same state and re-serializes to the same bytes, and a TPM restored
        /// from it answers ContextLoad/ReadPublic as the original does.
        #[test]
        fn volatile_round_trip(ops in prop::collection::vec(op(), 0..12)) {
            let mut t = started();
            let mut contexts: Vec<Vec<u8>> = Vec::new();
            for o in ops {
                let hs = handles(&t);
                let pick = |i: u8| hs.get(usize::from(i) % hs.len().max(1)).copied();
                match o {
                    Op::Primary => {
                        if t.vol.objects.free() > 0 {
                            ecc_primary(&mut t);
                        }
                    }
                    Op::Session(p) => {
                        if t.vol.sessions.loaded() < 3 {
                            start_session(&mut t, if p { TPM_SE_POLICY } else { TPM_SE_HMAC });
                        }
                    }
                    Op::Policy(i) => {
                        if let Some(h) = pick(i).filter(|h| h >> 24 == 3) {
                            policy_command_code(&mut t, h, TPM_CC_SIGN);
                        }
                    }
                    Op::Save(i) => {
                        if let Some(h) = pick(i) {
                            contexts.push(context_save(&mut t, h));
                        }
                    }
                    Op::Load(i) => {
                        if !contexts.is_empty() {
                            let c = contexts[usize::from(i) % contexts.len()].clone();
                            let _ = context_load(&mut t, &c);
                        }
                    }
                    Op::Flush(i) => {
                        if let Some(h) = pick(i) {
                            t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &h.to_be_bytes()));
                        }
                    }
                }
            }
            let blob = t.save(BlobType::Volatile);
            let v = read_volatile(&blob).unwrap();
            prop_assert_eq!(&v.objects, &t.vol.objects);
            prop_assert_eq!(&v.sessions, &t.vol.sessions);
            prop_assert_eq!(v.context_counter, t.vol.context_counter);
            prop_assert_eq!(write_volatile(&v, v.time), blob.clone());
            let mut u = Tpm::restore(&t.save(BlobType::Permanent), Some(&blob)).unwrap();
            for h in t.vol.objects.handles() {
                prop_assert_eq!(read_public(&mut u, h), read_public(&mut t, h));
            }
            // Both evolve alike from here.
            for c in &contexts {
                prop_assert_eq!(context_load(&mut u, c), context_load(&mut t, c));
            }
        }
    }
}
