//! Writing Secure Boot keys into an OVMF VARS file, the state edk2's own enrollment leaves
//! (compare Debian's `OVMF_VARS_4M.ms.fd` with `OVMF_VARS_4M.fd`): PK, KEK, db, dbx as
//! authenticated variables (attributes 0x27, a time stamp), `VendorKeysNv` = 0,
//! `SecureBootEnable` = 1 and `CustomMode` = 0. The store is rewritten the way edk2's reclaim
//! does it: live variables keep their bytes, replaced and deleted ones are dropped, the rest of
//! the store is erased (0xff). The firmware volume header is untouched, so its checksum holds.

use super::auth::{EfiTime, SECURE_BOOT_VARIABLE_ATTRIBUTES};
use super::efi::{self, Guid};
use super::esl::{EslError, SignatureList};
use super::vars::{VAR_ADDED, Variable, VariableStore, VarsError};

/// `AUTHENTICATED_VARIABLE_HEADER` size.
const AUTH_VARIABLE_HEADER_SIZE: usize = 60;
/// `VARIABLE_STORE_HEADER` size.
const VARIABLE_STORE_HEADER_SIZE: usize = 28;
/// `VAR_IN_DELETED_TRANSITION` cleared on top of `VAR_ADDED`: still valid if no newer copy.
const VAR_IN_DELETED_TRANSITION_STATE: u8 = 0x3e;
/// NV | BS.
const NV_BS: u32 = 0x03;
/// NV | BS | TIME_BASED_AUTH, as edk2 creates `VendorKeysNv`.
const NV_BS_TIME: u32 = 0x23;

/// Why a store could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The template did not parse.
    #[error("template: {0}")]
    Vars(#[from] VarsError),
    /// The firmware volume header checksum is wrong (not an intact VARS file).
    #[error("offset 0: firmware volume header checksum does not sum to zero")]
    BadVolumeChecksum,
    /// A list would not encode.
    #[error("{name}: {source}")]
    Esl {
        /// Variable.
        name: &'static str,
        /// Cause.
        #[source]
        source: EslError,
    },
    /// PK must be exactly one X.509 certificate (edk2 `CheckSignatureListFormat`).
    #[error("PK must hold exactly one X.509 certificate, found {0} entries")]
    BadPk(usize),
    /// The variables do not fit the store.
    #[error("variable store full: {needed} bytes needed, {available} available")]
    StoreFull {
        /// Bytes the variables need.
        needed: usize,
        /// Bytes in the store body.
        available: usize,
    },
}

/// The keys to enroll.
#[derive(Debug, Clone, Default)]
pub struct Enrollment {
    /// PK: one X.509 certificate.
    pub pk: Vec<SignatureList>,
    /// KEK.
    pub kek: Vec<SignatureList>,
    /// db.
    pub db: Vec<SignatureList>,
    /// dbx; empty writes no dbx variable.
    pub dbx: Vec<SignatureList>,
    /// The time stamp of the authenticated variables (later updates must be newer).
    pub timestamp: EfiTime,
}

/// Microsoft's KEK and db entries out of a VARS file that holds them (`OVMF_VARS_4M.ms.fd`).
#[derive(Debug, Clone, Default)]
pub struct MicrosoftKeys {
    /// KEK lists owned by Microsoft (KEK CA 2011).
    pub kek: Vec<SignatureList>,
    /// db lists owned by Microsoft (Windows PCA 2011, UEFI CA 2011).
    pub db: Vec<SignatureList>,
}

impl MicrosoftKeys {
    /// Takes the entries whose owner is Microsoft from `vars`'s KEK and db.
    pub fn from_ovmf_vars(vars: &[u8]) -> Result<Self, VarsError> {
        let sb = VariableStore::parse(vars)?.secure_boot_variables()?;
        let ms = |lists: Vec<SignatureList>| -> Vec<SignatureList> {
            lists
                .into_iter()
                .filter_map(|mut l| {
                    l.signatures
                        .retain(|s| s.owner == efi::MICROSOFT_OWNER_GUID);
                    (!l.signatures.is_empty()).then_some(l)
                })
                .collect()
        };
        Ok(MicrosoftKeys {
            kek: ms(sb.kek),
            db: ms(sb.db),
        })
    }
}

