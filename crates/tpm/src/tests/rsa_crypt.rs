//! RSA_Encrypt / RSA_Decrypt: OAEP (with label) and RSAES round trips through the TPM, a
//! ciphertext made outside the TPM with aws-lc-rs, and the label and scheme rules.

use super::*;
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};

/// RSA-2048 decryption key, NULL scheme: fixedTPM|fixedParent|sensitiveDataOrigin|
/// userWithAuth|decrypt.
const RSA_DEC: &str = "0001000b00020072 0000 0010 0010 0800 00000000 0000";

fn primary(t: &mut Tpm) -> (u32, Vec<u8>) {
    let r = create_primary_rsp(t, TPM_RH_OWNER, &hex(RSA_DEC));
    let h = rsp_handle(&r);
    let mut rd = Reader::new(&r[18..]);
    let public = rd.tpm2b(4096).unwrap();
    // TPM2B_PUBLIC_KEY_RSA is the last field of the public area.
    let n = public[public.len() - 256..].to_vec();
    (h, n)
}

fn scheme(alg: u16) -> Vec<u8> {
    let mut s = Vec::new();
    s.put_u16(alg);
    if alg == TPM_ALG_OAEP {
        s.put_u16(TPM_ALG_SHA256);
    }
    s
}

fn encrypt(t: &mut Tpm, h: u32, msg: &[u8], alg: u16, label: &[u8]) -> Result<Vec<u8>, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(msg);
    p.extend_from_slice(&scheme(alg));
    p.put_tpm2b(label);
    let r = t.execute(0, &cmd(TPM_CC_RSA_ENCRYPT, &[h], None, &p));
    match rc(&r) {
        0 => Ok(Reader::new(&r[10..]).tpm2b(512).unwrap().to_vec()),
        e => Err(e),
    }
}

fn decrypt(t: &mut Tpm, h: u32, ct: &[u8], alg: u16, label: &[u8]) -> Result<Vec<u8>, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(ct);
    p.extend_from_slice(&scheme(alg));
    p.put_tpm2b(label);
    let r = t.execute(0, &cmd(TPM_CC_RSA_DECRYPT, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => Ok(Reader::new(&r[14..]).tpm2b(512).unwrap().to_vec()),
        e => Err(e),
    }
}

#[test]
fn rsa_encrypt_decrypt() {
    let mut t = started();
    let (h, n) = primary(&mut t);
    for alg in [TPM_ALG_OAEP, TPM_ALG_RSAES] {
        let ct = encrypt(&mut t, h, b"hello world", alg, b"my label\0").unwrap();
        assert_eq!(ct.len(), 256);
        assert_eq!(
            decrypt(&mut t, h, &ct, alg, b"my label\0").unwrap(),
            b"hello world"
        );
    }
    // OAEP binds the label.
    let ct = encrypt(&mut t, h, b"x", TPM_ALG_OAEP, b"a\0").unwrap();
    assert_eq!(
        decrypt(&mut t, h, &ct, TPM_ALG_OAEP, b"b\0"),
        Err(rc_param(TPM_RC_VALUE, 1))
    );
    // A label must be NUL-terminated.
    assert_eq!(
        encrypt(&mut t, h, b"x", TPM_ALG_OAEP, b"a"),
        Err(rc_param(TPM_RC_VALUE, 3))
    );
    // Raw RSA (both schemes NULL) is not offered.
    assert_eq!(
        encrypt(&mut t, h, b"x", TPM_ALG_NULL, b""),
        Err(rc_param(TPM_RC_SCHEME, 2))
    );

    // A ciphertext made outside the TPM from the public modulus.
    let pk: PublicEncryptingKey = aws_lc_rs::rsa::PublicKeyComponents {
        n: &n[..],
        e: &[1u8, 0, 1][..],
    }
    .try_into()
    .unwrap();
    let k = OaepPublicEncryptingKey::new(pk).unwrap();
    let mut buf = vec![0u8; k.ciphertext_size()];
    let ct = k
        .encrypt(&OAEP_SHA256_MGF1SHA256, b"falafel", &mut buf, Some(b"L\0"))
        .unwrap();
    assert_eq!(
        decrypt(&mut t, h, ct, TPM_ALG_OAEP, b"L\0").unwrap(),
        b"falafel"
    );
}
