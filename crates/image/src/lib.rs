//! Node images: fetch Debian signed boot artifacts, build an ESP and an initrd.
#![forbid(unsafe_code)]
