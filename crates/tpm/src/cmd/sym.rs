//! Symmetric primitives (Part 3, 15 "Symmetric Primitives"): HMAC.

use super::misc::MAX_BUFFER;
use crate::Tpm;
use crate::crypto::hmac;
use crate::dispatch::{Ctx, param};
use tpm_proto::object::PublicParms;
use tpm_proto::*;

/// The HMAC hash for keyed-hash signing key `h` and the caller's `hashAlg` (Part 3, 15.5:
/// TPM_RC_TYPE, TPM_RC_ATTRIBUTES, TPM_RC_VALUE).
fn hmac_key(tpm: &Tpm, h: u32, alg: u16) -> Result<(Vec<u8>, u16), u32> {
    let o = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if !matches!(o.public.parameters, PublicParms::KeyedHash { .. })
        || !o.has(TPMA_OBJECT_SIGN_ENCRYPT)
    {
        return Err(rc_handle(TPM_RC_TYPE, 1));
    }
    if o.has(TPMA_OBJECT_RESTRICTED) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let own = o.public.scheme();
    let hash = match (own.scheme, alg) {
        (TPM_ALG_NULL, TPM_ALG_NULL) => return Err(rc_param(TPM_RC_VALUE, 2)),
        (TPM_ALG_NULL, a) => a,
        (_, TPM_ALG_NULL) => own.hash,
        (_, a) if a == own.hash => a,
        _ => return Err(rc_param(TPM_RC_VALUE, 2)),
    };
    let key = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    Ok((key.sensitive.clone(), hash))
}

/// TPM2_HMAC (Part 3, 15.5).
pub fn hmac_cmd(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?.to_vec();
    let alg = param(2, ctx.params.hash_alg(true))?;
    ctx.end()?;
    let (key, hash) = hmac_key(tpm, ctx.handles[0], alg)?;
    let d = hmac(hash, &key, &[&data]).ok_or(rc_param(TPM_RC_HASH, 2))?;
    out.put_tpm2b(d.as_ref());
    Ok(())
}
