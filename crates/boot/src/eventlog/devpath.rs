//! `EFI_DEVICE_PATH_PROTOCOL` (UEFI 2.10 §10.3) rendered in the UEFI text form (§10.6).

use std::fmt::Write as _;

use super::guid::{Guid, Hex};
use super::reader::Reader;
use super::text::char16_lossy;

/// Renders a device path as UEFI text (`PciRoot(0x0)/Pci(0x1,0x1)/…/File(\EFI\BOOT\BOOTX64.EFI)`).
/// Nodes we do not know appear as `Path(type,subtype,hex)`; a malformed tail as `Malformed(hex)`.
/// Multiple instances are separated by `,`, as in the UEFI text form.
pub fn render_device_path(path: &[u8]) -> String {
    let mut out = String::new();
    let mut r = Reader::new(path, 0);
    let mut sep = "";
    while r.left() > 0 {
        let start = r.pos();
        let header = (r.u8("Type"), r.u8("SubType"), r.u16("Length"));
        let (Ok(t), Ok(s), Ok(len)) = header else {
            let _ = write!(out, "{sep}Malformed({})", Hex(&path[start..]));
            break;
        };
        let len = usize::from(len);
        let Some(body) = len.checked_sub(4).and_then(|n| r.bytes(n, "node").ok()) else {
            let _ = write!(out, "{sep}Malformed({})", Hex(&path[start..]));
            break;
        };
        match (t, s) {
            (0x7f, 0xff) => break,
            (0x7f, 0x01) => {
                sep = ",";
                continue;
            }
            _ => {}
        }
        out.push_str(sep);
        node(&mut out, t, s, body);
        sep = "/";
    }
    out
}

fn node(out: &mut String, t: u8, s: u8, b: &[u8]) {
    let mut r = Reader::new(b, 0);
    let ok = match (t, s) {
        // Hardware: PCI, memory-mapped, vendor.
        (1, 1) => match (r.u8("Function"), r.u8("Device")) {
            (Ok(f), Ok(d)) => write!(out, "Pci({d:#x},{f:#x})").is_ok(),
            _ => false,
        },
        (1, 3) => match (
            r.u32("MemoryType"),
            r.u64("StartingAddress"),
            r.u64("EndingAddress"),
        ) {
            (Ok(m), Ok(a), Ok(e)) => write!(out, "MemoryMapped({m:#x},{a:#x},{e:#x})").is_ok(),
            _ => false,
        },
        (1, 4) | (3, 10) | (4, 3) => {
            let name = match (t, s) {
                (1, _) => "VenHw",
                (3, _) => "VenMsg",
                _ => "VenMedia",
            };
            match r.guid("Guid") {
                Ok(g) if r.left() == 0 => write!(out, "{name}({g})").is_ok(),
                Ok(g) => write!(out, "{name}({g},{})", Hex(r.rest())).is_ok(),
                Err(_) => false,
            }
        }
        // ACPI: PNP0A03 is PciRoot, PNP0A08 PcieRoot.
        (2, 1) => match (r.u32("HID"), r.u32("UID")) {
            (Ok(0x0a03_41d0), Ok(u)) => write!(out, "PciRoot({u:#x})").is_ok(),
            (Ok(0x0a08_41d0), Ok(u)) => write!(out, "PcieRoot({u:#x})").is_ok(),
            (Ok(h), Ok(u)) => write!(out, "Acpi({h:#x},{u:#x})").is_ok(),
            _ => false,
        },
        // Messaging.
        (3, 2) => match (r.u16("Pun"), r.u16("Lun")) {
            (Ok(p), Ok(l)) => write!(out, "Scsi({p:#x},{l:#x})").is_ok(),
            _ => false,
        },
        (3, 5) => match (r.u8("ParentPortNumber"), r.u8("InterfaceNumber")) {
            (Ok(p), Ok(i)) => write!(out, "USB({p},{i})").is_ok(),
            _ => false,
        },
        (3, 11) => match r.fixed::<32>("MacAddress") {
            Ok(m) => write!(out, "MAC({})", Hex(&m[..6])).is_ok(),
            Err(_) => false,
        },
        (3, 18) => match (
            r.u16("HBAPortNumber"),
            r.u16("PortMultiplierPortNumber"),
            r.u16("Lun"),
        ) {
            (Ok(h), Ok(p), Ok(l)) => write!(out, "Sata({h:#x},{p:#x},{l:#x})").is_ok(),
            _ => false,
        },
        (3, 23) => match (r.u32("NamespaceId"), r.fixed::<8>("EUI64")) {
            (Ok(n), Ok(e)) => write!(out, "NVMe({n:#x},{})", Hex(&e)).is_ok(),
            _ => false,
        },
        (3, 24) => write!(out, "Uri({})", String::from_utf8_lossy(b)).is_ok(),
        // Media.
        (4, 1) => hard_drive(out, &mut r),
        (4, 2) => match (
            r.u32("BootEntry"),
            r.u64("PartitionStart"),
            r.u64("PartitionSize"),
        ) {
            (Ok(e), Ok(s), Ok(z)) => write!(out, "CDROM({e:#x},{s:#x},{z:#x})").is_ok(),
            _ => false,
        },
        (4, 4) => write!(out, "File({})", char16_lossy(b)).is_ok(),
        (4, 6) => match r.guid("FvFileName") {
            Ok(g) => write!(out, "FvFile({g})").is_ok(),
            Err(_) => false,
        },
        (4, 7) => match r.guid("FvName") {
            Ok(g) => write!(out, "Fv({g})").is_ok(),
            Err(_) => false,
        },
        (4, 8) => match (
            r.u32("Reserved"),
            r.u64("StartingOffset"),
            r.u64("EndingOffset"),
        ) {
            (Ok(_), Ok(s), Ok(e)) => write!(out, "Offset({s:#x},{e:#x})").is_ok(),
            _ => false,
        },
        _ => false,
    };
    if !ok {
        let _ = write!(out, "Path({t},{s},{})", Hex(b));
    }
}

