//! SBAT: the `.sbat` section's CSV and shim's SbatLevel (rhboot/shim SBAT.md, sbat.c,
//! pe.c `verify_sbat_section`; reference/boot-chain.md §4).

use super::le::rd32;

/// Why SBAT data could not be parsed, or revokes an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbatError {
    /// A line has fewer than the two mandatory fields.
    #[error("{what} line {line} (byte {offset}): expected component_name,component_generation")]
    MissingFields {
        /// `.sbat` or SbatLevel.
        what: &'static str,
        /// 1-based line.
        line: usize,
        /// Byte offset of the line.
        offset: usize,
    },
    /// The generation is not a decimal number.
    #[error("{what} line {line} (byte {offset}): component_generation {value:?} is not a number")]
    BadGeneration {
        /// `.sbat` or SbatLevel.
        what: &'static str,
        /// 1-based line.
        line: usize,
        /// Byte offset of the line.
        offset: usize,
        /// The text.
        value: String,
    },
    /// Not UTF-8.
    #[error("{what}: not UTF-8 at byte {offset}")]
    NotUtf8 {
        /// `.sbat` or SbatLevel.
        what: &'static str,
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// The first line is not the `sbat` self-entry.
    #[error("{what}: first entry is {found:?}, not \"sbat\"")]
    NoSbatHeader {
        /// `.sbat` or SbatLevel.
        what: &'static str,
        /// Found name.
        found: String,
    },
    /// A `.sbatlevel` section header is inconsistent.
    #[error(".sbatlevel offset {offset}: {why}")]
    BadLevelSection {
        /// Offset in the section.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A component generation is below the level.
    #[error("{component} generation {generation} is revoked (SbatLevel requires {required})")]
    Revoked {
        /// Component name.
        component: String,
        /// The image's generation.
        generation: u32,
        /// Minimum allowed.
        required: u32,
    },
}

/// One CSV entry (`component_name,component_generation,...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbatEntry {
    /// `component_name`.
    pub component_name: String,
    /// `component_generation`.
    pub component_generation: u32,
    /// The remaining (vendor) fields, as written.
    pub vendor: Vec<String>,
}

fn parse_csv(what: &'static str, data: &[u8]) -> Result<Vec<SbatEntry>, SbatError> {
    // Sections are NUL-padded to their file alignment.
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = std::str::from_utf8(&data[..end]).map_err(|e| SbatError::NotUtf8 {
        what,
        offset: e.valid_up_to(),
    })?;
    let mut out = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split('\n').enumerate() {
        let here = offset;
        offset += line.len() + 1;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let mut f = line.split(',');
        let (Some(name), Some(generation)) = (f.next(), f.next()) else {
            return Err(SbatError::MissingFields {
                what,
                line: i + 1,
                offset: here,
            });
        };
        let component_generation = generation.parse().map_err(|_| SbatError::BadGeneration {
            what,
            line: i + 1,
            offset: here,
            value: generation.to_owned(),
        })?;
        out.push(SbatEntry {
            component_name: name.to_owned(),
            component_generation,
            vendor: f.map(str::to_owned).collect(),
        });
    }
    match out.first() {
        Some(e) if e.component_name == "sbat" => Ok(out),
        other => Err(SbatError::NoSbatHeader {
            what,
            found: other.map(|e| e.component_name.clone()).unwrap_or_default(),
        }),
    }
}

/// An image's `.sbat` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbat {
    /// Entries, the `sbat` self-entry first.
    pub entries: Vec<SbatEntry>,
}

impl Sbat {
    /// Parses a `.sbat` section.
    pub fn parse(section: &[u8]) -> Result<Self, SbatError> {
        Ok(Sbat {
            entries: parse_csv(".sbat", section)?,
        })
    }
}

/// The SbatLevel variable: minimum generations per component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbatLevel {
    /// Entries; the first is `sbat,1,<datestamp>`.
    pub entries: Vec<SbatEntry>,
}

impl SbatLevel {
    /// Parses an SbatLevel value such as `sbat,1,2025021800\nshim,4\ngrub,5\n`.
    pub fn parse(text: &[u8]) -> Result<Self, SbatError> {
        Ok(SbatLevel {
            entries: parse_csv("SbatLevel", text)?,
        })
    }

