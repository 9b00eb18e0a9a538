//! The command table: one entry per implemented command, sorted by command code, carrying
//! the `TPMA_CC` attributes (Part 2, 8.9) reported by `TPM_CAP_COMMANDS`.

mod asym;
mod attest;
mod audit;
mod capability;
mod commit;
mod context;
mod duplicate;
pub(crate) mod ecdh;
mod encrypt;
mod hierarchy;
mod misc;
mod nv;
mod nv_certify;
mod object;
pub(crate) mod pcr;
mod platform;
mod policy_auth;
mod policy_bind;
mod policy_nv;
mod policy_ticket;
mod sequence;
mod session;
mod startup;
mod sym;
mod x509;

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
    /// `TPMI_RH_NV_INDEX`: a defined NV index (USER role unless the command's `admin` bit says
    /// ADMIN, which for an NV index always needs a policy session; Part 1, 19.2).
    NvIndex,
    /// `TPMI_DH_OBJECT`: a loaded transient or persistent object (`+`: or `TPM_RH_NULL`).
    Object {
        /// `TPM_RH_NULL` allowed.
        null: bool,
    },
    /// `TPMI_DH_ENTITY`: hierarchy, object, PCR or NV index (`+`: or `TPM_RH_NULL`).
    Entity {
        /// `TPM_RH_NULL` allowed.
        null: bool,
    },
    /// `TPMI_DH_PARENT+`: a loaded object, or `TPM_RH_OWNER`/`_ENDORSEMENT`/`_PLATFORM`/`_NULL`.
    Parent,
    /// `TPMI_SH_POLICY`: a loaded policy or trial session.
    PolicySession,
    /// `TPMI_DH_CONTEXT`: a loaded transient object or session.
    Context,
    /// `TPMI_SH_HMAC`: a loaded HMAC session.
    HmacSession,
    /// `TPMI_DH_OBJECT` of the sequence commands: a loaded sequence object, or an object the
    /// handler refuses with `TPM_RC_MODE`.
    Sequence,
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
    /// `TPMA_CC.flushed`: the command flushes its handle (the sequence-completing commands).
    pub flushed: bool,
    /// Only `TPM_ST_NO_SESSIONS` is allowed.
    pub no_sessions: bool,
    /// Bit i: handle i is authorized in the ADMIN role (Part 1, 19.2).
    pub admin: u8,
    /// Bit 0: the first command parameter is a TPM2B (may be decrypted); bit 1: the first
    /// response parameter is a TPM2B (may be encrypted) (Part 1, 21.1).
    pub enc: u8,
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
            | (u32::from(self.flushed) << 24)
            | ((self.handles.len() as u32) << 25)
            | (u32::from(self.rhandle) << 28)
    }
}

const H_PCR: &[HandleKind] = &[HandleKind::Pcr];
const H_PROVISION: &[HandleKind] = &[HandleKind::Permanent(&[TPM_RH_OWNER, TPM_RH_PLATFORM])];
const H_NV: &[HandleKind] = &[HandleKind::NvAuth, HandleKind::NvIndex];
const H_NV_INDEX: &[HandleKind] = &[HandleKind::NvIndex];
const H_NV_UNDEFINE: &[HandleKind] = &[
    HandleKind::Permanent(&[TPM_RH_OWNER, TPM_RH_PLATFORM]),
    HandleKind::NvIndex,
];
const H_NV_UNDEFINE_SPECIAL: &[HandleKind] = &[
    HandleKind::NvIndex,
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
        flushed: false,
        no_sessions: false,
        admin: 0,
        enc: 0,
        exec,
    }
}

/// An object/session command: handles, authorized handles, rHandle, TPM2B parameter bits.
const fn ob(
    cc: u32,
    handles: &'static [HandleKind],
    auth_handles: u8,
    rhandle: bool,
    enc: u8,
    exec: Exec,
) -> CommandDef {
    CommandDef {
        cc,
        handles,
        auth_handles,
        rhandle,
        nv: false,
        extensive: false,
        flushed: false,
        no_sessions: false,
        admin: 0,
        enc,
        exec,
    }
}

