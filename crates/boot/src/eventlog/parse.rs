//! Reading and writing whole logs.

use super::error::{EventLogError, EventLogErrorKind};
use super::reader::Reader;
use super::specid::{SPEC_ID_EVENT03, SpecIdEvent, TcgPcrEvent};
use super::{EventLog, EventType, SpecIdHeader, TcgPcrEvent2, TpmAlgId, TpmtHa, WriteError};

const TCG_PCR_EVENT: &str = "TCG_PCR_EVENT";
const TCG_PCR_EVENT2: &str = "TCG_PCR_EVENT2";

/// Where the event being read started, for error messages.
struct At {
    event: usize,
    structure: &'static str,
    offset: usize,
}

impl At {
    fn err(&self, kind: impl Into<EventLogErrorKind>) -> EventLogError {
        EventLogError {
            event: self.event,
            structure: self.structure,
            offset: self.offset,
            kind: kind.into(),
        }
    }
}

/// Takes an event body of the declared size, refusing sizes beyond the input before allocating.
fn body<'a>(r: &mut Reader<'a>, at: &At) -> Result<&'a [u8], EventLogError> {
    let size = r.u32("eventSize").map_err(|e| at.err(e))?;
    let n = usize::try_from(size).unwrap_or(usize::MAX);
    if n > r.left() {
        return Err(at.err(EventLogErrorKind::EventTooLarge {
            size,
            left: r.left(),
        }));
    }
    r.bytes(n, "event").map_err(|e| at.err(e))
}

fn pcr_event(r: &mut Reader<'_>, event: usize) -> Result<TcgPcrEvent, EventLogError> {
    let at = At {
        event,
        structure: TCG_PCR_EVENT,
        offset: r.offset(),
    };
    let pcr_index = r.u32("pcrIndex").map_err(|e| at.err(e))?;
    let event_type = EventType(r.u32("eventType").map_err(|e| at.err(e))?);
    let digest = r.fixed::<20>("digest").map_err(|e| at.err(e))?;
    let event = body(r, &at)?.to_vec();
    Ok(TcgPcrEvent {
        pcr_index,
        event_type,
        digest,
        event,
    })
}

fn pcr_event2(
    r: &mut Reader<'_>,
    event: usize,
    banks: &[(TpmAlgId, usize)],
) -> Result<TcgPcrEvent2, EventLogError> {
    let at = At {
        event,
        structure: TCG_PCR_EVENT2,
        offset: r.offset(),
    };
    let pcr_index = r.u32("pcrIndex").map_err(|e| at.err(e))?;
    let event_type = EventType(r.u32("eventType").map_err(|e| at.err(e))?);
    let count = r.u32("digests.count").map_err(|e| at.err(e))?;
    if usize::try_from(count).map_or(true, |c| c > banks.len()) {
        return Err(at.err(EventLogErrorKind::DigestCount {
            count,
            algorithms: banks.len(),
        }));
    }
    let mut digests: Vec<TpmtHa> = Vec::with_capacity(banks.len());
    for _ in 0..count {
        let alg = TpmAlgId(r.u16("hashAlg").map_err(|e| at.err(e))?);
        let Some(&(_, size)) = banks.iter().find(|(a, _)| *a == alg) else {
            return Err(at.err(EventLogErrorKind::UndeclaredAlgorithm { alg }));
        };
        if digests.iter().any(|d| d.hash_alg == alg) {
            return Err(at.err(EventLogErrorKind::DuplicateDigest { alg }));
        }
        let digest = r.bytes(size, "digest").map_err(|e| at.err(e))?.to_vec();
        digests.push(TpmtHa {
            hash_alg: alg,
            digest,
        });
    }
    let event = body(r, &at)?.to_vec();
    Ok(TcgPcrEvent2 {
        pcr_index,
        event_type,
        digests,
        event,
    })
}

