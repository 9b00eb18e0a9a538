//! Constants for objects, sessions, policies and attestation (Part 2; sections cited per group).
//! Kept apart from `constants.rs` (boot minimum) so each file stays one concern.

// Part 2, 6.5.2 TPM_CC.
/// TPM2_EvictControl.
pub const TPM_CC_EVICT_CONTROL: u32 = 0x0000_0120;
/// TPM2_CreatePrimary.
pub const TPM_CC_CREATE_PRIMARY: u32 = 0x0000_0131;
/// TPM2_ActivateCredential.
pub const TPM_CC_ACTIVATE_CREDENTIAL: u32 = 0x0000_0147;
/// TPM2_Certify.
pub const TPM_CC_CERTIFY: u32 = 0x0000_0148;
/// TPM2_CertifyCreation.
pub const TPM_CC_CERTIFY_CREATION: u32 = 0x0000_014A;
/// TPM2_GetTime.
pub const TPM_CC_GET_TIME: u32 = 0x0000_014C;
/// TPM2_ObjectChangeAuth.
pub const TPM_CC_OBJECT_CHANGE_AUTH: u32 = 0x0000_0150;
/// TPM2_Duplicate.
pub const TPM_CC_DUPLICATE: u32 = 0x0000_014B;
/// TPM2_Rewrap.
pub const TPM_CC_REWRAP: u32 = 0x0000_0152;
/// TPM2_Import.
pub const TPM_CC_IMPORT: u32 = 0x0000_0156;
/// TPM2_PolicySecret.
pub const TPM_CC_POLICY_SECRET: u32 = 0x0000_0151;
/// TPM2_Create.
pub const TPM_CC_CREATE: u32 = 0x0000_0153;
/// TPM2_Load.
pub const TPM_CC_LOAD: u32 = 0x0000_0157;
/// TPM2_Quote.
pub const TPM_CC_QUOTE: u32 = 0x0000_0158;
/// TPM2_Sign.
pub const TPM_CC_SIGN: u32 = 0x0000_015D;
/// TPM2_Unseal.
pub const TPM_CC_UNSEAL: u32 = 0x0000_015E;
/// TPM2_ContextLoad.
pub const TPM_CC_CONTEXT_LOAD: u32 = 0x0000_0161;
/// TPM2_ContextSave.
pub const TPM_CC_CONTEXT_SAVE: u32 = 0x0000_0162;
/// TPM2_LoadExternal.
pub const TPM_CC_LOAD_EXTERNAL: u32 = 0x0000_0167;
/// TPM2_MakeCredential.
pub const TPM_CC_MAKE_CREDENTIAL: u32 = 0x0000_0168;
/// TPM2_PolicyAuthValue.
pub const TPM_CC_POLICY_AUTH_VALUE: u32 = 0x0000_016B;
/// TPM2_PolicyCommandCode.
pub const TPM_CC_POLICY_COMMAND_CODE: u32 = 0x0000_016C;
/// TPM2_PolicyOR.
pub const TPM_CC_POLICY_OR: u32 = 0x0000_0171;
/// TPM2_ReadPublic.
pub const TPM_CC_READ_PUBLIC: u32 = 0x0000_0173;
/// TPM2_StartAuthSession.
pub const TPM_CC_START_AUTH_SESSION: u32 = 0x0000_0176;
/// TPM2_VerifySignature.
pub const TPM_CC_VERIFY_SIGNATURE: u32 = 0x0000_0177;
/// TPM2_PolicyPCR.
pub const TPM_CC_POLICY_PCR: u32 = 0x0000_017F;
/// TPM2_PolicyRestart.
pub const TPM_CC_POLICY_RESTART: u32 = 0x0000_0180;
/// TPM2_PolicyGetDigest.
pub const TPM_CC_POLICY_GET_DIGEST: u32 = 0x0000_0189;
/// TPM2_PolicyPassword.
pub const TPM_CC_POLICY_PASSWORD: u32 = 0x0000_018C;
/// TPM2_PolicySigned.
pub const TPM_CC_POLICY_SIGNED: u32 = 0x0000_0160;
/// TPM2_PolicyAuthorize.
pub const TPM_CC_POLICY_AUTHORIZE: u32 = 0x0000_016A;
/// TPM2_HashSequenceStart.
pub const TPM_CC_HASH_SEQUENCE_START: u32 = 0x0000_0186;
/// TPM2_SequenceUpdate.
pub const TPM_CC_SEQUENCE_UPDATE: u32 = 0x0000_015C;
/// TPM2_SequenceComplete.
pub const TPM_CC_SEQUENCE_COMPLETE: u32 = 0x0000_013E;
/// TPM2_EventSequenceComplete.
pub const TPM_CC_EVENT_SEQUENCE_COMPLETE: u32 = 0x0000_0185;
/// TPM2_HMAC_Start.
pub const TPM_CC_HMAC_START: u32 = 0x0000_015B;
/// TPM2_CreateLoaded.
pub const TPM_CC_CREATE_LOADED: u32 = 0x0000_0191;
/// TPM2_RSA_Encrypt.
pub const TPM_CC_RSA_ENCRYPT: u32 = 0x0000_0174;
/// TPM2_RSA_Decrypt.
pub const TPM_CC_RSA_DECRYPT: u32 = 0x0000_0159;
/// TPM2_ClockSet.
pub const TPM_CC_CLOCK_SET: u32 = 0x0000_0128;
/// TPM2_PolicyCpHash.
pub const TPM_CC_POLICY_CP_HASH: u32 = 0x0000_016E;
/// TPM2_PolicyLocality.
pub const TPM_CC_POLICY_LOCALITY: u32 = 0x0000_016F;
/// TPM2_HMAC.
pub const TPM_CC_HMAC: u32 = 0x0000_0155;
/// TPM2_ECDH_ZGen.
pub const TPM_CC_ECDH_ZGEN: u32 = 0x0000_0154;
/// TPM2_ECDH_KeyGen.
pub const TPM_CC_ECDH_KEYGEN: u32 = 0x0000_0163;
/// TPM2_EncryptDecrypt.
pub const TPM_CC_ENCRYPT_DECRYPT: u32 = 0x0000_0164;
/// TPM2_ECC_Parameters.
pub const TPM_CC_ECC_PARAMETERS: u32 = 0x0000_0178;
/// TPM2_Commit.
pub const TPM_CC_COMMIT: u32 = 0x0000_018B;
/// TPM2_ZGen_2Phase.
pub const TPM_CC_ZGEN_2PHASE: u32 = 0x0000_018D;
/// TPM2_EC_Ephemeral.
pub const TPM_CC_EC_EPHEMERAL: u32 = 0x0000_018E;
/// TPM2_EncryptDecrypt2.
pub const TPM_CC_ENCRYPT_DECRYPT2: u32 = 0x0000_0193;

