//! The boot chain's bytes, and what shim carries for its own measurements.

use crate::secureboot::PeImage;

use super::error::PredictError;

/// The files the boot runs and reads, exactly as they sit on the ESP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootChain {
    /// shim (`EFI/BOOT/BOOTX64.EFI`).
    pub shim: Vec<u8>,
    /// grub (`EFI/BOOT/grubx64.efi`).
    pub grub: Vec<u8>,
    /// `EFI/debian/grub.cfg`.
    pub grub_cfg: String,
    /// The kernel grub.cfg's `linux`/`linuxefi` loads.
    pub kernel: Vec<u8>,
    /// The initrd grub.cfg's `initrd`/`initrdefi` loads.
    pub initrd: Vec<u8>,
    /// The kernel command line the caller expects (without the image path); when set, grub.cfg
    /// must pass exactly this, else the prediction fails.
    pub cmdline: Option<String>,
}

/// What shim measures from its own sections (rhboot/shim shim.c, sbat.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimSections {
    /// `.vendor_cert` auth part: the vendor CA, DER.
    pub vendor_cert: Vec<u8>,
    /// `.vendor_cert` deauth part: the vendor dbx as stored (signature lists).
    pub vendor_dbx: Vec<u8>,
    /// `.sbatlevel` "previous" level (what shim applies with its default SbatPolicy).
    pub sbat_previous: Vec<u8>,
    /// `.sbatlevel` "latest" level.
    pub sbat_latest: Vec<u8>,
}

impl ShimSections {
    /// Reads `.vendor_cert` (`u32 auth_size, deauth_size, auth_offset, deauth_offset`, offsets
    /// from the section start) and `.sbatlevel` (`u32 version = 0, previous, latest`, offsets from
    /// byte 4, each level NUL-terminated).
    pub fn parse(shim: &[u8]) -> Result<Self, PredictError> {
        let pe = PeImage::parse(shim).map_err(|source| PredictError::Pe {
            image: "shim",
            source,
        })?;
        let vc = pe
            .section(".vendor_cert")
            .ok_or(PredictError::MissingSection(".vendor_cert"))?;
        let bad = |section, offset, why| PredictError::BadSection {
            section,
            offset,
            why,
        };
        let slice = |size_at: usize, off_at: usize| -> Result<Vec<u8>, PredictError> {
            let (size, off) = (
                u32_at(vc, size_at).ok_or(bad(".vendor_cert", size_at, "header truncated"))?,
                u32_at(vc, off_at).ok_or(bad(".vendor_cert", off_at, "header truncated"))?,
            );
            off.checked_add(size)
                .and_then(|end| vc.get(off..end))
                .map(<[u8]>::to_vec)
                .ok_or(bad(".vendor_cert", off_at, "data outside the section"))
        };
        let vendor_cert = slice(0, 8)?;
        let vendor_dbx = slice(4, 12)?;
        let sl = pe
            .section(".sbatlevel")
            .ok_or(PredictError::MissingSection(".sbatlevel"))?;
        if u32_at(sl, 0) != Some(0) {
            return Err(bad(".sbatlevel", 0, "version is not 0"));
        }
        let level = |field: usize| -> Result<Vec<u8>, PredictError> {
            let start = u32_at(sl, field)
                .and_then(|o| o.checked_add(4))
                .filter(|&o| o < sl.len())
                .ok_or(bad(".sbatlevel", field, "level offset outside the section"))?;
            let rest = &sl[start..];
            let len = rest.iter().position(|&b| b == 0).ok_or(bad(
                ".sbatlevel",
                start,
                "level is not NUL-terminated",
            ))?;
            Ok(rest[..len].to_vec())
        };
        Ok(Self {
            vendor_cert,
            vendor_dbx,
            sbat_previous: level(4)?,
            sbat_latest: level(8)?,
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
}
