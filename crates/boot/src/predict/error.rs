//! Why a prediction could not be made.

use crate::secureboot::{EslError, PeError, SbatError, ShimError, VarsError};

/// Why a boot could not be predicted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PredictError {
    /// A boot-chain binary is not a PE image.
    #[error("{image} is not a PE image: {source}")]
    Pe {
        /// Which binary.
        image: &'static str,
        /// Cause.
        #[source]
        source: PeError,
    },
    /// shim lacks a section the prediction reads.
    #[error("shim has no {0} section")]
    MissingSection(&'static str),
    /// shim's `.vendor_cert` is malformed.
    #[error("shim: {0}")]
    VendorCert(#[from] ShimError),
    /// shim's `.sbatlevel` is malformed.
    #[error("shim: {0}")]
    SbatLevel(#[from] SbatError),
    /// A shim section is malformed.
    #[error("shim {section} at offset {offset}: {why}")]
    BadSection {
        /// Section name.
        section: &'static str,
        /// Offset in the section.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A Secure Boot variable does not hold signature lists.
    #[error("{name} is not a list of EFI_SIGNATURE_LISTs: {source}")]
    Esl {
        /// Variable name.
        name: &'static str,
        /// Cause.
        #[source]
        source: EslError,
    },
    /// The OVMF variable store does not parse.
    #[error("OVMF VARS: {0}")]
    Vars(#[from] VarsError),
    /// With Secure Boot on, a stage would refuse the next one: that boot never measures the rest.
    #[error("{verifier} would refuse {image}: {reason}")]
    Refused {
        /// Who decides (firmware or shim).
        verifier: &'static str,
        /// Which image.
        image: &'static str,
        /// The verdict's reason.
        reason: String,
    },
    /// grub.cfg uses something the model does not cover, or is malformed.
    #[error("grub.cfg line {line}: {why}")]
    GrubCfg {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// The given kernel command line is not the one grub.cfg passes.
    #[error("grub.cfg boots the kernel with `{cfg}`, not the given command line `{given}`")]
    CmdlineMismatch {
        /// Arguments grub.cfg gives the kernel.
        cfg: String,
        /// The expected command line.
        given: String,
    },
}
