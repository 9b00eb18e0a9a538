//! `tl-vtpm setup` against the real tools: the state it writes is served by `tl-vtpm socket`
//! and read back with tpm2-tools 5.4 (tcti-swtpm); certificates are checked with openssl.

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn run(prog: &str, args: &[&str], env: Option<&str>) -> Output {
    let mut c = Command::new(prog);
    c.args(args).env_remove("TPM2TOOLS_ENABLE_ERRATA");
    if let Some(t) = env {
        c.env("TPM2TOOLS_TCTI", t);
    }
    c.output().unwrap_or_else(|e| panic!("{prog}: {e}"))
}

fn ok(prog: &str, args: &[&str], env: Option<&str>) -> Output {
    let out = run(prog, args, env);
    assert!(
        out.status.success(),
        "{prog} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn setup(args: &[&str]) -> Output {
    Command::new(BIN).arg("setup").args(args).output().unwrap()
}

fn setup_ok(args: &[&str]) -> Output {
    let out = setup(args);
    assert!(
        out.status.success(),
        "setup {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tl-vtpm socket` on loopback serving `state`, as libvirt starts swtpm after swtpm_setup.
fn serve(state: &Path, extra: &[&str]) -> Vtpm {
    let port = port_pair();
    let mut args: Vec<String> = vec![
        "socket".into(),
        "--tpm2".into(),
        "--server".into(),
        format!("type=tcp,port={port},bindaddr=127.0.0.1"),
        "--ctrl".into(),
        format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
        "--tpmstate".into(),
        format!("dir={}", state.display()),
        "--flags".into(),
        "not-need-init,startup-clear".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut v = spawn(&args, || {
        std::net::TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
    });
    v.port = port;
    v
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Reads NV `index` with tpm2_nvread, checks the certificate parses, chains to the CA and
/// certifies the persistent key `handle`. Returns `openssl x509 -text`.
fn check_cert(tcti: &str, dir: &Path, ca: &Path, index: &str, handle: &str) -> String {
    let der = dir.join(format!("{index}.der"));
    let pem = dir.join(format!("{index}.pem"));
    ok("tpm2_nvread", &[index, "-o", p(&der)], Some(tcti));
    let text = ok(
        "openssl",
        &["x509", "-inform", "der", "-in", p(&der), "-noout", "-text"],
        None,
    );
    ok(
        "openssl",
        &["x509", "-inform", "der", "-in", p(&der), "-out", p(&pem)],
        None,
    );
    let v = ok("openssl", &["verify", "-CAfile", p(ca), p(&pem)], None);
    assert!(String::from_utf8_lossy(&v.stdout).contains(": OK"));
    let tpm_pub = dir.join(format!("{handle}.pub.pem"));
    ok(
        "tpm2_readpublic",
        &["-c", handle, "-f", "pem", "-o", p(&tpm_pub)],
        Some(tcti),
    );
    let cert_pub = ok(
        "openssl",
        &["x509", "-in", p(&pem), "-pubkey", "-noout"],
        None,
    );
    assert_eq!(
        String::from_utf8_lossy(&cert_pub.stdout),
        std::fs::read_to_string(&tpm_pub).unwrap(),
        "certificate key of {index} is not the key at {handle}"
    );
    String::from_utf8(text.stdout).unwrap()
}

#[test]
fn manufactured_state_serves_ek_certificates_to_tpm2_tools() {
    if !have_tools() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let ca_dir = t.path().join("ca");
    let out = setup_ok(&[
        "--tpm2",
        "--tpmstate",
        p(&state),
        "--create-ek-cert",
        "--create-platform-cert",
        "--lock-nvram",
        "--ca-dir",
        p(&ca_dir),
    ]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Successfully authored TPM state."), "{log}");
    let ca = ca_dir.join("ca.pem");
    let mode = |f: &Path| std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ca_dir.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&ca_dir), 0o700);
    assert_eq!(mode(&state_file(&state)), 0o600);

    let v = serve(&state, &[]);
    let tcti = format!("swtpm:host=127.0.0.1,port={}", v.port);
    let rsa = check_cert(&tcti, t.path(), &ca, "0x1c00002", "0x81010001");
    assert!(rsa.contains("Key Encipherment"), "{rsa}");
    assert!(rsa.contains("2.23.133.2.1=id:"), "{rsa}");
    assert!(rsa.contains("CA:FALSE"), "{rsa}");
    let ecc = check_cert(&tcti, t.path(), &ca, "0x1c00016", "0x81010016");
    assert!(
        ecc.contains("Key Agreement") && ecc.contains("secp384r1"),
        "{ecc}"
    );
    let plat = check_cert(&tcti, t.path(), &ca, "0x1c08000", "0x81010001");
    assert!(plat.contains("2.23.133.5.1.1="), "{plat}");

    // The persistent EKs are exactly what tpm2_createek derives from the EK templates.
    for (alg, handle) in [("rsa", "0x81010001"), ("ecc384", "0x81010016")] {
        let f = t.path().join(format!("createek-{alg}.pem"));
        ok(
            "tpm2_createek",
            &["-G", alg, "-c", "-", "-u", p(&f), "-f", "pem"],
            Some(&tcti),
        );
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(t.path().join(format!("{handle}.pub.pem"))).unwrap(),
            "{alg} EK template differs from tpm2_createek's"
        );
    }

    let handles = ok("tpm2_getcap", &["handles-persistent"], Some(&tcti));
    let handles = String::from_utf8_lossy(&handles.stdout);
    assert!(
        handles.contains("0x81010001") && handles.contains("0x81010016"),
        "{handles}"
    );
    let pcrs = ok("tpm2_getcap", &["pcrs"], Some(&tcti));
    let pcrs = String::from_utf8_lossy(&pcrs.stdout);
    assert!(
        pcrs.contains("sha1: [ ]") && pcrs.contains("sha256: [ 0, 1,"),
        "default --pcr-banks is sha256 only: {pcrs}"
    );

    // --lock-nvram: the certificate cannot be overwritten, even with platform auth.
    let junk = t.path().join("junk");
    std::fs::write(&junk, b"junk").unwrap();
    let w = run(
        "tpm2_nvwrite",
        &["0x1c00002", "-C", "p", "-i", p(&junk)],
        Some(&tcti),
    );
    assert!(!w.status.success(), "nvwrite to a locked index succeeded");
    assert!(
        String::from_utf8_lossy(&w.stderr).contains("0x148"),
        "expected TPM_RC_NV_LOCKED: {}",
        String::from_utf8_lossy(&w.stderr)
    );
}

#[test]
fn overwrite_rules_ca_reuse_and_encrypted_state() {
    if !have_tools() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let ca_dir = t.path().join("ca");
    let certs = t.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let keyfile = t.path().join("key");
    std::fs::write(&keyfile, "00112233445566778899aabbccddeeff\n").unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--tpm2",
            "--tpm-state",
            p(&state),
            "--create-ek-cert",
            "--ca-dir",
            p(&ca_dir),
            "--keyfile",
            p(&keyfile),
            "--pcr-banks",
            "sha1,sha256",
            "--write-ek-cert-files",
            p(&certs),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let call = |extra: &[&str]| {
        let a = base(extra);
        setup(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = call(&[]);
    assert!(first.status.success(), "{first:?}");
    let permall = std::fs::read(state_file(&state)).unwrap();
    assert!(permall.starts_with(b"TLVe"), "--keyfile encrypts the state");
    let ca_pem = std::fs::read(ca_dir.join("ca.pem")).unwrap();
    let ca_key = std::fs::read(ca_dir.join("ca-key.pem")).unwrap();

    let again = call(&["--not-overwrite"]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(std::fs::read(state_file(&state)).unwrap(), permall);

    let refused = call(&[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--overwrite"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(state_file(&state)).unwrap(), permall);

    let over = call(&["--overwrite"]);
    assert!(over.status.success(), "{over:?}");
    assert!(String::from_utf8_lossy(&over.stdout).contains("Using local CA"));
    assert_ne!(std::fs::read(state_file(&state)).unwrap(), permall);
    assert_eq!(
        std::fs::read(ca_dir.join("ca.pem")).unwrap(),
        ca_pem,
        "CA reused"
    );
    assert_eq!(std::fs::read(ca_dir.join("ca-key.pem")).unwrap(), ca_key);
    let pem = t.path().join("ek.pem");
    ok(
        "openssl",
        &[
            "x509",
            "-inform",
            "der",
            "-in",
            p(&certs.join("ek-rsa2048.crt")),
            "-out",
            p(&pem),
        ],
        None,
    );
    ok(
        "openssl",
        &["verify", "-CAfile", p(&ca_dir.join("ca.pem")), p(&pem)],
        None,
    );

    // The encrypted state opens with the same key in the daemon (and is refused without it).
    let key_opt = format!("file={}", keyfile.display());
    let v = serve(&state, &["--key", &key_opt]);
    let tcti = format!("swtpm:host=127.0.0.1,port={}", v.port);
    let der = t.path().join("nv.der");
    ok("tpm2_nvread", &["0x1c00002", "-o", p(&der)], Some(&tcti));
    assert_eq!(
        std::fs::read(&der).unwrap(),
        std::fs::read(certs.join("ek-rsa2048.crt")).unwrap()
    );
    let pcrs = ok("tpm2_getcap", &["pcrs"], Some(&tcti));
    let pcrs = String::from_utf8_lossy(&pcrs.stdout);
    assert!(
        pcrs.contains("sha1: [ 0, 1,") && pcrs.contains("sha384: [ ]"),
        "{pcrs}"
    );
    drop(v);
    let no_key = Command::new(BIN)
        .args([
            "socket",
            "--tpm2",
            "--tpmstate",
            &format!("dir={}", state.display()),
            "--server",
            &format!("type=tcp,port={},bindaddr=127.0.0.1", port_pair()),
            "--flags",
            "not-need-init",
        ])
        .output()
        .unwrap();
    assert!(!no_key.status.success());
    assert!(
        String::from_utf8_lossy(&no_key.stderr).contains("encrypted"),
        "{no_key:?}"
    );
}

#[test]
fn setup_rejects_bad_command_lines() {
    let t = tempfile::tempdir().unwrap();
    for bad in [
        vec!["--tpm2"],
        vec!["--tpm2", "--tpmstate", "file:///x"],
        vec!["--tpm2", "--tpmstate", p(t.path()), "--pcr-banks", "md5"],
        vec!["--tpm2", "--tpmstate", p(t.path()), "--rsa-keysize", "1024"],
    ] {
        let out = setup(&bad);
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(!out.stderr.is_empty());
    }
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "nothing written on bad input"
    );
    let caps = setup_ok(&["--print-capabilities"]);
    assert!(String::from_utf8_lossy(&caps.stdout).contains("\"tpm2-rsa-keysize-3072\""));
}
