//! The Microsoft TPM 2.0 simulator protocol (reference vtpm.md §4; ms-tpm-20-ref
//! `TPMCmd/Simulator/include/TpmTcpProtocol.h`, `src/TcpServer.c`, `src/TPMCmdp.c`): a TPM port P
//! and a platform port P+1, each serving one client at a time. Chosen explicitly with
//! `tl-vtpm mssim`, because the platform codes overlap swtpm's `CMD_*` codes.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ctrl::Request;
use crate::server::{Exit, ExitTx, Shared, Thread, lock};
use crate::sockets::Listener;
use crate::{error, info};

/// Command codes (`TpmTcpProtocol.h`), spelled as in the header.
pub mod code {
    #![allow(missing_docs)]
    pub const TPM_SIGNAL_POWER_ON: u32 = 1;
    pub const TPM_SIGNAL_POWER_OFF: u32 = 2;
    pub const TPM_SIGNAL_PHYS_PRES_ON: u32 = 3;
    pub const TPM_SIGNAL_PHYS_PRES_OFF: u32 = 4;
    pub const TPM_SIGNAL_HASH_START: u32 = 5;
    pub const TPM_SIGNAL_HASH_DATA: u32 = 6;
    pub const TPM_SIGNAL_HASH_END: u32 = 7;
    pub const TPM_SEND_COMMAND: u32 = 8;
    pub const TPM_SIGNAL_CANCEL_ON: u32 = 9;
    pub const TPM_SIGNAL_CANCEL_OFF: u32 = 10;
    pub const TPM_SIGNAL_NV_ON: u32 = 11;
    pub const TPM_SIGNAL_NV_OFF: u32 = 12;
    pub const TPM_SIGNAL_KEY_CACHE_ON: u32 = 13;
    pub const TPM_SIGNAL_KEY_CACHE_OFF: u32 = 14;
    pub const TPM_REMOTE_HANDSHAKE: u32 = 15;
    pub const TPM_SET_ALTERNATIVE_RESULT: u32 = 16;
    pub const TPM_SIGNAL_RESET: u32 = 17;
    pub const TPM_SIGNAL_RESTART: u32 = 18;
    pub const TPM_SESSION_END: u32 = 20;
    pub const TPM_STOP: u32 = 21;
    pub const TPM_GET_COMMAND_RESPONSE_SIZES: u32 = 25;
    pub const TPM_ACT_GET_SIGNALED: u32 = 26;
    pub const TPM_TEST_FAILURE_MODE: u32 = 30;
}

/// `ServerVersion` of TcpServer.c.
const SERVER_VERSION: u32 = 1;
/// `tpmPlatformAvailable | tpmInRawMode | tpmSupportsPP` (TpmTcpProtocol.h).
const HANDSHAKE_FLAGS: u32 = 0x01 | 0x04 | 0x08;
/// Largest var-bytes payload read (the simulator's `MAX_BUFFER`, our MAX_COMMAND_SIZE); a
/// larger declared length closes the connection, as `ReadVarBytes` does.
const MAX_BUFFER: usize = 4096;

/// `CommandResponseSizes` of TcpServer.c: the largest command and response seen on the TPM port
/// since the platform port last asked. Sizes are in host byte order and the codes are the raw
/// wire bytes, exactly as the simulator `memcpy`s them.
#[derive(Default)]
struct Sizes {
    largest_command_size: u32,
    largest_command: [u8; 4],
    largest_response_size: u32,
    largest_response: [u8; 4],
}

impl Sizes {
    fn record(&mut self, cmd: &[u8], rsp: &[u8]) {
        let code = |b: &[u8]| {
            let mut c = [0u8; 4];
            if let Some(s) = b.get(6..10) {
                c.copy_from_slice(s);
            }
            c
        };
        if cmd.len() as u32 > self.largest_command_size {
            self.largest_command_size = cmd.len() as u32;
            self.largest_command = code(cmd);
        }
        if rsp.len() as u32 > self.largest_response_size {
            self.largest_response_size = rsp.len() as u32;
            self.largest_response = code(rsp);
        }
    }

    fn take_bytes(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.largest_command_size.to_ne_bytes());
        b[4..8].copy_from_slice(&self.largest_command);
        b[8..12].copy_from_slice(&self.largest_response_size.to_ne_bytes());
        b[12..16].copy_from_slice(&self.largest_response);
        *self = Sizes::default();
        b
    }
}

