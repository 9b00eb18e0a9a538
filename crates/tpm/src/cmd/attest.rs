//! Signing and attestation (Part 3, 18 "Attestation Commands", 20 "Signing and Signature
//! Verification", 12.5/12.6 credentials): Quote, Certify, CertifyCreation, GetTime, Sign,
//! VerifySignature, MakeCredential, ActivateCredential.

use super::object::{proof, ticket};
use crate::Tpm;
use crate::crypto::{ct_eq, ecc, hash, hmac, kdf::kdfe, rsa};
use crate::dispatch::{Ctx, param};
use crate::object::{Object, protect};
use crate::pcr;
use tpm_proto::attest::{Attested, TpmsAttest, TpmsClockInfo, TpmtSignature, TpmtTicket};
use tpm_proto::object::{MAX_DIGEST, PublicId, PublicParms, TpmtScheme};
use tpm_proto::*;

/// `firmwareVersion` as reported by TPM_PT_FIRMWARE_VERSION_1/2.
pub const FIRMWARE_VERSION: u64 = (0x2019_1023 << 32) | 0x0016_3636;

/// The scheme to sign with: the key's own, or the caller's if the key has none (Part 1, 33.?).
pub(super) fn resolve_scheme(o: &Object, input: TpmtScheme, n: u32) -> Result<TpmtScheme, u32> {
    if !o.has(TPMA_OBJECT_SIGN_ENCRYPT) {
        return Err(rc_handle(TPM_RC_KEY, 1));
    }
    let own = o.public.scheme();
    if own.scheme == TPM_ALG_NULL {
        if input.scheme == TPM_ALG_NULL {
            return Err(rc_param(TPM_RC_SCHEME, n));
        }
        Ok(input)
    } else if input.scheme == TPM_ALG_NULL {
        Ok(own)
    } else if input.scheme == own.scheme && input.hash == own.hash {
        // The caller's count is the one used (ECDAA names its commitment there).
        Ok(input)
    } else {
        Err(rc_param(TPM_RC_SCHEME, n))
    }
}

/// Signs `digest` (already computed with `scheme.hash`).
pub(super) fn sign(o: &Object, scheme: TpmtScheme, digest: &[u8]) -> Result<TpmtSignature, u32> {
    let s = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_KEY, 1))?;
    match (&o.public.parameters, &o.public.unique) {
        (PublicParms::Rsa { .. }, _) => Ok(TpmtSignature::Rsa {
            sig_alg: scheme.scheme,
            hash: scheme.hash,
            sig: rsa::sign(
                o.rsa.as_ref().ok_or(TPM_RC_FAILURE)?,
                scheme.scheme,
                scheme.hash,
                digest,
            )?,
        }),
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, y }) => {
            if scheme.scheme != TPM_ALG_ECDSA {
                return Err(TPM_RC_SCHEME);
            }
            let c = ecc::Curve::from_id(*curve_id).ok_or(TPM_RC_CURVE)?;
            let (r, sv) = ecc::sign(c, &s.sensitive, (x, y), scheme.hash, digest)?;
            Ok(TpmtSignature::Ecc {
                sig_alg: TPM_ALG_ECDSA,
                hash: scheme.hash,
                r,
                s: sv,
            })
        }
        (PublicParms::KeyedHash { .. }, _) if scheme.scheme == TPM_ALG_HMAC => {
            let t = hmac(scheme.hash, &s.sensitive, &[digest]).ok_or(TPM_RC_HASH)?;
            Ok(TpmtSignature::Hmac {
                hash: scheme.hash,
                digest: t.as_ref().to_vec(),
            })
        }
        _ => Err(TPM_RC_KEY),
    }
}

/// Clock info and firmware version for a `TPMS_ATTEST` signed by `o`: plain for endorsement
/// and platform keys, otherwise obfuscated with `KDFa(nameAlg, proof, "OBFUSCATE", name, NULL,
/// 128)` (bytes 0..8 added to firmwareVersion, 8..12 to resetCount, 12..16 to restartCount), so
/// owner keys do not reveal reset history (Part 1, 36.?).
fn clock_info(tpm: &Tpm, o: &Object) -> (TpmsClockInfo, u64) {
    let mut ci = plain_clock_info(tpm);
    let mut fw = FIRMWARE_VERSION;
    if !matches!(o.hierarchy, TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM)
        && let Some(k) = crate::crypto::kdf::kdfa(
            o.public.name_alg,
            proof(tpm, o.hierarchy),
            b"OBFUSCATE",
            &o.name,
            &[],
            128,
        )
    {
        let mut a = [0u8; 8];
        a.copy_from_slice(&k[..8]);
        fw = fw.wrapping_add(u64::from_be_bytes(a));
        let mut b = [0u8; 4];
        b.copy_from_slice(&k[8..12]);
        ci.reset_count = ci.reset_count.wrapping_add(u32::from_be_bytes(b));
        b.copy_from_slice(&k[12..16]);
        ci.restart_count = ci.restart_count.wrapping_add(u32::from_be_bytes(b));
    }
    (ci, fw)
}

