//! How the API writes stored things as JSON: banks, content with its categories, provenance
//! and opinions, audit events.

use serde::Serialize;
use serde_json::{Value, json};
use ward_core::categories::Assessment;
use ward_store::{AuditEvent, Bank, Content, OrgId, Provenance};

/// Provenance as answers show it (the time already formatted).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProvenanceView {
    pub added_at: String,
    pub added_by: String,
    pub org: Option<OrgId>,
    pub source: String,
}

/// The granular facts of an assessment and the labels derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CategoriesView {
    pub activity: &'static str,
    pub age_group: &'static str,
    pub industry: Option<&'static str>,
    pub uk: &'static str,
}

impl CategoriesView {
    pub fn of(assessment: &Assessment) -> CategoriesView {
        CategoriesView {
            activity: assessment.activity.name(),
            age_group: assessment.age_group.name(),
            industry: assessment.industry().map(|c| c.name()),
            uk: assessment.uk().name(),
        }
    }
}

impl ProvenanceView {
    pub fn of(provenance: &Provenance) -> ProvenanceView {
        ProvenanceView {
            added_at: provenance.added_at.to_rfc3339(),
            added_by: provenance.added_by.clone(),
            org: provenance.added_by_org,
            source: provenance.source.clone(),
        }
    }
}

pub fn bank(bank: &Bank) -> Value {
    json!({
        "id": bank.id,
        "name": bank.name,
        "org": bank.org,
        "kind": bank.kind.name(),
        "distance": bank.distance,
        "enabled": bank.enabled,
        "enabled_ratio": bank.enabled_ratio.get(),
        "sharing": bank.sharing.name(),
        "shared_with": bank.shared_with,
        "dispute_limit": bank.dispute_limit,
        "description": bank.description,
        "created_at": bank.created_at.to_rfc3339(),
        "updated_at": bank.updated_at.to_rfc3339(),
    })
}

/// The facts, and each scheme's label derived from them (`null` where the scheme has none).
pub fn categories(assessment: Option<&Assessment>) -> Value {
    json!(assessment.map(CategoriesView::of))
}

pub fn provenance(provenance: &Provenance) -> Value {
    json!(ProvenanceView::of(provenance))
}

pub fn content(content: &Content) -> Value {
    let signals: Vec<Value> = content
        .signals
        .iter()
        .map(|s| json!({"id": s.id, "signal_type": s.kind.name(), "signal": s.value}))
        .collect();
    let opinions: Vec<Value> = content
        .opinions
        .iter()
        .map(|o| json!({"org": o.org, "opinion": o.kind.name(), "at": o.at.to_rfc3339()}))
        .collect();
    json!({
        "id": content.id,
        "bank": content.bank,
        "enabled": content.enabled,
        "signals": signals,
        "categories": categories(content.assessment.as_ref()),
        "provenance": provenance(&content.provenance),
        "opinions": opinions,
        "opinion_status": content.opinion_status().name(),
        "external_id": content.external_id,
        "label": label(content.label.as_ref()),
        "attributes": attributes(&content.attributes),
    })
}

/// Feedback given (or owed) to an exchange on a content item.
pub fn feedback(feedback: &ward_store::Feedback) -> Value {
    json!({
        "exchange": feedback.exchange,
        "org": feedback.org,
        "opinion": feedback.opinion.name(),
        "state": feedback.state.name(),
        "tries": feedback.tries,
        "parts": feedback.parts_done,
        "created_at": feedback.created_at.to_rfc3339(),
        "done_at": feedback.done_at.map(|t| t.to_rfc3339()),
        "next_try_at": (feedback.state == ward_store::FeedbackState::Pending)
            .then(|| feedback.next_try_at.to_rfc3339()),
        "error": feedback.last_error,
    })
}

/// What the feed (and a partner pulling it) carries of a content item beside its signals.
pub fn exchange(content: &Content) -> Value {
    json!({
        "external_id": content.external_id,
        "label": label(content.label.as_ref()),
        "attributes": attributes(&content.attributes),
        "categories": categories(content.assessment.as_ref()),
        "provenance": provenance(&content.provenance),
        "opinion_status": content.opinion_status().name(),
    })
}

/// A list's label as given: `{"scheme": "industry", "profile": null, "label": "A1"}`.
pub fn label(label: Option<&ward_store::ListLabel>) -> Value {
    json!(label.map(|l| json!({"scheme": l.scheme, "profile": l.profile, "label": l.label})))
}

/// A list's other fields, in their order: `[["Series", "..."], ...]`.
pub fn attributes(attributes: &[(String, String)]) -> Value {
    json!(attributes)
}

pub fn audit_event(event: &AuditEvent) -> Value {
    json!({
        "id": event.id,
        "at": event.at.to_rfc3339(),
        "actor": event.actor,
        "actor_key": event.actor_key,
        "actor_org": event.actor_org,
        "org": event.org,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    })
}