/// What ends one connection.
enum End {
    /// The client left (or broke the protocol): accept the next one.
    Next,
    /// TPM_STOP: the process exits.
    Stop,
}

fn u32_at(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

/// Reads a `u32`; `None` at end of stream or on error.
fn read_u32(r: &mut impl Read) -> Option<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).ok().map(|()| u32_at(b))
}

/// Reads `u32 len` + bytes (`ReadVarBytes`); `None` if the stream ends or `len` is too big.
fn read_var(r: &mut impl Read, buf: &mut Vec<u8>) -> Option<()> {
    let len = read_u32(r)? as usize;
    if len > MAX_BUFFER {
        error!("mssim: {len}-byte payload exceeds {MAX_BUFFER}; closing the connection");
        return None;
    }
    buf.resize(len, 0);
    r.read_exact(buf).ok()
}

/// Starts the TPM and platform listener threads.
pub fn threads(tpm: Listener, platform: Listener) -> Vec<Thread> {
    let sizes = Arc::new(Mutex::new(Sizes::default()));
    let s2 = sizes.clone();
    vec![
        Box::new(move |dev, exit| accept_loop(&tpm, &exit, |s| serve_tpm(s, &dev, &sizes))),
        Box::new(move |dev, exit| accept_loop(&platform, &exit, |s| serve_platform(s, &dev, &s2))),
    ]
}

