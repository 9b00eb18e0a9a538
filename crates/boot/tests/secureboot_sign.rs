//! The owner's side of Secure Boot against real artifacts and the real anchor tools: key sets,
//! `.auth` files (byte-compared with efitools' sign-efi-sig-list), Authenticode signing of
//! Debian's shim/grub/kernel (checked by our edk2 model and by sbsigntool's sbverify, and compared
//! with sbsign's output), module signing of Debian's vfat.ko (checked by `openssl cms -verify`),
//! and enrollment into Debian's OVMF variable stores. Missing tools fail the test with the
//! Debian package to install.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap on known-good artifacts"
)]

use boot::secureboot::auth::{AuthenticatedUpdate, EfiTime};
use boot::secureboot::sign::pe_checksum;
use boot::secureboot::{
    Enrollment, HashAlg, KeySet, KeySetOptions, MicrosoftKeys, ModuleSignature, PeImage, Reason,
    SecureBootPolicy, SignMode, SignatureList, Signer, VariableStore, X509, efi, enroll,
    sign_image, sign_module,
};
use image::debian::{self, DebianFile};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fetch(f: &DebianFile) -> Vec<u8> {
    std::fs::read(fetch_path(f)).unwrap()
}

fn fetch_path(f: &DebianFile) -> PathBuf {
    let dir = image::cache_dir().join("debian");
    debian::ensure(&dir, f).unwrap_or_else(|e| {
        panic!(
            "cannot fetch {} {} (needs apt-get download and `apt-get update`): {e}",
            f.package, f.version
        )
    })
}

fn ovmf(name: &str) -> Vec<u8> {
    let p = Path::new("/usr/share/OVMF").join(name);
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("{}: {e}: install the Debian package `ovmf`", p.display()))
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("tl-sign-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a host tool; panics with the package name if it is missing. Returns (success, output).
fn run(tool: &str, package: &str, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool}: {e}: install the Debian package `{package}` (scripts/install-deps)")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn sbverify(cert: &Path, image: &Path) -> (bool, String) {
    run(
        "sbverify",
        "sbsigntool",
        &["--cert".as_ref(), cert.as_os_str(), image.as_os_str()],
    )
}

const TS: EfiTime = EfiTime {
    year: 2026,
    month: 1,
    day: 2,
    hour: 3,
    minute: 4,
    second: 5,
};

fn key_set(dir: &Scratch) -> KeySet {
    KeySet::create(
        &dir.path("keys"),
        &KeySetOptions {
            subject_prefix: "tl integration".into(),
            timestamp: Some(TS),
            ..Default::default()
        },
    )
    .unwrap()
}

fn db_policy(cert_der: &[u8]) -> SecureBootPolicy {
    SecureBootPolicy::new(
        &[SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            efi::EFI_GLOBAL_VARIABLE,
            cert_der.to_vec(),
        )],
        &[],
    )
}

fn signatures(img: &[u8]) -> usize {
    PeImage::parse(img).unwrap().certificates().unwrap().len()
}

#[test]
fn unsigned_shim_signed_by_us_passes_our_policy_and_sbverify() {
    let d = Scratch::new("shim");
    let keys = key_set(&d);
    let shim = fetch(&debian::SHIM_UNSIGNED);
    let signed = sign_image(&shim, &keys.db, SignMode::RefuseSigned, HashAlg::Sha256).unwrap();
    let v = db_policy(&keys.db.cert.der).verify_image(&signed);
    assert!(v.allowed, "{v:#?}");
    assert_eq!(v.reason, Reason::SignedByDb { signature: 0 });
    // Padding to 8 bytes gives the digest Microsoft signed for Debian's shim (boot-chain.md §2).
    assert_eq!(
        v.sha256.as_deref(),
        Some("80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8")
    );
    // Under the Microsoft db it is denied: nothing but our db key signed it.
    let ms = VariableStore::parse(&ovmf("OVMF_VARS_4M.ms.fd"))
        .unwrap()
        .secure_boot_variables()
        .unwrap();
    assert!(
        !SecureBootPolicy::new(&ms.db, &[])
            .verify_image(&signed)
            .allowed
    );
    let out = d.write("shim.signed", &signed);
    let (ok, text) = sbverify(&keys.dir.join("db.crt"), &out);
    assert!(ok, "sbverify: {text}");
    assert!(text.contains("Signature verification OK"), "{text}");
    let (ok, text) = sbverify(&keys.dir.join("PK.crt"), &out);
    assert!(
        !ok,
        "sbverify must fail with a certificate that did not sign: {text}"
    );
    // The CheckSum we wrote is the one imagehlp's algorithm gives (checked on Debian's files
    // in `checksum_agrees_with_debian_and_sbsign`).
    let pe = PeImage::parse(&signed).unwrap();
    let ck = pe.checksum_offset();
    let stored = u32::from_le_bytes(signed[ck..ck + 4].try_into().unwrap());
    assert_eq!(stored, pe_checksum(&signed, ck));
}