pub(super) fn parse(bytes: &[u8]) -> Result<EventLog, EventLogError> {
    if bytes.is_empty() {
        return Err(At {
            event: 0,
            structure: TCG_PCR_EVENT,
            offset: 0,
        }
        .err(EventLogErrorKind::Empty));
    }
    let mut r = Reader::new(bytes, 0);
    let first = pcr_event(&mut r, 0)?;
    let agile =
        first.event_type == EventType::EV_NO_ACTION && first.event.starts_with(SPEC_ID_EVENT03);
    if !agile {
        let mut events = vec![legacy(first)];
        while r.left() > 0 {
            events.push(legacy(pcr_event(&mut r, events.len())?));
        }
        return Ok(EventLog {
            header: None,
            events,
        });
    }
    let at = At {
        event: 0,
        structure: "TCG_EfiSpecIdEvent",
        offset: 0,
    };
    let data_at = 32; // pcrIndex, eventType, digest[20], eventDataSize
    let (spec_id, outside) =
        SpecIdEvent::parse(&first.event, data_at, r.rest()).map_err(|e| at.err(e))?;
    r.bytes(outside, "vendorInfo").map_err(|e| at.err(e))?;
    let banks: Vec<(TpmAlgId, usize)> = spec_id
        .digest_sizes
        .iter()
        .map(|a| (a.algorithm_id, usize::from(a.digest_size)))
        .collect();
    let mut events = Vec::new();
    while r.left() > 0 {
        events.push(pcr_event2(&mut r, events.len() + 1, &banks)?);
    }
    Ok(EventLog {
        header: Some(SpecIdHeader {
            event: first,
            spec_id,
            vendor_info_outside: outside,
        }),
        events,
    })
}

fn legacy(e: TcgPcrEvent) -> TcgPcrEvent2 {
    TcgPcrEvent2 {
        pcr_index: e.pcr_index,
        event_type: e.event_type,
        digests: vec![TpmtHa {
            hash_alg: TpmAlgId::SHA1,
            digest: e.digest.to_vec(),
        }],
        event: e.event,
    }
}

fn put_body(out: &mut Vec<u8>, event: usize, data: &[u8]) -> Result<(), WriteError> {
    let n = u32::try_from(data.len()).map_err(|_| WriteError::TooLarge(event))?;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(data);
    Ok(())
}

pub(super) fn write(log: &EventLog) -> Result<Vec<u8>, WriteError> {
    let size: usize = log
        .events
        .iter()
        .map(|e| 16 + e.event.len() + e.digests.iter().map(|d| 2 + d.digest.len()).sum::<usize>())
        .sum();
    let mut out = Vec::with_capacity(size + 128);
    let Some(h) = &log.header else {
        for (i, e) in log.events.iter().enumerate() {
            let [d] = e.digests.as_slice() else {
                return Err(WriteError::LegacyDigest(i));
            };
            if d.hash_alg != TpmAlgId::SHA1 || d.digest.len() != 20 {
                return Err(WriteError::LegacyDigest(i));
            }
            out.extend_from_slice(&e.pcr_index.to_le_bytes());
            out.extend_from_slice(&e.event_type.0.to_le_bytes());
            out.extend_from_slice(&d.digest);
            put_body(&mut out, i, &e.event)?;
        }
        return Ok(out);
    };
    let v = &h.spec_id.vendor_info;
    let outside = v
        .len()
        .checked_sub(h.vendor_info_outside)
        .map(|start| &v[start..])
        .ok_or(WriteError::VendorInfoOutside)?;
    out.extend_from_slice(&h.event.pcr_index.to_le_bytes());
    out.extend_from_slice(&h.event.event_type.0.to_le_bytes());
    out.extend_from_slice(&h.event.digest);
    put_body(&mut out, 0, &h.event.event)?;
    out.extend_from_slice(outside);
    for (i, e) in log.events.iter().enumerate() {
        let number = i + 1;
        out.extend_from_slice(&e.pcr_index.to_le_bytes());
        out.extend_from_slice(&e.event_type.0.to_le_bytes());
        let n = u32::try_from(e.digests.len()).map_err(|_| WriteError::TooLarge(number))?;
        out.extend_from_slice(&n.to_le_bytes());
        for d in &e.digests {
            let declared = h.spec_id.digest_size(d.hash_alg);
            if declared != Some(d.digest.len()) {
                return Err(WriteError::DigestSize {
                    event: number,
                    alg: d.hash_alg,
                    len: d.digest.len(),
                    declared,
                });
            }
            out.extend_from_slice(&d.hash_alg.0.to_le_bytes());
            out.extend_from_slice(&d.digest);
        }
        put_body(&mut out, number, &e.event)?;
    }
    Ok(out)
}
