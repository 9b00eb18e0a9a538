//! Template checks for Create/CreatePrimary/Load/LoadExternal (Part 1, 23.? and Part 3, 12.1
//! "Object Commands — Introduction": attribute and parameter consistency).

use crate::crypto::ecc::Curve;
use tpm_proto::object::{PublicParms, TpmtPublic, TpmtSymDef};
use tpm_proto::*;

/// Symmetric definitions this engine implements for objects: AES-128/256 in CFB mode.
pub fn sym_ok(s: &TpmtSymDef) -> bool {
    s.algorithm == TPM_ALG_AES && matches!(s.key_bits, 128 | 256) && s.mode == TPM_ALG_CFB
}

/// Symmetric-cipher object definitions (TPM2_EncryptDecrypt keys): AES-128/192/256 in any
/// implemented block mode, or NULL (the caller picks the mode at each use).
pub fn cipher_ok(s: &TpmtSymDef) -> bool {
    s.algorithm == TPM_ALG_AES
        && matches!(s.key_bits, 128 | 192 | 256)
        && matches!(
            s.mode,
            TPM_ALG_CTR | TPM_ALG_OFB | TPM_ALG_CBC | TPM_ALG_CFB | TPM_ALG_ECB | TPM_ALG_NULL
        )
}

/// Validates a public area; `rc_p` turns a base code into the caller's parameter code.
pub fn check(p: &TpmtPublic, external_public_only: bool) -> Result<(), u32> {
    let a = p.object_attributes;
    if digest_size(p.name_alg).is_none() {
        return Err(TPM_RC_HASH);
    }
    if a & TPMA_OBJECT_RESERVED != 0 {
        return Err(TPM_RC_RESERVED_BITS);
    }
    if !p.auth_policy.is_empty() && Some(p.auth_policy.len()) != digest_size(p.name_alg) {
        return Err(TPM_RC_SIZE);
    }
    let restricted = a & TPMA_OBJECT_RESTRICTED != 0;
    let decrypt = a & TPMA_OBJECT_DECRYPT != 0;
    let sign = a & TPMA_OBJECT_SIGN_ENCRYPT != 0;
    if !external_public_only
        && (a & TPMA_OBJECT_FIXED_TPM != 0) != (a & TPMA_OBJECT_FIXED_PARENT != 0)
        && a & TPMA_OBJECT_FIXED_TPM != 0
    {
        return Err(TPM_RC_ATTRIBUTES);
    }
    if restricted && decrypt && sign {
        return Err(TPM_RC_ATTRIBUTES);
    }
    let scheme = p.scheme();
    match p.parameters {
        PublicParms::Rsa {
            symmetric,
            key_bits,
            exponent,
            ..
        } => {
            if !matches!(key_bits, 2048 | 3072) {
                return Err(TPM_RC_KEY_SIZE);
            }
            if exponent != 0 && exponent != crate::crypto::rsa::EXPONENT {
                return Err(TPM_RC_KEY);
            }
            check_asym(restricted, decrypt, sign, &symmetric, scheme.scheme)?;
            match scheme.scheme {
                TPM_ALG_NULL | TPM_ALG_RSAES => {}
                TPM_ALG_RSASSA | TPM_ALG_RSAPSS if !decrypt => {}
                TPM_ALG_OAEP if !sign => {}
                _ => return Err(TPM_RC_SCHEME),
            }
        }
        PublicParms::Ecc {
            symmetric,
            curve_id,
            kdf,
            ..
        } => {
            Curve::from_id(curve_id).ok_or(TPM_RC_CURVE)?;
            if kdf.scheme != TPM_ALG_NULL {
                return Err(TPM_RC_KDF);
            }
            check_asym(restricted, decrypt, sign, &symmetric, scheme.scheme)?;
            match scheme.scheme {
                TPM_ALG_NULL => {}
                TPM_ALG_ECDSA | TPM_ALG_ECDAA if !decrypt => {}
                TPM_ALG_ECDH if !sign => {}
                _ => return Err(TPM_RC_SCHEME),
            }
        }
        PublicParms::KeyedHash { scheme } => match scheme.scheme {
            TPM_ALG_NULL if !sign && !decrypt => {}
            TPM_ALG_NULL if !restricted => {}
            TPM_ALG_HMAC if sign && !decrypt => {}
            TPM_ALG_XOR if decrypt && !sign => {}
            _ => return Err(TPM_RC_SCHEME),
        },
        PublicParms::SymCipher { sym } => {
            // A restricted one would be a symmetric storage parent, which this engine does not
            // implement beyond the AES-CFB definition storage keys use.
            let ok = if restricted {
                sym_ok(&sym)
            } else {
                cipher_ok(&sym)
            };
            if !ok {
                return Err(TPM_RC_SYMMETRIC);
            }
        }
    }
    Ok(())
}

fn check_asym(
    restricted: bool,
    decrypt: bool,
    sign: bool,
    symmetric: &TpmtSymDef,
    scheme: u16,
) -> Result<(), u32> {
    if restricted && decrypt {
        // A storage key: AES-CFB protection, no scheme.
        if !sym_ok(symmetric) {
            return Err(TPM_RC_SYMMETRIC);
        }
        if scheme != TPM_ALG_NULL {
            return Err(TPM_RC_SCHEME);
        }
    } else if symmetric.algorithm != TPM_ALG_NULL {
        return Err(TPM_RC_SYMMETRIC);
    }
    if restricted && sign && scheme == TPM_ALG_NULL {
        return Err(TPM_RC_SCHEME);
    }
    if !decrypt && !sign {
        return Err(TPM_RC_ATTRIBUTES);
    }
    Ok(())
}
