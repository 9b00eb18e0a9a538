//! swtpm-compatible command line (`swtpm socket --tpm2 …`): options are `key=value` lists.

use std::path::PathBuf;

/// Why the command line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    /// An option we do not know.
    #[error("unknown option '{0}' (see --help)")]
    UnknownOption(String),
    /// An option that needs a value got none.
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    /// A key inside an option's value list we do not know.
    #[error("{opt}: unknown parameter '{key}'")]
    UnknownKey {
        /// The option, e.g. `--ctrl`.
        opt: String,
        /// The offending key.
        key: String,
    },
    /// A value that does not parse.
    #[error("{opt}: invalid value '{value}' for '{key}'")]
    BadValue {
        /// The option, e.g. `--ctrl`.
        opt: String,
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// A combination that makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// A swtpm front end we do not implement.
    #[error("'{0}' is not supported; only 'socket' is (tl-vtpm socket --tpm2 …)")]
    UnsupportedInterface(String),
}

/// Where a listener or connection comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Listen on TCP `bindaddr:port`.
    Tcp {
        /// Port.
        port: u16,
        /// Address to bind (default 127.0.0.1).
        bindaddr: String,
    },
    /// Listen on a Unix socket path.
    Unix {
        /// Socket path.
        path: PathBuf,
        /// File mode bits for the socket file.
        mode: Option<u32>,
        /// Owner of the socket file.
        uid: Option<u32>,
        /// Group of the socket file.
        gid: Option<u32>,
    },
    /// An inherited listening socket.
    ListenFd(i32),
    /// An inherited, already connected socket.
    ClientFd(i32),
}

/// `--ctrl` / `--server` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Where the channel lives.
    pub endpoint: Endpoint,
    /// `disconnect`: close the data connection after each response.
    pub disconnect: bool,
}

/// `--flags startup-*`: the TPM2_Startup sent internally after init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupType {
    /// TPM2_Startup(CLEAR).
    Clear,
    /// TPM2_Startup(STATE).
    State,
    /// TPM 1.2 only; nothing is sent for a TPM 2.
    Deactivated,
}

/// A log or pid destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A path.
    File(PathBuf),
    /// An inherited file descriptor.
    Fd(i32),
}

/// `--log` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOpt {
    /// Destination; `None` for `file=-` (no log).
    pub sink: Option<Sink>,
    /// Verbosity (swtpm: ≥ 20 dumps commands and responses).
    pub level: u32,
    /// Prefix for every line.
    pub prefix: String,
    /// Truncate the log file at start.
    pub truncate: bool,
}

/// Everything the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `--tpm2` given.
    pub tpm2: bool,
    /// State directory.
    pub state_dir: Option<PathBuf>,
    /// Mode bits for state files (we never go wider than 0600).
    pub state_mode: Option<u32>,
    /// Control channel.
    pub ctrl: Option<Channel>,
    /// Data channel.
    pub server: Option<Channel>,
    /// `not-need-init`.
    pub not_need_init: bool,
    /// `startup-*`.
    pub startup: Option<StartupType>,
    /// `reject-locality-4`.
    pub reject_locality_4: bool,
    /// `allow-set-locality`.
    pub allow_set_locality: bool,
    /// `--log`.
    pub log: Option<LogOpt>,
    /// `--pid`.
    pub pid: Option<Sink>,
    /// `-t`.
    pub terminate: bool,
    /// `-d`.
    pub daemon: bool,
    /// `--print-capabilities`.
    pub print_capabilities: bool,
    /// `--print-states`.
    pub print_states: bool,
    /// `--version`.
    pub version: bool,
    /// `--help`.
    pub help: bool,
    /// `--key`: encrypt the state files.
    pub key: Option<crate::crypt::KeyOpt>,
    /// `tl-vtpm mssim`: the Microsoft simulator protocol on `--server` port P and P+1.
    pub mssim: bool,
    /// Internal: we are the detached child of `--daemon`; write readiness to this fd.
    pub daemon_child: Option<i32>,
}

