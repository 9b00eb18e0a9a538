//! Symmetric protection: AES-CFB128 (Part 1, 11.4.6 and 21.3) and the XOR obfuscation of
//! parameter encryption (Part 1, 21.2).

use aws_lc_rs::cipher::{
    AES_128, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;

fn key(k: &[u8]) -> Option<UnboundCipherKey> {
    let alg = match k.len() {
        16 => &AES_128,
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

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
