//! vTPM part 2 interop: objects, sessions, policies and attestation driven by Debian's
//! tpm2-tools 5.4 (default HMAC sessions, salted/bound sessions, policy sessions) against
//! tl-vtpm. Each step is a real tool invocation; outputs are checked, not just exit codes.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::path::Path;

use common::*;

/// tl-vtpm on a fresh state below `dir` (startup-clear), with tools working in `dir`.
fn start(dir: &Path) -> (Vtpm, Tools<'_>) {
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    let v = start_tcp(&state, &["--flags", "not-need-init,startup-clear"]);
    let t = Tools::swtpm(&v, Some(dir));
    (v, t)
}

#[test]
fn tpm2_tools_objects_sessions_attestation() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (v, t) = start(dir.path());

    // Primaries under the owner hierarchy (HMAC session, sym=NULL) and a child key.
    t.run(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-G",
        "rsa2048",
        "-c",
        "p.ctx",
    ]);
    let rp = t.run(&["tpm2_readpublic", "-c", "p.ctx"]);
    assert!(rp.contains("name:") && rp.contains("rsa:"), "{rp}");
    t.flush();
    t.run(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-G",
        "ecc256",
        "-c",
        "pe.ctx",
    ]);
    t.flush();
    t.run(&[
        "tpm2_create",
        "-C",
        "p.ctx",
        "-G",
        "rsa2048",
        "-u",
        "k.pub",
        "-r",
        "k.priv",
    ]);
    t.flush();
    t.run(&[
        "tpm2_load",
        "-C",
        "p.ctx",
        "-u",
        "k.pub",
        "-r",
        "k.priv",
        "-c",
        "k.ctx",
    ]);
    t.flush();

    // EK (TCG template, same public twice) and AK, RSA and ECC; quote and checkquote.
    for (g, s, pre) in [("rsa", "rsassa", ""), ("ecc", "ecdsa", "e")] {
        let ek = format!("ek{pre}.ctx");
        let ekpub = format!("ek{pre}.pub");
        let ak = format!("ak{pre}.ctx");
        let akpub = format!("ak{pre}.pub");
        let akname = format!("ak{pre}.name");
        t.run(&["tpm2_createek", "-G", g, "-c", &ek, "-u", &ekpub]);
        t.flush();
        let first = t.read(&ekpub);
        t.run(&["tpm2_createek", "-G", g, "-c", &ek, "-u", &ekpub]);
        t.flush();
        assert_eq!(
            first,
            t.read(&ekpub),
            "{g} EK differs between two CreatePrimary"
        );
        t.run(&[
            "tpm2_createak",
            "-C",
            &ek,
            "-c",
            &ak,
            "-G",
            g,
            "-s",
            s,
            "-g",
            "sha256",
            "-u",
            &akpub,
            "-n",
            &akname,
        ]);
        t.flush();
        t.run(&[
            "tpm2_quote",
            "-c",
            &ak,
            "-l",
            "sha256:0,1,16",
            "-q",
            "abcdef01",
            "-m",
            "q.msg",
            "-s",
            "q.sig",
            "-o",
            "q.pcrs",
            "-g",
            "sha256",
        ]);
        t.flush();
        t.run(&[
            "tpm2_checkquote",
            "-u",
            &akpub,
            "-m",
            "q.msg",
            "-s",
            "q.sig",
            "-f",
            "q.pcrs",
            "-g",
            "sha256",
            "-q",
            "abcdef01",
        ]);
        t.fails(&[
            "tpm2_checkquote",
            "-u",
            &akpub,
            "-m",
            "q.msg",
            "-s",
            "q.sig",
            "-f",
            "q.pcrs",
            "-g",
            "sha256",
            "-q",
            "abcdef02",
        ]);
    }

    // Credential activation: offline MakeCredential to the RSA EK, policy session for the EK.
    std::fs::write(dir.path().join("cred.in"), b"secret12345").unwrap();
    let name: String = t
        .read("ak.name")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    t.run(&[
        "tpm2_makecredential",
        "-T",
        "none",
        "-u",
        "ek.pub",
        "-s",
        "cred.in",
        "-n",
        &name,
        "-o",
        "cred.blob",
    ]);
    t.run(&["tpm2_startauthsession", "--policy-session", "-S", "s.ctx"]);
    t.run(&["tpm2_policysecret", "-S", "s.ctx", "-c", "e"]);
    t.run(&[
        "tpm2_activatecredential",
        "-c",
        "ak.ctx",
        "-C",
        "ek.ctx",
        "-i",
        "cred.blob",
        "-o",
        "cred.out",
        "-P",
        "session:s.ctx",
    ]);
    t.run(&["tpm2_flushcontext", "s.ctx"]);
    t.flush();
    assert_eq!(t.read("cred.out"), b"secret12345");

    // Sealing to PCR 16 with PolicyPCR; unsealing fails after the PCR changes.
    t.run(&["tpm2_pcrreset", "16"]);
    t.run(&["tpm2_startauthsession", "-S", "t.ctx"]);
    t.run(&[
        "tpm2_policypcr",
        "-S",
        "t.ctx",
        "-l",
        "sha256:16",
        "-L",
        "pcr.policy",
    ]);
    t.run(&["tpm2_flushcontext", "t.ctx"]);
    std::fs::write(dir.path().join("seal.in"), b"sealed-data").unwrap();
    t.run(&[
        "tpm2_create",
        "-C",
        "p.ctx",
        "-L",
        "pcr.policy",
        "-i",
        "seal.in",
        "-u",
        "s.pub",
        "-r",
        "s.priv",
    ]);
    t.flush();
    t.run(&[
        "tpm2_load",
        "-C",
        "p.ctx",
        "-u",
        "s.pub",
        "-r",
        "s.priv",
        "-c",
        "s.ctx",
    ]);
    let out = t.run(&["tpm2_unseal", "-c", "s.ctx", "-p", "pcr:sha256:16"]);
    assert_eq!(out, "sealed-data");
    t.run(&["tpm2_pcrextend", &format!("16:sha256={}", "01".repeat(32))]);
    t.fails(&["tpm2_unseal", "-c", "s.ctx", "-p", "pcr:sha256:16"]);
    t.flush();

    // Salted (RSA-OAEP to the EK), bound, AES-128-CFB session encrypting GetRandom's response.
    t.run(&["tpm2_createek", "-G", "rsa", "-c", "ek.ctx", "-u", "ek.pub"]);
    t.run(&[
        "tpm2_startauthsession",
        "--hmac-session",
        "-c",
        "ek.ctx",
        "-S",
        "hs.ctx",
    ]);
    let r = t.run(&["tpm2_getrandom", "-S", "hs.ctx", "--hex", "16"]);
    assert_eq!(r.trim().len(), 32, "{r}");
    t.run(&["tpm2_flushcontext", "hs.ctx"]);
    t.flush();
    drop(v);
}

