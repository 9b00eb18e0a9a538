//! TPM 2.0 wire types and their codec (TPM 2.0 Library, Part 2 "Structures" and Part 3 "Commands").
//!
//! Shared by the engine (server side), the guest agent (client side) and the verifier. No crypto, no I/O.
#![forbid(unsafe_code)]
