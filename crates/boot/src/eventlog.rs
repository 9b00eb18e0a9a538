//! TCG PC Client event logs (PFP §10): parse, decode, check digests, replay, write.
//!
//! Two formats exist: the legacy SHA-1 log (every event a `TCG_PCR_EVENT`) and the crypto-agile
//! log (a `TCG_PCR_EVENT` header carrying `Spec ID Event03`, then `TCG_PCR_EVENT2`s with one
//! digest per bank). [`EventLog::parse`] keeps every byte, so [`EventLog::write`] reproduces the
//! input exactly; event data is decoded on demand by [`TcgPcrEvent2::decode`].

mod alg;
mod data;
mod devpath;
mod error;
mod event_type;
mod guid;
mod parse;
mod reader;
mod record;
mod replay;
mod specid;
#[cfg(test)]
mod tests;
mod text;
mod variable;
mod verify;

pub use alg::TpmAlgId;
pub use data::{
    EfiConfigurationTable, EfiPartitionEntry, EfiPartitionTableHeader, EventData, Sp800155Event,
    StartupLocalityEvent, TcgPcClientTaggedEvent, UefiGptData, UefiHandoffTablePointers,
    UefiHandoffTablePointers2, UefiImageLoadEvent, UefiPlatformFirmwareBlob,
    UefiPlatformFirmwareBlob2,
};
pub use devpath::render_device_path;
pub use error::{DataError, DataErrorKind, EventLogError, EventLogErrorKind, Truncated};
pub use event_type::EventType;
pub use guid::{Guid, Hex};
pub use record::{TcgPcrEvent2, TpmtHa};
pub use replay::{PcrBank, Replay};
pub use specid::{SPEC_ID_EVENT03, SpecIdEvent, TcgEfiSpecIdEventAlgorithmSize, TcgPcrEvent};
pub use variable::{
    EfiLoadOption, EfiSignatureData, EfiSignatureList, UefiVariableData, VariableValue,
};
pub use verify::{DigestCheck, DigestRule};

/// The crypto-agile header: the `TCG_PCR_EVENT` that carries the Spec ID event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIdHeader {
    /// The header event as logged (its `event` holds `eventDataSize` bytes).
    pub event: TcgPcrEvent,
    /// Its data, decoded.
    pub spec_id: SpecIdEvent,
    /// How many trailing bytes of `spec_id.vendor_info` the writer placed after the event instead
    /// of inside `eventDataSize` (tpm2-tools' `specid-vendordata.bin` does this); normally 0.
    pub vendor_info_outside: usize,
}

/// A parsed event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    /// The Spec ID header of a crypto-agile log; `None` for a legacy SHA-1 log.
    pub header: Option<SpecIdHeader>,
    /// The events after the header, in log order.
    pub events: Vec<TcgPcrEvent2>,
}

/// Why a log could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A legacy log's event must carry exactly one 20-byte SHA-1 digest.
    #[error("event {0}: a legacy SHA-1 log needs exactly one 20-byte sha1 digest per event")]
    LegacyDigest(usize),
    /// A crypto-agile event's digest does not have the size its bank declares.
    #[error("event {event}: {alg} digest has {len} bytes, the Spec ID event declares {declared:?}")]
    DigestSize {
        /// Event number.
        event: usize,
        /// Bank.
        alg: TpmAlgId,
        /// Digest length.
        len: usize,
        /// Declared size, if the bank is declared at all.
        declared: Option<usize>,
    },
    /// A size does not fit its 32-bit field.
    #[error("event {0}: more than 4 GiB of event data")]
    TooLarge(usize),
    /// `vendor_info_outside` is more than the vendor info.
    #[error("vendor_info_outside exceeds the vendor info")]
    VendorInfoOutside,
}

impl EventLog {
    /// A new, empty crypto-agile log with the given banks (as OVMF starts one).
    pub fn new(banks: &[TpmAlgId]) -> Self {
        let spec_id = SpecIdEvent::new(banks);
        Self {
            header: Some(SpecIdHeader {
                event: TcgPcrEvent {
                    pcr_index: 0,
                    event_type: EventType::EV_NO_ACTION,
                    digest: [0; 20],
                    event: spec_id.to_bytes(),
                },
                spec_id,
                vendor_info_outside: 0,
            }),
            events: Vec::new(),
        }
    }

    /// Parses a whole log (legacy or crypto-agile); trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, EventLogError> {
        parse::parse(bytes)
    }

    /// Serialises the log; `EventLog::parse(b)?.write()? == b` for every log `parse` accepts.
    pub fn write(&self) -> Result<Vec<u8>, WriteError> {
        parse::write(self)
    }

    /// The Spec ID event, for crypto-agile logs.
    pub fn spec_id(&self) -> Option<&SpecIdEvent> {
        self.header.as_ref().map(|h| &h.spec_id)
    }

    /// The banks this log carries (only sha1 for a legacy log).
    pub fn banks(&self) -> Vec<TpmAlgId> {
        match self.spec_id() {
            Some(s) => s.digest_sizes.iter().map(|a| a.algorithm_id).collect(),
            None => vec![TpmAlgId::SHA1],
        }
    }

    /// The number tpm2_eventlog gives `events[index]` (the Spec ID header is event 0).
    pub fn event_number(&self, index: usize) -> usize {
        index + usize::from(self.header.is_some())
    }

    /// Bytes of a `UINTN` in event data (the Spec ID's `uintnSize`; 8 for legacy logs).
    pub fn uintn_bytes(&self) -> usize {
        self.spec_id().map_or(8, SpecIdEvent::uintn_bytes)
    }

    /// Replays every bank we can compute into PCR values.
    pub fn replay(&self) -> Replay {
        replay::replay(self)
    }

    /// Checks, for every event, whether its data hashes to its digests (PFP and the rules of
    /// `shared/reference/boot-chain.md` §6).
    pub fn check_digests(&self) -> Vec<DigestCheck> {
        self.events.iter().map(verify::check).collect()
    }
}

impl TcgPcrEvent2 {
    /// Decodes the event data by event type; `uintn_bytes` comes from [`EventLog::uintn_bytes`].
    pub fn decode(&self, uintn_bytes: usize) -> Result<EventData, DataError> {
        data::decode(self.event_type, self.pcr_index, &self.event, uintn_bytes)
    }
}
