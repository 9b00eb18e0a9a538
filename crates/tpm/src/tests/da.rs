//! Dictionary-attack protection (Part 1, 19.8) on an injected clock: failedTries, self-healing
//! per recoveryTime, lockoutAuth blocking per lockoutRecovery, non-orderly Startup, persistence.

use super::*;
use std::sync::atomic::Ordering;

const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";

/// A DA-protected object (no noDA) with userAuth "pw".
fn protected_object(t: &mut Tpm) -> u32 {
    let mut p = hex("0006 0002 7077 0000");
    p.put_tpm2b(&hex(ECC_SRK));
    p.put_u16(0);
    p.put_u32(0);
    let r = t.execute(
        0,
        &cmd(TPM_CC_CREATE_PRIMARY, &[TPM_RH_OWNER], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), 0);
    u32::from_be_bytes(r[10..14].try_into().unwrap())
}

/// Authorizes `h` with a password (TPM2_Create with empty parameters: authorization runs
/// first, so a correct password gets a parameter error instead of an authorization one).
fn try_auth(t: &mut Tpm, h: u32, pw: &[u8]) -> u32 {
    rc(&t.execute(0, &cmd(TPM_CC_CREATE, &[h], Some(&[pw]), &[])))
}

fn da_parameters(t: &mut Tpm, max_tries: u32, recovery: u32, lockout_recovery: u32) {
    let mut p = Vec::new();
    p.put_u32(max_tries);
    p.put_u32(recovery);
    p.put_u32(lockout_recovery);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_DICTIONARY_ATTACK_PARAMETERS,
            &[TPM_RH_LOCKOUT],
            Some(&[b""]),
            &p,
        ),
    );
    assert_eq!(rc(&r), 0);
}

/// TPM_PT_LOCKOUT_COUNTER, MAX_AUTH_FAIL, LOCKOUT_INTERVAL, LOCKOUT_RECOVERY.
fn da_properties(t: &mut Tpm) -> [u32; 4] {
    let r = get_cap(t, TPM_CAP_TPM_PROPERTIES, 0x20E, 4);
    let mut rd = Reader::new(&r[19..]);
    std::array::from_fn(|i| {
        assert_eq!(rd.u32().unwrap(), 0x20E + i as u32);
        rd.u32().unwrap()
    })
}

const AUTH_FAIL_1: u32 = 0x98E;
const ADVANCE: fn(&std::sync::atomic::AtomicU64, u64) = |c, ms| {
    c.fetch_add(ms, Ordering::Relaxed);
};

#[test]
fn failed_tries_heal_one_per_recovery_time() {
    let mut t = started();
    let clock = t.manual_clock();
    da_parameters(&mut t, 3, 10, 20);
    assert_eq!(da_properties(&mut t), [0, 3, 10, 20]);
    let h = protected_object(&mut t);
    let ok = try_auth(&mut t, h, b"pw");
    assert_ne!(ok, AUTH_FAIL_1);
    assert_ne!(ok, TPM_RC_LOCKOUT);
    for _ in 0..3 {
        assert_eq!(try_auth(&mut t, h, b"bad"), AUTH_FAIL_1);
    }
    assert_eq!(da_properties(&mut t)[0], 3);
    // Locked out: even the right password is refused, and does not count.
    assert_eq!(try_auth(&mut t, h, b"pw"), TPM_RC_LOCKOUT);
    ADVANCE(&clock, 9_999);
    assert_eq!(try_auth(&mut t, h, b"pw"), TPM_RC_LOCKOUT);
    assert_eq!(da_properties(&mut t)[0], 3);
    ADVANCE(&clock, 1);
    assert_eq!(da_properties(&mut t)[0], 2);
    assert_eq!(try_auth(&mut t, h, b"pw"), ok);
    // 25 s more: two periods heal, 5 s carry over to the next decrement.
    ADVANCE(&clock, 25_000);
    assert_eq!(da_properties(&mut t)[0], 0);
    // A failure restarts the period.
    assert_eq!(try_auth(&mut t, h, b"bad"), AUTH_FAIL_1);
    ADVANCE(&clock, 9_000);
    assert_eq!(da_properties(&mut t)[0], 1);
    ADVANCE(&clock, 1_000);
    assert_eq!(da_properties(&mut t)[0], 0);
    // The TPMA_PERMANENT inLockout bit follows.
    for _ in 0..3 {
        try_auth(&mut t, h, b"bad");
    }
    let perm_bits = |t: &mut Tpm| {
        let r = get_cap(t, TPM_CAP_TPM_PROPERTIES, 0x200, 1);
        u32::from_be_bytes(r[23..27].try_into().unwrap())
    };
    assert_ne!(perm_bits(&mut t) & (1 << 9), 0);
    ADVANCE(&clock, 10_000);
    assert_eq!(perm_bits(&mut t) & (1 << 9), 0);
}

