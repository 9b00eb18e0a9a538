//! Time-based authenticated variable updates: `EFI_VARIABLE_AUTHENTICATION_2` (UEFI 2.10 §8.2.2;
//! edk2 AuthService.c `VerifyTimeBasedPayload`). The `.auth` file is
//! `EFI_TIME ‖ WIN_CERTIFICATE_UEFI_GUID{PKCS7} ‖ data`; the PKCS#7 is a bare SignedData over
//! `Name (UTF-16LE, no NUL) ‖ VendorGuid ‖ Attributes ‖ EFI_TIME ‖ data`, detached, with the
//! signer certificate embedded (edk2 compares it with PK for PK/KEK updates).

use super::efi::{self, Guid};
use super::pe::{HashAlg, WIN_CERT_TYPE_EFI_GUID};
use super::pkcs7::{Pkcs7Error, SignedMessage, X509};
use super::signer::{Signer, SignerError, digest_algorithm};
use super::tlv;
use cms::cert::CertificateChoices;
use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::SetOfVec;
use der::{DateTime, Decode, Encode};
use std::time::SystemTime;

/// `EFI_VARIABLE_NON_VOLATILE`.
pub const EFI_VARIABLE_NON_VOLATILE: u32 = 0x01;
/// `EFI_VARIABLE_BOOTSERVICE_ACCESS`.
pub const EFI_VARIABLE_BOOTSERVICE_ACCESS: u32 = 0x02;
/// `EFI_VARIABLE_RUNTIME_ACCESS`.
pub const EFI_VARIABLE_RUNTIME_ACCESS: u32 = 0x04;
/// `EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS`.
pub const EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS: u32 = 0x20;
/// `EFI_VARIABLE_APPEND_WRITE`.
pub const EFI_VARIABLE_APPEND_WRITE: u32 = 0x40;
/// NV | BS | RT | TIME_BASED_AUTH: the attributes of PK, KEK, db and dbx.
pub const SECURE_BOOT_VARIABLE_ATTRIBUTES: u32 = 0x27;
/// `sizeof(EFI_TIME)`.
pub const EFI_TIME_SIZE: usize = 16;
/// `OFFSET_OF(WIN_CERTIFICATE_UEFI_GUID, CertData)`: WIN_CERTIFICATE (8) + CertType GUID (16).
const WIN_CERTIFICATE_UEFI_GUID_HEADER: usize = 24;
/// `WIN_CERT_REVISION` 2.0.
const WIN_CERT_REVISION: u16 = 0x0200;
/// id-data.
const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData.
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");

/// Why an authenticated update could not be built, parsed or verified.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Signing failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// DER encoding failed.
    #[error("encoding {what}: {source}")]
    Der {
        /// Structure.
        what: &'static str,
        /// Cause.
        source: der::Error,
    },
    /// The `.auth` is shorter than its headers.
    #[error("offset {offset}: {what} truncated ({len} bytes in the file)")]
    Truncated {
        /// Offset of the part.
        offset: usize,
        /// Which part.
        what: &'static str,
        /// File length.
        len: usize,
    },
    /// `wCertificateType` or `CertType` is not the PKCS#7 GUID form.
    #[error("offset {offset}: not WIN_CERT_TYPE_EFI_GUID with EFI_CERT_TYPE_PKCS7_GUID")]
    NotPkcs7 {
        /// Offset of the WIN_CERTIFICATE.
        offset: usize,
    },
    /// A TimeStamp field edk2 requires to be zero is not.
    #[error("offset 0: EFI_TIME Pad1/Nanosecond/TimeZone/Daylight/Pad2 must be zero")]
    TimeNotCanonical,
    /// The signature did not verify.
    #[error("PKCS#7 at offset 40: {0}")]
    Pkcs7(#[from] Pkcs7Error),
    /// A time string is not `YYYY-MM-DD[ HH:MM:SS]`.
    #[error("time {0:?} is not YYYY-MM-DD[ HH:MM:SS] (UTC)")]
    BadTime(String),
    /// The PKCS#7 does not carry SHA-256 at the offset edk2 reads (+13).
    #[error("offset 53: SignedData digestAlgorithm is not SHA-256 at the fixed offset edk2 checks")]
    NotSha256,
}

/// `EFI_TIME` as time-based authentication uses it (UTC; the zero fields stay zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct EfiTime {
    /// Year (1900–9999).
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–59.
    pub second: u8,
}

