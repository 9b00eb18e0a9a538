//! The engine's only door to cryptography (aws-lc-rs): digests, HMAC, randomness, comparison;
//! KDFs, RSA, ECC and symmetric ciphers live in the submodules.

pub mod bn;
pub mod ecc;
pub mod kdf;
pub mod rsa;
pub mod stream;
pub mod sym;

use aws_lc_rs::{digest, hmac, rand::SecureRandom};
use tpm_proto::{TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512};

/// Hash algorithms implemented by this TPM, in PCR-bank order (`HASH_COUNT` = 4).
pub const HASH_ALGS: [u16; 4] = [TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512];
/// Number of implemented hash algorithms (`HASH_COUNT`).
pub const HASH_COUNT: usize = HASH_ALGS.len();

/// Position of `alg` in [`HASH_ALGS`].
pub fn bank_index(alg: u16) -> Option<usize> {
    HASH_ALGS.iter().position(|&a| a == alg)
}

/// The aws-lc digest of a TPM hash algorithm.
pub fn digest_alg(alg: u16) -> Option<&'static digest::Algorithm> {
    Some(match alg {
        TPM_ALG_SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        TPM_ALG_SHA256 => &digest::SHA256,
        TPM_ALG_SHA384 => &digest::SHA384,
        TPM_ALG_SHA512 => &digest::SHA512,
        _ => return None,
    })
}

fn hmac_alg(alg: u16) -> Option<hmac::Algorithm> {
    Some(match alg {
        TPM_ALG_SHA1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        TPM_ALG_SHA256 => hmac::HMAC_SHA256,
        TPM_ALG_SHA384 => hmac::HMAC_SHA384,
        TPM_ALG_SHA512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}

/// An incremental hash of one of [`HASH_ALGS`].
#[derive(Clone)]
pub struct Hasher(digest::Context);

impl Hasher {
    /// Starts a hash; `None` for an unimplemented algorithm.
    pub fn new(alg: u16) -> Option<Self> {
        digest_alg(alg).map(|a| Hasher(digest::Context::new(a)))
    }
    /// Starts a hash of the algorithm of PCR bank `b` (index into [`HASH_ALGS`]).
    pub fn bank(b: usize) -> Self {
        Hasher(digest::Context::new(match b {
            0 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            1 => &digest::SHA256,
            2 => &digest::SHA384,
            _ => &digest::SHA512,
        }))
    }
    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The digest.
    pub fn finish(self) -> digest::Digest {
        self.0.finish()
    }
}

/// One-shot digest of the concatenation of `parts`.
pub fn hash(alg: u16, parts: &[&[u8]]) -> Option<digest::Digest> {
    let mut h = Hasher::new(alg)?;
    for p in parts {
        h.update(p);
    }
    Some(h.finish())
}

/// One-shot HMAC of the concatenation of `parts`.
pub fn hmac(alg: u16, key: &[u8], parts: &[&[u8]]) -> Option<hmac::Tag> {
    let key = hmac::Key::new(hmac_alg(alg)?, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    Some(ctx.sign())
}

/// Fills `out` from the system DRBG (aws-lc's, seeded from the OS). Aborting on RNG failure
/// would be worse than reporting it, so the caller maps `Err` to `TPM_RC_FAILURE`.
pub fn random(out: &mut [u8]) -> Result<(), ()> {
    aws_lc_rs::rand::SystemRandom::new()
        .fill(out)
        .map_err(|_| ())
}

/// A fresh 64-byte secret (seed or proof value).
pub fn secret() -> [u8; 64] {
    let mut s = [0u8; 64];
    // An RNG failure at manufacture leaves no safe fallback: surface it loudly.
    if random(&mut s).is_err() {
        panic!("system random number generator failed");
    }
    s
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    #[allow(deprecated)] // aws-lc-rs keeps the ring-compatible name; its replacement is identical
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Known-answer tests for TPM2_SelfTest: SHA-1/256/384/512 of "abc" (FIPS 180-4 examples) and
/// HMAC-SHA-256 (RFC 4231 case 2).
pub fn self_test() -> bool {
    const ABC: &[u8] = b"abc";
    let kats: [(u16, &str); 4] = [
        (TPM_ALG_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            TPM_ALG_SHA256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            TPM_ALG_SHA384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            TPM_ALG_SHA512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    let digests_ok = kats
        .iter()
        .all(|&(alg, hex)| hash(alg, &[ABC]).is_some_and(|d| hex_eq(d.as_ref(), hex)));
    let hmac_ok = hmac(
        TPM_ALG_SHA256,
        b"Jefe",
        &[b"what do ya want ", b"for nothing?"],
    )
    .is_some_and(|t| {
        hex_eq(
            t.as_ref(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        )
    });
    digests_ok && hmac_ok
}

fn hex_eq(bytes: &[u8], hex: &str) -> bool {
    bytes.len() * 2 == hex.len()
        && bytes.iter().zip(hex.as_bytes().chunks(2)).all(|(b, h)| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                == Some(*b)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn kats_pass() {
        assert!(super::self_test());
    }
}
