//! CreateLoaded: a hierarchy parent gives the same primary as CreatePrimary; a storage parent
//! gives a private blob that Load accepts and that names the same object.

use super::*;

/// ECC P-256 storage key template (tpm2_createprimary -G ecc256 default attributes).
const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";
/// ECC P-256 ECDSA/SHA-256 signing key: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

fn sensitive_create(auth: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    inner.put_tpm2b(auth);
    inner.put_u16(0);
    let mut p = Vec::new();
    p.put_tpm2b(&inner);
    p
}

/// Returns (rc, handle, outPrivate, outPublic, name).
fn create_loaded_pw(
    t: &mut Tpm,
    parent: u32,
    pw: &[u8],
    tmpl: &str,
) -> (u32, u32, Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut p = sensitive_create(b"child");
    p.put_tpm2b(&hex(tmpl));
    let r = t.execute(0, &cmd(TPM_CC_CREATE_LOADED, &[parent], Some(&[pw]), &p));
    if rc(&r) != 0 {
        return (rc(&r), 0, vec![], vec![], vec![]);
    }
    let h = u32::from_be_bytes(r[10..14].try_into().unwrap());
    let mut rd = Reader::new(&r[18..]);
    let private = rd.tpm2b(4096).unwrap().to_vec();
    let public = rd.tpm2b(4096).unwrap().to_vec();
    let name = rd.tpm2b(66).unwrap().to_vec();
    (0, h, private, public, name)
}

fn create_loaded(t: &mut Tpm, parent: u32, tmpl: &str) -> (u32, u32, Vec<u8>, Vec<u8>, Vec<u8>) {
    create_loaded_pw(t, parent, b"", tmpl)
}

fn create_primary(t: &mut Tpm, tmpl: &str) -> (u32, Vec<u8>) {
    let r = create_primary_rsp(t, TPM_RH_OWNER, &hex(tmpl));
    let h = rsp_handle(&r);
    let mut rd = Reader::new(&r[18..]);
    (h, rd.tpm2b(4096).unwrap().to_vec())
}

#[test]
fn hierarchy_parent_is_create_primary() {
    let mut t = started();
    let (rc0, h, private, public, name) = create_loaded(&mut t, TPM_RH_OWNER, ECC_SRK);
    assert_eq!(rc0, 0);
    assert!(private.is_empty());
    let (h2, public2) = create_primary(&mut t, ECC_SRK);
    assert_eq!(public, public2);
    assert_ne!(h, h2);
    let mut n = vec![0x00, 0x0b];
    n.extend_from_slice(&sha(&digest::SHA256, &[&public]));
    assert_eq!(name, n);
    // Slots: two objects loaded, a third fits, a fourth does not.
    assert_eq!(create_loaded(&mut t, TPM_RH_OWNER, ECC_SIGN).0, 0);
    assert_eq!(
        create_loaded(&mut t, TPM_RH_OWNER, ECC_SIGN).0,
        TPM_RC_OBJECT_MEMORY
    );
}

#[test]
fn storage_parent_blob_loads() {
    let mut t = started();
    let (parent, _) = create_primary(&mut t, ECC_SRK);
    let (rc0, h, private, public, name) = create_loaded(&mut t, parent, ECC_SIGN);
    assert_eq!(rc0, 0);
    assert!(!private.is_empty());
    let r = t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &h.to_be_bytes()));
    assert_eq!(rc(&r), 0);
    let mut p = Vec::new();
    p.put_tpm2b(&private);
    p.put_tpm2b(&public);
    let r = t.execute(0, &cmd(TPM_CC_LOAD, &[parent], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(Reader::new(&r[18..]).tpm2b(66).unwrap(), &name[..]);
    let h = u32::from_be_bytes(r[10..14].try_into().unwrap());
    // The loaded child carries inSensitive's authValue.
    let mut p = Vec::new();
    p.put_tpm2b(&[1u8; 32]);
    p.put_u16(TPM_ALG_NULL);
    p.put_u16(0x8024);
    p.put_u32(TPM_RH_NULL);
    p.put_u16(0);
    let r = t.execute(0, &cmd(TPM_CC_SIGN, &[h], Some(&[b"child"]), &p));
    assert_eq!(rc(&r), 0);
    // A signing key is no parent.
    assert_eq!(
        create_loaded_pw(&mut t, h, b"child", ECC_SIGN).0,
        rc_handle(TPM_RC_TYPE, 1)
    );
}
