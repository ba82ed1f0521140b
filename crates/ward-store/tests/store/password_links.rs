//! Password links: an account made without a password, a link that sets it once before it
//! expires, a new link that replaces the old one and stops the old password at once.

use ward_store::*;

use crate::assert_fails;
use crate::harness::operator;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
const OTHER: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

fn at(ms: i64) -> Timestamp {
    Timestamp(Timestamp::now().0 + ms)
}

pub async fn password_links(store: &impl Store) {
    let actor = operator();
    let org = store.create_org(&actor, "Hotline").await.unwrap();
    let new = |name: &str| NewUser {
        name: name.into(),
        org: org.id,
        role: Role::Analyst,
        password_hash: String::new(),
    };
    // Made without a password: nobody signs in to it until the link is used.
    let amina = store.create_user(&actor, &new("amina")).await.unwrap();
    assert!(!amina.has_password());
    assert!(!store.user(amina.id).await.unwrap().unwrap().has_password());
    store
        .set_password_link(&actor, amina.id, "link-1", at(60_000))
        .await
        .unwrap();
    let found = store.password_link_user("link-1", at(0)).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(amina.id));
    for (digest, when, what) in [
        ("link-1", at(60_000), "expired"),
        ("link-1", at(120_000), "expired"),
        ("unknown", at(0), "unknown"),
        ("", at(0), "empty"),
    ] {
        assert_eq!(
            store.password_link_user(digest, when).await.unwrap(),
            None,
            "{what}"
        );
        assert_eq!(
            store.use_password_link(digest, when, HASH).await.unwrap(),
            None,
            "{what}"
        );
    }
    // A hash that is not argon2 is refused before the link is spent.
    assert_fails!(
        store.use_password_link("link-1", at(0), "plain").await,
        StoreError::Invalid(_)
    );
    // Used once: the password is set, the link is gone.
    let used = store
        .use_password_link("link-1", at(0), HASH)
        .await
        .unwrap()
        .expect("a live link");
    assert_eq!(used.id, amina.id);
    assert_eq!(used.password_hash, HASH);
    assert!(used.has_password());
    assert_eq!(
        store.password_link_user("link-1", at(0)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .use_password_link("link-1", at(0), OTHER)
            .await
            .unwrap(),
        None,
        "used"
    );
    assert_eq!(
        store.user(amina.id).await.unwrap().unwrap().password_hash,
        HASH
    );

    // A reset: the old password and the sessions end at once; a newer link replaces an
    // older one.
    store
        .create_session(amina.id, "session", at(60_000))
        .await
        .unwrap();
    store
        .set_password_link(&actor, amina.id, "link-2", at(60_000))
        .await
        .unwrap();
    assert!(!store.user(amina.id).await.unwrap().unwrap().has_password());
    assert_eq!(store.session_user("session", at(0)).await.unwrap(), None);
    store
        .set_password_link(&actor, amina.id, "link-3", at(60_000))
        .await
        .unwrap();
    assert_eq!(
        store.password_link_user("link-2", at(0)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .use_password_link("link-2", at(0), OTHER)
            .await
            .unwrap(),
        None,
        "replaced"
    );
    // A disabled account's link does nothing until the account is enabled again.
    store
        .set_user_disabled(&actor, amina.id, true)
        .await
        .unwrap();
    assert_eq!(
        store.password_link_user("link-3", at(0)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .use_password_link("link-3", at(0), OTHER)
            .await
            .unwrap(),
        None
    );
    store
        .set_user_disabled(&actor, amina.id, false)
        .await
        .unwrap();
    let used = store
        .use_password_link("link-3", at(0), OTHER)
        .await
        .unwrap();
    assert_eq!(used.map(|u| u.password_hash), Some(OTHER.to_owned()));

    // One link per digest; none for an account that does not exist.
    let bo = store.create_user(&actor, &new("bo")).await.unwrap();
    store
        .set_password_link(&actor, bo.id, "link-4", at(60_000))
        .await
        .unwrap();
    assert_fails!(
        store
            .set_password_link(&actor, amina.id, "link-4", at(60_000))
            .await,
        StoreError::Conflict(_)
    );
    assert_fails!(
        store
            .set_password_link(&actor, UserId(9999), "link-5", at(60_000))
            .await,
        StoreError::NotFound { .. }
    );
    // A password set the old way ends nothing but the password's absence.
    store.set_password(&actor, bo.id, HASH).await.unwrap();
    assert!(store.user(bo.id).await.unwrap().unwrap().has_password());

    // In the audit log: the links made by the operator (when they expire, never the link)
    // and the passwords set by the accounts' holders themselves.
    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let about_amina: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.target == format!("user:{}", amina.id))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    let holder = format!("user:{}", amina.id);
    assert_eq!(
        about_amina,
        [
            ("user.create", actor.label.as_str()),
            ("user.password_link", actor.label.as_str()),
            ("user.password", holder.as_str()),
            ("session.start", holder.as_str()),
            ("user.password_link", actor.label.as_str()),
            ("user.password_link", actor.label.as_str()),
            ("user.disable", actor.label.as_str()),
            ("user.enable", actor.label.as_str()),
            ("user.password", holder.as_str()),
        ]
    );
    let link = events
        .iter()
        .find(|e| e.action == "user.password_link")
        .unwrap();
    assert!(link.detail["expires_at"].is_string(), "{}", link.detail);
    assert!(!link.detail.to_string().contains("link-1"));
    assert_eq!(link.org, Some(org.id));
}
