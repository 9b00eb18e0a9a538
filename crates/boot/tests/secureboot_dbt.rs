//! dbt: a revoked signing certificate (dbx `EFI_CERT_X509_SHA256` with a TimeOfRevocation) is
//! waived for signatures timestamped before the revocation by a TSA that dbt trusts (edk2
//! `PassTimestampCheck`). Debian's real signed grub gets an RFC 3161 countersignature from a
//! test TSA made here; the countersignature is an unsigned attribute, so grub's own signature
//! and Authenticode digest are untouched.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap on known-good artifacts"
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair};
use boot::secureboot::efi;
use boot::secureboot::{
    AuthenticodeSignature, PeImage, Reason, SecureBootPolicy, SignatureList, Verdict, X509,
};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{GeneralizedTime, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use image::debian;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TSTINFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SPC_RFC3161_OBJID: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.3.3.1");
const TSA_POLICY: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.1");

#[derive(der::Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(der::Sequence)]
struct TstInfo {
    version: u8,
    policy: Oid,
    message_imprint: MessageImprint,
    serial_number: u32,
    gen_time: GeneralizedTime,
}

fn fetch(f: &debian::DebianFile) -> Vec<u8> {
    let dir = image::cache_dir().join("debian");
    let p = debian::ensure(&dir, f)
        .unwrap_or_else(|e| panic!("cannot fetch {} (needs apt-get download): {e}", f.package));
    std::fs::read(p).unwrap()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

/// A timestamping authority: an ECDSA P-256 key with a self-signed certificate.
struct Tsa {
    key: EcdsaKeyPair,
    cert: X509,
}

impl Tsa {
    fn new(name: &str) -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &kp.serialize_der(),
        )
        .unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = X509::from_der(params.self_signed(&kp).unwrap().der()).unwrap();
        Tsa { key, cert }
    }

    /// A TimeStampToken (ContentInfo) over `stamped` at `time` (`YYYY, M, D, h, m, s`).
    fn token(&self, stamped: &[u8], time: (u16, u8, u8, u8, u8, u8)) -> Vec<u8> {
        let sha = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let dt = der::DateTime::new(time.0, time.1, time.2, time.3, time.4, time.5).unwrap();
        let tst = TstInfo {
            version: 1,
            policy: TSA_POLICY,
            message_imprint: MessageImprint {
                hash_algorithm: sha.clone(),
                hashed_message: OctetString::new(sha256(stamped)).unwrap(),
            },
            serial_number: 7,
            gen_time: GeneralizedTime::from_date_time(dt),
        }
        .to_der()
        .unwrap();
        let attr = |oid, v: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![v]).unwrap(),
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attr(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TSTINFO).unwrap()),
            attr(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(sha256(&tst)).unwrap()).unwrap(),
            ),
        ])
        .unwrap();
        let sig = self
            .key
            .sign(&SystemRandom::new(), &signed_attrs.to_der().unwrap())
            .unwrap();
        let t = &self.cert.cert.tbs_certificate;
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: t.issuer.clone(),
                serial_number: t.serial_number.clone(),
            }),
            digest_alg: sha.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_SHA256,
                parameters: None,
            },
            signature: OctetString::new(sig.as_ref()).unwrap(),
            unsigned_attrs: None,
        };
        let cert_choice = cms::cert::CertificateChoices::Certificate(self.cert.cert.clone());
        let sd = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha]).unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TSTINFO,
                econtent: Some(Any::encode_from(&OctetString::new(tst).unwrap()).unwrap()),
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![cert_choice]).unwrap(),
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).unwrap()),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap()
    }
}

