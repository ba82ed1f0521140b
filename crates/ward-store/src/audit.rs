//! The audit events that the store's changes write: one constructor per action, so both
//! backends log the same actions, targets and details.

use serde_json::{Map, Value, json};
use ward_core::categories::Assessment;

use crate::model::{
    ApiKey, Bank, BankId, BankUpdate, ContentId, ContentNotes, FetchOutcome, HostContact,
    ImportCounts, NoticeId, NoticeOutcome, OpinionKind, OrgId, Organisation, Partner, Ratio,
    Report, Timestamp, UrlId, UrlState, User, UserId,
};

/// An audit event before it is written (the actor and time are added then).
#[derive(Debug)]
pub(crate) struct Event {
    pub action: String,
    pub target: String,
    pub detail: Value,
    /// Whose thing it was done to: the organisation it concerns is found from this when the
    /// event is written, in the same transaction.
    pub about: About,
}

/// What an event was done to, for the organisation it concerns ([`AuditEvent::org`]).
///
/// [`AuditEvent::org`]: crate::AuditEvent::org
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum About {
    /// Something of the deployment's (reports, URLs, contacts, series, evidence): no
    /// organisation's.
    Deployment,
    Org(OrgId),
    Bank(BankId),
    /// The banks of several items (a referral): their owner, when they have one.
    Banks(Vec<BankId>),
    Content(ContentId),
    User(UserId),
}

impl About {
    /// What a target names (`bank:4`, `content:12`); the deployment for anything else.
    fn of_target(target: &str) -> About {
        let Some((kind, id)) = target.split_once(':') else {
            return About::Deployment;
        };
        let Ok(id) = id.parse::<i64>() else {
            return About::Deployment;
        };
        match kind {
            "org" => About::Org(OrgId(id)),
            "bank" => About::Bank(BankId(id)),
            "content" => About::Content(ContentId(id)),
            "user" => About::User(UserId(id)),
            _ => About::Deployment,
        }
    }

    /// The SQL expression of the organisation concerned, with `$8` bound to
    /// [`About::bound`]; `content_bank` is the backend's expression of the bank of the
    /// content item `{id}`.
    pub fn org_sql(&self, content_bank: &str) -> String {
        match self {
            About::Deployment | About::Org(_) => "CAST($8 AS BIGINT)".to_owned(),
            About::Banks(banks) if banks.is_empty() => "CAST($8 AS BIGINT)".to_owned(),
            About::Bank(_) => "(SELECT org_id FROM banks WHERE id = $8)".to_owned(),
            About::Banks(banks) => format!(
                "(SELECT CASE WHEN COUNT(DISTINCT org_id) = 1 THEN MIN(org_id) END FROM banks \
                 WHERE id IN ({}) AND $8 IS NULL)",
                crate::series::id_list(banks.iter().map(|b| b.0))
            ),
            About::Content(_) => format!(
                "(SELECT org_id FROM banks WHERE id = {})",
                content_bank.replace("{id}", "$8")
            ),
            About::User(_) => "(SELECT org_id FROM users WHERE id = $8)".to_owned(),
        }
    }

    /// The value bound to `$8` in [`About::org_sql`].
    pub fn bound(&self) -> Option<i64> {
        match self {
            About::Deployment | About::Banks(_) => None,
            About::Org(id) => Some(id.0),
            About::Bank(id) => Some(id.0),
            About::Content(id) => Some(id.0),
            About::User(id) => Some(id.0),
        }
    }
}

impl Event {
    fn new(action: &str, target: String, detail: Value) -> Event {
        let about = About::of_target(&target);
        Event {
            action: action.to_owned(),
            target,
            detail,
            about,
        }
    }

    /// The same event, about `about` rather than what its target names.
    fn about(mut self, about: About) -> Event {
        self.about = about;
        self
    }

    /// The detail as stored (JSON text).
    pub fn detail_text(&self) -> String {
        self.detail.to_string()
    }

