//! TPM2_CertifyCreation (Part 3, 18.3): creation ticket check, signed and unsigned attestation.

use super::*;
use tpm_proto::attest::{Attested, TpmsAttest, TpmtSignature, TpmtTicket};

/// ECC P-256 restricted signing key, ECDSA-SHA256.
const ECC_AK: &str = "0023 000b 00050072 0000 0010 0018 000b 0003 0010 0000 0000";
/// ECC P-256 storage key.
const ECC_SRK: &str = "0023 000b 00030072 0000 0006 0080 0043 0010 0003 0010 0000 0000";

/// CreatePrimary: (handle, name, creationHash, creationTicket).
fn primary(t: &mut Tpm, h: u32, tmpl: &str) -> (u32, Vec<u8>, Vec<u8>, TpmtTicket) {
    let r = create_primary_rsp(t, h, &hex(tmpl));
    let mut rd = Reader::new(&r[10..]);
    let handle = rd.u32().unwrap();
    rd.u32().unwrap();
    rd.tpm2b(4096).unwrap();
    rd.tpm2b(4096).unwrap();
    let ch = rd.tpm2b(64).unwrap().to_vec();
    let tk = TpmtTicket::read(&mut rd).unwrap();
    let name = rd.tpm2b(66).unwrap().to_vec();
    (handle, name, ch, tk)
}

fn certify_creation(
    t: &mut Tpm,
    sign: u32,
    obj: u32,
    ch: &[u8],
    tk: &TpmtTicket,
) -> Result<(TpmsAttest, Vec<u8>, TpmtSignature), u32> {
    let mut p = Vec::new();
    p.put_tpm2b(b"nonce");
    p.put_tpm2b(ch);
    p.put_u16(TPM_ALG_NULL);
    tk.write(&mut p);
    let r = t.execute(
        0,
        &cmd(TPM_CC_CERTIFY_CREATION, &[sign, obj], Some(&[b""]), &p),
    );
    if rc(&r) != 0 {
        return Err(rc(&r));
    }
    let mut rd = Reader::new(&r[14..]);
    let b = rd.tpm2b(4096).unwrap().to_vec();
    let a = TpmsAttest::read(&mut Reader::new(&b)).unwrap();
    let sig = TpmtSignature::read(&mut rd).unwrap();
    Ok((a, b, sig))
}

#[test]
fn certify_creation_checks_the_ticket_and_signs() {
    let mut t = started();
    let (ak, _, _, _) = primary(&mut t, TPM_RH_ENDORSEMENT, ECC_AK);
    let (srk, name, ch, tk) = primary(&mut t, TPM_RH_OWNER, ECC_SRK);
    assert_eq!(tk.hierarchy, TPM_RH_OWNER);

    let (a, bytes, sig) = certify_creation(&mut t, ak, srk, &ch, &tk).unwrap();
    assert_eq!(a.extra_data, b"nonce");
    assert_eq!(
        a.attested,
        Attested::Creation {
            object_name: name.clone(),
            creation_hash: ch.clone(),
        }
    );
    assert!(matches!(sig, TpmtSignature::Ecc { .. }));
    // The TPM verifies its own signature over SHA-256(TPMS_ATTEST).
    let mut p = Vec::new();
    p.put_tpm2b(&sha(&digest::SHA256, &[&bytes]));
    sig.write(&mut p);
    let r = t.execute(0, &cmd(TPM_CC_VERIFY_SIGNATURE, &[ak], None, &p));
    assert_eq!(rc(&r), 0);

    // Unsigned with a NULL signHandle.
    let (a, _, sig) = certify_creation(&mut t, TPM_RH_NULL, srk, &ch, &tk).unwrap();
    assert!(a.qualified_signer.is_empty());
    assert_eq!(sig, TpmtSignature::Null);

    // A creationHash the ticket does not vouch for, a ticket for another object, a ticket
    // whose digest was altered, a NULL ticket, a wrong tag.
    let ticket_rc = rc_param(TPM_RC_TICKET, 4);
    let mut other = ch.clone();
    other[0] ^= 1;
    assert_eq!(
        certify_creation(&mut t, ak, srk, &other, &tk).err(),
        Some(ticket_rc)
    );
    assert_eq!(
        certify_creation(&mut t, ak, ak, &ch, &tk).err(),
        Some(ticket_rc)
    );
    let mut bad = tk.clone();
    bad.digest[3] ^= 0x80;
    assert_eq!(
        certify_creation(&mut t, ak, srk, &ch, &bad).err(),
        Some(ticket_rc)
    );
    let mut moved = tk.clone();
    moved.hierarchy = TPM_RH_ENDORSEMENT;
    assert_eq!(
        certify_creation(&mut t, ak, srk, &ch, &moved).err(),
        Some(ticket_rc)
    );
    let null = TpmtTicket::null(TPM_ST_CREATION);
    assert_eq!(
        certify_creation(&mut t, ak, srk, &ch, &null).err(),
        Some(ticket_rc)
    );
    let mut tag = tk.clone();
    tag.tag = TPM_ST_HASHCHECK;
    assert_eq!(
        certify_creation(&mut t, ak, srk, &ch, &tag).err(),
        Some(rc_param(TPM_RC_TAG, 4))
    );
    // The signer must be a signing key.
    assert_eq!(
        certify_creation(&mut t, srk, srk, &ch, &tk).err(),
        Some(rc_handle(TPM_RC_KEY, 1))
    );
    // The ticket stays valid across a TPM Reset (proof-based); after Clear the owner seed and
    // proof are new, and the old ticket vouches for nothing.
    t.execute(
        0,
        &cmd(TPM_CC_SHUTDOWN, &[], None, &TPM_SU_CLEAR.to_be_bytes()),
    );
    t.init();
    t.execute(0, &startup_command(TPM_SU_CLEAR));
    let (ak, _, _, _) = primary(&mut t, TPM_RH_ENDORSEMENT, ECC_AK);
    let (srk, _, _, _) = primary(&mut t, TPM_RH_OWNER, ECC_SRK);
    assert!(certify_creation(&mut t, ak, srk, &ch, &tk).is_ok());
    let r = t.execute(0, &cmd(TPM_CC_CLEAR, &[TPM_RH_LOCKOUT], Some(&[b""]), &[]));
    assert_eq!(rc(&r), 0);
    let (ak, _, _, _) = primary(&mut t, TPM_RH_ENDORSEMENT, ECC_AK);
    let (srk2, _, _, _) = primary(&mut t, TPM_RH_OWNER, ECC_SRK);
    assert_eq!(
        certify_creation(&mut t, ak, srk2, &ch, &tk).err(),
        Some(ticket_rc)
    );
}
