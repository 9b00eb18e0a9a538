//! `tl secureboot keys create / sign / sign-module / auth-var / enroll` run as processes on
//! Debian's shim, grub and vfat.ko, with the results checked by `tl secureboot verify` and by
//! reading the files back.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use boot::secureboot::{AuthenticatedUpdate, ModuleSignature, PeImage, VariableStore, X509, efi};
use image::debian::{self, DebianFile};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fetch(f: &DebianFile) -> PathBuf {
    debian::ensure(&image::cache_dir().join("debian"), f)
        .unwrap_or_else(|e| panic!("cannot fetch {} {}: {e}", f.package, f.version))
}

fn tl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tl"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = tl(args);
    assert!(
        out.status.success(),
        "tl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = tl(args);
    assert!(!out.status.success(), "tl {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("tl-cli-sign-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn p(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keys_sign_enroll_verify_end_to_end() {
    let d = Scratch::new("e2e");
    let keys = d.p("keys");
    let out = ok(&[
        "secureboot",
        "keys",
        "create",
        "--dir",
        &keys,
        "--subject-prefix",
        "CLI test",
        "--timestamp",
        "2026-01-02 03:04:05",
    ]);
    assert!(out.contains("CN=CLI test db"), "{out}");
    for r in ["PK", "KEK", "db"] {
        let m = std::fs::metadata(format!("{keys}/{r}.key")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }
    let guid = std::fs::read_to_string(format!("{keys}/GUID")).unwrap();
    // A second create is refused; --force keeps the owner GUID.
    let err = fails(&["secureboot", "keys", "create", "--dir", &keys]);
    assert!(err.contains("refusing to overwrite"), "{err}");
    ok(&["secureboot", "keys", "create", "--dir", &keys, "--force"]);
    assert_eq!(
        std::fs::read_to_string(format!("{keys}/GUID")).unwrap(),
        guid
    );

    // Sign the unsigned shim; re-signing the output is refused, keeping works.
    let shim = fetch(&debian::SHIM_UNSIGNED);
    let (key, cert) = (format!("{keys}/db.key"), format!("{keys}/db.der"));
    let signed = d.p("shim.efi");
    ok(&[
        "secureboot",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        s(&shim),
        "--output",
        &signed,
    ]);
    let err = fails(&[
        "secureboot",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        &signed,
        "-o",
        &d.p("x"),
    ]);
    assert!(err.contains("already carries 1 signature"), "{err}");
    let verdict = ok(&[
        "secureboot",
        "verify",
        &signed,
        "--db",
        &format!("{keys}/db.esl"),
    ]);
    assert!(verdict.contains("allowed"), "{verdict}");
    // A key that does not match the certificate is refused.
    let err = fails(&[
        "secureboot",
        "sign",
        "--key",
        &format!("{keys}/PK.key"),
        "--cert",
        &cert,
        s(&shim),
        "-o",
        &d.p("x"),
    ]);
    assert!(err.contains("does not match"), "{err}");

    // Keep Debian's grub signature and add ours.
    let grub = fetch(&debian::GRUB);
    let grub2 = d.p("grub.efi");
    let out = ok(&[
        "secureboot",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        "--keep-signatures",
        s(&grub),
        "-o",
        &grub2,
    ]);
    assert!(out.contains("2 signature(s)"), "{out}");
    let g = std::fs::read(&grub2).unwrap();
    assert_eq!(PeImage::parse(&g).unwrap().certificates().unwrap().len(), 2);

    // Enroll our keys plus Microsoft's into the empty template; both shims pass that db.
    let vars = d.p("VARS.fd");
    let out = ok(&[
        "secureboot",
        "enroll",
        "--vars-template",
        "/usr/share/OVMF/OVMF_VARS_4M.fd",
        "--keys",
        &keys,
        "--microsoft",
        "--timestamp",
        "2026-01-02 03:04:05",
        "--out",
        &vars,
    ]);
    assert!(out.contains("PK 1 KEK 2 db 3 dbx 0"), "{out}");
    let ms_shim = fetch(&debian::SHIM);
    let verdict = ok(&[
        "secureboot",
        "verify",
        "--vars",
        &vars,
        &signed,
        s(&ms_shim),
    ]);
    assert_eq!(verdict.matches(": allowed").count(), 2, "{verdict}");
    let sb = VariableStore::parse(&std::fs::read(&vars).unwrap())
        .unwrap()
        .secure_boot_variables()
        .unwrap();
    let pk = X509::from_der(&sb.pk[0].signatures[0].data).unwrap();
    // The --force re-creation used the default CN prefix.
    assert_eq!(pk.subject(), "CN=Trusted Launch PK");
    assert_eq!(sb.pk[0].signatures[0].owner.to_string(), guid.trim());

    // Enrolling from files instead of a key directory, with a dbx.
    let vars2 = d.p("VARS2.fd");
    ok(&[
        "secureboot",
        "enroll",
        "--vars-template",
        &vars,
        "--pk",
        &format!("{keys}/PK.crt"),
        "--kek",
        &format!("{keys}/KEK.esl"),
        "--db",
        &format!("{keys}/db.der"),
        "--dbx",
        &format!("{keys}/KEK.esl"),
        "--out",
        &vars2,
    ]);
    let verdict = tl(&["secureboot", "verify", "--vars", &vars2, s(&ms_shim)]);
    assert!(
        !verdict.status.success(),
        "MS shim must be denied without the MS db"
    );
}

#[test]
fn auth_var_append_and_sign_module() {
    let d = Scratch::new("authvar");
    let keys = d.p("keys");
    ok(&[
        "secureboot",
        "keys",
        "create",
        "--dir",
        &keys,
        "--algorithm",
        "ecdsa-p256",
    ]);
    let auth = d.p("db-append.auth");
    let out = ok(&[
        "secureboot",
        "auth-var",
        "--name",
        "db",
        "--esl",
        &format!("{keys}/db.esl"),
        "--key",
        &format!("{keys}/KEK.key"),
        "--cert",
        &format!("{keys}/KEK.crt"),
        "--append",
        "--output",
        &auth,
    ]);
    assert!(out.contains("attributes 0x67"), "{out}");
    let bytes = std::fs::read(&auth).unwrap();
    let u = AuthenticatedUpdate::parse(&bytes).unwrap();
    let kek = X509::from_pem(&std::fs::read(format!("{keys}/KEK.crt")).unwrap()).unwrap();
    u.verify("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID, 0x67, &kek)
        .unwrap();
    let err = fails(&[
        "secureboot",
        "auth-var",
        "--name",
        "MokList",
        "--delete",
        "--key",
        &format!("{keys}/KEK.key"),
        "--cert",
        &format!("{keys}/KEK.crt"),
        "-o",
        &d.p("x"),
    ]);
    assert!(err.contains("--vendor is required"), "{err}");

    let vfat = fetch(&debian::VFAT_MODULE);
    let (key, cert) = (format!("{keys}/db.key"), format!("{keys}/db.crt"));
    let err = fails(&[
        "secureboot",
        "sign-module",
        "--key",
        &key,
        "--cert",
        &cert,
        s(&vfat),
        "-o",
        &d.p("x"),
    ]);
    assert!(err.contains("--replace"), "{err}");
    let out_ko = d.p("vfat.ko");
    ok(&[
        "secureboot",
        "sign-module",
        "--key",
        &key,
        "--cert",
        &cert,
        "--replace",
        s(&vfat),
        "-o",
        &out_ko,
    ]);
    let m = std::fs::read(&out_ko).unwrap();
    let sig = ModuleSignature::parse(&m).unwrap();
    let c = X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    sig.verify(&c).unwrap();
}
