//! PolicyNameHash, PolicyTemplate, PolicyPhysicalPresence, PolicyDuplicationSelect: digests
//! from Part 3's formulas, the shared cpHash slot, and the checks at authorization time.

use super::policy_nv::{
    IDX, POLICYWRITE, SHA256, define_nv, ext, nv_name, policy_digest, run, with_policy,
    write_params,
};
use super::*;

fn digest_param(d: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(d);
    p
}

#[test]
fn policy_name_hash_binds_handle_names() {
    let mut t = started();
    let (trial, _) = start_session(&mut t, TPM_SE_TRIAL);
    let nh = sha(SHA256, &[b"names"]);
    assert_eq!(
        run(
            &mut t,
            TPM_CC_POLICY_NAME_HASH,
            trial,
            &digest_param(&nh[..20])
        ),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_NAME_HASH, trial, &digest_param(&nh)),
        0
    );
    assert_eq!(
        policy_digest(&mut t, trial),
        ext(&[0; 32], TPM_CC_POLICY_NAME_HASH, &[&nh])
    );
    // nameHash, cpHash and templateHash share one slot.
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_NAME_HASH, trial, &digest_param(&nh)),
        TPM_RC_CPHASH
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_CP_HASH, trial, &digest_param(&nh)),
        TPM_RC_CPHASH
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, trial, &digest_param(&nh)),
        TPM_RC_CPHASH
    );

    // NV_Write(authHandle = owner, nvIndex = IDX) under an owner policy that binds both
    // Names (owner's Name is its handle): the first write passes; it sets WRITTEN, which
    // changes the index's Name.
    let attrs = POLICYWRITE | (1 << 17) | (1 << 1);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(define_nv(&mut t, IDX, attrs, &[], 4), 0);
    let idx_name = nv_name(&mut t, IDX);
    let nh = sha(SHA256, &[&TPM_RH_OWNER.to_be_bytes(), &idx_name]);
    let owner_policy = ext(&[0; 32], TPM_CC_POLICY_NAME_HASH, &[&nh]);
    let mut sp = Vec::new();
    sp.put_tpm2b(&owner_policy);
    sp.put_u16(TPM_ALG_SHA256);
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_SET_PRIMARY_POLICY,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &sp
            )
        )),
        0
    );
    let write = |t: &mut Tpm, s| {
        let c = with_policy(
            TPM_CC_NV_WRITE,
            &[TPM_RH_OWNER, IDX],
            s,
            &write_params(b"abcd", 0),
        );
        rc(&t.execute(0, &c))
    };
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_NAME_HASH, s, &digest_param(&nh)),
        0
    );
    assert_eq!(write(&mut t, s), 0);
    // WRITTEN changed the index's Name: the same nameHash no longer matches.
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_NAME_HASH, s, &digest_param(&nh)),
        0
    );
    assert_eq!(write(&mut t, s), rc_session(TPM_RC_POLICY_FAIL, 1));
}

/// ECC P-256 ECDSA/SHA-256 signing key template.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

fn create_primary(t: &mut Tpm, s: u32, template: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u16(4);
    p.put_u32(0);
    p.put_tpm2b(template);
    p.put_u16(0);
    p.put_u32(0);
    t.execute(
        0,
        &with_policy(TPM_CC_CREATE_PRIMARY, &[TPM_RH_OWNER], s, &p),
    )
}

#[test]
fn policy_template_binds_the_created_template() {
    let mut t = started();
    let template = hex(ECC_SIGN);
    let th = sha(SHA256, &[&template]);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th[..31])),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    // The same templateHash again is allowed (and extends again); another one is not.
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    let want = ext(
        &ext(&[0; 32], TPM_CC_POLICY_TEMPLATE, &[&th]),
        TPM_CC_POLICY_TEMPLATE,
        &[&th],
    );
    assert_eq!(policy_digest(&mut t, s), want);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&[1; 32])),
        TPM_RC_CPHASH
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_NAME_HASH, s, &digest_param(&th)),
        TPM_RC_CPHASH
    );
    // The owner's policy: exactly this template.
    let owner_policy = ext(&[0; 32], TPM_CC_POLICY_TEMPLATE, &[&th]);
    let mut sp = Vec::new();
    sp.put_tpm2b(&owner_policy);
    sp.put_u16(TPM_ALG_SHA256);
    assert_eq!(
        rc(&t.execute(
            0,
            &cmd(
                TPM_CC_SET_PRIMARY_POLICY,
                &[TPM_RH_OWNER],
                Some(&[b""]),
                &sp
            )
        )),
        0
    );
    assert_eq!(run(&mut t, TPM_CC_POLICY_RESTART, s, &[]), 0);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    let r = create_primary(&mut t, s, &template);
    assert_eq!(rc(&r), 0);
    // Any other template fails the binding (before it is even parsed).
    let mut other = template.clone();
    other[5] = 0x0c;
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    assert_eq!(
        rc(&create_primary(&mut t, s, &other)),
        rc_session(TPM_RC_POLICY_FAIL, 1)
    );
    // A command that creates nothing cannot match a templateHash, even when the digest does.
    assert_eq!(
        define_nv(&mut t, IDX, POLICYWRITE | (1 << 17), &owner_policy, 4),
        0
    );
    // (A failed authorization leaves the session as it was.)
    assert_eq!(run(&mut t, TPM_CC_POLICY_RESTART, s, &[]), 0);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    let c = with_policy(TPM_CC_NV_WRITE, &[IDX, IDX], s, &write_params(b"x", 0));
    assert_eq!(rc(&t.execute(0, &c)), rc_session(TPM_RC_POLICY_FAIL, 1));
}

