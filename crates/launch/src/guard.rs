//! A child process that is killed and reaped when its guard drops: a test or a failed boot never
//! leaves a QEMU or vTPM behind. Only the PID we spawned is ever signalled.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Owns a spawned child; kills (SIGKILL) and reaps it on drop unless it already exited.
#[derive(Debug)]
pub struct ChildGuard {
    name: &'static str,
    child: Child,
    status: Option<ExitStatus>,
}

impl ChildGuard {
    /// Takes ownership of `child`.
    pub fn new(name: &'static str, child: Child) -> Self {
        Self {
            name,
            child,
            status: None,
        }
    }

    /// Process name used in messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Mutable access to the child (to take its pipes).
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The exit status if the child has exited (reaps it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the child to exit on its own.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child if it is still running and reaps it; returns its final status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True if a process with this PID exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        // Field 3 is the state; "Z" is a zombie (exited, not reaped).
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
    }
}
