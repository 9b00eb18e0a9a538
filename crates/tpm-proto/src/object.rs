//! Object structures (Part 2, 12 "Key/Object Complex" and 11 "Algorithm Parameters and
//! Structures"): `TPMT_PUBLIC`, `TPMT_SENSITIVE`, `TPMT_SYM_DEF(_OBJECT)`, schemes.

use crate::codes::*;
use crate::constants::*;
use crate::reader::{CodecError, Reader, Writer};

/// Largest `TPM2B_DIGEST` (`sizeof(TPMU_HA)`).
pub const MAX_DIGEST: usize = 64;
/// Largest RSA modulus in bytes (`MAX_RSA_KEY_BYTES`, RSA-4096 as libtpms).
pub const MAX_RSA_KEY_BYTES: usize = 512;
/// Largest ECC coordinate in bytes (`MAX_ECC_KEY_BYTES`, P-521 rounded).
pub const MAX_ECC_KEY_BYTES: usize = 66;
/// Bound of the sensitive composite. This engine stores RSA private keys as PKCS#8 (the private
/// area is opaque to callers), which exceeds the spec's `MAX_RSA_KEY_BYTES * 5 / 2`.
pub const MAX_SENSITIVE_COMPOSITE: usize = 2400;

/// `TPMT_SYM_DEF` / `TPMT_SYM_DEF_OBJECT` (Part 2, 11.1.6/11.1.7). For `TPM_ALG_XOR` the
/// `key_bits` field carries the hash algorithm and `mode` is absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpmtSymDef {
    /// `algorithm` (`TPM_ALG_NULL`, `TPM_ALG_AES`, `TPM_ALG_XOR`).
    pub algorithm: u16,
    /// `keyBits` (or `TPMI_ALG_HASH` for XOR).
    pub key_bits: u16,
    /// `mode` (only for block ciphers).
    pub mode: u16,
}

impl TpmtSymDef {
    /// `{TPM_ALG_NULL}`.
    pub const NULL: TpmtSymDef = TpmtSymDef {
        algorithm: TPM_ALG_NULL,
        key_bits: 0,
        mode: 0,
    };

    /// Reads the structure.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let algorithm = r.u16()?;
        match algorithm {
            TPM_ALG_NULL => Ok(Self::NULL),
            TPM_ALG_XOR => Ok(TpmtSymDef {
                algorithm,
                key_bits: r.hash_alg(false)?,
                mode: 0,
            }),
            _ => Ok(TpmtSymDef {
                algorithm,
                key_bits: r.u16()?,
                mode: r.u16()?,
            }),
        }
    }

    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.algorithm);
        match self.algorithm {
            TPM_ALG_NULL => {}
            TPM_ALG_XOR => out.put_u16(self.key_bits),
            _ => {
                out.put_u16(self.key_bits);
                out.put_u16(self.mode);
            }
        }
    }
}

/// A scheme with its hash detail: `TPMT_RSA_SCHEME`, `TPMT_ECC_SCHEME`, `TPMT_SIG_SCHEME`,
/// `TPMT_KEYEDHASH_SCHEME` (HMAC only), `TPMT_KDF_SCHEME` (Part 2, 11.1.21, 11.2.*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpmtScheme {
    /// `scheme`.
    pub scheme: u16,
    /// `details.hashAlg` (0 when the scheme has no details).
    pub hash: u16,
    /// `details.count` (ECDAA only).
    pub count: u16,
}

impl TpmtScheme {
    /// `{TPM_ALG_NULL}`.
    pub const NULL: TpmtScheme = TpmtScheme {
        scheme: TPM_ALG_NULL,
        hash: 0,
        count: 0,
    };

    /// Reads a scheme: NULL and RSAES have no details, ECDAA has hash and count, XOR (keyed-hash
    /// scheme) has hash and kdf (kdf kept in `count`), all others a hash.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let scheme = r.u16()?;
        Ok(match scheme {
            TPM_ALG_NULL | TPM_ALG_RSAES => TpmtScheme {
                scheme,
                hash: 0,
                count: 0,
            },
            TPM_ALG_ECDAA | TPM_ALG_XOR => TpmtScheme {
                scheme,
                hash: r.hash_alg(false)?,
                count: r.u16()?,
            },
            _ => TpmtScheme {
                scheme,
                hash: r.hash_alg(false)?,
                count: 0,
            },
        })
    }

    /// Appends the scheme.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.scheme);
        match self.scheme {
            TPM_ALG_NULL | TPM_ALG_RSAES => {}
            TPM_ALG_ECDAA | TPM_ALG_XOR => {
                out.put_u16(self.hash);
                out.put_u16(self.count);
            }
            _ => out.put_u16(self.hash),
        }
    }
}

