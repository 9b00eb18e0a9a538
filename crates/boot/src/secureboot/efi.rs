//! `EFI_GUID` and the GUIDs Secure Boot names (UEFI 2.10 §32.4.1 "Signature Database";
//! edk2 MdePkg/Include/Guid/ImageAuthentication.h, GlobalVariable.h; shim's SHIM_LOCK).

use std::fmt;
use std::str::FromStr;

/// Why a GUID string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct GuidParseError(pub String);

/// `EFI_GUID` in its on-disk (`bytes_le`) layout: the first three fields little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds a GUID from its textual fields (`data1-data2-data3-data4`).
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Reads a GUID from 16 on-disk bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Guid(*b)
    }

    /// A random (version 4, RFC 4122 §4.4) GUID, for signature owners.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        // aws-lc-rs's system RNG does not fail on Linux; a zero GUID would still be valid.
        let _ = aws_lc_rs::rand::fill(&mut b);
        // data3 is little-endian on disk: its high byte (the version nibble) is b[7].
        b[7] = (b[7] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Guid(b)
    }

    /// A short name for a well-known GUID.
    pub fn name(&self) -> Option<&'static str> {
        KNOWN.iter().find(|(g, _)| g == self).map(|(_, n)| *n)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl FromStr for Guid {
    type Err = GuidParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || GuidParseError(s.to_owned());
        let t = s.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if parts.len() != 5
            || parts
                .iter()
                .zip(lens)
                .any(|(p, n)| p.len() != n || !p.bytes().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(err());
        }
        let d1 = u32::from_str_radix(parts[0], 16).map_err(|_| err())?;
        let d2 = u16::from_str_radix(parts[1], 16).map_err(|_| err())?;
        let d3 = u16::from_str_radix(parts[2], 16).map_err(|_| err())?;
        let tail = format!("{}{}", parts[3], parts[4]);
        let mut d4 = [0u8; 8];
        for (i, b) in d4.iter_mut().enumerate() {
            *b = u8::from_str_radix(&tail[2 * i..2 * i + 2], 16).map_err(|_| err())?;
        }
        Ok(Guid::from_fields(d1, d2, d3, d4))
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{self} ({n})"),
            None => write!(f, "{self}"),
        }
    }
}

