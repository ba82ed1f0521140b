//! Organisations stay apart in what the store reads: the audit log by whose events they are
//! (made by an organisation's members, or about what it owns; the deployment's operator and
//! admins read it all), bank names unique per organisation, and series seen through the
//! banks a reader sees (their member counts too), kept as the keeper's saves move members;
//! and the tenancy migration filling in what it can for rows written before it.

use ward_store::*;

use crate::assert_fails;
use crate::harness::{Backend, Fresh, item, new_bank, operator, pdq, setup};

/// The events `scope` reads, as `(action, target)`, paging `page` at a time.
async fn events(store: &impl Store, scope: AuditScope, page: u32) -> Vec<AuditEvent> {
    let mut all = Vec::new();
    let mut query = AuditQuery::new(scope);
    query.limit = page;
    loop {
        let got = store.audit_log(&query).await.unwrap();
        let Some(last) = got.last() else {
            return all;
        };
        query.after = Some(last.id);
        all.extend(got);
    }
}

pub async fn the_audit_log_is_read_by_organisation(store: &impl Store) {
    let a = setup(store, "NGO_A").await;
    let b = setup(store, "PLATFORM_B").await;
    // A's private bank and its content; B's key reads A's bank shared with members.
    let mut private = new_bank("A_PRIV", a.org.id);
    private.sharing = Sharing::Private;
    let private = store.create_bank(&a.actor, &private).await.unwrap();
    let ids = store
        .add_content(
            &a.actor,
            private.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    store
        .set_content_enabled(&a.actor, ids[0], false)
        .await
        .unwrap();
    let shared = store
        .add_content(&a.actor, a.bank.id, &[item(vec![pdq(3)])])
        .await
        .unwrap()[0];
    store
        .record_read(&b.actor, "read.content", &format!("content:{shared}"))
        .await
        .unwrap();
    store
        .set_opinion(&b.actor, shared, b.org.id, Some(OpinionKind::Dispute))
        .await
        .unwrap();
    // The operator's own work for B (a key), and the deployment's (a report).
    store
        .create_key(&operator(), b.org.id, Role::Auditor, "audit")
        .await
        .unwrap();
    store
        .file_report(&NewReport {
            country: "gb".into(),
            language: "en".into(),
            urls: vec!["https://example.org/a".into()],
            content_kind: ContentKind::Images,
            description: String::new(),
            email: None,
        })
        .await
        .unwrap();

    let all = events(store, AuditScope::Deployment, 1000).await;
    // Every event says whose it is: the owner of its target.
    let owner = |target: &str| all.iter().find(|e| e.target == target).unwrap().org;
    assert_eq!(owner(&format!("bank:{}", private.id)), Some(a.org.id));
    assert_eq!(owner(&format!("content:{}", ids[0])), Some(a.org.id));
    assert_eq!(owner(&format!("org:{}", b.org.id)), Some(b.org.id));
    let report = all.iter().find(|e| e.action == "report.create").unwrap();
    assert_eq!((report.org, report.actor_org), (None, None));

    let of_a = events(store, AuditScope::Org(a.org.id), 1000).await;
    let of_b = events(store, AuditScope::Org(b.org.id), 1000).await;
    let mine = |e: &AuditEvent, org: OrgId| e.actor_org == Some(org) || e.org == Some(org);
    // Each reads exactly its own: made by its members or about what it owns.
    let expected = |org: OrgId| {
        all.iter()
            .filter(|e| mine(e, org))
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_a.iter().map(|e| e.id).collect::<Vec<_>>(),
        expected(a.org.id)
    );
    assert_eq!(
        of_b.iter().map(|e| e.id).collect::<Vec<_>>(),
        expected(b.org.id)
    );
    // B never reads A's private bank, its name or its content.
    let private_target = format!("bank:{}", private.id);
    for event in &of_b {
        assert_ne!(event.target, private_target, "{event:?}");
        assert!(!event.detail.to_string().contains("A_PRIV"), "{event:?}");
        assert_ne!(event.target, format!("content:{}", ids[0]));
    }
    // A reads what B did to its shared item (a read and a dispute), and B reads it too.
    let about_shared = format!("content:{shared}");
    for list in [&of_a, &of_b] {
        assert!(
            list.iter()
                .any(|e| e.target == about_shared && e.action == "read.content")
        );
        assert!(
            list.iter()
                .any(|e| e.target == about_shared && e.action == "opinion.set")
        );
    }
    // The key the operator made for B is B's to read, not A's; the report is neither's.
    assert!(
        of_b.iter()
            .any(|e| e.action == "key.create" && e.org == Some(b.org.id))
    );
    assert!(
        !of_a
            .iter()
            .any(|e| e.org == Some(b.org.id) && e.actor_org != Some(a.org.id))
    );
    assert!(
        !of_a
            .iter()
            .chain(&of_b)
            .any(|e| e.action == "report.create")
    );
    // Paging a small page at a time gives the same events.
    for page in [1, 2, 3] {
        assert_eq!(events(store, AuditScope::Org(a.org.id), page).await, of_a);
    }
    // A target within a scope: what the scope sees of it.
    let mut query = AuditQuery::new(AuditScope::Org(b.org.id));
    query.target = Some(private_target.clone());
    assert!(store.audit_log(&query).await.unwrap().is_empty());
    query.scope = AuditScope::Org(a.org.id);
    assert_eq!(
        store.audit_log(&query).await.unwrap().len(),
        2,
        "create, add"
    );
}

pub async fn the_deployment_has_at_most_one_operator(store: &impl Store) {
    let a = store.create_org(&operator(), "Hotline").await.unwrap();
    let b = store.create_org(&operator(), "Platform").await.unwrap();
    assert!(!a.operator && !b.operator);
    let operators = |orgs: Vec<Organisation>| {
        orgs.into_iter()
            .filter(|o| o.operator)
            .map(|o| o.id)
            .collect::<Vec<_>>()
    };
    store.set_operator(&operator(), Some(a.id)).await.unwrap();
    assert_eq!(operators(store.orgs().await.unwrap()), [a.id]);
    assert!(store.org(a.id).await.unwrap().unwrap().operator);
    // Another takes over: still one.
    store.set_operator(&operator(), Some(b.id)).await.unwrap();
    assert_eq!(operators(store.orgs().await.unwrap()), [b.id]);
    store.set_operator(&operator(), None).await.unwrap();
    assert!(operators(store.orgs().await.unwrap()).is_empty());
    assert_fails!(
        store.set_operator(&operator(), Some(OrgId(999))).await,
        StoreError::NotFound { .. }
    );
    // Every change is in the log, as the organisation's.
    let changes: Vec<(String, Option<OrgId>, serde_json::Value)> =
        events(store, AuditScope::Deployment, 100)
            .await
            .into_iter()
            .filter(|e| e.action == "org.operator")
            .map(|e| (e.target, e.org, e.detail))
            .collect();
    assert_eq!(
        changes,
        [
            (
                format!("org:{}", a.id),
                Some(a.id),
                serde_json::json!({"operator": true, "replaces": null})
            ),
            (
                format!("org:{}", b.id),
                Some(b.id),
                serde_json::json!({"operator": true, "replaces": a.id})
            ),
            (
                format!("org:{}", b.id),
                Some(b.id),
                serde_json::json!({"operator": false, "replaces": null})
            ),
        ]
    );
}

pub async fn bank_names_are_unique_per_organisation(store: &impl Store) {
    let a = setup(store, "NGO_A").await;
    let b = setup(store, "PLATFORM_B").await;
    let mut private = new_bank("A_PRIV", a.org.id);
    private.sharing = Sharing::Private;
    let a_priv = store.create_bank(&a.actor, &private).await.unwrap();
    // B may have a bank of the same name: nothing tells it A has one.
    let b_priv = store
        .create_bank(&b.actor, &new_bank("A_PRIV", b.org.id))
        .await
        .unwrap();
    // Within one organisation, names stay unique (and the refusal names only the name).
    match store.create_bank(&a.actor, &private).await {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("A_PRIV"), "{message}");
            assert!(!message.contains(&b.org.name), "{message}");
        }
        other => panic!("expected a conflict, got {:?}", other.map(|b| b.id)),
    }
    let rename = BankUpdate {
        name: Some("A_PRIV".into()),
        ..BankUpdate::default()
    };
    assert_fails!(
        store.update_bank(&b.actor, b.bank.id, &rename).await,
        StoreError::Conflict(_)
    );
    // Both are found by name, by id; the caller decides which it means.
    let named = |name: &'static str| async move {
        store
            .banks_named(name)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(named("A_PRIV").await, [a_priv.id, b_priv.id]);
    assert!(named("a_priv").await.is_empty());
    // A deleted bank frees its name in its organisation.
    store.delete_bank(&a.actor, a_priv.id).await.unwrap();
    assert_eq!(named("A_PRIV").await, [b_priv.id]);
    let again = store.create_bank(&a.actor, &private).await.unwrap();
    assert_eq!(named("A_PRIV").await, [b_priv.id, again.id]);
}