/// `TPMU_PUBLIC_PARMS` (Part 2, 12.2.3.7) tagged by the object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicParms {
    /// `TPMS_KEYEDHASH_PARMS`.
    KeyedHash {
        /// `scheme` (NULL, HMAC or XOR).
        scheme: TpmtScheme,
    },
    /// `TPMS_SYMCIPHER_PARMS`.
    SymCipher {
        /// `sym`.
        sym: TpmtSymDef,
    },
    /// `TPMS_RSA_PARMS`.
    Rsa {
        /// `symmetric` (storage keys).
        symmetric: TpmtSymDef,
        /// `scheme`.
        scheme: TpmtScheme,
        /// `keyBits`.
        key_bits: u16,
        /// `exponent` (0 = 65537).
        exponent: u32,
    },
    /// `TPMS_ECC_PARMS`.
    Ecc {
        /// `symmetric`.
        symmetric: TpmtSymDef,
        /// `scheme`.
        scheme: TpmtScheme,
        /// `curveID`.
        curve_id: u16,
        /// `kdf`.
        kdf: TpmtScheme,
    },
}

/// `TPMU_PUBLIC_ID` (Part 2, 12.2.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicId {
    /// `keyedHash` / `sym`: a `TPM2B_DIGEST`.
    Digest(Vec<u8>),
    /// `rsa`: `TPM2B_PUBLIC_KEY_RSA`, the modulus.
    Rsa(Vec<u8>),
    /// `ecc`: `TPMS_ECC_POINT`.
    Ecc {
        /// `x`.
        x: Vec<u8>,
        /// `y`.
        y: Vec<u8>,
    },
}

/// `TPMT_PUBLIC` (Part 2, 12.2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmtPublic {
    /// `type`.
    pub object_type: u16,
    /// `nameAlg`.
    pub name_alg: u16,
    /// `objectAttributes`.
    pub object_attributes: u32,
    /// `authPolicy`.
    pub auth_policy: Vec<u8>,
    /// `parameters`.
    pub parameters: PublicParms,
    /// `unique`.
    pub unique: PublicId,
}

impl TpmtPublic {
    /// Reads the structure (the type must be one this crate knows: `TPM_RC_TYPE` → `Value`).
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let object_type = r.u16()?;
        let name_alg = r.hash_alg(true)?;
        let object_attributes = r.u32()?;
        let auth_policy = r.tpm2b(MAX_DIGEST)?.to_vec();
        let (parameters, unique) = match object_type {
            TPM_ALG_KEYEDHASH => (
                PublicParms::KeyedHash {
                    scheme: TpmtScheme::read(r)?,
                },
                PublicId::Digest(r.tpm2b(MAX_DIGEST)?.to_vec()),
            ),
            TPM_ALG_SYMCIPHER => (
                PublicParms::SymCipher {
                    sym: TpmtSymDef::read(r)?,
                },
                PublicId::Digest(r.tpm2b(MAX_DIGEST)?.to_vec()),
            ),
            TPM_ALG_RSA => (
                PublicParms::Rsa {
                    symmetric: TpmtSymDef::read(r)?,
                    scheme: TpmtScheme::read(r)?,
                    key_bits: r.u16()?,
                    exponent: r.u32()?,
                },
                PublicId::Rsa(r.tpm2b(MAX_RSA_KEY_BYTES)?.to_vec()),
            ),
            TPM_ALG_ECC => (
                PublicParms::Ecc {
                    symmetric: TpmtSymDef::read(r)?,
                    scheme: TpmtScheme::read(r)?,
                    curve_id: r.u16()?,
                    kdf: TpmtScheme::read(r)?,
                },
                PublicId::Ecc {
                    x: r.tpm2b(MAX_ECC_KEY_BYTES)?.to_vec(),
                    y: r.tpm2b(MAX_ECC_KEY_BYTES)?.to_vec(),
                },
            ),
            t => return Err(CodecError::Value(t.into())),
        };
        Ok(TpmtPublic {
            object_type,
            name_alg,
            object_attributes,
            auth_policy,
            parameters,
            unique,
        })
    }

    /// Reads a `TPM2B_PUBLIC` (size must match the structure exactly, Part 2, 12.2.5).
    pub fn read_2b(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let b = r.tpm2b(usize::from(u16::MAX))?;
        if b.is_empty() {
            return Err(CodecError::Size { size: 0, max: 0 });
        }
        let mut inner = Reader::new(b);
        let p = Self::read(&mut inner)?;
        inner.finish()?;
        Ok(p)
    }

    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.object_type);
        out.put_u16(self.name_alg);
        out.put_u32(self.object_attributes);
        out.put_tpm2b(&self.auth_policy);
        match &self.parameters {
            PublicParms::KeyedHash { scheme } => scheme.write(out),
            PublicParms::SymCipher { sym } => sym.write(out),
            PublicParms::Rsa {
                symmetric,
                scheme,
                key_bits,
                exponent,
            } => {
                symmetric.write(out);
                scheme.write(out);
                out.put_u16(*key_bits);
                out.put_u32(*exponent);
            }
            PublicParms::Ecc {
                symmetric,
                scheme,
                curve_id,
                kdf,
            } => {
                symmetric.write(out);
                scheme.write(out);
                out.put_u16(*curve_id);
                kdf.write(out);
            }
        }
        match &self.unique {
            PublicId::Digest(d) | PublicId::Rsa(d) => out.put_tpm2b(d),
            PublicId::Ecc { x, y } => {
                out.put_tpm2b(x);
                out.put_tpm2b(y);
            }
        }
    }

    /// The marshaled structure.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(400);
        self.write(&mut v);
        v
    }

    /// Appends a `TPM2B_PUBLIC`.
    pub fn write_2b(&self, out: &mut Vec<u8>) {
        out.put_tpm2b(&self.to_bytes());
    }

    /// The storage/parent symmetric definition, if the parameters carry one.
    pub fn symmetric(&self) -> TpmtSymDef {
        match self.parameters {
            PublicParms::Rsa { symmetric, .. } | PublicParms::Ecc { symmetric, .. } => symmetric,
            PublicParms::SymCipher { sym } => sym,
            PublicParms::KeyedHash { .. } => TpmtSymDef::NULL,
        }
    }

    /// The signing/encryption scheme, if the parameters carry one.
    pub fn scheme(&self) -> TpmtScheme {
        match self.parameters {
            PublicParms::Rsa { scheme, .. }
            | PublicParms::Ecc { scheme, .. }
            | PublicParms::KeyedHash { scheme } => scheme,
            PublicParms::SymCipher { .. } => TpmtScheme::NULL,
        }
    }
}

