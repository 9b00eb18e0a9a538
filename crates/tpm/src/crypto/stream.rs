//! Streaming SHA-1/SHA-2 and HMAC with an explicit, serializable state, for sequence objects
//! (TPM2_HashSequenceStart, TPM2_HMAC_Start).
//!
//! Why not aws-lc-rs: a sequence object must survive TPM2_ContextSave/ContextLoad and the
//! volatile state blob, so its running hash has to be written out and read back. aws-lc-rs'
//! `digest::Context` cannot export or import its internal state, and buffering the whole input
//! instead would let a caller grow a sequence without bound. So the state is kept here as the
//! spec algorithm defines it (FIPS 180-4): chaining value, the unprocessed tail of the last
//! block and the message length; only the block compression function comes from RustCrypto's
//! `sha1`/`sha2` (their public `compress*` functions). Results are checked against aws-lc-rs by
//! the property tests below.

use tpm_proto::{
    CodecError, Reader, TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512, Writer,
};

/// Chaining value of one of the implemented algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chain {
    Sha1([u32; 5]),
    Sha256([u32; 8]),
    /// SHA-384 and SHA-512 share the compression function; they differ in IV and output size.
    Sha512([u64; 8]),
}

/// FIPS 180-4, 5.3.1.
const SHA1_IV: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
/// FIPS 180-4, 5.3.3.
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/// FIPS 180-4, 5.3.4.
const SHA384_IV: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];
/// FIPS 180-4, 5.3.5.
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// A running hash whose whole state can be serialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHash {
    alg: u16,
    chain: Chain,
    /// Bytes not yet compressed (always shorter than one block).
    tail: Vec<u8>,
    /// Message bytes absorbed so far.
    len: u64,
}

fn block_len(alg: u16) -> usize {
    if matches!(alg, TPM_ALG_SHA384 | TPM_ALG_SHA512) {
        128
    } else {
        64
    }
}

impl StreamHash {
    /// Starts a hash; `None` for an unimplemented algorithm.
    pub fn new(alg: u16) -> Option<StreamHash> {
        let chain = match alg {
            TPM_ALG_SHA1 => Chain::Sha1(SHA1_IV),
            TPM_ALG_SHA256 => Chain::Sha256(SHA256_IV),
            TPM_ALG_SHA384 => Chain::Sha512(SHA384_IV),
            TPM_ALG_SHA512 => Chain::Sha512(SHA512_IV),
            _ => return None,
        };
        Some(StreamHash {
            alg,
            chain,
            tail: Vec::with_capacity(block_len(alg)),
            len: 0,
        })
    }

    /// The TPM hash algorithm.
    pub fn alg(&self) -> u16 {
        self.alg
    }

    /// Compresses whole blocks of `data` (its length is a multiple of the block length).
    fn compress(&mut self, data: &[u8]) {
        use sha2::digest::generic_array::GenericArray;
        match &mut self.chain {
            Chain::Sha1(s) => {
                for b in data.chunks_exact(64) {
                    sha1::compress(s, std::slice::from_ref(GenericArray::from_slice(b)));
                }
            }
            Chain::Sha256(s) => {
                for b in data.chunks_exact(64) {
                    sha2::compress256(s, std::slice::from_ref(GenericArray::from_slice(b)));
                }
            }
            Chain::Sha512(s) => {
                for b in data.chunks_exact(128) {
                    sha2::compress512(s, std::slice::from_ref(GenericArray::from_slice(b)));
                }
            }
        }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        let bl = block_len(self.alg);
        self.len = self.len.wrapping_add(data.len() as u64);
        if !self.tail.is_empty() {
            let take = (bl - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < bl {
                return;
            }
            let block = std::mem::take(&mut self.tail);
            self.compress(&block);
            self.tail = block;
            self.tail.clear();
        }
        let whole = data.len() - data.len() % bl;
        self.compress(&data[..whole]);
        self.tail.extend_from_slice(&data[whole..]);
    }

    /// Pads (FIPS 180-4, 5.1) and returns the digest.
    pub fn finish(mut self) -> Vec<u8> {
        let bl = block_len(self.alg);
        let len_field = if bl == 128 { 16 } else { 8 };
        let bits = u128::from(self.len) * 8;
        let mut pad = std::mem::take(&mut self.tail);
        pad.push(0x80);
        while pad.len() % bl != bl - len_field {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_be_bytes()[16 - len_field..]);
        self.compress(&pad);
        match self.chain {
            Chain::Sha1(s) => s.iter().flat_map(|w| w.to_be_bytes()).collect(),
            Chain::Sha256(s) => s.iter().flat_map(|w| w.to_be_bytes()).collect(),
            Chain::Sha512(s) => {
                let n = if self.alg == TPM_ALG_SHA384 { 6 } else { 8 };
                s[..n].iter().flat_map(|w| w.to_be_bytes()).collect()
            }
        }
    }

    /// Serialization: `alg u16 | len u64 | chain words | TPM2B tail`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.alg);
        out.put_u64(self.len);
        match &self.chain {
            Chain::Sha1(s) => s.iter().for_each(|w| out.put_u32(*w)),
            Chain::Sha256(s) => s.iter().for_each(|w| out.put_u32(*w)),
            Chain::Sha512(s) => s.iter().for_each(|w| out.put_u64(*w)),
        }
        out.put_tpm2b(&self.tail);
    }

