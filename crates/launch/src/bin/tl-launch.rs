//! `tl-launch`: build a Secure Boot node image from Debian's signed packages and boot it under
//! QEMU with a vTPM (swtpm or tl-vtpm), then print what the guest measured.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use launch::report::hex;
use launch::{BootConfig, BootOutcome, BootReport, FirmwareKeys, Progress, Stage, VtpmKind};

#[derive(Parser)]
#[command(
    name = "tl-launch",
    version,
    about = "Boot a Secure Boot VM (shim → grub → Linux) measured into a vTPM, and report its PCRs",
    long_about = "Boot a Secure Boot VM measured into a vTPM and report what it measured.\n\n\
        The image is built from Debian bookworm's signed shim, grub and kernel (fetched once with \
        `apt-get download` into $TL_CACHE_DIR, $XDG_CACHE_HOME/tl or ~/.cache/tl) plus a busybox \
        initrd whose /init prints the PCRs and the TCG event log. QEMU runs q35 + SMM + OVMF \
        (Debian `ovmf`, Microsoft keys) under TCG: a boot takes about 15 s.\n\n\
        Needs the Debian packages qemu-system-x86, ovmf, and swtpm (for --vtpm swtpm)."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the image and boot it once.
    ///
    /// Exit status: 0 when the outcome is the expected one (a complete boot; or, with --tamper-grub,
    /// --unsigned-kernel or --keys snakeoil under Secure Boot, the refusal of that stage; with your
    /// own --vars/--shim/--grub/--kernel, the refusal named by --expect-refusal), 2 for any other
    /// outcome, 1 when the boot could not be attempted.
    Boot(BootArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum VtpmChoice {
    /// The project's memory-safe vTPM daemon.
    TlVtpm,
    /// swtpm from $PATH, the reference implementation.
    Swtpm,
}

#[derive(Clone, Copy, ValueEnum)]
enum Keys {
    /// Debian PK, Microsoft KEK and UEFI CA 2011 (OVMF_VARS_4M.ms.fd): Debian's shim boots.
    Microsoft,
    /// Only the SnakeOil test key (OVMF_VARS_4M.snakeoil.fd): the firmware must refuse shim.
    Snakeoil,
}

#[derive(Clone, Copy, ValueEnum)]
enum RefusedStage {
    /// The firmware refuses the first stage.
    Shim,
    /// shim refuses grub.
    Grub,
    /// grub (through shim) refuses the kernel.
    Kernel,
}

#[derive(clap::Args)]
struct BootArgs {
    /// Which vTPM serves the VM (both get the same swtpm command line).
    #[arg(long, value_enum, default_value = "tl-vtpm")]
    vtpm: VtpmChoice,
    /// Path of the tl-vtpm binary [default: `tl-vtpm` next to this program, else $PATH].
    #[arg(long, value_name = "PATH")]
    tl_vtpm_bin: Option<PathBuf>,
    /// Boot with Secure Boot off (OVMF_CODE_4M.fd + empty OVMF_VARS_4M.fd, no SMM).
    #[arg(long)]
    no_secure_boot: bool,
    /// Secure Boot keys enrolled in the VM's variable store.
    #[arg(long, value_enum, default_value = "microsoft")]
    keys: Keys,
    /// Flip one signed byte of grub (offset 0x11d000): shim must refuse it.
    #[arg(long)]
    tamper_grub: bool,
    /// Strip the kernel's signature: grub (through shim) must refuse it.
    #[arg(long)]
    unsigned_kernel: bool,
    /// Start from this OVMF VARS file instead of --keys' (e.g. one written by
    /// `tl secureboot enroll` with your own PK/KEK/db).
    #[arg(long, value_name = "FILE")]
    vars: Option<PathBuf>,
    /// Boot this first stage instead of Debian's shim (e.g. signed by `tl secureboot sign`).
    #[arg(long, value_name = "FILE")]
    shim: Option<PathBuf>,
    /// Use this grub instead of Debian's signed grub.
    #[arg(long, value_name = "FILE")]
    grub: Option<PathBuf>,
    /// Use this kernel instead of Debian's signed kernel.
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// With your own files: the stage Secure Boot must refuse (exit 0 only if it does);
    /// without it a complete boot is expected.
    #[arg(long, value_enum, value_name = "STAGE")]
    expect_refusal: Option<RefusedStage>,
    /// Save the event log here [default: <cache>/last-boot/eventlog.bin].
    #[arg(long, value_name = "FILE")]
    keep_log: Option<PathBuf>,
    /// Echo the serial console while booting.
    #[arg(long, short)]
    console: bool,
    /// Stop the VM after this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    timeout: u64,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(2),
        Err(e) => {
            eprintln!("tl-launch: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let Cmd::Boot(args) = Cli::parse().cmd;
    let vtpm = match args.vtpm {
        VtpmChoice::Swtpm => VtpmKind::Swtpm,
        VtpmChoice::TlVtpm => VtpmKind::TlVtpm(match args.tl_vtpm_bin {
            Some(p) => p,
            None => default_tl_vtpm()?,
        }),
    };
    let mut cfg = BootConfig::new(vtpm);
    cfg.secure_boot = !args.no_secure_boot;
    cfg.tamper_grub = args.tamper_grub;
    cfg.unsigned_kernel = args.unsigned_kernel;
    cfg.keys = match args.keys {
        Keys::Microsoft => FirmwareKeys::Microsoft,
        Keys::Snakeoil => FirmwareKeys::Snakeoil,
    };
    cfg.custom = launch::CustomChain {
        vars: args.vars,
        shim: args.shim,
        grub: args.grub,
        kernel: args.kernel,
    };
    cfg.timeout = Duration::from_secs(args.timeout);
    let expected = match args.expect_refusal {
        Some(RefusedStage::Shim) => Some(Stage::Shim),
        Some(RefusedStage::Grub) => Some(Stage::Grub),
        Some(RefusedStage::Kernel) => Some(Stage::Kernel),
        None if cfg.custom != launch::CustomChain::default() => None,
        None => cfg.expected_refusal(),
    };
    let echo = args.console;
    let report = launch::boot_with_progress(&cfg, &mut |p| match p {
        Progress::Step(s) => eprintln!("==> {s}"),
        Progress::Reached(stage, at) => eprintln!("  [{:6.2}s] {stage} started", at.as_secs_f64()),
        Progress::Console(l) if echo => eprintln!("  | {l}"),
        Progress::Console(_) => {}
    })?;
    print_report(&report);
    match expected {
        Some(stage) => println!("expected:  Secure Boot refuses {stage}\n"),
        None => println!("expected:  a complete boot\n"),
    }
    let dir = image::cache_dir().join("last-boot");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let console = dir.join("console.txt");
    std::fs::write(&console, &report.transcript)
        .with_context(|| format!("write {}", console.display()))?;
    println!("console transcript: {}", console.display());
    if !report.event_log.is_empty() {
        let path = args.keep_log.unwrap_or_else(|| dir.join("eventlog.bin"));
        std::fs::write(&path, &report.event_log)
            .with_context(|| format!("write {}", path.display()))?;
        println!("event log saved:    {}", path.display());
    }
    std::io::stdout().flush()?;
    Ok(match (&report.outcome, expected) {
        (BootOutcome::Booted, None) => true,
        (BootOutcome::Refused { stage, .. }, Some(want)) => *stage == want,
        _ => false,
    })
}

fn default_tl_vtpm() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locate tl-launch")?;
    if let Some(p) = exe
        .parent()
        .map(|d| d.join("tl-vtpm"))
        .filter(|p| p.is_file())
    {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("tl-vtpm"))
            .find(|p| p.is_file())
    }) {
        return Ok(p);
    }
    bail!(
        "tl-vtpm not found next to {} nor in $PATH: build it (`cargo build -p vtpm`), pass --tl-vtpm-bin, or use --vtpm swtpm",
        exe.display()
    )
}

