//! Constants from TPM 2.0 Library Part 2 "Structures" (section numbers cited per group).

// Part 2, 6.9 TPM_ST (structure tags).
/// A command/response with no attached sessions.
pub const TPM_ST_NO_SESSIONS: u16 = 0x8001;
/// A command/response with an authorization area.
pub const TPM_ST_SESSIONS: u16 = 0x8002;
/// Tag of a `TPMT_TK_HASHCHECK` ticket.
pub const TPM_ST_HASHCHECK: u16 = 0x8024;
/// Tag of a TPM 1.2 request without authorization (`TPM_TAG_RQU_COMMAND`).
pub const TPM12_TAG_RQU_COMMAND: u16 = 0x00C1;
/// TPM 1.2 `TPM_TAG_RQU_AUTH1_COMMAND`.
pub const TPM12_TAG_RQU_AUTH1_COMMAND: u16 = 0x00C2;
/// TPM 1.2 `TPM_TAG_RQU_AUTH2_COMMAND`.
pub const TPM12_TAG_RQU_AUTH2_COMMAND: u16 = 0x00C3;

// Part 2, 6.10 TPM_SU.
/// `TPM_SU_CLEAR`: reset / restart.
pub const TPM_SU_CLEAR: u16 = 0x0000;
/// `TPM_SU_STATE`: save / resume.
pub const TPM_SU_STATE: u16 = 0x0001;

// Part 2, 6.5.2 TPM_CC.
/// TPM2_NV_UndefineSpaceSpecial.
pub const TPM_CC_NV_UNDEFINE_SPACE_SPECIAL: u32 = 0x0000_011F;
/// TPM2_NV_UndefineSpace.
pub const TPM_CC_NV_UNDEFINE_SPACE: u32 = 0x0000_0122;
/// TPM2_NV_DefineSpace.
pub const TPM_CC_NV_DEFINE_SPACE: u32 = 0x0000_012A;
/// TPM2_NV_GlobalWriteLock.
pub const TPM_CC_NV_GLOBAL_WRITE_LOCK: u32 = 0x0000_0132;
/// TPM2_NV_Increment.
pub const TPM_CC_NV_INCREMENT: u32 = 0x0000_0134;
/// TPM2_NV_SetBits.
pub const TPM_CC_NV_SET_BITS: u32 = 0x0000_0135;
/// TPM2_NV_Extend.
pub const TPM_CC_NV_EXTEND: u32 = 0x0000_0136;
/// TPM2_NV_Write.
pub const TPM_CC_NV_WRITE: u32 = 0x0000_0137;
/// TPM2_NV_WriteLock.
pub const TPM_CC_NV_WRITE_LOCK: u32 = 0x0000_0138;
/// TPM2_NV_ChangeAuth.
pub const TPM_CC_NV_CHANGE_AUTH: u32 = 0x0000_013B;
/// TPM2_NV_Read.
pub const TPM_CC_NV_READ: u32 = 0x0000_014E;
/// TPM2_NV_ReadLock.
pub const TPM_CC_NV_READ_LOCK: u32 = 0x0000_014F;
/// TPM2_NV_ReadPublic.
pub const TPM_CC_NV_READ_PUBLIC: u32 = 0x0000_0169;
/// TPM2_ChangeEPS.
pub const TPM_CC_CHANGE_EPS: u32 = 0x0000_0124;
/// TPM2_ChangePPS.
pub const TPM_CC_CHANGE_PPS: u32 = 0x0000_0125;
/// TPM2_Clear.
pub const TPM_CC_CLEAR: u32 = 0x0000_0126;
/// TPM2_ClearControl.
pub const TPM_CC_CLEAR_CONTROL: u32 = 0x0000_0127;
/// TPM2_HierarchyChangeAuth.
pub const TPM_CC_HIERARCHY_CHANGE_AUTH: u32 = 0x0000_0129;
/// TPM2_HierarchyControl.
pub const TPM_CC_HIERARCHY_CONTROL: u32 = 0x0000_0121;
/// TPM2_PCR_Allocate.
pub const TPM_CC_PCR_ALLOCATE: u32 = 0x0000_012B;
/// TPM2_DictionaryAttackLockReset.
pub const TPM_CC_DICTIONARY_ATTACK_LOCK_RESET: u32 = 0x0000_0139;
/// TPM2_DictionaryAttackParameters.
pub const TPM_CC_DICTIONARY_ATTACK_PARAMETERS: u32 = 0x0000_013A;
/// TPM2_PCR_Event.
pub const TPM_CC_PCR_EVENT: u32 = 0x0000_013C;
/// TPM2_PCR_Reset.
pub const TPM_CC_PCR_RESET: u32 = 0x0000_013D;
/// TPM2_IncrementalSelfTest.
pub const TPM_CC_INCREMENTAL_SELF_TEST: u32 = 0x0000_0142;
/// TPM2_SelfTest.
pub const TPM_CC_SELF_TEST: u32 = 0x0000_0143;
/// TPM2_Startup.
pub const TPM_CC_STARTUP: u32 = 0x0000_0144;
/// TPM2_Shutdown.
pub const TPM_CC_SHUTDOWN: u32 = 0x0000_0145;
/// TPM2_StirRandom.
pub const TPM_CC_STIR_RANDOM: u32 = 0x0000_0146;
/// TPM2_FlushContext.
pub const TPM_CC_FLUSH_CONTEXT: u32 = 0x0000_0165;
/// TPM2_GetCapability.
pub const TPM_CC_GET_CAPABILITY: u32 = 0x0000_017A;
/// TPM2_GetRandom.
pub const TPM_CC_GET_RANDOM: u32 = 0x0000_017B;
/// TPM2_GetTestResult.
pub const TPM_CC_GET_TEST_RESULT: u32 = 0x0000_017C;
/// TPM2_Hash.
pub const TPM_CC_HASH: u32 = 0x0000_017D;
/// TPM2_PCR_Read.
pub const TPM_CC_PCR_READ: u32 = 0x0000_017E;
/// TPM2_ReadClock.
pub const TPM_CC_READ_CLOCK: u32 = 0x0000_0181;
/// TPM2_PCR_Extend.
pub const TPM_CC_PCR_EXTEND: u32 = 0x0000_0182;
/// TPM2_TestParms.
pub const TPM_CC_TEST_PARMS: u32 = 0x0000_018A;
/// First command code of the library range (`TPM_CC_FIRST`).
pub const TPM_CC_FIRST: u32 = 0x0000_011F;
/// Vendor-specific `TPM2_CC_SetLocality` (swtpm/libtpms); handled by the daemon.
pub const TPM_CC_SET_LOCALITY: u32 = 0x2000_1000;

