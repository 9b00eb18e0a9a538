//! PE/COFF Authenticode digest and attribute certificate table (Microsoft PE/COFF specification,
//! "Calculating the PE Image Hash" and "The Attribute Certificate Table"; edk2
//! DxeImageVerificationLib.c `HashPeImage`, `DxeImageVerificationHandler`).

use super::le::{rd16, rd32};
use aws_lc_rs::digest;

/// Largest image we hash (the cloud kernel is 14 MB).
pub const MAX_IMAGE_SIZE: usize = 512 << 20;
/// `WIN_CERTIFICATE` header: dwLength u32, wRevision u16, wCertificateType u16.
const WIN_CERTIFICATE_HEADER: usize = 8;
/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
pub const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 0x0002;
/// `WIN_CERT_TYPE_EFI_PKCS115`.
pub const WIN_CERT_TYPE_EFI_PKCS115: u16 = 0x0ef0;
/// `WIN_CERT_TYPE_EFI_GUID`.
pub const WIN_CERT_TYPE_EFI_GUID: u16 = 0x0ef1;

/// Why a PE image could not be hashed or its certificate table walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeError {
    /// Bigger than [`MAX_IMAGE_SIZE`].
    #[error("image of {0} bytes exceeds the {MAX_IMAGE_SIZE}-byte cap")]
    TooLarge(usize),
    /// No "MZ" at offset 0.
    #[error("offset 0: no DOS header (\"MZ\")")]
    NoDosHeader,
    /// A field lies beyond the end of the file.
    #[error("offset {offset}: {what} truncated (file is {len} bytes)")]
    Truncated {
        /// Where the structure starts.
        offset: u64,
        /// Which structure.
        what: &'static str,
        /// File length.
        len: usize,
    },
    /// No "PE\0\0" at e_lfanew.
    #[error("offset {0}: no PE signature")]
    NoPeSignature(u64),
    /// Optional header magic is neither PE32 nor PE32+.
    #[error(
        "offset {offset}: optional header magic 0x{magic:04x} is neither PE32 (0x10b) nor PE32+ (0x20b)"
    )]
    BadMagic {
        /// Offset of the optional header.
        offset: u64,
        /// Found value.
        magic: u16,
    },
    /// SizeOfHeaders does not cover the headers or exceeds the file.
    #[error(
        "offset {offset}: SizeOfHeaders {size} invalid (headers end at {needed}, file is {len} bytes)"
    )]
    BadSizeOfHeaders {
        /// Offset of the field.
        offset: u64,
        /// Declared value.
        size: u32,
        /// End of the section table.
        needed: u64,
        /// File length.
        len: usize,
    },
    /// A section's raw data lies outside the file.
    #[error(
        "offset {offset}: section {index} raw data [{start}, {end}) outside the file ({len} bytes)"
    )]
    SectionOutOfFile {
        /// Offset of its section header.
        offset: u64,
        /// Section index.
        index: usize,
        /// PointerToRawData.
        start: u64,
        /// PointerToRawData + SizeOfRawData.
        end: u64,
        /// File length.
        len: usize,
    },
    /// The certificate table does not fit after the hashed data (edk2: FileSize < SUM + CertSize).
    #[error(
        "offset {offset}: certificate table [{start}, +{size}) overlaps hashed data ending at {hashed} or runs past the file ({len} bytes)"
    )]
    BadCertificateTable {
        /// Offset of the data directory entry.
        offset: u64,
        /// VirtualAddress (a file offset).
        start: u64,
        /// Size.
        size: u64,
        /// End of headers and sections.
        hashed: u64,
        /// File length.
        len: usize,
    },
    /// A `WIN_CERTIFICATE` is malformed.
    #[error("offset {offset}: WIN_CERTIFICATE {why}")]
    BadWinCertificate {
        /// Offset of the entry.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// The walk did not end exactly at the end of the table (edk2 rejects the image).
    #[error("offset {offset}: certificate table walk ends at {offset}, table ends at {end}")]
    WalkMismatch {
        /// Where the walk stopped.
        offset: u64,
        /// VirtualAddress + Size.
        end: u64,
    },
}

/// Digest algorithms Authenticode and the signature lists use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// SHA-1 (legacy dbx entries only).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The aws-lc-rs algorithm.
    pub fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        self.algorithm().output_len()
    }

    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.algorithm(), data).as_ref().to_vec()
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }
}

/// One entry of the attribute certificate table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WinCertificate<'a> {
    /// File offset of the `WIN_CERTIFICATE` header.
    pub offset: u64,
    /// `wRevision`.
    pub revision: u16,
    /// `wCertificateType`.
    pub certificate_type: u16,
    /// `bCertificate` (dwLength − 8 bytes; may carry padding after the DER).
    pub certificate: &'a [u8],
}

