//! `tl-vtpm mssim`: the Microsoft simulator protocol byte by byte, and Debian's tpm2-tools
//! through the real tpm2-tss mssim TCTI (package `libtss2-tcti-mssim0`).

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use common::*;

fn start_mssim(dir: &Path, extra: &[&str]) -> Vtpm {
    let port = port_pair();
    let mut args: Vec<String> = vec![
        "mssim".into(),
        "--port".into(),
        port.to_string(),
        "--tpmstate".into(),
        format!("dir={}", dir.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut v = spawn(&args, || {
        TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
    });
    v.port = port;
    v
}

/// Writes `req`, reads exactly `n` bytes.
fn call(s: &mut TcpStream, req: &[u8], n: usize) -> Vec<u8> {
    ctrl(s, req, n)
}

fn u32s(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// `TPM_SEND_COMMAND` at locality 0 → the response (between its length and the trailing 0).
fn send(s: &mut TcpStream, cmd: &[u8]) -> Vec<u8> {
    let mut req = u32s(&[8]);
    req.push(0);
    req.extend_from_slice(&(cmd.len() as u32).to_be_bytes());
    req.extend_from_slice(cmd);
    s.write_all(&req).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rsp = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rsp).unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).unwrap();
    assert_eq!(ack, [0; 4], "SEND_COMMAND ends with u32 0");
    rsp
}

fn assert_closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    assert_eq!(
        s.read_to_end(&mut rest).unwrap(),
        0,
        "extra bytes {rest:02x?}"
    );
}

#[test]
fn platform_port_codes_and_replies() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_mssim(dir.path(), &[]);
    let mut p = connect(v.port + 1);
    let mut t = connect(v.port);
    // Powered off: a command gets an empty response.
    assert_eq!(send(&mut t, &hex(GET_RANDOM_16)), Vec::<u8>::new());
    // POWER_ON, NV_ON (what tcti-mssim sends), then every simple signal: u32 0.
    for code in [1u32, 11, 3, 4, 9, 10, 13, 14, 18, 30, 1] {
        assert_eq!(call(&mut p, &u32s(&[code]), 4), [0; 4], "code {code}");
    }
    // After power-on the TPM wants TPM2_Startup.
    assert_eq!(rc(&send(&mut t, &hex(GET_RANDOM_16))), 0x100);
    assert_eq!(rc(&send(&mut t, &hex(STARTUP_CLEAR))), 0);
    let rnd = send(&mut t, &hex(GET_RANDOM_16));
    assert_eq!((rc(&rnd), rnd.len()), (0, 28));
    // Largest command (the first 12-byte one: GetRandom while off; ties keep the first) and
    // response (GetRandom, 28 B), in host byte order with the wire code bytes; asking resets them.
    let mut want = u32s(&[16]);
    want.extend_from_slice(&12u32.to_ne_bytes());
    want.extend_from_slice(&hex("0000017B"));
    want.extend_from_slice(&28u32.to_ne_bytes());
    want.extend_from_slice(&hex("00000000"));
    want.extend_from_slice(&[0; 4]);
    assert_eq!(call(&mut p, &u32s(&[25]), 24), want);
    let mut zero = u32s(&[16]);
    zero.extend_from_slice(&[0; 20]);
    assert_eq!(call(&mut p, &u32s(&[25]), 24), zero);
    // ACT_GET_SIGNALED(handle) → not signaled, then the ack.
    assert_eq!(call(&mut p, &u32s(&[26, 0x4000_0110]), 8), [0; 8]);
    // RESET (17): _TPM_Init again, no shutdown: Startup needed again.
    assert_eq!(call(&mut p, &u32s(&[17]), 4), [0; 4]);
    assert_eq!(rc(&send(&mut t, &hex(GET_RANDOM_16))), 0x100);
    assert_eq!(rc(&send(&mut t, &hex(STARTUP_CLEAR))), 0);
    // POWER_OFF: commands get empty responses until POWER_ON.
    assert_eq!(call(&mut p, &u32s(&[2]), 4), [0; 4]);
    assert_eq!(send(&mut t, &hex(GET_RANDOM_16)), Vec::<u8>::new());
    assert_eq!(call(&mut p, &u32s(&[1]), 4), [0; 4]);
    assert_eq!(rc(&send(&mut t, &hex(STARTUP_CLEAR))), 0);
    // Unknown code: u32 1 and the connection is closed; the port serves the next client.
    assert_eq!(call(&mut p, &u32s(&[99]), 4), u32s(&[1]));
    assert_closed(&mut p);
    let mut p = connect(v.port + 1);
    assert_eq!(call(&mut p, &u32s(&[11]), 4), [0; 4]);
    // SESSION_END: closed without a reply.
    p.write_all(&u32s(&[20])).unwrap();
    assert_closed(&mut p);
    drop(t);
}

