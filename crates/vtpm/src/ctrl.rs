//! swtpm control channel (`CMD_*`, swtpm `include/swtpm/tpm_ioctl.h`): request parsing and
//! reply encoding. No length field on the wire: a request is what arrived, completed up to the
//! size its command implies (reference vtpm.md §2).

/// `CMD_*` codes (tpm_ioctl.h).
pub mod cmd {
    #![allow(missing_docs)]
    pub const GET_CAPABILITY: u32 = 0x01;
    pub const INIT: u32 = 0x02;
    pub const SHUTDOWN: u32 = 0x03;
    pub const GET_TPMESTABLISHED: u32 = 0x04;
    pub const SET_LOCALITY: u32 = 0x05;
    pub const HASH_START: u32 = 0x06;
    pub const HASH_DATA: u32 = 0x07;
    pub const HASH_END: u32 = 0x08;
    pub const CANCEL_TPM_CMD: u32 = 0x09;
    pub const STORE_VOLATILE: u32 = 0x0A;
    pub const RESET_TPMESTABLISHED: u32 = 0x0B;
    pub const GET_STATEBLOB: u32 = 0x0C;
    pub const SET_STATEBLOB: u32 = 0x0D;
    pub const STOP: u32 = 0x0E;
    pub const GET_CONFIG: u32 = 0x0F;
    pub const SET_DATAFD: u32 = 0x10;
    pub const SET_BUFFERSIZE: u32 = 0x11;
    pub const GET_INFO: u32 = 0x12;
    pub const LOCK_STORAGE: u32 = 0x13;
}

/// TPM 1.2 result codes swtpm returns on the control channel (TPM 1.2 Part 2, 16).
pub mod res {
    #![allow(missing_docs)]
    pub const TPM_SUCCESS: u32 = 0x00;
    pub const TPM_BAD_PARAMETER: u32 = 0x03;
    pub const TPM_FAIL: u32 = 0x09;
    pub const TPM_BAD_ORDINAL: u32 = 0x0A;
    pub const TPM_IOERROR: u32 = 0x1F;
    pub const TPM_BAD_LOCALITY: u32 = 0x3D;
}

/// `PTM_CAP_*` bits we implement: all of swtpm ≥ 0.8 (0x1FFFF).
pub const CAPABILITIES: u32 = 0x0001_FFFF;
/// `PTM_INIT_FLAG_DELETE_VOLATILE`.
pub const INIT_FLAG_DELETE_VOLATILE: u32 = 1;
/// `PTM_STATE_FLAG_ENCRYPTED` (input of SET_STATEBLOB, output of GET_STATEBLOB).
pub const STATE_FLAG_ENCRYPTED: u32 = 2;
/// `PTM_CONFIG_FLAG_FILE_KEY`: GET_CONFIG with `--key`.
pub const CONFIG_FLAG_FILE_KEY: u32 = 1;
/// swtpm's cap on an incoming state blob.
pub const MAX_STATE_BLOB: u32 = 512 * 1024;
/// `PTM_GETINFO_SIZE`: most JSON bytes one GET_INFO reply carries.
pub const GETINFO_SIZE: usize = 3 * 1024;

/// A parsed control request. Missing trailing bytes read as zero (tcti-swtpm sends short
/// SET_LOCALITY), extra bytes are ignored (QEMU pads to the ioctl union).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// CMD_GET_CAPABILITY.
    GetCapability,
    /// CMD_INIT.
    Init {
        /// `PTM_INIT_FLAG_*`.
        flags: u32,
    },
    /// CMD_SHUTDOWN.
    Shutdown,
    /// CMD_GET_TPMESTABLISHED.
    GetTpmEstablished,
    /// CMD_SET_LOCALITY.
    SetLocality(u8),
    /// CMD_HASH_START.
    HashStart,
    /// CMD_HASH_DATA: `len` declared bytes, of which `data` arrived with the header.
    HashData {
        /// Declared total length.
        len: u32,
        /// The bytes that arrived so far (at most `len`).
        data: &'a [u8],
    },
    /// CMD_HASH_END.
    HashEnd,
    /// CMD_CANCEL_TPM_CMD.
    CancelTpmCmd,
    /// CMD_STORE_VOLATILE.
    StoreVolatile,
    /// CMD_RESET_TPMESTABLISHED.
    ResetTpmEstablished(u8),
    /// CMD_GET_STATEBLOB.
    GetStateBlob {
        /// `PTM_STATE_FLAG_*`.
        flags: u32,
        /// `PTM_BLOB_TYPE_*`.
        blob_type: u32,
        /// Offset into the blob.
        offset: u32,
    },
    /// CMD_SET_STATEBLOB.
    SetStateBlob {
        /// `PTM_STATE_FLAG_*`.
        flags: u32,
        /// `PTM_BLOB_TYPE_*`.
        blob_type: u32,
        /// Declared length.
        len: u32,
        /// The bytes that arrived so far (at most `len`).
        data: &'a [u8],
    },
    /// CMD_STOP.
    Stop,
    /// CMD_GET_CONFIG.
    GetConfig,
    /// CMD_SET_DATAFD (the fd travels in SCM_RIGHTS).
    SetDataFd,
    /// CMD_SET_BUFFERSIZE (0 = query).
    SetBufferSize(u32),
    /// CMD_GET_INFO.
    GetInfo {
        /// `SWTPM_INFO_*` bits.
        flags: u64,
        /// Offset into the JSON string.
        offset: u32,
    },
    /// CMD_LOCK_STORAGE.
    LockStorage {
        /// Retries (10 ms apart).
        retries: u32,
    },
    /// Anything else: TPM_BAD_ORDINAL.
    Unknown(u32),
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    for (i, x) in w.iter_mut().enumerate() {
        *x = b.get(at + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(w)
}

fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at + 4))
}

