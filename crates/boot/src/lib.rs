//! The boot chain as firmware, shim, grub and the kernel see it: TCG event logs (parse, write,
//! replay), UEFI Secure Boot (signature lists, Authenticode, db/dbx/SBAT, module signatures),
//! signing, and PCR prediction. Facts and sources: `shared/reference/boot-chain.md`.
#![forbid(unsafe_code)]

pub mod eventlog;
pub mod predict;
pub mod secureboot;
