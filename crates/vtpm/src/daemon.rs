//! `--daemon` without `fork`: re-run ourselves detached (`setsid` in the child), wait until the
//! child reports that its sockets are listening, then exit.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};

/// Parent side: spawns the detached child and returns its verdict as our exit code.
pub fn spawn_detached(args: &[String]) -> anyhow::Result<ExitCode> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // The child inherits only the write end, under the same number.
    rustix::io::fcntl_setfd(&wr, rustix::io::FdFlags::empty())?;
    let child_args: Vec<&String> = args
        .iter()
        .filter(|a| *a != "-d" && *a != "--daemon")
        .collect();
    let mut child = Command::new(std::env::current_exe()?)
        .args(child_args)
        .arg("--daemon-child")
        .arg(wr.as_raw_fd().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    drop(wr);
    let mut ready = [0u8; 1];
    let mut f = std::fs::File::from(rd);
    if matches!(f.read(&mut ready), Ok(1)) && ready[0] == b'R' {
        return Ok(ExitCode::SUCCESS);
    }
    let mut msg = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut msg);
    }
    let status = child.wait()?;
    eprint!("{msg}");
    anyhow::bail!("daemon failed to start ({status})")
}

/// Child side, first thing: leave the parent's session.
pub fn detach() {
    let _ = rustix::process::setsid();
}

/// Child side, once listening: tell the parent.
pub fn notify_ready(fd: OwnedFd) {
    let _ = rustix::io::write(&fd, b"R");
    // Nobody reads our stderr any more.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}
