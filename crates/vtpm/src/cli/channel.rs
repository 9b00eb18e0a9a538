//! `--server` and `--ctrl`: TCP, Unix socket or inherited fd endpoints.

use super::kv::{bad, kv_list, num, octal, unknown};
use super::{Channel, CliError, Endpoint};
use std::path::PathBuf;

/// Parses `--ctrl` and `--server` values (same grammar; `server` defaults to tcp).
pub(super) fn parse_channel(opt: &str, value: &str, is_server: bool) -> Result<Channel, CliError> {
    let mut ty: Option<&str> = None;
    let (mut port, mut path, mut fd, mut clientfd) = (None, None, None, None);
    let (mut mode, mut uid, mut gid) = (None, None, None);
    let mut bindaddr = "127.0.0.1".to_string();
    let mut disconnect = false;
    for (k, v) in kv_list(value) {
        match k {
            "type" if v == "tcp" || v == "unixio" => ty = Some(v),
            "type" => return Err(bad(opt, k, v)),
            "port" => port = Some(num::<u16>(opt, k, v)?),
            "path" if !v.is_empty() => path = Some(PathBuf::from(v)),
            "fd" => fd = Some(num::<i32>(opt, k, v)?),
            "clientfd" if !is_server => clientfd = Some(num::<i32>(opt, k, v)?),
            "bindaddr" if !v.is_empty() => bindaddr = v.to_string(),
            "ifname" => {}
            "mode" => mode = Some(octal(opt, k, v)?),
            "uid" => uid = Some(num::<u32>(opt, k, v)?),
            "gid" => gid = Some(num::<u32>(opt, k, v)?),
            "disconnect" if is_server => disconnect = v.is_empty() || v == "true",
            "path" | "bindaddr" => return Err(bad(opt, k, v)),
            _ => return Err(unknown(opt, k)),
        }
    }
    let ty = match ty {
        Some(t) => t,
        None if is_server => "tcp",
        None => return Err(CliError::Invalid(format!("{opt}: missing type=unixio|tcp"))),
    };
    if fd.is_some() && clientfd.is_some() {
        return Err(CliError::Invalid(format!(
            "{opt}: fd and clientfd are mutually exclusive"
        )));
    }
    let endpoint = if let Some(fd) = fd {
        // swtpm's `--server fd=` is a connected socket; `--ctrl fd=` a listening one.
        if is_server {
            Endpoint::ClientFd(fd)
        } else {
            Endpoint::ListenFd(fd)
        }
    } else if let Some(fd) = clientfd {
        if ty != "unixio" {
            return Err(CliError::Invalid(format!(
                "{opt}: clientfd is only valid for type=unixio"
            )));
        }
        Endpoint::ClientFd(fd)
    } else if ty == "tcp" {
        let port = port.ok_or_else(|| CliError::Invalid(format!("{opt}: type=tcp needs port=")))?;
        Endpoint::Tcp { port, bindaddr }
    } else {
        let path =
            path.ok_or_else(|| CliError::Invalid(format!("{opt}: type=unixio needs path=")))?;
        Endpoint::Unix {
            path,
            mode,
            uid,
            gid,
        }
    };
    Ok(Channel {
        endpoint,
        disconnect,
    })
}
