//! NV storage structures (Part 2, 13 "NV Storage Structures").

use crate::constants::TPM_HT_NV_INDEX;
use crate::reader::{CodecError, Reader, Writer};
use crate::types::MAX_DIGEST_SIZE;

/// First handle of the NV index range (`NV_INDEX_FIRST`, Part 2, 7.5).
pub const NV_INDEX_FIRST: u32 = (TPM_HT_NV_INDEX as u32) << 24;
/// Last handle of the NV index range (`NV_INDEX_LAST`).
pub const NV_INDEX_LAST: u32 = NV_INDEX_FIRST | 0x00FF_FFFF;

/// True if `h` is in the NV index handle range (`TPMI_RH_NV_INDEX`, Part 2, 9.25).
pub const fn is_nv_index(h: u32) -> bool {
    h >> 24 == TPM_HT_NV_INDEX as u32
}

/// `TPM_NT` (Part 2, 13.4 Table "Definition of TPM_NT Constants"): the type of an NV index,
/// held in bits 7:4 of `TPMA_NV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpmNt {
    /// `TPM_NT_ORDINARY`: data written with TPM2_NV_Write.
    Ordinary = 0x0,
    /// `TPM_NT_COUNTER`: an 8-octet counter changed only by TPM2_NV_Increment.
    Counter = 0x1,
    /// `TPM_NT_BITS`: 8 octets changed only by TPM2_NV_SetBits.
    Bits = 0x2,
    /// `TPM_NT_EXTEND`: a digest changed only by TPM2_NV_Extend.
    Extend = 0x4,
    /// `TPM_NT_PIN_FAIL`: `TPMS_NV_PIN_COUNTER_PARAMETERS` counting failures.
    PinFail = 0x8,
    /// `TPM_NT_PIN_PASS`: `TPMS_NV_PIN_COUNTER_PARAMETERS` counting successes.
    PinPass = 0x9,
}

impl TpmNt {
    /// The type for a `TPM_NT` value, `None` for values the spec leaves unassigned.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0x0 => Some(TpmNt::Ordinary),
            0x1 => Some(TpmNt::Counter),
            0x2 => Some(TpmNt::Bits),
            0x4 => Some(TpmNt::Extend),
            0x8 => Some(TpmNt::PinFail),
            0x9 => Some(TpmNt::PinPass),
            _ => None,
        }
    }
}

/// `TPMA_NV` (Part 2, 13.4 Table "Definition of TPMA_NV Bits").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TpmaNv(pub u32);

impl TpmaNv {
    /// `TPMA_NV_PPWRITE`: platformAuth may authorize writes.
    pub const PPWRITE: u32 = 1 << 0;
    /// `TPMA_NV_OWNERWRITE`: ownerAuth may authorize writes.
    pub const OWNERWRITE: u32 = 1 << 1;
    /// `TPMA_NV_AUTHWRITE`: the index's authValue may authorize writes.
    pub const AUTHWRITE: u32 = 1 << 2;
    /// `TPMA_NV_POLICYWRITE`: the index's authPolicy may authorize writes.
    pub const POLICYWRITE: u32 = 1 << 3;
    /// Mask of the `TPM_NT` field (bits 7:4).
    pub const TPM_NT_MASK: u32 = 0xF << 4;
    /// `TPMA_NV_POLICY_DELETE`: only TPM2_NV_UndefineSpaceSpecial may delete the index.
    pub const POLICY_DELETE: u32 = 1 << 10;
    /// `TPMA_NV_WRITELOCKED`.
    pub const WRITELOCKED: u32 = 1 << 11;
    /// `TPMA_NV_WRITEALL`: a partial write is not allowed.
    pub const WRITEALL: u32 = 1 << 12;
    /// `TPMA_NV_WRITEDEFINE`: TPM2_NV_WriteLock locks until the index is deleted.
    pub const WRITEDEFINE: u32 = 1 << 13;
    /// `TPMA_NV_WRITE_STCLEAR`: TPM2_NV_WriteLock locks until the next TPM Reset/Restart.
    pub const WRITE_STCLEAR: u32 = 1 << 14;
    /// `TPMA_NV_GLOBALLOCK`: TPM2_NV_GlobalWriteLock locks this index.
    pub const GLOBALLOCK: u32 = 1 << 15;
    /// `TPMA_NV_PPREAD`.
    pub const PPREAD: u32 = 1 << 16;
    /// `TPMA_NV_OWNERREAD`.
    pub const OWNERREAD: u32 = 1 << 17;
    /// `TPMA_NV_AUTHREAD`.
    pub const AUTHREAD: u32 = 1 << 18;
    /// `TPMA_NV_POLICYREAD`.
    pub const POLICYREAD: u32 = 1 << 19;
    /// `TPMA_NV_NO_DA`: authorization failures do not count against dictionary-attack state.
    pub const NO_DA: u32 = 1 << 25;
    /// `TPMA_NV_ORDERLY`: may be kept in RAM until an orderly shutdown.
    pub const ORDERLY: u32 = 1 << 26;
    /// `TPMA_NV_CLEAR_STCLEAR`: WRITTEN is cleared by TPM Reset/Restart.
    pub const CLEAR_STCLEAR: u32 = 1 << 27;
    /// `TPMA_NV_READLOCKED`.
    pub const READLOCKED: u32 = 1 << 28;
    /// `TPMA_NV_WRITTEN`.
    pub const WRITTEN: u32 = 1 << 29;
    /// `TPMA_NV_PLATFORMCREATE`: defined with platformAuth (not removed by TPM2_Clear).
    pub const PLATFORMCREATE: u32 = 1 << 30;
    /// `TPMA_NV_READ_STCLEAR`: TPM2_NV_ReadLock may set READLOCKED.
    pub const READ_STCLEAR: u32 = 1 << 31;
    /// Reserved bits 9:8 and 24:20 (must be zero).
    pub const RESERVED: u32 = 0x01F0_0300;

