//! The engine's state model and its persisted, versioned blob format.
//!
//! Blob layout (all integers big-endian):
//! `magic[4] | version u16 | payload_len u32 | payload | SHA-256(magic..payload)[32]`.
//! Payload fields are written in a fixed order; `write_*` destructure their struct exhaustively
//! so a new field cannot be forgotten.
//!
//! Versions are per blob type. Permanent blobs: version 1 (base), version 2 appends persistent
//! objects and the RSA primary cache, version 3 (written now) appends after those the NV
//! section (`maxCounter u64 | count u32 | count × (TPM2B_NV_PUBLIC, TPM2B authValue, TPM2B
//! data)`, indices in ascending handle order). Versions 1 and 2 still load (missing parts
//! empty). Version 4 extends the embedded save area as the save-state blob's version 3 does.
//! Version 5 allows orderly state 3 (DA used) and appends the self-heal clock (`u64`).
//! Version 6 appends the physical-presence command list (`u16 count | count × u32`, ascending),
//! the algorithm set (`u32`) and the command audit state (`u16` auditHashAlg | `u64`
//! auditCounter | `u16` n | n × `u32` audited command code, ascending); older blobs load with
//! the manufacture defaults.
//!
//! Volatile blobs: versions 1 and 2 share a layout; version 3 (written now) appends the
//! `contextCounter`, the transient object slots (`MAX_LOADED_OBJECTS` × (`u8` present,
//! `TPM2B` object)) and the session table (`u16` slots, each `u8` 0 empty | 1 loaded +
//! `TPM2B` session | 2 context-saved + `u64` sequence + `u8` type). Version 4 adds the object
//! slot tag 2: a sequence object (`TPM2B` of its internal form) and appends the session audit
//! table (`u32` exclusive session | `u16` n | n × (`u32` handle | `TPM2B` auditDigest)).
//! Save-state blobs: versions
//! 1 and 2 share a layout; version 3 appends to the save area the `nullProof`, the
//! `contextCounter` and the context-saved sessions, which survive TPM Restart and Resume
//! (reference `HierarchyStartup`, `SessionStartup`). Older blobs load with empty tables.

use crate::audit::{AuditState, CommandAudit};
use crate::crypto::{HASH_COUNT, hash};
use crate::nv::{NV_INDEX_MAX, NV_MEMORY, NvIndex, NvStore};
use crate::object::Object;
use crate::object::sequence::Sequence;
use crate::object::store::{Loaded, MAX_LOADED_OBJECTS, Transient};
use crate::pcr::{ALL_PCRS, PCR_COUNT, PcrValues};
use crate::session::{Session, Sessions, Slot, TableError};
use tpm_proto::{CodecError, Reader, TPM_ALG_SHA256, TpmNt, TpmsNvPublic, Writer, digest_size};

/// Why a state blob was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The blob ends before its header or its declared payload and digest do.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// The blob does not start with the magic of the expected blob type.
    #[error("bad magic {found:02x?} (expected {expected:02x?})")]
    BadMagic {
        /// Magic found.
        found: [u8; 4],
        /// Magic of the requested blob type.
        expected: [u8; 4],
    },
    /// A format version this engine cannot read.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u16),
    /// Bytes follow the digest.
    #[error("{0} trailing bytes after the digest")]
    Trailing(usize),
    /// The SHA-256 digest does not match the content.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// A field could not be decoded.
    #[error("malformed payload at byte {at}: {source}")]
    Malformed {
        /// Offset within the payload.
        at: usize,
        /// What was wrong.
        source: CodecError,
    },
    /// A field decoded but holds an impossible value.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Format version of volatile blobs written by this engine (3: objects, sessions, counter;
/// 4: an object slot may hold a sequence object; session audit digests appended).
pub const VOLATILE_VERSION: u16 = 4;
/// Volatile versions read.
const VOLATILE_VERSIONS: &[u16] = &[1, 2, 3, 4];
/// Format version of save-state blobs written (3: null proof, counter, saved sessions).
pub const SAVESTATE_VERSION: u16 = 3;
/// Save-state versions read.
const SAVESTATE_VERSIONS: &[u16] = &[1, 2, 3];
/// Format version of permanent blobs written by this engine (3: objects, RSA cache, NV; 4: the
/// save area as in save-state version 3; 5: orderly state 3 = DA used, self-heal clock; 6: PP
/// command list, algorithm set, command audit list, algorithm and counter).
pub const PERMANENT_VERSION: u16 = 6;
/// Permanent versions read.
const PERMANENT_VERSIONS: &[u16] = &[1, 2, 3, 4, 5, 6];
/// Magic of a permanent blob.
pub const MAGIC_PERMANENT: [u8; 4] = *b"TLVp";
/// Magic of a volatile blob.
pub const MAGIC_VOLATILE: [u8; 4] = *b"TLVv";
/// Magic of a save-state blob.
pub const MAGIC_SAVESTATE: [u8; 4] = *b"TLVs";
const DIGEST_LEN: usize = 32;
const HEADER_LEN: usize = 10;

