//! UEFI Secure Boot: signature lists, OVMF variable stores, the Authenticode digest, PKCS#7
//! verification, edk2's db/dbx/dbt decision, shim's SBAT/vendor certificate/MOK layer, kernel
//! module signatures and the certificates built into a kernel (reference/boot-chain.md §1–§4,
//! §8); and the owner's side: key sets, authenticated variable updates, Authenticode and module
//! signing, and enrollment into OVMF variable stores.

pub mod auth;
pub mod certgen;
mod crypto;
pub mod dmpstore;
pub mod efi;
pub mod enroll;
pub mod esl;
pub mod kernel;
pub mod keys;
mod le;
pub mod modsign;
pub mod module;
pub mod pe;
pub mod pkcs7;
pub mod policy;
pub mod sbat;
pub mod shim;
pub mod sign;
pub mod signer;
pub mod timestamp;
mod tlv;
pub mod vars;

pub use auth::{AuthError, AuthenticatedUpdate, EfiTime};
pub use certgen::KeyAlgorithm;
pub use crypto::CryptoError;
pub use efi::{Guid, GuidParseError};
pub use enroll::{EnrollError, Enrollment, MicrosoftKeys, enroll};
pub use esl::{EslError, SignatureData, SignatureList};
pub use kernel::{Compression, KernelError};
pub use keys::{KeySet, KeySetOptions, KeysError};
pub use modsign::{ModuleSignError, sign_module};
pub use module::{ModuleError, ModuleSignature};
pub use pe::{HashAlg, PeError, PeImage};
pub use pkcs7::{AuthenticodeSignature, Pkcs7Error, SignedMessage, X509};
pub use policy::{DbEntry, Reason, SecureBootPolicy, SignatureReport, Verdict};
pub use sbat::{Sbat, SbatError, SbatLevel};
pub use shim::{ShimError, ShimPolicy, VendorCert};
pub use sign::{SignError, SignMode, sign_image};
pub use signer::{PrivateKey, Signer, SignerError};
pub use tlv::TlvError;
pub use vars::{SecureBootVariables, VariableStore, VarsError};