/// The parts of a PE image that Authenticode needs; all offsets checked against the file.
#[derive(Debug, Clone)]
pub struct PeImage<'a> {
    data: &'a [u8],
    /// True for PE32+.
    pub pe32_plus: bool,
    checksum_off: usize,
    /// Offset of DataDirectory[4], if NumberOfRvaAndSizes > 4.
    cert_dir_off: Option<usize>,
    size_of_headers: usize,
    /// Raw section ranges sorted by PointerToRawData, with their names.
    sections: Vec<Section>,
    /// Certificate table (file offset, size), if present.
    cert_table: Option<(usize, usize)>,
    /// End of headers + sections (edk2's SUM).
    sum: usize,
}

/// A section header's name and raw range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name (up to 8 bytes, NULs trimmed).
    pub name: Vec<u8>,
    /// PointerToRawData.
    pub start: usize,
    /// SizeOfRawData.
    pub size: usize,
}

/// A section name; "/N" names (longer than 8 bytes, e.g. shim's `.vendor_cert`) live at offset N
/// of the COFF string table after the symbol table (PE/COFF spec, "Section Table").
fn section_name(data: &[u8], pe: usize, raw: &[u8]) -> Vec<u8> {
    let short: Vec<u8> = raw.iter().copied().take_while(|&b| b != 0).collect();
    let long = || {
        let n: usize = std::str::from_utf8(short.strip_prefix(b"/")?)
            .ok()?
            .parse()
            .ok()?;
        let symtab = rd32(data, pe + 12) as usize;
        let nsyms = rd32(data, pe + 16) as usize;
        let start = symtab.checked_add(nsyms.checked_mul(18)?)?.checked_add(n)?;
        let tail = data.get(start..)?;
        let end = tail.iter().take(256).position(|&b| b == 0)?;
        Some(tail[..end].to_vec())
    };
    long().unwrap_or(short)
}

impl<'a> PeImage<'a> {
    /// Parses the headers, section table and certificate directory of `data`.
    pub fn parse(data: &'a [u8]) -> Result<Self, PeError> {
        let len = data.len();
        if len > MAX_IMAGE_SIZE {
            return Err(PeError::TooLarge(len));
        }
        let need = |offset: usize, n: usize, what| {
            if offset.checked_add(n).is_some_and(|e| e <= len) {
                Ok(())
            } else {
                Err(PeError::Truncated {
                    offset: offset as u64,
                    what,
                    len,
                })
            }
        };
        need(0, 0x40, "DOS header")?;
        if &data[..2] != b"MZ" {
            return Err(PeError::NoDosHeader);
        }
        let pe = rd32(data, 0x3c) as usize;
        need(pe, 24, "PE/COFF header")?;
        if &data[pe..pe + 4] != b"PE\0\0" {
            return Err(PeError::NoPeSignature(pe as u64));
        }
        let machine = rd16(data, pe + 4);
        let nsections = usize::from(rd16(data, pe + 6));
        let size_of_opt = usize::from(rd16(data, pe + 20));
        let opt = pe + 24;
        need(opt, 2, "optional header")?;
        let magic = rd16(data, opt);
        // edk2: an IA64 image with the PE32 magic is treated as PE32+.
        let pe32_plus = match magic {
            0x20b => true,
            0x10b => machine == 0x200,
            _ => {
                return Err(PeError::BadMagic {
                    offset: opt as u64,
                    magic,
                });
            }
        };
        let (nrva_off, dd_off) = if pe32_plus {
            (opt + 108, opt + 112)
        } else {
            (opt + 92, opt + 96)
        };
        need(opt, nrva_off + 4 - opt, "optional header")?;
        let checksum_off = opt + 64;
        let size_of_headers = rd32(data, opt + 60);
        let nrva = rd32(data, nrva_off) as usize;
        let cert_dir_off = if nrva > 4 {
            let off = dd_off + 4 * 8;
            need(off, 8, "certificate data directory")?;
            Some(off)
        } else {
            None
        };
        let sec_table = opt + size_of_opt;
        let sec_end = (sec_table as u64) + 40 * nsections as u64;
        if sec_end > len as u64 {
            return Err(PeError::Truncated {
                offset: sec_table as u64,
                what: "section table",
                len,
            });
        }
        let header_floor = cert_dir_off.map_or(nrva_off + 4, |o| o + 8);
        if (size_of_headers as usize) < header_floor || size_of_headers as usize > len {
            return Err(PeError::BadSizeOfHeaders {
                offset: (opt + 60) as u64,
                size: size_of_headers,
                needed: header_floor as u64,
                len,
            });
        }
        let mut sections = Vec::with_capacity(nsections);
        for index in 0..nsections {
            let h = sec_table + 40 * index;
            let size = rd32(data, h + 16) as u64;
            let start = rd32(data, h + 20) as u64;
            if size == 0 {
                continue;
            }
            if start + size > len as u64 {
                return Err(PeError::SectionOutOfFile {
                    offset: h as u64,
                    index,
                    start,
                    end: start + size,
                    len,
                });
            }
            let name = section_name(data, pe, &data[h..h + 8]);
            sections.push(Section {
                name,
                start: start as usize,
                size: size as usize,
            });
        }
        sections.sort_by_key(|s| s.start);
        let sum = size_of_headers as usize + sections.iter().map(|s| s.size).sum::<usize>();
        let cert_table = match cert_dir_off {
            Some(off) => {
                let (va, size) = (rd32(data, off) as u64, rd32(data, off + 4) as u64);
                if size == 0 {
                    None
                } else {
                    // edk2 excludes only CertSize bytes at the end; the table must lie there.
                    if va + size > len as u64 || (sum as u64) + size > len as u64 {
                        return Err(PeError::BadCertificateTable {
                            offset: off as u64,
                            start: va,
                            size,
                            hashed: sum as u64,
                            len,
                        });
                    }
                    Some((va as usize, size as usize))
                }
            }
            None => None,
        };
        Ok(PeImage {
            data,
            pe32_plus,
            checksum_off,
            cert_dir_off,
            size_of_headers: size_of_headers as usize,
            sections,
            cert_table,
            sum,
        })
    }