fn print_report(r: &BootReport) {
    println!();
    println!("vTPM:      {}", r.vtpm);
    println!("outcome:   {}", r.outcome);
    println!("elapsed:   {:.2} s", r.elapsed.as_secs_f64());
    let stages: Vec<String> = r
        .milestones
        .iter()
        .map(|(s, d)| format!("{s} {:.1}s", d.as_secs_f64()))
        .collect();
    println!("stages:    {}", stages.join(" → "));
    println!(
        "kernel:    secure boot {}",
        if r.kernel_secure_boot {
            "enabled"
        } else {
            "NOT reported"
        }
    );
    if r.outcome == BootOutcome::Booted {
        let devices = r.tpm_devices();
        println!(
            "guest TPM: {}",
            if devices.is_empty() {
                "no /dev/tpm* device".to_owned()
            } else {
                devices.join(", ")
            }
        );
        for e in r.tpm_errors() {
            println!("TPM error: {e}");
        }
    }
    if let Some(s) = &r.vtpm_exit {
        println!("vTPM exit: {s}");
    }
    for w in &r.parse_warnings {
        println!("warning:   {w}");
    }
    if !r.pcrs.sha256.0.is_empty() || !r.pcrs.sha1.0.is_empty() {
        println!();
        println!("{:>4}  {:<64}  sha1", "PCR", "sha256");
        for i in 0..24 {
            let a = r.pcrs.sha256.get(i).map(hex).unwrap_or_else(|| "-".into());
            let b = r.pcrs.sha1.get(i).map(hex).unwrap_or_else(|| "-".into());
            println!("{i:>4}  {a:<64}  {b}");
        }
    }
    if !r.event_log.is_empty() {
        println!();
        println!(
            "event log: {} bytes, sha256 {}",
            r.event_log.len(),
            image::sha256_hex(&r.event_log)
        );
        match launch::summarize(&r.event_log) {
            Ok(s) => {
                let check = |name: &str, replay: &launch::PcrBank, read: &launch::PcrBank| {
                    let bad: Vec<u32> = replay
                        .0
                        .iter()
                        .filter(|(i, v)| read.get(**i) != Some(v.as_slice()))
                        .map(|(i, _)| *i)
                        .collect();
                    if bad.is_empty() {
                        println!(
                            "           {name} replay matches PCRs {:?}",
                            replay.0.keys().collect::<Vec<_>>()
                        );
                    } else {
                        println!(
                            "           {name} replay DIFFERS from the PCRs read in PCR {bad:?}"
                        );
                    }
                };
                println!(
                    "           {} events, algorithms {:?}",
                    s.events, s.algorithms
                );
                check("sha256", &s.sha256, &r.pcrs.sha256);
                check("sha1", &s.sha1, &r.pcrs.sha1);
            }
            Err(e) => println!("           unreadable: {e}"),
        }
    }
    println!();
}
