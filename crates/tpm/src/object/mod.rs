//! Objects (Part 1, 23 "Object Creation" and 26 "Primary Objects"): the loaded form, its Name,
//! its internal serialization (contexts, persistent storage), and key generation.

pub mod duplication;
pub mod protect;
pub mod public;
pub mod sequence;
pub mod store;

use crate::crypto::{self, ecc, hash, kdf::kdfa, rsa};
use tpm_proto::object::{PublicId, PublicParms, TpmsSensitiveCreate, TpmtPublic, TpmtSensitive};
use tpm_proto::*;

/// A loaded object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Public area.
    pub public: TpmtPublic,
    /// Name: `nameAlg || H_nameAlg(TPMT_PUBLIC)`.
    pub name: Vec<u8>,
    /// Qualified name: `nameAlg || H(parentQN || name)`; for primaries the parent QN is the
    /// hierarchy handle.
    pub qualified_name: Vec<u8>,
    /// Sensitive area (`None` for a public-only `LoadExternal`).
    pub sensitive: Option<TpmtSensitive>,
    /// Hierarchy the object belongs to (`TPM_RH_OWNER`, `_ENDORSEMENT`, `_PLATFORM`, `_NULL`).
    pub hierarchy: u32,
    /// The RSA private key parsed once at load (`None` for other objects, public-only ones and
    /// a sensitive area that does not parse, which every use then refuses).
    pub rsa: Option<rsa::PrivateKey>,
}

/// Parses an RSA object's private key for the uses its attributes allow.
fn parse_rsa(public: &TpmtPublic, sensitive: Option<&TpmtSensitive>) -> Option<rsa::PrivateKey> {
    let s = sensitive?;
    if !matches!(public.parameters, PublicParms::Rsa { .. }) {
        return None;
    }
    let a = public.object_attributes;
    rsa::PrivateKey::new(
        &s.sensitive,
        a & TPMA_OBJECT_SIGN_ENCRYPT != 0,
        a & TPMA_OBJECT_DECRYPT != 0,
    )
}

/// Name of a public area (Part 1, 16 "Names").
pub fn name_of(p: &TpmtPublic) -> Vec<u8> {
    let bytes = p.to_bytes();
    let mut n = p.name_alg.to_be_bytes().to_vec();
    if let Some(d) = hash(p.name_alg, &[&bytes]) {
        n.extend_from_slice(d.as_ref());
    }
    n
}

/// Qualified name of a child of `parent_qn`.
pub fn qualified_name(name_alg: u16, parent_qn: &[u8], name: &[u8]) -> Vec<u8> {
    let mut n = name_alg.to_be_bytes().to_vec();
    if let Some(d) = hash(name_alg, &[parent_qn, name]) {
        n.extend_from_slice(d.as_ref());
    }
    n
}

impl Object {
    /// A loaded object with its names computed.
    pub fn new(
        public: TpmtPublic,
        sensitive: Option<TpmtSensitive>,
        hierarchy: u32,
        parent_qn: &[u8],
    ) -> Object {
        let name = name_of(&public);
        let qualified_name = qualified_name(public.name_alg, parent_qn, &name);
        let rsa = parse_rsa(&public, sensitive.as_ref());
        Object {
            public,
            name,
            qualified_name,
            sensitive,
            hierarchy,
            rsa,
        }
    }

    /// `objectAttributes` has all bits of `mask`.
    pub fn has(&self, mask: u32) -> bool {
        self.public.object_attributes & mask == mask
    }

