//! The in-process engine driven with real TPM 2.0 commands, the sequence `swtpm_setup` sends
//! (reference vtpm.md §6). Every command goes through `Tpm::execute` and every response code is
//! checked.

use tpm::Tpm;
use tpm_proto::object::{PublicId, PublicParms, TpmtPublic, TpmtScheme, TpmtSymDef};
use tpm_proto::{
    Reader, TPM_ALG_AES, TPM_ALG_CFB, TPM_ALG_ECC, TPM_ALG_RSA, TPM_ALG_SHA256, TPM_ALG_SHA384,
    TPM_CAP_PCRS, TPM_CAP_TPM_PROPERTIES, TPM_CC_CREATE_PRIMARY, TPM_CC_EVICT_CONTROL,
    TPM_CC_FLUSH_CONTEXT, TPM_CC_GET_CAPABILITY, TPM_CC_NV_DEFINE_SPACE, TPM_CC_NV_WRITE,
    TPM_CC_NV_WRITE_LOCK, TPM_CC_PCR_ALLOCATE, TPM_CC_SHUTDOWN, TPM_CC_STARTUP, TPM_ECC_NIST_P256,
    TPM_ECC_NIST_P384, TPM_RH_ENDORSEMENT, TPM_RH_OWNER, TPM_RH_PLATFORM, TPM_ST_NO_SESSIONS,
    TPM_ST_SESSIONS, TpmaNv, TpmlPcrSelection, TpmsAuthCommand, TpmsNvPublic, TpmsPcrSelection,
    Writer,
};
use tpm_proto::{
    TPMA_OBJECT_ADMIN_WITH_POLICY, TPMA_OBJECT_DECRYPT, TPMA_OBJECT_FIXED_PARENT,
    TPMA_OBJECT_FIXED_TPM, TPMA_OBJECT_NO_DA, TPMA_OBJECT_RESTRICTED,
    TPMA_OBJECT_SENSITIVE_DATA_ORIGIN, TPMA_OBJECT_SIGN_ENCRYPT, TPMA_OBJECT_USER_WITH_AUTH,
};

/// A TPM command that failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The TPM answered with an error code.
    #[error("TPM2_{cmd} failed with TPM_RC {rc:#x}")]
    Rc {
        /// Command name.
        cmd: &'static str,
        /// Response code.
        rc: u32,
    },
    /// The response could not be parsed.
    #[error("TPM2_{cmd}: malformed response: {why}")]
    Malformed {
        /// Command name.
        cmd: &'static str,
        /// Parser message.
        why: String,
    },
    /// A requested PCR bank is not implemented.
    #[error("PCR bank {0:#06x} is not implemented by the TPM")]
    NoBank(u16),
}

/// EK Credential Profile 2.x PolicyA (`TPM2_PolicySecret(TPM_RH_ENDORSEMENT)`), SHA-256
/// (Table "PolicyA values"; reference vtpm.md §7.3).
pub const POLICY_A_SHA256: [u8; 32] =
    hex32(b"837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa");
/// PolicyA, SHA-384.
const POLICY_A_SHA384: &[u8; 96] =
    b"8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53";
/// PolicyC (`TPM2_PolicyAuthorizeNV` of the EK policy index), SHA-384.
const POLICY_C_SHA384: &[u8; 96] =
    b"d6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165";
/// `TPM_CC_PolicyOR`.
const TPM_CC_POLICY_OR: u32 = 0x171;

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not hex"),
    }
}

const fn hex32(s: &[u8; 64]) -> [u8; 32] {
    let mut o = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        o[i] = nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]);
        i += 1;
    }
    o
}

fn hex_vec(s: &[u8]) -> Vec<u8> {
    s.chunks(2)
        .map(|c| nibble(c[0]) << 4 | nibble(c[1]))
        .collect()
}

