//! OVMF's authenticated variable store (`OVMF_VARS*.fd`): a firmware volume whose body is a
//! `VARIABLE_STORE_HEADER` followed by `AUTHENTICATED_VARIABLE_HEADER`s (edk2
//! MdeModulePkg/Include/Guid/VariableFormat.h, PI 1.8 vol. 3 §3.2.1 "Firmware Volume Header").

use super::efi::{self, Guid};
use super::esl::{EslError, SignatureList};
use super::le::{rd16, rd32};

/// `EFI_FVH_SIGNATURE` "_FVH" at offset 40 of the volume header.
const FVH_SIGNATURE: &[u8; 4] = b"_FVH";
/// `VARIABLE_STORE_HEADER`: Signature GUID, Size u32, Format u8, State u8, Reserved u16, u32.
const VARIABLE_STORE_HEADER_SIZE: usize = 28;
/// `AUTHENTICATED_VARIABLE_HEADER` size.
const AUTH_VARIABLE_HEADER_SIZE: usize = 60;
/// `VARIABLE_DATA`: StartId of every header.
const VARIABLE_DATA: u16 = 0x55aa;
/// `VAR_ADDED` with no transition bits cleared: a live variable.
pub const VAR_ADDED: u8 = 0x3f;
/// `VARIABLE_STORE_FORMATTED`.
const VARIABLE_STORE_FORMATTED: u8 = 0x5a;

/// Why a variable store could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarsError {
    /// The file does not start with a firmware volume header.
    #[error("offset 40: no firmware volume signature \"_FVH\"")]
    NotFirmwareVolume,
    /// `HeaderLength` points outside the file.
    #[error("offset 48: firmware volume HeaderLength {0} outside the file")]
    BadHeaderLength(u16),
    /// The store's signature GUID is not the authenticated-variable GUID.
    #[error(
        "offset {offset}: variable store signature {found} is not gEfiAuthenticatedVariableGuid"
    )]
    NotAuthenticatedStore {
        /// Offset of the store header.
        offset: usize,
        /// GUID found there.
        found: Guid,
    },
    /// The store header says it is not formatted.
    #[error(
        "offset {offset}: variable store Format 0x{format:02x} is not VARIABLE_STORE_FORMATTED"
    )]
    NotFormatted {
        /// Offset of the store header.
        offset: usize,
        /// Found value.
        format: u8,
    },
    /// A header or its name/data runs past the store.
    #[error("offset {offset}: variable {what} truncated (store ends at {end})")]
    Truncated {
        /// Offset of the variable header.
        offset: usize,
        /// Which part.
        what: &'static str,
        /// End of the store.
        end: usize,
    },
    /// A variable name is not UTF-16 or not NUL-terminated.
    #[error("offset {offset}: variable name is not NUL-terminated UTF-16")]
    BadName {
        /// Offset of the variable header.
        offset: usize,
    },
    /// A Secure Boot variable does not hold signature lists.
    #[error("variable {name}: {source}")]
    BadList {
        /// Variable name.
        name: String,
        /// Cause.
        #[source]
        source: EslError,
    },
}

/// One variable out of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Offset of its header in the file.
    pub offset: usize,
    /// `State` (0x3f = live).
    pub state: u8,
    /// `Attributes` (NV 0x1, BS 0x2, RT 0x4, TIME_BASED_AUTH 0x20).
    pub attributes: u32,
    /// Variable name.
    pub name: String,
    /// `VendorGuid`.
    pub vendor: Guid,
    /// Data.
    pub data: Vec<u8>,
}

/// The variables of an OVMF VARS file, in store order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableStore {
    /// All headers found, live or not.
    pub variables: Vec<Variable>,
}

/// PK, KEK, db and dbx out of a store (empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecureBootVariables {
    /// `PK`.
    pub pk: Vec<SignatureList>,
    /// `KEK`.
    pub kek: Vec<SignatureList>,
    /// `db`.
    pub db: Vec<SignatureList>,
    /// `dbx`.
    pub dbx: Vec<SignatureList>,
}

