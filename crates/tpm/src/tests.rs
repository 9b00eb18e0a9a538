//! Engine tests: golden bytes from reference/vtpm.md, PCR semantics checked against digests
//! computed independently here, lifecycle, state blobs, malformed frames.

use super::*;
use aws_lc_rs::digest;
use tpm_proto::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Builds a command frame: tag, cc, handles, optional password sessions, parameters.
fn cmd(cc: u32, handles: &[u32], pw: Option<&[&[u8]]>, params: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.put_u16(if pw.is_some() {
        TPM_ST_SESSIONS
    } else {
        TPM_ST_NO_SESSIONS
    });
    v.put_u32(0);
    v.put_u32(cc);
    for h in handles {
        v.put_u32(*h);
    }
    if let Some(pws) = pw {
        let mut a = Vec::new();
        for p in pws {
            TpmsAuthCommand::password(p).write(&mut a);
        }
        v.put_u32(a.len() as u32);
        v.extend_from_slice(&a);
    }
    v.extend_from_slice(params);
    let n = v.len() as u32;
    v.patch_u32(2, n);
    v
}

fn rc(resp: &[u8]) -> u32 {
    let h = ResponseHeader::parse_frame(resp).expect("well-formed response");
    assert!(h.tag == TPM_ST_NO_SESSIONS || h.tag == TPM_ST_SESSIONS);
    h.rc
}

fn started() -> Tpm {
    let mut t = Tpm::manufacture();
    assert_eq!(
        t.execute(0, &startup_command(TPM_SU_CLEAR)),
        hex("8001 0000000A 00000000")
    );
    t
}

/// CreatePrimary of `template` under `hierarchy` (empty sensitive area, password session with
/// an empty auth); the whole response, which must be a success.
fn create_primary_rsp(t: &mut Tpm, hierarchy: u32, template: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u16(4);
    p.put_u32(0);
    p.put_tpm2b(template);
    p.put_u16(0);
    p.put_u32(0);
    let r = t.execute(
        0,
        &cmd(TPM_CC_CREATE_PRIMARY, &[hierarchy], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), 0);
    r
}

/// The handle a response returns (first field after the header).
fn rsp_handle(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[10..14].try_into().unwrap())
}

/// StartAuthSession of `kind` (unbound, unsalted, SHA-256, no parameter encryption):
/// (handle, nonceTPM).
fn start_session(t: &mut Tpm, kind: u8) -> (u32, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(&[7u8; 16]);
    p.put_u16(0);
    p.put_u8(kind);
    p.put_u16(TPM_ALG_NULL);
    p.put_u16(TPM_ALG_SHA256);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_START_AUTH_SESSION,
            &[TPM_RH_NULL, TPM_RH_NULL],
            None,
            &p,
        ),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    (rsp_handle(&r), rd.tpm2b(64).unwrap().to_vec())
}

fn sha(alg: &'static digest::Algorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut c = digest::Context::new(alg);
    for p in parts {
        c.update(p);
    }
    c.finish().as_ref().to_vec()
}

fn pcr_read(t: &mut Tpm, alg: u16, pcr: u32) -> Vec<u8> {
    let mut p = Vec::new();
    TpmlPcrSelection(vec![TpmsPcrSelection::new(alg, 3, 1 << pcr)]).write(&mut p);
    let r = t.execute(0, &cmd(TPM_CC_PCR_READ, &[], None, &p));
    assert_eq!(rc(&r), 0);
    // header 10, counter 4, selection 4+2+1+3, digest count 4, size 2.
    let n = digest_size(alg).unwrap();
    assert_eq!(r.len(), 10 + 4 + 10 + 4 + 2 + n);
    r[r.len() - n..].to_vec()
}

fn extend(t: &mut Tpm, loc: u8, pcr: u32, digests: &[(u16, Vec<u8>)]) -> u32 {
    let mut p = Vec::new();
    TpmlDigestValues(
        digests
            .iter()
            .map(|(a, d)| TpmtHa::new(*a, d).unwrap())
            .collect(),
    )
    .write(&mut p);
    rc(&t.execute(loc, &cmd(TPM_CC_PCR_EXTEND, &[pcr], Some(&[b""]), &p)))
}