// Part 2, 6.3 TPM_ALG_ID (those not in `constants.rs`).
/// TPM_ALG_RSA.
pub const TPM_ALG_RSA: u16 = 0x0001;
/// TPM_ALG_MGF1.
pub const TPM_ALG_MGF1: u16 = 0x0007;
/// TPM_ALG_RSASSA.
pub const TPM_ALG_RSASSA: u16 = 0x0014;
/// TPM_ALG_RSAES.
pub const TPM_ALG_RSAES: u16 = 0x0015;
/// TPM_ALG_RSAPSS.
pub const TPM_ALG_RSAPSS: u16 = 0x0016;
/// TPM_ALG_OAEP.
pub const TPM_ALG_OAEP: u16 = 0x0017;
/// TPM_ALG_ECDSA.
pub const TPM_ALG_ECDSA: u16 = 0x0018;
/// TPM_ALG_ECDH.
pub const TPM_ALG_ECDH: u16 = 0x0019;
/// TPM_ALG_ECDAA (carries a count in its scheme details).
pub const TPM_ALG_ECDAA: u16 = 0x001A;
/// TPM_ALG_ECSCHNORR.
pub const TPM_ALG_ECSCHNORR: u16 = 0x001C;
/// TPM_ALG_KDF1_SP800_56A.
pub const TPM_ALG_KDF1_SP800_56A: u16 = 0x0020;
/// TPM_ALG_KDF1_SP800_108.
pub const TPM_ALG_KDF1_SP800_108: u16 = 0x0022;
/// TPM_ALG_ECC.
pub const TPM_ALG_ECC: u16 = 0x0023;
/// TPM_ALG_SYMCIPHER.
pub const TPM_ALG_SYMCIPHER: u16 = 0x0025;
/// TPM_ALG_CFB.
pub const TPM_ALG_CFB: u16 = 0x0043;
/// TPM_ALG_ECMQV.
pub const TPM_ALG_ECMQV: u16 = 0x001D;
/// TPM_ALG_CTR.
pub const TPM_ALG_CTR: u16 = 0x0040;
/// TPM_ALG_OFB.
pub const TPM_ALG_OFB: u16 = 0x0041;
/// TPM_ALG_CBC.
pub const TPM_ALG_CBC: u16 = 0x0042;
/// TPM_ALG_ECB.
pub const TPM_ALG_ECB: u16 = 0x0044;

