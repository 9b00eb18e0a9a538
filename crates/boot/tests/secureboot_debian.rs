//! Secure Boot verification against Debian bookworm's real signed binaries and OVMF's enrolled
//! keys (reference/boot-chain.md §9). Artifacts are fetched with `apt-get download` into the cache
//! outside the tree; a failed fetch fails the test.

use boot::secureboot::efi;
use boot::secureboot::{
    HashAlg, PeImage, Reason, SecureBootPolicy, SignatureList, VariableStore, X509,
};
use image::debian::{self, DebianFile};
use std::path::PathBuf;

fn fetch(f: &DebianFile) -> Vec<u8> {
    let dir = image::cache_dir().join("debian");
    let path = debian::ensure(&dir, f).unwrap_or_else(|e| {
        panic!(
            "cannot fetch {} {} (needs apt-get download and `apt-get update`): {e}",
            f.package, f.version
        )
    });
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn ovmf_ms_vars() -> Vec<u8> {
    let p = PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("{}: {e}: install the Debian package `ovmf`", p.display()))
}

fn ms_db() -> Vec<SignatureList> {
    let store = VariableStore::parse(&ovmf_ms_vars()).expect("OVMF_VARS_4M.ms.fd parses");
    store
        .secure_boot_variables()
        .expect("PK/KEK/db/dbx parse")
        .db
}

fn x509_list(der: &[u8]) -> Vec<SignatureList> {
    vec![SignatureList::single(
        efi::EFI_CERT_X509_GUID,
        efi::MICROSOFT_OWNER_GUID,
        der.to_vec(),
    )]
}

