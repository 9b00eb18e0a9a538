//! TPM2_GetCapability (Part 3, 30.2) and the property tables it reports.

use super::COMMANDS;
use crate::Tpm;
use crate::crypto::HASH_ALGS;
use crate::dispatch::{Ctx, param};
use crate::nv::{NV_BUFFER_MAX, NV_INDEX_MAX, NV_MEMORY, NvIndex};
use crate::pcr::{self, PCR_COUNT, PCR_SELECT_SIZE};
use tpm_proto::types::TpmsPcrSelection;
use tpm_proto::*;

/// `MAX_CAP_BUFFER`.
pub const MAX_CAP_BUFFER: u32 = 1024;
/// `MAX_CAP_DATA` = `MAX_CAP_BUFFER - sizeof(TPM_CAP) - sizeof(UINT32)`.
const MAX_CAP_DATA: u32 = MAX_CAP_BUFFER - 8;
const MAX_CAP_ALGS: u32 = MAX_CAP_DATA / 6;
const MAX_CAP_HANDLES: u32 = MAX_CAP_DATA / 4;
const MAX_CAP_CC: u32 = MAX_CAP_DATA / 4;
const MAX_TPM_PROPERTIES: u32 = MAX_CAP_DATA / 8;
const MAX_PCR_PROPERTIES: u32 = MAX_CAP_DATA / 8;
const MAX_ECC_CURVES: u32 = MAX_CAP_DATA / 2;

// TPMA_ALGORITHM (Part 2, 8.2).
const ASYMMETRIC: u32 = 0x1;
const SYMMETRIC: u32 = 0x2;
const HASH: u32 = 0x4;
const OBJECT: u32 = 0x8;
const SIGNING: u32 = 0x100;
const ENCRYPTING: u32 = 0x200;
const METHOD: u32 = 0x400;

/// Implemented algorithms and their `TPMA_ALGORITHM`, sorted (attributes as libtpms reports).
const ALGS: &[(u16, u32)] = &[
    (TPM_ALG_RSA, ASYMMETRIC | OBJECT),
    (TPM_ALG_SHA1, HASH),
    (TPM_ALG_HMAC, HASH | SIGNING),
    (TPM_ALG_AES, SYMMETRIC),
    (TPM_ALG_MGF1, HASH | METHOD),
    (TPM_ALG_KEYEDHASH, HASH | OBJECT | SIGNING | ENCRYPTING),
    (TPM_ALG_XOR, SYMMETRIC | HASH),
    (TPM_ALG_SHA256, HASH),
    (TPM_ALG_SHA384, HASH),
    (TPM_ALG_SHA512, HASH),
    (TPM_ALG_NULL, 0),
    (TPM_ALG_RSASSA, ASYMMETRIC | SIGNING),
    (TPM_ALG_RSAES, ASYMMETRIC | ENCRYPTING),
    (TPM_ALG_RSAPSS, ASYMMETRIC | SIGNING),
    (TPM_ALG_OAEP, ASYMMETRIC | ENCRYPTING),
    (TPM_ALG_ECDSA, ASYMMETRIC | SIGNING | METHOD),
    (TPM_ALG_ECDH, ASYMMETRIC | METHOD),
    (TPM_ALG_KDF1_SP800_56A, HASH | METHOD),
    (TPM_ALG_KDF1_SP800_108, HASH | METHOD),
    (TPM_ALG_ECC, ASYMMETRIC | OBJECT),
    (TPM_ALG_SYMCIPHER, OBJECT),
    (TPM_ALG_CTR, SYMMETRIC | ENCRYPTING),
    (TPM_ALG_OFB, SYMMETRIC | ENCRYPTING),
    (TPM_ALG_CBC, SYMMETRIC | ENCRYPTING),
    (TPM_ALG_CFB, SYMMETRIC | ENCRYPTING),
    (TPM_ALG_ECB, SYMMETRIC | ENCRYPTING),
];

/// Implemented curves (`TPM_CAP_ECC_CURVES`).
const CURVES: &[u16] = &[TPM_ECC_NIST_P256, TPM_ECC_NIST_P384, TPM_ECC_BN_P256];

