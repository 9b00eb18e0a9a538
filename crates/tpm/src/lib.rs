//! TPM 2.0 engine. Pure logic: bytes in, bytes out; persistence is the caller's job.
//!
//! The API below is the contract between the engine and the `tl-vtpm` daemon (`crates/vtpm`).
#![forbid(unsafe_code)]

mod audit;
mod cmd;
mod crypto;
mod dispatch;
mod nv;
mod object;
mod pcr;
mod pp;
mod session;
mod state;

use std::time::Instant;

/// Where the engine's millisecond ticks come from: the monotonic clock, or in tests a counter
/// the test advances (no test waits on wall-clock time).
#[derive(Clone, Debug)]
enum Ticks {
    /// Milliseconds since this instant.
    Monotonic(Instant),
    /// Milliseconds set by a test.
    #[cfg(test)]
    Manual(std::sync::Arc<std::sync::atomic::AtomicU64>),
}

impl Ticks {
    fn now_ms(&self) -> u64 {
        match self {
            Ticks::Monotonic(origin) => origin.elapsed().as_millis() as u64,
            #[cfg(test)]
            Ticks::Manual(ms) => ms.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

pub use state::StateError;
/// Wire types and constants the daemon needs (headers, `TPM_CC_*`, `TPM_RC_*`, `TPM_SU_*`).
pub use tpm_proto as proto;

use crypto::{HASH_COUNT, Hasher};
use pcr::{ALL_PCRS, PCR_COUNT};
use state::{Auth, Orderly, Permanent, Policy, Volatile};
use tpm_proto::{
    TPM_ALG_NULL, TPM_RC_LOCALITY, TPM_RH_ENDORSEMENT, TPM_RH_LOCKOUT, TPM_RH_OWNER,
    TPM_RH_PLATFORM,
};

/// Which state blob (swtpm's `PTM_BLOB_TYPE_*` numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobType {
    /// NV memory: seeds, hierarchy auths, NV indices, PCR allocation, orderly state from
    /// `TPM2_Shutdown(STATE)`, clock. Written to `tpm2-00.permall`.
    Permanent = 1,
    /// A snapshot of volatile state (PCRs, loaded objects, sessions) for STORE_VOLATILE and migration.
    Volatile = 2,
    /// The `TPM2_Shutdown(STATE)` save area (kept separately for swtpm blob-type compatibility;
    /// it is also part of the permanent blob).
    SaveState = 3,
}

/// A TPM 2.0 instance.
pub struct Tpm {
    perm: Permanent,
    vol: Volatile,
    /// Permanent state changed since the last `take_permanent_dirty`.
    dirty: bool,
    /// Failure mode (self test failed): every command gets `TPM_RC_FAILURE`.
    failed: bool,
    /// Tick source of `clock()` and `time()`.
    ticks: Ticks,
    /// Tick value when `clock_at_anchor` / `time_at_anchor` were taken.
    anchor: u64,
    clock_at_anchor: u64,
    time_at_anchor: u64,
    /// `_TPM_Hash_Start` … `_TPM_Hash_End` in progress: one hash per implemented algorithm.
    drtm: Option<[Hasher; HASH_COUNT]>,
    /// `TPM2_StirRandom` additional input, mixed into every `TPM2_GetRandom` output.
    stir: Option<[u8; 64]>,
    /// Counter distinguishing successive outputs mixed with the same `stir` pool.
    stir_counter: u64,
    /// The platform asserts physical presence (simulator signal); never by default.
    pp_asserted: bool,
    /// Clock ticks per millisecond of TPM time, as TPM2_ClockRateAdjust left it (the
    /// reference platform's `s_adjustRate`; nominal [`CLOCK_NOMINAL`], reset at `_TPM_Init`).
    clock_rate: u32,
    /// EC_Ephemeral commitments awaiting ZGen_2Phase.
    commit: cmd::ecdh::Commit,
}

/// Reference platform `CLOCK_NOMINAL`: ticks per millisecond at the nominal rate.
const CLOCK_NOMINAL: u32 = 30_000;
/// TPM2_ClockRateAdjust may move the rate this far from nominal (`CLOCK_ADJUST_LIMIT`).
const CLOCK_ADJUST_LIMIT: u32 = 5_000;

fn empty_policy() -> Policy {
    Policy {
        alg: TPM_ALG_NULL,
        digest: Auth::default(),
    }
}

fn fresh_volatile(pcr_alloc: [u32; HASH_COUNT]) -> Volatile {
    Volatile {
        started: false,
        pcr_alloc,
        pcrs: Box::new([[[0u8; 64]; PCR_COUNT]; HASH_COUNT]),
        pcr_update_counter: 0,
        ph_enable: true,
        sh_enable: true,
        eh_enable: true,
        ph_enable_nv: true,
        platform_auth: Auth::default(),
        platform_policy: empty_policy(),
        null_proof: crypto::secret(),
        self_tested: false,
        time: 0,
        clock_safe: true,
        objects: Default::default(),
        sessions: Default::default(),
        context_counter: 0,
        audit: Default::default(),
    }
}

impl Tpm {
    /// A freshly manufactured TPM: new random seeds, SHA-1/256/384/512 banks allocated, empty NV.
    /// It is in the `_TPM_Init` state (the next command must be `TPM2_Startup`) and dirty.
    pub fn manufacture() -> Tpm {
        let perm = Permanent {
            eps: crypto::secret(),
            sps: crypto::secret(),
            pps: crypto::secret(),
            ph_proof: crypto::secret(),
            sh_proof: crypto::secret(),
            eh_proof: crypto::secret(),
            owner_auth: Auth::default(),
            endorsement_auth: Auth::default(),
            lockout_auth: Auth::default(),
            owner_policy: empty_policy(),
            endorsement_policy: empty_policy(),
            lockout_policy: empty_policy(),
            disable_clear: false,
            pcr_alloc: [ALL_PCRS; HASH_COUNT],
            reset_count: 0,
            restart_count: 0,
            clock: 0,
            // A new TPM counts as cleanly shut down: its first Startup(CLEAR) is "safe".
            orderly: Orderly::Clear,
            established: false,
            lockout_recovery: 1000,
            max_tries: 3,
            recovery_time: 1000,
            failed_tries: 0,
            lockout_blocked_until: 0,
            self_heal_from: 0,
            pp_list: pp::default_list(),
            algorithm_set: 0,
            saved: None,
            persistent: Vec::new(),
            rsa_cache: state::RsaCache::default(),
            nv: nv::NvStore::default(),
            command_audit: audit::CommandAudit::default(),
        };
        Self::from_parts(perm, None, true)
    }

    fn from_parts(perm: Permanent, vol: Option<Volatile>, dirty: bool) -> Tpm {
        let clock = perm.clock;
        let time = vol.as_ref().map_or(0, |v| v.time);
        let vol = vol.unwrap_or_else(|| fresh_volatile(perm.pcr_alloc));
        Tpm {
            perm,
            vol,
            dirty,
            failed: false,
            ticks: Ticks::Monotonic(Instant::now()),
            anchor: 0,
            clock_at_anchor: clock,
            time_at_anchor: time,
            drtm: None,
            stir: None,
            stir_counter: 0,
            pp_asserted: false,
            clock_rate: CLOCK_NOMINAL,
            commit: cmd::ecdh::Commit::new(),
        }
    }

    /// Rebuilds a TPM from its permanent blob and optionally a volatile snapshot. Without a
    /// snapshot the TPM is in the `_TPM_Init` state; with one it resumes exactly where the
    /// snapshot was taken (started, same PCRs), as swtpm does on `CMD_INIT` after
    /// `SET_STATEBLOB(VOLATILE)`.
    pub fn restore(permanent: &[u8], volatile: Option<&[u8]>) -> Result<Tpm, StateError> {
        let perm = state::read_permanent(permanent)?;
        let vol = volatile.map(state::read_volatile).transpose()?;
        Ok(Self::from_parts(perm, vol, false))
    }

    /// `_TPM_Init`: power-on/reset. Volatile state is lost (unless restored from a Shutdown(STATE)
    /// save area by the following `TPM2_Startup(STATE)`); the next command must be `TPM2_Startup`.
    pub fn init(&mut self) {
        let clock = self.clock();
        self.clock_rate = CLOCK_NOMINAL;
        self.vol = fresh_volatile(self.perm.pcr_alloc);
        self.anchor = self.ticks.now_ms();
        self.clock_at_anchor = clock;
        self.time_at_anchor = 0;
        self.drtm = None;
        self.failed = false;
    }

    /// Executes one command (a complete frame). Always returns a response frame, never panics.
    pub fn execute(&mut self, locality: u8, command: &[u8]) -> Vec<u8> {
        dispatch::execute(self, locality, command)
    }

    /// True (once) if the permanent state changed since the last call: the caller persists it.
    pub fn take_permanent_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Serializes one blob (versioned, integrity-checked format owned by this crate).
    pub fn save(&self, blob: BlobType) -> Vec<u8> {
        match blob {
            BlobType::Permanent => state::write_permanent(&self.perm, self.clock()),
            BlobType::Volatile => state::write_volatile(&self.vol, self.time()),
            BlobType::SaveState => state::write_savestate(&self.perm.saved),
        }
    }

    /// Replaces one blob (e.g. incoming migration). The TPM must be re-initialised afterwards
    /// (`init`, or `restore` with the volatile blob to resume).
    pub fn load(&mut self, blob: BlobType, bytes: &[u8]) -> Result<(), StateError> {
        match blob {
            BlobType::Permanent => {
                self.perm = state::read_permanent(bytes)?;
                self.clock_at_anchor = self.perm.clock;
                self.anchor = self.ticks.now_ms();
            }
            BlobType::Volatile => {
                self.vol = state::read_volatile(bytes)?;
                self.time_at_anchor = self.vol.time;
                self.clock_at_anchor = self.clock();
                self.anchor = self.ticks.now_ms();
            }
            BlobType::SaveState => {
                self.perm.saved = state::read_savestate(bytes)?;
                self.dirty = true;
            }
        }
        Ok(())
    }

    /// The TPM-established flag (PC Client: set by a DRTM `_TPM_Hash_Start`).
    pub fn established(&self) -> bool {
        self.perm.established
    }

    /// Clears the TPM-established flag (needs locality 3 or 4).
    pub fn reset_established(&mut self, locality: u8) -> Result<(), u32> {
        if locality != 3 && locality != 4 {
            return Err(TPM_RC_LOCALITY);
        }
        if self.perm.established {
            self.perm.established = false;
            self.dirty = true;
        }
        Ok(())
    }

    /// `_TPM_Hash_Start` (DRTM, locality 4).
    pub fn hash_start(&mut self) {
        self.drtm = Some(std::array::from_fn(Hasher::bank));
    }

    /// `_TPM_Hash_Data`.
    pub fn hash_data(&mut self, data: &[u8]) {
        if let Some(hs) = self.drtm.as_mut() {
            for h in hs.iter_mut() {
                h.update(data);
            }
        }
    }

    /// `_TPM_Hash_End`: resets PCRs 17–22 to zero, extends PCR 17 with the digest of the data in
    /// every allocated bank, and sets the established flag.
    pub fn hash_end(&mut self) {
        let Some(hs) = self.drtm.take() else { return };
        for (b, h) in hs.into_iter().enumerate() {
            let d = h.finish();
            for p in 17..=22 {
                self.vol.pcrs[b][p] = [0; 64];
            }
            if self.vol.pcr_alloc[b] & (1 << 17) != 0 {
                pcr::extend(&mut self.vol.pcrs, b, 17, d.as_ref());
            }
        }
        self.vol.pcr_update_counter = self.vol.pcr_update_counter.wrapping_add(1);
        if !self.perm.established {
            self.perm.established = true;
            self.dirty = true;
        }
    }

    /// Sets whether the platform asserts physical presence (the simulator protocol's
    /// `TPM_SIGNAL_PHYS_PRES_ON` / `_OFF`), which commands on the PP_Commands list and
    /// PolicyPhysicalPresence sessions need when authorized.
    pub fn set_physical_presence(&mut self, asserted: bool) {
        self.pp_asserted = asserted;
    }

    /// Milliseconds of TPM time since the anchor: monotonic ticks scaled by the clock rate.
    fn since_anchor(&self) -> u64 {
        let ms = u128::from(self.ticks.now_ms().saturating_sub(self.anchor));
        let scaled = ms * u128::from(CLOCK_NOMINAL) / u128::from(self.clock_rate.max(1));
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }

    /// TPM2_ClockRateAdjust: re-anchors Clock and Time at their current values, then moves
    /// the rate one coarse (±3), medium (±2) or fine (±1) step (slower for negative values,
    /// as the reference platform's `_plat__ClockRateAdjust`), within the limit.
    fn adjust_clock_rate(&mut self, adjust: i8) {
        self.clock_at_anchor = self.clock();
        self.time_at_anchor = self.time();
        self.anchor = self.ticks.now_ms();
        let step: i64 = match adjust.unsigned_abs() {
            3 => 300,
            2 => 30,
            1 => 1,
            _ => 0,
        };
        let delta = if adjust < 0 { step } else { -step };
        let lo = i64::from(CLOCK_NOMINAL - CLOCK_ADJUST_LIMIT);
        let hi = i64::from(CLOCK_NOMINAL + CLOCK_ADJUST_LIMIT);
        let rate = (i64::from(self.clock_rate) + delta).clamp(lo, hi);
        self.clock_rate = u32::try_from(rate).unwrap_or(CLOCK_NOMINAL);
    }

    /// `TPMS_CLOCK_INFO.clock`: milliseconds the TPM has been powered over its lifetime.
    fn clock(&self) -> u64 {
        self.clock_at_anchor + self.since_anchor()
    }

    /// ClockSet: moves `Clock` forward to `new` (callers check `new >= clock()`) and marks
    /// permanent state dirty so the new value reaches NV.
    fn set_clock(&mut self, new: u64) {
        let delta = new.saturating_sub(self.clock());
        self.clock_at_anchor = self.clock_at_anchor.saturating_add(delta);
        self.dirty = true;
    }

    /// `TPMS_TIME_INFO.time`: milliseconds since `_TPM_Init`.
    fn time(&self) -> u64 {
        self.time_at_anchor + self.since_anchor()
    }

    /// Test support: from now on `clock()`/`time()` advance only when the returned counter
    /// (milliseconds) is advanced.
    #[cfg(test)]
    fn manual_clock(&mut self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        let ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        self.clock_at_anchor = self.clock();
        self.time_at_anchor = self.time();
        self.ticks = Ticks::Manual(ms.clone());
        self.anchor = 0;
        ms
    }

    /// Dictionary-attack self-healing (reference `DASelfHeal`): `failedTries` drops by one per
    /// `recoveryTime` seconds of TPM clock since the last failure (clock only advances while
    /// powered); with `recoveryTime` 0 (DA disabled) it is cleared.
    fn da_heal(&mut self) {
        if self.perm.failed_tries == 0 {
            return;
        }
        let now = self.clock();
        let p = &mut self.perm;
        if p.recovery_time == 0 {
            p.failed_tries = 0;
            self.dirty = true;
            return;
        }
        let period = u64::from(p.recovery_time) * 1000;
        let healed = now.saturating_sub(p.self_heal_from) / period;
        if healed > 0 {
            p.failed_tries = p
                .failed_tries
                .saturating_sub(u32::try_from(healed).unwrap_or(u32::MAX));
            p.self_heal_from = p.self_heal_from.saturating_add(healed * period);
            self.dirty = true;
        }
    }

    /// Random bytes from the DRBG; with a `StirRandom` pool, XORed with
    /// SHA-512(pool || counter) so caller entropy influences the output.
    fn random(&mut self, out: &mut [u8]) -> Result<(), u32> {
        crypto::random(out).map_err(|()| tpm_proto::TPM_RC_FAILURE)?;
        if let Some(pool) = &self.stir {
            self.stir_counter = self.stir_counter.wrapping_add(1);
            let mask = crypto::hash(
                tpm_proto::TPM_ALG_SHA512,
                &[pool, &self.stir_counter.to_be_bytes()],
            )
            .ok_or(tpm_proto::TPM_RC_FAILURE)?;
            for (o, m) in out.iter_mut().zip(mask.as_ref()) {
                *o ^= m;
            }
        }
        Ok(())
    }

    /// A loaded transient object or a persistent object.
    fn object(&self, h: u32) -> Option<&object::Object> {
        match (h >> 24) as u8 {
            tpm_proto::TPM_HT_TRANSIENT => self.vol.objects.get(h),
            tpm_proto::TPM_HT_PERSISTENT => self
                .perm
                .persistent
                .iter()
                .find(|(p, _)| *p == h)
                .map(|(_, o)| o),
            _ => None,
        }
    }

    /// The NULL hierarchy's seed: derived from the per-reset null proof, so it changes at every
    /// TPM Reset as `nullSeed` does (Part 1, 14.5).
    fn null_seed(&self) -> [u8; 64] {
        let mut s = [0u8; 64];
        if let Some(d) = crypto::hmac(
            tpm_proto::TPM_ALG_SHA512,
            &self.vol.null_proof,
            &[b"null seed"],
        ) {
            s.copy_from_slice(d.as_ref());
        }
        s
    }

    /// The authValue of an entity handle (permanent hierarchies, objects, NV indices; PCRs
    /// have an empty one).
    fn entity_auth(&self, h: u32) -> Auth {
        match h {
            TPM_RH_OWNER => self.perm.owner_auth,
            TPM_RH_ENDORSEMENT => self.perm.endorsement_auth,
            TPM_RH_PLATFORM => self.vol.platform_auth,
            TPM_RH_LOCKOUT => self.perm.lockout_auth,
            h if tpm_proto::nv::is_nv_index(h) => self
                .perm
                .nv
                .indices
                .get(&h)
                .map_or_else(Auth::default, |i| i.auth),
            _ => self
                .object(h)
                .and_then(|o| Auth::new(o.auth()))
                .unwrap_or_default(),
        }
    }

    /// The authPolicy of an entity handle, for policy-session authorization: hierarchy
    /// policies and NV index policies (`None` for entities without one).
    fn entity_policy(&self, h: u32) -> Option<Policy> {
        match h {
            TPM_RH_OWNER => Some(self.perm.owner_policy),
            TPM_RH_ENDORSEMENT => Some(self.perm.endorsement_policy),
            TPM_RH_PLATFORM => Some(self.vol.platform_policy),
            TPM_RH_LOCKOUT => Some(self.perm.lockout_policy),
            h if tpm_proto::nv::is_nv_index(h) => self.perm.nv.indices.get(&h).map(nv::auth_policy),
            _ => None,
        }
    }

    /// The NV index `h` if it is defined and visible: owner indices vanish while `shEnable`
    /// is CLEAR, platform indices while `phEnableNV` is CLEAR (reference `NvIndexIsAccessible`).
    fn nv_index(&self, h: u32) -> Result<&nv::NvIndex, u32> {
        let idx = self
            .perm
            .nv
            .indices
            .get(&h)
            .ok_or(tpm_proto::TPM_RC_HANDLE)?;
        let visible = if idx.attrs().has(tpm_proto::TpmaNv::PLATFORMCREATE) {
            self.vol.ph_enable_nv
        } else {
            self.vol.sh_enable
        };
        if visible {
            Ok(idx)
        } else {
            Err(tpm_proto::TPM_RC_HANDLE)
        }
    }
}

#[cfg(test)]
mod tests;
