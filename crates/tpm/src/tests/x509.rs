//! CertifyX509: the certificate assembled from the caller's partial certificate and the
//! TPM's additions is parsed by an independent X.509 implementation (x509-cert) and its
//! signature checked by aws-lc over the re-encoded TBSCertificate.

use super::*;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use tpm_proto::attest::TpmtSignature;
use tpm_proto::object::{PublicId, TpmtPublic};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// ECC P-256 ECDSA/SHA-256 signing key template.
const ECC_SIGN: &str = "0023000b00040072 0000 0010 0018000b 0003 0010 0000 0000";
/// ECC P-256 restricted decryption (storage) key: cannot sign.
const ECC_STORAGE: &str = "0023000b00030072 0000 0006 0080 0043 0010 0003 0010 0000 0000";

/// tpm2-pytss' test_certify_x509 partial certificate: issuer, validity, subject (CN=example,
/// OU=CA unit, O=CA org, C=US) and extensions (critical keyUsage digitalSignature |
/// keyCertSign | cRLSign).
const PARTIAL: &str = "
    3081bc3042310b3009060355040613025553310f300d060355040a0c06434120
    6f72673110300e060355040b0c07434120756e69743110300e06035504030c07
    6578616d706c65301e170d3235303232333138333934325a170d333431313233
    3138333934325a3042310b3009060355040613025553310f300d060355040a0c
    064341206f72673110300e060355040b0c07434120756e69743110300e060355
    04030c076578616d706c65a3123010300e0603551d0f0101ff040403020186";

/// DER elements of `b` (tag, whole element).
fn elements(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while !b.is_empty() {
        let (len, hdr) = match b[1] {
            n @ 0..=0x7F => (usize::from(n), 2),
            0x81 => (usize::from(b[2]), 3),
            _ => ((usize::from(b[2]) << 8) | usize::from(b[3]), 4),
        };
        v.push((b[0], b[..hdr + len].to_vec()));
        b = &b[hdr + len..];
    }
    v
}

fn content(b: &[u8]) -> &[u8] {
    match b[1] {
        0..=0x7F => &b[2..],
        0x81 => &b[3..],
        _ => &b[4..],
    }
}