    pub fn series_update(series: &crate::Series) -> Event {
        Event::new(
            "series.update",
            format!("series:{}", series.id),
            json!({
                "name": series.name,
                "victim_identified": series.victim_identified,
                "offender_identified": series.offender_identified,
                "referred_to": series.referred_to,
                "referred_at": series.referred_at,
            }),
        )
    }

    /// A curator asked for a merge or a split.
    pub fn series_decision(decision: &crate::SeriesDecision) -> Event {
        let action = match decision.request {
            crate::SeriesRequest::Merge { .. } => "series.merge",
            crate::SeriesRequest::Split { .. } => "series.split",
        };
        Event::new(
            action,
            format!("series:{}", decision.series),
            json!({ "decision": decision.id, "request": decision.request }),
        )
    }

    /// An organisation was made the deployment's operator (`replaces`: the one it took over
    /// from), or (`operator` false) the deployment was left without one.
    pub fn org_operator(org: OrgId, operator: bool, replaces: Option<OrgId>) -> Event {
        Event::new(
            "org.operator",
            org_target(org),
            json!({ "operator": operator, "replaces": replaces }),
        )
    }

    pub fn org_create(org: &Organisation) -> Event {
        Event::new(
            "org.create",
            org_target(org.id),
            json!({ "name": org.name }),
        )
    }

    /// A key was made; its detail never holds the secret.
    pub fn key_create(key: &ApiKey) -> Event {
        Event::new(
            "key.create",
            format!("key:{}", key.id),
            json!({
                "org": key.org,
                "role": key.role.name(),
                "label": key.label,
                "prefix": key.prefix,
            }),
        )
        .about(About::Org(key.org))
    }

    pub fn key_revoke(key: &ApiKey, already_revoked: bool) -> Event {
        Event::new(
            "key.revoke",
            format!("key:{}", key.id),
            json!({ "org": key.org, "prefix": key.prefix, "already_revoked": already_revoked }),
        )
        .about(About::Org(key.org))
    }

    pub fn bank_create(bank: &Bank) -> Event {
        Event::new(
            "bank.create",
            bank_target(bank.id),
            json!({
                "name": bank.name,
                "org": bank.org,
                "kind": bank.kind.name(),
                "distance": bank.distance,
                "enabled": bank.enabled,
                "sharing": bank.sharing.name(),
                "shared_with": bank.shared_with,
                "dispute_limit": bank.dispute_limit,
                "description": bank.description,
            }),
        )
    }

    /// A bank was changed; the detail holds the fields that were set (names trimmed).
    pub fn bank_update(id: BankId, update: &BankUpdate, name: Option<&str>) -> Event {
        let mut detail = Map::new();
        if let Some(name) = name {
            detail.insert("name".into(), name.into());
        }
        if let Some(distance) = update.distance {
            detail.insert("distance".into(), distance.into());
        }
        if let Some(enabled) = update.enabled {
            detail.insert("enabled".into(), enabled.into());
        }
        if let Some(ratio) = update.enabled_ratio {
            detail.insert("enabled_ratio".into(), ratio.get().into());
        }
        if let Some(sharing) = update.sharing {
            detail.insert("sharing".into(), sharing.name().into());
        }
        if let Some(orgs) = &update.shared_with {
            detail.insert("shared_with".into(), json!(orgs));
        }
        if let Some(limit) = update.dispute_limit {
            detail.insert("dispute_limit".into(), json!(limit));
        }
        if let Some(description) = &update.description {
            detail.insert("description".into(), description.as_str().into());
        }
        Event::new("bank.update", bank_target(id), Value::Object(detail))
    }

    /// A bank was deleted; `signals` of its signals became inactive.
    pub fn bank_delete(id: BankId, signals: u64) -> Event {
        Event::new(
            "bank.delete",
            bank_target(id),
            json!({ "signals": signals }),
        )
    }

