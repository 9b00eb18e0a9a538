//! Authorization sessions (Part 1, 19 "Authorizations and Acknowledgments"): HMAC, policy and
//! trial sessions, their table (`MAX_LOADED_SESSIONS` = 3 loaded, `MAX_ACTIVE_SESSIONS` = 64
//! including saved ones) and their context form.

pub mod hmac;
pub mod policy;

use tpm_proto::object::TpmtSymDef;
use tpm_proto::*;

/// Loaded sessions (`MAX_LOADED_SESSIONS`).
pub const MAX_LOADED_SESSIONS: usize = 3;
/// Active sessions, loaded or saved (`MAX_ACTIVE_SESSIONS`).
pub const MAX_ACTIVE_SESSIONS: usize = 64;

/// Policy-session state (Part 1, 19.7; Part 3, 23 "Enhanced Authorization").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyState {
    /// `policyDigest`.
    pub digest: Vec<u8>,
    /// Command code bound by PolicyCommandCode.
    pub command_code: Option<u32>,
    /// cpHash bound by PolicyCpHash (unused so far).
    pub cp_hash: Option<Vec<u8>>,
    /// `pcrUpdateCounter` when PolicyPCR was run.
    pub pcr_counter: Option<u32>,
    /// PolicyAuthValue: the HMAC includes the authValue.
    pub auth_value_needed: bool,
    /// PolicyPassword: the hmac field carries the authValue.
    pub password_needed: bool,
    /// Earliest expiration set by PolicySigned/PolicySecret/PolicyTicket, as a `Clock` value
    /// (ms); the session fails authorization from then on.
    pub timeout: Option<u64>,
    /// TPMA_LOCALITY set by PolicyLocality: a bit mask (< 32) or one extended locality.
    pub locality: Option<u8>,
    /// nameHash bound by PolicyNameHash or PolicyDuplicationSelect: the digest of the
    /// authorized command's handle Names.
    pub name_hash: Option<Vec<u8>>,
    /// templateHash bound by PolicyTemplate: the digest of the created object's template.
    pub template_hash: Option<Vec<u8>>,
    /// PolicyPhysicalPresence (`isPPRequired`).
    pub pp_required: bool,
    /// PolicyNvWritten (`checkNvWritten`): the WRITTEN state the authorized index must have.
    pub nv_written: Option<bool>,
}

impl PolicyState {
    /// The reference keeps cpHash, nameHash and templateHash in one union (`u1`): once any
    /// of them is set, the others cannot be (Part 3, 23.14 PolicyNameHash, 23.21 PolicyTemplate).
    pub fn cp_slot_taken(&self) -> bool {
        self.cp_hash.is_some() || self.name_hash.is_some() || self.template_hash.is_some()
    }

    /// Whether binding cpHash `cp` conflicts with what the session already holds (TPM_RC_CPHASH):
    /// a different cpHash, or a nameHash/templateHash.
    pub fn cp_hash_conflict(&self, cp: &[u8]) -> bool {
        self.cp_slot_taken() && self.cp_hash.as_deref() != Some(cp)
    }
}

/// A session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// `TPM_SE_HMAC`, `TPM_SE_POLICY` or `TPM_SE_TRIAL`.
    pub kind: u8,
    /// `authHash`.
    pub hash: u16,
    /// Current `nonceTPM`.
    pub nonce_tpm: Vec<u8>,
    /// Last `nonceCaller`.
    pub nonce_caller: Vec<u8>,
    /// `sessionKey` (empty for unbound, unsalted sessions).
    pub session_key: Vec<u8>,
    /// Bound entity: `(name, authValue)` at StartAuthSession.
    pub bind: Option<(Vec<u8>, Vec<u8>)>,
    /// Parameter-encryption algorithm.
    pub symmetric: TpmtSymDef,
    /// Policy state.
    pub policy: PolicyState,
    /// `Clock` (ms) at StartAuthSession: a nonce-bound expiration counts from here.
    pub start_clock: u64,
}

impl Session {
    /// A fresh policy digest of the session's hash size.
    pub fn reset_policy(&mut self) {
        self.policy = PolicyState {
            digest: vec![0; digest_size(self.hash).unwrap_or(32)],
            ..PolicyState::default()
        };
    }

