//! Kernel module appended signatures: Debian's real `vfat.ko` verified against the build key
//! extracted from the same build's vmlinuz (and refused after tampering), and the same module body
//! signed with keys made here (RSA and ECDSA), verified and then tampered.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap on known-good artifacts"
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use boot::secureboot::kernel::{self, Compression};
use boot::secureboot::{ModuleError, ModuleSignature, X509, module::MODULE_SIG_STRING};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use image::debian;
use spki::AlgorithmIdentifierOwned;

const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");

fn vfat() -> Vec<u8> {
    let dir = image::cache_dir().join("debian");
    let p = debian::ensure(&dir, &debian::VFAT_MODULE).unwrap_or_else(|e| {
        panic!("cannot fetch vfat.ko (linux-image-6.1.0-56-amd64; needs apt-get download): {e}")
    });
    std::fs::read(p).unwrap()
}

/// The decompressed vmlinux of Debian's linux-image-6.1.0-56-amd64 (the build vfat.ko is from).
fn vmlinux() -> Vec<u8> {
    let dir = image::cache_dir().join("debian");
    let p = debian::ensure(&dir, &debian::KERNEL).unwrap_or_else(|e| {
        panic!("cannot fetch vmlinuz (linux-image-6.1.0-56-amd64; needs apt-get download): {e}")
    });
    let vmlinuz = std::fs::read(p).unwrap();
    let payload = kernel::bzimage_payload(&vmlinuz).unwrap();
    assert_eq!(payload.compression, Compression::Xz);
    let argv = payload.compression.decompressor().unwrap();
    let mut child = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {argv:?} (Debian package xz-utils): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = payload.bytes.to_vec();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{argv:?} failed: {:?}", out.status);
    out.stdout
}

/// A self-signed certificate for `key` (rcgen), parsed.
fn cert_for(key: rcgen::KeyPair) -> X509 {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "tl test module signing key");
    let cert = params.self_signed(&key).unwrap();
    X509::from_der(cert.der()).unwrap()
}

/// `sign-file`'s output: PKCS#7 without certificates or signedAttrs, appended with the trailer.
fn sign_module(body: &[u8], cert: &X509, sig_alg: Oid, sig: Vec<u8>) -> Vec<u8> {
    sign_module_with(body, cert, sig_alg, None, sig)
}

/// [`sign_module`] with signatureAlgorithm parameters (RSASSA-PSS).
fn sign_module_with(
    body: &[u8],
    cert: &X509,
    sig_alg: Oid,
    params: Option<Any>,
    sig: Vec<u8>,
) -> Vec<u8> {
    let t = &cert.cert.tbs_certificate;
    let digest = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    };
    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: t.issuer.clone(),
            serial_number: t.serial_number.clone(),
        }),
        digest_alg: digest.clone(),
        signed_attrs: None,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: sig_alg,
            parameters: params,
        },
        signature: OctetString::new(sig).unwrap(),
        unsigned_attrs: None,
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest]).unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).unwrap()),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).unwrap(),
    };
    let p7 = ci.to_der().unwrap();
    let mut out = body.to_vec();
    out.extend_from_slice(&p7);
    out.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&(p7.len() as u32).to_be_bytes());
    out.extend_from_slice(MODULE_SIG_STRING);
    out
}

#[test]
fn debian_vfat_signature_parses_and_names_the_build_key() {
    let m = vfat();
    let s = ModuleSignature::parse(&m).unwrap();
    assert_eq!(m.len() - s.body.len(), s.message.der_len + 12 + 28);
    assert!(s.message.certificates.is_empty());
    assert!(s.message.signer.signed_attrs.is_none());
    assert_eq!(
        s.message.signer.digest_alg,
        boot::secureboot::HashAlg::Sha256
    );
    assert!(
        s.signer_issuer()
            .contains("Build time autogenerated kernel key"),
        "{}",
        s.signer_issuer()
    );
    assert_eq!(s.signer_serial().len(), 40, "{}", s.signer_serial());
    assert_eq!(&s.body[..4], b"\x7fELF");
    // Any other key is refused by issuer+serial before any math.
    let other = cert_for(rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
    assert!(matches!(
        s.verify(&other),
        Err(ModuleError::WrongSigner { .. })
    ));
}

#[test]
fn debian_vfat_verifies_against_the_build_key_inside_vmlinux() {
    let certs = kernel::embedded_certificates(&vmlinux());
    // The build embeds exactly one certificate: its ephemeral module-signing key.
    let subjects: Vec<String> = certs.iter().map(|(_, c)| c.subject()).collect();
    assert_eq!(certs.len(), 1, "{subjects:?}");
    let (offset, cert) = &certs[0];
    assert!(
        cert.subject()
            .contains("Build time autogenerated kernel key"),
        "{subjects:?}"
    );
    assert_eq!(cert.der.len(), 1324);
    eprintln!("build certificate at vmlinux offset {offset:#x}");

    let m = vfat();
    let s = ModuleSignature::parse(&m).unwrap();
    s.verify(cert).unwrap();

    // One flipped bit anywhere in the body, and the build key no longer verifies it.
    for at in [0, s.body.len() / 2, s.body.len() - 1] {
        let mut tampered = m.clone();
        tampered[at] ^= 1;
        let e = ModuleSignature::parse(&tampered)
            .unwrap()
            .verify(cert)
            .unwrap_err();
        assert!(
            e.to_string().contains("signature does not verify"),
            "{at}: {e}"
        );
    }
}

#[test]
fn rsa_signed_module_verifies_and_fails_after_tampering() {
    let m = vfat();
    let body = ModuleSignature::parse(&m).unwrap().body.to_vec();
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let rsa = RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
    let cert = cert_for(key);
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        &body,
        &mut sig,
    )
    .unwrap();
    let signed = sign_module(&body, &cert, RSA_ENCRYPTION, sig);
    let s = ModuleSignature::parse(&signed).unwrap();
    s.verify(&cert).unwrap();
    let mut tampered = signed.clone();
    tampered[0x1000] ^= 1;
    let e = ModuleSignature::parse(&tampered)
        .unwrap()
        .verify(&cert)
        .unwrap_err();
    assert!(e.to_string().contains("signature does not verify"), "{e}");
}

