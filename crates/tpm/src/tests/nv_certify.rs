//! NV_Certify: the attestation structure parsed back, its signature checked by the TPM's
//! VerifySignature, the digest form, the unsigned form and the error paths.

use super::policy_nv::{IDX, RW, SHA256, define_nv, nv_name, nv_write};
use super::*;
use tpm_proto::attest::{Attested, TpmsAttest, TpmtSignature};

/// ECC P-256 ECDSA/SHA-256 signing key template.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";
/// ECC P-256 restricted decryption (storage) key: cannot sign.
const ECC_STORAGE: &str = "0023000b00030072 0000 0006 0080 0043 0010 0003 0010 0000 0000";

fn certify_params(extra: &[u8], size: u16, offset: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(extra);
    p.put_u16(TPM_ALG_NULL);
    p.put_u16(size);
    p.put_u16(offset);
    p
}

fn nv_certify(t: &mut Tpm, key: u32, auth: u32, size: u16, offset: u16) -> Vec<u8> {
    let p = certify_params(b"qdata", size, offset);
    t.execute(
        0,
        &cmd(TPM_CC_NV_CERTIFY, &[key, auth, IDX], Some(&[b"", b""]), &p),
    )
}

/// (attestation bytes, parsed, signature) of a successful response.
fn parse(r: &[u8]) -> (Vec<u8>, TpmsAttest, TpmtSignature) {
    assert_eq!(rc(r), 0);
    let mut rd = Reader::new(&r[14..]);
    let a = rd.tpm2b(4096).unwrap().to_vec();
    let sig = TpmtSignature::read(&mut rd).unwrap();
    let parsed = TpmsAttest::read(&mut Reader::new(&a)).unwrap();
    (a, parsed, sig)
}

#[test]
fn nv_certify_signs_contents_and_digest() {
    let mut t = started();
    assert_eq!(define_nv(&mut t, IDX, RW, &[], 8), 0);
    let key = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    assert_eq!(
        rc(&nv_certify(&mut t, key, TPM_RH_OWNER, 8, 0)),
        TPM_RC_NV_UNINITIALIZED
    );
    assert_eq!(nv_write(&mut t, TPM_RH_OWNER, IDX, b"sometest"), 0);
    let name = nv_name(&mut t, IDX);

    let (a, parsed, sig) = parse(&nv_certify(&mut t, key, TPM_RH_OWNER, 4, 2));
    assert_eq!(parsed.extra_data, b"qdata");
    assert_eq!(
        parsed.attested,
        Attested::Nv {
            index_name: name.clone(),
            offset: 2,
            nv_contents: b"mete".to_vec(),
        }
    );
    // The TPM's own VerifySignature accepts the signature over H(attest).
    let mut p = Vec::new();
    p.put_tpm2b(&sha(SHA256, &[&a]));
    sig.write(&mut p);
    let r = t.execute(0, &cmd(TPM_CC_VERIFY_SIGNATURE, &[key], None, &p));
    assert_eq!(rc(&r), 0);

    // Size and offset zero: a digest of the whole index under the scheme's hash.
    let (_, parsed, _) = parse(&nv_certify(&mut t, key, IDX, 0, 0));
    assert_eq!(
        parsed.attested,
        Attested::NvDigest {
            index_name: name.clone(),
            nv_digest: sha(SHA256, &[b"sometest"]),
        }
    );

    // A NULL signHandle: unsigned.
    let (_, parsed, sig) = parse(&nv_certify(&mut t, TPM_RH_NULL, TPM_RH_OWNER, 8, 0));
    assert_eq!(sig, TpmtSignature::Null);
    assert!(parsed.qualified_signer.is_empty());

    // Errors: range, a key that cannot sign, who may read.
    assert_eq!(
        rc(&nv_certify(&mut t, key, TPM_RH_OWNER, 8, 1)),
        TPM_RC_NV_RANGE
    );
    let storage = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_STORAGE)));
    assert_eq!(
        rc(&nv_certify(&mut t, storage, TPM_RH_OWNER, 8, 0)),
        rc_handle(TPM_RC_KEY, 1)
    );
    assert_eq!(
        rc(&nv_certify(&mut t, key, TPM_RH_PLATFORM, 8, 0)),
        TPM_RC_NV_AUTHORIZATION
    );
}

#[test]
fn nv_certify_size_is_bounded_by_the_buffer() {
    let mut t = started();
    assert_eq!(define_nv(&mut t, IDX, RW, &[], 2048), 0);
    let key = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    assert_eq!(nv_write(&mut t, TPM_RH_OWNER, IDX, b"x"), 0);
    assert_eq!(
        rc(&nv_certify(&mut t, key, TPM_RH_OWNER, 1025, 0)),
        rc_param(TPM_RC_VALUE, 3)
    );
    assert_eq!(rc(&nv_certify(&mut t, key, TPM_RH_OWNER, 1024, 1024)), 0);
}
