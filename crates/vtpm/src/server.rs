//! The swtpm socket protocols on threads: one thread per channel blocks in `read`, runs what
//! arrived against the shared device and answers with one `write` (two syscalls per command,
//! no `poll`). The device sits behind a `Mutex`, contended only when control and data requests
//! really overlap. The main thread waits for the first reason to exit.

use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use crate::ctrl::{self, Reply, Request, res};
use crate::device::{After, Device};
use crate::framing::{self, Parsed};
use crate::sockets::{self, Opened, write_all};
use crate::{error, info};

/// A control request that stalls this long without progress is handled with what arrived
/// (swtpm allows 500 ms).
const CTRL_STALL: Duration = Duration::from_millis(500);
/// Largest HASH_DATA payload buffered.
const MAX_HASH_DATA: usize = 16 << 20;
/// Receive buffer of the data channel: a full command plus prefix, and room for pipelining.
const DATA_BUF: usize = 64 * 1024;

/// The device shared by the protocol threads.
pub type Shared = Arc<Mutex<Device>>;

/// Locks the device; a thread that panicked while holding it left no half-written state behind
/// that a later command could not cope with, so poisoning is ignored.
pub fn lock(dev: &Shared) -> MutexGuard<'_, Device> {
    dev.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why the server ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Exit {
    /// CMD_SHUTDOWN (or mssim TPM_STOP).
    Shutdown,
    /// `-t` and the client went away.
    Terminated,
    /// SIGTERM/SIGINT/SIGHUP.
    Signal,
    /// mssim TPM_STOP.
    Stopped,
}

/// Main-loop settings.
pub struct LoopConfig {
    /// `-t`: exit when the client goes away.
    pub terminate: bool,
    /// `--server …,disconnect`.
    pub disconnect: bool,
}

/// Where protocol threads report that the process must end.
#[derive(Clone)]
pub struct ExitTx(Sender<Exit>);

impl ExitTx {
    /// Asks the main thread to end the process.
    pub fn send(&self, e: Exit) {
        let _ = self.0.send(e);
    }
}

/// A protocol thread's body: it gets the device and where to report an exit.
pub type Thread = Box<dyn FnOnce(Shared, ExitTx) + Send>;

/// Runs `threads` until one asks to exit or a signal arrives; then `finish` persists (unless
/// CMD_SHUTDOWN already did) and socket files are removed.
pub fn run_threads(
    dev: Shared,
    unlink: Vec<PathBuf>,
    threads: Vec<Thread>,
    finish: fn(&mut Device),
) -> io::Result<Exit> {
    let (tx, rx) = mpsc::channel();
    let (mut sig_rx, sig_tx) = UnixStream::pair()?;
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::low_level::pipe::register(sig, sig_tx.try_clone()?)?;
    }
    let stx = ExitTx(tx.clone());
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            let _ = sig_rx.read(&mut b);
            info!("terminating on signal");
            stx.send(Exit::Signal);
        })?;
    for (i, t) in threads.into_iter().enumerate() {
        let (d, x) = (dev.clone(), ExitTx(tx.clone()));
        std::thread::Builder::new()
            .name(format!("channel-{i}"))
            .spawn(move || t(d, x))?;
    }
    drop(tx);
    // The signal thread holds a sender for the life of the process: `recv` cannot fail.
    let exit = rx.recv().unwrap_or(Exit::Signal);
    {
        let mut d = lock(&dev);
        if exit != Exit::Shutdown {
            finish(&mut d);
        }
    }
    for p in unlink {
        let _ = std::fs::remove_file(p);
    }
    Ok(exit)
}

/// The swtpm socket server: data and control channels.
pub struct Server {
    dev: Shared,
    cfg: Arc<LoopConfig>,
    data: Option<Opened>,
    ctrl: Option<Opened>,
}

