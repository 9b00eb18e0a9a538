//! One module per `tl` command group.

/// `println!` that ends the program quietly when stdout is closed early (`tl … | head`) instead
/// of panicking, and with a clear error on any other write failure.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::cmd::stdout_failed(e)
        }
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            $crate::cmd::stdout_failed(e)
        }
    }};
}

/// Exit for a failed write to stdout: status 0 for a closed pipe (the reader had enough), 1
/// otherwise.
pub(crate) fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("tl: error: writing to stdout: {e}");
    std::process::exit(1);
}

pub mod eventlog;
pub mod predict;
pub mod sbkeys;
pub mod sbsign;
pub mod secureboot;
