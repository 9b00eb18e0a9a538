//! TPM 2.0 engine. Pure logic: bytes in, bytes out; persistence is the caller's job.
//!
//! The API below is the contract between the engine and the `tl-vtpm` daemon (`crates/vtpm`).
#![forbid(unsafe_code)]

/// Which state blob (swtpm's `PTM_BLOB_TYPE_*` numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobType {
    /// NV memory: seeds, hierarchy auths, NV indices, PCR allocation, orderly state from
    /// `TPM2_Shutdown(STATE)`, clock. Written to `tpm2-00.permall`.
    Permanent = 1,
    /// A snapshot of volatile state (PCRs, loaded objects, sessions) for STORE_VOLATILE and migration.
    Volatile = 2,
    /// The `TPM2_Shutdown(STATE)` save area (kept separately for swtpm blob-type compatibility).
    SaveState = 3,
}

/// Why a state blob was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Placeholder until the engine lands.
    #[error("state blob is not valid: {0}")]
    Invalid(String),
}

/// A TPM 2.0 instance.
pub struct Tpm {}

impl Tpm {
    /// A freshly manufactured TPM: new random seeds, SHA-1/256/384/512 banks allocated, empty NV.
    pub fn manufacture() -> Tpm {
        todo!("engine")
    }

    /// Rebuilds a TPM from its permanent blob (and optionally a volatile snapshot).
    pub fn restore(_permanent: &[u8], _volatile: Option<&[u8]>) -> Result<Tpm, StateError> {
        todo!("engine")
    }

    /// `_TPM_Init`: power-on/reset. Volatile state is lost (unless restored from a Shutdown(STATE)
    /// save area by the following `TPM2_Startup(STATE)`); the next command must be `TPM2_Startup`.
    pub fn init(&mut self) {
        todo!("engine")
    }

    /// Executes one command (a complete frame). Always returns a response frame, never panics.
    pub fn execute(&mut self, _locality: u8, _command: &[u8]) -> Vec<u8> {
        todo!("engine")
    }

    /// True (once) if the permanent state changed since the last call: the caller persists it.
    pub fn take_permanent_dirty(&mut self) -> bool {
        todo!("engine")
    }

    /// Serializes one blob (versioned, integrity-checked format owned by this crate).
    pub fn save(&self, _blob: BlobType) -> Vec<u8> {
        todo!("engine")
    }

    /// Replaces one blob (e.g. incoming migration). The TPM must be re-initialised afterwards.
    pub fn load(&mut self, _blob: BlobType, _bytes: &[u8]) -> Result<(), StateError> {
        todo!("engine")
    }

    /// The TPM-established flag (PC Client: set by a DRTM `_TPM_Hash_Start`).
    pub fn established(&self) -> bool {
        todo!("engine")
    }

    /// Clears the TPM-established flag (needs locality 3 or 4).
    pub fn reset_established(&mut self, _locality: u8) -> Result<(), u32> {
        todo!("engine")
    }

    /// `_TPM_Hash_Start` (DRTM, locality 4).
    pub fn hash_start(&mut self) {
        todo!("engine")
    }

    /// `_TPM_Hash_Data`.
    pub fn hash_data(&mut self, _data: &[u8]) {
        todo!("engine")
    }

    /// `_TPM_Hash_End`: extends PCR 17 and sets the established flag.
    pub fn hash_end(&mut self) {
        todo!("engine")
    }
}
