//! Event data structures (PFP §10.2–§10.4) and decoding by event type.

use serde::Serialize;

use super::devpath::render_device_path;
use super::error::{DataError, DataErrorKind, Truncated};
use super::event_type::EventType;
use super::guid::{Guid, hex};
use super::reader::Reader;
use super::text;
use super::variable::UefiVariableData;

/// An event's data, decoded according to its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EventData {
    /// `EV_NO_ACTION` `StartupLocality`.
    StartupLocality(StartupLocalityEvent),
    /// `EV_NO_ACTION` `SP800-155 Event`.
    Sp800155(Sp800155Event),
    /// Another `EV_NO_ACTION` event, by its 16-byte signature.
    NoAction {
        /// The signature, NULs removed.
        signature: String,
        /// What follows it.
        #[serde(serialize_with = "hex")]
        data: Vec<u8>,
    },
    /// `EV_EFI_VARIABLE_*`.
    UefiVariable(UefiVariableData),
    /// `EV_EFI_BOOT_SERVICES_*`, `EV_EFI_RUNTIME_SERVICES_DRIVER`.
    UefiImageLoad(UefiImageLoadEvent),
    /// `EV_EFI_GPT_EVENT`.
    UefiGpt(UefiGptData),
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB`, and `EV_POST_CODE`/`EV_S_CRTM_CONTENTS` with a blob.
    FirmwareBlob(UefiPlatformFirmwareBlob),
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB2`.
    FirmwareBlob2(UefiPlatformFirmwareBlob2),
    /// `EV_EFI_HANDOFF_TABLES`.
    HandoffTables(UefiHandoffTablePointers),
    /// `EV_EFI_HANDOFF_TABLES2`.
    HandoffTables2(UefiHandoffTablePointers2),
    /// `EV_EVENT_TAG`.
    Tagged(TcgPcClientTaggedEvent),
    /// `EV_SEPARATOR`: 0 normally, 1 or 0xFFFFFFFF after an error.
    Separator(u32),
    /// ASCII text (`EV_ACTION`, `EV_EFI_ACTION`, grub's and shim's `EV_IPL`, post-code names).
    Text(String),
    /// CHAR16 text (`EV_S_CRTM_VERSION`, systemd's `EV_IPL`).
    Utf16(String),
    /// Bytes with no structure we know.
    #[serde(serialize_with = "hex")]
    Raw(Vec<u8>),
}

/// `TCG_EfiStartupLocalityEvent` (PFP §10.4.5.3): PCR0's start value under H-CRTM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartupLocalityEvent {
    /// `StartupLocality` (0, 3 or 4).
    pub startup_locality: u8,
}

/// Signature of the StartupLocality event.
pub const STARTUP_LOCALITY: &[u8; 16] = b"StartupLocality\0";
/// Signature of the SP800-155 platform-id event.
pub const SP800_155_EVENT: &[u8; 16] = b"SP800-155 Event\0";

impl StartupLocalityEvent {
    /// Parses `StartupLocality\0` followed by one byte.
    pub fn parse(d: &[u8]) -> Option<Self> {
        match d {
            [sig @ .., l] if sig == STARTUP_LOCALITY => Some(Self {
                startup_locality: *l,
            }),
            _ => None,
        }
    }
}

/// `TCG_Sp800_155_PlatformId_Event` (PFP §10.4.5.2): reference-manifest identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sp800155Event {
    /// `PlatformManufacturerId` (an IANA private enterprise number).
    pub platform_manufacturer_id: u32,
    /// `ReferenceManifestGuid`.
    pub reference_manifest_guid: Guid,
    /// `PlatformManufacturerStr`.
    pub platform_manufacturer_str: String,
    /// `PlatformModel`.
    pub platform_model: String,
    /// `PlatformVersion`.
    pub platform_version: String,
    /// `FirmwareManufacturerStr`.
    pub firmware_manufacturer_str: String,
    /// `FirmwareManufacturerId`.
    pub firmware_manufacturer_id: u32,
    /// `FirmwareVersion`.
    pub firmware_version: String,
    /// Bytes after `FirmwareVersion` (later revisions add fields).
    #[serde(serialize_with = "hex")]
    pub trailing: Vec<u8>,
}

