//! Launch backends: QEMU q35 + SMM + OVMF with a vTPM, console watching, boot-failure detection.
#![forbid(unsafe_code)]
