//! The event sequence, stage by stage: OVMF (PCR 4, 7), shim (PCR 4, 7, 14), grub (PCR 4, 7, 8,
//! 9). Recipes: reference/boot-chain.md §6.

use crate::eventlog::{EventType, Guid as LogGuid, UefiVariableData};
use crate::secureboot::{DbEntry, HashAlg, PeImage, SecureBootPolicy, SignatureList, Verdict, efi};

use super::chain::{BootChain, ShimSections};
use super::error::PredictError;
use super::firmware::FirmwareVars;
use super::grub::{FileRole, GrubAction, GrubPlatform, grub_actions};
use super::model::{PredictedEvent, Prediction};
use crate::eventlog::TpmtHa;

/// EDK2's action before starting a boot option (BdsDxe, `TCG_EFI_CALLING_EFI_APPLICATION`).
pub const CALLING_EFI_APPLICATION: &str = "Calling EFI Application from Boot Option";

/// The level shim writes when Secure Boot is off: `SBAT_VAR_ORIGINAL` (shim include/sbat.h).
/// It is not in the binary's `.sbatlevel` section, which only carries the previous and latest
/// levels, so it is a constant of the shim version modelled (16.x).
pub const SBAT_VAR_ORIGINAL: &[u8] = b"sbat,1,2021030218\n";

/// `UEFI_VARIABLE_DATA` bytes.
fn uvd(vendor: efi::Guid, name: &str, data: &[u8]) -> Vec<u8> {
    UefiVariableData {
        variable_name: LogGuid(vendor.0),
        unicode_name: name.encode_utf16().collect(),
        variable_data: data.to_vec(),
        decoded: None,
    }
    .to_bytes()
}

/// A variable event whose digest covers the whole `UEFI_VARIABLE_DATA`.
fn variable_event(
    pcr: u32,
    event_type: EventType,
    description: String,
    vendor: efi::Guid,
    name: &str,
    data: &[u8],
) -> PredictedEvent {
    let e = uvd(vendor, name, data);
    PredictedEvent::measure(pcr, event_type, description, &e, Some(e.clone()))
}

fn separator(pcr: u32) -> PredictedEvent {
    let sep = [0u8; 4];
    PredictedEvent::measure(
        pcr,
        EventType::EV_SEPARATOR,
        "separator",
        &sep,
        Some(sep.to_vec()),
    )
}

/// An `EV_IPL` whose event is `text` + NUL and whose digest covers `measured`.
fn ipl(pcr: u32, description: String, text: &str, measured: &[u8]) -> PredictedEvent {
    let mut e = text.as_bytes().to_vec();
    e.push(0);
    PredictedEvent::measure(pcr, EventType::EV_IPL, description, measured, Some(e))
}

/// `EV_EFI_BOOT_SERVICES_APPLICATION` with the image's Authenticode digests; the event
/// (`UEFI_IMAGE_LOAD_EVENT`) holds load addresses and is not predicted.
fn application(
    image: &'static str,
    what: &str,
    bytes: &[u8],
) -> Result<PredictedEvent, PredictError> {
    let pe = PeImage::parse(bytes).map_err(|source| PredictError::Pe { image, source })?;
    Ok(PredictedEvent {
        pcr: 4,
        event_type: EventType::EV_EFI_BOOT_SERVICES_APPLICATION,
        description: what.to_owned(),
        digests: vec![
            TpmtHa {
                hash_alg: crate::eventlog::TpmAlgId::SHA1,
                digest: pe.authenticode_digest(HashAlg::Sha1),
            },
            TpmtHa {
                hash_alg: crate::eventlog::TpmAlgId::SHA256,
                digest: pe.authenticode_digest(HashAlg::Sha256),
            },
        ],
        event: None,
    })
}

/// `EFI_SIGNATURE_DATA` of a db entry: owner ‖ data.
fn signature_data(e: &DbEntry) -> Vec<u8> {
    let mut d = e.owner.0.to_vec();
    d.extend_from_slice(&e.data);
    d
}