/// An authorization value (`TPM2B_AUTH`, at most the largest digest size).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Auth {
    len: u8,
    buf: [u8; 64],
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            len: 0,
            buf: [0; 64],
        }
    }
}

impl Auth {
    /// Maximum size (`sizeof(TPMU_HA)`).
    pub const MAX: usize = 64;

    /// An auth value; `None` if longer than [`Auth::MAX`].
    pub fn new(b: &[u8]) -> Option<Self> {
        let mut buf = [0u8; 64];
        buf.get_mut(..b.len())?.copy_from_slice(b);
        Some(Auth {
            len: b.len() as u8,
            buf,
        })
    }

    /// The value.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

// Secrets (seeds, proofs, auth values, private keys) must never reach a log through `{:?}`:
// these types print their shape only.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth(<{} bytes>)", self.len)
    }
}

impl std::fmt::Debug for SavedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedState")
            .field("pcr_update_counter", &self.pcr_update_counter)
            .field("context_counter", &self.context_counter)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Permanent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permanent")
            .field("reset_count", &self.reset_count)
            .field("restart_count", &self.restart_count)
            .field("orderly", &self.orderly)
            .field("persistent_objects", &self.persistent.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RsaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaCache")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Volatile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Volatile")
            .field("started", &self.started)
            .field("pcr_update_counter", &self.pcr_update_counter)
            .finish_non_exhaustive()
    }
}

/// `b` without trailing zero octets.
pub fn trim_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &b[..n]
}

/// A hierarchy's `authPolicy` (`TPMT_HA` with possibly `TPM_ALG_NULL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Hash algorithm of the policy digest (`TPM_ALG_NULL` = 0x0010 when empty; 0 is unset).
    pub alg: u16,
    /// The digest.
    pub digest: Auth,
}

/// How the last power cycle ended (Part 1, 36.? orderly shutdown tracking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orderly {
    /// No `TPM2_Shutdown` since the last `TPM2_Startup`.
    None = 0,
    /// `TPM2_Shutdown(CLEAR)`.
    Clear = 1,
    /// `TPM2_Shutdown(STATE)`.
    State = 2,
    /// No `TPM2_Shutdown` yet, and a DA-protected authorization was checked since
    /// `TPM2_Startup` (reference `SU_DA_USED_VALUE`): a non-orderly end counts as a failure.
    DaUsed = 3,
}

impl Orderly {
    /// The last power cycle ended with `TPM2_Shutdown`.
    pub fn is_orderly(self) -> bool {
        matches!(self, Orderly::Clear | Orderly::State)
    }
}

/// What `TPM2_Shutdown(STATE)` saves for `TPM2_Startup(STATE)` (TPM Resume).
#[derive(Clone, PartialEq, Eq)]
pub struct SavedState {
    /// PCR allocation in effect when saved.
    pub pcr_alloc: [u32; HASH_COUNT],
    /// All PCR values (only `stateSave` PCRs are restored).
    pub pcrs: Box<PcrValues>,
    /// `pcrUpdateCounter`.
    pub pcr_update_counter: u32,
    /// Hierarchy enables (`shEnable`, `ehEnable`, `phEnableNV`).
    pub sh_enable: bool,
    /// `ehEnable`.
    pub eh_enable: bool,
    /// `phEnableNV`.
    pub ph_enable_nv: bool,
    /// `platformAuth`.
    pub platform_auth: Auth,
    /// `platformPolicy`.
    pub platform_policy: Policy,
    /// `nullProof`, kept across TPM Restart and Resume (`None` from a save area of format ≤ 2:
    /// the fresh one stays).
    pub null_proof: Option<[u8; 64]>,
    /// `contextCounter`.
    pub context_counter: u64,
    /// The context-saved sessions (no loaded ones).
    pub sessions: Sessions,
}

