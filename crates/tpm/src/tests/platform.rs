//! PP_Commands, SetPrimaryPolicy, ClockRateAdjust, SetAlgorithmSet.

use super::policy_nv::ext;
use super::*;
use std::sync::atomic::Ordering;

fn cc_list(ccs: &[u32]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u32(ccs.len() as u32);
    for c in ccs {
        p.put_u32(*c);
    }
    p
}

fn pp_commands(t: &mut Tpm, set: &[u32], clear: &[u32]) -> u32 {
    let mut p = cc_list(set);
    p.extend_from_slice(&cc_list(clear));
    rc(&t.execute(
        0,
        &cmd(TPM_CC_PP_COMMANDS, &[TPM_RH_PLATFORM], Some(&[b""]), &p),
    ))
}

fn pp_list(t: &mut Tpm) -> Vec<u32> {
    let r = get_cap(t, TPM_CAP_PP_COMMANDS, 0, 64);
    let mut rd = Reader::new(&r[15..]);
    let n = rd.u32().unwrap();
    (0..n).map(|_| rd.u32().unwrap()).collect()
}

#[test]
fn pp_commands_needs_physical_presence_and_persists() {
    let mut t = started();
    assert_eq!(pp_list(&mut t), [TPM_CC_PP_COMMANDS]);
    // A virtual TPM without the platform signal: PP_Commands itself always needs it.
    assert_eq!(pp_commands(&mut t, &[], &[]), rc_session(TPM_RC_PP, 1));
    t.set_physical_presence(true);
    // Clear is PP-capable; GetRandom is not; FieldUpgradeStart is not implemented.
    assert_eq!(
        pp_commands(&mut t, &[TPM_CC_CLEAR, TPM_CC_GET_RANDOM, 0x12F], &[]),
        0
    );
    assert_eq!(pp_list(&mut t), [TPM_CC_CLEAR, TPM_CC_PP_COMMANDS]);
    assert!(t.take_permanent_dirty());
    t.set_physical_presence(false);
    let clear =
        |t: &mut Tpm, h: u32| rc(&t.execute(0, &cmd(TPM_CC_CLEAR, &[h], Some(&[b""]), &[])));
    assert_eq!(clear(&mut t, TPM_RH_PLATFORM), rc_session(TPM_RC_PP, 1));
    // Only platform authorization is gated.
    assert_eq!(clear(&mut t, TPM_RH_LOCKOUT), 0);
    // The list is permanent state.
    let mut u = Tpm::restore(&t.save(BlobType::Permanent), None).unwrap();
    u.init();
    assert_eq!(rc(&u.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    assert_eq!(pp_list(&mut u), [TPM_CC_CLEAR, TPM_CC_PP_COMMANDS]);
    u.set_physical_presence(true);
    assert_eq!(clear(&mut u, TPM_RH_PLATFORM), 0);
    // PP_Commands cannot be cleared; Clear can.
    assert_eq!(
        pp_commands(&mut u, &[], &[TPM_CC_PP_COMMANDS, TPM_CC_CLEAR]),
        0
    );
    assert_eq!(pp_list(&mut u), [TPM_CC_PP_COMMANDS]);
    // Owner authorization is refused by the handle type; a list over MAX_CAP_CC by size.
    let p = [cc_list(&[]), cc_list(&[])].concat();
    let r = u.execute(
        0,
        &cmd(TPM_CC_PP_COMMANDS, &[TPM_RH_OWNER], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), rc_handle(TPM_RC_VALUE, 1));
    let mut big = Vec::new();
    big.put_u32(257);
    let r = u.execute(
        0,
        &cmd(TPM_CC_PP_COMMANDS, &[TPM_RH_PLATFORM], Some(&[b""]), &big),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 1));
}

fn set_primary_policy(t: &mut Tpm, h: u32, digest: &[u8], alg: u16) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.put_u16(alg);
    rc(&t.execute(0, &cmd(TPM_CC_SET_PRIMARY_POLICY, &[h], Some(&[b""]), &p)))
}

