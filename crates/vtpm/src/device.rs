//! The TPM device: engine lifecycle (running/stopped, locality, buffer size), control requests,
//! data commands, and persistence after every command that dirtied permanent state.

use tpm::{BlobType, Tpm};

use crate::ctrl::{self, Reply, Request, res};
use crate::framing::{self, TPM_RC_COMMAND_SIZE, TPM_RC_FAILURE, TPM_RC_LOCALITY, error_response};
use crate::state::{PERMALL, StateDir, StateDirError, VOLATILE};
use crate::{error, info};

/// Vendor command of swtpm/libtpms: `TPM2_CC_SetLocality`.
pub const TPM2_CC_SET_LOCALITY: u32 = 0x2000_1000;
/// `TPM_CC_Shutdown` (Part 2, 6.5.2).
const TPM_CC_SHUTDOWN: u32 = 0x0145;
/// `TPM_RC_INSUFFICIENT`: swtpm's answer to a command shorter than its header.
const TPM_RC_INSUFFICIENT: u32 = 0x9A;
/// `TPM_RC_INITIALIZE`.
const TPM_RC_INITIALIZE: u32 = 0x100;
/// SET_BUFFERSIZE limits reported like swtpm 0.7.1: current / min / max.
pub const BUFFER_DEFAULT: u32 = 4096;
/// Smallest buffer size accepted.
pub const BUFFER_MIN: u32 = 2808;
/// Largest buffer size accepted.
pub const BUFFER_MAX: u32 = 4096;

const INFO_SPEC: &str = "\"TPMSpecification\":{\"family\":\"2.0\",\"level\":0,\"revision\":164}";
// The engine reports libtpms' identity (TPM_PT_MANUFACTURER "IBM", firmware 2019-10-23), so the
// GET_INFO attributes swtpm_setup copies into EK certificates say the same.
const INFO_ATTRS: &str = "\"TPMAttributes\":{\"manufacturer\":\"id:00001014\",\"version\":\"id:20191023\",\"model\":\"swtpm\"}";
// The RSA sizes the engine creates keys of (swtpm also claims 1024; we don't implement it), no
// Camellia.
const INFO_FEATURES: &str = "\"TPMFeatures\":{\"RSAKeySizes\":[2048,3072],\"CamelliaKeySizes\":[]}";

/// `TPM_SU_CLEAR` / `TPM_SU_STATE` (Part 2, 6.9).
fn su_command(cc: u32, su: u16) -> [u8; 12] {
    let mut c = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0];
    c[6..10].copy_from_slice(&cc.to_be_bytes());
    c[10..].copy_from_slice(&su.to_be_bytes());
    c
}

fn rc_of(rsp: &[u8]) -> u32 {
    match rsp.get(6..10) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => TPM_RC_FAILURE,
    }
}

/// Settings the device needs from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    /// `reject-locality-4`.
    pub reject_locality_4: bool,
    /// `allow-set-locality`.
    pub allow_set_locality: bool,
}

/// Why the device could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Files or directory.
    #[error(transparent)]
    Dir(#[from] StateDirError),
    /// The engine refused a state file.
    #[error("{path}: {source}")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// The engine's reason.
        source: tpm::StateError,
    },
}

/// What the server must do after a control reply was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Continue,
    /// Exit the process (CMD_SHUTDOWN).
    Exit,
}

/// The vTPM.
pub struct Device {
    tpm: Tpm,
    store: StateDir,
    cfg: Config,
    running: bool,
    locality: u8,
    buffer_size: u32,
    last_cc: u32,
    /// Blobs received by SET_STATEBLOB, applied at the next INIT (indexed by type − 1).
    pending: [Option<Vec<u8>>; 3],
}

impl Device {
    /// Opens the state (refusing corrupt files), manufacturing a TPM if there is none.
    pub fn open(store: StateDir, cfg: Config) -> Result<Device, StartError> {
        let tpm = load_tpm(&store, None)?.0;
        Ok(Device {
            tpm,
            store,
            cfg,
            running: false,
            locality: 0,
            buffer_size: BUFFER_DEFAULT,
            last_cc: 0,
            pending: [None, None, None],
        })
    }

    /// The largest command the data channel accepts.
    pub fn buffer_size(&self) -> usize {
        self.buffer_size as usize
    }

