//! Raw TPM 2.0 commands for the key/session benchmark, marshaled with `tpm-proto` types.
//! Layouts follow Part 3 (sections cited per builder); a command is header, handle area,
//! authorization area (only with `TPM_ST_SESSIONS`), parameters (Part 1, 18.2).

use tpm_proto::object::{PublicId, PublicParms, TpmtPublic, TpmtScheme, TpmtSymDef};
use tpm_proto::*;

/// TCG EK Credential Profile 2.0, B.3.3 "Template L-1": policy A =
/// PolicySecret(TPM_RH_ENDORSEMENT) digest (reference vtpm.md §7.3).
const EK_POLICY_A: [u8; 32] = [
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
];

const AES_128_CFB: TpmtSymDef = TpmtSymDef {
    algorithm: TPM_ALG_AES,
    key_bits: 128,
    mode: TPM_ALG_CFB,
};

fn sig_scheme(scheme: u16) -> TpmtScheme {
    TpmtScheme {
        scheme,
        hash: TPM_ALG_SHA256,
        count: 0,
    }
}

/// Key attributes every template here shares: fixedTPM, fixedParent, sensitiveDataOrigin.
const KEY_BASE: u32 =
    TPMA_OBJECT_FIXED_TPM | TPMA_OBJECT_FIXED_PARENT | TPMA_OBJECT_SENSITIVE_DATA_ORIGIN;

/// The RSA-2048 EK template L-1 (EK Credential Profile 2.0, B.3.3): attributes 0x000300B2,
/// AES-128-CFB, scheme NULL, exponent 0, `unique` = 256 zero bytes.
pub fn ek_rsa2048() -> TpmtPublic {
    TpmtPublic {
        object_type: TPM_ALG_RSA,
        name_alg: TPM_ALG_SHA256,
        object_attributes: KEY_BASE
            | TPMA_OBJECT_ADMIN_WITH_POLICY
            | TPMA_OBJECT_RESTRICTED
            | TPMA_OBJECT_DECRYPT,
        auth_policy: EK_POLICY_A.to_vec(),
        parameters: PublicParms::Rsa {
            symmetric: AES_128_CFB,
            scheme: TpmtScheme::NULL,
            key_bits: 2048,
            exponent: 0,
        },
        unique: PublicId::Rsa(vec![0; 256]),
    }
}

/// A restricted signing key (an AK as `tpm2_createak` makes it), userWithAuth: ECDSA-SHA256 on
/// P-256 when `ecc`, else RSASSA-SHA256 with RSA-2048.
pub fn ak(ecc: bool) -> TpmtPublic {
    let object_attributes =
        KEY_BASE | TPMA_OBJECT_USER_WITH_AUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    if ecc {
        ecc_p256(
            object_attributes,
            TpmtSymDef::NULL,
            sig_scheme(TPM_ALG_ECDSA),
        )
    } else {
        TpmtPublic {
            object_type: TPM_ALG_RSA,
            name_alg: TPM_ALG_SHA256,
            object_attributes,
            auth_policy: Vec::new(),
            parameters: PublicParms::Rsa {
                symmetric: TpmtSymDef::NULL,
                scheme: sig_scheme(TPM_ALG_RSASSA),
                key_bits: 2048,
                exponent: 0,
            },
            unique: PublicId::Rsa(Vec::new()),
        }
    }
}

/// An ECC P-256 storage primary (restricted decrypt, AES-128-CFB), userWithAuth.
pub fn srk_ecc() -> TpmtPublic {
    ecc_p256(
        KEY_BASE | TPMA_OBJECT_USER_WITH_AUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
        AES_128_CFB,
        TpmtScheme::NULL,
    )
}

/// An unrestricted ECDSA-SHA256 P-256 signing key (the `tpm2_create -G ecc` kind of child).
pub fn child_ecc() -> TpmtPublic {
    ecc_p256(
        KEY_BASE | TPMA_OBJECT_USER_WITH_AUTH | TPMA_OBJECT_SIGN_ENCRYPT,
        TpmtSymDef::NULL,
        sig_scheme(TPM_ALG_ECDSA),
    )
}

fn ecc_p256(object_attributes: u32, symmetric: TpmtSymDef, scheme: TpmtScheme) -> TpmtPublic {
    TpmtPublic {
        object_type: TPM_ALG_ECC,
        name_alg: TPM_ALG_SHA256,
        object_attributes,
        auth_policy: Vec::new(),
        parameters: PublicParms::Ecc {
            symmetric,
            scheme,
            curve_id: TPM_ECC_NIST_P256,
            kdf: TpmtScheme::NULL,
        },
        unique: PublicId::Ecc {
            x: Vec::new(),
            y: Vec::new(),
        },
    }
}

