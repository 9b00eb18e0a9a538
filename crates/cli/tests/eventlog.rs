//! `tl eventlog` run as a process on the tpm2-tools fixtures.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eventlogs/tpm2-tools");
    assert!(dir.is_dir(), "fixture folder {} is missing", dir.display());
    dir.join(name)
}

fn tl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tl"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn replay_json_matches_the_fixture_pcrs() {
    let f = fixture("event-bootorder.bin");
    let out = tl(&[
        "eventlog",
        "replay",
        "--output",
        "json",
        f.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let banks = v.as_object().unwrap();
    assert_eq!(banks.keys().collect::<Vec<_>>(), ["sha1", "sha256"]);
    assert_eq!(
        v["sha256"]["7"],
        "65caf8dd1e0ea7a6347b635d2b379c93b9a1351edc2afc3ecda700e534eb3068"
    );
    assert_eq!(v["sha1"]["9"], "f1ec9df00222a772a04fa20afbd7e707ac3ad677");
    assert_eq!(v["sha256"].as_object().unwrap().len(), 10);
}

#[test]
fn replay_table_and_show_run() {
    let f = fixture("event-arch-linux.bin");
    let out = tl(&["eventlog", "replay", f.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "sha256     8  47591b43af431963eaeb5238a5c42eda1eb0014c27f7de7ae483066a2d2a2e61"
        ),
        "{text}"
    );

    let out = tl(&["eventlog", "show", f.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("EventType: EV_EFI_VARIABLE_BOOT"));
    assert!(text.contains("DigestCheck: MISMATCH"));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim(),
        "warning: event 24's digest does not match its data"
    );

    let out = tl(&["eventlog", "show", "--output", "json", f.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"][24]["EventNum"], 24);
    assert_eq!(
        v["events"][0]["SpecID"]["digestSizes"][1]["algorithmId"],
        "sha256"
    );
}

#[test]
fn bad_input_gives_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tl-eventlog-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(fixture("event-uefiaction.bin")).unwrap();
    let cut = dir.join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let out = tl(&["eventlog", "replay", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is not a valid event log"), "{err}");
    assert!(
        err.contains(
            "event 1 (TCG_PCR_EVENT2) at offset 0x4d: event size 40 exceeds the 37 bytes left"
        ),
        "{err}"
    );
    let out = tl(&["eventlog", "show", dir.join("missing").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}
