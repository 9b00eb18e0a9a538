//! Debian's signed boot artifacts (reference/boot-chain.md §9), fetched with `apt-get download`
//! and unpacked with `dpkg-deb -x` into a cache outside the source tree.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One file out of one pinned Debian package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebianFile {
    /// Binary package name.
    pub package: &'static str,
    /// Exact version (with epoch, as apt spells it).
    pub version: &'static str,
    /// Path of the file inside the package, without the leading `/`.
    pub path: &'static str,
    /// Lower-case hex sha256 of the file (prefix agrees with boot-chain.md §9).
    pub sha256: &'static str,
}

/// shim 16.1, signed by the Microsoft UEFI CA 2011 (and 2023).
pub const SHIM: DebianFile = DebianFile {
    package: "shim-signed",
    version: "1.51~1+deb12u1+16.1-2~deb12u1",
    path: "usr/lib/shim/shimx64.efi.signed",
    sha256: "0fc347af103ec1dfac6e3f184c0a5241a2ce756a0932b359c404d39c45423806",
};

/// GRUB 2.06, signed by "Debian Secure Boot Signer 2022 - grub2".
pub const GRUB: DebianFile = DebianFile {
    package: "grub-efi-amd64-signed",
    version: "1+2.06+13+deb12u2",
    path: "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
    sha256: "78313ff24688c8b2e1d4f4e1eff13236b2bd29b0f76ba749fd7fff4d305a1d94",
};

/// Linux 6.1.0-56 (6.1.192), the version `linux-image-amd64` 6.1.192-2 depends on.
pub const KERNEL: DebianFile = DebianFile {
    package: "linux-image-6.1.0-56-amd64",
    version: "6.1.192-2",
    path: "boot/vmlinuz-6.1.0-56-amd64",
    sha256: "26f2e57c99338feaf71c46fa4babdc7e1a6c115943002d109fdb746667104f5f",
};

/// The cloud flavour of the same kernel build (14 MB, LZ4), the image the Authenticode
/// benchmark names; signed by the same Debian key.
pub const CLOUD_KERNEL: DebianFile = DebianFile {
    package: "linux-image-6.1.0-56-cloud-amd64",
    version: "6.1.192-2",
    path: "boot/vmlinuz-6.1.0-56-cloud-amd64",
    sha256: "51349501a3d1ff83836437d2b365fd2d57f2feb8642d315e5181dec23d4c3275",
};

/// The statically linked busybox that runs the initrd's `/init`.
pub const BUSYBOX: DebianFile = DebianFile {
    package: "busybox-static",
    version: "1:1.35.0-4+deb12u1+b1",
    path: "bin/busybox",
    sha256: "3d9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6",
};

/// The Debian Secure Boot CA that signs grub, the kernels and MokManager (shim's `.vendor_cert`).
pub const DEBIAN_UEFI_CA: DebianFile = DebianFile {
    package: "shim-unsigned",
    version: "16.1-2~deb12u1",
    path: "usr/share/shim/debian-uefi-ca.der",
    sha256: "079646974bce09b1f04da67bd722d1fb0947ae4c4010bccdbba52d5b23cbf1a2",
};

/// shim 16.1 before signing (its Authenticode digest differs from the signed one by 8-byte padding).
pub const SHIM_UNSIGNED: DebianFile = DebianFile {
    package: "shim-unsigned",
    version: "16.1-2~deb12u1",
    path: "usr/lib/shim/shimx64.efi",
    sha256: "d2812715520bf3b73fb37a9563b897ba6a5f6fa846b60cc35a4c190d54965d9c",
};

/// MokManager, signed by "Debian Secure Boot Signer 2022 - shim".
pub const MOKMANAGER: DebianFile = DebianFile {
    package: "shim-helpers-amd64-signed",
    version: "1+16.1+2~deb12u1",
    path: "usr/lib/shim/mmx64.efi.signed",
    sha256: "f80377ddda1904ef3be061536d60da60e6d51d8be9691e46a7aa519c6576f9d0",
};

/// `vfat.ko` from the same kernel build as [`KERNEL`], with an appended PKCS#7 signature.
pub const VFAT_MODULE: DebianFile = DebianFile {
    package: "linux-image-6.1.0-56-amd64",
    version: "6.1.192-2",
    path: "lib/modules/6.1.0-56-amd64/kernel/fs/fat/vfat.ko",
    sha256: "218b35092722d8b8fe4ff75251445ce5a032fe5f1b8f3a849d2104784777465a",
};

