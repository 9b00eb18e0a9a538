//! TPM2_CertifyX509 (Part 3, 18.8): the caller sends a partial TBSCertificate (issuer,
//! validity, subject, extensions and optionally the signature algorithm); the TPM checks the
//! extensions against the object, adds version, serial number, signature algorithm and the
//! object's subjectPublicKeyInfo, and signs the complete TBSCertificate (RFC 5280, 4.1).
//! Only the DER subset the reference implementation accepts is parsed: definite lengths of
//! at most two octets, low tag numbers.

use super::attest::{resolve_scheme, sign};
use crate::Tpm;
use crate::crypto::hash;
use crate::dispatch::{Ctx, param};
use crate::object::Object;
use tpm_proto::object::{MAX_DIGEST, PublicId, PublicParms, TpmtScheme};
use tpm_proto::*;

/// `TPM2B_MAX_BUFFER` (`MAX_DIGEST_BUFFER`).
const MAX_BUFFER: usize = 1024;
/// `SIZE_OF_X509_SERIAL_NUMBER`: the serial number is this many octets of a digest.
const SERIAL_SIZE: usize = 20;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
/// `[3]` constructed: the extensions of a TBSCertificate.
const EXTENSIONS: u8 = 0xA3;

// DER object identifiers, tag and length included (RFC 3279, 4055, 5480, 5758).
const OID_RSA_ENCRYPTION: &[u8] = &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 1];
const OID_MGF1: &[u8] = &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 8];
const OID_RSAPSS: &[u8] = &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 10];
const OID_EC_PUBLIC_KEY: &[u8] = &[6, 7, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 2, 1];
const OID_P256: &[u8] = &[6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 3, 1, 7];
const OID_P384: &[u8] = &[6, 5, 0x2B, 0x81, 0x04, 0x00, 0x22];
/// id-ce-keyUsage (2.5.29.15).
const OID_KEY_USAGE: &[u8] = &[6, 3, 0x55, 0x1D, 0x0F];
/// TCG tcg-tpmaObject (2.23.133.10.1.1.1): the object's TPMA_OBJECT as a BIT STRING.
const OID_TCG_TPMA_OBJECT: &[u8] = &[6, 7, 0x67, 0x81, 0x05, 0x0A, 1, 1, 1];

/// (hash OID, sha*WithRSAEncryption OID, ecdsa-with-SHA* OID) of a hash algorithm.
fn hash_oids(alg: u16) -> Option<(&'static [u8], &'static [u8], &'static [u8])> {
    Some(match alg {
        TPM_ALG_SHA1 => (
            &[6, 5, 0x2B, 0x0E, 0x03, 0x02, 0x1A],
            &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 5],
            &[6, 7, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 4, 1],
        ),
        TPM_ALG_SHA256 => (
            &[6, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 1],
            &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 11],
            &[6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 4, 3, 2],
        ),
        TPM_ALG_SHA384 => (
            &[6, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 2],
            &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 12],
            &[6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 4, 3, 3],
        ),
        TPM_ALG_SHA512 => (
            &[6, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 3],
            &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 13],
            &[6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 4, 3, 4],
        ),
        _ => return None,
    })
}

/// A DER element: tag, definite length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag];
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