#[test]
fn golden_startup_and_tpm12_probe() {
    let mut t = Tpm::manufacture();
    // OVMF's TPM 1.2 GetTicks probe before Startup (reference §2 table).
    assert_eq!(
        t.execute(0, &hex("00C1 0000000A 000000F1")),
        hex("8001 0000000A 00000084")
    );
    // Before Startup: TPM_RC_INITIALIZE.
    assert_eq!(
        t.execute(0, &hex("8001 0000000A 00000181")),
        hex("8001 0000000A 00000100")
    );
    assert_eq!(
        t.execute(0, &hex("8001 0000000C 00000144 0000")),
        hex("8001 0000000A 00000000")
    );
    // A second Startup.
    assert_eq!(
        t.execute(0, &hex("8001 0000000C 00000144 0000")),
        hex("8001 0000000A 00000100")
    );
}

#[test]
fn read_clock_layout() {
    let mut t = started();
    let r = t.execute(0, &hex("8001 0000000A 00000181"));
    assert_eq!(rc(&r), 0);
    assert_eq!(r.len(), 10 + 8 + 8 + 4 + 4 + 1);
    // resetCount 1 after the first Startup(CLEAR), restartCount 0, safe YES.
    assert_eq!(&r[26..35], &hex("00000001 00000000 01")[..]);
}

#[test]
fn extend_then_read_matches_independent_hash() {
    let mut t = started();
    let d256 = sha(&digest::SHA256, &[b"event"]);
    let d1 = sha(&digest::SHA1_FOR_LEGACY_USE_ONLY, &[b"event"]);
    assert_eq!(
        extend(
            &mut t,
            0,
            10,
            &[(TPM_ALG_SHA1, d1.clone()), (TPM_ALG_SHA256, d256.clone())]
        ),
        0
    );
    assert_eq!(
        pcr_read(&mut t, TPM_ALG_SHA256, 10),
        sha(&digest::SHA256, &[&[0u8; 32], &d256])
    );
    assert_eq!(
        pcr_read(&mut t, TPM_ALG_SHA1, 10),
        sha(&digest::SHA1_FOR_LEGACY_USE_ONLY, &[&[0u8; 20], &d1])
    );
    // Banks not named are untouched.
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA384, 10), vec![0u8; 48]);
    // DRTM PCRs start at all ones.
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 17), vec![0xFFu8; 32]);
}

#[test]
fn pcr_event_extends_all_banks() {
    let mut t = started();
    let mut p = Vec::new();
    p.put_tpm2b(b"abc");
    let r = t.execute(0, &cmd(TPM_CC_PCR_EVENT, &[8], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    let d512 = sha(&digest::SHA512, &[b"abc"]);
    assert_eq!(
        pcr_read(&mut t, TPM_ALG_SHA512, 8),
        sha(&digest::SHA512, &[&[0u8; 64], &d512])
    );
}

#[test]
fn shutdown_state_keeps_pcrs_and_clear_resets() {
    let mut t = started();
    let d = sha(&digest::SHA256, &[b"x"]);
    assert_eq!(extend(&mut t, 0, 0, &[(TPM_ALG_SHA256, d.clone())]), 0);
    assert_eq!(extend(&mut t, 0, 16, &[(TPM_ALG_SHA256, d.clone())]), 0);
    let v0 = pcr_read(&mut t, TPM_ALG_SHA256, 0);
    assert_eq!(rc(&t.execute(0, &shutdown_command(TPM_SU_STATE))), 0);
    assert!(t.take_permanent_dirty());
    // Survives a process restart through the permanent blob.
    let blob = t.save(BlobType::Permanent);
    let mut t = Tpm::restore(&blob, None).unwrap();
    t.init();
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_STATE))), 0);
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 0), v0);
    // PCR 16 has no stateSave attribute.
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 16), vec![0u8; 32]);
    // Startup(STATE) consumed the save area; a second resume is refused.
    t.init();
    assert_eq!(
        rc(&t.execute(0, &startup_command(TPM_SU_STATE))),
        rc_param(TPM_RC_VALUE, 1)
    );
    assert_eq!(rc(&t.execute(0, &startup_command(TPM_SU_CLEAR))), 0);
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 0), vec![0u8; 32]);
}

