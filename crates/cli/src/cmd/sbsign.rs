//! `tl secureboot sign`, `sign-module` and `enroll`: what sbsign, sign-file and
//! `sbctl enroll-keys` (into an OVMF VARS file) do.

use anyhow::{Context, bail};
use boot::secureboot::{
    EfiTime, Enrollment, Guid, HashAlg, MicrosoftKeys, PeImage, SignMode, SignatureList, Signer,
    VariableStore, X509, efi, enroll, sign_image, sign_module,
};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Digest choices.
#[derive(Clone, Copy, ValueEnum)]
pub enum Digest {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl From<Digest> for HashAlg {
    fn from(d: Digest) -> Self {
        match d {
            Digest::Sha256 => HashAlg::Sha256,
            Digest::Sha384 => HashAlg::Sha384,
            Digest::Sha512 => HashAlg::Sha512,
        }
    }
}

/// `tl secureboot sign` arguments.
#[derive(Args)]
#[command(after_help = "\
By default an image that is already signed is refused. --keep-signatures appends a signature
(edk2 accepts the image if any signature verifies against db and none is in dbx);
--replace-signatures drops the existing ones first.

Examples:
  tl secureboot sign --key keys/db.key --cert keys/db.crt shimx64.efi --output BOOTX64.EFI
  tl secureboot sign --key db.key --cert db.crt --keep-signatures grubx64.efi.signed -o grubx64.efi")]
pub struct SignArgs {
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// Signer certificate (PEM or DER).
    #[arg(long, value_name = "CERT")]
    cert: PathBuf,
    /// Keep existing signatures and add one.
    #[arg(long, conflicts_with = "replace_signatures")]
    keep_signatures: bool,
    /// Remove existing signatures, then sign.
    #[arg(long)]
    replace_signatures: bool,
    /// Authenticode digest.
    #[arg(long, value_enum, default_value_t = Digest::Sha256)]
    digest: Digest,
    /// Signed image to write.
    #[arg(long, short, value_name = "OUT")]
    output: PathBuf,
    /// PE32/PE32+ image to sign.
    #[arg(value_name = "IMAGE")]
    image: PathBuf,
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("read {}", p.display()))
}

fn write(p: &Path, data: &[u8]) -> anyhow::Result<()> {
    std::fs::write(p, data).with_context(|| format!("write {}", p.display()))
}

/// Runs `tl secureboot sign`.
pub fn run_sign(a: SignArgs) -> anyhow::Result<()> {
    let signer = Signer::from_pem_files(&a.key, &a.cert)?;
    let image = read(&a.image)?;
    let mode = if a.keep_signatures {
        SignMode::KeepSignatures
    } else if a.replace_signatures {
        SignMode::ReplaceSignatures
    } else {
        SignMode::RefuseSigned
    };
    let signed = sign_image(&image, &signer, mode, a.digest.into())
        .with_context(|| a.image.display().to_string())?;
    let count = PeImage::parse(&signed)?.certificates()?.len();
    write(&a.output, &signed)?;
    outln!(
        "{}: signed by {} ({} signature(s))",
        a.output.display(),
        signer.cert.subject(),
        count
    );
    Ok(())
}

/// `tl secureboot sign-module` arguments.
#[derive(Args)]
#[command(after_help = "\
The signature is what the kernel's scripts/sign-file appends: a detached PKCS#7 without
certificates or signed attributes, naming the signer by issuer and serial, then the
module_signature trailer. The kernel accepts it only if the certificate is in its builtin,
secondary or .machine keyring (e.g. an enrolled MOK trusted with mokutil --trust-mok).

Examples:
  tl secureboot sign-module --key mok.key --cert mok.crt nvidia.ko --output nvidia.ko
  tl secureboot sign-module --key mok.key --cert mok.der --replace vfat.ko -o vfat.ko")]
pub struct SignModuleArgs {
    /// Private key (PEM).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// Signer certificate (PEM or DER).
    #[arg(long, value_name = "CERT")]
    cert: PathBuf,
    /// Replace an existing signature.
    #[arg(long)]
    replace: bool,
    /// Digest.
    #[arg(long, value_enum, default_value_t = Digest::Sha256)]
    digest: Digest,
    /// Signed module to write.
    #[arg(long, short, value_name = "OUT")]
    output: PathBuf,
    /// The module (.ko, uncompressed).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
}

/// Runs `tl secureboot sign-module`.
pub fn run_sign_module(a: SignModuleArgs) -> anyhow::Result<()> {
    let signer = Signer::from_pem_files(&a.key, &a.cert)?;
    let module = read(&a.module)?;
    let signed = sign_module(&module, &signer, a.digest.into(), a.replace)
        .with_context(|| a.module.display().to_string())?;
    write(&a.output, &signed)?;
    outln!(
        "{}: signed by {}",
        a.output.display(),
        signer.cert.subject()
    );
    Ok(())
}

/// Where Debian's ovmf package keeps the Microsoft-enrolled variable store.
const DEBIAN_MS_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

/// `tl secureboot enroll` arguments.
#[derive(Args)]
#[command(after_help = "\
Each of --pk/--kek/--db/--dbx takes an EFI_SIGNATURE_LIST file or a certificate (DER or PEM);
--kek, --db and --dbx repeat. The output boots with Secure Boot enforcing (PK present,
SecureBootEnable=1, CustomMode=0). --microsoft adds Microsoft's KEK CA 2011 to KEK and the
Windows Production PCA 2011 and UEFI CA 2011 to db, read at run time from Debian's
OVMF_VARS_4M.ms.fd (package ovmf); without them, GPU option ROMs and MS-signed shims fail.