    /// The file bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Sections with raw data, sorted by file offset.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Raw bytes of the first section called `name` (e.g. `.sbat`).
    pub fn section(&self, name: &str) -> Option<&'a [u8]> {
        self.sections
            .iter()
            .find(|s| s.name == name.as_bytes())
            .map(|s| &self.data[s.start..s.start + s.size])
    }

    /// File offset of the optional header's CheckSum field.
    pub fn checksum_offset(&self) -> usize {
        self.checksum_off
    }

    /// File offset of DataDirectory[4] (the Security entry), if the header has one.
    pub fn certificate_directory_offset(&self) -> Option<usize> {
        self.cert_dir_off
    }

    /// The certificate table as (file offset, size), if non-empty.
    pub fn certificate_table(&self) -> Option<(usize, usize)> {
        self.cert_table
    }

    /// End of the headers and section data (edk2's SUM); bytes past it and before the
    /// certificate table are hashed as trailing data.
    pub fn hashed_end(&self) -> usize {
        self.sum
    }

    /// True when the image has a non-empty certificate table.
    pub fn is_signed(&self) -> bool {
        self.cert_table.is_some()
    }

    /// The byte ranges Authenticode hashes, in order (edk2 `HashPeImage`).
    pub fn hashed_ranges(&self) -> Vec<(usize, usize)> {
        let mut r = Vec::with_capacity(self.sections.len() + 4);
        r.push((0, self.checksum_off));
        match self.cert_dir_off {
            Some(c) => {
                r.push((self.checksum_off + 4, c));
                r.push((c + 8, self.size_of_headers));
            }
            None => r.push((self.checksum_off + 4, self.size_of_headers)),
        }
        for s in &self.sections {
            r.push((s.start, s.start + s.size));
        }
        let cert_size = self.cert_table.map_or(0, |(_, s)| s);
        let end = self.data.len() - cert_size;
        if self.sum < end {
            r.push((self.sum, end));
        }
        r
    }

    /// The Authenticode digest with `alg`.
    pub fn authenticode_digest(&self, alg: HashAlg) -> Vec<u8> {
        let mut ctx = digest::Context::new(alg.algorithm());
        for (a, b) in self.hashed_ranges() {
            // Ranges may be inverted in hostile headers (e.g. the checksum past SizeOfHeaders);
            // edk2 would read garbage, we hash nothing for them.
            if let Some(s) = self.data.get(a..b) {
                ctx.update(s);
            }
        }
        ctx.finish().as_ref().to_vec()
    }

    /// Walks the attribute certificate table with edk2's rule: 8-byte aligned entries that must
    /// end exactly at VirtualAddress + Size.
    pub fn certificates(&self) -> Result<Vec<WinCertificate<'a>>, PeError> {
        let Some((va, size)) = self.cert_table else {
            return Ok(Vec::new());
        };
        let end = va + size;
        let mut off = va;
        let mut out = Vec::new();
        while off < end {
            let bad = |why| PeError::BadWinCertificate {
                offset: off as u64,
                why,
            };
            if end - off < WIN_CERTIFICATE_HEADER {
                return Err(bad("header truncated"));
            }
            let h = &self.data[off..off + WIN_CERTIFICATE_HEADER];
            let dw_length = rd32(h, 0) as usize;
            if dw_length <= WIN_CERTIFICATE_HEADER {
                return Err(bad("dwLength does not exceed its 8-byte header"));
            }
            if dw_length > end - off {
                return Err(bad("dwLength runs past the certificate table"));
            }
            out.push(WinCertificate {
                offset: off as u64,
                revision: rd16(h, 4),
                certificate_type: rd16(h, 6),
                certificate: &self.data[off + WIN_CERTIFICATE_HEADER..off + dw_length],
            });
            off += (dw_length + 7) & !7;
        }
        if off != end {
            return Err(PeError::WalkMismatch {
                offset: off as u64,
                end: end as u64,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small PE32+ with one section ("text", raw at 0x200, 0x100 bytes), optional trailing
    /// data, and an optional certificate table of the given entries (each padded to 8).
    pub(crate) fn tiny_pe(trailing: usize, certs: &[Vec<u8>]) -> Vec<u8> {
        let mut pe = vec![0u8; 0x200];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        pe[0x40..0x44].copy_from_slice(b"PE\0\0");
        pe[0x44..0x46].copy_from_slice(&0x8664u16.to_le_bytes());
        pe[0x46..0x48].copy_from_slice(&1u16.to_le_bytes());
        pe[0x54..0x56].copy_from_slice(&240u16.to_le_bytes());
        let opt = 0x58;
        pe[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        pe[opt + 60..opt + 64].copy_from_slice(&0x200u32.to_le_bytes());
        pe[opt + 64..opt + 68].copy_from_slice(&0xdeadbeefu32.to_le_bytes());
        pe[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        let sec = opt + 240;
        pe[sec..sec + 5].copy_from_slice(b".text");
        pe[sec + 16..sec + 20].copy_from_slice(&0x100u32.to_le_bytes());
        pe[sec + 20..sec + 24].copy_from_slice(&0x200u32.to_le_bytes());
        pe.extend((0..0x100).map(|i| i as u8));
        pe.extend(std::iter::repeat_n(0xab, trailing));
        if !certs.is_empty() {
            let va = pe.len();
            for c in certs {
                let len = 8 + c.len();
                pe.extend_from_slice(&(len as u32).to_le_bytes());
                pe.extend_from_slice(&0x0200u16.to_le_bytes());
                pe.extend_from_slice(&WIN_CERT_TYPE_PKCS_SIGNED_DATA.to_le_bytes());
                pe.extend_from_slice(c);
                while !pe.len().is_multiple_of(8) {
                    pe.push(0);
                }
            }
            let dir = opt + 112 + 32;
            pe[dir..dir + 4].copy_from_slice(&(va as u32).to_le_bytes());
            let size = (pe.len() - va) as u32;
            pe[dir + 4..dir + 8].copy_from_slice(&size.to_le_bytes());
        }
        pe
    }

    #[test]
    fn digest_skips_checksum_and_cert_dir_and_table() {
        let plain = tiny_pe(0, &[]);
        let signed = tiny_pe(0, &[vec![1, 2, 3]]);
        let a = PeImage::parse(&plain).unwrap();
        let b = PeImage::parse(&signed).unwrap();
        assert_eq!(
            a.authenticode_digest(HashAlg::Sha256),
            b.authenticode_digest(HashAlg::Sha256)
        );
        let mut other = plain.clone();
        other[0x58 + 64] ^= 0xff; // CheckSum is excluded
        assert_eq!(
            PeImage::parse(&other)
                .unwrap()
                .authenticode_digest(HashAlg::Sha256),
            a.authenticode_digest(HashAlg::Sha256)
        );
        other[0x300 - 1] ^= 1; // section bytes are not
        assert_ne!(
            PeImage::parse(&other)
                .unwrap()
                .authenticode_digest(HashAlg::Sha256),
            a.authenticode_digest(HashAlg::Sha256)
        );
        assert_eq!(b.certificates().unwrap().len(), 1);
        assert_eq!(b.certificates().unwrap()[0].certificate, &[1, 2, 3]);
    }

    #[test]
    fn trailing_data_is_hashed() {
        let a = tiny_pe(0, &[]);
        let b = tiny_pe(6, &[]);
        let pa = PeImage::parse(&a).unwrap();
        let pb = PeImage::parse(&b).unwrap();
        assert_eq!(pb.hashed_ranges().last(), Some(&(0x300, 0x306)));
        assert_ne!(
            pa.authenticode_digest(HashAlg::Sha256),
            pb.authenticode_digest(HashAlg::Sha256)
        );
    }

    #[test]
    fn walk_rules() {
        let two = tiny_pe(0, &[vec![9; 5], vec![8; 16]]);
        let p = PeImage::parse(&two).unwrap();
        let c = p.certificates().unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].offset, 0x300 + 16);
        // Shrinking the table by 8 leaves the second entry running past it.
        let mut bad = two.clone();
        let dir = 0x58 + 112 + 32;
        let size = rd32(&bad, dir + 4) - 8;
        bad[dir + 4..dir + 8].copy_from_slice(&size.to_le_bytes());
        let e = PeImage::parse(&bad).unwrap().certificates().unwrap_err();
        assert_eq!(
            e,
            PeError::BadWinCertificate {
                offset: 0x310,
                why: "dwLength runs past the certificate table"
            }
        );
        // A zero dwLength.
        let mut bad = two.clone();
        bad[0x300..0x304].fill(0);
        assert!(matches!(
            PeImage::parse(&bad).unwrap().certificates(),
            Err(PeError::BadWinCertificate { offset: 0x300, .. })
        ));
        // A table whose size is not covered by whole aligned entries.
        let mut bad = tiny_pe(0, &[vec![9; 8]]);
        bad.extend_from_slice(&[0; 4]);
        let size = rd32(&bad, dir + 4) + 4;
        bad[dir + 4..dir + 8].copy_from_slice(&size.to_le_bytes());
        assert!(matches!(
            PeImage::parse(&bad).unwrap().certificates(),
            Err(PeError::BadWinCertificate {
                why: "header truncated",
                ..
            })
        ));
    }

    #[test]
    fn bad_headers_name_the_offset() {
        assert_eq!(
            PeImage::parse(&[]).unwrap_err(),
            PeError::Truncated {
                offset: 0,
                what: "DOS header",
                len: 0
            }
        );
        let mut b = tiny_pe(0, &[]);
        b[0] = b'X';
        assert_eq!(PeImage::parse(&b).unwrap_err(), PeError::NoDosHeader);
        let mut b = tiny_pe(0, &[]);
        b[0x3c..0x40].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(matches!(
            PeImage::parse(&b).unwrap_err(),
            PeError::Truncated {
                offset: 0xffff_fff0,
                what: "PE/COFF header",
                ..
            }
        ));
        let mut b = tiny_pe(0, &[]);
        b[0x58] = 0x33;
        assert!(matches!(
            PeImage::parse(&b).unwrap_err(),
            PeError::BadMagic { offset: 0x58, .. }
        ));
        let mut b = tiny_pe(0, &[]);
        b[0x58 + 240 + 16..0x58 + 240 + 20].copy_from_slice(&0x1000u32.to_le_bytes());
        let e = PeImage::parse(&b).unwrap_err();
        assert!(
            matches!(e, PeError::SectionOutOfFile { index: 0, .. }),
            "{e}"
        );
        let mut b = tiny_pe(0, &[]);
        b[0x58 + 60..0x58 + 64].copy_from_slice(&0x10_0000u32.to_le_bytes());
        assert!(matches!(
            PeImage::parse(&b).unwrap_err(),
            PeError::BadSizeOfHeaders { offset: 0x94, .. }
        ));
        // Certificate table larger than the file.
        let mut b = tiny_pe(0, &[vec![1; 8]]);
        let dir = 0x58 + 112 + 32;
        b[dir + 4..dir + 8].copy_from_slice(&0x10000u32.to_le_bytes());
        assert!(matches!(
            PeImage::parse(&b).unwrap_err(),
            PeError::BadCertificateTable { .. }
        ));
        // Truncated mid-section.
        let b = tiny_pe(0, &[]);
        assert!(matches!(
            PeImage::parse(&b[..0x250]).unwrap_err(),
            PeError::SectionOutOfFile { .. }
        ));
    }

    proptest::proptest! {
        #[test]
        fn mutated_images_never_panic(at in 0usize..0x340, v in proptest::num::u8::ANY, cut in 0usize..0x340) {
            let mut b = tiny_pe(0, &[vec![0x30, 0x03, 1, 2, 3]]);
            let n = b.len();
            b[at % n] = v;
            b.truncate(cut.max(1));
            if let Ok(p) = PeImage::parse(&b) {
                let _ = p.authenticode_digest(HashAlg::Sha256);
                let _ = p.certificates();
            }
        }
    }
}