    /// True if every bit of `mask` is set.
    pub const fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// The attributes with `mask` set (`on`) or cleared.
    #[must_use]
    pub const fn with(self, mask: u32, on: bool) -> Self {
        if on {
            TpmaNv(self.0 | mask)
        } else {
            TpmaNv(self.0 & !mask)
        }
    }

    /// The raw `TPM_NT` field.
    pub const fn nt_raw(self) -> u8 {
        ((self.0 & Self::TPM_NT_MASK) >> 4) as u8
    }

    /// The index type, `None` if the field holds an unassigned value.
    pub const fn nt(self) -> Option<TpmNt> {
        TpmNt::from_u8(self.nt_raw())
    }

    /// Reads the attributes; reserved bits set are `TPM_RC_RESERVED_BITS`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let v = r.u32()?;
        if v & Self::RESERVED != 0 {
            return Err(CodecError::ReservedBits(v & Self::RESERVED));
        }
        Ok(TpmaNv(v))
    }
}

/// `TPMS_NV_PUBLIC` (Part 2, 13.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmsNvPublic {
    /// `nvIndex` (`TPMI_RH_NV_INDEX`).
    pub nv_index: u32,
    /// `nameAlg` (`TPMI_ALG_HASH`).
    pub name_alg: u16,
    /// `attributes`.
    pub attributes: TpmaNv,
    /// `authPolicy` (`TPM2B_DIGEST`).
    pub auth_policy: Vec<u8>,
    /// `dataSize`.
    pub data_size: u16,
}