// Part 2, 6.4 TPM_ECC_CURVE.
/// TPM_ECC_NIST_P256.
pub const TPM_ECC_NIST_P256: u16 = 0x0003;
/// TPM_ECC_NIST_P384.
pub const TPM_ECC_NIST_P384: u16 = 0x0004;
/// TPM_ECC_BN_P256.
pub const TPM_ECC_BN_P256: u16 = 0x0010;

// Part 2, 6.6 TPM_RC.
/// Integrity check of a private area failed (format zero).
pub const TPM_RC_PRIVATE: u32 = 0x100 + 0x00B;
/// Authorization HMAC check failed (format zero, unused by libtpms for sessions).
pub const TPM_RC_HMAC: u32 = 0x100 + 0x019;
/// PCR have changed since checked.
pub const TPM_RC_PCR_CHANGED: u32 = 0x100 + 0x028;
/// Context ID counter is at maximum.
pub const TPM_RC_TOO_MANY_CONTEXTS: u32 = 0x100 + 0x02E;
/// The handle is not a valid context blob handle or the context is corrupt.
pub const TPM_RC_BAD_CONTEXT: u32 = 0x100 + 0x050;
/// Invalid cpHash value.
pub const TPM_RC_CPHASH: u32 = 0x100 + 0x051;
/// The loaded parent is not a storage key.
pub const TPM_RC_PARENT: u32 = 0x100 + 0x052;
/// Unmarshaled sensitive area failed a check.
pub const TPM_RC_SENSITIVE: u32 = 0x100 + 0x055;
/// Asymmetric algorithm not supported or not correct.
pub const TPM_RC_ASYMMETRIC: u32 = 0x080 + 0x001;
/// Key size not supported.
pub const TPM_RC_KEY_SIZE: u32 = 0x080 + 0x007;
/// Mode of operation not supported.
pub const TPM_RC_MODE: u32 = 0x080 + 0x009;
/// KDF not supported.
pub const TPM_RC_KDF: u32 = 0x080 + 0x00C;
/// Signature is not valid.
pub const TPM_RC_SIGNATURE: u32 = 0x080 + 0x01B;
/// Key fields are not compatible with the selected use.
pub const TPM_RC_KEY: u32 = 0x080 + 0x01C;
/// A policy check failed.
pub const TPM_RC_POLICY_FAIL: u32 = 0x080 + 0x01D;
/// Integrity check failed.
pub const TPM_RC_INTEGRITY: u32 = 0x080 + 0x01F;
/// Invalid ticket.
pub const TPM_RC_TICKET: u32 = 0x080 + 0x020;
/// TPM_RC_EXPIRED: a policy authorization's time limit has passed.
pub const TPM_RC_EXPIRED: u32 = 0x080 + 0x023;
/// Policy command code check failed.
pub const TPM_RC_POLICY_CC: u32 = 0x080 + 0x024;
/// Public and sensitive portions of an object are not cryptographically bound.
pub const TPM_RC_BINDING: u32 = 0x080 + 0x025;
/// Curve not supported.
pub const TPM_RC_CURVE: u32 = 0x080 + 0x026;
/// Point is not on the required curve.
pub const TPM_RC_ECC_POINT: u32 = 0x080 + 0x027;
/// Gap for context ID is too large.
pub const TPM_RC_CONTEXT_GAP: u32 = 0x900 + 0x001;
/// Out of memory for object contexts.
pub const TPM_RC_OBJECT_MEMORY: u32 = 0x900 + 0x002;
/// Out of memory for session contexts.
pub const TPM_RC_SESSION_MEMORY: u32 = 0x900 + 0x003;
/// Out of session handles.
pub const TPM_RC_SESSION_HANDLES: u32 = 0x900 + 0x005;
/// Out of object handles.
pub const TPM_RC_OBJECT_HANDLES: u32 = 0x900 + 0x006;
/// The 1st handle in the handle area references a transient object or session not loaded.
pub const TPM_RC_REFERENCE_H0: u32 = 0x900 + 0x010;

// Part 2, 6.9 TPM_ST.
/// Tag of a `TPMS_ATTEST` from TPM2_Certify.
pub const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
/// TPMS_ATTEST type of TPM2_GetCommandAuditDigest.
pub const TPM_ST_ATTEST_COMMAND_AUDIT: u16 = 0x8015;
/// TPMS_ATTEST type of TPM2_GetSessionAuditDigest.
pub const TPM_ST_ATTEST_SESSION_AUDIT: u16 = 0x8016;
/// Tag of a `TPMS_ATTEST` from TPM2_Quote.
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
/// Tag of a `TPMS_ATTEST` from TPM2_GetTime.
pub const TPM_ST_ATTEST_TIME: u16 = 0x8019;
/// Tag of a `TPMS_ATTEST` from TPM2_CertifyCreation.
pub const TPM_ST_ATTEST_CREATION: u16 = 0x801A;
/// Tag of a creation ticket.
pub const TPM_ST_CREATION: u16 = 0x8021;
/// Tag of a verified-signature ticket.
pub const TPM_ST_VERIFIED: u16 = 0x8022;
/// Tag of a PolicySecret ticket.
pub const TPM_ST_AUTH_SECRET: u16 = 0x8023;
/// TPM_ST_AUTH_SIGNED: tag of a PolicySigned ticket.
pub const TPM_ST_AUTH_SIGNED: u16 = 0x8025;

