//! Sequence objects (Part 1, 32 "Hash, HMAC and Event Sequences"): transient objects without a
//! public area that hold a running hash, HMAC or event (all-banks) digest, authorized by the
//! authValue given when the sequence started. Their state is serializable (ContextSave,
//! volatile blob) because the hashes run on [`StreamHash`].

use crate::crypto::stream::{StreamHash, StreamHmac};
use crate::crypto::{HASH_ALGS, HASH_COUNT};
use tpm_proto::{CodecError, Reader, TPM_GENERATED_VALUE, Writer};

/// `TPM2B_AUTH` bound (largest digest).
const MAX_AUTH: usize = 64;

/// The running computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeqState {
    /// `TPM2_HashSequenceStart` with a hash algorithm.
    Hash(StreamHash),
    /// `TPM2_HMAC_Start`.
    Hmac(StreamHmac),
    /// `TPM2_HashSequenceStart` with `TPM_ALG_NULL`: one hash per implemented algorithm.
    Event(Box<[StreamHash; HASH_COUNT]>),
}

/// A loaded sequence object.
#[derive(Clone, PartialEq, Eq)]
pub struct Sequence {
    /// authValue (trailing zeros trimmed).
    pub auth: Vec<u8>,
    /// The hash state.
    pub state: SeqState,
    /// A `TPM2_SequenceUpdate` has been seen (reference `firstBlock`): only the first block
    /// decides whether a hash-check ticket may be issued.
    pub first_block: bool,
    /// The first block did not start with `TPM_GENERATED_VALUE` and was long enough to tell
    /// (reference `TicketIsSafe`), so the digest may get a `TPMT_TK_HASHCHECK`.
    pub ticket_safe: bool,
}

const KIND_HASH: u8 = 0;
const KIND_HMAC: u8 = 1;
const KIND_EVENT: u8 = 2;

/// Reference `TicketIsSafe`: data shorter than `TPM_GENERATED_VALUE` cannot be told apart from
/// a truncated TPM-generated structure, so it is not safe either.
pub fn ticket_safe(data: &[u8]) -> bool {
    data.len() >= 4 && !data.starts_with(&TPM_GENERATED_VALUE.to_be_bytes())
}

/// The authValue stays out of logs.
impl std::fmt::Debug for Sequence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequence")
            .field("state", &self.state)
            .field("first_block", &self.first_block)
            .field("ticket_safe", &self.ticket_safe)
            .finish_non_exhaustive()
    }
}

impl Sequence {
    /// A new sequence with the given state.
    pub fn new(auth: &[u8], state: SeqState) -> Sequence {
        Sequence {
            auth: crate::state::trim_zeros(auth).to_vec(),
            state,
            first_block: false,
            ticket_safe: false,
        }
    }

    /// An event sequence: one hash of every implemented algorithm.
    pub fn event(auth: &[u8]) -> Option<Sequence> {
        let hs: Vec<StreamHash> = HASH_ALGS
            .iter()
            .map(|&a| StreamHash::new(a))
            .collect::<Option<_>>()?;
        let hs: [StreamHash; HASH_COUNT] = hs.try_into().ok()?;
        Some(Sequence::new(auth, SeqState::Event(Box::new(hs))))
    }

