//! PCR prediction: what OVMF, shim, grub and the kernel's EFI stub measure into PCR 4, 7, 8, 9
//! and 14 when a given firmware variable store boots a given shim → grub → kernel chain
//! (reference/boot-chain.md §6). A verifier compares the result with a quote or an event log.
//!
//! Fixed platform assumptions (each one changes the values if it does not hold):
//! - OVMF (edk2 Tcg2Dxe/DxeImageVerificationLib) as firmware, one boot option that starts shim
//!   at the first attempt (no "Returning from EFI Application" pair, no option ROMs).
//! - shim 16.x with no MOK state of its own (no MokList/MokListX/SbatPolicy variables enrolled),
//!   and a fresh variable store (no SbatLevel yet), so shim applies its default SBAT policy.
//! - Debian's signed grub 2.06, prefix `/EFI/debian` built in, installed next to shim on a raw
//!   (partitionless) FAT ESP on the first disk, so its early config names `(hd0)` ([`GrubPlatform`]).
//! - grub boots with `linuxefi`/`initrdefi` (the EFI handover path): the kernel's EFI stub then
//!   logs no tagged events of its own (its PCR9 "Linux initrd"/LoadOptions events are absent).
//! - Banks: sha1 and sha256.

mod chain;
mod compare;
mod error;
mod events;
mod firmware;
mod grub;
mod model;
#[cfg(test)]
mod tests;

pub use chain::{BootChain, ShimSections};
pub use compare::EventMismatch;
pub use error::PredictError;
pub use firmware::FirmwareVars;
pub use grub::{GrubAction, GrubPlatform, grub_actions};
pub use model::{PREDICTED_PCRS, PredictedEvent, PredictedPcr, Prediction};

/// Predicts PCR 4, 7, 8, 9 and 14 (sha1 and sha256) and their event sequence.
pub fn predict(vars: &FirmwareVars, chain: &BootChain) -> Result<Prediction, PredictError> {
    events::predict(vars, chain, &GrubPlatform::raw_esp())
}

/// As [`predict`], for a grub that sees a different device or prefix.
pub fn predict_on(
    vars: &FirmwareVars,
    chain: &BootChain,
    platform: &GrubPlatform,
) -> Result<Prediction, PredictError> {
    events::predict(vars, chain, platform)
}