/// The TPM's clock info as it is, without obfuscation.
fn plain_clock_info(tpm: &Tpm) -> TpmsClockInfo {
    TpmsClockInfo {
        clock: tpm.clock(),
        reset_count: tpm.perm.reset_count,
        restart_count: tpm.perm.restart_count,
        safe: tpm.vol.clock_safe,
    }
}

/// Signs `attested` with `signer` (the key and its resolved scheme), or for a NULL
/// `signHandle` appends it unsigned: empty qualifiedSigner, plain clock info and a NULL
/// signature (CertifyCreation, NV_Certify and the audit digests allow that).
pub(super) fn attest_or_unsigned(
    tpm: &mut Tpm,
    signer: Option<(&Object, TpmtScheme)>,
    extra: Vec<u8>,
    attested: Attested,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    if let Some((o, scheme)) = signer {
        return attest(tpm, o, scheme, extra, attested, out);
    }
    let a = TpmsAttest {
        qualified_signer: Vec::new(),
        extra_data: extra,
        clock_info: plain_clock_info(tpm),
        firmware_version: FIRMWARE_VERSION,
        attested,
    };
    let mut b = Vec::new();
    a.write(&mut b);
    out.put_tpm2b(&b);
    TpmtSignature::Null.write(out);
    Ok(())
}

/// Marshals, hashes and signs an attestation structure; appends `TPM2B_ATTEST` and the
/// signature.
pub(super) fn attest(
    tpm: &mut Tpm,
    o: &Object,
    scheme: TpmtScheme,
    extra: Vec<u8>,
    attested: Attested,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let (clock_info, firmware_version) = clock_info(tpm, o);
    let a = TpmsAttest {
        qualified_signer: o.qualified_name.clone(),
        extra_data: extra,
        clock_info,
        firmware_version,
        attested,
    };
    let mut b = Vec::new();
    a.write(&mut b);
    let d = hash(scheme.hash, &[&b]).ok_or(rc_param(TPM_RC_HASH, 2))?;
    let sig = sign_any(tpm, o, scheme, d.as_ref())?;
    out.put_tpm2b(&b);
    sig.write(out);
    Ok(())
}

fn signer(tpm: &Tpm, h: u32) -> Result<Object, u32> {
    tpm.object(h).cloned().ok_or(rc_handle(TPM_RC_HANDLE, 1))
}

/// TPM2_Quote (Part 3, 18.4).
pub fn quote(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    let sel = super::pcr::read_selection(ctx, 3)?;
    ctx.end()?;
    let o = signer(tpm, ctx.handles[0])?;
    let scheme = resolve_scheme(&o, in_scheme, 2)?;
    let values = pcr::selected_values(&tpm.vol, &sel);
    let pcr_digest = hash(scheme.hash, &[&values])
        .ok_or(rc_param(TPM_RC_HASH, 2))?
        .as_ref()
        .to_vec();
    attest(
        tpm,
        &o,
        scheme,
        extra,
        Attested::Quote {
            pcr_select: sel,
            pcr_digest,
        },
        out,
    )
}

/// TPM2_Certify (Part 3, 18.2).
pub fn certify(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    ctx.end()?;
    let obj = tpm
        .object(ctx.handles[0])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let o = tpm
        .object(ctx.handles[1])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    let scheme = resolve_scheme(&o, in_scheme, 2).map_err(|rc| {
        if rc == rc_handle(TPM_RC_KEY, 1) {
            rc_handle(TPM_RC_KEY, 2)
        } else {
            rc
        }
    })?;
    attest(
        tpm,
        &o,
        scheme,
        extra,
        Attested::Certify {
            name: obj.name,
            qualified_name: obj.qualified_name,
        },
        out,
    )
}