fn accept_loop(l: &Listener, exit: &ExitTx, mut serve: impl FnMut(TcpStream) -> End) {
    loop {
        let fd: OwnedFd = match l.accept() {
            Ok(fd) => fd,
            Err(e) => {
                error!("mssim: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let s = TcpStream::from(fd);
        let _ = s.set_nodelay(true);
        if let End::Stop = serve(s) {
            info!("mssim: TPM_STOP: exiting");
            return exit.send(Exit::Stopped);
        }
    }
}

/// The TPM port (`TpmServer`): every request but SEND_COMMAND's payload and SESSION_END/STOP is
/// acknowledged with `u32 0`; an unknown code closes the connection without a reply.
fn serve_tpm(s: TcpStream, dev: &Shared, sizes: &Mutex<Sizes>) -> End {
    use code::*;
    let mut r = BufReader::with_capacity(2 * MAX_BUFFER, &s);
    let mut w = &s;
    let mut buf = Vec::with_capacity(MAX_BUFFER);
    let mut out = Vec::with_capacity(MAX_BUFFER + 8);
    loop {
        let Some(cmd) = read_u32(&mut r) else {
            return End::Next;
        };
        out.clear();
        match cmd {
            TPM_SIGNAL_HASH_START => signal(dev, &Request::HashStart),
            TPM_SIGNAL_HASH_END => signal(dev, &Request::HashEnd),
            TPM_SIGNAL_HASH_DATA => {
                if read_var(&mut r, &mut buf).is_none() {
                    return End::Next;
                }
                let req = Request::HashData {
                    len: buf.len() as u32,
                    data: &buf,
                };
                signal(dev, &req);
            }
            TPM_SEND_COMMAND => {
                let mut loc = [0u8; 1];
                if r.read_exact(&mut loc).is_err() || read_var(&mut r, &mut buf).is_none() {
                    return End::Next;
                }
                let mut d = lock(dev);
                // A powered-off simulator answers with an empty response.
                let rsp = if d.is_running() {
                    d.command(Some(loc[0]), &buf)
                } else {
                    Vec::new()
                };
                drop(d);
                if let Ok(mut z) = sizes.lock() {
                    z.record(&buf, &rsp);
                }
                out.extend_from_slice(&(rsp.len() as u32).to_be_bytes());
                out.extend_from_slice(&rsp);
            }
            TPM_REMOTE_HANDSHAKE => {
                match read_u32(&mut r) {
                    Some(0) => {
                        error!("mssim: unsupported client version 0");
                        return End::Next;
                    }
                    Some(_) => {}
                    None => return End::Next,
                }
                out.extend_from_slice(&SERVER_VERSION.to_be_bytes());
                out.extend_from_slice(&HANDSHAKE_FLAGS.to_be_bytes());
            }
            // The alternative result does not apply to a simulator (TcpServer.c ignores it).
            TPM_SET_ALTERNATIVE_RESULT => {
                if read_u32(&mut r).is_none() {
                    return End::Next;
                }
            }
            TPM_SESSION_END => return End::Next,
            TPM_STOP => return End::Stop,
            other => {
                error!("mssim: unknown TPM port command {other}; closing the connection");
                return End::Next;
            }
        }
        out.extend_from_slice(&0u32.to_be_bytes());
        if w.write_all(&out).is_err() {
            return End::Next;
        }
    }
}

/// _TPM_Hash_* signals are ignored while the power is off (TPMCmdp.c).
fn signal(dev: &Shared, req: &Request<'_>) {
    let mut d = lock(dev);
    if d.is_running() {
        let _ = d.control(req);
    }
}

/// The platform port (`PlatformServer`): `u32 code` → `u32 0`; an unknown code gets `u32 1` and
/// the connection is closed.
fn serve_platform(s: TcpStream, dev: &Shared, sizes: &Mutex<Sizes>) -> End {
    use code::*;
    let mut r = &s;
    let mut w = &s;
    loop {
        let Some(cmd) = read_u32(&mut r) else {
            return End::Next;
        };
        let mut out = Vec::with_capacity(24);
        match cmd {
            TPM_SIGNAL_POWER_ON => {
                let mut d = lock(dev);
                if !d.is_running()
                    && let Err(e) = d.init(0)
                {
                    error!("mssim: power on: {e}");
                }
            }
            TPM_SIGNAL_POWER_OFF => lock(dev).power_off(),
            // Power-on with reset: _TPM_Init without a shutdown, only if the power is on.
            TPM_SIGNAL_RESET => {
                let mut d = lock(dev);
                if d.is_running() {
                    d.power_off();
                    if let Err(e) = d.init(0) {
                        error!("mssim: reset: {e}");
                    }
                }
            }
            // Physical presence gates PP_Commands and the commands it lists (platform auth).
            TPM_SIGNAL_PHYS_PRES_ON => lock(dev).set_physical_presence(true),
            TPM_SIGNAL_PHYS_PRES_OFF => lock(dev).set_physical_presence(false),
            // Clock restart, cancel, NV availability and the RSA key cache have no effect on
            // this engine: commands run to completion, NV is always available, keys are never
            // cached. Acknowledged as the simulator does.
            TPM_SIGNAL_RESTART
            | TPM_SIGNAL_CANCEL_ON
            | TPM_SIGNAL_CANCEL_OFF
            | TPM_SIGNAL_NV_ON
            | TPM_SIGNAL_NV_OFF
            | TPM_SIGNAL_KEY_CACHE_ON
            | TPM_SIGNAL_KEY_CACHE_OFF => {}
            TPM_TEST_FAILURE_MODE => {
                error!(
                    "mssim: TPM_TEST_FAILURE_MODE acknowledged; the engine has no forced failure mode"
                );
            }
            TPM_SESSION_END => return End::Next,
            TPM_STOP => return End::Stop,
            TPM_GET_COMMAND_RESPONSE_SIZES => {
                let b = sizes.lock().map(|mut z| z.take_bytes()).unwrap_or([0; 16]);
                out.extend_from_slice(&16u32.to_be_bytes());
                out.extend_from_slice(&b);
            }
            // No authenticated countdown timers: none has signaled.
            TPM_ACT_GET_SIGNALED => {
                if read_u32(&mut r).is_none() {
                    return End::Next;
                }
                out.extend_from_slice(&0u32.to_be_bytes());
            }
            other => {
                error!("mssim: unknown platform command {other}; closing the connection");
                let _ = w.write_all(&1u32.to_be_bytes());
                return End::Next;
            }
        }
        out.extend_from_slice(&0u32.to_be_bytes());
        if w.write_all(&out).is_err() {
            return End::Next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_record_the_largest_and_reset() {
        let mut z = Sizes::default();
        z.record(
            &[0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x44, 0, 0],
            &[0x80, 1, 0, 0, 0, 10, 0, 0, 0, 0],
        );
        z.record(
            &[0x80, 1, 0, 0, 0, 10, 0, 0, 1, 0x7B],
            &[0x80, 1, 0, 0, 0, 10, 0, 0, 1, 1],
        );
        let b = z.take_bytes();
        assert_eq!(&b[0..4], &12u32.to_ne_bytes());
        assert_eq!(&b[4..8], &[0, 0, 1, 0x44]);
        assert_eq!(&b[8..12], &10u32.to_ne_bytes());
        assert_eq!(&b[12..16], &[0, 0, 0, 0]);
        assert_eq!(z.take_bytes(), [0; 16]);
    }
}
