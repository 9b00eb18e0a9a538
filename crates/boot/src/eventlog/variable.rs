//! `UEFI_VARIABLE_DATA` (PFP §10.2.6) and readable views of the variables firmware measures.

use serde::Serialize;

use super::devpath::render_device_path;
use super::error::{DataError, DataErrorKind};
use super::guid::{Guid, hex};
use super::reader::Reader;
use super::text::char16_lossy;

const UEFI_VARIABLE_DATA: &str = "UEFI_VARIABLE_DATA";

/// `UEFI_VARIABLE_DATA` (PFP §10.2.6): the event of the `EV_EFI_VARIABLE_*` types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiVariableData {
    /// `VariableName`: the vendor GUID.
    pub variable_name: Guid,
    /// `UnicodeName` as CHAR16 units (`UnicodeNameLength` of them, no NUL).
    #[serde(serialize_with = "name16")]
    pub unicode_name: Vec<u16>,
    /// `VariableData` (`VariableDataLength` bytes).
    #[serde(serialize_with = "hex")]
    pub variable_data: Vec<u8>,
    /// What the data means, for variables we know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<VariableValue>,
}

fn name16<S: serde::Serializer>(u: &[u16], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&String::from_utf16_lossy(u))
}

impl UefiVariableData {
    /// Parses the structure, requiring it to fill the event exactly.
    pub fn parse(data: &[u8]) -> Result<Self, DataError> {
        let e = |k: DataErrorKind| DataError::new(UEFI_VARIABLE_DATA, k);
        let mut r = Reader::new(data, 0);
        let variable_name = r.guid("VariableName").map_err(|t| e(t.into()))?;
        let name_len = r.u64("UnicodeNameLength").map_err(|t| e(t.into()))?;
        let data_len = r.u64("VariableDataLength").map_err(|t| e(t.into()))?;
        if name_len > (r.left() / 2) as u64 {
            return Err(e(DataErrorKind::TooMany {
                field: "UnicodeNameLength",
                count: name_len,
                size: 2,
                left: r.left(),
            }));
        }
        let name = r
            .bytes64(name_len * 2, "UnicodeName")
            .map_err(|t| e(t.into()))?;
        let unicode_name = name
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let variable_data = r
            .bytes64(data_len, "VariableData")
            .map_err(|t| e(t.into()))?
            .to_vec();
        if r.left() > 0 {
            return Err(e(DataErrorKind::Trailing(r.left())));
        }
        let mut v = Self {
            variable_name,
            unicode_name,
            variable_data,
            decoded: None,
        };
        v.decoded = VariableValue::interpret(&v);
        Ok(v)
    }

    /// The variable's name as a string.
    pub fn name(&self) -> String {
        String::from_utf16_lossy(&self.unicode_name)
    }

    /// The structure's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(32 + 2 * self.unicode_name.len() + self.variable_data.len());
        out.extend_from_slice(&self.variable_name.0);
        out.extend_from_slice(&(self.unicode_name.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.variable_data.len() as u64).to_le_bytes());
        for u in &self.unicode_name {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&self.variable_data);
        out
    }
}

/// A readable view of a variable's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VariableValue {
    /// A one-byte boolean (`SecureBoot`, `MokListTrusted`, …).
    Enabled(bool),
    /// `BootOrder`: the `Boot####` options in order.
    BootOrder(Vec<String>),
    /// `Boot####`: an `EFI_LOAD_OPTION` (UEFI 2.10 §3.1.3).
    LoadOption(EfiLoadOption),
    /// `PK`, `KEK`, `db`, `dbx`, … : `EFI_SIGNATURE_LIST`s (UEFI 2.10 §32.4.1).
    SignatureLists(Vec<EfiSignatureList>),
    /// A single `EFI_SIGNATURE_DATA` (the db entry an `EV_EFI_VARIABLE_AUTHORITY` names).
    SignatureData(EfiSignatureData),
    /// Text (`SbatLevel`).
    Text(String),
}

/// `EFI_LOAD_OPTION` (UEFI 2.10 §3.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiLoadOption {
    /// `Attributes`.
    pub attributes: u32,
    /// `FilePathListLength`.
    pub file_path_list_length: u16,
    /// `Description`.
    pub description: String,
    /// `FilePathList`, rendered.
    pub device_path: String,
    /// `OptionalData`.
    #[serde(serialize_with = "hex")]
    pub optional_data: Vec<u8>,
}

/// `EFI_SIGNATURE_LIST` (UEFI 2.10 §32.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiSignatureList {
    /// `SignatureType`.
    pub signature_type: Guid,
    /// `SignatureListSize`.
    pub signature_list_size: u32,
    /// `SignatureHeaderSize`.
    pub signature_header_size: u32,
    /// `SignatureSize`.
    pub signature_size: u32,
    /// The entries.
    pub keys: Vec<EfiSignatureData>,
}

/// `EFI_SIGNATURE_DATA` (UEFI 2.10 §32.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiSignatureData {
    /// `SignatureOwner`.
    pub signature_owner: Guid,
    /// `SignatureData`.
    #[serde(serialize_with = "hex")]
    pub signature_data: Vec<u8>,
}

