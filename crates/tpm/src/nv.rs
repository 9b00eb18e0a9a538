//! NV index storage (Part 1, 37 "NV Memory"; Part 2, 13; Part 3, 31): the indices, their
//! attribute life cycle across Startup and Clear, the space budget, and the access rules the
//! dispatcher's authorization path and the NV commands share.

use std::collections::BTreeMap;

use crate::crypto;
use crate::state::{Auth, Policy};
use tpm_proto::*;

/// `MAX_NV_BUFFER_SIZE` (`TPM_PT_NV_BUFFER_MAX`): largest TPM2_NV_Read/Write/Extend buffer.
pub const NV_BUFFER_MAX: usize = 1024;
/// `MAX_NV_INDEX_SIZE` (`TPM_PT_NV_INDEX_MAX`): largest ordinary index.
pub const NV_INDEX_MAX: usize = 2048;
/// NV memory available to indices (libtpms reserves 128 KiB of NV for everything).
pub const NV_MEMORY: usize = 128 * 1024;
/// Bookkeeping charged per index on top of its public area, auth value and data.
const ENTRY_OVERHEAD: usize = 32;

/// One defined NV index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NvIndex {
    /// Public area; its attributes carry WRITTEN, WRITELOCKED and READLOCKED.
    pub public: TpmsNvPublic,
    /// `authValue`.
    pub auth: Auth,
    /// Contents, always `dataSize` octets (zero until written).
    pub data: Vec<u8>,
}

impl NvIndex {
    /// The attributes.
    pub fn attrs(&self) -> TpmaNv {
        self.public.attributes
    }

    /// NV memory this index occupies.
    pub fn cost(&self) -> usize {
        ENTRY_OVERHEAD + 14 + self.public.auth_policy.len() + Auth::MAX + self.data.len()
    }

    /// The index's Name: `nameAlg ‖ H_nameAlg(TPMS_NV_PUBLIC)` (Part 1, 16 "Names").
    pub fn name(&self) -> Vec<u8> {
        let mut n = self.public.name_alg.to_be_bytes().to_vec();
        if let Some(d) = crypto::hash(self.public.name_alg, &[&self.public.to_bytes()]) {
            n.extend_from_slice(d.as_ref());
        }
        n
    }

    /// The first 8 octets as a big-endian integer (counter, bit field, PIN parameters).
    pub fn u64(&self) -> u64 {
        let mut b = [0u8; 8];
        if let Some(s) = self.data.get(..8) {
            b.copy_from_slice(s);
        }
        u64::from_be_bytes(b)
    }

    /// Writes `bytes` at `offset`, setting WRITTEN; returns whether anything changed.
    /// The first write of an ordinary index clears the rest of it (Part 3, 31.7 "NV_Write") to
    /// what the reference implementation and libtpms leave there: erased-flash 0xFF, or zeros
    /// for an ORDERLY (RAM-backed) index. Callers have checked the range.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> bool {
        let mut changed = false;
        let a = self.attrs();
        if !a.has(TpmaNv::WRITTEN) {
            self.public.attributes = a.with(TpmaNv::WRITTEN, true);
            if a.nt() == Some(TpmNt::Ordinary) {
                self.data
                    .fill(if a.has(TpmaNv::ORDERLY) { 0x00 } else { 0xFF });
            }
            changed = true;
        }
        if let Some(dst) = self.data.get_mut(offset..offset + bytes.len())
            && dst != bytes
        {
            dst.copy_from_slice(bytes);
            changed = true;
        }
        changed
    }

    /// `TPMS_NV_PIN_COUNTER_PARAMETERS` (Part 2, 13.2): (pinCount, pinLimit).
    pub fn pin(&self) -> (u32, u32) {
        let v = self.u64();
        ((v >> 32) as u32, v as u32)
    }
}

/// How a TPM2_Startup affects NV (Part 1, 37.? and the reference `NvEntityStartup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartupKind {
    /// Startup(CLEAR) without a preceding Shutdown(STATE).
    Reset,
    /// Startup(CLEAR) after Shutdown(STATE).
    Restart,
    /// Startup(STATE): NV attributes are kept.
    Resume,
}

/// All NV indices plus the largest value of a deleted counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NvStore {
    /// Indices by handle.
    pub indices: BTreeMap<u32, NvIndex>,
    /// Highest value any deleted counter reached: a new counter starts above it so that
    /// undefining and redefining cannot roll a counter back (Part 1, 37.? "NV Counters").
    pub max_counter: u64,
}

impl NvStore {
    /// NV memory in use.
    pub fn used(&self) -> usize {
        self.indices.values().map(NvIndex::cost).sum()
    }

    /// Number of counter indices (`TPM_PT_NV_COUNTERS`).
    pub fn counters(&self) -> usize {
        self.indices
            .values()
            .filter(|i| i.attrs().nt() == Some(TpmNt::Counter))
            .count()
    }

