//! The Linux kernel image as a source of trust anchors: where a bzImage keeps its compressed
//! vmlinux (Documentation/arch/x86/boot.rst, setup header `payload_offset`/`payload_length`), and
//! the X.509 certificates built into vmlinux (`system_certificate_list`, which becomes
//! `.builtin_trusted_keys`; reference/boot-chain.md §8).
//!
//! Debian signs its modules with a key made fresh for every kernel build and destroyed after it,
//! so the only copy of the module-signing certificate is the one inside that build's vmlinux.

use super::le::rd32;
use super::pkcs7::X509;

/// Offset of the setup header's `setup_sects` byte.
const SETUP_SECTS: usize = 0x1f1;
/// Offset of `header` ("HdrS").
const HDRS: usize = 0x202;
/// Offset of `version` (u16); `payload_offset` exists from boot protocol 2.08.
const VERSION: usize = 0x206;
/// Offset of `payload_offset` (u32, from the start of the protected-mode code).
const PAYLOAD_OFFSET: usize = 0x248;
/// Offset of `payload_length` (u32).
const PAYLOAD_LENGTH: usize = 0x24c;

/// Why a bzImage's payload could not be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// Shorter than the setup header.
    #[error("offset {0}: image ends inside the x86 setup header (needs 0x250 bytes)")]
    Truncated(usize),
    /// No "HdrS" magic.
    #[error("offset 0x202: no \"HdrS\" setup header magic; not an x86 bzImage")]
    NoSetupHeader,
    /// Boot protocol too old to declare its payload.
    #[error("offset 0x206: boot protocol {major}.{minor:02} has no payload_offset (needs 2.08)")]
    OldProtocol {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// `payload_offset`/`payload_length` point outside the file.
    #[error("offset 0x248: payload at {offset}+{length} lies outside the {size}-byte image")]
    PayloadOutside {
        /// Absolute payload offset.
        offset: usize,
        /// Declared length.
        length: usize,
        /// Image size.
        size: usize,
    },
}

/// How the vmlinux inside a bzImage is compressed (by its magic; CONFIG_KERNEL_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip.
    Gzip,
    /// xz (with the BCJ x86 filter).
    Xz,
    /// LZ4 legacy frame.
    Lz4,
    /// zstd.
    Zstd,
    /// bzip2.
    Bzip2,
    /// LZMA alone.
    Lzma,
    /// LZO (lzop).
    Lzo,
    /// Not compressed or unknown magic.
    Unknown,
}

impl Compression {
    /// Recognises the compressor from the payload's first bytes.
    pub fn detect(payload: &[u8]) -> Self {
        const MAGICS: &[(&[u8], Compression)] = &[
            (b"\x1f\x8b", Compression::Gzip),
            (b"\xfd7zXZ\x00", Compression::Xz),
            (b"\x02\x21\x4c\x18", Compression::Lz4),
            (b"\x28\xb5\x2f\xfd", Compression::Zstd),
            (b"BZh", Compression::Bzip2),
            (b"\x5d\x00\x00", Compression::Lzma),
            (b"\x89LZO", Compression::Lzo),
        ];
        MAGICS
            .iter()
            .find(|(m, _)| payload.starts_with(m))
            .map_or(Compression::Unknown, |&(_, c)| c)
    }

    /// The command that decompresses this format from stdin to stdout (Debian tool names);
    /// xz payloads carry the uncompressed size after the stream, hence `--single-stream`.
    pub fn decompressor(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Compression::Gzip => &["gzip", "-dc"],
            Compression::Xz => &["xz", "-dc", "--single-stream"],
            Compression::Lz4 => &["lz4", "-dc"],
            Compression::Zstd => &["zstd", "-dc"],
            Compression::Bzip2 => &["bzip2", "-dc"],
            Compression::Lzma => &["xz", "--format=lzma", "-dc"],
            Compression::Lzo => &["lzop", "-dc"],
            Compression::Unknown => return None,
        })
    }
}

/// The compressed vmlinux inside a bzImage.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// Absolute offset in the image.
    pub offset: usize,
    /// The compressed bytes.
    pub bytes: &'a [u8],
    /// Detected compressor.
    pub compression: Compression,
}