impl Server {
    /// Assembles the server from opened channels.
    pub fn new(
        dev: Device,
        cfg: LoopConfig,
        data: Option<Opened>,
        ctrl: Option<Opened>,
    ) -> io::Result<Server> {
        Ok(Server {
            dev: Arc::new(Mutex::new(dev)),
            cfg: Arc::new(cfg),
            data,
            ctrl,
        })
    }

    /// Runs until shutdown; persists state on the way out.
    pub fn run(self) -> io::Result<Exit> {
        let mut unlink = Vec::new();
        let mut threads: Vec<Thread> = Vec::new();
        let datafd_busy = Arc::new(AtomicBool::new(false));
        if let Some(mut d) = self.data {
            if let Opened::Listen(l) = &mut d {
                unlink.extend(l.unlink.take());
            }
            let cfg = self.cfg.clone();
            threads.push(Box::new(move |dev, exit| data_thread(d, &dev, &cfg, &exit)));
        }
        if let Some(mut c) = self.ctrl {
            if let Opened::Listen(l) = &mut c {
                unlink.extend(l.unlink.take());
            }
            let cfg = self.cfg.clone();
            threads.push(Box::new(move |dev, exit| {
                ctrl_thread(c, dev, cfg, exit, datafd_busy)
            }));
        }
        run_threads(self.dev, unlink, threads, Device::finish)
    }
}

