//! A minimal DER TLV walker (X.690 §8.1) that keeps raw bytes: signatures cover exact encodings
//! (signedAttrs, TBSCertificate), which a decode/re-encode round trip through `SET OF` sorting
//! would not preserve.

/// Why a TLV could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// Ran out of bytes.
    #[error("DER offset {offset}: {what} truncated")]
    Truncated {
        /// Offset relative to the start of the outer structure.
        offset: usize,
        /// Which part.
        what: &'static str,
    },
    /// Indefinite or over-long length.
    #[error("DER offset {offset}: unsupported length encoding 0x{first:02x}")]
    BadLength {
        /// Offset of the length octets.
        offset: usize,
        /// First length octet.
        first: u8,
    },
    /// A different tag than expected.
    #[error("DER offset {offset}: expected {what} (tag 0x{expected:02x}), found tag 0x{found:02x}")]
    UnexpectedTag {
        /// Offset of the tag.
        offset: usize,
        /// Structure expected.
        what: &'static str,
        /// Tag expected.
        expected: u8,
        /// Tag found.
        found: u8,
    },
}

/// One element: its tag, its full encoding and its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Offset of the tag from the reader's base.
    pub offset: usize,
    /// Tag octet (single-byte tags only).
    pub tag: u8,
    /// Tag + length + contents.
    pub raw: &'a [u8],
    /// Contents only.
    pub value: &'a [u8],
}

/// A cursor over consecutive TLVs.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// Reads `data`, reporting offsets as `base + position`.
    pub fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// Reader over the contents of `t`.
    pub fn inside(t: &Tlv<'a>) -> Self {
        Reader::new(t.value, t.offset + (t.raw.len() - t.value.len()))
    }

    /// True when no bytes remain.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Reads the next element.
    pub fn next_tlv(&mut self, what: &'static str) -> Result<Tlv<'a>, TlvError> {
        let start = self.pos;
        let at = |o: usize| self.base + o;
        let tag = *self.data.get(start).ok_or(TlvError::Truncated {
            offset: at(start),
            what,
        })?;
        let first = *self.data.get(start + 1).ok_or(TlvError::Truncated {
            offset: at(start + 1),
            what,
        })?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(TlvError::BadLength {
                    offset: at(start + 1),
                    first,
                });
            }
            let bytes = self
                .data
                .get(start + 2..start + 2 + n)
                .ok_or(TlvError::Truncated {
                    offset: at(start + 1),
                    what,
                })?;
            (
                bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize),
                2 + n,
            )
        };
        let end = start
            .checked_add(hdr)
            .and_then(|x| x.checked_add(len))
            .filter(|&e| e <= self.data.len())
            .ok_or(TlvError::Truncated {
                offset: at(start),
                what,
            })?;
        self.pos = end;
        Ok(Tlv {
            offset: at(start),
            tag,
            raw: &self.data[start..end],
            value: &self.data[start + hdr..end],
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, TlvError> {
        let t = self.next_tlv(what)?;
        if t.tag != tag {
            return Err(TlvError::UnexpectedTag {
                offset: t.offset,
                what,
                expected: tag,
                found: t.tag,
            });
        }
        Ok(t)
    }
}

/// `SEQUENCE` / `SET` / context tags used by CMS.
pub const SEQUENCE: u8 = 0x30;
/// `SET`.
pub const SET: u8 = 0x31;
/// `[0]` constructed.
pub const CTX0: u8 = 0xa0;
/// `[1]` constructed.
pub const CTX1: u8 = 0xa1;

/// Encodes one definite-length TLV (X.690 §8.1.3) with a single-byte tag.
pub(crate) fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut d = vec![0x30, 0x81, 0x80];
        d.extend([0u8; 0x80]);
        d.extend([0x04, 0x01, 0x55]);
        let mut r = Reader::new(&d, 10);
        let t = r.expect(SEQUENCE, "seq").unwrap();
        assert_eq!((t.offset, t.value.len(), t.raw.len()), (10, 0x80, 0x83));
        let o = r.next_tlv("octets").unwrap();
        assert_eq!((o.offset, o.value), (10 + 0x83, &[0x55][..]));
        assert!(r.is_empty());
    }

    #[test]
    fn errors_name_offsets() {
        assert_eq!(
            Reader::new(&[0x30, 0x05, 1], 7).next_tlv("x"),
            Err(TlvError::Truncated {
                offset: 7,
                what: "x"
            })
        );
        assert_eq!(
            Reader::new(&[0x30, 0x80], 0).next_tlv("x"),
            Err(TlvError::BadLength {
                offset: 1,
                first: 0x80
            })
        );
        assert!(matches!(
            Reader::new(&[0x31, 0x00], 0).expect(SEQUENCE, "x"),
            Err(TlvError::UnexpectedTag { found: 0x31, .. })
        ));
        assert_eq!(
            Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 0).next_tlv("x"),
            Err(TlvError::Truncated {
                offset: 0,
                what: "x"
            })
        );
    }

    #[test]
    fn encode_uses_short_and_long_lengths() {
        assert_eq!(encode(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = encode(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&long, 0);
        assert_eq!(r.expect(0x04, "x").unwrap().value.len(), 300);
    }
}
