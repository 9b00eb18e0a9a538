//! Symmetric protection: AES-CFB128 (Part 1, 11.4.6 and 21.3), the XOR obfuscation of
//! parameter encryption (Part 1, 21.2), and the AES block modes of TPM2_EncryptDecrypt with the
//! reference implementation's chaining value (`ivOut`) for each mode.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use tpm_proto::{TPM_ALG_CBC, TPM_ALG_CFB, TPM_ALG_CTR, TPM_ALG_ECB, TPM_ALG_OFB};

/// AES block size (`MAX_SYM_BLOCK_SIZE`).
pub const BLOCK: usize = 16;

fn key(k: &[u8]) -> Option<UnboundCipherKey> {
    let alg = match k.len() {
        16 => &AES_128,
        24 => &AES_192,
        32 => &AES_256,
        _ => return None,
    };
    UnboundCipherKey::new(alg, k).ok()
}

/// AES-CFB128 encryption in place with a 16-byte IV; `None` for an unsupported key size.
pub fn cfb_encrypt(k: &[u8], iv: &[u8; 16], data: &mut [u8]) -> Option<()> {
    if data.is_empty() {
        return Some(());
    }
    let ek = EncryptingKey::cfb128(key(k)?).ok()?;
    ek.less_safe_encrypt(data, EncryptionContext::Iv128(FixedLength::from(*iv)))
        .ok()?;
    Some(())
}

/// AES-CFB128 decryption in place.
pub fn cfb_decrypt(k: &[u8], iv: &[u8; 16], data: &mut [u8]) -> Option<()> {
    if data.is_empty() {
        return Some(());
    }
    let dk = DecryptingKey::cfb128(key(k)?).ok()?;
    dk.decrypt(data, DecryptionContext::Iv128(FixedLength::from(*iv)))
        .ok()?;
    Some(())
}

/// AES in `mode` (CTR, OFB, CBC, CFB or ECB) over `data` in place; `iv` is the caller's ivIn
/// (empty for ECB, one block otherwise) and becomes ivOut, the value that continues the chain
/// in a following call, as libtpms (OpenSSL's cipher context) leaves it: CBC and CFB the last
/// ciphertext block (CFB after a partial block: its ciphertext bytes, then the rest of that
/// block's keystream — the reference code's zero padding is not what swtpm answers), OFB the
/// last keystream block, CTR the counter after the last (partial) block. CBC/ECB need whole
/// blocks.
/// `None` on a bad key, IV or length (the caller checked them) or a library failure.
pub fn block_mode(
    mode: u16,
    decrypt: bool,
    k: &[u8],
    iv: &mut [u8],
    data: &mut [u8],
) -> Option<()> {
    if mode == TPM_ALG_ECB {
        if !iv.is_empty() || !data.len().is_multiple_of(BLOCK) {
            return None;
        }
        if data.is_empty() {
            return Some(());
        }
        return if decrypt {
            DecryptingKey::ecb(key(k)?)
                .ok()?
                .decrypt(data, DecryptionContext::None)
                .ok()
                .map(|_| ())
        } else {
            EncryptingKey::ecb(key(k)?)
                .ok()?
                .less_safe_encrypt(data, EncryptionContext::None)
                .ok()
                .map(|_| ())
        };
    }
    let iv_in: [u8; BLOCK] = iv.try_into().ok()?;
    if data.is_empty() {
        return Some(());
    }
    let blocks = data.len().div_ceil(BLOCK);
    let last = (blocks - 1) * BLOCK;
    let ctx_e = || EncryptionContext::Iv128(FixedLength::from(iv_in));
    let ctx_d = || DecryptionContext::Iv128(FixedLength::from(iv_in));
    // The ciphertext's last (partial) block and the CFB register that produced its keystream
    // (the IV or the ciphertext block before it), taken before decryption overwrites them.
    let mut tail = [0u8; BLOCK];
    let mut register = iv_in;
    if decrypt {
        tail[..data.len() - last].copy_from_slice(&data[last..]);
        if last > 0 {
            register.copy_from_slice(&data[last - BLOCK..last]);
        }
    }
    match mode {
        TPM_ALG_CBC | TPM_ALG_CFB => {
            if mode == TPM_ALG_CBC && !data.len().is_multiple_of(BLOCK) {
                return None;
            }
            let u = key(k)?;
            if decrypt {
                let dk = if mode == TPM_ALG_CBC {
                    DecryptingKey::cbc(u)
                } else {
                    DecryptingKey::cfb128(u)
                };
                dk.ok()?.decrypt(data, ctx_d()).ok()?;
            } else {
                let ek = if mode == TPM_ALG_CBC {
                    EncryptingKey::cbc(u)
                } else {
                    EncryptingKey::cfb128(u)
                };
                ek.ok()?.less_safe_encrypt(data, ctx_e()).ok()?;
                tail[..data.len() - last].copy_from_slice(&data[last..]);
                if last > 0 {
                    register.copy_from_slice(&data[last - BLOCK..last]);
                }
            }
            let r = data.len() - last;
            if mode == TPM_ALG_CFB && r < BLOCK {
                // The keystream block E(register): CFB over zeros from that register.
                let mut ks = [0u8; BLOCK];
                EncryptingKey::cfb128(key(k)?)
                    .ok()?
                    .less_safe_encrypt(&mut ks, EncryptionContext::Iv128(register.into()))
                    .ok()?;
                tail[r..].copy_from_slice(&ks[r..]);
            }
            iv.copy_from_slice(&tail);
        }
        TPM_ALG_OFB => {
            // OFB is its own inverse; the last keystream block is the encryption of zeros.
            EncryptingKey::ofb(key(k)?)
                .ok()?
                .less_safe_encrypt(data, ctx_e())
                .ok()?;
            let mut stream = vec![0u8; blocks * BLOCK];
            EncryptingKey::ofb(key(k)?)
                .ok()?
                .less_safe_encrypt(&mut stream, ctx_e())
                .ok()?;
            iv.copy_from_slice(&stream[last..]);
        }
        TPM_ALG_CTR => {
            // CTR is its own inverse; the whole block is a 128-bit big-endian counter.
            EncryptingKey::ctr(key(k)?)
                .ok()?
                .less_safe_encrypt(data, ctx_e())
                .ok()?;
            let next = u128::from_be_bytes(iv_in).wrapping_add(blocks as u128);
            iv.copy_from_slice(&next.to_be_bytes());
        }
        _ => return None,
    }
    Some(())
}

