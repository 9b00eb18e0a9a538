//! The spec's RSA sensitive form (Part 2, 11.2.4.7 `TPM2B_PRIVATE_KEY_RSA`: one prime `p`) and
//! this engine's own (a PKCS#8 document, [`super::rsa`]), in both directions: Import and
//! LoadExternal receive `p` from other TPMs and from software (tpm2-pytss, tpm2-tools), and
//! Duplicate must hand `p` out so that other TPMs can import what this one exports.
//!
//! From `(n, e, p)`: `q = n / p`, `d = e⁻¹ mod (p-1)(q-1)`, `dP`, `dQ`, `qInv = q⁻¹ mod p`,
//! encoded as a PKCS#1 `RSAPrivateKey` that aws-lc parses and checks (`RSA_check_key`: p·q = n,
//! d·e ≡ 1 mod p-1 and q-1, the CRT values) before it is re-encoded as PKCS#8.
//!
//! Side channels: the arithmetic is crypto-bigint 0.5's fixed-width `U4096`, whose operations
//! are constant-time in the secret operands; the divisions are variable-time only in the bit
//! length of the divisor (|p|, |q| ≈ |n|/2, public), and the loop bounds are the fixed width.
//! The DER encoding around the numbers (leading-zero stripping, lengths) depends on the byte
//! length of each value, as every DER encoder of a private key does.

use crypto_bigint::{NonZero, U4096, Word};
use tpm_proto::{TPM_RC_BINDING, TPM_RC_KEY};

type Big = U4096;
const BIG_BYTES: usize = Big::BITS / 8;

fn big(bytes: &[u8]) -> Option<Big> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let b = &bytes[skip..];
    if b.len() > BIG_BYTES {
        return None;
    }
    let mut buf = [0u8; BIG_BYTES];
    buf[BIG_BYTES - b.len()..].copy_from_slice(b);
    Some(Big::from_be_slice(&buf))
}

/// Big-endian bytes without leading zeros (an empty vector for zero).
fn bytes(x: &Big) -> Vec<u8> {
    let mut out = Vec::with_capacity(BIG_BYTES);
    for w in x.as_words().iter().rev() {
        out.extend_from_slice(&Word::to_be_bytes(*w));
    }
    let skip = out.iter().take_while(|&&b| b == 0).count();
    out.drain(..skip);
    out
}

fn non_zero(x: Big) -> Option<NonZero<Big>> {
    Option::from(NonZero::new(x))
}

fn odd(x: &Big) -> bool {
    x.as_words()[0] & 1 == 1
}

/// The PKCS#8 document of the RSA key `(n, e, p)` (`e` = 0 means 65537). `TPM_RC_BINDING` if
/// `p` is not a factor of `n` or the key does not check out, `TPM_RC_KEY` for sizes this
/// engine cannot hold.
pub fn pkcs8_from_prime(n: &[u8], e: u32, p: &[u8]) -> Result<Vec<u8>, u32> {
    let e = if e == 0 { super::rsa::EXPONENT } else { e };
    let nb = big(n).ok_or(TPM_RC_KEY)?;
    let pb = big(p).ok_or(TPM_RC_BINDING)?;
    let one = Big::ONE;
    // p must be odd and 1 < p < n, which also keeps p - 1 and q - 1 non-zero below.
    if !odd(&pb) || pb <= one || pb >= nb {
        return Err(TPM_RC_BINDING);
    }
    let (q, r) = nb.div_rem(&non_zero(pb).ok_or(TPM_RC_BINDING)?);
    if r != Big::ZERO || q <= one || !odd(&q) {
        return Err(TPM_RC_BINDING);
    }
    let p1 = pb.wrapping_sub(&one);
    let q1 = q.wrapping_sub(&one);
    // (p-1)(q-1) < n fits the width; the high half of the wide product is zero.
    let (phi, hi) = p1.mul_wide(&q1);
    if hi != Big::ZERO {
        return Err(TPM_RC_KEY);
    }
    let (d, ok) = Big::from_u32(e).inv_mod(&phi);
    if !bool::from(ok) {
        return Err(TPM_RC_BINDING);
    }
    let dp = d.rem(&non_zero(p1).ok_or(TPM_RC_BINDING)?);
    let dq = d.rem(&non_zero(q1).ok_or(TPM_RC_BINDING)?);
    let (qinv, ok) = q.rem(&non_zero(pb).ok_or(TPM_RC_BINDING)?).inv_odd_mod(&pb);
    if !bool::from(ok) {
        return Err(TPM_RC_BINDING);
    }
    let e_big = Big::from_u32(e);
    let mut body = Vec::with_capacity(n.len() * 5);
    der_integer(&mut body, &[]);
    for v in [&nb, &e_big, &d, &pb, &q, &dp, &dq, &qinv] {
        der_integer(&mut body, &bytes(v));
    }
    let mut pkcs1 = Vec::with_capacity(body.len() + 4);
    der_tlv(&mut pkcs1, 0x30, &body);
    let kp = aws_lc_rs::rsa::KeyPair::from_der(&pkcs1).map_err(|_| TPM_RC_BINDING)?;
    use aws_lc_rs::encoding::AsDer;
    let der = kp.as_der().map_err(|_| TPM_RC_KEY)?;
    Ok(der.as_ref().to_vec())
}