#[test]
fn lockout_auth_blocked_for_lockout_recovery() {
    let mut t = started();
    let clock = t.manual_clock();
    da_parameters(&mut t, 3, 10, 20);
    let reset = |t: &mut Tpm, pw: &[u8]| {
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_DICTIONARY_ATTACK_LOCK_RESET,
                &[TPM_RH_LOCKOUT],
                Some(&[pw]),
                &[],
            ),
        ))
    };
    assert_eq!(reset(&mut t, b"x"), AUTH_FAIL_1);
    assert_eq!(reset(&mut t, b""), TPM_RC_LOCKOUT);
    ADVANCE(&clock, 19_999);
    assert_eq!(reset(&mut t, b""), TPM_RC_LOCKOUT);
    ADVANCE(&clock, 1);
    assert_eq!(reset(&mut t, b""), 0);
    // DictionaryAttackLockReset clears failedTries.
    let h = protected_object(&mut t);
    try_auth(&mut t, h, b"bad");
    assert_eq!(da_properties(&mut t)[0], 1);
    assert_eq!(reset(&mut t, b""), 0);
    assert_eq!(da_properties(&mut t)[0], 0);
}

#[test]
fn recovery_time_zero_disables_da() {
    let mut t = started();
    da_parameters(&mut t, 1, 0, 0);
    let h = protected_object(&mut t);
    for _ in 0..5 {
        assert_eq!(try_auth(&mut t, h, b"bad"), AUTH_FAIL_1);
    }
    assert_eq!(da_properties(&mut t), [0, 1, 0, 0]);
}

#[test]
fn non_orderly_shutdown_after_da_use_counts_and_state_persists() {
    let cycle = |t: &mut Tpm, shutdown: bool| {
        if shutdown {
            t.execute(
                0,
                &cmd(TPM_CC_SHUTDOWN, &[], None, &TPM_SU_CLEAR.to_be_bytes()),
            );
        }
        let blob = t.save(BlobType::Permanent);
        let mut u = Tpm::restore(&blob, None).unwrap();
        assert_eq!(rc(&u.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
        u
    };
    let mut t = started();
    da_parameters(&mut t, 3, 10, 20);
    // No DA-protected authorization: a non-orderly cycle does not count.
    let mut t = cycle(&mut t, false);
    assert_eq!(da_properties(&mut t)[0], 0);
    // A DA-protected authorization (successful) then a crash: one failure.
    let h = protected_object(&mut t);
    try_auth(&mut t, h, b"pw");
    let mut t = cycle(&mut t, false);
    assert_eq!(da_properties(&mut t)[0], 1);
    // Orderly: nothing added, and the count itself persisted.
    let h = protected_object(&mut t);
    try_auth(&mut t, h, b"pw");
    let mut t = cycle(&mut t, true);
    assert_eq!(da_properties(&mut t), [1, 3, 10, 20]);
    // Failures persist too; the counter never passes maxTries through crashes.
    let h = protected_object(&mut t);
    try_auth(&mut t, h, b"bad");
    try_auth(&mut t, h, b"bad");
    let mut t = cycle(&mut t, false);
    assert_eq!(da_properties(&mut t)[0], 3);
    let h = protected_object(&mut t);
    assert_eq!(try_auth(&mut t, h, b"pw"), TPM_RC_LOCKOUT);
    let mut t = cycle(&mut t, false);
    assert_eq!(da_properties(&mut t)[0], 3);
}
