//! `tl secureboot`.

use anyhow::{Context, bail};
use boot::secureboot::{
    SecureBootPolicy, SignatureList, VariableStore, Verdict, X509, efi, pkcs7::hex,
};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// `tl secureboot` subcommands.
#[derive(Subcommand)]
pub enum SecurebootCommand {
    /// Decide, as edk2 would, whether each image runs under the given db/dbx.
    Verify(Box<VerifyArgs>),
    /// Predict PCR 4, 7, 8, 9 and 14 for a firmware variable store and a shim/grub/kernel chain.
    Predict(Box<super::predict::PredictArgs>),
    /// Platform owner keys (PK, KEK, db).
    #[command(subcommand)]
    Keys(super::sbkeys::KeysCommand),
    /// Build a time-based authenticated variable update (.auth) for any variable.
    AuthVar(Box<super::sbkeys::AuthVarArgs>),
    /// Authenticode-sign a PE/COFF image (shim, grub, kernel, UKI), as sbsign does.
    Sign(Box<super::sbsign::SignArgs>),
    /// Append a kernel module signature, as the kernel's sign-file does.
    SignModule(Box<super::sbsign::SignModuleArgs>),
    /// Write an OVMF VARS file with PK, KEK, db and dbx enrolled and Secure Boot on.
    Enroll(Box<super::sbsign::EnrollArgs>),
}

/// `tl secureboot verify` arguments.
#[derive(Args)]
pub struct VerifyArgs {
    /// db contents: an EFI_SIGNATURE_LIST file or a DER/PEM certificate (repeat the option for
    /// more files; one value each, so images may follow).
    #[arg(long = "db", value_name = "FILE")]
    db: Vec<PathBuf>,
    /// dbx contents: an EFI_SIGNATURE_LIST file or a DER/PEM certificate (repeatable).
    #[arg(long = "dbx", value_name = "FILE")]
    dbx: Vec<PathBuf>,
    /// dbt contents: certificates of timestamping authorities whose RFC 3161 timestamps waive a
    /// dbx certificate-hash revocation dated after them (repeatable).
    #[arg(long = "dbt", value_name = "FILE")]
    dbt: Vec<PathBuf>,
    /// An OVMF VARS file whose db, dbx and dbt are added to the above.
    #[arg(long, value_name = "OVMF_VARS.fd")]
    vars: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// PE images to check.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

/// Output format.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// One block per image.
    Text,
    /// A JSON array.
    Json,
}

/// Runs one `tl secureboot` subcommand.
pub fn run(command: SecurebootCommand) -> anyhow::Result<()> {
    match command {
        SecurebootCommand::Verify(a) => verify(
            &a.db,
            &a.dbx,
            &a.dbt,
            a.vars.as_deref(),
            a.output,
            &a.images,
        ),
        SecurebootCommand::Predict(args) => super::predict::run(*args),
        SecurebootCommand::Keys(c) => super::sbkeys::run_keys(c),
        SecurebootCommand::AuthVar(a) => super::sbkeys::run_auth_var(*a),
        SecurebootCommand::Sign(a) => super::sbsign::run_sign(*a),
        SecurebootCommand::SignModule(a) => super::sbsign::run_sign_module(*a),
        SecurebootCommand::Enroll(a) => super::sbsign::run_enroll(*a),
    }
}

/// Reads a db/dbx FILE: signature lists, or one certificate (DER or PEM) wrapped in a list.
fn load_lists(path: &Path) -> anyhow::Result<Vec<SignatureList>> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    if data.starts_with(b"-----BEGIN") {
        let cert = X509::from_pem(&data).with_context(|| format!("{}: bad PEM", path.display()))?;
        let der = cert.der;
        return cert_list(path, der);
    }
    if data.first() == Some(&0x30) {
        return cert_list(path, data);
    }
    let lists = SignatureList::parse_all(&data).with_context(|| {
        format!(
            "{}: neither an EFI_SIGNATURE_LIST nor a DER/PEM certificate",
            path.display()
        )
    })?;
    if lists.is_empty() {
        bail!("{}: empty file", path.display());
    }
    Ok(lists)
}

fn cert_list(path: &Path, der: Vec<u8>) -> anyhow::Result<Vec<SignatureList>> {
    X509::from_der(&der).with_context(|| format!("{}: bad certificate", path.display()))?;
    Ok(vec![SignatureList::single(
        efi::EFI_CERT_X509_GUID,
        efi::EFI_GLOBAL_VARIABLE,
        der,
    )])
}

fn verify(
    db_files: &[PathBuf],
    dbx_files: &[PathBuf],
    dbt_files: &[PathBuf],
    vars: Option<&Path>,
    output: Output,
    images: &[PathBuf],
) -> anyhow::Result<()> {
    let mut db = Vec::new();
    let mut dbx = Vec::new();
    let mut dbt = Vec::new();
    if let Some(v) = vars {
        let fd = std::fs::read(v).with_context(|| format!("read {}", v.display()))?;
        let store = VariableStore::parse(&fd).with_context(|| v.display().to_string())?;
        let sb = store
            .secure_boot_variables()
            .with_context(|| v.display().to_string())?;
        db.extend(sb.db);
        dbx.extend(sb.dbx);
        if let Some(var) = store.get("dbt", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID) {
            dbt.extend(
                SignatureList::parse_all(&var.data)
                    .with_context(|| format!("{}: dbt", v.display()))?,
            );
        }
    }
    for f in db_files {
        db.extend(load_lists(f)?);
    }
    for f in dbx_files {
        dbx.extend(load_lists(f)?);
    }
    for f in dbt_files {
        dbt.extend(load_lists(f)?);
    }
    if db.is_empty() {
        bail!("db is empty: give --db FILE or --vars OVMF_VARS.fd");
    }
    let policy = SecureBootPolicy::new(&db, &dbx).with_dbt(&dbt);
    let mut results = Vec::new();
    for img in images {
        let data = std::fs::read(img).with_context(|| format!("read {}", img.display()))?;
        results.push((img, policy.verify_image(&data)));
    }
    match output {
        Output::Json => {
            let arr: Vec<_> = results
                .iter()
                .map(|(p, v)| serde_json::json!({ "image": p, "verdict": v }))
                .collect();
            outln!("{}", serde_json::to_string_pretty(&arr)?);
        }
        Output::Text => {
            for (p, v) in &results {
                print_text(p, v);
            }
        }
    }
    if results.iter().any(|(_, v)| !v.allowed) {
        std::process::exit(1);
    }
    Ok(())
}

fn print_text(path: &Path, v: &Verdict) {
    outln!(
        "{}: {}",
        path.display(),
        if v.allowed { "allowed" } else { "denied" }
    );
    if let Some(s) = &v.signer {
        outln!("  signer:  {s}");
    }
    if let Some(m) = &v.matched {
        outln!(
            "  matched: list {} entry {} ({:?}, owner {}): {}",
            m.list,
            m.entry,
            m.signature_type,
            m.owner,
            if m.description.len() > 96 {
                hex(&m.data[..32.min(m.data.len())])
            } else {
                m.description.clone()
            }
        );
    }
    outln!("  reason:  {}", v.reason);
    if let Some(d) = &v.sha256 {
        outln!("  sha256:  {d}");
    }
    for (i, s) in v.signatures.iter().enumerate() {
        outln!("  signature {i} @{}: {}", s.offset, s.outcome);
    }
}
