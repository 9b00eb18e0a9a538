//! Symmetric-cipher objects and TPM2_EncryptDecrypt / EncryptDecrypt2: NIST SP 800-38A vectors
//! through a LoadExternal'ed AES key, IV chaining, pytss' `aes` template, and the error paths.

use super::*;

/// SP 800-38A AES-128 key, IV, CTR initial counter, first plaintext block.
const KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const IV: &str = "000102030405060708090a0b0c0d0e0f";
const CTR_IV: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
const PT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51";
/// ECC P-256 storage key.
const ECC_SRK: &str = "0023000b00030072000000060080004300100003001000000000";
/// pytss `TPMT_PUBLIC.parse("aes")`: AES-128, mode NULL, sign|decrypt|userWithAuth.
const PYTSS_AES: &str = "0025000b0006007200000006008000100000";

/// A symcipher public area: AES `bits` in `mode` with `attrs`, unique = H(seed || key).
fn sym_public(bits: u16, mode: u16, attrs: u32, seed: &[u8], key: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_u16(TPM_ALG_SYMCIPHER);
    p.put_u16(TPM_ALG_SHA256);
    p.put_u32(attrs);
    p.put_u16(0);
    p.put_u16(TPM_ALG_AES);
    p.put_u16(bits);
    p.put_u16(mode);
    p.put_tpm2b(&sha(&digest::SHA256, &[seed, key]));
    p
}

/// LoadExternal of an AES key; the handle or the response code.
fn load_aes(t: &mut Tpm, mode: u16, attrs: u32, key: &[u8]) -> Result<u32, u32> {
    let seed = [9u8; 32];
    let mut sens = Vec::new();
    sens.put_u16(TPM_ALG_SYMCIPHER);
    sens.put_tpm2b(b"");
    sens.put_tpm2b(&seed);
    sens.put_tpm2b(key);
    let mut p = Vec::new();
    p.put_tpm2b(&sens);
    p.put_tpm2b(&sym_public((key.len() * 8) as u16, mode, attrs, &seed, key));
    p.put_u32(TPM_RH_NULL);
    let r = t.execute(0, &cmd(TPM_CC_LOAD_EXTERNAL, &[], None, &p));
    match rc(&r) {
        0 => Ok(rsp_handle(&r)),
        e => Err(e),
    }
}

const SIGN_DECRYPT: u32 =
    TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USER_WITH_AUTH;