    /// Internal serialization for ContextSave.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind);
        out.put_u16(self.hash);
        out.put_tpm2b(&self.nonce_tpm);
        out.put_tpm2b(&self.nonce_caller);
        out.put_tpm2b(&self.session_key);
        match &self.bind {
            None => out.put_u8(0),
            Some((n, a)) => {
                out.put_u8(1);
                out.put_tpm2b(n);
                out.put_tpm2b(a);
            }
        }
        self.symmetric.write(out);
        let p = &self.policy;
        out.put_tpm2b(&p.digest);
        out.put_u32(p.command_code.unwrap_or(0));
        out.put_u8(u8::from(p.command_code.is_some()));
        out.put_tpm2b(p.cp_hash.as_deref().unwrap_or(&[]));
        out.put_u8(u8::from(p.cp_hash.is_some()));
        out.put_u32(p.pcr_counter.unwrap_or(0));
        out.put_u8(u8::from(p.pcr_counter.is_some()));
        out.put_u8(u8::from(p.auth_value_needed) | (u8::from(p.password_needed) << 1));
        // Appended later; Session::read accepts blobs that end before this.
        out.put_u64(self.start_clock);
        out.put_u8(u8::from(p.timeout.is_some()));
        out.put_u64(p.timeout.unwrap_or(0));
        out.put_u8(u8::from(p.locality.is_some()));
        out.put_u8(p.locality.unwrap_or(0));
        // Appended later still (policy branch); read accepts blobs that end before this.
        for h in [&p.name_hash, &p.template_hash] {
            out.put_u8(u8::from(h.is_some()));
            out.put_tpm2b(h.as_deref().unwrap_or(&[]));
        }
        out.put_u8(
            u8::from(p.pp_required)
                | (u8::from(p.nv_written.is_some()) << 1)
                | (u8::from(p.nv_written == Some(true)) << 2),
        );
    }

    /// Parses [`Session::write`]'s format.
    pub fn read(r: &mut Reader<'_>) -> Result<Session, CodecError> {
        let kind = r.u8()?;
        let hash = r.hash_alg(false)?;
        let nonce_tpm = r.tpm2b(64)?.to_vec();
        let nonce_caller = r.tpm2b(64)?.to_vec();
        let session_key = r.tpm2b(64)?.to_vec();
        let bind = match r.u8()? {
            0 => None,
            _ => Some((r.tpm2b(66)?.to_vec(), r.tpm2b(64)?.to_vec())),
        };
        let symmetric = TpmtSymDef::read(r)?;
        let digest = r.tpm2b(64)?.to_vec();
        let cc = r.u32()?;
        let command_code = (r.u8()? != 0).then_some(cc);
        let cp = r.tpm2b(64)?.to_vec();
        let cp_hash = (r.u8()? != 0).then_some(cp);
        let pc = r.u32()?;
        let pcr_counter = (r.u8()? != 0).then_some(pc);
        let f = r.u8()?;
        let (start_clock, timeout) = if r.remaining() == 0 {
            (0, None)
        } else {
            let sc = r.u64()?;
            let has = r.u8()? != 0;
            let t = r.u64()?;
            (sc, has.then_some(t))
        };
        let locality = if r.remaining() == 0 {
            None
        } else {
            let has = r.u8()? != 0;
            let l = r.u8()?;
            has.then_some(l)
        };
        fn bound(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>, CodecError> {
            let has = r.u8()? != 0;
            let d = r.tpm2b(64)?.to_vec();
            Ok(has.then_some(d))
        }
        let (name_hash, template_hash, flags) = if r.remaining() == 0 {
            (None, None, 0)
        } else {
            (bound(r)?, bound(r)?, r.u8()?)
        };
        Ok(Session {
            kind,
            hash,
            nonce_tpm,
            nonce_caller,
            session_key,
            bind,
            symmetric,
            policy: PolicyState {
                digest,
                command_code,
                cp_hash,
                pcr_counter,
                auth_value_needed: f & 1 != 0,
                password_needed: f & 2 != 0,
                timeout,
                locality,
                name_hash,
                template_hash,
                pp_required: flags & 1 != 0,
                nv_written: (flags & 2 != 0).then_some(flags & 4 != 0),
            },
            start_clock,
        })
    }
}

/// A slot of the session table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Loaded and usable.
    Loaded(Box<Session>),
    /// Saved by ContextSave with this sequence number (and session type); only that context may
    /// load it back.
    Saved(u64, u8),
}

/// The session table; handle = `0x02000000 | i` (HMAC) or `0x03000000 | i` (policy/trial).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sessions {
    slots: Vec<Option<Slot>>,
}

/// Why a session table read from a state blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// More than `MAX_ACTIVE_SESSIONS` slots.
    TooManySlots,
    /// More than `MAX_LOADED_SESSIONS` loaded sessions.
    TooManyLoaded,
    /// A session type other than HMAC, policy or trial.
    SessionType,
}

impl Sessions {
    /// The slots (index i is handle `… | i`), for the state blobs.
    pub fn slots(&self) -> &[Option<Slot>] {
        &self.slots
    }

    /// A table from slots read back from a state blob, with the table's invariants checked.
    pub fn from_slots(slots: Vec<Option<Slot>>) -> Result<Sessions, TableError> {
        if slots.len() > MAX_ACTIVE_SESSIONS {
            return Err(TableError::TooManySlots);
        }
        let t = Sessions { slots };
        if t.loaded() > MAX_LOADED_SESSIONS {
            return Err(TableError::TooManyLoaded);
        }
        let kind_ok = |k: u8| matches!(k, TPM_SE_HMAC | TPM_SE_POLICY | TPM_SE_TRIAL);
        let all_ok = t.slots.iter().flatten().all(|s| match s {
            Slot::Loaded(s) => kind_ok(s.kind),
            Slot::Saved(_, k) => kind_ok(*k),
        });
        if all_ok {
            Ok(t)
        } else {
            Err(TableError::SessionType)
        }
    }