#[test]
fn pcr_reset_locality_rules() {
    let mut t = started();
    let reset = |t: &mut Tpm, loc: u8, pcr: u32| {
        rc(&t.execute(loc, &cmd(TPM_CC_PCR_RESET, &[pcr], Some(&[b""]), &[])))
    };
    assert_eq!(reset(&mut t, 0, 16), 0);
    assert_eq!(reset(&mut t, 4, 23), 0);
    assert_eq!(reset(&mut t, 0, 0), TPM_RC_LOCALITY);
    assert_eq!(reset(&mut t, 0, 17), TPM_RC_LOCALITY);
    assert_eq!(reset(&mut t, 4, 17), 0);
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 17), vec![0u8; 32]);
    assert_eq!(reset(&mut t, 2, 21), 0);
    assert_eq!(reset(&mut t, 0, 24), rc_handle(TPM_RC_VALUE, 1));
    let d = sha(&digest::SHA256, &[b"x"]);
    assert_eq!(
        extend(&mut t, 0, 17, &[(TPM_ALG_SHA256, d)]),
        TPM_RC_LOCALITY
    );
}

#[test]
fn drtm_sequence_extends_pcr17() {
    let mut t = started();
    t.hash_start();
    t.hash_data(b"mle");
    t.hash_end();
    assert!(t.established());
    let d = sha(&digest::SHA256, &[b"mle"]);
    assert_eq!(
        pcr_read(&mut t, TPM_ALG_SHA256, 17),
        sha(&digest::SHA256, &[&[0u8; 32], &d])
    );
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 18), vec![0u8; 32]);
    assert_eq!(t.reset_established(0), Err(TPM_RC_LOCALITY));
    assert_eq!(t.reset_established(3), Ok(()));
    assert!(!t.established());
}

#[test]
fn hierarchy_change_auth_64_bytes_and_wrong_password() {
    let mut t = started();
    let mut p = Vec::new();
    p.put_tpm2b(&[0x5A; 64]);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_PLATFORM],
            Some(&[b""]),
            &p,
        ),
    );
    // Response with sessions: header, parameterSize 0, one PW auth response.
    assert_eq!(r, hex("8002 00000013 00000000 00000000 0000 01 0000"));
    let mut p = Vec::new();
    p.put_tpm2b(&[1; 65]);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_PLATFORM],
            Some(&[&[0x5A; 64]]),
            &p,
        ),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 1));
    // Wrong password on a DA-exempt hierarchy: TPM_RC_BAD_AUTH + session 1.
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_PLATFORM],
            Some(&[b"nope"]),
            &[0, 0],
        ),
    );
    assert_eq!(rc(&r), 0x9A2);
    // Lockout is DA-protected: TPM_RC_AUTH_FAIL + session 1, then locked out.
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_LOCKOUT],
            Some(&[b"nope"]),
            &[0, 0],
        ),
    );
    assert_eq!(rc(&r), 0x98E);
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_LOCKOUT],
            Some(&[b""]),
            &[0, 0],
        ),
    );
    assert_eq!(rc(&r), TPM_RC_LOCKOUT);
    // Platform auth is reset by Startup(CLEAR).
    t.init();
    t.execute(0, &startup_command(TPM_SU_CLEAR));
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_PLATFORM],
            Some(&[b""]),
            &[0, 0],
        ),
    );
    assert_eq!(rc(&r), 0);
}

