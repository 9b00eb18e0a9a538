//! Hash algorithm identifiers, `TPM_ALG_ID` (TPM 2.0 Part 2, §6.3).

use aws_lc_rs::digest;
use serde::Serialize;

/// `TPM_ALG_ID`: an open set, so a log naming an algorithm we do not know still parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TpmAlgId(pub u16);

impl TpmAlgId {
    /// `TPM_ALG_SHA1`.
    pub const SHA1: Self = Self(0x0004);
    /// `TPM_ALG_SHA256`.
    pub const SHA256: Self = Self(0x000b);
    /// `TPM_ALG_SHA384`.
    pub const SHA384: Self = Self(0x000c);
    /// `TPM_ALG_SHA512`.
    pub const SHA512: Self = Self(0x000d);
    /// `TPM_ALG_SM3_256`.
    pub const SM3_256: Self = Self(0x0012);
    /// `TPM_ALG_SHA3_256`.
    pub const SHA3_256: Self = Self(0x0027);
    /// `TPM_ALG_SHA3_384`.
    pub const SHA3_384: Self = Self(0x0028);
    /// `TPM_ALG_SHA3_512`.
    pub const SHA3_512: Self = Self(0x0029);

    /// The lower-case name tpm2-tools prints, if the algorithm is known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::SHA1 => "sha1",
            Self::SHA256 => "sha256",
            Self::SHA384 => "sha384",
            Self::SHA512 => "sha512",
            Self::SM3_256 => "sm3_256",
            Self::SHA3_256 => "sha3_256",
            Self::SHA3_384 => "sha3_384",
            Self::SHA3_512 => "sha3_512",
            _ => return None,
        })
    }

    /// The digest size the TPM specification fixes for a known hash algorithm.
    pub fn digest_size(self) -> Option<usize> {
        Some(match self {
            Self::SHA1 => 20,
            Self::SHA256 | Self::SM3_256 | Self::SHA3_256 => 32,
            Self::SHA384 | Self::SHA3_384 => 48,
            Self::SHA512 | Self::SHA3_512 => 64,
            _ => return None,
        })
    }

    /// The aws-lc-rs algorithm, for the banks we can compute.
    pub fn digest_algorithm(self) -> Option<&'static digest::Algorithm> {
        Some(match self {
            Self::SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::SHA256 => &digest::SHA256,
            Self::SHA384 => &digest::SHA384,
            Self::SHA512 => &digest::SHA512,
            Self::SHA3_256 => &digest::SHA3_256,
            Self::SHA3_384 => &digest::SHA3_384,
            Self::SHA3_512 => &digest::SHA3_512,
            _ => return None,
        })
    }

    /// Hashes `parts` as one message, if the algorithm is computable.
    pub fn hash(self, parts: &[&[u8]]) -> Option<Vec<u8>> {
        let mut ctx = digest::Context::new(self.digest_algorithm()?);
        for p in parts {
            ctx.update(p);
        }
        Some(ctx.finish().as_ref().to_vec())
    }

    /// Parses a name as printed by [`TpmAlgId`]'s `Display` (`sha256`, or `0x1234`).
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::SHA1,
            Self::SHA256,
            Self::SHA384,
            Self::SHA512,
            Self::SM3_256,
            Self::SHA3_256,
            Self::SHA3_384,
            Self::SHA3_512,
        ]
        .into_iter()
        .find(|a| a.name() == Some(s))
        .or_else(|| {
            s.strip_prefix("0x")
                .and_then(|h| u16::from_str_radix(h, 16).ok())
                .map(Self)
        })
    }
}

impl std::fmt::Display for TpmAlgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

impl Serialize for TpmAlgId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [
            TpmAlgId::SHA1,
            TpmAlgId::SHA512,
            TpmAlgId::SM3_256,
            TpmAlgId(0x1234),
        ] {
            assert_eq!(TpmAlgId::from_name(&a.to_string()), Some(a));
        }
        assert_eq!(TpmAlgId(0x1234).to_string(), "0x1234");
    }

    #[test]
    fn computable_sizes_match_the_spec() {
        for a in [
            TpmAlgId::SHA1,
            TpmAlgId::SHA256,
            TpmAlgId::SHA384,
            TpmAlgId::SHA512,
        ] {
            assert_eq!(a.hash(&[b"x"]).map(|d| d.len()), a.digest_size());
        }
        assert_eq!(TpmAlgId::SM3_256.hash(&[b"x"]), None);
    }
}