/// Permanent handles reported by `TPM_CAP_HANDLES` (Part 2, 7.4).
const PERMANENT_HANDLES: &[u32] = &[
    TPM_RH_OWNER,
    TPM_RH_NULL,
    TPM_RS_PW,
    TPM_RH_LOCKOUT,
    TPM_RH_ENDORSEMENT,
    TPM_RH_PLATFORM,
    TPM_RH_PLATFORM_NV,
];

// TPM_PT (Part 2, 6.13).
const PT_FIXED: u32 = 0x100;
const PT_VAR: u32 = 0x200;

/// Writes one list: `count` then up to `max` items with key ≥ `from`; returns moreData.
fn list<T: Copy>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = T>,
    count: u32,
    max: u32,
    mut put: impl FnMut(&mut Vec<u8>, T),
) -> bool {
    let n = count.min(max) as usize;
    let at = out.len();
    out.put_u32(0);
    let mut written = 0u32;
    let mut more = false;
    for item in items {
        if written as usize == n {
            more = true;
            break;
        }
        put(out, item);
        written += 1;
    }
    out.patch_u32(at, written);
    more
}

/// TPM2_GetCapability.
pub fn get_capability(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let cap = param(1, ctx.params.u32())?;
    let property = param(2, ctx.params.u32())?;
    let count = param(3, ctx.params.u32())?;
    ctx.end()?;
    let more_at = out.len();
    out.put_u8(0);
    out.put_u32(cap);
    let more = match cap {
        TPM_CAP_ALGS => list(
            out,
            ALGS.iter().filter(|a| u32::from(a.0) >= property),
            count,
            MAX_CAP_ALGS,
            |o, &(alg, attr)| {
                o.put_u16(alg);
                o.put_u32(attr);
            },
        ),
        TPM_CAP_HANDLES => {
            let ht = (property >> 24) as u8;
            let dynamic: Vec<u32>;
            let handles: &[u32] = match ht {
                TPM_HT_PCR => &PCR_HANDLES,
                TPM_HT_PERMANENT => PERMANENT_HANDLES,
                TPM_HT_TRANSIENT => {
                    dynamic = tpm.vol.objects.handles();
                    &dynamic
                }
                TPM_HT_PERSISTENT => {
                    dynamic = tpm.perm.persistent.iter().map(|(h, _)| *h).collect();
                    &dynamic
                }
                // Loaded sessions under their own types; saved ones under TPM_HT_SAVED_SESSION
                // (= TPM_HT_POLICY_SESSION, Part 2, 7.2).
                TPM_HT_HMAC_SESSION => {
                    dynamic = tpm.vol.sessions.handles(TPM_HT_HMAC_SESSION, false);
                    &dynamic
                }
                TPM_HT_POLICY_SESSION => {
                    dynamic = tpm.vol.sessions.handles(TPM_HT_POLICY_SESSION, false);
                    &dynamic
                }
                TPM_HT_NV_INDEX => {
                    dynamic = tpm.perm.nv.indices.keys().copied().collect();
                    &dynamic
                }
                _ => return Err(rc_param(TPM_RC_VALUE, 2)),
            };
            list(
                out,
                handles.iter().filter(|&&h| h >= property),
                count,
                MAX_CAP_HANDLES,
                |o, &h| o.put_u32(h),
            )
        }
        TPM_CAP_COMMANDS => list(
            out,
            COMMANDS.iter().filter(|d| d.cc >= property),
            count,
            MAX_CAP_CC,
            |o, d| o.put_u32(d.tpma_cc()),
        ),
        TPM_CAP_PP_COMMANDS => list(
            out,
            tpm.perm.pp_list.iter().filter(|&&c| c >= property),
            count,
            MAX_CAP_CC,
            |o, &c| o.put_u32(c),
        ),
        TPM_CAP_AUDIT_COMMANDS => list(
            out,
            tpm.perm
                .command_audit
                .commands
                .iter()
                .copied()
                .filter(|&c| c >= property),
            count,
            MAX_CAP_CC,
            |o, c| o.put_u32(c),
        ),
        TPM_CAP_PCRS => {
            // Every implemented bank, with its allocation (empty if unallocated).
            out.put_u32(HASH_ALGS.len() as u32);
            for (b, &alg) in HASH_ALGS.iter().enumerate() {
                TpmsPcrSelection::new(alg, PCR_SELECT_SIZE, u64::from(tpm.vol.pcr_alloc[b]))
                    .write(out);
            }
            false
        }
        TPM_CAP_TPM_PROPERTIES => {
            let props = properties(tpm);
            list(
                out,
                props.into_iter().filter(|p| p.0 >= property),
                count,
                MAX_TPM_PROPERTIES,
                |o, (k, v)| {
                    o.put_u32(k);
                    o.put_u32(v);
                },
            )
        }
        TPM_CAP_PCR_PROPERTIES => list(
            out,
            pcr_properties().into_iter().filter(|p| p.0 >= property),
            count,
            MAX_PCR_PROPERTIES,
            |o, (k, bits)| {
                o.put_u32(k);
                o.put_u8(PCR_SELECT_SIZE);
                o.extend_from_slice(&bits.to_le_bytes()[..usize::from(PCR_SELECT_SIZE)]);
            },
        ),
        TPM_CAP_ECC_CURVES => list(
            out,
            CURVES.iter().filter(|&&c| u32::from(c) >= property),
            count,
            MAX_ECC_CURVES,
            |o, &c| o.put_u16(c),
        ),
        _ => return Err(rc_param(TPM_RC_VALUE, 1)),
    };
    if let Some(b) = out.get_mut(more_at) {
        *b = u8::from(more);
    }
    Ok(())
}

