//! Command frame processing (Part 1, 18 and Part 3, 5 "Command Processing"): header checks,
//! handle area, authorization area (password, HMAC and policy sessions; Part 1, 19), parameter
//! decryption/encryption (Part 1, 21), dispatch, response assembly with response HMACs.

use crate::Tpm;
use crate::cmd::{COMMANDS, CommandDef, HandleKind};
use crate::crypto::{self, Hasher, ct_eq};
use crate::nv;
use crate::session::{Session, hmac};
use crate::state::trim_zeros;
use std::borrow::Cow;
use tpm_proto::types::{TPMA_SESSION_CONTINUE_SESSION, TPMA_SESSION_PW_FORBIDDEN};
use tpm_proto::*;

/// Largest command or response frame (`MAX_COMMAND_SIZE` / `MAX_RESPONSE_SIZE`).
pub const MAX_FRAME: usize = 4096;
/// `MAX_SESSION_NUM`.
const MAX_SESSION_NUM: usize = 3;

/// What a command handler sees: locality, handle values, the parameter area.
pub struct Ctx<'a> {
    /// Locality of the command.
    pub locality: u8,
    /// Handle area values (first `def.handles.len()` meaningful).
    pub handles: [u32; 3],
    /// Parameter area (decrypted).
    pub params: Reader<'a>,
}

impl Ctx<'_> {
    /// Fails with `TPM_RC_SIZE` if parameters are left over (Part 3, 5.? "unmarshal").
    pub fn end(&self) -> Result<(), u32> {
        self.params.finish().map_err(|_| TPM_RC_SIZE)
    }
}

/// Maps an unmarshal failure of parameter `n` (1-based) to its format-one code.
pub fn param<T>(n: u32, r: Result<T, CodecError>) -> Result<T, u32> {
    r.map_err(|e| rc_param(e.rc(), n))
}

/// Executes one frame; always returns a response frame.
pub fn execute(tpm: &mut Tpm, locality: u8, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    match run(tpm, locality, frame, &mut out) {
        Ok(()) => out,
        Err(rc) => error_response(rc),
    }
}

/// What the authorization of an entity needs (Part 1, 19.? "Authorization Roles").
pub struct Entity {
    /// Name (handle value for permanent entities, PCRs, sessions).
    pub name: Vec<u8>,
    /// authValue.
    pub auth: Vec<u8>,
    /// authPolicy with its hash algorithm.
    pub policy: Option<(u16, Vec<u8>)>,
    /// Subject to dictionary-attack protection.
    pub da: bool,
    /// USER role may use authValue (`userWithAuth`; always for non-objects).
    pub user_with_auth: bool,
    /// ADMIN role needs a policy (`adminWithPolicy`).
    pub admin_with_policy: bool,
}

/// One processed session of the authorization area.
struct Used {
    handle: u32,
    attributes: u8,
    /// Loaded HMAC/policy session (None = password).
    session: Option<Session>,
    /// authValue part of the HMAC / encryption key.
    auth: Vec<u8>,
    /// Command carried an empty hmac with an empty key (answered the same way).
    empty_hmac: bool,
}

