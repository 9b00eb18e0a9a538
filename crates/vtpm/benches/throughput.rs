//! Raw-protocol throughput, tl-vtpm vs swtpm side by side (reference vtpm.md §8).
//!
//! `cargo bench -p vtpm --bench throughput [-- N]`: both servers start with the same options;
//! one persistent connection each (TCP with TCP_NODELAY, then a Unix socket: QEMU's data path is
//! a Unix socketpair), strict ping-pong (no pipelining), N timed commands per operation after a
//! warm-up. Prints ops/s for both and the ratio, and the server CPU (utime+stime from /proc) per
//! command. The "floor" is a trivial in-process echo server doing only what any server must
//! (read a frame, write a 10-byte answer): no TPM server can be faster than it on ping-pong.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone)]
enum Addr {
    Tcp(u16),
    Unix(PathBuf),
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(a: &Addr) -> std::io::Result<Box<dyn Stream>> {
    Ok(match a {
        Addr::Tcp(p) => {
            let s = TcpStream::connect(("127.0.0.1", *p))?;
            s.set_nodelay(true)?;
            Box::new(s)
        }
        Addr::Unix(p) => Box::new(UnixStream::connect(p)?),
    })
}

struct Server {
    child: Child,
    data: Addr,
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

fn start(bin: &str, unix: bool) -> Option<Server> {
    let dir = tempfile::tempdir().ok()?;
    let state = dir.path().join("state");
    std::fs::create_dir(&state).ok()?;
    let (server, ctrl, data, probe) = if unix {
        let d = dir.path().join("data.sock");
        let c = dir.path().join("ctrl.sock");
        (
            format!("type=unixio,path={}", d.display()),
            format!("type=unixio,path={}", c.display()),
            Addr::Unix(d),
            Addr::Unix(c),
        )
    } else {
        let port = free_pair();
        (
            format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
            Addr::Tcp(port),
            Addr::Tcp(port + 1),
        )
    };
    let child = Command::new(bin)
        .args(["socket", "--tpm2", "--server", &server, "--ctrl", &ctrl])
        .arg("--tpmstate")
        .arg(format!("dir={}", state.display()))
        .args(["--flags", "not-need-init,startup-clear"])
        .stdin(Stdio::null())
        // swtpm reports every client disconnect on stderr.
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let s = Server {
        child,
        data,
        _dir: dir,
    };
    let t = Instant::now();
    while connect(&probe).is_err() {
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

fn transact(s: &mut dyn Stream, cmd: &[u8], buf: &mut [u8]) -> u32 {
    s.write_all(cmd).expect("write");
    s.read_exact(&mut buf[..10]).expect("read header");
    let size = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]) as usize;
    s.read_exact(&mut buf[10..size]).expect("read body");
    u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]])
}

/// utime + stime in clock ticks (10 ms) from a `/proc/…/stat` file.
fn cpu_ticks(stat: &str) -> u64 {
    let s = std::fs::read_to_string(stat).unwrap_or_default();
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // fields after ")": state is index 0, utime 11, stime 12
    t(11) + t(12)
}

fn proc_ticks(pid: u32) -> u64 {
    cpu_ticks(&format!("/proc/{pid}/stat"))
}

/// Warm-up, then N timed commands; returns ops/s.
fn measure(a: &Addr, cmd: &[u8], n: usize) -> f64 {
    let mut s = connect(a).expect("connect");
    let mut buf = vec![0u8; 8192];
    for _ in 0..n.min(500) {
        let rc = transact(&mut *s, cmd, &mut buf);
        assert_eq!(rc, 0, "command failed: rc {rc:#x}");
    }
    let t = Instant::now();
    for _ in 0..n {
        transact(&mut *s, cmd, &mut buf);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// The floor server: reads frames, answers each with a 10-byte success, one `read` and one
/// `write` per command. Adds its own CPU ticks to `ticks` after each connection.
fn floor_serve(mut s: impl Read + Write, ticks: &AtomicU64) {
    let t0 = cpu_ticks("/proc/thread-self/stat");
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
    ticks.fetch_add(
        cpu_ticks("/proc/thread-self/stat").saturating_sub(t0),
        Ordering::SeqCst,
    );
}

fn floor_server(unix_dir: &Path, unix: bool, ticks: Arc<AtomicU64>) -> Addr {
    if unix {
        let p = unix_dir.join("floor.sock");
        let l = UnixListener::bind(&p).expect("bind");
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                floor_serve(s, &ticks);
            }
        });
        Addr::Unix(p)
    } else {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let _ = s.set_nodelay(true);
                floor_serve(s, &ticks);
            }
        });
        Addr::Tcp(port)
    }
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10000);
    let ours = env!("CARGO_BIN_EXE_tl-vtpm");
    let tmp = tempfile::tempdir().expect("tempdir");
    println!(
        "ping-pong, one persistent connection, N = {n} per op; CPU = server utime+stime per command"
    );
    println!(
        "{:<5} {:<24} {:>12} {:>12} {:>7} {:>12} {:>7}",
        "chan", "operation", "swtpm", "tl-vtpm", "ratio", "echo floor", "/floor"
    );
    for unix in [false, true] {
        let chan = if unix { "unix" } else { "tcp" };
        let theirs = start("swtpm", unix);
        if theirs.is_none() {
            println!("swtpm not found or did not start: tl-vtpm figures only");
        }
        let us = start(ours, unix).expect("tl-vtpm did not start");
        let floor_ticks = Arc::new(AtomicU64::new(0));
        let floor = floor_server(tmp.path(), unix, floor_ticks.clone());
        let c0 = (
            theirs.as_ref().map(|s| proc_ticks(s.child.id())),
            proc_ticks(us.child.id()),
        );
        let mut total = 0;
        for (name, cmd) in ops() {
            let a = theirs.as_ref().map(|s| measure(&s.data, &cmd, n));
            let b = measure(&us.data, &cmd, n);
            let f = measure(&floor, &cmd, n);
            total += n + n.min(500);
            let a_s = a.map_or("-".into(), |a| format!("{a:.0}"));
            let r_s = a.map_or("-".into(), |a| format!("{:.2}x", b / a));
            println!(
                "{chan:<5} {name:<24} {a_s:>12} {b:>12.0} {r_s:>7} {f:>12.0} {:>6.2}x",
                b / f
            );
        }
        // Let the floor thread account its last connection.
        std::thread::sleep(Duration::from_millis(50));
        let us_per = |t: u64| t as f64 * 10_000.0 / total as f64;
        let ours_cpu = us_per(proc_ticks(us.child.id()) - c0.1);
        let floor_cpu = us_per(floor_ticks.load(Ordering::SeqCst));
        let theirs_cpu = theirs
            .as_ref()
            .zip(c0.0)
            .map(|(t, c)| us_per(proc_ticks(t.child.id()) - c));
        let a_s = theirs_cpu.map_or("-".into(), |a| format!("{a:.1} µs"));
        let r_s = theirs_cpu.map_or("-".into(), |a| format!("{:.2}x", a / ours_cpu));
        println!(
            "{chan:<5} {:<24} {a_s:>12} {:>12} {r_s:>7} {:>12} {:>6.2}x",
            "CPU/command (lower wins)",
            format!("{ours_cpu:.1} µs"),
            format!("{floor_cpu:.1} µs"),
            ours_cpu / floor_cpu
        );
    }
}