/// TPM2_CertifyCreation (Part 3, 18.3): attests that the TPM created `objectHandle`, given
/// the creationHash and creationTicket that Create/CreatePrimary returned for it. A NULL
/// `signHandle` returns the attestation unsigned (qualifiedSigner empty, NULL signature).
pub fn certify_creation(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let creation_hash = param(2, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(3, TpmtScheme::read(&mut ctx.params))?;
    let tk = param(4, TpmtTicket::read(&mut ctx.params))?;
    ctx.end()?;
    if tk.tag != TPM_ST_CREATION {
        return Err(rc_param(TPM_RC_TAG, 4));
    }
    let obj = tpm
        .object(ctx.handles[1])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    // A NULL-hierarchy ticket carries no proof (this engine issues NULL creation tickets
    // there), so it cannot vouch for anything.
    let want = ticket(
        tpm,
        tk.hierarchy,
        TPM_ST_CREATION,
        &[&obj.name, &creation_hash],
    )
    .map_err(|_| rc_param(TPM_RC_TICKET, 4))?;
    if tk.hierarchy == TPM_RH_NULL || !ct_eq(&want.digest, &tk.digest) {
        return Err(rc_param(TPM_RC_TICKET, 4));
    }
    let attested = Attested::Creation {
        object_name: obj.name,
        creation_hash,
    };
    if ctx.handles[0] == TPM_RH_NULL {
        return attest_or_unsigned(tpm, None, extra, attested, out);
    }
    let o = signer(tpm, ctx.handles[0])?;
    let scheme = resolve_scheme(&o, in_scheme, 3)?;
    attest(tpm, &o, scheme, extra, attested, out)
}

/// TPM2_GetTime (Part 3, 18.7).
pub fn get_time(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let extra = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[1])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    let scheme = resolve_scheme(&o, in_scheme, 2)?;
    let (ci, fw) = clock_info(tpm, &o);
    attest(
        tpm,
        &o,
        scheme,
        extra,
        Attested::Time {
            time: tpm.time(),
            clock_info: ci,
            firmware_version: fw,
        },
        out,
    )
}

/// TPM2_Sign (Part 3, 20.2): restricted keys need a hash-check ticket proving the TPM hashed
/// data that did not start with `TPM_GENERATED_VALUE`.
pub fn sign_cmd(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let digest = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    let tk = param(3, TpmtTicket::read(&mut ctx.params))?;
    ctx.end()?;
    let o = signer(tpm, ctx.handles[0])?;
    let scheme = resolve_scheme(&o, in_scheme, 2)?;
    if Some(digest.len()) != digest_size(scheme.hash) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    if o.has(TPMA_OBJECT_RESTRICTED) {
        let want = ticket(tpm, tk.hierarchy, TPM_ST_HASHCHECK, &[&digest])?;
        if tk.tag != TPM_ST_HASHCHECK
            || tk.hierarchy == TPM_RH_NULL
            || !ct_eq(&tk.digest, &want.digest)
        {
            return Err(rc_param(TPM_RC_TICKET, 3));
        }
    }
    sign_any(tpm, &o, scheme, &digest)?.write(out);
    Ok(())
}

/// [`sign`], or for ECDAA the split signature that uses up a Commit commitment.
pub(super) fn sign_any(
    tpm: &mut Tpm,
    o: &Object,
    scheme: TpmtScheme,
    digest: &[u8],
) -> Result<TpmtSignature, u32> {
    if scheme.scheme == TPM_ALG_ECDAA {
        super::commit::ecdaa_sign(tpm, o, scheme, digest)
    } else {
        sign(o, scheme, digest)
    }
}

/// Whether `sig` is `o`'s signature over `digest` (RSASSA/RSAPSS, ECDSA or HMAC).
pub(crate) fn verify(o: &Object, digest: &[u8], sig: &TpmtSignature) -> bool {
    match (sig, &o.public.parameters, &o.public.unique) {
        (
            TpmtSignature::Rsa { sig_alg, hash, sig },
            PublicParms::Rsa { exponent, .. },
            PublicId::Rsa(n),
        ) => rsa::verify(n, *exponent, *sig_alg, *hash, digest, sig),
        (
            TpmtSignature::Ecc { hash, r, s, .. },
            PublicParms::Ecc { curve_id, .. },
            PublicId::Ecc { x, y },
        ) => ecc::Curve::from_id(*curve_id)
            .is_some_and(|c| ecc::verify(c, (x, y), *hash, digest, r, s)),
        (TpmtSignature::Hmac { hash, digest: d }, PublicParms::KeyedHash { .. }, _) => o
            .sensitive
            .as_ref()
            .and_then(|s| crate::crypto::hmac(*hash, &s.sensitive, &[digest]))
            .is_some_and(|t| ct_eq(t.as_ref(), d)),
        _ => false,
    }
}

