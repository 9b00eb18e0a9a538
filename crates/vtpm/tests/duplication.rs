//! Duplication across TPMs: a key created in one TPM, duplicated (Part 3, 13.1) to a parent of
//! the other TPM and imported there (13.3) with Debian's tpm2-tools, in both directions between
//! tl-vtpm and the real swtpm (libtpms). The imported key signs and its origin verifies, so the
//! blob formats (outer wrapper, inner wrapper, RSA sensitive as prime p) are the spec's.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use common::*;

/// Copies a file the tools wrote for one TPM to the other's working directory.
fn copy(from: &Tools<'_>, to: &Tools<'_>, name: &str) {
    std::fs::copy(from.dir.unwrap().join(name), to.dir.unwrap().join(name)).unwrap();
}

/// Creates a duplicable RSA signing key in `src`, duplicates it to an `alg` storage primary of
/// `dst` (inner AES wrapper if `inner`), imports it in `dst`, signs there and verifies in `src`.
fn duplicate_and_import(src: &Tools<'_>, dst: &Tools<'_>, alg: &str, inner: bool) {
    let tag = format!("{alg}-{inner}");
    let f = |n: &str| format!("{tag}-{n}");
    // The new parent's public area, loaded into the source TPM.
    dst.run(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-G",
        alg,
        "-c",
        &f("dsrk.ctx"),
    ]);
    dst.run(&[
        "tpm2_readpublic",
        "-c",
        &f("dsrk.ctx"),
        "-o",
        &f("dsrk.pub"),
    ]);
    copy(dst, src, &f("dsrk.pub"));
    dst.flush();
    src.run(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-G",
        "rsa",
        "-c",
        &f("ssrk.ctx"),
    ]);
    src.flush();
    src.run(&[
        "tpm2_loadexternal",
        "-C",
        "n",
        "-u",
        &f("dsrk.pub"),
        "-c",
        &f("np.ctx"),
    ]);
    src.flush();
    // The key's policy: the DUP role needs PolicyCommandCode(Duplicate).
    src.run(&["tpm2_startauthsession", "-S", &f("trial.ctx")]);
    src.run(&[
        "tpm2_policycommandcode",
        "-S",
        &f("trial.ctx"),
        "-L",
        &f("pol.dat"),
        "TPM2_CC_Duplicate",
    ]);
    src.run(&["tpm2_flushcontext", &f("trial.ctx")]);
    src.run(&[
        "tpm2_create",
        "-C",
        &f("ssrk.ctx"),
        "-G",
        "rsa2048",
        "-L",
        &f("pol.dat"),
        "-a",
        "sensitivedataorigin|userwithauth|sign",
        "-r",
        &f("key.prv"),
        "-u",
        &f("key.pub"),
    ]);
    src.flush();
    src.run(&[
        "tpm2_load",
        "-C",
        &f("ssrk.ctx"),
        "-r",
        &f("key.prv"),
        "-u",
        &f("key.pub"),
        "-c",
        &f("key.ctx"),
    ]);
    src.flush();
    src.run(&[
        "tpm2_startauthsession",
        "--policy-session",
        "-S",
        &f("p.ctx"),
    ]);
    src.run(&[
        "tpm2_policycommandcode",
        "-S",
        &f("p.ctx"),
        "TPM2_CC_Duplicate",
    ]);
    let session = format!("session:{}", f("p.ctx"));
    let (np, key_ctx, dpriv, seed) = (f("np.ctx"), f("key.ctx"), f("dup.dpriv"), f("dup.seed"));
    let (dsrk2, key_pub, imp, key) = (f("dsrk2.ctx"), f("key.pub"), f("imp.prv"), f("inner.key"));
    let mut dup = vec![
        "tpm2_duplicate",
        "-C",
        np.as_str(),
        "-c",
        key_ctx.as_str(),
        "-p",
        session.as_str(),
        "-r",
        dpriv.as_str(),
        "-s",
        seed.as_str(),
    ];
    let mut import = vec![
        "tpm2_import",
        "-C",
        dsrk2.as_str(),
        "-u",
        key_pub.as_str(),
        "-i",
        dpriv.as_str(),
        "-s",
        seed.as_str(),
        "-r",
        imp.as_str(),
    ];
    if inner {
        std::fs::write(src.dir.unwrap().join(&key), b"sixteen byte key").unwrap();
        copy(src, dst, &key);
        dup.extend(["-G", "aes", "-i", key.as_str()]);
        import.extend(["-G", "aes", "-k", key.as_str()]);
    } else {
        dup.extend(["-G", "null"]);
    }
    let dup_out = src.raw(&dup);
    assert!(
        dup_out.status.success(),
        "tpm2_duplicate ({tag}): {}",
        String::from_utf8_lossy(&dup_out.stderr)
    );
    src.flush();
    for name in [&dpriv, &seed, &key_pub] {
        copy(src, dst, name);
    }
    dst.run(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-G",
        alg,
        "-c",
        &f("dsrk2.ctx"),
    ]);
    dst.flush();
    dst.run(&import);
    dst.flush();
    dst.run(&[
        "tpm2_load",
        "-C",
        &f("dsrk2.ctx"),
        "-u",
        &f("key.pub"),
        "-r",
        &f("imp.prv"),
        "-c",
        &f("imp.ctx"),
    ]);
    dst.flush();
    std::fs::write(dst.dir.unwrap().join(f("msg")), b"moved between TPMs").unwrap();
    copy(dst, src, &f("msg"));
    dst.run(&[
        "tpm2_sign",
        "-c",
        &f("imp.ctx"),
        "-g",
        "sha256",
        "-s",
        "rsassa",
        "-o",
        &f("sig"),
        &f("msg"),
    ]);
    dst.flush();
    copy(dst, src, &f("sig"));
    src.run(&[
        "tpm2_verifysignature",
        "-c",
        &f("key.ctx"),
        "-g",
        "sha256",
        "-m",
        &f("msg"),
        "-s",
        &f("sig"),
    ]);
    src.flush();
}

#[test]
fn duplicate_between_tl_vtpm_and_swtpm() {
    if !have_tools() || !swtpm_installed() {
        return;
    }
    let tl_dir = tempfile::tempdir().unwrap();
    let sw_dir = tempfile::tempdir().unwrap();
    let tl_state = tl_dir.path().join("state");
    let sw_state = sw_dir.path().join("state");
    std::fs::create_dir(&tl_state).unwrap();
    std::fs::create_dir(&sw_state).unwrap();
    let v = start_tcp(&tl_state, &["--flags", "not-need-init,startup-clear"]);
    let s = start_swtpm(&sw_state);
    let tl = Tools::swtpm(&v, Some(tl_dir.path()));
    let sw = Tools {
        tcti: format!("swtpm:host=127.0.0.1,port={}", s.port),
        dir: Some(sw_dir.path()),
    };
    // tl-vtpm exports (outer wrapper by RSA-OAEP or ECDH, RSA sensitive as prime p) ...
    duplicate_and_import(&tl, &sw, "rsa", false);
    duplicate_and_import(&tl, &sw, "ecc", true);
    // ... and imports what libtpms exports.
    duplicate_and_import(&sw, &tl, "rsa", true);
    duplicate_and_import(&sw, &tl, "ecc", false);
}
