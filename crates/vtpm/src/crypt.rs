//! State files at rest: `--key` (swtpm's option forms) → AES-GCM with a random nonce per write
//! and a versioned header. swtpm writes AES-CBC + HMAC-SHA256 in its own TLV format (reference
//! vtpm.md §5); our state format is our own anyway, so we always use an AEAD: `mode=` only
//! selects the key size (aes-128-cbc/aes-cbc → AES-128-GCM, aes-256-cbc → AES-256-GCM).
//!
//! File layout: `"TLVe" | u8 version = 1 | u8 alg (1 = AES-128-GCM, 2 = AES-256-GCM) | u16 0 |
//! nonce[12] | ciphertext | tag[16]`. The AAD is the 8-byte header plus the file name, so a
//! permall cannot be swapped in for a volatile file.

use std::io::Read;
use std::path::PathBuf;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SecureRandom;

/// First bytes of an encrypted state file.
pub const MAGIC: [u8; 4] = *b"TLVe";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// PBKDF2-HMAC-SHA512 parameters for `kdf=pbkdf2` (fixed: the key is derived once at start).
const PBKDF2_SALT: &[u8] = b"tl-vtpm state key v1";
const PBKDF2_ITERATIONS: u32 = 100_000;
/// Largest key or password file read.
const MAX_KEY_FILE: u64 = 4096;

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `file=`: the key itself.
    File(PathBuf),
    /// `fd=`: the key itself, read from an inherited descriptor.
    Fd(i32),
    /// `pwdfile=`: a passphrase.
    PwdFile(PathBuf),
    /// `pwdfd=`: a passphrase from an inherited descriptor.
    PwdFd(i32),
}

/// `format=` of a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// Hex digits, optional `0x`, trailing whitespace allowed (swtpm's default).
    Hex,
    /// Raw bytes.
    Binary,
}

/// `kdf=` for passphrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// PBKDF2-HMAC-SHA512 (default).
    Pbkdf2,
    /// The first key-length bytes of SHA-512(passphrase) (swtpm's older derivation).
    Sha512,
}

/// A parsed `--key` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOpt {
    /// Key or passphrase source.
    pub source: KeySource,
    /// Key file format.
    pub format: KeyFormat,
    /// Key length in bytes (16 or 32), from `mode=`.
    pub key_len: usize,
    /// Passphrase derivation.
    pub kdf: Kdf,
    /// `remove`: delete the key/passphrase file once read.
    pub remove: bool,
}

/// Why a key could not be obtained or a file not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// The key source cannot be read.
    #[error("--key: cannot read {what}: {source}")]
    Read {
        /// File or fd.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The key material does not fit the mode.
    #[error("--key: {0}")]
    BadKey(String),
    /// Authentication failed.
    #[error("state file {0} cannot be decrypted: wrong key or tampered")]
    WrongKey(PathBuf),
    /// An encrypted file without `--key`.
    #[error("state file {0} is encrypted: start with the --key it was written with")]
    NeedKey(PathBuf),
    /// A plaintext file with `--key`.
    #[error(
        "state file {0} is not encrypted but --key was given (start without --key, or with an empty state directory)"
    )]
    NotEncrypted(PathBuf),
    /// A header we do not know.
    #[error(
        "state file {path}: unsupported encryption header (version {version}, algorithm {alg})"
    )]
    Header {
        /// File.
        path: PathBuf,
        /// Version byte.
        version: u8,
        /// Algorithm byte.
        alg: u8,
    },
    /// The random generator failed.
    #[error("cannot generate a nonce")]
    Rng,
}

/// The state key.
pub struct StateKey {
    key: LessSafeKey,
    alg: u8,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateKey(alg {})", self.alg)
    }
}

fn read_source(source: &KeySource) -> Result<Vec<u8>, CryptError> {
    let (what, file) = match source {
        KeySource::File(p) | KeySource::PwdFile(p) => (
            p.display().to_string(),
            std::fs::File::open(p).map_err(|e| (p.display().to_string(), e)),
        ),
        KeySource::Fd(n) | KeySource::PwdFd(n) => (
            format!("fd {n}"),
            crate::sockets::inherit_fd(*n)
                .map(std::fs::File::from)
                .map_err(|e| (format!("fd {n}"), e)),
        ),
    };
    let file = file.map_err(|(what, source)| CryptError::Read { what, source })?;
    let mut buf = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|source| CryptError::Read {
            what: what.clone(),
            source,
        })?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(CryptError::BadKey(format!(
            "{what} is larger than {MAX_KEY_FILE} bytes"
        )));
    }
    Ok(buf)
}

fn parse_hex(raw: &[u8], key_len: usize) -> Result<Vec<u8>, CryptError> {
    let s = std::str::from_utf8(raw)
        .map_err(|_| CryptError::BadKey("hex key file is not text".into()))?
        .trim_end();
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != key_len * 2 {
        return Err(CryptError::BadKey(format!(
            "hex key has {} digits; mode needs {} ({}-bit key)",
            s.len(),
            key_len * 2,
            key_len * 8
        )));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| CryptError::BadKey("hex key has a non-hex digit".into()))
        })
        .collect()
}

