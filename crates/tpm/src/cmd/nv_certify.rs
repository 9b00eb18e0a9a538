//! TPM2_NV_Certify (Part 3, 31.16): a signed statement of an NV index's Name and contents.

use super::attest::{attest_or_unsigned, resolve_scheme};
use crate::Tpm;
use crate::crypto::hash;
use crate::dispatch::{Ctx, param};
use crate::nv::{self, NV_BUFFER_MAX};
use tpm_proto::attest::Attested;
use tpm_proto::object::{MAX_DIGEST, TpmtScheme};
use tpm_proto::*;

/// TPM2_NV_Certify: `size` octets from `offset` (`TPMS_NV_CERTIFY_INFO`), or with size and
/// offset both zero a digest of the whole index under the signing scheme's hash
/// (`TPMS_NV_DIGEST_CERTIFY_INFO`, Part 3 revision 1.59 on). A NULL `signHandle` returns
/// the attestation unsigned.
pub fn nv_certify(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    let size = param(3, ctx.params.u16())?;
    let offset = param(4, ctx.params.u16())?;
    ctx.end()?;
    let [sign_handle, auth_handle, h] = ctx.handles;
    let signer = if sign_handle == TPM_RH_NULL {
        None
    } else {
        let o = tpm
            .object(sign_handle)
            .cloned()
            .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
        let scheme = resolve_scheme(&o, in_scheme, 2)?;
        Some((o, scheme))
    };
    let idx = tpm.nv_index(h)?;
    nv::read_access(auth_handle, h, idx.attrs())?;
    let (size, offset) = (usize::from(size), usize::from(offset));
    if size + offset > idx.data.len() {
        return Err(TPM_RC_NV_RANGE);
    }
    if size > NV_BUFFER_MAX {
        return Err(rc_param(TPM_RC_VALUE, 3));
    }
    let index_name = idx.name();
    let attested = if size != 0 || offset != 0 {
        Attested::Nv {
            index_name,
            offset: offset as u16,
            nv_contents: idx.data[offset..offset + size].to_vec(),
        }
    } else {
        let alg = signer.as_ref().map_or(in_scheme.hash, |(_, s)| s.hash);
        let d = hash(alg, &[&idx.data]).ok_or(rc_param(TPM_RC_SCHEME, 2))?;
        Attested::NvDigest {
            index_name,
            nv_digest: d.as_ref().to_vec(),
        }
    };
    let signer = signer.as_ref().map(|(o, scheme)| (o, *scheme));
    attest_or_unsigned(tpm, signer, extra, attested, out)
}
