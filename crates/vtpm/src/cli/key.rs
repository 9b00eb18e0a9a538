//! `--key` (state encryption key or passphrase) and the refused `--migration-key`.

use super::CliError;
use super::kv::{bad, kv_list, num, unknown};
use std::path::PathBuf;

/// Parses a `--key` value into the state-encryption key source and parameters.
pub(super) fn parse_key(value: &str) -> Result<crate::crypt::KeyOpt, CliError> {
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

/// `--migration-key` is refused: our state blobs leave the TPM unencrypted.
pub(super) fn migration_key_refused() -> CliError {
    CliError::Invalid("--migration-key is not supported (GET_STATEBLOB returns plaintext)".into())
}

#[cfg(test)]
mod tests {
    use crate::cli::{CliError, Options, parse};

    fn p(s: &str) -> Result<Options, CliError> {
        parse(s.split_whitespace().map(String::from))
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
}