/// Non-volatile state (`tpm2-00.permall`).
#[derive(Clone, PartialEq, Eq)]
pub struct Permanent {
    /// Endorsement primary seed.
    pub eps: [u8; 64],
    /// Storage primary seed.
    pub sps: [u8; 64],
    /// Platform primary seed.
    pub pps: [u8; 64],
    /// Proof values (ticket HMAC keys) of the platform/storage/endorsement hierarchies.
    pub ph_proof: [u8; 64],
    /// `shProof`.
    pub sh_proof: [u8; 64],
    /// `ehProof`.
    pub eh_proof: [u8; 64],
    /// `ownerAuth`.
    pub owner_auth: Auth,
    /// `endorsementAuth`.
    pub endorsement_auth: Auth,
    /// `lockoutAuth`.
    pub lockout_auth: Auth,
    /// `ownerPolicy`.
    pub owner_policy: Policy,
    /// `endorsementPolicy`.
    pub endorsement_policy: Policy,
    /// `lockoutPolicy`.
    pub lockout_policy: Policy,
    /// `disableClear`.
    pub disable_clear: bool,
    /// PCR allocation for the next `_TPM_Init` (bitmap per bank).
    pub pcr_alloc: [u32; HASH_COUNT],
    /// `resetCount`.
    pub reset_count: u32,
    /// `restartCount`.
    pub restart_count: u32,
    /// `clock` in milliseconds at the time of the save.
    pub clock: u64,
    /// How the last power cycle ended.
    pub orderly: Orderly,
    /// The TPM-established flag.
    pub established: bool,
    /// `lockoutRecovery` (seconds); lockoutAuth is blocked this long after a failure.
    pub lockout_recovery: u32,
    /// `maxTries`.
    pub max_tries: u32,
    /// `recoveryTime`.
    pub recovery_time: u32,
    /// `failedTries`.
    pub failed_tries: u32,
    /// Clock value until which lockoutAuth is blocked after a failure (0 = not blocked).
    pub lockout_blocked_until: u64,
    /// Clock value from which `failedTries` self-heals (last failure or last decrement;
    /// permanent version 5, earlier: 0).
    pub self_heal_from: u64,
    /// Commands that need physical presence when the platform authorizes them (`ppList`,
    /// TPM2_PP_Commands), ascending (permanent version 6; earlier: only PP_Commands).
    pub pp_list: Vec<u32>,
    /// `algorithmSet` (TPM2_SetAlgorithmSet; permanent version 6, earlier: 0).
    pub algorithm_set: u32,
    /// The `TPM2_Shutdown(STATE)` save area.
    pub saved: Option<SavedState>,
    /// Persistent objects (`TPM2_EvictControl`), sorted by handle (permanent version 2).
    pub persistent: Vec<(u32, Object)>,
    /// RSA primaries generated so far (see `object::generate`; permanent version 2).
    pub rsa_cache: RsaCache,
    /// NV indices (permanent version 3).
    pub nv: NvStore,
    /// Audited commands, their hash algorithm and the audit counter (permanent version 6).
    pub command_audit: CommandAudit,
}

/// Entries the RSA primary cache keeps (oldest dropped first).
pub const RSA_CACHE_MAX: usize = 8;

/// RSA primary keys by `(hierarchy, HMAC(seed, "RSA" || template || data))`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RsaCache {
    /// `(hierarchy, key, pkcs8)`, oldest first.
    pub entries: Vec<(u32, [u8; 32], Vec<u8>)>,
    /// Hierarchy of the next insert (set by the caller that knows it).
    pub hierarchy: u32,
}

impl RsaCache {
    /// The cached PKCS#8 key for `k`.
    pub fn get(&self, k: &[u8; 32]) -> Option<&[u8]> {
        self.entries.iter().find(|e| e.1 == *k).map(|e| &e.2[..])
    }
    /// Remembers a key under the current hierarchy.
    pub fn insert(&mut self, k: [u8; 32], pkcs8: Vec<u8>) {
        if self.entries.len() >= RSA_CACHE_MAX {
            self.entries.remove(0);
        }
        self.entries.push((self.hierarchy, k, pkcs8));
    }
    /// Forgets every key of `hierarchy` (its seed changed).
    pub fn clear_hierarchy(&mut self, hierarchy: u32) -> bool {
        let n = self.entries.len();
        self.entries.retain(|e| e.0 != hierarchy);
        n != self.entries.len()
    }
}

/// RAM state (`tpm2-00.volatile`).
#[derive(Clone, PartialEq, Eq)]
pub struct Volatile {
    /// `TPM2_Startup` completed.
    pub started: bool,
    /// PCR allocation in effect.
    pub pcr_alloc: [u32; HASH_COUNT],
    /// PCR values.
    pub pcrs: Box<PcrValues>,
    /// `pcrUpdateCounter`.
    pub pcr_update_counter: u32,
    /// `phEnable`.
    pub ph_enable: bool,
    /// `shEnable`.
    pub sh_enable: bool,
    /// `ehEnable`.
    pub eh_enable: bool,
    /// `phEnableNV`.
    pub ph_enable_nv: bool,
    /// `platformAuth`.
    pub platform_auth: Auth,
    /// `platformPolicy`.
    pub platform_policy: Policy,
    /// Null hierarchy proof (new at every TPM Reset).
    pub null_proof: [u8; 64],
    /// Self test has run and passed.
    pub self_tested: bool,
    /// `TPMS_TIME_INFO.time` in ms at the moment of the snapshot.
    pub time: u64,
    /// `TPMS_CLOCK_INFO.safe`.
    pub clock_safe: bool,
    /// Loaded transient objects (lost at `_TPM_Init`).
    pub objects: Transient,
    /// Session table: loaded sessions and the sequence numbers of context-saved ones.
    pub sessions: Sessions,
    /// `contextCounter`: sequence number of the last saved context.
    pub context_counter: u64,
    /// Audit digests of audit sessions and the exclusive audit session (version 4).
    pub audit: AuditState,
}