/// `TPMT_SENSITIVE` (Part 2, 12.3.2.5); `sensitive` is the `TPMU_SENSITIVE_COMPOSITE` content.
/// `Debug` shows only the type and field sizes, never the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct TpmtSensitive {
    /// `sensitiveType`.
    pub sensitive_type: u16,
    /// `authValue`.
    pub auth_value: Vec<u8>,
    /// `seedValue`.
    pub seed_value: Vec<u8>,
    /// `sensitive` (RSA: PKCS#8 in this engine; ECC: scalar; keyed-hash: bits; sym: key).
    pub sensitive: Vec<u8>,
}

impl std::fmt::Debug for TpmtSensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmtSensitive")
            .field("sensitive_type", &self.sensitive_type)
            .field("auth_value_len", &self.auth_value.len())
            .field("seed_value_len", &self.seed_value.len())
            .field("sensitive_len", &self.sensitive.len())
            .finish()
    }
}

impl TpmtSensitive {
    /// Reads the structure.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(TpmtSensitive {
            sensitive_type: r.u16()?,
            auth_value: r.tpm2b(MAX_DIGEST)?.to_vec(),
            seed_value: r.tpm2b(MAX_DIGEST)?.to_vec(),
            sensitive: r.tpm2b(MAX_SENSITIVE_COMPOSITE)?.to_vec(),
        })
    }

    /// Appends the structure.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.sensitive_type);
        out.put_tpm2b(&self.auth_value);
        out.put_tpm2b(&self.seed_value);
        out.put_tpm2b(&self.sensitive);
    }
}

/// `TPMS_SENSITIVE_CREATE` (Part 2, 11.1.15) from a `TPM2B_SENSITIVE_CREATE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpmsSensitiveCreate {
    /// `userAuth`.
    pub user_auth: Vec<u8>,
    /// `data` (`TPM2B_SENSITIVE_DATA`, at most `MAX_SYM_DATA` = 128... or a derivation label).
    pub data: Vec<u8>,
}

impl TpmsSensitiveCreate {
    /// Reads a `TPM2B_SENSITIVE_CREATE` (the inner structure must fill the size exactly).
    pub fn read_2b(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let b = r.tpm2b(usize::from(u16::MAX))?;
        let mut inner = Reader::new(b);
        let s = TpmsSensitiveCreate {
            user_auth: inner.tpm2b(MAX_DIGEST)?.to_vec(),
            data: inner.tpm2b(256)?.to_vec(),
        };
        inner.finish()?;
        Ok(s)
    }