    /// A storage parent: restricted decryption key with a symmetric definition.
    pub fn is_storage_parent(&self) -> bool {
        self.has(TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
            && !self.has(TPMA_OBJECT_SIGN_ENCRYPT)
            && matches!(
                self.public.parameters,
                PublicParms::Rsa { .. } | PublicParms::Ecc { .. }
            )
            && self.public.symmetric().algorithm == TPM_ALG_AES
    }

    /// The authValue (empty for a public-only object).
    pub fn auth(&self) -> &[u8] {
        self.sensitive.as_ref().map_or(&[], |s| &s.auth_value[..])
    }

    /// Internal serialization: `hierarchy u32 | TPM2B qualifiedName | TPM2B_PUBLIC | u8 present
    /// | TPMT_SENSITIVE`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.hierarchy);
        out.put_tpm2b(&self.qualified_name);
        self.public.write_2b(out);
        match &self.sensitive {
            None => out.put_u8(0),
            Some(s) => {
                out.put_u8(1);
                s.write(out);
            }
        }
    }

    /// Parses [`Object::write`]'s format.
    pub fn read(r: &mut Reader<'_>) -> Result<Object, CodecError> {
        let hierarchy = r.u32()?;
        let qualified_name = r.tpm2b(attest::MAX_NAME)?.to_vec();
        let public = TpmtPublic::read_2b(r)?;
        let sensitive = match r.u8()? {
            0 => None,
            1 => Some(TpmtSensitive::read(r)?),
            v => return Err(CodecError::Value(v.into())),
        };
        let name = name_of(&public);
        let rsa = parse_rsa(&public, sensitive.as_ref());
        Ok(Object {
            public,
            name,
            qualified_name,
            sensitive,
            hierarchy,
            rsa,
        })
    }
}

/// Where key material comes from: fresh randomness (Create) or a primary seed (CreatePrimary).
pub enum Source<'a> {
    /// `TPM2_Create` / `TPM2_LoadExternal`: random.
    Random,
    /// `TPM2_CreatePrimary`: derived from the hierarchy seed and the template.
    Primary {
        /// The hierarchy's primary seed.
        seed: &'a [u8; 64],
        /// RSA primaries already generated: `(cache key, pkcs8)`.
        rsa_cache: &'a mut crate::state::RsaCache,
    },
}

/// Label-separated derivation from a primary seed (the engine's documented derivation):
/// `KDFa(nameAlg, seed, label, H_nameAlg(template), sensitive.data || extra, bits)`.
fn derive(
    seed: &[u8],
    alg: u16,
    label: &[u8],
    tmpl: &[u8],
    data: &[u8],
    extra: &[u8],
    bits: u32,
) -> Result<Vec<u8>, u32> {
    let ctx = hash(alg, &[tmpl]).ok_or(TPM_RC_HASH)?;
    let mut v = data.to_vec();
    v.extend_from_slice(extra);
    kdfa(alg, seed, label, ctx.as_ref(), &v, bits).ok_or(TPM_RC_HASH)
}

fn random_vec(n: usize) -> Result<Vec<u8>, u32> {
    let mut v = vec![0u8; n];
    crypto::random(&mut v).map_err(|()| TPM_RC_FAILURE)?;
    Ok(v)
}