    /// One event for a whole `add_content` call, however many items it held.
    pub fn content_add(bank: BankId, items: usize, signals: usize) -> Event {
        Event::new(
            "content.add",
            bank_target(bank),
            json!({ "count": items, "signals": signals }),
        )
    }

    /// An import batch: what it did, and which items it removed (replaced or tombstoned).
    pub fn content_import(bank: BankId, counts: ImportCounts, removed: &[i64]) -> Event {
        Event::new(
            "content.import",
            bank_target(bank),
            json!({
                "added": counts.added,
                "replaced": counts.replaced,
                "removed": counts.removed,
                "missing": counts.missing,
                "unchanged": counts.unchanged,
                "removed_content": removed,
            }),
        )
    }

    /// A partner added (never its key).
    pub fn exchange_create(exchange: &crate::Exchange) -> Event {
        Event::new(
            "exchange.create",
            format!("exchange:{}", exchange.id),
            json!({
                "api": exchange.api,
                "bank": exchange.bank,
                "config": serde_json::from_str::<Value>(&exchange.config).unwrap_or(Value::Null),
                "enabled": exchange.enabled,
            }),
        )
        .about(About::Bank(exchange.bank))
    }

    pub fn exchange_update(exchange: &crate::Exchange) -> Event {
        Event::new(
            "exchange.update",
            format!("exchange:{}", exchange.id),
            json!({
                "config": serde_json::from_str::<Value>(&exchange.config).unwrap_or(Value::Null),
                "enabled": exchange.enabled,
            }),
        )
        .about(About::Bank(exchange.bank))
    }

    pub fn exchange_fetch(exchange: &crate::Exchange) -> Event {
        Event::new(
            "exchange.fetch",
            format!("exchange:{}", exchange.id),
            json!({ "api": exchange.api, "bank": exchange.bank }),
        )
        .about(About::Bank(exchange.bank))
    }

    pub fn exchange_delete(exchange: &crate::Exchange) -> Event {
        Event::new(
            "exchange.delete",
            format!("exchange:{}", exchange.id),
            json!({ "api": exchange.api, "bank": exchange.bank }),
        )
        .about(About::Bank(exchange.bank))
    }

    /// An organisation's credentials for an exchange type, set or cleared (never what they
    /// are).
    pub fn exchange_credentials(org: OrgId, api: &str, set: bool) -> Event {
        Event::new(
            "exchange.credentials",
            format!("org:{org}"),
            json!({ "api": api, "set": set }),
        )
    }

    /// An attempt to give an exchange an organisation's opinion of an item, and how it
    /// ended.
    pub fn exchange_feedback(
        feedback: &crate::Feedback,
        outcome: &crate::FeedbackOutcome,
    ) -> Event {
        Event::new(
            "exchange.feedback",
            content_target(feedback.content),
            json!({
                "exchange": feedback.exchange,
                "org": feedback.org,
                "opinion": feedback.opinion.name(),
                "outcome": outcome.name(),
                "tries": feedback.tries,
                "parts": feedback.parts_done,
                "error": feedback.last_error,
            }),
        )
    }

    pub fn partner_add(partner: &Partner) -> Event {
        Event::new(
            "partner.add",
            format!("partner:{}", partner.id),
            json!({
                "name": partner.name,
                "url": partner.url,
                "public_key": partner.public_key,
                "bank": partner.bank,
            }),
        )
        .about(About::Bank(partner.bank))
    }

    /// A partner of an older deployment made the `ward` exchange `exchange` filling its
    /// bank (its key sealed as the exchange's credentials, never logged); no exchange when
    /// its bank was deleted.
    pub fn partner_convert(
        partner: crate::PartnerId,
        name: &str,
        bank: crate::BankId,
        exchange: Option<crate::ExchangeId>,
    ) -> Event {
        Event::new(
            "partner.convert",
            format!("partner:{partner}"),
            json!({ "name": name, "bank": bank, "exchange": exchange, "api": "ward" }),
        )
        .about(About::Bank(bank))
    }