/// A DER INTEGER of a non-negative big-endian value (leading zeros dropped, a zero octet
/// added when the top bit is set).
pub fn integer(mut b: &[u8]) -> Vec<u8> {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    let mut c = Vec::with_capacity(b.len() + 1);
    if b.first().is_none_or(|x| x & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(b);
    tlv(INTEGER, &c)
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// `AlgorithmIdentifier { oid, NULL }`.
fn alg_id_null(oid: &[u8]) -> Vec<u8> {
    seq(&[oid, &[NULL, 0]])
}

/// The DER reader: one element at a time from a slice.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// (tag, whole element, content) of the next element.
    fn next(&mut self) -> Option<(u8, &'a [u8], &'a [u8])> {
        let b = self.0;
        let tag = *b.first()?;
        if tag & 0x1F == 0x1F {
            return None;
        }
        let first = *b.get(1)?;
        let (len, hdr) = match first {
            0..=0x7F => (usize::from(first), 2),
            0x81 => (usize::from(*b.get(2)?), 3),
            0x82 => {
                let hi = *b.get(2)?;
                if hi >= 0x80 {
                    return None;
                }
                ((usize::from(hi) << 8) | usize::from(*b.get(3)?), 4)
            }
            _ => return None,
        };
        let whole = b.get(..hdr + len)?;
        self.0 = &b[hdr + len..];
        Some((tag, whole, &whole[hdr..]))
    }
}

/// A BIT STRING's bits left-aligned in a `u32` (reference `ASN1GetBitStringValue`: bit 0 of
/// the string is bit 31).
fn bit_string_value(content: &[u8]) -> Option<u32> {
    let (&unused, bits) = content.split_first()?;
    if unused >= 8 || (bits.is_empty() && unused != 0) || bits.len() > 4 {
        return None;
    }
    let mut v = 0u32;
    for (i, b) in bits.iter().enumerate() {
        v |= u32::from(*b) << (24 - 8 * i);
    }
    // The unused trailing bits must not carry anything.
    let used = 8 * bits.len() as u32 - u32::from(unused);
    let mask = if used == 0 {
        0
    } else {
        u32::MAX << (32 - used)
    };
    Some(v & mask)
}

/// The value bits of extension `oid` in the `[3] { SEQUENCE OF Extension }` element, or
/// `Ok(None)` if absent; `Err(())` if malformed.
fn extension_bits(extensions: &[u8], oid: &[u8]) -> Result<Option<u32>, ()> {
    let mut outer = Der(extensions);
    let (_, _, list) = outer.next().ok_or(())?;
    let mut list = Der(list);
    let (tag, _, items) = list.next().ok_or(())?;
    if tag != SEQUENCE {
        return Err(());
    }
    let mut items = Der(items);
    while !items.0.is_empty() {
        let (tag, _, ext) = items.next().ok_or(())?;
        if tag != SEQUENCE {
            return Err(());
        }
        if !ext.starts_with(oid) {
            continue;
        }
        let mut fields = Der(ext);
        while let Some((tag, _, value)) = fields.next() {
            if tag == OCTET_STRING {
                let (t, _, bits) = Der(value).next().ok_or(())?;
                if t != BIT_STRING {
                    return Err(());
                }
                return bit_string_value(bits).map(Some).ok_or(());
            }
        }
        return Err(());
    }
    Ok(None)
}

// TPMA_X509_KEY_USAGE (Part 2, 8.12), bit 31 = digitalSignature.
const KU_DIGITAL_SIGNATURE: u32 = 1 << 31;
const KU_NON_REPUDIATION: u32 = 1 << 30;
const KU_KEY_ENCIPHERMENT: u32 = 1 << 29;
const KU_DATA_ENCIPHERMENT: u32 = 1 << 28;
const KU_KEY_AGREEMENT: u32 = 1 << 27;
const KU_KEY_CERT_SIGN: u32 = 1 << 26;
const KU_CRL_SIGN: u32 = 1 << 25;
const KU_ENCIPHER_ONLY: u32 = 1 << 24;
const KU_DECIPHER_ONLY: u32 = 1 << 23;
const KU_ALLOWED: u32 = 0xFF80_0000;

/// Reference `X509ProcessExtensions`: a tcg-tpmaObject extension must equal the object's
/// attributes (TPM_RC_ATTRIBUTES, on the object handle); keyUsage is required and must be
/// consistent with them (sign, decrypt, fixedTPM for nonRepudiation, restricted for
/// keyEncipherment).
fn check_extensions(o: &Object, extensions: &[u8]) -> Result<(), u32> {
    let value = rc_param(TPM_RC_VALUE, 3);
    let attrs = o.public.object_attributes;
    match extension_bits(extensions, OID_TCG_TPMA_OBJECT) {
        Err(()) => return Err(value),
        Ok(Some(v)) if v != attrs => return Err(rc_handle(TPM_RC_ATTRIBUTES, 1)),
        Ok(_) => {}
    }
    let ku = match extension_bits(extensions, OID_KEY_USAGE) {
        Ok(Some(v)) => v,
        _ => return Err(value),
    };
    if ku & !KU_ALLOWED != 0 {
        return Err(rc_param(TPM_RC_RESERVED_BITS, 3));
    }
    let sign_bits = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN;
    let decrypt_bits = KU_KEY_ENCIPHERMENT
        | KU_DATA_ENCIPHERMENT
        | KU_KEY_AGREEMENT
        | KU_ENCIPHER_ONLY
        | KU_DECIPHER_ONLY;
    let has = |m: u32| attrs & m != 0;
    let bad = (ku & sign_bits != 0 && !has(TPMA_OBJECT_SIGN_ENCRYPT))
        || (ku & decrypt_bits != 0 && !has(TPMA_OBJECT_DECRYPT))
        || (ku & KU_NON_REPUDIATION != 0 && !has(TPMA_OBJECT_FIXED_TPM))
        || (ku & KU_KEY_ENCIPHERMENT != 0 && !has(TPMA_OBJECT_RESTRICTED));
    if bad { Err(value) } else { Ok(()) }
}

/// The object's subjectPublicKeyInfo (RFC 3279 RSA; RFC 5480 ECC, uncompressed point).
fn public_key_info(o: &Object) -> Option<Vec<u8>> {
    match (&o.public.parameters, &o.public.unique) {
        (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) => {
            let e = if *exponent == 0 { 65537 } else { *exponent };
            let key = seq(&[&integer(n), &integer(&e.to_be_bytes())]);
            let mut bits = vec![0u8];
            bits.extend_from_slice(&key);
            Some(seq(&[
                &alg_id_null(OID_RSA_ENCRYPTION),
                &tlv(BIT_STRING, &bits),
            ]))
        }
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, y }) => {
            let curve = match *curve_id {
                TPM_ECC_NIST_P256 => OID_P256,
                TPM_ECC_NIST_P384 => OID_P384,
                _ => return None,
            };
            let point = [&[0u8, 0x04][..], x, y].concat();
            Some(seq(&[
                &seq(&[OID_EC_PUBLIC_KEY, curve]),
                &tlv(BIT_STRING, &point),
            ]))
        }
        _ => None,
    }
}

