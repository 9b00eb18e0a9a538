//! PKCS#7 SignedData (RFC 2315 §9; RFC 5652 §5) as Authenticode and kernel modules use it, and
//! the checks edk2's `Pkcs7Verify` makes with `X509_V_FLAG_PARTIAL_CHAIN|NO_CHECK_TIME`
//! (reference/boot-chain.md §3, §11): the signer is found by issuer+serial, messageDigest is
//! H(content), the signature covers DER(signedAttrs) with the SET tag, and the chain climbs
//! through the embedded certificates until it meets the anchor — root or intermediate.

use super::crypto::{self, CryptoError};
use super::pe::HashAlg;
use super::tlv::{self, Reader, Tlv, TlvError};
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Encode, asn1::OctetString};
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;

/// id-signedData.
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// id-messageDigest.
const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// id-ce-extKeyUsage.
const ID_CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// SPC_RFC3161_OBJID: Authenticode's timestamp countersignature attribute.
const SPC_RFC3161_OBJID: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.3.3.1");
/// SPC_INDIRECT_DATA_OBJID.
pub const SPC_INDIRECT_DATA_OBJID: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.4");
/// Longest chain we climb (Debian's is 2, Microsoft's 3).
const MAX_CHAIN: usize = 8;

/// Why a PKCS#7 blob could not be parsed or its signer verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs7Error {
    /// Malformed DER structure.
    #[error("{0}")]
    Tlv(#[from] TlvError),
    /// A typed decode failed.
    #[error("{what}: {source}")]
    Der {
        /// Structure being decoded.
        what: &'static str,
        /// Cause (carries the DER position).
        source: der::Error,
    },
    /// contentType is not signedData.
    #[error("ContentInfo contentType {0} is not signedData")]
    NotSignedData(Oid),
    /// The SignedData has more or fewer than one SignerInfo.
    #[error("SignedData has {0} SignerInfos, expected exactly one")]
    SignerCount(usize),
    /// The signer is named by subjectKeyIdentifier, which UEFI does not use.
    #[error("signer identified by subjectKeyIdentifier, not issuer and serial")]
    SignerBySki,
    /// No embedded certificate has the signer's issuer and serial.
    #[error("signer certificate ({issuer}, serial {serial}) is not embedded")]
    SignerNotEmbedded {
        /// Issuer DN.
        issuer: String,
        /// Serial (hex).
        serial: String,
    },
    /// The encapsulated content is not SpcIndirectDataContent.
    #[error("eContentType {0} is not SPC_INDIRECT_DATA_OBJID")]
    NotSpcIndirectData(Oid),
    /// No encapsulated content where one is required.
    #[error("SignedData carries no content")]
    NoContent,
    /// signedAttrs lacks messageDigest.
    #[error("signedAttrs has no messageDigest")]
    NoMessageDigest,
    /// messageDigest ≠ H(content).
    #[error("messageDigest does not match the signed content")]
    MessageDigestMismatch,
    /// Signature/digest algorithm or verification failure.
    #[error("signer: {0}")]
    Crypto(#[from] CryptoError),
}

fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> Pkcs7Error {
    move |source| Pkcs7Error::Der { what, source }
}

/// An X.509 certificate with its exact encoding and TBS bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509 {
    /// DER encoding.
    pub der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    /// Parsed form.
    pub cert: Certificate,
}

impl X509 {
    /// Parses one DER certificate (trailing bytes are an error).
    pub fn from_der(der: &[u8]) -> Result<Self, Pkcs7Error> {
        let mut r = Reader::new(der, 0);
        let outer = r.expect(tlv::SEQUENCE, "Certificate")?;
        if !r.is_empty() {
            return Err(der_err("Certificate")(der::Error::new(
                der::ErrorKind::TrailingData {
                    decoded: der::Length::try_from(outer.raw.len()).unwrap_or_default(),
                    remaining: der::Length::try_from(der.len() - outer.raw.len())
                        .unwrap_or_default(),
                },
                der::Length::try_from(outer.raw.len()).unwrap_or_default(),
            )));
        }
        let tbs = Reader::inside(&outer).expect(tlv::SEQUENCE, "TBSCertificate")?;
        let cert = Certificate::from_der(der).map_err(der_err("Certificate"))?;
        Ok(X509 {
            der: der.to_vec(),
            tbs: tbs.offset..tbs.offset + tbs.raw.len(),
            cert,
        })
    }

