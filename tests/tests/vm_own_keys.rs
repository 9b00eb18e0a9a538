//! Secure Boot with the operator's own keys, end to end through the `tl` CLI and a real
//! QEMU/OVMF boot: `tl secureboot keys create` makes PK/KEK/db, `tl secureboot enroll` writes them
//! into Debian's empty OVMF_VARS_4M.fd, and `tl secureboot sign` signs the chain — Debian's
//! *unsigned* shim build, and grub and the kernel with Debian's signatures replaced by ours, so
//! nothing but our db key can vouch for any stage. That chain must boot with Secure Boot
//! enforcing (the firmware trusts shim through db; shim trusts grub and the kernel through the
//! same db entry), its PCRs must equal `boot::predict`'s for the same VARS file and files, and
//! the unsigned shim must be refused by the firmware. Two TCG boots (~15 s and ~10 s), serialised.

use std::path::{Path, PathBuf};
use std::process::Command;

use boot::eventlog::{EventLog, EventType, TpmAlgId};
use boot::predict::{BootChain, FirmwareVars, PREDICTED_PCRS, predict};
use launch::report::hex;
use launch::{BootConfig, BootOutcome, BootReport, CustomChain, Stage, VtpmKind};
use tl_system_tests::{
    assert_no_leftover_processes, tl_bin, tl_vtpm_bin, transcript_tail, vm_lock,
};

const EMPTY_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

fn tl(args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let bin = tl_bin().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&bin)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "tl {:?} failed ({}):\n{}{}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn debian(f: &image::debian::DebianFile) -> PathBuf {
    let dir = image::cache_dir().join("debian");
    image::debian::ensure(&dir, f)
        .unwrap_or_else(|e| panic!("cannot fetch {} (needs apt-get download): {e}", f.package))
}

/// Keys, enrolled VARS and the signed chain, made with the CLI in `dir`.
struct OwnChain {
    vars: PathBuf,
    shim: PathBuf,
    grub: PathBuf,
    kernel: PathBuf,
    db_cert: Vec<u8>,
}

fn make_chain(dir: &Path) -> OwnChain {
    let keys = dir.join("keys");
    tl(&[&"secureboot", &"keys", &"create", &"--dir", &keys]);
    let vars = dir.join("VARS.fd");
    tl(&[
        &"secureboot",
        &"enroll",
        &"--vars-template",
        &EMPTY_VARS,
        &"--keys",
        &keys,
        &"--out",
        &vars,
    ]);
    let (key, cert) = (keys.join("db.key"), keys.join("db.crt"));
    let sign = |input: &Path, out: &Path, replace: bool| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"secureboot",
            &"sign",
            &"--key",
            &key,
            &"--cert",
            &cert,
            &input,
            &"--output",
            &out,
        ];
        if replace {
            args.push(&"--replace-signatures");
        }
        tl(&args);
    };
    let chain = OwnChain {
        vars,
        shim: dir.join("shimx64.efi"),
        grub: dir.join("grubx64.efi"),
        kernel: dir.join("vmlinuz"),
        db_cert: std::fs::read(keys.join("db.der")).expect("db.der"),
    };
    sign(&debian(&image::debian::SHIM_UNSIGNED), &chain.shim, false);
    sign(&debian(&image::debian::GRUB), &chain.grub, true);
    sign(&debian(&image::debian::KERNEL), &chain.kernel, true);
    chain
}

fn boot(custom: CustomChain) -> BootReport {
    let vtpm = VtpmKind::TlVtpm(tl_vtpm_bin().unwrap_or_else(|e| panic!("{e}")));
    let mut cfg = BootConfig::new(vtpm);
    cfg.custom = custom;
    let r = {
        let _vm = vm_lock();
        launch::boot(&cfg).unwrap_or_else(|e| panic!("boot could not start: {e}"))
    };
    eprintln!(
        "boot: {} in {:.1} s; stages {:?}",
        r.outcome,
        r.elapsed.as_secs_f64(),
        r.milestones
    );
    assert_no_leftover_processes(&r);
    r
}

