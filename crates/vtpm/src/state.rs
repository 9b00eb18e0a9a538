//! The state directory: `tpm2-00.permall`, `tpm2-00.volatile`, `.lock` (reference vtpm.md §5).
//! Files are replaced atomically (temp file in the same dir, fsync, rename, fsync dir), opened with
//! `O_NOFOLLOW` and never readable by others.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::crypt::{self, StateKey};

/// Permanent state file (swtpm's name, our format).
pub const PERMALL: &str = "tpm2-00.permall";
/// Volatile snapshot written by CMD_STORE_VOLATILE.
pub const VOLATILE: &str = "tpm2-00.volatile";
/// Largest state file we read (a bound on a corrupt or hostile file).
const MAX_FILE: u64 = 16 << 20;
/// swtpm/libtpms blob header v2 `{u8 2, u8 1, u16 10}` (reference vtpm.md §5).
const SWTPM_HEADER: [u8; 4] = [0x02, 0x01, 0x00, 0x0A];

/// State directory failures; messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// The directory cannot be used.
    #[error("state directory {path}: {source}")]
    Dir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Another process holds the lock.
    #[error("state directory {0} is in use by another process (lock file .lock is held)")]
    Locked(PathBuf),
    /// Reading or writing one file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file that is too big to be ours.
    #[error("{path}: file is {size} bytes, larger than any state we write ({MAX_FILE})")]
    TooBig {
        /// File.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Encryption at rest (`--key`).
    #[error(transparent)]
    Crypt(#[from] crate::crypt::CryptError),
    /// A swtpm state file.
    #[error(
        "{0}: written by swtpm/libtpms; import is not supported (move the directory away or start with an empty one)"
    )]
    Swtpm(PathBuf),
}

/// An open, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    dirfd: OwnedFd,
    mode: Mode,
    key: Option<StateKey>,
    _lock: OwnedFd,
}

