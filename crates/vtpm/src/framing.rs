//! Data channel framing (reference vtpm.md §3): raw TPM 2.0 frames, or the TCG/mssim
//! `TPM_SEND_COMMAND` prefix `{u32 8, u8 locality, u32 size}`, auto-detected per command.

/// `TPM_SEND_COMMAND` of the TCG simulator protocol.
pub const TPM_SEND_COMMAND: u32 = 8;
/// Length of a TPM 2.0 command/response header `{u16 tag, u32 size, u32 code}`.
pub const HEADER_LEN: usize = 10;
/// Length of the TCG prefix.
pub const PREFIX_LEN: usize = 9;
/// `TPM_RC_FAILURE` (Part 2, 6.6.3): swtpm's reply before CMD_INIT.
pub const TPM_RC_FAILURE: u32 = 0x101;
/// `TPM_RC_COMMAND_SIZE`.
pub const TPM_RC_COMMAND_SIZE: u32 = 0x142;
/// `TPM_RC_LOCALITY`.
pub const TPM_RC_LOCALITY: u32 = 0x907;

/// What the front of the receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole frame yet.
    NeedMore,
    /// A complete command at `buf[start..end]`; the frame ends at `end`.
    Frame {
        /// `Some(locality)` for a TCG-prefixed frame.
        prefixed: Option<u8>,
        /// Start of the TPM command.
        start: usize,
        /// End of the TPM command and of the frame.
        end: usize,
    },
    /// The declared size exceeds the buffer size: answer TPM_RC_COMMAND_SIZE and skip
    /// `frame_len` bytes (some may not have arrived yet).
    Oversized {
        /// `Some(locality)` for a TCG-prefixed frame.
        prefixed: Option<u8>,
        /// Declared length of the whole frame.
        frame_len: u64,
    },
    /// A raw header whose size is below 10: the stream cannot be resynchronised.
    Malformed,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Looks at the start of `buf`; `max` is the largest command accepted (CMD_SET_BUFFERSIZE).
pub fn parse(buf: &[u8], max: usize) -> Parsed {
    if buf.len() < 4 {
        return Parsed::NeedMore;
    }
    let tag = u16::from_be_bytes([buf[0], buf[1]]);
    if tag != 0x8001 && tag != 0x8002 && be32(buf, 0) == TPM_SEND_COMMAND {
        if buf.len() < PREFIX_LEN {
            return Parsed::NeedMore;
        }
        let locality = buf[4];
        let size = be32(buf, 5) as usize;
        if size > max {
            return Parsed::Oversized {
                prefixed: Some(locality),
                frame_len: PREFIX_LEN as u64 + size as u64,
            };
        }
        if buf.len() < PREFIX_LEN + size {
            return Parsed::NeedMore;
        }
        return Parsed::Frame {
            prefixed: Some(locality),
            start: PREFIX_LEN,
            end: PREFIX_LEN + size,
        };
    }
    if buf.len() < 6 {
        return Parsed::NeedMore;
    }
    let size = be32(buf, 2) as usize;
    if size < HEADER_LEN {
        return Parsed::Malformed;
    }
    if size > max {
        return Parsed::Oversized {
            prefixed: None,
            frame_len: size as u64,
        };
    }
    if buf.len() < size {
        return Parsed::NeedMore;
    }
    Parsed::Frame {
        prefixed: None,
        start: 0,
        end: size,
    }
}

/// A 10-byte error response `8001 0000000A rc`.
pub fn error_response(rc: u32) -> [u8; 10] {
    let mut r = [0x80, 0x01, 0, 0, 0, 0x0A, 0, 0, 0, 0];
    r[6..].copy_from_slice(&rc.to_be_bytes());
    r
}

/// Appends a response to `out`, wrapped as `{u32 size} rsp {u32 0}` if the command was prefixed.
pub fn frame_response(out: &mut Vec<u8>, prefixed: bool, rsp: &[u8]) {
    if prefixed {
        out.extend_from_slice(&(rsp.len() as u32).to_be_bytes());
        out.extend_from_slice(rsp);
        out.extend_from_slice(&0u32.to_be_bytes());
    } else {
        out.extend_from_slice(rsp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTUP: [u8; 12] = [0x80, 1, 0, 0, 0, 0x0C, 0, 0, 1, 0x44, 0, 0];

    #[test]
    fn raw_frames_partial_and_pipelined() {
        for n in 0..STARTUP.len() {
            assert_eq!(parse(&STARTUP[..n], 4096), Parsed::NeedMore, "{n}");
        }
        let mut two = STARTUP.to_vec();
        two.extend_from_slice(&STARTUP[..5]);
        assert_eq!(
            parse(&two, 4096),
            Parsed::Frame {
                prefixed: None,
                start: 0,
                end: 12
            }
        );
    }

    #[test]
    fn tpm12_probe_is_raw() {
        let probe = [0x00, 0xC1, 0, 0, 0, 0x0A, 0, 0, 0, 0xF1];
        assert_eq!(
            parse(&probe, 4096),
            Parsed::Frame {
                prefixed: None,
                start: 0,
                end: 10
            }
        );
    }

    #[test]
    fn tcg_prefix() {
        let mut f = vec![0, 0, 0, 8, 3, 0, 0, 0, 12];
        assert_eq!(parse(&f, 4096), Parsed::NeedMore);
        f.extend_from_slice(&STARTUP);
        assert_eq!(
            parse(&f, 4096),
            Parsed::Frame {
                prefixed: Some(3),
                start: 9,
                end: 21
            }
        );
        let mut out = Vec::new();
        frame_response(&mut out, true, &error_response(0));
        assert_eq!(
            out,
            [0, 0, 0, 10, 0x80, 1, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn oversized_and_malformed() {
        let big = [0x80, 1, 0, 0, 0x10, 0x01, 0, 0, 1, 0x7E];
        assert_eq!(
            parse(&big, 4096),
            Parsed::Oversized {
                prefixed: None,
                frame_len: 4097
            }
        );
        assert_eq!(parse(&big, 8192), Parsed::NeedMore);
        let pre = [0, 0, 0, 8, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            parse(&pre, 4096),
            Parsed::Oversized {
                prefixed: Some(0),
                frame_len: 9 + 0xFFFF_FFFF
            }
        );
        assert_eq!(
            parse(&[0x80, 1, 0, 0, 0, 9, 0, 0, 0, 0], 4096),
            Parsed::Malformed
        );
        assert_eq!(
            error_response(TPM_RC_COMMAND_SIZE),
            [0x80, 1, 0, 0, 0, 10, 0, 0, 1, 0x42]
        );
    }
}
