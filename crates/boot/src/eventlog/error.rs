//! Why a log or an event's data could not be read.

/// A structure ended before one of its fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} at offset {at:#x} needs {need} bytes, only {left} left")]
pub struct Truncated {
    /// The field being read (spec spelling).
    pub field: &'static str,
    /// Absolute offset of the field.
    pub at: usize,
    /// Bytes the field needs.
    pub need: usize,
    /// Bytes that were left.
    pub left: usize,
}

/// A log that cannot be parsed: which event, which structure, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event} ({structure}) at offset {offset:#x}: {kind}")]
pub struct EventLogError {
    /// Event number as tpm2_eventlog counts them (the Spec ID header is event 0).
    pub event: usize,
    /// The structure being read (`TCG_PCR_EVENT`, `TCG_PCR_EVENT2`, `TCG_EfiSpecIdEvent`).
    pub structure: &'static str,
    /// Offset of the event's first byte in the log.
    pub offset: usize,
    /// What was wrong.
    pub kind: EventLogErrorKind,
}

/// What was wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventLogErrorKind {
    /// The input is empty.
    #[error("log is empty")]
    Empty,
    /// A field runs past the end of the input.
    #[error("truncated: {0}")]
    Truncated(#[from] Truncated),
    /// `eventSize`/`eventDataSize` claims more bytes than the log has.
    #[error("event size {size} exceeds the {left} bytes left")]
    EventTooLarge {
        /// The declared size.
        size: u32,
        /// Bytes left in the log.
        left: usize,
    },
    /// `digests.count` is larger than the number of banks the header declared.
    #[error("digest count {count} exceeds the {algorithms} algorithms of the Spec ID event")]
    DigestCount {
        /// The declared count.
        count: u32,
        /// Banks declared by the Spec ID event.
        algorithms: usize,
    },
    /// A digest uses an algorithm the Spec ID event did not declare.
    #[error("digest algorithm {alg} is not declared in the Spec ID event")]
    UndeclaredAlgorithm {
        /// The algorithm.
        alg: super::TpmAlgId,
    },
    /// Two digests for the same bank in one event.
    #[error("two {alg} digests in one event")]
    DuplicateDigest {
        /// The algorithm.
        alg: super::TpmAlgId,
    },
    /// `numberOfAlgorithms` is zero.
    #[error("the Spec ID event declares no algorithms")]
    NoAlgorithms,
    /// `numberOfAlgorithms` cannot fit in the event.
    #[error("numberOfAlgorithms {count} needs {need} bytes, the event has {left} left")]
    AlgorithmCount {
        /// The declared count.
        count: u32,
        /// Bytes the list needs.
        need: u64,
        /// Bytes left in the event.
        left: usize,
    },
    /// An algorithm is listed twice in the Spec ID event.
    #[error("algorithm {alg} is declared twice")]
    DuplicateAlgorithm {
        /// The algorithm.
        alg: super::TpmAlgId,
    },
    /// A known algorithm is declared with the wrong digest size, or any with size 0.
    #[error("algorithm {alg} declared with digest size {declared}, expected {expected}")]
    DigestSize {
        /// The algorithm.
        alg: super::TpmAlgId,
        /// The declared size.
        declared: u16,
        /// The size it must have.
        expected: String,
    },
    /// `uintnSize` is neither 1 (UINT32) nor 2 (UINT64).
    #[error("uintnSize {0} is neither 1 (UINT32) nor 2 (UINT64)")]
    UintnSize(u8),
}

/// Event data that does not match the structure its event type implies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{structure}: {kind}")]
pub struct DataError {
    /// The structure (`UEFI_VARIABLE_DATA`, `UEFI_IMAGE_LOAD_EVENT`, …).
    pub structure: &'static str,
    /// What was wrong; offsets are within the event data.
    pub kind: DataErrorKind,
}

/// What was wrong with an event's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataErrorKind {
    /// A field runs past the end of the event.
    #[error("truncated: {0}")]
    Truncated(#[from] Truncated),
    /// A count times an element size does not fit in the event.
    #[error("{field} {count} × {size} bytes exceeds the {left} bytes left")]
    TooMany {
        /// The count field.
        field: &'static str,
        /// Its value.
        count: u64,
        /// Size of one element.
        size: u64,
        /// Bytes left.
        left: usize,
    },
    /// An element size below the spec's minimum.
    #[error("{field} {value} is below the minimum {min}")]
    TooSmall {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The minimum.
        min: u64,
    },
    /// Bytes after the structure's end.
    #[error("{0} bytes after the end of the structure")]
    Trailing(usize),
}

impl DataError {
    pub(crate) fn new(structure: &'static str, kind: impl Into<DataErrorKind>) -> Self {
        Self {
            structure,
            kind: kind.into(),
        }
    }
}
