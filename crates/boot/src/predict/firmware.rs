//! The firmware's Secure Boot variables, byte-exact: PCR7 hashes them as stored, so owner GUIDs
//! and list order matter (reference/boot-chain.md §6 "Predictor rules").

use crate::secureboot::{SignatureList, VariableStore, efi};

use super::error::PredictError;

/// PK, KEK, db and dbx as the firmware holds them, and whether Secure Boot enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareVars {
    /// `SecureBoot` (1 when enforcing).
    pub secure_boot: bool,
    /// `PK` contents (empty when not enrolled).
    pub pk: Vec<u8>,
    /// `KEK` contents.
    pub kek: Vec<u8>,
    /// `db` contents.
    pub db: Vec<u8>,
    /// `dbx` contents.
    pub dbx: Vec<u8>,
}

impl FirmwareVars {
    /// Reads PK/KEK/db/dbx out of an OVMF VARS file. `secure_boot` defaults to "a PK is
    /// enrolled" (the secboot firmware enforces then; user mode needs a PK).
    pub fn from_ovmf_vars(fd: &[u8], secure_boot: Option<bool>) -> Result<Self, PredictError> {
        let store = VariableStore::parse(fd)?;
        let get = |name: &str, vendor: &efi::Guid| {
            store
                .get(name, vendor)
                .map(|v| v.data.clone())
                .unwrap_or_default()
        };
        let pk = get("PK", &efi::EFI_GLOBAL_VARIABLE);
        let secure_boot = secure_boot.unwrap_or(!pk.is_empty());
        Self::from_lists(
            secure_boot,
            pk,
            get("KEK", &efi::EFI_GLOBAL_VARIABLE),
            get("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
            get("dbx", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
        )
    }

    /// Takes the four variables' contents (concatenated `EFI_SIGNATURE_LIST`s, possibly empty).
    pub fn from_lists(
        secure_boot: bool,
        pk: Vec<u8>,
        kek: Vec<u8>,
        db: Vec<u8>,
        dbx: Vec<u8>,
    ) -> Result<Self, PredictError> {
        let v = Self {
            secure_boot,
            pk,
            kek,
            db,
            dbx,
        };
        for (name, data) in v.named() {
            lists(name, data)?;
        }
        Ok(v)
    }

    /// (name, contents) in measurement order.
    pub(crate) fn named(&self) -> [(&'static str, &[u8]); 4] {
        [
            ("PK", &self.pk),
            ("KEK", &self.kek),
            ("db", &self.db),
            ("dbx", &self.dbx),
        ]
    }

    /// db as signature lists.
    pub(crate) fn db_lists(&self) -> Result<Vec<SignatureList>, PredictError> {
        lists("db", &self.db)
    }

    /// dbx as signature lists.
    pub(crate) fn dbx_lists(&self) -> Result<Vec<SignatureList>, PredictError> {
        lists("dbx", &self.dbx)
    }
}

fn lists(name: &'static str, data: &[u8]) -> Result<Vec<SignatureList>, PredictError> {
    SignatureList::parse_all(data).map_err(|source| PredictError::Esl { name, source })
}
