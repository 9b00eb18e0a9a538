//! Arbitrary bytes as a PE image: Authenticode digest, certificate table walk, PKCS#7 parse and
//! the full db decision must never panic.
#![no_main]

use boot::secureboot::{HashAlg, PeImage, SecureBootPolicy, SignatureList, policy};
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
        let _ = SecureBootPolicy::new(&lists, &lists).verify_image(data);
    }
});
