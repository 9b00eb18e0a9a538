//! Command and response headers (Part 1, 18 "Command/Response Structure"; Part 3, 5.2) and a few
//! ready-made commands the daemon sends on its own.

use crate::constants::{TPM_CC_SHUTDOWN, TPM_CC_STARTUP, TPM_ST_NO_SESSIONS};
use crate::reader::{CodecError, Reader, Writer};

/// Size of a command or response header.
pub const HEADER_SIZE: usize = 10;

/// `{ TPMI_ST_COMMAND_TAG tag, UINT32 commandSize, TPM_CC commandCode }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandHeader {
    /// `TPM_ST_NO_SESSIONS` or `TPM_ST_SESSIONS` (any value is representable; the engine judges).
    pub tag: u16,
    /// Total frame size including the header.
    pub size: u32,
    /// Command code.
    pub cc: u32,
}

impl CommandHeader {
    /// Reads the 10-byte header.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(CommandHeader {
            tag: r.u16()?,
            size: r.u32()?,
            cc: r.u32()?,
        })
    }

    /// Appends the 10-byte header.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.tag);
        out.put_u32(self.size);
        out.put_u32(self.cc);
    }
}

/// `{ TPM_ST tag, UINT32 responseSize, TPM_RC responseCode }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHeader {
    /// `TPM_ST_NO_SESSIONS` or `TPM_ST_SESSIONS`.
    pub tag: u16,
    /// Total frame size including the header.
    pub size: u32,
    /// Response code.
    pub rc: u32,
}

impl ResponseHeader {
    /// Reads the 10-byte header.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(ResponseHeader {
            tag: r.u16()?,
            size: r.u32()?,
            rc: r.u32()?,
        })
    }

    /// Parses the header of a complete response frame (`size` must equal the frame length).
    pub fn parse_frame(frame: &[u8]) -> Result<Self, CodecError> {
        let h = Self::read(&mut Reader::new(frame))?;
        if usize::try_from(h.size).ok() != Some(frame.len()) {
            return Err(CodecError::Size {
                size: h.size as usize,
                max: frame.len(),
            });
        }
        Ok(h)
    }
}

/// A complete error response: `TPM_ST_NO_SESSIONS`, size 10, `rc`.
pub fn error_response(rc: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_SIZE);
    v.put_u16(TPM_ST_NO_SESSIONS);
    v.put_u32(HEADER_SIZE as u32);
    v.put_u32(rc);
    v
}

/// `TPM2_Startup(startupType)` (Part 3, 9.3), e.g. `TPM_SU_CLEAR` for `--flags startup-clear`.
pub fn startup_command(su: u16) -> [u8; 12] {
    su_command(TPM_CC_STARTUP, su)
}

/// `TPM2_Shutdown(shutdownType)` (Part 3, 9.4), e.g. `TPM_SU_STATE` before CMD_SHUTDOWN/STOP.
pub fn shutdown_command(su: u16) -> [u8; 12] {
    su_command(TPM_CC_SHUTDOWN, su)
}

fn su_command(cc: u32, su: u16) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..2].copy_from_slice(&TPM_ST_NO_SESSIONS.to_be_bytes());
    b[2..6].copy_from_slice(&12u32.to_be_bytes());
    b[6..10].copy_from_slice(&cc.to_be_bytes());
    b[10..].copy_from_slice(&su.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::{TPM_SU_CLEAR, TPM_SU_STATE};

    #[test]
    fn startup_clear_matches_qemu_bytes() {
        // reference/vtpm.md §2: `8001 0000000C 00000144 0000`.
        assert_eq!(
            startup_command(TPM_SU_CLEAR),
            [0x80, 0x01, 0, 0, 0, 0x0C, 0, 0, 0x01, 0x44, 0, 0]
        );
        assert_eq!(
            shutdown_command(TPM_SU_STATE),
            [0x80, 0x01, 0, 0, 0, 0x0C, 0, 0, 0x01, 0x45, 0, 1]
        );
    }

    #[test]
    fn response_frame_size_must_match() {
        let f = error_response(0x100);
        assert_eq!(
            ResponseHeader::parse_frame(&f),
            Ok(ResponseHeader {
                tag: 0x8001,
                size: 10,
                rc: 0x100
            })
        );
        assert!(ResponseHeader::parse_frame(&f[..9]).is_err());
    }
}
