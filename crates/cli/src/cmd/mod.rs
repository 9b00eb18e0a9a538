//! One module per `tl` command group.

pub mod eventlog;
pub mod secureboot;
pub mod predict;