/// High-range PolicyB = `TPM2_PolicyOR(PolicyA, PolicyC)`, SHA-384: computed rather than
/// copied so the OR construction is visible.
pub fn policy_b_sha384() -> Vec<u8> {
    let mut c = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA384);
    c.update(&[0u8; 48]);
    c.update(&TPM_CC_POLICY_OR.to_be_bytes());
    c.update(&hex_vec(POLICY_A_SHA384));
    c.update(&hex_vec(POLICY_C_SHA384));
    c.finish().as_ref().to_vec()
}

/// Which EK (EK Credential Profile 2.x, Annex B templates) and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EkKind {
    /// Template L-1, RSA-2048 → 0x81010001, cert 0x01C00002.
    Rsa2048,
    /// Template H-4, RSA-3072 → 0x8101001C, cert 0x01C0001C (swtpm's handles).
    Rsa3072,
    /// Template H-3, ECC NIST P-384 → 0x81010016, cert 0x01C00016.
    EccP384,
}

impl EkKind {
    /// Persistent handle.
    pub fn handle(self) -> u32 {
        match self {
            EkKind::Rsa2048 => 0x8101_0001,
            EkKind::Rsa3072 => 0x8101_001C,
            EkKind::EccP384 => 0x8101_0016,
        }
    }

    /// NV index of the certificate.
    pub fn cert_index(self) -> u32 {
        match self {
            EkKind::Rsa2048 => 0x01C0_0002,
            EkKind::Rsa3072 => 0x01C0_001C,
            EkKind::EccP384 => 0x01C0_0016,
        }
    }

    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            EkKind::Rsa2048 => "RSA 2048",
            EkKind::Rsa3072 => "RSA 3072",
            EkKind::EccP384 => "ECC NIST P-384",
        }
    }

    /// The creation template. `allow_signing`/`decryption` follow swtpm_setup: a signing EK
    /// is not restricted and has no symmetric algorithm.
    pub fn template(self, allow_signing: bool, decryption: bool) -> TpmtPublic {
        let base = TPMA_OBJECT_FIXED_TPM
            | TPMA_OBJECT_FIXED_PARENT
            | TPMA_OBJECT_SENSITIVE_DATA_ORIGIN
            | TPMA_OBJECT_ADMIN_WITH_POLICY;
        let high = self != EkKind::Rsa2048;
        let mut attrs = base | if high { TPMA_OBJECT_USER_WITH_AUTH } else { 0 };
        let aes_bits = if high { 256 } else { 128 };
        let mut sym = TpmtSymDef {
            algorithm: TPM_ALG_AES,
            key_bits: aes_bits,
            mode: TPM_ALG_CFB,
        };
        if allow_signing {
            attrs |= TPMA_OBJECT_SIGN_ENCRYPT | if decryption { TPMA_OBJECT_DECRYPT } else { 0 };
            sym = TpmtSymDef::NULL;
        } else {
            attrs |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
        }
        let (name_alg, policy) = if high {
            (TPM_ALG_SHA384, policy_b_sha384())
        } else {
            (TPM_ALG_SHA256, POLICY_A_SHA256.to_vec())
        };
        let (object_type, parameters, unique) = match self {
            EkKind::Rsa2048 | EkKind::Rsa3072 => (
                TPM_ALG_RSA,
                PublicParms::Rsa {
                    symmetric: sym,
                    scheme: TpmtScheme::NULL,
                    key_bits: if high { 3072 } else { 2048 },
                    exponent: 0,
                },
                // L-1: 256 zero bytes of unique; high range: empty.
                PublicId::Rsa(if high { Vec::new() } else { vec![0; 256] }),
            ),
            EkKind::EccP384 => (
                TPM_ALG_ECC,
                PublicParms::Ecc {
                    symmetric: sym,
                    scheme: TpmtScheme::NULL,
                    curve_id: TPM_ECC_NIST_P384,
                    kdf: TpmtScheme::NULL,
                },
                PublicId::Ecc {
                    x: Vec::new(),
                    y: Vec::new(),
                },
            ),
        };
        TpmtPublic {
            object_type,
            name_alg,
            object_attributes: attrs,
            auth_policy: policy,
            parameters,
            unique,
        }
    }
}