    /// Absorbs `data` (TPM2_SequenceUpdate and the last block of the completing commands).
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            SeqState::Hash(h) => h.update(data),
            SeqState::Hmac(h) => h.update(data),
            SeqState::Event(hs) => hs.iter_mut().for_each(|h| h.update(data)),
        }
    }

    /// Records the first block for the ticket decision.
    pub fn note_block(&mut self, data: &[u8]) {
        if !self.first_block {
            self.first_block = true;
            self.ticket_safe = ticket_safe(data);
        }
    }

    /// Internal serialization: `u8 kind | TPM2B auth | u8 firstBlock | u8 ticketSafe | state`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let kind = match &self.state {
            SeqState::Hash(_) => KIND_HASH,
            SeqState::Hmac(_) => KIND_HMAC,
            SeqState::Event(_) => KIND_EVENT,
        };
        out.put_u8(kind);
        out.put_tpm2b(&self.auth);
        out.put_u8(u8::from(self.first_block));
        out.put_u8(u8::from(self.ticket_safe));
        match &self.state {
            SeqState::Hash(h) => h.write(out),
            SeqState::Hmac(h) => h.write(out),
            SeqState::Event(hs) => hs.iter().for_each(|h| h.write(out)),
        }
    }

    /// Parses [`Sequence::write`]'s format.
    pub fn read(r: &mut Reader<'_>) -> Result<Sequence, CodecError> {
        let kind = r.u8()?;
        let auth = r.tpm2b(MAX_AUTH)?.to_vec();
        let flag = |r: &mut Reader<'_>| match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(CodecError::Value(u32::from(v))),
        };
        let first_block = flag(r)?;
        let ticket_safe = flag(r)?;
        let state = match kind {
            KIND_HASH => SeqState::Hash(StreamHash::read(r)?),
            KIND_HMAC => SeqState::Hmac(StreamHmac::read(r)?),
            KIND_EVENT => {
                let mut hs = Vec::with_capacity(HASH_COUNT);
                for alg in HASH_ALGS {
                    let h = StreamHash::read(r)?;
                    if h.alg() != alg {
                        return Err(CodecError::Value(u32::from(h.alg())));
                    }
                    hs.push(h);
                }
                let hs: [StreamHash; HASH_COUNT] = hs
                    .try_into()
                    .map_err(|_| CodecError::Value(u32::from(kind)))?;
                SeqState::Event(Box::new(hs))
            }
            v => return Err(CodecError::Value(u32::from(v))),
        };
        Ok(Sequence {
            auth,
            state,
            first_block,
            ticket_safe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tpm_proto::TPM_ALG_SHA384;

    #[test]
    fn every_bank_algorithm_streams() {
        for a in HASH_ALGS {
            assert!(StreamHash::new(a).is_some());
        }
    }

    #[test]
    fn round_trip_and_rejects_garbage() {
        let mut seqs = vec![
            Sequence::new(
                b"pw\0",
                SeqState::Hash(StreamHash::new(TPM_ALG_SHA384).unwrap()),
            ),
            Sequence::new(
                b"",
                SeqState::Hmac(StreamHmac::new(TPM_ALG_SHA384, b"key").unwrap()),
            ),
            Sequence::event(b"x").unwrap(),
        ];
        for s in &mut seqs {
            s.note_block(b"hello world");
            s.update(b"hello world");
            let mut b = Vec::new();
            s.write(&mut b);
            let mut r = Reader::new(&b);
            assert_eq!(&Sequence::read(&mut r).unwrap(), s);
            assert_eq!(r.remaining(), 0);
            for n in 0..b.len() {
                assert!(Sequence::read(&mut Reader::new(&b[..n])).is_err());
            }
            let mut bad = b.clone();
            bad[0] = 7;
            assert!(Sequence::read(&mut Reader::new(&bad)).is_err());
        }
        assert_eq!(seqs[0].auth, b"pw");
        assert!(seqs[0].ticket_safe);
        // Neither the authValue nor HMAC key material shows in Debug output.
        let hm = Sequence::new(
            b"secret-auth",
            SeqState::Hmac(StreamHmac::new(TPM_ALG_SHA384, &[0xAB; 16]).unwrap()),
        );
        let dbg = format!("{hm:?}");
        assert!(
            !dbg.contains("secret") && !dbg.contains("171") && !dbg.contains("247"),
            "{dbg}"
        );
    }

    #[test]
    fn ticket_safety_of_first_block() {
        assert!(!ticket_safe(b""));
        assert!(!ticket_safe(b"abc"));
        assert!(!ticket_safe(&[0xff, b'T', b'C', b'G', 1]));
        assert!(ticket_safe(b"abcd"));
    }
}
