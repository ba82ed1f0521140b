//! Exact lookups of MD5, SHA-1 and SHA-256 digests.