/// grub with `token` added to its signer's unsigned attributes, the certificate table
/// rewritten in place (same offset, so the Authenticode digest is unchanged).
fn countersigned(grub: &[u8], token: &[u8]) -> Vec<u8> {
    let pe = PeImage::parse(grub).unwrap();
    let wc = &pe.certificates().unwrap()[0];
    let mut ci = ContentInfo::from_der(
        &wc.certificate[..AuthenticodeSignature::parse(wc.certificate)
            .unwrap()
            .message
            .der_len],
    )
    .unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut infos: Vec<SignerInfo> = sd.signer_infos.0.into_vec();
    infos[0].unsigned_attrs = Some(
        SetOfVec::try_from(vec![Attribute {
            oid: SPC_RFC3161_OBJID,
            values: SetOfVec::try_from(vec![Any::from_der(token).unwrap()]).unwrap(),
        }])
        .unwrap(),
    );
    sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).unwrap());
    ci.content = Any::encode_from(&sd).unwrap();
    let p7 = ci.to_der().unwrap();

    // Security directory: e_lfanew + 24 (optional header) + 112 (PE32+ data directories) + 4×8.
    let lfanew = u32::from_le_bytes(grub[0x3c..0x40].try_into().unwrap()) as usize;
    let dir = lfanew + 24 + 112 + 4 * 8;
    let table = u32::from_le_bytes(grub[dir..dir + 4].try_into().unwrap()) as usize;
    let mut entry = Vec::new();
    let len = 8 + p7.len();
    let padded = len.next_multiple_of(8);
    entry.extend_from_slice(&(padded as u32).to_le_bytes());
    entry.extend_from_slice(&0x0200u16.to_le_bytes());
    entry.extend_from_slice(&0x0002u16.to_le_bytes());
    entry.extend_from_slice(&p7);
    entry.resize(padded, 0);
    let mut out = grub[..table].to_vec();
    out.extend_from_slice(&entry);
    out[dir + 4..dir + 8].copy_from_slice(&(padded as u32).to_le_bytes());
    out
}

/// dbx revoking the TBS hash of `cert` from `when` (EFI_TIME; all zero = always).
fn revoke(cert: &X509, when: (u16, u8, u8, u8, u8, u8)) -> Vec<SignatureList> {
    let mut data = cert.tbs_hash(boot::secureboot::HashAlg::Sha256);
    let mut t = [0u8; 16];
    t[..2].copy_from_slice(&when.0.to_le_bytes());
    t[2..7].copy_from_slice(&[when.1, when.2, when.3, when.4, when.5]);
    data.extend_from_slice(&t);
    vec![SignatureList::single(
        efi::EFI_CERT_X509_SHA256_GUID,
        efi::MICROSOFT_OWNER_GUID,
        data,
    )]
}

fn x509_list(cert: &X509) -> Vec<SignatureList> {
    vec![SignatureList::single(
        efi::EFI_CERT_X509_GUID,
        efi::MICROSOFT_OWNER_GUID,
        cert.der.clone(),
    )]
}

struct Setup {
    grub: Vec<u8>,
    db: Vec<SignatureList>,
    signer: X509,
    ca: X509,
    /// grub's signature value: what a timestamp countersigns.
    signature: Vec<u8>,
}

fn setup() -> Setup {
    let grub = fetch(&debian::GRUB);
    let ca = X509::from_der(&fetch(&debian::DEBIAN_UEFI_CA)).unwrap();
    let pe = PeImage::parse(&grub).unwrap();
    let sig = AuthenticodeSignature::parse(pe.certificates().unwrap()[0].certificate).unwrap();
    let signer = sig.message.certificates[sig.message.signer_cert().unwrap()].clone();
    assert!(signer.subject().contains("grub2"), "{}", signer.subject());
    Setup {
        db: x509_list(&ca),
        grub,
        signer,
        ca,
        signature: sig.message.signer.signature.clone(),
    }
}

const REVOKED: (u16, u8, u8, u8, u8, u8) = (2030, 1, 1, 0, 0, 0);
const BEFORE: (u16, u8, u8, u8, u8, u8) = (2029, 12, 31, 23, 59, 59);
const AFTER: (u16, u8, u8, u8, u8, u8) = (2030, 1, 1, 0, 0, 1);

fn judge(s: &Setup, image: &[u8], dbx: &[SignatureList], dbt: &[SignatureList]) -> Verdict {
    SecureBootPolicy::new(&s.db, dbx)
        .with_dbt(dbt)
        .verify_image(image)
}

