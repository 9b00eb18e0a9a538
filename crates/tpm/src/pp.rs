//! Physical presence (Part 1 "Physical Presence"; Part 3, 26.2 PP_Commands): which
//! commands, when authorized with platformAuth/platformPolicy, also need the platform's
//! physical-presence signal. A virtual TPM only sees that signal from a platform channel
//! (the simulator protocol's `TPM_SIGNAL_PHYS_PRES_ON`), so by default it is never asserted.

use tpm_proto::TPM_CC_PP_COMMANDS;

/// Commands that may be put on the list (Part 2, 6.5.2 "PP" column; libtpms' `PP_COMMAND`
/// attribute), ascending. PP_Commands itself is always on it (`PP_REQUIRED`).
pub const PP_CAPABLE: &[u32] = &[
    0x011F, // NV_UndefineSpaceSpecial
    0x0120, // EvictControl
    0x0121, // HierarchyControl
    0x0122, // NV_UndefineSpace
    0x0124, // ChangeEPS
    0x0125, // ChangePPS
    0x0126, // Clear
    0x0127, // ClearControl
    0x0128, // ClockSet
    0x0129, // HierarchyChangeAuth
    0x012A, // NV_DefineSpace
    0x012B, // PCR_Allocate
    0x012C, // PCR_SetAuthPolicy
    0x012D, // PP_Commands
    0x012E, // SetPrimaryPolicy
    0x012F, // FieldUpgradeStart
    0x0130, // ClockRateAdjust
    0x0131, // CreatePrimary
    0x0132, // NV_GlobalWriteLock
    0x0140, // SetCommandCodeAuditStatus
    0x0191, // CreateLoaded
    0x019D, // NV_DefineSpace2
    0x01A0, // ReadOnlyControl
];

/// The list a newly manufactured TPM starts with (reference `PhysicalPresencePreInstall_Init`):
/// only the commands that always require physical presence.
pub fn default_list() -> Vec<u32> {
    vec![TPM_CC_PP_COMMANDS]
}

/// Whether `cc` may be on the list.
pub fn capable(cc: u32) -> bool {
    PP_CAPABLE.binary_search(&cc).is_ok()
}

/// Whether a stored list is well formed: ascending, no duplicates, only PP-capable commands,
/// PP_Commands present.
pub fn valid_list(list: &[u32]) -> bool {
    list.windows(2).all(|w| w[0] < w[1])
        && list.iter().all(|&c| capable(c))
        && list.contains(&TPM_CC_PP_COMMANDS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn capable_list_is_sorted() {
        assert!(super::PP_CAPABLE.windows(2).all(|w| w[0] < w[1]));
        assert!(super::valid_list(&super::default_list()));
        assert!(!super::valid_list(&[]));
        assert!(!super::valid_list(&[0x12D, 0x12D]));
        assert!(!super::valid_list(&[0x12D, 0x15D]));
    }
}
