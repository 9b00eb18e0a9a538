//! Raw-protocol throughput, tl-vtpm vs swtpm side by side (reference vtpm.md §8).
//!
//! `cargo bench -p vtpm --bench throughput [-- N]`: both servers start with the same options;
//! one persistent TCP connection each (TCP_NODELAY), N timed commands per operation after a
//! warm-up. Prints ops/s for both and the ratio.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_pair() -> u16 {
    let base = 30000 + (std::process::id() % 1000) as u16 * 20;
    (base..base + 2000)
        .step_by(2)
        .find(|&p| {
            std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok()
        })
        .expect("free ports")
}

fn start(bin: &str, port: u16) -> Option<Server> {
    let dir = tempfile::tempdir().ok()?;
    let child = Command::new(bin)
        .args([
            "socket",
            "--tpm2",
            "--server",
            &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            "--ctrl",
            &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
            "--tpmstate",
            &format!("dir={}", dir.path().display()),
            "--flags",
            "not-need-init,startup-clear",
        ])
        .stdin(Stdio::null())
        .spawn()
        .ok()?;
    let s = Server {
        child,
        port,
        _dir: dir,
    };
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port + 1)).is_err() {
        if t.elapsed() > Duration::from_secs(20) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(s)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn ops() -> Vec<(&'static str, Vec<u8>)> {
    let mut extend =
        hex("8002 00000041 00000182 00000010 00000009 40000009 0000 00 0000 00000001 000B");
    extend.extend_from_slice(&[0x11; 32]);
    let read = hex("8001 00000014 0000017E 00000001 000B 03 FF0000");
    let random = hex("8001 0000000C 0000017B 0020");
    let mut hash = hex("8001 00000412 0000017D 0400");
    hash.extend((0..1024u32).map(|i| i as u8));
    hash.extend_from_slice(&hex("000B 40000007"));
    assert_eq!(hash.len(), 0x412);
    vec![
        ("PCR_Extend(sha256, PW)", extend),
        ("PCR_Read(sha256 0-7)", read),
        ("GetRandom(32)", random),
        ("Hash(1 KiB, sha256)", hash),
    ]
}

fn transact(s: &mut TcpStream, cmd: &[u8], buf: &mut [u8]) -> u32 {
    s.write_all(cmd).expect("write");
    s.read_exact(&mut buf[..10]).expect("read header");
    let size = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
    s.read_exact(&mut buf[10..size]).expect("read body");
    u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]])
}

/// utime + stime of a process in seconds (`/proc/<pid>/stat`, clock ticks of 10 ms).
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields after ")": state is index 0, utime 11, stime 12
    (t(11) + t(12)) / 100.0
}

fn measure(port: u16, cmd: &[u8], n: usize) -> f64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = vec![0u8; 8192];
    for _ in 0..n.min(500) {
        let rc = transact(&mut s, cmd, &mut buf);
        assert_eq!(rc, 0, "command failed: rc {rc:#x}");
    }
    let t = Instant::now();
    for _ in 0..n {
        transact(&mut s, cmd, &mut buf);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// The IPC floor: a trivial in-process server doing what any server must per command (wait for
/// the socket, read the frame, write a 10-byte answer), so the ratios can be read against it.
fn floor_server() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let _ = s.set_nodelay(true);
            let mut buf = vec![0u8; 8192];
            let mut filled = 0;
            loop {
                match s.read(&mut buf[filled..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => filled += n,
                }
                while filled >= 10 {
                    let size = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
                    if filled < size {
                        break;
                    }
                    let _ = s.write_all(&[0x80, 1, 0, 0, 0, 10, 0, 0, 0, 0]);
                    buf.copy_within(size..filled, 0);
                    filled -= size;
                }
            }
        }
    });
    port
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10000);
    let ours = env!("CARGO_BIN_EXE_tl-vtpm");
    let theirs = start("swtpm", free_pair());
    if theirs.is_none() {
        println!("swtpm not found or did not start: printing tl-vtpm figures only");
    }
    let us = start(ours, free_pair()).expect("tl-vtpm did not start");
    println!("raw TCP, one persistent connection, TCP_NODELAY, N = {n} per op");
    let floor = floor_server();
    println!(
        "{:<26} {:>14} {:>14} {:>8} {:>16}",
        "operation", "swtpm ops/s", "tl-vtpm ops/s", "ratio", "IPC floor ops/s"
    );
    let cpu0 = (
        theirs.as_ref().map(|s| cpu_secs(s.child.id())),
        cpu_secs(us.child.id()),
    );
    let mut total = 0;
    for (name, cmd) in ops() {
        let a = theirs.as_ref().map(|s| measure(s.port, &cmd, n));
        let b = measure(us.port, &cmd, n);
        total += n + n.min(500);
        let f = measure(floor, &cmd, n);
        match a {
            Some(a) => println!("{name:<26} {a:>14.0} {b:>14.0} {:>7.2}x {f:>16.0}", b / a),
            None => println!("{name:<26} {:>14} {b:>14.0} {:>8} {f:>16.0}", "-", "-"),
        }
    }
    let per_op = |c0: f64, c1: f64| (c1 - c0) * 1e6 / total as f64;
    let ours_cpu = per_op(cpu0.1, cpu_secs(us.child.id()));
    match (&theirs, cpu0.0) {
        (Some(t), Some(c0)) => {
            let theirs_cpu = per_op(c0, cpu_secs(t.child.id()));
            println!(
                "server CPU per command (utime+stime, all ops): swtpm {theirs_cpu:.1} µs, tl-vtpm {ours_cpu:.1} µs, ratio {:.2}x",
                theirs_cpu / ours_cpu
            );
        }
        _ => println!("server CPU per command: tl-vtpm {ours_cpu:.1} µs"),
    }
}
