//! Authentication and authorisation: the bearer key of a request, the caller it names, and
//! what each role may do.
//!
//! Keys are looked up in the store by their digest and cached, so that a busy matching
//! client does not cost a database round trip per request. A revocation reaches every node
//! through the store's feed of revocations, which each node reads as often as the index feed
//! (`follow`, every [`super::FOLLOW_INTERVAL`]), forgetting the keys named: a revoked key is
//! refused everywhere within that interval. A node that has not read that feed for
//! [`TRUSTED_FOR`] (the store out of reach, say) asks the store for every key instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest as _, Sha256};
use ward_store::{Actor, ApiKey, Bank, KeyId, OrgId, Role, Store};

use super::SharedState;
use super::error::ApiError;

/// How long a key found in the store is kept at most (revocations do not wait for it).
const KEY_TTL: Duration = Duration::from_secs(600);
/// How long after the last read of the revocations the cached keys are trusted.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);
/// At most this many keys are cached (then the cache is emptied: keys are few).
const KEY_CACHE_SIZE: usize = 10_000;
/// Revocations read at a time.
const REVOCATIONS_PAGE: u32 = 1000;

/// What the store said of a secret, and when.
type CachedKey = (Option<Arc<ApiKey>>, Instant);

/// Keys recently found in the store, by the SHA-256 of their secret.
#[derive(Debug)]
pub struct KeyCache {
    keys: RwLock<HashMap<[u8; 32], CachedKey>>,
    /// How many times keys were forgotten: a lookup that overlapped a forgetting is not kept
    /// (it may have read the key before its revocation).
    forgotten: AtomicU64,
    /// The last revocation read.
    cursor: AtomicI64,
    /// When the revocations were last read to the end.
    read_at: Mutex<Option<Instant>>,
}

impl Default for KeyCache {
    fn default() -> KeyCache {
        KeyCache {
            keys: RwLock::default(),
            forgotten: AtomicU64::new(0),
            cursor: AtomicI64::new(0),
            read_at: Mutex::new(None),
        }
    }
}

impl KeyCache {
    async fn authenticate(
        &self,
        store: &impl Store,
        secret: &str,
    ) -> Result<Option<Arc<ApiKey>>, ApiError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if self.trusted()
            && let Some((key, at)) = self.keys.read().expect("lock").get(&digest)
            && at.elapsed() < KEY_TTL
        {
            return Ok(key.clone());
        }
        let forgotten = self.forgotten.load(Ordering::Acquire);
        let key = store.authenticate(secret).await?.map(Arc::new);
        let mut keys = self.keys.write().expect("lock");
        if self.forgotten.load(Ordering::Acquire) == forgotten {
            if keys.len() >= KEY_CACHE_SIZE {
                keys.clear();
            }
            keys.insert(digest, (key.clone(), Instant::now()));
        }
        Ok(key)
    }

    /// Whether the revocations were read recently enough for cached keys to be used.
    fn trusted(&self) -> bool {
        self.read_at
            .lock()
            .expect("lock")
            .is_some_and(|at| at.elapsed() < TRUSTED_FOR)
    }

    /// Reads the revocations made since the last read and forgets the keys they name.
    pub async fn follow(&self, store: &impl Store) -> Result<usize, ward_store::StoreError> {
        let started = Instant::now();
        let mut forgotten = 0;
        loop {
            let cursor = self.cursor.load(Ordering::Acquire);
            let page = store.key_revocations(cursor, REVOCATIONS_PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else {
                break;
            };
            // The first read names every key ever revoked: one of them may have been cached
            // before it (untrusted until now, but kept).
            let revoked: Vec<KeyId> = page.iter().map(|r| r.key).collect();
            self.forget(&revoked);
            forgotten += revoked.len();
            self.cursor.store(last, Ordering::Release);
            if page.len() < REVOCATIONS_PAGE as usize {
                break;
            }
        }
        *self.read_at.lock().expect("lock") = Some(started);
        Ok(forgotten)
    }

    /// Forgets the cached keys with these ids.
    pub fn forget(&self, revoked: &[KeyId]) {
        let mut keys = self.keys.write().expect("lock");
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        keys.retain(|_, (key, _)| key.as_ref().is_none_or(|key| !revoked.contains(&key.id)));
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: Arc<ApiKey>,
}

impl Caller {
    pub fn role(&self) -> Role {
        self.key.role
    }

    pub fn org(&self) -> OrgId {
        self.key.org
    }

    pub fn actor(&self) -> Actor {
        Actor::key(&self.key)
    }

    /// Fails with 403 unless the caller has one of `roles` (admins always pass).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.key.role == Role::Admin || roles.contains(&self.key.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} key may not do this",
                self.key.role
            )))
        }
    }

    /// Whether the caller may see (and match against) `bank`: its own organisation's, and
    /// those shared with every member or with the caller's organisation by name; admins see
    /// every bank.
    pub fn sees(&self, bank: &Bank) -> bool {
        self.key.role == Role::Admin || bank.shared_with_org(self.key.org)
    }

    /// Whether the caller may change `bank` and its content: an admin, or a curator of the
    /// organisation that owns it.
    pub fn manages(&self, bank: &Bank) -> bool {
        self.key.role == Role::Admin || (self.key.role == Role::Curator && bank.org == self.key.org)
    }
}

