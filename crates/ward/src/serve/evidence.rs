//! Evidence at rest: what a reported URL served is sealed with XChaCha20-Poly1305 before it
//! reaches the store, under a key kept outside the database (a file beside it, 0600), and
//! bound to its URL's id so that sealed bytes cannot be passed off as another URL's.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ward_store::UrlId;

/// The key evidence is sealed with.
pub struct EvidenceKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for EvidenceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvidenceKey(..)")
    }
}

impl EvidenceKey {
    pub fn from_bytes(key: &[u8; 32]) -> EvidenceKey {
        EvidenceKey {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The key in `path` (32 bytes), made there (readable by its owner only) when the file
    /// does not exist. Every node of a deployment must be given the same file.
    pub fn load_or_create(path: &Path) -> anyhow::Result<EvidenceKey> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    anyhow!(
                        "{}: an evidence key is 32 bytes, not {}",
                        path.display(),
                        bytes.len()
                    )
                })?;
                Ok(EvidenceKey::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key)
                    .map_err(|e| anyhow!("the system's random source failed: {e}"))?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(path)
                    .with_context(|| format!("creating the evidence key {}", path.display()))?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok(EvidenceKey::from_bytes(&key))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Seals a secret the deployment keeps (an exchange's credentials) for `context` (what
    /// it is, e.g. `exchange:ncmec`): the nonce, then the ciphertext with its tag.
    pub fn seal_secret(&self, context: &str, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
        let aad = format!("ward-secret:{context}");
        let (mut sealed, ciphertext) =
            self.encrypt(aad.as_bytes(), secret, "sealing a secret failed")?;
        sealed.extend(ciphertext);
        Ok(sealed)
    }

    /// Opens what [`EvidenceKey::seal_secret`] sealed for `context`; fails for another key,
    /// another context, or altered bytes.
    pub fn open_secret(&self, context: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < NONCE {
            bail!("the secret for {context} is cut short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE);
        let aad = format!("ward-secret:{context}");
        self.decrypt(aad.as_bytes(), nonce, ciphertext)
            .map_err(|_| anyhow!("the secret for {context} does not open with this key"))
    }

    /// Seals `bytes` served by URL `url`: a random nonce, and the ciphertext with its tag.
    pub fn seal(&self, url: UrlId, bytes: &[u8]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        self.encrypt(&url.0.to_be_bytes(), bytes, "sealing evidence failed")
    }

    /// Opens what [`EvidenceKey::seal`] sealed for `url`; fails for another key, another
    /// URL, or altered bytes.
    pub fn open(&self, url: UrlId, nonce: &[u8], ciphertext: &[u8]) -> anyhow::Result<Vec<u8>> {
        if nonce.len() != NONCE {
            bail!("evidence of URL {url} has a nonce of {} bytes", nonce.len());
        }
        self.decrypt(&url.0.to_be_bytes(), nonce, ciphertext)
            .map_err(|_| anyhow!("evidence of URL {url} does not open with this key"))
    }

    /// `msg` encrypted under a fresh random nonce and bound to `aad`: the nonce, and the
    /// ciphertext with its tag (`failed` says what went wrong if encryption does).
    fn encrypt(&self, aad: &[u8], msg: &[u8], failed: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        let mut nonce = vec![0u8; NONCE];
        getrandom::fill(&mut nonce)
            .map_err(|e| anyhow!("the system's random source failed: {e}"))?;
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg, aad })
            .map_err(|_| anyhow!("{failed}"))?;
        Ok((nonce, ciphertext))
    }

    /// What [`EvidenceKey::encrypt`] sealed with `aad` (the nonce is `NONCE` bytes).
    fn decrypt(&self, aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, ()> {
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| ())
    }
}

/// Bytes of an XChaCha20-Poly1305 nonce.
const NONCE: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_evidence_opens_only_with_its_key_and_url() {
        let key = EvidenceKey::from_bytes(&[1; 32]);
        let other = EvidenceKey::from_bytes(&[2; 32]);
        let bytes = b"\x89PNG benign test bytes".to_vec();
        let (nonce, sealed) = key.seal(UrlId(7), &bytes).unwrap();
        assert_eq!(nonce.len(), 24);
        assert!(!sealed.windows(4).any(|w| w == b"PNG "), "not in clear");
        assert_eq!(key.open(UrlId(7), &nonce, &sealed).unwrap(), bytes);
        assert!(key.open(UrlId(8), &nonce, &sealed).is_err());
        assert!(other.open(UrlId(7), &nonce, &sealed).is_err());
        let mut altered = sealed.clone();
        altered[0] ^= 1;
        assert!(key.open(UrlId(7), &nonce, &altered).is_err());
        assert!(key.open(UrlId(7), &nonce[..12], &sealed).is_err());
        // Two seals of the same bytes differ (a fresh nonce each time).
        assert_ne!(key.seal(UrlId(7), &bytes).unwrap().1, sealed);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let key = EvidenceKey::from_bytes(&[1; 32]);
        let other = EvidenceKey::from_bytes(&[2; 32]);
        let secret = br#"{"user":"u","password":"hunter2"}"#;
        let sealed = key.seal_secret("exchange:ncmec", secret).unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "not in clear");
        assert_eq!(key.open_secret("exchange:ncmec", &sealed).unwrap(), secret);
        assert!(key.open_secret("exchange:stop_ncii", &sealed).is_err());
        assert!(other.open_secret("exchange:ncmec", &sealed).is_err());
        assert!(key.open_secret("exchange:ncmec", &sealed[..20]).is_err());
        let mut altered = sealed.clone();
        altered[30] ^= 1;
        assert!(key.open_secret("exchange:ncmec", &altered).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/evidence.key");
        let made = EvidenceKey::load_or_create(&path).unwrap();
        let (nonce, sealed) = made.seal(UrlId(1), b"x").unwrap();
        let again = EvidenceKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(UrlId(1), &nonce, &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        let error = EvidenceKey::load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("32 bytes"), "{error}");
    }
}
