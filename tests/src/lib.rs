//! Shared harness for the cross-crate and VM tests in `tests/tests/`.
#![forbid(unsafe_code)]