/// Sum of the 16-bit words of the volume header (zero when intact; PI vol. 3 §3.2.1).
fn volume_header_ok(fd: &[u8]) -> bool {
    let hl = usize::from(u16::from_le_bytes([fd[48], fd[49]]));
    fd.get(..hl).is_some_and(|h| {
        h.chunks(2)
            .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .fold(0u16, u16::wrapping_add)
            == 0
    })
}

/// One `AUTHENTICATED_VARIABLE_HEADER` + name + data.
fn encode_variable(
    name: &str,
    vendor: &Guid,
    attributes: u32,
    timestamp: Option<&EfiTime>,
    data: &[u8],
) -> Vec<u8> {
    let n: Vec<u8> = name
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut h = vec![0u8; AUTH_VARIABLE_HEADER_SIZE];
    h[..2].copy_from_slice(&0x55aau16.to_le_bytes());
    h[2] = VAR_ADDED;
    h[4..8].copy_from_slice(&attributes.to_le_bytes());
    // MonotonicCount (8..16) and PubKeyIndex (32..36) stay zero for time-based variables.
    if let Some(t) = timestamp {
        h[16..32].copy_from_slice(&t.to_bytes());
    }
    h[36..40].copy_from_slice(&(n.len() as u32).to_le_bytes());
    h[40..44].copy_from_slice(&(data.len() as u32).to_le_bytes());
    h[44..60].copy_from_slice(&vendor.0);
    h.extend(n);
    h.extend_from_slice(data);
    h
}

/// The raw bytes of a parsed variable (header, name, data) as they sit in `fd`.
fn raw_variable<'a>(fd: &'a [u8], v: &Variable) -> &'a [u8] {
    let name_bytes = (v.name.encode_utf16().count() + 1) * 2;
    &fd[v.offset..v.offset + AUTH_VARIABLE_HEADER_SIZE + name_bytes + v.data.len()]
}

