//! A bounded cursor over untrusted bytes (modelled on rustls' `Reader`): every read is checked,
//! every failure is a typed reason that maps onto a TPM response code.

use crate::constants::{
    TPM_RC_HASH, TPM_RC_INSUFFICIENT, TPM_RC_RESERVED_BITS, TPM_RC_SIZE, TPM_RC_VALUE,
};

/// Why bytes could not be unmarshaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended before the value did.
    #[error("truncated: need {need} more bytes at offset {at}")]
    Insufficient {
        /// Offset at which the read started.
        at: usize,
        /// Bytes that were missing.
        need: usize,
    },
    /// A size or count field exceeds the type's bound (or bytes are left over).
    #[error("size {size} exceeds the bound {max}")]
    Size {
        /// The size or count found.
        size: usize,
        /// The type's bound.
        max: usize,
    },
    /// Bytes were left after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A value outside the type's domain.
    #[error("value {0:#x} is out of range")]
    Value(u32),
    /// An algorithm that is not a known hash.
    #[error("{0:#06x} is not a supported hash algorithm")]
    Hash(u16),
    /// Bits the type reserves are set (the value holds the offending bits).
    #[error("reserved bits {0:#x} are set")]
    ReservedBits(u32),
}

impl CodecError {
    /// The base `TPM_RC_*` code (without parameter/handle/session number) for this failure.
    pub const fn rc(self) -> u32 {
        match self {
            CodecError::Insufficient { .. } => TPM_RC_INSUFFICIENT,
            CodecError::Size { .. } | CodecError::Trailing(_) => TPM_RC_SIZE,
            CodecError::Value(_) => TPM_RC_VALUE,
            CodecError::Hash(_) => TPM_RC_HASH,
            CodecError::ReservedBits(_) => TPM_RC_RESERVED_BITS,
        }
    }
}

/// A cursor over a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub const fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unconsumed bytes (without consuming them).
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let at = self.pos;
        let end = at.checked_add(n).filter(|&e| e <= self.buf.len());
        match end.and_then(|e| self.buf.get(at..e)) {
            Some(s) => {
                self.pos = at + n;
                Ok(s)
            }
            None => Err(CodecError::Insufficient {
                at,
                need: n - self.remaining().min(n),
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A `UINT8`.
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `UINT16`.
    pub fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `UINT32`.
    pub fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `UINT64`.
    pub fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `TPM2B_*`: `UINT16 size` then `size` bytes, `size <= max` (Part 2, 10.4).
    pub fn tpm2b(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        let size = usize::from(self.u16()?);
        if size > max {
            return Err(CodecError::Size { size, max });
        }
        self.take(size)
    }

    /// A `TPML_*`: `UINT32 count` then `count` elements read by `element`, `count <= max` (Part 2,
    /// 10.9). The bound is checked before anything is allocated.
    pub fn list<T>(
        &mut self,
        max: usize,
        mut element: impl FnMut(&mut Self) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        let count = self.u32()? as usize;
        if count > max {
            return Err(CodecError::Size { size: count, max });
        }
        let mut v = Vec::with_capacity(count);
        for _ in 0..count {
            v.push(element(self)?);
        }
        Ok(v)
    }

    /// A `TPMI_YES_NO` (Part 2, 9.2): 0 or 1.
    pub fn yes_no(&mut self) -> Result<bool, CodecError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(CodecError::Value(v.into())),
        }
    }

    /// A `TPMI_ALG_HASH` (Part 2, 9.27) restricted to the hashes this crate knows; `TPM_ALG_NULL`
    /// only if `allow_null`.
    pub fn hash_alg(&mut self, allow_null: bool) -> Result<u16, CodecError> {
        let alg = self.u16()?;
        if crate::constants::digest_size(alg).is_some()
            || (allow_null && alg == crate::constants::TPM_ALG_NULL)
        {
            Ok(alg)
        } else {
            Err(CodecError::Hash(alg))
        }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(CodecError::Trailing(n)),
        }
    }
}

/// Appends big-endian integers and sized buffers to a `Vec<u8>`.
pub trait Writer {
    /// Appends a `UINT8`.
    fn put_u8(&mut self, v: u8);
    /// Appends a big-endian `UINT16`.
    fn put_u16(&mut self, v: u16);
    /// Appends a big-endian `UINT32`.
    fn put_u32(&mut self, v: u32);
    /// Appends a big-endian `UINT64`.
    fn put_u64(&mut self, v: u64);
    /// Appends a `TPM2B`: `UINT16` size, then the bytes. Callers keep `b.len() <= u16::MAX`.
    fn put_tpm2b(&mut self, b: &[u8]);
    /// Overwrites a big-endian `UINT32` at `at` (for size fields written before their content).
    fn patch_u32(&mut self, at: usize, v: u32);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_tpm2b(&mut self, b: &[u8]) {
        let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
        self.put_u16(len);
        self.extend_from_slice(b.get(..usize::from(len)).unwrap_or(b));
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(dst) = self.get_mut(at..at + 4) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_read_reports_offset_and_missing_bytes() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.u16(), Ok(1));
        assert_eq!(r.u32(), Err(CodecError::Insufficient { at: 2, need: 3 }));
        // A failed read consumes nothing.
        assert_eq!(r.u8(), Ok(2));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn tpm2b_bound_is_enforced() {
        let mut r = Reader::new(&[0, 3, 1, 2, 3]);
        assert_eq!(
            r.clone().tpm2b(2),
            Err(CodecError::Size { size: 3, max: 2 })
        );
        assert_eq!(r.tpm2b(3), Ok(&[1u8, 2, 3][..]));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let r = Reader::new(&[0]);
        assert_eq!(r.finish(), Err(CodecError::Trailing(1)));
    }

    #[test]
    fn yes_no_rejects_two() {
        assert_eq!(Reader::new(&[2]).yes_no(), Err(CodecError::Value(2)));
    }
}
