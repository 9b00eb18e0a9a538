//! Asymmetric primitives (Part 3, 14 "Asymmetric Primitives"): RSA_Encrypt, RSA_Decrypt.

use crate::Tpm;
use crate::crypto::rsa;
use crate::dispatch::{Ctx, param};
use crate::object::Object;
use tpm_proto::object::{MAX_RSA_KEY_BYTES, PublicId, PublicParms, TpmtScheme};
use tpm_proto::*;

/// An unrestricted RSA decryption key (Part 3, 14.2/14.3: TPM_RC_KEY, TPM_RC_ATTRIBUTES).
fn rsa_key(tpm: &Tpm, h: u32) -> Result<Object, u32> {
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if !matches!(o.public.parameters, PublicParms::Rsa { .. }) {
        return Err(rc_handle(TPM_RC_KEY, 1));
    }
    if !o.has(TPMA_OBJECT_DECRYPT) || o.has(TPMA_OBJECT_RESTRICTED) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    Ok(o.clone())
}

/// The key's scheme, or the caller's if the key has none (Part 1, 33.?). Both NULL means raw
/// RSA, which aws-lc-rs does not offer: TPM_RC_SCHEME.
fn padding(o: &Object, input: TpmtScheme) -> Result<TpmtScheme, u32> {
    let own = o.public.scheme();
    let s = if own.scheme == TPM_ALG_NULL {
        input
    } else if input.scheme == TPM_ALG_NULL || input == own {
        own
    } else {
        return Err(rc_param(TPM_RC_SCHEME, 2));
    };
    match s.scheme {
        TPM_ALG_RSAES | TPM_ALG_OAEP => Ok(s),
        _ => Err(rc_param(TPM_RC_SCHEME, 2)),
    }
}

/// A label, if present, is a NUL-terminated string (Part 3, 14.2.1).
fn check_label(label: &[u8]) -> Result<(), u32> {
    match label.last() {
        Some(&b) if b != 0 => Err(rc_param(TPM_RC_VALUE, 3)),
        _ => Ok(()),
    }
}

fn read_args(ctx: &mut Ctx<'_>) -> Result<(Vec<u8>, TpmtScheme, Vec<u8>), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_RSA_KEY_BYTES))?.to_vec();
    let scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    // TPM2B_DATA: at most sizeof(TPMT_HA).
    let label = param(3, ctx.params.tpm2b(66))?.to_vec();
    ctx.end()?;
    check_label(&label)?;
    Ok((data, scheme, label))
}

/// TPM2_RSA_Encrypt (Part 3, 14.2): public-key operation, no authorization.
pub fn rsa_encrypt(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let (msg, in_scheme, label) = read_args(ctx)?;
    let o = rsa_key(tpm, ctx.handles[0])?;
    let s = padding(&o, in_scheme)?;
    let (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) =
        (&o.public.parameters, &o.public.unique)
    else {
        return Err(rc_handle(TPM_RC_KEY, 1));
    };
    let ct = if s.scheme == TPM_ALG_OAEP {
        rsa::oaep_encrypt(n, *exponent, s.hash, &label, &msg)
    } else {
        rsa::pkcs1_encrypt(n, *exponent, &msg)
    }
    .map_err(|rc| rc_param(rc, 1))?;
    out.put_tpm2b(&ct);
    Ok(())
}

/// TPM2_RSA_Decrypt (Part 3, 14.3).
pub fn rsa_decrypt(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let (ct, in_scheme, label) = read_args(ctx)?;
    let o = rsa_key(tpm, ctx.handles[0])?;
    let s = padding(&o, in_scheme)?;
    let sens = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_KEY, 1))?;
    let pt = if s.scheme == TPM_ALG_OAEP {
        let k = o.rsa.as_ref().ok_or(rc_handle(TPM_RC_KEY, 1))?;
        rsa::oaep_decrypt(k, s.hash, &label, &ct)
    } else {
        rsa::pkcs1_decrypt(&sens.sensitive, &ct)
    }
    .map_err(|rc| rc_param(rc, 1))?;
    out.put_tpm2b(&pt);
    Ok(())
}
