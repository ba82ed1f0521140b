//! The audit log: one event per change, with its actor, in order; queries by position and
//! target; and a database that refuses to change a written event.

use serde_json::json;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::*;

use crate::assert_fails;
use crate::harness::{Backend, RawSql, item, md5, new_bank, operator, pdq};

pub async fn every_change_is_logged(store: &impl Store) {
    let admin = operator();
    let org = store.create_org(&admin, "Hotline").await.unwrap();
    let key = store
        .create_key(&admin, org.id, Role::Curator, "curator")
        .await
        .unwrap()
        .key;
    let curator = Actor::key(&key);
    let bank = store
        .create_bank(&curator, &new_bank("BANK", org.id))
        .await
        .unwrap();
    let update = BankUpdate {
        distance: Some(20),
        description: Some("updated".to_owned()),
        ..BankUpdate::default()
    };
    store.update_bank(&curator, bank.id, &update).await.unwrap();
    let ids = store
        .add_content(
            &curator,
            bank.id,
            &[item(vec![pdq(1), md5(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    let id = ids[0];
    store
        .set_content_enabled(&curator, id, false)
        .await
        .unwrap();
    store.set_content_enabled(&curator, id, true).await.unwrap();
    let assessment = Assessment {
        age_group: AgeGroup::Prepubescent,
        activity: Activity::Penetrative,
    };
    store
        .set_assessment(&curator, id, Some(assessment))
        .await
        .unwrap();
    store.set_assessment(&curator, id, None).await.unwrap();
    store
        .set_opinion(&curator, id, org.id, Some(OpinionKind::Confirm))
        .await
        .unwrap();
    store.set_opinion(&curator, id, org.id, None).await.unwrap();
    store.remove_content(&curator, id).await.unwrap();
    store
        .record_read(&curator, "read.content", &format!("content:{}", ids[1]))
        .await
        .unwrap();
    store.delete_bank(&curator, bank.id).await.unwrap();
    store.revoke_key(&admin, key.id).await.unwrap();
    store.revoke_key(&admin, key.id).await.unwrap();

    let events = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let (o, k, b, c) = (org.id, key.id, bank.id, id);
    let expected = [
        (
            "cli:test",
            "org.create",
            format!("org:{o}"),
            json!({"name": "Hotline"}),
        ),
        (
            "cli:test",
            "key.create",
            format!("key:{k}"),
            json!({"org": o, "role": "curator", "label": "curator", "prefix": key.prefix}),
        ),
        (
            "key",
            "bank.create",
            format!("bank:{b}"),
            json!({"name": "BANK", "org": o, "kind": "standard", "distance": 31,
                   "enabled": true, "sharing": "members", "shared_with": [], "dispute_limit": null,
                   "description": ""}),
        ),
        (
            "key",
            "bank.update",
            format!("bank:{b}"),
            json!({"distance": 20, "description": "updated"}),
        ),
        (
            "key",
            "content.add",
            format!("bank:{b}"),
            json!({"count": 2, "signals": 3}),
        ),
        ("key", "content.disable", format!("content:{c}"), json!({})),
        ("key", "content.enable", format!("content:{c}"), json!({})),
        (
            "key",
            "content.assess",
            format!("content:{c}"),
            json!({"age_group": "prepubescent", "activity": "penetrative"}),
        ),
        (
            "key",
            "content.assess",
            format!("content:{c}"),
            json!({"age_group": null, "activity": null}),
        ),
        (
            "key",
            "opinion.set",
            format!("content:{c}"),
            json!({"org": o, "opinion": "confirm"}),
        ),
        (
            "key",
            "opinion.clear",
            format!("content:{c}"),
            json!({"org": o}),
        ),
        ("key", "content.remove", format!("content:{c}"), json!({})),
        (
            "key",
            "read.content",
            format!("content:{}", ids[1]),
            json!({}),
        ),
        (
            "key",
            "bank.delete",
            format!("bank:{b}"),
            json!({"signals": 3}),
        ),
        (
            "cli:test",
            "key.revoke",
            format!("key:{k}"),
            json!({"org": o, "prefix": key.prefix, "already_revoked": false}),
        ),
        (
            "cli:test",
            "key.revoke",
            format!("key:{k}"),
            json!({"org": o, "prefix": key.prefix, "already_revoked": true}),
        ),
    ];
    assert_eq!(events.len(), expected.len());
    for (event, (actor, action, target, detail)) in events.iter().zip(expected) {
        let by_key = actor == "key";
        let actor = if by_key {
            curator.label.as_str()
        } else {
            actor
        };
        assert_eq!(
            (
                event.actor.as_str(),
                event.action.as_str(),
                &event.target,
                &event.detail
            ),
            (actor, action, &target, &detail)
        );
        let (actor_key, actor_org) = if by_key {
            (Some(key.id), Some(org.id))
        } else {
            (None, None)
        };
        assert_eq!(
            (event.actor_key, event.actor_org),
            (actor_key, actor_org),
            "{action}"
        );
        assert!(event.at.0 > 0);
    }
    assert!(
        events
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].at <= w[1].at)
    );
}

/// (after, target, limit, expected positions among all events)
type Case<'a> = (Option<usize>, Option<&'a str>, u32, Vec<usize>);

pub async fn audit_queries(store: &impl Store) {
    let actor = operator();
    for n in 0..30 {
        let target = format!("content:{}", n % 3);
        store
            .record_read(&actor, "read.content", &target)
            .await
            .unwrap();
    }
    let all = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    assert_eq!(all.len(), 30);
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();

    let cases: &[Case] = &[
        (None, None, 0, (0..30).collect()),
        (None, None, 5, (0..5).collect()),
        (Some(4), None, 5, (5..10).collect()),
        (Some(27), None, 100, vec![28, 29]),
        (Some(29), None, 100, vec![]),
        (None, Some("content:1"), 0, (1..30).step_by(3).collect()),
        (None, Some("content:1"), 2, vec![1, 4]),
        (Some(4), Some("content:1"), 2, vec![7, 10]),
        (None, Some("content:9"), 0, vec![]),
    ];
    for (after, target, limit, expected) in cases {
        let query = AuditQuery {
            after: after.map(|i| ids[i]),
            target: target.map(str::to_owned),
            limit: *limit,
            ..AuditQuery::deployment()
        };
        let found: Vec<i64> = store
            .audit_log(&query)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let expected: Vec<i64> = expected.iter().map(|&i| ids[i]).collect();
        assert_eq!(found, expected, "{query:?}");
    }

    // Only reads are recorded with record_read.
    for action in ["content.add", "read.", "read", ""] {
        assert_fails!(
            store.record_read(&actor, action, "content:1").await,
            StoreError::Invalid(_)
        );
    }

    // 0 lists a default of 100 events; larger limits are capped at 10,000.
    for _ in 0..80 {
        store
            .record_read(&actor, "read.bank", "bank:1")
            .await
            .unwrap();
    }
    let default = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    assert_eq!(default.len(), 100);
    let large = AuditQuery {
        limit: u32::MAX,
        ..AuditQuery::deployment()
    };
    assert_eq!(store.audit_log(&large).await.unwrap().len(), 110);
}

/// What the console's search asks: by who (the actor's beginning), what (the action's
/// beginning), target and when, newest first and paged back by `before`, in an
/// organisation's scope as in the deployment's.
pub async fn audit_searches(store: &impl Store) {
    let admin = operator();
    let org = store.create_org(&admin, "Hotline").await.unwrap();
    let key = store
        .create_key(&admin, org.id, Role::Curator, "curator")
        .await
        .unwrap()
        .key;
    let curator = Actor::key(&key);
    let bank = store
        .create_bank(&curator, &new_bank("BANK", org.id))
        .await
        .unwrap();
    store
        .record_read(&curator, "read.bank", &format!("bank:{}", bank.id))
        .await
        .unwrap();
    store
        .record_read(&admin, "read.orgs", "org:1")
        .await
        .unwrap();
    let all = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let position = |action: &str| all.iter().position(|e| e.action == action).unwrap();
    let id_of = |action: &str| all[position(action)].id;
    let at_of = |action: &str| all[position(action)].at;
    let curator_label = curator.label.clone();
    let search = |f: &dyn Fn(&mut AuditQuery)| {
        let mut query = AuditQuery::deployment();
        f(&mut query);
        query
    };
    let actions_where = |keep: &dyn Fn(&AuditEvent) -> bool| -> Vec<&str> {
        all.iter()
            .filter(|e| keep(e))
            .map(|e| e.action.as_str())
            .collect()
    };
    let cases: Vec<(AuditQuery, Vec<&str>)> = vec![
        (
            search(&|q| q.actor = Some("cli:".into())),
            vec!["org.create", "key.create", "read.orgs"],
        ),
        (
            search(&|q| q.actor = Some(curator_label.clone())),
            vec!["bank.create", "read.bank"],
        ),
        (search(&|q| q.actor = Some("nobody".into())), vec![]),
        (
            search(&|q| q.action = Some("read.".into())),
            vec!["read.bank", "read.orgs"],
        ),
        (
            search(&|q| q.action = Some("key.create".into())),
            vec!["key.create"],
        ),
        (
            search(&|q| {
                q.action = Some("read.".into());
                q.actor = Some("cli:".into());
            }),
            vec!["read.orgs"],
        ),
        (
            search(&|q| q.newest_first = true),
            vec![
                "read.orgs",
                "read.bank",
                "bank.create",
                "key.create",
                "org.create",
            ],
        ),
        (
            search(&|q| {
                q.newest_first = true;
                q.limit = 2;
            }),
            vec!["read.orgs", "read.bank"],
        ),
        (
            search(&|q| {
                q.newest_first = true;
                q.limit = 2;
                q.before = Some(id_of("read.bank"));
            }),
            vec!["bank.create", "key.create"],
        ),
        // Times: events of the same millisecond go together.
        (
            search(&|q| q.since = Some(at_of("read.orgs"))),
            actions_where(&|e| e.at >= at_of("read.orgs")),
        ),
        (
            search(&|q| q.until = Some(Timestamp(at_of("org.create").0 + 1))),
            actions_where(&|e| e.at.0 < at_of("org.create").0 + 1),
        ),
        (
            search(&|q| {
                q.scope = AuditScope::Org(org.id);
                q.newest_first = true;
                q.action = Some("bank.".into());
            }),
            vec!["bank.create"],
        ),
        (
            search(&|q| {
                q.scope = AuditScope::Org(org.id);
                q.actor = Some("cli:".into());
            }),
            // The operator's reading of `org:1` is about the organisation too.
            vec!["org.create", "key.create", "read.orgs"],
        ),
    ];
    for (query, expected) in cases {
        let found: Vec<String> = store
            .audit_log(&query)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(found, expected, "{query:?}");
    }
}

pub async fn audit_log_is_append_only(store: &impl RawSql) {
    store.create_org(&operator(), "Hotline").await.unwrap();
    store
        .record_read(&operator(), "read.orgs", "org:1")
        .await
        .unwrap();
    let before = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    assert_eq!(before.len(), 2);

    let mut refused = vec![
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET detail = '{}' WHERE action = 'org.create'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'read.orgs'",
    ];
    if let Backend::Postgres = store.dialect() {
        refused.push("TRUNCATE audit_log");
    }
    for sql in refused {
        let error = store.execute(sql).await.expect_err(sql);
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(
        store.audit_log(&AuditQuery::deployment()).await.unwrap(),
        before
    );
    // Appending still works.
    store
        .record_read(&operator(), "read.orgs", "org:1")
        .await
        .unwrap();
    assert_eq!(
        store
            .audit_log(&AuditQuery::deployment())
            .await
            .unwrap()
            .len(),
        3
    );
}