    /// Appends a `TPM2B_SENSITIVE_CREATE`.
    pub fn write_2b(&self, out: &mut Vec<u8>) {
        let mut inner = Vec::new();
        inner.put_tpm2b(&self.user_auth);
        inner.put_tpm2b(&self.data);
        out.put_tpm2b(&inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hash() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(TPM_ALG_SHA1),
            Just(TPM_ALG_SHA256),
            Just(TPM_ALG_SHA384)
        ]
    }

    fn sym() -> impl Strategy<Value = TpmtSymDef> {
        prop_oneof![
            Just(TpmtSymDef::NULL),
            (any::<u16>(), any::<u16>()).prop_map(|(k, m)| TpmtSymDef {
                algorithm: TPM_ALG_AES,
                key_bits: k,
                mode: m
            }),
            hash().prop_map(|h| TpmtSymDef {
                algorithm: TPM_ALG_XOR,
                key_bits: h,
                mode: 0
            }),
        ]
    }

    fn scheme() -> impl Strategy<Value = TpmtScheme> {
        prop_oneof![
            Just(TpmtScheme::NULL),
            hash().prop_map(|h| TpmtScheme {
                scheme: TPM_ALG_RSASSA,
                hash: h,
                count: 0
            }),
            (hash(), any::<u16>()).prop_map(|(h, c)| TpmtScheme {
                scheme: TPM_ALG_ECDAA,
                hash: h,
                count: c
            }),
        ]
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..=max)
    }

    fn public() -> impl Strategy<Value = TpmtPublic> {
        let parms = prop_oneof![
            (
                sym(),
                scheme(),
                any::<u16>(),
                any::<u32>(),
                bytes(MAX_RSA_KEY_BYTES)
            )
                .prop_map(|(s, sc, k, e, n)| (
                    TPM_ALG_RSA,
                    PublicParms::Rsa {
                        symmetric: s,
                        scheme: sc,
                        key_bits: k,
                        exponent: e
                    },
                    PublicId::Rsa(n)
                )),
            (
                sym(),
                scheme(),
                any::<u16>(),
                scheme(),
                bytes(66),
                bytes(66)
            )
                .prop_map(|(s, sc, c, k, x, y)| (
                    TPM_ALG_ECC,
                    PublicParms::Ecc {
                        symmetric: s,
                        scheme: sc,
                        curve_id: c,
                        kdf: k
                    },
                    PublicId::Ecc { x, y }
                )),
            (scheme(), bytes(64)).prop_map(|(sc, d)| (
                TPM_ALG_KEYEDHASH,
                PublicParms::KeyedHash { scheme: sc },
                PublicId::Digest(d)
            )),
            (sym(), bytes(64)).prop_map(|(s, d)| (
                TPM_ALG_SYMCIPHER,
                PublicParms::SymCipher { sym: s },
                PublicId::Digest(d)
            )),
        ];
        (hash(), any::<u32>(), bytes(64), parms).prop_map(|(n, a, p, (t, parameters, unique))| {
            TpmtPublic {
                object_type: t,
                name_alg: n,
                object_attributes: a,
                auth_policy: p,
                parameters,
                unique,
            }
        })
    }

    proptest! {
        #[test]
        fn public_round_trips(p in public()) {
            let mut out = Vec::new();
            p.write_2b(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmtPublic::read_2b(&mut r), Ok(p));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn sensitive_round_trips(t in any::<u16>(), a in bytes(64), s in bytes(64), k in bytes(600)) {
            let v = TpmtSensitive { sensitive_type: t, auth_value: a, seed_value: s, sensitive: k };
            let mut out = Vec::new();
            v.write(&mut out);
            let mut r = Reader::new(&out);
            prop_assert_eq!(TpmtSensitive::read(&mut r), Ok(v));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in bytes(300)) {
            let _ = TpmtPublic::read(&mut Reader::new(&b));
            let _ = TpmtSensitive::read(&mut Reader::new(&b));
            let _ = TpmsSensitiveCreate::read_2b(&mut Reader::new(&b));
        }
    }

    #[test]
    fn tcg_ek_rsa_template_parses() {
        // TCG EK Credential Profile 2.0, template L-1 (RSA 2048) as tpm2_createek marshals it.
        let hex =
            "0001000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa\
                   00060080004300100800000000000100"
                .to_string()
                + &"00".repeat(256);
        let b: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut r = Reader::new(&b);
        let p = TpmtPublic::read(&mut r).unwrap();
        r.finish().unwrap();
        assert_eq!(p.object_attributes, 0x0003_00b2);
        assert_eq!(p.to_bytes(), b);
        assert!(matches!(
            p.parameters,
            PublicParms::Rsa { key_bits: 2048, .. }
        ));
    }
}