fn der(tag: u8, c: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match c.len() {
        n @ 0..=0x7F => v.push(n as u8),
        n @ 0x80..=0xFF => v.extend_from_slice(&[0x81, n as u8]),
        n => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(c);
    v
}

fn der_int(b: &[u8]) -> Vec<u8> {
    let mut b = b;
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    let mut c = Vec::new();
    if b[0] & 0x80 != 0 {
        c.push(0);
    }
    c.extend_from_slice(b);
    der(0x02, &c)
}

fn ecc_point(t: &mut Tpm, h: u32) -> Vec<u8> {
    let r = t.execute(0, &cmd(TPM_CC_READ_PUBLIC, &[h], None, &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[10..]);
    let p = TpmtPublic::read(&mut Reader::new(rd.tpm2b(4096).unwrap())).unwrap();
    let PublicId::Ecc { x, y } = p.unique else {
        panic!("not ECC")
    };
    [&[4u8][..], &x, &y].concat()
}

fn certify_x509(t: &mut Tpm, obj: u32, key: u32, reserved: &[u8], partial: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(reserved);
    p.put_u16(TPM_ALG_NULL);
    p.put_tpm2b(partial);
    t.execute(
        0,
        &cmd(TPM_CC_CERTIFY_X509, &[obj, key], Some(&[b"", b""]), &p),
    )
}

/// The partial certificate with other extensions.
fn with_extensions(ext_items: &[u8]) -> Vec<u8> {
    let parts = elements(content(&hex(PARTIAL)));
    let mut body: Vec<u8> = parts[..3].iter().flat_map(|(_, e)| e.clone()).collect();
    body.extend_from_slice(&der(0xA3, &der(0x30, ext_items)));
    der(0x30, &body)
}

/// An extension: SEQUENCE { oid, critical, OCTET STRING { BIT STRING } }.
fn bits_extension(oid: &[u8], bits: &[u8]) -> Vec<u8> {
    let value = der(0x04, &der(0x03, bits));
    der(0x30, &[oid, &hex("0101ff"), &value].concat())
}

const KEY_USAGE: &str = "0603551d0f";
const TPMA_OBJECT_OID: &str = "0607678105 0a010101";

#[test]
fn certify_x509_builds_a_certificate_others_can_parse() {
    let mut t = started();
    let obj = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    let key = rsp_handle(&create_primary_rsp(
        &mut t,
        TPM_RH_ENDORSEMENT,
        &hex(ECC_SIGN),
    ));
    let partial = hex(PARTIAL);
    let r = certify_x509(&mut t, obj, key, b"", &partial);
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    let added = rd.tpm2b(1024).unwrap().to_vec();
    let tbs_digest = rd.tpm2b(64).unwrap().to_vec();
    let TpmtSignature::Ecc { r: sr, s: ss, .. } = TpmtSignature::read(&mut rd).unwrap() else {
        panic!("not an ECDSA signature")
    };
    // addedToCertificate: version, serialNumber, signature algorithm, subjectPublicKeyInfo.
    let add = elements(content(&added));
    assert_eq!(
        add.iter().map(|e| e.0).collect::<Vec<_>>(),
        [0xA0, 0x02, 0x30, 0x30]
    );
    let given = elements(content(&partial));
    let tbs_body: Vec<u8> = [
        &add[0].1[..],
        &add[1].1,
        &add[2].1,
        &given[0].1,
        &given[1].1,
        &given[2].1,
        &add[3].1,
        &given[3].1,
    ]
    .concat();
    let tbs = der(0x30, &tbs_body);
    assert_eq!(tbs_digest, sha(&digest::SHA256, &[&tbs]));
    let sig = der(0x30, &[der_int(&sr), der_int(&ss)].concat());
    let cert = der(
        0x30,
        &[
            &tbs[..],
            &add[2].1,
            &der(0x03, &[&[0u8][..], &sig].concat()),
        ]
        .concat(),
    );

    let c = Certificate::from_der(&cert).expect("a valid X.509 certificate");
    let tc = &c.tbs_certificate;
    assert_eq!(tc.version, x509_cert::Version::V3);
    assert!(tc.serial_number.as_bytes().len() <= 21);
    assert_eq!(
        tc.subject.to_string(),
        "CN=example,OU=CA unit,O=CA org,C=US"
    );
    assert_eq!(
        tc.subject_public_key_info.algorithm.oid.to_string(),
        "1.2.840.10045.2.1"
    );
    assert_eq!(
        tc.subject_public_key_info.subject_public_key.raw_bytes(),
        &ecc_point(&mut t, obj)[..]
    );
    assert_eq!(c.signature_algorithm.oid.to_string(), "1.2.840.10045.4.3.2");
    // The parser re-encodes the TBSCertificate exactly: our DER is canonical.
    assert_eq!(tc.to_der().unwrap(), tbs);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, ecc_point(&mut t, key))
        .verify(&tbs, &sig)
        .expect("signature over the TBSCertificate");

    // The caller may supply the signature algorithm: then the TPM does not add one.
    let mut body = add[2].1.clone();
    body.extend_from_slice(content(&partial));
    let r = certify_x509(&mut t, obj, key, b"", &der(0x30, &body));
    assert_eq!(rc(&r), 0);
    let added2 = Reader::new(&r[14..]).tpm2b(1024).unwrap().to_vec();
    let kinds: Vec<u8> = elements(content(&added2)).iter().map(|e| e.0).collect();
    assert_eq!(kinds, [0xA0, 0x02, 0x30]);
}

#[test]
fn certify_x509_error_paths() {
    let mut t = started();
    let obj = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    let storage = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_STORAGE)));
    let partial = hex(PARTIAL);
    let go = |t: &mut Tpm, o, k, res: &[u8], p: &[u8]| rc(&certify_x509(t, o, k, res, p));
    assert_eq!(
        go(&mut t, obj, obj, b"x", &partial),
        rc_param(TPM_RC_SIZE, 1)
    );
    assert_eq!(
        go(&mut t, obj, storage, b"", &partial),
        rc_handle(TPM_RC_KEY, 2)
    );
    let mut trailing = partial.clone();
    trailing.push(0);
    assert_eq!(
        go(&mut t, obj, obj, b"", &trailing),
        rc_param(TPM_RC_SIZE, 3)
    );
    // No extensions; an unknown element; a bad length.
    let parts = elements(content(&partial));
    let no_ext = der(
        0x30,
        &parts[..3]
            .iter()
            .flat_map(|e| e.1.clone())
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        go(&mut t, obj, obj, b"", &no_ext),
        rc_param(TPM_RC_VALUE, 3)
    );
    let mut odd = content(&partial).to_vec();
    odd.extend_from_slice(&[0x02, 0x01, 0x00]);
    assert_eq!(
        go(&mut t, obj, obj, b"", &der(0x30, &odd)),
        rc_param(TPM_RC_VALUE, 3)
    );
    assert_eq!(
        go(&mut t, obj, obj, b"", &hex("3083000000")),
        rc_param(TPM_RC_SIZE, 3)
    );
    // keyUsage is required and must fit the object: keyEncipherment needs decrypt.
    let tpma = bits_extension(
        &hex(TPMA_OBJECT_OID),
        &[&[0u8][..], &0x0004_0072u32.to_be_bytes()].concat(),
    );
    assert_eq!(
        go(&mut t, obj, obj, b"", &with_extensions(&tpma)),
        rc_param(TPM_RC_VALUE, 3)
    );
    let enc = bits_extension(&hex(KEY_USAGE), &[5, 0x20]);
    assert_eq!(
        go(&mut t, obj, obj, b"", &with_extensions(&enc)),
        rc_param(TPM_RC_VALUE, 3)
    );
    let reserved = bits_extension(&hex(KEY_USAGE), &[0, 0x80, 0x40]);
    assert_eq!(
        go(&mut t, obj, obj, b"", &with_extensions(&reserved)),
        rc_param(TPM_RC_RESERVED_BITS, 3)
    );
    // A tcg-tpmaObject extension must match the object's attributes exactly.
    let sign = bits_extension(&hex(KEY_USAGE), &[7, 0x80]);
    let wrong = bits_extension(
        &hex(TPMA_OBJECT_OID),
        &[&[0u8][..], &0x0004_0070u32.to_be_bytes()].concat(),
    );
    let ok = [&tpma[..], &sign].concat();
    assert_eq!(go(&mut t, obj, obj, b"", &with_extensions(&ok)), 0);
    let bad = [&wrong[..], &sign].concat();
    assert_eq!(
        go(&mut t, obj, obj, b"", &with_extensions(&bad)),
        rc_handle(TPM_RC_ATTRIBUTES, 1)
    );
}