impl Sp800155Event {
    fn parse(d: &[u8]) -> Result<Self, DataError> {
        let e = |t: Truncated| DataError::new("TCG_Sp800_155_PlatformId_Event", t);
        let mut r = Reader::new(d, 0);
        r.bytes(16, "Signature").map_err(e)?;
        let s = |r: &mut Reader<'_>, f: &'static str| -> Result<String, DataError> {
            let n = r.u8(f).map_err(e)?;
            let b = r.bytes(usize::from(n), f).map_err(e)?;
            Ok(String::from_utf8_lossy(b).trim_end_matches('\0').to_owned())
        };
        let platform_manufacturer_id = r.u32("PlatformManufacturerId").map_err(e)?;
        let reference_manifest_guid = r.guid("ReferenceManifestGuid").map_err(e)?;
        let platform_manufacturer_str = s(&mut r, "PlatformManufacturerStr")?;
        let platform_model = s(&mut r, "PlatformModel")?;
        let platform_version = s(&mut r, "PlatformVersion")?;
        let firmware_manufacturer_str = s(&mut r, "FirmwareManufacturerStr")?;
        let firmware_manufacturer_id = r.u32("FirmwareManufacturerId").map_err(e)?;
        let firmware_version = s(&mut r, "FirmwareVersion")?;
        Ok(Self {
            platform_manufacturer_id,
            reference_manifest_guid,
            platform_manufacturer_str,
            platform_model,
            platform_version,
            firmware_manufacturer_str,
            firmware_manufacturer_id,
            firmware_version,
            trailing: r.rest().to_vec(),
        })
    }
}

/// `UEFI_IMAGE_LOAD_EVENT` (PFP §10.2.3). `UINTN` fields are widened to u64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiImageLoadEvent {
    /// `ImageLocationInMemory`.
    pub image_location_in_memory: u64,
    /// `ImageLengthInMemory`.
    pub image_length_in_memory: u64,
    /// `ImageLinkTimeAddress`.
    pub image_link_time_address: u64,
    /// `LengthOfDevicePath`.
    pub length_of_device_path: u64,
    /// `DevicePath`, rendered as UEFI text (unknown nodes as hex).
    pub device_path: String,
    /// `DevicePath` bytes.
    #[serde(serialize_with = "hex")]
    pub device_path_bytes: Vec<u8>,
    /// Bytes after the device path (some firmware pads the event).
    #[serde(serialize_with = "hex")]
    pub trailing: Vec<u8>,
}

impl UefiImageLoadEvent {
    fn parse(d: &[u8], uintn: usize) -> Result<Self, DataError> {
        let e = |t: Truncated| DataError::new("UEFI_IMAGE_LOAD_EVENT", t);
        let mut r = Reader::new(d, 0);
        let image_location_in_memory = r.u64("ImageLocationInMemory").map_err(e)?;
        let image_length_in_memory = r.uintn(uintn, "ImageLengthInMemory").map_err(e)?;
        let image_link_time_address = r.uintn(uintn, "ImageLinkTimeAddress").map_err(e)?;
        let length_of_device_path = r.uintn(uintn, "LengthOfDevicePath").map_err(e)?;
        let path = r.bytes64(length_of_device_path, "DevicePath").map_err(e)?;
        Ok(Self {
            image_location_in_memory,
            image_length_in_memory,
            image_link_time_address,
            length_of_device_path,
            device_path: render_device_path(path),
            device_path_bytes: path.to_vec(),
            trailing: r.rest().to_vec(),
        })
    }
}

/// `EFI_PARTITION_TABLE_HEADER` (UEFI 2.10 §5.3.2), as measured (92 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiPartitionTableHeader {
    /// `Signature` ("EFI PART").
    pub signature: String,
    /// `Revision`.
    pub revision: u32,
    /// `HeaderSize`.
    pub header_size: u32,
    /// `HeaderCRC32`.
    #[serde(rename = "HeaderCRC32")]
    pub header_crc32: u32,
    /// `MyLBA`.
    #[serde(rename = "MyLBA")]
    pub my_lba: u64,
    /// `AlternateLBA`.
    #[serde(rename = "AlternateLBA")]
    pub alternate_lba: u64,
    /// `FirstUsableLBA`.
    #[serde(rename = "FirstUsableLBA")]
    pub first_usable_lba: u64,
    /// `LastUsableLBA`.
    #[serde(rename = "LastUsableLBA")]
    pub last_usable_lba: u64,
    /// `DiskGUID`.
    #[serde(rename = "DiskGUID")]
    pub disk_guid: Guid,
    /// `PartitionEntryLBA`.
    #[serde(rename = "PartitionEntryLBA")]
    pub partition_entry_lba: u64,
    /// `NumberOfPartitionEntries`.
    pub number_of_partition_entries: u32,
    /// `SizeOfPartitionEntry`.
    pub size_of_partition_entry: u32,
    /// `PartitionEntryArrayCRC32`.
    #[serde(rename = "PartitionEntryArrayCRC32")]
    pub partition_entry_array_crc32: u32,
}