/// RSASSA-PSS-params: SHA-256, MGF1(SHA-256), salt length `salt` (RFC 4055).
fn pss_params(salt: u8) -> Any {
    let sha256 = [
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];
    let mut der = vec![0x30, 0x34, 0xa0, 0x0f];
    der.extend_from_slice(&sha256);
    der.extend_from_slice(&[0xa1, 0x1c, 0x30, 0x1a]);
    der.extend_from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    ]);
    der.extend_from_slice(&sha256);
    der.extend_from_slice(&[0xa2, 0x03, 0x02, 0x01, salt]);
    Any::from_der(&der).unwrap()
}

/// `openssl cms -verify` of the module's detached PKCS#7 over its body with `cert`: the
/// independent judge of what we accept.
fn openssl_verifies(module: &[u8], cert: &X509) -> bool {
    let s = ModuleSignature::parse(module).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p7 = dir.path().join("sig.p7");
    let body = dir.path().join("body");
    let pem = dir.path().join("cert.der");
    let sig_end = module.len() - MODULE_SIG_STRING.len() - 12;
    std::fs::write(&p7, &module[s.pkcs7_offset..sig_end]).unwrap();
    std::fs::write(&body, s.body).unwrap();
    std::fs::write(&pem, &cert.der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify"])
        .arg("-in")
        .arg(&p7)
        .arg("-content")
        .arg(&body)
        .args(["-certfile"])
        .arg(&pem)
        .args(["-out", "/dev/null"])
        .output()
        .expect("run openssl (Debian package openssl)");
    out.status.success()
}

#[test]
fn rsa_pss_signed_module_verifies_and_fails_after_tampering() {
    let m = vfat();
    let body = ModuleSignature::parse(&m).unwrap().body.to_vec();
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let rsa = RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
    let cert = cert_for(key);
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(
        &signature::RSA_PSS_SHA256,
        &SystemRandom::new(),
        &body,
        &mut sig,
    )
    .unwrap();
    let pss = Oid::new_unwrap("1.2.840.113549.1.1.10");
    let signed = sign_module_with(&body, &cert, pss, Some(pss_params(32)), sig.clone());
    ModuleSignature::parse(&signed)
        .unwrap()
        .verify(&cert)
        .unwrap();
    assert!(
        openssl_verifies(&signed, &cert),
        "openssl refuses our PSS test vector"
    );

    let mut tampered = signed.clone();
    tampered[0x2000] ^= 1;
    let e = ModuleSignature::parse(&tampered)
        .unwrap()
        .verify(&cert)
        .unwrap_err();
    assert!(e.to_string().contains("signature does not verify"), "{e}");
    assert!(!openssl_verifies(&tampered, &cert));

    // Parameters naming another salt length are refused as unsupported, not misread.
    let odd = sign_module_with(&body, &cert, pss, Some(pss_params(20)), sig);
    let e = ModuleSignature::parse(&odd)
        .unwrap()
        .verify(&cert)
        .unwrap_err();
    assert!(e.to_string().contains("RSASSA-PSS parameters"), "{e}");
}

#[test]
fn debian_vfat_passes_openssl_too() {
    // The oracle agrees with us on the real module and its build key.
    let certs = kernel::embedded_certificates(&vmlinux());
    assert!(openssl_verifies(&vfat(), &certs[0].1));
}

#[test]
fn ecdsa_signed_module_verifies_and_fails_after_tampering() {
    let m = vfat();
    let body = ModuleSignature::parse(&m).unwrap().body.to_vec();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &key.serialize_der(),
    )
    .unwrap();
    assert!(!ec.public_key().as_ref().is_empty());
    let cert = cert_for(key);
    let sig = ec.sign(&SystemRandom::new(), &body).unwrap();
    let signed = sign_module(&body, &cert, ECDSA_SHA256, sig.as_ref().to_vec());
    ModuleSignature::parse(&signed)
        .unwrap()
        .verify(&cert)
        .unwrap();
    let mut tampered = signed;
    let last_body_byte = body.len() - 1;
    tampered[last_body_byte] ^= 0x80;
    assert!(
        ModuleSignature::parse(&tampered)
            .unwrap()
            .verify(&cert)
            .is_err()
    );
}

#[test]
fn certificate_parse_rejects_trailing_bytes() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let c = cert_for(key);
    let mut der = c.der.clone();
    der.push(0);
    assert!(X509::from_der(&der).is_err());
    assert!(x509_cert::Certificate::from_der(&c.der).is_ok());
}