impl VariableValue {
    fn interpret(v: &UefiVariableData) -> Option<Self> {
        let name = v.name();
        let d = &v.variable_data;
        match name.as_str() {
            "SecureBoot" | "MokListTrusted" | "MokSBState" | "SetupMode" | "AuditMode"
            | "DeployedMode"
                if d.len() == 1 =>
            {
                Some(Self::Enabled(d[0] != 0))
            }
            "BootOrder" if d.len().is_multiple_of(2) => Some(Self::BootOrder(
                d.chunks_exact(2)
                    .map(|c| format!("Boot{:04X}", u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            )),
            "SbatLevel" => std::str::from_utf8(d)
                .ok()
                .map(|s| Self::Text(s.to_owned())),
            n if n.len() == 8
                && n.starts_with("Boot")
                && n[4..].chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                load_option(d).map(Self::LoadOption)
            }
            "PK" | "KEK" | "db" | "dbx" | "dbt" | "dbr" | "MokList" | "MokListX" | "MokListRT"
            | "MokListXRT"
                if !d.is_empty() =>
            {
                signature_lists(d)
                    .map(Self::SignatureLists)
                    .or_else(|| signature_data(d).map(Self::SignatureData))
            }
            _ if d.len() > 16 => signature_data(d)
                .filter(|_| d.get(16) == Some(&0x30))
                .map(Self::SignatureData),
            _ => None,
        }
    }
}

fn load_option(d: &[u8]) -> Option<EfiLoadOption> {
    let mut r = Reader::new(d, 0);
    let attributes = r.u32("Attributes").ok()?;
    let file_path_list_length = r.u16("FilePathListLength").ok()?;
    let rest = r.rest();
    let units: Vec<u16> = rest
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let nul = units.iter().position(|&u| u == 0)?;
    r.bytes((nul + 1) * 2, "Description").ok()?;
    let path = r
        .bytes(usize::from(file_path_list_length), "FilePathList")
        .ok()?;
    Some(EfiLoadOption {
        attributes,
        file_path_list_length,
        description: char16_lossy(&rest[..nul * 2]),
        device_path: render_device_path(path),
        optional_data: r.rest().to_vec(),
    })
}

fn signature_data(d: &[u8]) -> Option<EfiSignatureData> {
    let mut r = Reader::new(d, 0);
    Some(EfiSignatureData {
        signature_owner: r.guid("SignatureOwner").ok()?,
        signature_data: r.rest().to_vec(),
    })
}

fn signature_lists(d: &[u8]) -> Option<Vec<EfiSignatureList>> {
    let mut r = Reader::new(d, 0);
    let mut lists = Vec::new();
    while r.left() > 0 {
        let signature_type = r.guid("SignatureType").ok()?;
        let signature_list_size = r.u32("SignatureListSize").ok()?;
        let signature_header_size = r.u32("SignatureHeaderSize").ok()?;
        let signature_size = r.u32("SignatureSize").ok()?;
        let body_len = usize::try_from(signature_list_size).ok()?.checked_sub(28)?;
        let mut body = Reader::new(r.bytes(body_len, "Signatures").ok()?, 0);
        body.bytes(
            usize::try_from(signature_header_size).ok()?,
            "SignatureHeader",
        )
        .ok()?;
        let size = usize::try_from(signature_size).ok()?;
        if size < 16 || !body.left().is_multiple_of(size) {
            return None;
        }
        let mut keys = Vec::new();
        while body.left() > 0 {
            keys.push(signature_data(
                body.bytes(size, "EFI_SIGNATURE_DATA").ok()?,
            )?);
        }
        lists.push(EfiSignatureList {
            signature_type,
            signature_list_size,
            signature_header_size,
            signature_size,
            keys,
        });
    }
    Some(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uvd(name: &str, data: &[u8]) -> Vec<u8> {
        let v = UefiVariableData {
            variable_name: Guid::EFI_GLOBAL_VARIABLE,
            unicode_name: name.encode_utf16().collect(),
            variable_data: data.to_vec(),
            decoded: None,
        };
        v.to_bytes()
    }

    #[test]
    fn parses_secure_boot_and_round_trips() {
        let b = uvd("SecureBoot", &[1]);
        let v = UefiVariableData::parse(&b).unwrap();
        assert_eq!(v.name(), "SecureBoot");
        assert_eq!(v.decoded, Some(VariableValue::Enabled(true)));
        assert_eq!(v.to_bytes(), b);
    }

    #[test]
    fn boot_order_lists_options() {
        let v = UefiVariableData::parse(&uvd("BootOrder", &[1, 0, 0, 0])).unwrap();
        assert_eq!(
            v.decoded,
            Some(VariableValue::BootOrder(vec![
                "Boot0001".into(),
                "Boot0000".into()
            ]))
        );
    }

    #[test]
    fn huge_lengths_are_refused_without_allocating() {
        let mut b = uvd("X", &[]);
        b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = UefiVariableData::parse(&b).unwrap_err();
        assert!(matches!(
            err.kind,
            DataErrorKind::TooMany {
                field: "UnicodeNameLength",
                ..
            }
        ));
        let mut b = uvd("X", &[]);
        b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = UefiVariableData::parse(&b).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("UEFI_VARIABLE_DATA: truncated: VariableData at offset 0x22"),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut b = uvd("X", &[7]);
        b.push(0);
        assert_eq!(
            UefiVariableData::parse(&b).unwrap_err().kind,
            DataErrorKind::Trailing(1)
        );
    }
}
