//! UEFI Secure Boot: signature lists, OVMF variable stores, the Authenticode digest, PKCS#7
//! verification, edk2's db/dbx decision, shim's SBAT/vendor certificate/MOK layer, kernel
//! module signatures and the certificates built into a kernel (reference/boot-chain.md §1–§4, §8).

mod crypto;
pub mod efi;
pub mod esl;
pub mod kernel;
mod le;
pub mod module;
pub mod pe;
pub mod pkcs7;
pub mod policy;
pub mod sbat;
pub mod shim;
pub mod timestamp;
mod tlv;
pub mod vars;

pub use crypto::CryptoError;
pub use efi::Guid;
pub use esl::{EslError, SignatureData, SignatureList};
pub use kernel::{Compression, KernelError};
pub use module::{ModuleError, ModuleSignature};
pub use pe::{HashAlg, PeError, PeImage};
pub use pkcs7::{AuthenticodeSignature, Pkcs7Error, SignedMessage, X509};
pub use policy::{DbEntry, Reason, SecureBootPolicy, SignatureReport, Verdict};
pub use sbat::{Sbat, SbatError, SbatLevel};
pub use shim::{ShimError, ShimPolicy, VendorCert};
pub use tlv::TlvError;
pub use vars::{SecureBootVariables, VariableStore, VarsError};