const H_OBJ: &[HandleKind] = &[HandleKind::Object { null: false }];
const H_OBJ2: &[HandleKind] = &[
    HandleKind::Object { null: false },
    HandleKind::Object { null: false },
];
const H_SEQ: &[HandleKind] = &[HandleKind::Sequence];
const H_AUDIT: &[HandleKind] = &[
    HandleKind::Permanent(&[TPM_RH_ENDORSEMENT]),
    HandleKind::Object { null: true },
];
const H_POLICY: &[HandleKind] = &[HandleKind::PolicySession];
const H_PRIMARY: &[HandleKind] = &[HandleKind::Permanent(&[
    TPM_RH_OWNER,
    TPM_RH_ENDORSEMENT,
    TPM_RH_PLATFORM,
    TPM_RH_NULL,
])];
const H_EVICT: &[HandleKind] = &[
    HandleKind::Permanent(&[TPM_RH_OWNER, TPM_RH_PLATFORM]),
    HandleKind::Object { null: false },
];
const H_SAS: &[HandleKind] = &[
    HandleKind::Object { null: true },
    HandleKind::Entity { null: true },
];
const H_SECRET: &[HandleKind] = &[
    HandleKind::Entity { null: false },
    HandleKind::PolicySession,
];
const H_SIGNED: &[HandleKind] = &[
    HandleKind::Object { null: false },
    HandleKind::PolicySession,
];
const H_CERTIFY_CREATION: &[HandleKind] = &[
    HandleKind::Object { null: true },
    HandleKind::Object { null: false },
];
const H_DUPLICATE: &[HandleKind] = &[
    HandleKind::Object { null: false },
    HandleKind::Object { null: true },
];
const H_REWRAP: &[HandleKind] = &[
    HandleKind::Object { null: true },
    HandleKind::Object { null: true },
];
const H_GET_TIME: &[HandleKind] = &[
    HandleKind::Permanent(&[TPM_RH_ENDORSEMENT]),
    HandleKind::Object { null: false },
];