#[test]
fn tpm_port_codes_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = start_mssim(dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let mut t = connect(v.port);
    // Started powered on with Startup done.
    assert_eq!(rc(&send(&mut t, &hex(GET_RANDOM_16))), 0);
    // REMOTE_HANDSHAKE(client version 1) → server version 1, raw mode | platform | PP, ack.
    assert_eq!(call(&mut t, &u32s(&[15, 1]), 12), u32s(&[1, 0x0D, 0]));
    assert_eq!(call(&mut t, &u32s(&[16, 7]), 4), [0; 4]);
    // _TPM_Hash_Start/Data/End: each acknowledged.
    assert_eq!(call(&mut t, &u32s(&[5]), 4), [0; 4]);
    let mut data = u32s(&[6, 3]);
    data.extend_from_slice(b"abc");
    assert_eq!(call(&mut t, &data, 4), [0; 4]);
    assert_eq!(call(&mut t, &u32s(&[7]), 4), [0; 4]);
    // A locality in SEND_COMMAND is applied: PCR 16 extend at locality 3 still works.
    let mut req = u32s(&[8]);
    req.push(3);
    let ext = pcr_extend(16, &[7; 32]);
    req.extend_from_slice(&(ext.len() as u32).to_be_bytes());
    req.extend_from_slice(&ext);
    t.write_all(&req).unwrap();
    let mut hdr = [0u8; 14];
    t.read_exact(&mut hdr).unwrap();
    assert_eq!(&hdr[..4], &[0, 0, 0, 19]);
    let mut rest = [0u8; 9 + 4];
    t.read_exact(&mut rest).unwrap();
    // Oversized payload: the connection is dropped without a reply.
    t.write_all(&u32s(&[8])).unwrap();
    t.write_all(&[0]).unwrap();
    t.write_all(&u32s(&[0x10_0000])).unwrap();
    assert_closed(&mut t);
    // Unknown TPM port code: closed without a reply.
    let mut t = connect(v.port);
    t.write_all(&u32s(&[99])).unwrap();
    assert_closed(&mut t);
    // SESSION_END on the TPM port: closed, next client served.
    let mut t = connect(v.port);
    t.write_all(&u32s(&[20])).unwrap();
    assert_closed(&mut t);
    let mut t = connect(v.port);
    assert_eq!(rc(&send(&mut t, &hex(GET_RANDOM_16))), 0);
    // STOP: the process exits cleanly.
    t.write_all(&u32s(&[21])).unwrap();
    assert!(v.wait_exit().success());
}

/// TPM2_PP_Commands(TPM_RH_PLATFORM, password session, empty setList and clearList).
const PP_COMMANDS: &str =
    "8002 00000023 0000012D 4000000C 00000009 40000009 0000 01 0000 00000000 00000000";

#[test]
fn physical_presence_signal_gates_pp_commands() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_mssim(dir.path(), &["--flags", "not-need-init,startup-clear"]);
    let mut p = connect(v.port + 1);
    let mut t = connect(v.port);
    // PP_Commands always needs physical presence: TPM_RC_PP on session 1 without it.
    assert_eq!(rc(&send(&mut t, &hex(PP_COMMANDS))), 0x990);
    // TPM_SIGNAL_PHYS_PRES_ON asserts it, _OFF withdraws it.
    assert_eq!(call(&mut p, &u32s(&[3]), 4), [0; 4]);
    assert_eq!(rc(&send(&mut t, &hex(PP_COMMANDS))), 0);
    assert_eq!(call(&mut p, &u32s(&[4]), 4), [0; 4]);
    assert_eq!(rc(&send(&mut t, &hex(PP_COMMANDS))), 0x990);
}

#[test]
fn platform_stop_exits_and_state_persists() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = start_mssim(dir.path(), &[]);
    let mut p = connect(v.port + 1);
    let mut t = connect(v.port);
    assert_eq!(call(&mut p, &u32s(&[1]), 4), [0; 4]);
    assert_eq!(rc(&send(&mut t, &hex(STARTUP_CLEAR))), 0);
    p.write_all(&u32s(&[21])).unwrap();
    assert!(v.wait_exit().success());
    assert!(state_file(dir.path()).exists());
    // swtpm's CMD_GET_CAPABILITY (1) on a swtpm port is POWER_ON here: explicit mode only.
    let v = start_mssim(dir.path(), &[]);
    let mut p = connect(v.port + 1);
    assert_eq!(call(&mut p, &u32s(&[1]), 4), [0; 4]);
}

fn have_mssim_tcti() -> bool {
    tpm2_tools_installed()
        && [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
        ]
        .iter()
        .any(|d| Path::new(d).join("libtss2-tcti-mssim.so.0").exists())
}

#[test]
fn tpm2_tools_over_mssim_tcti() {
    if !have_mssim_tcti() {
        eprintln!("SKIP: tpm2-tools or libtss2-tcti-mssim0 not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = start_mssim(dir.path(), &[]);
    let tcti = format!("mssim:host=127.0.0.1,port={}", v.port);
    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .env("TPM2TOOLS_TCTI", &tcti)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["tpm2_startup", "-c"]);
    let pcrs = String::from_utf8(run(&["tpm2_pcrread", "sha256:0"])).unwrap();
    assert!(
        pcrs.contains("0 : 0x0000000000000000000000000000000000000000000000000000000000000000"),
        "{pcrs}"
    );
    let r1 = run(&["tpm2_getrandom", "8"]);
    let r2 = run(&["tpm2_getrandom", "8"]);
    assert_eq!((r1.len(), r2.len()), (8, 8));
    assert_ne!(r1, r2);
    let zero = "0".repeat(64);
    run(&["tpm2_pcrextend", &format!("16:sha256={zero}")]);
    let pcrs = String::from_utf8(run(&["tpm2_pcrread", "sha256:16"])).unwrap();
    let want = hex_upper(&sha256(&[&[0; 32], &[0; 32]]));
    assert!(pcrs.contains(&want), "{pcrs} lacks {want}");
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
