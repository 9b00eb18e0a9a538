//! A bounded little-endian cursor: every read checks the bytes left, so no input can panic it.

use super::error::Truncated;

/// Reads fields front to back; offsets in errors are relative to `base`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader whose offsets are reported as `base + position`.
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Position within the buffer.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread rest, without consuming it.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes `n` bytes for `field`.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        if n > self.left() {
            return Err(Truncated {
                field,
                at: self.offset(),
                need: n,
                left: self.left(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes `n` bytes where `n` came from the input as a u64 (never allocates before checking).
    pub(crate) fn bytes64(&mut self, n: u64, field: &'static str) -> Result<&'a [u8], Truncated> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.bytes(n, field)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Truncated> {
        let b = self.bytes(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        self.array(field).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        self.array(field).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Truncated> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// A UEFI `UINTN` of `size` bytes (4 or 8; the Spec ID event's `uintnSize`).
    pub(crate) fn uintn(&mut self, size: usize, field: &'static str) -> Result<u64, Truncated> {
        if size == 4 {
            self.u32(field).map(u64::from)
        } else {
            self.u64(field)
        }
    }

    pub(crate) fn guid(&mut self, field: &'static str) -> Result<super::Guid, Truncated> {
        self.array(field).map(super::Guid)
    }

    pub(crate) fn fixed<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Truncated> {
        self.array(field)
    }
}
