//! One VM boot: build the image, start the vTPM and QEMU, watch the console, stop everything.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use image::{DebianArtifacts, EspSpec, OvmfFiles};

use crate::console::{ConsoleEvent, ConsoleWatcher, Stage};
use crate::guard::ChildGuard;
use crate::qemu::{QemuSpec, qemu_args};
use crate::report::{BootOutcome, BootReport, parse_guest_output};
use crate::vtpm::{VtpmKind, VtpmPaths, tail};

/// Why a boot could not be attempted (a refused or failed boot is a [`BootOutcome`], not this).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A host program is not installed.
    #[error("`{tool}` not found: install the Debian package `{package}`")]
    ToolMissing {
        /// Program.
        tool: String,
        /// Debian package providing it.
        package: &'static str,
    },
    /// The tl-vtpm binary does not exist.
    #[error("tl-vtpm binary {0} not found (build it with `cargo build -p vtpm`)")]
    VtpmBinaryMissing(PathBuf),
    /// A program could not be started.
    #[error("start {program}: {source}")]
    Spawn {
        /// Program.
        program: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The vTPM exited before opening its control socket.
    #[error("{vtpm} exited during start-up ({status}): {output}")]
    VtpmExited {
        /// Which vTPM.
        vtpm: &'static str,
        /// Exit status.
        status: String,
        /// Its stderr and log tail.
        output: String,
    },
    /// The vTPM did not create its control socket in time.
    #[error("{vtpm} did not create {socket} within {timeout:?}")]
    VtpmNoSocket {
        /// Which vTPM.
        vtpm: &'static str,
        /// Expected socket.
        socket: PathBuf,
        /// How long we waited.
        timeout: Duration,
    },
    /// Boot artifacts unavailable.
    #[error(transparent)]
    Fetch(#[from] image::FetchError),
    /// ESP build failed.
    #[error(transparent)]
    Esp(#[from] image::EspError),
    /// initrd build failed.
    #[error(transparent)]
    Initrd(#[from] image::InitrdError),
    /// The kernel could not be unsigned.
    #[error("kernel: {0}")]
    Pe(#[from] image::PeError),
    /// Filesystem error in the work directory.
    #[error("{what} {path}: {source}")]
    Io {
        /// Operation.
        what: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl LaunchError {
    pub(crate) fn io(
        what: &'static str,
        path: &Path,
    ) -> impl FnOnce(std::io::Error) -> Self + use<> {
        let path = path.to_owned();
        move |source| Self::Io { what, path, source }
    }
}

/// Which Secure Boot keys the firmware's variable store starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmwareKeys {
    /// `OVMF_VARS_4M.ms.fd`: Debian PK, Microsoft KEK and UEFI CA 2011 in db (shim passes).
    Microsoft,
    /// `OVMF_VARS_4M.snakeoil.fd`: only the SnakeOil test key; the firmware refuses shim.
    Snakeoil,
}

/// Files that replace Debian's defaults: a chain signed with the operator's own keys and the
/// variable store those keys are enrolled in (`tl secureboot sign` / `tl secureboot enroll`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomChain {
    /// OVMF VARS file to start from, instead of the one [`FirmwareKeys`] names.
    pub vars: Option<PathBuf>,
    /// shim (or any first-stage EFI application) for `EFI/BOOT/BOOTX64.EFI`.
    pub shim: Option<PathBuf>,
    /// grub for `EFI/BOOT/grubx64.efi`.
    pub grub: Option<PathBuf>,
    /// The kernel (`/vmlinuz`).
    pub kernel: Option<PathBuf>,
}

/// What to boot and how.
#[derive(Debug, Clone)]
pub struct BootConfig {
    /// The vTPM implementation.
    pub vtpm: VtpmKind,
    /// Secure Boot on (secboot firmware + Microsoft/Debian variables) or off.
    pub secure_boot: bool,
    /// Secure Boot keys (ignored with Secure Boot off).
    pub keys: FirmwareKeys,
    /// Flip one signed byte of grub (negative test: shim must refuse it).
    pub tamper_grub: bool,
    /// Remove the kernel's Authenticode signature (negative test: grub must refuse it).
    pub unsigned_kernel: bool,
    /// Operator-supplied files replacing Debian's (applied before tampering/stripping).
    pub custom: CustomChain,
    /// Give up (and stop the VM) after this long.
    pub timeout: Duration,
    /// After a refusal, keep reading the console this long before stopping the VM.
    pub refusal_grace: Duration,
    /// Guest memory in MiB.
    pub memory_mib: u32,
}

impl BootConfig {
    /// Secure Boot on, unmodified image, 300 s limit.
    pub fn new(vtpm: VtpmKind) -> Self {
        Self {
            vtpm,
            secure_boot: true,
            keys: FirmwareKeys::Microsoft,
            tamper_grub: false,
            unsigned_kernel: false,
            custom: CustomChain::default(),
            timeout: Duration::from_secs(300),
            refusal_grace: Duration::from_millis(500),
            memory_mib: 1024,
        }
    }
}

impl BootConfig {
    /// The stage Secure Boot must refuse with this configuration, or `None` if it must boot.
    /// With a [`CustomChain`] only the caller knows what its keys allow, so this describes the
    /// built-in variations alone.
    pub fn expected_refusal(&self) -> Option<Stage> {
        if !self.secure_boot {
            None
        } else if self.keys == FirmwareKeys::Snakeoil {
            Some(Stage::Shim)
        } else if self.tamper_grub {
            Some(Stage::Grub)
        } else if self.unsigned_kernel {
            Some(Stage::Kernel)
        } else {
            None
        }
    }
}

/// Progress notifications during [`boot_with_progress`].
#[derive(Debug, Clone)]
pub enum Progress {
    /// A preparation step.
    Step(String),
    /// A boot stage was reached, at this time after QEMU started.
    Reached(Stage, Duration),
    /// A clean console line.
    Console(String),
}

/// The files a boot puts on the ESP and the firmware it starts, as [`boot`] uses them (a
/// verifier predicts PCRs from exactly these).
#[derive(Debug, Clone)]
pub struct BootFiles {
    /// shim (`EFI/BOOT/BOOTX64.EFI`).
    pub shim: Vec<u8>,
    /// grub (`EFI/BOOT/grubx64.efi`), before any tampering.
    pub grub: Vec<u8>,
    /// `EFI/debian/grub.cfg`.
    pub grub_cfg: &'static str,
    /// `/vmlinuz`.
    pub kernel: Vec<u8>,
    /// `/initrd.gz`.
    pub initrd: Vec<u8>,
    /// The OVMF code image.
    pub code: PathBuf,
    /// The VARS template the VM's variable store is copied from.
    pub vars: PathBuf,
}

/// Fetches and builds what [`boot`] boots for `cfg`.
pub fn boot_files(cfg: &BootConfig, ovmf: &OvmfFiles) -> Result<BootFiles, LaunchError> {
    let art = DebianArtifacts::fetch()?;
    let read = |p: &Path| std::fs::read(p).map_err(LaunchError::io("read", p));
    let initrd = image::build_initrd(&read(&art.busybox)?, image::INIT_SCRIPT)?;
    let c = &cfg.custom;
    let mut kernel = read(c.kernel.as_deref().unwrap_or(&art.kernel))?;
    if cfg.unsigned_kernel {
        kernel = image::strip_signature(&kernel)?;
    }
    let (code, vars) = match (cfg.secure_boot, cfg.keys) {
        (true, FirmwareKeys::Microsoft) => (&ovmf.code_secboot, &ovmf.vars_ms),
        (true, FirmwareKeys::Snakeoil) => (&ovmf.code_secboot, &ovmf.vars_snakeoil),
        (false, _) => (&ovmf.code, &ovmf.vars_blank),
    };
    Ok(BootFiles {
        shim: read(c.shim.as_deref().unwrap_or(&art.shim))?,
        grub: read(c.grub.as_deref().unwrap_or(&art.grub))?,
        grub_cfg: image::GRUB_CFG,
        kernel,
        initrd,
        code: code.clone(),
        vars: c.vars.clone().unwrap_or_else(|| vars.clone()),
    })
}

/// Boots once; see [`boot_with_progress`].
pub fn boot(cfg: &BootConfig) -> Result<BootReport, LaunchError> {
    boot_with_progress(cfg, &mut |_| {})
}

/// Builds the image from Debian's signed artifacts, boots it under QEMU with the chosen vTPM,
/// and returns what the console showed. All processes are stopped and reaped before returning.
pub fn boot_with_progress(
    cfg: &BootConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<BootReport, LaunchError> {
    require_tool("qemu-system-x86_64", "qemu-system-x86")?;
    let ovmf = OvmfFiles::locate()?;
    progress(Progress::Step(format!(
        "fetching Debian artifacts into {}",
        image::cache_dir().join("debian").display()
    )));
    let files = boot_files(cfg, &ovmf)?;
    let work = tempfile::Builder::new()
        .prefix("tl-vm-")
        .tempdir()
        .map_err(LaunchError::io("create temp dir in", &std::env::temp_dir()))?;
    let w = work.path();
    progress(Progress::Step(format!(
        "building initrd and ESP in {}",
        w.display()
    )));
    let esp = w.join("esp.img");
    image::build_esp(
        &esp,
        &EspSpec {
            shim: &files.shim,
            grub: &files.grub,
            grub_cfg: files.grub_cfg,
            kernel: &files.kernel,
            initrd: &files.initrd,
            tamper_grub_at: cfg.tamper_grub.then_some(image::GRUB_TAMPER_OFFSET),
        },
    )?;
    let (code, vars_src) = (&files.code, &files.vars);
    let vars = w.join("vars.fd");
    std::fs::copy(vars_src, &vars).map_err(LaunchError::io("copy", vars_src))?;
    std::fs::set_permissions(&vars, std::fs::Permissions::from_mode(0o600))
        .map_err(LaunchError::io("chmod", &vars))?;

    let vp = VtpmPaths::under(w);
    progress(Progress::Step(format!(
        "starting {} ({})",
        cfg.vtpm.label(),
        cfg.vtpm.program().display()
    )));
    let mut vtpm = crate::vtpm::start(&cfg.vtpm, &vp, Duration::from_secs(10))?;
    let spec = QemuSpec {
        code: code.clone(),
        vars,
        secure_boot: cfg.secure_boot,
        vtpm_socket: vp.ctrl_socket.clone(),
        esp,
        pid_file: w.join("qemu.pid"),
        memory_mib: cfg.memory_mib,
    };
    let qemu_err_path = w.join("qemu.stderr");
    let qemu_err =
        std::fs::File::create(&qemu_err_path).map_err(LaunchError::io("create", &qemu_err_path))?;
    progress(Progress::Step(
        "starting qemu-system-x86_64 (TCG; a Secure Boot boot takes about 15 s)".into(),
    ));
    let child = Command::new("qemu-system-x86_64")
        .args(qemu_args(&spec))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(qemu_err)
        .spawn()
        .map_err(|e| LaunchError::Spawn {
            program: "qemu-system-x86_64".into(),
            source: e,
        })?;
    let started = Instant::now();
    let mut qemu = ChildGuard::new("qemu", child);
    let pids = vec![("qemu", qemu.pid()), (vtpm.name(), vtpm.pid())];

    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let mut stdout = qemu
        .child_mut()
        .stdout
        .take()
        .ok_or_else(|| LaunchError::Spawn {
            program: "qemu-system-x86_64".into(),
            source: std::io::Error::other("no stdout pipe"),
        })?;
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut st = BootState::new();
    let mut stop_at: Option<Instant> = None;
    let deadline = started + cfg.timeout;
    let mut vtpm_died: Option<String> = None;
    loop {
        let now = Instant::now();
        if let Some(t) = stop_at
            && now >= t
        {
            break;
        }
        if qemu.try_wait().is_some() {
            break;
        }
        if now >= deadline {
            let last = st.last();
            st.outcome.get_or_insert(BootOutcome::TimedOut {
                last,
                after: cfg.timeout,
            });
            break;
        }
        if !st.done_seen
            && vtpm_died.is_none()
            && let Some(status) = vtpm.try_wait()
        {
            vtpm_died = Some(format!(
                "{} exited ({status}) while the VM ran{}",
                vtpm.name(),
                tail(&std::fs::read_to_string(&vp.log).unwrap_or_default(), 1500)
            ));
            // Give QEMU a moment to report the lost TPM, then stop it.
            stop_at.get_or_insert(Instant::now() + Duration::from_secs(2));
        }
        let wait = deadline
            .saturating_duration_since(now)
            .min(Duration::from_millis(100));
        match rx.recv_timeout(wait) {
            Ok((at, bytes)) => {
                st.handle(at.saturating_duration_since(started), &bytes, progress);
                if st.outcome.is_some() && stop_at.is_none() {
                    stop_at = Some(Instant::now() + cfg.refusal_grace);
                }
                if st.done_seen && stop_at.is_none() {
                    // `/init` syncs and powers off right away; -no-reboot makes QEMU exit.
                    stop_at = Some(Instant::now() + Duration::from_secs(20));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed: QEMU is exiting.
                if qemu.wait_timeout(Duration::from_secs(5)).is_none() {
                    break;
                }
            }
        }
    }
    let qemu_status = qemu.kill();
    let elapsed = started.elapsed();
    // Whatever QEMU printed before it went.
    let _ = reader.join();
    while let Ok((at, bytes)) = rx.try_recv() {
        st.handle(at.saturating_duration_since(started), &bytes, progress);
    }
    let transcript = st.watcher.transcript();
    // With --terminate the vTPM exits once QEMU closes the control channel.
    let vtpm_exit = vtpm
        .wait_timeout(Duration::from_secs(5))
        .map(|s| s.to_string());
    vtpm.kill();

    let last = st.last();
    let outcome = match st.outcome {
        Some(o) => o,
        None if st.done_seen => BootOutcome::Booted,
        None => {
            let stderr = std::fs::read_to_string(&qemu_err_path).unwrap_or_default();
            let reason = vtpm_died.unwrap_or_else(|| {
                format!(
                    "qemu exited ({}) before /init finished{}",
                    qemu_status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "unknown status".into()),
                    tail(&stderr, 2000)
                )
            });
            BootOutcome::Failed { last, reason }
        }
    };
    let (pcrs, event_log, parse_warnings) = parse_guest_output(st.watcher.lines());
    Ok(BootReport {
        vtpm: cfg.vtpm.label(),
        outcome,
        milestones: st.milestones,
        transcript,
        pcrs,
        event_log,
        kernel_secure_boot: st.kernel_sb,
        elapsed,
        pids,
        vtpm_exit,
        parse_warnings,
    })
}

/// What the console has shown so far.
struct BootState {
    watcher: ConsoleWatcher,
    milestones: Vec<(Stage, Duration)>,
    kernel_sb: bool,
    outcome: Option<BootOutcome>,
    done_seen: bool,
}

impl BootState {
    fn new() -> Self {
        Self {
            watcher: ConsoleWatcher::new(),
            milestones: vec![(Stage::Firmware, Duration::ZERO)],
            kernel_sb: false,
            outcome: None,
            done_seen: false,
        }
    }

    fn last(&self) -> Stage {
        self.milestones
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(Stage::Firmware)
    }

    /// Feeds serial bytes read `at` after QEMU started.
    fn handle(&mut self, at: Duration, bytes: &[u8], progress: &mut dyn FnMut(Progress)) {
        let (lines, events) = self.watcher.feed(bytes);
        for l in lines {
            progress(Progress::Console(l));
        }
        for ev in events {
            let last = self.last();
            match ev {
                ConsoleEvent::Reached(s) => {
                    // After a refusal the firmware tries other boot options: not progress.
                    if self.outcome.is_none() && !self.milestones.iter().any(|(m, _)| *m == s) {
                        self.milestones.push((s, at));
                        progress(Progress::Reached(s, at));
                    }
                    if s == Stage::Done {
                        self.done_seen = true;
                    }
                }
                ConsoleEvent::KernelSecureBoot => self.kernel_sb = true,
                ConsoleEvent::Refused { stage, line } => {
                    self.outcome.get_or_insert(BootOutcome::Refused {
                        stage,
                        evidence: line,
                    });
                }
                ConsoleEvent::Stuck(line) => {
                    self.outcome.get_or_insert(BootOutcome::Refused {
                        stage: last.next(),
                        evidence: line,
                    });
                }
                ConsoleEvent::Panic(line) => {
                    self.outcome
                        .get_or_insert(BootOutcome::Failed { last, reason: line });
                }
            }
        }
    }
}

fn require_tool(tool: &str, package: &'static str) -> Result<(), LaunchError> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        Err(LaunchError::ToolMissing {
            tool: tool.into(),
            package,
        })
    }
}
