//! `tl-vtpm setup` options: the `swtpm_setup --tpm2` command line libvirt uses (reference
//! vtpm.md §6), plus `--ca-dir`.

use std::path::PathBuf;

use crate::crypt::{Kdf, KeyFormat, KeyOpt, KeySource};

/// Bad `setup` command lines.
#[derive(Debug, thiserror::Error)]
pub enum OptError {
    /// An option we do not know.
    #[error("unknown option {0} (see tl-vtpm setup --help)")]
    Unknown(String),
    /// An option without its value.
    #[error("option {0} needs a value")]
    MissingValue(String),
    /// A value we cannot use.
    #[error("{opt}: invalid value '{value}': {why}")]
    Bad {
        /// Option.
        opt: String,
        /// Value given.
        value: String,
        /// What is accepted.
        why: &'static str,
    },
    /// A combination we refuse.
    #[error("{0}")]
    Invalid(String),
}

/// PCR banks `--pcr-banks` can name (`TPM_ALG_*`).
pub const BANKS: [(&str, u16); 4] = [
    ("sha1", 0x0004),
    ("sha256", 0x000B),
    ("sha384", 0x000C),
    ("sha512", 0x000D),
];

/// Parsed `tl-vtpm setup` options.
#[derive(Debug, Default)]
pub struct SetupOptions {
    /// `--help`.
    pub help: bool,
    /// `--version`.
    pub version: bool,
    /// `--print-capabilities`.
    pub print_capabilities: bool,
    /// `--tpmstate` directory.
    pub state_dir: Option<PathBuf>,
    /// `--createek` (implied by either certificate option).
    pub create_ek: bool,
    /// `--create-ek-cert`.
    pub ek_cert: bool,
    /// `--create-platform-cert`.
    pub platform_cert: bool,
    /// `--lock-nvram`.
    pub lock_nvram: bool,
    /// `--create-spk`: a storage primary key persisted at 0x81000001.
    pub create_spk: bool,
    /// `--ecc`: the SPK is ECC NIST P-256 rather than RSA.
    pub ecc: bool,
    /// `--overwrite`.
    pub overwrite: bool,
    /// `--not-overwrite`.
    pub not_overwrite: bool,
    /// `--pcr-banks`: `TPM_ALG_*` of the banks to keep active.
    pub pcr_banks: Vec<u16>,
    /// `--allow-signing`.
    pub allow_signing: bool,
    /// `--decryption`.
    pub decryption: bool,
    /// `--rsa-keysize` (2048 or 3072).
    pub rsa_keysize: u16,
    /// `--display`.
    pub display: bool,
    /// `--logfile`.
    pub logfile: Option<PathBuf>,
    /// `--vmid` / `--vmuuid`: the certificate subject's CN.
    pub vmid: Option<String>,
    /// `--keyfile(-fd)` / `--pwdfile(-fd)` with `--cipher`: state encryption.
    pub key: Option<KeyOpt>,
    /// `--ca-dir` (default `${XDG_CONFIG_HOME:-~/.config}/tl-vtpm/ca`).
    pub ca_dir: Option<PathBuf>,
    /// `--write-ek-cert-files DIR`.
    pub write_cert_files: Option<PathBuf>,
    /// Accepted options that change nothing here (`--config`, `--tpm`, …), for a note.
    pub ignored: Vec<String>,
}

fn bad(opt: &str, value: &str, why: &'static str) -> OptError {
    OptError::Bad {
        opt: opt.into(),
        value: value.into(),
        why,
    }
}

/// `DIR`, `dir://DIR`, `dir=DIR` or `backend-uri=dir://DIR` (swtpm_setup and swtpm spellings).
fn state_dir(opt: &str, v: &str) -> Result<PathBuf, OptError> {
    let v = v.strip_prefix("backend-uri=").unwrap_or(v);
    let p = v
        .strip_prefix("dir://")
        .or_else(|| v.strip_prefix("dir="))
        .unwrap_or(v);
    if p.is_empty() || v.contains("://") && !v.starts_with("dir://") {
        return Err(bad(
            opt,
            v,
            "expected a directory (DIR or dir://DIR); only the dir backend is supported",
        ));
    }
    Ok(PathBuf::from(p))
}

fn fd(opt: &str, v: &str) -> Result<i32, OptError> {
    v.parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| bad(opt, v, "expected a file descriptor number"))
}