fn debian_db() -> Vec<SignatureList> {
    x509_list(&fetch(&debian::DEBIAN_UEFI_CA))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_list(d: &[u8]) -> Vec<SignatureList> {
    vec![SignatureList::single(
        efi::EFI_CERT_SHA256_GUID,
        efi::MICROSOFT_OWNER_GUID,
        d.to_vec(),
    )]
}

#[test]
fn ovmf_ms_vars_hold_the_documented_keys() {
    let store = VariableStore::parse(&ovmf_ms_vars()).unwrap();
    let v = store.secure_boot_variables().unwrap();
    let sizes = |n: &str, g| store.get(n, g).map(|v| (v.data.len(), v.attributes));
    assert_eq!(sizes("PK", &efi::EFI_GLOBAL_VARIABLE), Some((1005, 0x27)));
    assert_eq!(sizes("KEK", &efi::EFI_GLOBAL_VARIABLE), Some((2565, 0x27)));
    assert_eq!(
        sizes("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
        Some((3143, 0x27))
    );
    assert_eq!(
        sizes("dbx", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
        Some((76, 0x27))
    );
    let subjects: Vec<String> =
        v.db.iter()
            .flat_map(|l| &l.signatures)
            .map(|s| X509::from_der(&s.data).unwrap().subject())
            .collect();
    assert_eq!(subjects.len(), 2);
    assert!(
        subjects[0].contains("Microsoft Windows Production PCA 2011"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].contains("Microsoft Corporation UEFI CA 2011"),
        "{subjects:?}"
    );
    assert_eq!(v.kek.iter().map(|l| l.signatures.len()).sum::<usize>(), 2);
    assert_eq!(v.dbx[0].signature_type, efi::EFI_CERT_SHA256_GUID);
    assert!(hex(&v.dbx[0].signatures[0].data).starts_with("e3b0c442"));
    // Round trip: the lists re-encode to the variable's bytes.
    let db = store
        .get("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID)
        .unwrap();
    assert_eq!(SignatureList::concat(&v.db).unwrap(), db.data);
}

#[test]
fn shim_verifies_against_ms_uefi_ca_2011_from_ovmf() {
    let shim = fetch(&debian::SHIM);
    let policy = SecureBootPolicy::new(&ms_db(), &[]);
    let v = policy.verify_image(&shim);
    assert!(v.allowed, "{v:#?}");
    assert_eq!(v.reason, Reason::SignedByDb { signature: 0 });
    let m = v.matched.unwrap();
    assert!(
        m.description.contains("Microsoft Corporation UEFI CA 2011"),
        "{m:?}"
    );
    assert_eq!((m.list, m.entry), (1, 0));
    assert!(
        v.signer
            .unwrap()
            .contains("Microsoft Windows UEFI Driver Publisher")
    );
    assert_eq!(
        v.sha256.as_deref(),
        Some("80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8")
    );
    assert_eq!(v.signatures.len(), 2);
    assert!(
        v.signatures[1]
            .outcome
            .contains("no db certificate anchors"),
        "{:?}",
        v.signatures[1]
    );
}

#[test]
fn shim_verifies_against_ms_uefi_ca_2023_as_intermediate_anchor() {
    let shim = fetch(&debian::SHIM);
    let pe = PeImage::parse(&shim).unwrap();
    let certs = pe.certificates().unwrap();
    assert_eq!(certs.len(), 2);
    let second = boot::secureboot::policy::parse_win_certificate(&certs[1])
        .unwrap()
        .unwrap();
    let ca2023 = second
        .message
        .certificates
        .iter()
        .find(|c| {
            c.subject().contains("CN=Microsoft UEFI CA 2023") && !c.subject().contains("signer")
        })
        .expect("shim's second signature embeds the 2023 CA");
    assert_eq!(ca2023.der.len(), 1448);
    let db = x509_list(&ca2023.der);
    assert_eq!(SignatureList::concat(&db).unwrap().len(), 1492);
    let v = SecureBootPolicy::new(&db, &[]).verify_image(&shim);
    assert!(v.allowed, "{v:#?}");
    assert_eq!(v.reason, Reason::SignedByDb { signature: 1 });
    assert!(v.signer.unwrap().contains("Microsoft UEFI CA 2023 signer"));
    // Neither Microsoft CA anchors a Debian-signed binary, and the Debian CA does not anchor shim.
    assert!(
        !SecureBootPolicy::new(&debian_db(), &[])
            .verify_image(&shim)
            .allowed
    );
}

#[test]
fn grub_kernel_and_mokmanager_verify_against_the_debian_ca() {
    let policy = SecureBootPolicy::new(&debian_db(), &[]);
    for (f, signer, digest) in [
        (
            &debian::GRUB,
            "grub2",
            Some("a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265"),
        ),
        (
            &debian::KERNEL,
            "linux",
            Some("6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51"),
        ),
        (&debian::MOKMANAGER, "shim", None),
    ] {
        let v = policy.verify_image(&fetch(f));
        assert!(v.allowed, "{}: {v:#?}", f.path);
        assert_eq!(v.reason, Reason::SignedByDb { signature: 0 });
        let s = v.signer.unwrap();
        assert!(
            s.contains(&format!("Debian Secure Boot Signer 2022 - {signer}")),
            "{s}"
        );
        assert!(
            v.matched
                .unwrap()
                .description
                .contains("Debian Secure Boot CA")
        );
        if let Some(d) = digest {
            assert_eq!(v.sha256.as_deref(), Some(d));
        }
    }
    let ms = SecureBootPolicy::new(&ms_db(), &[]).verify_image(&fetch(&debian::GRUB));
    assert!(!ms.allowed);
    assert!(
        matches!(ms.reason, Reason::NoSignatureAllowed { .. }),
        "{ms:?}"
    );
}

#[test]
fn tampered_and_stripped_grub_are_denied() {
    let grub = fetch(&debian::GRUB);
    let policy = SecureBootPolicy::new(&debian_db(), &[]);
    let mut tampered = grub.clone();
    tampered[image::GRUB_TAMPER_OFFSET] ^= 1;
    let v = policy.verify_image(&tampered);
    assert!(!v.allowed);
    let Reason::NoSignatureAllowed { failures } = &v.reason else {
        panic!("{v:?}")
    };
    assert!(
        failures[0].contains("image digest mismatch: signed a68f6d71"),
        "{failures:?}"
    );
    let stripped = image::strip_signature(&grub).unwrap();
    let v = policy.verify_image(&stripped);
    assert!(!v.allowed);
    assert_eq!(v.reason, Reason::UnsignedNotInDb);
    // The strip keeps the Authenticode digest, so db can allow it by hash.
    let digest = PeImage::parse(&stripped)
        .unwrap()
        .authenticode_digest(HashAlg::Sha256);
    assert_eq!(
        hex(&digest),
        "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265"
    );
}

#[test]
fn unsigned_shim_by_hash_and_the_padding_trap() {
    let unsigned = fetch(&debian::SHIM_UNSIGNED);
    assert_eq!(unsigned.len(), 1_029_134);
    let pe = PeImage::parse(&unsigned).unwrap();
    let d = pe.authenticode_digest(HashAlg::Sha256);
    assert!(hex(&d).starts_with("2852085c"), "{}", hex(&d));
    // Signing pads to 8 bytes; the padded file hashes to the digest shim's signatures carry.
    let mut padded = unsigned.clone();
    padded.extend_from_slice(&[0, 0]);
    let dp = PeImage::parse(&padded)
        .unwrap()
        .authenticode_digest(HashAlg::Sha256);
    assert_eq!(
        hex(&dp),
        "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8"
    );

    let none = SecureBootPolicy::new(&ms_db(), &[]).verify_image(&unsigned);
    assert_eq!(
        (none.allowed, none.reason),
        (false, Reason::UnsignedNotInDb)
    );
    let mut db = ms_db();
    db.extend(sha256_list(&d));
    let v = SecureBootPolicy::new(&db, &[]).verify_image(&unsigned);
    assert!(v.allowed, "{v:?}");
    assert_eq!(v.reason, Reason::ImageHashInDb);
    assert_eq!(v.matched.unwrap().list, 2);
    let v = SecureBootPolicy::new(&db, &sha256_list(&d)).verify_image(&unsigned);
    assert_eq!((v.allowed, v.reason), (false, Reason::ImageHashInDbx));
}

#[test]
fn dbx_by_hash_certificate_and_tbs_hash() {
    let grub = fetch(&debian::GRUB);
    let db = debian_db();
    let d = PeImage::parse(&grub)
        .unwrap()
        .authenticode_digest(HashAlg::Sha256);
    // Image hash in dbx beats a valid signature.
    let v = SecureBootPolicy::new(&db, &sha256_list(&d)).verify_image(&grub);
    assert_eq!((v.allowed, &v.reason), (false, &Reason::ImageHashInDbx));
    // The CA itself in dbx.
    let v = SecureBootPolicy::new(&db, &db).verify_image(&grub);
    assert!(!v.allowed);
    assert!(
        matches!(&v.reason, Reason::SignatureForbidden { signature: 0, detail } if detail.contains("dbx certificate")),
        "{v:?}"
    );
    // The signer's TBS hash in dbx (EFI_CERT_X509_SHA256, TimeOfRevocation 0).
    let pe = PeImage::parse(&grub).unwrap();
    let sig = boot::secureboot::policy::parse_win_certificate(&pe.certificates().unwrap()[0])
        .unwrap()
        .unwrap();
    let leaf = &sig.message.certificates[sig.message.signer_cert().unwrap()];
    let mut data = leaf.tbs_hash(HashAlg::Sha256);
    data.extend_from_slice(&[0; 16]);
    let dbx = vec![SignatureList::single(
        efi::EFI_CERT_X509_SHA256_GUID,
        efi::MICROSOFT_OWNER_GUID,
        data,
    )];
    let v = SecureBootPolicy::new(&db, &dbx).verify_image(&grub);
    assert!(!v.allowed);
    assert!(
        matches!(&v.reason, Reason::SignatureForbidden { detail, .. } if detail.contains("TBS hash")),
        "{v:?}"
    );
    assert_eq!(
        v.matched.unwrap().signature_type,
        efi::EFI_CERT_X509_SHA256_GUID
    );
    // The anchor's TBS hash in dbx: the chain meets db but its root is revoked.
    let ca = X509::from_der(&fetch(&debian::DEBIAN_UEFI_CA)).unwrap();
    let mut data = ca.tbs_hash(HashAlg::Sha384);
    data.extend_from_slice(&[0; 16]);
    let dbx = vec![SignatureList::single(
        efi::EFI_CERT_X509_SHA384_GUID,
        efi::MICROSOFT_OWNER_GUID,
        data,
    )];
    let v = SecureBootPolicy::new(&db, &dbx).verify_image(&grub);
    assert!(!v.allowed);
    assert!(
        matches!(v.reason, Reason::AnchorRevoked { signature: 0, .. }),
        "{v:?}"
    );
}

#[test]
fn shim_with_one_forbidden_signature_is_denied() {
    // Signature 1 (2023 chain) verifies against the MS db, but the 2023 CA is revoked by cert.
    let shim = fetch(&debian::SHIM);
    let pe = PeImage::parse(&shim).unwrap();
    let sig = boot::secureboot::policy::parse_win_certificate(&pe.certificates().unwrap()[1])
        .unwrap()
        .unwrap();
    let ca2023 = sig
        .message
        .certificates
        .iter()
        .find(|c| {
            c.subject().contains("CN=Microsoft UEFI CA 2023") && !c.subject().contains("signer")
        })
        .unwrap();
    let v = SecureBootPolicy::new(&ms_db(), &x509_list(&ca2023.der)).verify_image(&shim);
    assert!(!v.allowed, "{v:?}");
    assert!(
        matches!(v.reason, Reason::SignatureForbidden { signature: 1, .. }),
        "{v:?}"
    );
}

#[test]
fn shim_policy_vendor_cert_mok_and_sbat() {
    use boot::secureboot::{Sbat, SbatLevel, ShimPolicy};
    let shim = fetch(&debian::SHIM);
    let grub = fetch(&debian::GRUB);
    let kernel = fetch(&debian::KERNEL);
    let policy = ShimPolicy::from_shim(&shim, ms_db(), Vec::new()).unwrap();
    let vendor = policy.vendor.as_ref().unwrap();
    assert_eq!(vendor.cert.der, fetch(&debian::DEBIAN_UEFI_CA));
    assert_eq!(vendor.dbx.len(), 114);
    let level = policy.sbat_level.as_ref().unwrap();
    assert_eq!(level.entries[0].vendor, ["2025021800"]);
    // grub: allowed by the vendor certificate, and its .sbat passes the previous level.
    let v = policy.verify_image(&grub, false);
    assert!(v.allowed, "{v:?}");
    assert_eq!(v.matched.unwrap().owner, efi::SHIM_LOCK_GUID);
    let sbat = Sbat::parse(PeImage::parse(&grub).unwrap().section(".sbat").unwrap()).unwrap();
    assert!(
        sbat.entries
            .iter()
            .any(|e| e.component_name == "grub" && e.component_generation == 5)
    );
    // The kernel has no .sbat: fine through shim_lock, refused as a directly loaded image.
    assert!(policy.verify_image(&kernel, true).allowed);
    let v = policy.verify_image(&kernel, false);
    assert!(!v.allowed);
    assert_eq!(v.reason.to_string(), "shim: image has no .sbat section");
    // A level revoking grub 5.
    let mut strict = policy.clone();
    strict.sbat_level = Some(SbatLevel::parse(b"sbat,1,2099010100\ngrub,6\n").unwrap());
    let v = strict.verify_image(&grub, false);
    assert!(!v.allowed);
    assert!(
        v.reason
            .to_string()
            .contains("grub generation 5 is revoked"),
        "{}",
        v.reason
    );
    // MokListX with grub's hash denies; MokList with an unsigned image's hash allows.
    let mut mokx = policy.clone();
    let d = PeImage::parse(&grub)
        .unwrap()
        .authenticode_digest(HashAlg::Sha256);
    mokx.mokx = sha256_list(&d);
    assert_eq!(
        mokx.verify_image(&grub, false).reason,
        Reason::ImageHashInDbx
    );
    let stripped = image::strip_signature(&grub).unwrap();
    assert!(!policy.verify_image(&stripped, false).allowed);
    let mut mok = policy.clone();
    mok.mok = sha256_list(&d);
    assert_eq!(
        mok.verify_image(&stripped, false).reason,
        Reason::ImageHashInDb
    );
}
