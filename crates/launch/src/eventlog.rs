//! A small reader for the TCG crypto-agile event log (TCG PC Client PFP, §10.2): enough to count
//! events and replay them into PCR values, so a boot report can check its log against its PCRs.
//! The full parser belongs to `crates/boot`.

use std::collections::BTreeMap;

use crate::report::PcrBank;

/// `TPM_ALG_SHA1` (TPM 2.0 Part 2, 6.3).
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// `TPM_ALG_SHA256`.
pub const TPM_ALG_SHA256: u16 = 0x000b;
/// `EV_NO_ACTION` (PFP §10.4.1): not extended.
pub const EV_NO_ACTION: u32 = 0x0000_0003;

/// More events than any real boot log has; bounds work on hostile input.
const MAX_EVENTS: usize = 100_000;

/// What was learned from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogSummary {
    /// Events after the Spec ID header event.
    pub events: usize,
    /// (algorithm id, digest size) pairs from the Spec ID event.
    pub algorithms: Vec<(u16, u16)>,
    /// PCRs replayed from the sha1 digests.
    pub sha1: PcrBank,
    /// PCRs replayed from the sha256 digests.
    pub sha256: PcrBank,
}

/// Why a log could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventLogError {
    /// Input ended inside a structure.
    #[error("truncated at offset {offset}: need {need} more bytes for {what}")]
    Truncated {
        /// Where.
        offset: usize,
        /// Missing bytes.
        need: usize,
        /// Field being read.
        what: &'static str,
    },
    /// The first event is not a `Spec ID Event03` header.
    #[error("not a crypto-agile log: first event lacks the \"Spec ID Event03\" signature")]
    NotCryptoAgile,
    /// An event uses an algorithm the header did not declare.
    #[error("event {index} at offset {offset}: undeclared algorithm {alg:#06x}")]
    UnknownAlgorithm {
        /// Event number.
        index: usize,
        /// Where.
        offset: usize,
        /// Algorithm id.
        alg: u16,
    },
    /// Too many events.
    #[error("more than {MAX_EVENTS} events")]
    TooManyEvents,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EventLogError> {
        let avail = self.data.len() - self.pos;
        if n > avail {
            return Err(EventLogError::Truncated {
                offset: self.pos,
                need: n - avail,
                what,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, EventLogError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, EventLogError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn len32(&mut self, what: &'static str) -> Result<usize, EventLogError> {
        usize::try_from(self.u32(what)?).map_err(|_| EventLogError::Truncated {
            offset: self.pos,
            need: usize::MAX,
            what,
        })
    }
}

/// Parses and replays a crypto-agile event log.
pub fn summarize(log: &[u8]) -> Result<EventLogSummary, EventLogError> {
    let mut c = Cursor { data: log, pos: 0 };
    // TCG_PCClientPCREvent (PFP §10.2.1): pcrIndex, eventType, SHA1 digest, eventDataSize, event.
    c.u32("pcrIndex")?;
    c.u32("eventType")?;
    c.take(20, "digest")?;
    let size = c.len32("eventDataSize")?;
    let spec = c.take(size, "TCG_EfiSpecIdEvent")?;
    let mut s = Cursor { data: spec, pos: 0 };
    if s.take(16, "signature")
        .map_err(|_| EventLogError::NotCryptoAgile)?
        != b"Spec ID Event03\0"
    {
        return Err(EventLogError::NotCryptoAgile);
    }
    // platformClass u32, specVersionMinor/Major, specErrata, uintnSize (u8 each).
    s.take(8, "TCG_EfiSpecIdEvent fields")?;
    let n = s.u32("numberOfAlgorithms")?;
    let mut algorithms = Vec::new();
    for _ in 0..n.min(64) {
        algorithms.push((s.u16("algorithmId")?, s.u16("digestSize")?));
    }
    // Some writers leave vendorInfo outside eventDataSize; tpm2_eventlog skips it, and so do we.
    if let Ok(v) = s.take(1, "vendorInfoSize") {
        let beyond = (s.pos + usize::from(v[0])).saturating_sub(spec.len());
        if beyond > 0 {
            c.take(beyond, "vendorInfo")?;
        }
    }
    let mut banks: BTreeMap<u16, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    let mut events = 0;
    while c.pos < log.len() {
        if events >= MAX_EVENTS {
            return Err(EventLogError::TooManyEvents);
        }
        let offset = c.pos;
        // TCG_PCR_EVENT2 (PFP §10.2.2).
        let pcr = c.u32("pcrIndex")?;
        let event_type = c.u32("eventType")?;
        let count = c.u32("digests.count")?;
        for _ in 0..count {
            let alg = c.u16("hashAlg")?;
            let size = algorithms
                .iter()
                .find(|(a, _)| *a == alg)
                .map(|(_, s)| usize::from(*s))
                .ok_or(EventLogError::UnknownAlgorithm {
                    index: events,
                    offset,
                    alg,
                })?;
            let digest = c.take(size, "digest")?;
            if event_type != EV_NO_ACTION {
                let bank = banks.entry(alg).or_default();
                let old = bank.entry(pcr).or_insert_with(|| initial(pcr, size));
                *old = extend(alg, old, digest);
            }
        }
        let size = c.len32("eventSize")?;
        c.take(size, "event")?;
        events += 1;
    }
    Ok(EventLogSummary {
        events,
        algorithms,
        sha1: PcrBank(banks.remove(&TPM_ALG_SHA1).unwrap_or_default()),
        sha256: PcrBank(banks.remove(&TPM_ALG_SHA256).unwrap_or_default()),
    })
}

/// Reset value: PCRs 17–22 start at all-ones, the rest at zero (PFP §3.3.4.1; locality 0).
fn initial(pcr: u32, size: usize) -> Vec<u8> {
    vec![if (17..=22).contains(&pcr) { 0xff } else { 0 }; size]
}

fn extend(alg: u16, old: &[u8], digest: &[u8]) -> Vec<u8> {
    let algorithm = match alg {
        TPM_ALG_SHA1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        TPM_ALG_SHA256 => &aws_lc_rs::digest::SHA256,
        0x000c => &aws_lc_rs::digest::SHA384,
        0x000d => &aws_lc_rs::digest::SHA512,
        // Banks we cannot compute are left at their first value; only sha1/sha256 are reported.
        _ => return old.to_vec(),
    };
    let mut ctx = aws_lc_rs::digest::Context::new(algorithm);
    ctx.update(old);
    ctx.update(digest);
    ctx.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let mut spec = b"Spec ID Event03\0".to_vec();
        spec.extend([0, 0, 0, 0, 0, 2, 0, 2]);
        spec.extend(2u32.to_le_bytes());
        spec.extend(TPM_ALG_SHA1.to_le_bytes());
        spec.extend(20u16.to_le_bytes());
        spec.extend(TPM_ALG_SHA256.to_le_bytes());
        spec.extend(32u16.to_le_bytes());
        spec.push(0);
        let mut log = Vec::new();
        log.extend(0u32.to_le_bytes());
        log.extend(EV_NO_ACTION.to_le_bytes());
        log.extend([0u8; 20]);
        log.extend(u32::try_from(spec.len()).unwrap().to_le_bytes());
        log.extend(spec);
        log
    }

    #[test]
    fn replays_one_event() {
        let mut log = header();
        log.extend(7u32.to_le_bytes());
        log.extend(0x8000_0001u32.to_le_bytes());
        log.extend(2u32.to_le_bytes());
        log.extend(TPM_ALG_SHA1.to_le_bytes());
        log.extend([0x11u8; 20]);
        log.extend(TPM_ALG_SHA256.to_le_bytes());
        log.extend([0x22u8; 32]);
        log.extend(1u32.to_le_bytes());
        log.push(0);
        let s = summarize(&log).unwrap();
        assert_eq!(s.events, 1);
        let mut pre = vec![0u8; 32];
        pre.extend([0x22u8; 32]);
        let want = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pre);
        assert_eq!(s.sha256.0[&7], want.as_ref());
        assert_eq!(s.sha1.0[&7].len(), 20);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(matches!(
            summarize(b"garbage").unwrap_err(),
            EventLogError::Truncated { .. }
        ));
        let mut log = header();
        log.extend([1, 0, 0]);
        assert!(matches!(
            summarize(&log).unwrap_err(),
            EventLogError::Truncated { .. }
        ));
        let mut bad = vec![0u8; 32];
        bad[28] = 4;
        assert_eq!(
            summarize(&[bad, b"nope".to_vec()].concat()).unwrap_err(),
            EventLogError::NotCryptoAgile
        );
    }

    /// `pcrs:` block of a tpm2_eventlog YAML: (bank, index, value).
    fn yaml_pcrs(yaml: &str) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut bank = String::new();
        let Some((_, block)) = yaml.split_once("\npcrs:") else {
            return out;
        };
        for line in block.lines() {
            let t = line.trim();
            if let Some(b) = t.strip_suffix(':') {
                bank = b.to_owned();
            } else if let Some((i, v)) = t.split_once(": 0x") {
                let v = (0..v.len())
                    .step_by(2)
                    .map(|k| u8::from_str_radix(&v[k..k + 2], 16).unwrap())
                    .collect();
                out.push((bank.clone(), i.trim().parse().unwrap(), v));
            }
        }
        out
    }

    #[test]
    fn real_fixture_logs_replay_to_tpm2_tools_pcrs() {
        // Real logs from tpm2-tools with the PCRs tpm2_eventlog replays from them (shared/fixtures).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/eventlogs/tpm2-tools");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut checked = 0;
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "bin") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let s = match summarize(&data) {
                Ok(s) => s,
                // The legacy SHA-1-only format is legitimately refused.
                Err(EventLogError::NotCryptoAgile) if p.ends_with("event-uefi-sha1-log.bin") => {
                    continue;
                }
                Err(err) => panic!("{}: {err}", p.display()),
            };
            let yaml = std::fs::read_to_string(p.with_extension("bin.yaml")).unwrap();
            for (bank, i, want) in yaml_pcrs(&yaml) {
                let got = match bank.as_str() {
                    "sha1" => s.sha1.get(i),
                    "sha256" => s.sha256.get(i),
                    _ => continue,
                };
                assert_eq!(got, Some(want.as_slice()), "{} {bank} PCR{i}", p.display());
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} PCR values checked");
    }
}
