//! One module per `tl` command group.

pub mod eventlog;
pub mod predict;
pub mod sbkeys;
pub mod sbsign;
pub mod secureboot;
