//! `tl-vtpm`: drop-in for `swtpm socket --tpm2`.
#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    anyhow::bail!("tl-vtpm is not implemented yet")
}
