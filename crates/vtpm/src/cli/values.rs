//! The small option values: `--tpmstate`, `--flags`, `--locality`, `--log`, `--pid`.

use super::kv::{bad, kv_list, num, octal, unknown};
use super::{CliError, LogOpt, Options, Sink, StartupType};
use std::path::PathBuf;

pub(super) fn parse_tpmstate(o: &mut Options, value: &str) -> Result<(), CliError> {
    const OPT: &str = "--tpmstate";
    for (k, v) in kv_list(value) {
        match k {
            "dir" if !v.is_empty() => o.state_dir = Some(PathBuf::from(v)),
            "backend-uri" => {
                if let Some(d) = v.strip_prefix("dir://") {
                    o.state_dir = Some(PathBuf::from(d));
                } else if v.starts_with("file://") {
                    return Err(CliError::Invalid(
                        "--tpmstate: backend-uri=file:// (linear file) is not supported; use dir://".into(),
                    ));
                } else {
                    return Err(bad(OPT, k, v));
                }
            }
            "mode" => o.state_mode = Some(octal(OPT, k, v)?),
            "lock" => {}
            "dir" => return Err(bad(OPT, k, v)),
            _ => return Err(unknown(OPT, k)),
        }
    }
    Ok(())
}

pub(super) fn parse_flags(o: &mut Options, value: &str) -> Result<(), CliError> {
    for (k, _) in kv_list(value) {
        match k {
            "not-need-init" => o.not_need_init = true,
            "startup-clear" => o.startup = Some(StartupType::Clear),
            "startup-state" => o.startup = Some(StartupType::State),
            "startup-deactivated" => o.startup = Some(StartupType::Deactivated),
            "startup-none" => o.startup = None,
            "disable-auto-shutdown" => {}
            _ => return Err(unknown("--flags", k)),
        }
    }
    Ok(())
}

pub(super) fn parse_locality(o: &mut Options, value: &str) -> Result<(), CliError> {
    for (k, _) in kv_list(value) {
        match k {
            "reject-locality-4" => o.reject_locality_4 = true,
            "allow-set-locality" => o.allow_set_locality = true,
            _ => return Err(unknown("--locality", k)),
        }
    }
    Ok(())
}

fn parse_sink(opt: &str, k: &str, v: &str) -> Result<Sink, CliError> {
    match k {
        "file" if !v.is_empty() => Ok(Sink::File(PathBuf::from(v))),
        "fd" => Ok(Sink::Fd(num(opt, k, v)?)),
        _ => Err(bad(opt, k, v)),
    }
}

pub(super) fn parse_log(value: &str) -> Result<LogOpt, CliError> {
    const OPT: &str = "--log";
    let mut log = LogOpt {
        sink: None,
        level: 1,
        prefix: String::new(),
        truncate: false,
    };
    let mut have_sink = false;
    for (k, v) in kv_list(value) {
        match k {
            "file" if v == "-" => have_sink = true,
            "file" | "fd" => {
                log.sink = Some(parse_sink(OPT, k, v)?);
                have_sink = true;
            }
            "level" => log.level = num(OPT, k, v)?,
            "prefix" => log.prefix = v.to_string(),
            "truncate" => log.truncate = true,
            _ => return Err(unknown(OPT, k)),
        }
    }
    if !have_sink {
        return Err(CliError::Invalid("--log: needs file= or fd=".into()));
    }
    Ok(log)
}

pub(super) fn parse_pid(value: &str) -> Result<Sink, CliError> {
    let mut sink = None;
    for (k, v) in kv_list(value) {
        match k {
            "file" | "fd" => sink = Some(parse_sink("--pid", k, v)?),
            _ => return Err(unknown("--pid", k)),
        }
    }
    sink.ok_or_else(|| CliError::Invalid("--pid: needs file= or fd=".into()))
}
