//! `--key`: state files encrypted at rest (AES-GCM), against the real binary.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const KEY256: &str = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

/// Runs tl-vtpm expecting a start-up failure; returns stderr.
fn start_fails(dir: &Path, key: Option<&str>) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["socket", "--tpm2", "--server", "port=1", "--tpmstate"])
        .arg(format!("dir={}", dir.display()))
        .args(["--flags", "not-need-init"]);
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs Startup(CLEAR), extends PCR 0, CMD_SHUTDOWN (Shutdown(STATE) + persist); checks
/// GET_CONFIG on the way. Returns the expected PCR 0.
fn provision(dir: &Path, key: &str) -> Vec<u8> {
    let digest = [0x3Cu8; 32];
    let mut v = start_tcp(dir, &["--flags", "not-need-init", "--key", key]);
    let mut d = connect(v.port);
    assert_eq!(rc(&transact(&mut d, &hex(STARTUP_CLEAR))), 0);
    assert_eq!(rc(&transact(&mut d, &pcr_extend(0, &digest))), 0);
    let mut c = connect(v.port + 1);
    // GET_CONFIG: PTM_CONFIG_FLAG_FILE_KEY.
    assert_eq!(ctrl(&mut c, &hex("0000000F"), 8), hex("00000000 00000001"));
    assert_eq!(ctrl(&mut c, &hex("00000003"), 4), hex("00000000"));
    assert!(v.wait_exit().success());
    sha256(&[&[0u8; 32], &digest])
}

fn pcr0_after_startup_state(dir: &Path, key: &str) -> Vec<u8> {
    let v = start_tcp(
        dir,
        &["--flags", "not-need-init,startup-state", "--key", key],
    );
    let mut d = connect(v.port);
    pcr_value(&transact(&mut d, &pcr_read(0)))
}

#[test]
fn round_trip_wrong_key_tamper_and_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let kf = keys.path().join("k");
    std::fs::write(&kf, KEY256).unwrap();
    let key = format!("file={},mode=aes-256-cbc", kf.display());
    let expected = provision(dir.path(), &key);
    let raw = std::fs::read(state_file(dir.path())).unwrap();
    assert_eq!(&raw[..6], b"TLVe\x01\x02", "encrypted, AES-256-GCM header");
    assert!(!raw.windows(4).any(|w| w == b"TLVp"), "no plaintext blob");

    // Wrong key: clear error, state untouched.
    let wrong = keys.path().join("wrong");
    std::fs::write(&wrong, KEY256.replace("ff\n", "fe\n")).unwrap();
    let e = start_fails(
        dir.path(),
        Some(&format!("file={},mode=aes-256-cbc", wrong.display())),
    );
    assert!(
        e.contains("tpm2-00.permall cannot be decrypted: wrong key or tampered"),
        "{e}"
    );
    // Same key bytes, but a 128-bit mode: also refused.
    let e = start_fails(dir.path(), Some(&format!("file={}", kf.display())));
    assert!(e.contains("hex key has 64 digits"), "{e}");
    assert_eq!(std::fs::read(state_file(dir.path())).unwrap(), raw);

    // Without --key: "is encrypted".
    let e = start_fails(dir.path(), None);
    assert!(e.contains("is encrypted"), "{e}");

    // One flipped ciphertext byte: refused, file left as it was.
    let mut t = raw.clone();
    let mid = t.len() / 2;
    t[mid] ^= 0x01;
    std::fs::write(state_file(dir.path()), &t).unwrap();
    let e = start_fails(dir.path(), Some(&key));
    assert!(e.contains("wrong key or tampered"), "{e}");
    assert_eq!(std::fs::read(state_file(dir.path())).unwrap(), t);
    // The untampered file (still holding the Shutdown(STATE) save) resumes PCR 0.
    std::fs::write(state_file(dir.path()), &raw).unwrap();
    assert_eq!(pcr0_after_startup_state(dir.path(), &key), expected);

    // A plaintext state directory with --key is refused.
    let plain = tempfile::tempdir().unwrap();
    drop(start_tcp(
        plain.path(),
        &["--flags", "not-need-init,startup-clear"],
    ));
    let e = start_fails(plain.path(), Some(&key));
    assert!(e.contains("is not encrypted but --key was given"), "{e}");
}

#[test]
fn key_file_forms_and_remove() {
    let keys = tempfile::tempdir().unwrap();
    // binary 128-bit key, removed after reading.
    let bin = keys.path().join("bin");
    std::fs::write(&bin, [0xA5u8; 16]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opt = format!("file={},format=binary,remove", bin.display());
    let expected = provision(dir.path(), &opt);
    assert!(!bin.exists(), "remove deletes the key file");
    assert_eq!(
        &std::fs::read(state_file(dir.path())).unwrap()[..6],
        b"TLVe\x01\x01"
    );
    std::fs::write(&bin, [0xA5u8; 16]).unwrap();
    let opt = format!("file={},format=binary", bin.display());
    assert_eq!(pcr0_after_startup_state(dir.path(), &opt), expected);
    // A binary key of the wrong length.
    std::fs::write(&bin, [0xA5u8; 17]).unwrap();
    let e = start_fails(dir.path(), Some(&opt));
    assert!(e.contains("binary key is 17 bytes; mode needs 16"), "{e}");

    // Passphrases: pbkdf2 (default) and sha512 derive different keys.
    let pwd = keys.path().join("pwd");
    std::fs::write(&pwd, "correct horse battery staple").unwrap();
    for kdf in ["pbkdf2", "sha512"] {
        let dir = tempfile::tempdir().unwrap();
        let opt = format!("pwdfile={},kdf={kdf},mode=aes-256-cbc", pwd.display());
        let expected = provision(dir.path(), &opt);
        assert_eq!(pcr0_after_startup_state(dir.path(), &opt), expected);
        let other = if kdf == "pbkdf2" { "sha512" } else { "pbkdf2" };
        let e = start_fails(
            dir.path(),
            Some(&format!(
                "pwdfile={},kdf={other},mode=aes-256-cbc",
                pwd.display()
            )),
        );
        assert!(e.contains("wrong key or tampered"), "{kdf}: {e}");
    }
    // A missing key file is a clear error.
    let e = start_fails(
        tempfile::tempdir().unwrap().path(),
        Some("file=/nonexistent/key"),
    );
    assert!(e.contains("cannot read /nonexistent/key"), "{e}");
}
