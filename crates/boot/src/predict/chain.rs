//! The boot chain's bytes, and what shim carries for its own measurements.

use crate::secureboot::{PeImage, SbatLevel, VendorCert};

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
    /// Reads `.vendor_cert` and `.sbatlevel` with the Secure Boot model's readers
    /// ([`VendorCert::split`], [`SbatLevel::section_levels`]), keeping the raw bytes shim measures.
    pub fn parse(shim: &[u8]) -> Result<Self, PredictError> {
        let pe = PeImage::parse(shim).map_err(|source| PredictError::Pe {
            image: "shim",
            source,
        })?;
        let vc = pe
            .section(".vendor_cert")
            .ok_or(PredictError::MissingSection(".vendor_cert"))?;
        let (vendor_cert, vendor_dbx) = VendorCert::split(vc)?;
        let sl = pe
            .section(".sbatlevel")
            .ok_or(PredictError::MissingSection(".sbatlevel"))?;
        let (previous, latest) = SbatLevel::section_levels(sl)?;
        let level = |rest: &[u8]| -> Result<Vec<u8>, PredictError> {
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(PredictError::BadSection {
                    section: ".sbatlevel",
                    offset: sl.len() - rest.len(),
                    why: "level is not NUL-terminated",
                })?;
            Ok(rest[..len].to_vec())
        };
        Ok(Self {
            vendor_cert: vendor_cert.to_vec(),
            vendor_dbx: vendor_dbx.to_vec(),
            sbat_previous: level(previous)?,
            sbat_latest: level(latest)?,
        })
    }
}