impl TpmsNvPublic {
    /// Reads the structure. An index handle outside the NV range is `TPM_RC_VALUE`, an unknown
    /// `nameAlg` is `TPM_RC_HASH`, reserved attribute bits are `TPM_RC_RESERVED_BITS`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let nv_index = r.u32()?;
        if !is_nv_index(nv_index) {
            return Err(CodecError::Value(nv_index));
        }
        Ok(TpmsNvPublic {
            nv_index,
            name_alg: r.hash_alg(false)?,
            attributes: TpmaNv::read(r)?,
            auth_policy: r.tpm2b(MAX_DIGEST_SIZE)?.to_vec(),
            data_size: r.u16()?,
        })
    }

    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.nv_index);
        out.put_u16(self.name_alg);
        out.put_u32(self.attributes.0);
        out.put_tpm2b(&self.auth_policy);
        out.put_u16(self.data_size);
    }

    /// The marshaled structure (what the index's Name digests).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(14 + self.auth_policy.len());
        self.write(&mut v);
        v
    }

    /// Reads a `TPM2B_NV_PUBLIC` (Part 2, 13.6): a zero size or a size that differs from the
    /// structure it announces is `TPM_RC_SIZE`.
    pub fn read_2b(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let size = usize::from(r.u16()?);
        if size == 0 {
            return Err(CodecError::Size { size, max: 0 });
        }
        let start = r.position();
        let p = Self::read(r)?;
        let used = r.position() - start;
        if used != size {
            return Err(CodecError::Size { size, max: used });
        }
        Ok(p)
    }

    /// Appends a `TPM2B_NV_PUBLIC`.
    pub fn write_2b(&self, out: &mut Vec<u8>) {
        out.put_tpm2b(&self.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::{TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512};
    use proptest::prelude::*;

    fn public() -> impl Strategy<Value = TpmsNvPublic> {
        (
            0u32..=0x00FF_FFFF,
            prop_oneof![
                Just(TPM_ALG_SHA1),
                Just(TPM_ALG_SHA256),
                Just(TPM_ALG_SHA384),
                Just(TPM_ALG_SHA512)
            ],
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..=64),
            any::<u16>(),
        )
            .prop_map(|(i, alg, a, pol, size)| TpmsNvPublic {
                nv_index: NV_INDEX_FIRST | i,
                name_alg: alg,
                attributes: TpmaNv(a & !TpmaNv::RESERVED),
                auth_policy: pol,
                data_size: size,
            })
    }

    proptest! {
        #[test]
        fn nv_public_round_trips(p in public()) {
            let mut out = Vec::new();
            p.write_2b(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmsNvPublic::read_2b(&mut r), Ok(p.clone()));
            prop_assert_eq!(r.finish(), Ok(()));
            let b = p.to_bytes();
            let mut r = Reader::new(&b);
            prop_assert_eq!(TpmsNvPublic::read(&mut r), Ok(p));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..48)) {
            let _ = TpmsNvPublic::read_2b(&mut Reader::new(&b));
            let _ = TpmsNvPublic::read(&mut Reader::new(&b));
        }
    }

    #[test]
    fn golden_nv_public() {
        // tpm2_nvdefine 0x1500016 -s 32 with its default attributes
        // (ownerwrite|authwrite|ownerread|authread = 0x00060006), sha256, no policy.
        let p = TpmsNvPublic {
            nv_index: 0x0150_0016,
            name_alg: TPM_ALG_SHA256,
            attributes: TpmaNv(0x0006_0006),
            auth_policy: vec![],
            data_size: 32,
        };
        let mut out = Vec::new();
        p.write_2b(&mut out);
        assert_eq!(
            out,
            [
                0x00, 0x0E, 0x01, 0x50, 0x00, 0x16, 0x00, 0x0B, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00,
                0x00, 0x20
            ]
        );
        assert_eq!(p.attributes.nt(), Some(TpmNt::Ordinary));
        assert!(p.attributes.has(TpmaNv::OWNERREAD | TpmaNv::AUTHWRITE));
        assert!(!p.attributes.has(TpmaNv::PPREAD));
    }

    #[test]
    fn rejects_reserved_bits_bad_handle_and_size_mismatch() {
        let good = [
            0x00, 0x0E, 0x01, 0x50, 0x00, 0x16, 0x00, 0x0B, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00,
            0x00, 0x20,
        ];
        let mut b = good;
        b[10] = 0x03; // bits 8 and 9
        assert_eq!(
            TpmsNvPublic::read_2b(&mut Reader::new(&b)),
            Err(CodecError::ReservedBits(0x300))
        );
        let mut b = good;
        b[2] = 0x81;
        assert_eq!(
            TpmsNvPublic::read_2b(&mut Reader::new(&b)),
            Err(CodecError::Value(0x8150_0016))
        );
        let mut b = good;
        b[1] = 0x0F;
        let mut v = b.to_vec();
        v.push(0);
        assert_eq!(
            TpmsNvPublic::read_2b(&mut Reader::new(&v)),
            Err(CodecError::Size { size: 15, max: 14 })
        );
        assert_eq!(
            TpmsNvPublic::read_2b(&mut Reader::new(&[0, 0])),
            Err(CodecError::Size { size: 0, max: 0 })
        );
        let mut b = good;
        b[7] = 0x10; // TPM_ALG_NULL is not a TPMI_ALG_HASH here
        assert_eq!(
            TpmsNvPublic::read_2b(&mut Reader::new(&b)),
            Err(CodecError::Hash(0x0010))
        );
    }
}
