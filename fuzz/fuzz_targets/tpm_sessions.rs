//! Authorization areas against real sessions: the TPM has an HMAC session (AES-128-CFB capable)
//! and a policy session started; each input builds commands whose code, handles and session
//! handles are drawn from real values, and whose session attributes, nonces, HMACs and
//! parameters come from the fuzzer — so the bytes reach HMAC checking, parameter decryption,
//! policy checks and nonce rolling instead of stopping at handle validation.
//!
//! Input, repeated: `cc u8 | handle u8 | session u8 | attrs u8 | nonce_len u8 | hmac_len u8 |
//! params_len u8 | nonce | hmac | params`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tpm::proto::{ResponseHeader, TPM_SU_CLEAR, startup_command};
use tpm::{BlobType, Tpm};

/// Commands that take an authorization: (code, handles that need auth).
const COMMANDS: [(u32, usize); 8] = [
    (0x0000_0182, 1), // PCR_Extend
    (0x0000_0129, 1), // HierarchyChangeAuth
    (0x0000_012A, 1), // NV_DefineSpace
    (0x0000_0151, 2), // PolicySecret (authHandle, policySession)
    (0x0000_0126, 1), // Clear
    (0x0000_017B, 0), // GetRandom (audit/encrypt session only)
    (0x0000_0139, 1), // DictionaryAttackLockReset
    (0x0000_0131, 1), // CreatePrimary
];
const ENTITIES: [u32; 6] = [
    0x4000_0001, // owner
    0x4000_000B, // endorsement
    0x4000_000C, // platform
    0x4000_000A, // lockout
    0x0000_0010, // PCR 16
    0x4000_0007, // null
];

struct Base {
    perm: Vec<u8>,
    vol: Vec<u8>,
    sessions: Vec<u32>,
}

fn start_session(t: &mut Tpm, kind: u8, aes: bool) -> u32 {
    let mut c = vec![0x80, 0x01, 0, 0, 0, 0, 0, 0, 0x01, 0x76];
    c.extend_from_slice(&0x4000_0007u32.to_be_bytes()); // tpmKey: none (unsalted)
    c.extend_from_slice(&0x4000_0007u32.to_be_bytes()); // bind: none
    c.extend_from_slice(&[0, 16]);
    c.extend_from_slice(&[0x5a; 16]); // nonceCaller
    c.extend_from_slice(&[0, 0]); // encryptedSalt
    c.push(kind);
    if aes {
        c.extend_from_slice(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x43]); // AES-128-CFB
    } else {
        c.extend_from_slice(&[0x00, 0x10]); // TPM_ALG_NULL
    }
    c.extend_from_slice(&[0x00, 0x0B]); // authHash sha256
    let n = c.len() as u32;
    c[2..6].copy_from_slice(&n.to_be_bytes());
    let r = t.execute(0, &c);
    assert_eq!(&r[6..10], &[0, 0, 0, 0], "StartAuthSession failed: {r:02x?}");
    u32::from_be_bytes([r[10], r[11], r[12], r[13]])
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut t = Tpm::manufacture();
        t.execute(0, &startup_command(TPM_SU_CLEAR));
        let hmac = start_session(&mut t, 0x00, true);
        let policy = start_session(&mut t, 0x01, false);
        Base {
            perm: t.save(BlobType::Permanent),
            vol: t.save(BlobType::Volatile),
            // The password pseudo-session too, and a handle that names nothing.
            sessions: vec![hmac, policy, 0x4000_0009, 0x0200_00ff],
        }
    })
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if data.len() < n {
        return None;
    }
    let (a, b) = data.split_at(n);
    *data = b;
    Some(a)
}

fuzz_target!(|input: &[u8]| {
    let b = base();
    let mut tpm = Tpm::restore(&b.perm, Some(&b.vol)).expect("own blobs restore");
    let mut data = input;
    for _ in 0..8 {
        let Some(h) = take(&mut data, 7) else { break };
        let (cc, nhandles) = COMMANDS[usize::from(h[0]) % COMMANDS.len()];
        let entity = ENTITIES[usize::from(h[1]) % ENTITIES.len()];
        let session = b.sessions[usize::from(h[2]) % b.sessions.len()];
        let (attrs, nonce_len, hmac_len, params_len) = (h[3], h[4] % 65, h[5] % 65, h[6]);
        let Some(nonce) = take(&mut data, usize::from(nonce_len)) else { break };
        let Some(hmac) = take(&mut data, usize::from(hmac_len)) else { break };
        let Some(params) = take(&mut data, usize::from(params_len)) else { break };

        let mut c = vec![0x80, 0x02, 0, 0, 0, 0];
        c.extend_from_slice(&cc.to_be_bytes());
        if nhandles >= 1 {
            c.extend_from_slice(&entity.to_be_bytes());
        }
        if nhandles == 2 {
            c.extend_from_slice(&b.sessions[1].to_be_bytes()); // the policy session
        }
        let mut auth = Vec::new();
        auth.extend_from_slice(&session.to_be_bytes());
        auth.extend_from_slice(&u16::from(nonce_len).to_be_bytes());
        auth.extend_from_slice(nonce);
        auth.push(attrs);
        auth.extend_from_slice(&u16::from(hmac_len).to_be_bytes());
        auth.extend_from_slice(hmac);
        c.extend_from_slice(&(auth.len() as u32).to_be_bytes());
        c.extend_from_slice(&auth);
        c.extend_from_slice(params);
        let n = c.len() as u32;
        c[2..6].copy_from_slice(&n.to_be_bytes());

        let r = tpm.execute(0, &c);
        let hdr = ResponseHeader::parse_frame(&r).expect("response size field equals its length");
        assert!(r.len() <= 4096);
        if hdr.rc != 0 {
            assert_eq!(r.len(), 10, "error responses carry no body");
        }
    }
    // Whatever the sessions went through, the state still saves and restores.
    let perm = tpm.save(BlobType::Permanent);
    let vol = tpm.save(BlobType::Volatile);
    Tpm::restore(&perm, Some(&vol)).expect("a TPM restores from its own blobs");
});
