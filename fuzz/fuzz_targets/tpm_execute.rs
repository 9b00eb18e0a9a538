//! Feeds a sequence of command frames to a started TPM and checks every response frame.
//!
//! Input layout, repeated: `flags u8 | len u16 | len bytes`. `flags & 7` is the locality
//! (5..7 are invalid localities on purpose); bit 3 patches the frame's size field so parsing
//! gets past the header; bit 4 round-trips the state through save/restore after the command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tpm::proto::{
    ResponseHeader, TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS, TPM_SU_CLEAR, startup_command,
};
use tpm::{BlobType, Tpm};

fn base() -> &'static (Vec<u8>, Vec<u8>) {
    static BASE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut t = Tpm::manufacture();
        let r = t.execute(0, &startup_command(TPM_SU_CLEAR));
        assert_eq!(r, [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0]);
        (t.save(BlobType::Permanent), t.save(BlobType::Volatile))
    })
}

fn check(resp: &[u8]) {
    let h = ResponseHeader::parse_frame(resp).expect("response size field equals its length");
    assert!(
        h.tag == TPM_ST_NO_SESSIONS || h.tag == TPM_ST_SESSIONS,
        "tag {:#x}",
        h.tag
    );
    assert!(resp.len() <= 4096);
    if h.rc != 0 {
        assert_eq!(resp.len(), 10, "error responses carry no body");
    }
}

fuzz_target!(|data: &[u8]| {
    let (perm, vol) = base();
    let mut tpm = Tpm::restore(perm, Some(vol)).expect("own blobs restore");
    let mut rest = data;
    while let [flags, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        let mut frame = frame.to_vec();
        if flags & 8 != 0 && frame.len() >= 6 {
            let n = (frame.len() as u32).to_be_bytes();
            frame[2..6].copy_from_slice(&n);
        }
        check(&tpm.execute(flags & 7, &frame));
        if flags & 16 != 0 {
            let p = tpm.save(BlobType::Permanent);
            let v = tpm.save(BlobType::Volatile);
            let again = Tpm::restore(&p, Some(&v)).expect("saved state restores");
            // Clock and time advance, so compare shape rather than bytes.
            assert_eq!(again.save(BlobType::Permanent).len(), p.len());
            assert_eq!(again.save(BlobType::Volatile).len(), v.len());
            tpm = again;
        }
    }
});