    /// CMD_INIT semantics; also used for `not-need-init` at start.
    pub fn init(&mut self, flags: u32) -> Result<(), String> {
        if self.running {
            self.auto_shutdown();
        }
        self.running = false;
        let pending = std::mem::take(&mut self.pending);
        let (tpm, resumed) = match load_tpm(&self.store, Some(&pending)) {
            Ok(t) => t,
            Err(e) => {
                self.pending = pending;
                return Err(e.to_string());
            }
        };
        self.tpm = tpm;
        if !resumed {
            self.tpm.init();
        }
        if pending.iter().any(Option::is_some) {
            // Incoming migration: the received state is now the state.
            self.persist_permanent();
        }
        if flags & ctrl::INIT_FLAG_DELETE_VOLATILE != 0
            && let Err(e) = self.store.remove(VOLATILE)
        {
            error!("{e}");
        }
        self.last_cc = 0;
        self.running = true;
        info!(
            "TPM initialized (flags {flags:#x}, {})",
            if resumed {
                "resumed volatile state"
            } else {
                "_TPM_Init"
            }
        );
        Ok(())
    }

    /// Sends TPM2_Startup(`su`) internally (`--flags startup-*`).
    pub fn startup(&mut self, su: u16) -> u32 {
        let rsp = self.execute(self.locality, &su_command(0x0144, su));
        rc_of(&rsp)
    }

    /// TPM2_Shutdown(STATE) (CLEAR if that fails) unless the last command was a Shutdown, then
    /// persists: swtpm's `tpmlib_maybe_send_tpm2_shutdown`.
    fn auto_shutdown(&mut self) {
        if self.running && self.last_cc != TPM_CC_SHUTDOWN {
            for su in [1u16, 0u16] {
                let rc = rc_of(
                    &self
                        .tpm
                        .execute(self.locality, &su_command(TPM_CC_SHUTDOWN, su)),
                );
                if rc == 0 || rc == TPM_RC_INITIALIZE {
                    break;
                }
            }
            self.last_cc = TPM_CC_SHUTDOWN;
        }
        if self.tpm.take_permanent_dirty() {
            self.persist_permanent();
        }
    }

    fn persist_permanent(&mut self) {
        let blob = self.tpm.save(BlobType::Permanent);
        if let Err(e) = self.store.write(PERMALL, &blob) {
            error!("could not persist the TPM state: {e}");
        }
    }

    fn execute(&mut self, locality: u8, cmd: &[u8]) -> Vec<u8> {
        let rsp = self.tpm.execute(locality, cmd);
        if self.tpm.take_permanent_dirty() {
            self.persist_permanent();
        }
        rsp
    }

    /// One data-channel command; `prefixed` carries the TCG prefix's locality, which sticks
    /// (as in swtpm).
    pub fn command(&mut self, prefixed: Option<u8>, cmd: &[u8]) -> Vec<u8> {
        if let Some(l) = prefixed {
            self.locality = l;
        }
        crate::log::dump(" SWTPM_IO_Read:", cmd);
        let rsp = self.command_inner(cmd);
        crate::log::dump(" SWTPM_IO_Write:", &rsp);
        rsp
    }

    fn command_inner(&mut self, cmd: &[u8]) -> Vec<u8> {
        if !self.running {
            return error_response(TPM_RC_FAILURE).to_vec();
        }
        if cmd.len() < framing::HEADER_LEN {
            return error_response(TPM_RC_INSUFFICIENT).to_vec();
        }
        let cc = u32::from_be_bytes([cmd[6], cmd[7], cmd[8], cmd[9]]);
        if cc == TPM2_CC_SET_LOCALITY {
            return self.vendor_set_locality(cmd).to_vec();
        }
        self.last_cc = cc;
        self.execute(self.locality, cmd)
    }

    fn vendor_set_locality(&mut self, cmd: &[u8]) -> [u8; 10] {
        if !self.cfg.allow_set_locality {
            return error_response(TPM_RC_FAILURE);
        }
        let Some(&loc) = cmd.get(framing::HEADER_LEN) else {
            return error_response(TPM_RC_INSUFFICIENT);
        };
        if loc > 4 || (loc == 4 && self.cfg.reject_locality_4) {
            return error_response(TPM_RC_LOCALITY);
        }
        self.locality = loc;
        error_response(0)
    }

    /// An oversized data-channel frame.
    pub fn oversized() -> [u8; 10] {
        error_response(TPM_RC_COMMAND_SIZE)
    }