#[test]
fn layout_matches_sbsign_with_the_same_key() {
    let d = Scratch::new("sbsign");
    let keys = key_set(&d);
    let shim_path = fetch_path(&debian::SHIM_UNSIGNED);
    let shim = std::fs::read(&shim_path).unwrap();
    let ours = sign_image(&shim, &keys.db, SignMode::RefuseSigned, HashAlg::Sha256).unwrap();
    let theirs_path = d.path("sbsign.efi");
    let key = keys.dir.join("db.key");
    let cert = keys.dir.join("db.crt");
    let (ok, text) = run(
        "sbsign",
        "sbsigntool",
        &[
            "--key".as_ref(),
            key.as_os_str(),
            "--cert".as_ref(),
            cert.as_os_str(),
            "--output".as_ref(),
            theirs_path.as_os_str(),
            shim_path.as_os_str(),
        ],
    );
    assert!(ok, "sbsign: {text}");
    let theirs = std::fs::read(&theirs_path).unwrap();
    let (po, pt) = (
        PeImage::parse(&ours).unwrap(),
        PeImage::parse(&theirs).unwrap(),
    );
    // Same padding and table start; identical bytes outside CheckSum, the Security entry and the
    // table (the PKCS#7s differ only in the signed attributes sbsign adds).
    assert_eq!(
        po.certificate_table().unwrap().0,
        pt.certificate_table().unwrap().0
    );
    let start = po.certificate_table().unwrap().0;
    let (ck, dir) = (
        po.checksum_offset(),
        po.certificate_directory_offset().unwrap(),
    );
    let mask = |b: &[u8]| {
        let mut v = b[..start].to_vec();
        v[ck..ck + 4].fill(0);
        v[dir..dir + 8].fill(0);
        v
    };
    assert_eq!(mask(&ours), mask(&theirs));
    assert_eq!(
        po.authenticode_digest(HashAlg::Sha256),
        pt.authenticode_digest(HashAlg::Sha256)
    );
    // Each verifies under the other's tool.
    assert!(db_policy(&keys.db.cert.der).verify_image(&theirs).allowed);
    let (ok, text) = sbverify(&cert, &d.write("ours.efi", &ours));
    assert!(ok, "{text}");
}

#[test]
fn checksum_agrees_with_debian_and_sbsign() {
    for f in [&debian::GRUB, &debian::SHIM, &debian::KERNEL] {
        let img = fetch(f);
        let pe = PeImage::parse(&img).unwrap();
        let ck = pe.checksum_offset();
        let stored = u32::from_le_bytes(img[ck..ck + 4].try_into().unwrap());
        if stored != 0 {
            assert_eq!(pe_checksum(&img, ck), stored, "{}", f.path);
        }
    }
}

