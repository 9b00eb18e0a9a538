//! Testing, random numbers, clock, hashing (Part 3, 10, 16, 15.4, 29.? and 10.5 TestParms).

use crate::Tpm;
use crate::crypto::{self, HASH_ALGS, hash, hmac};
use crate::dispatch::{Ctx, param};
use crate::object::public::{cipher_ok, sym_ok};
use tpm_proto::object::{PublicId, PublicParms, TpmtPublic};
use tpm_proto::*;

/// `MAX_DIGEST_BUFFER` / `MAX_NV_BUFFER_SIZE`-sized `TPM2B_MAX_BUFFER` (Part 2, 10.4.8).
pub const MAX_BUFFER: usize = 1024;
/// `MAX_SYM_DATA`: bound of `TPM2B_SENSITIVE_DATA` (Part 2, 11.1.14).
const MAX_SYM_DATA: usize = 128;
/// `MAX_ALG_LIST_SIZE` (Part 2, 10.9.? TPML_ALG).
const MAX_ALG_LIST_SIZE: usize = 64;

/// Runs the known-answer tests; a failure puts the TPM in failure mode.
pub fn run_self_test(tpm: &mut Tpm) -> Result<(), u32> {
    if crypto::self_test() {
        tpm.vol.self_tested = true;
        Ok(())
    } else {
        tpm.failed = true;
        Err(TPM_RC_FAILURE)
    }
}

/// TPM2_SelfTest.
pub fn self_test(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let _full = param(1, ctx.params.yes_no())?;
    ctx.end()?;
    run_self_test(tpm)
}

/// TPM2_IncrementalSelfTest: all implemented algorithms are tested together.
pub fn incremental_self_test(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let count = param(1, ctx.params.u32())? as usize;
    if count > MAX_ALG_LIST_SIZE {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    for _ in 0..count {
        param(1, ctx.params.u16())?;
    }
    ctx.end()?;
    run_self_test(tpm)?;
    out.put_u32(0);
    Ok(())
}

/// TPM2_GetTestResult.
pub fn get_test_result(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    out.put_u16(0);
    out.put_u32(if tpm.vol.self_tested {
        TPM_RC_SUCCESS
    } else {
        TPM_RC_NEEDS_TEST
    });
    Ok(())
}

/// TPM2_GetRandom: at most `sizeof(TPMU_HA)` (64) bytes per call (Part 3, 16.1).
pub fn get_random(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let n = usize::from(param(1, ctx.params.u16())?).min(64);
    ctx.end()?;
    let mut buf = [0u8; 64];
    tpm.random(&mut buf[..n])?;
    out.put_tpm2b(&buf[..n]);
    Ok(())
}

/// TPM2_StirRandom: mixes caller data into the engine's additional-input pool.
pub fn stir_random(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_SYM_DATA))?;
    ctx.end()?;
    let prev = tpm.stir.unwrap_or([0; 64]);
    let d = hash(TPM_ALG_SHA512, &[&prev, data]).ok_or(TPM_RC_FAILURE)?;
    let mut pool = [0u8; 64];
    pool.copy_from_slice(d.as_ref());
    tpm.stir = Some(pool);
    Ok(())
}

/// TPM2_ReadClock: `TPMS_TIME_INFO` (Part 2, 10.11.6).
pub fn read_clock(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    out.put_u64(tpm.time());
    out.put_u64(tpm.clock());
    out.put_u32(tpm.perm.reset_count);
    out.put_u32(tpm.perm.restart_count);
    out.put_u8(u8::from(tpm.vol.clock_safe));
    Ok(())
}

