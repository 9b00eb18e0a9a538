//! `EFI_SIGNATURE_LIST` / `EFI_SIGNATURE_DATA` (UEFI 2.10 §32.4.1 "Signature Database";
//! edk2 MdePkg/Include/Guid/ImageAuthentication.h). A variable is a concatenation of lists.

use super::efi::{self, Guid};
use super::le::rd32;

/// Size of the fixed `EFI_SIGNATURE_LIST` header: GUID + three u32.
pub const SIGNATURE_LIST_HEADER_SIZE: usize = 28;
/// Size of `EFI_SIGNATURE_DATA.SignatureOwner`.
pub const SIGNATURE_OWNER_SIZE: usize = 16;
/// Largest list we accept (OVMF's whole variable store is 528 KiB).
pub const MAX_LIST_SIZE: usize = 16 << 20;

/// Why a signature list could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EslError {
    /// Fewer bytes than the header needs.
    #[error("signature list at offset {offset}: truncated header ({available} of 28 bytes)")]
    TruncatedHeader {
        /// Offset of the list in the variable.
        offset: usize,
        /// Bytes left.
        available: usize,
    },
    /// `SignatureListSize` runs past the data or is too small for its own header.
    #[error(
        "signature list at offset {offset}: SignatureListSize {list_size} invalid ({available} bytes available, header needs {needed})"
    )]
    BadListSize {
        /// Offset of the list.
        offset: usize,
        /// Declared size.
        list_size: u32,
        /// Bytes left from `offset`.
        available: usize,
        /// Minimum for this header.
        needed: u64,
    },
    /// `SignatureSize` cannot hold an owner GUID plus data.
    #[error("signature list at offset {offset}: SignatureSize {sig_size} is not above 16")]
    BadSignatureSize {
        /// Offset of the list.
        offset: usize,
        /// Declared size.
        sig_size: u32,
    },
    /// The entries do not tile the list.
    #[error(
        "signature list at offset {offset}: {body} bytes of entries are not a multiple of SignatureSize {sig_size}"
    )]
    Ragged {
        /// Offset of the list.
        offset: usize,
        /// Bytes after the header.
        body: u64,
        /// Declared entry size.
        sig_size: u32,
    },
    /// A fixed-size type carries the wrong entry size.
    #[error(
        "signature list at offset {offset}: {kind} entries must be {expected} bytes, SignatureSize is {sig_size}"
    )]
    WrongSizeForType {
        /// Offset of the list.
        offset: usize,
        /// Type name.
        kind: &'static str,
        /// Size the type requires (owner included).
        expected: usize,
        /// Declared size.
        sig_size: u32,
    },
    /// Larger than [`MAX_LIST_SIZE`].
    #[error("signature list at offset {offset}: {size} bytes exceeds the {MAX_LIST_SIZE}-byte cap")]
    TooLarge {
        /// Offset of the list.
        offset: usize,
        /// Declared size.
        size: u64,
    },
    /// Building a list whose entries differ in size.
    #[error("cannot build a list: entry {index} has {len} data bytes, entry 0 has {first}")]
    MixedSizes {
        /// Entry index.
        index: usize,
        /// Its data length.
        len: usize,
        /// Entry 0's data length.
        first: usize,
    },
    /// The input is empty where a list is required.
    #[error("empty signature list")]
    Empty,
}

/// `EFI_SIGNATURE_DATA`: an owner and the payload (hash, certificate, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureData {
    /// `SignatureOwner`.
    pub owner: Guid,
    /// `SignatureData[]`.
    pub data: Vec<u8>,
}

/// `EFI_SIGNATURE_LIST`: entries of one type and one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureList {
    /// `SignatureType`.
    pub signature_type: Guid,
    /// `SignatureHeader[SignatureHeaderSize]` (empty in every list seen in the wild).
    pub signature_header: Vec<u8>,
    /// The entries.
    pub signatures: Vec<SignatureData>,
}