impl VariableStore {
    /// Parses an OVMF VARS firmware volume.
    pub fn parse(fd: &[u8]) -> Result<Self, VarsError> {
        // The header length field ends at 50: a shorter file cannot be a firmware volume.
        if fd.get(40..44) != Some(FVH_SIGNATURE) || fd.len() < 50 {
            return Err(VarsError::NotFirmwareVolume);
        }
        let hl = rd16(fd, 48);
        let store = usize::from(hl);
        if store + VARIABLE_STORE_HEADER_SIZE > fd.len() {
            return Err(VarsError::BadHeaderLength(hl));
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&fd[store..store + 16]);
        let found = Guid(g);
        if found != efi::EFI_AUTHENTICATED_VARIABLE_GUID {
            return Err(VarsError::NotAuthenticatedStore {
                offset: store,
                found,
            });
        }
        let format = fd[store + 20];
        if format != VARIABLE_STORE_FORMATTED {
            return Err(VarsError::NotFormatted {
                offset: store,
                format,
            });
        }
        // The declared store size bounds the walk; clamp to the file for a truncated copy.
        let end = (store + rd32(fd, store + 16) as usize).min(fd.len());
        let mut off = align4(store + VARIABLE_STORE_HEADER_SIZE);
        let mut variables = Vec::new();
        while off + 2 <= end && rd16(fd, off) == VARIABLE_DATA {
            let v = Self::parse_variable(fd, off, end)?;
            off = align4(off + AUTH_VARIABLE_HEADER_SIZE + v.1);
            variables.push(v.0);
        }
        Ok(VariableStore { variables })
    }

    fn parse_variable(fd: &[u8], off: usize, end: usize) -> Result<(Variable, usize), VarsError> {
        let trunc = |what| VarsError::Truncated {
            offset: off,
            what,
            end,
        };
        if off + AUTH_VARIABLE_HEADER_SIZE > end {
            return Err(trunc("header"));
        }
        let h = &fd[off..off + AUTH_VARIABLE_HEADER_SIZE];
        let state = h[2];
        let attributes = rd32(h, 4);
        let name_size = rd32(h, 36) as usize;
        let data_size = rd32(h, 40) as usize;
        let mut g = [0u8; 16];
        g.copy_from_slice(&h[44..60]);
        let body = off + AUTH_VARIABLE_HEADER_SIZE;
        let name_end = body.checked_add(name_size).filter(|&e| e <= end);
        let name_end = name_end.ok_or_else(|| trunc("name"))?;
        let data_end = name_end.checked_add(data_size).filter(|&e| e <= end);
        let data_end = data_end.ok_or_else(|| trunc("data"))?;
        let raw = &fd[body..name_end];
        if !raw.len().is_multiple_of(2) {
            return Err(VarsError::BadName { offset: off });
        }
        let units: Vec<u16> = raw.chunks_exact(2).map(|c| rd16(c, 0)).collect();
        let Some((0, name)) = units.split_last() else {
            return Err(VarsError::BadName { offset: off });
        };
        let name = String::from_utf16(name).map_err(|_| VarsError::BadName { offset: off })?;
        Ok((
            Variable {
                offset: off,
                state,
                attributes,
                name,
                vendor: Guid(g),
                data: fd[name_end..data_end].to_vec(),
            },
            name_size + data_size,
        ))
    }

    /// The live (state 0x3f) variable `name` under `vendor`.
    pub fn get(&self, name: &str, vendor: &Guid) -> Option<&Variable> {
        self.variables
            .iter()
            .rev()
            .find(|v| v.state == VAR_ADDED && v.name == name && v.vendor == *vendor)
    }

