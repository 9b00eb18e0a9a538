//! swtpm-compatible command line (`swtpm socket --tpm2 …`): options are `key=value` lists.

mod channel;
mod help;
mod key;
mod kv;
mod mssim;
mod values;

pub use help::{HELP, capabilities_json};

use channel::parse_channel;
use kv::num;
use std::path::PathBuf;
use values::{parse_flags, parse_locality, parse_log, parse_pid, parse_tpmstate};

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
            "--key" => o.key = Some(key::parse_key(&value(&name)?)?),
            "--migration-key" => return Err(key::migration_key_refused()),
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
        return mssim::check_mssim(o);
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
}