#[test]
fn grub_replace_and_keep_signatures() {
    let d = Scratch::new("grub");
    let keys = key_set(&d);
    let grub = fetch(&debian::GRUB);
    let ca = fetch(&debian::DEBIAN_UEFI_CA);
    let ca_pem = d.write(
        "debian-ca.pem",
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca)
            .unwrap()
            .as_bytes(),
    );
    let ours = db_policy(&keys.db.cert.der);
    let debian = db_policy(&ca);
    assert!(matches!(
        sign_image(&grub, &keys.db, SignMode::RefuseSigned, HashAlg::Sha256),
        Err(boot::secureboot::SignError::AlreadySigned(1))
    ));

    // Stripped and re-signed: only our key verifies.
    let replaced = sign_image(
        &grub,
        &keys.db,
        SignMode::ReplaceSignatures,
        HashAlg::Sha256,
    )
    .unwrap();
    assert_eq!(signatures(&replaced), 1);
    assert!(ours.verify_image(&replaced).allowed);
    assert!(!debian.verify_image(&replaced).allowed);
    let p = d.write("grub.replaced", &replaced);
    assert!(sbverify(&keys.dir.join("db.crt"), &p).0);
    assert!(!sbverify(&ca_pem, &p).0);

    // Kept: Debian's signature and ours, each verifying on its own.
    let kept = sign_image(&grub, &keys.db, SignMode::KeepSignatures, HashAlg::Sha256).unwrap();
    assert_eq!(signatures(&kept), 2);
    let v = debian.verify_image(&kept);
    assert_eq!(v.reason, Reason::SignedByDb { signature: 0 }, "{v:#?}");
    let v = ours.verify_image(&kept);
    assert_eq!(v.reason, Reason::SignedByDb { signature: 1 }, "{v:#?}");
    let p = d.write("grub.kept", &kept);
    let (ok, text) = sbverify(&keys.dir.join("db.crt"), &p);
    assert!(ok, "{text}");
    let (ok, text) = sbverify(&ca_pem, &p);
    assert!(ok, "{text}");
    // The original signature still covers the same digest.
    assert_eq!(
        PeImage::parse(&kept)
            .unwrap()
            .authenticode_digest(HashAlg::Sha256),
        PeImage::parse(&grub)
            .unwrap()
            .authenticode_digest(HashAlg::Sha256)
    );
    // A third signature over SHA-384 on top.
    let three = sign_image(&kept, &keys.kek, SignMode::KeepSignatures, HashAlg::Sha384).unwrap();
    assert_eq!(signatures(&three), 3);
    let v = db_policy(&keys.kek.cert.der).verify_image(&three);
    assert_eq!(v.reason, Reason::SignedByDb { signature: 2 }, "{v:#?}");
}

#[test]
fn kernel_keeps_debian_signature_and_gains_ours() {
    let d = Scratch::new("kernel");
    let keys = key_set(&d);
    let kernel = fetch(&debian::KERNEL);
    let kept = sign_image(&kernel, &keys.db, SignMode::KeepSignatures, HashAlg::Sha256).unwrap();
    assert_eq!(signatures(&kept), 2);
    assert!(
        db_policy(&fetch(&debian::DEBIAN_UEFI_CA))
            .verify_image(&kept)
            .allowed
    );
    let v = db_policy(&keys.db.cert.der).verify_image(&kept);
    assert_eq!(v.reason, Reason::SignedByDb { signature: 1 }, "{v:#?}");
    let (ok, text) = sbverify(&keys.dir.join("db.crt"), &d.write("vmlinuz", &kept));
    assert!(ok, "{text}");
}

#[test]
fn snakeoil_key_signs_for_the_snakeoil_vars() {
    let d = Scratch::new("snakeoil");
    let plain = d.path("snakeoil.key");
    let (ok, text) = run(
        "openssl",
        "openssl",
        &[
            "pkey".as_ref(),
            "-passin".as_ref(),
            "pass:snakeoil".as_ref(),
            "-in".as_ref(),
            "/usr/share/ovmf/PkKek-1-snakeoil.key".as_ref(),
            "-out".as_ref(),
            plain.as_os_str(),
        ],
    );
    assert!(
        ok,
        "openssl pkey (install `ovmf` for the snakeoil key): {text}"
    );
    let signer =
        Signer::from_pem_files(&plain, Path::new("/usr/share/ovmf/PkKek-1-snakeoil.pem")).unwrap();
    let signed = sign_image(
        &fetch(&debian::SHIM_UNSIGNED),
        &signer,
        SignMode::RefuseSigned,
        HashAlg::Sha256,
    )
    .unwrap();
    let sb = VariableStore::parse(&ovmf("OVMF_VARS_4M.snakeoil.fd"))
        .unwrap()
        .secure_boot_variables()
        .unwrap();
    let v = SecureBootPolicy::new(&sb.db, &sb.dbx).verify_image(&signed);
    assert!(v.allowed, "{v:#?}");
    assert!(v.signer.unwrap().contains("SnakeOil"));
    let (ok, text) = sbverify(
        Path::new("/usr/share/ovmf/PkKek-1-snakeoil.pem"),
        &d.write("shim.snakeoil", &signed),
    );
    assert!(ok, "{text}");
}

