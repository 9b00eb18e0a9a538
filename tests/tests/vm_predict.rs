//! PCR prediction against real boots: QEMU + OVMF + swtpm boot Debian's signed chain with Secure
//! Boot on and off, and `boot::predict`, fed the very files the launcher put on the ESP and the
//! VARS template it started from, must equal the guest-read PCR 4, 7, 8, 9 and 14 in both banks,
//! event for event against the boot's own log. Two TCG boots (~15 s each), serialised.

use boot::eventlog::{EventLog, TpmAlgId};
use boot::predict::{BootChain, FirmwareVars, PREDICTED_PCRS, Prediction, predict};
use launch::report::hex;
use launch::{BootConfig, BootOutcome, VtpmKind};
use tl_system_tests::{assert_no_leftover_processes, transcript_tail, vm_lock};

fn predict_for(cfg: &BootConfig) -> Prediction {
    let ovmf = image::OvmfFiles::locate().unwrap_or_else(|e| panic!("ovmf: {e}"));
    let files = launch::boot_files(cfg, &ovmf).unwrap_or_else(|e| panic!("boot files: {e}"));
    let vars =
        std::fs::read(&files.vars).unwrap_or_else(|e| panic!("read {}: {e}", files.vars.display()));
    let vars = FirmwareVars::from_ovmf_vars(&vars, Some(cfg.secure_boot))
        .unwrap_or_else(|e| panic!("{}: {e}", files.vars.display()));
    let chain = BootChain {
        shim: files.shim,
        grub: files.grub,
        grub_cfg: files.grub_cfg.to_owned(),
        kernel: files.kernel,
        initrd: files.initrd,
        cmdline: None,
    };
    predict(&vars, &chain).unwrap_or_else(|e| panic!("predict: {e}"))
}

fn boot_and_compare(secure_boot: bool) {
    let mut cfg = BootConfig::new(VtpmKind::Swtpm);
    cfg.secure_boot = secure_boot;
    let predicted = predict_for(&cfg);
    let r = {
        let _vm = vm_lock();
        launch::boot(&cfg).unwrap_or_else(|e| panic!("boot could not start: {e}"))
    };
    assert_no_leftover_processes(&r);
    let mode = if secure_boot { "SB on" } else { "SB off" };
    assert_eq!(
        r.outcome,
        BootOutcome::Booted,
        "{mode}: boot did not finish; console tail:\n{}",
        transcript_tail(&r, 40)
    );
    assert_eq!(
        r.kernel_secure_boot, secure_boot,
        "{mode}: kernel's view of Secure Boot"
    );
    let log = EventLog::parse(&r.event_log).unwrap_or_else(|e| panic!("{mode}: event log: {e}"));
    let mismatches = predicted.compare_log(&log);
    let mut pcr_diffs = Vec::new();
    for pcr in PREDICTED_PCRS {
        for (alg, bank) in [
            (TpmAlgId::SHA1, &r.pcrs.sha1),
            (TpmAlgId::SHA256, &r.pcrs.sha256),
        ] {
            let want = predicted.pcr(pcr, alg).map(hex);
            let got = bank.get(pcr).map(hex);
            if want != got {
                pcr_diffs.push(format!(
                    "{alg} PCR{pcr}: predicted {want:?}, guest read {got:?}"
                ));
            } else {
                eprintln!(
                    "{mode}: {alg} PCR{pcr} = {} (predicted = guest)",
                    got.unwrap_or_default()
                );
            }
        }
    }
    assert!(
        mismatches.is_empty() && pcr_diffs.is_empty(),
        "{mode}: prediction differs from the boot\n{}\nfirst differing events:\n{}",
        pcr_diffs.join("\n"),
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn prediction_equals_a_secure_boot_boot() {
    boot_and_compare(true);
}

#[test]
fn prediction_equals_a_boot_without_secure_boot() {
    boot_and_compare(false);
}
