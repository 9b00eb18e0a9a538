//! `tl-vtpm`: drop-in for `swtpm socket --tpm2`.
#![forbid(unsafe_code)]

mod cli;
mod crypt;
mod ctrl;
mod daemon;
mod device;
mod framing;
mod log;
mod mssim;
mod server;
mod setup;
mod sockets;
mod state;

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Options, Sink};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("setup") {
        return setup::main(args[1..].to_vec());
    }
    let opts = match cli::parse(args.clone()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tl-vtpm: {e}");
            return ExitCode::from(1);
        }
    };
    if opts.help {
        print!("{}", cli::HELP);
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!(
            "tl-vtpm version {} (swtpm-compatible TPM 2.0 emulator)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if opts.print_capabilities {
        println!("{}", cli::capabilities_json());
        return ExitCode::SUCCESS;
    }
    let result = if opts.print_states {
        print_states(&opts)
    } else if opts.daemon && opts.daemon_child.is_none() {
        daemon::spawn_detached(&args)
    } else {
        run(opts).map(|()| ExitCode::SUCCESS)
    };
    match result {
        Ok(c) => c,
        Err(e) => {
            error!("{e:#}");
            if log::enabled(1) {
                // Also on the terminal: a log file is easy to miss when start-up fails.
                eprintln!("tl-vtpm: {e:#}");
            }
            ExitCode::from(1)
        }
    }
}

fn print_states(opts: &Options) -> anyhow::Result<ExitCode> {
    let dir = opts
        .state_dir
        .as_ref()
        .context("--print-states needs --tpmstate")?;
    let states: Vec<String> = [state::PERMALL, state::VOLATILE]
        .iter()
        .filter(|n| dir.join(n).exists())
        .map(|n| format!("\"{}\"", n.trim_start_matches("tpm2-00.")))
        .collect();
    println!(
        "{{ \"type\": \"swtpm\", \"states\": [ {} ] }}",
        states.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn open_sink(sink: &Sink, truncate: bool) -> anyhow::Result<std::fs::File> {
    Ok(match sink {
        Sink::File(p) => OpenOptions::new()
            .create(true)
            .append(!truncate)
            .write(true)
            .truncate(truncate)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(p)
            .with_context(|| format!("cannot open {}", p.display()))?,
        Sink::Fd(n) => std::fs::File::from(
            sockets::inherit_fd(*n).with_context(|| format!("cannot use fd {n}"))?,
        ),
    })
}

fn run(opts: Options) -> anyhow::Result<()> {
    if opts.daemon_child.is_some() {
        daemon::detach();
    }
    let ready = opts
        .daemon_child
        .map(sockets::inherit_fd)
        .transpose()
        .context("daemon readiness fd")?;
    match &opts.log {
        Some(l) => {
            let out = l
                .sink
                .as_ref()
                .map(|s| open_sink(s, l.truncate))
                .transpose()?;
            log::init(out, l.level, l.prefix.clone());
        }
        None => log::init(None, 0, String::new()),
    }
    let dir = opts.state_dir.clone().context("missing --tpmstate")?;
    let key = opts.key.as_ref().map(crypt::StateKey::load).transpose()?;
    let store = state::StateDir::open(&dir, opts.state_mode, key)?;
    let cfg = device::Config {
        reject_locality_4: opts.reject_locality_4,
        allow_set_locality: opts.allow_set_locality,
    };
    let mut dev = device::Device::open(store, cfg)?;
    if opts.not_need_init {
        dev.init(0)
            .map_err(|e| anyhow::anyhow!("could not initialize the TPM: {e}"))?;
        let su = match opts.startup {
            Some(cli::StartupType::Clear) => Some(0u16),
            Some(cli::StartupType::State) => Some(1u16),
            _ => None,
        };
        if let Some(su) = su {
            let rc = dev.startup(su);
            if rc != 0 {
                error!(
                    "TPM2_Startup({}) failed: {rc:#x}",
                    if su == 0 { "CLEAR" } else { "STATE" }
                );
            }
        }
    }
    let start: Box<dyn FnOnce() -> std::io::Result<server::Exit>> = if opts.mssim {
        let Some(cli::Endpoint::Tcp { port, bindaddr }) = opts.server.as_ref().map(|s| &s.endpoint)
        else {
            anyhow::bail!("mssim needs a TCP port");
        };
        let tpm = sockets::Listener::tcp(bindaddr, *port)?;
        let platform = sockets::Listener::tcp(bindaddr, *port + 1)?;
        let threads = mssim::threads(tpm, platform);
        let dev = std::sync::Arc::new(std::sync::Mutex::new(dev));
        Box::new(move || server::run_threads(dev, Vec::new(), threads, device::Device::power_off))
    } else {
        let data = opts
            .server
            .as_ref()
            .map(sockets::open_channel)
            .transpose()?;
        let ctrl = opts.ctrl.as_ref().map(sockets::open_channel).transpose()?;
        let cfg = server::LoopConfig {
            terminate: opts.terminate,
            disconnect: opts.server.as_ref().is_some_and(|s| s.disconnect),
        };
        let srv = server::Server::new(dev, cfg, data, ctrl)?;
        Box::new(move || srv.run())
    };
    let mut pid_path = None;
    if let Some(p) = &opts.pid {
        let mut f = open_sink(p, true)?;
        write!(f, "{}", std::process::id())?;
        if let Sink::File(path) = p {
            pid_path = Some(path.clone());
        }
    }
    info!(
        "tl-vtpm {} ready (state {})",
        env!("CARGO_PKG_VERSION"),
        dir.display()
    );
    if let Some(fd) = ready {
        daemon::notify_ready(fd);
    }
    let exit = start();
    if let Some(p) = pid_path {
        let _ = std::fs::remove_file(p);
    }
    info!("exit: {exit:?}");
    exit?;
    Ok(())
}