// Part 2, 6.11 TPM_SE.
/// An HMAC session.
pub const TPM_SE_HMAC: u8 = 0x00;
/// A policy session.
pub const TPM_SE_POLICY: u8 = 0x01;
/// A trial policy session (computes a digest, authorizes nothing).
pub const TPM_SE_TRIAL: u8 = 0x03;

// Part 2, 8.3 TPMA_OBJECT.
/// `fixedTPM`.
pub const TPMA_OBJECT_FIXED_TPM: u32 = 1 << 1;
/// `stClear`.
pub const TPMA_OBJECT_ST_CLEAR: u32 = 1 << 2;
/// `fixedParent`.
pub const TPMA_OBJECT_FIXED_PARENT: u32 = 1 << 4;
/// `sensitiveDataOrigin`.
pub const TPMA_OBJECT_SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
/// `userWithAuth`.
pub const TPMA_OBJECT_USER_WITH_AUTH: u32 = 1 << 6;
/// `adminWithPolicy`.
pub const TPMA_OBJECT_ADMIN_WITH_POLICY: u32 = 1 << 7;
/// `noDA`.
pub const TPMA_OBJECT_NO_DA: u32 = 1 << 10;
/// `encryptedDuplication`.
pub const TPMA_OBJECT_ENCRYPTED_DUPLICATION: u32 = 1 << 11;
/// `restricted`.
pub const TPMA_OBJECT_RESTRICTED: u32 = 1 << 16;
/// `decrypt`.
pub const TPMA_OBJECT_DECRYPT: u32 = 1 << 17;
/// `sign` / `encrypt`.
pub const TPMA_OBJECT_SIGN_ENCRYPT: u32 = 1 << 18;
/// Reserved bits of `TPMA_OBJECT` (0, 3, 8, 9, 12–15, 19–31).
pub const TPMA_OBJECT_RESERVED: u32 = 0x1 | 0x8 | 0x300 | 0xF000 | 0xFFF8_0000;

// Part 2, 8.4 TPMA_SESSION.
/// `decrypt`: the first command parameter is encrypted.
pub const TPMA_SESSION_DECRYPT: u8 = 0x20;
/// `encrypt`: the first response parameter is encrypted.
pub const TPMA_SESSION_ENCRYPT: u8 = 0x40;
/// `audit`.
pub const TPMA_SESSION_AUDIT: u8 = 0x80;
/// TPMA_SESSION.auditExclusive.
pub const TPMA_SESSION_AUDIT_EXCLUSIVE: u8 = 0x02;
/// TPMA_SESSION.auditReset.
pub const TPMA_SESSION_AUDIT_RESET: u8 = 0x04;
/// TPM_RC_EXCLUSIVE: auditExclusive set on a session that is not the exclusive audit session.
pub const TPM_RC_EXCLUSIVE: u32 = 0x100 + 0x021;
/// TPM2_GetCommandAuditDigest.
pub const TPM_CC_GET_COMMAND_AUDIT_DIGEST: u32 = 0x0000_0133;
/// TPM2_GetSessionAuditDigest.
pub const TPM_CC_GET_SESSION_AUDIT_DIGEST: u32 = 0x0000_014D;
/// TPM2_SetCommandCodeAuditStatus.
pub const TPM_CC_SET_COMMAND_CODE_AUDIT_STATUS: u32 = 0x0000_0140;

// Part 2, 7.4 permanent handles (those not in `constants.rs`).
/// First persistent object handle owned by the owner hierarchy.
pub const PERSISTENT_FIRST: u32 = 0x8100_0000;
/// First persistent handle of the platform range (Part 2, 7.6 / TCG handle registry).
pub const PLATFORM_PERSISTENT: u32 = 0x8180_0000;
/// First transient object handle.
pub const TRANSIENT_FIRST: u32 = 0x8000_0000;
/// First HMAC session handle.
pub const HMAC_SESSION_FIRST: u32 = 0x0200_0000;
/// First policy session handle.
pub const POLICY_SESSION_FIRST: u32 = 0x0300_0000;