    /// One control request → its reply (exact swtpm sizes) and what to do next.
    pub fn control(&mut self, req: &Request<'_>) -> (Reply, After) {
        use Request as R;
        let not_running = || (Reply::res(res::TPM_BAD_ORDINAL), After::Continue);
        let ok = |r: u32| (Reply::res(r), After::Continue);
        match *req {
            R::GetCapability => (
                Reply::res(res::TPM_SUCCESS).u32(ctrl::CAPABILITIES),
                After::Continue,
            ),
            R::Init { flags } => match self.init(flags) {
                Ok(()) => ok(res::TPM_SUCCESS),
                Err(e) => {
                    error!("could not initialize the TPM: {e}");
                    ok(res::TPM_FAIL)
                }
            },
            R::Stop => {
                self.auto_shutdown();
                self.running = false;
                ok(res::TPM_SUCCESS)
            }
            R::Shutdown => {
                self.auto_shutdown();
                self.running = false;
                (Reply::res(res::TPM_SUCCESS), After::Exit)
            }
            R::GetTpmEstablished if !self.running => not_running(),
            R::GetTpmEstablished => (
                Reply::res(res::TPM_SUCCESS).bytes(&[u8::from(self.tpm.established()), 0, 0, 0]),
                After::Continue,
            ),
            R::SetLocality(loc) => {
                if loc > 4 || (loc == 4 && self.cfg.reject_locality_4) {
                    ok(res::TPM_BAD_LOCALITY)
                } else {
                    self.locality = loc;
                    ok(res::TPM_SUCCESS)
                }
            }
            R::ResetTpmEstablished(_) if !self.running => not_running(),
            R::ResetTpmEstablished(loc) if loc > 4 => ok(res::TPM_BAD_LOCALITY),
            R::ResetTpmEstablished(loc) => {
                let r = self
                    .tpm
                    .reset_established(loc)
                    .err()
                    .unwrap_or(res::TPM_SUCCESS);
                if self.tpm.take_permanent_dirty() {
                    self.persist_permanent();
                }
                ok(r)
            }
            R::HashStart
            | R::HashData { .. }
            | R::HashEnd
            | R::CancelTpmCmd
            | R::StoreVolatile
            | R::GetStateBlob { .. }
                if !self.running =>
            {
                not_running()
            }
            R::HashStart => {
                self.tpm.hash_start();
                ok(res::TPM_SUCCESS)
            }
            R::HashData { len, data } => {
                if data.len() != len as usize {
                    return ok(res::TPM_IOERROR);
                }
                self.tpm.hash_data(data);
                ok(res::TPM_SUCCESS)
            }
            R::HashEnd => {
                self.tpm.hash_end();
                if self.tpm.take_permanent_dirty() {
                    self.persist_permanent();
                }
                ok(res::TPM_SUCCESS)
            }
            // Commands run to completion before the next request is read: nothing to cancel.
            R::CancelTpmCmd => ok(res::TPM_SUCCESS),
            R::StoreVolatile => {
                let blob = self.tpm.save(BlobType::Volatile);
                match self.store.write(VOLATILE, &blob) {
                    Ok(()) => ok(res::TPM_SUCCESS),
                    Err(e) => {
                        error!("STORE_VOLATILE: {e}");
                        ok(res::TPM_IOERROR)
                    }
                }
            }
            R::GetStateBlob {
                blob_type, offset, ..
            } => {
                let blob = blob_type_of(blob_type).map(|t| self.tpm.save(t));
                let r = if blob.is_some() {
                    res::TPM_SUCCESS
                } else {
                    res::TPM_FAIL
                };
                let blob = blob.unwrap_or_default();
                let part = blob.get(offset as usize..).unwrap_or(&[]);
                let reply = Reply::res(r)
                    .u32(0)
                    .u32(part.len() as u32)
                    .u32(part.len() as u32)
                    .bytes(part);
                (reply, After::Continue)
            }
            R::SetStateBlob { .. } if self.running => not_running(),
            R::SetStateBlob {
                flags,
                blob_type,
                len,
                data,
            } => ok(self.set_state_blob(flags, blob_type, len, data)),
            R::GetConfig => {
                let flags = if self.store.encrypted() {
                    ctrl::CONFIG_FLAG_FILE_KEY
                } else {
                    0
                };
                (Reply::res(res::TPM_SUCCESS).u32(flags), After::Continue)
            }
            // Handled by the server (it owns the fd); reaching here means no fd came along.
            R::SetDataFd => ok(res::TPM_BAD_PARAMETER),
            R::SetBufferSize(size) if size != 0 && self.running => not_running(),
            R::SetBufferSize(size) => {
                if size != 0 {
                    self.buffer_size = size.clamp(BUFFER_MIN, BUFFER_MAX);
                }
                let reply = Reply::res(res::TPM_SUCCESS)
                    .u32(self.buffer_size)
                    .u32(BUFFER_MIN)
                    .u32(BUFFER_MAX);
                (reply, After::Continue)
            }
            R::GetInfo { flags, offset } => {
                let json = ctrl::info_json(flags, INFO_SPEC, INFO_ATTRS, INFO_FEATURES);
                match ctrl::info_reply(&json, offset) {
                    Some(r) => (r, After::Continue),
                    None => ok(res::TPM_BAD_PARAMETER),
                }
            }
            // The state directory is locked for our whole lifetime.
            R::LockStorage { .. } => ok(res::TPM_SUCCESS),
            R::Unknown(c) => {
                error!("unknown control command {c:#010x}");
                ok(res::TPM_BAD_ORDINAL)
            }
        }
    }

