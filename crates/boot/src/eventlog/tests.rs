//! Unit tests for log-level parsing, errors, replay and writing.

use proptest::prelude::*;

use super::*;

const SHA1: TpmAlgId = TpmAlgId::SHA1;
const SHA256: TpmAlgId = TpmAlgId::SHA256;

/// A crypto-agile log with sha1+sha256 and the given events.
fn log_with(events: Vec<TcgPcrEvent2>) -> Vec<u8> {
    let mut log = EventLog::new(&[SHA1, SHA256]);
    log.events = events;
    log.write().unwrap()
}

fn action(pcr: u32, text: &[u8]) -> TcgPcrEvent2 {
    TcgPcrEvent2::measure(
        pcr,
        EventType::EV_EFI_ACTION,
        &[SHA1, SHA256],
        text,
        text.to_vec(),
    )
}

fn err(bytes: &[u8]) -> EventLogError {
    EventLog::parse(bytes).unwrap_err()
}

#[test]
fn empty_log() {
    assert_eq!(
        err(&[]).to_string(),
        "event 0 (TCG_PCR_EVENT) at offset 0x0: log is empty"
    );
}

#[test]
fn truncated_header_names_field_and_offset() {
    let log = log_with(vec![]);
    assert_eq!(
        err(&log[..30]).to_string(),
        "event 0 (TCG_PCR_EVENT) at offset 0x0: truncated: eventSize at offset 0x1c needs 4 bytes, only 2 left"
    );
    // eventDataSize beyond the input.
    assert_eq!(
        err(&log[..40]).kind,
        EventLogErrorKind::EventTooLarge { size: 37, left: 8 }
    );
}

/// The header with the Spec ID event data replaced by `spec` (eventDataSize adjusted).
fn with_spec(spec: &[u8]) -> Vec<u8> {
    let mut log = log_with(vec![]);
    log.truncate(28);
    log.extend(u32::try_from(spec.len()).unwrap().to_le_bytes());
    log.extend(spec);
    log
}

fn spec(algs: &[(u16, u16)], uintn: u8) -> Vec<u8> {
    let mut s = SPEC_ID_EVENT03.to_vec();
    s.extend([0, 0, 0, 0, 0, 2, 0, uintn]);
    s.extend(u32::try_from(algs.len()).unwrap().to_le_bytes());
    for (a, n) in algs {
        s.extend(a.to_le_bytes());
        s.extend(n.to_le_bytes());
    }
    s.push(0);
    s
}

#[test]
fn spec_id_errors() {
    let e = err(&with_spec(&spec(&[], 2)));
    assert_eq!(e.structure, "TCG_EfiSpecIdEvent");
    assert_eq!(e.kind, EventLogErrorKind::NoAlgorithms);
    let e = err(&with_spec(&spec(&[(4, 20), (4, 20)], 2)));
    assert_eq!(e.kind, EventLogErrorKind::DuplicateAlgorithm { alg: SHA1 });
    let e = err(&with_spec(&spec(&[(0xb, 20)], 2)));
    assert_eq!(
        e.to_string(),
        "event 0 (TCG_EfiSpecIdEvent) at offset 0x0: algorithm sha256 declared with digest size 20, expected 32"
    );
    let e = err(&with_spec(&spec(&[(0x99, 0)], 2)));
    assert!(
        matches!(e.kind, EventLogErrorKind::DigestSize { declared: 0, .. }),
        "{e}"
    );
    let e = err(&with_spec(&spec(&[(4, 20)], 3)));
    assert_eq!(e.kind, EventLogErrorKind::UintnSize(3));
    let mut s = spec(&[(4, 20)], 2);
    s[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = err(&with_spec(&s));
    assert_eq!(
        e.to_string(),
        "event 0 (TCG_EfiSpecIdEvent) at offset 0x0: numberOfAlgorithms 4294967295 needs 17179869180 bytes, the event has 5 left"
    );
    // vendorInfoSize past both the event and the log.
    let mut s = spec(&[(4, 20)], 2);
    *s.last_mut().unwrap() = 9;
    let e = err(&with_spec(&s));
    assert!(
        e.to_string()
            .contains("vendorInfo at offset 0x41 needs 9 bytes, only 0 left"),
        "{e}"
    );
}

#[test]
fn event2_errors() {
    let good = log_with(vec![action(4, b"x"), action(4, b"y")]);
    let second = good.len() - (12 + 2 + 20 + 2 + 32 + 4 + 1);
    let e = err(&good[..good.len() - 1]);
    assert_eq!(
        e.to_string(),
        format!(
            "event 2 (TCG_PCR_EVENT2) at offset {second:#x}: event size 1 exceeds the 0 bytes left"
        )
    );
    let e = err(&good[..second + 6]);
    assert_eq!(e.event, 2);
    assert!(e.to_string().contains("eventType at offset"), "{e}");

    // Digest count beyond the banks.
    let mut b = good.clone();
    b[second + 8..second + 12].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        err(&b).to_string(),
        format!(
            "event 2 (TCG_PCR_EVENT2) at offset {second:#x}: digest count 9 exceeds the 2 algorithms of the Spec ID event"
        )
    );
    // An algorithm not in the header.
    let mut b = good.clone();
    b[second + 12..second + 14].copy_from_slice(&0x0cu16.to_le_bytes());
    assert_eq!(
        err(&b).kind,
        EventLogErrorKind::UndeclaredAlgorithm {
            alg: TpmAlgId::SHA384
        }
    );
    // The same bank twice.
    let mut b = good.clone();
    b[second + 12 + 22..second + 12 + 24].copy_from_slice(&4u16.to_le_bytes());
    assert_eq!(
        err(&b).kind,
        EventLogErrorKind::DuplicateDigest { alg: SHA1 }
    );
    // An oversized event size does not allocate.
    let mut b = good;
    let size_at = b.len() - 5;
    b[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        err(&b).kind,
        EventLogErrorKind::EventTooLarge {
            size: u32::MAX,
            left: 1
        }
    );
}

