//! Starting a vTPM with swtpm's command line: swtpm itself or tl-vtpm as a drop-in.

use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::boot::LaunchError;
use crate::guard::ChildGuard;

/// Which vTPM implementation to run. Both get the same argument vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VtpmKind {
    /// `swtpm` from `$PATH` (Debian package `swtpm`).
    Swtpm,
    /// `tl-vtpm` at this path.
    TlVtpm(PathBuf),
}

impl VtpmKind {
    /// Program to execute.
    pub fn program(&self) -> PathBuf {
        match self {
            Self::Swtpm => PathBuf::from("swtpm"),
            Self::TlVtpm(p) => p.clone(),
        }
    }

    /// Short name for messages.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Swtpm => "swtpm",
            Self::TlVtpm(_) => "tl-vtpm",
        }
    }
}

/// Files of one vTPM instance inside the VM's work directory.
#[derive(Debug, Clone)]
pub struct VtpmPaths {
    /// `--tpmstate dir=`.
    pub state_dir: PathBuf,
    /// `--ctrl type=unixio,path=` (QEMU connects here).
    pub ctrl_socket: PathBuf,
    /// `--log file=`.
    pub log: PathBuf,
    /// `--pid file=`.
    pub pid_file: PathBuf,
}

impl VtpmPaths {
    /// The layout used under `work`.
    pub fn under(work: &Path) -> Self {
        Self {
            state_dir: work.join("tpmstate"),
            ctrl_socket: work.join("vtpm-sock"),
            log: work.join("vtpm.log"),
            pid_file: work.join("vtpm.pid"),
        }
    }
}

/// The swtpm argument vector of reference/boot-chain.md §10 (after the program name).
pub fn vtpm_args(p: &VtpmPaths) -> Vec<OsString> {
    let kv = |k: &str, v: &Path| {
        let mut s = OsString::from(k);
        s.push(v.as_os_str());
        s
    };
    let mut log = kv("file=", &p.log);
    log.push(",level=20");
    vec![
        "socket".into(),
        "--tpm2".into(),
        "--tpmstate".into(),
        kv("dir=", &p.state_dir),
        "--ctrl".into(),
        kv("type=unixio,path=", &p.ctrl_socket),
        "--terminate".into(),
        "--log".into(),
        log,
        "--pid".into(),
        kv("file=", &p.pid_file),
    ]
}

/// Starts the vTPM and waits (up to `timeout`) for its control socket to appear.
pub fn start(kind: &VtpmKind, p: &VtpmPaths, timeout: Duration) -> Result<ChildGuard, LaunchError> {
    std::fs::create_dir_all(&p.state_dir).map_err(LaunchError::io("create", &p.state_dir))?;
    // vTPM state holds secrets: owner-only.
    std::fs::set_permissions(&p.state_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(LaunchError::io("chmod", &p.state_dir))?;
    let program = kind.program();
    let child = Command::new(&program)
        .args(vtpm_args(p))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match (e.kind(), kind) {
            (std::io::ErrorKind::NotFound, VtpmKind::Swtpm) => LaunchError::ToolMissing {
                tool: "swtpm".into(),
                package: "swtpm",
            },
            (std::io::ErrorKind::NotFound, VtpmKind::TlVtpm(p)) => {
                LaunchError::VtpmBinaryMissing(p.clone())
            }
            _ => LaunchError::Spawn {
                program: program.display().to_string(),
                source: e,
            },
        })?;
    let mut guard = ChildGuard::new(kind.label(), child);
    let deadline = Instant::now() + timeout;
    loop {
        if std::fs::symlink_metadata(&p.ctrl_socket).is_ok_and(|m| m.file_type().is_socket()) {
            return Ok(guard);
        }
        if let Some(status) = guard.try_wait() {
            let mut stderr = String::new();
            if let Some(mut e) = guard.child_mut().stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            let log = std::fs::read_to_string(&p.log).unwrap_or_default();
            return Err(LaunchError::VtpmExited {
                vtpm: kind.label(),
                status: status.to_string(),
                output: format!("{}{}", stderr.trim(), tail(&log, 2000)),
            });
        }
        if Instant::now() >= deadline {
            return Err(LaunchError::VtpmNoSocket {
                vtpm: kind.label(),
                socket: p.ctrl_socket.clone(),
                timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last `n` bytes of `s` (on a char boundary), prefixed with a newline when non-empty.
pub(crate) fn tail(s: &str, n: usize) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("\n{}", &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_vector_is_swtpms() {
        let p = VtpmPaths::under(Path::new("/w"));
        let a: Vec<String> = vtpm_args(&p)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a.join(" "),
            "socket --tpm2 --tpmstate dir=/w/tpmstate --ctrl type=unixio,path=/w/vtpm-sock --terminate \
             --log file=/w/vtpm.log,level=20 --pid file=/w/vtpm.pid"
        );
    }

    #[test]
    fn missing_binary_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = VtpmPaths::under(dir.path());
        let err = start(
            &VtpmKind::TlVtpm("/nonexistent/tl-vtpm".into()),
            &p,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/tl-vtpm"), "{err}");
    }

    #[test]
    fn real_swtpm_comes_up_and_is_killed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = VtpmPaths::under(dir.path());
        let g = start(&VtpmKind::Swtpm, &p, Duration::from_secs(10))
            .expect("swtpm (apt-get install swtpm)");
        let pid = g.pid();
        assert!(crate::guard::pid_alive(pid));
        drop(g);
        assert!(!crate::guard::pid_alive(pid));
    }
}