const PCR_HANDLES: [u32; PCR_COUNT] = {
    let mut a = [0u32; PCR_COUNT];
    let mut i = 0;
    while i < PCR_COUNT {
        a[i] = i as u32;
        i += 1;
    }
    a
};

fn word(s: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*s)
}

/// `TPM_PT_*` fixed and variable properties, sorted (values as swtpm 0.7.1/libtpms 0.9 report).
fn properties(tpm: &Tpm) -> Vec<(u32, u32)> {
    let total = COMMANDS.len() as u32;
    let p = &tpm.perm;
    let v = &tpm.vol;
    let permanent = u32::from(!p.owner_auth.as_slice().is_empty())
        | (u32::from(!p.endorsement_auth.as_slice().is_empty()) << 1)
        | (u32::from(!p.lockout_auth.as_slice().is_empty()) << 2)
        | (u32::from(p.disable_clear) << 8)
        | (u32::from(p.failed_tries >= p.max_tries && p.max_tries != 0) << 9)
        | (1 << 10);
    let startup_clear = u32::from(v.ph_enable)
        | (u32::from(v.sh_enable) << 1)
        | (u32::from(v.eh_enable) << 2)
        | (u32::from(v.ph_enable_nv) << 3)
        | (u32::from(p.orderly.is_orderly()) << 31);
    vec![
        (PT_FIXED, word(b"2.0\0")),
        (PT_FIXED + 1, 0),
        (PT_FIXED + 2, 164),
        // Spec date of revision 1.64 as libtpms 0.9 reports it (not measured).
        (PT_FIXED + 3, 105),
        (PT_FIXED + 4, 2021),
        (PT_FIXED + 5, word(b"IBM\0")),
        (PT_FIXED + 6, word(b"SW  ")),
        (PT_FIXED + 7, word(b" TPM")),
        (PT_FIXED + 8, 0),
        (PT_FIXED + 9, 0),
        (PT_FIXED + 0x0A, 1),
        (PT_FIXED + 0x0B, 0x2019_1023),
        (PT_FIXED + 0x0C, 0x0016_3636),
        (PT_FIXED + 0x0D, 1024),
        (PT_FIXED + 0x0E, 3),
        (PT_FIXED + 0x0F, 7),
        (PT_FIXED + 0x10, 3),
        (PT_FIXED + 0x11, 64),
        (PT_FIXED + 0x12, PCR_COUNT as u32),
        (PT_FIXED + 0x13, u32::from(PCR_SELECT_SIZE)),
        (PT_FIXED + 0x14, 0xFFFF),
        (PT_FIXED + 0x16, 0),
        (PT_FIXED + 0x17, NV_INDEX_MAX as u32),
        (PT_FIXED + 0x18, 6),
        (PT_FIXED + 0x19, 1 << 12),
        (PT_FIXED + 0x1A, u32::from(TPM_ALG_SHA512)),
        (PT_FIXED + 0x1B, u32::from(TPM_ALG_AES)),
        (PT_FIXED + 0x1C, 256),
        (PT_FIXED + 0x1D, 255),
        (PT_FIXED + 0x1E, crate::dispatch::MAX_FRAME as u32),
        (PT_FIXED + 0x1F, crate::dispatch::MAX_FRAME as u32),
        (PT_FIXED + 0x20, 64),
        (PT_FIXED + 0x21, 0xA84),
        (PT_FIXED + 0x22, 0x194),
        (PT_FIXED + 0x23, 1),
        (PT_FIXED + 0x24, 0),
        (PT_FIXED + 0x25, 0x106),
        (PT_FIXED + 0x26, 0),
        (PT_FIXED + 0x27, 0),
        (PT_FIXED + 0x28, 128),
        (PT_FIXED + 0x29, total),
        (PT_FIXED + 0x2A, total),
        (PT_FIXED + 0x2B, 0),
        (PT_FIXED + 0x2C, NV_BUFFER_MAX as u32),
        (PT_FIXED + 0x2D, 0),
        (PT_FIXED + 0x2E, MAX_CAP_BUFFER),
        (PT_VAR, permanent),
        (PT_VAR + 1, startup_clear),
        (PT_VAR + 2, p.nv.indices.len() as u32),
        (PT_VAR + 3, 0),
        (PT_VAR + 4, 3),
        (PT_VAR + 5, 0),
        (PT_VAR + 6, 64),
        (PT_VAR + 7, 3),
        (PT_VAR + 8, 0),
        (PT_VAR + 9, 0),
        (PT_VAR + 0x0A, p.nv.counters() as u32),
        (PT_VAR + 0x0B, nv_counters_avail(tpm)),
        (PT_VAR + 0x0C, p.algorithm_set),
        (PT_VAR + 0x0D, 0),
        (PT_VAR + 0x0E, p.failed_tries),
        (PT_VAR + 0x0F, p.max_tries),
        (PT_VAR + 0x10, p.recovery_time),
        (PT_VAR + 0x11, p.lockout_recovery),
        (PT_VAR + 0x12, 0),
        (PT_VAR + 0x13, 0),
        (PT_VAR + 0x14, 0),
    ]
}

/// `TPM_PT_NV_COUNTERS_AVAIL`: how many more counters fit in the NV budget.
fn nv_counters_avail(tpm: &Tpm) -> u32 {
    let counter = NvIndex {
        public: TpmsNvPublic {
            nv_index: 0,
            name_alg: TPM_ALG_SHA256,
            attributes: TpmaNv::default(),
            auth_policy: Vec::new(),
            data_size: 8,
        },
        auth: Default::default(),
        data: vec![0; 8],
    };
    (NV_MEMORY.saturating_sub(tpm.perm.nv.used()) / counter.cost()) as u32
}

/// `TPM_PT_PCR_*` (Part 2, 6.14): SAVE, EXTEND_L0..RESET_L4, DRTM_RESET.
fn pcr_properties() -> Vec<(u32, u32)> {
    let mut v = vec![(0x00, pcr::state_save_map())];
    for loc in 0..=4u8 {
        v.push((1 + 2 * u32::from(loc), pcr::locality_map(loc, false)));
        v.push((2 + 2 * u32::from(loc), pcr::locality_map(loc, true)));
    }
    v.push((0x12, pcr::DRTM_RESET_MAP));
    v
}
