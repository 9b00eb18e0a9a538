//! `tl eventlog`.

use clap::Subcommand;

/// `tl eventlog` subcommands.
#[derive(Subcommand)]
pub enum EventlogCommand {}

/// Runs one `tl eventlog` subcommand.
pub fn run(command: EventlogCommand) -> anyhow::Result<()> {
    match command {}
}
