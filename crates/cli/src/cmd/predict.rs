//! `tl secureboot predict`: PCR 4, 7, 8, 9, 14 a boot of the given firmware variables and boot
//! chain will produce (boot::predict).

use anyhow::{Context, bail};
use boot::eventlog::TpmAlgId;
use boot::predict::{BootChain, FirmwareVars, Prediction, predict};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Options of `tl secureboot predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// An OVMF VARS file holding PK, KEK, db and dbx.
    #[arg(long, value_name = "OVMF_VARS.fd", conflicts_with_all = ["pk", "kek", "db", "dbx"])]
    vars: Option<PathBuf>,
    /// PK contents (EFI_SIGNATURE_LIST file, measured byte for byte; absent = empty).
    #[arg(long, value_name = "ESL")]
    pk: Option<PathBuf>,
    /// KEK contents (EFI_SIGNATURE_LIST file).
    #[arg(long, value_name = "ESL")]
    kek: Option<PathBuf>,
    /// db contents (EFI_SIGNATURE_LIST file).
    #[arg(long, value_name = "ESL")]
    db: Option<PathBuf>,
    /// dbx contents (EFI_SIGNATURE_LIST file).
    #[arg(long, value_name = "ESL")]
    dbx: Option<PathBuf>,
    /// Whether Secure Boot enforces (default: on when a PK is enrolled).
    #[arg(long, value_enum)]
    secure_boot: Option<OnOff>,
    /// shim as installed at EFI/BOOT/BOOTX64.EFI.
    #[arg(long, value_name = "FILE")]
    shim: PathBuf,
    /// grub as installed next to shim.
    #[arg(long, value_name = "FILE")]
    grub: PathBuf,
    /// grub.cfg as installed at EFI/debian/grub.cfg.
    #[arg(long, value_name = "FILE")]
    grub_cfg: PathBuf,
    /// The kernel grub.cfg boots.
    #[arg(long, value_name = "FILE")]
    kernel: PathBuf,
    /// The initrd grub.cfg loads.
    #[arg(long, value_name = "FILE")]
    initrd: PathBuf,
    /// The kernel command line you expect grub.cfg to pass (checked, not substituted).
    #[arg(long, value_name = "STR")]
    cmdline: Option<String>,
    /// Also print the predicted event sequence.
    #[arg(long)]
    events: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Secure Boot state.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OnOff {
    /// Enforcing.
    On,
    /// Not enforcing.
    Off,
}

/// Output format.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// A PCR table (and the events with --events).
    Text,
    /// The prediction as JSON.
    Json,
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("read {}", p.display()))
}

fn firmware_vars(a: &PredictArgs) -> anyhow::Result<FirmwareVars> {
    let sb = a.secure_boot.map(|s| s == OnOff::On);
    if let Some(v) = &a.vars {
        return FirmwareVars::from_ovmf_vars(&read(v)?, sb)
            .with_context(|| v.display().to_string());
    }
    if a.pk.is_none() && a.kek.is_none() && a.db.is_none() && a.dbx.is_none() {
        bail!("give --vars OVMF_VARS.fd or the --pk/--kek/--db/--dbx signature lists");
    }
    let opt = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(read)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let pk = opt(&a.pk)?;
    let sb = sb.unwrap_or(!pk.is_empty());
    Ok(FirmwareVars::from_lists(
        sb,
        pk,
        opt(&a.kek)?,
        opt(&a.db)?,
        opt(&a.dbx)?,
    )?)
}

/// Runs `tl secureboot predict`.
pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let vars = firmware_vars(&a)?;
    let grub_cfg = String::from_utf8(read(&a.grub_cfg)?)
        .with_context(|| format!("{}: not UTF-8", a.grub_cfg.display()))?;
    let chain = BootChain {
        shim: read(&a.shim)?,
        grub: read(&a.grub)?,
        grub_cfg,
        kernel: read(&a.kernel)?,
        initrd: read(&a.initrd)?,
        cmdline: a.cmdline.clone(),
    };
    let p = predict(&vars, &chain)?;
    match a.output {
        Output::Json => {
            let mut v = serde_json::to_value(&p)?;
            if !a.events
                && let Some(o) = v.as_object_mut()
            {
                o.remove("events");
            }
            outln!("{}", serde_json::to_string_pretty(&v)?);
        }
        Output::Text => print_text(&p, a.events),
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn print_text(p: &Prediction, events: bool) {
    outln!("Secure Boot: {}", if p.secure_boot { "on" } else { "off" });
    outln!("PCR  {:<64}  sha1", "sha256");
    for r in &p.pcrs {
        outln!("{:<3}  {}  {}", r.pcr, hex(&r.sha256), hex(&r.sha1));
    }
    if events {
        outln!();
        outln!("PCR  {:<32}  {:<16}  description", "type", "sha256");
        for e in &p.events {
            let name = e
                .event_type
                .name()
                .map_or_else(|| format!("{:#x}", e.event_type.0), str::to_owned);
            let d = e.digest(TpmAlgId::SHA256).map(hex).unwrap_or_default();
            let desc = e.description.replace('\n', "\\n");
            outln!(
                "{:<3}  {name:<32}  {:<16}  {desc}",
                e.pcr,
                &d[..16.min(d.len())]
            );
        }
    }
}