fn put_bool(o: &mut Vec<u8>, b: bool) {
    o.put_u8(u8::from(b));
}

fn put_auth(o: &mut Vec<u8>, a: &Auth) {
    o.put_tpm2b(a.as_slice());
}

fn put_policy(o: &mut Vec<u8>, p: &Policy) {
    o.put_u16(p.alg);
    put_auth(o, &p.digest);
}

fn put_pcrs(o: &mut Vec<u8>, alloc: &[u32; HASH_COUNT], pcrs: &PcrValues) {
    for a in alloc {
        o.put_u32(*a);
    }
    for bank in pcrs {
        for v in bank {
            o.extend_from_slice(v);
        }
    }
}

struct Payload<'a>(Reader<'a>);

impl<'a> Payload<'a> {
    fn map<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, CodecError>,
    ) -> Result<T, StateError> {
        let at = self.0.position();
        f(&mut self.0).map_err(|source| StateError::Malformed { at, source })
    }
    fn u8(&mut self) -> Result<u8, StateError> {
        self.map(|r| r.u8())
    }
    fn u16(&mut self) -> Result<u16, StateError> {
        self.map(|r| r.u16())
    }
    fn u32(&mut self) -> Result<u32, StateError> {
        self.map(|r| r.u32())
    }
    fn u64(&mut self) -> Result<u64, StateError> {
        self.map(|r| r.u64())
    }
    fn bool(&mut self) -> Result<bool, StateError> {
        self.map(|r| r.yes_no())
    }
    fn secret(&mut self) -> Result<[u8; 64], StateError> {
        let s = self.map(|r| r.take(64))?;
        let mut a = [0u8; 64];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn auth(&mut self) -> Result<Auth, StateError> {
        let b = self.map(|r| r.tpm2b(Auth::MAX))?;
        Auth::new(b).ok_or(StateError::Invalid("auth value"))
    }
    fn policy(&mut self) -> Result<Policy, StateError> {
        Ok(Policy {
            alg: self.u16()?,
            digest: self.auth()?,
        })
    }
    fn alloc(&mut self) -> Result<[u32; HASH_COUNT], StateError> {
        let mut a = [0u32; HASH_COUNT];
        for x in &mut a {
            *x = self.u32()?;
            if *x & !ALL_PCRS != 0 {
                return Err(StateError::Invalid("pcr allocation"));
            }
        }
        Ok(a)
    }
    fn pcrs(&mut self) -> Result<Box<PcrValues>, StateError> {
        let mut v: Box<PcrValues> = Box::new([[[0u8; 64]; PCR_COUNT]; HASH_COUNT]);
        for bank in v.iter_mut() {
            for slot in bank.iter_mut() {
                *slot = self.secret()?;
            }
        }
        Ok(v)
    }
    fn finish(&self) -> Result<(), StateError> {
        let at = self.0.position();
        self.0
            .finish()
            .map_err(|source| StateError::Malformed { at, source })
    }
}

fn write_saved(o: &mut Vec<u8>, s: &SavedState) {
    let SavedState {
        pcr_alloc,
        pcrs,
        pcr_update_counter,
        sh_enable,
        eh_enable,
        ph_enable_nv,
        platform_auth,
        platform_policy,
        null_proof,
        context_counter,
        sessions,
    } = s;
    put_pcrs(o, pcr_alloc, pcrs);
    o.put_u32(*pcr_update_counter);
    put_bool(o, *sh_enable);
    put_bool(o, *eh_enable);
    put_bool(o, *ph_enable_nv);
    put_auth(o, platform_auth);
    put_policy(o, platform_policy);
    match null_proof {
        None => o.put_u8(0),
        Some(n) => {
            o.put_u8(1);
            o.extend_from_slice(n);
        }
    }
    o.put_u64(*context_counter);
    write_sessions(o, sessions);
}