/// Entry data size (without owner) fixed by the type, if it is fixed.
fn fixed_data_size(t: &Guid) -> Option<(&'static str, usize)> {
    Some(match *t {
        efi::EFI_CERT_SHA1_GUID => ("EFI_CERT_SHA1", 20),
        efi::EFI_CERT_SHA224_GUID => ("EFI_CERT_SHA224", 28),
        efi::EFI_CERT_SHA256_GUID => ("EFI_CERT_SHA256", 32),
        efi::EFI_CERT_SHA384_GUID => ("EFI_CERT_SHA384", 48),
        efi::EFI_CERT_SHA512_GUID => ("EFI_CERT_SHA512", 64),
        efi::EFI_CERT_RSA2048_GUID => ("EFI_CERT_RSA2048", 256),
        efi::EFI_CERT_RSA2048_SHA256_GUID => ("EFI_CERT_RSA2048_SHA256", 256),
        efi::EFI_CERT_RSA2048_SHA1_GUID => ("EFI_CERT_RSA2048_SHA1", 256),
        // Hash + 16-byte EFI_TIME TimeOfRevocation.
        efi::EFI_CERT_X509_SHA256_GUID => ("EFI_CERT_X509_SHA256", 32 + 16),
        efi::EFI_CERT_X509_SHA384_GUID => ("EFI_CERT_X509_SHA384", 48 + 16),
        efi::EFI_CERT_X509_SHA512_GUID => ("EFI_CERT_X509_SHA512", 64 + 16),
        _ => return None,
    })
}

impl SignatureList {
    /// A list holding one entry.
    pub fn single(signature_type: Guid, owner: Guid, data: Vec<u8>) -> Self {
        SignatureList {
            signature_type,
            signature_header: Vec::new(),
            signatures: vec![SignatureData { owner, data }],
        }
    }

    /// Parses a whole variable: zero or more concatenated lists, no trailing bytes.
    pub fn parse_all(mut data: &[u8]) -> Result<Vec<SignatureList>, EslError> {
        let mut out = Vec::new();
        let mut offset = 0;
        while !data.is_empty() {
            let (list, used) = Self::parse_one(data, offset)?;
            out.push(list);
            data = &data[used..];
            offset += used;
        }
        Ok(out)
    }

    /// Parses the list at the start of `data` (`base` is its offset, for errors); returns it and
    /// the bytes it used.
    pub fn parse_one(data: &[u8], base: usize) -> Result<(SignatureList, usize), EslError> {
        let offset = base;
        if data.len() < SIGNATURE_LIST_HEADER_SIZE {
            return Err(EslError::TruncatedHeader {
                offset,
                available: data.len(),
            });
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&data[..16]);
        let signature_type = Guid(t);
        let list_size = rd32(data, 16);
        let header_size = rd32(data, 20);
        let sig_size = rd32(data, 24);
        if u64::from(list_size) > MAX_LIST_SIZE as u64 {
            return Err(EslError::TooLarge {
                offset,
                size: list_size.into(),
            });
        }
        let needed = SIGNATURE_LIST_HEADER_SIZE as u64 + u64::from(header_size);
        if u64::from(list_size) < needed || list_size as usize > data.len() {
            return Err(EslError::BadListSize {
                offset,
                list_size,
                available: data.len(),
                needed,
            });
        }
        if (sig_size as usize) <= SIGNATURE_OWNER_SIZE {
            return Err(EslError::BadSignatureSize { offset, sig_size });
        }
        if let Some((kind, n)) = fixed_data_size(&signature_type)
            && sig_size as usize != SIGNATURE_OWNER_SIZE + n
        {
            return Err(EslError::WrongSizeForType {
                offset,
                kind,
                expected: SIGNATURE_OWNER_SIZE + n,
                sig_size,
            });
        }
        let body = u64::from(list_size) - needed;
        if !body.is_multiple_of(u64::from(sig_size)) {
            return Err(EslError::Ragged {
                offset,
                body,
                sig_size,
            });
        }
        let hdr_end = needed as usize;
        let signature_header = data[SIGNATURE_LIST_HEADER_SIZE..hdr_end].to_vec();
        let signatures = data[hdr_end..list_size as usize]
            .chunks_exact(sig_size as usize)
            .map(|e| {
                let mut o = [0u8; 16];
                o.copy_from_slice(&e[..16]);
                SignatureData {
                    owner: Guid(o),
                    data: e[16..].to_vec(),
                }
            })
            .collect();
        Ok((
            SignatureList {
                signature_type,
                signature_header,
                signatures,
            },
            list_size as usize,
        ))
    }

