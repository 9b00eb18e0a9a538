//! Data channel and state files against the real binary.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::*;

#[test]
fn framing_raw_prefixed_oversized_and_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let mut d = connect(v.port);
    assert_eq!(rc(&transact(&mut d, &hex(GET_RANDOM_16))), 0);
    // TCG/mssim prefix: {8, locality, size} + cmd → {size} + rsp + {0}.
    let mut pre = hex("00000008 00 0000000C");
    pre.extend_from_slice(&hex(GET_RANDOM_16));
    d.write_all(&pre).unwrap();
    let mut sz = [0u8; 4];
    d.read_exact(&mut sz).unwrap();
    let rsp = read_response(&mut d);
    assert_eq!(u32::from_be_bytes(sz) as usize, rsp.len());
    assert_eq!(rc(&rsp), 0);
    let mut ack = [0u8; 4];
    d.read_exact(&mut ack).unwrap();
    assert_eq!(ack, [0; 4]);
    // Oversized: TPM_RC_COMMAND_SIZE, the rest of the frame is skipped, the connection lives on.
    let mut big = hex("8001 00001388 0000017B");
    big.resize(5000, 0xAB);
    assert_eq!(transact(&mut d, &big), hex("8001 0000000A 00000142"));
    assert_eq!(rc(&transact(&mut d, &hex(GET_RANDOM_16))), 0);
    // Two commands in one write (pipelined) are both answered.
    let mut two = hex(GET_RANDOM_16);
    two.extend_from_slice(&hex(GET_RANDOM_16));
    d.write_all(&two).unwrap();
    assert_eq!(rc(&read_response(&mut d)), 0);
    assert_eq!(rc(&read_response(&mut d)), 0);
    // Byte-by-byte delivery.
    for b in hex(GET_RANDOM_16) {
        d.write_all(&[b]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(rc(&read_response(&mut d)), 0);
    drop(d);
    // tcti-swtpm style: a new connection per command.
    for _ in 0..20 {
        let mut d = connect(v.port);
        assert_eq!(rc(&transact(&mut d, &hex(GET_RANDOM_16))), 0);
    }
    // A header with size < 10 cannot be resynchronised: error, then the connection is closed.
    let mut d = connect(v.port);
    assert_eq!(
        transact(&mut d, &hex("8001 00000005 0000017B")),
        hex("8001 0000000A 00000142")
    );
    let mut rest = Vec::new();
    assert_eq!(d.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn vendor_set_locality_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let mut d = connect(v.port);
    assert_eq!(
        transact(&mut d, &hex("8001 0000000B 20001000 03")),
        hex("8001 0000000A 00000101")
    );
    drop(v);
    let dir = tempfile::tempdir().unwrap();
    let v = start_tcp(
        dir.path(),
        &[
            "--flags",
            "not-need-init,startup-clear",
            "--locality",
            "allow-set-locality,reject-locality-4",
        ],
    );
    let mut d = connect(v.port);
    assert_eq!(
        transact(&mut d, &hex("8001 0000000B 20001000 03")),
        hex("8001 0000000A 00000000")
    );
    assert_eq!(
        transact(&mut d, &hex("8001 0000000B 20001000 04")),
        hex("8001 0000000A 00000907")
    );
}

#[test]
fn pcr_state_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let digest = [0x5Au8; 32];
    let expected = sha256(&[&[0u8; 32], &digest]);
    {
        let v = start_tcp(dir.path(), &["--flags", "not-need-init"]);
        let mut d = connect(v.port);
        assert_eq!(
            transact(&mut d, &hex(STARTUP_CLEAR)),
            hex("8001 0000000A 00000000")
        );
        assert_eq!(rc(&transact(&mut d, &pcr_extend(0, &digest))), 0);
        assert_eq!(pcr_value(&transact(&mut d, &pcr_read(0))), expected);
        let mut c = connect(v.port + 1);
        // CMD_SHUTDOWN sends TPM2_Shutdown(STATE) itself, persists, replies, exits.
        assert_eq!(ctrl(&mut c, &hex("00000003"), 4), hex("00000000"));
        let mut v = v;
        assert!(v.wait_exit().success());
    }
    let meta = std::fs::metadata(state_file(dir.path())).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-state"]);
    let mut d = connect(v.port);
    assert_eq!(
        pcr_value(&transact(&mut d, &pcr_read(0))),
        expected,
        "PCR 0 resumed by Startup(STATE)"
    );
    drop(v);
    // Startup(CLEAR) resets it.
    let v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let mut d = connect(v.port);
    assert_eq!(pcr_value(&transact(&mut d, &pcr_read(0))), vec![0u8; 32]);
}

#[test]
fn volatile_snapshot_resumes_after_kill() {
    let dir = tempfile::tempdir().unwrap();
    let digest = [7u8; 32];
    let expected = sha256(&[&[0u8; 32], &digest]);
    {
        let v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-clear"]);
        let mut d = connect(v.port);
        assert_eq!(rc(&transact(&mut d, &pcr_extend(16, &digest))), 0);
        let mut c = connect(v.port + 1);
        assert_eq!(ctrl(&mut c, &hex("0000000A"), 4), hex("00000000"));
        // dropped: SIGKILL
    }
    let v = start_tcp(dir.path(), &["--flags", "not-need-init"]);
    let mut d = connect(v.port);
    assert_eq!(pcr_value(&transact(&mut d, &pcr_read(16))), expected);
}

fn start_fails(dir: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args([
            "socket",
            "--tpm2",
            "--server",
            "port=1",
            "--tpmstate",
            &format!("dir={}", dir.display()),
            "--flags",
            "not-need-init",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn corrupt_truncated_and_swtpm_state_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(state_file(dir.path()), b"definitely not a TPM").unwrap();
    let e = start_fails(dir.path());
    assert!(e.contains("tpm2-00.permall"), "{e}");
    assert_eq!(
        std::fs::read(state_file(dir.path())).unwrap(),
        b"definitely not a TPM",
        "left untouched"
    );

    // A real state file, truncated.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut v = start_tcp(dir.path(), &["--flags", "not-need-init,startup-clear"]);
        let mut c = connect(v.port + 1);
        assert_eq!(ctrl(&mut c, &hex("00000003"), 4), hex("00000000"));
        v.wait_exit();
    }
    let good = std::fs::read(state_file(dir.path())).unwrap();
    std::fs::write(state_file(dir.path()), &good[..good.len() / 2]).unwrap();
    let e = start_fails(dir.path());
    assert!(e.contains("tpm2-00.permall"), "{e}");
    // One flipped byte.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    std::fs::write(state_file(dir.path()), &flipped).unwrap();
    let e = start_fails(dir.path());
    assert!(e.contains("tpm2-00.permall"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        state_file(dir.path()),
        hex("0201000a 00000000 176f 0001 0000175f 00"),
    )
    .unwrap();
    let e = start_fails(dir.path());
    assert!(
        e.contains("written by swtpm/libtpms; import is not supported"),
        "{e}"
    );
}

#[test]
fn second_instance_on_same_dir_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _v = start_tcp(dir.path(), &["--flags", "not-need-init"]);
    let e = start_fails(dir.path());
    assert!(e.contains("in use by another process"), "{e}");
}

#[test]
fn cli_help_caps_errors() {
    let out = Command::new(BIN)
        .args(["socket", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("--tpm2"));
    let out = Command::new(BIN)
        .args(["socket", "--print-capabilities"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.starts_with("{ \"type\": \"swtpm\", \"features\": [") && s.contains("\"tpm-2.0\""),
        "{s}"
    );
    for bad in [
        &["socket", "--tpm2", "--frobnicate"][..],
        &["chardev", "--tpm2"],
        &["cuse", "--tpm2"],
    ] {
        let out = Command::new(BIN).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(!out.stderr.is_empty());
    }
}