fn run(tpm: &mut Tpm, locality: u8, frame: &[u8], out: &mut Vec<u8>) -> Result<(), u32> {
    if frame.len() > MAX_FRAME {
        return Err(TPM_RC_COMMAND_SIZE);
    }
    let mut r = Reader::new(frame);
    let tag = r.u16().map_err(|_| TPM_RC_INSUFFICIENT)?;
    if matches!(
        tag,
        TPM12_TAG_RQU_COMMAND | TPM12_TAG_RQU_AUTH1_COMMAND | TPM12_TAG_RQU_AUTH2_COMMAND
    ) {
        // libtpms answers any TPM 1.2 request this way in TPM 2.0 mode (OVMF's probe relies on it).
        return Err(TPM12_IN_TPM2_MODE_RC);
    }
    if tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS {
        return Err(TPM_RC_BAD_TAG);
    }
    let size = r.u32().map_err(|_| TPM_RC_INSUFFICIENT)?;
    if usize::try_from(size).ok() != Some(frame.len()) {
        return Err(TPM_RC_COMMAND_SIZE);
    }
    let cc = r.u32().map_err(|_| TPM_RC_INSUFFICIENT)?;
    let def = COMMANDS
        .binary_search_by_key(&cc, |d| d.cc)
        .ok()
        .and_then(|i| COMMANDS.get(i))
        .ok_or(TPM_RC_COMMAND_CODE)?;
    if tpm.failed {
        return Err(TPM_RC_FAILURE);
    }
    if !tpm.vol.started && cc != TPM_CC_STARTUP {
        return Err(TPM_RC_INITIALIZE);
    }
    // Before anything reads or checks failedTries (authorizations, TPM_PT_LOCKOUT_COUNTER).
    tpm.da_heal();
    if tag == TPM_ST_SESSIONS && def.no_sessions {
        return Err(TPM_RC_AUTH_CONTEXT);
    }

    let mut handles = [0u32; 3];
    for (i, kind) in def.handles.iter().enumerate() {
        let n = i as u32 + 1;
        let h = r.u32().map_err(|_| rc_handle(TPM_RC_INSUFFICIENT, n))?;
        validate_handle(tpm, *kind, h).map_err(|rc| rc_handle(rc, n))?;
        handles[i] = h;
    }

    let mut auths: Vec<TpmsAuthCommand<'_>> = Vec::new();
    if tag == TPM_ST_SESSIONS {
        let auth_size = r.u32().map_err(|_| TPM_RC_INSUFFICIENT)? as usize;
        if auth_size < 9 || auth_size > r.remaining() {
            return Err(TPM_RC_AUTHSIZE);
        }
        let mut sr = Reader::new(r.take(auth_size).map_err(|_| TPM_RC_AUTHSIZE)?);
        while sr.remaining() > 0 {
            if auths.len() == MAX_SESSION_NUM {
                return Err(TPM_RC_AUTHSIZE);
            }
            let n = auths.len() as u32 + 1;
            auths.push(TpmsAuthCommand::read(&mut sr).map_err(|e| rc_session(e.rc(), n))?);
        }
    }
    if auths.len() < usize::from(def.auth_handles) {
        return Err(TPM_RC_AUTH_MISSING);
    }
    let raw_params = r.rest();

    // Which sessions decrypt the command / encrypt the response (Part 1, 21.1).
    let mut dec_idx = None;
    let mut enc_idx = None;
    let mut audit_idx = None;
    for (i, a) in auths.iter().enumerate() {
        let n = i as u32 + 1;
        if a.session_handle == TPM_RS_PW {
            continue;
        }
        // Session audit (Part 1, 33.3): one audit session per command; auditExclusive and
        // auditReset only with audit; auditExclusive only on the exclusive audit session.
        if a.attributes & TPMA_SESSION_AUDIT != 0 {
            if audit_idx.is_some() {
                return Err(rc_session(TPM_RC_ATTRIBUTES, n));
            }
            if a.attributes & TPMA_SESSION_AUDIT_EXCLUSIVE != 0
                && tpm.vol.audit.exclusive != Some(a.session_handle)
            {
                return Err(TPM_RC_EXCLUSIVE);
            }
            audit_idx = Some(i);
        } else if a.attributes & (TPMA_SESSION_AUDIT_EXCLUSIVE | TPMA_SESSION_AUDIT_RESET) != 0 {
            return Err(rc_session(TPM_RC_ATTRIBUTES, n));
        }
        if a.attributes & TPMA_SESSION_DECRYPT != 0 {
            if dec_idx.is_some() || def.enc & 1 == 0 {
                return Err(rc_session(TPM_RC_ATTRIBUTES, n));
            }
            dec_idx = Some(i);
        }
        if a.attributes & TPMA_SESSION_ENCRYPT != 0 {
            if enc_idx.is_some() || def.enc & 2 == 0 {
                return Err(rc_session(TPM_RC_ATTRIBUTES, n));
            }
            enc_idx = Some(i);
        }
    }

    let mut cp_cache: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut used: Vec<Used> = Vec::with_capacity(auths.len());
    for (idx, a) in auths.iter().enumerate() {
        let u = authorize(
            tpm,
            def,
            &handles,
            idx,
            a,
            raw_params,
            &mut cp_cache,
            &auths,
            (dec_idx, enc_idx),
            locality,
        )?;
        used.push(u);
    }

    // Parameter decryption of the first TPM2B.
    let params: Cow<'_, [u8]> = match dec_idx {
        None => Cow::Borrowed(raw_params),
        Some(i) => {
            let u = &used[i];
            let s = u.session.as_ref().ok_or(TPM_RC_FAILURE)?;
            if s.symmetric.algorithm == TPM_ALG_NULL {
                return Err(rc_session(TPM_RC_SYMMETRIC, i as u32 + 1));
            }
            let mut p = raw_params.to_vec();
            let n = p
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or(rc_param(TPM_RC_INSUFFICIENT, 1))?;
            let data = p.get_mut(2..2 + n).ok_or(rc_param(TPM_RC_SIZE, 1))?;
            hmac::crypt(s, &u.auth, auths[i].nonce, &s.nonce_tpm, data, false)?;
            Cow::Owned(p)
        }
    };

    let mut ctx = Ctx {
        locality,
        handles,
        params: Reader::new(&params),
    };
    out.clear();
    out.put_u16(tag);
    out.put_u32(0);
    out.put_u32(TPM_RC_SUCCESS);
    let rhandle_at = out.len();
    if def.rhandle {
        out.put_u32(0);
    }
    let param_size_at = out.len();
    if tag == TPM_ST_SESSIONS {
        out.put_u32(0);
    }
    let params_start = out.len();
    let audit_cp = tpm.audit_cp_hash(cc, &handles[..def.handles.len()], raw_params);
    (def.exec)(tpm, &mut ctx, out)?;
    let params_end = out.len();
    let _ = rhandle_at;
    if tag == TPM_ST_SESSIONS {
        let psize = (out.len() - params_start) as u32;
        out.patch_u32(param_size_at, psize);
        finish_sessions(
            tpm,
            def,
            cc,
            &handles,
            &auths,
            used,
            (enc_idx, audit_idx, &cp_cache),
            out,
            params_start,
        )?;
    } else if !def.no_sessions {
        // A command that could have used the exclusive audit session ran without it.
        tpm.vol.audit.exclusive = None;
    }
    if let Some(cp) = audit_cp {
        let rparams = out[params_start..params_end].to_vec();
        tpm.command_audit(cc, &cp, &rparams);
    }
    if out.len() > MAX_FRAME {
        return Err(TPM_RC_SIZE);
    }
    let total = out.len() as u32;
    out.patch_u32(2, total);
    Ok(())
}

