//! LoadExternal of an RSA key in the spec's form (sensitive = prime p): the loaded key decrypts
//! what aws-lc-rs encrypted to (n, e) and signs what aws-lc-rs verifies; wrong primes are
//! TPM_RC_BINDING.

use super::*;
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

/// The INTEGERs of the RSAPrivateKey inside a PKCS#8 document: `[version, n, e, d, p, q, ..]`.
fn rsa_integers(pkcs8: &[u8]) -> Vec<Vec<u8>> {
    /// One DER TLV at `i`: (tag, content range).
    fn tlv(b: &[u8], i: usize) -> (u8, usize, usize) {
        let tag = b[i];
        let (len, start) = match b[i + 1] {
            l if l < 0x80 => (usize::from(l), i + 2),
            l => {
                let k = usize::from(l & 0x7f);
                let len = b[i + 2..i + 2 + k]
                    .iter()
                    .fold(0usize, |a, &x| (a << 8) | usize::from(x));
                (len, i + 2 + k)
            }
        };
        (tag, start, start + len)
    }
    // PrivateKeyInfo SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }
    let (_, s, _) = tlv(pkcs8, 0);
    let (_, _, e1) = tlv(pkcs8, s);
    let (_, _, e2) = tlv(pkcs8, e1);
    let (tag, os, _) = tlv(pkcs8, e2);
    assert_eq!(tag, 0x04);
    let (_, mut i, end) = tlv(pkcs8, os);
    let mut ints = Vec::new();
    while i < end {
        let (tag, a, b) = tlv(pkcs8, i);
        assert_eq!(tag, 0x02);
        let v = &pkcs8[a..b];
        ints.push(v[v.iter().position(|&x| x != 0).unwrap_or(v.len())..].to_vec());
        i = b;
    }
    ints
}

/// LoadExternal of RSA-2048 (n, e = 0 meaning 65537; sign|decrypt|userWithAuth, NULL schemes)
/// with `prime` as the sensitive part.
fn load(t: &mut Tpm, n: &[u8], prime: &[u8]) -> Result<u32, u32> {
    let mut public = Vec::new();
    public.put_u16(TPM_ALG_RSA);
    public.put_u16(TPM_ALG_SHA256);
    public.put_u32(TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USER_WITH_AUTH);
    public.put_u16(0);
    public.put_u16(TPM_ALG_NULL);
    public.put_u16(TPM_ALG_NULL);
    public.put_u16(2048);
    public.put_u32(0);
    public.put_tpm2b(n);
    let mut sens = Vec::new();
    sens.put_u16(TPM_ALG_RSA);
    sens.put_tpm2b(b"");
    sens.put_tpm2b(b"");
    sens.put_tpm2b(prime);
    let mut p = Vec::new();
    p.put_tpm2b(&sens);
    p.put_tpm2b(&public);
    p.put_u32(TPM_RH_NULL);
    let r = t.execute(0, &cmd(TPM_CC_LOAD_EXTERNAL, &[], None, &p));
    match rc(&r) {
        0 => Ok(rsp_handle(&r)),
        e => Err(e),
    }
}

fn oaep_decrypt(t: &mut Tpm, h: u32, ct: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(ct);
    p.put_u16(TPM_ALG_OAEP);
    p.put_u16(TPM_ALG_SHA256);
    p.put_tpm2b(b"");
    let r = t.execute(0, &cmd(TPM_CC_RSA_DECRYPT, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    Reader::new(&r[14..]).tpm2b(512).unwrap().to_vec()
}

fn sign(t: &mut Tpm, h: u32, digest: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(digest);
    p.put_u16(TPM_ALG_RSASSA);
    p.put_u16(TPM_ALG_SHA256);
    // NULL validation ticket.
    p.put_u16(TPM_ST_HASHCHECK);
    p.put_u32(TPM_RH_NULL);
    p.put_u16(0);
    let r = t.execute(0, &cmd(TPM_CC_SIGN, &[h], Some(&[b""]), &p));
    assert_eq!(rc(&r), 0);
    // TPMT_SIGNATURE: sigAlg, hash, TPM2B signature.
    let mut rd = Reader::new(&r[14..]);
    assert_eq!(rd.u16().unwrap(), TPM_ALG_RSASSA);
    assert_eq!(rd.u16().unwrap(), TPM_ALG_SHA256);
    rd.tpm2b(512).unwrap().to_vec()
}

#[test]
fn prime_p_completes_the_key() {
    let mut t = started();
    let (pkcs8, n) = crypto::rsa::generate(2048).unwrap();
    let ints = rsa_integers(&pkcs8);
    assert_eq!(ints[1], n);
    let (p, q) = (ints[4].clone(), ints[5].clone());
    // Either prime will do.
    for prime in [&p, &q] {
        let h = load(&mut t, &n, prime).unwrap();
        // aws-lc encrypts to (n, 65537); the TPM decrypts.
        let pk: PublicEncryptingKey = aws_lc_rs::rsa::PublicKeyComponents {
            n: &n[..],
            e: &[1u8, 0, 1][..],
        }
        .try_into()
        .unwrap();
        let ek = OaepPublicEncryptingKey::new(pk).unwrap();
        let mut ct = vec![0u8; 256];
        let ct = ek
            .encrypt(&OAEP_SHA256_MGF1SHA256, b"from outside", &mut ct, None)
            .unwrap()
            .to_vec();
        assert_eq!(oaep_decrypt(&mut t, h, &ct), b"from outside");
        // The TPM signs; aws-lc verifies with (n, e).
        let msg = b"signed inside";
        let digest = sha(&digest::SHA256, &[msg]);
        let sig = sign(&mut t, h, &digest);
        RsaPublicKeyComponents {
            n: &n[..],
            e: &[1u8, 0, 1][..],
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, msg, &sig)
        .unwrap();
        let mut fp = Vec::new();
        fp.put_u32(h);
        assert_eq!(
            rc(&t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], None, &fp))),
            0
        );
    }
    // Leading zeros on the prime are harmless.
    let mut p0 = vec![0];
    p0.extend_from_slice(&p);
    assert!(load(&mut t, &n, &p0).is_ok());
}

#[test]
fn wrong_primes_are_binding_errors() {
    let mut t = started();
    let (pkcs8, n) = crypto::rsa::generate(2048).unwrap();
    let p = rsa_integers(&pkcs8)[4].clone();
    let mut p2 = p.clone();
    *p2.last_mut().unwrap() ^= 2;
    let binding = rc_param(TPM_RC_BINDING, 2);
    for bad in [&p2[..], &[1][..], &[][..], &n[..], &[0xff; 300][..]] {
        assert_eq!(load(&mut t, &n, bad), Err(binding), "{} bytes", bad.len());
    }
    // p = 2 dividing an even modulus (odd-modulus arithmetic must not be reached).
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    assert_eq!(load(&mut t, &even, &[2]), Err(binding));
    // The prime of another key.
    let (other, _) = crypto::rsa::generate(2048).unwrap();
    assert_eq!(load(&mut t, &n, &rsa_integers(&other)[4]), Err(binding));
}