/// `EFI_PARTITION_ENTRY` (UEFI 2.10 §5.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiPartitionEntry {
    /// `PartitionTypeGUID`.
    #[serde(rename = "PartitionTypeGUID")]
    pub partition_type_guid: Guid,
    /// `UniquePartitionGUID`.
    #[serde(rename = "UniquePartitionGUID")]
    pub unique_partition_guid: Guid,
    /// `StartingLBA`.
    #[serde(rename = "StartingLBA")]
    pub starting_lba: u64,
    /// `EndingLBA`.
    #[serde(rename = "EndingLBA")]
    pub ending_lba: u64,
    /// `Attributes`.
    pub attributes: u64,
    /// `PartitionName`.
    pub partition_name: String,
}

/// `UEFI_GPT_DATA` (PFP §10.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiGptData {
    /// `UEFIPartitionHeader`.
    #[serde(rename = "UEFIPartitionHeader")]
    pub uefi_partition_header: EfiPartitionTableHeader,
    /// `NumberOfPartitions`.
    pub number_of_partitions: u64,
    /// `Partitions`.
    pub partitions: Vec<EfiPartitionEntry>,
}

impl UefiGptData {
    fn parse(d: &[u8]) -> Result<Self, DataError> {
        const S: &str = "UEFI_GPT_DATA";
        let e = |t: Truncated| DataError::new(S, t);
        let mut r = Reader::new(d, 0);
        let signature = String::from_utf8_lossy(&r.fixed::<8>("Signature").map_err(e)?).into();
        let revision = r.u32("Revision").map_err(e)?;
        let header_size = r.u32("HeaderSize").map_err(e)?;
        let header_crc32 = r.u32("HeaderCRC32").map_err(e)?;
        r.u32("Reserved").map_err(e)?;
        let h = EfiPartitionTableHeader {
            signature,
            revision,
            header_size,
            header_crc32,
            my_lba: r.u64("MyLBA").map_err(e)?,
            alternate_lba: r.u64("AlternateLBA").map_err(e)?,
            first_usable_lba: r.u64("FirstUsableLBA").map_err(e)?,
            last_usable_lba: r.u64("LastUsableLBA").map_err(e)?,
            disk_guid: r.guid("DiskGUID").map_err(e)?,
            partition_entry_lba: r.u64("PartitionEntryLBA").map_err(e)?,
            number_of_partition_entries: r.u32("NumberOfPartitionEntries").map_err(e)?,
            size_of_partition_entry: r.u32("SizeOfPartitionEntry").map_err(e)?,
            partition_entry_array_crc32: r.u32("PartitionEntryArrayCRC32").map_err(e)?,
        };
        let n = r.u64("NumberOfPartitions").map_err(e)?;
        let size = u64::from(h.size_of_partition_entry);
        if size < 128 {
            return Err(DataError::new(
                S,
                DataErrorKind::TooSmall {
                    field: "SizeOfPartitionEntry",
                    value: size,
                    min: 128,
                },
            ));
        }
        if n.checked_mul(size).is_none_or(|t| t > r.left() as u64) {
            return Err(DataError::new(
                S,
                DataErrorKind::TooMany {
                    field: "NumberOfPartitions",
                    count: n,
                    size,
                    left: r.left(),
                },
            ));
        }
        let mut partitions = Vec::new();
        for _ in 0..n {
            let mut p = Reader::new(r.bytes64(size, "EFI_PARTITION_ENTRY").map_err(e)?, 0);
            partitions.push(EfiPartitionEntry {
                partition_type_guid: p.guid("PartitionTypeGUID").map_err(e)?,
                unique_partition_guid: p.guid("UniquePartitionGUID").map_err(e)?,
                starting_lba: p.u64("StartingLBA").map_err(e)?,
                ending_lba: p.u64("EndingLBA").map_err(e)?,
                attributes: p.u64("Attributes").map_err(e)?,
                partition_name: text::char16_lossy(p.bytes(72, "PartitionName").map_err(e)?),
            });
        }
        if r.left() > 0 {
            return Err(DataError::new(S, DataErrorKind::Trailing(r.left())));
        }
        Ok(Self {
            uefi_partition_header: h,
            number_of_partitions: n,
            partitions,
        })
    }
}

