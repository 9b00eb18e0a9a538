//! Attestation structures (Part 2, 10.12 "Attestation Structures", 11.3 signatures, 10.7
//! tickets, 15.1 creation data).

use crate::codes::*;
use crate::constants::*;
use crate::object::{MAX_DIGEST, MAX_ECC_KEY_BYTES, MAX_RSA_KEY_BYTES};
use crate::reader::{CodecError, Reader, Writer};
use crate::types::TpmlPcrSelection;

/// `TPMS_CLOCK_INFO` (Part 2, 10.11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TpmsClockInfo {
    /// `clock`.
    pub clock: u64,
    /// `resetCount`.
    pub reset_count: u32,
    /// `restartCount`.
    pub restart_count: u32,
    /// `safe`.
    pub safe: bool,
}

impl TpmsClockInfo {
    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u64(self.clock);
        out.put_u32(self.reset_count);
        out.put_u32(self.restart_count);
        out.put_u8(u8::from(self.safe));
    }
    /// Reads the structure.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(TpmsClockInfo {
            clock: r.u64()?,
            reset_count: r.u32()?,
            restart_count: r.u32()?,
            safe: r.yes_no()?,
        })
    }
}

/// `TPMU_ATTEST` (Part 2, 10.12.11), tagged by `TPMS_ATTEST.type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attested {
    /// `TPMS_QUOTE_INFO`: selection and digest of the selected PCRs.
    Quote {
        /// `pcrSelect`.
        pcr_select: TpmlPcrSelection,
        /// `pcrDigest`.
        pcr_digest: Vec<u8>,
    },
    /// `TPMS_CERTIFY_INFO`.
    Certify {
        /// `name`.
        name: Vec<u8>,
        /// `qualifiedName`.
        qualified_name: Vec<u8>,
    },
    /// `TPMS_CREATION_INFO`.
    Creation {
        /// `objectName`.
        object_name: Vec<u8>,
        /// `creationHash`.
        creation_hash: Vec<u8>,
    },
    /// `TPMS_TIME_ATTEST_INFO`: `TPMS_TIME_INFO` and `firmwareVersion`.
    Time {
        /// `time.time`.
        time: u64,
        /// `time.clockInfo`.
        clock_info: TpmsClockInfo,
        /// `firmwareVersion`.
        firmware_version: u64,
    },
    /// `TPMS_NV_CERTIFY_INFO`: a range of an NV index's contents.
    Nv {
        /// `indexName`.
        index_name: Vec<u8>,
        /// `offset`.
        offset: u16,
        /// `nvContents`.
        nv_contents: Vec<u8>,
    },
    /// `TPMS_NV_DIGEST_CERTIFY_INFO`: a digest of an NV index's whole contents.
    NvDigest {
        /// `indexName`.
        index_name: Vec<u8>,
        /// `nvDigest`.
        nv_digest: Vec<u8>,
    },
    /// `TPMS_SESSION_AUDIT_INFO`.
    SessionAudit {
        /// `exclusiveSession`.
        exclusive_session: bool,
        /// `sessionDigest`.
        session_digest: Vec<u8>,
    },
    /// `TPMS_COMMAND_AUDIT_INFO`.
    CommandAudit {
        /// `auditCounter`.
        audit_counter: u64,
        /// `digestAlg`.
        digest_alg: u16,
        /// `auditDigest`.
        audit_digest: Vec<u8>,
        /// `commandDigest`.
        command_digest: Vec<u8>,
    },
}

/// `TPMS_ATTEST` (Part 2, 10.12.12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmsAttest {
    /// `qualifiedSigner`.
    pub qualified_signer: Vec<u8>,
    /// `extraData`.
    pub extra_data: Vec<u8>,
    /// `clockInfo`.
    pub clock_info: TpmsClockInfo,
    /// `firmwareVersion`.
    pub firmware_version: u64,
    /// `attested` (its tag gives `type`).
    pub attested: Attested,
}

/// Bound of a `TPM2B_NAME` (`sizeof(TPMU_NAME)`).
pub const MAX_NAME: usize = 2 + MAX_DIGEST;

