//! Event-log parse + replay throughput on a ~50 KB crypto-agile log assembled from the real
//! tpm2-tools fixtures, next to `tpm2_eventlog` (the peer) on the same file when installed.
//! Run: `cargo bench -p tl-boot --bench replay`. Goal: ≥ 50 MB/s for parse + replay.

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boot::eventlog::{EventLog, TpmAlgId};

const TARGET: usize = 50 * 1024;

/// Events of the sha1+sha256 fixtures, repeated until the log is ~50 KB.
fn build_log() -> Vec<u8> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eventlogs/tpm2-tools");
    let banks = [TpmAlgId::SHA1, TpmAlgId::SHA256];
    let mut sources = Vec::new();
    for name in [
        "event-arch-linux.bin",
        "event-bootorder.bin",
        "event-postcode.bin",
    ] {
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (fixtures are in shared/)", path.display()));
        let log = EventLog::parse(&bytes).expect("fixture parses");
        assert_eq!(log.banks(), banks);
        sources.extend(log.events);
    }
    let mut log = EventLog::new(&banks);
    let mut size = 0;
    for e in sources.iter().cycle() {
        if size >= TARGET {
            break;
        }
        size += 16 + 2 + 20 + 2 + 32 + e.event.len();
        log.events.push(e.clone());
    }
    log.write().expect("assembled log writes")
}

fn measure(min: Duration, mut f: impl FnMut()) -> (u32, Duration) {
    f();
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < min {
        f();
        n += 1;
    }
    (n, start.elapsed())
}

fn mbps(bytes: usize, n: u32, t: Duration) -> f64 {
    bytes as f64 * f64::from(n) / t.as_secs_f64() / 1e6
}

fn main() {
    let log = build_log();
    let events = EventLog::parse(&log).expect("parses").events.len();
    println!("log: {} bytes, {events} events (sha1 + sha256)", log.len());

    let (n, t) = measure(Duration::from_secs(2), || {
        black_box(EventLog::parse(black_box(&log)).expect("parses"));
    });
    println!(
        "parse:          {:8.1} MB/s  ({n} runs)",
        mbps(log.len(), n, t)
    );

    let (n, t) = measure(Duration::from_secs(2), || {
        let parsed = EventLog::parse(black_box(&log)).expect("parses");
        black_box(parsed.replay());
    });
    let ours = mbps(log.len(), n, t);
    println!("parse + replay: {ours:8.1} MB/s  ({n} runs)  goal >= 50");

    let (n, t) = measure(Duration::from_secs(2), || {
        let parsed = EventLog::parse(black_box(&log)).expect("parses");
        black_box(parsed.check_digests());
    });
    println!(
        "parse + digest checks: {:8.1} MB/s  ({n} runs)",
        mbps(log.len(), n, t)
    );

    // The peer: tpm2_eventlog parses, replays and prints YAML; its time includes process start.
    let file = std::env::temp_dir().join(format!("tl-replay-bench-{}.bin", std::process::id()));
    std::fs::write(&file, &log).expect("temp file");
    let peer = || {
        Command::new("tpm2_eventlog")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    match peer() {
        Ok(s) if s.success() => {
            let (n, t) = measure(Duration::from_secs(2), || {
                let _ = peer();
            });
            let theirs = mbps(log.len(), n, t);
            println!(
                "tpm2_eventlog:  {theirs:8.1} MB/s  ({n} runs, incl. process start and YAML output)"
            );
            println!("ratio ours/tpm2_eventlog: {:.1}x", ours / theirs);
        }
        Ok(s) => println!("tpm2_eventlog rejected the assembled log ({s}); no peer figure"),
        Err(e) => println!("tpm2_eventlog not available ({e}); no peer figure"),
    }
    let _ = std::fs::remove_file(&file);
}