#[test]
fn timestamp_before_revocation_by_a_dbt_tsa_waives_the_signer_revocation() {
    let s = setup();
    let tsa = Tsa::new("tl test TSA");
    let image = countersigned(&s.grub, &tsa.token(&s.signature, BEFORE));
    // The countersignature changes neither the Authenticode digest nor grub's own signature.
    assert_eq!(
        PeImage::parse(&image)
            .unwrap()
            .authenticode_digest(boot::secureboot::HashAlg::Sha256),
        PeImage::parse(&s.grub)
            .unwrap()
            .authenticode_digest(boot::secureboot::HashAlg::Sha256)
    );
    let dbx = revoke(&s.signer, REVOKED);
    let dbt = x509_list(&tsa.cert);

    // Without dbt, or without the timestamp, the revoked signer forbids grub.
    for (img, t) in [(&image, &[][..]), (&s.grub, &dbt[..])] {
        let v = judge(&s, img, &dbx, t);
        assert!(!v.allowed, "{v:?}");
        assert!(
            matches!(v.reason, Reason::SignatureForbidden { .. }),
            "{:?}",
            v.reason
        );
    }
    let v = judge(&s, &image, &dbx, &dbt);
    assert!(v.allowed, "{v:?}");
    assert!(
        matches!(v.reason, Reason::SignedByDb { .. }),
        "{:?}",
        v.reason
    );
    let outcome = &v.signatures[0].outcome;
    assert!(
        outcome.contains("tl test TSA") && outcome.contains("2029-12-31T23:59:59Z"),
        "{outcome}"
    );
}

#[test]
fn no_waiver_after_revocation_at_time_zero_or_from_an_untrusted_tsa() {
    let s = setup();
    let tsa = Tsa::new("tl test TSA");
    let dbt = x509_list(&tsa.cert);
    let denied = |image: &[u8], dbx: &[SignatureList], dbt: &[SignatureList], why: &str| {
        let v = judge(&s, image, dbx, dbt);
        assert!(!v.allowed, "{why}: {v:?}");
    };
    let late = countersigned(&s.grub, &tsa.token(&s.signature, AFTER));
    denied(
        &late,
        &revoke(&s.signer, REVOKED),
        &dbt,
        "timestamp after revocation",
    );
    let early = countersigned(&s.grub, &tsa.token(&s.signature, BEFORE));
    denied(
        &early,
        &revoke(&s.signer, (0, 0, 0, 0, 0, 0)),
        &dbt,
        "revocation time zero means always",
    );
    let other = Tsa::new("someone else's TSA");
    denied(
        &early,
        &revoke(&s.signer, REVOKED),
        &x509_list(&other.cert),
        "TSA not in dbt",
    );
    let wrong_imprint = countersigned(&s.grub, &tsa.token(b"another signature", BEFORE));
    denied(
        &wrong_imprint,
        &revoke(&s.signer, REVOKED),
        &dbt,
        "timestamp of other bytes",
    );
    // dbt only vouches for timestamps: it does not allow images.
    let v = SecureBootPolicy::new(&[], &[])
        .with_dbt(&x509_list(&s.ca))
        .verify_image(&s.grub);
    assert!(!v.allowed, "{v:?}");
}

#[test]
fn revoked_db_anchor_is_waived_the_same_way() {
    let s = setup();
    let tsa = Tsa::new("tl test TSA");
    let image = countersigned(&s.grub, &tsa.token(&s.signature, BEFORE));
    let dbx = revoke(&s.ca, REVOKED);
    let v = judge(&s, &image, &dbx, &[]);
    assert!(!v.allowed, "{v:?}");
    let v = judge(&s, &image, &dbx, &x509_list(&tsa.cert));
    assert!(v.allowed, "{v:?}");
}

#[test]
fn tampered_timestamp_token_is_rejected() {
    let s = setup();
    let tsa = Tsa::new("tl test TSA");
    let mut token = tsa.token(&s.signature, BEFORE);
    // Change the genTime's year digit inside the signed TSTInfo.
    let at = token.windows(4).position(|w| w == b"2029").unwrap();
    token[at + 3] = b'8';
    let anchor = &tsa.cert;
    let e = boot::secureboot::timestamp::verify_token(&token, anchor, &s.signature).unwrap_err();
    assert!(e.to_string().contains("messageDigest"), "{e}");
    let image = countersigned(&s.grub, &token);
    let v = judge(&s, &image, &revoke(&s.signer, REVOKED), &x509_list(anchor));
    assert!(!v.allowed, "{v:?}");
    // The untampered token verifies and reports its time and TSA.
    let ts = boot::secureboot::timestamp::verify_token(
        &tsa.token(&s.signature, BEFORE),
        anchor,
        &s.signature,
    )
    .unwrap();
    assert_eq!(ts.time.to_string(), "2029-12-31T23:59:59Z");
    assert!(ts.tsa.contains("tl test TSA"));
}
