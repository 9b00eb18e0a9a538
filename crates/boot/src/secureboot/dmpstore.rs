//! UEFI Shell `dmpstore -s/-l` files (edk2 ShellPkg/Library/UefiShellDebug1CommandsLib/
//! DmpStore.c): records of `u32 NameSize ‖ u32 DataSize ‖ Name (UTF-16LE + NUL) ‖ VendorGuid ‖
//! u32 Attributes ‖ Data ‖ u32 CRC32(all before)`. `dmpstore -l FILE` calls `SetVariable` with
//! each record, so a record holding an `.auth` with TIME_BASED_AUTH set makes the firmware run its
//! own authenticated-variable checks: the way a VM test applies `.auth` files without an OS.
//! The shell filters records by `-guid` (default EFI_GLOBAL_VARIABLE): use
//! `dmpstore -guid d719b2cb-3d3a-4596-a3bc-dad00e67656f -l db.dmp` for db/dbx.

use super::efi::Guid;

/// CRC-32 (IEEE 802.3, reflected, as `gBS->CalculateCrc32`).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One `dmpstore` record for `SetVariable(name, vendor, attributes, data)`.
pub fn record(name: &str, vendor: &Guid, attributes: u32, data: &[u8]) -> Vec<u8> {
    let n: Vec<u8> = name
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut out = Vec::with_capacity(32 + n.len() + data.len());
    out.extend_from_slice(&(n.len() as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&n);
    out.extend_from_slice(&vendor.0);
    out.extend_from_slice(&attributes.to_le_bytes());
    out.extend_from_slice(data);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::efi;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn record_layout() {
        let r = record("PK", &efi::EFI_GLOBAL_VARIABLE, 0x27, &[9, 9]);
        assert_eq!(&r[..8], &[6, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&r[8..14], &[b'P', 0, b'K', 0, 0, 0]);
        assert_eq!(&r[14..30], &efi::EFI_GLOBAL_VARIABLE.0);
        assert_eq!(&r[30..34], &0x27u32.to_le_bytes());
        assert_eq!(&r[34..36], &[9, 9]);
        assert_eq!(&r[36..], &crc32(&r[..36]).to_le_bytes());
    }
}