// Part 2, 6.6 TPM_RC.
/// Success.
pub const TPM_RC_SUCCESS: u32 = 0x000;
/// Bad tag (not a TPM 2.0 command tag).
pub const TPM_RC_BAD_TAG: u32 = 0x01E;
/// Format-zero base.
pub const RC_VER1: u32 = 0x100;
/// TPM not initialized by TPM2_Startup or already initialized.
pub const TPM_RC_INITIALIZE: u32 = RC_VER1;
/// Commands not being accepted because of a TPM failure.
pub const TPM_RC_FAILURE: u32 = RC_VER1 + 0x001;
/// Improper use of a sequence handle.
pub const TPM_RC_SEQUENCE: u32 = RC_VER1 + 0x003;
/// The command is disabled.
pub const TPM_RC_DISABLED: u32 = RC_VER1 + 0x020;
/// Authorization handle is not correct for command.
pub const TPM_RC_AUTH_TYPE: u32 = RC_VER1 + 0x024;
/// Command requires an authorization session for a handle and it is not present.
pub const TPM_RC_AUTH_MISSING: u32 = RC_VER1 + 0x025;
/// Policy failure in math operation or an invalid authPolicy value.
pub const TPM_RC_POLICY: u32 = RC_VER1 + 0x026;
/// PCR check fail.
pub const TPM_RC_PCR: u32 = RC_VER1 + 0x027;
/// The authValue or authPolicy is not available for the selected entity.
pub const TPM_RC_AUTH_UNAVAILABLE: u32 = RC_VER1 + 0x02F;
/// Command size value is inconsistent with contents of the command buffer.
pub const TPM_RC_COMMAND_SIZE: u32 = RC_VER1 + 0x042;
/// Command code not supported.
pub const TPM_RC_COMMAND_CODE: u32 = RC_VER1 + 0x043;
/// The value of authorizationSize is out of range.
pub const TPM_RC_AUTHSIZE: u32 = RC_VER1 + 0x044;
/// Use of an authorization session with a context command or another command that cannot have one.
pub const TPM_RC_AUTH_CONTEXT: u32 = RC_VER1 + 0x045;
/// NV offset + size is out of range.
pub const TPM_RC_NV_RANGE: u32 = RC_VER1 + 0x046;
/// Requested allocation size is larger than allowed.
pub const TPM_RC_NV_SIZE: u32 = RC_VER1 + 0x047;
/// NV access locked.
pub const TPM_RC_NV_LOCKED: u32 = RC_VER1 + 0x048;
/// NV access authorization fails in command actions.
pub const TPM_RC_NV_AUTHORIZATION: u32 = RC_VER1 + 0x049;
/// An NV Index is used before being initialized or the state saved by TPM2_Shutdown(STATE)
/// could not be restored.
pub const TPM_RC_NV_UNINITIALIZED: u32 = RC_VER1 + 0x04A;
/// Insufficient space for NV allocation.
pub const TPM_RC_NV_SPACE: u32 = RC_VER1 + 0x04B;
/// NV Index or persistent object already defined.
pub const TPM_RC_NV_DEFINED: u32 = RC_VER1 + 0x04C;
/// Self-test not yet run for the requested function.
pub const TPM_RC_NEEDS_TEST: u32 = RC_VER1 + 0x053;
/// Format-one base.
pub const RC_FMT1: u32 = 0x080;
/// Inconsistent attributes.
pub const TPM_RC_ATTRIBUTES: u32 = RC_FMT1 + 0x002;
/// Hash algorithm not supported or not appropriate.
pub const TPM_RC_HASH: u32 = RC_FMT1 + 0x003;
/// Value is out of range or is not correct for the context.
pub const TPM_RC_VALUE: u32 = RC_FMT1 + 0x004;
/// Hierarchy is not enabled or is not correct for the use.
pub const TPM_RC_HIERARCHY: u32 = RC_FMT1 + 0x005;
/// The type of the value is not appropriate for the use.
pub const TPM_RC_TYPE: u32 = RC_FMT1 + 0x00A;
/// The handle is not correct for the use.
pub const TPM_RC_HANDLE: u32 = RC_FMT1 + 0x00B;
/// Value was out of allowed range.
pub const TPM_RC_RANGE: u32 = RC_FMT1 + 0x00D;
/// The authorization HMAC check failed and DA counter incremented.
pub const TPM_RC_AUTH_FAIL: u32 = RC_FMT1 + 0x00E;
/// Invalid nonce size or nonce value mismatch.
pub const TPM_RC_NONCE: u32 = RC_FMT1 + 0x00F;
/// Unsupported or incompatible scheme.
pub const TPM_RC_SCHEME: u32 = RC_FMT1 + 0x012;
/// Structure is the wrong size.
pub const TPM_RC_SIZE: u32 = RC_FMT1 + 0x015;
/// Unsupported symmetric algorithm or key size, or not appropriate for instance.
pub const TPM_RC_SYMMETRIC: u32 = RC_FMT1 + 0x016;
/// Incorrect structure tag.
pub const TPM_RC_TAG: u32 = RC_FMT1 + 0x017;
/// Union selector is incorrect.
pub const TPM_RC_SELECTOR: u32 = RC_FMT1 + 0x018;
/// The TPM was unable to unmarshal a value because there were not enough octets in the input buffer.
pub const TPM_RC_INSUFFICIENT: u32 = RC_FMT1 + 0x01A;
/// Reserved bits not set to zero as required.
pub const TPM_RC_RESERVED_BITS: u32 = RC_FMT1 + 0x021;
/// Authorization failure without DA implications.
pub const TPM_RC_BAD_AUTH: u32 = RC_FMT1 + 0x022;
/// Warning base.
pub const RC_WARN: u32 = 0x900;
/// Bad locality.
pub const TPM_RC_LOCALITY: u32 = RC_WARN + 0x007;
/// The TPM is performing self-tests.
pub const TPM_RC_TESTING: u32 = RC_WARN + 0x00A;
/// The 1st authorization session handle references a session that is not loaded.
pub const TPM_RC_REFERENCE_S0: u32 = RC_WARN + 0x018;
/// Authorizations for objects subject to DA protection are not allowed at this time.
pub const TPM_RC_LOCKOUT: u32 = RC_WARN + 0x021;
/// The TPM was not able to start the command.
pub const TPM_RC_RETRY: u32 = RC_WARN + 0x022;
/// Format-one: the error is associated with a handle.
pub const RC_H: u32 = 0x000;
/// Format-one: the error is associated with a parameter.
pub const RC_P: u32 = 0x040;
/// Format-one: the error is associated with a session.
pub const RC_S: u32 = 0x800;
/// Format-one number field shift (`TPM_RC_1` = `1 << RC_N_SHIFT`).
pub const RC_N_SHIFT: u32 = 8;
/// What libtpms answers to a TPM 1.2 command in TPM 2.0 mode (measured; see reference §2).
pub const TPM12_IN_TPM2_MODE_RC: u32 = 0x084;

