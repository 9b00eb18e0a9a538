//! A platform owner's key set (what `sbctl create-keys` makes): PK, KEK and db key pairs with
//! self-signed certificates, their signature lists and the authenticated updates that enroll
//! them (`PK.auth` and `KEK.auth` signed by PK, `db.auth` by KEK), kept in one directory:
//!
//! ```text
//! GUID                      owner GUID of every entry (made once, then reused)
//! {PK,KEK,db}.key           PKCS#8 PEM private key, mode 0600
//! {PK,KEK,db}.crt / .der    certificate, PEM and DER
//! {PK,KEK,db}.esl           EFI_SIGNATURE_LIST with the certificate
//! {PK,KEK,db}.auth          EFI_VARIABLE_AUTHENTICATION_2 + ESL, attributes 0x27
//! ```

use super::auth::{self, AuthError, EfiTime, SECURE_BOOT_VARIABLE_ATTRIBUTES};
use super::certgen::{self, CertGenError, CertParams, CertUsage, KeyAlgorithm};
use super::efi::{self, Guid, GuidParseError};
use super::enroll::Enrollment;
use super::esl::{EslError, SignatureList};
use super::signer::{Signer, SignerError};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why a key set could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A key exists and `force` was not given.
    #[error("{0} exists: refusing to overwrite keys without --force")]
    Exists(PathBuf),
    /// The stored owner GUID differs from the one requested.
    #[error("{path} holds owner {stored}, not {requested}: use --force to replace it")]
    OwnerMismatch {
        /// The GUID file.
        path: PathBuf,
        /// GUID in the file.
        stored: Guid,
        /// GUID asked for.
        requested: Guid,
    },
    /// The GUID file does not hold a GUID.
    #[error("{path}: {source}")]
    BadGuid {
        /// The GUID file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: GuidParseError,
    },
    /// A key or certificate is unusable.
    #[error("{role}: {source}")]
    Signer {
        /// PK, KEK or db.
        role: &'static str,
        /// Cause.
        #[source]
        source: SignerError,
    },
    /// Certificate generation failed.
    #[error("{role}: {source}")]
    CertGen {
        /// PK, KEK or db.
        role: &'static str,
        /// Cause.
        #[source]
        source: CertGenError,
    },
    /// A signature list would not encode.
    #[error("{role}: {source}")]
    Esl {
        /// PK, KEK or db.
        role: &'static str,
        /// Cause.
        #[source]
        source: EslError,
    },
    /// An `.auth` could not be built.
    #[error("{role}.auth: {source}")]
    Auth {
        /// PK, KEK or db.
        role: &'static str,
        /// Cause.
        #[source]
        source: AuthError,
    },
}

/// How to make a key set.
#[derive(Debug, Clone)]
pub struct KeySetOptions {
    /// Prefix of each certificate's CN ("<prefix> PK", "<prefix> KEK", "<prefix> db").
    pub subject_prefix: String,
    /// Key type.
    pub algorithm: KeyAlgorithm,
    /// Owner GUID; by default the one in DIR/GUID, or a new random one.
    pub owner: Option<Guid>,
    /// Certificate validity in days.
    pub days: u32,
    /// Overwrite existing keys.
    pub force: bool,
    /// Time stamp of the `.auth` files (default: now).
    pub timestamp: Option<EfiTime>,
}

impl Default for KeySetOptions {
    fn default() -> Self {
        KeySetOptions {
            subject_prefix: "Trusted Launch".into(),
            algorithm: KeyAlgorithm::Rsa2048,
            owner: None,
            days: 3650,
            force: false,
            timestamp: None,
        }
    }
}

/// The three roles of a key set.
pub const ROLES: [&str; 3] = ["PK", "KEK", "db"];