#[test]
fn own_keys_boot_a_chain_signed_by_tl_and_refuse_an_unsigned_shim() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = make_chain(dir.path());

    let r = boot(CustomChain {
        vars: Some(c.vars.clone()),
        shim: Some(c.shim.clone()),
        grub: Some(c.grub.clone()),
        kernel: Some(c.kernel.clone()),
    });
    assert_eq!(
        r.outcome,
        BootOutcome::Booted,
        "own-key chain did not boot; console tail:\n{}",
        transcript_tail(&r, 40)
    );
    assert!(
        r.kernel_secure_boot,
        "kernel did not log `secureboot: Secure boot enabled`"
    );
    let devices = r.tpm_devices();
    assert!(devices.contains(&"/dev/tpmrm0"), "{devices:?}");
    assert_eq!(r.tpm_errors(), Vec::<&str>::new());

    // Our db certificate is the authority the firmware and shim logged into PCR7 (shim also
    // logs SbatLevel there as an authority event; that one names no certificate).
    let log = EventLog::parse(&r.event_log).expect("event log parses");
    let sbat_level: Vec<u8> = "SbatLevel"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let authorities: Vec<_> = log
        .events
        .iter()
        .filter(|e| e.pcr_index == 7 && e.event_type == EventType::EV_EFI_VARIABLE_AUTHORITY)
        .filter(|e| !e.event.windows(sbat_level.len()).any(|w| w == sbat_level))
        .collect();
    assert!(!authorities.is_empty(), "no db authority event in PCR7");
    for a in &authorities {
        assert!(
            a.event.windows(c.db_cert.len()).any(|w| w == c.db_cert),
            "a PCR7 authority is not our db certificate ({} B event)",
            a.event.len()
        );
    }

    // The predictor, fed the same VARS file and files, gives the PCRs the guest read.
    let ovmf = image::OvmfFiles::locate().expect("ovmf");
    let cfg = {
        let mut cfg = BootConfig::new(VtpmKind::Swtpm);
        cfg.custom = CustomChain {
            vars: Some(c.vars.clone()),
            shim: Some(c.shim.clone()),
            grub: Some(c.grub.clone()),
            kernel: Some(c.kernel.clone()),
        };
        cfg
    };
    let files = launch::boot_files(&cfg, &ovmf).expect("boot files");
    let vars = FirmwareVars::from_ovmf_vars(&std::fs::read(&files.vars).expect("vars"), Some(true))
        .expect("our VARS parse");
    let predicted = predict(
        &vars,
        &BootChain {
            shim: files.shim,
            grub: files.grub,
            grub_cfg: files.grub_cfg.to_owned(),
            kernel: files.kernel,
            initrd: files.initrd,
            cmdline: None,
        },
    )
    .expect("predict");
    let mismatches = predicted.compare_log(&log);
    assert!(
        mismatches.is_empty(),
        "prediction differs from the boot's log:\n{}",
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    for pcr in PREDICTED_PCRS {
        for (alg, bank) in [
            (TpmAlgId::SHA1, &r.pcrs.sha1),
            (TpmAlgId::SHA256, &r.pcrs.sha256),
        ] {
            assert_eq!(
                predicted.pcr(pcr, alg).map(hex),
                bank.get(pcr).map(hex),
                "{alg} PCR{pcr}: predicted vs guest"
            );
        }
    }

    // The same firmware refuses shim without our signature.
    let r = boot(CustomChain {
        vars: Some(c.vars.clone()),
        shim: Some(debian(&image::debian::SHIM_UNSIGNED)),
        grub: Some(c.grub),
        kernel: Some(c.kernel),
    });
    assert!(
        matches!(
            &r.outcome,
            BootOutcome::Refused {
                stage: Stage::Shim,
                ..
            }
        ),
        "unsigned shim was not refused by the firmware: {}; console tail:\n{}",
        r.outcome,
        transcript_tail(&r, 20)
    );
}