    /// What survives `_TPM_Init` after `TPM2_Shutdown(STATE)`: the context-saved sessions;
    /// loaded ones are lost (reference `SessionStartup`).
    pub fn saved_only(&self) -> Sessions {
        let mut slots: Vec<Option<Slot>> = self
            .slots
            .iter()
            .map(|s| s.clone().filter(|s| matches!(s, Slot::Saved(..))))
            .collect();
        while slots.last().is_some_and(Option::is_none) {
            slots.pop();
        }
        Sessions { slots }
    }

    fn index(h: u32) -> Option<usize> {
        let ht = (h >> 24) as u8;
        if ht != TPM_HT_HMAC_SESSION && ht != TPM_HT_POLICY_SESSION {
            return None;
        }
        let i = (h & 0x00FF_FFFF) as usize;
        (i < MAX_ACTIVE_SESSIONS).then_some(i)
    }

    fn handle(i: usize, kind: u8) -> u32 {
        let base = if kind == TPM_SE_HMAC {
            HMAC_SESSION_FIRST
        } else {
            POLICY_SESSION_FIRST
        };
        base | i as u32
    }

    fn kind_matches(h: u32, s: &Session) -> bool {
        Self::handle(0, s.kind) >> 24 == h >> 24
    }

    /// Number of loaded sessions.
    pub fn loaded(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Some(Slot::Loaded(_))))
            .count()
    }

    /// Adds a new session: its handle, or `TPM_RC_SESSION_MEMORY` / `_HANDLES`.
    pub fn insert(&mut self, s: Session) -> Result<u32, u32> {
        if self.loaded() >= MAX_LOADED_SESSIONS {
            return Err(TPM_RC_SESSION_MEMORY);
        }
        let i = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX_ACTIVE_SESSIONS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(TPM_RC_SESSION_HANDLES),
        };
        let h = Self::handle(i, s.kind);
        self.slots[i] = Some(Slot::Loaded(Box::new(s)));
        Ok(h)
    }

    /// The loaded session `h`.
    pub fn get(&self, h: u32) -> Option<&Session> {
        match self.slots.get(Self::index(h)?)? {
            Some(Slot::Loaded(s)) if Self::kind_matches(h, s) => Some(s),
            _ => None,
        }
    }

    /// Mutable access to the loaded session `h`.
    pub fn get_mut(&mut self, h: u32) -> Option<&mut Session> {
        match self.slots.get_mut(Self::index(h)?)? {
            Some(Slot::Loaded(s)) if Self::kind_matches(h, s) => Some(s),
            _ => None,
        }
    }

    /// Marks `h` saved with `seq`, returning the session.
    pub fn save(&mut self, h: u32, seq: u64) -> Option<Session> {
        let i = Self::index(h)?;
        let slot = self.slots.get_mut(i)?;
        match slot.take() {
            Some(Slot::Loaded(s)) => {
                *slot = Some(Slot::Saved(seq, s.kind));
                Some(*s)
            }
            other => {
                *slot = other;
                None
            }
        }
    }

    /// Reloads a saved session if `seq` is the one it was saved with.
    pub fn restore(&mut self, h: u32, seq: u64, s: Session) -> Result<(), u32> {
        if self.loaded() >= MAX_LOADED_SESSIONS {
            return Err(TPM_RC_SESSION_MEMORY);
        }
        let i = Self::index(h).ok_or(TPM_RC_HANDLE)?;
        let slot = self.slots.get_mut(i).ok_or(TPM_RC_HANDLE)?;
        match slot {
            Some(Slot::Saved(q, _)) if *q == seq && Self::handle(i, s.kind) == h => {
                *slot = Some(Slot::Loaded(Box::new(s)));
                Ok(())
            }
            _ => Err(TPM_RC_HANDLE),
        }
    }

    /// Flushes `h` (loaded or saved); false if it named nothing.
    pub fn remove(&mut self, h: u32) -> bool {
        let Some(i) = Self::index(h) else {
            return false;
        };
        let ok = match self.slots.get(i) {
            Some(Some(Slot::Loaded(s))) => Self::kind_matches(h, s),
            Some(Some(Slot::Saved(_, k))) => Self::handle(i, *k) == h,
            _ => false,
        };
        if ok {
            self.slots[i] = None;
        }
        ok
    }

    /// Handles of loaded (`saved` false) or saved (`saved` true) sessions of type `ht`.
    pub fn handles(&self, ht: u8, saved: bool) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Some(Slot::Loaded(s)) if !saved => Some(Self::handle(i, s.kind)),
                Some(Slot::Saved(_, k)) if saved => Some(Self::handle(i, *k)),
                _ => None,
            })
            .filter(|h| saved || (h >> 24) as u8 == ht)
            .collect()
    }
}