/// The TCG "Provisioning Guidance" SRK templates (RSA-2048 / ECC P-256, AES-128-CFB,
/// userWithAuth, noDA), as swtpm_setup `--create-spk`.
pub fn srk_template(ecc: bool) -> TpmtPublic {
    let attrs = TPMA_OBJECT_FIXED_TPM
        | TPMA_OBJECT_FIXED_PARENT
        | TPMA_OBJECT_SENSITIVE_DATA_ORIGIN
        | TPMA_OBJECT_USER_WITH_AUTH
        | TPMA_OBJECT_NO_DA
        | TPMA_OBJECT_RESTRICTED
        | TPMA_OBJECT_DECRYPT;
    let sym = TpmtSymDef {
        algorithm: TPM_ALG_AES,
        key_bits: 128,
        mode: TPM_ALG_CFB,
    };
    let (object_type, parameters, unique) = if ecc {
        (
            TPM_ALG_ECC,
            PublicParms::Ecc {
                symmetric: sym,
                scheme: TpmtScheme::NULL,
                curve_id: TPM_ECC_NIST_P256,
                kdf: TpmtScheme::NULL,
            },
            PublicId::Ecc {
                x: Vec::new(),
                y: Vec::new(),
            },
        )
    } else {
        (
            TPM_ALG_RSA,
            PublicParms::Rsa {
                symmetric: sym,
                scheme: TpmtScheme::NULL,
                key_bits: 2048,
                exponent: 0,
            },
            PublicId::Rsa(Vec::new()),
        )
    };
    TpmtPublic {
        object_type,
        name_alg: TPM_ALG_SHA256,
        object_attributes: attrs,
        auth_policy: Vec::new(),
        parameters,
        unique,
    }
}

/// NV attributes of certificate indices, as swtpm writes them: platform-created, readable with
/// owner, index (empty) or platform auth, written with platform auth, lockable until deleted.
pub const CERT_NV_ATTRS: u32 = TpmaNv::PLATFORMCREATE
    | TpmaNv::AUTHREAD
    | TpmaNv::OWNERREAD
    | TpmaNv::PPREAD
    | TpmaNv::PPWRITE
    | TpmaNv::NO_DA
    | TpmaNv::WRITEDEFINE;

/// Largest NV_Write chunk (`TPM2B_MAX_NV_BUFFER`, NV_BUFFER_MAX = 1024, reference §6).
const NV_CHUNK: usize = 1024;

/// The engine under manufacture.
pub struct Engine {
    tpm: Tpm,
}

/// Identity strings for certificates, read back with TPM2_GetCapability.
#[derive(Debug, Clone)]
pub struct TpmIdentity {
    /// `TPM_PT_MANUFACTURER` as `id:XXXXXXXX`.
    pub manufacturer: String,
    /// `TPM_PT_VENDOR_STRING_1..4`.
    pub model: String,
    /// `TPM_PT_FIRMWARE_VERSION_1` as `id:XXXXXXXX`.
    pub version: String,
    /// `TPM_PT_FAMILY_INDICATOR` ("2.0").
    pub family: String,
    /// `TPM_PT_LEVEL`.
    pub level: u32,
    /// `TPM_PT_REVISION` (e.g. 164 for 1.64).
    pub revision: u32,
}

fn command(cc: u32, handles: &[u32], auths: usize, params: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(64 + params.len());
    c.put_u16(if auths > 0 {
        TPM_ST_SESSIONS
    } else {
        TPM_ST_NO_SESSIONS
    });
    c.put_u32(0);
    c.put_u32(cc);
    for h in handles {
        c.put_u32(*h);
    }
    if auths > 0 {
        let mut a = Vec::new();
        for _ in 0..auths {
            // All hierarchies still have their empty manufacture-time auth.
            TpmsAuthCommand::password(b"").write(&mut a);
        }
        c.put_u32(a.len() as u32);
        c.extend_from_slice(&a);
    }
    c.extend_from_slice(params);
    let len = c.len() as u32;
    c.patch_u32(2, len);
    c
}