impl TpmsAttest {
    /// Appends the structure (magic `TPM_GENERATED_VALUE`, then the `TPM_ST_ATTEST_*` type).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(TPM_GENERATED_VALUE);
        out.put_u16(match self.attested {
            Attested::Quote { .. } => TPM_ST_ATTEST_QUOTE,
            Attested::Certify { .. } => TPM_ST_ATTEST_CERTIFY,
            Attested::Creation { .. } => TPM_ST_ATTEST_CREATION,
            Attested::Time { .. } => TPM_ST_ATTEST_TIME,
            Attested::Nv { .. } => crate::TPM_ST_ATTEST_NV,
            Attested::NvDigest { .. } => crate::TPM_ST_ATTEST_NV_DIGEST,
            Attested::SessionAudit { .. } => TPM_ST_ATTEST_SESSION_AUDIT,
            Attested::CommandAudit { .. } => TPM_ST_ATTEST_COMMAND_AUDIT,
        });
        out.put_tpm2b(&self.qualified_signer);
        out.put_tpm2b(&self.extra_data);
        self.clock_info.write(out);
        out.put_u64(self.firmware_version);
        match &self.attested {
            Attested::Quote {
                pcr_select,
                pcr_digest,
            } => {
                pcr_select.write(out);
                out.put_tpm2b(pcr_digest);
            }
            Attested::Certify {
                name,
                qualified_name,
            } => {
                out.put_tpm2b(name);
                out.put_tpm2b(qualified_name);
            }
            Attested::Creation {
                object_name,
                creation_hash,
            } => {
                out.put_tpm2b(object_name);
                out.put_tpm2b(creation_hash);
            }
            Attested::Time {
                time,
                clock_info,
                firmware_version,
            } => {
                out.put_u64(*time);
                clock_info.write(out);
                out.put_u64(*firmware_version);
            }
            Attested::Nv {
                index_name,
                offset,
                nv_contents,
            } => {
                out.put_tpm2b(index_name);
                out.put_u16(*offset);
                out.put_tpm2b(nv_contents);
            }
            Attested::NvDigest {
                index_name,
                nv_digest,
            } => {
                out.put_tpm2b(index_name);
                out.put_tpm2b(nv_digest);
            }
            Attested::SessionAudit {
                exclusive_session,
                session_digest,
            } => {
                out.put_u8(u8::from(*exclusive_session));
                out.put_tpm2b(session_digest);
            }
            Attested::CommandAudit {
                audit_counter,
                digest_alg,
                audit_digest,
                command_digest,
            } => {
                out.put_u64(*audit_counter);
                out.put_u16(*digest_alg);
                out.put_tpm2b(audit_digest);
                out.put_tpm2b(command_digest);
            }
        }
    }

    /// Reads the structure (verifier side); the magic must be `TPM_GENERATED_VALUE`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let magic = r.u32()?;
        if magic != TPM_GENERATED_VALUE {
            return Err(CodecError::Value(magic));
        }
        let ty = r.u16()?;
        let qualified_signer = r.tpm2b(MAX_NAME)?.to_vec();
        let extra_data = r.tpm2b(MAX_DIGEST)?.to_vec();
        let clock_info = TpmsClockInfo::read(r)?;
        let firmware_version = r.u64()?;
        let attested = match ty {
            TPM_ST_ATTEST_QUOTE => Attested::Quote {
                pcr_select: TpmlPcrSelection::read(r, crate::types::MAX_HASH_LIST)?,
                pcr_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            },
            TPM_ST_ATTEST_CERTIFY => Attested::Certify {
                name: r.tpm2b(MAX_NAME)?.to_vec(),
                qualified_name: r.tpm2b(MAX_NAME)?.to_vec(),
            },
            TPM_ST_ATTEST_CREATION => Attested::Creation {
                object_name: r.tpm2b(MAX_NAME)?.to_vec(),
                creation_hash: r.tpm2b(MAX_DIGEST)?.to_vec(),
            },
            TPM_ST_ATTEST_TIME => Attested::Time {
                time: r.u64()?,
                clock_info: TpmsClockInfo::read(r)?,
                firmware_version: r.u64()?,
            },
            crate::TPM_ST_ATTEST_NV => Attested::Nv {
                index_name: r.tpm2b(MAX_NAME)?.to_vec(),
                offset: r.u16()?,
                // TPM2B_MAX_NV_BUFFER (MAX_NV_BUFFER_SIZE).
                nv_contents: r.tpm2b(1024)?.to_vec(),
            },
            crate::TPM_ST_ATTEST_NV_DIGEST => Attested::NvDigest {
                index_name: r.tpm2b(MAX_NAME)?.to_vec(),
                nv_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            },
            TPM_ST_ATTEST_SESSION_AUDIT => Attested::SessionAudit {
                exclusive_session: r.yes_no()?,
                session_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            },
            TPM_ST_ATTEST_COMMAND_AUDIT => Attested::CommandAudit {
                audit_counter: r.u64()?,
                digest_alg: r.u16()?,
                audit_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
                command_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            },
            t => return Err(CodecError::Value(t.into())),
        };
        Ok(TpmsAttest {
            qualified_signer,
            extra_data,
            clock_info,
            firmware_version,
            attested,
        })
    }
}

