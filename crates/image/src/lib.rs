//! Node images: fetch Debian signed boot artifacts, build an ESP and an initrd.
#![forbid(unsafe_code)]

pub mod cache;
pub mod cpio;
pub mod debian;
pub mod esp;
mod fatfix;
pub mod initrd;
pub mod pe;

pub use cache::cache_dir;
pub use debian::{DebianArtifacts, FetchError, OvmfFiles};
pub use esp::{EspError, EspSpec, GRUB_CFG, GRUB_TAMPER_OFFSET, build_esp};
pub use initrd::{INIT_SCRIPT, InitrdError, build_initrd};
pub use pe::{PeError, strip_signature};

/// Lower-case hex sha256 of `data` (aws-lc-rs).
pub fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
