//! Sockets: binding or adopting the listeners and connections the command line names, and the
//! blocking I/O helpers the protocol threads share.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::net::SocketFlags;

use crate::cli::{Channel, Endpoint};

/// A listening socket.
pub struct Listener {
    fd: OwnedFd,
    /// A Unix socket (SCM_RIGHTS possible on accepted connections).
    pub unix: bool,
    /// Socket file removed when the listener is dropped.
    pub unlink: Option<PathBuf>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(p) = &self.unlink {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Adopts an inherited descriptor number without `unsafe`: `pidfd_getfd` on ourselves
/// duplicates it into an `OwnedFd` (Linux ≥ 5.6).
pub fn inherit_fd(n: i32) -> io::Result<OwnedFd> {
    let pid = rustix::process::getpid();
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?;
    Ok(rustix::process::pidfd_getfd(
        &pidfd,
        n,
        rustix::process::PidfdGetfdFlags::empty(),
    )?)
}

fn is_unix_socket(fd: &OwnedFd) -> bool {
    matches!(rustix::net::getsockname(fd), Ok(a) if a.address_family() == rustix::net::AddressFamily::UNIX)
}

/// What a channel option opened: a listener, or an already connected socket.
pub enum Opened {
    /// Accept clients here.
    Listen(Listener),
    /// Use this connection.
    Conn(OwnedFd),
}

/// Binds or adopts a channel's socket.
pub fn open_channel(ch: &Channel) -> anyhow::Result<Opened> {
    use anyhow::Context;
    Ok(match &ch.endpoint {
        Endpoint::Tcp { port, bindaddr } => Opened::Listen(Listener::tcp(bindaddr, *port)?),
        Endpoint::Unix {
            path,
            mode,
            uid,
            gid,
        } => {
            if let Ok(m) = std::fs::symlink_metadata(path) {
                use std::os::unix::fs::FileTypeExt;
                if m.file_type().is_socket() {
                    let _ = std::fs::remove_file(path);
                }
            }
            let l = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("cannot listen on {}", path.display()))?;
            if let Some(m) = mode {
                rustix::fs::chmod(path, rustix::fs::Mode::from_raw_mode(*m))
                    .with_context(|| format!("chmod {}", path.display()))?;
            }
            if uid.is_some() || gid.is_some() {
                rustix::fs::chown(
                    path,
                    uid.map(rustix::fs::Uid::from_raw),
                    gid.map(rustix::fs::Gid::from_raw),
                )
                .with_context(|| format!("chown {}", path.display()))?;
            }
            Opened::Listen(Listener {
                fd: l.into(),
                unix: true,
                unlink: Some(path.clone()),
            })
        }
        Endpoint::ListenFd(n) => {
            let fd = inherit_fd(*n).with_context(|| format!("cannot use fd {n}"))?;
            let unix = is_unix_socket(&fd);
            Opened::Listen(Listener {
                fd,
                unix,
                unlink: None,
            })
        }
        Endpoint::ClientFd(n) => {
            Opened::Conn(inherit_fd(*n).with_context(|| format!("cannot use fd {n}"))?)
        }
    })
}

impl Listener {
    /// Blocks until a client connects (retrying on EINTR and transient errors).
    pub fn accept(&self) -> io::Result<OwnedFd> {
        loop {
            match rustix::net::accept_with(&self.fd, SocketFlags::CLOEXEC) {
                Ok(fd) => return Ok(fd),
                Err(rustix::io::Errno::INTR | rustix::io::Errno::CONNABORTED) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Binds a TCP listener on `bindaddr:port`.
    pub fn tcp(bindaddr: &str, port: u16) -> anyhow::Result<Listener> {
        use anyhow::Context;
        let l = std::net::TcpListener::bind((bindaddr, port))
            .with_context(|| format!("cannot listen on {bindaddr}:{port}"))?;
        Ok(Listener {
            fd: l.into(),
            unix: false,
            unlink: None,
        })
    }
}

/// True for a Unix-domain socket.
pub fn is_unix(fd: &OwnedFd) -> bool {
    is_unix_socket(fd)
}

/// Writes all of `b` (one `write` unless the socket buffer is full).
pub fn write_all(fd: BorrowedFd<'_>, mut b: &[u8]) -> io::Result<()> {
    while !b.is_empty() {
        match rustix::io::write(fd, b) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => b = &b[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One `read`, retried on EINTR; 0 is end of stream.
pub fn read_some(fd: BorrowedFd<'_>, b: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *b) {
            Err(rustix::io::Errno::INTR) => {}
            r => return Ok(r?),
        }
    }
}

/// Sets TCP_NODELAY (harmless failure on Unix sockets): small replies must not wait for an ACK.
pub fn nodelay(fd: &OwnedFd) {
    let _ = rustix::net::sockopt::set_tcp_nodelay(fd.as_fd(), true);
}