/// Splits `a=b,c,d=e` into pairs; a bare word has an empty value.
fn kv_list(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

fn bad(opt: &str, key: &str, value: &str) -> CliError {
    CliError::BadValue {
        opt: opt.into(),
        key: key.into(),
        value: value.into(),
    }
}

fn num<T: std::str::FromStr>(opt: &str, key: &str, v: &str) -> Result<T, CliError> {
    v.parse().map_err(|_| bad(opt, key, v))
}

fn octal(opt: &str, key: &str, v: &str) -> Result<u32, CliError> {
    match u32::from_str_radix(v, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad(opt, key, v)),
    }
}

fn unknown(opt: &str, key: &str) -> CliError {
    CliError::UnknownKey {
        opt: opt.into(),
        key: key.into(),
    }
}

/// Parses `--ctrl` and `--server` values (same grammar; `server` defaults to tcp).
fn parse_channel(opt: &str, value: &str, is_server: bool) -> Result<Channel, CliError> {
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

fn parse_tpmstate(o: &mut Options, value: &str) -> Result<(), CliError> {
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

fn parse_flags(o: &mut Options, value: &str) -> Result<(), CliError> {
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

fn parse_locality(o: &mut Options, value: &str) -> Result<(), CliError> {
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

fn parse_log(value: &str) -> Result<LogOpt, CliError> {
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

fn parse_key(value: &str) -> Result<crate::crypt::KeyOpt, CliError> {
    use crate::crypt::{Kdf, KeyFormat, KeyOpt, KeySource};
    const OPT: &str = "--key";
    let (mut source, mut format, mut key_len, mut kdf, mut remove) =
        (None, KeyFormat::Hex, 16, Kdf::Pbkdf2, false);
    for (k, v) in kv_list(value) {
        let path = || {
            if v.is_empty() {
                Err(bad(OPT, k, v))
            } else {
                Ok(PathBuf::from(v))
            }
        };
        let new = match k {
            "file" => Some(KeySource::File(path()?)),
            "pwdfile" => Some(KeySource::PwdFile(path()?)),
            "fd" => Some(KeySource::Fd(num(OPT, k, v)?)),
            "pwdfd" => Some(KeySource::PwdFd(num(OPT, k, v)?)),
            "format" => {
                format = match v {
                    "hex" => KeyFormat::Hex,
                    "binary" => KeyFormat::Binary,
                    _ => return Err(bad(OPT, k, v)),
                };
                None
            }
            // swtpm's names; we always use AES-GCM, the mode picks the key size.
            "mode" => {
                key_len = match v {
                    "aes-cbc" | "aes-128-cbc" => 16,
                    "aes-256-cbc" => 32,
                    _ => return Err(bad(OPT, k, v)),
                };
                None
            }
            "kdf" => {
                kdf = match v {
                    "pbkdf2" => Kdf::Pbkdf2,
                    "sha512" => Kdf::Sha512,
                    _ => return Err(bad(OPT, k, v)),
                };
                None
            }
            "remove" => {
                remove = v.is_empty() || v == "true";
                None
            }
            _ => return Err(unknown(OPT, k)),
        };
        if let Some(n) = new {
            if source.is_some() {
                return Err(CliError::Invalid(
                    "--key: give one of file=, fd=, pwdfile=, pwdfd=".into(),
                ));
            }
            source = Some(n);
        }
    }
    let source = source
        .ok_or_else(|| CliError::Invalid("--key: needs file=, fd=, pwdfile= or pwdfd=".into()))?;
    Ok(KeyOpt {
        source,
        format,
        key_len,
        kdf,
        remove,
    })
}

fn parse_pid(value: &str) -> Result<Sink, CliError> {
    let mut sink = None;
    for (k, v) in kv_list(value) {
        match k {
            "file" | "fd" => sink = Some(parse_sink("--pid", k, v)?),
            _ => return Err(unknown("--pid", k)),
        }
    }
    sink.ok_or_else(|| CliError::Invalid("--pid: needs file= or fd=".into()))
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, CliError> {
    let mut args = args.into_iter().peekable();
    let mut mssim = false;
    match args.peek().map(String::as_str) {
        Some("socket") => {
            args.next();
        }
        Some("mssim") => {
            args.next();
            mssim = true;
        }
        Some(i @ ("chardev" | "cuse")) => {
            return Err(CliError::UnsupportedInterface(i.to_string()));
        }
        _ => {}
    }
    let mut o = Options {
        mssim,
        ..Options::default()
    };
    while let Some(arg) = args.next() {
        // Accept both `--opt value` and `--opt=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, CliError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| CliError::MissingValue(name.to_string())),
            }
        };
        match name.as_str() {
            "--tpm2" => o.tpm2 = true,
            "--tpmstate" => parse_tpmstate(&mut o, &value(&name)?)?,
            "--ctrl" => o.ctrl = Some(parse_channel("--ctrl", &value(&name)?, false)?),
            "--server" => o.server = Some(parse_channel("--server", &value(&name)?, true)?),
            "-p" | "--port" => {
                let v = value(&name)?;
                let port = num::<u16>(&name, "port", &v)?;
                o.server = Some(Channel {
                    endpoint: Endpoint::Tcp {
                        port,
                        bindaddr: "127.0.0.1".into(),
                    },
                    disconnect: false,
                });
            }
            "-f" | "--fd" => {
                let v = value(&name)?;
                o.server = Some(Channel {
                    endpoint: Endpoint::ClientFd(num(&name, "fd", &v)?),
                    disconnect: false,
                });
            }
            "--flags" => parse_flags(&mut o, &value(&name)?)?,
            "--locality" => parse_locality(&mut o, &value(&name)?)?,
            "--log" => o.log = Some(parse_log(&value(&name)?)?),
            "--pid" => o.pid = Some(parse_pid(&value(&name)?)?),
            "-t" | "--terminate" => o.terminate = true,
            "-d" | "--daemon" => o.daemon = true,
            "--print-capabilities" | "--print-capabilites" => o.print_capabilities = true,
            "--print-states" => o.print_states = true,
            "-v" | "--version" => o.version = true,
            "-h" | "--help" => o.help = true,
            "--daemon-child" => {
                let v = value(&name)?;
                o.daemon_child = Some(num(&name, "fd", &v)?);
            }
            "--key" => o.key = Some(parse_key(&value(&name)?)?),
            "--migration-key" => {
                return Err(CliError::Invalid(
                    "--migration-key is not supported (GET_STATEBLOB returns plaintext)".into(),
                ));
            }
            "--runas" | "-r" | "--seccomp" | "--profile" | "--migration" | "--chroot" => {
                return Err(CliError::Invalid(format!("{name} is not supported")));
            }
            _ => return Err(CliError::UnknownOption(arg)),
        }
    }
    if o.help || o.version || o.print_capabilities {
        return Ok(o);
    }
    if o.mssim {
        return check_mssim(o);
    }
    if !o.tpm2 {
        return Err(CliError::Invalid(
            "only TPM 2 is implemented: pass --tpm2".into(),
        ));
    }
    if o.print_states {
        return Ok(o);
    }
    if o.state_dir.is_none() {
        o.state_dir = std::env::var_os("TPM_PATH").map(PathBuf::from);
    }
    if o.state_dir.is_none() {
        return Err(CliError::Invalid(
            "missing --tpmstate dir=<dir> (or TPM_PATH)".into(),
        ));
    }
    if o.server.is_none() && o.ctrl.is_none() {
        return Err(CliError::Invalid("need --server and/or --ctrl".into()));
    }
    if o.server.is_none()
        && !matches!(
            o.ctrl.as_ref().map(|c| &c.endpoint),
            Some(Endpoint::Unix { .. } | Endpoint::ClientFd(_) | Endpoint::ListenFd(_))
        )
    {
        return Err(CliError::Invalid(
            "without --server the data channel comes from --ctrl type=unixio (CMD_SET_DATAFD)"
                .into(),
        ));
    }
    Ok(o)
}

/// `tl-vtpm mssim`: TCP only (P and P+1), no control channel, TPM 2 implied.
fn check_mssim(mut o: Options) -> Result<Options, CliError> {
    if o.ctrl.is_some() {
        return Err(CliError::Invalid(
            "mssim: no --ctrl; the platform port is --port + 1".into(),
        ));
    }
    match o.server.as_ref().map(|s| &s.endpoint) {
        None => {
            o.server = Some(Channel {
                endpoint: Endpoint::Tcp {
                    port: MSSIM_DEFAULT_PORT,
                    bindaddr: "127.0.0.1".into(),
                },
                disconnect: false,
            });
        }
        Some(Endpoint::Tcp { port, .. }) if *port < u16::MAX => {}
        Some(Endpoint::Tcp { .. }) => {
            return Err(CliError::Invalid(
                "mssim: the platform port (--port + 1) must fit in 65535".into(),
            ));
        }
        Some(_) => {
            return Err(CliError::Invalid(
                "mssim: only --port P / --server type=tcp,port=P[,bindaddr=] is supported".into(),
            ));
        }
    }
    if o.server.as_ref().is_some_and(|s| s.disconnect) {
        return Err(CliError::Invalid(
            "mssim: disconnect is not supported".into(),
        ));
    }
    if o.state_dir.is_none() {
        o.state_dir = std::env::var_os("TPM_PATH").map(PathBuf::from);
    }
    if o.state_dir.is_none() {
        return Err(CliError::Invalid(
            "missing --tpmstate dir=<dir> (or TPM_PATH)".into(),
        ));
    }
    o.tpm2 = true;
    Ok(o)
}

/// The Microsoft simulator's default TPM port (platform port + 1).
pub const MSSIM_DEFAULT_PORT: u16 = 2321;

/// `--help` text; QEMU probes it for `--tpm2`.
pub const HELP: &str = "\
Usage: tl-vtpm socket --tpm2 [options]
       tl-vtpm mssim [--port <P>] --tpmstate dir=<dir> [--key ...] [--log ...]
                     [--pid ...] [--flags ...] [-d]

A memory-safe TPM 2.0 emulator speaking swtpm's socket protocols (drop-in for
`swtpm socket --tpm2` under QEMU, libvirt, cloud-hypervisor and tpm2-tss).

`tl-vtpm mssim` speaks the Microsoft TPM 2.0 simulator protocol instead
(tpm2-tss `mssim` TCTI, IBM TSS, `tpm_server`): TPM commands on TCP port P
(default 2321), platform signals (POWER_ON/OFF, NV_ON/OFF, RESET, ...) on
P+1; `--server type=tcp,port=P,bindaddr=<addr>` also works. There is no
control channel. The TPM starts powered off (the client sends POWER_ON)
unless --flags not-need-init is given. The protocols cannot share a port:
swtpm's CMD_* and the simulator's platform codes overlap.

Options:
--tpm2           : TPM 2.0 (the only TPM version implemented; required)
--tpmstate dir=<dir>[,mode=0...]|backend-uri=dir://<dir>
                 : directory holding the TPM state (tpm2-00.permall,
                   tpm2-00.volatile, .lock); files are always created 0600
                   or stricter; TPM_PATH is used if no --tpmstate is given
--server [type=tcp][,port=<port>][,bindaddr=<addr>][,fd=<fd>][,disconnect]
--server type=unixio,path=<path>[,mode=0...][,uid=][,gid=]
-p|--port <port> : same as --server type=tcp,port=<port>
-f|--fd <fd>     : same as --server fd=<fd> (an already connected socket)
                 : data channel; TCP binds 127.0.0.1 unless bindaddr= is
                   given; one client at a time; disconnect closes the
                   connection after each response
--ctrl type=unixio,path=<path>[,mode=0...][,uid=][,gid=]
--ctrl type=unixio,fd=<listening fd>|clientfd=<connected fd>
--ctrl type=tcp,port=<port>[,bindaddr=<addr>]|fd=<fd>
                 : control channel (swtpm CMD_* protocol); on a unix socket
                   CMD_SET_DATAFD can pass the data channel as an fd
--flags [not-need-init][,startup-clear|startup-state|startup-deactivated|startup-none]
                 : not-need-init: the TPM runs without CMD_INIT;
                   startup-*: send TPM2_Startup internally after init
--locality [reject-locality-4][,allow-set-locality]
                 : reject locality 4; accept the vendor TPM2_CC_SetLocality
                   (0x20001000) command on the data channel
--log file=<path>|fd=<fd>[,level=n][,prefix=<p>][,truncate]
                 : log file (file=- disables); level >= 20 dumps every
                   command and response in hex
--pid file=<path>|fd=<fd>
                 : write the process id
--key file=<path>|fd=<fd>[,format=hex|binary][,mode=aes-128-cbc|aes-256-cbc][,remove]
--key pwdfile=<path>|pwdfd=<fd>[,kdf=pbkdf2|sha512][,mode=...][,remove]
                 : encrypt the state files. swtpm's option forms are
                   accepted, but the files are our own format: always
                   AES-GCM (authenticated; tampering and a wrong key are
                   detected), mode= only selects the key size (aes-cbc and
                   aes-128-cbc: 128-bit, aes-256-cbc: 256-bit; default 128).
                   Key files hold exactly that many bytes (binary) or hex
                   digits (hex, default; optional 0x). Passphrases go
                   through PBKDF2-HMAC-SHA512 (default) or SHA-512.
                   remove deletes the key file after reading it.
                   A plaintext state directory is refused with --key and
                   an encrypted one without it.
-t|--terminate   : exit when the client connection is lost
-d|--daemon      : run in the background (returns once listening)
--print-capabilities
                 : print the supported features as JSON and exit
--print-states   : print the state blobs present in --tpmstate as JSON
--version        : print the version and exit
-h|--help        : this text

Not supported: chardev and cuse front ends, --migration-key, --runas,
--seccomp, backend-uri=file://.
";

/// `--print-capabilities` JSON, shaped like swtpm's.
pub fn capabilities_json() -> String {
    format!(
        "{{ \"type\": \"swtpm\", \"features\": [ \"tpm-2.0\", \"tpm-send-command-header\", \
\"flags-opt-startup\", \"flags-opt-disable-auto-shutdown\", \"cmdarg-print-states\", \
\"cmdarg-key-fd\", \"cmdarg-pwd-fd\", \"nvram-backend-dir\" ], \"version\": \"{}\" }}",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Options, CliError> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn libvirt_invocation() {
        let o = p("socket --ctrl type=unixio,path=/run/x.sock,mode=0600 --tpmstate dir=/var/lib/t,mode=0600 --log file=/tmp/l --terminate --tpm2").unwrap();
        assert_eq!(
            o.ctrl.unwrap().endpoint,
            Endpoint::Unix {
                path: "/run/x.sock".into(),
                mode: Some(0o600),
                uid: None,
                gid: None
            }
        );
        assert_eq!(o.state_dir.unwrap(), PathBuf::from("/var/lib/t"));
        assert_eq!(o.state_mode, Some(0o600));
        assert!(o.terminate && o.tpm2 && o.server.is_none());
        assert_eq!(o.log.unwrap().sink, Some(Sink::File("/tmp/l".into())));
    }

    #[test]
    fn tss_invocation() {
        let o = p("socket --tpm2 -p 2321 --ctrl type=tcp,port=2322 --log fd=1,level=5 --flags not-need-init --tpmstate dir=/t --locality allow-set-locality").unwrap();
        assert_eq!(
            o.server.unwrap().endpoint,
            Endpoint::Tcp {
                port: 2321,
                bindaddr: "127.0.0.1".into()
            }
        );
        assert_eq!(
            o.ctrl.unwrap().endpoint,
            Endpoint::Tcp {
                port: 2322,
                bindaddr: "127.0.0.1".into()
            }
        );
        assert!(o.not_need_init && o.allow_set_locality && !o.reject_locality_4);
        let log = o.log.unwrap();
        assert_eq!((log.sink, log.level), (Some(Sink::Fd(1)), 5));
    }

    #[test]
    fn server_defaults_and_forms() {
        let o = p("socket --tpm2 --server port=5,bindaddr=127.0.0.2,disconnect --tpmstate backend-uri=dir:///s --flags not-need-init,startup-clear").unwrap();
        let s = o.server.unwrap();
        assert_eq!(
            s.endpoint,
            Endpoint::Tcp {
                port: 5,
                bindaddr: "127.0.0.2".into()
            }
        );
        assert!(s.disconnect);
        assert_eq!(o.state_dir.unwrap(), PathBuf::from("/s"));
        assert_eq!(o.startup, Some(StartupType::Clear));
        let o = p("socket --tpm2 --server type=unixio,path=/d.sock --tpmstate=dir=/s").unwrap();
        assert!(matches!(o.server.unwrap().endpoint, Endpoint::Unix { .. }));
        let o = p("socket --flags not-need-init,startup-clear --tpmstate backend-uri=dir:///s --pid file=/p --tpm2 --server type=tcp,fd=7 --ctrl type=unixio,clientfd=5").unwrap();
        assert_eq!(o.server.unwrap().endpoint, Endpoint::ClientFd(7));
        assert_eq!(o.ctrl.unwrap().endpoint, Endpoint::ClientFd(5));
        assert_eq!(o.pid, Some(Sink::File("/p".into())));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            p("socket --tpm2 --bogus").unwrap_err(),
            CliError::UnknownOption("--bogus".into())
        );
        assert!(matches!(
            p("chardev --tpm2"),
            Err(CliError::UnsupportedInterface(_))
        ));
        assert!(matches!(
            p("cuse --tpm2"),
            Err(CliError::UnsupportedInterface(_))
        ));
        assert!(matches!(
            p("socket --tpm2 --ctrl type=udp,port=1 --tpmstate dir=/s"),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            p("socket --tpm2 --ctrl type=tcp --tpmstate dir=/s"),
            Err(CliError::Invalid(_))
        ));
        assert!(matches!(
            p("socket --tpm2 --ctrl type=tcp,port=99999 --tpmstate dir=/s"),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            p("socket --tpm2 -p 1 --tpmstate dir=/s,foo=1"),
            Err(CliError::UnknownKey { .. })
        ));
        assert!(matches!(
            p("socket --tpm2 -p 1 --tpmstate dir=/s,mode=999"),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            p("socket -p 1 --tpmstate dir=/s"),
            Err(CliError::Invalid(_))
        ));
        assert!(matches!(
            p("socket --tpm2 -p"),
            Err(CliError::MissingValue(_))
        ));
        assert!(matches!(
            p("socket --tpm2 -p 1 --tpmstate backend-uri=file:///x"),
            Err(CliError::Invalid(_))
        ));
    }

    #[test]
    fn key_forms() {
        use crate::crypt::{Kdf, KeyFormat, KeySource};
        let o = p("socket --tpm2 -p 1 --tpmstate dir=/s --key file=/k,format=binary,mode=aes-256-cbc,remove").unwrap();
        let k = o.key.unwrap();
        assert_eq!(k.source, KeySource::File("/k".into()));
        assert_eq!(
            (k.format, k.key_len, k.remove),
            (KeyFormat::Binary, 32, true)
        );
        let k = p("socket --tpm2 -p 1 --tpmstate dir=/s --key pwdfd=9,kdf=sha512")
            .unwrap()
            .key
            .unwrap();
        assert_eq!(
            (k.source, k.kdf, k.key_len),
            (KeySource::PwdFd(9), Kdf::Sha512, 16)
        );
        for bad in [
            "--key mode=aes-256-cbc",
            "--key file=/k,pwdfile=/p",
            "--key file=/k,mode=aes-192-cbc",
            "--key file=/k,format=pem",
            "--key file=/k,kdf=md5",
            "--key file=/k,foo=1",
            "--migration-key file=/k",
        ] {
            let args = format!("socket --tpm2 -p 1 --tpmstate dir=/s {bad}");
            assert!(p(&args).is_err(), "{bad}");
        }
    }

    #[test]
    fn mssim_mode() {
        let o = p("mssim --tpmstate dir=/s").unwrap();
        assert!(o.mssim && o.tpm2);
        assert_eq!(
            o.server.unwrap().endpoint,
            Endpoint::Tcp {
                port: 2321,
                bindaddr: "127.0.0.1".into()
            }
        );
        let o = p("mssim -p 5000 --tpmstate dir=/s").unwrap();
        assert!(matches!(
            o.server.unwrap().endpoint,
            Endpoint::Tcp { port: 5000, .. }
        ));
        assert!(p("mssim -p 65535 --tpmstate dir=/s").is_err());
        assert!(p("mssim --ctrl type=tcp,port=1 --tpmstate dir=/s").is_err());
        assert!(p("mssim --server type=unixio,path=/x --tpmstate dir=/s").is_err());
        assert!(!p("socket --tpm2 -p 1 --tpmstate dir=/s").unwrap().mssim);
    }

    #[test]
    fn help_mentions_tpm2_and_caps_are_json() {
        assert!(HELP.contains("--tpm2"));
        assert!(p("socket --help").unwrap().help);
        let caps = capabilities_json();
        assert!(caps.contains("\"tpm-2.0\"") && caps.contains("\"tpm-send-command-header\""));
    }
}
