//! Sockets and the main loop: one thread polls the control and data channels together (as
//! swtpm's `mainLoop`), one client at a time on each.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketFlags};

use crate::cli::{Channel, Endpoint};
use crate::ctrl::{self, Reply, Request, res};
use crate::device::{After, Device};
use crate::framing::{self, Parsed};
use crate::{error, info};

/// A control request that stalls this long without progress is handled with what arrived
/// (swtpm allows 500 ms).
const CTRL_STALL: Duration = Duration::from_millis(500);
/// Largest HASH_DATA payload buffered.
const MAX_HASH_DATA: usize = 16 << 20;
/// Receive buffer of the data channel: a full command plus prefix, and room for pipelining.
const DATA_BUF: usize = 64 * 1024;

/// A listening socket.
pub struct Listener {
    fd: OwnedFd,
    unix: bool,
    unlink: Option<PathBuf>,
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
        Endpoint::Tcp { port, bindaddr } => {
            let l = std::net::TcpListener::bind((bindaddr.as_str(), *port))
                .with_context(|| format!("cannot listen on {bindaddr}:{port}"))?;
            Opened::Listen(Listener {
                fd: l.into(),
                unix: false,
                unlink: None,
            })
        }
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

struct DataConn {
    fd: OwnedFd,
    buf: Vec<u8>,
    filled: usize,
    /// Bytes of an oversized frame still to skip.
    discard: u64,
    /// Came from CMD_SET_DATAFD.
    from_ctrl: bool,
}

impl DataConn {
    fn new(fd: OwnedFd, from_ctrl: bool) -> DataConn {
        // Harmless on Unix sockets; on TCP it keeps small responses from waiting for an ACK.
        let _ = rustix::net::sockopt::set_tcp_nodelay(&fd, true);
        DataConn {
            fd,
            buf: vec![0; DATA_BUF],
            filled: 0,
            discard: 0,
            from_ctrl,
        }
    }
}

struct CtrlConn {
    fd: OwnedFd,
    unix: bool,
}

/// Main-loop settings.
pub struct LoopConfig {
    /// `-t`: exit when the client goes away.
    pub terminate: bool,
    /// `--server …,disconnect`.
    pub disconnect: bool,
}

/// The event loop's state.
pub struct Server {
    dev: Device,
    cfg: LoopConfig,
    data_listener: Option<Listener>,
    data: Option<DataConn>,
    ctrl_listener: Option<Listener>,
    ctrl: Option<CtrlConn>,
    /// A ctrl connection that was handed to us (`clientfd=`): its loss ends the process.
    ctrl_is_client: bool,
    signals: UnixStream,
}

fn write_all(fd: BorrowedFd<'_>, mut b: &[u8]) -> io::Result<()> {
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

fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let ts = Timespec::try_from(timeout).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    });
    let mut p = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    match rustix::event::poll(&mut p, Some(&ts)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One control request as read: bytes, fds from SCM_RIGHTS, close-after-reply.
type CtrlMsg = (Vec<u8>, Vec<OwnedFd>, bool);

/// Reads one control request (see [`ctrl::needed`]); `None` on EOF. Also returns fds that came
/// with it in SCM_RIGHTS, and whether the connection must be closed after the reply (a
/// declared payload too large to consume).
fn read_ctrl(conn: &CtrlConn) -> io::Result<Option<CtrlMsg>> {
    let mut buf = vec![0u8; 4096 + 32];
    let mut fds = Vec::new();
    let first = if conn.unix {
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let r = loop {
            match rustix::net::recvmsg(
                &conn.fd,
                &mut [io::IoSliceMut::new(&mut buf)],
                &mut anc,
                RecvFlags::CMSG_CLOEXEC,
            ) {
                Err(rustix::io::Errno::INTR) => continue,
                r => break r?,
            }
        };
        for m in anc.drain() {
            if let RecvAncillaryMessage::ScmRights(it) = m {
                fds.extend(it);
            }
        }
        r.bytes
    } else {
        loop {
            match rustix::io::read(&conn.fd, &mut buf) {
                Err(rustix::io::Errno::INTR) => continue,
                r => break r?,
            }
        }
    };
    if first == 0 {
        return Ok(None);
    }
    let mut len = first;
    let mut close_after = false;
    loop {
        let mut need = ctrl::needed(&buf[..len]);
        let code = if len >= 4 {
            u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])
        } else {
            0
        };
        if (code == ctrl::cmd::SET_STATEBLOB && need > 16 + ctrl::MAX_STATE_BLOB as usize)
            || (code == ctrl::cmd::HASH_DATA && need > 8 + MAX_HASH_DATA)
        {
            // Too large to take in: answer from the header alone and drop the connection.
            need = len;
            close_after = true;
        }
        if len >= need {
            break;
        }
        if buf.len() < need {
            buf.resize(need, 0);
        }
        if !wait_readable(conn.fd.as_fd(), CTRL_STALL)? {
            break; // short request: handled with what arrived
        }
        match rustix::io::read(&conn.fd, &mut buf[len..need]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(len);
    Ok(Some((buf, fds, close_after)))
}

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// CMD_SHUTDOWN.
    Shutdown,
    /// `-t` and the client went away.
    Terminated,
    /// SIGTERM/SIGINT/SIGHUP.
    Signal,
}

