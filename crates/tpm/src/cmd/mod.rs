//! The command table: one entry per implemented command, sorted by command code, carrying
//! the `TPMA_CC` attributes (Part 2, 8.9) reported by `TPM_CAP_COMMANDS`.

mod capability;
mod hierarchy;
mod misc;
mod nv;
mod pcr;
mod startup;

use crate::Tpm;
use crate::dispatch::Ctx;
use tpm_proto::*;

/// What a handle-area slot may hold (the `TPMI_*` interface type of the handle).
#[derive(Clone, Copy, Debug)]
pub enum HandleKind {
    /// `TPMI_DH_PCR+`: a PCR index or `TPM_RH_NULL`.
    Pcr,
    /// A `TPMI_RH_*` type: one of the listed permanent handles.
    Permanent(&'static [u32]),
    /// `TPMI_RH_NV_AUTH`: `TPM_RH_OWNER`, `TPM_RH_PLATFORM` or a defined NV index.
    NvAuth,
    /// `TPMI_RH_NV_INDEX`: a defined NV index (USER role when authorized).
    NvIndex,
    /// `TPMI_RH_NV_INDEX` authorized in the ADMIN role, which for an NV index always needs a
    /// policy session (Part 1, 19.? "ADMIN role").
    NvAdmin,
}

/// A command handler: parses the parameters, executes, appends response parameters.
pub type Exec = fn(&mut Tpm, &mut Ctx<'_>, &mut Vec<u8>) -> Result<(), u32>;

/// One implemented command.
pub struct CommandDef {
    /// Command code.
    pub cc: u32,
    /// Handle area (`cHandles` = length).
    pub handles: &'static [HandleKind],
    /// How many leading handles need USER authorization.
    pub auth_handles: u8,
    /// A handle is returned (`rHandle`).
    pub rhandle: bool,
    /// `TPMA_CC.nv`: may write NV.
    pub nv: bool,
    /// `TPMA_CC.extensive`: may flush many objects / take long.
    pub extensive: bool,
    /// Only `TPM_ST_NO_SESSIONS` is allowed.
    pub no_sessions: bool,
    /// Handler.
    pub exec: Exec,
}

impl CommandDef {
    /// `TPMA_CC` (Part 2, 8.9): commandIndex, nv (22), extensive (23), flushed (24),
    /// cHandles (25..27), rHandle (28).
    pub fn tpma_cc(&self) -> u32 {
        (self.cc & 0xFFFF)
            | (u32::from(self.nv) << 22)
            | (u32::from(self.extensive) << 23)
            | ((self.handles.len() as u32) << 25)
            | (u32::from(self.rhandle) << 28)
    }
}

const H_PCR: &[HandleKind] = &[HandleKind::Pcr];
const H_PROVISION: &[HandleKind] = &[HandleKind::Permanent(&[TPM_RH_OWNER, TPM_RH_PLATFORM])];
const H_NV: &[HandleKind] = &[HandleKind::NvAuth, HandleKind::NvIndex];
const H_NV_INDEX: &[HandleKind] = &[HandleKind::NvIndex];
const H_NV_ADMIN: &[HandleKind] = &[HandleKind::NvAdmin];
const H_NV_UNDEFINE: &[HandleKind] = &[
    HandleKind::Permanent(&[TPM_RH_OWNER, TPM_RH_PLATFORM]),
    HandleKind::NvIndex,
];
const H_NV_UNDEFINE_SPECIAL: &[HandleKind] = &[
    HandleKind::NvAdmin,
    HandleKind::Permanent(&[TPM_RH_PLATFORM]),
];
const H_PLATFORM: &[HandleKind] = &[HandleKind::Permanent(&[TPM_RH_PLATFORM])];
const H_CLEAR: &[HandleKind] = &[HandleKind::Permanent(&[TPM_RH_LOCKOUT, TPM_RH_PLATFORM])];
const H_LOCKOUT: &[HandleKind] = &[HandleKind::Permanent(&[TPM_RH_LOCKOUT])];
const H_HIERARCHY: &[HandleKind] = &[HandleKind::Permanent(&[
    TPM_RH_OWNER,
    TPM_RH_ENDORSEMENT,
    TPM_RH_PLATFORM,
])];
const H_HIERARCHY_AUTH: &[HandleKind] = &[HandleKind::Permanent(&[
    TPM_RH_OWNER,
    TPM_RH_ENDORSEMENT,
    TPM_RH_PLATFORM,
    TPM_RH_LOCKOUT,
])];

const fn def(
    cc: u32,
    handles: &'static [HandleKind],
    auth_handles: u8,
    nv: bool,
    extensive: bool,
    exec: Exec,
) -> CommandDef {
    CommandDef {
        cc,
        handles,
        auth_handles,
        rhandle: false,
        nv,
        extensive,
        no_sessions: false,
        exec,
    }
}

/// Implemented commands, sorted by `cc`; nv/extensive bits as libtpms' `s_ccAttr` reports them.
pub static COMMANDS: &[CommandDef] = &[
    def(
        TPM_CC_NV_UNDEFINE_SPACE_SPECIAL,
        H_NV_UNDEFINE_SPECIAL,
        2,
        true,
        false,
        nv::undefine_space_special,
    ),
    def(
        TPM_CC_HIERARCHY_CONTROL,
        H_HIERARCHY,
        1,
        true,
        true,
        hierarchy::hierarchy_control,
    ),
    def(
        TPM_CC_NV_UNDEFINE_SPACE,
        H_NV_UNDEFINE,
        1,
        true,
        false,
        nv::undefine_space,
    ),
    def(
        TPM_CC_CHANGE_EPS,
        H_PLATFORM,
        1,
        true,
        true,
        hierarchy::change_eps,
    ),
    def(
        TPM_CC_CHANGE_PPS,
        H_PLATFORM,
        1,
        true,
        true,
        hierarchy::change_pps,
    ),
    def(TPM_CC_CLEAR, H_CLEAR, 1, true, true, hierarchy::clear),
    def(
        TPM_CC_CLEAR_CONTROL,
        H_CLEAR,
        1,
        true,
        false,
        hierarchy::clear_control,
    ),
    def(
        TPM_CC_HIERARCHY_CHANGE_AUTH,
        H_HIERARCHY_AUTH,
        1,
        true,
        false,
        hierarchy::change_auth,
    ),
    def(
        TPM_CC_NV_DEFINE_SPACE,
        H_PROVISION,
        1,
        true,
        false,
        nv::define_space,
    ),
    def(
        TPM_CC_PCR_ALLOCATE,
        H_PLATFORM,
        1,
        true,
        false,
        pcr::allocate,
    ),
    def(
        TPM_CC_NV_GLOBAL_WRITE_LOCK,
        H_PROVISION,
        1,
        true,
        false,
        nv::global_write_lock,
    ),
    def(TPM_CC_NV_INCREMENT, H_NV, 1, true, false, nv::increment),
    def(TPM_CC_NV_SET_BITS, H_NV, 1, true, false, nv::set_bits),
    def(TPM_CC_NV_EXTEND, H_NV, 1, true, false, nv::extend),
    def(TPM_CC_NV_WRITE, H_NV, 1, true, false, nv::write),
    def(TPM_CC_NV_WRITE_LOCK, H_NV, 1, true, false, nv::write_lock),
    def(
        TPM_CC_DICTIONARY_ATTACK_LOCK_RESET,
        H_LOCKOUT,
        1,
        true,
        false,
        hierarchy::da_lock_reset,
    ),
    def(
        TPM_CC_DICTIONARY_ATTACK_PARAMETERS,
        H_LOCKOUT,
        1,
        true,
        false,
        hierarchy::da_parameters,
    ),
    def(
        TPM_CC_NV_CHANGE_AUTH,
        H_NV_ADMIN,
        1,
        true,
        false,
        nv::change_auth,
    ),
    def(TPM_CC_PCR_EVENT, H_PCR, 1, true, false, pcr::event),
    def(TPM_CC_PCR_RESET, H_PCR, 1, true, false, pcr::reset),
    def(
        TPM_CC_INCREMENTAL_SELF_TEST,
        &[],
        0,
        true,
        false,
        misc::incremental_self_test,
    ),
    def(TPM_CC_SELF_TEST, &[], 0, true, false, misc::self_test),
    CommandDef {
        no_sessions: true,
        ..def(TPM_CC_STARTUP, &[], 0, true, false, startup::startup)
    },
    def(TPM_CC_SHUTDOWN, &[], 0, true, false, startup::shutdown),
    def(TPM_CC_STIR_RANDOM, &[], 0, true, false, misc::stir_random),
    def(TPM_CC_NV_READ, H_NV, 1, false, false, nv::read),
    def(TPM_CC_NV_READ_LOCK, H_NV, 1, true, false, nv::read_lock),
    CommandDef {
        no_sessions: true,
        ..def(
            TPM_CC_FLUSH_CONTEXT,
            &[],
            0,
            false,
            false,
            misc::flush_context,
        )
    },
    def(
        TPM_CC_NV_READ_PUBLIC,
        H_NV_INDEX,
        0,
        false,
        false,
        nv::read_public,
    ),
    def(
        TPM_CC_GET_CAPABILITY,
        &[],
        0,
        false,
        false,
        capability::get_capability,
    ),
    def(TPM_CC_GET_RANDOM, &[], 0, false, false, misc::get_random),
    def(
        TPM_CC_GET_TEST_RESULT,
        &[],
        0,
        false,
        false,
        misc::get_test_result,
    ),
    def(TPM_CC_HASH, &[], 0, false, false, misc::hash_cmd),
    def(TPM_CC_PCR_READ, &[], 0, false, false, pcr::read),
    def(TPM_CC_READ_CLOCK, &[], 0, false, false, misc::read_clock),
    def(TPM_CC_PCR_EXTEND, H_PCR, 1, true, false, pcr::extend),
    def(TPM_CC_TEST_PARMS, &[], 0, false, false, misc::test_parms),
];

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_and_unique() {
        assert!(super::COMMANDS.windows(2).all(|w| w[0].cc < w[1].cc));
    }
}
