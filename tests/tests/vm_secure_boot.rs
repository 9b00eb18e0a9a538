//! Real Secure Boot VMs (QEMU + OVMF + Debian's signed shim/grub/kernel) measured into swtpm and
//! into tl-vtpm: same command line, same measurements. Three TCG boots in total (~15 s each),
//! serialised. Needs the Debian packages qemu-system-x86, ovmf, swtpm (and network for the first
//! `apt-get download`, cached afterwards).

use std::time::Duration;

use launch::report::hex;
use launch::{BootConfig, BootOutcome, BootReport, Stage, VtpmKind};
use tl_system_tests::{
    COMPARED_PCRS, assert_no_leftover_processes, pcr_differences, shared_boot, tl_vtpm_bin,
    transcript_tail, vm_lock,
};

/// boot-chain.md §7, boot A with `linuxefi`, Secure Boot on, sha256 bank. PCR9 is left out: it
/// covers the initrd, whose bytes are ours (the reference used a busybox-cpio-packed initrd).
const REFERENCE_SHA256: [(u32, &str); 10] = [
    (
        0,
        "27FCCCFA7F522E228D13FF449BD8C39507A97D7D96B808E9608DDFF9B6B0719A",
    ),
    (
        1,
        "86A297BF5F89B24202EC2F7A1E2C7BF46B6F5060FF85CDB326C0A8F302027A62",
    ),
    (
        2,
        "3D458CFE55CC03EA1F443F1562BEEC8DF51C75E14A9FCF9A7234A13F198E7969",
    ),
    (
        3,
        "3D458CFE55CC03EA1F443F1562BEEC8DF51C75E14A9FCF9A7234A13F198E7969",
    ),
    (
        4,
        "060E9DE2A8BA0BF1E4846483D9BB34FC54DF20581DA42A4FD18ECEF9F4747491",
    ),
    (
        5,
        "A5CEB755D043F32431D63E39F5161464620A3437280494B5850DC1B47CC074E0",
    ),
    (
        6,
        "3D458CFE55CC03EA1F443F1562BEEC8DF51C75E14A9FCF9A7234A13F198E7969",
    ),
    (
        7,
        "75677DB6F14082D3BFEC4D14BDD75C8D72612EF6914CA99CD5A5997B7A21309D",
    ),
    (
        8,
        "AA7F0074E8A5FD0ADACEC45D92404BFA43D0834EC9E24FA68A9EA460254A2504",
    ),
    (
        14,
        "B9C97933FE323334271A718FDF2966E0609AFCB793F3B68AAF18FC31EA39DC0A",
    ),
];

fn run(cfg: &BootConfig) -> BootReport {
    let started = std::time::Instant::now();
    let r = launch::boot(cfg)
        .unwrap_or_else(|e| panic!("{} boot could not start: {e}", cfg.vtpm.label()));
    eprintln!(
        "{} boot: {} in {:.1} s (QEMU {:.1} s); stages {:?}",
        r.vtpm,
        r.outcome,
        started.elapsed().as_secs_f64(),
        r.elapsed.as_secs_f64(),
        r.milestones
    );
    assert_no_leftover_processes(&r);
    r
}

/// Asserts a complete, self-consistent Secure Boot boot.
fn assert_good_boot(r: &BootReport) {
    assert_eq!(
        r.outcome,
        BootOutcome::Booted,
        "{} boot did not finish; console tail:\n{}",
        r.vtpm,
        transcript_tail(r, 40)
    );
    assert!(
        r.kernel_secure_boot,
        "{}: kernel did not log `secureboot: Secure boot enabled`",
        r.vtpm
    );
    let devices = r.tpm_devices();
    assert!(
        devices.contains(&"/dev/tpm0") && devices.contains(&"/dev/tpmrm0"),
        "{}: the kernel's TPM driver did not register /dev/tpm0 and /dev/tpmrm0 (found {devices:?})",
        r.vtpm
    );
    assert_eq!(
        r.tpm_errors(),
        Vec::<&str>::new(),
        "{}: TPM errors in the kernel log",
        r.vtpm
    );
    assert!(
        r.parse_warnings.is_empty(),
        "{}: {:?}",
        r.vtpm,
        r.parse_warnings
    );
    for i in COMPARED_PCRS {
        assert!(
            r.pcrs.sha256.get(i).is_some() && r.pcrs.sha1.get(i).is_some(),
            "{}: PCR{i} not read",
            r.vtpm
        );
    }
    // The log must explain the PCRs: replay it and compare.
    let s =
        launch::summarize(&r.event_log).unwrap_or_else(|e| panic!("{}: event log: {e}", r.vtpm));
    assert!(s.events > 30, "{}: only {} events", r.vtpm, s.events);
    for i in COMPARED_PCRS {
        assert_eq!(
            s.sha256.get(i),
            r.pcrs.sha256.get(i),
            "{}: sha256 PCR{i} replay",
            r.vtpm
        );
        assert_eq!(
            s.sha1.get(i),
            r.pcrs.sha1.get(i),
            "{}: sha1 PCR{i} replay",
            r.vtpm
        );
    }
}