/// Who a match is made for, deciding which banks apply.
pub trait Viewer: Sync {
    fn sees(&self, bank: &Bank) -> bool;

    /// The organisation whose matches are counted for the transparency figures (`None`:
    /// not counted).
    fn tallied_org(&self) -> Option<OrgId> {
        None
    }
}

impl Viewer for Caller {
    fn sees(&self, bank: &Bank) -> bool {
        Caller::sees(self, bank)
    }

    fn tallied_org(&self) -> Option<OrgId> {
        Some(self.key.org)
    }
}

/// The service itself matching what reported URLs serve: every bank applies (the hotline
/// runs the deployment; enabled, distance and negative banks still do).
#[derive(Clone, Copy, Debug)]
pub struct Intake;

impl Viewer for Intake {
    fn sees(&self, _bank: &Bank) -> bool {
        true
    }
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Caller, ApiError> {
        let secret = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let key = state
            .keys
            .authenticate(&state.store, secret)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Caller { key })
    }
}

/// The key of `Authorization: Bearer <key>` (HMA clients send the same header).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use ward_store::{AnyStore, Store as _};

    use super::*;

    /// A key is cached once the revocations were read, and forgotten when they name it, on
    /// a cache that did not revoke it (as another node's).
    #[tokio::test]
    async fn keys_are_cached_until_a_revocation_names_them() {
        let folder = tempfile::tempdir().unwrap();
        let store = AnyStore::open(folder.path(), None).await.unwrap();
        let actor = Actor::operator("test");
        let org = store.create_org(&actor, "Hotline").await.unwrap();
        let mut made = Vec::new();
        for label in ["kept", "revoked", "revoked before"] {
            let key = store
                .create_key(&actor, org.id, Role::Platform, label)
                .await
                .unwrap();
            made.push(key);
        }
        store.revoke_key(&actor, made[2].key.id).await.unwrap();
        let cache = KeyCache::default();
        assert!(!cache.trusted(), "not before the revocations are read");
        cache.follow(&store).await.unwrap();
        assert!(cache.trusted());
        for key in &made[..2] {
            let found = cache.authenticate(&store, &key.secret).await.unwrap();
            assert_eq!(found.unwrap().id, key.key.id);
        }
        assert!(
            cache
                .authenticate(&store, &made[2].secret)
                .await
                .unwrap()
                .is_none()
        );

        // Revoked in the store: the cache answers from memory until it reads the revocation.
        store.revoke_key(&actor, made[1].key.id).await.unwrap();
        let cached = cache.authenticate(&store, &made[1].secret).await.unwrap();
        assert!(cached.is_some(), "from memory");
        assert_eq!(cache.follow(&store).await.unwrap(), 1);
        assert!(
            cache
                .authenticate(&store, &made[1].secret)
                .await
                .unwrap()
                .is_none()
        );
        let kept = cache.authenticate(&store, &made[0].secret).await.unwrap();
        assert_eq!(kept.unwrap().id, made[0].key.id);
        assert_eq!(cache.follow(&store).await.unwrap(), 0, "nothing new");
        store.close().await;
    }
}