/// The TBSCertificate's `signature` AlgorithmIdentifier for `scheme` (RSASSA: sha*WithRSA;
/// RSAPSS: RSASSA-PSS-params with MGF1 and a salt as long as the digest, which is what the
/// signer uses; ECDSA: ecdsa-with-SHA*).
fn signature_algorithm(scheme: TpmtScheme) -> Option<Vec<u8>> {
    let (hash_oid, rsa_oid, ecdsa_oid) = hash_oids(scheme.hash)?;
    match scheme.scheme {
        TPM_ALG_RSASSA => Some(alg_id_null(rsa_oid)),
        TPM_ALG_RSAPSS if scheme.hash == TPM_ALG_SHA1 => Some(alg_id_null(OID_RSAPSS)),
        TPM_ALG_RSAPSS => {
            let salt = digest_size(scheme.hash)? as u32;
            let params = seq(&[
                &tlv(0xA0, &alg_id_null(hash_oid)),
                &tlv(0xA1, &seq(&[OID_MGF1, &alg_id_null(hash_oid)])),
                &tlv(0xA2, &integer(&salt.to_be_bytes())),
            ]);
            Some(seq(&[OID_RSAPSS, &params]))
        }
        TPM_ALG_ECDSA => Some(seq(&[ecdsa_oid])),
        _ => None,
    }
}