/// The swtpm boot, shared by the tests that need it (one boot per test run).
fn swtpm_boot() -> BootReport {
    shared_boot("swtpm", || run(&BootConfig::new(VtpmKind::Swtpm)))
}

#[test]
fn secure_boot_with_swtpm_matches_reference_pcrs() {
    let _vm = vm_lock();
    let r = swtpm_boot();
    assert_good_boot(&r);
    for (i, want) in REFERENCE_SHA256 {
        assert_eq!(
            r.pcrs.sha256.get(i).map(hex).as_deref(),
            Some(want),
            "sha256 PCR{i} differs from boot-chain.md §7 (has the installed ovmf changed from 2022.11-6+deb12u2?)"
        );
    }
}

#[test]
fn tl_vtpm_is_a_drop_in_for_swtpm() {
    let _vm = vm_lock();
    let bin = tl_vtpm_bin().unwrap_or_else(|e| panic!("{e}"));
    let reference = swtpm_boot();
    assert_good_boot(&reference);
    let ours = run(&BootConfig::new(VtpmKind::TlVtpm(bin)));
    assert_good_boot(&ours);
    let diff = pcr_differences(&reference.pcrs, &ours.pcrs, &COMPARED_PCRS);
    assert!(
        diff.is_empty(),
        "PCRs differ between swtpm and tl-vtpm:\n{}",
        diff.join("\n")
    );
    assert!(
        reference.event_log == ours.event_log,
        "event logs differ: swtpm {} bytes (sha256 {}), tl-vtpm {} bytes (sha256 {})",
        reference.event_log.len(),
        image::sha256_hex(&reference.event_log),
        ours.event_log.len(),
        image::sha256_hex(&ours.event_log)
    );
    // Like swtpm with --terminate, tl-vtpm exits on its own once QEMU is gone.
    assert!(
        ours.vtpm_exit.is_some(),
        "tl-vtpm had to be killed: it did not exit after QEMU closed the channel"
    );
}

#[test]
fn tampered_grub_is_refused_by_shim_and_the_vm_stopped() {
    let _vm = vm_lock();
    let mut cfg = BootConfig::new(VtpmKind::Swtpm);
    cfg.tamper_grub = true;
    // Without detection the VM would wait for a key press forever; bound the damage.
    cfg.timeout = Duration::from_secs(120);
    let r = run(&cfg);
    match &r.outcome {
        BootOutcome::Refused {
            stage: Stage::Grub,
            evidence,
        } => {
            assert!(
                evidence.contains("Verification failed: (0x1A) Security Violation"),
                "{evidence}"
            )
        }
        other => panic!(
            "expected shim to refuse grub, got {other}; console tail:\n{}",
            transcript_tail(&r, 30)
        ),
    }
    let shim = r
        .reached_at(Stage::Shim)
        .expect("firmware never started shim");
    assert!(r.reached_at(Stage::Grub).is_none() && r.reached_at(Stage::Kernel).is_none());
    // Detected and stopped within seconds of shim starting, not at the timeout.
    assert!(
        r.elapsed < shim + Duration::from_secs(10),
        "VM stopped {:?} after shim started",
        r.elapsed - shim
    );
    assert!(r.pcrs.sha256.0.is_empty() && r.event_log.is_empty());
}
