//! TPM2B_PRIVATE layout: libtpms' `outerHMAC || TPM2B iv || encrypted` with a random IV and a
//! nameAlg-sized seedValue (126 bytes for an ECC P-256 key under a SHA-256 parent), and blobs
//! of the earlier layout (no IV field, zero IV) still load. RSA keys travel as their prime p
//! (222 bytes for RSA-2048), earlier blobs' PKCS#8 still loads.

use super::*;
use crate::object::protect;

/// ECC P-256 storage key.
const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";
/// RSA-2048 decryption key, NULL scheme.
const RSA_DEC: &str = "0001000b00020072 0000 0010 0010 0800 00000000 0000";
/// ECC P-256 ECDSA/SHA-256 signing key.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";

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

/// Load under `parent`: the handle or the response code.
fn load(t: &mut Tpm, parent: u32, private: &[u8], public: &[u8]) -> Result<u32, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(private);
    p.put_tpm2b(public);
    let r = t.execute(0, &cmd(TPM_CC_LOAD, &[parent], Some(&[b""]), &p));
    match rc(&r) {
        0 => Ok(rsp_handle(&r)),
        e => Err(e),
    }
}

#[test]
fn libtpms_layout_and_older_blobs() {
    let mut t = started();
    let srk = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SRK)));
    let (private, public) = create(&mut t, srk, &hex(ECC_SIGN));
    // 2+32 HMAC, 2+16 IV, 2+(2 type + 2 auth + 2+32 seedValue + 2+32 d) encrypted.
    assert_eq!(private.len(), 0x7E);
    assert_eq!(&private[34..36], &[0, 16]);
    let (private2, _) = create(&mut t, srk, &hex(ECC_SIGN));
    assert_ne!(&private[36..52], &private2[36..52], "random IV");
    let h = load(&mut t, srk, &private, &public).unwrap();

    // The same sensitive area in the earlier layout: TPM2B HMAC || AES-CFB with a zero IV.
    let parent = t.object(srk).unwrap().clone();
    let child = t.object(h).unwrap().clone();
    let sens = child.sensitive.as_ref().unwrap();
    assert_eq!(sens.seed_value.len(), 32, "obfuscation seedValue");
    let mut inner = Vec::new();
    sens.write(&mut inner);
    let mut plain = Vec::new();
    plain.put_tpm2b(&inner);
    let seed = &parent.sensitive.as_ref().unwrap().seed_value;
    let old = protect::seal(
        parent.public.name_alg,
        seed,
        &child.name,
        parent.public.symmetric().key_bits,
        &plain,
    )
    .unwrap();
    assert_eq!(old.len(), private.len() - 18);
    let mut fp = Vec::new();
    fp.put_u32(h);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &fp))),
        0
    );
    let h_old = load(&mut t, srk, &old, &public).unwrap();
    assert_eq!(t.object(h_old).unwrap().sensitive, child.sensitive);
    let mut fp = Vec::new();
    fp.put_u32(h_old);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &fp))),
        0
    );

    // Any changed byte, the IV included, fails the integrity check.
    for i in [0, 20, 35, 40, private.len() - 1] {
        let mut bad = private.clone();
        bad[i] ^= 1;
        let want = if i < 2 {
            rc_param(TPM_RC_SIZE, 1)
        } else {
            rc_param(TPM_RC_INTEGRITY, 1)
        };
        assert_eq!(load(&mut t, srk, &bad, &public), Err(want), "byte {i}");
    }
}

#[test]
fn rsa_blob_carries_the_prime() {
    let mut t = started();
    let srk = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SRK)));
    let (private, public) = create(&mut t, srk, &hex(RSA_DEC));
    // 2+32 HMAC, 2+16 IV, 2+(2 type + 2 auth + 2+32 seedValue + 2+128 p) encrypted.
    assert_eq!(private.len(), 222);
    let h = load(&mut t, srk, &private, &public).unwrap();
    let child = t.object(h).unwrap().clone();
    let pkcs8 = child.sensitive.as_ref().unwrap().sensitive.clone();
    assert!(child.rsa.is_some(), "the completed key parses");
    // The key works: RSA_Encrypt then RSA_Decrypt (RSAES) through the loaded object.
    let mut p = Vec::new();
    p.put_tpm2b(b"secret");
    p.put_u16(TPM_ALG_RSAES);
    p.put_tpm2b(b"");
    let r = t.execute(0, &cmd(TPM_CC_RSA_ENCRYPT, &[h], None, &p));
    assert_eq!(rc(&r), 0);
    let ct = Reader::new(&r[10..]).tpm2b(512).unwrap().to_vec();
    let mut p = Vec::new();
    p.put_tpm2b(&ct);
    p.put_u16(TPM_ALG_RSAES);
    p.put_tpm2b(b"");
    let r = t.execute(0, &cmd(TPM_CC_RSA_DECRYPT, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(Reader::new(&r[14..]).tpm2b(512).unwrap(), b"secret");
    let mut fp = Vec::new();
    fp.put_u32(h);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &fp))),
        0
    );
    // An earlier blob: PKCS#8 inside, no IV field.
    let parent = t.object(srk).unwrap().clone();
    let sens = child.sensitive.as_ref().unwrap();
    let mut inner = Vec::new();
    sens.write(&mut inner);
    let mut plain = Vec::new();
    plain.put_tpm2b(&inner);
    let old = protect::seal(
        parent.public.name_alg,
        &parent.sensitive.as_ref().unwrap().seed_value,
        &child.name,
        parent.public.symmetric().key_bits,
        &plain,
    )
    .unwrap();
    assert!(old.len() > 1000);
    let h_old = load(&mut t, srk, &old, &public).unwrap();
    assert_eq!(
        t.object(h_old)
            .unwrap()
            .sensitive
            .as_ref()
            .unwrap()
            .sensitive,
        pkcs8
    );
}
