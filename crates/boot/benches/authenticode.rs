//! Authenticode digest + signature check of Debian's cloud kernel (14 MB, the image) and
//! generic kernel (8 MB) against `sha256sum` over the same file, and against a plain aws-lc
//! SHA-256 of the bytes. Goal: within 1.5× of sha256sum.
//! Run: `cargo bench -p tl-boot --bench authenticode`.

use boot::secureboot::{HashAlg, PeImage, SecureBootPolicy, SignatureList, efi};
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    f(); // warm caches
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    for file in [&image::debian::CLOUD_KERNEL, &image::debian::KERNEL] {
        bench(file);
    }
}

fn bench(file: &image::debian::DebianFile) {
    let dir = image::cache_dir().join("debian");
    let kernel = image::debian::ensure(&dir, file)
        .unwrap_or_else(|e| panic!("cannot fetch {}: {e}", file.package));
    let ca = image::debian::ensure(&dir, &image::debian::DEBIAN_UEFI_CA)
        .unwrap_or_else(|e| panic!("cannot fetch debian-uefi-ca.der: {e}"));
    let bytes = std::fs::read(&kernel).expect("read kernel");
    let db = vec![SignatureList::single(
        efi::EFI_CERT_X509_GUID,
        efi::EFI_GLOBAL_VARIABLE,
        std::fs::read(&ca).expect("read CA"),
    )];
    let policy = SecureBootPolicy::new(&db, &[]);
    assert!(policy.verify_image(&bytes).allowed, "kernel must verify");

    let ours = time(|| {
        let v = policy.verify_image(std::hint::black_box(&bytes));
        assert!(v.allowed);
    });
    let digest_only = time(|| {
        let pe = PeImage::parse(std::hint::black_box(&bytes)).expect("parse");
        std::hint::black_box(pe.authenticode_digest(HashAlg::Sha256));
    });
    let awslc = time(|| {
        std::hint::black_box(HashAlg::Sha256.digest(std::hint::black_box(&bytes)));
    });
    let sha256sum = time(|| {
        let out = Command::new("sha256sum")
            .arg(&kernel)
            .output()
            .expect("run sha256sum (coreutils)");
        assert!(out.status.success());
    });
    let mb = bytes.len() as f64 / 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "kernel: {} ({:.1} MB), median of {ROUNDS}",
        kernel.display(),
        mb
    );
    println!(
        "tl verify_image (digest + PKCS#7 + chain): {:8.2} ms  {:7.0} MB/s",
        ms(ours),
        mb / ours.as_secs_f64()
    );
    println!(
        "tl authenticode digest only:              {:8.2} ms",
        ms(digest_only)
    );
    println!(
        "aws-lc SHA-256 over the bytes:            {:8.2} ms",
        ms(awslc)
    );
    println!(
        "sha256sum (process, reads the file):      {:8.2} ms  {:7.0} MB/s",
        ms(sha256sum),
        mb / sha256sum.as_secs_f64()
    );
    println!(
        "ratio verify_image / sha256sum = {:.2} (goal <= 1.5); digest / aws-lc sha256 = {:.2}",
        ours.as_secs_f64() / sha256sum.as_secs_f64(),
        digest_only.as_secs_f64() / awslc.as_secs_f64()
    );
}
