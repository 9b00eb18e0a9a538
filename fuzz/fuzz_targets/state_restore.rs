//! The state-file loader: arbitrary bytes as permanent, volatile and save-state blobs.
//!
//! Raw input exercises the header checks; to get past the SHA-256 integrity digest into the
//! payload parsers, the input is also wrapped in a correctly sealed blob (first byte: blob kind
//! and format version; the rest: payload). Whatever loads must then run commands, and save →
//! restore of it must succeed.
#![no_main]

use aws_lc_rs::digest::{SHA256, digest};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tpm::proto::{TPM_SU_CLEAR, TPM_SU_STATE, startup_command};
use tpm::{BlobType, Tpm};

fn base() -> &'static (Vec<u8>, Vec<u8>) {
    static BASE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut t = Tpm::manufacture();
        t.execute(0, &startup_command(TPM_SU_CLEAR));
        (t.save(BlobType::Permanent), t.save(BlobType::Volatile))
    })
}

/// The engine's blob framing: magic, u16 version, u32 payload length, payload, SHA-256 of all
/// that precedes it.
fn seal(magic: &[u8; 4], version: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(payload.len() + 42);
    b.extend_from_slice(magic);
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    b.extend_from_slice(payload);
    let d = digest(&SHA256, &b);
    b.extend_from_slice(d.as_ref());
    b
}

/// A loaded TPM must answer commands and survive its own save/restore.
fn exercise(t: &mut Tpm) {
    // PCR_Read(sha256: 0-7) and GetCapability(HANDLES, transient).
    let pcr_read = [
        0x80, 0x01, 0, 0, 0, 0x14, 0, 0, 0x01, 0x7E, 0, 0, 0, 1, 0, 0x0B, 3, 0xFF, 0, 0,
    ];
    let get_cap = [
        0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7A, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 8,
    ];
    for cmd in [&pcr_read[..], &get_cap[..]] {
        let r = t.execute(0, cmd);
        assert!(r.len() >= 10 && r.len() <= 4096);
        assert_eq!(u32::from_be_bytes([r[2], r[3], r[4], r[5]]) as usize, r.len());
    }
    let perm = t.save(BlobType::Permanent);
    let vol = t.save(BlobType::Volatile);
    Tpm::restore(&perm, Some(&vol)).expect("a TPM restores from its own blobs");
}

fuzz_target!(|data: &[u8]| {
    let (perm, vol) = base();
    // Unsealed input: header and digest checks.
    if let Ok(mut t) = Tpm::restore(data, None) {
        exercise(&mut t);
    }
    let _ = Tpm::restore(perm, Some(data));

    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    let version = u16::from(sel >> 2) % 7;
    match sel & 3 {
        0 => {
            if let Ok(mut t) = Tpm::restore(&seal(b"TLVp", version, payload), None) {
                t.init();
                t.execute(0, &startup_command(TPM_SU_STATE));
                exercise(&mut t);
            }
        }
        1 => {
            if let Ok(mut t) = Tpm::restore(perm, Some(&seal(b"TLVv", version, payload))) {
                exercise(&mut t);
            }
        }
        _ => {
            let mut t = Tpm::restore(perm, Some(vol)).expect("own blobs restore");
            if t
                .load(BlobType::SaveState, &seal(b"TLVs", version, payload))
                .is_ok()
            {
                t.init();
                t.execute(0, &startup_command(TPM_SU_STATE));
                exercise(&mut t);
            }
        }
    }
});
