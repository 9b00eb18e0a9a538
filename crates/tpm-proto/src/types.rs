//! Structures used by the PCR, capability and session commands (Part 2, sections cited per type).

use crate::constants::{TPM_RS_PW, digest_size};
use crate::reader::{CodecError, Reader, Writer};

/// Largest `sizeofSelect` this crate represents (64 PCRs).
pub const PCR_SELECT_MAX_REPR: usize = 8;
/// Bound on list counts in `TPML_PCR_SELECTION` / `TPML_DIGEST_VALUES` for the codec: a TPM
/// cannot implement more hash algorithms than there are assigned ones; engines bound further.
pub const MAX_HASH_LIST: usize = 16;
/// Size of the largest digest (`sizeof(TPMU_HA)`, SHA-512).
pub const MAX_DIGEST_SIZE: usize = 64;

/// `TPMS_PCR_SELECTION` (Part 2, 10.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpmsPcrSelection {
    /// `hash`: the bank.
    pub hash: u16,
    /// `sizeofSelect`.
    pub size_of_select: u8,
    /// `pcrSelect`; bytes past `size_of_select` are zero.
    pub pcr_select: [u8; PCR_SELECT_MAX_REPR],
}

impl TpmsPcrSelection {
    /// A selection of `hash` with the PCRs of bitmap `bits` (bit n = PCR n), `size` select bytes.
    pub fn new(hash: u16, size: u8, bits: u64) -> Self {
        let mut pcr_select = [0u8; PCR_SELECT_MAX_REPR];
        for (i, b) in pcr_select.iter_mut().enumerate().take(usize::from(size)) {
            *b = (bits >> (8 * i)) as u8;
        }
        TpmsPcrSelection {
            hash,
            size_of_select: size,
            pcr_select,
        }
    }

    /// The selection as a bitmap (bit n = PCR n).
    pub fn bits(&self) -> u64 {
        self.pcr_select
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, &b)| acc | (u64::from(b) << (8 * i)))
    }

    /// Reads one selection; the hash must be known to this crate.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let hash = r.hash_alg(false)?;
        let size_of_select = r.u8()?;
        if usize::from(size_of_select) > PCR_SELECT_MAX_REPR {
            return Err(CodecError::Value(size_of_select.into()));
        }
        let mut pcr_select = [0u8; PCR_SELECT_MAX_REPR];
        pcr_select[..usize::from(size_of_select)]
            .copy_from_slice(r.take(usize::from(size_of_select))?);
        Ok(TpmsPcrSelection {
            hash,
            size_of_select,
            pcr_select,
        })
    }

    /// Appends the selection.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.hash);
        out.put_u8(self.size_of_select);
        out.extend_from_slice(&self.pcr_select[..usize::from(self.size_of_select)]);
    }
}

/// `TPML_PCR_SELECTION` (Part 2, 10.9.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TpmlPcrSelection(pub Vec<TpmsPcrSelection>);

impl TpmlPcrSelection {
    /// Reads the list, refusing more than `max` entries (`TPM_RC_SIZE`).
    pub fn read(r: &mut Reader<'_>, max: usize) -> Result<Self, CodecError> {
        r.list(max, TpmsPcrSelection::read).map(TpmlPcrSelection)
    }

    /// Appends the list.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.0.len() as u32);
        for s in &self.0 {
            s.write(out);
        }
    }
}

/// `TPMT_HA` (Part 2, 10.3.2): a digest tagged with its algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpmtHa {
    /// `hashAlg`.
    pub hash_alg: u16,
    /// Digest bytes; only the first `digest_size(hash_alg)` are meaningful.
    pub digest: [u8; MAX_DIGEST_SIZE],
}

impl TpmtHa {
    /// A digest from a slice (must have the algorithm's size).
    pub fn new(hash_alg: u16, d: &[u8]) -> Option<Self> {
        if digest_size(hash_alg) != Some(d.len()) {
            return None;
        }
        let mut digest = [0u8; MAX_DIGEST_SIZE];
        digest[..d.len()].copy_from_slice(d);
        Some(TpmtHa { hash_alg, digest })
    }

    /// The meaningful digest bytes.
    pub fn bytes(&self) -> &[u8] {
        let n = digest_size(self.hash_alg).unwrap_or(0);
        &self.digest[..n]
    }

    /// Reads a digest; the size comes from the algorithm.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let hash_alg = r.hash_alg(false)?;
        let n = digest_size(hash_alg).unwrap_or(0);
        let mut digest = [0u8; MAX_DIGEST_SIZE];
        digest[..n].copy_from_slice(r.take(n)?);
        Ok(TpmtHa { hash_alg, digest })
    }

    /// Appends the digest.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.hash_alg);
        out.extend_from_slice(self.bytes());
    }
}

/// `TPML_DIGEST_VALUES` (Part 2, 10.9.6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TpmlDigestValues(pub Vec<TpmtHa>);

