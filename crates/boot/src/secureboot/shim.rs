//! shim's extra layer on top of db/dbx (rhboot/shim verify.c, sbat.c; reference/boot-chain.md
//! §4): vendor dbx, UEFI dbx and MokListX deny; UEFI db, MokList and the built-in
//! `.vendor_cert` allow; SBAT revokes by generation.

use super::efi;
use super::esl::{EslError, SignatureList};
use super::le::rd32;
use super::pe::PeImage;
use super::pkcs7::{Pkcs7Error, X509};
use super::policy::{Reason, SecureBootPolicy, Verdict};
use super::sbat::{Sbat, SbatError, SbatLevel};
use const_oid::ObjectIdentifier as Oid;

/// OID_EKU_MODSIGN: a certificate meant only for kernel modules (shim verify.c `verify_eku`).
pub const EKU_MODULE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.4.1.2312.16.1.2");

/// Why shim's embedded policy could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShimError {
    /// The shim binary is not a PE image.
    #[error("shim image: {0}")]
    Pe(#[from] super::pe::PeError),
    /// No `.vendor_cert` section.
    #[error("shim has no .vendor_cert section")]
    NoVendorCert,
    /// The `.vendor_cert` header points outside the section.
    #[error(".vendor_cert offset {offset}: {why}")]
    BadVendorCert {
        /// Offset in the section.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The vendor certificate does not parse.
    #[error(".vendor_cert certificate: {0}")]
    Cert(#[from] Pkcs7Error),
    /// The vendor dbx does not parse.
    #[error(".vendor_cert deauth list: {0}")]
    Dbx(#[from] EslError),
    /// `.sbatlevel` does not parse.
    #[error("{0}")]
    Sbat(#[from] SbatError),
}

/// `.vendor_cert`: `{u32 auth_size, deauth_size, auth_off, deauth_off}` then the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorCert {
    /// The vendor CA (DER).
    pub cert: X509,
    /// The vendor dbx.
    pub dbx: Vec<SignatureList>,
}

impl VendorCert {
    /// Parses a `.vendor_cert` section.
    pub fn parse(section: &[u8]) -> Result<Self, ShimError> {
        let (auth, deauth) = Self::split(section)?;
        Ok(VendorCert {
            cert: X509::from_der(auth)?,
            dbx: SignatureList::parse_all(deauth)?,
        })
    }

    /// The raw parts of a `.vendor_cert` section, as shim measures them: (auth = the vendor CA
    /// DER, deauth = the vendor dbx signature lists).
    pub fn split(section: &[u8]) -> Result<(&[u8], &[u8]), ShimError> {
        let bad = |offset, why| ShimError::BadVendorCert { offset, why };
        if section.len() < 16 {
            return Err(bad(0, "header truncated"));
        }
        let rd = |at: usize| rd32(section, at) as usize;
        let slice = |size_at: usize, off_at: usize| {
            let (size, off) = (rd(size_at), rd(off_at));
            off.checked_add(size)
                .filter(|&e| e <= section.len())
                .map(|e| &section[off..e])
                .ok_or(bad(off_at, "data outside the section"))
        };
        Ok((slice(0, 8)?, slice(4, 12)?))
    }
}

/// `lists` minus the X.509 entries whose EKU marks them module-signing only: shim skips those
/// db/MokList certificates before trying them as anchors (`check_db_cert_in_ram`), so a key
/// enrolled for DKMS modules can never vouch for a bootloader. The vendor certificate is not
/// filtered, as in shim.
fn without_module_signing_certs(lists: &[SignatureList]) -> Vec<SignatureList> {
    lists
        .iter()
        .filter_map(|l| {
            if l.signature_type != efi::EFI_CERT_X509_GUID {
                return Some(l.clone());
            }
            let mut kept = l.clone();
            kept.signatures.retain(|s| {
                X509::from_der(&s.data)
                    .map(|c| !c.extended_key_usage().contains(&EKU_MODULE_SIGNING))
                    .unwrap_or(true)
            });
            (!kept.signatures.is_empty()).then_some(kept)
        })
        .collect()
}

/// The policy a shim applies to the images it loads.
#[derive(Debug, Clone, Default)]
pub struct ShimPolicy {
    /// UEFI db.
    pub db: Vec<SignatureList>,
    /// UEFI dbx.
    pub dbx: Vec<SignatureList>,
    /// shim's built-in vendor certificate and dbx.
    pub vendor: Option<VendorCert>,
    /// MokList.
    pub mok: Vec<SignatureList>,
    /// MokListX.
    pub mokx: Vec<SignatureList>,
    /// MokIgnoreDB: skip UEFI db.
    pub ignore_db: bool,
    /// SbatLevel in force (none: no SBAT check).
    pub sbat_level: Option<SbatLevel>,
}

impl ShimPolicy {
    /// The policy of a shim binary: its `.vendor_cert` and the "previous" level of its
    /// `.sbatlevel` (what Secure Boot applies by default), on top of UEFI db/dbx.
    pub fn from_shim(
        shim: &[u8],
        db: Vec<SignatureList>,
        dbx: Vec<SignatureList>,
    ) -> Result<Self, ShimError> {
        let pe = PeImage::parse(shim)?;
        let vendor = VendorCert::parse(pe.section(".vendor_cert").ok_or(ShimError::NoVendorCert)?)?;
        let sbat_level = match pe.section(".sbatlevel") {
            Some(s) => Some(SbatLevel::from_section(s)?.0),
            None => None,
        };
        Ok(ShimPolicy {
            db,
            dbx,
            vendor: Some(vendor),
            sbat_level,
            ..Default::default()
        })
    }

    /// Decides whether shim loads `image`. `in_protocol` is true for images verified through
    /// the shim_lock protocol (the kernel, via grub), which may lack `.sbat`.
    pub fn verify_image(&self, image: &[u8], in_protocol: bool) -> Verdict {
        let mut allow = if self.ignore_db {
            Vec::new()
        } else {
            without_module_signing_certs(&self.db)
        };
        allow.extend(without_module_signing_certs(&self.mok));
        let mut deny = Vec::new();
        if let Some(v) = &self.vendor {
            deny.extend(v.dbx.iter().cloned());
            allow.push(SignatureList::single(
                efi::EFI_CERT_X509_GUID,
                efi::SHIM_LOCK_GUID,
                v.cert.der.clone(),
            ));
        }
        deny.extend(self.dbx.iter().cloned());
        deny.extend(self.mokx.iter().cloned());
        let mut v = SecureBootPolicy::new(&allow, &deny).verify_image(image);
        if !v.allowed {
            return v;
        }
        if let Some(level) = &self.sbat_level {
            let sbat = PeImage::parse(image).ok().and_then(|p| p.section(".sbat"));
            let outcome = match sbat {
                None if in_protocol => Ok(()),
                None => Err("image has no .sbat section".to_owned()),
                Some(s) => Sbat::parse(s)
                    .and_then(|s| level.check(&s))
                    .map_err(|e| e.to_string()),
            };
            if let Err(detail) = outcome {
                v.allowed = false;
                v.reason = Reason::Shim { detail };
            }
        }
        v
    }
}

#[cfg(test)]
mod eku_tests {
    use super::*;

    fn cert(eku: Vec<rcgen::ExtendedKeyUsagePurpose>) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.extended_key_usages = eku;
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn module_signing_only_certificates_are_not_anchors() {
        let modsign = cert(vec![rcgen::ExtendedKeyUsagePurpose::Other(vec![
            1, 3, 6, 1, 4, 1, 2312, 16, 1, 2,
        ])]);
        let code = cert(vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning]);
        let plain = cert(vec![]);
        assert_eq!(
            X509::from_der(&modsign).unwrap().extended_key_usage(),
            vec![EKU_MODULE_SIGNING]
        );
        assert!(
            X509::from_der(&plain)
                .unwrap()
                .extended_key_usage()
                .is_empty()
        );
        let owner = efi::SHIM_LOCK_GUID;
        let mut both = SignatureList::single(efi::EFI_CERT_X509_GUID, owner, modsign.clone());
        both.signatures.push(
            SignatureList::single(efi::EFI_CERT_X509_GUID, owner, code.clone()).signatures[0]
                .clone(),
        );
        let lists = vec![
            both,
            SignatureList::single(efi::EFI_CERT_X509_GUID, owner, modsign),
            SignatureList::single(efi::EFI_CERT_SHA256_GUID, owner, vec![7; 32]),
            SignatureList::single(efi::EFI_CERT_X509_GUID, owner, plain.clone()),
        ];
        let kept = without_module_signing_certs(&lists);
        let data: Vec<&[u8]> = kept
            .iter()
            .flat_map(|l| l.signatures.iter().map(|s| s.data.as_slice()))
            .collect();
        assert_eq!(data, vec![&code[..], &[7; 32][..], &plain[..]]);
    }
}
