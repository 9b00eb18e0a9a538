//! Arbitrary bytes as an OVMF VARS file and as an `.auth`: parsing, enrolling a fixed key set
//! into whatever parses (the output must read back with the keys in place) and splitting an
//! authenticated update must never panic.
#![no_main]

use boot::secureboot::auth::{AuthenticatedUpdate, EfiTime, parse_signed_data};
use boot::secureboot::{Enrollment, SignatureList, VariableStore, efi, enroll};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if VariableStore::parse(data).is_ok() {
        let list = |b: u8| {
            vec![SignatureList::single(
                efi::EFI_CERT_X509_GUID,
                efi::EFI_GLOBAL_VARIABLE,
                vec![b; 40],
            )]
        };
        let e = Enrollment {
            pk: list(1),
            kek: list(2),
            db: list(3),
            dbx: Vec::new(),
            timestamp: EfiTime::default(),
        };
        if let Ok(out) = enroll(data, &e) {
            assert_eq!(out.len(), data.len());
            let sb = VariableStore::parse(&out)
                .expect("enrolled store parses")
                .secure_boot_variables()
                .expect("enrolled lists parse");
            assert_eq!(sb.pk, e.pk);
            assert_eq!(sb.db, e.db);
        }
    }
    if let Ok(u) = AuthenticatedUpdate::parse(data) {
        let _ = parse_signed_data(u.pkcs7);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = s.parse::<EfiTime>();
    }
});