#[test]
fn policy_physical_presence_needs_the_platform_signal() {
    let mut t = started();
    let pp = ext(&[0; 32], TPM_CC_POLICY_PHYSICAL_PRESENCE, &[]);
    assert_eq!(define_nv(&mut t, IDX, POLICYWRITE | (1 << 17), &pp, 4), 0);
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let write = |t: &mut Tpm| {
        let c = with_policy(TPM_CC_NV_WRITE, &[IDX, IDX], s, &write_params(b"pp", 0));
        rc(&t.execute(0, &c))
    };
    assert_eq!(run(&mut t, TPM_CC_POLICY_PHYSICAL_PRESENCE, s, &[]), 0);
    assert_eq!(policy_digest(&mut t, s), pp);
    assert_eq!(write(&mut t), rc_session(TPM_RC_PP, 1));
    t.set_physical_presence(true);
    assert_eq!(write(&mut t), 0);
}

#[test]
fn policy_duplication_select_sets_name_hash_and_command() {
    let mut t = started();
    let (obj, parent) = ([0x11u8; 34], [0x22u8; 34]);
    let dup = |include: u8| {
        let mut p = Vec::new();
        p.put_tpm2b(&obj);
        p.put_tpm2b(&parent);
        p.put_u8(include);
        p
    };
    let (s, _) = start_session(&mut t, TPM_SE_TRIAL);
    assert_eq!(run(&mut t, TPM_CC_POLICY_DUPLICATION_SELECT, s, &dup(1)), 0);
    let want = ext(
        &[0; 32],
        TPM_CC_POLICY_DUPLICATION_SELECT,
        &[&obj, &parent, &[1]],
    );
    assert_eq!(policy_digest(&mut t, s), want);
    let p = t.vol.sessions.get(s).unwrap().policy.clone();
    assert_eq!(p.name_hash, Some(sha(SHA256, &[&obj, &parent])));
    assert_eq!(p.command_code, Some(TPM_CC_DUPLICATE));
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_DUPLICATION_SELECT, s, &dup(1)),
        TPM_RC_CPHASH
    );
    // Without the object, only the new parent is in the digest.
    assert_eq!(run(&mut t, TPM_CC_POLICY_RESTART, s, &[]), 0);
    assert_eq!(run(&mut t, TPM_CC_POLICY_DUPLICATION_SELECT, s, &dup(0)), 0);
    let want = ext(&[0; 32], TPM_CC_POLICY_DUPLICATION_SELECT, &[&parent, &[0]]);
    assert_eq!(policy_digest(&mut t, s), want);
    // A command code already bound.
    assert_eq!(run(&mut t, TPM_CC_POLICY_RESTART, s, &[]), 0);
    let cc = TPM_CC_SIGN.to_be_bytes();
    assert_eq!(run(&mut t, TPM_CC_POLICY_COMMAND_CODE, s, &cc), 0);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_DUPLICATION_SELECT, s, &dup(0)),
        TPM_RC_COMMAND_CODE
    );
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_DUPLICATION_SELECT, s, &dup(2)),
        rc_param(TPM_RC_VALUE, 3)
    );
}

/// The new policy-session fields survive ContextSave/ContextLoad and the volatile blob.
#[test]
fn bindings_survive_context_save_and_volatile_blob() {
    let mut t = started();
    let (s, _) = start_session(&mut t, TPM_SE_POLICY);
    let th = sha(SHA256, &[b"template"]);
    assert_eq!(
        run(&mut t, TPM_CC_POLICY_TEMPLATE, s, &digest_param(&th)),
        0
    );
    assert_eq!(run(&mut t, TPM_CC_POLICY_PHYSICAL_PRESENCE, s, &[]), 0);
    assert_eq!(run(&mut t, TPM_CC_POLICY_NV_WRITTEN, s, &[1]), 0);
    let before = t.vol.sessions.get(s).unwrap().clone();
    assert_eq!(before.policy.template_hash, Some(th));
    assert!(before.policy.pp_required);
    assert_eq!(before.policy.nv_written, Some(true));
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_SAVE, &[s], None, &[]));
    assert_eq!(rc(&r), 0);
    let r = t.execute(0, &cmd(TPM_CC_CONTEXT_LOAD, &[], None, &r[10..]));
    assert_eq!(rc(&r), 0);
    assert_eq!(t.vol.sessions.get(s), Some(&before));
    let blob = t.save(BlobType::Volatile);
    let u = Tpm::restore(&t.save(BlobType::Permanent), Some(&blob)).unwrap();
    assert_eq!(u.vol.sessions.get(s), Some(&before));
    // A session serialized before these fields existed reads back without them.
    let mut old = Vec::new();
    before.write(&mut old);
    old.truncate(old.len() - (1 + 2 + 32) - (1 + 2) - 1);
    let back = crate::session::Session::read(&mut Reader::new(&old)).unwrap();
    assert_eq!(back.policy.template_hash, None);
    assert!(!back.policy.pp_required);
    assert_eq!(back.policy.nv_written, None);
}