/// TPM2_VerifySignature (Part 3, 20.1).
pub fn verify_signature(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let digest = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let sig = param(2, TpmtSignature::read(&mut ctx.params))?;
    ctx.end()?;
    let o = signer(tpm, ctx.handles[0])?;
    let ok = verify(&o, &digest, &sig);
    if !ok {
        return Err(rc_param(TPM_RC_SIGNATURE, 2));
    }
    ticket(tpm, o.hierarchy, TPM_ST_VERIFIED, &[&digest, &o.name])?.write(out);
    Ok(())
}

fn credential_key(tpm: &Tpm, h: u32, n: u32) -> Result<Object, u32> {
    let o = tpm.object(h).cloned().ok_or(rc_handle(TPM_RC_HANDLE, n))?;
    if !o.has(TPMA_OBJECT_DECRYPT)
        || !o.has(TPMA_OBJECT_RESTRICTED)
        || o.public.symmetric().algorithm != TPM_ALG_AES
    {
        return Err(rc_handle(TPM_RC_TYPE, n));
    }
    Ok(o)
}

/// TPM2_MakeCredential (Part 3, 12.6): `credentialBlob = TPM2B(HMAC) || CFB(TPM2B(credential))`
/// under a seed shared with `handle` ("IDENTITY").
pub fn make_credential(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let credential = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let name = param(2, ctx.params.tpm2b(tpm_proto::attest::MAX_NAME))?.to_vec();
    ctx.end()?;
    let k = credential_key(tpm, ctx.handles[0], 1)?;
    let alg = k.public.name_alg;
    let bits = digest_size(alg).ok_or(TPM_RC_HASH)? as u32 * 8;
    let (seed, secret) = match (&k.public.parameters, &k.public.unique) {
        (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) => {
            let mut seed = vec![0u8; (bits / 8) as usize];
            tpm.random(&mut seed)?;
            let ct = rsa::oaep_encrypt(n, *exponent, alg, b"IDENTITY\0", &seed)?;
            (seed, ct)
        }
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, y }) => {
            let c = ecc::Curve::from_id(*curve_id).ok_or(TPM_RC_CURVE)?;
            let (d, ex, ey) = ecc::generate(c)?;
            let z = ecc::ecdh(c, &d, x, y)?;
            let seed = kdfe(alg, &z, b"IDENTITY", &ex, x, bits).ok_or(TPM_RC_HASH)?;
            let mut pt = Vec::new();
            pt.put_tpm2b(&ex);
            pt.put_tpm2b(&ey);
            (seed, pt)
        }
        _ => return Err(rc_handle(TPM_RC_TYPE, 1)),
    };
    let mut plain = Vec::new();
    plain.put_tpm2b(&credential);
    let blob = protect::seal(alg, &seed, &name, k.public.symmetric().key_bits, &plain)?;
    out.put_tpm2b(&blob);
    out.put_tpm2b(&secret);
    Ok(())
}

/// TPM2_ActivateCredential (Part 3, 12.5).
pub fn activate_credential(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let blob = param(1, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let secret = param(2, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    ctx.end()?;
    let obj_name = tpm
        .object(ctx.handles[0])
        .map(|o| o.name.clone())
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let k = credential_key(tpm, ctx.handles[1], 2)?;
    let seed = super::session::decrypt_secret(tpm, ctx.handles[1], b"IDENTITY", &secret)
        .map_err(|_| rc_param(TPM_RC_VALUE, 2))?;
    let plain = protect::open(
        k.public.name_alg,
        &seed,
        &obj_name,
        k.public.symmetric().key_bits,
        &blob,
    )
    .map_err(|rc| rc_param(rc, 1))?;
    let mut r = Reader::new(&plain);
    let cred = param(1, r.tpm2b(MAX_DIGEST))?;
    param(1, r.finish())?;
    out.put_tpm2b(cred);
    Ok(())
}