/// `ext`: the save area carries the format-3 fields (null proof, counter, saved sessions).
fn read_saved(p: &mut Payload<'_>, ext: bool) -> Result<SavedState, StateError> {
    let mut s = SavedState {
        pcr_alloc: p.alloc()?,
        pcrs: p.pcrs()?,
        pcr_update_counter: p.u32()?,
        sh_enable: p.bool()?,
        eh_enable: p.bool()?,
        ph_enable_nv: p.bool()?,
        platform_auth: p.auth()?,
        platform_policy: p.policy()?,
        null_proof: None,
        context_counter: 0,
        sessions: Sessions::default(),
    };
    if ext {
        s.null_proof = match p.u8()? {
            0 => None,
            1 => Some(p.secret()?),
            _ => return Err(StateError::Invalid("null proof presence flag")),
        };
        s.context_counter = p.u64()?;
        s.sessions = read_sessions(p)?;
        if s.sessions.loaded() != 0 {
            return Err(StateError::Invalid("loaded session in the save area"));
        }
    }
    Ok(s)
}

const SLOT_EMPTY: u8 = 0;
const SLOT_LOADED: u8 = 1;
const SLOT_SAVED: u8 = 2;

fn write_sessions(o: &mut Vec<u8>, t: &Sessions) {
    let slots = t.slots();
    o.put_u16(slots.len() as u16);
    for slot in slots {
        match slot {
            None => o.put_u8(SLOT_EMPTY),
            Some(Slot::Loaded(s)) => {
                o.put_u8(SLOT_LOADED);
                let mut b = Vec::new();
                s.write(&mut b);
                o.put_tpm2b(&b);
            }
            Some(Slot::Saved(seq, kind)) => {
                o.put_u8(SLOT_SAVED);
                o.put_u64(*seq);
                o.put_u8(*kind);
            }
        }
    }
}