#[test]
fn get_random_caps_at_64() {
    let mut t = started();
    let r = t.execute(0, &cmd(TPM_CC_GET_RANDOM, &[], None, &[0, 200]));
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[10..12], &[0, 64]);
    assert_eq!(r.len(), 12 + 64);
    let r = t.execute(0, &cmd(TPM_CC_GET_RANDOM, &[], None, &[0, 32]));
    assert_eq!(r.len(), 12 + 32);
}

fn get_cap(t: &mut Tpm, cap: u32, prop: u32, count: u32) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u32(cap);
    p.put_u32(prop);
    p.put_u32(count);
    let r = t.execute(0, &cmd(TPM_CC_GET_CAPABILITY, &[], None, &p));
    assert_eq!(rc(&r), 0);
    r
}

#[test]
fn capability_pcrs_and_properties() {
    let mut t = started();
    let r = get_cap(&mut t, TPM_CAP_PCRS, 0, 1);
    assert_eq!(
        r[10..],
        hex("00 00000005 00000004 0004 03 FFFFFF 000B 03 FFFFFF 000C 03 FFFFFF 000D 03 FFFFFF")[..]
    );
    // OVMF: MANUFACTURER.
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x105, 1);
    assert_eq!(r[10..], hex("01 00000006 00000001 00000105 49424D00")[..]);
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x11E, 2);
    assert_eq!(
        r[10..],
        hex("01 00000006 00000002 0000011E 00001000 0000011F 00001000")[..]
    );
    // TOTAL_COMMANDS equals the number of commands TPM_CAP_COMMANDS lists.
    let r = get_cap(&mut t, TPM_CAP_TPM_PROPERTIES, 0x129, 1);
    let total = u32::from_be_bytes(r[r.len() - 4..].try_into().unwrap());
    let r = get_cap(&mut t, TPM_CAP_COMMANDS, TPM_CC_FIRST, 254);
    assert_eq!(r[10], 0, "moreData");
    assert_eq!(u32::from_be_bytes(r[15..19].try_into().unwrap()), total);
    assert_eq!(r.len(), 19 + 4 * total as usize);
    // PCR_Extend: commandIndex 0x182, nv, cHandles 1.
    let attrs: Vec<u32> = r[19..]
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    assert!(attrs.contains(&(0x182 | 1 << 22 | 1 << 25)));
    // Values from libtpms' s_ccAttr: HierarchyControl (nv, extensive, 1 handle), SelfTest (nv),
    // GetRandom (none).
    assert!(attrs.contains(&0x02C0_0121));
    assert!(attrs.contains(&0x0040_0143));
    assert!(attrs.contains(&0x0000_017B));
    // moreData when the count is smaller than the list.
    let r = get_cap(&mut t, TPM_CAP_COMMANDS, TPM_CC_FIRST, 2);
    assert_eq!(r[10], 1);
    // Bad capability.
    let mut p = Vec::new();
    p.put_u32(0x99);
    p.put_u32(0);
    p.put_u32(1);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_GET_CAPABILITY, &[], None, &p))),
        rc_param(TPM_RC_VALUE, 1)
    );
}

#[test]
fn pcr_allocate_takes_effect_at_next_init() {
    let mut t = started();
    let mut p = Vec::new();
    TpmlPcrSelection(vec![TpmsPcrSelection::new(TPM_ALG_SHA1, 3, 0)]).write(&mut p);
    let r = t.execute(
        0,
        &cmd(TPM_CC_PCR_ALLOCATE, &[TPM_RH_PLATFORM], Some(&[b""]), &p),
    );
    assert_eq!(rc(&r), 0);
    assert!(t.take_permanent_dirty());
    let r = get_cap(&mut t, TPM_CAP_PCRS, 0, 1);
    assert_eq!(&r[19..25], &hex("0004 03 FFFFFF")[..]);
    let blob = t.save(BlobType::Permanent);
    let mut t = Tpm::restore(&blob, None).unwrap();
    t.init();
    t.execute(0, &startup_command(TPM_SU_CLEAR));
    let r = get_cap(&mut t, TPM_CAP_PCRS, 0, 1);
    assert_eq!(&r[19..25], &hex("0004 03 000000")[..]);
}

