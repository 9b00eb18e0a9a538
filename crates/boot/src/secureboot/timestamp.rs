//! RFC 3161 timestamp countersignatures in Authenticode, and the dbt rule that uses them
//! (edk2 DxeImageVerificationLib `PassTimestampCheck`, BaseCryptLib `ImageTimestampVerify`;
//! reference/boot-chain.md §3).
//!
//! A dbx `EFI_CERT_X509_SHA*` entry carries a TimeOfRevocation. When it is not zero, an image
//! whose chain holds the revoked certificate is still trusted if its signature carries a
//! timestamp (unsigned attribute 1.3.6.1.4.1.311.3.3.1) that a dbt certificate validates and
//! whose genTime is not later than the revocation time: it was signed before the key went bad.

use super::auth::EfiTime;
use super::crypto;
use super::pkcs7::{Pkcs7Error, SignedMessage, X509};
use super::tlv::{self, Reader, TlvError};
use const_oid::ObjectIdentifier as Oid;

/// id-ct-TSTInfo: the eContentType of a timestamp token.
const ID_CT_TSTINFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Why a timestamp token does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The token is not a valid SignedData or its signer fails.
    #[error("timestamp token: {0}")]
    Pkcs7(#[from] Pkcs7Error),
    /// Malformed TSTInfo.
    #[error("TSTInfo: {0}")]
    Tlv(#[from] TlvError),
    /// The token's content is not a TSTInfo.
    #[error("timestamp token eContentType {0} is not id-ct-TSTInfo")]
    NotTstInfo(Oid),
    /// TSTInfo.version is not 1.
    #[error("TSTInfo version is not 1")]
    Version,
    /// The messageImprint is not the hash of the countersigned signature.
    #[error("TSTInfo messageImprint does not match the countersigned signature")]
    ImprintMismatch,
    /// genTime is not `YYYYMMDDHHMMSS[.f…]Z`.
    #[error("TSTInfo genTime {0:?} is not a UTC GeneralizedTime")]
    BadTime(String),
    /// The TSA chain does not reach the trusted certificate.
    #[error("the TSA certificate \"{0}\" does not chain to the trusted certificate")]
    Untrusted(String),
}

/// A validated timestamp: when, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// TSTInfo.genTime.
    pub time: EfiTime,
    /// Subject of the TSA's signing certificate.
    pub tsa: String,
}

/// Verifies an RFC 3161 TimeStampToken (a ContentInfo) countersigning `stamped` (the
/// Authenticode signer's signature value) against `anchor` as trusted TSA certificate, with
/// the same partial-chain, no-time-check rules as db verification.
pub fn verify_token(
    token: &[u8],
    anchor: &X509,
    stamped: &[u8],
) -> Result<Timestamp, TimestampError> {
    let m = SignedMessage::parse(token)?;
    if m.content_type != ID_CT_TSTINFO {
        return Err(TimestampError::NotTstInfo(m.content_type));
    }
    let econtent = m.content_tlv.as_deref().ok_or(Pkcs7Error::NoContent)?;
    let tst_info = Reader::new(econtent, 0).expect(0x04, "eContent OCTET STRING")?;
    let signer = m.signer_cert()?;
    m.verify_signer(tst_info.value, &m.certificates[signer])?;
    if !m.chains_to(signer, anchor) {
        return Err(TimestampError::Untrusted(m.certificates[signer].subject()));
    }
    let time = check_tst_info(tst_info.value, stamped)?;
    Ok(Timestamp {
        time,
        tsa: m.certificates[signer].subject(),
    })
}