/// PolicyNV, PolicyAuthorizeNV: `TPMI_RH_NV_AUTH`, `TPMI_RH_NV_INDEX`, `TPMI_SH_POLICY`.
const H_POLICY_NV: &[HandleKind] = &[
    HandleKind::NvAuth,
    HandleKind::NvIndex,
    HandleKind::PolicySession,
];
/// NV_Certify: `TPMI_DH_OBJECT+`, `TPMI_RH_NV_AUTH`, `TPMI_RH_NV_INDEX`.
const H_NV_CERTIFY: &[HandleKind] = &[
    HandleKind::Object { null: true },
    HandleKind::NvAuth,
    HandleKind::NvIndex,
];
/// Implemented commands, sorted by `cc`; nv/extensive bits as libtpms' `s_ccAttr` reports them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        admin: 1,
        ..def(
            TPM_CC_NV_UNDEFINE_SPACE_SPECIAL,
            H_NV_UNDEFINE_SPECIAL,
            2,
            true,
            false,
            nv::undefine_space_special,
        )
    },
    CommandDef {
        nv: true,
        ..ob(
            TPM_CC_EVICT_CONTROL,
            H_EVICT,
            1,
            false,
            0,
            object::evict_control,
        )
    },
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
        TPM_CC_CLOCK_SET,
        H_PROVISION,
        1,
        true,
        false,
        misc::clock_set,
    ),
    CommandDef {
        enc: 1,
        ..def(
            TPM_CC_HIERARCHY_CHANGE_AUTH,
            H_HIERARCHY_AUTH,
            1,
            true,
            false,
            hierarchy::change_auth,
        )
    },
    CommandDef {
        enc: 1,
        ..def(
            TPM_CC_NV_DEFINE_SPACE,
            H_PROVISION,
            1,
            true,
            false,
            nv::define_space,
        )
    },
    def(
        TPM_CC_PCR_ALLOCATE,
        H_PLATFORM,
        1,
        true,
        false,
        pcr::allocate,
    ),
    def(
        TPM_CC_PP_COMMANDS,
        H_PLATFORM,
        1,
        true,
        false,
        platform::pp_commands,
    ),
    CommandDef {
        enc: 1,
        ..def(
            TPM_CC_SET_PRIMARY_POLICY,
            H_HIERARCHY_AUTH,
            1,
            true,
            false,
            platform::set_primary_policy,
        )
    },
    def(
        TPM_CC_CLOCK_RATE_ADJUST,
        H_PROVISION,
        1,
        false,
        false,
        platform::clock_rate_adjust,
    ),
    ob(
        TPM_CC_CREATE_PRIMARY,
        H_PRIMARY,
        1,
        true,
        3,
        object::create_primary,
    ),
    def(
        TPM_CC_NV_GLOBAL_WRITE_LOCK,
        H_PROVISION,
        1,
        true,
        false,
        nv::global_write_lock,
    ),
    CommandDef {
        nv: true,
        ..ob(
            TPM_CC_GET_COMMAND_AUDIT_DIGEST,
            H_AUDIT,
            2,
            false,
            3,
            audit::get_command_audit_digest,
        )
    },
    def(TPM_CC_NV_INCREMENT, H_NV, 1, true, false, nv::increment),
    def(TPM_CC_NV_SET_BITS, H_NV, 1, true, false, nv::set_bits),
    CommandDef {
        enc: 1,
        ..def(TPM_CC_NV_EXTEND, H_NV, 1, true, false, nv::extend)
    },
    CommandDef {
        enc: 1,
        ..def(TPM_CC_NV_WRITE, H_NV, 1, true, false, nv::write)
    },
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
    CommandDef {
        admin: 1,
        enc: 1,
        ..def(
            TPM_CC_NV_CHANGE_AUTH,
            H_NV_INDEX,
            1,
            true,
            false,
            nv::change_auth,
        )
    },
    CommandDef {
        enc: 1,
        ..def(TPM_CC_PCR_EVENT, H_PCR, 1, true, false, pcr::event)
    },
    def(TPM_CC_PCR_RESET, H_PCR, 1, true, false, pcr::reset),
    CommandDef {
        flushed: true,
        ..ob(
            TPM_CC_SEQUENCE_COMPLETE,
            H_SEQ,
            1,
            false,
            3,
            sequence::sequence_complete,
        )
    },
    def(
        TPM_CC_SET_ALGORITHM_SET,
        H_PLATFORM,
        1,
        true,
        false,
        platform::set_algorithm_set,
    ),
    def(
        TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS,
        H_PROVISION,
        1,
        true,
        false,
        audit::set_command_code_audit_status,
    ),
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
    CommandDef {
        enc: 1,
        ..def(TPM_CC_STIR_RANDOM, &[], 0, true, false, misc::stir_random)
    },
    CommandDef {
        admin: 1,
        ..ob(
            TPM_CC_ACTIVATE_CREDENTIAL,
            H_OBJ2,
            2,
            false,
            3,
            attest::activate_credential,
        )
    },
    CommandDef {
        admin: 1,
        ..ob(TPM_CC_CERTIFY, H_OBJ2, 2, false, 3, attest::certify)
    },
    ob(
        TPM_CC_POLICY_NV,
        H_POLICY_NV,
        1,
        false,
        1,
        policy_nv::policy_nv,
    ),
    ob(
        TPM_CC_CERTIFY_CREATION,
        H_CERTIFY_CREATION,
        1,
        false,
        3,
        attest::certify_creation,
    ),
    ob(
        TPM_CC_DUPLICATE,
        H_DUPLICATE,
        1,
        false,
        3,
        duplicate::duplicate,
    ),
    ob(TPM_CC_GET_TIME, H_GET_TIME, 2, false, 3, attest::get_time),
    ob(
        TPM_CC_GET_SESSION_AUDIT_DIGEST,
        &[
            HandleKind::Permanent(&[TPM_RH_ENDORSEMENT]),
            HandleKind::Object { null: true },
            HandleKind::HmacSession,
        ],
        2,
        false,
        3,
        audit::get_session_audit_digest,
    ),
    CommandDef {
        enc: 2,
        ..def(TPM_CC_NV_READ, H_NV, 1, false, false, nv::read)
    },
    def(TPM_CC_NV_READ_LOCK, H_NV, 1, true, false, nv::read_lock),
    CommandDef {
        admin: 1,
        handles: &[
            HandleKind::Object { null: false },
            HandleKind::Object { null: false },
        ],
        ..ob(
            TPM_CC_OBJECT_CHANGE_AUTH,
            H_OBJ2,
            1,
            false,
            3,
            object::object_change_auth,
        )
    },
    ob(
        TPM_CC_POLICY_SECRET,
        H_SECRET,
        1,
        false,
        3,
        session::policy_secret,
    ),
    ob(TPM_CC_REWRAP, H_REWRAP, 1, false, 3, duplicate::rewrap),
    ob(TPM_CC_CREATE, H_OBJ, 1, false, 3, object::create),
    ob(TPM_CC_ECDH_ZGEN, H_OBJ, 1, false, 3, ecdh::ecdh_zgen),
    ob(TPM_CC_HMAC, H_OBJ, 1, false, 3, sym::hmac_cmd),
    ob(TPM_CC_IMPORT, H_OBJ, 1, false, 3, duplicate::import),
    ob(TPM_CC_LOAD, H_OBJ, 1, true, 3, object::load),
    ob(TPM_CC_QUOTE, H_OBJ, 1, false, 3, attest::quote),
    ob(TPM_CC_RSA_DECRYPT, H_OBJ, 1, false, 3, asym::rsa_decrypt),
    ob(TPM_CC_HMAC_START, H_OBJ, 1, true, 1, sequence::hmac_start),
    ob(
        TPM_CC_SEQUENCE_UPDATE,
        H_SEQ,
        1,
        false,
        1,
        sequence::sequence_update,
    ),
    ob(TPM_CC_SIGN, H_OBJ, 1, false, 1, attest::sign_cmd),
    ob(TPM_CC_UNSEAL, H_OBJ, 1, false, 2, object::unseal),
    ob(
        TPM_CC_POLICY_SIGNED,
        H_SIGNED,
        0,
        false,
        3,
        policy_auth::policy_signed,
    ),
    CommandDef {
        no_sessions: true,
        ..ob(TPM_CC_CONTEXT_LOAD, &[], 0, true, 0, context::context_load)
    },
    CommandDef {
        no_sessions: true,
        ..ob(
            TPM_CC_CONTEXT_SAVE,
            &[HandleKind::Context],
            0,
            false,
            0,
            context::context_save,
        )
    },
    ob(TPM_CC_ECDH_KEYGEN, H_OBJ, 0, false, 2, ecdh::ecdh_keygen),
    ob(
        TPM_CC_ENCRYPT_DECRYPT,
        H_OBJ,
        1,
        false,
        2,
        encrypt::encrypt_decrypt,
    ),
    CommandDef {
        no_sessions: true,
        ..def(
            TPM_CC_FLUSH_CONTEXT,
            &[],
            0,
            false,
            false,
            context::flush_context,
        )
    },
    ob(TPM_CC_LOAD_EXTERNAL, &[], 0, true, 3, object::load_external),
    ob(
        TPM_CC_MAKE_CREDENTIAL,
        H_OBJ,
        0,
        false,
        3,
        attest::make_credential,
    ),
    CommandDef {
        enc: 2,
        ..def(
            TPM_CC_NV_READ_PUBLIC,
            H_NV_INDEX,
            0,
            false,
            false,
            nv::read_public,
        )
    },
    ob(
        TPM_CC_POLICY_AUTHORIZE,
        H_POLICY,
        0,
        false,
        1,
        policy_auth::policy_authorize,
    ),
    ob(
        TPM_CC_POLICY_AUTH_VALUE,
        H_POLICY,
        0,
        false,
        0,
        session::policy_auth_value,
    ),
    ob(
        TPM_CC_POLICY_COMMAND_CODE,
        H_POLICY,
        0,
        false,
        0,
        session::policy_command_code,
    ),
    ob(
        TPM_CC_POLICY_COUNTER_TIMER,
        H_POLICY,
        0,
        false,
        1,
        policy_nv::policy_counter_timer,
    ),
    ob(
        TPM_CC_POLICY_CP_HASH,
        H_POLICY,
        0,
        false,
        1,
        session::policy_cp_hash,
    ),
    ob(
        TPM_CC_POLICY_LOCALITY,
        H_POLICY,
        0,
        false,
        0,
        session::policy_locality,
    ),
    ob(
        TPM_CC_POLICY_NAME_HASH,
        H_POLICY,
        0,
        false,
        1,
        policy_bind::policy_name_hash,
    ),
    ob(TPM_CC_POLICY_OR, H_POLICY, 0, false, 0, session::policy_or),
    ob(
        policy_ticket::TPM_CC_POLICY_TICKET,
        H_POLICY,
        0,
        false,
        1,
        policy_ticket::policy_ticket,
    ),
    ob(TPM_CC_READ_PUBLIC, H_OBJ, 0, false, 2, object::read_public),
    ob(TPM_CC_RSA_ENCRYPT, H_OBJ, 0, false, 3, asym::rsa_encrypt),
    ob(
        TPM_CC_START_AUTH_SESSION,
        H_SAS,
        0,
        true,
        3,
        session::start_auth_session,
    ),
    ob(
        TPM_CC_VERIFY_SIGNATURE,
        H_OBJ,
        0,
        false,
        1,
        attest::verify_signature,
    ),
    ob(
        TPM_CC_ECC_PARAMETERS,
        &[],
        0,
        false,
        0,
        ecdh::ecc_parameters,
    ),
    def(
        TPM_CC_GET_CAPABILITY,
        &[],
        0,
        false,
        false,
        capability::get_capability,
    ),
    CommandDef {
        enc: 2,
        ..def(TPM_CC_GET_RANDOM, &[], 0, false, false, misc::get_random)
    },
    CommandDef {
        enc: 2,
        ..def(
            TPM_CC_GET_TEST_RESULT,
            &[],
            0,
            false,
            false,
            misc::get_test_result,
        )
    },
    CommandDef {
        enc: 3,
        ..def(TPM_CC_HASH, &[], 0, false, false, misc::hash_cmd)
    },
    def(TPM_CC_PCR_READ, &[], 0, false, false, pcr::read),
    ob(
        TPM_CC_POLICY_PCR,
        H_POLICY,
        0,
        false,
        1,
        session::policy_pcr,
    ),
    ob(
        TPM_CC_POLICY_RESTART,
        H_POLICY,
        0,
        false,
        0,
        session::policy_restart,
    ),
    def(TPM_CC_READ_CLOCK, &[], 0, false, false, misc::read_clock),
    def(TPM_CC_PCR_EXTEND, H_PCR, 1, true, false, pcr::extend),
    ob(
        TPM_CC_NV_CERTIFY,
        H_NV_CERTIFY,
        2,
        false,
        3,
        nv_certify::nv_certify,
    ),
    CommandDef {
        nv: true,
        flushed: true,
        ..ob(
            TPM_CC_EVENT_SEQUENCE_COMPLETE,
            &[HandleKind::Pcr, HandleKind::Sequence],
            2,
            false,
            1,
            sequence::event_sequence_complete,
        )
    },
    ob(
        TPM_CC_HASH_SEQUENCE_START,
        &[],
        0,
        true,
        1,
        sequence::hash_sequence_start,
    ),
    ob(
        TPM_CC_POLICY_PHYSICAL_PRESENCE,
        H_POLICY,
        0,
        false,
        0,
        policy_bind::policy_physical_presence,
    ),
    ob(
        TPM_CC_POLICY_DUPLICATION_SELECT,
        H_POLICY,
        0,
        false,
        1,
        policy_bind::policy_duplication_select,
    ),
    ob(
        TPM_CC_POLICY_GET_DIGEST,
        H_POLICY,
        0,
        false,
        2,
        session::policy_get_digest,
    ),
    def(TPM_CC_TEST_PARMS, &[], 0, false, false, misc::test_parms),
    ob(TPM_CC_COMMIT, H_OBJ, 1, false, 3, commit::commit),
    ob(
        TPM_CC_POLICY_PASSWORD,
        H_POLICY,
        0,
        false,
        0,
        session::policy_password,
    ),
    ob(TPM_CC_ZGEN_2PHASE, H_OBJ, 1, false, 3, ecdh::zgen_2phase),
    ob(TPM_CC_EC_EPHEMERAL, &[], 0, false, 2, ecdh::ec_ephemeral),
    ob(
        TPM_CC_POLICY_NV_WRITTEN,
        H_POLICY,
        0,
        false,
        0,
        policy_nv::policy_nv_written,
    ),
    ob(
        TPM_CC_POLICY_TEMPLATE,
        H_POLICY,
        0,
        false,
        1,
        policy_bind::policy_template,
    ),
    ob(
        TPM_CC_CREATE_LOADED,
        &[HandleKind::Parent],
        1,
        true,
        3,
        object::create_loaded,
    ),
    ob(
        TPM_CC_POLICY_AUTHORIZE_NV,
        H_POLICY_NV,
        1,
        false,
        0,
        policy_nv::policy_authorize_nv,
    ),
    ob(
        TPM_CC_ENCRYPT_DECRYPT2,
        H_OBJ,
        1,
        false,
        3,
        encrypt::encrypt_decrypt2,
    ),
    CommandDef {
        admin: 1,
        ..ob(TPM_CC_CERTIFY_X509, H_OBJ2, 2, false, 3, x509::certify_x509)
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_and_unique() {
        assert!(super::COMMANDS.windows(2).all(|w| w[0].cc < w[1].cc));
    }

    /// `TPMA_CC` of every command libtpms 0.9 implements (its `s_ccAttr`; Part 3 command
    /// tables): `cc nv extensive flushed cHandles rHandle`. ESYS and the kernel's
    /// `/dev/tpmrm0` size handle areas and flush from these bits.
    const LIBTPMS_CC_ATTR: &str = "
        11f 10020 120 10020 121 11010 122 10020 124 11010 125 11010 126 11010 127 10010
        128 10010 129 10010 12a 10010 12b 10010 12c 10010 12d 10010 12e 10010 12f 00020
        130 00010 131 00011 132 10010 133 10020 134 10020 135 10020 136 10020 137 10020
        138 10020 139 10010 13a 10010 13b 10010 13c 10010 13d 10010 13e 00110 13f 10010
        140 10010 141 10000 142 10000 143 10000 144 10000 145 10000 146 10000 147 00020
        148 00020 149 00030 14a 00020 14b 00020 14c 00020 14d 00030 14e 00020 14f 10020
        150 00020 151 00020 152 00020 153 00010 154 00010 155 00010 156 00010 157 00011
        158 00010 159 00010 15b 00011 15c 00010 15d 00010 15e 00010 160 00020 161 00001
        162 00010 163 00010 164 00010 165 00000 167 00001 168 00010 169 00010 16a 00010
        16b 00010 16c 00010 16d 00010 16e 00010 16f 00010 170 00010 171 00010 172 00010
        173 00010 174 00010 176 00021 177 00010 178 00000 179 00000 17a 00000 17b 00000
        17c 00000 17d 00000 17e 00000 17f 00010 180 00010 181 00000 182 10010 183 00010
        184 00030 185 10120 186 00001 187 00010 188 00010 189 00010 18a 00000 18b 00010
        18c 00010 18d 00010 18e 00000 18f 00010 190 00010 191 00011 192 00030 193 00010
        194 00010 195 00030 196 00010 197 00020 198 00010 199 00010 19a 00010";

    #[test]
    fn tpma_cc_matches_libtpms() {
        let words: Vec<&str> = LIBTPMS_CC_ATTR.split_whitespace().collect();
        let table: Vec<(u32, u32)> = words
            .chunks(2)
            .map(|w| {
                let cc = u32::from_str_radix(w[0], 16).unwrap();
                let b: Vec<u32> = w[1].bytes().map(|c| u32::from(c - b'0')).collect();
                let attr =
                    cc | (b[0] << 22) | (b[1] << 23) | (b[2] << 24) | (b[3] << 25) | (b[4] << 28);
                (cc, attr)
            })
            .collect();
        for d in super::COMMANDS {
            let want = table
                .iter()
                .find(|(cc, _)| *cc == d.cc)
                .unwrap_or_else(|| panic!("{:#x} not in libtpms' table", d.cc))
                .1;
            assert_eq!(d.tpma_cc(), want, "TPMA_CC of {:#x}", d.cc);
        }
    }
}