/// Rolls nonces, encrypts the first response parameter, appends the response sessions and
/// flushes sessions whose `continueSession` was clear.
#[allow(clippy::too_many_arguments)]
fn finish_sessions(
    tpm: &mut Tpm,
    def: &CommandDef,
    cc: u32,
    handles: &[u32; 3],
    auths: &[TpmsAuthCommand<'_>],
    mut used: Vec<Used>,
    (enc_idx, audit_idx, cp_cache): (Option<usize>, Option<usize>, &DigestCache),
    out: &mut Vec<u8>,
    params_start: usize,
) -> Result<(), u32> {
    for (i, u) in used.iter_mut().enumerate() {
        if let Some(s) = u.session.as_mut() {
            s.nonce_caller = auths[i].nonce.to_vec();
            let mut n = vec![0u8; s.nonce_tpm.len()];
            tpm.random(&mut n)?;
            s.nonce_tpm = n;
            let changes_auth = matches!(cc, TPM_CC_HIERARCHY_CHANGE_AUTH | TPM_CC_NV_CHANGE_AUTH);
            let uses_auth = s.kind == TPM_SE_HMAC || s.policy.auth_value_needed;
            if i < usize::from(def.auth_handles) && changes_auth && uses_auth {
                // The response HMAC uses the entity's authValue as it is after the command,
                // i.e. the new one (reference `ComputeResponseHMAC`); an object's authValue
                // does not change in the TPM (ObjectChangeAuth returns a new private area).
                u.auth = trim_zeros(tpm.entity_auth(handles[i]).as_slice()).to_vec();
            }
        }
    }
    if let Some(i) = enc_idx {
        let u = &used[i];
        let s = u.session.as_ref().ok_or(TPM_RC_FAILURE)?;
        if s.symmetric.algorithm == TPM_ALG_NULL {
            return Err(rc_session(TPM_RC_SYMMETRIC, i as u32 + 1));
        }
        let n = out
            .get(params_start..params_start + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .unwrap_or(0);
        if let Some(data) = out.get_mut(params_start + 2..params_start + 2 + n) {
            hmac::crypt(s, &u.auth, &s.nonce_tpm, &s.nonce_caller, data, true)?;
        }
    }
    let mut rp_cache: Vec<(u16, Vec<u8>)> = Vec::new();
    let rp_params = out[params_start..].to_vec();
    let rp_hash = |cache: &mut Vec<(u16, Vec<u8>)>, alg: u16| {
        cached(cache, alg, |h| {
            h.update(&0u32.to_be_bytes());
            h.update(&cc.to_be_bytes());
            h.update(&rp_params);
        })
    };
    match audit_idx.and_then(|i| Some((i, used.get(i)?.session.as_ref()?.hash))) {
        Some((i, alg)) => {
            let h = used[i].handle;
            let audit = &mut tpm.vol.audit;
            if audit.digest(h).is_none() || used[i].attributes & TPMA_SESSION_AUDIT_RESET != 0 {
                audit.start(h, alg);
            }
            let cp = cp_cache
                .iter()
                .find(|(a, _)| *a == alg)
                .map(|(_, d)| d.clone())
                .ok_or(TPM_RC_FAILURE)?;
            let rp = rp_hash(&mut rp_cache, alg)?;
            audit.extend(h, alg, &cp, &rp);
            // The response reports whether this is (still) the exclusive audit session.
            used[i].attributes &= !TPMA_SESSION_AUDIT_EXCLUSIVE;
            if audit.exclusive == Some(h) {
                used[i].attributes |= TPMA_SESSION_AUDIT_EXCLUSIVE;
            }
        }
        None if !def.no_sessions => tpm.vol.audit.exclusive = None,
        None => {}
    }
    for u in &used {
        match &u.session {
            None => {
                // TPMS_AUTH_RESPONSE of a password session: empty nonce and hmac.
                out.put_u16(0);
                out.put_u8(u.attributes & TPMA_SESSION_CONTINUE_SESSION);
                out.put_u16(0);
            }
            Some(s) => {
                let rp = rp_hash(&mut rp_cache, s.hash)?;
                out.put_tpm2b(&s.nonce_tpm);
                out.put_u8(u.attributes);
                if u.empty_hmac {
                    out.put_u16(0);
                } else {
                    out.put_tpm2b(&hmac::response(s, &u.auth, &rp, u.attributes)?);
                }
            }
        }
    }
    for u in used {
        if let Some(mut s) = u.session {
            if u.attributes & TPMA_SESSION_CONTINUE_SESSION == 0 {
                tpm.vol.sessions.remove(u.handle);
                tpm.vol.audit.forget(u.handle);
            } else {
                if s.kind == TPM_SE_POLICY {
                    s.reset_policy();
                }
                if let Some(slot) = tpm.vol.sessions.get_mut(u.handle) {
                    *slot = s;
                }
            }
        }
    }
    Ok(())
}

/// cpHash/rpHash per session hash algorithm, computed once per command.
type DigestCache = [(u16, Vec<u8>)];

fn cached(
    cache: &mut Vec<(u16, Vec<u8>)>,
    alg: u16,
    fill: impl FnOnce(&mut Hasher),
) -> Result<Vec<u8>, u32> {
    if let Some((_, d)) = cache.iter().find(|(a, _)| *a == alg) {
        return Ok(d.clone());
    }
    let mut h = Hasher::new(alg).ok_or(TPM_RC_HASH)?;
    fill(&mut h);
    let d = h.finish().as_ref().to_vec();
    cache.push((alg, d.clone()));
    Ok(d)
}

/// Validates session `idx` and, if it authorizes handle `idx`, checks the authorization.
#[allow(clippy::too_many_arguments)]
fn authorize(
    tpm: &mut Tpm,
    def: &CommandDef,
    handles: &[u32; 3],
    idx: usize,
    a: &TpmsAuthCommand<'_>,
    raw_params: &[u8],
    cp_cache: &mut Vec<(u16, Vec<u8>)>,
    auths: &[TpmsAuthCommand<'_>],
    (dec_idx, enc_idx): (Option<usize>, Option<usize>),
    locality: u8,
) -> Result<Used, u32> {
    let n = idx as u32 + 1;
    let authorizes = idx < usize::from(def.auth_handles);
    let admin = def.admin & (1 << idx) != 0;
    // The DUP role (Part 1, 19.2): TPM2_Duplicate's objectHandle is the only handle that has it.
    let dup = def.cc == TPM_CC_DUPLICATE && idx == 0;
    if a.session_handle == TPM_RS_PW {
        if a.attributes & TPMA_SESSION_PW_FORBIDDEN != 0 {
            return Err(rc_session(TPM_RC_ATTRIBUTES, n));
        }
        if !a.nonce.is_empty() {
            return Err(rc_session(TPM_RC_NONCE, n));
        }
        if !authorizes {
            // A session that authorizes nothing must be an audit/encrypt session, which a
            // password session cannot be.
            return Err(rc_session(TPM_RC_ATTRIBUTES, n));
        }
        let h = handles[idx];
        check_physical_presence(tpm, def.cc, h, n)?;
        let mut e = tpm.entity(h)?;
        nv_refine(tpm, h, def.cc, admin, &mut e);
        // Reference `CheckAuthSession` order: lockout, policy required, authValue available.
        check_lockout(tpm, h, &e)?;
        check_auth_value_role(&e, admin, dup)?;
        let ok = ct_eq(trim_zeros(a.hmac), trim_zeros(&e.auth));
        pin_accounting(tpm, h, ok);
        if ok {
            return Ok(Used {
                handle: TPM_RS_PW,
                attributes: a.attributes,
                session: None,
                auth: Vec::new(),
                empty_hmac: true,
            });
        }
        return Err(auth_failed(tpm, h, &e, n));
    }

    let ht = (a.session_handle >> 24) as u8;
    if ht != TPM_HT_HMAC_SESSION && ht != TPM_HT_POLICY_SESSION {
        return Err(rc_session(TPM_RC_VALUE, n));
    }
    let s = tpm
        .vol
        .sessions
        .get(a.session_handle)
        .cloned()
        .ok_or(TPM_RC_REFERENCE_S0 + idx as u32)?;
    if auths[..idx]
        .iter()
        .any(|o| o.session_handle == a.session_handle)
    {
        return Err(rc_session(TPM_RC_VALUE, n));
    }
    let dsize = digest_size(s.hash).unwrap_or(0);
    if a.nonce.len() < 16.min(dsize) || a.nonce.len() > dsize {
        return Err(rc_session(TPM_RC_SIZE, n));
    }
    let cp = |cache: &mut Vec<(u16, Vec<u8>)>| {
        cached(cache, s.hash, |h| {
            h.update(&def.cc.to_be_bytes());
            for &hd in &handles[..def.handles.len()] {
                h.update(&tpm.handle_name(hd));
            }
            h.update(raw_params);
        })
    };
    let cp_hash = cp(cp_cache)?;
    let mut extra = Vec::new();
    if idx == 0 {
        if let Some(d) = dec_idx.filter(|&d| d != 0) {
            extra.extend_from_slice(&session_nonce(tpm, auths[d].session_handle));
        }
        if let Some(e) = enc_idx.filter(|&e| e != 0 && Some(e) != dec_idx) {
            extra.extend_from_slice(&session_nonce(tpm, auths[e].session_handle));
        }
    }

    let mut auth = Vec::new();
    // The authorized entity when its authValue takes part (DA and PIN accounting apply).
    let mut entity = None;
    if authorizes {
        let h = handles[idx];
        check_physical_presence(tpm, def.cc, h, n)?;
        let mut e = tpm.entity(h)?;
        let policy_available = nv_refine(tpm, h, def.cc, admin, &mut e);
        if s.kind == TPM_SE_POLICY {
            if s.policy.password_needed || s.policy.auth_value_needed {
                check_lockout(tpm, h, &e)?;
            }
            if !policy_available {
                return Err(TPM_RC_AUTH_UNAVAILABLE);
            }
            check_policy(tpm, def, &s, &e, (&cp_hash, locality), admin, n)?;
            // ADMIN and DUP roles need the command code bound in the policy (reference
            // `CheckPolicyAuthSession`).
            if dup && s.policy.command_code.is_none() {
                return Err(rc_session(TPM_RC_POLICY_FAIL, n));
            }
            check_policy_bindings(tpm, def, &s, &handles[..def.handles.len()], raw_params, n)?;
            if s.policy.password_needed {
                let ok = ct_eq(trim_zeros(a.hmac), trim_zeros(&e.auth));
                pin_accounting(tpm, h, ok);
                if ok {
                    return Ok(Used {
                        handle: a.session_handle,
                        attributes: a.attributes,
                        session: Some(s),
                        auth: Vec::new(),
                        empty_hmac: true,
                    });
                }
                return Err(auth_failed(tpm, h, &e, n));
            }
            if s.policy.auth_value_needed {
                auth = trim_zeros(&e.auth).to_vec();
                entity = Some((h, e));
            }
        } else if s.kind == TPM_SE_HMAC {
            let bound = s
                .bind
                .as_ref()
                .is_some_and(|(bn, ba)| *bn == e.name && trim_zeros(ba) == trim_zeros(&e.auth));
            if !bound {
                check_lockout(tpm, h, &e)?;
            }
            check_auth_value_role(&e, admin, dup)?;
            if !bound {
                auth = trim_zeros(&e.auth).to_vec();
                entity = Some((h, e));
            }
        } else {
            // A trial session authorizes nothing.
            return Err(rc_session(TPM_RC_ATTRIBUTES, n));
        }
    }
    let want = hmac::command(&s, &auth, &cp_hash, a.nonce, &extra, a.attributes)?;
    let key_empty = s.session_key.is_empty() && auth.is_empty();
    let empty_hmac = key_empty && a.hmac.is_empty();
    let ok = empty_hmac || ct_eq(a.hmac, &want);
    if let Some((h, _)) = &entity {
        pin_accounting(tpm, *h, ok);
    }
    if !ok {
        return Err(match &entity {
            Some((h, e)) => auth_failed(tpm, *h, e, n),
            None => rc_session(TPM_RC_AUTH_FAIL, n),
        });
    }
    Ok(Used {
        handle: a.session_handle,
        attributes: a.attributes,
        session: Some(s),
        auth,
        empty_hmac,
    })
}

/// Whether a password or HMAC session may authorize `e` in this role (reference
/// `IsPolicySessionRequired`, then `IsAuthValueAvailable`).
fn check_auth_value_role(e: &Entity, admin: bool, dup: bool) -> Result<(), u32> {
    if dup || (admin && e.admin_with_policy) {
        return Err(TPM_RC_AUTH_TYPE);
    }
    if !admin && !e.user_with_auth {
        return Err(TPM_RC_AUTH_UNAVAILABLE);
    }
    Ok(())
}

fn session_nonce(tpm: &Tpm, h: u32) -> Vec<u8> {
    tpm.vol
        .sessions
        .get(h)
        .map(|s| s.nonce_tpm.clone())
        .unwrap_or_default()
}

/// Policy checks at authorization time (Part 1, 19.7.?; Part 3, 23.?).
fn check_policy(
    tpm: &Tpm,
    def: &CommandDef,
    s: &Session,
    e: &Entity,
    (cp_hash, locality): (&[u8], u8),
    admin: bool,
    n: u32,
) -> Result<(), u32> {
    let Some((alg, digest)) = &e.policy else {
        return Err(rc_session(TPM_RC_POLICY_FAIL, n));
    };
    if *alg != s.hash || !ct_eq(digest, &s.policy.digest) {
        return Err(rc_session(TPM_RC_POLICY_FAIL, n));
    }
    match s.policy.command_code {
        Some(c) if c != def.cc => return Err(rc_session(TPM_RC_POLICY_CC, n)),
        None if admin && e.admin_with_policy => return Err(rc_session(TPM_RC_POLICY_CC, n)),
        _ => {}
    }
    if let Some(c) = &s.policy.cp_hash
        && c[..] != cp_hash[..]
    {
        return Err(rc_session(TPM_RC_POLICY_FAIL, n));
    }
    if let Some(c) = s.policy.pcr_counter
        && c != tpm.vol.pcr_update_counter
    {
        return Err(TPM_RC_PCR_CHANGED);
    }
    // PolicyLocality (Part 3, 23.13): a mask below 32, else one extended locality.
    if let Some(l) = s.policy.locality {
        let ok = if l < 32 {
            1u8.checked_shl(u32::from(locality))
                .is_some_and(|bit| l & bit != 0)
        } else {
            l == locality
        };
        if !ok {
            return Err(TPM_RC_LOCALITY);
        }
    }
    if s.policy.timeout.is_some_and(|t| tpm.clock() >= t) {
        return Err(rc_session(TPM_RC_EXPIRED, n));
    }
    Ok(())
}

/// `TPM_RC_PP` when the platform authorizes a command on the PP_Commands list without
/// physical presence (reference `CheckAuthSession`, before any other authorization check).
fn check_physical_presence(tpm: &Tpm, cc: u32, h: u32, n: u32) -> Result<(), u32> {
    if h == TPM_RH_PLATFORM && !tpm.pp_asserted && tpm.perm.pp_list.contains(&cc) {
        return Err(rc_session(TPM_RC_PP, n));
    }
    Ok(())
}

/// The policy conditions that look at the command being authorized (reference
/// `CheckPolicyAuthSession`): PolicyPhysicalPresence, PolicyNameHash /
/// PolicyDuplicationSelect (digest of the handles' Names), PolicyTemplate (digest of the
/// `inPublic` parameter of Create, CreatePrimary or CreateLoaded), PolicyNvWritten (the
/// authorized handle is an NV index in the required WRITTEN state).
fn check_policy_bindings(
    tpm: &Tpm,
    def: &CommandDef,
    s: &Session,
    handles: &[u32],
    raw_params: &[u8],
    n: u32,
) -> Result<(), u32> {
    let fail = rc_session(TPM_RC_POLICY_FAIL, n);
    if s.policy.pp_required && !tpm.pp_asserted {
        return Err(rc_session(TPM_RC_PP, n));
    }
    if let Some(want) = &s.policy.name_hash {
        let mut h = Hasher::new(s.hash).ok_or(TPM_RC_HASH)?;
        for &hd in handles {
            h.update(&tpm.handle_name(hd));
        }
        if !ct_eq(h.finish().as_ref(), want) {
            return Err(fail);
        }
    }
    if let Some(want) = &s.policy.template_hash {
        let creates = matches!(
            def.cc,
            TPM_CC_CREATE | TPM_CC_CREATE_PRIMARY | TPM_CC_CREATE_LOADED
        );
        // The template is the second parameter; the first (inSensitive) may be encrypted,
        // but its size field is not.
        let template = || {
            let mut r = Reader::new(raw_params);
            r.tpm2b(usize::from(u16::MAX)).ok()?;
            r.tpm2b(usize::from(u16::MAX)).ok()
        };
        let ok = creates
            && template()
                .and_then(|t| crypto::hash(s.hash, &[t]))
                .is_some_and(|d| ct_eq(d.as_ref(), want));
        if !ok {
            return Err(fail);
        }
    }
    if let Some(written) = s.policy.nv_written {
        // The authorized entity is the handle this session authorizes.
        let h = handles.get(n as usize - 1).copied().unwrap_or(0);
        let state = tpm
            .perm
            .nv
            .indices
            .get(&h)
            .map(|i| i.attrs().has(TpmaNv::WRITTEN));
        if state != Some(written) {
            return Err(fail);
        }
    }
    Ok(())
}

/// `TPM_RC_LOCKOUT` when a DA-protected entity is locked out (Part 1, 19.8). The first check
/// of a DA-protected entity after Startup records "DA used" in NV, so that a non-orderly
/// shutdown counts as a failure at the next Startup (reference `CheckLockedOut`; it answers
/// `TPM_RC_RETRY` while that NV write is pending, which this engine never needs to).
fn check_lockout(tpm: &mut Tpm, h: u32, e: &Entity) -> Result<(), u32> {
    let p = &tpm.perm;
    if h == TPM_RH_LOCKOUT {
        if tpm.clock() < p.lockout_blocked_until {
            return Err(TPM_RC_LOCKOUT);
        }
    } else if e.da {
        if p.failed_tries >= p.max_tries {
            return Err(TPM_RC_LOCKOUT);
        }
        if p.orderly == crate::state::Orderly::None {
            tpm.perm.orderly = crate::state::Orderly::DaUsed;
            tpm.dirty = true;
        }
    }
    Ok(())
}

/// Records a failed authorization: DA-protected entities count (`TPM_RC_AUTH_FAIL`), DA-exempt
/// ones answer `TPM_RC_BAD_AUTH`.
fn auth_failed(tpm: &mut Tpm, h: u32, e: &Entity, n: u32) -> u32 {
    if h == TPM_RH_LOCKOUT {
        let clock = tpm.clock();
        tpm.perm.lockout_blocked_until = match tpm.perm.lockout_recovery {
            0 => u64::MAX,
            s => clock.saturating_add(u64::from(s) * 1000),
        };
        tpm.dirty = true;
        rc_session(TPM_RC_AUTH_FAIL, n)
    } else if e.da {
        // recoveryTime 0 disables DA protection (reference `IncrementLockout`); a failure
        // restarts the self-healing period.
        if tpm.perm.recovery_time != 0 {
            tpm.perm.failed_tries = tpm.perm.failed_tries.saturating_add(1);
        }
        tpm.perm.self_heal_from = tpm.clock();
        tpm.dirty = true;
        rc_session(TPM_RC_AUTH_FAIL, n)
    } else {
        rc_session(TPM_RC_BAD_AUTH, n)
    }
}

fn validate_handle(tpm: &Tpm, kind: HandleKind, h: u32) -> Result<(), u32> {
    let ht = (h >> 24) as u8;
    match kind {
        HandleKind::Pcr => {
            if (h as usize) < crate::pcr::PCR_COUNT || h == TPM_RH_NULL {
                Ok(())
            } else {
                Err(TPM_RC_VALUE)
            }
        }
        HandleKind::Permanent(allowed) => {
            if !allowed.contains(&h) {
                return Err(TPM_RC_VALUE);
            }
            hierarchy_enabled(tpm, h)
        }
        HandleKind::NvAuth if h == TPM_RH_OWNER || h == TPM_RH_PLATFORM => {
            hierarchy_enabled(tpm, h)
        }
        HandleKind::NvAuth | HandleKind::NvIndex => {
            if !tpm_proto::nv::is_nv_index(h) {
                return Err(TPM_RC_VALUE);
            }
            tpm.nv_index(h).map(|_| ())
        }
        HandleKind::Object { null } => {
            if null && h == TPM_RH_NULL {
                return Ok(());
            }
            match ht {
                TPM_HT_TRANSIENT | TPM_HT_PERSISTENT => {
                    let o = tpm.object(h).ok_or(TPM_RC_HANDLE)?;
                    hierarchy_enabled(tpm, o.hierarchy).map_err(|_| TPM_RC_HANDLE)
                }
                _ => Err(TPM_RC_VALUE),
            }
        }
        HandleKind::Entity { null } => match ht {
            TPM_HT_TRANSIENT | TPM_HT_PERSISTENT => tpm.object(h).map(|_| ()).ok_or(TPM_RC_HANDLE),
            TPM_HT_PCR => validate_handle(tpm, HandleKind::Pcr, h),
            TPM_HT_NV_INDEX => tpm.nv_index(h).map(|_| ()),
            TPM_HT_PERMANENT => match h {
                TPM_RH_NULL if null => Ok(()),
                TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM | TPM_RH_LOCKOUT => {
                    hierarchy_enabled(tpm, h)
                }
                _ => Err(TPM_RC_VALUE),
            },
            _ => Err(TPM_RC_VALUE),
        },
        HandleKind::Sequence if tpm.vol.objects.sequence(h).is_some() => Ok(()),
        HandleKind::Sequence => validate_handle(tpm, HandleKind::Object { null: false }, h),
        HandleKind::Parent => match h {
            TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM => hierarchy_enabled(tpm, h),
            TPM_RH_NULL => Ok(()),
            _ => validate_handle(tpm, HandleKind::Object { null: false }, h),
        },
        HandleKind::PolicySession => match tpm.vol.sessions.get(h) {
            Some(s) if ht == TPM_HT_POLICY_SESSION && s.kind != TPM_SE_HMAC => Ok(()),
            _ if ht == TPM_HT_POLICY_SESSION => Err(TPM_RC_HANDLE),
            _ => Err(TPM_RC_VALUE),
        },
        HandleKind::HmacSession => match tpm.vol.sessions.get(h) {
            Some(_) if ht == TPM_HT_HMAC_SESSION => Ok(()),
            _ if ht == TPM_HT_HMAC_SESSION => Err(TPM_RC_HANDLE),
            _ => Err(TPM_RC_VALUE),
        },
        HandleKind::Context => match ht {
            TPM_HT_TRANSIENT if tpm.vol.objects.contains(h) => Ok(()),
            TPM_HT_TRANSIENT => Err(TPM_RC_HANDLE),
            TPM_HT_HMAC_SESSION | TPM_HT_POLICY_SESSION => {
                tpm.vol.sessions.get(h).map(|_| ()).ok_or(TPM_RC_HANDLE)
            }
            _ => Err(TPM_RC_VALUE),
        },
    }
}

fn hierarchy_enabled(tpm: &Tpm, h: u32) -> Result<(), u32> {
    let enabled = match h {
        TPM_RH_OWNER => tpm.vol.sh_enable,
        TPM_RH_ENDORSEMENT => tpm.vol.eh_enable,
        TPM_RH_PLATFORM => tpm.vol.ph_enable,
        _ => true,
    };
    if enabled {
        Ok(())
    } else {
        Err(TPM_RC_HIERARCHY)
    }
}

impl Tpm {
    /// The Name of any handle (Part 1, 16): an object's or NV index's Name, otherwise the handle
    /// value. An NV index's Name covers its attributes, so it changes when WRITTEN is set.
    pub(crate) fn handle_name(&self, h: u32) -> Vec<u8> {
        if self.vol.objects.sequence(h).is_some() {
            // A sequence object has no nameAlg, so its Name is empty (reference `EntityGetName`).
            return Vec::new();
        }
        if let Some(o) = self.object(h) {
            return o.name.clone();
        }
        match self.perm.nv.indices.get(&h) {
            Some(i) => i.name(),
            None => h.to_be_bytes().to_vec(),
        }
    }

    /// What authorizing `h` needs.
    pub(crate) fn entity(&self, h: u32) -> Result<Entity, u32> {
        if let Some(s) = self.vol.objects.sequence(h) {
            // Sequence objects: empty Name, no policy, DA-exempt, authValue always usable
            // (reference `ObjectCreateHashSequence`, `IsAuthValueAvailable`).
            return Ok(Entity {
                name: Vec::new(),
                auth: s.auth.clone(),
                policy: None,
                da: false,
                user_with_auth: true,
                admin_with_policy: false,
            });
        }
        if let Some(o) = self.object(h) {
            return Ok(Entity {
                name: o.name.clone(),
                auth: o.auth().to_vec(),
                policy: (!o.public.auth_policy.is_empty())
                    .then(|| (o.public.name_alg, o.public.auth_policy.clone())),
                da: !o.has(TPMA_OBJECT_NO_DA),
                user_with_auth: o.has(TPMA_OBJECT_USER_WITH_AUTH),
                admin_with_policy: o.has(TPMA_OBJECT_ADMIN_WITH_POLICY),
            });
        }
        let policy = self
            .entity_policy(h)
            .filter(|p| crypto::bank_index(p.alg).is_some())
            .map(|p| (p.alg, p.digest.as_slice().to_vec()));
        if let Some(i) = self.perm.nv.indices.get(&h) {
            return Ok(Entity {
                name: i.name(),
                auth: i.auth.as_slice().to_vec(),
                policy: policy.filter(|_| !i.public.auth_policy.is_empty()),
                da: !i.attrs().has(TpmaNv::NO_DA),
                // Refined per command by `nv_refine`.
                user_with_auth: true,
                // The ADMIN role of an NV index always needs a policy (Part 1, 19.2).
                admin_with_policy: true,
            });
        }
        Ok(Entity {
            name: h.to_be_bytes().to_vec(),
            auth: self.entity_auth(h).as_slice().to_vec(),
            policy,
            da: h == TPM_RH_LOCKOUT,
            user_with_auth: true,
            admin_with_policy: false,
        })
    }
}

/// For an NV index, narrows what `cc` may authorize with (reference `IsAuthValueAvailable` and
/// `IsAuthPolicyAvailable`): AUTHWRITE/AUTHREAD (or the PIN rules) gate the authValue,
/// POLICYWRITE/POLICYREAD the authPolicy. Returns whether the policy is available (always true
/// for other entities, whose policy is checked by `check_policy`).
fn nv_refine(tpm: &Tpm, h: u32, cc: u32, admin: bool, e: &mut Entity) -> bool {
    let Some(i) = tpm.perm.nv.indices.get(&h) else {
        return true;
    };
    let op = nv::NvOp::of(cc);
    e.user_with_auth = nv::auth_value_available(i, op);
    nv::auth_policy_available(i, op, admin)
}

/// PIN index side effects of using its authValue (Part 2, 13.2 "TPM_NT_PIN_FAIL/PASS"): a
/// written PIN Fail index counts failures and is reset by a success; a written PIN Pass index
/// counts successes.
fn pin_accounting(tpm: &mut Tpm, h: u32, ok: bool) {
    let Some(i) = tpm.perm.nv.indices.get_mut(&h) else {
        return;
    };
    if !i.attrs().has(TpmaNv::WRITTEN) {
        return;
    }
    let (count, limit) = i.pin();
    let new = match i.attrs().nt() {
        Some(TpmNt::PinFail) if ok => 0,
        Some(TpmNt::PinFail) => count.saturating_add(1),
        Some(TpmNt::PinPass) if ok => count.saturating_add(1),
        _ => return,
    };
    let v = (u64::from(new) << 32) | u64::from(limit);
    if i.write(0, &v.to_be_bytes()) {
        tpm.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy session that ran PolicyLocality(mask) authorizes only at those localities.
    #[test]
    fn policy_locality_is_checked_at_authorization() {
        let mut t = Tpm::manufacture();
        assert_eq!(
            t.execute(0, &startup_command(TPM_SU_CLEAR))[6..10],
            [0, 0, 0, 0]
        );
        let mut p = Vec::new();
        p.put_tpm2b(&[7u8; 16]);
        p.put_u16(0);
        p.put_u8(TPM_SE_POLICY);
        p.put_u16(TPM_ALG_NULL);
        p.put_u16(TPM_ALG_SHA256);
        let mut c = Vec::new();
        c.put_u16(TPM_ST_NO_SESSIONS);
        c.put_u32(0);
        c.put_u32(TPM_CC_START_AUTH_SESSION);
        c.put_u32(TPM_RH_NULL);
        c.put_u32(TPM_RH_NULL);
        c.extend_from_slice(&p);
        let n = c.len() as u32;
        c.patch_u32(2, n);
        let r = t.execute(0, &c);
        let h = u32::from_be_bytes(r[10..14].try_into().unwrap());
        let mut c = Vec::new();
        c.put_u16(TPM_ST_NO_SESSIONS);
        c.put_u32(15);
        c.put_u32(TPM_CC_POLICY_LOCALITY);
        c.put_u32(h);
        c.put_u8(0b0_1000); // locality 3
        assert_eq!(t.execute(0, &c)[6..10], [0, 0, 0, 0]);
        let s = t.vol.sessions.get(h).unwrap().clone();
        assert_eq!(s.policy.locality, Some(0b0_1000));
        let e = Entity {
            name: vec![],
            auth: vec![],
            policy: Some((TPM_ALG_SHA256, s.policy.digest.clone())),
            da: false,
            user_with_auth: true,
            admin_with_policy: false,
        };
        let def = COMMANDS.iter().find(|d| d.cc == TPM_CC_NV_READ).unwrap();
        let check = |loc| check_policy(&t, def, &s, &e, (&[], loc), false, 1);
        assert_eq!(check(3), Ok(()));
        assert_eq!(check(0), Err(TPM_RC_LOCALITY));
        assert_eq!(check(4), Err(TPM_RC_LOCALITY));
    }
}