/// PK, KEK and db with their owner GUID.
#[derive(Debug)]
pub struct KeySet {
    /// Directory the files live in.
    pub dir: PathBuf,
    /// Owner GUID of the signature list entries.
    pub owner: Guid,
    /// Platform key.
    pub pk: Signer,
    /// Key exchange key.
    pub kek: Signer,
    /// Signature database key (signs images).
    pub db: Signer,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeysError + '_ {
    move |source| KeysError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `data` to `path` readable by the owner only; the mode is set at creation, so the file
/// is never world-readable, even briefly.
fn write_private(path: &Path, data: &[u8]) -> Result<(), KeysError> {
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    // Ensure 0600 even under an unusual umask.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(path))?;
    f.write_all(data).map_err(io(path))
}

fn write_public(path: &Path, data: &[u8]) -> Result<(), KeysError> {
    fs::write(path, data).map_err(io(path))
}

impl KeySet {
    /// Creates PK, KEK and db in `dir` (created if missing) and writes every file listed in the
    /// module documentation.
    pub fn create(dir: &Path, opts: &KeySetOptions) -> Result<KeySet, KeysError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        if !opts.force {
            for r in ROLES {
                let p = dir.join(format!("{r}.key"));
                if p.exists() {
                    return Err(KeysError::Exists(p));
                }
            }
        }
        let guid_path = dir.join("GUID");
        let stored = Self::read_guid(&guid_path)?;
        let owner = match (stored, opts.owner) {
            (Some(s), Some(r)) if s != r && !opts.force => {
                return Err(KeysError::OwnerMismatch {
                    path: guid_path,
                    stored: s,
                    requested: r,
                });
            }
            (_, Some(r)) => r,
            (Some(s), None) => s,
            (None, None) => Guid::random(),
        };
        if stored != Some(owner) {
            write_public(&guid_path, format!("{owner}\n").as_bytes())?;
        }
        let now = SystemTime::now();
        let make = |role: &'static str, usage| {
            certgen::generate(
                opts.algorithm,
                &CertParams {
                    common_name: format!("{} {role}", opts.subject_prefix),
                    days: opts.days,
                    not_before: now,
                    usage,
                },
            )
            .map_err(|source| KeysError::CertGen { role, source })
        };
        let set = KeySet {
            dir: dir.to_owned(),
            owner,
            pk: make("PK", CertUsage::KeyExchange)?,
            kek: make("KEK", CertUsage::KeyExchange)?,
            db: make("db", CertUsage::CodeSigning)?,
        };
        set.write_files(opts.timestamp.unwrap_or_else(EfiTime::now))?;
        Ok(set)
    }

    /// Loads a key set written by [`KeySet::create`].
    pub fn load(dir: &Path) -> Result<KeySet, KeysError> {
        let guid_path = dir.join("GUID");
        let owner = Self::read_guid(&guid_path)?.ok_or_else(|| KeysError::Io {
            path: guid_path.clone(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let load = |role: &'static str| {
            Signer::from_pem_files(
                &dir.join(format!("{role}.key")),
                &dir.join(format!("{role}.crt")),
            )
            .map_err(|source| KeysError::Signer { role, source })
        };
        Ok(KeySet {
            dir: dir.to_owned(),
            owner,
            pk: load("PK")?,
            kek: load("KEK")?,
            db: load("db")?,
        })
    }

    fn read_guid(path: &Path) -> Result<Option<Guid>, KeysError> {
        match fs::read_to_string(path) {
            Ok(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|source| KeysError::BadGuid {
                    path: path.to_owned(),
                    source,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// The signer of a role ("PK", "KEK" or "db").
    pub fn signer(&self, role: &str) -> Option<&Signer> {
        match role {
            "PK" => Some(&self.pk),
            "KEK" => Some(&self.kek),
            "db" => Some(&self.db),
            _ => None,
        }
    }

    /// The signature list of a role: its certificate under the set's owner GUID.
    pub fn esl(&self, signer: &Signer) -> SignatureList {
        SignatureList::single(efi::EFI_CERT_X509_GUID, self.owner, signer.cert.der.clone())
    }

    /// PK, KEK and db as an [`Enrollment`] (no dbx) stamped `timestamp`.
    pub fn enrollment(&self, timestamp: EfiTime) -> Enrollment {
        Enrollment {
            pk: vec![self.esl(&self.pk)],
            kek: vec![self.esl(&self.kek)],
            db: vec![self.esl(&self.db)],
            dbx: Vec::new(),
            timestamp,
        }
    }

    /// The `.auth` for `role` (PK and KEK signed by PK, db by KEK).
    pub fn auth(&self, role: &'static str, timestamp: &EfiTime) -> Result<Vec<u8>, KeysError> {
        let (signer, vendor, target) = match role {
            "PK" => (&self.pk, efi::EFI_GLOBAL_VARIABLE, &self.pk),
            "KEK" => (&self.pk, efi::EFI_GLOBAL_VARIABLE, &self.kek),
            _ => (&self.kek, efi::EFI_IMAGE_SECURITY_DATABASE_GUID, &self.db),
        };
        let esl = self
            .esl(target)
            .to_bytes()
            .map_err(|source| KeysError::Esl { role, source })?;
        auth::create_auth(
            role,
            &vendor,
            SECURE_BOOT_VARIABLE_ATTRIBUTES,
            timestamp,
            &esl,
            signer,
        )
        .map_err(|source| KeysError::Auth { role, source })
    }

    fn write_files(&self, timestamp: EfiTime) -> Result<(), KeysError> {
        for role in ROLES {
            let s = self.signer(role).unwrap_or(&self.pk);
            let key = s
                .key
                .to_pkcs8_pem()
                .map_err(|source| KeysError::Signer { role, source })?;
            write_private(&self.dir.join(format!("{role}.key")), key.as_bytes())?;
            let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &s.cert.der)
                .map_err(|e| KeysError::Signer {
                    role,
                    source: SignerError::KeyFormat(e.to_string()),
                })?;
            write_public(&self.dir.join(format!("{role}.crt")), pem.as_bytes())?;
            write_public(&self.dir.join(format!("{role}.der")), &s.cert.der)?;
            let esl = self
                .esl(s)
                .to_bytes()
                .map_err(|source| KeysError::Esl { role, source })?;
            write_public(&self.dir.join(format!("{role}.esl")), &esl)?;
            write_public(
                &self.dir.join(format!("{role}.auth")),
                &self.auth(role, &timestamp)?,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::auth::AuthenticatedUpdate;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tl-keys-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn create_load_refuse_and_auth_chain() {
        let d = tmpdir("create");
        let opts = KeySetOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            subject_prefix: "unit".into(),
            ..Default::default()
        };
        let set = KeySet::create(&d, &opts).unwrap();
        for r in ROLES {
            let mode = fs::metadata(d.join(format!("{r}.key")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{r}.key");
            for ext in ["crt", "der", "esl", "auth"] {
                assert!(d.join(format!("{r}.{ext}")).exists(), "{r}.{ext}");
            }
        }
        assert!(matches!(
            KeySet::create(&d, &opts),
            Err(KeysError::Exists(_))
        ));
        let loaded = KeySet::load(&d).unwrap();
        assert_eq!(loaded.owner, set.owner);
        assert_eq!(loaded.db.cert.der, set.db.cert.der);
        // Re-creating with --force keeps the owner GUID.
        let again = KeySet::create(
            &d,
            &KeySetOptions {
                force: true,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(again.owner, set.owner);
        assert_ne!(again.pk.cert.der, set.pk.cert.der);
        // A different owner GUID is refused without --force.
        let other = KeySetOptions {
            owner: Some(efi::MICROSOFT_OWNER_GUID),
            force: false,
            ..opts
        };
        fs::remove_file(d.join("PK.key")).unwrap();
        fs::remove_file(d.join("KEK.key")).unwrap();
        fs::remove_file(d.join("db.key")).unwrap();
        assert!(matches!(
            KeySet::create(&d, &other),
            Err(KeysError::OwnerMismatch { .. })
        ));
        // The .auth files verify against their signers: PK self, KEK by PK, db by KEK.
        let g = efi::EFI_GLOBAL_VARIABLE;
        let dbg = efi::EFI_IMAGE_SECURITY_DATABASE_GUID;
        let read = |n: &str| fs::read(d.join(n)).unwrap();
        let pk = read("PK.auth");
        AuthenticatedUpdate::parse(&pk)
            .unwrap()
            .verify("PK", &g, 0x27, &again.pk.cert)
            .unwrap();
        let kek = read("KEK.auth");
        AuthenticatedUpdate::parse(&kek)
            .unwrap()
            .verify("KEK", &g, 0x27, &again.pk.cert)
            .unwrap();
        let db = read("db.auth");
        let u = AuthenticatedUpdate::parse(&db).unwrap();
        u.verify("db", &dbg, 0x27, &again.kek.cert).unwrap();
        assert!(u.verify("db", &dbg, 0x27, &again.pk.cert).is_err());
        assert_eq!(u.data, &read("db.esl")[..]);
        fs::remove_dir_all(&d).unwrap();
    }
}
