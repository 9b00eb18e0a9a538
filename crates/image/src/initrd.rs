//! The test initrd: busybox plus an `/init` that prints what the host needs to check a boot.

use std::io::Write;

use crate::cpio::CpioWriter;

/// The `/init` of reference/boot-chain.md §10, with markers the launcher parses:
/// `=====INIT`, `=====TPMDEV`, `=====TPMERR`, `=====PCRS BEGIN/END`, `=====EVENTLOG BASE64 BEGIN/END`,
/// `=====TL INIT DONE`. The `TPMDEV`/`TPMERR` lines show whether the kernel's TPM driver probed the
/// vTPM cleanly: both device nodes present, no kernel line naming a TPM error, failure or timeout.
/// `dmesg -n 1` keeps kernel messages from splicing into the base64 block; the sha1 bank is read
/// for all 24 PCRs so both banks can be compared.
pub const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin; export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
dmesg -n 1
echo "=====INIT uptime: $(cat /proc/uptime)"; cat /sys/kernel/security/lockdown /proc/keys
dmesg | grep -iE 'secure ?boot|tpm|lockdown|integrity|efi: '
ls -l /dev/tpm*
for d in /dev/tpm0 /dev/tpmrm0; do if [ -c $d ]; then echo "=====TPMDEV $d present"; else echo "=====TPMDEV $d missing"; fi; done
dmesg | grep -iE 'tpm' | grep -iE 'error|fail|timed out' | sed 's/^/=====TPMERR /'
echo "=====PCRS BEGIN"
for i in $(seq 0 23); do echo "sha256 PCR$i: $(cat /sys/class/tpm/tpm0/pcr-sha256/$i)"; done
for i in $(seq 0 23); do echo "sha1 PCR$i: $(cat /sys/class/tpm/tpm0/pcr-sha1/$i 2>&1)"; done
echo "=====PCRS END"
echo "=====EVENTLOG BASE64 BEGIN"; base64 /sys/kernel/security/tpm0/binary_bios_measurements; echo "=====EVENTLOG BASE64 END"
cat /sys/kernel/security/ima/ascii_runtime_measurements; sync
echo "=====TL INIT DONE"
poweroff -f
"#;

/// Why the initrd could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InitrdError {
    /// Writing the archive failed.
    #[error("write initrd: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds a gzip-compressed newc initrd with `busybox` as `bin/busybox` and `init` as `/init`.
/// The output is reproducible (fixed mtimes, uids and inode numbers).
pub fn build_initrd(busybox: &[u8], init: &str) -> Result<Vec<u8>, InitrdError> {
    let gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::fast());
    let mut w = CpioWriter::new(gz);
    for d in ["bin", "dev", "proc", "sys"] {
        w.dir(d, 0o755)?;
    }
    w.char_dev("dev/console", 0o600, 5, 1)?;
    w.char_dev("dev/null", 0o666, 1, 3)?;
    w.file("bin/busybox", 0o755, busybox)?;
    w.file("init", 0o755, init.as_bytes())?;
    let mut gz = w.finish()?;
    gz.flush()?;
    Ok(gz.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_wraps_a_newc_archive_and_is_reproducible() {
        let a = build_initrd(b"\x7fELF fake", INIT_SCRIPT).unwrap();
        let b = build_initrd(b"\x7fELF fake", INIT_SCRIPT).unwrap();
        assert_eq!(a, b);
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(&raw[..6], b"070701");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("dev/console"));
        assert!(text.contains("#!/bin/busybox sh"));
        assert!(text.ends_with("\0") || text.contains("TRAILER!!!"));
    }
}
