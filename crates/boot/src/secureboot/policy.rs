//! edk2's image verification decision (DxeImageVerificationLib.c `DxeImageVerificationHandler`,
//! `IsForbiddenByDbx`, `IsAllowedByDb`; reference/boot-chain.md §3).

use super::auth::EfiTime;
use super::efi::{self, Guid};
use super::esl::SignatureList;
use super::pe::{self, HashAlg, PeImage, WinCertificate};
use super::pkcs7::{AuthenticodeSignature, Pkcs7Error, SignedMessage, X509, hex};
use super::timestamp;
use serde::Serialize;
use std::fmt;

/// One entry of db or dbx, as measured into PCR7 (`EFI_SIGNATURE_DATA`) when it authorises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbEntry {
    /// Index of the list in the variable.
    pub list: usize,
    /// Index of the entry in the list.
    pub entry: usize,
    /// `SignatureType`.
    pub signature_type: Guid,
    /// `SignatureOwner`.
    pub owner: Guid,
    /// Certificate subject, or the hash in hex.
    pub description: String,
    /// Raw `SignatureData`.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Why an image was allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Signature `signature` verified against a db certificate.
    SignedByDb {
        /// Index in the certificate table.
        signature: usize,
    },
    /// The image hash is in db (no signature passed).
    ImageHashInDb,
    /// The image hash is in dbx.
    ImageHashInDbx,
    /// A signature is forbidden by dbx (certificate or certificate TBS hash).
    SignatureForbidden {
        /// Index in the certificate table.
        signature: usize,
        /// What matched.
        detail: String,
    },
    /// A db certificate anchors the chain, but a certificate of the chain is hash-revoked.
    AnchorRevoked {
        /// Index in the certificate table.
        signature: usize,
        /// What matched.
        detail: String,
    },
    /// Signed, but no signature verified against db.
    NoSignatureAllowed {
        /// Per-signature failures.
        failures: Vec<String>,
    },
    /// Unsigned and its hash is not in db.
    UnsignedNotInDb,
    /// The image or its certificate table is malformed.
    Malformed {
        /// The parse error.
        error: String,
    },
    /// Rejected by a shim layer (SBAT, module-signing EKU).
    Shim {
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SignedByDb { signature } => {
                write!(f, "signature {signature} verifies against db")
            }
            Reason::ImageHashInDb => f.write_str("image hash is in db"),
            Reason::ImageHashInDbx => f.write_str("image hash is in dbx"),
            Reason::SignatureForbidden { signature, detail } => {
                write!(f, "signature {signature} forbidden by dbx: {detail}")
            }
            Reason::AnchorRevoked { signature, detail } => {
                write!(f, "signature {signature} chains to db but {detail}")
            }
            Reason::NoSignatureAllowed { failures } => {
                write!(
                    f,
                    "no signature verifies against db ({})",
                    failures.join("; ")
                )
            }
            Reason::UnsignedNotInDb => f.write_str("unsigned and image hash not in db"),
            Reason::Malformed { error } => write!(f, "malformed image: {error}"),
            Reason::Shim { detail } => write!(f, "shim: {detail}"),
        }
    }
}

/// What happened to one `WIN_CERTIFICATE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// File offset of the `WIN_CERTIFICATE`.
    pub offset: u64,
    /// Signer subject, if the signer certificate was found.
    pub signer: Option<String>,
    /// Signer issuer DN.
    pub issuer: Option<String>,
    /// Signer serial (hex).
    pub serial: Option<String>,
    /// Outcome in words.
    pub outcome: String,
}

/// The decision for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// True when the firmware would run the image.
    pub allowed: bool,
    /// Subject of the signer whose signature decided, if any.
    pub signer: Option<String>,
    /// The db (or dbx) entry that decided.
    pub matched: Option<DbEntry>,
    /// Why.
    pub reason: Reason,
    /// Authenticode SHA-256 of the image (hex), when it parsed.
    pub sha256: Option<String>,
    /// Per-signature details.
    pub signatures: Vec<SignatureReport>,
}

