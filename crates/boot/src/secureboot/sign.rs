//! Authenticode signing of PE32/PE32+ images, as sbsign does it (Microsoft "Windows
//! Authenticode Portable Executable Signature Format"; PE/COFF spec "The Attribute Certificate
//! Table"): pad the image to 8 bytes, hash it, build SignedData{SpcIndirectDataContent} with
//! contentType/SpcSpOpusInfo/messageDigest signed attributes and the signer certificate, append a
//! `WIN_CERTIFICATE` and point the Security directory at the table, then fix the CheckSum.

use super::auth::AuthError;
use super::pe::{HashAlg, PeError, PeImage, WIN_CERT_TYPE_PKCS_SIGNED_DATA};
use super::pkcs7::SPC_INDIRECT_DATA_OBJID;
use super::signer::{Signer, SignerError, digest_algorithm};
use super::tlv;
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::SetOfVec;
use der::{Any, Decode, Encode};
use x509_cert::attr::Attribute;

/// SPC_PE_IMAGE_DATAOBJ.
const SPC_PE_IMAGE_DATA_OBJID: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.15");
/// SPC_SP_OPUS_INFO_OBJID.
const SPC_SP_OPUS_INFO_OBJID: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.12");
/// id-contentType.
const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest.
const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// id-signedData.
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// `WIN_CERT_REVISION_2_0`.
const WIN_CERT_REVISION_2_0: u16 = 0x0200;

/// What to do with an image that already carries signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMode {
    /// Refuse a signed image.
    #[default]
    RefuseSigned,
    /// Append to the existing signatures (edk2 checks every `WIN_CERTIFICATE`).
    KeepSignatures,
    /// Drop the existing signatures first.
    ReplaceSignatures,
}

/// Why an image could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The image did not parse.
    #[error(transparent)]
    Pe(#[from] PeError),
    /// Signed already and no mode says what to do.
    #[error(
        "image already carries {0} signature(s): pass --keep-signatures to add one or --replace-signatures to drop them"
    )]
    AlreadySigned(usize),
    /// The certificate table is not the last thing in the file, so appending would break it.
    #[error(
        "offset {offset}: certificate table [{start}, +{size}) is not at the end of the file ({len} bytes): trailing data after it"
    )]
    TableNotAtEnd {
        /// Offset of the Security directory entry.
        offset: usize,
        /// Table start.
        start: usize,
        /// Table size.
        size: usize,
        /// File length.
        len: usize,
    },
    /// The certificate table starts inside the headers or sections it would have to follow.
    #[error(
        "offset {offset}: certificate table starts at {start}, inside the image data ending at {hashed}"
    )]
    TableInsideImage {
        /// Offset of the Security directory entry.
        offset: usize,
        /// Table start.
        start: usize,
        /// End of headers and sections.
        hashed: usize,
    },
    /// The optional header has no Security directory entry.
    #[error("image has no Security data directory (NumberOfRvaAndSizes <= 4)")]
    NoSecurityDirectory,
    /// The signed image would exceed what a u32 directory entry can address.
    #[error("signed image would exceed 4 GiB")]
    TooLarge,
    /// Signing failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// Building the PKCS#7 failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// DER encoding failed.
    #[error("encoding {what}: {source}")]
    Der {
        /// Structure.
        what: &'static str,
        /// Cause.
        source: der::Error,
    },
}

fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> SignError {
    move |source| SignError::Der { what, source }
}