impl Engine {
    /// A freshly manufactured TPM after _TPM_Init and TPM2_Startup(CLEAR).
    pub fn manufacture() -> Result<Engine, EngineError> {
        let mut e = Engine {
            tpm: Tpm::manufacture(),
        };
        e.tpm.init();
        let mut p = Vec::new();
        p.put_u16(0); // TPM_SU_CLEAR
        e.run("Startup", TPM_CC_STARTUP, &[], 0, &p, 0)?;
        Ok(e)
    }

    /// Sends one command; returns (response handles, parameter area).
    fn run(
        &mut self,
        name: &'static str,
        cc: u32,
        handles: &[u32],
        auths: usize,
        params: &[u8],
        out_handles: usize,
    ) -> Result<(Vec<u32>, Vec<u8>), EngineError> {
        let rsp = self.tpm.execute(0, &command(cc, handles, auths, params));
        let bad = |why: String| EngineError::Malformed { cmd: name, why };
        let mut r = Reader::new(&rsp);
        let tag = r.u16().map_err(|e| bad(e.to_string()))?;
        let _size = r.u32().map_err(|e| bad(e.to_string()))?;
        let rc = r.u32().map_err(|e| bad(e.to_string()))?;
        if rc != 0 {
            return Err(EngineError::Rc { cmd: name, rc });
        }
        let mut hs = Vec::new();
        for _ in 0..out_handles {
            hs.push(r.u32().map_err(|e| bad(e.to_string()))?);
        }
        let params = if tag == TPM_ST_SESSIONS {
            let n = r.u32().map_err(|e| bad(e.to_string()))? as usize;
            r.take(n).map_err(|e| bad(e.to_string()))?.to_vec()
        } else {
            r.rest().to_vec()
        };
        Ok((hs, params))
    }

    /// TPM2_CreatePrimary under `hierarchy`; returns the transient handle and outPublic.
    pub fn create_primary(
        &mut self,
        hierarchy: u32,
        template: &TpmtPublic,
    ) -> Result<(u32, TpmtPublic), EngineError> {
        let mut p = Vec::new();
        p.put_u16(4); // TPM2B_SENSITIVE_CREATE: empty userAuth and data
        p.put_u16(0);
        p.put_u16(0);
        template.write_2b(&mut p);
        p.put_u16(0); // outsideInfo
        p.put_u32(0); // creationPCR
        let (hs, out) = self.run(
            "CreatePrimary",
            TPM_CC_CREATE_PRIMARY,
            &[hierarchy],
            1,
            &p,
            1,
        )?;
        let public =
            TpmtPublic::read_2b(&mut Reader::new(&out)).map_err(|e| EngineError::Malformed {
                cmd: "CreatePrimary",
                why: e.to_string(),
            })?;
        Ok((hs[0], public))
    }

    /// TPM2_EvictControl(owner) of a transient object to `persistent`, then FlushContext.
    pub fn persist(&mut self, transient: u32, persistent: u32) -> Result<(), EngineError> {
        self.run(
            "EvictControl",
            TPM_CC_EVICT_CONTROL,
            &[TPM_RH_OWNER, transient],
            1,
            &persistent.to_be_bytes(),
            0,
        )?;
        self.run(
            "FlushContext",
            TPM_CC_FLUSH_CONTEXT,
            &[],
            0,
            &transient.to_be_bytes(),
            0,
        )?;
        Ok(())
    }