Examples:
  tl secureboot enroll --vars-template /usr/share/OVMF/OVMF_VARS_4M.fd --keys keys/ \\
      --microsoft --out VARS.fd
  tl secureboot enroll --vars-template /usr/share/OVMF/OVMF_VARS_4M.fd --pk PK.esl \\
      --kek KEK.esl --db db.esl --dbx dbx.esl --out VARS.fd")]
pub struct EnrollArgs {
    /// OVMF VARS file to start from (its other variables are kept).
    #[arg(long, value_name = "OVMF_VARS.fd")]
    vars_template: PathBuf,
    /// Take PK, KEK and db from a `tl secureboot keys create` directory (its .esl files).
    #[arg(long, value_name = "DIR", required_unless_present = "pk")]
    keys: Option<PathBuf>,
    /// PK: an ESL or a certificate.
    #[arg(long, value_name = "FILE", conflicts_with = "keys")]
    pk: Option<PathBuf>,
    /// KEK entries (repeatable).
    #[arg(long, value_name = "FILE")]
    kek: Vec<PathBuf>,
    /// db entries (repeatable).
    #[arg(long, value_name = "FILE")]
    db: Vec<PathBuf>,
    /// dbx entries (repeatable).
    #[arg(long, value_name = "FILE")]
    dbx: Vec<PathBuf>,
    /// Owner GUID for entries given as certificates (default: the key directory's GUID, or
    /// EFI_GLOBAL_VARIABLE).
    #[arg(long, value_name = "GUID")]
    owner_guid: Option<Guid>,
    /// Add Microsoft's KEK and db certificates.
    #[arg(long)]
    microsoft: bool,
    /// VARS file to take the Microsoft certificates from.
    #[arg(long, value_name = "FILE", default_value = DEBIAN_MS_VARS)]
    microsoft_vars: PathBuf,
    /// Time stamp of the variables, UTC "YYYY-MM-DD HH:MM:SS" (default: now).
    #[arg(long, value_name = "TIME")]
    timestamp: Option<EfiTime>,
    /// VARS file to write.
    #[arg(long, value_name = "VARS.fd")]
    out: PathBuf,
}

/// An ESL file, or one certificate (DER or PEM) wrapped in a list owned by `owner`.
fn load_lists(path: &Path, owner: Guid) -> anyhow::Result<Vec<SignatureList>> {
    let data = read(path)?;
    let cert = if data.starts_with(b"-----BEGIN") {
        Some(X509::from_pem(&data).with_context(|| format!("{}: bad PEM", path.display()))?)
    } else if data.first() == Some(&0x30) {
        Some(
            X509::from_der(&data)
                .with_context(|| format!("{}: bad certificate", path.display()))?,
        )
    } else {
        None
    };
    if let Some(c) = cert {
        return Ok(vec![SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            owner,
            c.der,
        )]);
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

/// Runs `tl secureboot enroll`.
pub fn run_enroll(a: EnrollArgs) -> anyhow::Result<()> {
    let template = read(&a.vars_template)?;
    let timestamp = a.timestamp.unwrap_or_else(EfiTime::now);
    let mut e = Enrollment {
        timestamp,
        ..Default::default()
    };
    // The key directory's ESLs already carry its owner GUID; the private keys are not needed.
    if let Some(dir) = &a.keys {
        e.pk = load_lists(&dir.join("PK.esl"), efi::EFI_GLOBAL_VARIABLE)?;
        e.kek = load_lists(&dir.join("KEK.esl"), efi::EFI_GLOBAL_VARIABLE)?;
        e.db = load_lists(&dir.join("db.esl"), efi::EFI_GLOBAL_VARIABLE)?;
    }
    let owner = a
        .owner_guid
        .or_else(|| {
            a.keys.as_ref().and_then(|d| {
                std::fs::read_to_string(d.join("GUID"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(efi::EFI_GLOBAL_VARIABLE);
    if let Some(p) = &a.pk {
        e.pk = load_lists(p, owner)?;
    }
    for p in &a.kek {
        e.kek.extend(load_lists(p, owner)?);
    }
    for p in &a.db {
        e.db.extend(load_lists(p, owner)?);
    }
    for p in &a.dbx {
        e.dbx.extend(load_lists(p, owner)?);
    }
    if a.microsoft {
        let ms_vars = read(&a.microsoft_vars)
            .with_context(|| "--microsoft needs Debian's ovmf package (or --microsoft-vars)")?;
        let ms = MicrosoftKeys::from_ovmf_vars(&ms_vars)
            .with_context(|| a.microsoft_vars.display().to_string())?;
        if ms.kek.is_empty() || ms.db.is_empty() {
            bail!(
                "{}: no Microsoft-owned KEK/db entries found",
                a.microsoft_vars.display()
            );
        }
        e.kek.extend(ms.kek);
        e.db.extend(ms.db);
    }
    let out = enroll(&template, &e).with_context(|| a.vars_template.display().to_string())?;
    write(&a.out, &out)?;
    let sb = VariableStore::parse(&out)?.secure_boot_variables()?;
    let count = |l: &[SignatureList]| l.iter().map(|l| l.signatures.len()).sum::<usize>();
    outln!(
        "{}: PK {} KEK {} db {} dbx {} entries; SecureBootEnable=1, CustomMode=0",
        a.out.display(),
        count(&sb.pk),
        count(&sb.kek),
        count(&sb.db),
        count(&sb.dbx)
    );
    Ok(())
}