impl TpmlDigestValues {
    /// Reads the list, refusing more than `max` entries.
    pub fn read(r: &mut Reader<'_>, max: usize) -> Result<Self, CodecError> {
        r.list(max, TpmtHa::read).map(TpmlDigestValues)
    }

    /// Appends the list.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.0.len() as u32);
        for d in &self.0 {
            d.write(out);
        }
    }
}

/// `TPMA_SESSION` bit `continueSession` (Part 2, 8.4).
pub const TPMA_SESSION_CONTINUE_SESSION: u8 = 0x01;
/// `TPMA_SESSION` bits that a password session must not set (auditExclusive, auditReset,
/// decrypt, encrypt, audit).
pub const TPMA_SESSION_PW_FORBIDDEN: u8 = 0x02 | 0x04 | 0x20 | 0x40 | 0x80;

/// `TPMS_AUTH_COMMAND` (Part 2, 10.13.2), borrowing from the command buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpmsAuthCommand<'a> {
    /// `sessionHandle`.
    pub session_handle: u32,
    /// `nonce` (TPM2B_NONCE).
    pub nonce: &'a [u8],
    /// `sessionAttributes` (TPMA_SESSION).
    pub attributes: u8,
    /// `hmac` (TPM2B_AUTH): the password for `TPM_RS_PW`.
    pub hmac: &'a [u8],
}

impl<'a> TpmsAuthCommand<'a> {
    /// A password session carrying `password`.
    pub fn password(password: &'a [u8]) -> Self {
        TpmsAuthCommand {
            session_handle: TPM_RS_PW,
            nonce: &[],
            attributes: TPMA_SESSION_CONTINUE_SESSION,
            hmac: password,
        }
    }

    /// Reads one session (nonce and hmac bounded by the largest digest size).
    pub fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        Ok(TpmsAuthCommand {
            session_handle: r.u32()?,
            nonce: r.tpm2b(MAX_DIGEST_SIZE)?,
            attributes: r.u8()?,
            hmac: r.tpm2b(MAX_DIGEST_SIZE)?,
        })
    }

    /// Appends the session.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.session_handle);
        out.put_tpm2b(self.nonce);
        out.put_u8(self.attributes);
        out.put_tpm2b(self.hmac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::{TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512};
    use proptest::prelude::*;

    fn hash_alg() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(TPM_ALG_SHA1),
            Just(TPM_ALG_SHA256),
            Just(TPM_ALG_SHA384),
            Just(TPM_ALG_SHA512)
        ]
    }

    proptest! {
        #[test]
        fn pcr_selection_round_trips(sels in prop::collection::vec((hash_alg(), 0u8..=8, any::<u64>()), 0..5)) {
            let list = TpmlPcrSelection(sels.iter().map(|&(h, n, b)| TpmsPcrSelection::new(h, n, b)).collect());
            let mut out = Vec::new();
            list.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmlPcrSelection::read(&mut r, MAX_HASH_LIST), Ok(list));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn digest_values_round_trip(ds in prop::collection::vec((hash_alg(), prop::array::uniform32(any::<u8>())), 0..5)) {
            let list = TpmlDigestValues(ds.iter().map(|(h, d)| {
                let mut full = [0u8; 64];
                full[..32].copy_from_slice(d);
                full[32..].copy_from_slice(d);
                TpmtHa::new(*h, &full[..digest_size(*h).unwrap_or(0)]).unwrap()
            }).collect());
            let mut out = Vec::new();
            list.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmlDigestValues::read(&mut r, MAX_HASH_LIST), Ok(list));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn auth_command_round_trips(h in any::<u32>(), n in prop::collection::vec(any::<u8>(), 0..=64), a in any::<u8>(), p in prop::collection::vec(any::<u8>(), 0..=64)) {
            let s = TpmsAuthCommand { session_handle: h, nonce: &n, attributes: a, hmac: &p };
            let mut out = Vec::new();
            s.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmsAuthCommand::read(&mut r), Ok(s));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = TpmlPcrSelection::read(&mut Reader::new(&b), MAX_HASH_LIST);
            let _ = TpmlDigestValues::read(&mut Reader::new(&b), MAX_HASH_LIST);
            let _ = TpmsAuthCommand::read(&mut Reader::new(&b));
        }
    }

    #[test]
    fn oversized_select_is_a_value_error() {
        let b = [0x00, 0x0B, 9];
        assert_eq!(
            TpmsPcrSelection::read(&mut Reader::new(&b)),
            Err(CodecError::Value(9))
        );
    }

    #[test]
    fn list_count_bound() {
        let b = [0, 0, 0, 5];
        assert_eq!(
            TpmlPcrSelection::read(&mut Reader::new(&b), 4),
            Err(CodecError::Size { size: 5, max: 4 })
        );
    }
}
