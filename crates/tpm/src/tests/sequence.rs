//! Hash, HMAC and event sequences against aws-lc-rs digests and HMACs: slots, authorization,
//! tickets, ContextSave/ContextLoad and the volatile blob mid-sequence, and the error paths.

use super::*;
use aws_lc_rs::hmac as ring_hmac;

/// Runs a command with password sessions; the response parameters (after `parameterSize`
/// when sessions are used, after the handle when one is returned) or the response code.
fn run(
    t: &mut Tpm,
    cc: u32,
    handles: &[u32],
    pw: Option<&[&[u8]]>,
    p: &[u8],
) -> Result<Vec<u8>, u32> {
    let r = t.execute(0, &cmd(cc, handles, pw, p));
    match rc(&r) {
        0 => Ok(r[10..].to_vec()),
        e => Err(e),
    }
}

fn start(t: &mut Tpm, auth: &[u8], alg: u16) -> Result<u32, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(auth);
    p.put_u16(alg);
    run(t, TPM_CC_HASH_SEQUENCE_START, &[], None, &p)
        .map(|r| u32::from_be_bytes(r[..4].try_into().unwrap()))
}

fn update(t: &mut Tpm, h: u32, pw: &[u8], data: &[u8]) -> u32 {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    match run(t, TPM_CC_SEQUENCE_UPDATE, &[h], Some(&[pw]), &p) {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// SequenceComplete: (result, ticket tag, ticket hierarchy, ticket digest).
fn complete(
    t: &mut Tpm,
    h: u32,
    pw: &[u8],
    data: &[u8],
    hierarchy: u32,
) -> Result<(Vec<u8>, u16, u32, Vec<u8>), u32> {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    p.put_u32(hierarchy);
    let r = run(t, TPM_CC_SEQUENCE_COMPLETE, &[h], Some(&[pw]), &p)?;
    let mut rd = Reader::new(&r[4..]);
    let d = rd.tpm2b(64).unwrap().to_vec();
    let tag = rd.u16().unwrap();
    let hier = rd.u32().unwrap();
    let tk = rd.tpm2b(64).unwrap().to_vec();
    Ok((d, tag, hier, tk))
}

/// TPM2_Hash of `data` under `hierarchy`: (digest, ticket digest).
fn hash_with_ticket(t: &mut Tpm, data: &[u8], hierarchy: u32) -> (Vec<u8>, Vec<u8>) {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    p.put_u16(TPM_ALG_SHA256);
    p.put_u32(hierarchy);
    let r = run(t, TPM_CC_HASH, &[], None, &p).unwrap();
    let mut rd = Reader::new(&r);
    let d = rd.tpm2b(64).unwrap().to_vec();
    rd.u16().unwrap();
    rd.u32().unwrap();
    (d, rd.tpm2b(64).unwrap().to_vec())
}

#[test]
fn hash_sequence_digest_and_ticket() {
    let mut t = started();
    let h = start(&mut t, b"pw", TPM_ALG_SHA256).unwrap();
    assert_eq!(h >> 24, u32::from(TPM_HT_TRANSIENT));
    assert_eq!(update(&mut t, h, b"pw", b"here is some data"), 0);
    assert_eq!(update(&mut t, h, b"pw", &[0x5a; 1000]), 0);
    assert_eq!(update(&mut t, h, b"pw", b""), 0);
    let (d, tag, hier, tk) = complete(&mut t, h, b"pw", b"tail", TPM_RH_OWNER).unwrap();
    let all = [&b"here is some data"[..], &[0x5a; 1000], b"tail"].concat();
    assert_eq!(d, sha(&digest::SHA256, &[&all]));
    assert_eq!((tag, hier), (TPM_ST_HASHCHECK, TPM_RH_OWNER));
    // The same ticket TPM2_Hash issues for the same digest.
    assert_eq!(hash_with_ticket(&mut t, &all, TPM_RH_OWNER), (d, tk));
    // SequenceComplete flushed the object.
    assert_eq!(update(&mut t, h, b"pw", b"x"), rc_handle(TPM_RC_HANDLE, 1));
    assert!(t.vol.objects.handles().is_empty());
}

#[test]
fn no_ticket_for_null_hierarchy_generated_or_short_first_block() {
    let mut t = started();
    let generated = [TPM_GENERATED_VALUE.to_be_bytes().as_slice(), b"rest"].concat();
    for (first, last, hierarchy) in [
        (Some(&generated[..]), &b""[..], TPM_RH_OWNER),
        (Some(&b"abc"[..]), &b"defgh"[..], TPM_RH_OWNER),
        (Some(&b"safe data"[..]), &b""[..], TPM_RH_NULL),
        (None, &generated[..], TPM_RH_ENDORSEMENT),
    ] {
        let h = start(&mut t, b"", TPM_ALG_SHA1).unwrap();
        if let Some(f) = first {
            assert_eq!(update(&mut t, h, b"", f), 0);
        }
        let (d, tag, hier, tk) = complete(&mut t, h, b"", last, hierarchy).unwrap();
        let all = [first.unwrap_or_default(), last].concat();
        assert_eq!(d, sha(&digest::SHA1_FOR_LEGACY_USE_ONLY, &[&all]));
        assert_eq!((tag, hier, tk.len()), (TPM_ST_HASHCHECK, TPM_RH_NULL, 0));
    }
    // Data only in SequenceComplete, not generated: a real ticket.
    let h = start(&mut t, b"", TPM_ALG_SHA256).unwrap();
    let (_, _, hier, tk) = complete(&mut t, h, b"", b"only here", TPM_RH_PLATFORM).unwrap();
    assert_eq!((hier, tk.len()), (TPM_RH_PLATFORM, 64));
}

#[test]
fn sequence_start_and_complete_errors() {
    let mut t = started();
    assert_eq!(start(&mut t, b"", 0x0099), Err(rc_param(TPM_RC_HASH, 2)));
    assert_eq!(
        start(&mut t, &[1; 65], TPM_ALG_SHA256),
        Err(rc_param(TPM_RC_SIZE, 1))
    );
    let h = start(&mut t, b"", TPM_ALG_SHA256).unwrap();
    assert_eq!(
        complete(&mut t, h, b"", b"", TPM_RH_LOCKOUT),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
    // A wrong password on a DA-exempt sequence object.
    assert_eq!(
        update(&mut t, h, b"wrong", b"x"),
        rc_session(TPM_RC_BAD_AUTH, 1)
    );
    // Without an authorization session.
    let mut p = Vec::new();
    p.put_tpm2b(b"x");
    assert_eq!(
        run(&mut t, TPM_CC_SEQUENCE_UPDATE, &[h], None, &p),
        Err(TPM_RC_AUTH_MISSING)
    );
    // An event sequence is completed only by EventSequenceComplete, and vice versa.
    let e = start(&mut t, b"", TPM_ALG_NULL).unwrap();
    assert_eq!(
        complete(&mut t, e, b"", b"", TPM_RH_NULL),
        Err(rc_handle(TPM_RC_MODE, 1))
    );
    let mut p = Vec::new();
    p.put_tpm2b(b"");
    assert_eq!(
        run(
            &mut t,
            TPM_CC_EVENT_SEQUENCE_COMPLETE,
            &[TPM_RH_NULL, h],
            Some(&[b"", b""]),
            &p
        ),
        Err(rc_handle(TPM_RC_MODE, 2))
    );
    // All three object slots are taken: sequences count against them.
    assert_eq!(start(&mut t, b"", TPM_ALG_SHA256).map(|_| ()), Ok(()));
    assert_eq!(
        start(&mut t, b"", TPM_ALG_SHA256),
        Err(TPM_RC_OBJECT_MEMORY)
    );
    assert_eq!(
        run(&mut t, TPM_CC_FLUSH_CONTEXT, &[], None, &e.to_be_bytes()),
        Ok(vec![])
    );
    assert!(start(&mut t, b"", TPM_ALG_SHA256).is_ok());
    // An ordinary object is not a sequence.
    run(&mut t, TPM_CC_FLUSH_CONTEXT, &[], None, &h.to_be_bytes()).unwrap();
    let k = rsp_handle(&create_primary_rsp(
        &mut t,
        TPM_RH_OWNER,
        &hex("0023000b00030072000000060080004300100003001000000000"),
    ));
    assert_eq!(update(&mut t, k, b"", b"x"), rc_handle(TPM_RC_MODE, 1));
    assert_eq!(
        update(&mut t, 0x80FF_FFFF, b"", b"x"),
        rc_handle(TPM_RC_HANDLE, 1)
    );
}

#[test]
fn event_sequence_extends_every_allocated_bank() {
    let mut t = started();
    let h = start(&mut t, b"1234", TPM_ALG_NULL).unwrap();
    assert_eq!(update(&mut t, h, b"1234", b"event part one, "), 0);
    let mut p = Vec::new();
    p.put_tpm2b(b"part two");
    // PCR 17 is not extendable from locality 0.
    assert_eq!(
        run(
            &mut t,
            TPM_CC_EVENT_SEQUENCE_COMPLETE,
            &[17, h],
            Some(&[b"", b"1234"]),
            &p
        ),
        Err(TPM_RC_LOCALITY)
    );
    let r = run(
        &mut t,
        TPM_CC_EVENT_SEQUENCE_COMPLETE,
        &[16, h],
        Some(&[b"", b"1234"]),
        &p,
    )
    .unwrap();
    let data = b"event part one, part two";
    let list = TpmlDigestValues::read(&mut Reader::new(&r[4..]), 4).unwrap();
    let algs = [
        (TPM_ALG_SHA1, &digest::SHA1_FOR_LEGACY_USE_ONLY),
        (TPM_ALG_SHA256, &digest::SHA256),
        (TPM_ALG_SHA384, &digest::SHA384),
        (TPM_ALG_SHA512, &digest::SHA512),
    ];
    assert_eq!(list.0.len(), 4);
    for ((alg, a), got) in algs.iter().zip(&list.0) {
        let d = sha(a, &[data]);
        assert_eq!((got.hash_alg, got.bytes()), (*alg, &d[..]));
        let n = d.len();
        assert_eq!(pcr_read(&mut t, *alg, 16), sha(a, &[&vec![0; n], &d]));
    }
    assert!(t.vol.objects.handles().is_empty());
    // TPM_RH_NULL: digests only, PCRs unchanged.
    let before = pcr_read(&mut t, TPM_ALG_SHA256, 16);
    let h = start(&mut t, b"", TPM_ALG_NULL).unwrap();
    run(
        &mut t,
        TPM_CC_EVENT_SEQUENCE_COMPLETE,
        &[TPM_RH_NULL, h],
        Some(&[b"", b""]),
        &p,
    )
    .unwrap();
    assert_eq!(pcr_read(&mut t, TPM_ALG_SHA256, 16), before);
}

/// LoadExternal of a keyed-hash object: `attrs`, scheme hash (NULL = none), key bytes.
fn load_keyed_hash(t: &mut Tpm, attrs: u32, scheme: Option<u16>, key: &[u8]) -> u32 {
    let seed = [5u8; 32];
    let mut public = Vec::new();
    public.put_u16(TPM_ALG_KEYEDHASH);
    public.put_u16(TPM_ALG_SHA256);
    public.put_u32(attrs | TPMA_OBJECT_USER_WITH_AUTH);
    public.put_u16(0);
    match scheme {
        Some(h) => {
            public.put_u16(TPM_ALG_HMAC);
            public.put_u16(h);
        }
        None => public.put_u16(TPM_ALG_NULL),
    }
    public.put_tpm2b(&sha(&digest::SHA256, &[&seed, key]));
    let mut sens = Vec::new();
    sens.put_u16(TPM_ALG_KEYEDHASH);
    sens.put_tpm2b(b"");
    sens.put_tpm2b(&seed);
    sens.put_tpm2b(key);
    let mut p = Vec::new();
    p.put_tpm2b(&sens);
    p.put_tpm2b(&public);
    p.put_u32(TPM_RH_NULL);
    let r = run(t, TPM_CC_LOAD_EXTERNAL, &[], None, &p).unwrap();
    u32::from_be_bytes(r[..4].try_into().unwrap())
}

fn hmac_start(t: &mut Tpm, key: u32, auth: &[u8], alg: u16) -> Result<u32, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(auth);
    p.put_u16(alg);
    run(t, TPM_CC_HMAC_START, &[key], Some(&[b""]), &p)
        .map(|r| u32::from_be_bytes(r[..4].try_into().unwrap()))
}

#[test]
fn hmac_sequence_matches_aws_lc() {
    let mut t = started();
    let key = [0x42u8; 100]; // longer than a SHA-256 block: hashed first
    let k = load_keyed_hash(&mut t, TPMA_OBJECT_SIGN_ENCRYPT, None, &key);
    let s = hmac_start(&mut t, k, b"1234", TPM_ALG_SHA256).unwrap();
    assert_eq!(update(&mut t, s, b"1234", b"here is some data"), 0);
    assert_eq!(update(&mut t, s, b"1234", &[7; 300]), 0);
    let (d, tag, hier, tk) = complete(&mut t, s, b"1234", b"end", TPM_RH_OWNER).unwrap();
    let data = [&b"here is some data"[..], &[7; 300], b"end"].concat();
    let want = ring_hmac::sign(&ring_hmac::Key::new(ring_hmac::HMAC_SHA256, &key), &data);
    assert_eq!(d, want.as_ref());
    // No ticket for an HMAC, whatever the hierarchy.
    assert_eq!((tag, hier, tk.len()), (TPM_ST_HASHCHECK, TPM_RH_NULL, 0));

    // The key's own scheme decides; NULL means "the key's".
    let fixed = load_keyed_hash(&mut t, TPMA_OBJECT_SIGN_ENCRYPT, Some(TPM_ALG_SHA384), &key);
    let s = hmac_start(&mut t, fixed, b"", TPM_ALG_NULL).unwrap();
    let (d, ..) = complete(&mut t, s, b"", b"abc", TPM_RH_NULL).unwrap();
    let want = ring_hmac::sign(&ring_hmac::Key::new(ring_hmac::HMAC_SHA384, &key), b"abc");
    assert_eq!(d, want.as_ref());
    assert_eq!(
        hmac_start(&mut t, fixed, b"", TPM_ALG_SHA256),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
    assert_eq!(
        hmac_start(&mut t, k, b"", TPM_ALG_NULL),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
    run(
        &mut t,
        TPM_CC_FLUSH_CONTEXT,
        &[],
        None,
        &fixed.to_be_bytes(),
    )
    .unwrap();
    // Not a signing key; not a keyed-hash object.
    let nosign = load_keyed_hash(&mut t, 0, None, &key);
    assert_eq!(
        hmac_start(&mut t, nosign, b"", TPM_ALG_SHA256),
        Err(rc_handle(TPM_RC_KEY, 1))
    );
    run(
        &mut t,
        TPM_CC_FLUSH_CONTEXT,
        &[],
        None,
        &nosign.to_be_bytes(),
    )
    .unwrap();
    let ecc = rsp_handle(&create_primary_rsp(
        &mut t,
        TPM_RH_OWNER,
        &hex("0023000b00030072000000060080004300100003001000000000"),
    ));
    assert_eq!(
        hmac_start(&mut t, ecc, b"", TPM_ALG_SHA256),
        Err(rc_handle(TPM_RC_TYPE, 1))
    );
}

#[test]
fn sequences_survive_context_save_and_volatile_blob() {
    let mut t = started();
    let key = b"context key";
    let k = load_keyed_hash(&mut t, TPMA_OBJECT_SIGN_ENCRYPT, None, key);
    let hm = hmac_start(&mut t, k, b"a", TPM_ALG_SHA512).unwrap();
    run(&mut t, TPM_CC_FLUSH_CONTEXT, &[], None, &k.to_be_bytes()).unwrap();
    let hs = start(&mut t, b"b", TPM_ALG_SHA384).unwrap();
    assert_eq!(update(&mut t, hm, b"a", &[1; 77]), 0);
    assert_eq!(update(&mut t, hs, b"b", &[2; 77]), 0);

    // ContextSave (savedHandle 0x80000001, NULL hierarchy), flush, load, continue.
    let r = run(&mut t, TPM_CC_CONTEXT_SAVE, &[hs], None, &[]).unwrap();
    assert_eq!(r[8..16], [0x80, 0, 0, 1, 0x40, 0, 0, 7]);
    run(&mut t, TPM_CC_FLUSH_CONTEXT, &[], None, &hs.to_be_bytes()).unwrap();
    let hs = u32::from_be_bytes(
        run(&mut t, TPM_CC_CONTEXT_LOAD, &[], None, &r).unwrap()[..4]
            .try_into()
            .unwrap(),
    );
    // A tampered context is refused.
    let mut bad = r.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        run(&mut t, TPM_CC_CONTEXT_LOAD, &[], None, &bad),
        Err(rc_param(TPM_RC_INTEGRITY, 1))
    );

    // The volatile blob carries both sequences mid-way.
    let blob = t.save(BlobType::Volatile);
    let perm = t.save(BlobType::Permanent);
    let mut u = Tpm::restore(&perm, Some(&blob)).unwrap();
    assert_eq!(u.vol.objects, t.vol.objects);
    let (d, ..) = complete(&mut u, hs, b"b", &[3; 200], TPM_RH_NULL).unwrap();
    assert_eq!(d, sha(&digest::SHA384, &[&[2; 77], &[3; 200]]));
    let (d, ..) = complete(&mut u, hm, b"a", b"", TPM_RH_NULL).unwrap();
    let want = ring_hmac::sign(&ring_hmac::Key::new(ring_hmac::HMAC_SHA512, key), &[1; 77]);
    assert_eq!(d, want.as_ref());
}

#[test]
fn older_volatile_blob_cannot_hold_a_sequence() {
    let mut t = started();
    start(&mut t, b"", TPM_ALG_SHA256).unwrap();
    let blob = t.save(BlobType::Volatile);
    assert_eq!(blob[4..6], crate::state::VOLATILE_VERSION.to_be_bytes());
    // The same payload labelled version 3 uses slot tag 2, unknown there.
    let mut v3 = blob.clone();
    v3[4..6].copy_from_slice(&3u16.to_be_bytes());
    let n = v3.len() - 32;
    let d = sha(&digest::SHA256, &[&v3[..n]]);
    v3[n..].copy_from_slice(&d);
    assert_eq!(
        crate::state::read_volatile(&v3).err(),
        Some(StateError::Invalid("object slot presence flag"))
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Sequence commands with arbitrary parameters against loaded hash and event sequences
        /// never panic, always answer a framed response, and the sequences survive the
        /// volatile blob at every step.
        #[test]
        fn arbitrary_sequence_commands(
            ops in prop::collection::vec((0usize..4, 0u32..4, prop::collection::vec(any::<u8>(), 0..80)), 1..12),
        ) {
            let mut t = started();
            start(&mut t, b"", TPM_ALG_SHA384).unwrap();
            start(&mut t, b"", TPM_ALG_NULL).unwrap();
            for (op, slot, body) in ops {
                let h = TRANSIENT_FIRST + slot;
                let (cc, handles, pws): (u32, Vec<u32>, &[&[u8]]) = match op {
                    0 => (TPM_CC_SEQUENCE_UPDATE, vec![h], &[b""]),
                    1 => (TPM_CC_SEQUENCE_COMPLETE, vec![h], &[b""]),
                    2 => (TPM_CC_EVENT_SEQUENCE_COMPLETE, vec![16, h], &[b"", b""]),
                    _ => (TPM_CC_HASH_SEQUENCE_START, vec![], &[]),
                };
                let pw = if pws.is_empty() { None } else { Some(pws) };
                let r = t.execute(0, &cmd(cc, &handles, pw, &body));
                let code = rc(&r);
                if code != 0 {
                    prop_assert_eq!(r.len(), 10);
                }
                let u = Tpm::restore(&t.save(BlobType::Permanent), Some(&t.save(BlobType::Volatile))).unwrap();
                prop_assert_eq!(&u.vol.objects, &t.vol.objects);
            }
        }
    }
}