    /// Creates an EK and makes it persistent; returns its public area.
    pub fn create_ek(
        &mut self,
        kind: EkKind,
        allow_signing: bool,
        decryption: bool,
    ) -> Result<TpmtPublic, EngineError> {
        let (h, public) = self.create_primary(
            TPM_RH_ENDORSEMENT,
            &kind.template(allow_signing, decryption),
        )?;
        self.persist(h, kind.handle())?;
        Ok(public)
    }

    /// Creates the SRK at 0x81000001.
    pub fn create_srk(&mut self, ecc: bool) -> Result<(), EngineError> {
        let (h, _) = self.create_primary(TPM_RH_OWNER, &srk_template(ecc))?;
        self.persist(h, 0x8100_0001)
    }

    /// NV_DefineSpace (platform) + NV_Write in ≤ 1024-byte chunks (+ NV_WriteLock).
    pub fn write_cert(&mut self, index: u32, data: &[u8], lock: bool) -> Result<(), EngineError> {
        let size = u16::try_from(data.len()).map_err(|_| EngineError::Malformed {
            cmd: "NV_DefineSpace",
            why: format!("certificate of {} bytes is too large", data.len()),
        })?;
        let public = TpmsNvPublic {
            nv_index: index,
            name_alg: TPM_ALG_SHA256,
            attributes: TpmaNv(CERT_NV_ATTRS),
            auth_policy: Vec::new(),
            data_size: size,
        };
        let mut p = Vec::new();
        p.put_u16(0); // auth
        public.write_2b(&mut p);
        self.run(
            "NV_DefineSpace",
            TPM_CC_NV_DEFINE_SPACE,
            &[TPM_RH_PLATFORM],
            1,
            &p,
            0,
        )?;
        for (i, chunk) in data.chunks(NV_CHUNK).enumerate() {
            let mut p = Vec::new();
            p.put_tpm2b(chunk);
            p.put_u16((i * NV_CHUNK) as u16);
            self.run(
                "NV_Write",
                TPM_CC_NV_WRITE,
                &[TPM_RH_PLATFORM, index],
                1,
                &p,
                0,
            )?;
        }
        if lock {
            self.run(
                "NV_WriteLock",
                TPM_CC_NV_WRITE_LOCK,
                &[TPM_RH_PLATFORM, index],
                1,
                &[],
                0,
            )?;
        }
        Ok(())
    }

    fn properties(&mut self, first: u32, count: u32) -> Result<Vec<(u32, u32)>, EngineError> {
        let mut p = Vec::new();
        p.put_u32(TPM_CAP_TPM_PROPERTIES);
        p.put_u32(first);
        p.put_u32(count);
        let (_, out) = self.run("GetCapability", TPM_CC_GET_CAPABILITY, &[], 0, &p, 0)?;
        let bad = |e: tpm_proto::CodecError| EngineError::Malformed {
            cmd: "GetCapability",
            why: e.to_string(),
        };
        let mut r = Reader::new(&out);
        r.u8().map_err(bad)?; // moreData
        r.u32().map_err(bad)?; // capability
        let n = r.u32().map_err(bad)?;
        (0..n)
            .map(|_| Ok((r.u32().map_err(bad)?, r.u32().map_err(bad)?)))
            .collect()
    }

    /// Manufacturer, model, firmware version and spec level, from TPM_PT_* properties.
    pub fn identity(&mut self) -> Result<TpmIdentity, EngineError> {
        // TPM_PT_FAMILY_INDICATOR 0x100 … TPM_PT_FIRMWARE_VERSION_1 0x10B.
        let props = self.properties(0x100, 12)?;
        let get = |pt: u32| props.iter().find(|(p, _)| *p == pt).map_or(0, |(_, v)| *v);
        let chars = |v: u32| -> String {
            v.to_be_bytes()
                .iter()
                .filter(|b| b.is_ascii_graphic() || **b == b' ')
                .map(|b| *b as char)
                .collect()
        };
        let model: String = (0x106..=0x109).map(|pt| chars(get(pt))).collect();
        Ok(TpmIdentity {
            manufacturer: format!("id:{:08X}", get(0x105)),
            // "SW  " + " TPM" → "SW TPM", as tpm2_getcap shows it.
            model: model.split_whitespace().collect::<Vec<_>>().join(" "),
            version: format!("id:{:08X}", get(0x10B)),
            family: chars(get(0x100)),
            level: get(0x101),
            revision: get(0x102),
        })
    }

