//! Parses arbitrary bytes as a TCG event log; whatever parses must write back byte-identical,
//! and replay, digest checks and event decoding must not panic.
#![no_main]

use boot::eventlog::EventLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(log) = EventLog::parse(data) else {
        return;
    };
    let written = log.write().expect("a parsed log writes");
    assert_eq!(written, data, "parse → write is byte-identical");
    let _ = log.replay();
    let _ = log.check_digests();
    for e in &log.events {
        let _ = e.decode(log.uintn_bytes());
    }
});
