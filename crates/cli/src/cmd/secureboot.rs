//! `tl secureboot`.

use clap::Subcommand;

/// `tl secureboot` subcommands.
#[derive(Subcommand)]
pub enum SecurebootCommand {}

/// Runs one `tl secureboot` subcommand.
pub fn run(command: SecurebootCommand) -> anyhow::Result<()> {
    match command {}
}
