//! The local vTPM CA: one self-signed ECDSA P-384 root (`ca.pem`, key `ca-key.pem` 0600, in a
//! 0700 directory), created on first use and reused afterwards. The root signs EK and platform
//! certificates directly, so `openssl verify -CAfile ca.pem ek.pem` needs no `-partial_chain`.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P384_SHA384, PublicKeyData,
};
use rustix::fs::{Mode, OFlags};

/// Root certificate file.
pub const CA_CERT: &str = "ca.pem";
/// Root private key file (PKCS#8 PEM).
pub const CA_KEY: &str = "ca-key.pem";
/// Largest file read from the CA directory.
const MAX_FILE: u64 = 64 * 1024;

/// CA directory failures.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file or directory operation.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The key file is readable by others.
    #[error("{0}: CA key is accessible by group or others (chmod 600 it)")]
    KeyMode(PathBuf),
    /// Key or certificate unusable.
    #[error("{path}: {why}")]
    Bad {
        /// Path.
        path: PathBuf,
        /// Reason.
        why: String,
    },
    /// Signing.
    #[error("CA: {0}")]
    Rcgen(#[from] rcgen::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `${XDG_CONFIG_HOME:-~/.config}/tl-vtpm/ca`.
pub fn default_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("tl-vtpm").join("ca"))
}

/// An open CA (holding the directory lock).
pub struct LocalCa {
    key: KeyPair,
    issuer: Certificate,
    /// Directory.
    pub dir: PathBuf,
    /// True if this run created the CA.
    pub created: bool,
    _lock: OwnedFd,
}

fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut p = CertificateParams::default();
    let id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.der_bytes());
    let tag: String = id.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tl-vtpm");
    // The tag tells the CAs of different hosts apart and is derived from the key, so the
    // issuer name can be rebuilt from the key alone.
    dn.push(DnType::CommonName, format!("tl-vtpm local vTPM CA {tag}"));
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    p.not_after = rcgen::date_time_ymd(9999, 12, 31);
    p
}

fn read_small(path: &Path) -> Result<Option<(Vec<u8>, u32)>, CaError> {
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(io(path)(e.into())),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| io(path)(e.into()))?;
    if st.st_size as u64 > MAX_FILE {
        return Err(CaError::Bad {
            path: path.into(),
            why: "file too large".into(),
        });
    }
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut buf).map_err(io(path))?;
    Ok(Some((buf, st.st_mode)))
}

fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), CaError> {
    let fd = rustix::fs::open(
        path,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )
    .map_err(|e| io(path)(e.into()))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| io(path)(e.into()))?;
    let mut f = std::fs::File::from(fd);
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}

impl LocalCa {
    /// Opens the CA in `dir`, creating directory (0700), key and root certificate if absent.
    pub fn open_or_create(dir: &Path) -> Result<LocalCa, CaError> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(dir))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(dir)(e)),
        }
        let lock_path = dir.join(".lock");
        let lock = rustix::fs::open(
            &lock_path,
            OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io(&lock_path)(e.into()))?;
        // Two setups creating the CA at once must not end up with two roots.
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(&lock_path)(e.into()))?;
        let key_path = dir.join(CA_KEY);
        let cert_path = dir.join(CA_CERT);
        let mut created = false;
        let key = match read_small(&key_path)? {
            Some((pem, mode)) => {
                if mode & 0o077 != 0 {
                    return Err(CaError::KeyMode(key_path));
                }
                let pem = String::from_utf8(pem).map_err(|_| CaError::Bad {
                    path: key_path.clone(),
                    why: "not PEM".into(),
                })?;
                KeyPair::from_pem(&pem).map_err(|e| CaError::Bad {
                    path: key_path.clone(),
                    why: format!("cannot load the key: {e}"),
                })?
            }
            None => {
                let k = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
                // A stale certificate without its key is useless.
                let _ = std::fs::remove_file(&cert_path);
                write_new(&key_path, k.serialize_pem().as_bytes(), 0o600)?;
                created = true;
                k
            }
        };
        let issuer = ca_params(&key).self_signed(&key)?;
        match read_small(&cert_path)? {
            Some((pem, _)) => {
                let pem = String::from_utf8(pem).ok();
                let der = pem.as_deref().and_then(|p| ::pem::parse(p).ok());
                let spki = key.public_key_der();
                match der {
                    Some(d) if d.contents().windows(spki.len()).any(|w| w == spki) => {}
                    _ => {
                        return Err(CaError::Bad {
                            path: cert_path,
                            why: format!("is not the certificate of {}", key_path.display()),
                        });
                    }
                }
            }
            None => {
                write_new(&cert_path, issuer.pem().as_bytes(), 0o644)?;
                created = true;
            }
        }
        Ok(LocalCa {
            key,
            issuer,
            dir: dir.to_path_buf(),
            created,
            _lock: lock,
        })
    }

    /// Signs `params` for the TPM-held `key`; returns DER.
    pub fn sign(
        &self,
        params: CertificateParams,
        key: &impl PublicKeyData,
    ) -> Result<Vec<u8>, super::cert::CertError> {
        let c = params.signed_by(key, &self.issuer, &self.key)?;
        Ok(c.der().to_vec())
    }
}
