//! `tl secureboot keys create` and `tl secureboot auth-var`: what sbctl create-keys,
//! cert-to-efi-sig-list and sign-efi-sig-list do.

use anyhow::{Context, bail};
use boot::secureboot::auth::{
    self, EFI_VARIABLE_APPEND_WRITE, EfiTime, SECURE_BOOT_VARIABLE_ATTRIBUTES,
};
use boot::secureboot::{Guid, KeyAlgorithm, KeySet, KeySetOptions, Signer, efi};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `tl secureboot keys` subcommands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create PK, KEK and db key pairs, certificates, signature lists and .auth updates.
    #[command(after_help = "\
Files written to DIR:
  GUID                   owner GUID of the signature list entries (made once, then reused)
  PK.key KEK.key db.key  PKCS#8 PEM private keys, mode 0600
  *.crt / *.der          self-signed certificates (db has the code-signing EKU)
  *.esl                  EFI_SIGNATURE_LIST with the certificate
  *.auth                 authenticated updates (PK and KEK signed by PK, db by KEK), attrs 0x27

Examples:
  tl secureboot keys create --dir /etc/tl/keys/pool1 --subject-prefix 'Pool 1'
  tl secureboot keys create --dir keys --algorithm rsa4096 --days 7300 --force")]
    Create(CreateArgs),
}

/// Key types offered on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum Algorithm {
    /// RSA 2048 (accepted by every firmware).
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
    /// ECDSA P-256 (not accepted by OVMF builds without EC support).
    EcdsaP256,
}

impl From<Algorithm> for KeyAlgorithm {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Rsa2048 => KeyAlgorithm::Rsa2048,
            Algorithm::Rsa3072 => KeyAlgorithm::Rsa3072,
            Algorithm::Rsa4096 => KeyAlgorithm::Rsa4096,
            Algorithm::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        }
    }
}

/// `tl secureboot keys create` arguments.
#[derive(Args)]
pub struct CreateArgs {
    /// Directory for the key set (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Certificate CN prefix: "<NAME> PK", "<NAME> KEK", "<NAME> db".
    #[arg(long, value_name = "NAME", default_value = "Trusted Launch")]
    subject_prefix: String,
    /// Key type.
    #[arg(long, value_enum, default_value_t = Algorithm::Rsa2048)]
    algorithm: Algorithm,
    /// Owner GUID of the ESL entries (default: DIR/GUID, or a new random one).
    #[arg(long, value_name = "GUID")]
    owner_guid: Option<Guid>,
    /// Certificate validity in days.
    #[arg(long, value_name = "N", default_value_t = 3650)]
    days: u32,
    /// Time stamp of the .auth files, UTC "YYYY-MM-DD HH:MM:SS" (default: now).
    #[arg(long, value_name = "TIME")]
    timestamp: Option<EfiTime>,
    /// Overwrite existing keys.
    #[arg(long)]
    force: bool,
}

/// Runs `tl secureboot keys`.
pub fn run_keys(c: KeysCommand) -> anyhow::Result<()> {
    match c {
        KeysCommand::Create(a) => {
            let set = KeySet::create(
                &a.dir,
                &KeySetOptions {
                    subject_prefix: a.subject_prefix,
                    algorithm: a.algorithm.into(),
                    owner: a.owner_guid,
                    days: a.days,
                    force: a.force,
                    timestamp: a.timestamp,
                },
            )?;
            outln!("owner GUID: {}", set.owner);
            for (role, s) in [("PK", &set.pk), ("KEK", &set.kek), ("db", &set.db)] {
                outln!(
                    "{role:<4} {}  serial {}",
                    s.cert.subject(),
                    boot::secureboot::pkcs7::hex(
                        s.cert.cert.tbs_certificate.serial_number.as_bytes()
                    )
                );
            }
            outln!("written to {}", a.dir.display());
            Ok(())
        }
    }
}

/// `tl secureboot auth-var` arguments.
#[derive(Args)]
#[command(after_help = "\
Examples:
  # Append the Microsoft UEFI CA 2023 to db, signed with the KEK:
  tl secureboot auth-var --name db --esl ms-uefi-2023.esl --key KEK.key --cert KEK.crt \\
      --append --output db-append.auth
  # Replace KEK (signed by PK):
  tl secureboot auth-var --name KEK --esl KEK.esl --key PK.key --cert PK.crt --output KEK.auth")]
pub struct AuthVarArgs {
    /// Variable name (PK, KEK, db, dbx, dbt, ...).
    #[arg(long)]
    name: String,
    /// Vendor GUID (default: EFI_GLOBAL_VARIABLE for PK/KEK, the image security database for
    /// db/dbx/dbt/dbr).
    #[arg(long, value_name = "GUID")]
    vendor: Option<Guid>,
    /// New value: an EFI_SIGNATURE_LIST file (omit with --delete).
    #[arg(long, value_name = "FILE", required_unless_present = "delete")]
    esl: Option<PathBuf>,
    /// Sign an empty value, which deletes the variable (or PK: leaves user mode).
    #[arg(long, conflicts_with = "esl")]
    delete: bool,
    /// Signer's private key (PEM).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// Signer's certificate (PEM or DER).
    #[arg(long, value_name = "CERT")]
    cert: PathBuf,
    /// Append to the variable (EFI_VARIABLE_APPEND_WRITE) instead of replacing it.
    #[arg(long)]
    append: bool,
    /// Time stamp, UTC "YYYY-MM-DD HH:MM:SS" (default: now; must be later than the stored one).
    #[arg(long, value_name = "TIME")]
    timestamp: Option<EfiTime>,
    /// Output .auth file.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

/// Runs `tl secureboot auth-var`.
pub fn run_auth_var(a: AuthVarArgs) -> anyhow::Result<()> {
    let vendor = match (a.vendor, a.name.as_str()) {
        (Some(g), _) => g,
        (None, "PK" | "KEK") => efi::EFI_GLOBAL_VARIABLE,
        (None, "db" | "dbx" | "dbt" | "dbr") => efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
        (None, n) => bail!("--vendor is required for variable {n:?}"),
    };
    let data = match &a.esl {
        Some(p) => {
            let d = std::fs::read(p).with_context(|| format!("read {}", p.display()))?;
            boot::secureboot::SignatureList::parse_all(&d)
                .with_context(|| format!("{}: not an EFI_SIGNATURE_LIST", p.display()))?;
            d
        }
        None => Vec::new(),
    };
    let signer = Signer::from_pem_files(&a.key, &a.cert)?;
    let mut attributes = SECURE_BOOT_VARIABLE_ATTRIBUTES;
    if a.append {
        attributes |= EFI_VARIABLE_APPEND_WRITE;
    }
    let ts = a.timestamp.unwrap_or_else(EfiTime::now);
    let out = auth::create_auth(&a.name, &vendor, attributes, &ts, &data, &signer)?;
    std::fs::write(&a.output, &out).with_context(|| format!("write {}", a.output.display()))?;
    outln!(
        "{}: {} update of {} ({vendor}), attributes 0x{attributes:02x}, signed by {}",
        a.output.display(),
        if a.append { "append" } else { "replace" },
        a.name,
        signer.cert.subject()
    );
    Ok(())
}