/// The `name:` line of `tpm2_nvreadpublic` for `index`.
fn nv_name(t: &Tools<'_>, index: &str) -> String {
    let out = t.run(&["tpm2_nvreadpublic", index]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("name: "))
        .unwrap_or_else(|| panic!("no name in {out}"))
        .to_string()
}

#[test]
fn tpm2_tools_nv() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (v, t) = start(dir.path());
    t.run(&["tpm2_clear"]);

    // Ordinary index: define, write and read with owner authorization.
    let out = t.run(&[
        "tpm2_nvdefine",
        "0x1500016",
        "-C",
        "o",
        "-s",
        "32",
        "-a",
        "ownerread|ownerwrite|authread|authwrite",
        "-p",
        "ipw",
    ]);
    assert!(out.contains("nv-index: 0x1500016"), "{out}");
    let unwritten = nv_name(&t, "0x1500016");
    let data: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(7)).collect();
    std::fs::write(dir.path().join("d.bin"), &data).unwrap();
    t.run(&["tpm2_nvwrite", "0x1500016", "-C", "o", "-i", "d.bin"]);
    t.run(&[
        "tpm2_nvread",
        "0x1500016",
        "-C",
        "o",
        "-s",
        "32",
        "-o",
        "d.out",
    ]);
    assert_eq!(t.read("d.out"), data);
    let rp = t.run(&["tpm2_nvreadpublic", "0x1500016"]);
    assert!(
        rp.contains("ownerwrite|authwrite|ownerread|authread|written") && rp.contains("size: 32"),
        "{rp}"
    );
    // The Name covers the attributes, so WRITTEN changed it (the tools' HMAC sessions would
    // fail on a stale Name).
    assert_ne!(unwritten, nv_name(&t, "0x1500016"));

    // The index's own authValue through a salted HMAC session that encrypts NV_Write's data and
    // NV_Read's response; a wrong authValue counts as a DA failure.
    t.run(&["tpm2_createek", "-G", "rsa", "-c", "ek.ctx", "-u", "ek.pub"]);
    t.run(&[
        "tpm2_startauthsession",
        "--hmac-session",
        "-c",
        "ek.ctx",
        "-S",
        "hs.ctx",
    ]);
    t.run(&[
        "tpm2_sessionconfig",
        "hs.ctx",
        "--enable-encrypt",
        "--enable-decrypt",
    ]);
    std::fs::write(dir.path().join("s.bin"), b"secret-nv-data").unwrap();
    t.run(&[
        "tpm2_nvwrite",
        "0x1500016",
        "-C",
        "0x1500016",
        "-P",
        "session:hs.ctx+ipw",
        "-i",
        "s.bin",
        "--offset",
        "4",
    ]);
    let out = t.run(&[
        "tpm2_nvread",
        "0x1500016",
        "-C",
        "0x1500016",
        "-P",
        "session:hs.ctx+ipw",
        "-s",
        "14",
        "--offset",
        "4",
    ]);
    assert_eq!(out, "secret-nv-data");
    let err = t.fails(&[
        "tpm2_nvread",
        "0x1500016",
        "-C",
        "0x1500016",
        "-P",
        "session:hs.ctx+wrong",
        "-s",
        "4",
    ]);
    assert!(err.contains("0x98E"), "{err}");
    t.flush();
    t.run(&["tpm2_flushcontext", "hs.ctx"]);

    // Counter: each increment adds one; index and owner authorization both work.
    t.run(&[
        "tpm2_nvdefine",
        "0x1500017",
        "-C",
        "o",
        "-s",
        "8",
        "-a",
        "ownerread|ownerwrite|authread|authwrite|nt=counter",
        "-p",
        "cpw",
    ]);
    let counter = |t: &Tools<'_>| {
        t.run(&["tpm2_nvread", "0x1500017", "-C", "o", "-o", "c.out"]);
        u64::from_be_bytes(t.read("c.out").try_into().unwrap())
    };
    t.run(&["tpm2_nvincrement", "0x1500017", "-C", "o"]);
    let first = counter(&t);
    t.run(&[
        "tpm2_nvincrement",
        "0x1500017",
        "-C",
        "0x1500017",
        "-P",
        "cpw",
    ]);
    assert_eq!(counter(&t), first + 1);
    assert!(
        t.run(&["tpm2_nvreadpublic", "0x1500017"])
            .contains("nt=0x1")
    );

    // An index larger than NV_BUFFER_MAX (1024): the tools write and read it in chunks.
    let big: Vec<u8> = (0..2000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    t.run(&[
        "tpm2_nvdefine",
        "0x1500018",
        "-C",
        "o",
        "-s",
        "2000",
        "-a",
        "ownerread|ownerwrite",
    ]);
    t.run(&["tpm2_nvwrite", "0x1500018", "-C", "o", "-i", "big.bin"]);
    t.run(&["tpm2_nvread", "0x1500018", "-C", "o", "-o", "big.out"]);
    assert_eq!(t.read("big.out"), big);

    // NV_ChangeAuth is ADMIN role: a password is refused (TPM_RC_AUTH_TYPE), a policy session
    // with PolicyCommandCode + PolicyAuthValue works and the response HMAC uses the new value.
    t.run(&["tpm2_startauthsession", "-S", "trial.ctx"]);
    t.run(&[
        "tpm2_policycommandcode",
        "-S",
        "trial.ctx",
        "-L",
        "ca.pol",
        "TPM2_CC_NV_ChangeAuth",
    ]);
    t.run(&["tpm2_policyauthvalue", "-S", "trial.ctx", "-L", "ca.pol"]);
    t.run(&["tpm2_flushcontext", "trial.ctx"]);
    t.run(&[
        "tpm2_nvdefine",
        "0x1500019",
        "-C",
        "o",
        "-s",
        "4",
        "-a",
        "ownerread|authread|authwrite",
        "-p",
        "old",
        "-L",
        "ca.pol",
    ]);
    let err = t.fails(&["tpm2_changeauth", "-c", "0x1500019", "-p", "old", "new"]);
    assert!(err.contains("0x124"), "{err}");
    t.run(&["tpm2_startauthsession", "--policy-session", "-S", "ps.ctx"]);
    t.run(&[
        "tpm2_policycommandcode",
        "-S",
        "ps.ctx",
        "TPM2_CC_NV_ChangeAuth",
    ]);
    t.run(&["tpm2_policyauthvalue", "-S", "ps.ctx"]);
    t.run(&[
        "tpm2_changeauth",
        "-c",
        "0x1500019",
        "-p",
        "session:ps.ctx+old",
        "new",
    ]);
    t.run(&["tpm2_flushcontext", "ps.ctx"]);
    std::fs::write(dir.path().join("4.bin"), b"abcd").unwrap();
    t.fails(&[
        "tpm2_nvwrite",
        "0x1500019",
        "-C",
        "0x1500019",
        "-P",
        "old",
        "-i",
        "4.bin",
    ]);
    t.run(&[
        "tpm2_nvwrite",
        "0x1500019",
        "-C",
        "0x1500019",
        "-P",
        "new",
        "-i",
        "4.bin",
    ]);

    // NV_UndefineSpaceSpecial: POLICY_DELETE platform index, policy session for the index.
    t.run(&["tpm2_startauthsession", "-S", "trial.ctx"]);
    t.run(&[
        "tpm2_policycommandcode",
        "-S",
        "trial.ctx",
        "-L",
        "del.pol",
        "TPM2_CC_NV_UndefineSpaceSpecial",
    ]);
    t.run(&["tpm2_flushcontext", "trial.ctx"]);
    t.run(&[
        "tpm2_nvdefine",
        "0x1500020",
        "-C",
        "p",
        "-s",
        "8",
        "-a",
        "ppread|ppwrite|authread|authwrite|platformcreate|policydelete",
        "-L",
        "del.pol",
    ]);
    t.fails(&["tpm2_nvundefine", "0x1500020", "-C", "p"]);
    t.run(&["tpm2_startauthsession", "--policy-session", "-S", "pd.ctx"]);
    t.run(&[
        "tpm2_policycommandcode",
        "-S",
        "pd.ctx",
        "TPM2_CC_NV_UndefineSpaceSpecial",
    ]);
    t.run(&["tpm2_nvundefine", "0x1500020", "-C", "p", "-S", "pd.ctx"]);

    // Undefine, then Clear removes the remaining owner indices.
    t.run(&["tpm2_nvundefine", "0x1500016", "-C", "o"]);
    let handles = t.run(&["tpm2_getcap", "handles-nv-index"]);
    assert!(
        !handles.contains("0x1500016")
            && !handles.contains("0x1500020")
            && handles.contains("0x1500017")
            && handles.contains("0x1500018"),
        "{handles}"
    );
    t.run(&["tpm2_clear"]);
    assert_eq!(t.run(&["tpm2_getcap", "handles-nv-index"]).trim(), "");
    drop(v);
}