/// `UEFI_PLATFORM_FIRMWARE_BLOB` (PFP §10.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiPlatformFirmwareBlob {
    /// `BlobBase`.
    pub blob_base: u64,
    /// `BlobLength`.
    pub blob_length: u64,
}

/// `UEFI_PLATFORM_FIRMWARE_BLOB2` (PFP §10.2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiPlatformFirmwareBlob2 {
    /// `BlobDescription`.
    pub blob_description: String,
    /// `BlobBase`.
    pub blob_base: u64,
    /// `BlobLength`.
    pub blob_length: u64,
}

/// `EFI_CONFIGURATION_TABLE` (UEFI 2.10 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EfiConfigurationTable {
    /// `VendorGuid`.
    pub vendor_guid: Guid,
    /// `VendorTable` (an address).
    pub vendor_table: u64,
}

/// `UEFI_HANDOFF_TABLE_POINTERS` (PFP §10.2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiHandoffTablePointers {
    /// `NumberOfTables`.
    pub number_of_tables: u64,
    /// `TableEntry`.
    pub table_entry: Vec<EfiConfigurationTable>,
}

/// `UEFI_HANDOFF_TABLE_POINTERS2` (PFP §10.2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UefiHandoffTablePointers2 {
    /// `TableDescription`.
    pub table_description: String,
    /// `NumberOfTables`.
    pub number_of_tables: u64,
    /// `TableEntry`.
    pub table_entry: Vec<EfiConfigurationTable>,
}

fn tables(
    r: &mut Reader<'_>,
    s: &'static str,
    uintn: usize,
) -> Result<(u64, Vec<EfiConfigurationTable>), DataError> {
    let e = |t: Truncated| DataError::new(s, t);
    let n = r.uintn(uintn, "NumberOfTables").map_err(e)?;
    let size = 16 + uintn as u64;
    if n.checked_mul(size).is_none_or(|t| t != r.left() as u64) {
        return Err(DataError::new(
            s,
            DataErrorKind::TooMany {
                field: "NumberOfTables",
                count: n,
                size,
                left: r.left(),
            },
        ));
    }
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(EfiConfigurationTable {
            vendor_guid: r.guid("VendorGuid").map_err(e)?,
            vendor_table: r.uintn(uintn, "VendorTable").map_err(e)?,
        });
    }
    Ok((n, v))
}

/// `TCG_PCClientTaggedEvent` (PFP §10.2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcgPcClientTaggedEvent {
    /// `taggedEventID`.
    #[serde(rename = "taggedEventID")]
    pub tagged_event_id: u32,
    /// `taggedEventData`.
    #[serde(serialize_with = "hex")]
    pub tagged_event_data: Vec<u8>,
    /// The data as text, when it is (the Linux EFI stub writes a NUL-terminated description).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

fn tagged(d: &[u8]) -> Result<TcgPcClientTaggedEvent, DataError> {
    const S: &str = "TCG_PCClientTaggedEvent";
    let e = |t: Truncated| DataError::new(S, t);
    let mut r = Reader::new(d, 0);
    let tagged_event_id = r.u32("taggedEventID").map_err(e)?;
    let n = r.u32("taggedEventDataSize").map_err(e)?;
    let data = r.bytes64(u64::from(n), "taggedEventData").map_err(e)?;
    if r.left() > 0 {
        return Err(DataError::new(S, DataErrorKind::Trailing(r.left())));
    }
    Ok(TcgPcClientTaggedEvent {
        tagged_event_id,
        tagged_event_data: data.to_vec(),
        text: text::ascii(data).map(str::to_owned),
    })
}

fn blob(d: &[u8], s: &'static str) -> Result<UefiPlatformFirmwareBlob, DataError> {
    let e = |t: Truncated| DataError::new(s, t);
    let mut r = Reader::new(d, 0);
    let b = UefiPlatformFirmwareBlob {
        blob_base: r.u64("BlobBase").map_err(e)?,
        blob_length: r.u64("BlobLength").map_err(e)?,
    };
    if r.left() > 0 {
        return Err(DataError::new(s, DataErrorKind::Trailing(r.left())));
    }
    Ok(b)
}

