//! One module per `tl` command group.

pub mod eventlog;
pub mod predict;
pub mod secureboot;