/// The prime `p` of a PKCS#8 RSA document (`None` if it does not have the PKCS#8 and PKCS#1
/// shape). The result is left-padded to half the modulus length, the size other TPMs expect.
pub fn prime_from_pkcs8(pkcs8: &[u8]) -> Option<Vec<u8>> {
    // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING, ... }
    let mut outer = Der::new(pkcs8).expect(0x30)?;
    outer.expect(0x02)?;
    outer.expect(0x30)?;
    let key = outer.expect(0x04)?;
    // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dP, dQ, qInv }
    let mut rsa = Der::new(key.0).expect(0x30)?;
    rsa.expect(0x02)?;
    let n = unsigned(rsa.expect(0x02)?.0);
    rsa.expect(0x02)?;
    rsa.expect(0x02)?;
    let p = unsigned(rsa.expect(0x02)?.0);
    let half = n.len().div_ceil(2);
    if p.is_empty() || p.len() > half {
        return None;
    }
    let mut out = vec![0u8; half - p.len()];
    out.extend_from_slice(p);
    Some(out)
}

fn unsigned(i: &[u8]) -> &[u8] {
    let skip = i.iter().take_while(|&&b| b == 0).count();
    &i[skip..]
}

/// A DER reader over one level of TLVs.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn new(b: &'a [u8]) -> Self {
        Der(b)
    }

    /// The contents of the next TLV, which must carry `tag` (single-byte tags, definite
    /// lengths of at most 4 octets).
    fn expect(&mut self, tag: u8) -> Option<Der<'a>> {
        let (&t, rest) = self.0.split_first()?;
        let (&l0, mut rest) = rest.split_first()?;
        if t != tag {
            return None;
        }
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let k = usize::from(l0 & 0x7f);
            if k == 0 || k > 4 || rest.len() < k {
                return None;
            }
            let v = rest[..k]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b));
            rest = &rest[k..];
            v
        };
        if rest.len() < len {
            return None;
        }
        let (body, tail) = rest.split_at(len);
        self.0 = tail;
        Some(Der(body))
    }
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let lb = n.to_be_bytes();
        let skip = lb.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (lb.len() - skip) as u8);
        out.extend_from_slice(&lb[skip..]);
    }
    out.extend_from_slice(body);
}

/// A non-negative INTEGER from big-endian bytes without leading zeros.
fn der_integer(out: &mut Vec<u8>, v: &[u8]) {
    let mut body = Vec::with_capacity(v.len() + 1);
    if v.first().is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(v);
    der_tlv(out, 0x02, &body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa;
    use tpm_proto::{TPM_ALG_RSASSA, TPM_ALG_SHA256};

    #[test]
    fn prime_round_trip_gives_the_same_working_key() {
        for bits in [2048u16, 3072] {
            let (pkcs8, n) = rsa::generate(bits).unwrap();
            let p = prime_from_pkcs8(&pkcs8).unwrap();
            assert_eq!(p.len(), n.len() / 2);
            let rebuilt = pkcs8_from_prime(&n, 0, &p).unwrap();
            assert_eq!(rsa::modulus_of(&rebuilt).unwrap(), n);
            assert_eq!(prime_from_pkcs8(&rebuilt).unwrap(), p);
            // The rebuilt key signs what the public key verifies.
            let k = rsa::PrivateKey::new(&rebuilt, true, true).unwrap();
            let d = [7u8; 32];
            let s = rsa::sign(&k, TPM_ALG_RSASSA, TPM_ALG_SHA256, &d).unwrap();
            assert!(rsa::verify(&n, 0, TPM_ALG_RSASSA, TPM_ALG_SHA256, &d, &s));
            // q works as well as p (it is the other factor).
            let q = bytes(
                &big(&n)
                    .unwrap()
                    .div_rem(&non_zero(big(&p).unwrap()).unwrap())
                    .0,
            );
            assert_eq!(
                rsa::modulus_of(&pkcs8_from_prime(&n, 65537, &q).unwrap()).unwrap(),
                n
            );
        }
    }

    #[test]
    fn wrong_primes_are_binding_errors() {
        let (pkcs8, n) = rsa::generate(2048).unwrap();
        let mut p = prime_from_pkcs8(&pkcs8).unwrap();
        let last = p.len() - 1;
        p[last] ^= 2; // still odd, no longer a factor
        assert_eq!(pkcs8_from_prime(&n, 0, &p), Err(TPM_RC_BINDING));
        assert_eq!(pkcs8_from_prime(&n, 0, &[]), Err(TPM_RC_BINDING));
        assert_eq!(pkcs8_from_prime(&n, 0, &[1]), Err(TPM_RC_BINDING));
        assert_eq!(pkcs8_from_prime(&n, 0, &n), Err(TPM_RC_BINDING));
        assert_eq!(pkcs8_from_prime(&n, 0, &[2]), Err(TPM_RC_BINDING));
        assert_eq!(pkcs8_from_prime(&[0xff; 600], 0, &[3]), Err(TPM_RC_KEY));
    }

    #[test]
    fn malformed_documents_have_no_prime() {
        assert!(prime_from_pkcs8(&[]).is_none());
        assert!(prime_from_pkcs8(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(prime_from_pkcs8(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        let (pkcs8, _) = rsa::generate(2048).unwrap();
        for cut in [1, 10, 100, pkcs8.len() / 2, pkcs8.len() - 1] {
            assert!(prime_from_pkcs8(&pkcs8[..cut]).is_none(), "cut at {cut}");
        }
    }
}