fn hard_drive(out: &mut String, r: &mut Reader<'_>) -> bool {
    let (Ok(n), Ok(start), Ok(size), Ok(sig), Ok(_format), Ok(kind)) = (
        r.u32("PartitionNumber"),
        r.u64("PartitionStart"),
        r.u64("PartitionSize"),
        r.fixed::<16>("PartitionSignature"),
        r.u8("PartitionFormat"),
        r.u8("SignatureType"),
    ) else {
        return false;
    };
    let sig = match kind {
        1 => format!(
            "MBR,{:#010x}",
            u32::from_le_bytes([sig[0], sig[1], sig[2], sig[3]])
        ),
        2 => format!("GPT,{}", Guid(sig)),
        _ => format!("{kind},{}", Hex(&sig)),
    };
    write!(out, "HD({n},{sig},{start:#x},{size:#x})").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(t: u8, s: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, s];
        v.extend(u16::try_from(body.len() + 4).unwrap().to_le_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn renders_a_typical_boot_path() {
        let mut p = n(2, 1, &[0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0]);
        p.extend(n(1, 1, &[1, 2]));
        let mut hd = 1u32.to_le_bytes().to_vec();
        hd.extend(0x800u64.to_le_bytes());
        hd.extend(0x100000u64.to_le_bytes());
        hd.extend(Guid::EFI_GLOBAL_VARIABLE.0);
        hd.extend([2, 2]);
        p.extend(n(4, 1, &hd));
        let file: Vec<u8> = "\\EFI\\a.efi\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        p.extend(n(4, 4, &file));
        p.extend(n(0x7f, 0xff, &[]));
        assert_eq!(
            render_device_path(&p),
            "PciRoot(0x0)/Pci(0x2,0x1)/HD(1,GPT,8be4df61-93ca-11d2-aa0d-00e098032b8c,0x800,0x100000)/File(\\EFI\\a.efi)"
        );
    }

    #[test]
    fn malformed_and_unknown_nodes_do_not_panic() {
        assert_eq!(render_device_path(&[1, 1, 2, 0]), "Malformed(01010200)");
        assert_eq!(render_device_path(&[9, 9, 5, 0, 0xab]), "Path(9,9,ab)");
        assert_eq!(
            render_device_path(&[1, 1, 0xff, 0xff]),
            "Malformed(0101ffff)"
        );
        assert_eq!(render_device_path(&[1]), "Malformed(01)");
    }
}
