//! TPM2_EncryptDecrypt and TPM2_EncryptDecrypt2 (Part 3, 15.2 and 15.3): AES with a
//! symmetric-cipher object, the mode from the key or (NULL in the key) from the caller.

use super::misc::MAX_BUFFER;
use crate::Tpm;
use crate::crypto::sym::{self, BLOCK};
use crate::dispatch::{Ctx, param};
use tpm_proto::object::PublicParms;
use tpm_proto::*;

/// `TPMI_ALG_CIPHER_MODE+` (Part 2, 9.34): the block modes this engine implements, or NULL.
fn is_cipher_mode(mode: u16) -> bool {
    matches!(
        mode,
        TPM_ALG_CTR | TPM_ALG_OFB | TPM_ALG_CBC | TPM_ALG_CFB | TPM_ALG_ECB | TPM_ALG_NULL
    )
}

/// The parameters, with the numbers of `mode`, `ivIn` and `inData`, which differ between the
/// two commands.
struct Args<'a> {
    decrypt: bool,
    mode: u16,
    iv: &'a [u8],
    data: &'a [u8],
    n_mode: u32,
    n_iv: u32,
    n_data: u32,
}

/// The shared body (reference `EncryptDecryptShared`): key checks, mode selection, IV and
/// length rules, then the cipher. Appends `outData` and `ivOut`.
fn run(tpm: &Tpm, h: u32, a: Args<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let Args {
        decrypt,
        mode: mode_in,
        iv,
        data,
        ..
    } = a;
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let PublicParms::SymCipher { sym: def } = o.public.parameters else {
        return Err(rc_handle(TPM_RC_KEY, 1));
    };
    // Encryption needs `sign` (Part 2, 8.3.3.1: sign is "encrypt" for a symmetric key).
    let allowed = if decrypt {
        TPMA_OBJECT_DECRYPT
    } else {
        TPMA_OBJECT_SIGN_ENCRYPT
    };
    if o.has(TPMA_OBJECT_RESTRICTED) || !o.has(allowed) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    if !is_cipher_mode(def.mode) {
        return Err(rc_handle(TPM_RC_MODE, 1));
    }
    // TPM_RC_MODE as libtpms answers a mismatch (the spec's table says TPM_RC_VALUE).
    let mode = match (def.mode, mode_in) {
        (TPM_ALG_NULL, TPM_ALG_NULL) => return Err(rc_param(TPM_RC_MODE, a.n_mode)),
        (TPM_ALG_NULL, m) => m,
        (k, TPM_ALG_NULL) => k,
        (k, m) if k == m => k,
        _ => return Err(rc_param(TPM_RC_MODE, a.n_mode)),
    };
    let want_iv = if mode == TPM_ALG_ECB { 0 } else { BLOCK };
    if iv.len() != want_iv {
        return Err(rc_param(TPM_RC_SIZE, a.n_iv));
    }
    if matches!(mode, TPM_ALG_CBC | TPM_ALG_ECB) && !data.len().is_multiple_of(BLOCK) {
        return Err(rc_param(TPM_RC_SIZE, a.n_data));
    }
    let key = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_KEY, 1))?;
    if key.sensitive.len() != usize::from(def.key_bits / 8) {
        return Err(rc_handle(TPM_RC_KEY, 1));
    }
    let mut buf = data.to_vec();
    let mut iv_out = iv.to_vec();
    sym::block_mode(mode, decrypt, &key.sensitive, &mut iv_out, &mut buf).ok_or(TPM_RC_FAILURE)?;
    out.put_tpm2b(&buf);
    out.put_tpm2b(&iv_out);
    Ok(())
}

fn read_mode(ctx: &mut Ctx<'_>, n: u32) -> Result<u16, u32> {
    let m = param(n, ctx.params.u16())?;
    if !is_cipher_mode(m) {
        return Err(rc_param(TPM_RC_MODE, n));
    }
    Ok(m)
}

/// TPM2_EncryptDecrypt (Part 3, 15.2): `decrypt, mode, ivIn, inData`.
pub fn encrypt_decrypt(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let decrypt = param(1, ctx.params.yes_no())?;
    let mode = read_mode(ctx, 2)?;
    let iv = param(3, ctx.params.tpm2b(BLOCK))?;
    let data = param(4, ctx.params.tpm2b(MAX_BUFFER))?;
    ctx.end()?;
    let a = Args {
        decrypt,
        mode,
        iv,
        data,
        n_mode: 2,
        n_iv: 3,
        n_data: 4,
    };
    run(tpm, ctx.handles[0], a, out)
}

/// TPM2_EncryptDecrypt2 (Part 3, 15.3): the same with `inData` first, so that it can be
/// the parameter-encrypted one.
pub fn encrypt_decrypt2(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?;
    let decrypt = param(2, ctx.params.yes_no())?;
    let mode = read_mode(ctx, 3)?;
    let iv = param(4, ctx.params.tpm2b(BLOCK))?;
    ctx.end()?;
    let a = Args {
        decrypt,
        mode,
        iv,
        data,
        n_mode: 3,
        n_iv: 4,
        n_data: 1,
    };
    run(tpm, ctx.handles[0], a, out)
}