/// Generates the key material of a validated template, filling `unique`.
///
/// Primary derivation (documented, not libtpms bit-compatible):
/// * ECC: for i = 1, 2, …: `d = KDFa(nameAlg, seed, "ECC", H(template), data || [i]32,
///   8*size)`, the first `d` with 0 < d < n.
/// * RSA: a random key pair, remembered per `HMAC-SHA256(seed, "RSA" || template || data)` in
///   the persistent cache, so the same template under the same seed gives the same key while
///   the seed lasts (libtpms' deterministic prime search is not needed for a fresh vTPM, and the
///   cache makes the second CreatePrimary as fast as a lookup).
/// * seedValue and keyed-hash/symmetric keys: `KDFa(nameAlg, seed, "SEED"|"KEY", H(template),
///   data, bits)`. Every object gets a nameAlg-sized seedValue: a parent's protection seed,
///   otherwise the obfuscation value the reference puts there (and libtpms-sized private blobs).
pub fn generate(
    template: &TpmtPublic,
    sc: &TpmsSensitiveCreate,
    mut src: Source<'_>,
) -> Result<(TpmtPublic, TpmtSensitive), u32> {
    let mut public = template.clone();
    let tmpl = template.to_bytes();
    let alg = template.name_alg;
    let dsize = digest_size(alg).ok_or(TPM_RC_HASH)?;
    let attrs = template.object_attributes;
    let bits = |label: &[u8], n: usize, src: &Source<'_>| -> Result<Vec<u8>, u32> {
        match src {
            Source::Random => random_vec(n),
            Source::Primary { seed, .. } => {
                derive(&seed[..], alg, label, &tmpl, &sc.data, &[], (n * 8) as u32)
            }
        }
    };
    let (seed_value, sensitive) = match template.parameters {
        PublicParms::Rsa { key_bits, .. } => {
            let pkcs8 = match &mut src {
                Source::Random => rsa::generate(key_bits)?.0,
                Source::Primary { seed, rsa_cache } => {
                    let key = crypto::hmac(TPM_ALG_SHA256, &seed[..], &[b"RSA", &tmpl, &sc.data])
                        .ok_or(TPM_RC_FAILURE)?;
                    let mut k = [0u8; 32];
                    k.copy_from_slice(key.as_ref());
                    match rsa_cache.get(&k) {
                        Some(p) => p.to_vec(),
                        None => {
                            let p = rsa::generate(key_bits)?.0;
                            rsa_cache.insert(k, p.clone());
                            p
                        }
                    }
                }
            };
            let n = rsa::modulus_of(&pkcs8).ok_or(TPM_RC_FAILURE)?;
            public.unique = PublicId::Rsa(n);
            let sv = bits(b"SEED", dsize, &src)?;
            (sv, pkcs8)
        }
        PublicParms::Ecc { curve_id, .. } => {
            let c = ecc::Curve::from_id(curve_id).ok_or(TPM_RC_CURVE)?;
            let d = match &src {
                Source::Random => ecc::generate(c)?.0,
                Source::Primary { seed, .. } => {
                    let mut i: u32 = 1;
                    loop {
                        let d = derive(
                            &seed[..],
                            alg,
                            b"ECC",
                            &tmpl,
                            &sc.data,
                            &i.to_be_bytes(),
                            (c.size() * 8) as u32,
                        )?;
                        if ecc::scalar_ok(c, &d) {
                            break d;
                        }
                        i += 1;
                        if i > 100 {
                            return Err(TPM_RC_NO_RESULT);
                        }
                    }
                }
            };
            let (x, y) = ecc::public_point(c, &d)?;
            public.unique = PublicId::Ecc { x, y };
            let sv = bits(b"SEED", dsize, &src)?;
            (sv, d)
        }
        PublicParms::KeyedHash { .. } => {
            let data = if sc.data.is_empty() && attrs & TPMA_OBJECT_SENSITIVE_DATA_ORIGIN != 0 {
                bits(b"KEY", dsize, &src)?
            } else {
                sc.data.clone()
            };
            let sv = bits(b"SEED", dsize, &src)?;
            let u = hash(alg, &[&sv, &data]).ok_or(TPM_RC_HASH)?;
            public.unique = PublicId::Digest(u.as_ref().to_vec());
            (sv, data)
        }
        PublicParms::SymCipher { sym } => {
            let key = if sc.data.is_empty() {
                bits(b"KEY", usize::from(sym.key_bits / 8), &src)?
            } else {
                sc.data.clone()
            };
            let sv = bits(b"SEED", dsize, &src)?;
            let u = hash(alg, &[&sv, &key]).ok_or(TPM_RC_HASH)?;
            public.unique = PublicId::Digest(u.as_ref().to_vec());
            (sv, key)
        }
    };
    Ok((
        public,
        TpmtSensitive {
            sensitive_type: template.object_type,
            auth_value: crate::state::trim_zeros(&sc.user_auth).to_vec(),
            seed_value,
            sensitive,
        },
    ))
}

/// `TPM_RC_NO_RESULT` (Part 2, 6.6.3): a derivation found no valid key.
pub const TPM_RC_NO_RESULT: u32 = 0x154;

use tpm_proto::attest;

#[cfg(test)]
mod tests;