impl EfiTime {
    /// The current UTC time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// `t` in UTC (times before 1970 or after 9999 clamp to the epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        let Ok(dt) = DateTime::from_system_time(t) else {
            return EfiTime {
                year: 1970,
                month: 1,
                day: 1,
                ..Default::default()
            };
        };
        EfiTime {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
            minute: dt.minutes(),
            second: dt.seconds(),
        }
    }

    /// The 16-byte `EFI_TIME`.
    pub fn to_bytes(&self) -> [u8; EFI_TIME_SIZE] {
        let mut b = [0u8; EFI_TIME_SIZE];
        b[..2].copy_from_slice(&self.year.to_le_bytes());
        b[2] = self.month;
        b[3] = self.day;
        b[4] = self.hour;
        b[5] = self.minute;
        b[6] = self.second;
        b
    }

    /// Reads an `EFI_TIME`, rejecting non-zero Pad1/Nanosecond/TimeZone/Daylight/Pad2.
    pub fn from_bytes(b: &[u8; EFI_TIME_SIZE]) -> Result<Self, AuthError> {
        if b[7..].iter().any(|&x| x != 0) {
            return Err(AuthError::TimeNotCanonical);
        }
        Ok(EfiTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hour: b[4],
            minute: b[5],
            second: b[6],
        })
    }
}

impl EfiTime {
    /// The date fields at the start of an EFI_TIME, ignoring nanoseconds and time zone, as edk2
    /// compares a dbx TimeOfRevocation; `None` if shorter than those 7 bytes.
    pub fn date_fields(b: &[u8]) -> Option<Self> {
        let b = b.get(..7)?;
        Some(EfiTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hour: b[4],
            minute: b[5],
            second: b[6],
        })
    }

    /// edk2 `IsTimeZero`: a revocation time of zero means "always revoked".
    pub fn is_zero(&self) -> bool {
        *self == EfiTime::default()
    }
}

impl std::fmt::Display for EfiTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl std::str::FromStr for EfiTime {
    type Err = AuthError;

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AuthError::BadTime(s.to_owned());
        let t = s.trim().trim_end_matches('Z');
        let (date, time) = t.split_once([' ', 'T']).unwrap_or((t, "00:00:00"));
        let num = |x: &str| x.parse::<u16>().map_err(|_| bad());
        let num8 = |x: &str| x.parse::<u8>().map_err(|_| bad());
        let d: Vec<&str> = date.split('-').collect();
        let h: Vec<&str> = time.split(':').collect();
        if d.len() != 3 || h.len() != 3 {
            return Err(bad());
        }
        let v = EfiTime {
            year: num(d[0])?,
            month: num8(d[1])?,
            day: num8(d[2])?,
            hour: num8(h[0])?,
            minute: num8(h[1])?,
            second: num8(h[2])?,
        };
        // DateTime::new validates ranges, including days per month.
        DateTime::new(v.year, v.month, v.day, v.hour, v.minute, v.second).map_err(|_| bad())?;
        Ok(v)
    }
}

/// The bytes the PKCS#7 signs: `Name ‖ VendorGuid ‖ Attributes ‖ TimeStamp ‖ data`.
pub fn signed_payload(
    name: &str,
    vendor: &Guid,
    attributes: u32,
    timestamp: &EfiTime,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() * 2 + 36 + data.len());
    out.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
    out.extend_from_slice(&vendor.0);
    out.extend_from_slice(&attributes.to_le_bytes());
    out.extend_from_slice(&timestamp.to_bytes());
    out.extend_from_slice(data);
    out
}

fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> AuthError {
    move |source| AuthError::Der { what, source }
}

/// A detached SignedData over `content` with no signed attributes and the signer certificate,
/// as `sign-efi-sig-list` and sign-file write it. Returns the bare SignedData DER (edk2 wants
/// it unwrapped; [`wrap_content_info`] adds the ContentInfo for other verifiers).
pub(crate) fn detached_signed_data(
    signer: &Signer,
    digest: HashAlg,
    content: &[u8],
    include_certificate: bool,
) -> Result<Vec<u8>, AuthError> {
    let sig = signer.sign(digest, content)?;
    let si = signer
        .signer_info(digest, None, sig)
        .map_err(der_err("SignerInfo"))?;
    let certificates = if include_certificate {
        let set = SetOfVec::try_from(vec![CertificateChoices::Certificate(
            signer.cert.cert.clone(),
        )])
        .map_err(der_err("certificates"))?;
        Some(CertificateSet(set))
    } else {
        None
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_algorithm(digest)])
            .map_err(der_err("digestAlgorithms"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).map_err(der_err("signerInfos"))?),
    };
    sd.to_der().map_err(der_err("SignedData"))
}

/// Wraps a bare SignedData in `ContentInfo{signedData}` (edk2's `WrapPkcs7Data`).
pub fn wrap_content_info(signed_data: &[u8]) -> Vec<u8> {
    let oid = tlv::encode(0x06, ID_SIGNED_DATA.as_bytes());
    let explicit = tlv::encode(tlv::CTX0, signed_data);
    tlv::encode(tlv::SEQUENCE, &[oid, explicit].concat())
}

