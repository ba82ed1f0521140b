//! Rows as both backends select them (plain tuples, in the column order that `columns!`
//! lists), and their conversion to the model. Enum columns hold the model's names.

use std::collections::HashMap;
use std::str::FromStr;

use ward_core::categories::{Activity, AgeGroup, Assessment};

use crate::error::{Result, StoreError};
use crate::model::*;

/// The columns each row type is selected with, as a literal for `concat!`, so that queries
/// stay `&'static str`.
macro_rules! columns {
    (org) => {
        "id, name, operator, created_at"
    };
    (key) => {
        "id, org_id, role, label, prefix, created_at, revoked_at, last_used_at"
    };
    (bank) => {
        "id, name, org_id, kind, distance, enabled, sharing, description, created_at, updated_at, \
         dispute_limit, reshared_after, reshared_until, enabled_ratio, \
         (SELECT string_agg(CAST(org_id AS TEXT), ',') FROM bank_shares \
          WHERE bank_shares.bank_id = banks.id) AS shared_with"
    };
    (content) => {
        "id, bank_id, enabled, age_group, activity, added_by, added_by_key, added_by_org, \
         source, added_at, external_id, label_scheme, label_profile, label, attributes"
    };
    (signal) => {
        "content_id, id, kind, value"
    };
    (opinion) => {
        "content_id, org_id, kind, at"
    };
    (partner) => {
        "id, name, url, api_key, public_key, bank_id, cursor, feedback_cursor, created_at, synced_at"
    };
    (user) => {
        "id, name, org_id, role, password_hash, created_at, disabled_at"
    };
    (audit) => {
        "id, at, actor, actor_key, actor_org, org_id, action, target, detail"
    };
}
pub(crate) use columns;

pub(crate) type OrgRow = (i64, String, bool, i64);

pub(crate) type UserRow = (i64, String, i64, String, String, i64, Option<i64>);

pub(crate) fn user(row: UserRow) -> Result<User> {
    let (id, name, org, role, password_hash, created_at, disabled_at) = row;
    Ok(User {
        id: UserId(id),
        name,
        org: OrgId(org),
        role: stored(&role)?,
        password_hash,
        created_at: Timestamp(created_at),
        disabled_at: disabled_at.map(Timestamp),
    })
}

pub(crate) type KeyRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

pub(crate) type BankRow = (
    i64,
    String,
    i64,
    String,
    i64,
    bool,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    f64,
    Option<String>,
);

pub(crate) type ContentRow = (
    i64,
    i64,
    bool,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A new item's exchange columns: `external_id, label_scheme, label_profile, label,
/// attributes` (a JSON list of `[name, value]` pairs, or NULL when there are none).
pub(crate) type ExchangeColumns<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<String>,
);

pub(crate) fn exchange_columns(item: &NewContent) -> ExchangeColumns<'_> {
    let label = item.label.as_ref();
    let attributes = (!item.attributes.is_empty())
        .then(|| serde_json::to_string(&item.attributes).unwrap_or_else(|_| "[]".to_owned()));
    (
        item.external_id.as_deref(),
        label.map(|l| l.scheme.as_str()),
        label.and_then(|l| l.profile.as_deref()),
        label.map(|l| l.label.as_str()),
        attributes,
    )
}

/// A signal with the content item it belongs to.
pub(crate) type SignalRow = (i64, i64, String, String);

/// An opinion with the content item it is about.
pub(crate) type OpinionRow = (i64, i64, String, i64);

/// `seq, signal, content, bank, kind, value, active`.
pub(crate) type ChangeRow = (i64, i64, i64, i64, String, String, bool);

pub(crate) type PartnerRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    Option<i64>,
);

pub(crate) fn partner(row: PartnerRow) -> Partner {
    let (id, name, url, api_key, public_key, bank, cursor, feedback_cursor, created_at, synced_at) =
        row;
    Partner {
        id: PartnerId(id),
        name,
        url,
        api_key,
        public_key,
        bank: BankId(bank),
        cursor,
        feedback_cursor,
        created_at: Timestamp(created_at),
        synced_at: synced_at.map(Timestamp),
    }
}

pub(crate) type AuditRow = (
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
);

pub(crate) fn org((id, name, operator, created_at): OrgRow) -> Organisation {
    Organisation {
        id: OrgId(id),
        name,
        operator,
        created_at: Timestamp(created_at),
    }
}