fn io_err(path: &Path, e: impl Into<std::io::Error>) -> StateDirError {
    StateDirError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

impl StateDir {
    /// Opens (creating it 0700 if missing) and locks `dir`. `mode` is the file mode asked for on
    /// the command line; bits for others are always removed.
    pub fn open(
        dir: &Path,
        mode: Option<u32>,
        key: Option<StateKey>,
    ) -> Result<StateDir, StateDirError> {
        let derr = |e: std::io::Error| StateDirError::Dir {
            path: dir.to_path_buf(),
            source: e,
        };
        match rustix::fs::mkdir(dir, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(derr(e.into())),
        }
        let dirfd = rustix::fs::open(
            dir,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| derr(e.into()))?;
        let mode = Mode::from_raw_mode(mode.unwrap_or(0o600) & 0o770);
        let lock_path = dir.join(".lock");
        let lock = rustix::fs::openat(
            &dirfd,
            ".lock",
            OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io_err(&lock_path, e))?;
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(StateDirError::Locked(dir.to_path_buf()));
            }
            Err(e) => return Err(io_err(&lock_path, e)),
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
            dirfd,
            mode,
            key,
            _lock: lock,
        })
    }

    /// True if files are encrypted (`--key`).
    pub fn encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Full path of a file in the directory (for messages).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads a state file; `None` if it does not exist. Refuses swtpm files and oversized files.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StateDirError> {
        let path = self.path(name);
        let fd = match rustix::fs::openat(
            &self.dirfd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let size = rustix::fs::fstat(&fd)
            .map_err(|e| io_err(&path, e))?
            .st_size as u64;
        if size > MAX_FILE {
            return Err(StateDirError::TooBig { path, size });
        }
        let mut file = std::fs::File::from(fd);
        let mut buf = Vec::with_capacity(size as usize);
        Read::by_ref(&mut file)
            .take(MAX_FILE)
            .read_to_end(&mut buf)
            .map_err(|e| io_err(&path, e))?;
        if buf.starts_with(&SWTPM_HEADER) {
            return Err(StateDirError::Swtpm(path));
        }
        match &self.key {
            Some(k) => Ok(Some(k.open(name, path, &buf)?)),
            None if crypt::is_encrypted(&buf) => Err(crypt::CryptError::NeedKey(path).into()),
            None => Ok(Some(buf)),
        }
    }

    /// Atomically replaces `name` with `data`.
    pub fn write(&self, name: &str, data: &[u8]) -> Result<(), StateDirError> {
        let path = self.path(name);
        let sealed;
        let data = match &self.key {
            Some(k) => {
                sealed = k.seal(name, data)?;
                &sealed[..]
            }
            None => data,
        };
        let tmp = format!(".{name}.tmp");
        // A stale temp file from a crash is ours to replace.
        let _ = rustix::fs::unlinkat(&self.dirfd, tmp.as_str(), rustix::fs::AtFlags::empty());
        let fd = rustix::fs::openat(
            &self.dirfd,
            tmp.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            self.mode,
        )
        .map_err(|e| io_err(&self.path(&tmp), e))?;
        // umask may have narrowed the mode; never widen beyond what was asked.
        rustix::fs::fchmod(&fd, self.mode).map_err(|e| io_err(&path, e))?;
        let mut file = std::fs::File::from(fd);
        let res = file.write_all(data).and_then(|()| file.sync_all());
        if let Err(e) = res {
            let _ = rustix::fs::unlinkat(&self.dirfd, tmp.as_str(), rustix::fs::AtFlags::empty());
            return Err(io_err(&path, e));
        }
        rustix::fs::renameat(&self.dirfd, tmp.as_str(), &self.dirfd, name)
            .map_err(|e| io_err(&path, e))?;
        rustix::fs::fsync(self.dirfd.as_fd()).map_err(|e| io_err(&self.dir, e))?;
        Ok(())
    }

    /// Removes `name` if present.
    pub fn remove(&self, name: &str) -> Result<(), StateDirError> {
        match rustix::fs::unlinkat(&self.dirfd, name, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(io_err(&self.path(name), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_read_mode_and_lock() {
        let t = tempfile::tempdir().unwrap();
        let d = StateDir::open(t.path(), None, None).unwrap();
        assert!(d.read(PERMALL).unwrap().is_none());
        d.write(PERMALL, b"one").unwrap();
        d.write(PERMALL, b"two").unwrap();
        assert_eq!(d.read(PERMALL).unwrap().unwrap(), b"two");
        let m = std::fs::metadata(t.path().join(PERMALL))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600);
        assert!(matches!(
            StateDir::open(t.path(), None, None),
            Err(StateDirError::Locked(_))
        ));
        d.remove(PERMALL).unwrap();
        d.remove(PERMALL).unwrap();
        drop(d);
        let d = StateDir::open(t.path(), Some(0o644), None).unwrap();
        d.write(VOLATILE, b"v").unwrap();
        let m = std::fs::metadata(t.path().join(VOLATILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o007, 0, "never readable by others");
    }

    #[test]
    fn encrypted_files_and_mismatches() {
        let t = tempfile::tempdir().unwrap();
        let key = || Some(StateKey::from_bytes(&[1; 32]).unwrap());
        let d = StateDir::open(t.path(), None, key()).unwrap();
        d.write(PERMALL, b"TLVp secret").unwrap();
        let raw = std::fs::read(t.path().join(PERMALL)).unwrap();
        assert!(raw.starts_with(b"TLVe") && !raw.windows(6).any(|w| w == b"secret"));
        assert_eq!(d.read(PERMALL).unwrap().unwrap(), b"TLVp secret");
        drop(d);
        let d = StateDir::open(t.path(), None, None).unwrap();
        let e = d.read(PERMALL).unwrap_err().to_string();
        assert!(e.contains("is encrypted"), "{e}");
        d.write(VOLATILE, b"TLVv plain").unwrap();
        drop(d);
        let d = StateDir::open(t.path(), None, key()).unwrap();
        let e = d.read(VOLATILE).unwrap_err().to_string();
        assert!(e.contains("not encrypted"), "{e}");
        drop(d);
        let d = StateDir::open(
            t.path(),
            None,
            Some(StateKey::from_bytes(&[2; 32]).unwrap()),
        )
        .unwrap();
        let e = d.read(PERMALL).unwrap_err().to_string();
        assert!(e.contains("wrong key or tampered"), "{e}");
        assert_eq!(
            std::fs::read(t.path().join(PERMALL)).unwrap(),
            raw,
            "left untouched"
        );
    }

    #[test]
    fn refuses_swtpm_and_symlinks() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join(PERMALL),
            [2, 1, 0, 0x0a, 0, 0, 0, 0, 0x17, 0x6f],
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.path().join(VOLATILE)).unwrap();
        let d = StateDir::open(t.path(), None, None).unwrap();
        let e = d.read(PERMALL).unwrap_err().to_string();
        assert!(
            e.contains("tpm2-00.permall") && e.contains("swtpm/libtpms"),
            "{e}"
        );
        assert!(d.read(VOLATILE).is_err());
    }
}
