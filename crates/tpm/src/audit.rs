//! Audit (Part 1, 33 "Audit"). Volatile: which sessions have been used for audit with their
//! `auditDigest`, the exclusive audit session (33.3 "Session Audit"; kept beside the session
//! table, keyed by session handle, so the session format itself is unchanged) and the command
//! audit digest. Permanent: the audited command list, its hash algorithm and the audit counter
//! (33.2 "Command Audit").

use crate::crypto::Hasher;
use tpm_proto::{
    CodecError, Reader, TPM_ALG_SHA512, TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS, Writer, digest_size,
};

/// Largest digest.
const MAX_DIGEST: usize = 64;

/// Volatile audit state: session audit digests, the exclusive audit session, the command
/// audit digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditState {
    /// `(session handle, auditDigest)` of every session used for audit (reference `isAudit`).
    digests: Vec<(u32, Vec<u8>)>,
    /// `g_exclusiveAuditSession`: the audit session no command has run outside of since its
    /// audit digest started.
    pub exclusive: Option<u32>,
    /// `commandAuditDigest`; empty = cleared (the next audited command bumps the counter).
    pub command_digest: Vec<u8>,
    /// SetCommandCodeAuditStatus changed the algorithm: that command itself is not audited
    /// (reference: digest size 1).
    pub alg_changed: bool,
}

/// Permanent command audit state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandAudit {
    /// `auditHashAlg`.
    pub alg: u16,
    /// Audited command codes, ascending (SetCommandCodeAuditStatus always among them).
    pub commands: Vec<u32>,
    /// `auditCounter`: bumped when a new command audit digest starts.
    pub counter: u64,
}

/// Most audited commands a blob may list (more than this engine implements).
const MAX_AUDITED: usize = 256;

impl Default for CommandAudit {
    /// As manufactured (reference `CommandAuditPreInstall_Init`): only
    /// SetCommandCodeAuditStatus audited, with the context integrity hash (SHA-512).
    fn default() -> Self {
        CommandAudit {
            alg: TPM_ALG_SHA512,
            commands: vec![TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS],
            counter: 0,
        }
    }
}

impl CommandAudit {
    /// Whether `cc` is audited.
    pub fn audited(&self, cc: u32) -> bool {
        self.commands.binary_search(&cc).is_ok()
    }

    /// `commandDigest` of TPM2_GetCommandAuditDigest: the hash of the audited command codes.
    pub fn list_digest(&self) -> Vec<u8> {
        let mut h = match Hasher::new(self.alg) {
            Some(h) => h,
            None => return Vec::new(),
        };
        for cc in &self.commands {
            h.update(&cc.to_be_bytes());
        }
        h.finish().as_ref().to_vec()
    }

    /// Serialization: `u16 alg | u64 counter | u16 n | n × u32 cc`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.alg);
        out.put_u64(self.counter);
        out.put_u16(self.commands.len() as u16);
        for cc in &self.commands {
            out.put_u32(*cc);
        }
    }

    /// Parses [`CommandAudit::write`]'s format; the list must be ascending.
    pub fn read(r: &mut Reader<'_>) -> Result<CommandAudit, CodecError> {
        let alg = r.hash_alg(false)?;
        let counter = r.u64()?;
        let n = usize::from(r.u16()?);
        if n > MAX_AUDITED {
            return Err(CodecError::Size {
                size: n,
                max: MAX_AUDITED,
            });
        }
        let mut commands = Vec::with_capacity(n);
        for _ in 0..n {
            let cc = r.u32()?;
            if commands.last().is_some_and(|&l| l >= cc) {
                return Err(CodecError::Value(cc));
            }
            commands.push(cc);
        }
        Ok(CommandAudit {
            alg,
            commands,
            counter,
        })
    }
}