    /// Parses a PEM `CERTIFICATE` block.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Pkcs7Error> {
        let (label, der) = der::pem::decode_vec(pem).map_err(|e| der_err("PEM")(e.into()))?;
        if label != "CERTIFICATE" {
            return Err(der_err("PEM")(der::Tag::Sequence.value_error()));
        }
        Self::from_der(&der)
    }

    /// The exact TBSCertificate bytes.
    pub fn tbs(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// Subject DN in RFC 4514 form.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// Issuer DN in RFC 4514 form.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// Hash of the TBSCertificate (what `EFI_CERT_X509_SHA*` entries hold).
    pub fn tbs_hash(&self, alg: HashAlg) -> Vec<u8> {
        alg.digest(self.tbs())
    }

    /// True when `self` issued `child`: names chain and `self`'s key verifies `child`'s signature.
    pub fn issued(&self, child: &X509) -> bool {
        child.cert.tbs_certificate.issuer == self.cert.tbs_certificate.subject
            && crypto::verify(
                &self.cert.tbs_certificate.subject_public_key_info,
                &child.cert.signature_algorithm.oid,
                child.cert.signature_algorithm.parameters.as_ref(),
                None,
                child.tbs(),
                child.cert.signature.raw_bytes(),
            )
            .is_ok()
    }

    /// The extendedKeyUsage purposes, empty when the extension is absent or unreadable.
    pub fn extended_key_usage(&self) -> Vec<Oid> {
        self.cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
            .filter_map(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok())
            .flat_map(|eku| eku.0)
            .collect()
    }
}

/// The single signer of a SignedData.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Issuer DN of the signer certificate.
    pub issuer: x509_cert::name::Name,
    /// Serial number bytes.
    pub serial: Vec<u8>,
    /// digestAlgorithm.
    pub digest_alg: HashAlg,
    /// signatureAlgorithm OID.
    pub signature_algorithm: Oid,
    /// signatureAlgorithm parameters (RSASSA-PSS carries its digest and salt here).
    pub signature_params: Option<der::Any>,
    /// DER(signedAttrs) with the SET tag, if present.
    pub signed_attrs: Option<Vec<u8>>,
    /// messageDigest attribute value.
    pub message_digest: Option<Vec<u8>>,
    /// The signature.
    pub signature: Vec<u8>,
    /// DER of the RFC 3161 timestamp token in the unsigned attribute 1.3.6.1.4.1.311.3.3.1.
    pub timestamp_token: Option<Vec<u8>>,
}