#[test]
fn set_primary_policy_sets_hierarchy_policies() {
    let mut t = started();
    let d = ext(&[0; 32], TPM_CC_POLICY_AUTH_VALUE, &[]);
    assert_eq!(
        set_primary_policy(&mut t, TPM_RH_ENDORSEMENT, &d[..20], TPM_ALG_SHA256),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(
        set_primary_policy(&mut t, TPM_RH_ENDORSEMENT, &d, 0x0099),
        rc_param(TPM_RC_HASH, 2)
    );
    assert_eq!(
        set_primary_policy(&mut t, TPM_RH_NULL, &d, TPM_ALG_SHA256),
        rc_handle(TPM_RC_VALUE, 1)
    );
    t.take_permanent_dirty();
    assert_eq!(
        set_primary_policy(&mut t, TPM_RH_ENDORSEMENT, &d, TPM_ALG_SHA256),
        0
    );
    assert!(t.take_permanent_dirty());
    assert_eq!(t.perm.endorsement_policy.alg, TPM_ALG_SHA256);
    assert_eq!(t.perm.endorsement_policy.digest.as_slice(), &d[..]);
    for h in [TPM_RH_OWNER, TPM_RH_LOCKOUT, TPM_RH_PLATFORM] {
        assert_eq!(set_primary_policy(&mut t, h, &d, TPM_ALG_SHA256), 0);
    }
    assert_eq!(t.vol.platform_policy.digest.as_slice(), &d[..]);
    // The policy authorizes: PolicyAuthValue with the (empty) endorsementAuth.
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let r = t.execute(0, &cmd(TPM_CC_POLICY_AUTH_VALUE, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut p = Vec::new();
    p.put_tpm2b(b"newauth");
    let c =
        super::policy_nv::with_policy(TPM_CC_HIERARCHY_CHANGE_AUTH, &[TPM_RH_ENDORSEMENT], s, &p);
    assert_eq!(rc(&t.execute(0, &c)), 0);
    assert_eq!(t.perm.endorsement_auth.as_slice(), b"newauth");
    // TPM_ALG_NULL with an empty digest removes the policy.
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_SET_PRIMARY_POLICY,
            &[TPM_RH_ENDORSEMENT],
            Some(&[b"newauth"]),
            &{
                let mut p = Vec::new();
                p.put_u16(0);
                p.put_u16(TPM_ALG_NULL);
                p
            },
        ),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(t.perm.endorsement_policy.alg, TPM_ALG_NULL);
    assert!(t.perm.endorsement_policy.digest.as_slice().is_empty());
}

#[test]
fn clock_rate_adjust_scales_clock_and_time() {
    let mut t = started();
    let ms = t.manual_clock();
    let adjust = |t: &mut Tpm, a: i8| {
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_CLOCK_RATE_ADJUST,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &[a as u8],
            ),
        ))
    };
    assert_eq!(adjust(&mut t, 4), rc_param(TPM_RC_VALUE, 1));
    assert_eq!(adjust(&mut t, -4), rc_param(TPM_RC_VALUE, 1));
    let (c0, t0) = (t.clock(), t.time());
    // Coarse slower: 30300 ticks per 30000 ms.
    assert_eq!(adjust(&mut t, TPM_CLOCK_COARSE_SLOWER), 0);
    ms.fetch_add(30_300, Ordering::Relaxed);
    assert_eq!(t.clock(), c0 + 30_000);
    assert_eq!(t.time(), t0 + 30_000);
    // Back to nominal, then a fine step faster: 29_999 ticks per 30000 ms.
    assert_eq!(adjust(&mut t, TPM_CLOCK_COARSE_FASTER), 0);
    assert_eq!(adjust(&mut t, 1), 0);
    let c1 = t.clock();
    ms.fetch_add(29_999, Ordering::Relaxed);
    assert_eq!(t.clock(), c1 + 30_000);
    // The rate is bounded (±5000 ticks) however often it is pushed.
    for _ in 0..40 {
        assert_eq!(adjust(&mut t, TPM_CLOCK_COARSE_SLOWER), 0);
    }
    let c2 = t.clock();
    ms.fetch_add(35_000, Ordering::Relaxed);
    assert_eq!(t.clock(), c2 + 30_000);
    // _TPM_Init returns to the nominal rate.
    t.init();
    let c3 = t.clock();
    ms.fetch_add(1000, Ordering::Relaxed);
    assert_eq!(t.clock(), c3 + 1000);
}

#[test]
fn set_algorithm_set_is_reported_and_kept() {
    let mut t = started();
    let set = |t: &mut Tpm, h: u32, v: u32| {
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_SET_ALGORITHM_SET,
                &[h],
                Some(&[b""]),
                &v.to_be_bytes(),
            ),
        ))
    };
    assert_eq!(set(&mut t, TPM_RH_OWNER, 1), rc_handle(TPM_RC_VALUE, 1));
    assert_eq!(set(&mut t, TPM_RH_PLATFORM, 7), 0);
    // TPM_PT_ALGORITHM_SET (PT_VAR + 0x0C).
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x20C, 1);
    assert_eq!(&r[19..27], &[0, 0, 0x02, 0x0C, 0, 0, 0, 7]);
    let u = Tpm::restore(&t.save(BlobType::Permanent), None).unwrap();
    assert_eq!(u.perm.algorithm_set, 7);
}
