//! Minimal PE/COFF edits for negative tests (Microsoft PE/COFF specification, "Optional Header
//! Data Directories" and "The Attribute Certificate Table").

/// Why a PE image could not be edited.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeError {
    /// The bytes are not a PE32+ image.
    #[error("not a PE32+ image: {0}")]
    NotPe(&'static str),
    /// The image carries no attribute certificate table.
    #[error("image has no attribute certificate table")]
    Unsigned,
}

/// `IMAGE_DIRECTORY_ENTRY_SECURITY`: data directory 4 is the certificate table.
const SECURITY_DIRECTORY: usize = 4;

fn le32(b: &[u8], at: usize) -> Result<u32, PeError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(PeError::NotPe("truncated header"))
}

/// Returns `pe` without its Authenticode signature, as `sbattach --remove` does: the certificate
/// table directory entry is zeroed and the table (at the end of the file) cut off.
pub fn strip_signature(pe: &[u8]) -> Result<Vec<u8>, PeError> {
    if pe.get(..2) != Some(b"MZ") {
        return Err(PeError::NotPe("no MZ header"));
    }
    let nt = usize::try_from(le32(pe, 0x3c)?).map_err(|_| PeError::NotPe("e_lfanew"))?;
    if pe.get(nt..nt + 4) != Some(b"PE\0\0") {
        return Err(PeError::NotPe("no PE signature"));
    }
    // Optional header follows the 4-byte signature and the 20-byte COFF header.
    let opt = nt + 24;
    if pe.get(opt..opt + 2) != Some(&[0x0b, 0x02]) {
        return Err(PeError::NotPe("optional header is not PE32+"));
    }
    // PE32+: data directories start at offset 112 of the optional header, 8 bytes each.
    let dir = opt + 112 + SECURITY_DIRECTORY * 8;
    let (offset, size) = (le32(pe, dir)?, le32(pe, dir + 4)?);
    if offset == 0 || size == 0 {
        return Err(PeError::Unsigned);
    }
    let offset = usize::try_from(offset).map_err(|_| PeError::NotPe("certificate table offset"))?;
    if offset > pe.len() {
        return Err(PeError::NotPe("certificate table beyond end of file"));
    }
    let mut out = pe[..offset].to_vec();
    out[dir..dir + 8].fill(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_pe(cert: Option<(u32, u32)>) -> Vec<u8> {
        let mut pe = vec![0u8; 0x400];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        pe[0x98..0x9a].copy_from_slice(&[0x0b, 0x02]);
        if let Some((o, s)) = cert {
            let dir = 0x98 + 112 + 32;
            pe[dir..dir + 4].copy_from_slice(&o.to_le_bytes());
            pe[dir + 4..dir + 8].copy_from_slice(&s.to_le_bytes());
        }
        pe
    }

    #[test]
    fn strips_table_and_directory_entry() {
        let out = strip_signature(&fake_pe(Some((0x300, 0x100)))).unwrap();
        assert_eq!(out.len(), 0x300);
        assert_eq!(strip_signature(&out).unwrap_err(), PeError::Unsigned);
    }

    #[test]
    fn rejects_non_pe() {
        assert!(matches!(
            strip_signature(b"\x7fELF"),
            Err(PeError::NotPe(_))
        ));
        assert!(matches!(strip_signature(b"MZ"), Err(PeError::NotPe(_))));
        assert!(matches!(
            strip_signature(&fake_pe(Some((0x900, 8)))),
            Err(PeError::NotPe(_))
        ));
    }
}
