//! Key, attestation and session operations side by side (reference vtpm.md §8: createek,
//! createak, quote): each server gets one persistent connection and its keys once, then every
//! operation runs in rounds that alternate between swtpm and tl-vtpm, so background load on the
//! shared machine hits both alike. Every response code is checked.

mod cmd;

use crate::{Server, Stream, connect, transact};
use std::time::{Duration, Instant};
use tpm_proto::object::TpmtPublic;

/// `userAuth` of the attestation keys: Quote runs with a password session carrying it.
const AK_AUTH: &[u8] = b"bench-ak";
/// Quote's `qualifyingData`.
const NONCE: [u8; 16] = [0xa5; 16];
/// Rounds per operation (alternating servers); the table shows the range over rounds.
const ROUNDS: usize = 3;

/// One server's connection and the keys created for the benchmark.
struct Client {
    name: &'static str,
    pid: u32,
    s: Box<dyn Stream>,
    buf: Vec<u8>,
    quote_ecc: Vec<u8>,
    quote_rsa: Vec<u8>,
    ek: Vec<u8>,
    create: Vec<u8>,
    sas: Vec<u8>,
    /// Transient keys to flush after the operation.
    loaded: Vec<u32>,
    /// `TPM_RC_RETRY` answers resent.
    retries: u64,
}

impl Client {
    fn new(name: &'static str, srv: &Server) -> Client {
        Client {
            name,
            pid: srv.child.id(),
            s: connect(&srv.data).expect("connect"),
            buf: vec![0; 8192],
            quote_ecc: Vec::new(),
            quote_rsa: Vec::new(),
            ek: cmd::create_primary(tpm_proto::TPM_RH_ENDORSEMENT, b"", &cmd::ek_rsa2048()),
            create: Vec::new(),
            sas: cmd::start_policy_session(),
            loaded: Vec::new(),
            retries: 0,
        }
    }

    /// Creates a primary under the owner hierarchy, kept until `flush_loaded`.
    fn primary(&mut self, auth: &[u8], template: &TpmtPublic, what: &str) -> u32 {
        let h = self.handle(
            &cmd::create_primary(tpm_proto::TPM_RH_OWNER, auth, template),
            what,
        );
        self.loaded.push(h);
        h
    }

    /// Flushes what `primary` created: libtpms has only 3 transient object slots.
    fn flush_loaded(&mut self) {
        for h in std::mem::take(&mut self.loaded) {
            self.run(&cmd::flush(h), "FlushContext key");
        }
    }

    /// Sends `cmd`, fails loudly on a non-zero response code. `TPM_RC_RETRY` is resent (as ESYS
    /// does; libtpms answers it on DA-protected authorizations, reference vtpm.md §7.3) and
    /// counted.
    fn run(&mut self, cmd: &[u8], what: &str) {
        let mut rc = transact(&mut *self.s, cmd, &mut self.buf);
        for _ in 0..10 {
            if rc != tpm_proto::TPM_RC_RETRY {
                break;
            }
            self.retries += 1;
            rc = transact(&mut *self.s, cmd, &mut self.buf);
        }
        assert_eq!(rc, 0, "{}: {what} failed: rc {rc:#x}", self.name);
    }

    /// Sends `cmd` and returns the handle of its response.
    fn handle(&mut self, cmd: &[u8], what: &str) -> u32 {
        self.run(cmd, what);
        cmd::response_handle(&self.buf)
    }

    /// Server CPU time (all threads) from `/proc/<pid>/task/*/schedstat`, nanoseconds.
    fn cpu_ns(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return 0;
        };
        tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }
}

/// One benchmarked operation: returns the time that counts (untimed clean-up excluded).
struct Op {
    name: &'static str,
    /// Iterations at the default N = 10000 (scaled with N).
    n: usize,
    /// Creates the keys `step` uses (untimed).
    setup: fn(&mut Client),
    step: fn(&mut Client) -> Duration,
}

fn timed(c: &mut Client, f: impl FnOnce(&mut Client)) -> Duration {
    let t = Instant::now();
    f(c);
    t.elapsed()
}

fn ops() -> [Op; 5] {
    [
        Op {
            name: "Quote ECC P-256 (PW)",
            n: 600,
            setup: |c| {
                let ak = c.primary(AK_AUTH, &cmd::ak(true), "CreatePrimary AK ECC");
                c.quote_ecc = cmd::quote(ak, AK_AUTH, &NONCE);
            },
            step: |c| timed(c, |c| c.run(&c.quote_ecc.clone(), "Quote ECC")),
        },
        Op {
            name: "Quote RSA-2048 (PW)",
            n: 300,
            setup: |c| {
                let ak = c.primary(AK_AUTH, &cmd::ak(false), "CreatePrimary AK RSA");
                c.quote_rsa = cmd::quote(ak, AK_AUTH, &NONCE);
            },
            step: |c| timed(c, |c| c.run(&c.quote_rsa.clone(), "Quote RSA")),
        },
        Op {
            name: "CreatePrimary EK RSA [1]",
            n: 30,
            setup: |_| {},
            step: |c| {
                let ek = c.ek.clone();
                let t = Instant::now();
                let h = c.handle(&ek, "CreatePrimary EK");
                let d = t.elapsed();
                c.run(&cmd::flush(h), "FlushContext EK");
                d
            },
        },
        Op {
            name: "Create ECC P-256",
            n: 600,
            setup: |c| {
                let srk = c.primary(b"", &cmd::srk_ecc(), "CreatePrimary SRK");
                c.create = cmd::create(srk, b"", &cmd::child_ecc());
            },
            step: |c| timed(c, |c| c.run(&c.create.clone(), "Create ECC")),
        },
        Op {
            name: "SAS+PolicySecret+FC [2]",
            n: 3000,
            setup: |_| {},
            step: |c| {
                timed(c, |c| {
                    let sas = c.sas.clone();
                    let h = c.handle(&sas, "StartAuthSession");
                    c.run(&cmd::policy_secret_endorsement(h), "PolicySecret");
                    c.run(&cmd::flush(h), "FlushContext session");
                })
            },
        },
    ]
}