#[test]
fn legacy_log_errors_and_round_trip() {
    let mut b = Vec::new();
    for (pcr, text) in [(4u32, &b"a"[..]), (5, b"bc")] {
        b.extend(pcr.to_le_bytes());
        b.extend(EventType::EV_EFI_ACTION.0.to_le_bytes());
        b.extend(SHA1.hash(&[text]).unwrap());
        b.extend(u32::try_from(text.len()).unwrap().to_le_bytes());
        b.extend(text);
    }
    let log = EventLog::parse(&b).unwrap();
    assert!(log.header.is_none());
    assert_eq!(log.event_number(1), 1);
    assert_eq!(log.write().unwrap(), b);
    assert!(
        log.check_digests()
            .iter()
            .all(|c| matches!(c, DigestCheck::Verified(_)))
    );
    let e = err(&b[..b.len() - 3]);
    assert_eq!(e.event, 1);
    assert_eq!(e.structure, "TCG_PCR_EVENT");
    // Garbage is a truncated legacy event, not a panic.
    assert!(
        err(b"garbage")
            .to_string()
            .starts_with("event 0 (TCG_PCR_EVENT) at offset 0x0: truncated")
    );
}

#[test]
fn writer_refuses_inconsistent_logs() {
    let mut log = EventLog::parse(&log_with(vec![action(4, b"x")])).unwrap();
    log.events[0].digests[0].digest.pop();
    assert!(matches!(
        log.write(),
        Err(WriteError::DigestSize { event: 1, .. })
    ));
    log.header = None;
    assert_eq!(log.write(), Err(WriteError::LegacyDigest(0)));
}

fn locality_event(l: u8) -> TcgPcrEvent2 {
    let mut data = data::STARTUP_LOCALITY.to_vec();
    data.push(l);
    TcgPcrEvent2 {
        pcr_index: 0,
        event_type: EventType::EV_NO_ACTION,
        digests: vec![
            TpmtHa {
                hash_alg: SHA1,
                digest: vec![0; 20],
            },
            TpmtHa {
                hash_alg: SHA256,
                digest: vec![0; 32],
            },
        ],
        event: data,
    }
}

