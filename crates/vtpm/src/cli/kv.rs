//! The `key=value[,key[=value]]…` grammar shared by every option, and its error constructors.

use super::CliError;

/// Splits `a=b,c,d=e` into pairs; a bare word has an empty value.
pub(super) fn kv_list(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

pub(super) fn bad(opt: &str, key: &str, value: &str) -> CliError {
    CliError::BadValue {
        opt: opt.into(),
        key: key.into(),
        value: value.into(),
    }
}

pub(super) fn num<T: std::str::FromStr>(opt: &str, key: &str, v: &str) -> Result<T, CliError> {
    v.parse().map_err(|_| bad(opt, key, v))
}

pub(super) fn octal(opt: &str, key: &str, v: &str) -> Result<u32, CliError> {
    match u32::from_str_radix(v, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad(opt, key, v)),
    }
}

pub(super) fn unknown(opt: &str, key: &str) -> CliError {
    CliError::UnknownKey {
        opt: opt.into(),
        key: key.into(),
    }
}
