//! PCR banks and the PC Client platform PCR attributes (PC Client Platform TPM Profile, 4.6
//! "PCR Attributes"; values as in the reference implementation's `s_initAttributes`).

use crate::crypto::{HASH_ALGS, HASH_COUNT, Hasher};
use tpm_proto::digest_size;

/// `IMPLEMENTATION_PCR`.
pub const PCR_COUNT: usize = 24;
/// `PCR_SELECT_MAX` = `PCR_SELECT_MIN` for 24 PCRs.
pub const PCR_SELECT_SIZE: u8 = 3;
/// Bitmap of all PCRs.
pub const ALL_PCRS: u32 = (1 << PCR_COUNT) - 1;

/// PCR values of all banks (unallocated banks keep zeros).
pub type PcrValues = [[[u8; 64]; PCR_COUNT]; HASH_COUNT];

/// Per-PCR attributes: `(stateSave, resetLocality bitmap, extendLocality bitmap)`.
/// PCR 16 (debug) and 23 (application) are resettable from every locality, 17–22 are the
/// DRTM PCRs with locality-restricted reset and extend.
const ATTRS: [(bool, u8, u8); PCR_COUNT] = {
    let mut a = [(true, 0x00, 0x1F); PCR_COUNT];
    a[16] = (false, 0x1F, 0x1F);
    a[17] = (false, 0x10, 0x1C);
    a[18] = (false, 0x10, 0x1C);
    a[19] = (false, 0x10, 0x0C);
    a[20] = (false, 0x14, 0x0E);
    a[21] = (false, 0x14, 0x04);
    a[22] = (false, 0x14, 0x04);
    a[23] = (false, 0x1F, 0x1F);
    a
};

fn locality_bit(locality: u8) -> u8 {
    if locality <= 4 { 1 << locality } else { 0 }
}

/// Whether PCR `pcr` is preserved by `Shutdown(STATE)`/`Startup(STATE)`.
pub fn state_saved(pcr: usize) -> bool {
    ATTRS.get(pcr).is_some_and(|a| a.0)
}

/// Whether `TPM2_PCR_Reset` of `pcr` is allowed from `locality`.
pub fn reset_allowed(pcr: usize, locality: u8) -> bool {
    ATTRS
        .get(pcr)
        .is_some_and(|a| a.1 & locality_bit(locality) != 0)
}

/// Whether `TPM2_PCR_Extend`/`Event` of `pcr` is allowed from `locality`.
pub fn extend_allowed(pcr: usize, locality: u8) -> bool {
    ATTRS
        .get(pcr)
        .is_some_and(|a| a.2 & locality_bit(locality) != 0)
}

/// Bitmap of PCRs with reset (`reset == true`) or extend rights at `locality`, for
/// `TPM_CAP_PCR_PROPERTIES`.
pub fn locality_map(locality: u8, reset: bool) -> u32 {
    (0..PCR_COUNT)
        .filter(|&p| {
            if reset {
                reset_allowed(p, locality)
            } else {
                extend_allowed(p, locality)
            }
        })
        .fold(0, |m, p| m | (1 << p))
}

/// Bitmap of PCRs preserved across `Shutdown(STATE)`.
pub fn state_save_map() -> u32 {
    (0..PCR_COUNT)
        .filter(|&p| state_saved(p))
        .fold(0, |m, p| m | (1 << p))
}

/// Bitmap of PCRs reset by a DRTM event.
pub const DRTM_RESET_MAP: u32 = 0x007E_0000;

/// Value of PCR `pcr` after `TPM2_Startup`: FF…FF for 17–22 (not yet reset by DRTM), else zero.
pub fn init_value(pcr: usize) -> [u8; 64] {
    if DRTM_RESET_MAP & (1 << pcr) != 0 {
        [0xFF; 64]
    } else {
        [0; 64]
    }
}

/// Sets every PCR of every bank to its startup value (PCR 0 in bank `b` gets the locality in
/// its last byte when started from locality 3, per PC Client "H-CRTM" rules).
pub fn reset_all(values: &mut PcrValues, startup_locality: u8) {
    for (b, bank) in values.iter_mut().enumerate() {
        for (p, v) in bank.iter_mut().enumerate() {
            *v = init_value(p);
        }
        if startup_locality == 3 {
            let n = digest_size(HASH_ALGS[b]).unwrap_or(1);
            bank[0][n - 1] = 3;
        }
    }
}

/// `PCR_new = H(PCR_old || digest)` in bank `b`.
pub fn extend(values: &mut PcrValues, b: usize, pcr: usize, digest: &[u8]) {
    let alg = HASH_ALGS[b];
    let n = digest_size(alg).unwrap_or(0);
    let Some(slot) = values.get_mut(b).and_then(|bank| bank.get_mut(pcr)) else {
        return;
    };
    if let Some(mut h) = Hasher::new(alg) {
        h.update(&slot[..n]);
        h.update(digest);
        slot[..n].copy_from_slice(h.finish().as_ref());
    }
}

/// The concatenated values of the selected, allocated PCRs in selection order (banks as listed,
/// PCRs ascending): the input of a quote's or PolicyPCR's `pcrDigest` (Part 3, 18.4 / 23.7).
pub fn selected_values(v: &crate::state::Volatile, sel: &tpm_proto::TpmlPcrSelection) -> Vec<u8> {
    let mut out = Vec::new();
    for s in &sel.0 {
        let (Some(b), Some(n)) = (crate::crypto::bank_index(s.hash), digest_size(s.hash)) else {
            continue;
        };
        let want = s.bits() & u64::from(v.pcr_alloc[b]);
        for p in 0..PCR_COUNT {
            if want & (1 << p) != 0 {
                out.extend_from_slice(&v.pcrs[b][p][..n]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locality_rules() {
        assert!(reset_allowed(16, 0) && reset_allowed(23, 4) && reset_allowed(16, 3));
        assert!(!reset_allowed(0, 4) && !reset_allowed(7, 0));
        assert!(!reset_allowed(17, 0) && reset_allowed(17, 4) && !reset_allowed(17, 3));
        assert!(reset_allowed(20, 2) && !reset_allowed(20, 1));
        assert!(extend_allowed(0, 0) && !extend_allowed(17, 0) && extend_allowed(17, 2));
        assert!(!extend_allowed(0, 5));
    }

    #[test]
    fn drtm_pcrs_start_at_all_ones() {
        let mut v = [[[0u8; 64]; PCR_COUNT]; HASH_COUNT];
        reset_all(&mut v, 0);
        assert_eq!(v[1][17], [0xFF; 64]);
        assert_eq!(v[1][16], [0; 64]);
        reset_all(&mut v, 3);
        assert_eq!(v[1][0][31], 3);
        assert_eq!(v[0][0][19], 3);
    }
}
