//! Session HMACs (Part 1, 19.6 "Session-based Authorizations") and parameter encryption
//! (Part 1, 21 "Session-based encryption").

use super::Session;
use crate::crypto::{hmac, kdf::kdfa, sym};
use tpm_proto::*;

fn key(s: &Session, auth: &[u8]) -> Vec<u8> {
    let mut k = s.session_key.clone();
    k.extend_from_slice(auth);
    k
}

/// `sessionKey = KDFa(authHash, bindAuth || salt, "ATH", nonceTPM, nonceCaller, digestBits)`, or
/// empty when both are empty (Part 1, 19.6.8).
pub fn session_key(
    hash: u16,
    bind_auth: &[u8],
    salt: &[u8],
    nonce_tpm: &[u8],
    nonce_caller: &[u8],
) -> Result<Vec<u8>, u32> {
    if bind_auth.is_empty() && salt.is_empty() {
        return Ok(Vec::new());
    }
    let mut k = bind_auth.to_vec();
    k.extend_from_slice(salt);
    let bits = digest_size(hash).ok_or(TPM_RC_HASH)? as u32 * 8;
    kdfa(hash, &k, b"ATH", nonce_tpm, nonce_caller, bits).ok_or(TPM_RC_HASH)
}

/// The command HMAC: `HMAC(sessionKey || authValue, cpHash || nonceCaller || nonceTPM ||
/// nonceTPMdecrypt || nonceTPMencrypt || sessionAttributes)`.
pub fn command(
    s: &Session,
    auth: &[u8],
    cp_hash: &[u8],
    nonce_caller: &[u8],
    extra_nonces: &[u8],
    attributes: u8,
) -> Result<Vec<u8>, u32> {
    hmac(
        s.hash,
        &key(s, auth),
        &[
            cp_hash,
            nonce_caller,
            &s.nonce_tpm,
            extra_nonces,
            &[attributes],
        ],
    )
    .map(|t| t.as_ref().to_vec())
    .ok_or(TPM_RC_HASH)
}

/// The response HMAC: `HMAC(sessionKey || authValue, rpHash || nonceTPM || nonceCaller ||
/// sessionAttributes)` with the new nonceTPM.
pub fn response(s: &Session, auth: &[u8], rp_hash: &[u8], attributes: u8) -> Result<Vec<u8>, u32> {
    hmac(
        s.hash,
        &key(s, auth),
        &[rp_hash, &s.nonce_tpm, &s.nonce_caller, &[attributes]],
    )
    .map(|t| t.as_ref().to_vec())
    .ok_or(TPM_RC_HASH)
}

/// Encrypts (`encrypt`) or decrypts a parameter in place with the session's symmetric algorithm:
/// XOR with `KDFa(hash, key, "XOR", newer, older)` or AES-CFB with key and IV from
/// `KDFa(hash, key, "CFB", newer, older, keyBits + 128)`.
pub fn crypt(
    s: &Session,
    auth: &[u8],
    newer: &[u8],
    older: &[u8],
    data: &mut [u8],
    encrypt: bool,
) -> Result<(), u32> {
    let k = key(s, auth);
    match s.symmetric.algorithm {
        TPM_ALG_XOR => sym::xor(s.symmetric.key_bits, &k, newer, older, data).ok_or(TPM_RC_HASH),
        TPM_ALG_AES => {
            let bits = u32::from(s.symmetric.key_bits);
            let kiv = kdfa(s.hash, &k, b"CFB", newer, older, bits + 128).ok_or(TPM_RC_HASH)?;
            let (ak, iv) = kiv.split_at((bits / 8) as usize);
            let mut ivb = [0u8; 16];
            ivb.copy_from_slice(iv);
            let r = if encrypt {
                sym::cfb_encrypt(ak, &ivb, data)
            } else {
                sym::cfb_decrypt(ak, &ivb, data)
            };
            r.ok_or(TPM_RC_SYMMETRIC)
        }
        _ => Err(TPM_RC_ATTRIBUTES),
    }
}
