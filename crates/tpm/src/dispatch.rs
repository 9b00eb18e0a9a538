//! Command frame processing (Part 1, 18 and Part 3, 5 "Command Processing"): header checks,
//! handle area, authorization area with password sessions, dispatch, response assembly.

use crate::Tpm;
use crate::cmd::{COMMANDS, CommandDef, HandleKind};
use crate::nv;
use crate::state::trim_zeros;
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
    /// Parameter area.
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

struct Session {
    attributes: u8,
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

    let mut sessions = [const { None }; MAX_SESSION_NUM];
    let mut n_sessions = 0;
    if tag == TPM_ST_SESSIONS {
        let auth_size = r.u32().map_err(|_| TPM_RC_INSUFFICIENT)? as usize;
        if auth_size < 9 || auth_size > r.remaining() {
            return Err(TPM_RC_AUTHSIZE);
        }
        let mut sr = Reader::new(r.take(auth_size).map_err(|_| TPM_RC_AUTHSIZE)?);
        while sr.remaining() > 0 {
            if n_sessions == MAX_SESSION_NUM {
                return Err(TPM_RC_AUTHSIZE);
            }
            let n = n_sessions as u32 + 1;
            let s = TpmsAuthCommand::read(&mut sr).map_err(|e| rc_session(e.rc(), n))?;
            check_session(tpm, def, &handles, n_sessions, &s)?;
            sessions[n_sessions] = Some(Session {
                attributes: s.attributes & TPMA_SESSION_CONTINUE_SESSION,
            });
            n_sessions += 1;
        }
    }
    if n_sessions < usize::from(def.auth_handles) {
        return Err(TPM_RC_AUTH_MISSING);
    }

    let mut ctx = Ctx {
        locality,
        handles,
        params: Reader::new(r.rest()),
    };
    out.clear();
    out.put_u16(tag);
    out.put_u32(0);
    out.put_u32(TPM_RC_SUCCESS);
    if def.rhandle {
        out.put_u32(0);
    }
    let param_size_at = out.len();
    if tag == TPM_ST_SESSIONS {
        out.put_u32(0);
    }
    let params_start = out.len();
    (def.exec)(tpm, &mut ctx, out)?;
    if tag == TPM_ST_SESSIONS {
        let psize = (out.len() - params_start) as u32;
        out.patch_u32(param_size_at, psize);
        for s in sessions.iter().take(n_sessions).flatten() {
            // TPMS_AUTH_RESPONSE of a password session: empty nonce and hmac.
            out.put_u16(0);
            out.put_u8(s.attributes);
            out.put_u16(0);
        }
    }
    if out.len() > MAX_FRAME {
        return Err(TPM_RC_SIZE);
    }
    let total = out.len() as u32;
    out.patch_u32(2, total);
    Ok(())
}

fn validate_handle(tpm: &Tpm, kind: HandleKind, h: u32) -> Result<(), u32> {
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
        HandleKind::NvAuth | HandleKind::NvIndex | HandleKind::NvAdmin => {
            if !tpm_proto::nv::is_nv_index(h) {
                return Err(TPM_RC_VALUE);
            }
            tpm.nv_index(h).map(|_| ())
        }
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

/// Validates session `idx` (0-based) and, for sessions that authorize a handle, checks the
/// password (Part 1, 19.6.4 "Password Authorizations").
fn check_session(
    tpm: &mut Tpm,
    def: &CommandDef,
    handles: &[u32; 3],
    idx: usize,
    s: &TpmsAuthCommand<'_>,
) -> Result<(), u32> {
    let n = idx as u32 + 1;
    if s.session_handle != TPM_RS_PW {
        let ht = (s.session_handle >> 24) as u8;
        return Err(
            if ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION {
                // No HMAC or policy session can be loaded yet.
                TPM_RC_REFERENCE_S0 + idx as u32
            } else {
                rc_session(TPM_RC_VALUE, n)
            },
        );
    }
    if s.attributes & TPMA_SESSION_PW_FORBIDDEN != 0 {
        return Err(rc_session(TPM_RC_ATTRIBUTES, n));
    }
    if !s.nonce.is_empty() {
        return Err(rc_session(TPM_RC_NONCE, n));
    }
    if idx >= usize::from(def.auth_handles) {
        // A session that authorizes nothing must be an audit/encrypt session, which a
        // password session cannot be.
        return Err(rc_session(TPM_RC_ATTRIBUTES, n));
    }
    let h = handles[idx];
    let clock = tpm.clock();
    if h == TPM_RH_LOCKOUT && clock < tpm.perm.lockout_blocked_until {
        return Err(TPM_RC_LOCKOUT);
    }
    let nv_index = tpm.perm.nv.indices.get(&h);
    // NV indices are the only DA-protected entities besides lockoutAuth (Part 1, 19.8).
    let da_protected = nv_index.is_some_and(|i| !i.attrs().has(TpmaNv::NO_DA));
    if da_protected && tpm.perm.failed_tries >= tpm.perm.max_tries {
        return Err(TPM_RC_LOCKOUT);
    }
    if let Some(i) = nv_index {
        if matches!(def.handles.get(idx), Some(HandleKind::NvAdmin)) {
            return Err(TPM_RC_AUTH_TYPE);
        }
        if !nv::auth_value_available(i, nv::NvOp::of(def.cc)) {
            return Err(TPM_RC_AUTH_UNAVAILABLE);
        }
    }
    let expected = tpm.entity_auth(h);
    let ok = crate::crypto::ct_eq(trim_zeros(s.hmac), trim_zeros(expected.as_slice()));
    if nv_index.is_some() {
        pin_accounting(tpm, h, ok);
    }
    if ok {
        return Ok(());
    }
    if h == TPM_RH_LOCKOUT {
        // lockoutAuth is the only DA-protected permanent entity (Part 1, 19.8.?).
        tpm.perm.lockout_blocked_until = match tpm.perm.lockout_recovery {
            0 => u64::MAX,
            s => clock.saturating_add(u64::from(s) * 1000),
        };
        tpm.dirty = true;
        Err(rc_session(TPM_RC_AUTH_FAIL, n))
    } else if da_protected {
        tpm.perm.failed_tries = tpm.perm.failed_tries.saturating_add(1);
        tpm.dirty = true;
        Err(rc_session(TPM_RC_AUTH_FAIL, n))
    } else {
        // Hierarchies, PCRs and NO_DA indices are DA-exempt: TPM_RC_BAD_AUTH, no lockout
        // accounting.
        Err(rc_session(TPM_RC_BAD_AUTH, n))
    }
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