fn allowed_by(
    verdict: Verdict,
    verifier: &'static str,
    image: &'static str,
) -> Result<DbEntry, PredictError> {
    match (verdict.allowed, verdict.matched) {
        (true, Some(entry)) => Ok(entry),
        (_, _) => Err(PredictError::Refused {
            verifier,
            image,
            reason: format!("{:?}", verdict.reason),
        }),
    }
}

/// Which PCR7 authority shim logs for an image it verifies (shim verify.c
/// `verify_buffer_authenticode`): UEFI db first, then MokListRT, which mirrors MokList plus the
/// built-in vendor certificate (so the vendor CA is logged as `MokListRT`, not `Shim`).
fn shim_authority(
    image: &'static str,
    bytes: &[u8],
    db: &[SignatureList],
    deny: &[SignatureList],
    mok_list_rt: &[SignatureList],
) -> Result<PredictedEvent, PredictError> {
    let from_db = SecureBootPolicy::new(db, deny).verify_image(bytes);
    if from_db.allowed
        && let Some(e) = from_db.matched
    {
        return Ok(variable_event(
            7,
            EventType::EV_EFI_VARIABLE_AUTHORITY,
            format!("db entry that verified {image}: {}", e.description),
            efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
            "db",
            &signature_data(&e),
        ));
    }
    let e = allowed_by(
        SecureBootPolicy::new(mok_list_rt, deny).verify_image(bytes),
        "shim",
        image,
    )?;
    Ok(variable_event(
        7,
        EventType::EV_EFI_VARIABLE_AUTHORITY,
        format!("MokListRT entry that verified {image}: {}", e.description),
        efi::SHIM_LOCK_GUID,
        "MokListRT",
        &signature_data(&e),
    ))
}