impl StateKey {
    /// Reads and derives the key; removes the file afterwards if `remove` was given.
    pub fn load(opt: &KeyOpt) -> Result<StateKey, CryptError> {
        let raw = read_source(&opt.source)?;
        let key = match (&opt.source, opt.kdf) {
            (KeySource::File(_) | KeySource::Fd(_), _) => match opt.format {
                KeyFormat::Hex => parse_hex(&raw, opt.key_len)?,
                KeyFormat::Binary if raw.len() == opt.key_len => raw,
                KeyFormat::Binary => {
                    return Err(CryptError::BadKey(format!(
                        "binary key is {} bytes; mode needs {}",
                        raw.len(),
                        opt.key_len
                    )));
                }
            },
            (_, Kdf::Sha512) => {
                let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, &raw);
                d.as_ref()[..opt.key_len].to_vec()
            }
            (_, Kdf::Pbkdf2) => {
                let mut out = vec![0u8; opt.key_len];
                let iters = std::num::NonZeroU32::new(PBKDF2_ITERATIONS)
                    .ok_or_else(|| CryptError::BadKey("pbkdf2 iterations".into()))?;
                aws_lc_rs::pbkdf2::derive(
                    aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
                    iters,
                    PBKDF2_SALT,
                    &raw,
                    &mut out,
                );
                out
            }
        };
        if opt.remove
            && let KeySource::File(p) | KeySource::PwdFile(p) = &opt.source
            && let Err(e) = std::fs::remove_file(p)
        {
            crate::error!("--key: cannot remove {}: {e}", p.display());
        }
        StateKey::from_bytes(&key)
    }

    /// A key of 16 or 32 bytes.
    pub fn from_bytes(key: &[u8]) -> Result<StateKey, CryptError> {
        let (alg, a) = match key.len() {
            16 => (1, &aead::AES_128_GCM),
            32 => (2, &aead::AES_256_GCM),
            n => return Err(CryptError::BadKey(format!("{n}-byte key; need 16 or 32"))),
        };
        let k = UnboundKey::new(a, key).map_err(|_| CryptError::BadKey("rejected".into()))?;
        Ok(StateKey {
            key: LessSafeKey::new(k),
            alg,
        })
    }

    fn aad(header: &[u8], name: &str) -> Vec<u8> {
        let mut a = header.to_vec();
        a.extend_from_slice(name.as_bytes());
        a
    }

    /// Encrypts the contents of state file `name`.
    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>, CryptError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptError::Rng)?;
        let header = [
            MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, self.alg, 0, 0,
        ];
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(&header, name)),
                &mut body,
            )
            .map_err(|_| CryptError::Rng)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts state file `name` (its full path for messages).
    pub fn open(&self, name: &str, path: PathBuf, file: &[u8]) -> Result<Vec<u8>, CryptError> {
        if !is_encrypted(file) {
            return Err(CryptError::NotEncrypted(path));
        }
        if file.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
            return Err(CryptError::WrongKey(path));
        }
        let (header, rest) = file.split_at(HEADER_LEN);
        if header[4] != VERSION || header[6..8] != [0, 0] {
            return Err(CryptError::Header {
                path,
                version: header[4],
                alg: header[5],
            });
        }
        if header[5] != self.alg {
            // The key size differs from the one the file was written with.
            return Err(CryptError::WrongKey(path));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| CryptError::WrongKey(path.clone()))?;
        let mut body = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(Self::aad(header, name)), &mut body)
            .map_err(|_| CryptError::WrongKey(path))?;
        Ok(plain.to_vec())
    }
}

/// True if `file` carries our encryption header.
pub fn is_encrypted(file: &[u8]) -> bool {
    file.starts_with(&MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_tamper_wrong_key_and_name_binding() {
        let k = StateKey::from_bytes(&[7; 32]).unwrap();
        let c = k.seal("a", b"hello").unwrap();
        assert_eq!(&c[..8], b"TLVe\x01\x02\0\0");
        assert_eq!(k.open("a", "a".into(), &c).unwrap(), b"hello");
        assert_ne!(k.seal("a", b"hello").unwrap(), c, "fresh nonce per write");
        for i in 0..c.len() {
            let mut t = c.clone();
            t[i] ^= 1;
            assert!(k.open("a", "a".into(), &t).is_err(), "byte {i}");
        }
        assert!(matches!(
            k.open("b", "b".into(), &c),
            Err(CryptError::WrongKey(_))
        ));
        let other = StateKey::from_bytes(&[8; 32]).unwrap();
        assert!(matches!(
            other.open("a", "a".into(), &c),
            Err(CryptError::WrongKey(_))
        ));
        let small = StateKey::from_bytes(&[7; 16]).unwrap();
        assert!(matches!(
            small.open("a", "a".into(), &c),
            Err(CryptError::WrongKey(_))
        ));
        assert!(matches!(
            k.open("a", "a".into(), b"TLVp..."),
            Err(CryptError::NotEncrypted(_))
        ));
        assert!(StateKey::from_bytes(&[0; 24]).is_err());
    }

    #[test]
    fn hex_keys() {
        let h = b"0x000102030405060708090a0b0c0d0e0f\n";
        assert_eq!(parse_hex(h, 16).unwrap(), (0..16).collect::<Vec<u8>>());
        assert!(parse_hex(h, 32).is_err());
        assert!(parse_hex(b"zz0102030405060708090a0b0c0d0e0f", 16).is_err());
    }
}