/// EncryptDecrypt (`v2` false) or EncryptDecrypt2: (outData, ivOut) or the response code.
fn crypt(
    t: &mut Tpm,
    v2: bool,
    h: u32,
    decrypt: bool,
    mode: u16,
    iv: &[u8],
    data: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), u32> {
    let mut p = Vec::new();
    if v2 {
        p.put_tpm2b(data);
    }
    p.put_u8(u8::from(decrypt));
    p.put_u16(mode);
    p.put_tpm2b(iv);
    if !v2 {
        p.put_tpm2b(data);
    }
    let cc = if v2 {
        TPM_CC_ENCRYPT_DECRYPT2
    } else {
        TPM_CC_ENCRYPT_DECRYPT
    };
    let r = t.execute(0, &cmd(cc, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => {
            let mut rd = Reader::new(&r[14..]);
            let d = rd.tpm2b(1024).unwrap().to_vec();
            let v = rd.tpm2b(16).unwrap().to_vec();
            Ok((d, v))
        }
        e => Err(e),
    }
}

#[test]
fn sp800_38a_vectors_all_modes() {
    let mut t = started();
    let h = load_aes(&mut t, TPM_ALG_NULL, SIGN_DECRYPT, &hex(KEY)).unwrap();
    // SP 800-38A F.2.1, F.1.1, F.4.1, F.5.1, F.3.13: two blocks each.
    for (mode, iv, ct) in [
        (
            TPM_ALG_CBC,
            IV,
            "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2",
        ),
        (
            TPM_ALG_ECB,
            "",
            "3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf",
        ),
        (
            TPM_ALG_OFB,
            IV,
            "3b3fd92eb72dad20333449f8e83cfb4a 7789508d16918f03f53c52dac54ed825",
        ),
        (
            TPM_ALG_CTR,
            CTR_IV,
            "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff",
        ),
        (
            TPM_ALG_CFB,
            IV,
            "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b",
        ),
    ] {
        for v2 in [false, true] {
            let (c, iv_out) = crypt(&mut t, v2, h, false, mode, &hex(iv), &hex(PT)).unwrap();
            assert_eq!(c, hex(ct), "mode {mode:#x}");
            let (p, iv_out2) = crypt(&mut t, v2, h, true, mode, &hex(iv), &c).unwrap();
            assert_eq!(p, hex(PT), "mode {mode:#x}");
            assert_eq!(iv_out, iv_out2, "mode {mode:#x}");
            // ivOut continues the chain: the second block alone with it as IV.
            let iv1 = iv_out_of_first(&mut t, h, mode, iv);
            let (c2, _) = crypt(&mut t, v2, h, false, mode, &iv1, &hex(PT)[16..]).unwrap();
            assert_eq!(c2, hex(ct)[16..], "mode {mode:#x}");
            match mode {
                TPM_ALG_CBC | TPM_ALG_CFB => assert_eq!(iv_out, c[16..]),
                TPM_ALG_ECB => assert!(iv_out.is_empty()),
                _ => assert_eq!(iv_out.len(), 16),
            }
        }
    }
}

/// ivOut after encrypting the first plaintext block alone.
fn iv_out_of_first(t: &mut Tpm, h: u32, mode: u16, iv: &str) -> Vec<u8> {
    crypt(t, false, h, false, mode, &hex(iv), &hex(PT)[..16])
        .unwrap()
        .1
}

#[test]
fn key_mode_and_caller_mode() {
    let mut t = started();
    let cbc = load_aes(&mut t, TPM_ALG_CBC, SIGN_DECRYPT, &hex(KEY)).unwrap();
    let iv = hex(IV);
    // The key's mode is used when the caller says NULL or the same mode.
    let (a, _) = crypt(&mut t, false, cbc, false, TPM_ALG_NULL, &iv, &hex(PT)).unwrap();
    let (b, _) = crypt(&mut t, false, cbc, false, TPM_ALG_CBC, &iv, &hex(PT)).unwrap();
    assert_eq!(a, b);
    assert_eq!(&a[..16], &hex("7649abac8119b246cee98e9b12e9197d")[..]);
    // A different mode: TPM_RC_MODE on the mode parameter (2, or 3 in EncryptDecrypt2).
    assert_eq!(
        crypt(&mut t, false, cbc, false, TPM_ALG_CFB, &iv, &hex(PT)),
        Err(rc_param(TPM_RC_MODE, 2))
    );
    assert_eq!(
        crypt(&mut t, true, cbc, false, TPM_ALG_CFB, &iv, &hex(PT)),
        Err(rc_param(TPM_RC_MODE, 3))
    );
    // A NULL-mode key needs the caller's mode.
    let any = load_aes(&mut t, TPM_ALG_NULL, SIGN_DECRYPT, &hex(KEY)).unwrap();
    assert_eq!(
        crypt(&mut t, false, any, false, TPM_ALG_NULL, &iv, &hex(PT)),
        Err(rc_param(TPM_RC_MODE, 2))
    );
    // Not a cipher mode at all: refused when unmarshalled.
    assert_eq!(
        crypt(&mut t, false, any, false, TPM_ALG_AES, &iv, &hex(PT)),
        Err(rc_param(TPM_RC_MODE, 2))
    );
    assert_eq!(
        crypt(&mut t, true, any, false, TPM_ALG_SHA256, &iv, &hex(PT)),
        Err(rc_param(TPM_RC_MODE, 3))
    );
}

#[test]
fn sizes_and_attributes() {
    let mut t = started();
    let h = load_aes(&mut t, TPM_ALG_NULL, SIGN_DECRYPT, &hex(KEY)).unwrap();
    let iv = hex(IV);
    // CBC and ECB need whole blocks: TPM_RC_SIZE on inData (4, or 1 in EncryptDecrypt2).
    for mode in [TPM_ALG_CBC, TPM_ALG_ECB] {
        let iv = if mode == TPM_ALG_ECB {
            vec![]
        } else {
            iv.clone()
        };
        assert_eq!(
            crypt(&mut t, false, h, false, mode, &iv, &[0; 17]),
            Err(rc_param(TPM_RC_SIZE, 4))
        );
        assert_eq!(
            crypt(&mut t, true, h, true, mode, &iv, &[0; 15]),
            Err(rc_param(TPM_RC_SIZE, 1))
        );
    }
    // Stream-like modes take any length, including none.
    for mode in [TPM_ALG_CFB, TPM_ALG_OFB, TPM_ALG_CTR] {
        let (c, v) = crypt(&mut t, false, h, false, mode, &iv, &[1; 23]).unwrap();
        assert_eq!(c.len(), 23);
        assert_eq!(
            crypt(&mut t, false, h, true, mode, &iv, &c).unwrap(),
            (vec![1; 23], v)
        );
        assert_eq!(
            crypt(&mut t, false, h, false, mode, &iv, &[]).unwrap(),
            (vec![], iv.clone())
        );
    }
    // IV: one block except ECB, which takes none (ivIn 3, or 4 in EncryptDecrypt2).
    assert_eq!(
        crypt(&mut t, false, h, false, TPM_ALG_CFB, &iv[..8], &[0; 16]),
        Err(rc_param(TPM_RC_SIZE, 3))
    );
    assert_eq!(
        crypt(&mut t, true, h, false, TPM_ALG_ECB, &iv, &[0; 16]),
        Err(rc_param(TPM_RC_SIZE, 4))
    );
    assert_eq!(
        crypt(&mut t, false, h, false, TPM_ALG_CFB, &[0; 17], &[0; 16]),
        Err(rc_param(TPM_RC_SIZE, 3))
    );
    // inData larger than MAX_BUFFER.
    assert_eq!(
        crypt(&mut t, false, h, false, TPM_ALG_CFB, &iv, &[0; 1025]),
        Err(rc_param(TPM_RC_SIZE, 4))
    );
    // decrypt needs the decrypt attribute, encrypt the sign attribute.
    let enc_only = load_aes(
        &mut t,
        TPM_ALG_NULL,
        TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USER_WITH_AUTH,
        &hex(KEY),
    )
    .unwrap();
    assert!(crypt(&mut t, false, enc_only, false, TPM_ALG_CFB, &iv, &[0; 16]).is_ok());
    assert_eq!(
        crypt(&mut t, false, enc_only, true, TPM_ALG_CFB, &iv, &[0; 16]),
        Err(rc_handle(TPM_RC_ATTRIBUTES, 1))
    );
    flush(&mut t, enc_only);
    let dec_only = load_aes(
        &mut t,
        TPM_ALG_NULL,
        TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USER_WITH_AUTH,
        &hex(KEY),
    )
    .unwrap();
    assert!(crypt(&mut t, true, dec_only, true, TPM_ALG_CFB, &iv, &[0; 16]).is_ok());
    assert_eq!(
        crypt(&mut t, true, dec_only, false, TPM_ALG_CFB, &iv, &[0; 16]),
        Err(rc_handle(TPM_RC_ATTRIBUTES, 1))
    );
    flush(&mut t, dec_only);
    flush(&mut t, h);
    // Not a symmetric key.
    let srk = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SRK)));
    assert_eq!(
        crypt(&mut t, false, srk, false, TPM_ALG_CFB, &iv, &[0; 16]),
        Err(rc_handle(TPM_RC_KEY, 1))
    );
}