    /// Encodes the list; every entry must have the same data length.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EslError> {
        let first = self.signatures.first().ok_or(EslError::Empty)?.data.len();
        if let Some((index, s)) = self
            .signatures
            .iter()
            .enumerate()
            .find(|(_, s)| s.data.len() != first)
        {
            return Err(EslError::MixedSizes {
                index,
                len: s.data.len(),
                first,
            });
        }
        let sig_size = SIGNATURE_OWNER_SIZE + first;
        let total = SIGNATURE_LIST_HEADER_SIZE
            + self.signature_header.len()
            + sig_size * self.signatures.len();
        if total > MAX_LIST_SIZE {
            return Err(EslError::TooLarge {
                offset: 0,
                size: total as u64,
            });
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&self.signature_type.0);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(self.signature_header.len() as u32).to_le_bytes());
        out.extend_from_slice(&(sig_size as u32).to_le_bytes());
        out.extend_from_slice(&self.signature_header);
        for s in &self.signatures {
            out.extend_from_slice(&s.owner.0);
            out.extend_from_slice(&s.data);
        }
        Ok(out)
    }

    /// Encodes several lists as one variable value.
    pub fn concat(lists: &[SignatureList]) -> Result<Vec<u8>, EslError> {
        let mut out = Vec::new();
        for l in lists {
            out.extend(l.to_bytes()?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_list() -> Vec<u8> {
        SignatureList::single(
            efi::EFI_CERT_SHA256_GUID,
            efi::MICROSOFT_OWNER_GUID,
            vec![7; 32],
        )
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn one_sha256_entry_is_76_bytes_and_round_trips() {
        let b = sha256_list();
        assert_eq!(b.len(), 76);
        let l = SignatureList::parse_all(&b).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].signatures[0].data, vec![7; 32]);
        assert_eq!(l[0].to_bytes().unwrap(), b);
    }

    #[test]
    fn empty_variable_is_no_lists() {
        assert!(SignatureList::parse_all(&[]).unwrap().is_empty());
    }

    #[test]
    fn truncated_header_names_offset() {
        let mut b = sha256_list();
        b.extend_from_slice(&[0; 10]);
        assert_eq!(
            SignatureList::parse_all(&b).unwrap_err(),
            EslError::TruncatedHeader {
                offset: 76,
                available: 10
            }
        );
    }

    #[test]
    fn oversized_list_size_is_rejected() {
        let mut b = sha256_list();
        b[16..20].copy_from_slice(&1000u32.to_le_bytes());
        let e = SignatureList::parse_all(&b).unwrap_err();
        assert!(
            matches!(
                e,
                EslError::BadListSize {
                    offset: 0,
                    list_size: 1000,
                    ..
                }
            ),
            "{e}"
        );
        b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            SignatureList::parse_all(&b).unwrap_err(),
            EslError::TooLarge { offset: 0, .. }
        ));
    }

    #[test]
    fn bogus_sizes_are_rejected() {
        let mut b = sha256_list();
        b[24..28].copy_from_slice(&16u32.to_le_bytes());
        assert!(matches!(
            SignatureList::parse_all(&b).unwrap_err(),
            EslError::BadSignatureSize { sig_size: 16, .. }
        ));
        let mut b = sha256_list();
        b[24..28].copy_from_slice(&40u32.to_le_bytes());
        let e = SignatureList::parse_all(&b).unwrap_err();
        assert!(
            matches!(e, EslError::WrongSizeForType { expected: 48, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("EFI_CERT_SHA256"));
        // Unknown type: entries must tile the body.
        let mut b = sha256_list();
        b[..16].fill(0xee);
        b[24..28].copy_from_slice(&40u32.to_le_bytes());
        assert!(matches!(
            SignatureList::parse_all(&b).unwrap_err(),
            EslError::Ragged {
                body: 48,
                sig_size: 40,
                ..
            }
        ));
        // HeaderSize larger than the list.
        let mut b = sha256_list();
        b[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            SignatureList::parse_all(&b).unwrap_err(),
            EslError::BadListSize { .. }
        ));
    }

    #[test]
    fn build_rejects_mixed_and_empty() {
        let mut l = SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            efi::MICROSOFT_OWNER_GUID,
            vec![1; 5],
        );
        assert_eq!(
            SignatureList {
                signatures: vec![],
                ..l.clone()
            }
            .to_bytes(),
            Err(EslError::Empty)
        );
        l.signatures.push(SignatureData {
            owner: efi::MICROSOFT_OWNER_GUID,
            data: vec![1; 6],
        });
        assert!(matches!(
            l.to_bytes(),
            Err(EslError::MixedSizes { index: 1, .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = SignatureList::parse_all(&data);
        }

        #[test]
        fn x509_lists_round_trip(n in 1usize..5, len in 1usize..64) {
            let l = SignatureList {
                signature_type: efi::EFI_CERT_X509_GUID,
                signature_header: vec![],
                signatures: (0..n).map(|i| SignatureData { owner: efi::SHIM_LOCK_GUID, data: vec![i as u8; len] }).collect(),
            };
            let b = l.to_bytes().unwrap();
            proptest::prop_assert_eq!(SignatureList::parse_all(&b).unwrap(), vec![l]);
        }
    }
}