    pub fn content_enabled(id: ContentId, enabled: bool) -> Event {
        let action = if enabled {
            "content.enable"
        } else {
            "content.disable"
        };
        Event::new(action, content_target(id), json!({}))
    }

    /// The bank's dispute policy disabled an item: `disputes` organisations dispute it, and
    /// the bank's limit is `limit`.
    pub fn disabled_by_disputes(id: ContentId, disputes: i64, limit: i64) -> Event {
        Event::new(
            "content.disable",
            content_target(id),
            json!({ "policy": "disputes", "disputes": disputes, "limit": limit }),
        )
    }

    /// A content item's notes set: what they now say (the metadata by its size only).
    pub fn content_notes(id: ContentId, notes: &ContentNotes) -> Event {
        Event::new(
            "content.notes",
            content_target(id),
            json!({
                "note": notes.note,
                "metadata_bytes": notes.metadata.as_ref().map(String::len),
                "disabled_until": notes.disabled_until.map(|t| t.0),
            }),
        )
    }

    /// A signal type's enabled ratio set (a deployment's setting).
    pub fn signal_type_ratio(name: &str, ratio: Ratio) -> Event {
        Event::new(
            "signal_type.ratio",
            format!("signal_type:{name}"),
            json!({"enabled_ratio": ratio.get()}),
        )
    }

    /// A self-report case opened, added to or withdrawn (`action`), with how many items of
    /// `bank` it added or removed; nothing about the person.
    pub fn self_report(action: &'static str, case: i64, bank: BankId, items: usize) -> Event {
        Event::new(
            action,
            format!("self_report:{case}"),
            json!({ "bank": bank, "items": items }),
        )
        .about(About::Bank(bank))
    }

    pub fn content_remove(id: ContentId) -> Event {
        Event::new("content.remove", content_target(id), json!({}))
    }

    pub fn content_assess(id: ContentId, assessment: Option<Assessment>) -> Event {
        Event::new(
            "content.assess",
            content_target(id),
            json!({
                "age_group": assessment.map(|a| a.age_group.name()),
                "activity": assessment.map(|a| a.activity.name()),
            }),
        )
    }

    pub fn opinion(content: ContentId, org: OrgId, opinion: Option<OpinionKind>) -> Event {
        match opinion {
            Some(kind) => Event::new(
                "opinion.set",
                content_target(content),
                json!({ "org": org, "opinion": kind.name() }),
            ),
            None => Event::new(
                "opinion.clear",
                content_target(content),
                json!({ "org": org }),
            ),
        }
    }

    /// A referral of content was exported: what it referred (`subject`, the target), which
    /// items, and how many related reported URLs it carried.
    /// The event concerns the owner of the items' banks when they all have one.
    pub fn referral_export(
        subject: &str,
        contents: &[ContentId],
        urls: usize,
        banks: Vec<BankId>,
    ) -> Event {
        Event::new(
            "export.referral",
            subject.to_owned(),
            json!({ "content": contents, "urls": urls }),
        )
        .about(About::Banks(banks))
    }

    /// A read of sensitive data; `action` is checked by the caller.
    pub fn read(action: &str, target: &str) -> Event {
        Event::new(action, target.to_owned(), json!({}))
    }

    /// A report was filed: where and in which language, how many URLs; never the reporter's
    /// e-mail.
    pub fn report_filed(report: &Report) -> Event {
        Event::new(
            "report.create",
            format!("report:{}", report.id),
            json!({
                "reference": report.reference,
                "country": report.country,
                "language": report.language,
                "urls": report.urls,
            }),
        )
    }

    pub fn user_create(user: &User) -> Event {
        Event::new(
            "user.create",
            format!("user:{}", user.id),
            json!({ "name": user.name, "org": user.org, "role": user.role.name() }),
        )
    }