pub(crate) fn predict(
    vars: &FirmwareVars,
    chain: &BootChain,
    platform: &GrubPlatform,
) -> Result<Prediction, PredictError> {
    let sb = vars.secure_boot;
    let shim = ShimSections::parse(&chain.shim)?;
    let actions = grub_actions(&chain.grub_cfg, platform)?;
    if let Some(given) = &chain.cmdline {
        for a in &actions {
            if let GrubAction::KernelCmdline(text) = a {
                let args = text.split_once(' ').map_or("", |(_, a)| a);
                if args != given {
                    return Err(PredictError::CmdlineMismatch {
                        cfg: args.to_owned(),
                        given: given.clone(),
                    });
                }
            }
        }
    }
    let mut ev = Vec::new();

    // OVMF: Secure Boot configuration (edk2 Tcg2Dxe `MeasureAllSecureVariables`).
    let config = EventType::EV_EFI_VARIABLE_DRIVER_CONFIG;
    ev.push(variable_event(
        7,
        config,
        format!("SecureBoot = {}", u8::from(sb)),
        efi::EFI_GLOBAL_VARIABLE,
        "SecureBoot",
        &[u8::from(sb)],
    ));
    for (name, data) in vars.named() {
        let vendor = if name == "PK" || name == "KEK" {
            efi::EFI_GLOBAL_VARIABLE
        } else {
            efi::EFI_IMAGE_SECURITY_DATABASE_GUID
        };
        ev.push(variable_event(
            7,
            config,
            format!("{name} ({} bytes)", data.len()),
            vendor,
            name,
            data,
        ));
    }
    let calling = CALLING_EFI_APPLICATION.as_bytes();
    ev.push(PredictedEvent::measure(
        4,
        EventType::EV_EFI_ACTION,
        CALLING_EFI_APPLICATION,
        calling,
        Some(calling.to_vec()),
    ));
    ev.push(separator(4));
    ev.push(separator(7));

    // OVMF verifies and starts shim.
    let db = vars.db_lists()?;
    let dbx = vars.dbx_lists()?;
    if sb {
        let entry = allowed_by(
            SecureBootPolicy::new(&db, &dbx).verify_image(&chain.shim),
            "firmware",
            "shim",
        )?;
        ev.push(variable_event(
            7,
            EventType::EV_EFI_VARIABLE_AUTHORITY,
            format!("db entry that verified shim: {}", entry.description),
            efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
            "db",
            &signature_data(&entry),
        ));
    }
    ev.push(application(
        "shim",
        "shim (EFI/BOOT/BOOTX64.EFI)",
        &chain.shim,
    )?);

    // shim: its MOK state into PCR14, SbatLevel into PCR7 (shim mok.c, sbat.c).
    let vendor_esl = SignatureList::single(
        efi::EFI_CERT_X509_GUID,
        efi::SHIM_LOCK_GUID,
        shim.vendor_cert.clone(),
    );
    let mok_list = vendor_esl.to_bytes().map_err(|source| PredictError::Esl {
        name: "MokList",
        source,
    })?;
    ev.push(ipl(
        14,
        "MokList: shim's vendor certificate as an X.509 list".into(),
        "MokList",
        &mok_list,
    ));
    ev.push(ipl(
        14,
        format!(
            "MokListX: shim's vendor dbx ({} bytes)",
            shim.vendor_dbx.len()
        ),
        "MokListX",
        &shim.vendor_dbx,
    ));
    let sbat_level = if sb {
        shim.sbat_previous.clone()
    } else {
        SBAT_VAR_ORIGINAL.to_vec()
    };
    ev.push(variable_event(
        7,
        EventType::EV_EFI_VARIABLE_AUTHORITY,
        format!(
            "SbatLevel {:?}",
            String::from_utf8_lossy(&sbat_level).trim_end()
        ),
        efi::SHIM_LOCK_GUID,
        "SbatLevel",
        &sbat_level,
    ));
    ev.push(ipl(14, "MokListTrusted = 1".into(), "MokListTrusted", &[1]));

    // shim verifies grub (Secure Boot only) and measures it.
    let mut deny =
        SignatureList::parse_all(&shim.vendor_dbx).map_err(|source| PredictError::Esl {
            name: "MokListX",
            source,
        })?;
    deny.extend(dbx.iter().cloned());
    let mok_list_rt = [vendor_esl];
    let mut authorities: Vec<PredictedEvent> = Vec::new();
    let mut authority = |image, bytes: &[u8], ev: &mut Vec<PredictedEvent>| {
        let a = shim_authority(image, bytes, &db, &deny, &mok_list_rt)?;
        // shim logs each authority once (its measured-authority list).
        if !authorities.iter().any(|x| x.event == a.event) {
            authorities.push(a.clone());
            ev.push(a);
        }
        Ok::<_, PredictError>(())
    };
    if sb {
        authority("grub", &chain.grub, &mut ev)?;
    }
    ev.push(application(
        "grub",
        "grub (EFI/BOOT/grubx64.efi)",
        &chain.grub,
    )?);

    // grub.
    for a in actions {
        match a {
            GrubAction::Command(c) => ev.push(ipl(
                8,
                format!("grub_cmd: {c}"),
                &format!("grub_cmd: {c}"),
                c.as_bytes(),
            )),
            GrubAction::KernelCmdline(c) => ev.push(ipl(
                8,
                format!("kernel_cmdline: {c}"),
                &format!("kernel_cmdline: {c}"),
                c.as_bytes(),
            )),
            GrubAction::OpenFile { path, role } => {
                let (what, bytes) = match role {
                    FileRole::Config => ("grub.cfg", chain.grub_cfg.as_bytes()),
                    FileRole::Kernel => ("kernel", chain.kernel.as_slice()),
                    FileRole::Initrd => ("initrd", chain.initrd.as_slice()),
                };
                ev.push(ipl(9, format!("{what} {path}"), &path, bytes));
            }
            // With Secure Boot, grub asks shim_lock to verify the kernel (authority + PCR4), then
            // shim's LoadImage hook measures it again; without, neither happens.
            GrubAction::LoadKernel if sb => {
                authority("kernel", &chain.kernel, &mut ev)?;
                let k = application("kernel", "kernel (verified by shim_lock)", &chain.kernel)?;
                ev.push(k.clone());
                ev.push(PredictedEvent {
                    description: "kernel (shim's LoadImage hook)".into(),
                    ..k
                });
            }
            GrubAction::LoadKernel => {}
        }
    }
    Ok(Prediction::from_events(sb, ev))
}