/// Parses one `TPM2B`-wrapped item that must fill its buffer exactly.
fn read_wrapped<T>(
    p: &mut Payload<'_>,
    f: impl FnOnce(&mut Reader<'_>) -> Result<T, CodecError>,
) -> Result<T, StateError> {
    p.map(|r| {
        let b = r.tpm2b(u16::MAX as usize)?;
        let mut inner = Reader::new(b);
        let v = f(&mut inner)?;
        inner.finish()?;
        Ok(v)
    })
}

fn read_sessions(p: &mut Payload<'_>) -> Result<Sessions, StateError> {
    let n = usize::from(p.u16()?);
    if n > crate::session::MAX_ACTIVE_SESSIONS {
        return Err(StateError::Invalid("session slot count"));
    }
    let mut slots = Vec::with_capacity(n);
    for _ in 0..n {
        slots.push(match p.u8()? {
            SLOT_EMPTY => None,
            SLOT_LOADED => Some(Slot::Loaded(Box::new(read_wrapped(p, Session::read)?))),
            SLOT_SAVED => Some(Slot::Saved(p.u64()?, p.u8()?)),
            _ => return Err(StateError::Invalid("session slot tag")),
        });
    }
    Sessions::from_slots(slots).map_err(|e| {
        StateError::Invalid(match e {
            TableError::TooManySlots => "session slot count",
            TableError::TooManyLoaded => "loaded session count",
            TableError::SessionType => "session type",
        })
    })
}

fn write_objects(o: &mut Vec<u8>, t: &Transient) {
    for slot in t.slots() {
        let mut b = Vec::new();
        match slot {
            None => {
                o.put_u8(0);
                continue;
            }
            Some(Loaded::Object(obj)) => {
                o.put_u8(1);
                obj.write(&mut b);
            }
            Some(Loaded::Sequence(s)) => {
                o.put_u8(2);
                s.write(&mut b);
            }
        }
        o.put_tpm2b(&b);
    }
}

/// Object slots; `sequences`: the blob version knows slot tag 2 (sequence objects).
fn read_objects(p: &mut Payload<'_>, sequences: bool) -> Result<Transient, StateError> {
    let mut slots: [Option<Loaded>; MAX_LOADED_OBJECTS] = Default::default();
    for slot in &mut slots {
        *slot = match p.u8()? {
            0 => None,
            1 => Some(Loaded::Object(read_wrapped(p, Object::read)?)),
            2 if sequences => Some(Loaded::Sequence(read_wrapped(p, Sequence::read)?)),
            _ => return Err(StateError::Invalid("object slot presence flag")),
        };
    }
    Ok(Transient::from_slots(slots))
}

fn write_opt_saved(o: &mut Vec<u8>, s: &Option<SavedState>) {
    match s {
        None => o.put_u8(0),
        Some(s) => {
            o.put_u8(1);
            write_saved(o, s);
        }
    }
}

fn read_opt_saved(p: &mut Payload<'_>, ext: bool) -> Result<Option<SavedState>, StateError> {
    match p.u8()? {
        0 => Ok(None),
        1 => Ok(Some(read_saved(p, ext)?)),
        _ => Err(StateError::Invalid("save-state presence flag")),
    }
}

/// Serializes the permanent state; `clock` is the current clock (the stored one may be stale).
pub fn write_permanent(p: &Permanent, clock: u64) -> Vec<u8> {
    let Permanent {
        eps,
        sps,
        pps,
        ph_proof,
        sh_proof,
        eh_proof,
        owner_auth,
        endorsement_auth,
        lockout_auth,
        owner_policy,
        endorsement_policy,
        lockout_policy,
        disable_clear,
        pcr_alloc,
        reset_count,
        restart_count,
        clock: _,
        orderly,
        established,
        lockout_recovery,
        max_tries,
        recovery_time,
        failed_tries,
        lockout_blocked_until,
        self_heal_from,
        pp_list,
        algorithm_set,
        saved,
        persistent,
        rsa_cache,
        nv,
        command_audit,
    } = p;
    seal(MAGIC_PERMANENT, PERMANENT_VERSION, |o| {
        for s in [eps, sps, pps, ph_proof, sh_proof, eh_proof] {
            o.extend_from_slice(s);
        }
        for a in [owner_auth, endorsement_auth, lockout_auth] {
            put_auth(o, a);
        }
        for pol in [owner_policy, endorsement_policy, lockout_policy] {
            put_policy(o, pol);
        }
        put_bool(o, *disable_clear);
        for a in pcr_alloc {
            o.put_u32(*a);
        }
        o.put_u32(*reset_count);
        o.put_u32(*restart_count);
        o.put_u64(clock);
        o.put_u8(*orderly as u8);
        put_bool(o, *established);
        o.put_u32(*lockout_recovery);
        o.put_u32(*max_tries);
        o.put_u32(*recovery_time);
        o.put_u32(*failed_tries);
        o.put_u64(*lockout_blocked_until);
        write_opt_saved(o, saved);
        o.put_u16(persistent.len() as u16);
        for (h, obj) in persistent {
            o.put_u32(*h);
            let mut b = Vec::new();
            obj.write(&mut b);
            o.put_tpm2b(&b);
        }
        o.put_u16(rsa_cache.entries.len() as u16);
        for (h, k, p) in &rsa_cache.entries {
            o.put_u32(*h);
            o.extend_from_slice(k);
            o.put_tpm2b(p);
        }
        write_nv(o, nv);
        o.put_u64(*self_heal_from);
        o.put_u16(pp_list.len() as u16);
        for cc in pp_list {
            o.put_u32(*cc);
        }
        o.put_u32(*algorithm_set);
        command_audit.write(o);
    })
}

fn write_nv(o: &mut Vec<u8>, nv: &NvStore) {
    let NvStore {
        indices,
        max_counter,
    } = nv;
    o.put_u64(*max_counter);
    o.put_u32(indices.len() as u32);
    for idx in indices.values() {
        let NvIndex { public, auth, data } = idx;
        public.write_2b(o);
        put_auth(o, auth);
        o.put_tpm2b(data);
    }
}

fn read_nv(p: &mut Payload<'_>) -> Result<NvStore, StateError> {
    let max_counter = p.u64()?;
    let count = p.u32()? as usize;
    let mut nv = NvStore {
        indices: Default::default(),
        max_counter,
    };
    let mut used = 0usize;
    for _ in 0..count {
        let public = p.map(TpmsNvPublic::read_2b)?;
        let auth = p.auth()?;
        let data = p.map(|r| r.tpm2b(NV_INDEX_MAX))?.to_vec();
        let nt = public
            .attributes
            .nt()
            .ok_or(StateError::Invalid("nv index type"))?;
        let size_ok = match nt {
            TpmNt::Ordinary => true,
            TpmNt::Extend => digest_size(public.name_alg) == Some(data.len()),
            _ => data.len() == 8,
        };
        if !size_ok || data.len() != usize::from(public.data_size) {
            return Err(StateError::Invalid("nv data size"));
        }
        if nv
            .indices
            .last_key_value()
            .is_some_and(|(&h, _)| h >= public.nv_index)
        {
            return Err(StateError::Invalid("nv index order"));
        }
        let idx = NvIndex { public, auth, data };
        used += idx.cost();
        if used > NV_MEMORY {
            return Err(StateError::Invalid("nv space"));
        }
        nv.indices.insert(idx.public.nv_index, idx);
    }
    Ok(nv)
}

/// Parses a permanent blob.
pub fn read_permanent(bytes: &[u8]) -> Result<Permanent, StateError> {
    let (version, payload) = unseal(MAGIC_PERMANENT, PERMANENT_VERSIONS, bytes)?;
    let mut p = Payload(Reader::new(payload));
    let mut perm = Permanent {
        eps: p.secret()?,
        sps: p.secret()?,
        pps: p.secret()?,
        ph_proof: p.secret()?,
        sh_proof: p.secret()?,
        eh_proof: p.secret()?,
        owner_auth: p.auth()?,
        endorsement_auth: p.auth()?,
        lockout_auth: p.auth()?,
        owner_policy: p.policy()?,
        endorsement_policy: p.policy()?,
        lockout_policy: p.policy()?,
        disable_clear: p.bool()?,
        pcr_alloc: p.alloc()?,
        reset_count: p.u32()?,
        restart_count: p.u32()?,
        clock: p.u64()?,
        orderly: match p.u8()? {
            0 => Orderly::None,
            1 => Orderly::Clear,
            2 => Orderly::State,
            3 if version >= 5 => Orderly::DaUsed,
            _ => return Err(StateError::Invalid("orderly state")),
        },
        established: p.bool()?,
        lockout_recovery: p.u32()?,
        max_tries: p.u32()?,
        recovery_time: p.u32()?,
        failed_tries: p.u32()?,
        lockout_blocked_until: p.u64()?,
        self_heal_from: 0,
        pp_list: crate::pp::default_list(),
        algorithm_set: 0,
        saved: read_opt_saved(&mut p, version >= 4)?,
        persistent: Vec::new(),
        rsa_cache: RsaCache::default(),
        nv: NvStore::default(),
        command_audit: CommandAudit::default(),
    };
    if version >= 2 {
        for _ in 0..p.u16()? {
            let h = p.u32()?;
            let b = p.map(|r| r.tpm2b(u16::MAX as usize))?;
            let mut r = Reader::new(b);
            let obj = Object::read(&mut r).map_err(|_| StateError::Invalid("persistent object"))?;
            perm.persistent.push((h, obj));
        }
        for _ in 0..p.u16()? {
            let h = p.u32()?;
            let k = p.map(|r| r.take(32))?;
            let mut key = [0u8; 32];
            key.copy_from_slice(k);
            let pkcs8 = p.map(|r| r.tpm2b(u16::MAX as usize))?.to_vec();
            perm.rsa_cache.entries.push((h, key, pkcs8));
        }
    }
    if version >= 3 {
        perm.nv = read_nv(&mut p)?;
    }
    if version >= 5 {
        perm.self_heal_from = p.u64()?;
    }
    if version >= 6 {
        let n = usize::from(p.u16()?);
        if n > crate::pp::PP_CAPABLE.len() {
            return Err(StateError::Invalid("physical-presence command list"));
        }
        let list = (0..n).map(|_| p.u32()).collect::<Result<Vec<_>, _>>()?;
        if !crate::pp::valid_list(&list) {
            return Err(StateError::Invalid("physical-presence command list"));
        }
        perm.pp_list = list;
        perm.algorithm_set = p.u32()?;
        perm.command_audit = p.map(CommandAudit::read)?;
    }
    p.finish()?;
    Ok(perm)
}

/// Serializes the volatile state; `time` is the current `TPMS_TIME_INFO.time`.
pub fn write_volatile(v: &Volatile, time: u64) -> Vec<u8> {
    let Volatile {
        started,
        pcr_alloc,
        pcrs,
        pcr_update_counter,
        ph_enable,
        sh_enable,
        eh_enable,
        ph_enable_nv,
        platform_auth,
        platform_policy,
        null_proof,
        self_tested,
        time: _,
        clock_safe,
        objects,
        sessions,
        context_counter,
        audit,
    } = v;
    seal(MAGIC_VOLATILE, VOLATILE_VERSION, |o| {
        put_bool(o, *started);
        put_pcrs(o, pcr_alloc, pcrs);
        o.put_u32(*pcr_update_counter);
        for b in [ph_enable, sh_enable, eh_enable, ph_enable_nv] {
            put_bool(o, *b);
        }
        put_auth(o, platform_auth);
        put_policy(o, platform_policy);
        o.extend_from_slice(null_proof);
        put_bool(o, *self_tested);
        o.put_u64(time);
        put_bool(o, *clock_safe);
        o.put_u64(*context_counter);
        write_objects(o, objects);
        write_sessions(o, sessions);
        audit.write(o);
    })
}

/// Parses a volatile blob.
pub fn read_volatile(bytes: &[u8]) -> Result<Volatile, StateError> {
    let (version, payload) = unseal(MAGIC_VOLATILE, VOLATILE_VERSIONS, bytes)?;
    let mut p = Payload(Reader::new(payload));
    let mut v = Volatile {
        started: p.bool()?,
        pcr_alloc: p.alloc()?,
        pcrs: p.pcrs()?,
        pcr_update_counter: p.u32()?,
        ph_enable: p.bool()?,
        sh_enable: p.bool()?,
        eh_enable: p.bool()?,
        ph_enable_nv: p.bool()?,
        platform_auth: p.auth()?,
        platform_policy: p.policy()?,
        null_proof: p.secret()?,
        self_tested: p.bool()?,
        time: p.u64()?,
        clock_safe: p.bool()?,
        objects: Transient::default(),
        sessions: Sessions::default(),
        context_counter: 0,
        audit: AuditState::default(),
    };
    if version >= 3 {
        v.context_counter = p.u64()?;
        v.objects = read_objects(&mut p, version >= 4)?;
        v.sessions = read_sessions(&mut p)?;
    }
    if version >= 4 {
        v.audit = p.map(|r| AuditState::read(r, crate::session::MAX_ACTIVE_SESSIONS))?;
    }
    p.finish()?;
    Ok(v)
}

/// Serializes the save area alone.
pub fn write_savestate(s: &Option<SavedState>) -> Vec<u8> {
    seal(MAGIC_SAVESTATE, SAVESTATE_VERSION, |o| {
        write_opt_saved(o, s)
    })
}

/// Parses a save-state blob.
pub fn read_savestate(bytes: &[u8]) -> Result<Option<SavedState>, StateError> {
    let (version, payload) = unseal(MAGIC_SAVESTATE, SAVESTATE_VERSIONS, bytes)?;
    let mut p = Payload(Reader::new(payload));
    let s = read_opt_saved(&mut p, version >= 3)?;
    p.finish()?;
    Ok(s)
}

fn seal(magic: [u8; 4], version: u16, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut o = Vec::with_capacity(16 * 1024);
    o.extend_from_slice(&magic);
    o.put_u16(version);
    o.put_u32(0);
    body(&mut o);
    let len = (o.len() - HEADER_LEN) as u32;
    o.patch_u32(6, len);
    let d = hash(TPM_ALG_SHA256, &[&o]);
    o.extend_from_slice(d.as_ref().map_or(&[][..], |d| d.as_ref()));
    o
}

/// Checks magic, version (one of `versions`), length and digest; returns version and payload.
fn unseal<'a>(
    magic: [u8; 4],
    versions: &[u16],
    bytes: &'a [u8],
) -> Result<(u16, &'a [u8]), StateError> {
    let mut r = Reader::new(bytes);
    let found = r.take(4).map_err(|_| StateError::Truncated(bytes.len()))?;
    if found != magic {
        let mut f = [0u8; 4];
        f.copy_from_slice(found);
        return Err(StateError::BadMagic {
            found: f,
            expected: magic,
        });
    }
    let version = r.u16().map_err(|_| StateError::Truncated(bytes.len()))?;
    if !versions.contains(&version) {
        return Err(StateError::UnsupportedVersion(version));
    }
    let len = r.u32().map_err(|_| StateError::Truncated(bytes.len()))? as usize;
    let total = HEADER_LEN.saturating_add(len).saturating_add(DIGEST_LEN);
    if bytes.len() < total {
        return Err(StateError::Truncated(bytes.len()));
    }
    if bytes.len() > total {
        return Err(StateError::Trailing(bytes.len() - total));
    }
    let (content, digest) = bytes.split_at(HEADER_LEN + len);
    let want = hash(TPM_ALG_SHA256, &[content]).ok_or(StateError::ChecksumMismatch)?;
    if want.as_ref() != digest {
        return Err(StateError::ChecksumMismatch);
    }
    Ok((version, &content[HEADER_LEN..]))
}

/// Test support: re-seals a permanent blob's payload, edited by `edit`, under `version`
/// (to build old-format and malformed-but-checksummed blobs).
#[cfg(test)]
pub fn reseal_permanent(blob: &[u8], version: u16, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let (_, payload) = unseal(MAGIC_PERMANENT, PERMANENT_VERSIONS, blob).unwrap_or_default();
    let mut payload = payload.to_vec();
    edit(&mut payload);
    seal(MAGIC_PERMANENT, version, |o| o.extend_from_slice(&payload))
}

/// Test support: re-seals a volatile blob's payload, edited by `edit`, at the current version.
#[cfg(test)]
pub fn reseal_volatile(blob: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let (_, payload) = unseal(MAGIC_VOLATILE, VOLATILE_VERSIONS, blob).unwrap_or_default();
    let mut payload = payload.to_vec();
    edit(&mut payload);
    seal(MAGIC_VOLATILE, VOLATILE_VERSION, |o| {
        o.extend_from_slice(&payload)
    })
}
