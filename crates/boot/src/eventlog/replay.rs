//! Replaying a log into PCR values (PFP §3.3.4; TPM 2.0 Part 3, `TPM2_PCR_Extend`).

use std::collections::BTreeMap;

use super::data::StartupLocalityEvent;
use super::{EventLog, EventType, TpmAlgId};

/// One bank's PCRs: index → value. Only PCRs the log touches appear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrBank(pub BTreeMap<u32, Vec<u8>>);

impl PcrBank {
    /// The value of PCR `i`, if the log touched it.
    pub fn get(&self, i: u32) -> Option<&[u8]> {
        self.0.get(&i).map(Vec::as_slice)
    }
}

/// The result of replaying a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Banks we could compute, by algorithm.
    pub banks: BTreeMap<TpmAlgId, PcrBank>,
    /// Banks the log carries that we cannot compute (e.g. sm3_256 or an unknown algorithm).
    pub unsupported: Vec<TpmAlgId>,
}

impl Replay {
    /// One bank, if it was computed.
    pub fn bank(&self, alg: TpmAlgId) -> Option<&PcrBank> {
        self.banks.get(&alg)
    }
}

/// Reset value of a PCR (PFP §3.3.4.1): 17–22 are all ones, PCR0 carries the startup locality
/// in its last byte (§10.4.5.3), the rest are zero.
fn initial(pcr: u32, size: usize, locality: u8) -> Vec<u8> {
    let mut v = vec![if (17..=22).contains(&pcr) { 0xff } else { 0 }; size];
    if pcr == 0
        && let Some(last) = v.last_mut()
    {
        *last = locality;
    }
    v
}

pub(super) fn replay(log: &EventLog) -> Replay {
    let mut out = Replay::default();
    let mut algs = Vec::new();
    for alg in log.banks() {
        match alg.digest_algorithm() {
            Some(a) => {
                out.banks.insert(alg, PcrBank::default());
                algs.push((alg, a));
            }
            None => out.unsupported.push(alg),
        }
    }
    let mut locality = 0u8;
    for e in &log.events {
        if e.event_type == EventType::EV_NO_ACTION {
            // StartupLocality only means something before PCR0 is first extended.
            if e.pcr_index == 0
                && let Some(s) = StartupLocalityEvent::parse(&e.event)
            {
                locality = s.startup_locality;
                for (alg, a) in &algs {
                    if let Some(bank) = out.banks.get_mut(alg) {
                        bank.0
                            .entry(0)
                            .or_insert_with(|| initial(0, a.output_len(), locality));
                    }
                }
            }
            continue;
        }
        for d in &e.digests {
            let Some((_, a)) = algs.iter().find(|(alg, _)| *alg == d.hash_alg) else {
                continue;
            };
            let Some(bank) = out.banks.get_mut(&d.hash_alg) else {
                continue;
            };
            let pcr = bank
                .0
                .entry(e.pcr_index)
                .or_insert_with(|| initial(e.pcr_index, a.output_len(), locality));
            let mut ctx = aws_lc_rs::digest::Context::new(a);
            ctx.update(pcr);
            ctx.update(&d.digest);
            pcr.clear();
            pcr.extend_from_slice(ctx.finish().as_ref());
        }
    }
    out
}