/// Builds a `.auth`: `EFI_VARIABLE_AUTHENTICATION_2` for `name`/`vendor`/`attributes` followed by
/// `data` (an ESL, or nothing to delete). `attributes` must include TIME_BASED_AUTH (0x20); add
/// APPEND_WRITE (0x40) for an append.
pub fn create_auth(
    name: &str,
    vendor: &Guid,
    attributes: u32,
    timestamp: &EfiTime,
    data: &[u8],
    signer: &Signer,
) -> Result<Vec<u8>, AuthError> {
    let payload = signed_payload(name, vendor, attributes, timestamp, data);
    // edk2 accepts only SHA-256 here (it checks the OID at SignedData offset 13).
    let p7 = detached_signed_data(signer, HashAlg::Sha256, &payload, true)?;
    let mut out = Vec::with_capacity(40 + p7.len() + data.len());
    out.extend_from_slice(&timestamp.to_bytes());
    let dw_length = (WIN_CERTIFICATE_UEFI_GUID_HEADER + p7.len()) as u32;
    out.extend_from_slice(&dw_length.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_REVISION.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_TYPE_EFI_GUID.to_le_bytes());
    out.extend_from_slice(&efi::EFI_CERT_TYPE_PKCS7_GUID.0);
    out.extend_from_slice(&p7);
    out.extend_from_slice(data);
    Ok(out)
}

/// A parsed `.auth` file.
#[derive(Debug, Clone)]
pub struct AuthenticatedUpdate<'a> {
    /// `TimeStamp`.
    pub timestamp: EfiTime,
    /// The bare SignedData (`CertData`).
    pub pkcs7: &'a [u8],
    /// The new variable value.
    pub data: &'a [u8],
}

impl<'a> AuthenticatedUpdate<'a> {
    /// Splits an `.auth` into its time stamp, PKCS#7 and data.
    pub fn parse(b: &'a [u8]) -> Result<Self, AuthError> {
        let len = b.len();
        let hdr = EFI_TIME_SIZE + WIN_CERTIFICATE_UEFI_GUID_HEADER;
        if len < hdr {
            return Err(AuthError::Truncated {
                offset: 0,
                what: "EFI_VARIABLE_AUTHENTICATION_2 header",
                len,
            });
        }
        let mut t = [0u8; EFI_TIME_SIZE];
        t.copy_from_slice(&b[..EFI_TIME_SIZE]);
        let timestamp = EfiTime::from_bytes(&t)?;
        let w = &b[EFI_TIME_SIZE..hdr];
        let dw_length = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize;
        let cert_type = u16::from_le_bytes([w[6], w[7]]);
        if cert_type != WIN_CERT_TYPE_EFI_GUID || w[8..24] != efi::EFI_CERT_TYPE_PKCS7_GUID.0 {
            return Err(AuthError::NotPkcs7 {
                offset: EFI_TIME_SIZE,
            });
        }
        let end = dw_length
            .checked_add(EFI_TIME_SIZE)
            .filter(|&e| e >= hdr && e <= len)
            .ok_or(AuthError::Truncated {
                offset: EFI_TIME_SIZE,
                what: "WIN_CERTIFICATE_UEFI_GUID (dwLength)",
                len,
            })?;
        Ok(AuthenticatedUpdate {
            timestamp,
            pkcs7: &b[hdr..end],
            data: &b[end..],
        })
    }

    /// Verifies the signature as edk2 does for an update of `name`/`vendor` with `attributes`,
    /// trusting `cert` (PK for PK/KEK, a KEK entry for db/dbx): SHA-256 at the fixed offset,
    /// the signer named by issuer+serial, signed or chained to `cert`.
    pub fn verify(
        &self,
        name: &str,
        vendor: &Guid,
        attributes: u32,
        cert: &X509,
    ) -> Result<(), AuthError> {
        let sha256 = super::crypto::ID_SHA256;
        if self.pkcs7.len() < 13 + 9
            || self.pkcs7[1] != 0x82
            || &self.pkcs7[13..22] != sha256.as_bytes()
        {
            return Err(AuthError::NotSha256);
        }
        let msg = SignedMessage::parse(&wrap_content_info(self.pkcs7))?;
        let payload = signed_payload(name, vendor, attributes, &self.timestamp, self.data);
        // OpenSSL's PKCS7_verify finds the signer only among the embedded certificates.
        let signer = msg.signer_cert()?;
        let leaf = &msg.certificates[signer];
        msg.verify_signer(&payload, leaf)?;
        if !msg.chains_to(signer, cert) {
            return Err(Pkcs7Error::SignerNotEmbedded {
                issuer: cert.issuer(),
                serial: super::pkcs7::hex(cert.cert.tbs_certificate.serial_number.as_bytes()),
            }
            .into());
        }
        Ok(())
    }
}