    /// Parses [`StreamHash::write`]'s format; the tail must be shorter than a block and
    /// consistent with the length.
    pub fn read(r: &mut Reader<'_>) -> Result<StreamHash, CodecError> {
        let alg = r.u16()?;
        let mut h = StreamHash::new(alg).ok_or(CodecError::Value(u32::from(alg)))?;
        h.len = r.u64()?;
        match &mut h.chain {
            Chain::Sha1(s) => {
                for w in s.iter_mut() {
                    *w = r.u32()?;
                }
            }
            Chain::Sha256(s) => {
                for w in s.iter_mut() {
                    *w = r.u32()?;
                }
            }
            Chain::Sha512(s) => {
                for w in s.iter_mut() {
                    *w = r.u64()?;
                }
            }
        }
        let bl = block_len(alg);
        let tail = r.tpm2b(bl - 1)?;
        if h.len % bl as u64 != tail.len() as u64 {
            return Err(CodecError::Value(tail.len() as u32));
        }
        h.tail = tail.to_vec();
        Ok(h)
    }
}

/// A running HMAC (RFC 2104) over [`StreamHash`]: the inner hash is keyed with `K ^ ipad` at
/// the start, the outer key `K ^ opad` is kept for [`StreamHmac::finish`].
#[derive(Clone, PartialEq, Eq)]
pub struct StreamHmac {
    inner: StreamHash,
    /// `K ^ opad`, one block long.
    opad_key: Vec<u8>,
}

/// Key material stays out of logs: only the algorithm and length are shown.
impl std::fmt::Debug for StreamHmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHmac")
            .field("alg", &self.inner.alg)
            .field("len", &self.inner.len)
            .finish_non_exhaustive()
    }
}