/// `SpcIndirectDataContent{ SpcAttributeTypeAndOptionalValue{SpcPeImageData}, DigestInfo }`,
/// with the `<<<Obsolete>>>` file link signtool and sbsign write.
pub fn spc_indirect_data_content(digest: HashAlg, image_digest: &[u8]) -> Vec<u8> {
    let obsolete: Vec<u8> = "<<<Obsolete>>>"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    // SpcLink.file [2] EXPLICIT SpcString; SpcString.unicode [0] IMPLICIT BMPString.
    let link = tlv::encode(0xa2, &tlv::encode(0x80, &obsolete));
    let pe_image_data = tlv::encode(
        tlv::SEQUENCE,
        &[
            tlv::encode(0x03, &[0x00]), // flags: empty BIT STRING
            tlv::encode(tlv::CTX0, &link),
        ]
        .concat(),
    );
    let data = tlv::encode(
        tlv::SEQUENCE,
        &[
            tlv::encode(0x06, SPC_PE_IMAGE_DATA_OBJID.as_bytes()),
            pe_image_data,
        ]
        .concat(),
    );
    let alg = digest_algorithm(digest);
    let alg = tlv::encode(
        tlv::SEQUENCE,
        &[
            tlv::encode(0x06, alg.oid.as_bytes()),
            vec![0x05, 0x00], // NULL parameters
        ]
        .concat(),
    );
    let digest_info = tlv::encode(
        tlv::SEQUENCE,
        &[alg, tlv::encode(0x04, image_digest)].concat(),
    );
    tlv::encode(tlv::SEQUENCE, &[data, digest_info].concat())
}

fn attribute(oid: Oid, value: Any) -> Result<Attribute, SignError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(der_err("attribute value"))?,
    })
}

/// The Authenticode PKCS#7 (ContentInfo DER) for an image whose digest is `image_digest`.
pub fn authenticode_pkcs7(
    signer: &Signer,
    digest: HashAlg,
    image_digest: &[u8],
) -> Result<Vec<u8>, SignError> {
    let spc = spc_indirect_data_content(digest, image_digest);
    // messageDigest covers the SpcIndirectDataContent value, without its SEQUENCE header.
    let value = tlv::Reader::new(&spc, 0)
        .next_tlv("SpcIndirectDataContent")
        .map_err(|_| SignError::Der {
            what: "SpcIndirectDataContent",
            source: der::Tag::Sequence.value_error(),
        })?
        .value;
    let message_digest = digest.digest(value);
    let any = |b: &[u8]| Any::from_der(b);
    let attrs = vec![
        attribute(
            ID_CONTENT_TYPE,
            any(&tlv::encode(0x06, SPC_INDIRECT_DATA_OBJID.as_bytes()))
                .map_err(der_err("contentType"))?,
        )?,
        // SpcSpOpusInfo with neither programName nor moreInfo, as sbsign leaves it.
        attribute(
            SPC_SP_OPUS_INFO_OBJID,
            any(&[0x30, 0x00]).map_err(der_err("SpcSpOpusInfo"))?,
        )?,
        attribute(
            ID_MESSAGE_DIGEST,
            any(&tlv::encode(0x04, &message_digest)).map_err(der_err("messageDigest"))?,
        )?,
    ];
    // SetOfVec sorts into DER order, so the bytes signed are the bytes verifiers re-encode.
    let signed_attrs: SignedAttributes =
        SetOfVec::try_from(attrs).map_err(der_err("signedAttrs"))?;
    let to_sign = signed_attrs.to_der().map_err(der_err("signedAttrs"))?;
    let sig = signer.sign(digest, &to_sign)?;
    let si = signer
        .signer_info(digest, Some(signed_attrs), sig)
        .map_err(der_err("SignerInfo"))?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_algorithm(digest)])
            .map_err(der_err("digestAlgorithms"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: SPC_INDIRECT_DATA_OBJID,
            econtent: Some(Any::from_der(&spc).map_err(der_err("SpcIndirectDataContent"))?),
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(
                signer.cert.cert.clone(),
            )])
            .map_err(der_err("certificates"))?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).map_err(der_err("signerInfos"))?),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err("SignedData"))?,
    };
    ci.to_der().map_err(der_err("ContentInfo"))
}

