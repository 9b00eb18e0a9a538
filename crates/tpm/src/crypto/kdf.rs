//! Key derivation: KDFa (SP800-108 counter mode with HMAC, Part 1, 11.4.10.2) and KDFe
//! (SP800-56A concatenation KDF, Part 1, 11.4.10.3).

use super::{Hasher, hmac};

/// `KDFa(hashAlg, key, label, contextU, contextV, bits)`: `HMAC(key, [i]32 || label || 0x00 ||
/// contextU || contextV || [bits]32)` for i = 1, 2, …, truncated to `bits` (the most significant
/// bits of the first octet are masked when `bits` is not a multiple of 8). `label` is given
/// without its terminating NUL, which is always appended. `None` for an unknown hash.
pub fn kdfa(
    alg: u16,
    key: &[u8],
    label: &[u8],
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Option<Vec<u8>> {
    counter_mode(bits, |i| {
        hmac(
            alg,
            key,
            &[
                &i.to_be_bytes(),
                label,
                &[0],
                context_u,
                context_v,
                &bits.to_be_bytes(),
            ],
        )
        .map(|t| t.as_ref().to_vec())
    })
}

/// `KDFe(hashAlg, Z, label, partyUInfo, partyVInfo, bits)`: `H([i]32 || Z || label || 0x00 ||
/// partyUInfo || partyVInfo)` for i = 1, 2, …, truncated to `bits`.
pub fn kdfe(
    alg: u16,
    z: &[u8],
    label: &[u8],
    party_u: &[u8],
    party_v: &[u8],
    bits: u32,
) -> Option<Vec<u8>> {
    counter_mode(bits, |i| {
        let mut h = Hasher::new(alg)?;
        for p in [&i.to_be_bytes()[..], z, label, &[0], party_u, party_v] {
            h.update(p);
        }
        Some(h.finish().as_ref().to_vec())
    })
}

/// The counter-mode loop both KDFs share: blocks `block(1)`, `block(2)`, … concatenated,
/// truncated to `bits` and masked (the most significant bits of the first octet when `bits` is
/// not a multiple of 8).
fn counter_mode(bits: u32, mut block: impl FnMut(u32) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    let len = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(len + 64);
    let mut i: u32 = 1;
    while out.len() < len {
        out.extend_from_slice(&block(i)?);
        i += 1;
    }
    out.truncate(len);
    mask_top(&mut out, bits);
    Some(out)
}

fn mask_top(out: &mut [u8], bits: u32) {
    if !bits.is_multiple_of(8)
        && let Some(b) = out.first_mut()
    {
        *b &= (1u8 << (bits % 8)) - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::{digest, hmac as lc};
    use tpm_proto::{TPM_ALG_SHA256, TPM_ALG_SHA384};

    fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        lc::sign(&lc::Key::new(lc::HMAC_SHA256, key), msg)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn kdfa_matches_hand_built_sp800_108() {
        let key = [0x11u8; 32];
        let (u, v) = (b"nonce-newer".as_slice(), b"nonce-older".as_slice());
        // 48 bytes = two HMAC blocks; message layout written out by hand.
        let bits = 384u32;
        let mut expect = Vec::new();
        for i in 1u32..=2 {
            let mut m = i.to_be_bytes().to_vec();
            m.extend_from_slice(b"ATH\0");
            m.extend_from_slice(u);
            m.extend_from_slice(v);
            m.extend_from_slice(&bits.to_be_bytes());
            expect.extend(hmac_sha256(&key, &m));
        }
        expect.truncate(48);
        assert_eq!(
            kdfa(TPM_ALG_SHA256, &key, b"ATH", u, v, bits).unwrap(),
            expect
        );
    }

    #[test]
    fn kdfa_odd_bits_masks_first_octet() {
        let k = kdfa(TPM_ALG_SHA256, b"k", b"X", b"", b"", 9).unwrap();
        assert_eq!(k.len(), 2);
        assert!(k[0] <= 1);
    }

    #[test]
    fn kdfe_matches_hand_built_concat_kdf() {
        let z = [7u8; 48];
        let mut m = 1u32.to_be_bytes().to_vec();
        m.extend_from_slice(&z);
        m.extend_from_slice(b"SECRET\0");
        m.extend_from_slice(b"U");
        m.extend_from_slice(b"V");
        let d = digest::digest(&digest::SHA384, &m);
        let got = kdfe(TPM_ALG_SHA384, &z, b"SECRET", b"U", b"V", 256).unwrap();
        assert_eq!(got, d.as_ref()[..32]);
    }
}
