//! Kernel module appended signatures (torvalds/linux include/linux/module_signature.h,
//! kernel/module/signing.c; reference/boot-chain.md §8):
//! `ELF ‖ PKCS#7 ‖ struct module_signature (12 B) ‖ "~Module signature appended~\n"`.

use super::pkcs7::{Pkcs7Error, SignedMessage, X509};

/// `MODULE_SIG_STRING`.
pub const MODULE_SIG_STRING: &[u8; 28] = b"~Module signature appended~\n";
/// `sizeof(struct module_signature)`.
const MODULE_SIGNATURE_SIZE: usize = 12;
/// `PKEY_ID_PKCS7`.
const PKEY_ID_PKCS7: u8 = 2;

/// Why a module signature could not be read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// No `~Module signature appended~` trailer.
    #[error("offset {0}: no \"~Module signature appended~\" trailer")]
    Unsigned(usize),
    /// `id_type` is not PKCS#7.
    #[error("offset {offset}: module_signature id_type {id_type} is not PKEY_ID_PKCS7 (2)")]
    NotPkcs7 {
        /// Offset of `struct module_signature`.
        offset: usize,
        /// Found value.
        id_type: u8,
    },
    /// `sig_len` exceeds the bytes before the trailer.
    #[error(
        "offset {offset}: module_signature sig_len {sig_len} exceeds the {available} bytes before it"
    )]
    BadLength {
        /// Offset of `struct module_signature`.
        offset: usize,
        /// Declared length.
        sig_len: u32,
        /// Bytes available.
        available: usize,
    },
    /// The PKCS#7 did not parse or verify.
    #[error("PKCS#7 at offset {offset}: {source}")]
    Pkcs7 {
        /// Offset of the PKCS#7 blob.
        offset: usize,
        /// Cause.
        #[source]
        source: Pkcs7Error,
    },
    /// The signer named is not the certificate offered.
    #[error("signer ({issuer}, serial {serial}) is not the given certificate")]
    WrongSigner {
        /// Signer issuer.
        issuer: String,
        /// Signer serial (hex).
        serial: String,
    },
}

/// A module split into its signed body and its signature.
#[derive(Debug, Clone)]
pub struct ModuleSignature<'a> {
    /// The ELF bytes the signature covers.
    pub body: &'a [u8],
    /// Offset of the PKCS#7 blob.
    pub pkcs7_offset: usize,
    /// The detached SignedData (no certificates, usually no signedAttrs).
    pub message: SignedMessage,
}

impl<'a> ModuleSignature<'a> {
    /// Splits `module` at its appended signature.
    pub fn parse(module: &'a [u8]) -> Result<Self, ModuleError> {
        let Some(head) = module.strip_suffix(MODULE_SIG_STRING.as_slice()) else {
            return Err(ModuleError::Unsigned(
                module.len().saturating_sub(MODULE_SIG_STRING.len()),
            ));
        };
        let Some(ms_off) = head.len().checked_sub(MODULE_SIGNATURE_SIZE) else {
            return Err(ModuleError::BadLength {
                offset: 0,
                sig_len: 0,
                available: head.len(),
            });
        };
        let ms = &head[ms_off..];
        if ms[2] != PKEY_ID_PKCS7 {
            return Err(ModuleError::NotPkcs7 {
                offset: ms_off,
                id_type: ms[2],
            });
        }
        let sig_len = u32::from_be_bytes([ms[8], ms[9], ms[10], ms[11]]);
        let Some(p7_off) = ms_off.checked_sub(sig_len as usize) else {
            return Err(ModuleError::BadLength {
                offset: ms_off,
                sig_len,
                available: ms_off,
            });
        };
        let message =
            SignedMessage::parse(&head[p7_off..ms_off]).map_err(|source| ModuleError::Pkcs7 {
                offset: p7_off,
                source,
            })?;
        Ok(ModuleSignature {
            body: &head[..p7_off],
            pkcs7_offset: p7_off,
            message,
        })
    }

    /// Signer issuer DN.
    pub fn signer_issuer(&self) -> String {
        self.message.signer.issuer.to_string()
    }

    /// Signer serial (hex).
    pub fn signer_serial(&self) -> String {
        self.message.signer.serial_hex()
    }

    /// Verifies the signature with `cert`, which must be the signer named by issuer+serial (the
    /// kernel looks keys up by that id).
    pub fn verify(&self, cert: &X509) -> Result<(), ModuleError> {
        if !self.message.names(cert) {
            return Err(ModuleError::WrongSigner {
                issuer: self.signer_issuer(),
                serial: self.signer_serial(),
            });
        }
        self.message
            .verify_signer(self.body, cert)
            .map_err(|source| ModuleError::Pkcs7 {
                offset: self.pkcs7_offset,
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_trailers() {
        assert_eq!(
            ModuleSignature::parse(b"").unwrap_err(),
            ModuleError::Unsigned(0)
        );
        assert_eq!(
            ModuleSignature::parse(MODULE_SIG_STRING).unwrap_err(),
            ModuleError::BadLength {
                offset: 0,
                sig_len: 0,
                available: 0
            }
        );
        let mut m = vec![0u8; 20];
        m.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        m.extend_from_slice(MODULE_SIG_STRING);
        assert_eq!(
            ModuleSignature::parse(&m).unwrap_err(),
            ModuleError::BadLength {
                offset: 20,
                sig_len: 256,
                available: 20
            }
        );
        m[22] = 1;
        assert_eq!(
            ModuleSignature::parse(&m).unwrap_err(),
            ModuleError::NotPkcs7 {
                offset: 20,
                id_type: 1
            }
        );
        let mut m = vec![0u8; 20];
        m.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
        m.extend_from_slice(MODULE_SIG_STRING);
        let e = ModuleSignature::parse(&m).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("PKCS#7 at offset 16: DER offset 0: expected ContentInfo"),
            "{e}"
        );
    }
}