#[test]
fn module_signature_on_vfat_body_verifies_with_openssl_cms() {
    let d = Scratch::new("module");
    let keys = key_set(&d);
    let original = fetch(&debian::VFAT_MODULE);
    let body = ModuleSignature::parse(&original).unwrap().body.to_vec();
    assert!(matches!(
        sign_module(&original, &keys.db, HashAlg::Sha256, false),
        Err(boot::secureboot::ModuleSignError::AlreadySigned)
    ));
    let signed = sign_module(&original, &keys.db, HashAlg::Sha256, true).unwrap();
    assert_eq!(
        sign_module(&body, &keys.db, HashAlg::Sha256, false).unwrap(),
        signed
    );
    let m = ModuleSignature::parse(&signed).unwrap();
    assert_eq!(m.body, &body[..]);
    m.verify(&keys.db.cert).unwrap();
    assert!(m.verify(&keys.kek.cert).is_err());
    let p7 = d.write("vfat.p7", &signed[m.pkcs7_offset..signed.len() - 40]);
    let content = d.write("vfat.body", &body);
    let cert = keys.dir.join("db.crt");
    let verify = |content: &Path| {
        run(
            "openssl",
            "openssl",
            &[
                "cms".as_ref(),
                "-verify".as_ref(),
                "-binary".as_ref(),
                "-inform".as_ref(),
                "DER".as_ref(),
                "-in".as_ref(),
                p7.as_os_str(),
                "-content".as_ref(),
                content.as_os_str(),
                "-certfile".as_ref(),
                cert.as_os_str(),
                "-nointern".as_ref(),
                "-CAfile".as_ref(),
                cert.as_os_str(),
                "-purpose".as_ref(),
                "any".as_ref(),
                "-out".as_ref(),
                "/dev/null".as_ref(),
            ],
        )
    };
    let (ok, text) = verify(&content);
    assert!(ok, "openssl cms -verify: {text}");
    let mut tampered = body.clone();
    tampered[0x100] ^= 1;
    let (ok, _) = verify(&d.write("vfat.bad", &tampered));
    assert!(!ok, "a changed body must fail");
}

/// Runs efitools' sign-efi-sig-list with the same key, time stamp and list.
fn efitools_auth(
    d: &Scratch,
    var: &str,
    esl: &Path,
    key: &Path,
    cert: &Path,
    append: bool,
) -> Vec<u8> {
    let out = d.path(&format!("{var}-efitools.auth"));
    let mut args: Vec<&std::ffi::OsStr> = vec!["-t".as_ref(), "2026-01-02 03:04:05".as_ref()];
    if append {
        args.push("-a".as_ref());
    }
    args.extend([
        "-k".as_ref(),
        key.as_os_str(),
        "-c".as_ref(),
        cert.as_os_str(),
        var.as_ref(),
        esl.as_os_str(),
        out.as_os_str(),
    ]);
    let (ok, text) = run("sign-efi-sig-list", "efitools", &args);
    assert!(ok, "sign-efi-sig-list: {text}");
    std::fs::read(out).unwrap()
}