/// How many bytes (command word included) a request needs before it can be handled.
/// HASH_DATA and SET_STATEBLOB include their payload; callers cap what they buffer.
pub fn needed(msg: &[u8]) -> usize {
    if msg.len() < 4 {
        return 4;
    }
    let hdr_plus = |hdr: usize, len_at: usize| -> usize {
        if msg.len() >= len_at + 4 {
            hdr + be32(msg, len_at) as usize
        } else {
            hdr
        }
    };
    match be32(msg, 0) {
        cmd::INIT | cmd::SET_BUFFERSIZE | cmd::LOCK_STORAGE => 8,
        cmd::SET_LOCALITY | cmd::RESET_TPMESTABLISHED => 5,
        cmd::HASH_DATA => hdr_plus(8, 4),
        cmd::GET_STATEBLOB => 16,
        cmd::SET_STATEBLOB => hdr_plus(16, 12),
        cmd::GET_INFO => 20,
        _ => 4,
    }
}

/// Parses one request. `msg` is at least the 4-byte command word; see [`Request`] for padding.
pub fn parse(msg: &[u8]) -> Request<'_> {
    let body = |from: usize, len: u32| -> &[u8] {
        let end = msg.len().min(from.saturating_add(len as usize));
        msg.get(from..end).unwrap_or(&[])
    };
    match be32(msg, 0) {
        cmd::GET_CAPABILITY => Request::GetCapability,
        cmd::INIT => Request::Init {
            flags: be32(msg, 4),
        },
        cmd::SHUTDOWN => Request::Shutdown,
        cmd::GET_TPMESTABLISHED => Request::GetTpmEstablished,
        cmd::SET_LOCALITY => Request::SetLocality(msg.get(4).copied().unwrap_or(0)),
        cmd::HASH_START => Request::HashStart,
        cmd::HASH_DATA => {
            let len = be32(msg, 4);
            Request::HashData {
                len,
                data: body(8, len),
            }
        }
        cmd::HASH_END => Request::HashEnd,
        cmd::CANCEL_TPM_CMD => Request::CancelTpmCmd,
        cmd::STORE_VOLATILE => Request::StoreVolatile,
        cmd::RESET_TPMESTABLISHED => Request::ResetTpmEstablished(msg.get(4).copied().unwrap_or(0)),
        cmd::GET_STATEBLOB => Request::GetStateBlob {
            flags: be32(msg, 4),
            blob_type: be32(msg, 8),
            offset: be32(msg, 12),
        },
        cmd::SET_STATEBLOB => {
            let len = be32(msg, 12);
            Request::SetStateBlob {
                flags: be32(msg, 4),
                blob_type: be32(msg, 8),
                len,
                data: body(16, len),
            }
        }
        cmd::STOP => Request::Stop,
        cmd::GET_CONFIG => Request::GetConfig,
        cmd::SET_DATAFD => Request::SetDataFd,
        cmd::SET_BUFFERSIZE => Request::SetBufferSize(be32(msg, 4)),
        cmd::GET_INFO => Request::GetInfo {
            flags: be64(msg, 4),
            offset: be32(msg, 12),
        },
        cmd::LOCK_STORAGE => Request::LockStorage {
            retries: be32(msg, 4),
        },
        other => Request::Unknown(other),
    }
}

/// Reply builder: big-endian words, written with one `write`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply(pub Vec<u8>);

