//! vTPM part 2 interop: objects, sessions, policies and attestation driven by Debian's
//! tpm2-tools 5.4 (default HMAC sessions, salted/bound sessions, policy sessions) against
//! tl-vtpm. Each step is a real tool invocation; outputs are checked, not just exit codes.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn have_tools() -> bool {
    Command::new("tpm2_startup")
        .arg("--version")
        .output()
        .is_ok()
}

struct Tools<'a> {
    tcti: String,
    dir: &'a Path,
}

impl Tools<'_> {
    fn raw(&self, args: &[&str]) -> Output {
        Command::new(args[0])
            .args(&args[1..])
            .current_dir(self.dir)
            .env("TPM2TOOLS_TCTI", &self.tcti)
            .env_remove("TPM2TOOLS_ENABLE_ERRATA")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (tpm2-tools installed only partly?)", args[0]))
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.raw(args);
        assert!(
            out.status.success(),
            "{:?} failed ({}):\nstdout: {}\nstderr: {}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.raw(args);
        assert!(!out.status.success(), "{args:?} unexpectedly succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Transient objects are not flushed by the tools (no resource manager), as with swtpm.
    fn flush(&self) {
        self.run(&["tpm2_flushcontext", "-t"]);
    }

    fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(f)).unwrap()
    }
}

#[test]
fn tpm2_tools_objects_sessions_attestation() {
    if !have_tools() {
        println!(
            "SKIPPED: tpm2_startup not found (apt-get install tpm2-tools libtss2-tcti-swtpm0)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let v = start_tcp(&state, &["--flags", "not-need-init,startup-clear"]);
    let t = Tools {
        tcti: format!("swtpm:host=127.0.0.1,port={}", v.port),
        dir: dir.path(),
    };

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