#[test]
fn startup_locality_sets_pcr0_start_value() {
    for l in [3u8, 4] {
        let log = EventLog::parse(&log_with(vec![locality_event(l), action(0, b"crtm")])).unwrap();
        let r = log.replay();
        let mut start = vec![0u8; 32];
        start[31] = l;
        let d = SHA256.hash(&[b"crtm"]).unwrap();
        assert_eq!(
            r.bank(SHA256).unwrap().get(0),
            SHA256.hash(&[&start, &d]).as_deref()
        );
        let mut start1 = vec![0u8; 20];
        start1[19] = l;
        let d1 = SHA1.hash(&[b"crtm"]).unwrap();
        assert_eq!(
            r.bank(SHA1).unwrap().get(0),
            SHA1.hash(&[&start1, &d1]).as_deref()
        );
        assert_eq!(
            log.events[0].decode(8).unwrap(),
            EventData::StartupLocality(StartupLocalityEvent {
                startup_locality: l
            })
        );
        assert_eq!(log.check_digests()[0], DigestCheck::NotExtended);
    }
}

#[test]
fn pcrs_17_to_22_start_at_all_ones() {
    let r = EventLog::parse(&log_with(vec![action(17, b"drtm")]))
        .unwrap()
        .replay();
    let d = SHA256.hash(&[b"drtm"]).unwrap();
    assert_eq!(
        r.bank(SHA256).unwrap().get(17),
        SHA256.hash(&[&[0xff; 32], &d]).as_deref()
    );
}

#[test]
fn unknown_banks_parse_with_their_declared_size_and_are_not_replayed() {
    let mut log = EventLog::new(&[SHA256]);
    let h = log.header.as_mut().unwrap();
    h.spec_id.digest_sizes.push(TcgEfiSpecIdEventAlgorithmSize {
        algorithm_id: TpmAlgId(0x4242),
        digest_size: 7,
    });
    h.spec_id.digest_sizes.push(TcgEfiSpecIdEventAlgorithmSize {
        algorithm_id: TpmAlgId::SM3_256,
        digest_size: 32,
    });
    h.event.event = h.spec_id.to_bytes();
    let mut e = action(4, b"x");
    e.digests.retain(|d| d.hash_alg == SHA256);
    e.digests.push(TpmtHa {
        hash_alg: TpmAlgId(0x4242),
        digest: vec![7; 7],
    });
    e.digests.push(TpmtHa {
        hash_alg: TpmAlgId::SM3_256,
        digest: vec![3; 32],
    });
    log.events.push(e);
    let bytes = log.write().unwrap();
    let parsed = EventLog::parse(&bytes).unwrap();
    assert_eq!(parsed, log);
    let r = parsed.replay();
    assert_eq!(r.unsupported, [TpmAlgId(0x4242), TpmAlgId::SM3_256]);
    assert!(r.bank(SHA256).unwrap().get(4).is_some());
    assert_eq!(
        parsed.check_digests()[0],
        DigestCheck::Verified(DigestRule::WholeEvent)
    );
}

fn arb_event() -> impl Strategy<Value = TcgPcrEvent2> {
    (
        0u32..30,
        prop_oneof![
            Just(EventType::EV_EFI_ACTION),
            Just(EventType::EV_IPL),
            Just(EventType::EV_NO_ACTION),
            Just(EventType::EV_EFI_VARIABLE_BOOT),
            any::<u32>().prop_map(EventType),
        ],
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    )
        .prop_map(|(pcr, t, data, both)| {
            let banks: &[TpmAlgId] = if both { &[SHA1, SHA256] } else { &[SHA256] };
            TcgPcrEvent2::measure(pcr, t, banks, &data, data.clone())
        })
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(events in proptest::collection::vec(arb_event(), 0..20)) {
        let mut log = EventLog::new(&[SHA1, SHA256]);
        log.events = events;
        let bytes = log.write().unwrap();
        let parsed = EventLog::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &log);
        prop_assert_eq!(parsed.write().unwrap(), bytes);
        // Data is what was hashed, so every checkable event verifies.
        for c in parsed.check_digests() {
            prop_assert!(!c.is_mismatch(), "{:?}", c);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..400), agile in any::<bool>()) {
        if agile {
            let mut b = log_with(vec![]);
            b.append(&mut bytes);
            bytes = b;
        }
        if let Ok(log) = EventLog::parse(&bytes) {
            prop_assert_eq!(log.write().unwrap(), bytes);
            let _ = log.replay();
            let _ = log.check_digests();
            for e in &log.events {
                let _ = e.decode(log.uintn_bytes());
            }
        }
    }
}