/// Totals of one operation on one server.
#[derive(Default)]
struct Tally {
    n: usize,
    time: Duration,
    cpu_ns: u64,
    rounds: Vec<f64>,
}

impl Tally {
    fn add(&mut self, c: &mut Client, op: &Op, n: usize) {
        let cpu0 = c.cpu_ns();
        let time: Duration = (0..n).map(|_| (op.step)(c)).sum();
        self.cpu_ns += c.cpu_ns().saturating_sub(cpu0);
        self.n += n;
        self.time += time;
        self.rounds.push(n as f64 / time.as_secs_f64());
    }

    fn ops_per_s(&self) -> f64 {
        self.n as f64 / self.time.as_secs_f64()
    }

    fn range(&self) -> String {
        let lo = self.rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.rounds.iter().copied().fold(0.0, f64::max);
        format!(
            "{:.0} ({}–{})",
            self.ops_per_s(),
            fmt_rate(lo),
            fmt_rate(hi)
        )
    }

    fn cpu_per_op(&self) -> String {
        let us = self.cpu_ns as f64 / 1000.0 / self.n as f64;
        if us >= 1000.0 {
            format!("{:.2} ms", us / 1000.0)
        } else {
            format!("{us:.0} µs")
        }
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Runs the key/session table over `chan` (servers already started); `n` is the raw-table N.
pub fn table(chan: &str, theirs: Option<&Server>, ours: &Server, n: usize) {
    let mut them = theirs.map(|s| Client::new("swtpm", s));
    let mut us = Client::new("tl-vtpm", ours);
    println!();
    println!(
        "keys, attestation, sessions over {chan}; ops/s total (min–max of {ROUNDS} rounds \
         alternating servers); CPU = server time per op (schedstat), CPU x = swtpm/tl-vtpm"
    );
    println!(
        "{:<26} {:>5} {:>20} {:>20} {:>7} {:>10} {:>10} {:>7}",
        "operation", "n", "swtpm ops/s", "tl-vtpm ops/s", "ratio", "swtpm CPU", "tl CPU", "CPU x"
    );
    let mut first_ek = (None, Duration::ZERO);
    for op in ops() {
        let total = (op.n * n / 10000).max(ROUNDS);
        let per_round = total.div_ceil(ROUNDS);
        let (mut a, mut b) = (Tally::default(), Tally::default());
        if let Some(c) = them.as_mut() {
            (op.setup)(c);
        }
        (op.setup)(&mut us);
        // Warm-up (also the first, uncached, EK CreatePrimary with this template).
        let d = them.as_mut().map(|c| (op.step)(c));
        let e = (op.step)(&mut us);
        if op.name.starts_with("CreatePrimary EK") {
            first_ek = (d, e);
        }
        let retries = (them.as_ref().map_or(0, |c| c.retries), us.retries);
        for _ in 0..ROUNDS {
            if let Some(c) = them.as_mut() {
                a.add(c, &op, per_round);
            }
            b.add(&mut us, &op, per_round);
        }
        let retried = (
            them.as_ref().map_or(0, |c| c.retries) - retries.0,
            us.retries - retries.1,
        );
        let (a_s, r_s, a_cpu, cpu_r) = if them.is_some() {
            (
                a.range(),
                format!("{:.2}x", b.ops_per_s() / a.ops_per_s()),
                a.cpu_per_op(),
                format!("{:.2}x", a.cpu_ns as f64 / b.cpu_ns.max(1) as f64),
            )
        } else {
            ("-".into(), "-".into(), "-".into(), "-".into())
        };
        println!(
            "{:<26} {:>5} {a_s:>20} {:>20} {r_s:>7} {a_cpu:>10} {:>10} {cpu_r:>7}",
            op.name,
            b.n,
            b.range(),
            b.cpu_per_op()
        );
        if let Some(c) = them.as_mut() {
            c.flush_loaded();
        }
        us.flush_loaded();
        if retried != (0, 0) {
            println!(
                "{:<26} TPM_RC_RETRY resent: swtpm {}, tl-vtpm {} (time and CPU included)",
                "", retried.0, retried.1
            );
        }
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "[1] TCG EK template L-1 under TPM_RH_ENDORSEMENT, 2nd and later calls; FlushContext after \
         each, untimed (in CPU). First call: swtpm {}, tl-vtpm {}",
        first_ek.0.map_or("-".into(), ms),
        ms(first_ek.1)
    );
    println!(
        "[2] StartAuthSession(POLICY, unsalted, unbound, sym NULL) + PolicySecret(TPM_RH_ENDORSEMENT, \
         PW) + FlushContext: one op = 3 commands"
    );
    println!(
        "TPM_RC_RETRY answers resent (setup, warm-up and timed): swtpm {}, tl-vtpm {}",
        them.as_ref().map_or(0, |c| c.retries),
        us.retries
    );
    println!(
        "Quote: restricted signing primary (owner), sha256 PCRs 0-7, 16-byte qualifyingData; \
         Create: under an ECC P-256 storage primary"
    );
}
