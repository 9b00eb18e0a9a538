//! ECC_Parameters and EncryptDecrypt side by side with the real swtpm: Debian's tpm2-tools
//! (`tpm2_geteccparameters`, `tpm2_loadexternal -G aes`, `tpm2_encryptdecrypt`) run the same
//! steps against tl-vtpm and swtpm, and every output file (curve parameters, ciphertexts,
//! plaintexts, ivOut after whole and partial blocks) must be byte-identical. ECDH: with the same
//! external P-256 key loaded in both, `tpm2_ecdhzgen` of one side's `tpm2_ecdhkeygen` point gives
//! both sides the same full point Z, equal to the keygen's own Z.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The tool steps; every output file name is returned for comparison.
fn steps(t: &Tools<'_>, dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for curve in ["ecc256", "ecc384"] {
        let f = format!("{curve}.params");
        t.run(&["tpm2_geteccparameters", curve, "-o", &f]);
        files.push(f);
    }
    std::fs::write(dir.join("key.bin"), b"0123456789abcdef").unwrap();
    std::fs::write(dir.join("iv.bin"), b"thisis16byteszxc").unwrap();
    // 36 bytes: two blocks and a partial one for the stream modes; 32 for CBC/ECB.
    let msg = b"this is data to encrypt, 37 bytes ..";
    std::fs::write(dir.join("msg36.bin"), msg).unwrap();
    std::fs::write(dir.join("msg32.bin"), &msg[..32]).unwrap();
    t.run(&[
        "tpm2_loadexternal",
        "-C",
        "n",
        "-G",
        "aes",
        "-r",
        "key.bin",
        "-c",
        "key.ctx",
    ]);
    t.flush();
    for mode in ["cfb", "ofb", "ctr", "cbc"] {
        let input = if mode == "cbc" {
            "msg32.bin"
        } else {
            "msg36.bin"
        };
        let (ct, ivout) = (format!("ct-{mode}.bin"), format!("ivout-{mode}.bin"));
        let iv = format!("iv.bin:{ivout}");
        t.run(&[
            "tpm2_encryptdecrypt",
            "-c",
            "key.ctx",
            "-G",
            mode,
            "--iv",
            &iv,
            "-o",
            &ct,
            input,
        ]);
        t.flush();
        let (pt, divout) = (format!("pt-{mode}.bin"), format!("divout-{mode}.bin"));
        let div = format!("iv.bin:{divout}");
        t.run(&[
            "tpm2_encryptdecrypt",
            "-d",
            "-c",
            "key.ctx",
            "-G",
            mode,
            "--iv",
            &div,
            "-o",
            &pt,
            &ct,
        ]);
        t.flush();
        assert_eq!(t.read(&pt), std::fs::read(dir.join(input)).unwrap());
        files.extend([ct, ivout, pt, divout]);
    }
    files
}

/// A fixed P-256 key (generated with `openssl ecparam -genkey`), so both TPMs hold the same one.
const ECC_KEY_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIOOBvDy6k0tDbaNoLnDlb5EsBDOt46Qo7jDvnuGf+RNGoAoGCCqGSM49
AwEHoUQDQgAEQ0k74av5XlDINBVMZZofLRgnmc6GPbL9AySDQj0iWpG+KTTD+zzG
pNq0Z98PH9upKovzLR7hXjBcXqQE5yV5Jw==
-----END EC PRIVATE KEY-----
";

/// ECDH_KeyGen on each side, ECDH_ZGen of each side's ephemeral point on both sides.
fn ecdh_cross(a: &Tools<'_>, b: &Tools<'_>) {
    for t in [a, b] {
        let dir = t.dir.unwrap();
        std::fs::write(dir.join("ecc.pem"), ECC_KEY_PEM).unwrap();
        t.run(&[
            "tpm2_loadexternal",
            "-C",
            "n",
            "-G",
            "ecc",
            "-r",
            "ecc.pem",
            "-c",
            "ecc.ctx",
        ]);
        t.flush();
        t.run(&[
            "tpm2_ecdhkeygen",
            "-c",
            "ecc.ctx",
            "-u",
            "q.bin",
            "-o",
            "z.bin",
        ]);
        t.flush();
    }
    for (src, name) in [(a, "ours"), (b, "theirs")] {
        let q = src.read("q.bin");
        let mut zs = Vec::new();
        for t in [a, b] {
            let f = format!("q-{name}.bin");
            std::fs::write(t.dir.unwrap().join(&f), &q).unwrap();
            let out = format!("zgen-{name}.bin");
            t.run(&["tpm2_ecdhzgen", "-c", "ecc.ctx", "-u", &f, "-o", &out]);
            t.flush();
            zs.push(t.read(&out));
        }
        assert_eq!(zs[0], zs[1], "ECDH_ZGen of the {name} point differs");
        assert_eq!(zs[0], src.read("z.bin"), "ZGen ≠ KeyGen's Z ({name})");
        // TPM2B_ECC_POINT of two 32-byte coordinates.
        assert_eq!(zs[0].len(), 2 + 2 + 32 + 2 + 32);
    }
}

#[test]
fn ecc_parameters_and_encrypt_decrypt_match_swtpm() {
    if !have_tools() {
        return;
    }
    if Command::new("swtpm").arg("--version").output().is_err() {
        println!("SKIPPED: swtpm not found (apt-get install swtpm)");
        return;
    }
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let (ours_state, theirs_state) = (ours.path().join("state"), theirs.path().join("state"));
    std::fs::create_dir(&ours_state).unwrap();
    std::fs::create_dir(&theirs_state).unwrap();

    let v = start_tcp(&ours_state, &["--flags", "not-need-init,startup-clear"]);
    let s = start_swtpm(&theirs_state);
    let ours_t = Tools::swtpm(&v, Some(ours.path()));
    let theirs_t = Tools {
        tcti: format!("swtpm:host=127.0.0.1,port={}", s.port),
        dir: Some(theirs.path()),
    };
    let files = steps(&ours_t, ours.path());
    let files2 = steps(&theirs_t, theirs.path());
    assert_eq!(files, files2);
    ecdh_cross(&ours_t, &theirs_t);
    drop(v);
    drop(s);
    for f in &files {
        let a = std::fs::read(ours.path().join(f)).unwrap();
        let b = std::fs::read(theirs.path().join(f)).unwrap();
        assert!(!a.is_empty(), "{f} is empty");
        assert_eq!(a, b, "{f}: tl-vtpm vs swtpm");
    }
}