fn data_thread(ch: Opened, dev: &Shared, cfg: &LoopConfig, exit: &ExitTx) {
    match ch {
        Opened::Conn(fd) => {
            serve_data(fd, dev, cfg.disconnect);
            if cfg.terminate {
                info!("data channel closed: terminating");
                exit.send(Exit::Terminated);
            }
        }
        Opened::Listen(l) => loop {
            match l.accept() {
                Ok(fd) => serve_data(fd, dev, cfg.disconnect),
                Err(e) => {
                    error!("accept on the data channel: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
            if cfg.terminate {
                info!("data channel closed: terminating");
                exit.send(Exit::Terminated);
                return;
            }
        },
    }
}

/// One data connection: what arrives is parsed into frames, all complete frames are run under
/// one lock and answered with one write. Returns when the peer closes (or must be dropped).
pub fn serve_data(fd: OwnedFd, dev: &Shared, disconnect: bool) {
    sockets::nodelay(&fd);
    let mut buf = vec![0u8; DATA_BUF];
    let mut out = Vec::with_capacity(8192);
    let (mut filled, mut discard) = (0usize, 0u64);
    loop {
        let n = match sockets::read_some(fd.as_fd(), &mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let mut pos = 0;
        let mut close = false;
        out.clear();
        {
            let mut d = lock(dev);
            let max = d.buffer_size();
            loop {
                if discard > 0 {
                    let skip = discard.min((filled - pos) as u64);
                    discard -= skip;
                    pos += skip as usize;
                    if discard > 0 {
                        break;
                    }
                }
                match framing::parse(&buf[pos..filled], max) {
                    Parsed::NeedMore => break,
                    Parsed::Frame {
                        prefixed,
                        start,
                        end,
                    } => {
                        let rsp = d.command(prefixed, &buf[pos + start..pos + end]);
                        framing::frame_response(&mut out, prefixed.is_some(), &rsp);
                        pos += end;
                        if disconnect {
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
                        discard = frame_len;
                    }
                    Parsed::Malformed => {
                        error!("data channel: malformed header; closing the connection");
                        framing::frame_response(&mut out, false, &Device::oversized());
                        close = true;
                        break;
                    }
                }
            }
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        if !out.is_empty() && write_all(fd.as_fd(), &out).is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

fn ctrl_thread(
    ch: Opened,
    dev: Shared,
    cfg: Arc<LoopConfig>,
    exit: ExitTx,
    datafd_busy: Arc<AtomicBool>,
) {
    let ctx = CtrlCtx {
        dev,
        cfg,
        exit,
        datafd_busy,
    };
    match ch {
        Opened::Conn(fd) => {
            let unix = sockets::is_unix(&fd);
            let e = ctx.serve(&fd, unix).unwrap_or_else(|| {
                info!("control channel closed: terminating");
                Exit::Terminated
            });
            ctx.exit.send(e);
        }
        Opened::Listen(l) => loop {
            let fd = match l.accept() {
                Ok(fd) => fd,
                Err(e) => {
                    error!("accept on the control channel: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            match ctx.serve(&fd, l.unix) {
                Some(e) => return ctx.exit.send(e),
                None if ctx.cfg.terminate => {
                    info!("control channel closed: terminating");
                    return ctx.exit.send(Exit::Terminated);
                }
                None => {}
            }
        },
    }
}

struct CtrlCtx {
    dev: Shared,
    cfg: Arc<LoopConfig>,
    exit: ExitTx,
    datafd_busy: Arc<AtomicBool>,
}

impl CtrlCtx {
    /// Serves one control connection; `Some` ends the process, `None` means it closed.
    fn serve(&self, fd: &OwnedFd, unix: bool) -> Option<Exit> {
        loop {
            let (bytes, mut fds, close_after) = match read_ctrl(fd, unix) {
                Ok(Some(m)) => m,
                Ok(None) | Err(_) => return None,
            };
            crate::log::dump(" Ctrl Cmd:", &bytes[..bytes.len().min(1024)]);
            let (reply, after) = if bytes.len() < 4 {
                (Reply::res(res::TPM_BAD_PARAMETER), After::Continue)
            } else {
                let req = ctrl::parse(&bytes);
                if req == Request::SetDataFd {
                    (self.set_datafd(fds.pop()), After::Continue)
                } else {
                    lock(&self.dev).control(&req)
                }
            };
            crate::log::dump(" Ctrl Rsp:", &reply.0[..reply.0.len().min(1024)]);
            let sent = write_all(fd.as_fd(), &reply.0);
            if after == After::Exit {
                info!("CMD_SHUTDOWN: exiting");
                return Some(Exit::Shutdown);
            }
            if sent.is_err() || close_after {
                return None;
            }
        }
    }

    fn set_datafd(&self, fd: Option<OwnedFd>) -> Reply {
        let Some(fd) = fd else {
            error!("CMD_SET_DATAFD without a file descriptor");
            return Reply::res(res::TPM_BAD_PARAMETER);
        };
        if self.datafd_busy.swap(true, Ordering::SeqCst) {
            return Reply::res(res::TPM_IOERROR);
        }
        let (dev, cfg, exit, busy) = (
            self.dev.clone(),
            self.cfg.clone(),
            self.exit.clone(),
            self.datafd_busy.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("datafd".into())
            .spawn(move || {
                serve_data(fd, &dev, cfg.disconnect);
                busy.store(false, Ordering::SeqCst);
                if cfg.terminate {
                    info!("data channel closed: terminating");
                    exit.send(Exit::Terminated);
                }
            });
        match spawned {
            Ok(_) => Reply::res(res::TPM_SUCCESS),
            Err(e) => {
                error!("CMD_SET_DATAFD: cannot start the data thread: {e}");
                self.datafd_busy.store(false, Ordering::SeqCst);
                Reply::res(res::TPM_FAIL)
            }
        }
    }
}

fn wait_readable(fd: std::os::fd::BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
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
fn read_ctrl(fd: &OwnedFd, unix: bool) -> io::Result<Option<CtrlMsg>> {
    let mut buf = vec![0u8; 4096 + 32];
    let mut fds = Vec::new();
    let first = if unix {
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let r = loop {
            match rustix::net::recvmsg(
                fd,
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
            match rustix::io::read(fd, &mut buf) {
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
        if !wait_readable(fd.as_fd(), CTRL_STALL)? {
            break; // short request: handled with what arrived
        }
        match rustix::io::read(fd, &mut buf[len..need]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(len);
    Ok(Some((buf, fds, close_after)))
}