    /// shim's `.sbatlevel` section: `u32 version=0, previous_off, latest_off` (offsets from byte
    /// 4), then two NUL-terminated levels. Returns (previous, latest).
    pub fn from_section(section: &[u8]) -> Result<(Self, Self), SbatError> {
        let (previous, latest) = Self::section_levels(section)?;
        Ok((Self::parse(previous)?, Self::parse(latest)?))
    }

    /// The raw (previous, latest) levels of a `.sbatlevel` section, each from its offset to the
    /// section end (the level text runs to its terminating NUL).
    pub fn section_levels(section: &[u8]) -> Result<(&[u8], &[u8]), SbatError> {
        let bad = |offset, why| SbatError::BadLevelSection { offset, why };
        if section.len() < 12 {
            return Err(bad(0, "header truncated"));
        }
        let rd = |at: usize| rd32(section, at) as usize;
        if rd(0) != 0 {
            return Err(bad(0, "version is not 0"));
        }
        let get = |field: usize| {
            let off = rd(field).checked_add(4).filter(|&o| o < section.len());
            off.map(|o| &section[o..])
                .ok_or(bad(field, "level offset outside the section"))
        };
        Ok((get(4)?, get(8)?))
    }

    /// Checks an image's `.sbat` against this level.
    pub fn check(&self, sbat: &Sbat) -> Result<(), SbatError> {
        for req in &self.entries {
            for e in &sbat.entries {
                if e.component_name == req.component_name
                    && e.component_generation < req.component_generation
                {
                    return Err(SbatError::Revoked {
                        component: e.component_name.clone(),
                        generation: e.component_generation,
                        required: req.component_generation,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRUB: &[u8] = b"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\ngrub,4,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\n\0\0\0";

    #[test]
    fn level_check() {
        let s = Sbat::parse(GRUB).unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[1].vendor.len(), 4);
        let ok = SbatLevel::parse(b"sbat,1,2022052400\ngrub,2\n").unwrap();
        ok.check(&s).unwrap();
        let revoke = SbatLevel::parse(b"sbat,1,2023012900\nshim,2\ngrub,5\n").unwrap();
        assert_eq!(
            revoke.check(&s),
            Err(SbatError::Revoked {
                component: "grub".into(),
                generation: 4,
                required: 5
            })
        );
    }

    #[test]
    fn level_section() {
        let mut sec = vec![0, 0, 0, 0, 8, 0, 0, 0, 0x19, 0, 0, 0];
        sec.extend_from_slice(b"sbat,1,1\ngrub,3\n\0");
        sec.extend_from_slice(b"sbat,1,2\ngrub,6\n\0");
        assert_eq!(sec.len(), 4 + 0x19 + 17);
        let (prev, latest) = SbatLevel::from_section(&sec).unwrap();
        assert_eq!(prev.entries[1].component_generation, 3);
        assert_eq!(latest.entries[1].component_generation, 6);
        sec[8] = 0xff;
        assert!(matches!(
            SbatLevel::from_section(&sec),
            Err(SbatError::BadLevelSection { offset: 8, .. })
        ));
        assert!(SbatLevel::from_section(&sec[..5]).is_err());
    }

    #[test]
    fn bad_csv() {
        assert!(matches!(
            Sbat::parse(b"sbat\n"),
            Err(SbatError::MissingFields {
                line: 1,
                offset: 0,
                ..
            })
        ));
        assert!(matches!(
            Sbat::parse(b"sbat,1\ngrub,x\n"),
            Err(SbatError::BadGeneration {
                line: 2,
                offset: 7,
                ..
            })
        ));
        assert!(matches!(
            Sbat::parse(b"grub,1\n"),
            Err(SbatError::NoSbatHeader { .. })
        ));
        assert!(matches!(
            Sbat::parse(b""),
            Err(SbatError::NoSbatHeader { .. })
        ));
        assert!(matches!(
            Sbat::parse(b"sbat,1\n\xff"),
            Err(SbatError::NotUtf8 { offset: 7, .. })
        ));
    }
}
