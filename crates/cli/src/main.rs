//! `tl`: the Trusted Launch command line.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

mod cmd;

/// Self-hosted Trusted Launch: Secure Boot + vTPM node pools, driven like `az aks`.
#[derive(Parser)]
#[command(name = "tl", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and replay TCG event logs (binary_bios_measurements).
    #[command(subcommand)]
    Eventlog(cmd::eventlog::EventlogCommand),
    /// UEFI Secure Boot: verify images against db/dbx, manage keys, sign, predict PCRs.
    #[command(subcommand)]
    Secureboot(cmd::secureboot::SecurebootCommand),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Eventlog(c) => cmd::eventlog::run(c),
        Command::Secureboot(c) => cmd::secureboot::run(c),
    }
}