    fn set_state_blob(&mut self, flags: u32, blob_type: u32, len: u32, data: &[u8]) -> u32 {
        if len > ctrl::MAX_STATE_BLOB {
            error!(
                "SET_STATEBLOB: {len} bytes is over the {} byte cap",
                ctrl::MAX_STATE_BLOB
            );
            return res::TPM_FAIL;
        }
        if data.len() != len as usize {
            return res::TPM_BAD_PARAMETER;
        }
        if flags & ctrl::STATE_FLAG_ENCRYPTED != 0 {
            error!("SET_STATEBLOB: encrypted blobs are not supported");
            return res::TPM_FAIL;
        }
        let Some(t) = blob_type_of(blob_type) else {
            return res::TPM_BAD_PARAMETER;
        };
        if t == BlobType::Permanent
            && let Err(e) = Tpm::restore(data, None)
        {
            error!("SET_STATEBLOB: permanent blob refused: {e}");
            return res::TPM_FAIL;
        }
        self.pending[blob_type as usize - 1] = Some(data.to_vec());
        res::TPM_SUCCESS
    }

    /// mssim `TPM_SIGNAL_PHYS_PRES_ON` / `_OFF`: the platform asserts physical presence.
    pub fn set_physical_presence(&mut self, asserted: bool) {
        self.tpm.set_physical_presence(asserted);
    }

    /// True between init (or mssim power-on) and stop/power-off.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// mssim power loss: no TPM2_Shutdown (the next power-on sees a non-orderly shutdown), but
    /// permanent state already changed is kept.
    pub fn power_off(&mut self) {
        if self.tpm.take_permanent_dirty() {
            self.persist_permanent();
        }
        self.running = false;
    }

    /// Called when the process ends without CMD_SHUTDOWN (terminate, signal).
    pub fn finish(&mut self) {
        if self.running {
            self.auto_shutdown();
        }
        // A data thread still connected must not run commands on a state already saved.
        self.running = false;
    }
}

fn blob_type_of(t: u32) -> Option<BlobType> {
    match t {
        1 => Some(BlobType::Permanent),
        2 => Some(BlobType::Volatile),
        3 => Some(BlobType::SaveState),
        _ => None,
    }
}

/// Builds the engine from disk (or from blobs received by SET_STATEBLOB). Returns whether a
/// volatile snapshot was resumed (then `_TPM_Init` must not run).
fn load_tpm(
    store: &StateDir,
    pending: Option<&[Option<Vec<u8>>; 3]>,
) -> Result<(Tpm, bool), StartError> {
    let pend = |i: usize| pending.and_then(|p| p[i].clone());
    let perm = match pend(0) {
        Some(b) => Some(b),
        None => store.read(PERMALL)?,
    };
    let vol = match pend(1) {
        Some(b) => Some(b),
        None => store.read(VOLATILE)?,
    };
    let corrupt = |name: &str, source| StartError::Corrupt {
        path: store.path(name),
        source,
    };
    let (mut tpm, resumed) = match perm {
        None => {
            info!("no {PERMALL}: manufacturing a new TPM");
            let mut tpm = Tpm::manufacture();
            let _ = tpm.take_permanent_dirty();
            store.write(PERMALL, &tpm.save(BlobType::Permanent))?;
            (tpm, false)
        }
        Some(perm) => {
            let tpm = Tpm::restore(&perm, None).map_err(|e| corrupt(PERMALL, e))?;
            match vol {
                None => (tpm, false),
                Some(vol) => (
                    Tpm::restore(&perm, Some(&vol)).map_err(|e| corrupt(VOLATILE, e))?,
                    true,
                ),
            }
        }
    };
    if let Some(ss) = pend(2) {
        tpm.load(BlobType::SaveState, &ss)
            .map_err(|e| corrupt("savestate blob", e))?;
    }
    Ok((tpm, resumed))
}