/// Variables the enrollment owns: any copy of them in the template is dropped.
const REPLACED: &[(&str, Guid)] = &[
    ("PK", efi::EFI_GLOBAL_VARIABLE),
    ("KEK", efi::EFI_GLOBAL_VARIABLE),
    ("db", efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
    ("dbx", efi::EFI_IMAGE_SECURITY_DATABASE_GUID),
    ("VendorKeysNv", efi::EFI_VENDOR_KEYS_NV_GUID),
    ("SecureBootEnable", efi::EFI_SECURE_BOOT_ENABLE_DISABLE_GUID),
    ("CustomMode", efi::EFI_CUSTOM_MODE_ENABLE_GUID),
];

/// Writes `e` into a copy of `template` (an OVMF VARS file) and returns it.
pub fn enroll(template: &[u8], e: &Enrollment) -> Result<Vec<u8>, EnrollError> {
    let store = VariableStore::parse(template)?;
    if !volume_header_ok(template) {
        return Err(EnrollError::BadVolumeChecksum);
    }
    let pk_entries: usize = e.pk.iter().map(|l| l.signatures.len()).sum();
    if pk_entries != 1 || e.pk[0].signature_type != efi::EFI_CERT_X509_GUID {
        return Err(EnrollError::BadPk(pk_entries));
    }
    let enc = |name: &'static str, lists: &[SignatureList]| {
        SignatureList::concat(lists).map_err(|source| EnrollError::Esl { name, source })
    };
    let (pk, kek, db, dbx) = (
        enc("PK", &e.pk)?,
        enc("KEK", &e.kek)?,
        enc("db", &e.db)?,
        enc("dbx", &e.dbx)?,
    );

    let mut body: Vec<Vec<u8>> = Vec::new();
    for v in &store.variables {
        let live = v.state == VAR_ADDED
            || (v.state == VAR_IN_DELETED_TRANSITION_STATE
                && store.get(&v.name, &v.vendor).is_none());
        let replaced = REPLACED.iter().any(|(n, g)| *n == v.name && *g == v.vendor);
        if live && !replaced {
            let mut raw = raw_variable(template, v).to_vec();
            raw[2] = VAR_ADDED;
            body.push(raw);
        }
    }
    let ts = Some(&e.timestamp);
    let attrs = SECURE_BOOT_VARIABLE_ATTRIBUTES;
    let image_db = efi::EFI_IMAGE_SECURITY_DATABASE_GUID;
    // Same order as edk2's EnrollDefaultKeys leaves them: db, dbx, KEK, PK.
    if !db.is_empty() {
        body.push(encode_variable("db", &image_db, attrs, ts, &db));
    }
    if !dbx.is_empty() {
        body.push(encode_variable("dbx", &image_db, attrs, ts, &dbx));
    }
    if !kek.is_empty() {
        body.push(encode_variable(
            "KEK",
            &efi::EFI_GLOBAL_VARIABLE,
            attrs,
            ts,
            &kek,
        ));
    }
    body.push(encode_variable(
        "PK",
        &efi::EFI_GLOBAL_VARIABLE,
        attrs,
        ts,
        &pk,
    ));
    body.push(encode_variable(
        "VendorKeysNv",
        &efi::EFI_VENDOR_KEYS_NV_GUID,
        NV_BS_TIME,
        None,
        &[0],
    ));
    body.push(encode_variable(
        "SecureBootEnable",
        &efi::EFI_SECURE_BOOT_ENABLE_DISABLE_GUID,
        NV_BS,
        None,
        &[1],
    ));
    body.push(encode_variable(
        "CustomMode",
        &efi::EFI_CUSTOM_MODE_ENABLE_GUID,
        NV_BS,
        None,
        &[0],
    ));

    let hl = usize::from(u16::from_le_bytes([template[48], template[49]]));
    let size = u32::from_le_bytes([
        template[hl + 16],
        template[hl + 17],
        template[hl + 18],
        template[hl + 19],
    ]) as usize;
    let start = ((hl + VARIABLE_STORE_HEADER_SIZE + 3) & !3).min(template.len());
    // A hostile header may declare a store smaller than its own header.
    let end = (hl + size).min(template.len()).max(start);
    let mut out = template.to_vec();
    let region = &mut out[start..end];
    region.fill(0xff);
    let mut off = 0;
    for v in &body {
        let next = off + v.len();
        if next > region.len() {
            return Err(EnrollError::StoreFull {
                needed: body.iter().map(|v| (v.len() + 3) & !3).sum(),
                available: region.len(),
            });
        }
        region[off..next].copy_from_slice(v);
        off = (next + 3) & !3;
    }
    // Belt and braces: what we wrote must read back.
    VariableStore::parse(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty 64 KiB store with a valid volume header, like OVMF_VARS_4M.fd in miniature.
    fn empty_template() -> Vec<u8> {
        let mut fd = vec![0u8; 0x48];
        fd[40..44].copy_from_slice(b"_FVH");
        fd[48..50].copy_from_slice(&0x48u16.to_le_bytes());
        let mut store = efi::EFI_AUTHENTICATED_VARIABLE_GUID.0.to_vec();
        store.extend_from_slice(&0x1000u32.to_le_bytes());
        store.extend_from_slice(&[0x5a, 0xfe, 0, 0, 0, 0, 0, 0]);
        fd.extend(store);
        fd.resize(0x48 + 0x1000, 0xff);
        let sum = fd[..0x48]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .fold(0u16, u16::wrapping_add);
        fd[50..52].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
        fd
    }

    fn list(byte: u8, n: usize) -> Vec<SignatureList> {
        vec![SignatureList::single(
            efi::EFI_CERT_X509_GUID,
            efi::EFI_GLOBAL_VARIABLE,
            vec![byte; n],
        )]
    }

    fn enrollment() -> Enrollment {
        Enrollment {
            pk: list(1, 40),
            kek: list(2, 50),
            db: list(3, 60),
            dbx: vec![SignatureList::single(
                efi::EFI_CERT_SHA256_GUID,
                efi::EFI_GLOBAL_VARIABLE,
                vec![0; 32],
            )],
            timestamp: EfiTime {
                year: 2026,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5,
            },
        }
    }

    #[test]
    fn enroll_round_trips_and_replaces() {
        let t = empty_template();
        let e = enrollment();
        let out = enroll(&t, &e).unwrap();
        assert_eq!(out.len(), t.len());
        assert_eq!(&out[..0x48], &t[..0x48]);
        let s = VariableStore::parse(&out).unwrap();
        let sb = s.secure_boot_variables().unwrap();
        assert_eq!(
            (sb.pk, sb.kek, sb.db, sb.dbx),
            (e.pk, e.kek, e.db.clone(), e.dbx)
        );
        let pk = s.get("PK", &efi::EFI_GLOBAL_VARIABLE).unwrap();
        assert_eq!(pk.attributes, 0x27);
        let enable = s
            .get(
                "SecureBootEnable",
                &efi::EFI_SECURE_BOOT_ENABLE_DISABLE_GUID,
            )
            .unwrap();
        assert_eq!((enable.attributes, enable.data.as_slice()), (3, &[1u8][..]));
        // Enrolling again replaces, it does not accumulate.
        let mut e2 = enrollment();
        e2.db = list(9, 70);
        let again = enroll(&out, &e2).unwrap();
        let s2 = VariableStore::parse(&again).unwrap();
        assert_eq!(s2.variables.len(), s.variables.len());
        assert_eq!(s2.secure_boot_variables().unwrap().db, e2.db);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let t = empty_template();
        let mut e = enrollment();
        e.pk = list(1, 10).into_iter().chain(list(2, 10)).collect();
        assert!(matches!(enroll(&t, &e), Err(EnrollError::BadPk(2))));
        let mut e = enrollment();
        e.db = list(3, 0x2000);
        assert!(matches!(enroll(&t, &e), Err(EnrollError::StoreFull { .. })));
        let mut bad = t.clone();
        bad[50] ^= 1;
        assert!(matches!(
            enroll(&bad, &enrollment()),
            Err(EnrollError::BadVolumeChecksum)
        ));
        assert!(matches!(
            enroll(&[0u8; 10], &enrollment()),
            Err(EnrollError::Vars(_))
        ));
        // A store header declaring a size smaller than itself leaves no room.
        let mut tiny = t.clone();
        tiny[0x48 + 16..0x48 + 20].copy_from_slice(&4u32.to_le_bytes());
        assert!(matches!(
            enroll(&tiny, &enrollment()),
            Err(EnrollError::StoreFull { available: 0, .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn mutated_templates_never_panic(at in 0usize..0x60, v in proptest::num::u8::ANY, cut in 0usize..0x1100) {
            let mut t = empty_template();
            t[at] = v;
            t.truncate(cut);
            if let Ok(out) = enroll(&t, &enrollment()) {
                let sb = VariableStore::parse(&out).unwrap().secure_boot_variables().unwrap();
                proptest::prop_assert_eq!(sb.pk, enrollment().pk);
            }
        }

        #[test]
        fn any_lists_round_trip(pk in 1usize..300, kek in proptest::collection::vec(1usize..200, 0..3), db in proptest::collection::vec(1usize..200, 0..3)) {
            let mut e = enrollment();
            e.pk = list(7, pk);
            e.kek = kek.iter().map(|&n| list(8, n).remove(0)).collect();
            e.db = db.iter().map(|&n| list(9, n).remove(0)).collect();
            let out = enroll(&empty_template(), &e).unwrap();
            let sb = VariableStore::parse(&out).unwrap().secure_boot_variables().unwrap();
            proptest::prop_assert_eq!(sb.pk, e.pk);
            proptest::prop_assert_eq!(sb.kek, e.kek);
            proptest::prop_assert_eq!(sb.db, e.db);
        }
    }
}
