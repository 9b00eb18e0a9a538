//! The QEMU command line of reference/boot-chain.md §10.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Inputs of one VM's command line.
#[derive(Debug, Clone)]
pub struct QemuSpec {
    /// Read-only firmware code (`OVMF_CODE_4M.secboot.fd` for Secure Boot).
    pub code: PathBuf,
    /// This VM's own copy of the variable store.
    pub vars: PathBuf,
    /// Secure Boot mode: SMM on and the secure pflash (both are required, §10 "Firmware modes").
    pub secure_boot: bool,
    /// vTPM control socket.
    pub vtpm_socket: PathBuf,
    /// The ESP image (opened with `snapshot=on`, never written).
    pub esp: PathBuf,
    /// QEMU's `-pidfile`.
    pub pid_file: PathBuf,
    /// Guest memory in MiB.
    pub memory_mib: u32,
}

fn drive(prefix: &str, path: &Path, suffix: &str) -> OsString {
    // QEMU's option parser treats ',' as a separator; a path containing one must be doubled.
    let mut s = OsString::from(prefix);
    s.push(path.as_os_str().to_string_lossy().replace(',', ",,"));
    s.push(suffix);
    s
}

/// The argument vector (after `qemu-system-x86_64`). The serial console goes to stdout.
pub fn qemu_args(q: &QemuSpec) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    if q.secure_boot {
        push("-machine");
        push("q35,smm=on,accel=tcg");
        push("-global");
        push("driver=cfi.pflash01,property=secure,value=on");
    } else {
        push("-machine");
        push("q35,smm=off,accel=tcg");
    }
    push("-m");
    a.push(q.memory_mib.to_string().into());
    a.push("-smp".into());
    a.push("1".into());
    a.push("-drive".into());
    a.push(drive(
        "if=pflash,format=raw,unit=0,readonly=on,file=",
        &q.code,
        "",
    ));
    a.push("-drive".into());
    a.push(drive("if=pflash,format=raw,unit=1,file=", &q.vars, ""));
    a.push("-chardev".into());
    a.push(drive("socket,id=chrtpm,path=", &q.vtpm_socket, ""));
    for s in [
        "-tpmdev",
        "emulator,id=tpm0,chardev=chrtpm",
        "-device",
        "tpm-crb,tpmdev=tpm0",
        "-drive",
    ] {
        a.push(s.into());
    }
    a.push(drive(
        "if=none,id=esp,format=raw,file=",
        &q.esp,
        ",snapshot=on",
    ));
    for s in [
        "-device",
        "virtio-blk-pci,drive=esp,bootindex=1",
        "-nographic",
        "-nodefaults",
        "-no-reboot",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-pidfile",
    ] {
        a.push(s.into());
    }
    a.push(q.pid_file.clone().into_os_string());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_boot_command_line_is_the_reference_recipe() {
        let q = QemuSpec {
            code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd".into(),
            vars: "/w/vars.fd".into(),
            secure_boot: true,
            vtpm_socket: "/w/vtpm-sock".into(),
            esp: "/w/esp.img".into(),
            pid_file: "/w/qemu.pid".into(),
            memory_mib: 1024,
        };
        let a: Vec<String> = qemu_args(&q)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a.join(" "),
            "-machine q35,smm=on,accel=tcg -global driver=cfi.pflash01,property=secure,value=on -m 1024 -smp 1 \
             -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
             -drive if=pflash,format=raw,unit=1,file=/w/vars.fd \
             -chardev socket,id=chrtpm,path=/w/vtpm-sock -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0 \
             -drive if=none,id=esp,format=raw,file=/w/esp.img,snapshot=on -device virtio-blk-pci,drive=esp,bootindex=1 \
             -nographic -nodefaults -no-reboot -serial stdio -monitor none -pidfile /w/qemu.pid"
        );
    }
}
