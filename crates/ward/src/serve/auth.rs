//! Authentication and authorisation: the bearer key of a request, the caller it names, and
//! what each role of each organisation may see and do ([`Member`]: the one place that
//! decides it, for the API, the HMA routes, the analyst's pages and `ward` commands alike).
//!
//! Keys are looked up in the store by their digest and cached, so that a busy matching
//! client does not cost a database round trip per request. A revocation reaches every node
//! through the store's feed of revocations, which each node reads as often as the index feed
//! (`follow`, every [`super::FOLLOW_INTERVAL`]), forgetting the keys named: a revoked key is
//! refused everywhere within that interval. A node that has not read that feed for
//! [`TRUSTED_FOR`] (the store out of reach, say) asks the store for every key instead.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest as _, Sha256};
use ward_store::{
    Actor, ApiKey, AuditScope, Bank, BankId, BankScope, KeyId, OrgId, Role, Store, StoreError, User,
};

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
    /// Keys authenticated since their use was last reported ([`KeyCache::take_used`]).
    used: Mutex<HashSet<KeyId>>,
}

impl Default for KeyCache {
    fn default() -> KeyCache {
        KeyCache {
            keys: RwLock::default(),
            forgotten: AtomicU64::new(0),
            cursor: AtomicI64::new(0),
            read_at: Mutex::new(None),
            used: Mutex::default(),
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
            if let Some(key) = key {
                self.note_use(key.id);
            }
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
        drop(keys);
        if let Some(key) = &key {
            self.note_use(key.id);
        }
        Ok(key)
    }

    fn note_use(&self, id: KeyId) {
        let mut used = self.used.lock().expect("lock");
        if used.len() < KEY_CACHE_SIZE {
            used.insert(id);
        }
    }

    /// The keys authenticated since the last call, for the store to record their use.
    pub fn take_used(&self) -> Vec<KeyId> {
        std::mem::take(&mut *self.used.lock().expect("lock"))
            .into_iter()
            .collect()
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

/// Someone acting for an organisation in a role: an API key's holder ([`Caller`]), a user
/// signed in to the analyst's pages, or a `ward` command acting for `--org`. What a member
/// may see and change is decided here and only here: which banks it sees (and so which
/// content, series and decisions, through [`Member::bank_scope`], the scope the store's
/// reads take), which it manages, which bank a name means to it, and whose audit events and
/// figures it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub org: OrgId,
    pub role: Role,
}

/// A bank name that means several banks to a member: it has none of that name, and sees
/// several of other organisations (their ids, which it may use instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmbiguousName {
    pub name: String,
    pub banks: Vec<BankId>,
}

impl std::fmt::Display for AmbiguousName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.banks.iter().map(ToString::to_string).collect();
        write!(
            f,
            "{} banks you can see are named {:?} (ids {}) and none is your organisation's: \
             name the bank by its id",
            self.banks.len(),
            self.name,
            ids.join(", ")
        )
    }
}

impl Member {
    /// Whether it may see (and match against) `bank`: its own organisation's, and those
    /// shared with every member or with its organisation by name; admins see every bank.
    pub fn sees(&self, bank: &Bank) -> bool {
        self.role == Role::Admin || bank.shared_with_org(self.org)
    }

    /// Whether it may change `bank` and its content: an admin, or a curator or the
    /// administrator of the organisation that owns it.
    pub fn manages(&self, bank: &Bank) -> bool {
        self.role == Role::Admin
            || (matches!(self.role, Role::Curator | Role::OrgAdmin) && bank.org == self.org)
    }

    /// Whether it administers `org`'s keys and users: the deployment's admins, and `org`'s
    /// own administrators.
    pub fn administers(&self, org: OrgId) -> bool {
        self.role == Role::Admin || (self.role == Role::OrgAdmin && org == self.org)
    }

    /// Whether it reads the feedback given to `bank`'s exchange on its content: an admin,
    /// or a member of the organisation that owns it (only its opinions are given).
    pub fn reads_feedback(&self, bank: &Bank) -> bool {
        self.role == Role::Admin || bank.org == self.org
    }

    /// The banks whose content it sees, as the scope the store's reads of content take
    /// (series, their members and counts, decisions): every bank for an admin, else those
    /// [`Member::sees`].
    pub async fn bank_scope(&self, store: &impl Store) -> Result<BankScope, StoreError> {
        if self.role == Role::Admin {
            return Ok(BankScope::All);
        }
        let banks = store.banks().await?;
        Ok(BankScope::only(
            banks.iter().filter(|b| self.sees(b)).map(|b| b.id),
        ))
    }

    /// Whether it reads the whole deployment's records (every audit event, every
    /// organisation's figures): admins, and the auditors of the deployment's operator (an
    /// organisation marked so with `ward admin org operator`). Any other member reads its
    /// own organisation's.
    pub async fn reads_deployment(&self, store: &impl Store) -> Result<bool, StoreError> {
        Ok(match self.role {
            Role::Admin => true,
            Role::Auditor => store.org(self.org).await?.is_some_and(|o| o.operator),
            _ => false,
        })
    }

