//! Ward's core: decode untrusted media, compute the field's signals (PDQ, MD5, SHA-1,
//! SHA-256) exactly as Meta's reference does, and match them.
//!
//! This crate is pure and synchronous: it takes bytes and returns values. It has no
//! runtime, no database and no network, so that everything above it can test it directly and
//! it can never block a server's event loop by accident.

// Index loops mirror the reference code (Meta's PDQ, libjpeg) that exactness is checked against.
#![allow(clippy::needless_range_loop)]

pub mod categories;
mod cpu;
pub mod decode;
pub mod digest;
pub mod error;
pub mod exchange;
pub mod index;
pub mod lists;
pub mod pdq;
pub mod series;
#[cfg(test)]
mod testing;
pub mod video;

pub use error::{Error, Result};