    /// Removes an index, remembering a written counter's value; returns it.
    pub fn remove(&mut self, h: u32) -> Option<NvIndex> {
        let idx = self.indices.remove(&h)?;
        if idx.attrs().nt() == Some(TpmNt::Counter) && idx.attrs().has(TpmaNv::WRITTEN) {
            self.max_counter = self.max_counter.max(idx.u64());
        }
        Some(idx)
    }

    /// TPM2_Clear: deletes every index not created with platformAuth; true if any was.
    pub fn clear_owner(&mut self) -> bool {
        let owner: Vec<u32> = self
            .indices
            .iter()
            .filter(|(_, i)| !i.attrs().has(TpmaNv::PLATFORMCREATE))
            .map(|(h, _)| *h)
            .collect();
        for h in &owner {
            self.remove(*h);
        }
        !owner.is_empty()
    }

    /// Attribute changes at TPM Reset/Restart: READLOCKED cleared; WRITTEN cleared for
    /// CLEAR_STCLEAR (and ORDERLY at TPM Reset) non-counters; WRITELOCKED cleared unless the
    /// index is written and WRITEDEFINE. Returns whether anything changed.
    pub fn startup(&mut self, kind: StartupKind) -> bool {
        if kind == StartupKind::Resume {
            return false;
        }
        let mut changed = false;
        for idx in self.indices.values_mut() {
            let a = idx.attrs();
            let mut n = a.with(TpmaNv::READLOCKED, false);
            if n.nt() != Some(TpmNt::Counter)
                && (n.has(TpmaNv::CLEAR_STCLEAR)
                    || (n.has(TpmaNv::ORDERLY) && kind == StartupKind::Reset))
            {
                n = n.with(TpmaNv::WRITTEN, false);
            }
            if !n.has(TpmaNv::WRITTEN) || !n.has(TpmaNv::WRITEDEFINE) {
                n = n.with(TpmaNv::WRITELOCKED, false);
            }
            if n != a {
                idx.public.attributes = n;
                changed = true;
            }
        }
        changed
    }

    /// TPM2_NV_GlobalWriteLock: WRITELOCKED on every GLOBALLOCK index; true if any changed.
    pub fn global_lock(&mut self) -> bool {
        let mut changed = false;
        for idx in self.indices.values_mut() {
            let a = idx.attrs();
            if a.has(TpmaNv::GLOBALLOCK) && !a.has(TpmaNv::WRITELOCKED) {
                idx.public.attributes = a.with(TpmaNv::WRITELOCKED, true);
                changed = true;
            }
        }
        changed
    }
}

/// Which way a command uses an NV index (the reference's `IsWriteOperation` /
/// `IsReadOperation`): selects AUTHWRITE/POLICYWRITE or AUTHREAD/POLICYREAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NvOp {
    /// NV_Write, NV_Increment, NV_SetBits, NV_Extend, NV_WriteLock.
    Write,
    /// Every other command that authorizes with an index (NV_Read, NV_ReadLock, and later
    /// PolicySecret, PolicyNV, NV_Certify).
    Read,
}

impl NvOp {
    /// The operation class of command `cc`.
    pub fn of(cc: u32) -> Self {
        match cc {
            TPM_CC_NV_WRITE | TPM_CC_NV_INCREMENT | TPM_CC_NV_SET_BITS | TPM_CC_NV_EXTEND
            | TPM_CC_NV_WRITE_LOCK => NvOp::Write,
            _ => NvOp::Read,
        }
    }
}

/// Whether the index's authValue may authorize `op` (Part 1, 19.? and the reference
/// `IsAuthValueAvailable`): AUTHWRITE for writes; for reads AUTHREAD, or for a PIN index,
/// written and `pinCount < pinLimit`.
pub fn auth_value_available(idx: &NvIndex, op: NvOp) -> bool {
    let a = idx.attrs();
    match op {
        NvOp::Write => a.has(TpmaNv::AUTHWRITE),
        NvOp::Read => match a.nt() {
            Some(TpmNt::PinFail | TpmNt::PinPass) => {
                let (count, limit) = idx.pin();
                a.has(TpmaNv::WRITTEN) && count < limit
            }
            _ => a.has(TpmaNv::AUTHREAD),
        },
    }
}

/// Whether the index's authPolicy may authorize `op` (reference `IsAuthPolicyAvailable`), for
/// the policy-session path: a non-empty policy and POLICYWRITE/POLICYREAD (always for the
/// ADMIN role).
#[allow(
    dead_code,
    reason = "consumed by policy sessions, which are not merged yet"
)]
pub fn auth_policy_available(idx: &NvIndex, op: NvOp, admin: bool) -> bool {
    let a = idx.attrs();
    !idx.public.auth_policy.is_empty()
        && (admin
            || match op {
                NvOp::Write => a.has(TpmaNv::POLICYWRITE),
                NvOp::Read => a.has(TpmaNv::POLICYREAD),
            })
}

