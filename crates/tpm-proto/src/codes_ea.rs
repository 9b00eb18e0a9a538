//! Constants for the remaining Enhanced Authorization commands, NV attestation and platform
//! management (Part 2, 6.5.2 TPM_CC; 6.6 TPM_RC; 6.8 TPM_EO; 6.9 TPM_ST; 6.7 TPM_CLOCK_ADJUST).
//! Kept apart from `codes.rs` so that branches adding other commands do not collide.

// Part 2, 6.5.2 TPM_CC.
/// TPM2_PP_Commands.
pub const TPM_CC_PP_COMMANDS: u32 = 0x0000_012D;
/// TPM2_SetPrimaryPolicy.
pub const TPM_CC_SET_PRIMARY_POLICY: u32 = 0x0000_012E;
/// TPM2_ClockRateAdjust.
pub const TPM_CC_CLOCK_RATE_ADJUST: u32 = 0x0000_0130;
/// TPM2_SetAlgorithmSet.
pub const TPM_CC_SET_ALGORITHM_SET: u32 = 0x0000_013F;
/// TPM2_PolicyNV.
pub const TPM_CC_POLICY_NV: u32 = 0x0000_0149;
/// TPM2_PolicyCounterTimer.
pub const TPM_CC_POLICY_COUNTER_TIMER: u32 = 0x0000_016D;
/// TPM2_PolicyNameHash.
pub const TPM_CC_POLICY_NAME_HASH: u32 = 0x0000_0170;
/// TPM2_NV_Certify.
pub const TPM_CC_NV_CERTIFY: u32 = 0x0000_0184;
/// TPM2_PolicyPhysicalPresence.
pub const TPM_CC_POLICY_PHYSICAL_PRESENCE: u32 = 0x0000_0187;
/// TPM2_PolicyDuplicationSelect.
pub const TPM_CC_POLICY_DUPLICATION_SELECT: u32 = 0x0000_0188;
/// TPM2_PolicyNvWritten.
pub const TPM_CC_POLICY_NV_WRITTEN: u32 = 0x0000_018F;
/// TPM2_PolicyTemplate.
pub const TPM_CC_POLICY_TEMPLATE: u32 = 0x0000_0190;
/// TPM2_PolicyAuthorizeNV.
pub const TPM_CC_POLICY_AUTHORIZE_NV: u32 = 0x0000_0192;
/// TPM2_CertifyX509.
pub const TPM_CC_CERTIFY_X509: u32 = 0x0000_0197;

// Part 2, 6.6.3 TPM_RC (format one).
/// TPM_RC_PP: the authorization needs physical presence, which is not asserted.
pub const TPM_RC_PP: u32 = 0x080 + 0x010;

// Part 2, 6.8 TPM_EO: PolicyNV / PolicyCounterTimer comparisons.
/// A = B.
pub const TPM_EO_EQ: u16 = 0x0000;
/// A ≠ B.
pub const TPM_EO_NEQ: u16 = 0x0001;
/// A > B, signed.
pub const TPM_EO_SIGNED_GT: u16 = 0x0002;
/// A > B, unsigned.
pub const TPM_EO_UNSIGNED_GT: u16 = 0x0003;
/// A < B, signed.
pub const TPM_EO_SIGNED_LT: u16 = 0x0004;
/// A < B, unsigned.
pub const TPM_EO_UNSIGNED_LT: u16 = 0x0005;
/// A ≥ B, signed.
pub const TPM_EO_SIGNED_GE: u16 = 0x0006;
/// A ≥ B, unsigned.
pub const TPM_EO_UNSIGNED_GE: u16 = 0x0007;
/// A ≤ B, signed.
pub const TPM_EO_SIGNED_LE: u16 = 0x0008;
/// A ≤ B, unsigned.
pub const TPM_EO_UNSIGNED_LE: u16 = 0x0009;
/// All bits set in B are set in A.
pub const TPM_EO_BITSET: u16 = 0x000A;
/// All bits set in B are clear in A.
pub const TPM_EO_BITCLEAR: u16 = 0x000B;

// Part 2, 6.9 TPM_ST.
/// TPM_ST_ATTEST_NV: `TPMS_NV_CERTIFY_INFO`.
pub const TPM_ST_ATTEST_NV: u16 = 0x8014;
/// TPM_ST_ATTEST_NV_DIGEST: `TPMS_NV_DIGEST_CERTIFY_INFO`.
pub const TPM_ST_ATTEST_NV_DIGEST: u16 = 0x801C;

// Part 2, 6.7 TPM_CLOCK_ADJUST (INT8).
/// Slow the Clock update rate by one coarse step.
pub const TPM_CLOCK_COARSE_SLOWER: i8 = -3;
/// Speed the Clock update rate up by one coarse step.
pub const TPM_CLOCK_COARSE_FASTER: i8 = 3;