    pub fn user_password(id: UserId) -> Event {
        Event::new("user.password", format!("user:{id}"), json!({}))
    }

    /// A password link was made for a user (never the link): their password stopped
    /// working and their sessions ended.
    pub fn user_password_link(id: UserId, expires_at: Timestamp) -> Event {
        Event::new(
            "user.password_link",
            format!("user:{id}"),
            json!({ "expires_at": expires_at.to_rfc3339() }),
        )
    }

    pub fn user_disabled(id: UserId, disabled: bool) -> Event {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        Event::new(action, format!("user:{id}"), json!({}))
    }

    pub fn session_start(id: UserId) -> Event {
        Event::new("session.start", format!("user:{id}"), json!({}))
    }

    /// An analyst's decision on a reported URL.
    /// It concerns the owner of the bank the URL's hashes were added to, if any.
    pub fn url_assess(
        id: UrlId,
        state: UrlState,
        assessment: Option<Assessment>,
        added: Option<ContentId>,
    ) -> Event {
        let about = added.map_or(About::Deployment, About::Content);
        Event::new(
            "url.assess",
            format!("url:{id}"),
            json!({
                "state": state.name(),
                "age_group": assessment.map(|a| a.age_group.name()),
                "activity": assessment.map(|a| a.activity.name()),
                "added_content": added,
            }),
        )
        .about(about)
    }

    pub fn contact_set(contact: &HostContact) -> Event {
        Event::new(
            "contact.set",
            format!("contact:{}", contact.pattern),
            json!({ "email": contact.email, "webhook": contact.webhook }),
        )
    }

    pub fn contact_remove(pattern: &str) -> Event {
        Event::new("contact.remove", format!("contact:{pattern}"), json!({}))
    }

    /// A notice was sent to a host (or sending it failed).
    pub fn notice_sent(id: NoticeId, url: UrlId, outcome: &NoticeOutcome) -> Event {
        let detail = match outcome {
            NoticeOutcome::Sent { next_due_at, .. } => {
                json!({ "notice": id, "sent": true, "next_due_at": next_due_at.to_rfc3339() })
            }
            NoticeOutcome::Failed { error, .. } => {
                json!({ "notice": id, "sent": false, "error": error })
            }
        };
        Event::new("notice.send", format!("url:{url}"), detail)
    }

    /// A forward of a reported URL to or from a partner hotline (`forward.send`,
    /// `forward.receive`, `forward.decline`, `forward.timeout`, and the partner's news:
    /// `forward.received`, `forward.assessed`, `forward.noticed`, `forward.removed`,
    /// `forward.declined`).
    pub fn forward(action: &str, url: UrlId, forward: i64, mut detail: Value) -> Event {
        if let Value::Object(map) = &mut detail {
            map.insert("forward".into(), json!(forward));
        }
        Event::new(action, format!("url:{url}"), detail)
    }

    /// A forwarding partner's countries and settings were set (`None`: it was removed).
    pub fn forwarding_partner(
        exchange: crate::exchanges::ExchangeId,
        partner: Option<&crate::forward::NewForwardingPartner>,
    ) -> Event {
        match partner {
            Some(p) => Event::new(
                "forwarding.set",
                format!("exchange:{exchange}"),
                json!({
                    "countries": p.countries,
                    "enabled": p.enabled,
                    "ack_timeout_ms": p.ack_timeout_ms,
                }),
            ),
            None => Event::new(
                "forwarding.remove",
                format!("exchange:{exchange}"),
                json!({}),
            ),
        }
    }

    /// A URL acted on was fetched again: gone (removed) or still there.
    pub fn url_recheck(id: UrlId, gone: bool) -> Event {
        Event::new("url.recheck", format!("url:{id}"), json!({ "gone": gone }))
    }

