//! NV indices through the real daemon: defined and written with raw password-session frames,
//! listed by Debian's `tpm2_nvreadpublic` (which needs no session), and a counter that keeps
//! its value when the daemon is killed and restarted on the same state directory.
//! (`tpm2_nvdefine/nvwrite/nvread/nvincrement` 5.4 open an HMAC session first, which the
//! engine does not implement yet.)

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::process::Command;

use common::*;

const OWNER: u32 = 0x4000_0001;
const COUNTER: u32 = 0x0150_0020;
const ORDINARY: u32 = 0x0150_0021;

/// A command with one empty password session per handle in `auth`.
fn pw_cmd(cc: u32, handles: &[u32], auth: usize, params: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for h in handles {
        body.extend_from_slice(&h.to_be_bytes());
    }
    let session = hex("40000009 0000 01 0000");
    body.extend_from_slice(&((session.len() * auth) as u32).to_be_bytes());
    for _ in 0..auth {
        body.extend_from_slice(&session);
    }
    body.extend_from_slice(params);
    let mut f = hex("8002");
    f.extend_from_slice(&(10 + body.len() as u32).to_be_bytes());
    f.extend_from_slice(&cc.to_be_bytes());
    f.extend_from_slice(&body);
    f
}

fn public(h: u32, attrs: u32, size: u16) -> Vec<u8> {
    let mut p = h.to_be_bytes().to_vec();
    p.extend_from_slice(&hex("000B"));
    p.extend_from_slice(&attrs.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&size.to_be_bytes());
    p
}

fn define(s: &mut std::net::TcpStream, h: u32, attrs: u32, size: u16) {
    let mut prm = vec![0, 0, 0, 14];
    prm.extend_from_slice(&public(h, attrs, size));
    assert_eq!(rc(&transact(s, &pw_cmd(0x12A, &[OWNER], 1, &prm))), 0);
}

fn read_counter(s: &mut std::net::TcpStream) -> u64 {
    let r = transact(s, &pw_cmd(0x14E, &[OWNER, COUNTER], 1, &hex("0008 0000")));
    assert_eq!(rc(&r), 0);
    u64::from_be_bytes(r[16..24].try_into().unwrap())
}

fn increment(s: &mut std::net::TcpStream) {
    let r = transact(s, &pw_cmd(0x134, &[OWNER, COUNTER], 1, &[]));
    assert_eq!(rc(&r), 0);
}

#[test]
fn nv_indices_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--flags", "not-need-init,startup-clear"];
    let v = start_tcp(dir.path(), &flags);
    let mut s = connect(v.port);
    define(&mut s, COUNTER, 0x0006_0016, 8);
    define(&mut s, ORDINARY, 0x0006_0006, 32);
    increment(&mut s);
    increment(&mut s);
    let mut prm = vec![0, 5];
    prm.extend_from_slice(b"hello");
    prm.extend_from_slice(&[0, 0]);
    let r = transact(&mut s, &pw_cmd(0x137, &[OWNER, ORDINARY], 1, &prm));
    assert_eq!(rc(&r), 0);
    drop(s);

    if Command::new("tpm2_nvreadpublic")
        .arg("--version")
        .output()
        .is_ok()
    {
        let out = Command::new("tpm2_nvreadpublic")
            .env(
                "TPM2TOOLS_TCTI",
                format!("swtpm:host=127.0.0.1,port={}", v.port),
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        // Name = nameAlg ‖ SHA-256(TPMS_NV_PUBLIC), WRITTEN included.
        for (h, attrs, size) in [(COUNTER, 0x2006_0016, 8), (ORDINARY, 0x2006_0006, 32)] {
            let name: String = [&hex("000B")[..], &sha256(&[&public(h, attrs, size)])]
                .concat()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let block = text
                .split(&format!("{h:#x}:"))
                .nth(1)
                .unwrap_or_else(|| panic!("{h:#x} not listed:\n{text}"));
            assert!(block.contains(&format!("name: {name}")), "{text}");
            assert!(block.contains(&format!("value: {attrs:#X}")), "{text}");
        }
    } else {
        println!("tpm2_nvreadpublic not found: raw checks only");
    }

    // Kill the daemon (no Shutdown) and start it again on the same state.
    drop(v);
    let v = start_tcp(dir.path(), &flags);
    let mut s = connect(v.port);
    assert_eq!(read_counter(&mut s), 2);
    increment(&mut s);
    assert_eq!(read_counter(&mut s), 3);
}
