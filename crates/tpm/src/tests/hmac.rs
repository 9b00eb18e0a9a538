//! TPM2_HMAC against aws-lc-rs' HMAC over the key imported with LoadExternal.

use super::*;
use aws_lc_rs::hmac as ring_hmac;

/// LoadExternal of a keyed-hash HMAC key (sign, userWithAuth; scheme as given) with `key`.
fn load_hmac_key(t: &mut Tpm, scheme_hash: Option<u16>, key: &[u8]) -> u32 {
    let seed = [5u8; 32];
    let unique = sha(&digest::SHA256, &[&seed, key]);
    let mut public = Vec::new();
    public.put_u16(TPM_ALG_KEYEDHASH);
    public.put_u16(TPM_ALG_SHA256);
    public.put_u32(TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USER_WITH_AUTH);
    public.put_u16(0);
    match scheme_hash {
        Some(h) => {
            public.put_u16(TPM_ALG_HMAC);
            public.put_u16(h);
        }
        None => public.put_u16(TPM_ALG_NULL),
    }
    public.put_tpm2b(&unique);
    let mut sens = Vec::new();
    sens.put_u16(TPM_ALG_KEYEDHASH);
    sens.put_tpm2b(b"");
    sens.put_tpm2b(&seed);
    sens.put_tpm2b(key);
    let mut p = Vec::new();
    p.put_tpm2b(&sens);
    p.put_tpm2b(&public);
    p.put_u32(TPM_RH_NULL);
    let r = t.execute(0, &cmd(TPM_CC_LOAD_EXTERNAL, &[], None, &p));
    assert_eq!(rc(&r), 0);
    u32::from_be_bytes(r[10..14].try_into().unwrap())
}

fn hmac(t: &mut Tpm, h: u32, data: &[u8], alg: u16) -> Result<Vec<u8>, u32> {
    let mut p = Vec::new();
    p.put_tpm2b(data);
    p.put_u16(alg);
    let r = t.execute(0, &cmd(TPM_CC_HMAC, &[h], Some(&[b""]), &p));
    match rc(&r) {
        0 => Ok(Reader::new(&r[14..]).tpm2b(64).unwrap().to_vec()),
        e => Err(e),
    }
}

#[test]
fn hmac_matches_aws_lc() {
    let mut t = started();
    let key = b"0123456789abcdef0123456789abcdef";
    let want = |alg, data: &[u8]| {
        ring_hmac::sign(&ring_hmac::Key::new(alg, key), data)
            .as_ref()
            .to_vec()
    };
    let free = load_hmac_key(&mut t, None, key);
    assert_eq!(
        hmac(&mut t, free, b"abc", TPM_ALG_SHA256).unwrap(),
        want(ring_hmac::HMAC_SHA256, b"abc")
    );
    assert_eq!(
        hmac(&mut t, free, b"abc", TPM_ALG_SHA384).unwrap(),
        want(ring_hmac::HMAC_SHA384, b"abc")
    );
    assert_eq!(
        hmac(&mut t, free, b"abc", TPM_ALG_NULL),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
    let fixed = load_hmac_key(&mut t, Some(TPM_ALG_SHA256), key);
    assert_eq!(
        hmac(&mut t, fixed, b"", TPM_ALG_NULL).unwrap(),
        want(ring_hmac::HMAC_SHA256, b"")
    );
    assert_eq!(
        hmac(&mut t, fixed, b"abc", TPM_ALG_SHA384),
        Err(rc_param(TPM_RC_VALUE, 2))
    );
}