pub(crate) fn key(row: KeyRow) -> Result<ApiKey> {
    let (id, org, role, label, prefix, created_at, revoked_at, last_used_at) = row;
    Ok(ApiKey {
        id: KeyId(id),
        org: OrgId(org),
        role: stored(&role)?,
        label,
        prefix,
        created_at: Timestamp(created_at),
        revoked_at: revoked_at.map(Timestamp),
        last_used_at: last_used_at.map(Timestamp),
    })
}

pub(crate) fn bank(row: BankRow) -> Result<Bank> {
    let (
        id,
        name,
        org,
        kind,
        distance,
        enabled,
        sharing,
        description,
        created_at,
        updated_at,
        dispute_limit,
        reshared_after,
        reshared_until,
        enabled_ratio,
        shared_with,
    ) = row;
    let mut shared_with = shared_with
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().map(OrgId))
        .collect::<std::result::Result<Vec<OrgId>, _>>()
        .map_err(|_| corrupt(format!("bank {id} is shared with a malformed organisation")))?;
    shared_with.sort_unstable();
    let dispute_limit = dispute_limit
        .map(u32::try_from)
        .transpose()
        .map_err(|_| corrupt(format!("bank {id} has a malformed dispute limit")))?;
    Ok(Bank {
        id: BankId(id),
        name,
        org: OrgId(org),
        kind: stored(&kind)?,
        distance: u32::try_from(distance)
            .map_err(|_| corrupt(format!("bank {id} has the distance {distance}")))?,
        enabled,
        enabled_ratio: Ratio::new(enabled_ratio)
            .map_err(|_| corrupt(format!("bank {id} has the enabled ratio {enabled_ratio}")))?,
        sharing: stored(&sharing)?,
        shared_with,
        dispute_limit,
        reshared: (Seq(reshared_after), Seq(reshared_until)),
        description,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(updated_at),
    })
}

/// The bank a query for bank `id` found, or "not found".
pub(crate) fn found_bank(row: Option<BankRow>, id: BankId) -> Result<Bank> {
    bank(row.ok_or_else(|| StoreError::NotFound {
        what: "bank",
        id: id.to_string(),
    })?)
}

pub(crate) fn change(row: ChangeRow) -> Result<SignalChange> {
    let (seq, signal, content, bank, kind, value, active) = row;
    Ok(SignalChange {
        seq: Seq(seq),
        signal: SignalId(signal),
        content: ContentId(content),
        bank: BankId(bank),
        kind: stored(&kind)?,
        value,
        active,
        summary_group: None,
    })
}

pub(crate) fn audit(row: AuditRow) -> Result<AuditEvent> {
    let (id, at, actor, actor_key, actor_org, org, action, target, detail) = row;
    Ok(AuditEvent {
        id,
        at: Timestamp(at),
        actor,
        actor_key: actor_key.map(KeyId),
        actor_org: actor_org.map(OrgId),
        org: org.map(OrgId),
        action,
        target,
        detail: serde_json::from_str(&detail).map_err(|e| {
            corrupt(format!(
                "audit event {id} has a detail that is not JSON: {e}"
            ))
        })?,
    })
}

/// An assessment as its two columns.
pub(crate) fn assessment_columns(
    assessment: Option<Assessment>,
) -> (Option<&'static str>, Option<&'static str>) {
    match assessment {
        Some(a) => (Some(a.age_group.name()), Some(a.activity.name())),
        None => (None, None),
    }
}

/// Content items from their rows, signals (by id) and opinions (by organisation), in the
/// order of `contents`.
pub(crate) fn contents(
    contents: Vec<ContentRow>,
    signals: Vec<SignalRow>,
    opinions: Vec<OpinionRow>,
) -> Result<Vec<Content>> {
    let mut signals_of: HashMap<i64, Vec<StoredSignal>> = HashMap::new();
    for (content, id, kind, value) in signals {
        signals_of.entry(content).or_default().push(StoredSignal {
            id: SignalId(id),
            kind: stored(&kind)?,
            value,
        });
    }
    let mut opinions_of: HashMap<i64, Vec<Opinion>> = HashMap::new();
    for (content, org, kind, at) in opinions {
        opinions_of.entry(content).or_default().push(Opinion {
            org: OrgId(org),
            kind: stored(&kind)?,
            at: Timestamp(at),
        });
    }
    contents
        .into_iter()
        .map(|row| {
            let (
                id,
                bank,
                enabled,
                age_group,
                activity,
                added_by,
                key,
                org,
                source,
                added_at,
                external_id,
                label_scheme,
                label_profile,
                label,
                attributes,
            ) = row;
            let label = match (label_scheme, label) {
                (Some(scheme), Some(label)) => Some(ListLabel {
                    scheme,
                    profile: label_profile,
                    label,
                }),
                (None, None) => None,
                _ => return Err(corrupt(format!("content {id} has half a label"))),
            };
            let attributes = match attributes {
                Some(text) => serde_json::from_str(&text).map_err(|e| {
                    corrupt(format!(
                        "content {id} has attributes that are not JSON: {e}"
                    ))
                })?,
                None => Vec::new(),
            };
            let assessment = assessment_of(id, age_group, activity)?;
            let mut signals = signals_of.remove(&id).unwrap_or_default();
            signals.sort_by_key(|s| s.id);
            let mut opinions = opinions_of.remove(&id).unwrap_or_default();
            opinions.sort_by_key(|o| o.org);
            Ok(Content {
                id: ContentId(id),
                bank: BankId(bank),
                enabled,
                assessment,
                signals,
                provenance: Provenance {
                    added_by,
                    added_by_key: key.map(KeyId),
                    added_by_org: org.map(OrgId),
                    source,
                    added_at: Timestamp(added_at),
                },
                opinions,
                external_id,
                label,
                attributes,
            })
        })
        .collect()
}