impl Server {
    /// Assembles the loop from opened channels.
    pub fn new(
        dev: Device,
        cfg: LoopConfig,
        data: Option<Opened>,
        ctrl: Option<Opened>,
    ) -> io::Result<Server> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        for sig in [
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::low_level::pipe::register(sig, tx.try_clone()?)?;
        }
        let mut s = Server {
            dev,
            cfg,
            data_listener: None,
            data: None,
            ctrl_listener: None,
            ctrl: None,
            ctrl_is_client: false,
            signals: rx,
        };
        match data {
            Some(Opened::Listen(l)) => s.data_listener = Some(l),
            Some(Opened::Conn(fd)) => s.data = Some(DataConn::new(fd, false)),
            None => {}
        }
        match ctrl {
            Some(Opened::Listen(l)) => s.ctrl_listener = Some(l),
            Some(Opened::Conn(fd)) => {
                let unix = is_unix_socket(&fd);
                s.ctrl = Some(CtrlConn { fd, unix });
                s.ctrl_is_client = true;
            }
            None => {}
        }
        Ok(s)
    }

    /// Runs until shutdown; persists state on the way out.
    pub fn run(mut self) -> io::Result<Exit> {
        let exit = self.run_inner();
        if exit.as_ref().map(|e| *e != Exit::Shutdown).unwrap_or(true) {
            self.dev.finish();
        }
        exit
    }

    fn run_inner(&mut self) -> io::Result<Exit> {
        loop {
            const SIG: usize = 0;
            const DATA: usize = 1;
            const CTRL: usize = 2;
            const DLISTEN: usize = 3;
            const CLISTEN: usize = 4;
            let (sig_r, data_r, ctrl_r, dl_r, cl_r) = {
                let none = PollFlags::empty();
                let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(5);
                fds.push(PollFd::new(&self.signals, PollFlags::IN));
                let mut idx = [usize::MAX; 5];
                let dl = if self.data.is_none() {
                    self.data_listener.as_ref().map(|l| l.fd.as_fd())
                } else {
                    None
                };
                let cl = if self.ctrl.is_none() {
                    self.ctrl_listener.as_ref().map(|l| l.fd.as_fd())
                } else {
                    None
                };
                let cands = [
                    (DATA, self.data.as_ref().map(|d| d.fd.as_fd())),
                    (CTRL, self.ctrl.as_ref().map(|c| c.fd.as_fd())),
                    (DLISTEN, dl),
                    (CLISTEN, cl),
                ];
                for (slot, fd) in cands {
                    if let Some(fd) = fd {
                        idx[slot] = fds.len();
                        fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
                    }
                }
                match rustix::event::poll(&mut fds, None) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let r = |slot: usize| {
                    if slot == SIG {
                        fds[0].revents()
                    } else {
                        fds.get(idx[slot]).map(|f| f.revents()).unwrap_or(none)
                    }
                };
                (r(SIG), r(DATA), r(CTRL), r(DLISTEN), r(CLISTEN))
            };
            if !sig_r.is_empty() {
                info!("terminating on signal");
                return Ok(Exit::Signal);
            }
            let readable = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
            if ctrl_r.intersects(readable)
                && let Some(exit) = self.on_ctrl()?
            {
                return Ok(exit);
            }
            if data_r.intersects(readable)
                && let Some(exit) = self.on_data()
            {
                return Ok(exit);
            }
            if dl_r.contains(PollFlags::IN)
                && let Some(l) = &self.data_listener
            {
                match rustix::net::accept_with(&l.fd, SocketFlags::CLOEXEC) {
                    Ok(fd) => self.data = Some(DataConn::new(fd, false)),
                    Err(e) => error!("accept on the data channel: {e}"),
                }
            }
            if cl_r.contains(PollFlags::IN)
                && let Some(l) = &self.ctrl_listener
            {
                match rustix::net::accept_with(&l.fd, SocketFlags::CLOEXEC) {
                    Ok(fd) => self.ctrl = Some(CtrlConn { fd, unix: l.unix }),
                    Err(e) => error!("accept on the control channel: {e}"),
                }
            }
        }
    }

    /// Handles one control request; `Some` ends the loop.
    fn on_ctrl(&mut self) -> io::Result<Option<Exit>> {
        let Some(conn) = self.ctrl.take() else {
            return Ok(None);
        };
        let msg = match read_ctrl(&conn) {
            Ok(Some(m)) => m,
            Ok(None) | Err(_) => {
                if self.cfg.terminate || self.ctrl_is_client {
                    info!("control channel closed: terminating");
                    return Ok(Some(Exit::Terminated));
                }
                return Ok(None);
            }
        };
        let (bytes, mut fds, close_after) = msg;
        crate::log::dump(" Ctrl Cmd:", &bytes[..bytes.len().min(1024)]);
        let (reply, after) = if bytes.len() < 4 {
            (Reply::res(res::TPM_BAD_PARAMETER), After::Continue)
        } else {
            let req = ctrl::parse(&bytes);
            if req == Request::SetDataFd {
                (self.set_datafd(fds.pop()), After::Continue)
            } else {
                self.dev.control(&req)
            }
        };
        crate::log::dump(" Ctrl Rsp:", &reply.0[..reply.0.len().min(1024)]);
        let sent = write_all(conn.fd.as_fd(), &reply.0);
        if after == After::Exit {
            info!("CMD_SHUTDOWN: exiting");
            return Ok(Some(Exit::Shutdown));
        }
        if sent.is_err() || close_after {
            if self.cfg.terminate || self.ctrl_is_client {
                return Ok(Some(Exit::Terminated));
            }
        } else {
            self.ctrl = Some(conn);
        }
        Ok(None)
    }

    fn set_datafd(&mut self, fd: Option<OwnedFd>) -> Reply {
        if self.data.as_ref().is_some_and(|d| d.from_ctrl) {
            return Reply::res(res::TPM_IOERROR);
        }
        match fd {
            Some(fd) => {
                self.data = Some(DataConn::new(fd, true));
                Reply::res(res::TPM_SUCCESS)
            }
            None => {
                error!("CMD_SET_DATAFD without a file descriptor");
                Reply::res(res::TPM_BAD_PARAMETER)
            }
        }
    }

    fn close_data(&mut self) -> Option<Exit> {
        self.data = None;
        if self.cfg.terminate {
            info!("data channel closed: terminating");
            return Some(Exit::Terminated);
        }
        None
    }

    /// Reads what arrived on the data channel and answers every complete command in it.
    fn on_data(&mut self) -> Option<Exit> {
        let max = self.dev.buffer_size();
        let conn = self.data.as_mut()?;
        let n = match rustix::io::read(&conn.fd, &mut conn.buf[conn.filled..]) {
            Ok(0) | Err(_) => return self.close_data(),
            Ok(n) => n,
        };
        conn.filled += n;
        let mut pos = 0;
        let mut out = Vec::new();
        let mut close = false;
        loop {
            if conn.discard > 0 {
                let skip = conn.discard.min((conn.filled - pos) as u64);
                conn.discard -= skip;
                pos += skip as usize;
                if conn.discard > 0 {
                    break;
                }
            }
            match framing::parse(&conn.buf[pos..conn.filled], max) {
                Parsed::NeedMore => break,
                Parsed::Frame {
                    prefixed,
                    start,
                    end,
                } => {
                    let rsp = self
                        .dev
                        .command(prefixed, &conn.buf[pos + start..pos + end]);
                    framing::frame_response(&mut out, prefixed.is_some(), &rsp);
                    pos += end;
                    if self.cfg.disconnect {
                        close = true;
                        break;
                    }
                }
                Parsed::Oversized {
                    prefixed,
                    frame_len,
                } => {
                    error!(
                        "data channel: frame of {frame_len} bytes exceeds the buffer size {max}"
                    );
                    framing::frame_response(&mut out, prefixed.is_some(), &Device::oversized());
                    conn.discard = frame_len;
                }
                Parsed::Malformed => {
                    error!("data channel: malformed header; closing the connection");
                    framing::frame_response(&mut out, false, &Device::oversized());
                    close = true;
                    break;
                }
            }
        }
        conn.buf.copy_within(pos..conn.filled, 0);
        conn.filled -= pos;
        if !out.is_empty() && write_all(conn.fd.as_fd(), &out).is_err() {
            close = true;
        }
        if close {
            return self.close_data();
        }
        None
    }
}
