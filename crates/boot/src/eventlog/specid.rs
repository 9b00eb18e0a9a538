//! The log header: `TCG_PCR_EVENT` carrying `TCG_EfiSpecIdEvent` (PFP §10.2.1, §10.4.5.1).

use serde::Serialize;

use super::alg::TpmAlgId;
use super::error::EventLogErrorKind;
use super::event_type::EventType;
use super::guid::hex;
use super::reader::Reader;

/// `Spec ID Event03\0`: the signature that makes a log crypto-agile.
pub const SPEC_ID_EVENT03: &[u8; 16] = b"Spec ID Event03\0";

/// `TCG_PCR_EVENT` (PFP §10.2.1): the SHA-1 event format, used for the header and by legacy logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcgPcrEvent {
    /// `pcrIndex`.
    pub pcr_index: u32,
    /// `eventType`.
    pub event_type: EventType,
    /// `digest` (SHA-1).
    pub digest: [u8; 20],
    /// `event[eventDataSize]`.
    pub event: Vec<u8>,
}

/// `TCG_EfiSpecIdEventAlgorithmSize` (PFP §10.4.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcgEfiSpecIdEventAlgorithmSize {
    /// `algorithmId`.
    pub algorithm_id: TpmAlgId,
    /// `digestSize`.
    pub digest_size: u16,
}

/// `TCG_EfiSpecIdEvent` (PFP §10.4.5.1): which banks every later event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecIdEvent {
    /// `signature`, normally [`SPEC_ID_EVENT03`].
    #[serde(serialize_with = "signature")]
    pub signature: [u8; 16],
    /// `platformClass` (0 client, 1 server).
    pub platform_class: u32,
    /// `specVersionMinor`.
    pub spec_version_minor: u8,
    /// `specVersionMajor`.
    pub spec_version_major: u8,
    /// `specErrata`.
    pub spec_errata: u8,
    /// `uintnSize`: 1 for UINT32, 2 for UINT64.
    pub uintn_size: u8,
    /// `digestSizes[numberOfAlgorithms]`.
    pub digest_sizes: Vec<TcgEfiSpecIdEventAlgorithmSize>,
    /// `vendorInfo[vendorInfoSize]`.
    #[serde(serialize_with = "hex")]
    pub vendor_info: Vec<u8>,
}

fn signature<S: serde::Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&String::from_utf8_lossy(b).trim_end_matches('\0'))
}

impl SpecIdEvent {
    /// The header OVMF writes: platform class 0, v2.0, UINT64, the given banks, no vendor info.
    pub fn new(banks: &[TpmAlgId]) -> Self {
        Self {
            signature: *SPEC_ID_EVENT03,
            platform_class: 0,
            spec_version_minor: 0,
            spec_version_major: 2,
            spec_errata: 0,
            uintn_size: 2,
            digest_sizes: banks
                .iter()
                .map(|&a| TcgEfiSpecIdEventAlgorithmSize {
                    algorithm_id: a,
                    digest_size: a
                        .digest_size()
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(0),
                })
                .collect(),
            vendor_info: Vec::new(),
        }
    }

    /// Size in bytes of a UEFI `UINTN` in this log's event data.
    pub fn uintn_bytes(&self) -> usize {
        if self.uintn_size == 1 { 4 } else { 8 }
    }

    /// The digest size declared for `alg`.
    pub fn digest_size(&self, alg: TpmAlgId) -> Option<usize> {
        self.digest_sizes
            .iter()
            .find(|a| a.algorithm_id == alg)
            .map(|a| usize::from(a.digest_size))
    }

    /// Parses the header event's data. `after` is the log following the event: some writers put
    /// `vendorInfo` beyond `eventDataSize` and tpm2_eventlog reads it from there; so do we, and
    /// return how many bytes were taken from `after`.
    pub(crate) fn parse(
        data: &[u8],
        base: usize,
        after: &[u8],
    ) -> Result<(Self, usize), EventLogErrorKind> {
        let mut r = Reader::new(data, base);
        let signature = r.fixed::<16>("signature")?;
        let platform_class = r.u32("platformClass")?;
        let spec_version_minor = r.u8("specVersionMinor")?;
        let spec_version_major = r.u8("specVersionMajor")?;
        let spec_errata = r.u8("specErrata")?;
        let uintn_size = r.u8("uintnSize")?;
        if uintn_size != 1 && uintn_size != 2 {
            return Err(EventLogErrorKind::UintnSize(uintn_size));
        }
        let count = r.u32("numberOfAlgorithms")?;
        if count == 0 {
            return Err(EventLogErrorKind::NoAlgorithms);
        }
        let need = u64::from(count) * 4;
        if need > r.left() as u64 {
            return Err(EventLogErrorKind::AlgorithmCount {
                count,
                need,
                left: r.left(),
            });
        }
        let mut digest_sizes: Vec<TcgEfiSpecIdEventAlgorithmSize> = Vec::new();
        for _ in 0..count {
            let alg = TpmAlgId(r.u16("algorithmId")?);
            let size = r.u16("digestSize")?;
            if digest_sizes.iter().any(|a| a.algorithm_id == alg) {
                return Err(EventLogErrorKind::DuplicateAlgorithm { alg });
            }
            let expected = alg.digest_size();
            if size == 0 || expected.is_some_and(|e| e != usize::from(size)) {
                return Err(EventLogErrorKind::DigestSize {
                    alg,
                    declared: size,
                    expected: expected.map_or("non-zero".into(), |e| e.to_string()),
                });
            }
            digest_sizes.push(TcgEfiSpecIdEventAlgorithmSize {
                algorithm_id: alg,
                digest_size: size,
            });
        }
        let vendor_size = usize::from(r.u8("vendorInfoSize")?);
        let inside = vendor_size.min(r.left());
        let mut vendor_info = r.bytes(inside, "vendorInfo")?.to_vec();
        let outside = vendor_size - inside;
        if outside > 0 {
            let mut a = Reader::new(after, base + data.len());
            vendor_info.extend_from_slice(a.bytes(outside, "vendorInfo")?);
        }
        Ok((
            Self {
                signature,
                platform_class,
                spec_version_minor,
                spec_version_major,
                spec_errata,
                uintn_size,
                digest_sizes,
                vendor_info,
            },
            outside,
        ))
    }

    /// The event data bytes (`TCG_EfiSpecIdEvent` with all of `vendorInfo` inside).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(29 + 4 * self.digest_sizes.len() + self.vendor_info.len());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.platform_class.to_le_bytes());
        out.extend_from_slice(&[
            self.spec_version_minor,
            self.spec_version_major,
            self.spec_errata,
            self.uintn_size,
        ]);
        let n = u32::try_from(self.digest_sizes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for a in &self.digest_sizes {
            out.extend_from_slice(&a.algorithm_id.0.to_le_bytes());
            out.extend_from_slice(&a.digest_size.to_le_bytes());
        }
        // vendorInfoSize is a UINT8; longer vendor info cannot be represented and is cut.
        let v = &self.vendor_info[..self.vendor_info.len().min(255)];
        out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(v);
        out
    }
}
