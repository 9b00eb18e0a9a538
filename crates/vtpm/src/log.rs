//! `--log file=|fd=,level=,prefix=,truncate`: readable lines; level ≥ 20 dumps commands and
//! responses in hex like swtpm's `SWTPM_PrintAll`.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Level from which every command and response is dumped.
pub const DUMP_LEVEL: u32 = 20;

struct Logger {
    out: Option<Mutex<File>>,
    level: u32,
    prefix: String,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the logger; `out == None` writes errors (level 0) to stderr only.
pub fn init(out: Option<File>, level: u32, prefix: String) {
    let _ = LOGGER.set(Logger {
        out: out.map(Mutex::new),
        level,
        prefix,
    });
}

/// True if messages at `level` are written.
pub fn enabled(level: u32) -> bool {
    match LOGGER.get() {
        Some(l) if l.out.is_some() => l.level >= level,
        _ => level == 0,
    }
}

/// Writes one line at `level` (0 = error, also to stderr when no log is set).
pub fn line(level: u32, msg: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    match LOGGER.get().and_then(|l| l.out.as_ref().map(|o| (l, o))) {
        Some((l, out)) => {
            if let Ok(mut f) = out.lock() {
                let _ = writeln!(f, "{}{}", l.prefix, msg);
            }
        }
        None => eprintln!("tl-vtpm: {msg}"),
    }
}

/// Hex dump of `bytes` at [`DUMP_LEVEL`], 16 bytes a line.
pub fn dump(label: &str, bytes: &[u8]) {
    if !enabled(DUMP_LEVEL) {
        return;
    }
    let mut s = String::with_capacity(label.len() + bytes.len() * 3 + bytes.len() / 16 * 2 + 2);
    s.push_str(label);
    for (i, b) in bytes.iter().enumerate() {
        if i % 16 == 0 {
            s.push_str("\n ");
        }
        s.push_str(&format!(" {b:02x}"));
    }
    line(DUMP_LEVEL, format_args!("{s}"));
}

/// Logs an error line.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::line(0, format_args!($($t)*)) };
}

/// Logs an informational line (level 1).
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::line(1, format_args!($($t)*)) };
}