/// `TPMT_SIGNATURE` (Part 2, 11.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TpmtSignature {
    /// `TPM_ALG_NULL`.
    Null,
    /// RSASSA or RSAPSS: `TPMS_SIGNATURE_RSA`.
    Rsa {
        /// `sigAlg`.
        sig_alg: u16,
        /// `hash`.
        hash: u16,
        /// `sig`.
        sig: Vec<u8>,
    },
    /// ECDSA (and other ECC schemes): `TPMS_SIGNATURE_ECC`.
    Ecc {
        /// `sigAlg`.
        sig_alg: u16,
        /// `hash`.
        hash: u16,
        /// `signatureR`.
        r: Vec<u8>,
        /// `signatureS`.
        s: Vec<u8>,
    },
    /// HMAC: a `TPMT_HA`.
    Hmac {
        /// `hashAlg`.
        hash: u16,
        /// digest.
        digest: Vec<u8>,
    },
}

impl TpmtSignature {
    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            TpmtSignature::Null => out.put_u16(TPM_ALG_NULL),
            TpmtSignature::Rsa { sig_alg, hash, sig } => {
                out.put_u16(*sig_alg);
                out.put_u16(*hash);
                out.put_tpm2b(sig);
            }
            TpmtSignature::Ecc {
                sig_alg,
                hash,
                r,
                s,
            } => {
                out.put_u16(*sig_alg);
                out.put_u16(*hash);
                out.put_tpm2b(r);
                out.put_tpm2b(s);
            }
            TpmtSignature::Hmac { hash, digest } => {
                out.put_u16(TPM_ALG_HMAC);
                out.put_u16(*hash);
                out.extend_from_slice(digest);
            }
        }
    }

    /// Reads the structure.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let sig_alg = r.u16()?;
        Ok(match sig_alg {
            TPM_ALG_NULL => TpmtSignature::Null,
            TPM_ALG_RSASSA | TPM_ALG_RSAPSS => TpmtSignature::Rsa {
                sig_alg,
                hash: r.hash_alg(false)?,
                sig: r.tpm2b(MAX_RSA_KEY_BYTES)?.to_vec(),
            },
            TPM_ALG_ECDSA | TPM_ALG_ECDAA | TPM_ALG_ECSCHNORR => TpmtSignature::Ecc {
                sig_alg,
                hash: r.hash_alg(false)?,
                r: r.tpm2b(MAX_ECC_KEY_BYTES)?.to_vec(),
                s: r.tpm2b(MAX_ECC_KEY_BYTES)?.to_vec(),
            },
            TPM_ALG_HMAC => {
                let hash = r.hash_alg(false)?;
                let n = digest_size(hash).unwrap_or(0);
                TpmtSignature::Hmac {
                    hash,
                    digest: r.take(n)?.to_vec(),
                }
            }
            a => return Err(CodecError::Value(a.into())),
        })
    }
}

/// A ticket (`TPMT_TK_CREATION`, `TPMT_TK_VERIFIED`, `TPMT_TK_AUTH`, `TPMT_TK_HASHCHECK`;
/// Part 2, 10.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmtTicket {
    /// `tag`.
    pub tag: u16,
    /// `hierarchy`.
    pub hierarchy: u32,
    /// `digest`.
    pub digest: Vec<u8>,
}

impl TpmtTicket {
    /// A NULL ticket of the given tag (hierarchy `TPM_RH_NULL`, empty digest).
    pub fn null(tag: u16) -> Self {
        TpmtTicket {
            tag,
            hierarchy: TPM_RH_NULL,
            digest: Vec::new(),
        }
    }
    /// Appends the ticket.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.tag);
        out.put_u32(self.hierarchy);
        out.put_tpm2b(&self.digest);
    }
    /// Reads a ticket.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(TpmtTicket {
            tag: r.u16()?,
            hierarchy: r.u32()?,
            digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
        })
    }
}