#[test]
fn auth_files_are_byte_identical_to_sign_efi_sig_list() {
    let d = Scratch::new("auth");
    let keys = key_set(&d);
    let k = |n: &str| keys.dir.join(n);
    let read = |n: &str| std::fs::read(k(n)).unwrap();
    // PKCS#1 v1.5 is deterministic, so the same key, time and list give the same bytes.
    assert_eq!(
        read("PK.auth"),
        efitools_auth(&d, "PK", &k("PK.esl"), &k("PK.key"), &k("PK.crt"), false)
    );
    assert_eq!(
        read("KEK.auth"),
        efitools_auth(&d, "KEK", &k("KEK.esl"), &k("PK.key"), &k("PK.crt"), false)
    );
    assert_eq!(
        read("db.auth"),
        efitools_auth(&d, "db", &k("db.esl"), &k("KEK.key"), &k("KEK.crt"), false)
    );
    // An append (APPEND_WRITE is part of the signed attributes value).
    let esl = SignatureList::single(efi::EFI_CERT_SHA256_GUID, keys.owner, vec![0x5a; 32])
        .to_bytes()
        .unwrap();
    let esl_path = d.write("hash.esl", &esl);
    let ours = boot::secureboot::auth::create_auth(
        "db",
        &efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
        0x67,
        &TS,
        &esl,
        &keys.kek,
    )
    .unwrap();
    assert_eq!(
        ours,
        efitools_auth(&d, "db", &esl_path, &k("KEK.key"), &k("KEK.crt"), true)
    );
    AuthenticatedUpdate::parse(&ours)
        .unwrap()
        .verify(
            "db",
            &efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
            0x67,
            &keys.kek.cert,
        )
        .unwrap();
}

/// The Debian snakeoil PK/KEK/db certificate.
fn snakeoil_cert() -> X509 {
    X509::from_pem(&std::fs::read("/usr/share/ovmf/PkKek-1-snakeoil.pem").unwrap()).unwrap()
}

/// Debian's OVMF owner GUID (KEK, db, dbx entries of the snakeoil store; boot-chain.md §1).
const DEBIAN_OVMF_OWNER: &str = "a0baa8a3-041d-48a8-bc87-c36d121b5e3d";

