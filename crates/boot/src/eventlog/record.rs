//! `TCG_PCR_EVENT2` (PFP §10.2.2) and its digests.

use serde::Serialize;

use super::alg::TpmAlgId;
use super::event_type::EventType;
use super::guid::hex;

/// `TPMT_HA` (TPM 2.0 Part 2, §10.3.2): one bank's digest of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TpmtHa {
    /// `hashAlg`.
    pub hash_alg: TpmAlgId,
    /// `digest`, of the size the Spec ID event declares for `hash_alg`.
    #[serde(serialize_with = "hex")]
    pub digest: Vec<u8>,
}

/// `TCG_PCR_EVENT2` (PFP §10.2.2). Events of a legacy SHA-1 log (`TCG_PCR_EVENT`) are held in
/// this shape too, with their one SHA-1 digest, so replay and checks treat both formats alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcgPcrEvent2 {
    /// `pcrIndex`.
    pub pcr_index: u32,
    /// `eventType`.
    pub event_type: EventType,
    /// `digests` (`TPML_DIGEST_VALUES`), in log order.
    pub digests: Vec<TpmtHa>,
    /// `event[eventSize]`.
    pub event: Vec<u8>,
}

impl TcgPcrEvent2 {
    /// The digest logged for `alg`, if any.
    pub fn digest(&self, alg: TpmAlgId) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|d| d.hash_alg == alg)
            .map(|d| d.digest.as_slice())
    }

    /// Builds an event whose digests are H(`measured`) in each of `banks` (those we can compute).
    pub fn measure(
        pcr_index: u32,
        event_type: EventType,
        banks: &[TpmAlgId],
        measured: &[u8],
        event: Vec<u8>,
    ) -> Self {
        Self {
            pcr_index,
            event_type,
            digests: banks
                .iter()
                .filter_map(|&a| {
                    a.hash(&[measured]).map(|digest| TpmtHa {
                        hash_alg: a,
                        digest,
                    })
                })
                .collect(),
            event,
        }
    }
}