/// RSA-2048 signing key with RSASSA-PSS/SHA-256 (what tpm2-pytss' test uses).
const RSA_PSS_SIGN: &str = "0001000b00040072 0000 0010 0016000b 0800 00000000 0000";

#[test]
fn certify_x509_rsa_pss_signature_algorithm() {
    let mut t = started();
    let obj = rsp_handle(&create_primary_rsp(&mut t, TPM_RH_OWNER, &hex(ECC_SIGN)));
    let key = rsp_handle(&create_primary_rsp(
        &mut t,
        TPM_RH_OWNER,
        &hex(RSA_PSS_SIGN),
    ));
    let partial = hex(PARTIAL);
    let r = certify_x509(&mut t, obj, key, b"", &partial);
    assert_eq!(rc(&r), 0);
    let mut rd = Reader::new(&r[14..]);
    let added = rd.tpm2b(1024).unwrap().to_vec();
    rd.tpm2b(64).unwrap();
    let TpmtSignature::Rsa { sig_alg, sig, .. } = TpmtSignature::read(&mut rd).unwrap() else {
        panic!("not an RSA signature")
    };
    assert_eq!(sig_alg, TPM_ALG_RSAPSS);
    let add = elements(content(&added));
    let given = elements(content(&partial));
    let tbs_body: Vec<u8> = [
        &add[0].1[..],
        &add[1].1,
        &add[2].1,
        &given[0].1,
        &given[1].1,
        &given[2].1,
        &add[3].1,
        &given[3].1,
    ]
    .concat();
    let tbs = der(0x30, &tbs_body);
    let cert = der(
        0x30,
        &[
            &tbs[..],
            &add[2].1,
            &der(0x03, &[&[0u8][..], &sig].concat()),
        ]
        .concat(),
    );
    let c = Certificate::from_der(&cert).expect("a valid X.509 certificate");
    assert_eq!(
        c.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.10"
    );
    // RSASSA-PSS-params: SHA-256, MGF1 with SHA-256, a 32-octet salt.
    let params = c
        .signature_algorithm
        .parameters
        .as_ref()
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(
        params,
        hex("3034 a00f300d06096086480165030402010500
             a11c301a06092a864886f70d010108300d06096086480165030402010500
             a203020120")
    );
    // The signer's public key as PKCS#1 RSAPublicKey, for aws-lc.
    let r = t.execute(0, &cmd(TPM_CC_READ_PUBLIC, &[key], None, &[]));
    let mut rd = Reader::new(&r[10..]);
    let p = TpmtPublic::read(&mut Reader::new(rd.tpm2b(4096).unwrap())).unwrap();
    let PublicId::Rsa(n) = p.unique else {
        panic!("not RSA")
    };
    let pk = der(0x30, &[der_int(&n), der_int(&[1, 0, 1])].concat());
    UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256, pk)
        .verify(&tbs, &sig)
        .expect("RSASSA-PSS signature over the TBSCertificate");
}