impl AuditState {
    /// The audit digest of session `h`, if it is an audit session.
    pub fn digest(&self, h: u32) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(s, _)| *s == h)
            .map(|(_, d)| &d[..])
    }

    /// Session `h` is audited with hash `alg` from now on (first audit use, or auditReset):
    /// a zero digest, and it becomes the exclusive audit session.
    pub fn start(&mut self, h: u32, alg: u16) {
        self.forget(h);
        self.digests
            .push((h, vec![0; digest_size(alg).unwrap_or(0)]));
        self.exclusive = Some(h);
    }

    /// `auditDigest = H(auditDigest || cpHash || rpHash)`.
    pub fn extend(&mut self, h: u32, alg: u16, cp_hash: &[u8], rp_hash: &[u8]) {
        if let Some((_, d)) = self.digests.iter_mut().find(|(s, _)| *s == h)
            && let Some(mut hs) = Hasher::new(alg)
        {
            hs.update(d);
            hs.update(cp_hash);
            hs.update(rp_hash);
            *d = hs.finish().as_ref().to_vec();
        }
    }

    /// Session `h` is gone (flushed, context-saved, or a new session took its handle).
    pub fn forget(&mut self, h: u32) {
        self.digests.retain(|(s, _)| *s != h);
        if self.exclusive == Some(h) {
            self.exclusive = None;
        }
    }

    /// Removes session `h`'s audit digest to carry it in a saved context (its exclusivity
    /// stays: ContextSave does not end it).
    pub fn take(&mut self, h: u32) -> Option<Vec<u8>> {
        let i = self.digests.iter().position(|(s, _)| *s == h)?;
        Some(self.digests.remove(i).1)
    }

    /// Restores an audit digest carried by a loaded session context.
    pub fn restore(&mut self, h: u32, digest: Vec<u8>) {
        self.digests.retain(|(s, _)| *s != h);
        self.digests.push((h, digest));
    }

    /// Serialization: `u32 exclusive (0 = none) | u16 count | count × (u32 handle | TPM2B
    /// digest) | TPM2B commandAuditDigest | u8 algChanged`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.exclusive.unwrap_or(0));
        out.put_u16(self.digests.len() as u16);
        for (h, d) in &self.digests {
            out.put_u32(*h);
            out.put_tpm2b(d);
        }
        out.put_tpm2b(&self.command_digest);
        out.put_u8(u8::from(self.alg_changed));
    }

    /// Parses [`AuditState::write`]'s format (at most `max` sessions).
    pub fn read(r: &mut Reader<'_>, max: usize) -> Result<AuditState, CodecError> {
        let exclusive = match r.u32()? {
            0 => None,
            h => Some(h),
        };
        let n = usize::from(r.u16()?);
        if n > max {
            return Err(CodecError::Size { size: n, max });
        }
        let mut digests = Vec::with_capacity(n);
        for _ in 0..n {
            digests.push((r.u32()?, r.tpm2b(MAX_DIGEST)?.to_vec()));
        }
        Ok(AuditState {
            digests,
            exclusive,
            command_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            alg_changed: r.yes_no()?,
        })
    }
}

impl crate::Tpm {
    /// cpHash of an audited command with the audit algorithm (before it runs: handle Names
    /// may change); `None` when `cc` is not audited.
    pub(crate) fn audit_cp_hash(&self, cc: u32, handles: &[u32], params: &[u8]) -> Option<Vec<u8>> {
        let ca = &self.perm.command_audit;
        if !ca.audited(cc) {
            return None;
        }
        let mut h = Hasher::new(ca.alg)?;
        h.update(&cc.to_be_bytes());
        for &hd in handles {
            h.update(&self.handle_name(hd));
        }
        h.update(params);
        Some(h.finish().as_ref().to_vec())
    }

    /// Command audit after an audited command succeeded (Part 1, 33.2): a cleared digest
    /// restarts from zeros and bumps `auditCounter`; then `digest = H(digest || cpHash ||
    /// rpHash)`. The command that changed the algorithm is not audited.
    pub(crate) fn command_audit(&mut self, cc: u32, cp_hash: &[u8], rparams: &[u8]) {
        let a = &mut self.vol.audit;
        if std::mem::take(&mut a.alg_changed) {
            a.command_digest.clear();
            return;
        }
        let ca = &mut self.perm.command_audit;
        let Some(mut rp) = Hasher::new(ca.alg) else {
            return;
        };
        rp.update(&0u32.to_be_bytes());
        rp.update(&cc.to_be_bytes());
        rp.update(rparams);
        let rp = rp.finish();
        if a.command_digest.is_empty() {
            a.command_digest = vec![0; digest_size(ca.alg).unwrap_or(0)];
            ca.counter = ca.counter.wrapping_add(1);
            self.dirty = true;
        }
        if let Some(mut h) = Hasher::new(ca.alg) {
            h.update(&a.command_digest);
            h.update(cp_hash);
            h.update(rp.as_ref());
            a.command_digest = h.finish().as_ref().to_vec();
        }
    }
}