fn flush(t: &mut Tpm, h: u32) {
    let mut p = Vec::new();
    p.put_u32(h);
    assert_eq!(
        rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &p))),
        0
    );
}

/// CreateLoaded under `parent` with sensitive data `data`: (rc, handle).
fn create_loaded(t: &mut Tpm, parent: u32, tmpl: &[u8], data: &[u8]) -> (u32, u32) {
    let mut inner = Vec::new();
    inner.put_tpm2b(b"");
    inner.put_tpm2b(data);
    let mut p = Vec::new();
    p.put_tpm2b(&inner);
    p.put_tpm2b(tmpl);
    let r = t.execute(0, &cmd(TPM_CC_CREATE_LOADED, &[parent], Some(&[b""]), &p));
    match rc(&r) {
        0 => (0, rsp_handle(&r)),
        e => (e, 0),
    }
}

#[test]
fn pytss_aes_template_round_trip() {
    let mut t = started();
    let srk = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SRK)));
    let (r, h) = create_loaded(&mut t, srk, &hex(PYTSS_AES), b"");
    assert_eq!(r, 0);
    let iv = b"thisis16byteszxc";
    let data = b"this is data to encrypt";
    for v2 in [false, true] {
        let (c, iv_out) = crypt(&mut t, v2, h, false, TPM_ALG_CFB, iv, data).unwrap();
        assert_ne!(&c[..], &data[..]);
        assert_eq!(iv_out.len(), 16);
        let (p, iv_out2) = crypt(&mut t, v2, h, true, TPM_ALG_CFB, iv, &c).unwrap();
        assert_eq!(&p[..], &data[..]);
        assert_eq!(iv_out, iv_out2);
    }
    flush(&mut t, h);
    // AES-192 and AES-256 in each mode, created under the SRK, also as primaries.
    for bits in [192u16, 256] {
        for mode in [
            TPM_ALG_CTR,
            TPM_ALG_OFB,
            TPM_ALG_CBC,
            TPM_ALG_CFB,
            TPM_ALG_ECB,
        ] {
            let tmpl = sym_public(bits, mode, SIGN_DECRYPT | 0x72, &[], &[]);
            let mut tmpl = tmpl[..tmpl.len() - 34].to_vec();
            tmpl.put_u16(0);
            let (r, h) = create_loaded(&mut t, srk, &tmpl, b"");
            assert_eq!(r, 0, "AES-{bits} mode {mode:#x}");
            let iv = if mode == TPM_ALG_ECB {
                vec![]
            } else {
                vec![3; 16]
            };
            let (c, _) = crypt(&mut t, true, h, false, TPM_ALG_NULL, &iv, &[5; 32]).unwrap();
            assert_eq!(
                crypt(&mut t, true, h, true, mode, &iv, &c).unwrap().0,
                [5; 32]
            );
            flush(&mut t, h);
        }
    }
    // A caller-chosen key must have the template's size (sensitiveDataOrigin clear).
    let mut tmpl = hex(PYTSS_AES);
    tmpl[7] &= !(TPMA_OBJECT_SENSITIVE_DATA_ORIGIN as u8);
    assert_eq!(
        create_loaded(&mut t, srk, &tmpl, &[1; 15]).0,
        TPM_RC_KEY_SIZE
    );
    let (r, h) = create_loaded(&mut t, srk, &tmpl, &hex(KEY));
    assert_eq!(r, 0);
    let (c, _) = crypt(&mut t, false, h, false, TPM_ALG_ECB, &[], &hex(PT)[..16]).unwrap();
    assert_eq!(c, hex("3ad77bb40d7a3660a89ecaf32466ef97"));
    flush(&mut t, h);
    // Unsupported definitions: TPM_RC_SYMMETRIC on the template.
    for (alg, bits, mode, attrs) in [
        (TPM_ALG_AES, 128u16, 0x0099u16, 0x0006_0072u32),
        (TPM_ALG_AES, 512, TPM_ALG_CFB, 0x0006_0072),
        // A restricted one would be a symmetric parent: only AES-CFB.
        (TPM_ALG_AES, 128, TPM_ALG_NULL, 0x0003_0072),
    ] {
        let mut p = Vec::new();
        p.put_u16(TPM_ALG_SYMCIPHER);
        p.put_u16(TPM_ALG_SHA256);
        p.put_u32(attrs);
        p.put_u16(0);
        p.put_u16(alg);
        p.put_u16(bits);
        p.put_u16(mode);
        p.put_u16(0);
        assert_eq!(
            create_loaded(&mut t, srk, &p, b"").0,
            rc_param(TPM_RC_SYMMETRIC, 2),
            "{bits} {mode:#x} {attrs:#x}"
        );
    }
}

#[test]
fn test_parms_symcipher() {
    let mut t = started();
    let parms = |bits: u16, mode: u16| {
        let mut p = Vec::new();
        p.put_u16(TPM_ALG_SYMCIPHER);
        p.put_u16(TPM_ALG_AES);
        p.put_u16(bits);
        p.put_u16(mode);
        p
    };
    for bits in [128, 192, 256] {
        for mode in [
            TPM_ALG_CTR,
            TPM_ALG_OFB,
            TPM_ALG_CBC,
            TPM_ALG_CFB,
            TPM_ALG_ECB,
            TPM_ALG_NULL,
        ] {
            let r = t.execute(0, &cmd(TPM_CC_TEST_PARMS, &[], None, &parms(bits, mode)));
            assert_eq!(rc(&r), 0, "AES-{bits} {mode:#x}");
        }
    }
    for (bits, mode) in [(64, TPM_ALG_CFB), (128, 0x0099)] {
        let r = t.execute(0, &cmd(TPM_CC_TEST_PARMS, &[], None, &parms(bits, mode)));
        assert_eq!(
            rc(&r),
            rc_param(TPM_RC_SYMMETRIC, 1),
            "AES-{bits} {mode:#x}"
        );
    }
}