/// Why the Debian artifacts could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A host tool is not installed.
    #[error("`{tool}` not found: install the Debian package `{package}`")]
    ToolMissing {
        /// Program name.
        tool: &'static str,
        /// Package that provides it.
        package: &'static str,
    },
    /// `apt-get download` failed.
    #[error("apt-get download {package}={version} failed{hint}: {stderr}")]
    Download {
        /// Package name.
        package: &'static str,
        /// Requested version.
        version: &'static str,
        /// A suggestion, with a leading separator, or empty.
        hint: &'static str,
        /// apt's own message.
        stderr: String,
    },
    /// `dpkg-deb -x` failed.
    #[error("dpkg-deb -x {deb} failed: {stderr}")]
    Extract {
        /// The package file.
        deb: PathBuf,
        /// dpkg-deb's message.
        stderr: String,
    },
    /// The unpacked file is not the pinned one.
    #[error("{path}: sha256 {actual}, expected {expected} (pinned {package} {version})")]
    HashMismatch {
        /// Unpacked file.
        path: PathBuf,
        /// Package name.
        package: &'static str,
        /// Package version.
        version: &'static str,
        /// Pinned digest.
        expected: &'static str,
        /// Digest found.
        actual: String,
    },
    /// OVMF firmware file missing.
    #[error("{0} missing: install the Debian package `ovmf`")]
    OvmfMissing(PathBuf),
    /// Filesystem error in the cache.
    #[error("{what} {path}: {source}")]
    Io {
        /// Operation.
        what: &'static str,
        /// Path involved.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + use<> {
    let path = path.to_owned();
    move |source| FetchError::Io { what, path, source }
}

/// The four boot artifacts, unpacked and verified.
#[derive(Debug, Clone)]
pub struct DebianArtifacts {
    /// `shimx64.efi.signed`.
    pub shim: PathBuf,
    /// `grubx64.efi.signed`.
    pub grub: PathBuf,
    /// `vmlinuz-6.1.0-56-amd64`.
    pub kernel: PathBuf,
    /// `busybox` (static).
    pub busybox: PathBuf,
}

impl DebianArtifacts {
    /// Fetches (or reuses) the pinned artifacts under [`crate::cache_dir`]`/debian`.
    pub fn fetch() -> Result<Self, FetchError> {
        Self::fetch_into(&crate::cache_dir().join("debian"))
    }

    /// Fetches (or reuses) the pinned artifacts under `dir`.
    pub fn fetch_into(dir: &Path) -> Result<Self, FetchError> {
        Ok(Self {
            shim: ensure(dir, &SHIM)?,
            grub: ensure(dir, &GRUB)?,
            kernel: ensure(dir, &KERNEL)?,
            busybox: ensure(dir, &BUSYBOX)?,
        })
    }
}