/// `EFI_GLOBAL_VARIABLE`: PK, KEK, SecureBoot, SetupMode.
pub const EFI_GLOBAL_VARIABLE: Guid = Guid::from_fields(
    0x8be4df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// `EFI_IMAGE_SECURITY_DATABASE_GUID`: db, dbx, dbt, dbr.
pub const EFI_IMAGE_SECURITY_DATABASE_GUID: Guid = Guid::from_fields(
    0xd719b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
/// `SHIM_LOCK_GUID`: MokList, MokListX, SbatLevel.
pub const SHIM_LOCK_GUID: Guid = Guid::from_fields(
    0x605dab50,
    0xe046,
    0x4300,
    [0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
);
/// `gEfiAuthenticatedVariableGuid`: the signature of an authenticated variable store.
pub const EFI_AUTHENTICATED_VARIABLE_GUID: Guid = Guid::from_fields(
    0xaaf32c78,
    0x947b,
    0x439a,
    [0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92],
);
/// `EFI_CERT_SHA256_GUID`: a 32-byte Authenticode digest.
pub const EFI_CERT_SHA256_GUID: Guid = Guid::from_fields(
    0xc1c41626,
    0x504c,
    0x4092,
    [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);
/// `EFI_CERT_X509_GUID`: a DER certificate.
pub const EFI_CERT_X509_GUID: Guid = Guid::from_fields(
    0xa5c059a1,
    0x94e4,
    0x4aa7,
    [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);
/// `EFI_CERT_X509_SHA256_GUID`: TBS hash + `EFI_TIME` TimeOfRevocation.
pub const EFI_CERT_X509_SHA256_GUID: Guid = Guid::from_fields(
    0x3bd2a492,
    0x96c0,
    0x4079,
    [0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed],
);
/// `EFI_CERT_X509_SHA384_GUID`.
pub const EFI_CERT_X509_SHA384_GUID: Guid = Guid::from_fields(
    0x7076876e,
    0x80c2,
    0x4ee6,
    [0xaa, 0xd2, 0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b],
);
/// `EFI_CERT_X509_SHA512_GUID`.
pub const EFI_CERT_X509_SHA512_GUID: Guid = Guid::from_fields(
    0x446dbf63,
    0x2502,
    0x4cda,
    [0xbc, 0xfa, 0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d],
);
/// `EFI_CERT_SHA1_GUID`.
pub const EFI_CERT_SHA1_GUID: Guid = Guid::from_fields(
    0x826ca512,
    0xcf10,
    0x4ac9,
    [0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd],
);
/// `EFI_CERT_SHA224_GUID`.
pub const EFI_CERT_SHA224_GUID: Guid = Guid::from_fields(
    0x0b6e5233,
    0xa65c,
    0x44c9,
    [0x94, 0x07, 0xd9, 0xab, 0x83, 0xbf, 0xc8, 0xbd],
);
/// `EFI_CERT_SHA384_GUID`.
pub const EFI_CERT_SHA384_GUID: Guid = Guid::from_fields(
    0xff3e5307,
    0x9fd0,
    0x48c9,
    [0x85, 0xf1, 0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01],
);
/// `EFI_CERT_SHA512_GUID`.
pub const EFI_CERT_SHA512_GUID: Guid = Guid::from_fields(
    0x093e0fae,
    0xa6c4,
    0x4f50,
    [0x9f, 0x1b, 0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a],
);
/// `EFI_CERT_RSA2048_GUID`.
pub const EFI_CERT_RSA2048_GUID: Guid = Guid::from_fields(
    0x3c5766e8,
    0x269c,
    0x4e34,
    [0xaa, 0x14, 0xed, 0x77, 0x6e, 0x85, 0xb3, 0xb6],
);
/// `EFI_CERT_RSA2048_SHA256_GUID`.
pub const EFI_CERT_RSA2048_SHA256_GUID: Guid = Guid::from_fields(
    0xe2b36190,
    0x879b,
    0x4a3d,
    [0xad, 0x8d, 0xf2, 0xe7, 0xbb, 0xa3, 0x27, 0x84],
);
/// `EFI_CERT_RSA2048_SHA1_GUID`.
pub const EFI_CERT_RSA2048_SHA1_GUID: Guid = Guid::from_fields(
    0x67f8444f,
    0x8743,
    0x48f1,
    [0xa3, 0x28, 0x1e, 0xaa, 0xb8, 0x73, 0x60, 0x80],
);
/// `EFI_CERT_TYPE_PKCS7_GUID` (a `WIN_CERTIFICATE_UEFI_GUID` CertType).
pub const EFI_CERT_TYPE_PKCS7_GUID: Guid = Guid::from_fields(
    0x4aafd29d,
    0x68df,
    0x49ee,
    [0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7],
);
/// `gEfiSecureBootEnableDisableGuid`: OVMF's `SecureBootEnable` switch.
pub const EFI_SECURE_BOOT_ENABLE_DISABLE_GUID: Guid = Guid::from_fields(
    0xf0a30bc7,
    0xaf08,
    0x4556,
    [0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44],
);
/// `gEfiCustomModeEnableGuid`: `CustomMode` (0 = standard Secure Boot mode).
pub const EFI_CUSTOM_MODE_ENABLE_GUID: Guid = Guid::from_fields(
    0xc076ec0c,
    0x7028,
    0x4399,
    [0xa0, 0x72, 0x71, 0xee, 0x5c, 0x44, 0x8b, 0x9f],
);
/// `gEfiVendorKeysNvGuid`: `VendorKeysNv` (0 once the platform owner replaced the vendor keys).
pub const EFI_VENDOR_KEYS_NV_GUID: Guid = Guid::from_fields(
    0x9073e4e0,
    0x60ec,
    0x4b6e,
    [0x99, 0x03, 0x4c, 0x22, 0x3c, 0x26, 0x0f, 0x3c],
);
/// Microsoft's signature owner.
pub const MICROSOFT_OWNER_GUID: Guid = Guid::from_fields(
    0x77fa9abd,
    0x0359,
    0x4d32,
    [0xbd, 0x60, 0x28, 0xf4, 0xe7, 0x8f, 0x78, 0x4b],
);

const KNOWN: &[(Guid, &str)] = &[
    (EFI_GLOBAL_VARIABLE, "EFI_GLOBAL_VARIABLE"),
    (
        EFI_IMAGE_SECURITY_DATABASE_GUID,
        "EFI_IMAGE_SECURITY_DATABASE",
    ),
    (SHIM_LOCK_GUID, "SHIM_LOCK"),
    (EFI_CERT_SHA256_GUID, "EFI_CERT_SHA256"),
    (EFI_CERT_X509_GUID, "EFI_CERT_X509"),
    (EFI_CERT_X509_SHA256_GUID, "EFI_CERT_X509_SHA256"),
    (EFI_CERT_X509_SHA384_GUID, "EFI_CERT_X509_SHA384"),
    (EFI_CERT_X509_SHA512_GUID, "EFI_CERT_X509_SHA512"),
    (EFI_CERT_SHA1_GUID, "EFI_CERT_SHA1"),
    (EFI_CERT_SHA224_GUID, "EFI_CERT_SHA224"),
    (EFI_CERT_SHA384_GUID, "EFI_CERT_SHA384"),
    (EFI_CERT_SHA512_GUID, "EFI_CERT_SHA512"),
    (EFI_CERT_RSA2048_GUID, "EFI_CERT_RSA2048"),
    (EFI_CERT_RSA2048_SHA256_GUID, "EFI_CERT_RSA2048_SHA256"),
    (EFI_CERT_RSA2048_SHA1_GUID, "EFI_CERT_RSA2048_SHA1"),
    (EFI_CERT_TYPE_PKCS7_GUID, "EFI_CERT_TYPE_PKCS7"),
    (MICROSOFT_OWNER_GUID, "Microsoft"),
    (
        EFI_SECURE_BOOT_ENABLE_DISABLE_GUID,
        "EFI_SECURE_BOOT_ENABLE_DISABLE",
    ),
    (EFI_CUSTOM_MODE_ENABLE_GUID, "EFI_CUSTOM_MODE_ENABLE"),
    (EFI_VENDOR_KEYS_NV_GUID, "EFI_VENDOR_KEYS_NV"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_disk_layout_is_bytes_le() {
        // The X509 type as it appears in OVMF_VARS (a1 59 c0 a5 ...).
        assert_eq!(
            &EFI_CERT_X509_GUID.0[..8],
            &[0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a]
        );
        assert_eq!(
            EFI_CERT_X509_GUID.to_string(),
            "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
        );
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let g: Guid = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072".parse().unwrap();
        assert_eq!(g, EFI_CERT_X509_GUID);
        for bad in [
            "",
            "a5c059a1-94e4-4aa7-87b5-ab155c2bf07",
            "a5c059a1x94e4-4aa7-87b5-ab155c2bf072",
            "g5c059a1-94e4-4aa7-87b5-ab155c2bf072",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad}");
        }
        let r = Guid::random();
        assert_eq!(r.to_string().parse::<Guid>().unwrap(), r);
        assert_eq!(r.to_string().as_bytes()[14], b'4');
    }
}
