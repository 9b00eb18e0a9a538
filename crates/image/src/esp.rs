//! The EFI system partition: a 128 MiB FAT32 image laid out as in reference/boot-chain.md §10.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// grub.cfg, byte-exact: the PCR8/PCR9 values of boot-chain.md §7 were measured with this text.
pub const GRUB_CFG: &str = r#"set timeout=0
set default=0
echo "SPIKE grub.cfg loaded from $prefix (cmdpath=$cmdpath root=$root)"
menuentry "spike" {
  echo "SPIKE loading linux"
  linuxefi /vmlinuz console=ttyS0,115200 loglevel=6 panic=-1
  echo "SPIKE loading initrd"
  initrdefi /initrd.gz
}
"#;

/// A byte inside grub's `mods` section, covered by its Authenticode signature (§10): flipping it
/// makes shim refuse grub with "Verification failed: (0x1A) Security Violation".
pub const GRUB_TAMPER_OFFSET: usize = 0x11d000;

/// Size of the ESP image.
pub const ESP_SIZE: u64 = 128 * 1024 * 1024;

/// What goes on the ESP.
#[derive(Debug, Clone)]
pub struct EspSpec<'a> {
    /// shim, installed as `EFI/BOOT/BOOTX64.EFI`.
    pub shim: &'a [u8],
    /// grub, installed as `EFI/BOOT/grubx64.efi` (shim loads it from its own directory).
    pub grub: &'a [u8],
    /// `EFI/debian/grub.cfg` (the prefix built into Debian's signed grub).
    pub grub_cfg: &'a str,
    /// `/vmlinuz`.
    pub kernel: &'a [u8],
    /// `/initrd.gz`.
    pub initrd: &'a [u8],
    /// Flip the byte at this grub offset (negative tests).
    pub tamper_grub_at: Option<usize>,
}

/// Why the ESP could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EspError {
    /// The tamper offset is past the end of grub.
    #[error("tamper offset {offset:#x} outside grub ({len} bytes)")]
    TamperOutOfRange {
        /// Requested offset.
        offset: usize,
        /// grub's size.
        len: usize,
    },
    /// Writing the image failed.
    #[error("write ESP image {path}: {source}")]
    Io {
        /// Image path.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Writes a FAT32 ESP image to `path` (created or truncated). Volume id and timestamps are fixed,
/// so the same inputs give the same image.
pub fn build_esp(path: &Path, spec: &EspSpec<'_>) -> Result<(), EspError> {
    let grub = match spec.tamper_grub_at {
        None => std::borrow::Cow::Borrowed(spec.grub),
        Some(offset) => {
            let mut g = spec.grub.to_vec();
            let b = g.get_mut(offset).ok_or(EspError::TamperOutOfRange {
                offset,
                len: spec.grub.len(),
            })?;
            *b ^= 0xff;
            std::borrow::Cow::Owned(g)
        }
    };
    let io = |source| EspError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    file.set_len(ESP_SIZE).map_err(io)?;
    let opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fatfs::FatType::Fat32)
        .volume_id(0x7154_0001)
        .volume_label(*b"ESP        ");
    fatfs::format_volume(&mut file, opts).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let fs = fatfs::FileSystem::new(&mut file, fatfs::FsOptions::new()).map_err(io)?;
    {
        let root = fs.root_dir();
        let efi = root.create_dir("EFI").map_err(io)?;
        let boot = efi.create_dir("BOOT").map_err(io)?;
        let debian = efi.create_dir("debian").map_err(io)?;
        let put = |dir: &fatfs::Dir<'_, &mut std::fs::File>,
                   name: &str,
                   data: &[u8]|
         -> std::io::Result<()> {
            let mut f = dir.create_file(name)?;
            f.truncate()?;
            f.write_all(data)?;
            f.flush()
        };
        put(&boot, "BOOTX64.EFI", spec.shim).map_err(io)?;
        put(&boot, "grubx64.efi", &grub).map_err(io)?;
        put(&debian, "grub.cfg", spec.grub_cfg.as_bytes()).map_err(io)?;
        put(&root, "vmlinuz", spec.kernel).map_err(io)?;
        put(&root, "initrd.gz", spec.initrd).map_err(io)?;
    }
    let free = fs.stats().map_err(io)?.free_clusters();
    fs.unmount().map_err(io)?;
    crate::fatfix::fix_dot_entries(&mut file).map_err(io)?;
    crate::fatfix::set_free_count(&mut file, free).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn spec<'a>(grub: &'a [u8], tamper: Option<usize>) -> EspSpec<'a> {
        EspSpec {
            shim: b"MZshim",
            grub,
            grub_cfg: GRUB_CFG,
            kernel: b"MZkernel",
            initrd: b"\x1f\x8binitrd",
            tamper_grub_at: tamper,
        }
    }

    #[test]
    fn layout_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("esp.img");
        let grub = vec![0x11u8; 64];
        build_esp(&img, &spec(&grub, Some(10))).unwrap();
        assert_eq!(std::fs::metadata(&img).unwrap().len(), ESP_SIZE);
        let mut f = std::fs::File::open(&img).unwrap();
        let fs = fatfs::FileSystem::new(&mut f, fatfs::FsOptions::new()).unwrap();
        assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
        let read = |p: &str| {
            let mut v = Vec::new();
            fs.root_dir()
                .open_file(p)
                .unwrap()
                .read_to_end(&mut v)
                .unwrap();
            v
        };
        assert_eq!(read("EFI/BOOT/BOOTX64.EFI"), b"MZshim");
        let g = read("EFI/BOOT/grubx64.efi");
        assert_eq!(g.len(), 64);
        assert_eq!(g[10], 0xee);
        assert_eq!(g.iter().filter(|&&b| b != 0x11).count(), 1);
        assert_eq!(read("EFI/debian/grub.cfg"), GRUB_CFG.as_bytes());
        assert_eq!(read("vmlinuz"), b"MZkernel");
        assert_eq!(read("initrd.gz"), b"\x1f\x8binitrd");
        drop(fs);
        // Every subdirectory already starts with "." and ".." (FAT spec §6.3): nothing to repair.
        assert_eq!(crate::fatfix::fix_dot_entries(&mut f).unwrap(), 0);
    }

    #[test]
    fn tamper_out_of_range_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = build_esp(
            &dir.path().join("e.img"),
            &spec(&[0u8; 4], Some(GRUB_TAMPER_OFFSET)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("outside grub"), "{err}");
    }

    #[test]
    fn reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        build_esp(&a, &spec(&[1, 2, 3], None)).unwrap();
        build_esp(&b, &spec(&[1, 2, 3], None)).unwrap();
        assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap());
    }
}