    /// GetCapability(TPM_CAP_PCRS) → PCR_Allocate keeping only `banks` (all PCRs selected).
    pub fn allocate_pcrs(&mut self, banks: &[u16]) -> Result<(), EngineError> {
        let mut p = Vec::new();
        p.put_u32(TPM_CAP_PCRS);
        p.put_u32(0);
        p.put_u32(1);
        let (_, out) = self.run("GetCapability", TPM_CC_GET_CAPABILITY, &[], 0, &p, 0)?;
        let bad = |e: tpm_proto::CodecError| EngineError::Malformed {
            cmd: "GetCapability",
            why: e.to_string(),
        };
        let mut r = Reader::new(&out);
        r.u8().map_err(bad)?;
        r.u32().map_err(bad)?;
        let have = TpmlPcrSelection::read(&mut r, 16).map_err(bad)?;
        if let Some(b) = banks.iter().find(|b| !have.0.iter().any(|s| s.hash == **b)) {
            return Err(EngineError::NoBank(*b));
        }
        let sel = TpmlPcrSelection(
            have.0
                .iter()
                .map(|s| {
                    let all = if banks.contains(&s.hash) {
                        (1u64 << (u32::from(s.size_of_select) * 8)) - 1
                    } else {
                        0
                    };
                    TpmsPcrSelection::new(s.hash, s.size_of_select, all)
                })
                .collect(),
        );
        let mut p = Vec::new();
        sel.write(&mut p);
        let (_, out) = self.run(
            "PCR_Allocate",
            TPM_CC_PCR_ALLOCATE,
            &[TPM_RH_PLATFORM],
            1,
            &p,
            0,
        )?;
        if out.first() != Some(&1) {
            return Err(EngineError::Malformed {
                cmd: "PCR_Allocate",
                why: "allocationSuccess = NO".into(),
            });
        }
        Ok(())
    }

    /// TPM2_Shutdown(CLEAR); returns the permanent state blob.
    pub fn shutdown(mut self) -> Result<Vec<u8>, EngineError> {
        let mut p = Vec::new();
        p.put_u16(0);
        self.run("Shutdown", TPM_CC_SHUTDOWN, &[], 0, &p, 0)?;
        Ok(self.tpm.save(tpm::BlobType::Permanent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_b_sha384_matches_the_profile() {
        // EK Credential Profile 2.x, Table "PolicyB values", SHA-384.
        assert_eq!(
            policy_b_sha384(),
            hex_vec(b"b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12")
        );
    }

    #[test]
    fn manufacture_and_provision_in_process() {
        let mut e = Engine::manufacture().unwrap();
        let id = e.identity().unwrap();
        assert_eq!(id.family, "2.0");
        assert!(id.manufacturer.starts_with("id:"));
        let ek = e.create_ek(EkKind::Rsa2048, false, true).unwrap();
        assert!(matches!(&ek.unique, PublicId::Rsa(n) if n.len() == 256));
        e.write_cert(EkKind::Rsa2048.cert_index(), &[7u8; 1500], true)
            .unwrap();
        let err = e
            .write_cert(EkKind::Rsa2048.cert_index(), &[1], false)
            .unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::Rc {
                    cmd: "NV_DefineSpace",
                    ..
                }
            ),
            "{err}"
        );
        e.allocate_pcrs(&[0x000B]).unwrap();
        let blob = e.shutdown().unwrap();
        assert!(!blob.is_empty());
    }
}