/// Assembles a command: `auths` are password sessions (`TPM_RS_PW`), one per handle that needs
/// authorization (Part 1, 18.2; Part 2, 10.13.2). No sessions → `TPM_ST_NO_SESSIONS`.
fn command(cc: u32, handles: &[u32], auths: &[&[u8]], params: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + params.len());
    let tag = if auths.is_empty() {
        TPM_ST_NO_SESSIONS
    } else {
        TPM_ST_SESSIONS
    };
    out.put_u16(tag);
    out.put_u32(0); // commandSize, patched below
    out.put_u32(cc);
    for h in handles {
        out.put_u32(*h);
    }
    if !auths.is_empty() {
        let mut area = Vec::new();
        for pw in auths {
            TpmsAuthCommand::password(pw).write(&mut area);
        }
        out.put_u32(area.len() as u32);
        out.extend_from_slice(&area);
    }
    out.extend_from_slice(params);
    let size = out.len() as u32;
    out.patch_u32(2, size);
    out
}

/// TPM2_CreatePrimary (Part 3, 24.1): `primaryHandle` with its (empty) hierarchy password;
/// `inSensitive` carries the new key's `userAuth`, empty `outsideInfo` and `creationPCR`.
pub fn create_primary(hierarchy: u32, key_auth: &[u8], template: &TpmtPublic) -> Vec<u8> {
    command(
        TPM_CC_CREATE_PRIMARY,
        &[hierarchy],
        &[b""],
        &create_params(key_auth, template),
    )
}

/// TPM2_Create (Part 3, 12.1): same parameters as CreatePrimary, under `parent`.
pub fn create(parent: u32, parent_auth: &[u8], template: &TpmtPublic) -> Vec<u8> {
    command(
        TPM_CC_CREATE,
        &[parent],
        &[parent_auth],
        &create_params(b"", template),
    )
}

fn create_params(key_auth: &[u8], template: &TpmtPublic) -> Vec<u8> {
    let mut p = Vec::new();
    object::TpmsSensitiveCreate {
        user_auth: key_auth.to_vec(),
        data: Vec::new(),
    }
    .write_2b(&mut p);
    template.write_2b(&mut p);
    p.put_tpm2b(b""); // outsideInfo
    TpmlPcrSelection(Vec::new()).write(&mut p); // creationPCR
    p
}

/// TPM2_Quote (Part 3, 18.4): `qualifyingData`, `inScheme` = NULL (the key's scheme), and
/// `PCRselect` = sha256 PCRs 0–7.
pub fn quote(key: u32, key_auth: &[u8], qualifying: &[u8; 16]) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(qualifying);
    TpmtScheme::NULL.write(&mut p);
    TpmlPcrSelection(vec![TpmsPcrSelection::new(TPM_ALG_SHA256, 3, 0xff)]).write(&mut p);
    command(TPM_CC_QUOTE, &[key], &[key_auth], &p)
}

/// TPM2_StartAuthSession (Part 3, 11.1): `tpmKey` and `bind` = TPM_RH_NULL (unsalted, unbound),
/// a 16-byte `nonceCaller`, no salt, `symmetric` = NULL, `authHash` = SHA-256.
pub fn start_policy_session() -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(&[0x5a; 16]);
    p.put_tpm2b(b""); // encryptedSalt
    p.put_u8(TPM_SE_POLICY);
    TpmtSymDef::NULL.write(&mut p);
    p.put_u16(TPM_ALG_SHA256);
    command(
        TPM_CC_START_AUTH_SESSION,
        &[TPM_RH_NULL, TPM_RH_NULL],
        &[],
        &p,
    )
}

/// TPM2_PolicySecret (Part 3, 23.4): `authHandle` = TPM_RH_ENDORSEMENT with its (empty)
/// password, then `policySession` (no authorization); empty nonceTPM, cpHashA and policyRef,
/// `expiration` 0 — what `tpm2_policysecret -c e` sends.
pub fn policy_secret_endorsement(session: u32) -> Vec<u8> {
    let mut p = Vec::new();
    p.put_tpm2b(b""); // nonceTPM
    p.put_tpm2b(b""); // cpHashA
    p.put_tpm2b(b""); // policyRef
    p.put_u32(0); // expiration (INT32)
    command(
        TPM_CC_POLICY_SECRET,
        &[TPM_RH_ENDORSEMENT, session],
        &[b""],
        &p,
    )
}

/// TPM2_FlushContext (Part 3, 28.4): `flushHandle` is a parameter, not a handle.
pub fn flush(handle: u32) -> Vec<u8> {
    command(TPM_CC_FLUSH_CONTEXT, &[], &[], &handle.to_be_bytes())
}

/// The first handle of a response that returns one (CreatePrimary's `objectHandle`,
/// StartAuthSession's `sessionHandle`): right after the 10-byte header.
pub fn response_handle(resp: &[u8]) -> u32 {
    let b = resp.get(10..14).expect("response carries a handle");
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
