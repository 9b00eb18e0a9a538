//! `tl-vtpm mssim`: the Microsoft simulator front end's option checks and default port.

use super::{Channel, CliError, Endpoint, Options};
use std::path::PathBuf;

/// `tl-vtpm mssim`: TCP only (P and P+1), no control channel, TPM 2 implied.
pub(super) fn check_mssim(mut o: Options) -> Result<Options, CliError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CliError, Options, parse};

    fn p(s: &str) -> Result<Options, CliError> {
        parse(s.split_whitespace().map(String::from))
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
}