    /// PK, KEK, db and dbx parsed as signature lists.
    pub fn secure_boot_variables(&self) -> Result<SecureBootVariables, VarsError> {
        let lists = |name: &str, vendor: &Guid| -> Result<Vec<SignatureList>, VarsError> {
            match self.get(name, vendor) {
                None => Ok(Vec::new()),
                Some(v) => SignatureList::parse_all(&v.data).map_err(|source| VarsError::BadList {
                    name: name.to_owned(),
                    source,
                }),
            }
        };
        Ok(SecureBootVariables {
            pk: lists("PK", &efi::EFI_GLOBAL_VARIABLE)?,
            kek: lists("KEK", &efi::EFI_GLOBAL_VARIABLE)?,
            db: lists("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID)?,
            dbx: lists("dbx", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID)?,
        })
    }
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal volume: FV header (HeaderLength 0x48) + store header + the given variables.
    fn volume(vars: &[(&str, Guid, u8, &[u8])]) -> Vec<u8> {
        let mut fd = vec![0u8; 0x48];
        fd[40..44].copy_from_slice(FVH_SIGNATURE);
        fd[48..50].copy_from_slice(&0x48u16.to_le_bytes());
        fd.extend_from_slice(&efi::EFI_AUTHENTICATED_VARIABLE_GUID.0);
        fd.extend_from_slice(&0x1000u32.to_le_bytes());
        fd.extend_from_slice(&[VARIABLE_STORE_FORMATTED, 0xfe, 0, 0, 0, 0, 0, 0]);
        for (name, g, state, data) in vars {
            while !fd.len().is_multiple_of(4) {
                fd.push(0xff);
            }
            let n: Vec<u8> = name
                .encode_utf16()
                .chain([0])
                .flat_map(|u| u.to_le_bytes())
                .collect();
            let mut h = vec![0u8; AUTH_VARIABLE_HEADER_SIZE];
            h[..2].copy_from_slice(&VARIABLE_DATA.to_le_bytes());
            h[2] = *state;
            h[4..8].copy_from_slice(&0x27u32.to_le_bytes());
            h[36..40].copy_from_slice(&(n.len() as u32).to_le_bytes());
            h[40..44].copy_from_slice(&(data.len() as u32).to_le_bytes());
            h[44..60].copy_from_slice(&g.0);
            fd.extend(h);
            fd.extend(n);
            fd.extend_from_slice(data);
        }
        fd.resize(0x48 + 0x1000, 0xff);
        fd
    }

    #[test]
    fn live_copy_wins_over_deleted() {
        let fd = volume(&[
            ("db", efi::EFI_IMAGE_SECURITY_DATABASE_GUID, 0x3c, b"old"),
            (
                "db",
                efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
                VAR_ADDED,
                b"new",
            ),
        ]);
        let s = VariableStore::parse(&fd).unwrap();
        assert_eq!(s.variables.len(), 2);
        assert_eq!(
            s.get("db", &efi::EFI_IMAGE_SECURITY_DATABASE_GUID)
                .unwrap()
                .data,
            b"new"
        );
    }

    #[test]
    fn garbage_is_rejected_with_offsets() {
        assert_eq!(VariableStore::parse(&[]), Err(VarsError::NotFirmwareVolume));
        let mut fd = volume(&[]);
        fd[48..50].copy_from_slice(&0xfff0u16.to_le_bytes());
        assert_eq!(
            VariableStore::parse(&fd),
            Err(VarsError::BadHeaderLength(0xfff0))
        );
        let mut fd = volume(&[]);
        fd[0x48] ^= 1;
        assert!(matches!(
            VariableStore::parse(&fd),
            Err(VarsError::NotAuthenticatedStore { offset: 0x48, .. })
        ));
        // A data size running past the store.
        let mut fd = volume(&[("PK", efi::EFI_GLOBAL_VARIABLE, VAR_ADDED, b"x")]);
        let v = 0x48 + VARIABLE_STORE_HEADER_SIZE;
        fd[v + 40..v + 44].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = VariableStore::parse(&fd).unwrap_err();
        assert_eq!(
            e,
            VarsError::Truncated {
                offset: v,
                what: "data",
                end: 0x48 + 0x1000
            }
        );
        // A bad list inside db.
        let fd = volume(&[(
            "db",
            efi::EFI_IMAGE_SECURITY_DATABASE_GUID,
            VAR_ADDED,
            b"xx",
        )]);
        let e = VariableStore::parse(&fd)
            .unwrap()
            .secure_boot_variables()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("variable db: signature list at offset 0"),
            "{e}"
        );
    }
}