/// The index's authPolicy as a [`Policy`] (what a policy session must match).
pub fn auth_policy(idx: &NvIndex) -> Policy {
    Policy {
        alg: idx.public.name_alg,
        digest: Auth::new(&idx.public.auth_policy).unwrap_or_default(),
    }
}

/// `NvReadAccessChecks` (Part 3, 31.13 / 31.14): READLOCKED, then who may authorize the read,
/// then WRITTEN.
pub fn read_access(auth_handle: u32, nv: u32, a: TpmaNv) -> Result<(), u32> {
    if a.has(TpmaNv::READLOCKED) {
        return Err(TPM_RC_NV_LOCKED);
    }
    let allowed = match auth_handle {
        TPM_RH_OWNER => a.has(TpmaNv::OWNERREAD),
        TPM_RH_PLATFORM => a.has(TpmaNv::PPREAD),
        h => h == nv,
    };
    if !allowed {
        return Err(TPM_RC_NV_AUTHORIZATION);
    }
    if !a.has(TpmaNv::WRITTEN) {
        return Err(TPM_RC_NV_UNINITIALIZED);
    }
    Ok(())
}

/// `NvWriteAccessChecks` (Part 3, 31.7 …): WRITELOCKED, then who may authorize the write.
pub fn write_access(auth_handle: u32, nv: u32, a: TpmaNv) -> Result<(), u32> {
    if a.has(TpmaNv::WRITELOCKED) {
        return Err(TPM_RC_NV_LOCKED);
    }
    let allowed = match auth_handle {
        TPM_RH_OWNER => a.has(TpmaNv::OWNERWRITE),
        TPM_RH_PLATFORM => a.has(TpmaNv::PPWRITE),
        h => h == nv,
    };
    if allowed {
        Ok(())
    } else {
        Err(TPM_RC_NV_AUTHORIZATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(attrs: u32, size: usize) -> NvIndex {
        NvIndex {
            public: TpmsNvPublic {
                nv_index: 0x0100_0001,
                name_alg: TPM_ALG_SHA256,
                attributes: TpmaNv(attrs),
                auth_policy: vec![],
                data_size: size as u16,
            },
            auth: Auth::default(),
            data: vec![0; size],
        }
    }

    #[test]
    fn startup_lock_rules() {
        let mut s = NvStore::default();
        let def = TpmaNv::WRITEDEFINE | TpmaNv::WRITTEN | TpmaNv::WRITELOCKED;
        s.indices.insert(1, index(def | TpmaNv::READLOCKED, 4));
        s.indices
            .insert(2, index(TpmaNv::WRITE_STCLEAR | TpmaNv::WRITELOCKED, 4));
        s.indices.insert(
            3,
            index(
                TpmaNv::CLEAR_STCLEAR | TpmaNv::WRITTEN | TpmaNv::WRITEDEFINE,
                4,
            ),
        );
        s.indices
            .insert(4, index(TpmaNv::ORDERLY | TpmaNv::WRITTEN, 4));
        let before = s.clone();
        assert!(!s.startup(StartupKind::Resume));
        assert_eq!(s, before);
        assert!(s.startup(StartupKind::Restart));
        assert_eq!(s.indices[&1].attrs(), TpmaNv(def));
        assert_eq!(s.indices[&2].attrs(), TpmaNv(TpmaNv::WRITE_STCLEAR));
        assert_eq!(
            s.indices[&3].attrs(),
            TpmaNv(TpmaNv::CLEAR_STCLEAR | TpmaNv::WRITEDEFINE)
        );
        // Orderly data survives a Restart but not a Reset.
        assert!(s.indices[&4].attrs().has(TpmaNv::WRITTEN));
        assert!(s.startup(StartupKind::Reset));
        assert!(!s.indices[&4].attrs().has(TpmaNv::WRITTEN));
        assert!(!s.startup(StartupKind::Reset));
    }

    #[test]
    fn deleted_counter_raises_floor() {
        let mut s = NvStore::default();
        let mut c = index(0x10 | TpmaNv::WRITTEN, 8);
        c.data = 41u64.to_be_bytes().to_vec();
        s.indices.insert(1, c);
        assert_eq!(s.counters(), 1);
        assert!(s.clear_owner());
        assert_eq!(s.max_counter, 41);
        assert!(!s.clear_owner());
    }

    #[test]
    fn first_partial_write_clears_ordinary_index() {
        let mut i = index(0, 4);
        i.data = vec![9; 4];
        assert!(i.write(1, &[7]));
        assert_eq!(i.data, [0xFF, 7, 0xFF, 0xFF]);
        assert!(!i.write(1, &[7]));
        assert!(i.attrs().has(TpmaNv::WRITTEN));
        let mut i = index(TpmaNv::ORDERLY, 4);
        i.data = vec![9; 4];
        assert!(i.write(3, &[7]));
        assert_eq!(i.data, [0, 0, 0, 7]);
    }
}
