//! `tl-vtpm setup`: manufactures a vTPM state like `swtpm_setup --tpm2` (reference vtpm.md §6).
//! The engine runs in process and receives the same TPM commands swtpm_setup sends; the state
//! is then written exactly as the daemon writes it (atomic, 0600, locked, optionally encrypted).

pub mod ca;
pub mod cert;
pub mod engine;
pub mod opts;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use anyhow::Context;

use crate::state::{PERMALL, StateDir, VOLATILE};
use engine::{EkKind, Engine};
use opts::SetupOptions;

/// NV index of the platform certificate (reference vtpm.md §6).
pub const PLATFORM_CERT_INDEX: u32 = 0x01C0_8000;

/// Where messages go: `--logfile` (appended, 0600) or stdout.
struct Out(Option<File>);

impl Out {
    fn say(&mut self, msg: &str) {
        match &mut self.0 {
            Some(f) => {
                let _ = writeln!(f, "{msg}");
            }
            None => println!("{msg}"),
        }
    }
}

/// Entry point for `tl-vtpm setup ARGS…`.
pub fn main(args: Vec<String>) -> ExitCode {
    let o = match opts::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tl-vtpm setup: {e}");
            return ExitCode::from(1);
        }
    };
    if o.help {
        print!("{}", opts::HELP);
        return ExitCode::SUCCESS;
    }
    if o.version {
        println!("tl-vtpm setup {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if o.print_capabilities {
        println!("{}", opts::capabilities_json());
        return ExitCode::SUCCESS;
    }
    let mut out = Out(None);
    if let Some(p) = &o.logfile {
        match OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(p)
        {
            Ok(f) => out.0 = Some(f),
            Err(e) => {
                eprintln!("tl-vtpm setup: cannot open log file {}: {e}", p.display());
                return ExitCode::from(1);
            }
        }
    }
    match run(&o, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("Error: {e:#}");
            if out.0.is_some() {
                out.say(&msg);
            }
            eprintln!("tl-vtpm setup: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(o: &SetupOptions, out: &mut Out) -> anyhow::Result<()> {
    for i in &o.ignored {
        out.say(&format!(
            "Note: ignoring '{i}' (tl-vtpm setup runs the TPM in process and reads no config files)"
        ));
    }
    let dir = o.state_dir.as_ref().context("missing --tpmstate DIR")?;
    let key = o
        .key
        .as_ref()
        .map(crate::crypt::StateKey::load)
        .transpose()?;
    let store = StateDir::open(dir, None, key)?;
    if store.path(PERMALL).exists() {
        if o.not_overwrite {
            out.say("Not overwriting existing state file.");
            return Ok(());
        }
        if !o.overwrite {
            anyhow::bail!(
                "{} already exists: use --overwrite to replace it or --not-overwrite to keep it",
                store.path(PERMALL).display()
            );
        }
    }
    out.say(&format!(
        "Starting vTPM manufacturing as uid {} @ {} (unix time)",
        rustix::process::getuid().as_raw(),
        unix_time()
    ));
    let ca = if o.ek_cert || o.platform_cert {
        let ca_dir = match &o.ca_dir {
            Some(d) => d.clone(),
            None => ca::default_dir().context("no $XDG_CONFIG_HOME or $HOME: give --ca-dir")?,
        };
        let ca = ca::LocalCa::open_or_create(&ca_dir)?;
        out.say(&format!(
            "{} local CA in {} (ECDSA NIST P-384 root {})",
            if ca.created { "Created" } else { "Using" },
            ca.dir.display(),
            ca.dir.join(ca::CA_CERT).display()
        ));
        Some(ca)
    } else {
        None
    };
    let mut tpm = Engine::manufacture()?;
    let id = tpm.identity()?;
    let mut summary = Vec::new();
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    if o.create_ek {
        let rsa = if o.rsa_keysize == 3072 {
            EkKind::Rsa3072
        } else {
            EkKind::Rsa2048
        };
        for kind in [rsa, EkKind::EccP384] {
            let public = tpm.create_ek(kind, o.allow_signing, o.decryption)?;
            out.say(&format!(
                "Successfully created {} EK with handle {:#x}.",
                kind.name(),
                kind.handle()
            ));
            summary.push(format!(
                "EK {}: persistent {:#010x}",
                kind.name(),
                kind.handle()
            ));
            let Some(ca) = &ca else { continue };
            let tkey = cert::TpmKey::from_public(&public)?;
            if o.ek_cert {
                let der = cert::ek_certificate(
                    ca,
                    &tkey,
                    &id,
                    o.vmid.as_deref(),
                    o.decryption,
                    o.allow_signing,
                )?;
                tpm.write_cert(kind.cert_index(), &der, o.lock_nvram)?;
                out.say(&format!(
                    "Successfully created NVRAM area {:#x} for {} EK certificate.",
                    kind.cert_index(),
                    kind.name()
                ));
                summary.push(format!(
                    "EK certificate {}: NV {:#010x} ({} bytes{})",
                    kind.name(),
                    kind.cert_index(),
                    der.len(),
                    if o.lock_nvram { ", write-locked" } else { "" }
                ));
                files.push((
                    match kind {
                        EkKind::Rsa2048 => "ek-rsa2048.crt",
                        EkKind::Rsa3072 => "ek-rsa3072.crt",
                        EkKind::EccP384 => "ek-secp384r1.crt",
                    },
                    der,
                ));
            }
            // As swtpm_setup: the platform certificate certifies the RSA EK.
            if o.platform_cert && kind != EkKind::EccP384 {
                let platform = cert::Platform {
                    manufacturer: "tl-vtpm".into(),
                    model: "QEMU".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                };
                let der = cert::platform_certificate(ca, &tkey, &id, &platform, o.vmid.as_deref())?;
                tpm.write_cert(PLATFORM_CERT_INDEX, &der, o.lock_nvram)?;
                out.say(&format!(
                    "Successfully created NVRAM area {PLATFORM_CERT_INDEX:#x} for platform certificate."
                ));
                summary.push(format!(
                    "Platform certificate: NV {PLATFORM_CERT_INDEX:#010x} ({} bytes)",
                    der.len()
                ));
            }
        }
    }
    if o.create_spk {
        tpm.create_srk(o.ecc)?;
        out.say("Successfully created storage primary key with handle 0x81000001.");
        summary.push("SRK: persistent 0x81000001".into());
    }
    tpm.allocate_pcrs(&o.pcr_banks)?;
    let names: Vec<&str> = opts::BANKS
        .iter()
        .filter(|(_, a)| o.pcr_banks.contains(a))
        .map(|(n, _)| *n)
        .collect();
    out.say(&format!(
        "Successfully activated PCR banks {} among sha1,sha256,sha384,sha512.",
        names.join(",")
    ));
    summary.push(format!("Active PCR banks: {}", names.join(",")));
    let blob = tpm.shutdown()?;
    // A volatile state of the previous TPM must not be resumed with the new one.
    store.remove(VOLATILE)?;
    store.write(PERMALL, &blob)?;
    if let Some(d) = &o.write_cert_files {
        for (name, der) in &files {
            let p = d.join(name);
            std::fs::write(&p, der).with_context(|| format!("cannot write {}", p.display()))?;
        }
    }
    out.say("Successfully authored TPM state.");
    out.say(&format!(
        "Ending vTPM manufacturing @ {} (unix time)",
        unix_time()
    ));
    if o.display {
        println!("TPM state: {}", store.path(PERMALL).display());
        println!(
            "Encrypted: {}",
            if store.encrypted() { "yes" } else { "no" }
        );
        println!(
            "TPM: manufacturer {} model {} version {} (TPM {} rev {})",
            id.manufacturer, id.model, id.version, id.family, id.revision
        );
        for s in &summary {
            println!("{s}");
        }
        if let Some(ca) = &ca {
            println!("CA certificate: {}", ca.dir.join(ca::CA_CERT).display());
        }
    }
    Ok(())
}