#[test]
fn hash_with_ticket() {
    let mut t = started();
    let mut p = Vec::new();
    p.put_tpm2b(&[7u8; 1024]);
    p.put_u16(TPM_ALG_SHA256);
    p.put_u32(TPM_RH_OWNER);
    let r = t.execute(0, &cmd(TPM_CC_HASH, &[], None, &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[12..44], &sha(&digest::SHA256, &[&[7u8; 1024]])[..]);
    assert_eq!(&r[44..50], &hex("8024 40000001")[..]);
    assert_eq!(&r[50..52], &[0, 64]);
    let mut p = Vec::new();
    p.put_tpm2b(b"x");
    p.put_u16(TPM_ALG_SHA256);
    p.put_u32(TPM_RH_NULL);
    let r = t.execute(0, &cmd(TPM_CC_HASH, &[], None, &p));
    assert_eq!(&r[44..], &hex("8024 40000007 0000")[..]);
}

#[test]
fn malformed_frames() {
    let mut t = started();
    // size field != length.
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000B 00000181"))),
        TPM_RC_COMMAND_SIZE
    );
    // bad tag.
    assert_eq!(
        rc(&t.execute(0, &hex("8003 0000000A 00000181"))),
        TPM_RC_BAD_TAG
    );
    // unknown command code.
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000A 00000999"))),
        TPM_RC_COMMAND_CODE
    );
    // truncated parameter: GetRandom without bytesRequested.
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000B 0000017B 00"))),
        rc_param(TPM_RC_INSUFFICIENT, 1)
    );
    // trailing bytes.
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000D 0000017B 0008 00"))),
        TPM_RC_SIZE
    );
    // sessions on Startup.
    let f = cmd(TPM_CC_STARTUP, &[], Some(&[b""]), &[0, 0]);
    assert_eq!(rc(&t.execute(0, &f)), TPM_RC_AUTH_CONTEXT);
    // missing auth.
    let mut p = Vec::new();
    TpmlDigestValues(vec![]).write(&mut p);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_PCR_EXTEND, &[0], None, &p))),
        TPM_RC_AUTH_MISSING
    );
    // > 4096 bytes.
    let mut big = hex("8001 00001001 0000017B");
    big.resize(4097, 0);
    assert_eq!(rc(&t.execute(0, &big)), TPM_RC_COMMAND_SIZE);
    // Truncated header.
    assert_eq!(rc(&t.execute(0, &hex("80"))), TPM_RC_INSUFFICIENT);
    assert_eq!(rc(&t.execute(0, &[])), TPM_RC_INSUFFICIENT);
    // An HMAC session handle that is not loaded.
    let mut f = cmd(TPM_CC_PCR_EXTEND, &[0], Some(&[b""]), &p);
    f[18..22].copy_from_slice(&0x0200_0000u32.to_be_bytes());
    assert_eq!(rc(&t.execute(0, &f)), TPM_RC_REFERENCE_S0);
    // Too many digests in a TPML_DIGEST_VALUES.
    let r = t.execute(
        0,
        &cmd(TPM_CC_PCR_EXTEND, &[0], Some(&[b""]), &hex("00000005")),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_SIZE, 1));
    // Unknown hash in a selection.
    let r = t.execute(
        0,
        &cmd(TPM_CC_PCR_READ, &[], None, &hex("00000001 0099 03 000000")),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_HASH, 1));
    // sizeofSelect below PCR_SELECT_MIN.
    let r = t.execute(
        0,
        &cmd(TPM_CC_PCR_READ, &[], None, &hex("00000001 000B 02 0000")),
    );
    assert_eq!(rc(&r), rc_param(TPM_RC_VALUE, 1));
    // Bad authorizationSize.
    assert_eq!(
        rc(&t.execute(0, &hex("8002 00000012 00000182 00000000 00000010"))),
        TPM_RC_AUTHSIZE
    );
}