    /// Whose audit events it reads.
    pub async fn audit_scope(&self, store: &impl Store) -> Result<AuditScope, StoreError> {
        Ok(if self.reads_deployment(store).await? {
            AuditScope::Deployment
        } else {
            AuditScope::Org(self.org)
        })
    }

    /// Whose figures it reads when it asks for `requested` (`None`: the deployment's for a
    /// deployment-wide reader, else its own organisation's); `None` in the answer is the
    /// whole deployment. `Err` when it asks for another organisation's and may not.
    pub async fn figures_scope(
        &self,
        store: &impl Store,
        requested: Option<OrgId>,
    ) -> Result<Result<Option<OrgId>, &'static str>, StoreError> {
        if self.reads_deployment(store).await? {
            return Ok(Ok(requested));
        }
        Ok(match requested {
            None => Ok(Some(self.org)),
            Some(org) if org == self.org => Ok(Some(org)),
            Some(_) => Err(
                "only admins and the deployment operator's auditors see other organisations' \
                 figures",
            ),
        })
    }

    /// Which of the banks `named` (every live bank of one name, from
    /// `Store::banks_named`) it means by that name: its own organisation's, else the one it
    /// sees of another organisation; `None` when it sees none. Banks it does not see are
    /// never told of, not even by the refusal of a name that several others have.
    pub fn bank_named(&self, named: Vec<Bank>) -> Result<Option<Bank>, AmbiguousName> {
        let name = named.first().map(|b| b.name.clone()).unwrap_or_default();
        let mut seen: Vec<Bank> = named.into_iter().filter(|b| self.sees(b)).collect();
        if let Some(own) = seen.iter().position(|b| b.org == self.org) {
            return Ok(Some(seen.swap_remove(own)));
        }
        match seen.len() {
            0 | 1 => Ok(seen.pop()),
            _ => Err(AmbiguousName {
                name,
                banks: seen.iter().map(|b| b.id).collect(),
            }),
        }
    }
}

/// Whether a member of `role` may do what `roles` may: admins may do anything, an
/// organisation's administrator whatever its curators may (and what names it), any other
/// role what names it.
pub fn may_act_as(role: Role, roles: &[Role]) -> bool {
    role == Role::Admin
        || roles.contains(&role)
        || (role == Role::OrgAdmin && roles.contains(&Role::Curator))
}

/// The authenticated caller of a request: an API key's holder, or a person signed in to
/// the console, who acts through the same handlers as a key of their role would (what they
/// may see and do is decided by the same [`Member`]; the audit log names the key or them).
#[derive(Clone, Debug)]
pub struct Caller {
    member: Member,
    who: Who,
}

/// Who acts: the audit log's actor is made from it when a change needs one (not for every
/// request: matching, the busiest, changes nothing).
#[derive(Clone, Copy, Debug)]
enum Who {
    Key(ward_store::KeyId),
    User(ward_store::UserId),
}

impl Caller {
    /// The holder of `key`.
    pub fn of_key(key: &ApiKey) -> Caller {
        Caller {
            member: Member {
                org: key.org,
                role: key.role,
            },
            who: Who::Key(key.id),
        }
    }

    /// A person signed in to Ward's pages, acting in their account's role.
    pub fn of_user(user: &User) -> Caller {
        Caller {
            member: Member {
                org: user.org,
                role: user.role,
            },
            who: Who::User(user.id),
        }
    }

    pub fn role(&self) -> Role {
        self.member.role
    }

    pub fn org(&self) -> OrgId {
        self.member.org
    }

    /// The actor the audit log names: `key:N` (as `Actor::key`) or `user:N` (as
    /// `Actor::user`).
    pub fn actor(&self) -> Actor {
        match self.who {
            Who::Key(id) => Actor::key_of(id, self.member.org),
            Who::User(id) => Actor::user_of(id, self.member.org),
        }
    }

    /// The caller as a member of its organisation: what it may see is decided there.
    pub fn member(&self) -> Member {
        self.member
    }

    /// Fails with 403 unless the caller has one of `roles` (admins always pass).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if may_act_as(self.member.role, roles) {
            Ok(())
        } else {
            let whose = match self.who {
                Who::Key(_) => " key",
                Who::User(_) => "",
            };
            Err(ApiError::forbidden(format!(
                "a {}{whose} may not do this",
                self.member.role
            )))
        }
    }

    /// See [`Member::sees`].
    pub fn sees(&self, bank: &Bank) -> bool {
        self.member.sees(bank)
    }

    /// See [`Member::manages`].
    pub fn manages(&self, bank: &Bank) -> bool {
        self.member.manages(bank)
    }

    /// See [`Member::bank_scope`].
    pub async fn bank_scope(&self, store: &impl Store) -> Result<BankScope, ApiError> {
        Ok(self.member.bank_scope(store).await?)
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
        Some(self.member.org)
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
        Ok(Caller::of_key(&key))
    }
}

/// The key of `Authorization: Bearer <key>` (HMA clients send the same header).
pub(super) fn bearer(parts: &Parts) -> Option<&str> {
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
