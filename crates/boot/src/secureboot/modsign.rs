//! Appending a kernel module signature, as scripts/sign-file does (torvalds/linux
//! scripts/sign-file.c, include/linux/module_signature.h; reference/boot-chain.md §8):
//! `body ‖ PKCS#7 (detached, no signed attributes, no certificates, signer by issuer+serial) ‖
//! struct module_signature ‖ "~Module signature appended~\n"`.

use super::auth::{AuthError, detached_signed_data, wrap_content_info};
use super::module::MODULE_SIG_STRING;
use super::pe::HashAlg;
use super::signer::Signer;

/// `sizeof(struct module_signature)`.
const MODULE_SIGNATURE_SIZE: usize = 12;
/// `PKEY_ID_PKCS7`.
const PKEY_ID_PKCS7: u8 = 2;

/// Why a module could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum ModuleSignError {
    /// The module already ends in a signature.
    #[error(
        "module is already signed (ends with \"~Module signature appended~\"): pass --replace to re-sign"
    )]
    AlreadySigned,
    /// The existing signature's `sig_len` does not fit, so the body cannot be recovered.
    #[error(
        "offset {offset}: existing module_signature sig_len {sig_len} exceeds the {available} bytes before it"
    )]
    BadExistingSignature {
        /// Offset of `struct module_signature`.
        offset: usize,
        /// Declared length.
        sig_len: u32,
        /// Bytes before it.
        available: usize,
    },
    /// The input is not an ELF object.
    #[error("offset 0: not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// Building the PKCS#7 failed.
    #[error(transparent)]
    Pkcs7(#[from] AuthError),
    /// The signature would not fit `sig_len`.
    #[error("signature of {0} bytes is too large")]
    TooLarge(usize),
}

/// The module without its appended signature, if it has one.
pub fn strip_module_signature(module: &[u8]) -> Result<Option<&[u8]>, ModuleSignError> {
    let Some(head) = module.strip_suffix(MODULE_SIG_STRING.as_slice()) else {
        return Ok(None);
    };
    let bad = |offset, sig_len, available| ModuleSignError::BadExistingSignature {
        offset,
        sig_len,
        available,
    };
    let ms_off = head
        .len()
        .checked_sub(MODULE_SIGNATURE_SIZE)
        .ok_or_else(|| bad(0, 0, head.len()))?;
    let ms = &head[ms_off..];
    let sig_len = u32::from_be_bytes([ms[8], ms[9], ms[10], ms[11]]);
    let body_end = ms_off
        .checked_sub(sig_len as usize)
        .ok_or_else(|| bad(ms_off, sig_len, ms_off))?;
    Ok(Some(&head[..body_end]))
}

/// Signs `module` (an ELF `.ko`) with `signer` over `digest`; with `replace`, an existing
/// signature is removed first, otherwise a signed module is refused.
pub fn sign_module(
    module: &[u8],
    signer: &Signer,
    digest: HashAlg,
    replace: bool,
) -> Result<Vec<u8>, ModuleSignError> {
    if !module.starts_with(b"\x7fELF") {
        return Err(ModuleSignError::NotElf);
    }
    let body = match strip_module_signature(module)? {
        Some(_) if !replace => return Err(ModuleSignError::AlreadySigned),
        Some(body) => body,
        None => module,
    };
    // The kernel looks the key up by issuer+serial; it has its own copy of the certificate.
    let sd = detached_signed_data(signer, digest, body, false)?;
    let p7 = wrap_content_info(&sd);
    let sig_len = u32::try_from(p7.len()).map_err(|_| ModuleSignError::TooLarge(p7.len()))?;
    let mut out = Vec::with_capacity(body.len() + p7.len() + 40);
    out.extend_from_slice(body);
    out.extend_from_slice(&p7);
    // algo, hash, id_type, signer_len, key_id_len, pad[3]: all zero but id_type (sign-file).
    out.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&sig_len.to_be_bytes());
    out.extend_from_slice(MODULE_SIG_STRING);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secureboot::certgen::{self, CertParams, CertUsage, KeyAlgorithm};
    use crate::secureboot::module::ModuleSignature;
    use std::time::SystemTime;

    #[test]
    fn sign_verify_refuse_replace() {
        let s = certgen::generate(
            KeyAlgorithm::Rsa2048,
            &CertParams {
                common_name: "tl module key".into(),
                days: 30,
                not_before: SystemTime::now(),
                usage: CertUsage::CodeSigning,
            },
        )
        .unwrap();
        let body = b"\x7fELF fake module body".to_vec();
        let m = sign_module(&body, &s, HashAlg::Sha256, false).unwrap();
        let p = ModuleSignature::parse(&m).unwrap();
        assert_eq!(p.body, &body[..]);
        assert!(p.message.signer.signed_attrs.is_none());
        assert!(p.message.certificates.is_empty());
        p.verify(&s.cert).unwrap();
        assert!(matches!(
            sign_module(&m, &s, HashAlg::Sha256, false),
            Err(ModuleSignError::AlreadySigned)
        ));
        let again = sign_module(&m, &s, HashAlg::Sha256, true).unwrap();
        assert_eq!(ModuleSignature::parse(&again).unwrap().body, &body[..]);
        assert_eq!(strip_module_signature(&body).unwrap(), None);
        assert!(matches!(
            sign_module(b"MZ", &s, HashAlg::Sha256, false),
            Err(ModuleSignError::NotElf)
        ));
        let mut junk = b"\x7fELF".to_vec();
        junk.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0xff, 0, 0, 0]);
        junk.extend_from_slice(MODULE_SIG_STRING);
        assert!(matches!(
            sign_module(&junk, &s, HashAlg::Sha256, true),
            Err(ModuleSignError::BadExistingSignature { offset: 4, .. })
        ));
    }
}