fn described<'a>(
    r: &mut Reader<'a>,
    s: &'static str,
    f: &'static str,
) -> Result<String, DataError> {
    let e = |t: Truncated| DataError::new(s, t);
    let n = r.u8(f).map_err(e)?;
    let b = r.bytes(usize::from(n), f).map_err(e)?;
    Ok(String::from_utf8_lossy(b).trim_end_matches('\0').to_owned())
}

fn blob2(d: &[u8]) -> Result<UefiPlatformFirmwareBlob2, DataError> {
    const S: &str = "UEFI_PLATFORM_FIRMWARE_BLOB2";
    let mut r = Reader::new(d, 0);
    let blob_description = described(&mut r, S, "BlobDescription")?;
    let b = blob(r.rest(), S)?;
    Ok(UefiPlatformFirmwareBlob2 {
        blob_description,
        blob_base: b.blob_base,
        blob_length: b.blob_length,
    })
}

fn text_or_raw(d: &[u8]) -> EventData {
    if let Some(t) = text::ascii(d) {
        EventData::Text(t.to_owned())
    } else if let Some(t) = text::utf16(d) {
        EventData::Utf16(t)
    } else {
        EventData::Raw(d.to_vec())
    }
}

/// Decodes `d` as the structure `event_type` implies.
pub(crate) fn decode(
    event_type: EventType,
    _pcr: u32,
    d: &[u8],
    uintn: usize,
) -> Result<EventData, DataError> {
    Ok(match event_type {
        EventType::EV_NO_ACTION => {
            if let Some(s) = StartupLocalityEvent::parse(d) {
                EventData::StartupLocality(s)
            } else if d.starts_with(SP800_155_EVENT) {
                EventData::Sp800155(Sp800155Event::parse(d)?)
            } else if let Some(sig) = d.get(..16).and_then(text::ascii) {
                EventData::NoAction {
                    signature: sig.to_owned(),
                    data: d[16..].to_vec(),
                }
            } else {
                EventData::Raw(d.to_vec())
            }
        }
        EventType::EV_EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EV_EFI_VARIABLE_BOOT
        | EventType::EV_EFI_VARIABLE_BOOT2
        | EventType::EV_EFI_VARIABLE_AUTHORITY
        | EventType::EV_EFI_SPDM_DEVICE_POLICY => {
            EventData::UefiVariable(UefiVariableData::parse(d)?)
        }
        EventType::EV_EFI_BOOT_SERVICES_APPLICATION
        | EventType::EV_EFI_BOOT_SERVICES_DRIVER
        | EventType::EV_EFI_RUNTIME_SERVICES_DRIVER => {
            EventData::UefiImageLoad(UefiImageLoadEvent::parse(d, uintn)?)
        }
        EventType::EV_EFI_GPT_EVENT | EventType::EV_EFI_GPT_EVENT2 => {
            EventData::UefiGpt(UefiGptData::parse(d)?)
        }
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB => {
            EventData::FirmwareBlob(blob(d, "UEFI_PLATFORM_FIRMWARE_BLOB")?)
        }
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB2 | EventType::EV_POST_CODE2 => {
            EventData::FirmwareBlob2(blob2(d)?)
        }
        // Post codes and S-CRTM contents are either a blob {base, length} or a name string.
        EventType::EV_POST_CODE | EventType::EV_S_CRTM_CONTENTS => match text::ascii(d) {
            Some(t) => EventData::Text(t.to_owned()),
            None if d.len() == 16 => {
                EventData::FirmwareBlob(blob(d, "UEFI_PLATFORM_FIRMWARE_BLOB")?)
            }
            None => text_or_raw(d),
        },
        EventType::EV_EFI_HANDOFF_TABLES => {
            let mut r = Reader::new(d, 0);
            let (number_of_tables, table_entry) =
                tables(&mut r, "UEFI_HANDOFF_TABLE_POINTERS", uintn)?;
            EventData::HandoffTables(UefiHandoffTablePointers {
                number_of_tables,
                table_entry,
            })
        }
        EventType::EV_EFI_HANDOFF_TABLES2 => {
            const S: &str = "UEFI_HANDOFF_TABLE_POINTERS2";
            let mut r = Reader::new(d, 0);
            let table_description = described(&mut r, S, "TableDescription")?;
            let (number_of_tables, table_entry) = tables(&mut r, S, uintn)?;
            EventData::HandoffTables2(UefiHandoffTablePointers2 {
                table_description,
                number_of_tables,
                table_entry,
            })
        }
        EventType::EV_EVENT_TAG => EventData::Tagged(tagged(d)?),
        EventType::EV_SEPARATOR if d.len() == 4 => {
            EventData::Separator(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
        }
        _ => text_or_raw(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_locality_is_recognised() {
        let mut d = STARTUP_LOCALITY.to_vec();
        d.push(3);
        assert_eq!(
            decode(EventType::EV_NO_ACTION, 0, &d, 8).unwrap(),
            EventData::StartupLocality(StartupLocalityEvent {
                startup_locality: 3
            })
        );
    }

    #[test]
    fn sp800_155_event_decodes_and_truncation_names_the_field() {
        let mut d = SP800_155_EVENT.to_vec();
        d.extend(311u32.to_le_bytes());
        d.extend([0xaa; 16]);
        for s in ["Acme", "Model 1", "1.0", "EDK2"] {
            d.push(s.len() as u8);
            d.extend(s.as_bytes());
        }
        d.extend(1u32.to_le_bytes());
        d.push(3);
        d.extend(b"2.3");
        let EventData::Sp800155(e) = decode(EventType::EV_NO_ACTION, 0, &d, 8).unwrap() else {
            panic!("not decoded as SP800-155");
        };
        assert_eq!(e.platform_model, "Model 1");
        assert_eq!(e.firmware_version, "2.3");
        let err = decode(EventType::EV_NO_ACTION, 0, &d[..d.len() - 1], 8).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TCG_Sp800_155_PlatformId_Event: truncated: FirmwareVersion at offset 0x3f needs 3 bytes, only 2 left"
        );
    }

    #[test]
    fn image_load_event_honours_uintn_size() {
        let mut d = Vec::new();
        d.extend(0x1000u64.to_le_bytes());
        d.extend(0x20u32.to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.extend(4u32.to_le_bytes());
        d.extend([0x7f, 0xff, 4, 0]);
        let EventData::UefiImageLoad(e) =
            decode(EventType::EV_EFI_BOOT_SERVICES_DRIVER, 2, &d, 4).unwrap()
        else {
            panic!("not an image load event");
        };
        assert_eq!(e.image_length_in_memory, 0x20);
        assert_eq!(e.length_of_device_path, 4);
        let err = decode(EventType::EV_EFI_BOOT_SERVICES_DRIVER, 2, &d, 8).unwrap_err();
        assert!(err.to_string().contains("LengthOfDevicePath"), "{err}");
    }

    #[test]
    fn gpt_with_too_many_partitions_is_refused() {
        let mut d = b"EFI PART".to_vec();
        d.extend([0u8; 76]);
        d.extend(128u32.to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.extend(u64::MAX.to_le_bytes());
        let err = decode(EventType::EV_EFI_GPT_EVENT, 5, &d, 8).unwrap_err();
        assert!(
            matches!(
                err.kind,
                DataErrorKind::TooMany {
                    field: "NumberOfPartitions",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn tagged_event_reads_its_description() {
        let mut d = 0x8F3B_22EDu32.to_le_bytes().to_vec();
        d.extend(26u32.to_le_bytes());
        d.extend(b"LOADED_IMAGE::LoadOptions\0");
        let EventData::Tagged(t) = decode(EventType::EV_EVENT_TAG, 9, &d, 8).unwrap() else {
            panic!("not tagged");
        };
        assert_eq!(t.text.as_deref(), Some("LOADED_IMAGE::LoadOptions"));
        let err = decode(EventType::EV_EVENT_TAG, 9, &d[..20], 8).unwrap_err();
        assert!(err.to_string().contains("taggedEventData"), "{err}");
    }

    #[test]
    fn handoff_tables_count_must_fit() {
        let mut d = 2u64.to_le_bytes().to_vec();
        d.extend([0u8; 24]);
        let err = decode(EventType::EV_EFI_HANDOFF_TABLES, 1, &d, 8).unwrap_err();
        assert!(matches!(err.kind, DataErrorKind::TooMany { .. }), "{err}");
    }
}
