//! Shared harness for the cross-crate and VM tests in `tests/tests/`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use launch::report::hex;
use launch::{BootOutcome, BootReport, Pcrs, Stage};

/// Serialises VM boots across the tests of one process (`cargo test`).
static VM_LOCK: Mutex<()> = Mutex::new(());

/// Held while a test boots VMs: TCG boots on a 2-core host must not overlap, neither between
/// threads (`cargo test`) nor between processes (`cargo nextest`, one process per test).
pub struct VmLock {
    _thread: MutexGuard<'static, ()>,
    _file: std::fs::File,
}

/// Takes the VM lock (a failed test does not poison it for the others).
pub fn vm_lock() -> VmLock {
    let thread = VM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = shared_dir().join("vm.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    VmLock {
        _thread: thread,
        _file: file,
    }
}

/// `target/<profile>/tl-vm-tests`: state shared by the test processes of one build.
fn shared_dir() -> PathBuf {
    let dir = profile_dir()
        .unwrap_or_else(|_| std::env::temp_dir())
        .join("tl-vm-tests");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    exe.parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .map(PathBuf::from)
        .ok_or_else(|| format!("unexpected test executable location {}", exe.display()))
}

/// Boots once per test run and shares the result between the tests that need it, also across
/// nextest's per-test processes (keyed by `NEXTEST_RUN_ID`, else this process). A report read back
/// from another process has no PIDs or milestones; its outcome, PCRs and log are the original's.
/// Call with the [`VmLock`] held.
pub fn shared_boot(name: &str, boot: impl FnOnce() -> BootReport) -> BootReport {
    let run =
        std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| format!("pid-{}", std::process::id()));
    let dir = shared_dir();
    let path = dir.join(format!("{name}-{run}.txt"));
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some((first, transcript)) = text.split_once('\n')
    {
        let lines: Vec<String> = transcript.lines().map(str::to_owned).collect();
        let (pcrs, event_log, parse_warnings) = launch::report::parse_guest_output(&lines);
        let outcome = match first.strip_prefix("outcome: ") {
            Some("booted") => BootOutcome::Booted,
            other => BootOutcome::Failed {
                last: Stage::Firmware,
                reason: other.unwrap_or(first).to_owned(),
            },
        };
        return BootReport {
            vtpm: "swtpm (shared)",
            outcome,
            milestones: Vec::new(),
            kernel_secure_boot: transcript.contains("secureboot: Secure boot enabled"),
            transcript: transcript.to_owned(),
            pcrs,
            event_log,
            elapsed: std::time::Duration::ZERO,
            pids: Vec::new(),
            vtpm_exit: None,
            parse_warnings,
        };
    }
    let r = boot();
    // Earlier runs' files are stale.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let first = if r.outcome == BootOutcome::Booted {
        "outcome: booted".to_owned()
    } else {
        format!("outcome: {}", r.outcome)
    };
    let _ = std::fs::write(&path, format!("{first}\n{}", r.transcript));
    r
}

/// The tl-vtpm binary: `$TL_VTPM_BIN`, else `target/<profile>/tl-vtpm` next to the test executable
/// (`target/<profile>/deps/<test>`).
pub fn tl_vtpm_bin() -> Result<PathBuf, String> {
    workspace_bin("tl-vtpm", "TL_VTPM_BIN", "vtpm")
}

/// The `tl` CLI: `$TL_BIN`, else `target/<profile>/tl` next to the test executable.
pub fn tl_bin() -> Result<PathBuf, String> {
    workspace_bin("tl", "TL_BIN", "tl-cli")
}

/// Another package's binary `name`: `$env` if set, else the one built into this test's profile
/// directory (cargo does not build other packages' binaries for a test).
fn workspace_bin(name: &str, env: &str, package: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{env}={} does not exist", p.display()))
        };
    }
    let p = profile_dir()?.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{name} binary not found at {} (cargo test does not build other packages' binaries: \
             run `cargo build -p {package}` with the same profile and target dir first, or set {env})",
            p.display()
        ))
    }
}

/// Asserts that none of the processes a boot started is still alive.
pub fn assert_no_leftover_processes(r: &BootReport) {
    assert!(!r.pids.is_empty(), "boot report lists no processes");
    for (name, pid) in &r.pids {
        assert!(
            !launch::guard::pid_alive(*pid),
            "{name} (pid {pid}) is still running after the boot returned"
        );
    }
}

/// PCR indices compared between boots and against the reference: firmware, boot manager,
/// shim/grub/kernel, Secure Boot policy, grub's commands and files, and shim's MOK state.
pub const COMPARED_PCRS: [u32; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];

/// Lists the differences between two boots' PCRs (empty when equal), for both banks.
pub fn pcr_differences(a: &Pcrs, b: &Pcrs, pcrs: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    for (bank, x, y) in [("sha1", &a.sha1, &b.sha1), ("sha256", &a.sha256, &b.sha256)] {
        for &i in pcrs {
            match (x.get(i), y.get(i)) {
                (Some(p), Some(q)) if p == q => {}
                (p, q) => out.push(format!(
                    "{bank} PCR{i}: {} vs {}",
                    p.map(hex).unwrap_or_else(|| "missing".into()),
                    q.map(hex).unwrap_or_else(|| "missing".into())
                )),
            }
        }
    }
    out
}

/// The last `n` lines of a transcript, for failure messages.
pub fn transcript_tail(r: &BootReport, n: usize) -> String {
    let lines: Vec<&str> = r.transcript.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