/// Parses the X.509 certificates of a signature list (for `verify`'s trust anchors).
pub fn certificates_in(lists: &[super::esl::SignatureList]) -> Vec<X509> {
    lists
        .iter()
        .filter(|l| l.signature_type == efi::EFI_CERT_X509_GUID)
        .flat_map(|l| &l.signatures)
        .filter_map(|s| X509::from_der(&s.data).ok())
        .collect()
}

/// Parses the bare SignedData of a `.auth` (for inspection).
pub fn parse_signed_data(pkcs7: &[u8]) -> Result<SignedData, AuthError> {
    SignedData::from_der(pkcs7).map_err(der_err("SignedData"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::certgen::{self, CertParams, CertUsage, KeyAlgorithm};
    use crate::secureboot::esl::SignatureList;

    fn signer(cn: &str) -> Signer {
        certgen::generate(
            KeyAlgorithm::EcdsaP256,
            &CertParams {
                common_name: cn.into(),
                days: 30,
                not_before: SystemTime::now(),
                usage: CertUsage::KeyExchange,
            },
        )
        .unwrap()
    }

    #[test]
    fn auth_layout_matches_edk2_and_verifies() {
        let pk = signer("PK");
        let other = signer("other");
        let esl = SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            efi::EFI_GLOBAL_VARIABLE,
            pk.cert.der.clone(),
        )
        .to_bytes()
        .unwrap();
        let ts = EfiTime {
            year: 2026,
            month: 11,
            day: 28,
            hour: 19,
            minute: 1,
            second: 2,
        };
        let g = efi::EFI_GLOBAL_VARIABLE;
        let a = create_auth("PK", &g, 0x27, &ts, &esl, &pk).unwrap();
        // EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID; the SignedData starts at 40.
        assert_eq!(&a[..16], &ts.to_bytes());
        assert_eq!(&a[20..24], &[0x00, 0x02, 0xf1, 0x0e]);
        assert_eq!(a[40], 0x30);
        assert_eq!(&a[53..62], crate::secureboot::crypto::ID_SHA256.as_bytes());
        let u = AuthenticatedUpdate::parse(&a).unwrap();
        assert_eq!(u.timestamp, ts);
        assert_eq!(u.data, &esl[..]);
        u.verify("PK", &g, 0x27, &pk.cert).unwrap();
        // Wrong name, attributes, anchor, or tampered data all fail.
        assert!(u.verify("KEK", &g, 0x27, &pk.cert).is_err());
        assert!(u.verify("PK", &g, 0x67, &pk.cert).is_err());
        assert!(u.verify("PK", &g, 0x27, &other.cert).is_err());
        let mut bad = a.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(
            AuthenticatedUpdate::parse(&bad)
                .unwrap()
                .verify("PK", &g, 0x27, &pk.cert)
                .is_err()
        );
    }

    #[test]
    fn time_strings_parse() {
        let t: EfiTime = "2026-11-28 19:01:02".parse().unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 28, 19, 1, 2)
        );
        assert_eq!("2026-11-28T19:01:02Z".parse::<EfiTime>().unwrap(), t);
        assert_eq!("2026-11-28".parse::<EfiTime>().unwrap().hour, 0);
        for bad in [
            "",
            "2026-13-01",
            "2026-257-01",
            "2026-02-30 00:00:00",
            "yesterday",
            "2026-01-01 25:00:00",
        ] {
            assert!(bad.parse::<EfiTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(matches!(
            AuthenticatedUpdate::parse(&[0; 10]),
            Err(AuthError::Truncated { offset: 0, .. })
        ));
        let mut b = vec![0u8; 40];
        assert!(matches!(
            AuthenticatedUpdate::parse(&b),
            Err(AuthError::NotPkcs7 { offset: 16 })
        ));
        b[22..24].copy_from_slice(&WIN_CERT_TYPE_EFI_GUID.to_le_bytes());
        b[24..40].copy_from_slice(&efi::EFI_CERT_TYPE_PKCS7_GUID.0);
        b[16..20].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            AuthenticatedUpdate::parse(&b),
            Err(AuthError::Truncated { offset: 16, .. })
        ));
        b[9] = 1;
        assert!(matches!(
            AuthenticatedUpdate::parse(&b),
            Err(AuthError::TimeNotCanonical)
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_auth_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            if let Ok(u) = AuthenticatedUpdate::parse(&data) {
                let _ = parse_signed_data(u.pkcs7);
            }
        }
    }
}