/// TPM2_ClockSet (Part 3, 29.1): Clock only moves forward, and stays below
/// `0xFFFF000000000000` so it cannot roll over.
pub fn clock_set(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let new = param(1, ctx.params.u64())?;
    ctx.end()?;
    if new > 0xFFFF_0000_0000_0000 || new < tpm.clock() {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    tpm.set_clock(new);
    Ok(())
}

/// TPM2_Hash with a `TPMT_TK_HASHCHECK` ticket: HMAC-SHA-512 (`CONTEXT_INTEGRITY_HASH_ALG`)
/// keyed with the hierarchy's proof over `tag || digest` (Part 2, 10.7.3; Part 1, 27.? tickets).
pub fn hash_cmd(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let data = param(1, ctx.params.tpm2b(MAX_BUFFER))?;
    let alg = param(2, ctx.params.hash_alg(false))?;
    let hierarchy = param(3, ctx.params.u32())?;
    ctx.end()?;
    let proof = match hierarchy {
        TPM_RH_OWNER if tpm.vol.sh_enable => Some(&tpm.perm.sh_proof),
        TPM_RH_ENDORSEMENT if tpm.vol.eh_enable => Some(&tpm.perm.eh_proof),
        TPM_RH_PLATFORM if tpm.vol.ph_enable => Some(&tpm.perm.ph_proof),
        TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM => {
            return Err(rc_param(TPM_RC_HIERARCHY, 3));
        }
        TPM_RH_NULL => None,
        _ => return Err(rc_param(TPM_RC_VALUE, 3)),
    };
    let digest = hash(alg, &[data]).ok_or(TPM_RC_FAILURE)?;
    out.put_tpm2b(digest.as_ref());
    out.put_u16(TPM_ST_HASHCHECK);
    let generated = data.starts_with(&TPM_GENERATED_VALUE.to_be_bytes());
    match proof {
        Some(proof) if !generated => {
            let tag = hmac(
                TPM_ALG_SHA512,
                proof,
                &[&TPM_ST_HASHCHECK.to_be_bytes(), digest.as_ref()],
            )
            .ok_or(TPM_RC_FAILURE)?;
            out.put_u32(hierarchy);
            out.put_tpm2b(tag.as_ref());
        }
        _ => {
            out.put_u32(TPM_RH_NULL);
            out.put_u16(0);
        }
    }
    Ok(())
}

/// TPM2_TestParms (Part 3, 10.4): keyed-hash, symmetric, RSA and ECC parameters.
pub fn test_parms(_tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let ty = param(1, ctx.params.u16())?;
    if !matches!(
        ty,
        TPM_ALG_KEYEDHASH | TPM_ALG_SYMCIPHER | TPM_ALG_RSA | TPM_ALG_ECC
    ) {
        return Err(rc_param(TPM_RC_TYPE, 1));
    }
    // TPMT_PUBLIC_PARMS is a TPMT_PUBLIC without nameAlg, attributes, authPolicy and unique:
    // parse it as one, with those fields empty, to share the parameter unmarshalling.
    let mut synth = Vec::new();
    synth.put_u16(ty);
    synth.put_u16(TPM_ALG_SHA256);
    synth.put_u32(0);
    synth.put_u16(0);
    synth.extend_from_slice(ctx.params.rest());
    // An empty unique field (two for ECC) after the parameters.
    synth.extend_from_slice(&[0; 4]);
    let mut r = Reader::new(&synth);
    let p = param(1, TpmtPublic::read(&mut r))?;
    let unique = match &p.unique {
        PublicId::Digest(d) | PublicId::Rsa(d) => 2 + d.len(),
        PublicId::Ecc { x, y } => 4 + x.len() + y.len(),
    };
    let used = synth.len() - r.remaining() - 10 - unique;
    param(1, ctx.params.take(used))?;
    ctx.end()?;
    parms_supported(&p).map_err(|rc| rc_param(rc, 1))
}

/// Whether this TPM can create an object with these parameters, whatever its attributes
/// (Part 3, 10.4: TestParms).
fn parms_supported(p: &TpmtPublic) -> Result<(), u32> {
    let scheme = p.scheme();
    let hash_ok = |h: u16| HASH_ALGS.contains(&h);
    let sym = p.symmetric();
    let symcipher = matches!(p.parameters, PublicParms::SymCipher { .. });
    if !symcipher && sym.algorithm != TPM_ALG_NULL && !sym_ok(&sym) {
        return Err(TPM_RC_SYMMETRIC);
    }
    match p.parameters {
        PublicParms::KeyedHash { scheme } => match scheme.scheme {
            TPM_ALG_NULL => Ok(()),
            TPM_ALG_HMAC | TPM_ALG_XOR if hash_ok(scheme.hash) => Ok(()),
            TPM_ALG_HMAC | TPM_ALG_XOR => Err(TPM_RC_HASH),
            _ => Err(TPM_RC_VALUE),
        },
        PublicParms::SymCipher { sym } => {
            if cipher_ok(&sym) {
                Ok(())
            } else {
                Err(TPM_RC_SYMMETRIC)
            }
        }
        PublicParms::Rsa {
            key_bits, exponent, ..
        } => {
            if !matches!(key_bits, 2048 | 3072) {
                return Err(TPM_RC_VALUE);
            }
            if exponent != 0 && exponent != crate::crypto::rsa::EXPONENT {
                return Err(TPM_RC_VALUE);
            }
            match scheme.scheme {
                TPM_ALG_NULL | TPM_ALG_RSAES => Ok(()),
                TPM_ALG_RSASSA | TPM_ALG_RSAPSS | TPM_ALG_OAEP if hash_ok(scheme.hash) => Ok(()),
                TPM_ALG_RSASSA | TPM_ALG_RSAPSS | TPM_ALG_OAEP => Err(TPM_RC_HASH),
                _ => Err(TPM_RC_SCHEME),
            }
        }
        PublicParms::Ecc { curve_id, kdf, .. } => {
            crate::crypto::ecc::Curve::from_id(curve_id).ok_or(TPM_RC_CURVE)?;
            if kdf.scheme != TPM_ALG_NULL {
                return Err(TPM_RC_KDF);
            }
            match scheme.scheme {
                TPM_ALG_NULL => Ok(()),
                TPM_ALG_ECDSA | TPM_ALG_ECDH if hash_ok(scheme.hash) => Ok(()),
                TPM_ALG_ECDSA | TPM_ALG_ECDH => Err(TPM_RC_HASH),
                _ => Err(TPM_RC_SCHEME),
            }
        }
    }
}
