//! The boot's event log, parsed and replayed by `tl_boot::eventlog` (the full parser); this
//! module only shapes the replay into the report's sha1/sha256 [`PcrBank`]s.

use crate::report::PcrBank;

pub use tl_boot::eventlog::{EventLog, EventLogError, TpmAlgId};

/// What was learned from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogSummary {
    /// Events after the Spec ID header event.
    pub events: usize,
    /// (algorithm id, digest size) pairs from the Spec ID event (sha1/20 for a legacy log).
    pub algorithms: Vec<(u16, u16)>,
    /// PCRs replayed from the sha1 digests.
    pub sha1: PcrBank,
    /// PCRs replayed from the sha256 digests.
    pub sha256: PcrBank,
}

/// Parses and replays an event log (crypto-agile or legacy SHA-1).
pub fn summarize(log: &[u8]) -> Result<EventLogSummary, EventLogError> {
    let log = EventLog::parse(log)?;
    let algorithms = match log.spec_id() {
        Some(s) => s
            .digest_sizes
            .iter()
            .map(|a| (a.algorithm_id.0, a.digest_size))
            .collect(),
        None => vec![(TpmAlgId::SHA1.0, 20)],
    };
    let mut replay = log.replay();
    let mut bank = |alg| replay.banks.remove(&alg).unwrap_or_default();
    Ok(EventLogSummary {
        events: log.events.len(),
        algorithms,
        sha1: bank(TpmAlgId::SHA1),
        sha256: bank(TpmAlgId::SHA256),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fixture_log_replays_to_tpm2_tools_pcrs() {
        // From shared/fixtures/eventlogs/tpm2-tools/event-bootorder.bin.yaml.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/eventlogs/tpm2-tools/event-bootorder.bin");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let s = summarize(&bytes).unwrap();
        assert_eq!(s.algorithms, [(0x4, 20), (0xb, 32)]);
        let hex: String = s
            .sha256
            .get(7)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "65caf8dd1e0ea7a6347b635d2b379c93b9a1351edc2afc3ecda700e534eb3068"
        );
        assert!(summarize(b"garbage").is_err());
    }
}