    /// Evidence past its retention was deleted.
    pub fn evidence_purged(count: u64) -> Event {
        Event::new(
            "evidence.purge",
            "evidence".to_owned(),
            json!({ "count": count }),
        )
    }

    /// A reported URL was fetched (or the fetch failed), leaving it in `state`.
    pub fn url_fetched(id: UrlId, outcome: &FetchOutcome, state: UrlState) -> Event {
        let detail = match outcome {
            FetchOutcome::Fetched {
                media_type,
                sha256,
                matched,
                evidence,
                ..
            } => json!({
                "state": state.name(),
                "media_type": media_type,
                "sha256": sha256,
                "matched": matched.map(|(content, _)| content),
                "evidence_kept": evidence.is_some(),
            }),
            FetchOutcome::Failed { error, .. } => json!({"state": state.name(), "error": error}),
        };
        Event::new("url.fetch", format!("url:{id}"), detail)
    }
}

fn org_target(id: OrgId) -> String {
    format!("org:{id}")
}

fn bank_target(id: BankId) -> String {
    format!("bank:{id}")
}

fn content_target(id: ContentId) -> String {
    format!("content:{id}")
}

/// The statement that lists the events `query` asks for, with `$1` the id to start after,
/// `$2` the limit, `$3` the target (or NULL) and `$4` the organisation of its scope (or
/// NULL). An organisation's events are read through its two indexes (made by its members,
/// about what it owns), each read only as far as the limit, so that a small organisation's
/// auditor never walks the whole log.
pub(crate) fn audit_query(query: &crate::AuditQuery) -> String {
    use crate::AuditScope;
    use crate::rows::columns;
    // Every parameter is named whether it filters or not (binds: $1 after, $2 limit,
    // $3 target, $4 organisation, $5 actor, $6 action, $7 since, $8 until, $9 before), so
    // that both backends bind the same list; a filter absent is `… IS NULL`, which the
    // planner drops.
    let text = |present: bool, n: u8, filter: &str| {
        if present {
            filter.replace('$', &format!("${n}"))
        } else {
            format!("CAST(${n} AS TEXT) IS NULL")
        }
    };
    let number = |present: bool, n: u8, filter: &str| {
        if present {
            filter.replace('$', &format!("${n}"))
        } else {
            format!("CAST(${n} AS BIGINT) IS NULL")
        }
    };
    let filters = [
        "id > $1".to_owned(),
        text(query.target.is_some(), 3, "target = CAST($ AS TEXT)"),
        text(
            query.actor.is_some(),
            5,
            "substr(actor, 1, length(CAST($ AS TEXT))) = CAST($ AS TEXT)",
        ),
        text(
            query.action.is_some(),
            6,
            "substr(action, 1, length(CAST($ AS TEXT))) = CAST($ AS TEXT)",
        ),
        number(query.since.is_some(), 7, "at >= $"),
        number(query.until.is_some(), 8, "at < $"),
        number(query.before.is_some(), 9, "id < $"),
    ]
    .join(" AND ");
    let order = if query.newest_first { "DESC" } else { "" };
    let columns = columns!(audit);
    match query.scope {
        AuditScope::Deployment => format!(
            "SELECT {columns} FROM audit_log WHERE {filters} AND CAST($4 AS BIGINT) IS NULL \
             ORDER BY id {order} LIMIT $2"
        ),
        // What its members made and what is about what it owns, each read by its own index.
        AuditScope::Org(_) => format!(
            "SELECT {columns} FROM audit_log WHERE id IN (\
             SELECT id FROM (SELECT id FROM audit_log WHERE actor_org = $4 AND {filters} \
             ORDER BY id {order} LIMIT $2) AS made \
             UNION SELECT id FROM (SELECT id FROM audit_log WHERE org_id = $4 AND {filters} \
             ORDER BY id {order} LIMIT $2) AS owned) ORDER BY id {order} LIMIT $2"
        ),
    }
}