// Part 2, 6.3 TPM_ALG_ID.
/// TPM_ALG_ERROR.
pub const TPM_ALG_ERROR: u16 = 0x0000;
/// TPM_ALG_SHA1.
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// TPM_ALG_HMAC.
pub const TPM_ALG_HMAC: u16 = 0x0005;
/// TPM_ALG_KEYEDHASH.
pub const TPM_ALG_KEYEDHASH: u16 = 0x0008;
/// TPM_ALG_SHA256.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_SHA384.
pub const TPM_ALG_SHA384: u16 = 0x000C;
/// TPM_ALG_SHA512.
pub const TPM_ALG_SHA512: u16 = 0x000D;
/// TPM_ALG_NULL.
pub const TPM_ALG_NULL: u16 = 0x0010;
/// TPM_ALG_XOR.
pub const TPM_ALG_XOR: u16 = 0x000A;
/// TPM_ALG_AES.
pub const TPM_ALG_AES: u16 = 0x0006;

// Part 2, 6.12 TPM_CAP.
/// TPM_CAP_ALGS.
pub const TPM_CAP_ALGS: u32 = 0;
/// TPM_CAP_HANDLES.
pub const TPM_CAP_HANDLES: u32 = 1;
/// TPM_CAP_COMMANDS.
pub const TPM_CAP_COMMANDS: u32 = 2;
/// TPM_CAP_PP_COMMANDS.
pub const TPM_CAP_PP_COMMANDS: u32 = 3;
/// TPM_CAP_AUDIT_COMMANDS.
pub const TPM_CAP_AUDIT_COMMANDS: u32 = 4;
/// TPM_CAP_PCRS.
pub const TPM_CAP_PCRS: u32 = 5;
/// TPM_CAP_TPM_PROPERTIES.
pub const TPM_CAP_TPM_PROPERTIES: u32 = 6;
/// TPM_CAP_PCR_PROPERTIES.
pub const TPM_CAP_PCR_PROPERTIES: u32 = 7;
/// TPM_CAP_ECC_CURVES.
pub const TPM_CAP_ECC_CURVES: u32 = 8;