impl Reply {
    /// `u32 res` alone.
    pub fn res(res: u32) -> Reply {
        Reply(res.to_be_bytes().to_vec())
    }
    /// Appends a big-endian `u32`.
    pub fn u32(mut self, v: u32) -> Reply {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends raw bytes.
    pub fn bytes(mut self, b: &[u8]) -> Reply {
        self.0.extend_from_slice(b);
        self
    }
}

/// GET_INFO flag bits (swtpm `SWTPM_INFO_*` = libtpms `TPMLIB_INFO_*`).
pub mod info {
    #![allow(missing_docs)]
    pub const TPMSPECIFICATION: u64 = 1;
    pub const TPMATTRIBUTES: u64 = 2;
    pub const TPMFEATURES: u64 = 4;
}

/// Builds the GET_INFO JSON for `flags` (libtpms joins the selected members in one object).
pub fn info_json(flags: u64, spec: &str, attrs: &str, features: &str) -> String {
    let mut parts = Vec::new();
    if flags & info::TPMSPECIFICATION != 0 {
        parts.push(spec);
    }
    if flags & info::TPMATTRIBUTES != 0 {
        parts.push(attrs);
    }
    if flags & info::TPMFEATURES != 0 {
        parts.push(features);
    }
    format!("{{{}}}", parts.join(","))
}

/// Encodes a GET_INFO reply for `json` at `offset`; `None` if `offset` is past the string
/// (TPM_BAD_PARAMETER, as swtpm).
pub fn info_reply(json: &str, offset: u32) -> Option<Reply> {
    let mut z = json.as_bytes().to_vec();
    if offset as usize >= z.len() {
        return None;
    }
    z.push(0); // swtpm counts and sends the terminating NUL
    let chunk = &z[offset as usize..];
    let chunk = &chunk[..chunk.len().min(GETINFO_SIZE)];
    Some(
        Reply::res(res::TPM_SUCCESS)
            .u32(z.len() as u32)
            .u32(chunk.len() as u32)
            .bytes(chunk),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_locality_short_and_padded() {
        assert_eq!(needed(&[0, 0, 0, 5]), 5);
        assert_eq!(parse(&[0, 0, 0, 5, 3]), Request::SetLocality(3));
        assert_eq!(parse(&[0, 0, 0, 5, 2, 0, 0, 0]), Request::SetLocality(2));
        assert_eq!(
            parse(&[0, 0, 0, 0x0B, 3, 0, 0, 0]),
            Request::ResetTpmEstablished(3)
        );
    }

    #[test]
    fn fixed_sizes() {
        assert_eq!(needed(&[0, 0]), 4);
        assert_eq!(needed(&[0, 0, 0, 1]), 4);
        assert_eq!(needed(&[0, 0, 0, 2]), 8);
        assert_eq!(needed(&[0, 0, 0, 0x0C]), 16);
        assert_eq!(needed(&[0, 0, 0, 0x12]), 20);
        assert_eq!(parse(&[0, 0, 0, 2, 0, 0, 0, 1]), Request::Init { flags: 1 });
        // a short INIT (after the read deadline) means flags 0
        assert_eq!(parse(&[0, 0, 0, 2]), Request::Init { flags: 0 });
        assert_eq!(
            parse(&[0, 0, 0, 0x11, 0, 0, 0x10, 0]),
            Request::SetBufferSize(4096)
        );
        assert_eq!(parse(&[0, 0, 0, 0x99]), Request::Unknown(0x99));
        let gi = [
            0, 0, 0, 0x12, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0,
        ];
        assert_eq!(
            parse(&gi),
            Request::GetInfo {
                flags: 3,
                offset: 7
            }
        );
    }

    #[test]
    fn variable_payloads() {
        let mut m = vec![0, 0, 0, 7, 0, 0, 0, 3, b'a'];
        assert_eq!(needed(&m), 11);
        assert_eq!(parse(&m), Request::HashData { len: 3, data: b"a" });
        m.extend_from_slice(b"bcXX");
        assert_eq!(
            parse(&m),
            Request::HashData {
                len: 3,
                data: b"abc"
            }
        );
        let s = [0, 0, 0, 0x0D, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 9];
        assert_eq!(needed(&s[..12]), 16);
        assert_eq!(needed(&s), 18);
        assert_eq!(
            parse(&s),
            Request::SetStateBlob {
                flags: 0,
                blob_type: 1,
                len: 2,
                data: &[9]
            }
        );
    }

    #[test]
    fn info_reply_counts_nul_and_rejects_offset() {
        let j = info_json(1, "\"A\":1", "\"B\":2", "\"C\":3");
        assert_eq!(j, "{\"A\":1}");
        assert_eq!(info_json(3, "\"A\":1", "\"B\":2", "x"), "{\"A\":1,\"B\":2}");
        let r = info_reply(&j, 0).unwrap().0;
        assert_eq!(&r[..12], &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8]);
        assert_eq!(&r[12..], b"{\"A\":1}\0");
        assert_eq!(&info_reply(&j, 6).unwrap().0[8..], &[0, 0, 0, 2, b'}', 0]);
        assert!(info_reply(&j, 7).is_none());
    }
}