/// Parses the arguments after `setup`.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<SetupOptions, OptError> {
    let mut o = SetupOptions {
        rsa_keysize: 2048,
        ..SetupOptions::default()
    };
    let mut source: Option<KeySource> = None;
    let mut cipher_len = 16;
    let mut banks: Option<String> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, OptError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| OptError::MissingValue(name.clone())),
            }
        };
        let mut set_source = |s: KeySource| {
            if source.replace(s).is_some() {
                return Err(OptError::Invalid(
                    "give only one of --keyfile, --keyfile-fd, --pwdfile, --pwdfile-fd".into(),
                ));
            }
            Ok(())
        };
        match name.as_str() {
            "-h" | "--help" => o.help = true,
            "--version" => o.version = true,
            "--print-capabilities" => o.print_capabilities = true,
            "--tpm2" => {}
            "--tpm12" => {
                return Err(OptError::Invalid(
                    "TPM 1.2 is not supported: use --tpm2".into(),
                ));
            }
            "--tpmstate" | "--tpm-state" => o.state_dir = Some(state_dir(&name, &value()?)?),
            "--createek" => o.create_ek = true,
            "--create-ek-cert" => o.ek_cert = true,
            "--create-platform-cert" => o.platform_cert = true,
            "--lock-nvram" => o.lock_nvram = true,
            "--create-spk" => o.create_spk = true,
            "--ecc" => o.ecc = true,
            "--overwrite" => o.overwrite = true,
            "--not-overwrite" => o.not_overwrite = true,
            "--pcr-banks" => banks = Some(value()?),
            "--allow-signing" => o.allow_signing = true,
            "--decryption" => o.decryption = true,
            "--rsa-keysize" => {
                let v = value()?;
                o.rsa_keysize = match v.as_str() {
                    "2048" => 2048,
                    "3072" => 3072,
                    _ => return Err(bad(&name, &v, "2048 or 3072")),
                };
            }
            "--display" => o.display = true,
            "--logfile" => o.logfile = Some(PathBuf::from(value()?)),
            "--vmid" | "--vmuuid" => o.vmid = Some(value()?),
            "--keyfile" => set_source(KeySource::File(PathBuf::from(value()?)))?,
            "--pwdfile" => set_source(KeySource::PwdFile(PathBuf::from(value()?)))?,
            "--keyfile-fd" => {
                let v = value()?;
                set_source(KeySource::Fd(fd(&name, &v)?))?;
            }
            "--pwdfile-fd" => {
                let v = value()?;
                set_source(KeySource::PwdFd(fd(&name, &v)?))?;
            }
            "--cipher" => {
                let v = value()?;
                cipher_len = match v.as_str() {
                    "aes-128-cbc" | "aes-cbc" => 16,
                    "aes-256-cbc" => 32,
                    _ => return Err(bad(&name, &v, "aes-128-cbc or aes-256-cbc")),
                };
            }
            "--ca-dir" => o.ca_dir = Some(PathBuf::from(value()?)),
            "--write-ek-cert-files" => o.write_cert_files = Some(PathBuf::from(value()?)),
            // swtpm_setup runs an external swtpm and reads config files; we run the engine in
            // process and take all settings from the command line.
            "--config" | "--tpm" | "--swtpm_ioctl" | "--runas" => {
                let v = value()?;
                o.ignored.push(format!("{name} {v}"));
            }
            "--reconfigure" => {
                return Err(OptError::Invalid(
                    "--reconfigure is not supported: re-run with --overwrite".into(),
                ));
            }
            _ => return Err(OptError::Unknown(arg)),
        }
    }
    if o.overwrite && o.not_overwrite {
        return Err(OptError::Invalid(
            "--overwrite and --not-overwrite exclude each other".into(),
        ));
    }
    if o.ek_cert || o.platform_cert {
        o.create_ek = true;
    }
    // swtpm_setup: an EK decrypts unless only --allow-signing was asked for.
    if !o.allow_signing {
        o.decryption = true;
    }
    o.pcr_banks = parse_banks(banks.as_deref().unwrap_or("sha256"))?;
    o.key = source.map(|source| KeyOpt {
        format: KeyFormat::Hex,
        key_len: cipher_len,
        kdf: Kdf::Pbkdf2,
        remove: false,
        source,
    });
    Ok(o)
}

fn parse_banks(v: &str) -> Result<Vec<u16>, OptError> {
    let mut out = Vec::new();
    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(&(_, alg)) = BANKS.iter().find(|(n, _)| *n == name) else {
            return Err(bad("--pcr-banks", name, "sha1, sha256, sha384 or sha512"));
        };
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err(bad("--pcr-banks", v, "at least one bank"));
    }
    Ok(out)
}