/// Returns the unpacked path of `f`, downloading and unpacking its package when needed.
pub fn ensure(cache: &Path, f: &DebianFile) -> Result<PathBuf, FetchError> {
    std::fs::create_dir_all(cache).map_err(io_err("create", cache))?;
    // Concurrent builds (test processes, several launches) share the cache: one fetch at a time.
    let lock_path = cache.join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("open", &lock_path))?;
    lock.lock().map_err(io_err("lock", &lock_path))?;
    let pkg_dir = cache.join(format!("{}_{}", f.package, f.version.replace(':', "%3a")));
    let root = pkg_dir.join("root");
    let target = root.join(f.path);
    if target.is_file() && verify(&target, f).is_ok() {
        return Ok(target);
    }
    let dl = pkg_dir.join("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).map_err(io_err("create", &dl))?;
    let out = Command::new("apt-get")
        .arg("download")
        .arg(format!("{}={}", f.package, f.version))
        .current_dir(&dl)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::ToolMissing {
                tool: "apt-get",
                package: "apt",
            },
            _ => FetchError::Io {
                what: "run apt-get in",
                path: dl.clone(),
                source: e,
            },
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let deb = find_deb(&dl)?;
    let Some(deb) = deb.filter(|_| out.status.success()) else {
        let hint = if stderr.contains("Unable to locate")
            || stderr.contains("not found")
            || stderr.contains("Can't find")
        {
            " (run `apt-get update`; the pinned version may also have left the archive)"
        } else {
            ""
        };
        return Err(FetchError::Download {
            package: f.package,
            version: f.version,
            hint,
            stderr,
        });
    };
    let staging = pkg_dir.join("root.partial");
    let _ = std::fs::remove_dir_all(&staging);
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&staging)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::ToolMissing {
                tool: "dpkg-deb",
                package: "dpkg",
            },
            _ => FetchError::Io {
                what: "run dpkg-deb on",
                path: deb.clone(),
                source: e,
            },
        })?;
    if !out.status.success() {
        return Err(FetchError::Extract {
            deb,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    verify(&staging.join(f.path), f)?;
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&staging, &root).map_err(io_err("rename", &staging))?;
    let _ = std::fs::remove_dir_all(&dl);
    Ok(target)
}

fn find_deb(dir: &Path) -> Result<Option<PathBuf>, FetchError> {
    for e in std::fs::read_dir(dir).map_err(io_err("read", dir))? {
        let p = e.map_err(io_err("read", dir))?.path();
        if p.extension().is_some_and(|x| x == "deb") {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn verify(path: &Path, f: &DebianFile) -> Result<(), FetchError> {
    let data = std::fs::read(path).map_err(io_err("read", path))?;
    let actual = crate::sha256_hex(&data);
    if actual != f.sha256 {
        return Err(FetchError::HashMismatch {
            path: path.to_owned(),
            package: f.package,
            version: f.version,
            expected: f.sha256,
            actual,
        });
    }
    Ok(())
}

/// OVMF firmware from the installed Debian `ovmf` package.
#[derive(Debug, Clone)]
pub struct OvmfFiles {
    /// `OVMF_CODE_4M.secboot.fd` (needs SMM).
    pub code_secboot: PathBuf,
    /// `OVMF_VARS_4M.ms.fd`: Debian PK, Microsoft KEK and db; Secure Boot on.
    pub vars_ms: PathBuf,
    /// `OVMF_CODE_4M.fd`.
    pub code: PathBuf,
    /// `OVMF_VARS_4M.fd`: empty store, setup mode, Secure Boot off.
    pub vars_blank: PathBuf,
    /// `OVMF_VARS_4M.snakeoil.fd`: PK = KEK = db = "SnakeOil"; Microsoft-signed shim is refused.
    pub vars_snakeoil: PathBuf,
}

impl OvmfFiles {
    /// Locates the firmware under `/usr/share/OVMF`.
    pub fn locate() -> Result<Self, FetchError> {
        Self::locate_in(Path::new("/usr/share/OVMF"))
    }

    /// Locates the firmware under `dir`.
    pub fn locate_in(dir: &Path) -> Result<Self, FetchError> {
        let get = |n: &str| {
            let p = dir.join(n);
            if p.is_file() {
                Ok(p)
            } else {
                Err(FetchError::OvmfMissing(p))
            }
        };
        Ok(Self {
            code_secboot: get("OVMF_CODE_4M.secboot.fd")?,
            vars_ms: get("OVMF_VARS_4M.ms.fd")?,
            code: get("OVMF_CODE_4M.fd")?,
            vars_blank: get("OVMF_VARS_4M.fd")?,
            vars_snakeoil: get("OVMF_VARS_4M.snakeoil.fd")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ovmf_names_the_package() {
        let err = OvmfFiles::locate_in(Path::new("/nonexistent")).unwrap_err();
        assert!(
            err.to_string()
                .contains("install the Debian package `ovmf`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_version_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = DebianFile {
            version: "0.0-does-not-exist",
            ..BUSYBOX
        };
        let err = ensure(dir.path(), &f).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("apt-get download busybox-static=0.0-does-not-exist failed"),
            "{msg}"
        );
    }

    #[test]
    fn tampered_cache_is_refetched_or_rejected() {
        // A cached file with the wrong bytes is never trusted.
        let dir = tempfile::tempdir().unwrap();
        let f = DebianFile {
            package: "no-such-package-tl",
            version: "1",
            path: "x",
            sha256: "00",
        };
        let p = dir.path().join("no-such-package-tl_1/root/x");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"evil").unwrap();
        assert!(ensure(dir.path(), &f).is_err());
    }
}
