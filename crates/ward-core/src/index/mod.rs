//! Matching: here is a hash, give me the stored hashes near it (PDQ, by Hamming distance) or
//! equal to it (MD5, SHA-1, SHA-256), each with the id the caller maps to content.
//!
//! Indexes are derived state: the store is the truth, and an index can always be rebuilt
//! from it (or reloaded from a snapshot).

pub mod digests;
mod pdq;

pub use digests::{DigestSet, Md5Set, Sha1Set, Sha256Set};
pub use pdq::{PdqIndex, PdqMatch};
