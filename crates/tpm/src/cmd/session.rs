//! Session and policy commands (Part 3, 11.1 StartAuthSession, 11.2 PolicyRestart, 23
//! "Enhanced Authorization (EA) Commands").

use crate::Tpm;
use crate::crypto::{ecc, hash, kdf::kdfe, rsa};
use crate::dispatch::{Ctx, param};
use crate::object::public::sym_ok;
use crate::pcr;
use crate::session::{Session, hmac, policy};
use crate::state::trim_zeros;
use tpm_proto::object::{MAX_DIGEST, PublicId, PublicParms, TpmtSymDef};
use tpm_proto::*;

/// Decrypts a salt / seed sent to `key` (Part 1, 11.4.10.? "Secret Sharing"): RSA-OAEP with
/// `label`, or ECDH with an ephemeral point followed by KDFe.
pub fn decrypt_secret(tpm: &Tpm, key: u32, label: &[u8], secret: &[u8]) -> Result<Vec<u8>, u32> {
    let o = tpm.object(key).ok_or(TPM_RC_HANDLE)?;
    if !o.has(TPMA_OBJECT_DECRYPT) {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let s = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    let alg = o.public.name_alg;
    let mut l = label.to_vec();
    l.push(0);
    match (&o.public.parameters, &o.public.unique) {
        (PublicParms::Rsa { .. }, _) => {
            let k = o.rsa.as_ref().ok_or(TPM_RC_FAILURE)?;
            rsa::oaep_decrypt(k, alg, &l, secret)
        }
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, .. }) => {
            let c = ecc::Curve::from_id(*curve_id).ok_or(TPM_RC_CURVE)?;
            let mut r = Reader::new(secret);
            let ex = r.tpm2b(66).map_err(|_| TPM_RC_SIZE)?;
            let ey = r.tpm2b(66).map_err(|_| TPM_RC_SIZE)?;
            r.finish().map_err(|_| TPM_RC_SIZE)?;
            let z = ecc::ecdh(c, &s.sensitive, ex, ey)?;
            let bits = digest_size(alg).ok_or(TPM_RC_HASH)? as u32 * 8;
            kdfe(alg, &z, label, ex, x, bits).ok_or(TPM_RC_HASH)
        }
        _ => Err(rc_handle(TPM_RC_TYPE, 1)),
    }
}

/// TPM2_StartAuthSession (Part 3, 11.1).
pub fn start_auth_session(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let nonce_caller = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let salt_in = param(2, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let kind = param(3, ctx.params.u8())?;
    let symmetric = param(4, TpmtSymDef::read(&mut ctx.params))?;
    let hash_alg = param(5, ctx.params.hash_alg(false))?;
    ctx.end()?;
    if !matches!(kind, TPM_SE_HMAC | TPM_SE_POLICY | TPM_SE_TRIAL) {
        return Err(rc_param(TPM_RC_VALUE, 3));
    }
    if !(symmetric.algorithm == TPM_ALG_NULL
        || symmetric.algorithm == TPM_ALG_XOR
        || sym_ok(&symmetric))
    {
        return Err(rc_param(TPM_RC_SYMMETRIC, 4));
    }
    if nonce_caller.len() < 16 {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let (tpm_key, bind) = (ctx.handles[0], ctx.handles[1]);
    let salt = if tpm_key == TPM_RH_NULL {
        if !salt_in.is_empty() {
            return Err(rc_param(TPM_RC_VALUE, 2));
        }
        Vec::new()
    } else {
        decrypt_secret(tpm, tpm_key, b"SECRET", &salt_in).map_err(|rc| {
            if rc & (RC_P | RC_S | 0xF00) == 0 && rc & RC_FMT1 != 0 {
                rc_param(rc, 2)
            } else {
                rc
            }
        })?
    };
    let bind_info = if bind == TPM_RH_NULL {
        None
    } else {
        let e = tpm.entity(bind)?;
        Some((e.name, trim_zeros(&e.auth).to_vec()))
    };
    let mut nonce_tpm = vec![0u8; digest_size(hash_alg).unwrap_or(32)];
    tpm.random(&mut nonce_tpm)?;
    let bind_auth = bind_info.as_ref().map_or(&[][..], |b| &b.1[..]);
    let session_key = hmac::session_key(hash_alg, bind_auth, &salt, &nonce_tpm, &nonce_caller)?;
    let mut s = Session {
        kind,
        hash: hash_alg,
        nonce_tpm: nonce_tpm.clone(),
        nonce_caller,
        session_key,
        bind: bind_info,
        symmetric,
        policy: Default::default(),
        start_clock: tpm.clock(),
    };
    s.reset_policy();
    let h = tpm.vol.sessions.insert(s)?;
    out.patch_u32(10, h);
    out.put_tpm2b(&nonce_tpm);
    Ok(())
}

fn policy_session(tpm: &mut Tpm, h: u32) -> Result<&mut Session, u32> {
    tpm.vol
        .sessions
        .get_mut(h)
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))
}

