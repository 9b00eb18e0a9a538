//! Checking a real boot's event log against a prediction, event by event.

use std::fmt;

use crate::eventlog::{EventLog, EventType, TcgPcrEvent2, TpmAlgId};

use super::model::{BANKS, PREDICTED_PCRS, PredictedEvent, Prediction, hex};

/// The first event of one PCR where a log departs from the prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMismatch {
    /// PCR index.
    pub pcr: u32,
    /// Position among that PCR's events (0-based).
    pub position: usize,
    /// The predicted event there, if the prediction has one.
    pub predicted: Option<PredictedEvent>,
    /// The logged event there, if the log has one.
    pub logged: Option<TcgPcrEvent2>,
    /// What differs.
    pub why: String,
}

impl fmt::Display for EventMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PCR{} event {}: {}", self.pcr, self.position, self.why)?;
        if let Some(p) = &self.predicted {
            write!(
                f,
                "\n  predicted: {} {}",
                type_name(p.event_type),
                p.description
            )?;
            for d in &p.digests {
                write!(f, " {}={}", d.hash_alg, hex(&d.digest))?;
            }
        }
        if let Some(l) = &self.logged {
            write!(
                f,
                "\n  logged:    {} {:?}",
                type_name(l.event_type),
                String::from_utf8_lossy(&l.event[..l.event.len().min(80)])
            )?;
            for d in &l.digests {
                if BANKS.contains(&d.hash_alg) {
                    write!(f, " {}={}", d.hash_alg, hex(&d.digest))?;
                }
            }
        }
        Ok(())
    }
}

fn type_name(t: EventType) -> String {
    t.name()
        .map_or_else(|| format!("{:#x}", t.0), str::to_owned)
}

impl Prediction {
    /// Compares each predicted PCR's events with the log's (EV_NO_ACTION events never extend
    /// and are skipped): type, the sha1/sha256 digests the log carries, and the event data where
    /// it is predicted. Returns the first difference of every PCR that has one.
    pub fn compare_log(&self, log: &EventLog) -> Vec<EventMismatch> {
        let mut out = Vec::new();
        for pcr in PREDICTED_PCRS {
            let predicted: Vec<&PredictedEvent> = self.events_of(pcr).collect();
            let logged: Vec<&TcgPcrEvent2> = log
                .events
                .iter()
                .filter(|e| e.pcr_index == pcr && e.event_type != EventType::EV_NO_ACTION)
                .collect();
            let n = predicted.len().max(logged.len());
            for position in 0..n {
                let (p, l) = (predicted.get(position), logged.get(position));
                let why = match (p, l) {
                    (Some(p), Some(l)) => differs(p, l),
                    (Some(_), None) => Some("the log has no such event".to_owned()),
                    (None, Some(_)) => Some("the log has an unpredicted event".to_owned()),
                    (None, None) => None,
                };
                if let Some(why) = why {
                    out.push(EventMismatch {
                        pcr,
                        position,
                        predicted: p.map(|p| (*p).clone()),
                        logged: l.map(|l| (*l).clone()),
                        why,
                    });
                    break;
                }
            }
        }
        out
    }
}

fn differs(p: &PredictedEvent, l: &TcgPcrEvent2) -> Option<String> {
    if p.event_type != l.event_type {
        return Some(format!(
            "type {} predicted, {} logged",
            type_name(p.event_type),
            type_name(l.event_type)
        ));
    }
    for alg in [TpmAlgId::SHA1, TpmAlgId::SHA256] {
        if let (Some(a), Some(b)) = (p.digest(alg), l.digest(alg))
            && a != b
        {
            return Some(format!("{alg} digest differs"));
        }
    }
    match &p.event {
        Some(e) if *e != l.event => Some("event data differs".to_owned()),
        _ => None,
    }
}