/// Checks version and messageImprint; returns genTime.
fn check_tst_info(der: &[u8], stamped: &[u8]) -> Result<EfiTime, TimestampError> {
    let seq = Reader::new(der, 0).expect(tlv::SEQUENCE, "TSTInfo")?;
    let mut r = Reader::inside(&seq);
    if r.expect(0x02, "TSTInfo.version")?.value != [1] {
        return Err(TimestampError::Version);
    }
    r.expect(0x06, "TSTInfo.policy")?;
    let imprint = r.expect(tlv::SEQUENCE, "TSTInfo.messageImprint")?;
    let mut ir = Reader::inside(&imprint);
    let alg = ir.expect(tlv::SEQUENCE, "MessageImprint.hashAlgorithm")?;
    let oid = Reader::inside(&alg).expect(0x06, "MessageImprint.hashAlgorithm")?;
    let oid = Oid::from_bytes(oid.value).map_err(|_| TimestampError::ImprintMismatch)?;
    let alg = crypto::hash_from_oid(&oid).map_err(Pkcs7Error::Crypto)?;
    let hashed = ir.expect(0x04, "MessageImprint.hashedMessage")?;
    // Stricter than edk2's OpenSSL variant, which skipped the comparison on a length mismatch.
    if hashed.value != alg.digest(stamped).as_slice() {
        return Err(TimestampError::ImprintMismatch);
    }
    r.expect(0x02, "TSTInfo.serialNumber")?;
    let t = r.expect(0x18, "TSTInfo.genTime")?;
    parse_generalized_time(t.value)
}

/// `YYYYMMDDHHMMSS[.fraction]Z` (RFC 3161 §2.4.2 requires UTC); fractions are dropped.
fn parse_generalized_time(v: &[u8]) -> Result<EfiTime, TimestampError> {
    let bad = || TimestampError::BadTime(String::from_utf8_lossy(v).into_owned());
    let body = v.strip_suffix(b"Z").ok_or_else(bad)?;
    let (digits, frac) = match body.iter().position(|&c| c == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &b""[..]),
    };
    if digits.len() != 14
        || !digits.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
        || (body.len() != 14 && frac.is_empty())
    {
        return Err(bad());
    }
    let n = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
    let t = EfiTime {
        year: u16::from(n(0)) * 100 + u16::from(n(2)),
        month: n(4),
        day: n(6),
        hour: n(8),
        minute: n(10),
        second: n(12),
    };
    if !(1..=12).contains(&t.month)
        || !(1..=31).contains(&t.day)
        || t.hour > 23
        || t.minute > 59
        || t.second > 59
    {
        return Err(bad());
    }
    Ok(t)
}

/// edk2 `PassTimestampCheck`: true when `revoked_at` is not zero and the signature's timestamp
/// validates against some dbt certificate with a time not later than `revoked_at`.
pub fn waives_revocation(
    message: &SignedMessage,
    dbt: &[&X509],
    revoked_at: EfiTime,
) -> Option<Timestamp> {
    if revoked_at.is_zero() {
        return None;
    }
    let token = message.signer.timestamp_token.as_deref()?;
    dbt.iter()
        .filter_map(|anchor| verify_token(token, anchor, &message.signer.signature).ok())
        .find(|ts| ts.time <= revoked_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_time_forms() {
        let t = parse_generalized_time(b"20240131235959Z").unwrap();
        assert_eq!(t.to_string(), "2024-01-31T23:59:59Z");
        assert_eq!(parse_generalized_time(b"20240131235959.123Z").unwrap(), t);
        for bad in [
            &b"20240131235959"[..],
            b"2024013123595Z",
            b"20241331235959Z",
            b"20240131235959.Z",
            b"2024013123595xZ",
            b"",
        ] {
            assert!(parse_generalized_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn efi_time_and_order() {
        let mut b = [0u8; 16];
        assert!(EfiTime::date_fields(&b).unwrap().is_zero());
        b[..7].copy_from_slice(&[0xe8, 0x07, 6, 1, 12, 0, 0]);
        let rev = EfiTime::date_fields(&b).unwrap();
        assert_eq!(rev.to_string(), "2024-06-01T12:00:00Z");
        assert!(parse_generalized_time(b"20240601120000Z").unwrap() <= rev);
        assert!(parse_generalized_time(b"20240601120001Z").unwrap() > rev);
        assert!(EfiTime::date_fields(&b[..6]).is_none());
    }

    #[test]
    fn garbage_tokens_are_errors() {
        let anchor_free = SignedMessage::parse(&[0x30, 0x00]);
        assert!(anchor_free.is_err());
        assert!(check_tst_info(&[], b"x").is_err());
        assert!(check_tst_info(&[0x30, 0x03, 0x02, 0x01, 0x02], b"x").is_err());
    }
}