impl Verdict {
    fn deny(reason: Reason) -> Self {
        Verdict {
            allowed: false,
            signer: None,
            matched: None,
            reason,
            sha256: None,
            signatures: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct CertEntry {
    at: DbEntry,
    cert: X509,
}

#[derive(Debug, Clone, Default)]
struct Database {
    certs: Vec<CertEntry>,
    /// Image hashes.
    hashes: Vec<(HashAlg, DbEntry)>,
    /// Certificate TBS hashes (dbx).
    tbs: Vec<(HashAlg, DbEntry)>,
}

impl Database {
    fn new(lists: &[SignatureList]) -> Self {
        let mut d = Database::default();
        for (li, l) in lists.iter().enumerate() {
            for (ei, s) in l.signatures.iter().enumerate() {
                let mut at = DbEntry {
                    list: li,
                    entry: ei,
                    signature_type: l.signature_type,
                    owner: s.owner,
                    description: hex(&s.data),
                    data: s.data.clone(),
                };
                let hash = |a| Some(a);
                match l.signature_type {
                    efi::EFI_CERT_X509_GUID => {
                        // An unparsable certificate can anchor nothing; edk2 fails it the same way.
                        if let Ok(cert) = X509::from_der(&s.data) {
                            at.description = cert.subject();
                            d.certs.push(CertEntry { at, cert });
                        }
                    }
                    t => {
                        let image = match t {
                            efi::EFI_CERT_SHA1_GUID => hash(HashAlg::Sha1),
                            efi::EFI_CERT_SHA256_GUID => hash(HashAlg::Sha256),
                            efi::EFI_CERT_SHA384_GUID => hash(HashAlg::Sha384),
                            efi::EFI_CERT_SHA512_GUID => hash(HashAlg::Sha512),
                            _ => None,
                        };
                        let tbs = match t {
                            efi::EFI_CERT_X509_SHA256_GUID => hash(HashAlg::Sha256),
                            efi::EFI_CERT_X509_SHA384_GUID => hash(HashAlg::Sha384),
                            efi::EFI_CERT_X509_SHA512_GUID => hash(HashAlg::Sha512),
                            _ => None,
                        };
                        if let Some(a) = image {
                            d.hashes.push((a, at));
                        } else if let Some(a) = tbs
                            && s.data.len() >= a.output_len()
                        {
                            at.description = hex(&s.data[..a.output_len()]);
                            d.tbs.push((a, at));
                        }
                    }
                }
            }
        }
        d
    }

    fn find_hash(&self, alg: HashAlg, digest: &[u8]) -> Option<&DbEntry> {
        self.hashes
            .iter()
            .find(|(a, e)| *a == alg && e.data == digest)
            .map(|(_, e)| e)
    }

    /// A TBS-hash entry matching `cert` (whether a dbt timestamp waives it is
    /// [`SecureBootPolicy::waiver`]'s question).
    fn find_tbs(&self, cert: &X509) -> Option<(HashAlg, &DbEntry)> {
        self.tbs
            .iter()
            .find(|(a, e)| e.data[..a.output_len()] == cert.tbs_hash(*a)[..])
            .map(|(a, e)| (*a, e))
    }
}

/// db, dbx and dbt, ready to judge images.
#[derive(Debug, Clone)]
pub struct SecureBootPolicy {
    db: Database,
    dbx: Database,
    /// Trusted timestamping authorities (dbt's X.509 entries).
    dbt: Vec<X509>,
}

/// The result of checking one signature.
enum SigOutcome {
    Forbidden(String, Option<DbEntry>),
    /// Allowed by this db entry; the string notes dbt waivers that were needed.
    Allowed(DbEntry, String),
    AnchorRevoked(String, DbEntry),
    Failed(String),
}

impl SecureBootPolicy {
    /// Builds a policy from the contents of db and dbx.
    pub fn new(db: &[SignatureList], dbx: &[SignatureList]) -> Self {
        SecureBootPolicy {
            db: Database::new(db),
            dbx: Database::new(dbx),
            dbt: Vec::new(),
        }
    }

    /// Adds dbt: its X.509 entries may validate timestamps that waive a dbx certificate-hash
    /// entry with a non-zero TimeOfRevocation (nothing else in dbt counts, as in edk2).
    pub fn with_dbt(mut self, dbt: &[SignatureList]) -> Self {
        self.dbt = Database::new(dbt)
            .certs
            .into_iter()
            .map(|c| c.cert)
            .collect();
        self
    }

    /// edk2 `PassTimestampCheck` for a dbx certificate-hash entry: a description of the
    /// timestamp that waives it, or `None` when the revocation stands.
    fn waiver(&self, m: &SignedMessage, entry: &DbEntry, alg: HashAlg) -> Option<String> {
        let revoked_at = EfiTime::date_fields(entry.data.get(alg.output_len()..)?)?;
        let anchors: Vec<&X509> = self.dbt.iter().collect();
        timestamp::waives_revocation(m, &anchors, revoked_at).map(|ts| {
            format!(
                "dbx revokes {} from {revoked_at}, but \"{}\" timestamped the signature at {}",
                entry.description, ts.tsa, ts.time
            )
        })
    }

    /// Decides whether the firmware runs `image` (edk2's rules for a non-firmware-volume image
    /// under DENY_EXECUTE_ON_SECURITY_VIOLATION).
    pub fn verify_image(&self, image: &[u8]) -> Verdict {
        let pe = match PeImage::parse(image) {
            Ok(p) => p,
            Err(e) => {
                return Verdict::deny(Reason::Malformed {
                    error: e.to_string(),
                });
            }
        };
        // SHA-256 is both reported and what every real signature uses: hash the image once.
        let sha256 = pe.authenticode_digest(HashAlg::Sha256);
        let mut v = self.decide(&pe, &sha256);
        v.sha256 = Some(hex(&sha256));
        v
    }

    fn decide(&self, pe: &PeImage<'_>, sha256: &[u8]) -> Verdict {
        let certs = match pe.certificates() {
            Ok(c) => c,
            Err(e) => {
                return Verdict::deny(Reason::Malformed {
                    error: e.to_string(),
                });
            }
        };
        if certs.is_empty() {
            return self.decide_unsigned(pe);
        }
        let mut verdict = Verdict::deny(Reason::NoSignatureAllowed { failures: vec![] });
        let mut failures = Vec::new();
        let mut digests: Vec<(HashAlg, Vec<u8>)> = vec![(HashAlg::Sha256, sha256.to_vec())];
        let mut verified = false;
        let mut any_sig = false;
        for (index, wc) in certs.iter().enumerate() {
            let mut report = SignatureReport {
                offset: wc.offset,
                signer: None,
                issuer: None,
                serial: None,
                outcome: String::new(),
            };
            let sig = match parse_win_certificate(wc) {
                None => {
                    report.outcome = format!(
                        "skipped: wCertificateType 0x{:04x} is not PKCS#7",
                        wc.certificate_type
                    );
                    verdict.signatures.push(report);
                    continue;
                }
                Some(Err(e)) => {
                    // edk2 `continue`s past a signature it cannot hash by.
                    report.outcome = format!("unparsable at offset {}: {e}", wc.offset + 8);
                    failures.push(format!("signature {index}: {}", report.outcome));
                    verdict.signatures.push(report);
                    continue;
                }
                Some(Ok(s)) => s,
            };
            any_sig = true;
            report.issuer = Some(sig.message.signer.issuer.to_string());
            report.serial = Some(sig.message.signer.serial_hex());
            if let Ok(i) = sig.message.signer_cert() {
                report.signer = Some(sig.message.certificates[i].subject());
            }
            let alg = sig.image_digest_alg;
            let digest = match digests.iter().find(|(a, _)| *a == alg) {
                Some((_, d)) => d.clone(),
                None => {
                    let d = pe.authenticode_digest(alg);
                    digests.push((alg, d.clone()));
                    d
                }
            };
            match self.check_signature(&sig, &digest) {
                SigOutcome::Forbidden(detail, entry) => {
                    report.outcome = format!("forbidden: {detail}");
                    verdict.signatures.push(report.clone());
                    verdict.allowed = false;
                    verdict.signer = report.signer;
                    verdict.matched = entry;
                    verdict.reason = Reason::SignatureForbidden {
                        signature: index,
                        detail,
                    };
                    return verdict;
                }
                SigOutcome::Allowed(entry, waived) => {
                    report.outcome = format!("verifies against db entry \"{}\"", entry.description);
                    if !waived.is_empty() {
                        report.outcome = format!("{}; {waived}", report.outcome);
                    }
                    if !verified {
                        verified = true;
                        verdict.allowed = true;
                        verdict.signer = report.signer.clone();
                        verdict.matched = Some(entry);
                        verdict.reason = Reason::SignedByDb { signature: index };
                    }
                }
                SigOutcome::AnchorRevoked(detail, entry) => {
                    report.outcome = format!("anchor revoked: {detail}");
                    if !verified {
                        verdict.signer = report.signer.clone();
                        verdict.matched = Some(entry);
                        verdict.reason = Reason::AnchorRevoked {
                            signature: index,
                            detail,
                        };
                    }
                    failures.push(format!("signature {index}: {}", report.outcome));
                }
                SigOutcome::Failed(why) => {
                    report.outcome = why.clone();
                    failures.push(format!("signature {index}: {why}"));
                }
            }
            verdict.signatures.push(report);
            if let Some(e) = self.dbx.find_hash(alg, &digest) {
                verdict.allowed = false;
                verdict.matched = Some(e.clone());
                verdict.reason = Reason::ImageHashInDbx;
                return verdict;
            }
            if !verified && let Some(e) = self.db.find_hash(alg, &digest) {
                verified = true;
                verdict.allowed = true;
                verdict.matched = Some(e.clone());
                verdict.reason = Reason::ImageHashInDb;
            }
        }
        if !any_sig && !verified {
            // Only non-PKCS#7 entries: edk2 treats the image as having no usable signature.
            return Verdict {
                signatures: verdict.signatures,
                ..self.decide_unsigned(pe)
            };
        }
        if !verified && !matches!(verdict.reason, Reason::AnchorRevoked { .. }) {
            verdict.reason = Reason::NoSignatureAllowed { failures };
        }
        verdict
    }

    fn decide_unsigned(&self, pe: &PeImage<'_>) -> Verdict {
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let want = |d: &Database| d.hashes.iter().any(|(a, _)| *a == alg);
            if !want(&self.db) && !want(&self.dbx) {
                continue;
            }
            let digest = pe.authenticode_digest(alg);
            if let Some(e) = self.dbx.find_hash(alg, &digest) {
                return Verdict {
                    matched: Some(e.clone()),
                    ..Verdict::deny(Reason::ImageHashInDbx)
                };
            }
            if let Some(e) = self.db.find_hash(alg, &digest) {
                return Verdict {
                    allowed: true,
                    matched: Some(e.clone()),
                    ..Verdict::deny(Reason::ImageHashInDb)
                };
            }
        }
        Verdict::deny(Reason::UnsignedNotInDb)
    }

    fn check_signature(&self, sig: &AuthenticodeSignature, digest: &[u8]) -> SigOutcome {
        let m = &sig.message;
        // Certificate-hash revocation looks at every embedded certificate, whether or not the
        // signature is otherwise valid (edk2 `IsForbiddenByDbx` via `Pkcs7GetSigners`).
        let mut waived = Vec::new();
        for c in &m.certificates {
            if let Some((alg, e)) = self.dbx.find_tbs(c) {
                if let Some(w) = self.waiver(m, e, alg) {
                    waived.push(w);
                    continue;
                }
                return SigOutcome::Forbidden(
                    format!("TBS hash of \"{}\" is revoked", c.subject()),
                    Some(e.clone()),
                );
            }
        }
        if sig.image_digest != digest {
            return SigOutcome::Failed(format!(
                "image digest mismatch: signed {}, image {}",
                hex(&sig.image_digest),
                hex(digest)
            ));
        }
        let signer = match sig.verify_signer() {
            Ok(i) => i,
            Err(e) => return SigOutcome::Failed(e.to_string()),
        };
        if let Some(x) = self.dbx.certs.iter().find(|x| m.chains_to(signer, &x.cert)) {
            return SigOutcome::Forbidden(
                format!("chains to dbx certificate \"{}\"", x.at.description),
                Some(x.at.clone()),
            );
        }
        let Some(x) = self.db.certs.iter().find(|x| m.chains_to(signer, &x.cert)) else {
            return SigOutcome::Failed(format!(
                "no db certificate anchors the chain of \"{}\"",
                m.certificates[signer].subject()
            ));
        };
        if let Some((alg, e)) = self.dbx.find_tbs(&x.cert)
            && self.waiver(m, e, alg).is_none()
        {
            return SigOutcome::AnchorRevoked(
                format!(
                    "the TBS hash of db certificate \"{}\" is in dbx ({})",
                    x.at.description, e.description
                ),
                x.at.clone(),
            );
        }
        waived.dedup();
        SigOutcome::Allowed(x.at.clone(), waived.join("; "))
    }
}

/// The PKCS#7 inside a `WIN_CERTIFICATE`, or `None` for types edk2 skips.
pub fn parse_win_certificate(
    wc: &WinCertificate<'_>,
) -> Option<Result<AuthenticodeSignature, Pkcs7Error>> {
    match wc.certificate_type {
        pe::WIN_CERT_TYPE_PKCS_SIGNED_DATA => Some(AuthenticodeSignature::parse(wc.certificate)),
        pe::WIN_CERT_TYPE_EFI_GUID
            if wc.certificate.len() >= 16
                && wc.certificate[..16] == efi::EFI_CERT_TYPE_PKCS7_GUID.0 =>
        {
            Some(AuthenticodeSignature::parse(&wc.certificate[16..]))
        }
        _ => None,
    }
}