/// TPM2_PolicySecret (Part 3, 23.4): asserts knowledge of `authHandle`'s authValue (the
/// dispatcher has checked it). A non-zero expiration limits the session as PolicySigned's does;
/// a negative one (outside a trial session) also returns a `TPMT_TK_AUTH` for PolicyTicket.
pub fn policy_secret(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let nonce = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let cp = param(2, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let policy_ref = param(3, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let expiration = param(4, ctx.params.u32())? as i32;
    ctx.end()?;
    let name = tpm.handle_name(ctx.handles[0]);
    let hierarchy = super::policy_ticket::entity_hierarchy(tpm, ctx.handles[0]);
    let (now, init_clock) = (tpm.clock(), tpm.clock().saturating_sub(tpm.time()));
    let s = tpm
        .vol
        .sessions
        .get_mut(ctx.handles[1])
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    let timeout = super::policy_ticket::expiry(s, &nonce, expiration, (now, init_clock))?;
    if !cp.is_empty() {
        if Some(cp.len()) != digest_size(s.hash) {
            return Err(rc_param(TPM_RC_SIZE, 2));
        }
        // TPM_RC_CPHASH is a format-zero code: it carries no parameter number.
        if s.policy.cp_hash_conflict(&cp) {
            return Err(TPM_RC_CPHASH);
        }
        s.policy.cp_hash = Some(cp.clone());
    }
    if let Some(t) = timeout {
        s.policy.timeout = Some(s.policy.timeout.map_or(t, |old| old.min(t)));
    }
    policy::extend(s, TPM_CC_POLICY_SECRET, &[&name])?;
    policy::update_ref(s, &policy_ref)?;
    super::policy_ticket::respond(
        tpm,
        (TPM_ST_AUTH_SECRET, hierarchy),
        (timeout, expiration, nonce.is_empty()),
        (&cp, &policy_ref, &name),
        out,
    )
}

/// TPM2_PolicyPCR (Part 3, 23.7).
pub fn policy_pcr(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let digest = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let sel = super::pcr::read_selection(ctx, 2)?;
    ctx.end()?;
    let values = pcr::selected_values(&tpm.vol, &sel);
    let counter = tpm.vol.pcr_update_counter;
    let s = policy_session(tpm, ctx.handles[0])?;
    let current = hash(s.hash, &[&values])
        .ok_or(TPM_RC_HASH)?
        .as_ref()
        .to_vec();
    let d = if s.kind == TPM_SE_TRIAL {
        if digest.is_empty() { current } else { digest }
    } else {
        if !digest.is_empty() && digest != current {
            return Err(rc_param(TPM_RC_VALUE, 1));
        }
        s.policy.pcr_counter = Some(counter);
        current
    };
    let mut selb = Vec::new();
    sel.write(&mut selb);
    policy::extend(s, TPM_CC_POLICY_PCR, &[&selb, &d])
}

/// TPM2_PolicyCommandCode (Part 3, 23.11).
pub fn policy_command_code(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    let code = param(1, ctx.params.u32())?;
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    if s.policy.command_code.is_some_and(|c| c != code) {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    s.policy.command_code = Some(code);
    policy::extend(s, TPM_CC_POLICY_COMMAND_CODE, &[&code.to_be_bytes()])
}

/// TPM2_PolicyCpHash (Part 3, 23.9): binds the session to one command's parameters, checked
/// when the session authorizes.
pub fn policy_cp_hash(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let cp = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    if Some(cp.len()) != digest_size(s.hash) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    if s.policy.cp_hash_conflict(&cp) {
        return Err(TPM_RC_CPHASH);
    }
    policy::extend(s, TPM_CC_POLICY_CP_HASH, &[&cp])?;
    s.policy.cp_hash = Some(cp);
    Ok(())
}

/// TPM2_PolicyLocality (Part 3, 23.13): the digest takes the given locality; the session keeps
/// its intersection with an earlier PolicyLocality (TPM_RC_RANGE if empty or mixed forms).
pub fn policy_locality(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let l = param(1, ctx.params.u8())?;
    ctx.end()?;
    if l == 0 {
        return Err(rc_param(TPM_RC_RANGE, 1));
    }
    let s = policy_session(tpm, ctx.handles[0])?;
    let new = match s.policy.locality {
        None => l,
        Some(prev) if prev < 32 && l < 32 => match prev & l {
            0 => return Err(rc_param(TPM_RC_RANGE, 1)),
            m => m,
        },
        Some(prev) if prev == l => l,
        Some(_) => return Err(rc_param(TPM_RC_RANGE, 1)),
    };
    policy::extend(s, TPM_CC_POLICY_LOCALITY, &[&[l]])?;
    s.policy.locality = Some(new);
    Ok(())
}

/// TPM2_PolicyAuthValue (Part 3, 23.17).
pub fn policy_auth_value(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    s.policy.auth_value_needed = true;
    s.policy.password_needed = false;
    policy::extend(s, TPM_CC_POLICY_AUTH_VALUE, &[])
}

/// TPM2_PolicyPassword (Part 3, 23.18): same digest as PolicyAuthValue.
pub fn policy_password(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    s.policy.password_needed = true;
    s.policy.auth_value_needed = false;
    policy::extend(s, TPM_CC_POLICY_AUTH_VALUE, &[])
}

/// TPM2_PolicyOR (Part 3, 23.6).
pub fn policy_or(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let count = param(1, ctx.params.u32())?;
    if !(2..=8).contains(&count) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let mut list = Vec::new();
    for _ in 0..count {
        list.push(param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec());
    }
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    if s.kind != TPM_SE_TRIAL && !list.contains(&s.policy.digest) {
        return Err(rc_param(TPM_RC_VALUE, 1));
    }
    let cat: Vec<u8> = list.concat();
    s.policy.digest = vec![0; s.policy.digest.len()];
    policy::extend(s, TPM_CC_POLICY_OR, &[&cat])
}

/// TPM2_PolicyGetDigest (Part 3, 23.19).
pub fn policy_get_digest(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let s = policy_session(tpm, ctx.handles[0])?;
    out.put_tpm2b(&s.policy.digest);
    Ok(())
}

/// TPM2_PolicyRestart (Part 3, 23.?).
pub fn policy_restart(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    policy_session(tpm, ctx.handles[0])?.reset_policy();
    Ok(())
}
