//! TPM 2.0 wire types and their codec (TPM 2.0 Library, Part 2 "Structures" and Part 3 "Commands").
//!
//! Shared by the engine (server side), the guest agent (client side) and the verifier. No crypto, no I/O.
#![forbid(unsafe_code)]

pub mod attest;
pub mod codes;
pub mod codes_ea;
pub mod constants;
pub mod header;
pub mod nv;
pub mod object;
pub mod reader;
pub mod types;

pub use codes::*;
pub use codes_ea::*;
pub use constants::*;
pub use header::{
    CommandHeader, HEADER_SIZE, ResponseHeader, error_response, shutdown_command, startup_command,
};
pub use nv::{TpmNt, TpmaNv, TpmsNvPublic};
pub use reader::{CodecError, Reader, Writer};
pub use types::{TpmlDigestValues, TpmlPcrSelection, TpmsAuthCommand, TpmsPcrSelection, TpmtHa};
