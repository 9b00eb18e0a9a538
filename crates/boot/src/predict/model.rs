//! The prediction: expected events and the PCR values they extend to.

use serde::Serialize;

use crate::eventlog::{EventType, TpmAlgId, TpmtHa};

/// The PCRs a prediction covers: boot applications, Secure Boot policy, grub's commands, the
/// files grub opens, and shim's MOK state.
pub const PREDICTED_PCRS: [u32; 5] = [4, 7, 8, 9, 14];

/// The banks a prediction computes.
pub const BANKS: [TpmAlgId; 2] = [TpmAlgId::SHA1, TpmAlgId::SHA256];

/// One event the boot will log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredictedEvent {
    /// `pcrIndex`.
    pub pcr: u32,
    /// `eventType`.
    pub event_type: EventType,
    /// What is measured, for people.
    pub description: String,
    /// One digest per bank (sha1, sha256).
    pub digests: Vec<TpmtHa>,
    /// The exact event data, when it does not depend on run-time state (image load events
    /// carry memory addresses, so they have none).
    #[serde(serialize_with = "hex_opt", skip_serializing_if = "Option::is_none")]
    pub event: Option<Vec<u8>>,
}

fn hex_opt<S: serde::Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => s.collect_str(&hex(b)),
        None => s.serialize_none(),
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl PredictedEvent {
    /// An event whose digests are H(`measured`) in each bank.
    pub(crate) fn measure(
        pcr: u32,
        event_type: EventType,
        description: impl Into<String>,
        measured: &[u8],
        event: Option<Vec<u8>>,
    ) -> Self {
        let digests = BANKS
            .iter()
            .filter_map(|&a| {
                a.hash(&[measured]).map(|digest| TpmtHa {
                    hash_alg: a,
                    digest,
                })
            })
            .collect();
        Self {
            pcr,
            event_type,
            description: description.into(),
            digests,
            event,
        }
    }

    /// The digest for `alg`.
    pub fn digest(&self, alg: TpmAlgId) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|d| d.hash_alg == alg)
            .map(|d| d.digest.as_slice())
    }
}

/// A predicted PCR value in both banks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredictedPcr {
    /// PCR index.
    pub pcr: u32,
    /// sha1 bank.
    #[serde(serialize_with = "hex_ser")]
    pub sha1: Vec<u8>,
    /// sha256 bank.
    #[serde(serialize_with = "hex_ser")]
    pub sha256: Vec<u8>,
}

fn hex_ser<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&hex(b))
}

/// Predicted PCR 4, 7, 8, 9, 14 and the events behind them, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prediction {
    /// Whether Secure Boot was modelled as enforcing.
    pub secure_boot: bool,
    /// The values, one per PCR of [`PREDICTED_PCRS`].
    pub pcrs: Vec<PredictedPcr>,
    /// The events, in the order the boot logs them.
    pub events: Vec<PredictedEvent>,
}

impl Prediction {
    /// Replays `events` into the PCRs of [`PREDICTED_PCRS`].
    pub(crate) fn from_events(secure_boot: bool, events: Vec<PredictedEvent>) -> Self {
        let pcrs = PREDICTED_PCRS
            .iter()
            .map(|&pcr| PredictedPcr {
                pcr,
                sha1: replay(&events, pcr, TpmAlgId::SHA1),
                sha256: replay(&events, pcr, TpmAlgId::SHA256),
            })
            .collect();
        Self {
            secure_boot,
            pcrs,
            events,
        }
    }

    /// The predicted value of `pcr` in bank `alg` (sha1 or sha256).
    pub fn pcr(&self, pcr: u32, alg: TpmAlgId) -> Option<&[u8]> {
        let p = self.pcrs.iter().find(|p| p.pcr == pcr)?;
        match alg {
            TpmAlgId::SHA1 => Some(&p.sha1),
            TpmAlgId::SHA256 => Some(&p.sha256),
            _ => None,
        }
    }

    /// The events of one PCR, in order.
    pub fn events_of(&self, pcr: u32) -> impl Iterator<Item = &PredictedEvent> {
        self.events.iter().filter(move |e| e.pcr == pcr)
    }
}

/// `PCR = H(PCR ‖ digest)` from zero, over the events of `pcr`.
fn replay(events: &[PredictedEvent], pcr: u32, alg: TpmAlgId) -> Vec<u8> {
    let size = alg.digest_size().unwrap_or(0);
    events
        .iter()
        .filter(|e| e.pcr == pcr)
        .filter_map(|e| e.digest(alg))
        .fold(vec![0; size], |acc, d| alg.hash(&[&acc, d]).unwrap_or(acc))
}
