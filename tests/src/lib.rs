//! Shared harness for the cross-crate and VM tests in `tests/tests/`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use launch::report::hex;
use launch::{BootReport, Pcrs};

/// Serialises VM boots across the tests of one binary: TCG boots on a 2-core host must not overlap.
static VM_LOCK: Mutex<()> = Mutex::new(());

/// Takes the VM lock (a failed test does not poison it for the others).
pub fn vm_lock() -> MutexGuard<'static, ()> {
    VM_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tl-vtpm binary: `$TL_VTPM_BIN`, else `target/<profile>/tl-vtpm` next to the test executable
/// (`target/<profile>/deps/<test>`).
pub fn tl_vtpm_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TL_VTPM_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("TL_VTPM_BIN={} does not exist", p.display())) };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| if deps.ends_with("deps") { deps.parent() } else { Some(deps) })
        .ok_or_else(|| format!("unexpected test executable location {}", exe.display()))?;
    let p = profile_dir.join("tl-vtpm");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "tl-vtpm binary not found at {} (cargo test does not build other packages' binaries: \
             run `cargo build -p vtpm` with the same profile and target dir first, or set TL_VTPM_BIN)",
            p.display()
        ))
    }
}

/// Asserts that none of the processes a boot started is still alive.
pub fn assert_no_leftover_processes(r: &BootReport) {
    assert!(!r.pids.is_empty(), "boot report lists no processes");
    for (name, pid) in &r.pids {
        assert!(!launch::guard::pid_alive(*pid), "{name} (pid {pid}) is still running after the boot returned");
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
