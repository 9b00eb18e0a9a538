//! The control channel against the real binary: QEMU 7.2's start-up byte trace (reference
//! vtpm.md §2) with the data channel passed by SCM_RIGHTS, and request-shape tolerance.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::io::{IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;

fn send_datafd(ctrl_sock: &UnixStream, data: &UnixStream) {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = rustix::net::SendAncillaryBuffer::new(&mut space);
    let fds = [data.as_fd()];
    assert!(anc.push(rustix::net::SendAncillaryMessage::ScmRights(&fds)));
    let req = hex("00000010");
    rustix::net::sendmsg(
        ctrl_sock,
        &[IoSlice::new(&req)],
        &mut anc,
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
}

#[test]
fn qemu_startup_trace_over_unix_ctrl_with_datafd() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ctrl.sock");
    let args: Vec<String> = [
        "socket",
        "--tpmstate",
        &format!("dir={}", dir.path().display()),
        "--ctrl",
        &format!("type=unixio,path={}", sock.display()),
        "--tpm2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sock2 = sock.clone();
    let mut v = spawn(&args, move || UnixStream::connect(&sock2).is_ok());
    // The readiness probe connected once and left; QEMU's connection is the next one.
    let mut c = UnixStream::connect(&sock).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (mut data, theirs) = UnixStream::pair().unwrap();
    data.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();

    send_datafd(&c, &theirs);
    drop(theirs);
    let mut r = [0u8; 4];
    c.read_exact(&mut r).unwrap();
    assert_eq!(r, [0, 0, 0, 0]);
    // ReadClock before CMD_INIT: the pre-init fatal error.
    assert_eq!(
        transact(&mut data, &hex("8001 0000000A 00000181")),
        hex("8001 0000000A 00000101")
    );
    // GET_CAPABILITY: swtpm 0.7.1 says 0x0000FFFF; we also implement LOCK_STORAGE (0x10000).
    assert_eq!(ctrl(&mut c, &hex("00000001"), 8), hex("00000000 0001FFFF"));
    assert_eq!(ctrl(&mut c, &hex("0000000E"), 4), hex("00000000"));
    assert_eq!(
        ctrl(&mut c, &hex("00000011 00000000"), 16),
        hex("00000000 00001000 00000AF8 00001000")
    );
    assert_eq!(ctrl(&mut c, &hex("0000000E"), 4), hex("00000000"));
    assert_eq!(
        ctrl(&mut c, &hex("00000011 00001000"), 16),
        hex("00000000 00001000 00000AF8 00001000")
    );
    assert_eq!(ctrl(&mut c, &hex("00000002 00000000"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000004"), 8), hex("00000000 00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000005 00000000"), 4), hex("00000000"));
    // OVMF's TPM 1.2 probe, then Startup(CLEAR).
    assert_eq!(
        transact(&mut data, &hex("00C1 0000000A 000000F1")),
        hex("8001 0000000A 00000084")
    );
    assert_eq!(
        transact(&mut data, &hex(STARTUP_CLEAR)),
        hex("8001 0000000A 00000000")
    );
    // SET_BUFFERSIZE ≠ 0 while running is refused; a query is not.
    assert_eq!(ctrl(&mut c, &hex("00000011 00000800"), 4), hex("0000000A"));
    assert_eq!(
        ctrl(&mut c, &hex("00000011 00000000"), 16),
        hex("00000000 00001000 00000AF8 00001000")
    );
    // A second SET_DATAFD while one is in use.
    let (_d2, theirs2) = UnixStream::pair().unwrap();
    send_datafd(&c, &theirs2);
    c.read_exact(&mut r).unwrap();
    assert_eq!(r, [0, 0, 0, 0x1F], "TPM_IOERROR");
    // At VM exit.
    assert_eq!(ctrl(&mut c, &hex("00000003"), 4), hex("00000000"));
    assert!(v.wait_exit().success());
    let mode = std::fs::metadata(state_file(dir.path()))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .unwrap();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn request_shapes_and_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let v = start_tcp(dir.path(), &["--flags", "not-need-init"]);
    let mut c = connect(v.port + 1);
    // tcti-swtpm's short SET_LOCALITY and QEMU's padded one.
    assert_eq!(ctrl(&mut c, &hex("00000005 00"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000005 03000000"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000005 05"), 4), hex("0000003D"));
    // Unknown command.
    assert_eq!(ctrl(&mut c, &hex("000000FF"), 4), hex("0000000A"));
    // SET_DATAFD over TCP cannot carry an fd.
    assert_eq!(ctrl(&mut c, &hex("00000010"), 4), hex("00000003"));
    // GET_CONFIG.
    assert_eq!(ctrl(&mut c, &hex("0000000F"), 8), hex("00000000 00000000"));
    // GET_INFO(TPMSpecification): totlength counts the NUL.
    let spec = b"{\"TPMSpecification\":{\"family\":\"2.0\",\"level\":0,\"revision\":164}}\0";
    let r = ctrl(
        &mut c,
        &hex("00000012 00000000 00000001 00000000 00000000"),
        12 + spec.len(),
    );
    assert_eq!(&r[..4], &[0, 0, 0, 0]);
    assert_eq!(
        u32::from_be_bytes([r[4], r[5], r[6], r[7]]) as usize,
        spec.len()
    );
    assert_eq!(
        u32::from_be_bytes([r[8], r[9], r[10], r[11]]) as usize,
        spec.len()
    );
    assert_eq!(&r[12..], spec);
    // Offset past the end.
    assert_eq!(
        ctrl(
            &mut c,
            &hex("00000012 00000000 00000001 00001000 00000000"),
            4
        ),
        hex("00000003")
    );
    // LOCK_STORAGE.
    assert_eq!(ctrl(&mut c, &hex("00000013 0000000A"), 4), hex("00000000"));
    // GET_STATEBLOB(permanent): totlength == length, the whole blob in one reply.
    c.write_all(&hex("0000000C 00000000 00000001 00000000"))
        .unwrap();
    let mut h = [0u8; 16];
    c.read_exact(&mut h).unwrap();
    assert_eq!(&h[..8], &[0; 8]);
    let tot = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    assert_eq!(tot, u32::from_be_bytes([h[12], h[13], h[14], h[15]]));
    let mut blob = vec![0u8; tot as usize];
    c.read_exact(&mut blob).unwrap();
    assert!(!blob.is_empty());
    // SET_STATEBLOB while running: refused, and the body is consumed (channel stays in sync).
    let mut req = hex("0000000D 00000000 00000001");
    req.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    c.write_all(&req).unwrap();
    c.write_all(&blob).unwrap();
    let mut r = [0u8; 4];
    c.read_exact(&mut r).unwrap();
    assert_eq!(r, [0, 0, 0, 0x0A]);
    // STOP, then SET_STATEBLOB with header and body as two writes (QEMU), then INIT.
    assert_eq!(ctrl(&mut c, &hex("0000000E"), 4), hex("00000000"));
    assert_eq!(
        ctrl(&mut c, &hex("00000004"), 4),
        hex("0000000A"),
        "not running"
    );
    c.write_all(&req).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    c.write_all(&blob).unwrap();
    c.read_exact(&mut r).unwrap();
    assert_eq!(r, [0, 0, 0, 0]);
    // A garbage blob is refused.
    let mut bad = hex("0000000D 00000000 00000001 00000004");
    bad.extend_from_slice(b"junk");
    assert_eq!(ctrl(&mut c, &bad, 4), hex("00000009"));
    // Over the 512 KiB cap.
    assert_eq!(
        ctrl(&mut c, &hex("0000000D 00000000 00000001 00080001"), 4),
        hex("00000009")
    );
    let mut c = connect(v.port + 1);
    assert_eq!(ctrl(&mut c, &hex("00000002 00000001"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000004"), 8), hex("00000000 00000000"));
    // The TPM works after the round trip.
    let mut d = connect(v.port);
    assert_eq!(
        transact(&mut d, &hex(STARTUP_CLEAR)),
        hex("8001 0000000A 00000000")
    );
    assert_eq!(rc(&transact(&mut d, &hex(GET_RANDOM_16))), 0);
    // STORE_VOLATILE writes tpm2-00.volatile; CANCEL has nothing to cancel.
    assert_eq!(ctrl(&mut c, &hex("0000000A"), 4), hex("00000000"));
    assert!(dir.path().join("tpm2-00.volatile").exists());
    assert_eq!(ctrl(&mut c, &hex("00000009"), 4), hex("00000000"));
    // HASH_START/DATA/END (DRTM) then the established flag is set and resettable at locality 3.
    assert_eq!(ctrl(&mut c, &hex("00000006"), 4), hex("00000000"));
    assert_eq!(
        ctrl(&mut c, &hex("00000007 00000003 616263"), 4),
        hex("00000000")
    );
    assert_eq!(ctrl(&mut c, &hex("00000008"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000004"), 8), hex("00000000 01000000"));
    assert_eq!(ctrl(&mut c, &hex("0000000B 03"), 4), hex("00000000"));
    assert_eq!(ctrl(&mut c, &hex("00000004"), 8), hex("00000000 00000000"));
    drop(v);
}

#[test]
fn clientfd_ctrl_and_pid_file_and_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let port = port_pair();
    let pid = dir.path().join("pid");
    let st = dir.path().join("st");
    let out = std::process::Command::new(BIN)
        .args([
            "socket",
            "--tpm2",
            "--daemon",
            "--server",
            &format!("port={port}"),
            "--ctrl",
            &format!("type=tcp,port={}", port + 1),
            "--tpmstate",
            &format!("dir={}", st.display()),
            "--pid",
            &format!("file={}", pid.display()),
            "--flags",
            "not-need-init,startup-clear",
            "--log",
            &format!("file={},level=20", dir.path().join("log").display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Returned only once listening.
    let pidn: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Some(p) = rustix::process::Pid::from_raw(self.0) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
    }
    let _k = Kill(pidn);
    let mut d = connect(port);
    assert_eq!(
        rc(&transact(&mut d, &hex(GET_RANDOM_16))),
        0,
        "startup-clear was sent"
    );
    let mut c = connect(port + 1);
    assert_eq!(ctrl(&mut c, &hex("00000003"), 4), hex("00000000"));
    let t = std::time::Instant::now();
    while pid.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!pid.exists(), "pid file removed at exit");
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(
        log.contains("Ctrl Cmd:") && log.contains("SWTPM_IO_Read:"),
        "{log}"
    );
}