#[test]
fn blobs_round_trip_and_reject_corruption() {
    let mut t = started();
    let d = sha(&digest::SHA256, &[b"v"]);
    extend(&mut t, 0, 3, &[(TPM_ALG_SHA256, d)]);
    let perm = t.save(BlobType::Permanent);
    let vol = t.save(BlobType::Volatile);
    let before = pcr_read(&mut t, TPM_ALG_SHA256, 3);
    let mut u = Tpm::restore(&perm, Some(&vol)).unwrap();
    // Resumes running: no Startup needed, same PCRs.
    assert_eq!(pcr_read(&mut u, TPM_ALG_SHA256, 3), before);
    assert_eq!(u.save(BlobType::Permanent)[..100], perm[..100]);

    assert_eq!(
        Tpm::restore(&perm[..5], None).err(),
        Some(StateError::Truncated(5))
    );
    assert_eq!(
        Tpm::restore(&perm[..perm.len() - 1], None).err(),
        Some(StateError::Truncated(perm.len() - 1))
    );
    let mut bad = perm.clone();
    bad[0] = b'X';
    assert!(matches!(
        Tpm::restore(&bad, None),
        Err(StateError::BadMagic { .. })
    ));
    let mut bad = perm.clone();
    bad[5] = 9;
    assert_eq!(
        Tpm::restore(&bad, None).err(),
        Some(StateError::UnsupportedVersion(9))
    );
    let mut bad = perm.clone();
    bad[40] ^= 1;
    assert_eq!(
        Tpm::restore(&bad, None).err(),
        Some(StateError::ChecksumMismatch)
    );
    let mut bad = perm.clone();
    bad.push(0);
    assert_eq!(
        Tpm::restore(&bad, None).err(),
        Some(StateError::Trailing(1))
    );
    // A volatile blob is not a permanent one.
    assert!(matches!(
        Tpm::restore(&vol, None),
        Err(StateError::BadMagic { .. })
    ));
    assert_eq!(StateError::Truncated(5).to_string(), "truncated at byte 5");
    // load() refuses without touching state.
    assert!(u.load(BlobType::Volatile, &perm).is_err());
    assert_eq!(pcr_read(&mut u, TPM_ALG_SHA256, 3), before);
    let ss = t.save(BlobType::SaveState);
    assert!(u.load(BlobType::SaveState, &ss).is_ok());
}

#[test]
fn clear_and_clear_control() {
    let mut t = started();
    let mut p = Vec::new();
    p.put_tpm2b(b"owner");
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_HIERARCHY_CHANGE_AUTH,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &p
            )
        )),
        0
    );
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(TPM_CC_CLEAR_CONTROL, &[TPM_RH_PLATFORM], Some(&[b""]), &[1])
        )),
        0
    );
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_CLEAR, &[TPM_RH_LOCKOUT], Some(&[b""]), &[]))),
        TPM_RC_DISABLED
    );
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(TPM_CC_CLEAR_CONTROL, &[TPM_RH_LOCKOUT], Some(&[b""]), &[0])
        )),
        TPM_RC_AUTH_FAIL
    );
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(TPM_CC_CLEAR_CONTROL, &[TPM_RH_PLATFORM], Some(&[b""]), &[0])
        )),
        0
    );
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_CLEAR, &[TPM_RH_LOCKOUT], Some(&[b""]), &[]))),
        0
    );
    // Owner auth is empty again.
    let mut p = Vec::new();
    p.put_tpm2b(b"");
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_HIERARCHY_CHANGE_AUTH,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &p
            )
        )),
        0
    );
}

