//! Shared helpers: start the real `tl-vtpm`, talk raw bytes to it, kill it on drop.
#![allow(dead_code)] // each test binary uses only some of these helpers

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tl-vtpm");

/// A running tl-vtpm, killed on drop.
pub struct Vtpm {
    pub child: Option<Child>,
    pub port: u16,
}

impl Drop for Vtpm {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Vtpm {
    /// Waits (≤ 10 s) for the process to exit and returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let c = self.child.as_mut().expect("running");
        let t = Instant::now();
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                self.child = None;
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "tl-vtpm did not exit"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Two consecutive free loopback ports P, P+1 (tcti-swtpm needs the pair).
pub fn port_pair() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20000 + (std::process::id() % 2000) as u16 * 16;
    loop {
        let p = base + NEXT.fetch_add(2, Ordering::SeqCst) % 16000;
        let a = std::net::TcpListener::bind(("127.0.0.1", p));
        let b = std::net::TcpListener::bind(("127.0.0.1", p + 1));
        if a.is_ok() && b.is_ok() {
            return p;
        }
    }
}

/// Spawns `tl-vtpm <args>` and waits until `ready` is true.
pub fn spawn(args: &[String], ready: impl Fn() -> bool) -> Vtpm {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tl-vtpm");
    let mut v = Vtpm {
        child: Some(child),
        port: 0,
    };
    let t = Instant::now();
    while !ready() {
        if let Some(s) = v.child.as_mut().unwrap().try_wait().unwrap() {
            let mut e = String::new();
            v.child
                .as_mut()
                .unwrap()
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut e)
                .unwrap();
            v.child = None;
            panic!("tl-vtpm exited early ({s}): {e}");
        }
        assert!(t.elapsed() < Duration::from_secs(20), "tl-vtpm not ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    v
}

/// Starts tl-vtpm on TCP P (data) and P+1 (ctrl) with `extra` options.
pub fn start_tcp(dir: &Path, extra: &[&str]) -> Vtpm {
    let port = port_pair();
    let mut args: Vec<String> = [
        "socket",
        "--tpm2",
        "--server",
        &format!("type=tcp,port={port}"),
        "--ctrl",
        &format!("type=tcp,port={}", port + 1),
        "--tpmstate",
        &format!("dir={}", dir.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut v = spawn(&args, || {
        TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
    });
    v.port = port;
    v
}

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Sends one TPM command, reads one response (by its size field).
pub fn transact(s: &mut (impl Read + Write), cmd: &[u8]) -> Vec<u8> {
    s.write_all(cmd).unwrap();
    read_response(s)
}

pub fn read_response(s: &mut impl Read) -> Vec<u8> {
    let mut h = [0u8; 10];
    s.read_exact(&mut h).unwrap();
    let size = u32::from_be_bytes([h[2], h[3], h[4], h[5]]) as usize;
    let mut r = h.to_vec();
    r.resize(size.max(10), 0);
    s.read_exact(&mut r[10..]).unwrap();
    r
}

/// Sends a control request, reads exactly `reply_len` bytes.
pub fn ctrl(s: &mut (impl Read + Write), req: &[u8], reply_len: usize) -> Vec<u8> {
    s.write_all(req).unwrap();
    let mut r = vec![0u8; reply_len];
    s.read_exact(&mut r).unwrap();
    r
}

pub fn rc(rsp: &[u8]) -> u32 {
    u32::from_be_bytes([rsp[6], rsp[7], rsp[8], rsp[9]])
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub const STARTUP_CLEAR: &str = "8001 0000000C 00000144 0000";
pub const STARTUP_STATE: &str = "8001 0000000C 00000144 0001";
pub const GET_RANDOM_16: &str = "8001 0000000C 0000017B 0010";

/// TPM2_PCR_Extend(pcr, sha256 = digest) with a password session.
pub fn pcr_extend(pcr: u32, digest: &[u8; 32]) -> Vec<u8> {
    let mut c = hex("8002 00000041 00000182");
    c.extend_from_slice(&pcr.to_be_bytes());
    c.extend_from_slice(&hex("00000009 40000009 0000 00 0000 00000001 000B"));
    c.extend_from_slice(digest);
    assert_eq!(c.len(), 0x41);
    c
}

/// TPM2_PCR_Read(sha256, one PCR < 24).
pub fn pcr_read(pcr: u32) -> Vec<u8> {
    let mut sel = [0u8; 3];
    sel[(pcr / 8) as usize] = 1 << (pcr % 8);
    let mut c = hex("8001 00000014 0000017E 00000001 000B 03");
    c.extend_from_slice(&sel);
    c
}

/// The single sha256 digest of a PCR_Read response.
pub fn pcr_value(rsp: &[u8]) -> Vec<u8> {
    assert_eq!(rc(rsp), 0, "PCR_Read failed: {rsp:02x?}");
    // header 10, updateCounter 4, TPML_PCR_SELECTION 10, TPML_DIGEST count 4, TPM2B size 2
    assert_eq!(&rsp[28..30], &[0, 32]);
    rsp[30..62].to_vec()
}

pub fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut c = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for p in parts {
        c.update(p);
    }
    c.finish().as_ref().to_vec()
}

pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("tpm2-00.permall")
}

/// Whether Debian's tpm2-tools are on PATH (probed with `tpm2_startup --version`).
pub fn tpm2_tools_installed() -> bool {
    Command::new("tpm2_startup")
        .arg("--version")
        .output()
        .is_ok()
}

/// [`tpm2_tools_installed`], saying why the calling test skips when they are not.
pub fn have_tools() -> bool {
    let ok = tpm2_tools_installed();
    if !ok {
        println!(
            "SKIPPED: tpm2_startup not found (apt-get install tpm2-tools libtss2-tcti-swtpm0)"
        );
    }
    ok
}

/// Runs tpm2-tools against one TCTI, in `dir` when given (tools write their output files there).
pub struct Tools<'a> {
    pub tcti: String,
    pub dir: Option<&'a Path>,
}

impl<'a> Tools<'a> {
    /// Tools for the `tcti-swtpm` of `v`, working in `dir`.
    pub fn swtpm(v: &Vtpm, dir: Option<&'a Path>) -> Self {
        Tools {
            tcti: format!("swtpm:host=127.0.0.1,port={}", v.port),
            dir,
        }
    }

    /// Runs `args[0] args[1..]`, whatever its exit status.
    pub fn raw(&self, args: &[&str]) -> Output {
        let mut c = Command::new(args[0]);
        c.args(&args[1..])
            .env("TPM2TOOLS_TCTI", &self.tcti)
            .env_remove("TPM2TOOLS_ENABLE_ERRATA");
        if let Some(d) = self.dir {
            c.current_dir(d);
        }
        c.output()
            .unwrap_or_else(|e| panic!("{}: {e} (tpm2-tools installed only partly?)", args[0]))
    }

    /// Runs a tool that must succeed; returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.raw(args);
        assert!(
            out.status.success(),
            "{:?} failed ({}):\nstdout: {}\nstderr: {}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a tool that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.raw(args);
        assert!(!out.status.success(), "{args:?} unexpectedly succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Transient objects are not flushed by the tools (no resource manager), as with swtpm.
    pub fn flush(&self) {
        self.run(&["tpm2_flushcontext", "-t"]);
    }

    /// A file the tools wrote in `dir`.
    pub fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.dir.expect("Tools without a dir").join(f)).unwrap()
    }
}

/// A running swtpm (the reference implementation, Debian package `swtpm`), killed on drop.
pub struct Swtpm {
    child: Child,
    /// Its data port (the control port is the next one).
    pub port: u16,
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether swtpm is on PATH; says SKIPPED when it is not.
pub fn swtpm_installed() -> bool {
    let ok = Command::new("swtpm").arg("--version").output().is_ok();
    if !ok {
        println!("SKIPPED: swtpm not found (apt-get install swtpm)");
    }
    ok
}

/// Starts `swtpm socket --tpm2` on loopback with state in `dir`, already started (CLEAR), and
/// waits for its control port.
pub fn start_swtpm(dir: &Path) -> Swtpm {
    let port = port_pair();
    let child = Command::new("swtpm")
        .args([
            "socket",
            "--tpm2",
            "--server",
            &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            "--ctrl",
            &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
            "--tpmstate",
            &format!("dir={}", dir.display()),
            "--flags",
            "not-need-init,startup-clear",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn swtpm");
    let mut s = Swtpm { child, port };
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port + 1)).is_err() {
        assert!(s.child.try_wait().unwrap().is_none(), "swtpm exited early");
        assert!(t.elapsed() < Duration::from_secs(20), "swtpm not ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    s
}
