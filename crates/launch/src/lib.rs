//! Launch backends: QEMU q35 + SMM + OVMF with a vTPM, console watching, boot-failure detection.
#![forbid(unsafe_code)]

pub mod boot;
pub mod console;
pub mod eventlog;
pub mod guard;
pub mod qemu;
pub mod report;
pub mod vtpm;

pub use boot::{
    BootConfig, BootFiles, CustomChain, FirmwareKeys, LaunchError, Progress, boot, boot_files,
    boot_with_progress,
};
pub use console::{ConsoleEvent, Stage};
pub use eventlog::{EventLogError, EventLogSummary, summarize};
pub use report::{BootOutcome, BootReport, PcrBank, Pcrs};
pub use vtpm::VtpmKind;