impl StreamHmac {
    /// Starts an HMAC with `key`; `None` for an unimplemented algorithm.
    pub fn new(alg: u16, key: &[u8]) -> Option<StreamHmac> {
        let bl = block_len(alg);
        let mut k = if key.len() > bl {
            let mut h = StreamHash::new(alg)?;
            h.update(key);
            h.finish()
        } else {
            key.to_vec()
        };
        k.resize(bl, 0);
        let mut inner = StreamHash::new(alg)?;
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        inner.update(&ipad);
        let opad_key = k.iter().map(|b| b ^ 0x5c).collect();
        Some(StreamHmac { inner, opad_key })
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The HMAC.
    pub fn finish(self) -> Vec<u8> {
        let alg = self.inner.alg;
        let d = self.inner.finish();
        let mut outer = match StreamHash::new(alg) {
            Some(h) => h,
            None => return Vec::new(),
        };
        outer.update(&self.opad_key);
        outer.update(&d);
        outer.finish()
    }

    /// Serialization: `StreamHash inner | TPM2B opadKey`.
    pub fn write(&self, out: &mut Vec<u8>) {
        self.inner.write(out);
        out.put_tpm2b(&self.opad_key);
    }

    /// Parses [`StreamHmac::write`]'s format.
    pub fn read(r: &mut Reader<'_>) -> Result<StreamHmac, CodecError> {
        let inner = StreamHash::read(r)?;
        let bl = block_len(inner.alg);
        let opad_key = r.tpm2b(bl)?.to_vec();
        if opad_key.len() != bl || inner.len < bl as u64 {
            return Err(CodecError::Value(opad_key.len() as u32));
        }
        Ok(StreamHmac { inner, opad_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{HASH_ALGS, hash, hmac};
    use proptest::prelude::*;

    /// Splits `data` at the (sorted, clamped) `cuts`.
    fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut c: Vec<usize> = cuts.iter().map(|&x| x % (data.len() + 1)).collect();
        c.sort_unstable();
        let mut out = Vec::new();
        let mut at = 0;
        for x in c {
            out.push(&data[at..x]);
            at = x;
        }
        out.push(&data[at..]);
        out
    }

    #[test]
    fn empty_and_block_boundaries() {
        for alg in HASH_ALGS {
            for n in [0usize, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000] {
                let data = vec![0xA5u8; n];
                let mut h = StreamHash::new(alg).unwrap();
                h.update(&data);
                assert_eq!(
                    h.finish(),
                    hash(alg, &[&data]).unwrap().as_ref(),
                    "{alg:#x} {n}"
                );
            }
        }
        assert!(StreamHash::new(0x0012).is_none());
    }

    #[test]
    fn read_rejects_inconsistent_state() {
        let mut h = StreamHash::new(TPM_ALG_SHA256).unwrap();
        h.update(b"abc");
        let mut b = Vec::new();
        h.write(&mut b);
        assert_eq!(StreamHash::read(&mut Reader::new(&b)).unwrap(), h);
        // Length says 4 bytes pending, tail holds 3.
        let mut bad = b.clone();
        bad[9] = 4;
        assert!(StreamHash::read(&mut Reader::new(&bad)).is_err());
        // Unknown algorithm.
        let mut bad = b.clone();
        bad[1] = 0x99;
        assert!(StreamHash::read(&mut Reader::new(&bad)).is_err());
        // Truncated anywhere.
        for n in 0..b.len() {
            assert!(StreamHash::read(&mut Reader::new(&b[..n])).is_err());
        }
    }

    proptest! {
        #[test]
        fn hash_matches_aws_lc_for_any_split(
            alg in prop::sample::select(HASH_ALGS.to_vec()),
            data in prop::collection::vec(any::<u8>(), 0..700),
            cuts in prop::collection::vec(any::<usize>(), 0..6),
            save_at in any::<usize>(),
        ) {
            let mut h = StreamHash::new(alg).unwrap();
            let ps = pieces(&data, &cuts);
            let save_at = save_at % ps.len();
            for (i, p) in ps.iter().enumerate() {
                h.update(p);
                if i == save_at {
                    // The state survives serialization at any point.
                    let mut b = Vec::new();
                    h.write(&mut b);
                    let mut r = Reader::new(&b);
                    h = StreamHash::read(&mut r).unwrap();
                    prop_assert_eq!(r.remaining(), 0);
                }
            }
            prop_assert_eq!(h.finish(), hash(alg, &[&data]).unwrap().as_ref().to_vec());
        }

        #[test]
        fn hmac_matches_aws_lc_for_any_split(
            alg in prop::sample::select(HASH_ALGS.to_vec()),
            key in prop::collection::vec(any::<u8>(), 0..200),
            data in prop::collection::vec(any::<u8>(), 0..500),
            cuts in prop::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut h = StreamHmac::new(alg, &key).unwrap();
            for p in pieces(&data, &cuts) {
                h.update(p);
                let mut b = Vec::new();
                h.write(&mut b);
                h = StreamHmac::read(&mut Reader::new(&b)).unwrap();
            }
            prop_assert_eq!(h.finish(), hmac(alg, &key, &[&data]).unwrap().as_ref().to_vec());
        }
    }
}