impl Signer {
    /// Serial in lower-case hex.
    pub fn serial_hex(&self) -> String {
        hex(&self.serial)
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A parsed SignedData with one signer.
#[derive(Debug, Clone)]
pub struct SignedMessage {
    /// eContentType.
    pub content_type: Oid,
    /// The full encoding of the encapsulated content (tag, length, value), if present.
    pub content_tlv: Option<Vec<u8>>,
    /// Embedded certificates in encoding order.
    pub certificates: Vec<X509>,
    /// The signer.
    pub signer: Signer,
    /// Bytes of the ContentInfo (trailing padding removed).
    pub der_len: usize,
}

impl SignedMessage {
    /// Parses a ContentInfo(signedData). Bytes after the ContentInfo (WIN_CERTIFICATE padding)
    /// are ignored.
    pub fn parse(data: &[u8]) -> Result<Self, Pkcs7Error> {
        let mut r = Reader::new(data, 0);
        let ci = r.expect(tlv::SEQUENCE, "ContentInfo")?;
        let mut ci_r = Reader::inside(&ci);
        let ct = ci_r.expect(0x06, "ContentInfo.contentType")?;
        let ct =
            Oid::from_bytes(ct.value).map_err(|e| der_err("ContentInfo.contentType")(e.into()))?;
        if ct != ID_SIGNED_DATA {
            return Err(Pkcs7Error::NotSignedData(ct));
        }
        let explicit = ci_r.expect(tlv::CTX0, "ContentInfo.content")?;
        let sd = Reader::inside(&explicit).expect(tlv::SEQUENCE, "SignedData")?;
        let mut sd_r = Reader::inside(&sd);
        sd_r.expect(0x02, "SignedData.version")?;
        sd_r.expect(tlv::SET, "SignedData.digestAlgorithms")?;
        let eci = sd_r.expect(tlv::SEQUENCE, "SignedData.encapContentInfo")?;
        let mut eci_r = Reader::inside(&eci);
        let et = eci_r.expect(0x06, "encapContentInfo.eContentType")?;
        let content_type = Oid::from_bytes(et.value)
            .map_err(|e| der_err("encapContentInfo.eContentType")(e.into()))?;
        let content_tlv = if eci_r.is_empty() {
            None
        } else {
            let ex = eci_r.expect(tlv::CTX0, "encapContentInfo.eContent")?;
            Some(
                Reader::inside(&ex)
                    .next_tlv("encapContentInfo.eContent")?
                    .raw
                    .to_vec(),
            )
        };
        let mut certificates = Vec::new();
        if sd_r.peek_tag() == Some(tlv::CTX0) {
            let set = sd_r.expect(tlv::CTX0, "SignedData.certificates")?;
            let mut cr = Reader::inside(&set);
            while !cr.is_empty() {
                let c = cr.next_tlv("SignedData.certificates")?;
                // Only plain certificates (not attribute or other formats) can be chain links.
                if c.tag == tlv::SEQUENCE {
                    certificates.push(X509::from_der(c.raw)?);
                }
            }
        }
        if sd_r.peek_tag() == Some(tlv::CTX1) {
            sd_r.expect(tlv::CTX1, "SignedData.crls")?;
        }
        let sis = sd_r.expect(tlv::SET, "SignedData.signerInfos")?;
        let mut sir = Reader::inside(&sis);
        let mut infos: Vec<Tlv<'_>> = Vec::new();
        while !sir.is_empty() {
            infos.push(sir.expect(tlv::SEQUENCE, "SignerInfo")?);
        }
        if infos.len() != 1 {
            return Err(Pkcs7Error::SignerCount(infos.len()));
        }
        let signer = Self::parse_signer(&infos[0])?;
        Ok(SignedMessage {
            content_type,
            content_tlv,
            certificates,
            signer,
            der_len: ci.raw.len(),
        })
    }

    fn parse_signer(t: &Tlv<'_>) -> Result<Signer, Pkcs7Error> {
        let si = SignerInfo::from_der(t.raw).map_err(der_err("SignerInfo"))?;
        // The exact signedAttrs bytes: version, sid, digestAlgorithm, then [0].
        let mut r = Reader::inside(t);
        r.next_tlv("SignerInfo.version")?;
        r.next_tlv("SignerInfo.sid")?;
        r.next_tlv("SignerInfo.digestAlgorithm")?;
        let signed_attrs = if r.peek_tag() == Some(tlv::CTX0) {
            let a = r.expect(tlv::CTX0, "SignerInfo.signedAttrs")?;
            let mut v = a.raw.to_vec();
            v[0] = tlv::SET;
            Some(v)
        } else {
            None
        };
        let SignerIdentifier::IssuerAndSerialNumber(isn) = si.sid else {
            return Err(Pkcs7Error::SignerBySki);
        };
        let digest_alg = crypto::hash_from_oid(&si.digest_alg.oid)?;
        let mut message_digest = None;
        for a in si.signed_attrs.iter().flat_map(|s| s.iter()) {
            if a.oid == ID_MESSAGE_DIGEST {
                let v = a.values.iter().next().ok_or(Pkcs7Error::NoMessageDigest)?;
                let o: OctetString = v.decode_as().map_err(der_err("messageDigest"))?;
                message_digest = Some(o.as_bytes().to_vec());
            }
        }
        // edk2 takes the last such attribute's first value.
        let timestamp_token = si
            .unsigned_attrs
            .iter()
            .flat_map(|s| s.iter())
            .filter(|a| a.oid == SPC_RFC3161_OBJID)
            .filter_map(|a| a.values.iter().next())
            .filter_map(|v| v.to_der().ok())
            .next_back();
        Ok(Signer {
            timestamp_token,
            issuer: isn.issuer,
            serial: isn.serial_number.as_bytes().to_vec(),
            digest_alg,
            signature_algorithm: si.signature_algorithm.oid,
            signature_params: si.signature_algorithm.parameters.clone(),
            signed_attrs,
            message_digest,
            signature: si.signature.as_bytes().to_vec(),
        })
    }

    /// Index of the embedded certificate named by the signer's issuer and serial.
    pub fn signer_cert(&self) -> Result<usize, Pkcs7Error> {
        self.certificates
            .iter()
            .position(|c| self.names(c))
            .ok_or_else(|| Pkcs7Error::SignerNotEmbedded {
                issuer: self.signer.issuer.to_string(),
                serial: self.signer.serial_hex(),
            })
    }

    /// True when `cert` has the signer's issuer and serial.
    pub fn names(&self, cert: &X509) -> bool {
        let t = &cert.cert.tbs_certificate;
        t.issuer == self.signer.issuer
            && t.serial_number.as_bytes() == self.signer.serial.as_slice()
    }

    /// Checks the signer's signature over `content` (the bytes whose digest is messageDigest, or
    /// which are signed directly when there are no signedAttrs) with `cert`'s key.
    pub fn verify_signer(&self, content: &[u8], cert: &X509) -> Result<(), Pkcs7Error> {
        let s = &self.signer;
        let message: &[u8] = match &s.signed_attrs {
            Some(attrs) => {
                let md = s
                    .message_digest
                    .as_ref()
                    .ok_or(Pkcs7Error::NoMessageDigest)?;
                if *md != s.digest_alg.digest(content) {
                    return Err(Pkcs7Error::MessageDigestMismatch);
                }
                attrs
            }
            None => content,
        };
        crypto::verify(
            &cert.cert.tbs_certificate.subject_public_key_info,
            &s.signature_algorithm,
            s.signature_params.as_ref(),
            Some(s.digest_alg),
            message,
            &s.signature,
        )?;
        Ok(())
    }

    /// The embedded chain from certificate `from` upward (each link verified), `from` first.
    pub fn embedded_chain(&self, from: usize) -> Vec<usize> {
        let mut chain = vec![from];
        while chain.len() < MAX_CHAIN {
            let cur = &self.certificates[chain[chain.len() - 1]];
            let next = self
                .certificates
                .iter()
                .enumerate()
                .position(|(i, c)| !chain.contains(&i) && c.issued(cur));
            match next {
                Some(i) => chain.push(i),
                None => break,
            }
        }
        chain
    }

    /// Partial-chain validation (OpenSSL `X509_V_FLAG_PARTIAL_CHAIN`, no time check): true when
    /// `anchor` is a certificate of the signer's embedded chain or issued one of them.
    pub fn chains_to(&self, from: usize, anchor: &X509) -> bool {
        self.embedded_chain(from).into_iter().any(|i| {
            let c = &self.certificates[i];
            c.der == anchor.der || anchor.issued(c)
        })
    }
}

/// An Authenticode signature: a SignedMessage whose content is SpcIndirectDataContent.
#[derive(Debug, Clone)]
pub struct AuthenticodeSignature {
    /// The SignedData.
    pub message: SignedMessage,
    /// Digest algorithm in SpcIndirectDataContent.messageDigest.
    pub image_digest_alg: HashAlg,
    /// The signed Authenticode digest.
    pub image_digest: Vec<u8>,
}

impl AuthenticodeSignature {
    /// Parses a `WIN_CERT_TYPE_PKCS_SIGNED_DATA` payload.
    pub fn parse(data: &[u8]) -> Result<Self, Pkcs7Error> {
        let message = SignedMessage::parse(data)?;
        if message.content_type != SPC_INDIRECT_DATA_OBJID {
            return Err(Pkcs7Error::NotSpcIndirectData(message.content_type));
        }
        let content = message.content_tlv.as_ref().ok_or(Pkcs7Error::NoContent)?;
        let mut r = Reader::new(content, 0);
        let spc = r.expect(tlv::SEQUENCE, "SpcIndirectDataContent")?;
        let mut sr = Reader::inside(&spc);
        sr.expect(tlv::SEQUENCE, "SpcIndirectDataContent.data")?;
        let di = sr.expect(tlv::SEQUENCE, "SpcIndirectDataContent.messageDigest")?;
        let mut dr = Reader::inside(&di);
        let alg = dr.expect(tlv::SEQUENCE, "DigestInfo.digestAlgorithm")?;
        let oid = Reader::inside(&alg).expect(0x06, "DigestInfo.digestAlgorithm")?;
        let oid = Oid::from_bytes(oid.value)
            .map_err(|e| der_err("DigestInfo.digestAlgorithm")(e.into()))?;
        let image_digest_alg = crypto::hash_from_oid(&oid)?;
        let digest = dr.expect(0x04, "DigestInfo.digest")?;
        Ok(AuthenticodeSignature {
            image_digest: digest.value.to_vec(),
            image_digest_alg,
            message,
        })
    }

    /// SpcIndirectDataContent without its outer tag and length: what messageDigest covers.
    pub fn signed_content(&self) -> &[u8] {
        let c = self.message.content_tlv.as_deref().unwrap_or_default();
        Reader::new(c, 0)
            .next_tlv("content")
            .map(|t| t.value)
            .unwrap_or_default()
    }

    /// Finds the signer certificate and checks the signature over the content.
    pub fn verify_signer(&self) -> Result<usize, Pkcs7Error> {
        let i = self.message.signer_cert()?;
        self.message
            .verify_signer(self.signed_content(), &self.message.certificates[i])?;
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_names_structure_and_offset() {
        let e = SignedMessage::parse(&[]).unwrap_err();
        assert_eq!(e.to_string(), "DER offset 0: ContentInfo truncated");
        let e = SignedMessage::parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
        assert!(
            e.to_string()
                .contains("DER offset 2: expected ContentInfo.contentType"),
            "{e}"
        );
        // ContentInfo with data contentType.
        let ci = [
            0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
        ];
        assert_eq!(
            SignedMessage::parse(&ci).unwrap_err().to_string(),
            "ContentInfo contentType 1.2.840.113549.1.7.1 is not signedData"
        );
        assert!(X509::from_der(&[0x30, 0x00, 0x00]).is_err());
    }
}
