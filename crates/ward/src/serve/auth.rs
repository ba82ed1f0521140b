//! Authentication and authorisation: the bearer key of a request, the caller it names, and
//! what each role may do.
//!
//! Keys are looked up in the store by their digest and cached for a few seconds, so that a
//! busy matching client does not cost a database round trip per request; a revoked key
//! stops working within that time on every node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest as _, Sha256};
use ward_store::{Actor, ApiKey, Bank, OrgId, Role, Store};

use super::SharedState;
use super::error::ApiError;

/// How long a key found in the store is trusted without asking again.
const KEY_TTL: Duration = Duration::from_secs(5);
/// At most this many keys are cached (then the cache is emptied: keys are few).
const KEY_CACHE_SIZE: usize = 10_000;

/// What the store said of a secret, and when.
type CachedKey = (Option<Arc<ApiKey>>, Instant);

/// Keys recently found in the store, by the SHA-256 of their secret.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<[u8; 32], CachedKey>>,
}

impl KeyCache {
    async fn authenticate(
        &self,
        store: &impl Store,
        secret: &str,
    ) -> Result<Option<Arc<ApiKey>>, ApiError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some((key, at)) = self.keys.read().expect("lock").get(&digest)
            && at.elapsed() < KEY_TTL
        {
            return Ok(key.clone());
        }
        let key = store.authenticate(secret).await?.map(Arc::new);
        let mut keys = self.keys.write().expect("lock");
        if keys.len() >= KEY_CACHE_SIZE {
            keys.clear();
        }
        keys.insert(digest, (key.clone(), Instant::now()));
        Ok(key)
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
