//! Arbitrary bytes as a PE image: Authenticode digest, certificate table walk, PKCS#7 parse,
//! timestamp countersignatures and the full db/dbx/dbt decision must never panic; nor may the same
//! bytes as a bzImage or a vmlinux scanned for certificates.
#![no_main]

use boot::secureboot::{
    HashAlg, PeImage, SecureBootPolicy, SignatureList, kernel, policy, timestamp,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pe) = PeImage::parse(data) {
        let d = pe.authenticode_digest(HashAlg::Sha256);
        assert_eq!(d.len(), 32);
        if let Ok(certs) = pe.certificates() {
            for c in &certs {
                if let Some(Ok(sig)) = policy::parse_win_certificate(c) {
                    let _ = sig.verify_signer();
                    if let Ok(i) = sig.message.signer_cert() {
                        let _ = sig.message.embedded_chain(i);
                    }
                    if let Some(token) = &sig.message.signer.timestamp_token {
                        for anchor in &sig.message.certificates {
                            let _ = timestamp::verify_token(
                                token,
                                anchor,
                                &sig.message.signer.signature,
                            );
                        }
                    }
                }
            }
        }
    }
    // The same bytes as a signed-data blob, a module, and a signature list.
    let _ = boot::secureboot::AuthenticodeSignature::parse(data);
    let _ = boot::secureboot::ModuleSignature::parse(data);
    if let Ok(lists) = SignatureList::parse_all(data) {
        // Round trip: whatever parses re-encodes to the same bytes.
        if lists.iter().all(|l| !l.signatures.is_empty()) {
            assert_eq!(SignatureList::concat(&lists).ok().as_deref(), Some(data));
        }
        let _ = SecureBootPolicy::new(&lists, &lists)
            .with_dbt(&lists)
            .verify_image(data);
    }
    let _ = kernel::bzimage_payload(data);
    let _ = kernel::embedded_certificates(data);
});