/// `found` (each item once) in the order of `asked`, skipping ids that were not found.
pub(crate) fn in_order_asked(found: Vec<Content>, asked: &[ContentId]) -> Vec<Content> {
    let mut by_id: HashMap<ContentId, Content> = found.into_iter().map(|c| (c.id, c)).collect();
    // An id asked twice is listed twice: the last time it is asked, it is moved out.
    let mut remaining: HashMap<ContentId, usize> = HashMap::new();
    for id in asked {
        *remaining.entry(*id).or_default() += 1;
    }
    let mut ordered = Vec::with_capacity(asked.len());
    for id in asked {
        let left = remaining.get_mut(id).map_or(0, |n| {
            *n -= 1;
            *n
        });
        let item = if left == 0 {
            by_id.remove(id)
        } else {
            by_id.get(id).cloned()
        };
        ordered.extend(item);
    }
    ordered
}

/// `id, age_group, activity, added_by, added_by_key, added_by_org, source, added_at,
/// disputed` (NULL: no opinion; true: some dispute), then the series' `id,
/// victim_identified, offender_identified, referred` (NULL when in none).
pub(crate) type MatchSummaryRow = (
    i64,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    Option<bool>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
);

pub(crate) fn match_summary(row: MatchSummaryRow) -> Result<MatchSummary> {
    let (id, age_group, activity, added_by, key, org, source, added_at, disputed) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
    );
    let series = row.9.map(|series| SeriesBadge {
        id: crate::SeriesId(series),
        victim_identified: row.10.unwrap_or(false),
        offender_identified: row.11.unwrap_or(false),
        referred: row.12.unwrap_or(false),
    });
    Ok(MatchSummary {
        id: ContentId(id),
        assessment: assessment_of(id, age_group, activity)?,
        provenance: Provenance {
            added_by,
            added_by_key: key.map(KeyId),
            added_by_org: org.map(OrgId),
            source,
            added_at: Timestamp(added_at),
        },
        opinion_status: match disputed {
            None => OpinionStatus::Unreviewed,
            Some(false) => OpinionStatus::Confirmed,
            Some(true) => OpinionStatus::Disputed,
        },
        series,
    })
}

/// A model enum from its stored name.
/// An assessment from its two columns (row `id`'s): both or neither.
pub(crate) fn assessment_of(
    id: i64,
    age_group: Option<String>,
    activity: Option<String>,
) -> Result<Option<Assessment>> {
    match (age_group, activity) {
        (Some(age_group), Some(activity)) => Ok(Some(Assessment {
            age_group: stored_category::<AgeGroup>(&age_group)?,
            activity: stored_category::<Activity>(&activity)?,
        })),
        (None, None) => Ok(None),
        _ => Err(corrupt(format!("row {id} has half an assessment"))),
    }
}

pub(crate) fn stored<T: FromStr<Err = StoreError>>(name: &str) -> Result<T> {
    name.parse()
        .map_err(|e: StoreError| corrupt(format!("a stored value is not understood: {e}")))
}

fn stored_category<T: FromStr<Err = ward_core::Error>>(name: &str) -> Result<T> {
    name.parse()
        .map_err(|e: ward_core::Error| corrupt(format!("a stored value is not understood: {e}")))
}

fn corrupt(message: String) -> StoreError {
    StoreError::Database(message)
}