#[test]
fn enrolling_snakeoil_into_empty_vars_reproduces_debians_snakeoil_vars() {
    let template = ovmf("OVMF_VARS_4M.fd");
    let reference = ovmf("OVMF_VARS_4M.snakeoil.fd");
    let owner = DEBIAN_OVMF_OWNER.parse().unwrap();
    let cert = snakeoil_cert().der;
    let x509 = |o| {
        vec![SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            o,
            cert.clone(),
        )]
    };
    // The dbx placeholder: SHA-256 of the empty string.
    let dbx = vec![SignatureList::single(
        efi::EFI_CERT_SHA256_GUID,
        owner,
        HashAlg::Sha256.digest(b""),
    )];
    let rs = VariableStore::parse(&reference).unwrap();
    let pk_ts = rs.get("PK", &efi::EFI_GLOBAL_VARIABLE).unwrap();
    // Debian's store carries the time stamp of its build; use it to compare headers too.
    let raw_ts = &reference[pk_ts.offset + 16..pk_ts.offset + 32];
    let ts = EfiTime::from_bytes(raw_ts.try_into().unwrap()).unwrap();
    let e = Enrollment {
        pk: x509(efi::EFI_GLOBAL_VARIABLE),
        kek: x509(owner),
        db: x509(owner),
        dbx,
        timestamp: ts,
    };
    let out = enroll(&template, &e).unwrap();
    assert_eq!(out.len(), template.len());
    assert_eq!(&out[..0x48], &template[..0x48], "volume header untouched");
    let os = VariableStore::parse(&out).unwrap();
    let ours = os.secure_boot_variables().unwrap();
    let theirs = rs.secure_boot_variables().unwrap();
    assert_eq!(ours, theirs);
    // Every variable we write is byte-identical (header, name, data) to Debian's live copy.
    let header_and_body = |fd: &[u8], v: &boot::secureboot::vars::Variable| {
        let n = (v.name.encode_utf16().count() + 1) * 2;
        fd[v.offset..v.offset + 60 + n + v.data.len()].to_vec()
    };
    for (name, guid) in [
        ("PK", efi::EFI_GLOBAL_VARIABLE),
        ("KEK", efi::EFI_GLOBAL_VARIABLE),
        ("db", efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
        ("dbx", efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
        ("VendorKeysNv", efi::EFI_VENDOR_KEYS_NV_GUID),
        ("SecureBootEnable", efi::EFI_SECURE_BOOT_ENABLE_DISABLE_GUID),
        ("CustomMode", efi::EFI_CUSTOM_MODE_ENABLE_GUID),
    ] {
        let a = os
            .get(name, &guid)
            .unwrap_or_else(|| panic!("{name} written"));
        let b = rs
            .get(name, &guid)
            .unwrap_or_else(|| panic!("{name} in Debian's store"));
        assert_eq!(
            header_and_body(&out, a),
            header_and_body(&reference, b),
            "{name}"
        );
    }
}

#[test]
fn microsoft_keys_come_from_the_ms_vars_and_enroll_with_ours() {
    let d = Scratch::new("enroll");
    let keys = key_set(&d);
    let ms = MicrosoftKeys::from_ovmf_vars(&ovmf("OVMF_VARS_4M.ms.fd")).unwrap();
    let subjects = |l: &[SignatureList]| -> Vec<String> {
        l.iter()
            .flat_map(|l| &l.signatures)
            .map(|s| X509::from_der(&s.data).unwrap().subject())
            .collect()
    };
    let kek = subjects(&ms.kek);
    assert_eq!(kek.len(), 1);
    assert!(
        kek[0].contains("Microsoft Corporation KEK CA 2011"),
        "{kek:?}"
    );
    let db = subjects(&ms.db);
    assert_eq!(db.len(), 2);
    assert!(
        db.iter()
            .any(|s| s.contains("Microsoft Windows Production PCA 2011"))
    );
    assert!(
        db.iter()
            .any(|s| s.contains("Microsoft Corporation UEFI CA 2011"))
    );

    let mut e = keys.enrollment(TS);
    e.kek.extend(ms.kek);
    e.db.extend(ms.db);
    // Start from the MS store: its old PK/KEK/db/dbx must be replaced, its boot entries kept.
    let template = ovmf("OVMF_VARS_4M.ms.fd");
    let out = enroll(&template, &e).unwrap();
    let store = VariableStore::parse(&out).unwrap();
    let sb = store.secure_boot_variables().unwrap();
    assert_eq!(sb.pk, vec![keys.esl(&keys.pk)]);
    assert_eq!(subjects(&sb.kek).len(), 2);
    assert_eq!(subjects(&sb.db).len(), 3);
    assert!(sb.dbx.is_empty());
    assert!(store.get("Boot0001", &efi::EFI_GLOBAL_VARIABLE).is_some());
    let live = |s: &VariableStore, n: &str| {
        s.variables
            .iter()
            .filter(|v| v.name == n && v.state == boot::secureboot::vars::VAR_ADDED)
            .count()
    };
    for n in [
        "PK",
        "KEK",
        "db",
        "SecureBootEnable",
        "CustomMode",
        "VendorKeysNv",
    ] {
        assert_eq!(live(&store, n), 1, "{n}");
    }
    // Debian's MS-signed shim and a shim we sign both pass the enrolled db.
    let policy = SecureBootPolicy::new(&sb.db, &sb.dbx);
    assert!(policy.verify_image(&fetch(&debian::SHIM)).allowed);
    let ours = sign_image(
        &fetch(&debian::SHIM_UNSIGNED),
        &keys.db,
        SignMode::RefuseSigned,
        HashAlg::Sha256,
    )
    .unwrap();
    assert!(policy.verify_image(&ours).allowed);
    // The KEK.auth / db.auth chain verifies against what was enrolled.
    let db_auth = std::fs::read(keys.dir.join("db.auth")).unwrap();
    let u = AuthenticatedUpdate::parse(&db_auth).unwrap();
    let kek_certs = boot::secureboot::auth::certificates_in(&sb.kek);
    assert!(kek_certs.iter().any(|c| {
        u.verify("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID, 0x27, c)
            .is_ok()
    }));
}