// Part 2, 7.4 TPM_RH / 8.? TPM_RS.
/// TPM_RH_OWNER.
pub const TPM_RH_OWNER: u32 = 0x4000_0001;
/// TPM_RH_NULL.
pub const TPM_RH_NULL: u32 = 0x4000_0007;
/// TPM_RS_PW: the password authorization session.
pub const TPM_RS_PW: u32 = 0x4000_0009;
/// TPM_RH_LOCKOUT.
pub const TPM_RH_LOCKOUT: u32 = 0x4000_000A;
/// TPM_RH_ENDORSEMENT.
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;
/// TPM_RH_PLATFORM.
pub const TPM_RH_PLATFORM: u32 = 0x4000_000C;
/// TPM_RH_PLATFORM_NV.
pub const TPM_RH_PLATFORM_NV: u32 = 0x4000_000D;

// Part 2, 7.2 TPM_HT.
/// PCR handle type.
pub const TPM_HT_PCR: u8 = 0x00;
/// NV index handle type.
pub const TPM_HT_NV_INDEX: u8 = 0x01;
/// HMAC session handle type.
pub const TPM_HT_HMAC_SESSION: u8 = 0x02;
/// Policy session handle type.
pub const TPM_HT_POLICY_SESSION: u8 = 0x03;
/// Permanent handle type.
pub const TPM_HT_PERMANENT: u8 = 0x40;
/// Transient object handle type.
pub const TPM_HT_TRANSIENT: u8 = 0x80;
/// Persistent object handle type.
pub const TPM_HT_PERSISTENT: u8 = 0x81;

/// TPM_GENERATED_VALUE (Part 2, 6.2): data starting with it gets no hash ticket.
pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;

/// Size in octets of a digest of `alg`, for the hash algorithms this crate knows (Part 2, 10.1).
pub const fn digest_size(alg: u16) -> Option<usize> {
    match alg {
        TPM_ALG_SHA1 => Some(20),
        TPM_ALG_SHA256 => Some(32),
        TPM_ALG_SHA384 => Some(48),
        TPM_ALG_SHA512 => Some(64),
        _ => None,
    }
}

/// Builds a format-one code for handle number `n` (1-based).
pub const fn rc_handle(rc: u32, n: u32) -> u32 {
    rc + RC_H + (n << RC_N_SHIFT)
}

/// Builds a format-one code for parameter number `n` (1-based).
pub const fn rc_param(rc: u32, n: u32) -> u32 {
    rc + RC_P + (n << RC_N_SHIFT)
}

/// Builds a format-one code for session number `n` (1-based).
pub const fn rc_session(rc: u32, n: u32) -> u32 {
    rc + RC_S + (n << RC_N_SHIFT)
}