/// `TPMS_CREATION_DATA` (Part 2, 15.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmsCreationData {
    /// `pcrSelect`.
    pub pcr_select: TpmlPcrSelection,
    /// `pcrDigest`.
    pub pcr_digest: Vec<u8>,
    /// `locality` (`TPMA_LOCALITY`).
    pub locality: u8,
    /// `parentNameAlg`.
    pub parent_name_alg: u16,
    /// `parentName`.
    pub parent_name: Vec<u8>,
    /// `parentQualifiedName`.
    pub parent_qualified_name: Vec<u8>,
    /// `outsideInfo`.
    pub outside_info: Vec<u8>,
}

impl TpmsCreationData {
    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        self.pcr_select.write(out);
        out.put_tpm2b(&self.pcr_digest);
        out.put_u8(self.locality);
        out.put_u16(self.parent_name_alg);
        out.put_tpm2b(&self.parent_name);
        out.put_tpm2b(&self.parent_qualified_name);
        out.put_tpm2b(&self.outside_info);
    }
    /// Reads the structure.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(TpmsCreationData {
            pcr_select: TpmlPcrSelection::read(r, crate::types::MAX_HASH_LIST)?,
            pcr_digest: r.tpm2b(MAX_DIGEST)?.to_vec(),
            locality: r.u8()?,
            parent_name_alg: r.u16()?,
            parent_name: r.tpm2b(MAX_NAME)?.to_vec(),
            parent_qualified_name: r.tpm2b(MAX_NAME)?.to_vec(),
            outside_info: r.tpm2b(MAX_DIGEST)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TpmsPcrSelection;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..=max)
    }

    proptest! {
        #[test]
        fn quote_attest_round_trips(q in bytes(34), e in bytes(64), c in any::<(u64, u32, u32, bool)>(),
                                    fw in any::<u64>(), bits in any::<u32>(), d in bytes(64)) {
            let a = TpmsAttest {
                qualified_signer: q, extra_data: e,
                clock_info: TpmsClockInfo { clock: c.0, reset_count: c.1, restart_count: c.2, safe: c.3 },
                firmware_version: fw,
                attested: Attested::Quote {
                    pcr_select: TpmlPcrSelection(vec![TpmsPcrSelection::new(TPM_ALG_SHA256, 3, u64::from(bits & 0xFF_FFFF))]),
                    pcr_digest: d,
                },
            };
            let mut out = Vec::new();
            a.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmsAttest::read(&mut r), Ok(a));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn audit_attest_round_trips(d in bytes(64), e in bytes(64), x in any::<bool>(), n in any::<u64>()) {
            for attested in [
                Attested::SessionAudit { exclusive_session: x, session_digest: d.clone() },
                Attested::CommandAudit {
                    audit_counter: n, digest_alg: TPM_ALG_SHA256, audit_digest: d.clone(), command_digest: e.clone(),
                },
            ] {
                let a = TpmsAttest {
                    qualified_signer: vec![], extra_data: vec![], clock_info: TpmsClockInfo::default(),
                    firmware_version: 0, attested,
                };
                let mut out = Vec::new();
                a.write(&mut out);
                let mut r = Reader::new(&out);
                prop_assert_eq!(TpmsAttest::read(&mut r), Ok(a));
                prop_assert_eq!(r.finish(), Ok(()));
            }
        }

        #[test]
        fn signature_round_trips(x in bytes(66), y in bytes(66), n in bytes(512)) {
            for s in [
                TpmtSignature::Ecc { sig_alg: TPM_ALG_ECDSA, hash: TPM_ALG_SHA256, r: x.clone(), s: y.clone() },
                TpmtSignature::Rsa { sig_alg: TPM_ALG_RSASSA, hash: TPM_ALG_SHA384, sig: n.clone() },
                TpmtSignature::Null,
            ] {
                let mut out = Vec::new();
                s.write(&mut out);
                let mut r = Reader::new(&out);
                prop_assert_eq!(TpmtSignature::read(&mut r), Ok(s));
                prop_assert_eq!(r.finish(), Ok(()));
            }
        }

        #[test]
        fn creation_data_round_trips(d in bytes(64), n in bytes(34), o in bytes(64), l in any::<u8>()) {
            let c = TpmsCreationData {
                pcr_select: TpmlPcrSelection::default(), pcr_digest: d, locality: l,
                parent_name_alg: TPM_ALG_SHA256, parent_name: n.clone(), parent_qualified_name: n,
                outside_info: o,
            };
            let mut out = Vec::new();
            c.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmsCreationData::read(&mut r), Ok(c));
            prop_assert_eq!(r.finish(), Ok(()));
        }
    }
}