/// `swtpm_setup --print-capabilities`.
pub fn capabilities_json() -> String {
    format!(
        "{{ \"type\": \"swtpm_setup\", \"features\": [ \"tpm-2.0\", \"cmdarg-keyfile-fd\", \
         \"cmdarg-pwdfile-fd\", \"cmdarg-write-ek-cert-files\", \"tpm2-rsa-keysize-2048\", \
         \"tpm2-rsa-keysize-3072\" ], \"version\": \"{}\" }}",
        env!("CARGO_PKG_VERSION")
    )
}

/// `tl-vtpm setup --help`.
pub const HELP: &str = "\
Usage: tl-vtpm setup --tpm2 --tpmstate DIR [options]

Manufactures a vTPM state (swtpm_setup compatible): EKs, certificates, PCR banks.

  --tpmstate DIR|dir://DIR   state directory (also --tpm-state, dir=DIR, backend-uri=dir://DIR)
  --createek                 create the RSA and ECC NIST P-384 EKs (persistent 0x81010001, 0x81010016)
  --create-ek-cert           also write EK certificates to NV 0x01C00002 / 0x01C00016
  --create-platform-cert     write a platform certificate to NV 0x01C08000
  --lock-nvram               NV_WriteLock the certificate indices
  --create-spk [--ecc]       storage primary key at 0x81000001 (RSA-2048, or ECC P-256 with --ecc)
  --rsa-keysize 2048|3072    RSA EK size (3072: high-range template, 0x8101001C / NV 0x01C0001C)
  --allow-signing            EK may sign (not restricted); --decryption keeps it able to decrypt
  --pcr-banks LIST           active PCR banks (sha1,sha256,sha384,sha512; default sha256)
  --overwrite                replace an existing state
  --not-overwrite            leave an existing state untouched and succeed
  --keyfile F | --keyfile-fd N | --pwdfile F | --pwdfile-fd N [--cipher aes-128-cbc|aes-256-cbc]
                             encrypt the state (same as tl-vtpm socket --key)
  --vmid ID | --vmuuid ID    certificate subject CN
  --ca-dir DIR               local CA (default ${XDG_CONFIG_HOME:-~/.config}/tl-vtpm/ca)
  --write-ek-cert-files DIR  also write the certificates as DER files into DIR
  --logfile FILE             append messages to FILE instead of stdout
  --display                  print a summary of what was created
  --print-capabilities       print supported features as JSON
  --config F, --tpm X        accepted and ignored (no external swtpm, no config files)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<SetupOptions, OptError> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn libvirt_command_line() {
        let o = p(
            "--tpm2 --tpm-state /s --vmid vm:1234 --logfile /l --createek \
                   --create-ek-cert --create-platform-cert --lock-nvram --not-overwrite \
                   --pcr-banks sha1,sha256 --pwdfile-fd 7 --cipher aes-256-cbc --config /c",
        )
        .unwrap();
        assert_eq!(o.state_dir.unwrap(), PathBuf::from("/s"));
        assert!(o.create_ek && o.ek_cert && o.platform_cert && o.lock_nvram && o.not_overwrite);
        assert_eq!(o.pcr_banks, vec![0x0004, 0x000B]);
        let k = o.key.unwrap();
        assert_eq!((k.source, k.key_len), (KeySource::PwdFd(7), 32));
        assert_eq!(o.vmid.as_deref(), Some("vm:1234"));
        assert_eq!(o.ignored, vec!["--config /c".to_string()]);
    }

    #[test]
    fn defaults_and_spellings() {
        let o = p("--tpm2 --tpmstate=dir:///x --create-ek-cert").unwrap();
        assert_eq!(o.state_dir.unwrap(), PathBuf::from("/x"));
        assert!(o.create_ek && o.decryption && !o.allow_signing);
        assert_eq!((o.pcr_banks, o.rsa_keysize), (vec![0x000B], 2048));
        let o = p("--tpmstate backend-uri=dir:///y --allow-signing").unwrap();
        assert_eq!(o.state_dir.unwrap(), PathBuf::from("/y"));
        assert!(o.allow_signing && !o.decryption);
    }

    #[test]
    fn refusals() {
        for bad in [
            "--tpmstate file:///x",
            "--rsa-keysize 4096",
            "--pcr-banks sha3",
            "--pcr-banks ,",
            "--overwrite --not-overwrite",
            "--keyfile /a --pwdfile /b",
            "--cipher aes-192-cbc",
            "--tpm12",
            "--frobnicate",
            "--tpmstate",
            "--keyfile-fd -1",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
