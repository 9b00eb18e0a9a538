//! Engine-level object tests: TCG EK template determinism, ChangeEPS, Create/Load round trip.

use crate::Tpm;
use tpm_proto::object::{PublicParms, TpmsSensitiveCreate, TpmtPublic};
use tpm_proto::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cmd(cc: u32, handles: &[u32], pw: bool, params: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.put_u16(if pw {
        TPM_ST_SESSIONS
    } else {
        TPM_ST_NO_SESSIONS
    });
    v.put_u32(0);
    v.put_u32(cc);
    for h in handles {
        v.put_u32(*h);
    }
    if pw {
        let mut a = Vec::new();
        TpmsAuthCommand::password(b"").write(&mut a);
        v.put_u32(a.len() as u32);
        v.extend_from_slice(&a);
    }
    v.extend_from_slice(params);
    let n = v.len() as u32;
    v.patch_u32(2, n);
    v
}

fn started() -> Tpm {
    let mut t = Tpm::manufacture();
    t.execute(0, &startup_command(TPM_SU_CLEAR));
    t
}

/// TCG EK Credential Profile 2.0 template L-1 (RSA-2048, policy A).
fn ek_template() -> Vec<u8> {
    let mut b = hex(
        "0001000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa\
         00060080004300100800000000000100",
    );
    b.extend(std::iter::repeat_n(0u8, 256));
    b
}

/// CreatePrimary: returns (rc, handle, outPublic).
fn create_primary(t: &mut Tpm, h: u32, tmpl: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut p = Vec::new();
    TpmsSensitiveCreate {
        user_auth: vec![],
        data: vec![],
    }
    .write_2b(&mut p);
    p.put_tpm2b(tmpl);
    p.put_u16(0);
    p.put_u32(0);
    let r = t.execute(0, &cmd(TPM_CC_CREATE_PRIMARY, &[h], true, &p));
    let mut rd = Reader::new(&r);
    let hdr = ResponseHeader::read(&mut rd).unwrap();
    if hdr.rc != 0 {
        return (hdr.rc, 0, vec![]);
    }
    let handle = rd.u32().unwrap();
    let _psize = rd.u32().unwrap();
    let public = rd.tpm2b(4096).unwrap().to_vec();
    (0, handle, public)
}

fn flush(t: &mut Tpm, h: u32) {
    let r = t.execute(0, &cmd(TPM_CC_FLUSH_CONTEXT, &[], false, &h.to_be_bytes()));
    assert_eq!(ResponseHeader::parse_frame(&r).unwrap().rc, 0);
}

#[test]
fn ek_is_deterministic_until_change_eps() {
    let mut t = started();
    let (rc, h1, p1) = create_primary(&mut t, TPM_RH_ENDORSEMENT, &ek_template());
    assert_eq!(rc, 0);
    flush(&mut t, h1);
    let (_, h2, p2) = create_primary(&mut t, TPM_RH_ENDORSEMENT, &ek_template());
    flush(&mut t, h2);
    assert_eq!(p1, p2);
    let pubarea = TpmtPublic::read(&mut Reader::new(&p1)).unwrap();
    assert!(matches!(
        pubarea.parameters,
        PublicParms::Rsa { key_bits: 2048, .. }
    ));
    // The owner hierarchy gives a different key for the same template.
    let (_, h3, p3) = create_primary(&mut t, TPM_RH_OWNER, &ek_template());
    flush(&mut t, h3);
    assert_ne!(p1, p3);
    // The cache survives a state round trip.
    let blob = t.save(crate::BlobType::Permanent);
    let mut t2 = Tpm::restore(&blob, None).unwrap();
    t2.execute(0, &startup_command(TPM_SU_CLEAR));
    let (_, h4, p4) = create_primary(&mut t2, TPM_RH_ENDORSEMENT, &ek_template());
    flush(&mut t2, h4);
    assert_eq!(p1, p4);
    let r = t2.execute(0, &cmd(TPM_CC_CHANGE_EPS, &[TPM_RH_PLATFORM], true, &[]));
    assert_eq!(ResponseHeader::parse_frame(&r).unwrap().rc, 0);
    let (_, _, p5) = create_primary(&mut t2, TPM_RH_ENDORSEMENT, &ek_template());
    assert_ne!(p1, p5);
}

#[test]
fn ecc_primary_is_deterministic_and_slots_run_out() {
    let mut t = started();
    // ECC P-256 storage key template (tpm2_createprimary -G ecc256 default attributes).
    let tmpl = hex("0023000b00030072000000060080004300100003001000000000");
    let (rc, h1, p1) = create_primary(&mut t, TPM_RH_OWNER, &tmpl);
    assert_eq!(rc, 0);
    let (_, _, p2) = create_primary(&mut t, TPM_RH_OWNER, &tmpl);
    assert_eq!(p1, p2);
    let (_, _, _) = create_primary(&mut t, TPM_RH_OWNER, &tmpl);
    let (rc, _, _) = create_primary(&mut t, TPM_RH_OWNER, &tmpl);
    assert_eq!(rc, TPM_RC_OBJECT_MEMORY);
    flush(&mut t, h1);
    assert_eq!(create_primary(&mut t, TPM_RH_OWNER, &tmpl).0, 0);
}