/// Locates the compressed vmlinux of an x86 bzImage (signed or not).
pub fn bzimage_payload(image: &[u8]) -> Result<Payload<'_>, KernelError> {
    if image.len() < PAYLOAD_LENGTH + 4 {
        return Err(KernelError::Truncated(image.len()));
    }
    if &image[HDRS..HDRS + 4] != b"HdrS" {
        return Err(KernelError::NoSetupHeader);
    }
    let (minor, major) = (image[VERSION], image[VERSION + 1]);
    if (major, minor) < (2, 8) {
        return Err(KernelError::OldProtocol { major, minor });
    }
    // setup_sects == 0 means 4 (boot.rst); the protected-mode code follows the setup sectors.
    let sects = match image[SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let pm_start = (sects + 1) * 512;
    let offset = pm_start + rd32(image, PAYLOAD_OFFSET) as usize;
    let length = rd32(image, PAYLOAD_LENGTH) as usize;
    let bytes = offset
        .checked_add(length)
        .and_then(|end| image.get(offset..end))
        .ok_or(KernelError::PayloadOutside {
            offset,
            length,
            size: image.len(),
        })?;
    Ok(Payload {
        offset,
        bytes,
        compression: Compression::detect(bytes),
    })
}

/// Every X.509 certificate embedded in a decompressed vmlinux, in file order, with its offset.
///
/// There is no symbol table to find `system_certificate_list` by, so this scans for DER
/// `SEQUENCE { SEQUENCE { … } }` headers with two-byte lengths and keeps what parses completely
/// as a certificate. A match is only a candidate anchor: callers select by issuer and serial,
/// the way the kernel's keyring lookup does.
pub fn embedded_certificates(vmlinux: &[u8]) -> Vec<(usize, X509)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = find_cert_header(vmlinux, at) {
        let len = usize::from(u16::from_be_bytes([vmlinux[i + 2], vmlinux[i + 3]]));
        let end = i + 4 + len;
        if let Some(cert) = vmlinux.get(i..end).and_then(|der| X509::from_der(der).ok()) {
            found.push((i, cert));
            at = end;
        } else {
            at = i + 1;
        }
    }
    found
}

/// Next offset ≥ `from` holding `30 82 LL LL 30 82`.
fn find_cert_header(b: &[u8], from: usize) -> Option<usize> {
    let tail = b.get(from..)?;
    tail.windows(6)
        .position(|w| w[0] == 0x30 && w[1] == 0x82 && w[4] == 0x30 && w[5] == 0x82)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16, sects: u8, off: u32, len: u32, size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        b[SETUP_SECTS] = sects;
        b[HDRS..HDRS + 4].copy_from_slice(b"HdrS");
        b[VERSION..VERSION + 2].copy_from_slice(&version.to_le_bytes());
        b[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&off.to_le_bytes());
        b[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&len.to_le_bytes());
        b
    }

    #[test]
    fn payload_located_after_setup_sectors() {
        let mut img = header(0x020f, 1, 16, 6, 2048);
        img[1024 + 16..1024 + 22].copy_from_slice(b"\xfd7zXZ\x00");
        let p = bzimage_payload(&img).unwrap();
        assert_eq!((p.offset, p.bytes.len()), (1040, 6));
        assert_eq!(p.compression, Compression::Xz);
        // setup_sects 0 means 4.
        let img = header(0x020f, 0, 0, 3, 4096);
        assert_eq!(bzimage_payload(&img).unwrap().offset, 2560);
    }

    #[test]
    fn bad_images_are_named() {
        assert_eq!(
            bzimage_payload(&[0; 10]).unwrap_err(),
            KernelError::Truncated(10)
        );
        let mut img = header(0x020f, 1, 0, 1, 1024);
        img[HDRS] = b'X';
        assert_eq!(
            bzimage_payload(&img).unwrap_err(),
            KernelError::NoSetupHeader
        );
        assert_eq!(
            bzimage_payload(&header(0x0207, 1, 0, 1, 1024)).unwrap_err(),
            KernelError::OldProtocol { major: 2, minor: 7 }
        );
        let e = bzimage_payload(&header(0x020f, 1, u32::MAX, u32::MAX, 1024)).unwrap_err();
        assert!(matches!(e, KernelError::PayloadOutside { .. }), "{e}");
        assert!(e.to_string().contains("outside the 1024-byte image"), "{e}");
    }

    #[test]
    fn scan_skips_lookalikes_and_truncation() {
        // Headers that claim more bytes than exist, or do not parse, are skipped.
        let mut b = vec![0x30, 0x82, 0xff, 0xff, 0x30, 0x82, 0, 0];
        b.extend_from_slice(&[0x30, 0x82, 0x00, 0x04, 0x30, 0x82, 0x00, 0x00]);
        assert!(embedded_certificates(&b).is_empty());
        assert!(embedded_certificates(&[]).is_empty());
        assert_eq!(Compression::detect(b"plain"), Compression::Unknown);
        assert!(Compression::Unknown.decompressor().is_none());
    }
}
