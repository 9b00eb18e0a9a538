//! Little-endian field reads for the UEFI/PE structures; callers check the bounds first.

/// The `u16` at `b[at..at + 2]`.
pub(super) fn rd16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The `u32` at `b[at..at + 4]`.
pub(super) fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