#[test]
fn hierarchy_control_disables_owner() {
    let mut t = started();
    let mut p = Vec::new();
    p.put_u32(TPM_RH_OWNER);
    p.put_u8(0);
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_HIERARCHY_CONTROL,
                &[TPM_RH_PLATFORM],
                Some(&[b""]),
                &p
            )
        )),
        0
    );
    let r = t.execute(
        0,
        &cmd(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            &[TPM_RH_OWNER],
            Some(&[b""]),
            &[0, 0],
        ),
    );
    assert_eq!(rc(&r), rc_handle(TPM_RC_HIERARCHY, 1));
}

#[test]
fn self_tests_and_stir() {
    let mut t = started();
    assert_eq!(rc(&t.execute(0, &hex("8001 0000000B 00000143 00"))), 0);
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000B 00000143 02"))),
        rc_param(TPM_RC_VALUE, 1)
    );
    assert_eq!(
        t.execute(0, &hex("8001 0000000A 0000017C")),
        hex("8001 00000010 00000000 0000 00000000")
    );
    assert_eq!(
        rc(&t.execute(0, &hex("8001 0000000E 00000142 00000000"))),
        0
    );
    assert_eq!(rc(&t.execute(0, &hex("8001 0000000D 00000146 0001 AA"))), 0);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_GET_RANDOM, &[], None, &[0, 8]))),
        0
    );
    // TestParms: keyed-hash, RSA, ECC and symmetric parameters this engine can create.
    let mut test_parms = |p: &str| rc(&t.execute(0, &cmd(TPM_CC_TEST_PARMS, &[], None, &hex(p))));
    assert_eq!(test_parms("0008 0005 000B"), 0);
    assert_eq!(test_parms("0001 0010 0010 0800 00000000"), 0);
    assert_eq!(test_parms("0001 0010 0016 000B 0C00 00010001"), 0);
    assert_eq!(
        test_parms("0001 0010 0010 04D2 00000000"),
        rc_param(TPM_RC_VALUE, 1)
    );
    assert_eq!(test_parms("0023 0010 0018 000B 0003 0010"), 0);
    // BN_P256 is implemented, NIST P-521 is not.
    assert_eq!(test_parms("0023 0010 0010 0010 0010"), 0);
    assert_eq!(
        test_parms("0023 0010 0010 0005 0010"),
        rc_param(TPM_RC_CURVE, 1)
    );
    assert_eq!(test_parms("0025 0006 0080 0043"), 0);
    assert_eq!(
        test_parms("0025 0006 0081 0043"),
        rc_param(TPM_RC_SYMMETRIC, 1)
    );
    assert_ne!(test_parms("0025 0006 0080 0043 00"), 0);
    assert_eq!(test_parms("0099"), rc_param(TPM_RC_TYPE, 1));
}