/// The PE checksum (imagehlp `CheckSumMappedFile`): 16-bit one's-complement-style sum of the
/// file with the CheckSum field taken as zero, plus the file length.
pub fn pe_checksum(image: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    for (i, c) in image.chunks(2).enumerate() {
        let at = i * 2;
        if at == checksum_offset || at == checksum_offset + 2 {
            continue;
        }
        let w = u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u64::from(w);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    (sum as u32).wrapping_add(image.len() as u32)
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Signs `image` with `signer`, hashing with `digest`; returns the signed image.
pub fn sign_image(
    image: &[u8],
    signer: &Signer,
    mode: SignMode,
    digest: HashAlg,
) -> Result<Vec<u8>, SignError> {
    let pe = PeImage::parse(image)?;
    let dir = pe
        .certificate_directory_offset()
        .ok_or(SignError::NoSecurityDirectory)?;
    let (mut out, mut table_start) = match pe.certificate_table() {
        None => (image.to_vec(), None),
        Some((start, size)) => {
            if start < pe.hashed_end() {
                return Err(SignError::TableInsideImage {
                    offset: dir,
                    start,
                    hashed: pe.hashed_end(),
                });
            }
            let count = pe.certificates()?.len();
            if start + size != image.len() {
                return Err(SignError::TableNotAtEnd {
                    offset: dir,
                    start,
                    size,
                    len: image.len(),
                });
            }
            match mode {
                SignMode::RefuseSigned => return Err(SignError::AlreadySigned(count)),
                SignMode::KeepSignatures => (image.to_vec(), Some(start)),
                SignMode::ReplaceSignatures => {
                    let mut v = image[..start].to_vec();
                    put32(&mut v, dir, 0);
                    put32(&mut v, dir + 4, 0);
                    (v, None)
                }
            }
        }
    };
    if table_start.is_none() {
        // The table must start 8-aligned; the padding is hashed as trailing data, as sbsign does.
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        table_start = Some(out.len());
    }
    let table_start = table_start.unwrap_or(out.len());
    // The digest ignores the Security entry, the CheckSum and the table, so it can be taken now.
    let image_digest = PeImage::parse(&out)?.authenticode_digest(digest);
    let p7 = authenticode_pkcs7(signer, digest, &image_digest)?;
    let dw_length = 8 + p7.len();
    out.extend_from_slice(&(dw_length as u32).to_le_bytes());
    out.extend_from_slice(&WIN_CERT_REVISION_2_0.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_TYPE_PKCS_SIGNED_DATA.to_le_bytes());
    out.extend_from_slice(&p7);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let size = out.len() - table_start;
    let (Ok(start32), Ok(size32), Ok(_)) = (
        u32::try_from(table_start),
        u32::try_from(size),
        u32::try_from(out.len()),
    ) else {
        return Err(SignError::TooLarge);
    };
    put32(&mut out, dir, start32);
    put32(&mut out, dir + 4, size32);
    let ck = pe.checksum_offset();
    let sum = pe_checksum(&out, ck);
    put32(&mut out, ck, sum);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::certgen::{self, CertParams, CertUsage, KeyAlgorithm};
    use crate::secureboot::efi;
    use crate::secureboot::esl::SignatureList;
    use crate::secureboot::pe::tests::tiny_pe;
    use crate::secureboot::policy::{Reason, SecureBootPolicy};
    use std::time::SystemTime;

    fn db_signer(alg: KeyAlgorithm) -> Signer {
        certgen::generate(
            alg,
            &CertParams {
                common_name: "tl test db".into(),
                days: 30,
                not_before: SystemTime::now(),
                usage: CertUsage::CodeSigning,
            },
        )
        .unwrap()
    }

    fn policy_for(s: &Signer) -> SecureBootPolicy {
        let db = vec![SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            efi::EFI_GLOBAL_VARIABLE,
            s.cert.der.clone(),
        )];
        SecureBootPolicy::new(&db, &[])
    }

    #[test]
    fn signed_tiny_image_verifies_under_our_policy() {
        let s = db_signer(KeyAlgorithm::Rsa2048);
        let img = tiny_pe(3, &[]);
        let signed = sign_image(&img, &s, SignMode::RefuseSigned, HashAlg::Sha256).unwrap();
        assert_eq!(signed.len() % 8, 0);
        let v = policy_for(&s).verify_image(&signed);
        assert!(v.allowed, "{v:#?}");
        assert_eq!(v.reason, Reason::SignedByDb { signature: 0 });
        // The digest covers the 8-byte padding.
        let mut padded = img.clone();
        padded.resize(img.len().div_ceil(8) * 8, 0);
        let pd = PeImage::parse(&padded)
            .unwrap()
            .authenticode_digest(HashAlg::Sha256);
        assert_eq!(
            PeImage::parse(&signed)
                .unwrap()
                .authenticode_digest(HashAlg::Sha256),
            pd
        );
        // Refused when signed; kept and replaced on request.
        assert!(matches!(
            sign_image(&signed, &s, SignMode::RefuseSigned, HashAlg::Sha256),
            Err(SignError::AlreadySigned(1))
        ));
        let other = db_signer(KeyAlgorithm::Rsa2048);
        let two = sign_image(&signed, &other, SignMode::KeepSignatures, HashAlg::Sha384).unwrap();
        assert_eq!(
            PeImage::parse(&two).unwrap().certificates().unwrap().len(),
            2
        );
        assert!(policy_for(&s).verify_image(&two).allowed);
        let v = policy_for(&other).verify_image(&two);
        assert_eq!(v.reason, Reason::SignedByDb { signature: 1 }, "{v:#?}");
        let replaced =
            sign_image(&two, &other, SignMode::ReplaceSignatures, HashAlg::Sha256).unwrap();
        assert_eq!(
            PeImage::parse(&replaced)
                .unwrap()
                .certificates()
                .unwrap()
                .len(),
            1
        );
        assert!(!policy_for(&s).verify_image(&replaced).allowed);
        assert!(policy_for(&other).verify_image(&replaced).allowed);
        // A byte flip in a section breaks it.
        let mut bad = signed.clone();
        bad[0x210] ^= 1;
        assert!(!policy_for(&s).verify_image(&bad).allowed);
    }

    #[test]
    fn table_not_at_end_is_refused() {
        let s = db_signer(KeyAlgorithm::EcdsaP256);
        let signed = sign_image(
            &tiny_pe(0, &[]),
            &s,
            SignMode::RefuseSigned,
            HashAlg::Sha256,
        )
        .unwrap();
        let mut trailing = signed.clone();
        trailing.extend_from_slice(&[0; 16]);
        let e = sign_image(&trailing, &s, SignMode::KeepSignatures, HashAlg::Sha256).unwrap_err();
        assert!(matches!(e, SignError::TableNotAtEnd { .. }), "{e}");
        assert!(e.to_string().contains("not at the end"), "{e}");
        assert!(matches!(
            sign_image(b"MZ", &s, SignMode::RefuseSigned, HashAlg::Sha256),
            Err(SignError::Pe(_))
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn mutated_images_never_panic(at in 0usize..0x400, v in proptest::num::u8::ANY, cut in 0usize..0x400) {
            let s = db_signer(KeyAlgorithm::EcdsaP256);
            let mut b = sign_image(&tiny_pe(5, &[]), &s, SignMode::RefuseSigned, HashAlg::Sha256).unwrap();
            let n = b.len();
            b[at % n] = v;
            b.truncate(cut.max(1));
            for mode in [SignMode::RefuseSigned, SignMode::KeepSignatures, SignMode::ReplaceSignatures] {
                let _ = sign_image(&b, &s, mode, HashAlg::Sha256);
            }
        }
    }

    #[test]
    fn table_inside_the_image_is_refused() {
        let s = db_signer(KeyAlgorithm::EcdsaP256);
        // A table claiming to start at 0 and cover the whole file.
        let mut b = tiny_pe(0, &[vec![1; 8]]);
        let dir = 0x58 + 112 + 32;
        let len = b.len() as u32;
        b[dir..dir + 4].copy_from_slice(&0u32.to_le_bytes());
        b[dir + 4..dir + 8].copy_from_slice(&(len - 0x300).to_le_bytes());
        let e = sign_image(&b, &s, SignMode::ReplaceSignatures, HashAlg::Sha256);
        assert!(
            matches!(
                e,
                Err(SignError::TableInsideImage {
                    start: 0,
                    hashed: 0x300,
                    ..
                })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn checksum_matches_known_value() {
        // Words 1, 2, [checksum 0xffffffff skipped], 4; plus the length 10.
        let b = [1, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 4, 0];
        assert_eq!(pe_checksum(&b, 4), 1 + 2 + 4 + 10);
        // Carries fold back into the low 16 bits.
        let b = [0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(pe_checksum(&b, 2), 0xffff + 8);
    }
}