fn upkeep(id: i64, members: u32) -> SeriesUpkeep {
    SeriesUpkeep {
        id: SeriesId(id),
        members,
        merged_into: None,
        split_from: None,
        inherit: false,
    }
}

/// One step of the keeper: `members` join (or leave) series; `series` rows as they are after.
async fn keep(
    store: &impl Store,
    members: Vec<(ContentId, Option<(SeriesId, u32)>)>,
    series: Vec<SeriesUpkeep>,
) {
    let now = Timestamp::now();
    let version = store
        .claim_series_keeper("check", now, Timestamp(now.0 + 600_000))
        .await
        .unwrap()
        .expect("the lease");
    let keeping = store.series_keeping().await.unwrap();
    let save = SeriesSave {
        cursor: keeping.cursor,
        next_series: 10,
        next_label: 1,
        members,
        series,
        links: None,
        decisions: Vec::new(),
    };
    store.save_series("check", version, &save).await.unwrap();
}

pub async fn series_are_seen_through_the_banks_a_reader_sees(store: &impl Store) {
    let a = setup(store, "NGO_A").await;
    let b = setup(store, "PLATFORM_B").await;
    let mut private = new_bank("A_PRIV", a.org.id);
    private.sharing = Sharing::Private;
    let a_priv = store.create_bank(&a.actor, &private).await.unwrap();
    // Twenty plain items at once: on SQLite they live in a block, not in content rows.
    let bulk: Vec<NewContent> = (100..120).map(|n| item(vec![pdq(n)])).collect();
    let a_items = store.add_content(&a.actor, a_priv.id, &bulk).await.unwrap();
    let b_items = store
        .add_content(
            &b.actor,
            b.bank.id,
            &[item(vec![pdq(1)]), item(vec![pdq(2)])],
        )
        .await
        .unwrap();
    let in_series = |ids: &[ContentId], series: i64| {
        ids.iter()
            .map(|c| (*c, Some((SeriesId(series), 0))))
            .collect::<Vec<_>>()
    };
    // 0: A's first three and B's first; 1: A's other seventeen (A only); 2: B's second.
    let mut members = in_series(&a_items[..3], 0);
    members.extend(in_series(&b_items[..1], 0));
    members.extend(in_series(&a_items[3..], 1));
    members.extend(in_series(&b_items[1..], 2));
    keep(
        store,
        members,
        vec![upkeep(0, 4), upkeep(1, 17), upkeep(2, 1)],
    )
    .await;

    let of_a = BankScope::only([a_priv.id, a.bank.id, b.bank.id]);
    let of_b = BankScope::only([a.bank.id, b.bank.id]);
    let listed = |scope: &BankScope, victim: Option<bool>, after: Option<i64>| {
        let query = SeriesQuery {
            scope: scope.clone(),
            victim_identified: victim,
            after: after.map(SeriesId),
            limit: 100,
        };
        async move {
            store
                .series_list(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|s| (s.id.0, s.members))
                .collect::<Vec<_>>()
        }
    };
    // Each sees the series it has a member of, counting the members it sees.
    assert_eq!(
        listed(&BankScope::All, None, None).await,
        [(0, 4), (1, 17), (2, 1)]
    );
    assert_eq!(listed(&of_a, None, None).await, [(0, 4), (1, 17), (2, 1)]);
    assert_eq!(listed(&of_b, None, None).await, [(0, 1), (2, 1)]);
    assert_eq!(listed(&of_b, None, Some(0)).await, [(2, 1)]);
    assert!(listed(&BankScope::only([]), None, None).await.is_empty());
    // Paged one at a time through the banks' own lists.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let query = SeriesQuery {
            scope: of_a.clone(),
            victim_identified: None,
            after,
            limit: 1,
        };
        let page = store.series_list(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        paged.push(last.id.0);
    }
    assert_eq!(paged, [0, 1, 2]);

    // One series: not there for a reader that sees none of it.
    let seen = |id: i64, scope: &BankScope| {
        let scope = scope.clone();
        async move {
            store
                .series(SeriesId(id), &scope)
                .await
                .unwrap()
                .map(|s| s.members)
        }
    };
    assert_eq!(seen(1, &of_b).await, None);
    assert_eq!(seen(0, &of_b).await, Some(1));
    assert_eq!(seen(0, &of_a).await, Some(4));
    assert_eq!(seen(1, &BankScope::All).await, Some(17));
    assert_eq!(
        store.series_members(SeriesId(0), &of_b).await.unwrap(),
        b_items[..1]
    );
    assert_eq!(
        store
            .series_members(SeriesId(0), &BankScope::All)
            .await
            .unwrap()
            .len(),
        4
    );

    // Changes only to what the reader sees.
    let name = SeriesChange {
        name: Some(Some("Garden".into())),
        ..SeriesChange::default()
    };
    assert_fails!(
        store
            .update_series(&b.actor, SeriesId(1), &name, &of_b)
            .await,
        StoreError::NotFound { .. }
    );
    let named = store
        .update_series(&b.actor, SeriesId(0), &name, &of_b)
        .await
        .unwrap();
    assert_eq!((named.name.as_deref(), named.members), (Some("Garden"), 1));
    let merge = |with: i64| SeriesRequest::Merge {
        with: SeriesId(with),
    };
    for (series, request) in [(2, merge(1)), (1, merge(2))] {
        assert_fails!(
            store
                .request_series_decision(&b.actor, SeriesId(series), &request, &of_b)
                .await,
            StoreError::NotFound { .. }
        );
    }
    let split = |members: &[ContentId]| SeriesRequest::Split {
        members: members.to_vec(),
    };
    // A member B does not see is not in the series, for B (nor is content of another).
    for members in [&a_items[..1], &[b_items[0], a_items[0]][..], &b_items[1..]] {
        assert_fails!(
            store
                .request_series_decision(&b.actor, SeriesId(0), &split(members), &of_b)
                .await,
            StoreError::NotFound { .. }
        );
    }
    let b_split = store
        .request_series_decision(&b.actor, SeriesId(0), &split(&b_items[..1]), &of_b)
        .await
        .unwrap();
    let b_merge = store
        .request_series_decision(&b.actor, SeriesId(0), &merge(2), &of_b)
        .await
        .unwrap();
    let a_merge = store
        .request_series_decision(&a.actor, SeriesId(1), &merge(0), &of_a)
        .await
        .unwrap();
    // Decisions on series the reader sees.
    let decision = |id: DecisionId, scope: &BankScope| {
        let scope = scope.clone();
        async move {
            store
                .series_decision(id, &scope)
                .await
                .unwrap()
                .map(|d| d.id)
        }
    };
    assert_eq!(decision(b_split.id, &of_b).await, Some(b_split.id));
    assert_eq!(decision(b_merge.id, &of_a).await, Some(b_merge.id));
    assert_eq!(decision(a_merge.id, &of_b).await, None);
    assert_eq!(
        decision(a_merge.id, &BankScope::All).await,
        Some(a_merge.id)
    );

    // The keeper moves members: B's first item to series 2, an A item out of any series;
    // then A's series 1 merges into 0. The counts follow.
    keep(
        store,
        vec![(b_items[0], Some((SeriesId(2), 0))), (a_items[3], None)],
        vec![upkeep(0, 3), upkeep(1, 16), upkeep(2, 2)],
    )
    .await;
    assert_eq!(listed(&of_b, None, None).await, [(2, 2)]);
    assert_eq!(listed(&of_a, None, None).await, [(0, 3), (1, 16), (2, 2)]);
    assert_eq!(seen(0, &of_b).await, None, "B sees none of series 0 now");
    let mut merged = in_series(&a_items[4..], 0);
    merged.push((a_items[0], Some((SeriesId(0), 0))));
    let mut gone = upkeep(1, 0);
    gone.merged_into = Some(SeriesId(0));
    keep(store, merged, vec![upkeep(0, 19), gone]).await;
    assert_eq!(listed(&of_a, None, None).await, [(0, 19), (2, 2)]);
    // A merged series is seen as the series it joined is, with no members of its own.
    assert_eq!(seen(1, &of_a).await, Some(0));
    assert_eq!(seen(1, &of_b).await, None);
    // The victim flag filters what each sees.
    store
        .update_series(
            &a.actor,
            SeriesId(2),
            &SeriesChange {
                victim_identified: Some(true),
                ..SeriesChange::default()
            },
            &of_a,
        )
        .await
        .unwrap();
    assert_eq!(listed(&of_a, Some(true), None).await, [(2, 2)]);
    assert_eq!(listed(&of_a, Some(false), None).await, [(0, 19)]);
    assert!(listed(&of_b, Some(false), None).await.is_empty());
}