#[test]
fn hot_path_does_not_dirty_permanent_state() {
    let mut t = started();
    assert!(t.take_permanent_dirty());
    assert!(!t.take_permanent_dirty());
    let d = sha(&digest::SHA256, &[b"x"]);
    extend(&mut t, 0, 10, &[(TPM_ALG_SHA256, d)]);
    pcr_read(&mut t, TPM_ALG_SHA256, 10);
    t.execute(0, &cmd(TPM_CC_GET_RANDOM, &[], None, &[0, 32]));
    assert!(!t.take_permanent_dirty());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Any sequence of extends survives save → restore (volatile) and
        /// Shutdown(STATE) → save → restore → init → Startup(STATE) for state-saved PCRs.
        #[test]
        fn state_round_trips(ops in prop::collection::vec((0u32..24, any::<[u8; 32]>()), 1..12)) {
            let mut t = started();
            for (pcr, d) in &ops {
                let _ = extend(&mut t, 4, *pcr, &[(TPM_ALG_SHA256, d.to_vec())]);
            }
            let want: Vec<Vec<u8>> = (0..24).map(|p| pcr_read(&mut t, TPM_ALG_SHA256, p)).collect();
            let mut u = Tpm::restore(&t.save(BlobType::Permanent), Some(&t.save(BlobType::Volatile))).unwrap();
            for p in 0..24u32 {
                prop_assert_eq!(&pcr_read(&mut u, TPM_ALG_SHA256, p), &want[p as usize]);
            }
            prop_assert_eq!(rc(&u.execute(0, &shutdown_command(TPM_SU_STATE))), 0);
            let mut w = Tpm::restore(&u.save(BlobType::Permanent), None).unwrap();
            w.init();
            prop_assert_eq!(rc(&w.execute(0, &startup_command(TPM_SU_STATE))), 0);
            for p in 0..16u32 {
                prop_assert_eq!(&pcr_read(&mut w, TPM_ALG_SHA256, p), &want[p as usize]);
            }
        }

        /// Arbitrary frames never panic and always get a well-formed response.
        #[test]
        fn arbitrary_frames_get_framed_responses(cc in prop::sample::select(crate::cmd::COMMANDS.iter().map(|d| d.cc).collect::<Vec<_>>()),
                                                 sessions in any::<bool>(), body in prop::collection::vec(any::<u8>(), 0..64), loc in 0u8..6) {
            let mut t = started();
            let mut f = Vec::new();
            f.put_u16(if sessions { TPM_ST_SESSIONS } else { TPM_ST_NO_SESSIONS });
            f.put_u32(0);
            f.put_u32(cc);
            f.extend_from_slice(&body);
            let n = f.len() as u32;
            f.patch_u32(2, n);
            let r = t.execute(loc, &f);
            let code = rc(&r);
            if code != 0 {
                prop_assert_eq!(r.len(), 10);
            }
        }
    }
}

#[test]
fn flush_context_of_nothing() {
    let mut t = started();
    let r = t.execute(0, &hex("8001 0000000E 00000165 80000000"));
    assert_eq!(rc(&r), rc_param(TPM_RC_HANDLE, 1));
    let r = t.execute(0, &hex("8001 0000000E 00000165 40000001"));
    assert_eq!(rc(&r), rc_param(TPM_RC_VALUE, 1));
}

mod audit;
mod certify_creation;
mod create_loaded;
mod da;
mod duplicate;
mod ecc;
mod ecdaa;
mod encrypt;
mod hmac;
mod load_external_rsa;
mod nv;
mod nv_certify;
mod platform;
mod policy_auth;
mod policy_bind;
mod policy_nv;
mod policy_ticket;
mod private_blob;
mod rsa_crypt;
mod sequence;
mod volatile;
mod x509;

#[test]
fn debug_output_never_shows_seeds_or_auth_values() {
    let mut t = Tpm::manufacture();
    t.perm.owner_auth = crate::state::Auth::new(b"hunter2-owner-secret").unwrap();
    let text = format!("{:?} {:?} {:?}", t.perm, t.perm.owner_auth, t.vol);
    let seed_hex: String = t.perm.eps.iter().map(|b| format!("{b}, ")).collect();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains(&seed_hex[..40]), "{text}");
    assert!(text.contains("Auth(<20 bytes>)"), "{text}");
}

#[test]
fn clock_set_only_moves_forward() {
    let mut t = started();
    let clock = t.manual_clock();
    let set = |t: &mut Tpm, v: u64| {
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_CLOCK_SET,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &v.to_be_bytes(),
            ),
        ))
    };
    assert_eq!(set(&mut t, 0xFA1_AFE1), 0);
    assert_eq!(t.clock(), 0xFA1_AFE1);
    clock.fetch_add(5, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(t.clock(), 0xFA1_AFE1 + 5);
    assert_eq!(set(&mut t, 0), rc_param(TPM_RC_VALUE, 1));
    assert_eq!(
        set(&mut t, 0xFFFF_0000_0000_0001),
        rc_param(TPM_RC_VALUE, 1)
    );
    assert!(t.take_permanent_dirty());
    // Clock reaches NV: a restore from the permanent blob starts at the new value or later.
    let blob = t.save(BlobType::Permanent);
    let u = Tpm::restore(&blob, None).unwrap();
    assert!(u.clock() >= 0xFA1_AFE1 + 5);
}
