//! The tpm2-tools fixture logs (`shared/fixtures/eventlogs/tpm2-tools`): replay, round trip,
//! and digest checks against what tpm2_eventlog reports for them.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};

use boot::eventlog::{DigestCheck, DigestRule, EventLog, EventType, TpmAlgId};

fn fixture_dir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eventlogs/tpm2-tools");
    assert!(
        dir.is_dir(),
        "fixture folder {} is missing (the repository expects shared/ beside it)",
        dir.display()
    );
    dir
}

/// Every `*.bin` fixture with its bytes.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    assert!(v.len() >= 11, "only {} fixtures found", v.len());
    v
}

fn fixture(name: &str) -> EventLog {
    let bytes = std::fs::read(fixture_dir().join(name)).unwrap();
    EventLog::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `pcrs:` block of a tpm2_eventlog YAML: (bank, index, value).
fn yaml_pcrs(yaml: &str) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut bank = String::new();
    let (_, block) = yaml.split_once("\npcrs:").expect("YAML has a pcrs: block");
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
fn every_fixture_replays_to_its_yaml_pcrs_in_every_bank() {
    let mut checked = 0;
    for (name, bytes) in fixtures() {
        let log = EventLog::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let replay = log.replay();
        assert!(
            replay.unsupported.is_empty(),
            "{name}: {:?}",
            replay.unsupported
        );
        let yaml = std::fs::read_to_string(fixture_dir().join(format!("{name}.yaml"))).unwrap();
        let want = yaml_pcrs(&yaml);
        let mut want_count = 0;
        for (bank, i, value) in &want {
            let alg = TpmAlgId::from_name(bank).unwrap_or_else(|| panic!("{name}: bank {bank}"));
            let got = replay.bank(alg).and_then(|b| b.get(*i));
            assert_eq!(got, Some(value.as_slice()), "{name} {bank} PCR{i}");
            checked += 1;
            want_count += 1;
        }
        // And nothing beyond what tpm2_eventlog lists.
        let got_count: usize = replay.banks.values().map(|b| b.0.len()).sum();
        assert_eq!(got_count, want_count, "{name}: PCRs replayed vs listed");
    }
    assert!(checked >= 90, "only {checked} PCR values checked");
}

#[test]
fn every_fixture_round_trips_byte_identical() {
    for (name, bytes) in fixtures() {
        let log = EventLog::parse(&bytes).unwrap();
        assert_eq!(log.write().unwrap(), bytes, "{name}");
    }
}

#[test]
fn legacy_sha1_log_is_read_as_such() {
    let log = fixture("event-uefi-sha1-log.bin");
    assert!(log.header.is_none());
    assert_eq!(log.banks(), [TpmAlgId::SHA1]);
    assert_eq!(log.events[0].event_type, EventType::EV_S_CRTM_VERSION);
}

#[test]
fn vendor_info_outside_the_spec_id_event_is_read_like_tpm2_tools() {
    let log = fixture("specid-vendordata.bin");
    let h = log.header.as_ref().unwrap();
    assert_eq!(h.spec_id.vendor_info, [0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(h.vendor_info_outside, 4);
    assert!(log.events.is_empty());
}

#[test]
fn digest_checks_on_fixtures() {
    let mut mismatches = Vec::new();
    let mut verified = 0;
    for (name, bytes) in fixtures() {
        let log = EventLog::parse(&bytes).unwrap();
        for (i, c) in log.check_digests().into_iter().enumerate() {
            let e = &log.events[i];
            match &c {
                DigestCheck::Verified(_) => verified += 1,
                DigestCheck::Mismatch { .. } => {
                    mismatches.push((name.clone(), log.event_number(i)))
                }
                DigestCheck::NotExtended => assert_eq!(e.event_type, EventType::EV_NO_ACTION),
                DigestCheck::NotCheckable(_) => {}
            }
            eprintln!(
                "{name} #{} {} pcr{} {:?}",
                log.event_number(i),
                e.event_type,
                e.pcr_index,
                c
            );
        }
    }
    // tpm2_eventlog warns about exactly one event (event-arch-linux.bin.warn).
    assert_eq!(mismatches, [("event-arch-linux.bin".to_owned(), 24)]);
    assert!(verified > 150, "only {verified} events verified");
}

#[test]
fn known_good_events_verify_by_their_rule() {
    // EDK2 Boot#### (data-only), grub commands, EFI actions, separators.
    let log = fixture("event-bootorder.bin");
    let checks = log.check_digests();
    let rule_of = |t: EventType| {
        log.events
            .iter()
            .zip(&checks)
            .filter(|(e, _)| e.event_type == t)
            .map(|(_, c)| c.clone())
            .collect::<Vec<_>>()
    };
    for t in [EventType::EV_SEPARATOR, EventType::EV_EFI_ACTION] {
        assert!(
            rule_of(t)
                .iter()
                .all(|c| *c == DigestCheck::Verified(DigestRule::WholeEvent)),
            "{t}"
        );
    }
    let boot = rule_of(EventType::EV_EFI_VARIABLE_BOOT);
    assert!(!boot.is_empty());
    assert!(
        boot.iter()
            .all(|c| *c == DigestCheck::Verified(DigestRule::VariableDataOnly)),
        "{boot:?}"
    );
    let grub = log
        .events
        .iter()
        .zip(&checks)
        .filter(|(e, _)| e.event_type == EventType::EV_IPL && e.event.starts_with(b"grub_cmd: "))
        .count();
    assert!(grub > 5);
    assert!(checks.contains(&DigestCheck::Verified(DigestRule::GrubText)));
    // The image events cannot be checked from the log.
    assert!(
        checks
            .iter()
            .any(|c| matches!(c, DigestCheck::NotCheckable(r) if r.contains("Authenticode")))
    );
}

#[test]
fn a_tampered_event_is_reported_as_mismatching() {
    let mut log = fixture("event-uefiaction.bin");
    assert_eq!(
        log.check_digests(),
        [DigestCheck::Verified(DigestRule::WholeEvent)]
    );
    log.events[0].event[0] ^= 0x20;
    assert_eq!(
        log.check_digests(),
        [DigestCheck::Mismatch {
            rule: DigestRule::WholeEvent,
            banks: vec![TpmAlgId::SHA1, TpmAlgId::SHA256]
        }]
    );
    // The replay is of the digests, which did not change.
    assert_eq!(log.replay(), fixture("event-uefiaction.bin").replay());
}

#[test]
fn arch_linux_event_24_is_the_mismatch_tpm2_tools_warns_about() {
    let warn = std::fs::read_to_string(fixture_dir().join("event-arch-linux.bin.warn")).unwrap();
    assert!(warn.contains("Event 24's digest does not match"), "{warn}");
    let log = fixture("event-arch-linux.bin");
    let i = 23;
    assert_eq!(log.event_number(i), 24);
    assert_eq!(log.events[i].event_type, EventType::EV_IPL);
    assert!(log.check_digests()[i].is_mismatch());
}