/// Rows written before the tenancy migration (schema 9): bank-owned targets of the audit log
/// get their organisation; series members get their banks (from content rows and, on
/// SQLite, blocks), and the counts per bank are made from them.
async fn the_tenancy_migration_fills_in_what_it_can(backend: Backend) {
    let block = match backend {
        // Items 100 to 119 in one block of bank 1.
        Backend::Sqlite => {
            "INSERT INTO content_blocks (bank_id, first_content, first_signal, first_seq, count, \
             kind, digest_len, digests, added_by, source, added_at) \
             VALUES (1, 100, 100, 100, 20, 'md5', 1, zeroblob(20), 'cli:test', 'test', 1); \
             INSERT INTO content_series (content_id, series_id) VALUES (105, 0);"
        }
        Backend::Postgres => "",
    };
    let sql = format!(
        "INSERT INTO orgs (name, created_at) VALUES ('NGO A', 1), ('Platform B', 1); \
         INSERT INTO banks (name, org_id, kind, distance, enabled, sharing, description, \
         created_at, updated_at) VALUES ('A_PRIV', 1, 'standard', 31, TRUE, 'private', '', 1, 1), \
         ('A_PRIV', 2, 'standard', 31, TRUE, 'private', '', 1, 1); \
         INSERT INTO content (id, bank_id, enabled, added_by, source, added_at) \
         VALUES (10, 1, TRUE, 'cli:test', 'test', 1), (11, 2, TRUE, 'cli:test', 'test', 1); \
         INSERT INTO audit_log (at, actor, action, target, detail) VALUES \
         (1, 'cli:test', 'org.create', 'org:2', '{{}}'), \
         (1, 'cli:test', 'bank.create', 'bank:1', '{{\"name\":\"A_PRIV\"}}'), \
         (1, 'cli:test', 'content.remove', 'content:10', '{{}}'), \
         (1, 'cli:test', 'content.remove', 'content:105', '{{}}'), \
         (1, 'cli:test', 'export.referral', 'content:10,11', '{{}}'), \
         (1, 'public', 'report.create', 'report:1', '{{}}'), \
         (1, 'cli:test', 'content.remove', 'content:77', '{{}}'); \
         INSERT INTO series (id, members, created_at, updated_at) VALUES (0, 4, 1, 1); \
         INSERT INTO content_series (content_id, series_id) VALUES (10, 0), (11, 0), (999, 0); \
         {block}"
    );
    // The two banks of one name, in two organisations, were impossible before; the
    // migration must not need them to be.
    let sql = sql.replace("('A_PRIV', 2,", "('B_BANK', 2,");
    let fresh = Fresh::after_migration(backend, 9, &sql).await;
    let store = &fresh.store;
    let all = store.audit_log(&AuditQuery::deployment()).await.unwrap();
    let org = |target: &str| all.iter().find(|e| e.target == target).unwrap().org;
    assert_eq!(org("org:2"), Some(OrgId(2)));
    assert_eq!(org("bank:1"), Some(OrgId(1)));
    assert_eq!(org("content:10"), Some(OrgId(1)));
    let in_block = match backend {
        Backend::Sqlite => Some(OrgId(1)),
        Backend::Postgres => None,
    };
    assert_eq!(org("content:105"), in_block);
    assert_eq!(org("content:10,11"), None);
    assert_eq!(org("report:1"), None);
    assert_eq!(org("content:77"), None, "no such content");
    // The log is append-only again after the migration.
    assert!(
        crate::harness::RawSql::execute(store, "UPDATE audit_log SET org_id = NULL")
            .await
            .is_err()
    );
    // Series: what each bank holds of series 0.
    let count = |banks: Vec<i64>| async move {
        store
            .series(SeriesId(0), &BankScope::only(banks.into_iter().map(BankId)))
            .await
            .unwrap()
            .map(|s| s.members)
    };
    let a_holds = match backend {
        Backend::Sqlite => 2,
        Backend::Postgres => 1,
    };
    assert_eq!(count(vec![1]).await, Some(a_holds));
    assert_eq!(count(vec![2]).await, Some(1));
    assert_eq!(count(vec![3]).await, None);
    // Bank names are per organisation from now on.
    store
        .create_bank(&operator(), &new_bank("A_PRIV", OrgId(2)))
        .await
        .unwrap();
    fresh.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenancy_migration_fills_in_what_it_can_on_sqlite() {
    the_tenancy_migration_fills_in_what_it_can(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenancy_migration_fills_in_what_it_can_on_postgres() {
    the_tenancy_migration_fills_in_what_it_can(Backend::Postgres).await;
}