/// TPM2_CertifyX509: returns `addedToCertificate` (SEQUENCE of version, serialNumber, the
/// signature algorithm if the caller left it out, subjectPublicKeyInfo), the digest of the
/// whole TBSCertificate, and the signature over it.
pub fn certify_x509(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let reserved = param(1, ctx.params.tpm2b(MAX_DIGEST))?;
    let in_scheme = param(2, TpmtScheme::read(&mut ctx.params))?;
    let partial = param(3, ctx.params.tpm2b(MAX_BUFFER))?.to_vec();
    ctx.end()?;
    if !reserved.is_empty() {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let object = tpm
        .object(ctx.handles[0])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let key = tpm
        .object(ctx.handles[1])
        .cloned()
        .ok_or(rc_handle(TPM_RC_HANDLE, 2))?;
    let scheme = resolve_scheme(&key, in_scheme, 2).map_err(|rc| {
        if rc == rc_handle(TPM_RC_KEY, 1) {
            rc_handle(TPM_RC_KEY, 2)
        } else {
            rc
        }
    })?;
    let spki = public_key_info(&object).ok_or(rc_handle(TPM_RC_ASYMMETRIC, 1))?;

    // The partial certificate: one SEQUENCE filling the parameter, holding 3 or 4 SEQUENCEs
    // ([signature,] issuer, validity, subject) and exactly one [3] extensions element.
    let size = rc_param(TPM_RC_SIZE, 3);
    let value = rc_param(TPM_RC_VALUE, 3);
    let mut outer = Der(&partial);
    let (tag, _, body) = outer.next().ok_or(size)?;
    if tag != SEQUENCE || !outer.0.is_empty() {
        return Err(size);
    }
    let mut seqs: Vec<&[u8]> = Vec::new();
    let mut extensions: Option<&[u8]> = None;
    let mut items = Der(body);
    while !items.0.is_empty() {
        let (tag, whole, _) = items.next().ok_or(value)?;
        match tag {
            SEQUENCE if seqs.len() < 4 => seqs.push(whole),
            EXTENSIONS if extensions.is_none() => extensions = Some(whole),
            _ => return Err(value),
        }
    }
    let extensions = extensions.ok_or(value)?;
    if seqs.len() < 3 {
        return Err(value);
    }
    let (given_alg, rest) = if seqs.len() == 4 {
        (Some(seqs[0]), &seqs[1..])
    } else {
        (None, &seqs[..])
    };
    let added_alg = match given_alg {
        Some(_) => None,
        None => Some(signature_algorithm(scheme).ok_or(rc_handle(TPM_RC_SCHEME, 2))?),
    };
    check_extensions(&object, extensions)?;
    let sig_alg: &[u8] = given_alg.or(added_alg.as_deref()).unwrap_or_default();
    let (issuer, validity, subject) = (rest[0], rest[1], rest[2]);

    // The TBS fields after version and serialNumber, in order.
    let fields = [sig_alg, issuer, validity, subject, &spki, extensions];
    // serialNumber: the first 20 octets of H_signKey.nameAlg over the rest of the TBS and both
    // Names, so that it is unique per (signer, object, content).
    let serial_digest = hash(
        key.public.name_alg,
        &[&fields[..], &[&key.name, &object.name]].concat(),
    )
    .ok_or(TPM_RC_HASH)?;
    let serial_digest = serial_digest.as_ref();
    let serial = integer(&serial_digest[..SERIAL_SIZE.min(serial_digest.len())]);
    let version = tlv(0xA0, &integer(&[2]));
    let body = [&[&version[..], &serial][..], &fields].concat().concat();
    let tbs = tlv(SEQUENCE, &body);
    let tbs_digest = hash(scheme.hash, &[&tbs]).ok_or(rc_param(TPM_RC_HASH, 2))?;
    let added = seq(&[
        &version,
        &serial,
        added_alg.as_deref().unwrap_or_default(),
        &spki,
    ]);
    if added.len() > MAX_BUFFER {
        return Err(TPM_RC_FAILURE);
    }
    let signature = sign(&key, scheme, tbs_digest.as_ref())?;
    out.put_tpm2b(&added);
    out.put_tpm2b(tbs_digest.as_ref());
    signature.write(out);
    Ok(())
}