/// XOR obfuscation: `data ^= KDFa(hash, key, "XOR", contextU, contextV, len*8)`.
pub fn xor(hash: u16, k: &[u8], context_u: &[u8], context_v: &[u8], data: &mut [u8]) -> Option<()> {
    let mask = super::kdf::kdfa(
        hash,
        k,
        b"XOR",
        context_u,
        context_v,
        (data.len() as u32) * 8,
    )?;
    for (d, m) in data.iter_mut().zip(mask) {
        *d ^= m;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfb_round_trip_and_sp800_38a_vector() {
        // NIST SP 800-38A F.3.13 CFB128-AES128.Encrypt, first block.
        let k = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&hex("000102030405060708090a0b0c0d0e0f"));
        let mut d = hex("6bc1bee22e409f96e93d7e117393172a");
        cfb_encrypt(&k, &iv, &mut d).unwrap();
        assert_eq!(d, hex("3b3fd92eb72dad20333449f8e83cfb4a"));
        cfb_decrypt(&k, &iv, &mut d).unwrap();
        assert_eq!(d, hex("6bc1bee22e409f96e93d7e117393172a"));
        // Partial blocks are fine in CFB.
        let mut odd = vec![5u8; 21];
        cfb_encrypt(&k, &iv, &mut odd).unwrap();
        cfb_decrypt(&k, &iv, &mut odd).unwrap();
        assert_eq!(odd, vec![5u8; 21]);
    }

    #[test]
    fn block_modes_sp800_38a_and_chaining() {
        // NIST SP 800-38A F.2.1 (CBC), F.1.1 (ECB), F.4.1 (OFB), F.5.1 (CTR), first block,
        // AES-128.
        let k = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        let ctr_iv = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        let pt = hex("6bc1bee22e409f96e93d7e117393172a");
        for (mode, iv, ct) in [
            (TPM_ALG_CBC, iv.clone(), "7649abac8119b246cee98e9b12e9197d"),
            (TPM_ALG_ECB, vec![], "3ad77bb40d7a3660a89ecaf32466ef97"),
            (TPM_ALG_OFB, iv.clone(), "3b3fd92eb72dad20333449f8e83cfb4a"),
            (TPM_ALG_CTR, ctr_iv, "874d6191b620e3261bef6864990db6ce"),
            (TPM_ALG_CFB, iv.clone(), "3b3fd92eb72dad20333449f8e83cfb4a"),
        ] {
            let mut d = pt.clone();
            let mut v = iv.clone();
            block_mode(mode, false, &k, &mut v, &mut d).unwrap();
            assert_eq!(d, hex(ct), "mode {mode:#x}");
            let mut v = iv.clone();
            block_mode(mode, true, &k, &mut v, &mut d).unwrap();
            assert_eq!(d, pt, "mode {mode:#x}");
        }
        // ivOut continues the chain: one call over 3 blocks (+ a partial one for the stream
        // modes) equals calls over the pieces, in both directions, for all key sizes. The CTR
        // IV carries across the low 64 bits.
        let data: Vec<u8> = (0..53u8).collect();
        let iv0 = hex("0102030405060708ffffffffffffffff");
        for key_len in [16, 24, 32] {
            let k = vec![7u8; key_len];
            for mode in [
                TPM_ALG_CBC,
                TPM_ALG_ECB,
                TPM_ALG_OFB,
                TPM_ALG_CTR,
                TPM_ALG_CFB,
            ] {
                let len = if matches!(mode, TPM_ALG_CBC | TPM_ALG_ECB) {
                    48
                } else {
                    53
                };
                let iv = if mode == TPM_ALG_ECB {
                    vec![]
                } else {
                    iv0.clone()
                };
                let mut whole = data[..len].to_vec();
                let mut v1 = iv.clone();
                block_mode(mode, false, &k, &mut v1, &mut whole).unwrap();
                let mut parts = data[..len].to_vec();
                let mut v2 = iv.clone();
                let (a, b) = parts.split_at_mut(32);
                block_mode(mode, false, &k, &mut v2, a).unwrap();
                block_mode(mode, false, &k, &mut v2, b).unwrap();
                assert_eq!(parts, whole, "mode {mode:#x}");
                // Decryption leaves the same ivOut and the plaintext.
                let mut v3 = iv.clone();
                block_mode(mode, true, &k, &mut v3, &mut whole).unwrap();
                assert_eq!(whole, &data[..len]);
                assert_eq!(v1, v2, "mode {mode:#x}");
                assert_eq!(v1, v3, "mode {mode:#x}");
            }
        }
        // CFB with a partial last block (SP 800-38A F.3.13, 1 + 4/16 blocks): ivOut is that
        // ciphertext, then the rest of its keystream E(C1) = C2 ^ P2, in both directions.
        let k = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let mut d = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a57");
        let mut v = iv.clone();
        block_mode(TPM_ALG_CFB, false, &k, &mut v, &mut d).unwrap();
        assert_eq!(d, hex("3b3fd92eb72dad20333449f8e83cfb4a c8a64537"));
        assert_eq!(v, hex("c8a64537 beb005a35354a201dab36bda"));
        let mut v2 = iv.clone();
        block_mode(TPM_ALG_CFB, true, &k, &mut v2, &mut d).unwrap();
        assert_eq!(v2, v);
        // A single partial block: the register is the IV, E(IV) = C1 ^ P1.
        let mut d = hex("6bc1bee2");
        let mut v = iv.clone();
        block_mode(TPM_ALG_CFB, false, &k, &mut v, &mut d).unwrap();
        assert_eq!(v, hex("3b3fd92e 996d32b6da0937e99bafec60"));
        // Refused: CBC/ECB partial blocks, a wrong IV size, an unknown mode or key size.
        assert!(block_mode(TPM_ALG_CBC, false, &[7; 16], &mut iv0.clone(), &mut [0; 17]).is_none());
        assert!(block_mode(TPM_ALG_ECB, false, &[7; 16], &mut [], &mut [0; 15]).is_none());
        assert!(block_mode(TPM_ALG_ECB, false, &[7; 16], &mut [0; 16], &mut [0; 16]).is_none());
        assert!(block_mode(TPM_ALG_CFB, false, &[7; 16], &mut [0; 8], &mut [0; 16]).is_none());
        assert!(block_mode(0x10, false, &[7; 16], &mut [0; 16], &mut [0; 16]).is_none());
        assert!(block_mode(TPM_ALG_CFB, false, &[7; 20], &mut [0; 16], &mut [0; 16]).is_none());
        // Empty data leaves the IV as it was.
        let mut v = iv0.clone();
        block_mode(TPM_ALG_CTR, false, &[7; 16], &mut v, &mut []).unwrap();
        assert_eq!(v, iv0);
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
