//! Feedback written back to exchanges: an organisation's confirmation or dispute of an item
//! one of its exchanges brought, sent to that exchange in its own form, once, retried until
//! the exchange accepts it.
//!
//! The store owes the feedback when the opinion changes (`ward_store`'s `feedback` module:
//! only the exchange's own organisation's opinions, only items the exchange keyed). Here a
//! sender claims what is due ([`send_due`]), makes each type's form of it, and sends it:
//!
//! - NCMEC: `PUT /v2/entries/{member}/{entry}/{TYPE}/feedback`, one per fingerprint type of
//!   the entry that NCMEC takes feedback on (`MD5`, `SHA1`, `PDQ`, `PDNA`), `affirmative` for
//!   a confirmation and `negative` with a reason for a dispute. The reason is the settings'
//!   `dispute_reason` (a guid or a name among those NCMEC offers for the type), else the only
//!   one NCMEC offers; with several and none chosen, the feedback waits, failing, until one
//!   is.
//! - StopNCII: `POST /SubmitFeedback` of the hash, `Blocked` for a confirmation and
//!   `NotBlocked` for a dispute, with the SubmitFeedback function key (the credentials'
//!   `submit_feedback_function_key`, which HMA does not have: without it feedback waits).
//! - ThreatExchange: a reaction on each descriptor of the indicator that another app wrote,
//!   `HELPFUL` for a confirmation and `NOT_HELPFUL` for a dispute (python-threatexchange's
//!   upvote and downvote). An indicator whose opinions came only from reactions has no
//!   descriptor to react to: not sent.
//! - Another Ward instance (`ward`): `PUT /v1/content/{its id}/opinion`, which it records as
//!   the organisation of the key it gave.
//! - A list at a URL takes no feedback: not sent.
//!
//! Each part (a fingerprint type, a descriptor) is recorded as the exchange accepts it, so
//! that a retry sends only what is left and the exchange gets each part once. A write is
//! never retried within an attempt (an exchange may have applied a write whose answer was
//! lost); a failed attempt (no answer, a 429 or 5xx, credentials refused, settings that do
//! not say enough) is tried again after a backoff that grows with the tries (a minute,
//! doubling, at most six hours), and a refusal for good (any other 4xx: an entry gone, a
//! request the exchange will not take) ends it. A node killed after an exchange accepted a
//! part but before the part was recorded sends that part again once its claim runs out
//! (thirty minutes; a turn starts no more of its batch after five): at most one duplicate,
//! only then.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use ward_store::{
    Actor, Content, Exchange, ExchangeId, Feedback, FeedbackOutcome, OpinionKind, Store,
    StoreError, Timestamp,
};

use super::{Api, Credentials, ExchangeError, Http, backoff, parse_json, shown};
use crate::serve::evidence::EvidenceKey;

/// Feedback claimed at once.
const BATCH: u32 = 50;
/// How long a claim holds: far longer than the part of a batch a turn sends.
const CLAIM: Duration = Duration::from_secs(1800);
/// After this long, a turn starts no more of its batch (what it claimed and did not send
/// waits for its claim to run out): a slow exchange never keeps a claim past its end.
const TURN: Duration = Duration::from_secs(300);
/// How long a feedback request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a refusal's body is kept as its reason.
const REASON_BYTES: usize = 300;

/// One request of feedback that the exchange accepts on its own.
pub struct Part {
    /// What it is about (a fingerprint type, a descriptor): kept once accepted.
    pub name: String,
    pub request: reqwest::RequestBuilder,
    /// Its URL, as errors show it.
    pub url: String,
    /// Whether a refusal's body says the credentials are wrong (Graph answers a bad token
    /// with a 400), so that the feedback waits for better ones rather than ending.
    pub refuses_credentials: fn(&[u8]) -> bool,
}

impl Part {
    pub fn new(
        name: impl Into<String>,
        request: reqwest::RequestBuilder,
        url: impl Into<String>,
    ) -> Part {
        Part {
            name: name.into(),
            request,
            url: url.into(),
            refuses_credentials: |_| false,
        }
    }
}

/// What a type makes of feedback.
pub enum Form {
    Parts(Vec<Part>),
    /// It cannot be sent, and why.
    Unsendable(String),
}

/// What a turn of [`send_due`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FeedbackReport {
    pub sent: u64,
    pub refused: u64,
    pub unsent: u64,
    pub failed: u64,
}

/// Sends the feedback due at `now` (a batch of it; `only` that to one exchange, when
/// given), opening credentials with `key`.
pub async fn send_due(
    store: &impl Store,
    http: &Http,
    key: Option<&EvidenceKey>,
    now: Timestamp,
    only: Option<ExchangeId>,
) -> Result<FeedbackReport, StoreError> {
    let until = Timestamp(now.0 + CLAIM.as_millis() as i64);
    let started = std::time::Instant::now();
    let mut report = FeedbackReport::default();
    for feedback in store.claim_feedback(now, until, BATCH, only).await? {
        if started.elapsed() > TURN {
            break;
        }
        let exchange = store.exchange(feedback.exchange).await?;
        let outcome = match give(store, http, key, exchange.as_ref(), &feedback).await {
            Ok(outcome) => outcome,
            Err(error) => FeedbackOutcome::Failed {
                error: format!("{error:#}"),
                retry_at: Timestamp(
                    Timestamp::now().0 + backoff(feedback.tries + 1).as_millis() as i64,
                ),
            },
        };
        let name = exchange.as_ref().map_or("(deleted)", |e| e.name.as_str());
        let actor = Actor::operator(&format!("exchange:{name}"));
        match store.finish_feedback(&actor, feedback.id, &outcome).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
        match &outcome {
            FeedbackOutcome::Sent => report.sent += 1,
            FeedbackOutcome::Refused(_) => report.refused += 1,
            FeedbackOutcome::Unsent(_) => report.unsent += 1,
            FeedbackOutcome::Failed { error, .. } => {
                report.failed += 1;
                tracing::warn!(exchange = %name, feedback = feedback.id, %error, "feedback not accepted; retrying later");
            }
        }
    }
    Ok(report)
}

/// One attempt at `feedback`: how it ended, or why it is to be tried again.
async fn give(
    store: &impl Store,
    http: &Http,
    key: Option<&EvidenceKey>,
    exchange: Option<&Exchange>,
    feedback: &Feedback,
) -> anyhow::Result<FeedbackOutcome> {
    let Some(exchange) = exchange else {
        return Ok(FeedbackOutcome::Unsent("the exchange is gone".into()));
    };
    let Some(api) = Api::named(&exchange.api) else {
        return Ok(FeedbackOutcome::Unsent(format!(
            "Ward gives no feedback to exchanges of {}",
            exchange.api
        )));
    };
    if api == Api::File {
        return Ok(FeedbackOutcome::Unsent(
            "a list at a URL takes no feedback".into(),
        ));
    }
    let Some(content) = store.content(feedback.content).await? else {
        return Ok(FeedbackOutcome::Unsent("the item was removed".into()));
    };
    let key =
        key.ok_or_else(|| anyhow::anyhow!("this node has no key to open credentials with"))?;
    let credentials = super::open_credentials(store, key, exchange).await?;
    let form = form(http, exchange, credentials, &content, feedback.opinion).await?;
    let parts = match form {
        Form::Parts(parts) => parts,
        Form::Unsendable(why) => return Ok(FeedbackOutcome::Unsent(why)),
    };
    for part in parts {
        if feedback.parts_done.contains(&part.name) {
            continue;
        }
        let name = part.name.clone();
        match send(part).await? {
            Answer::Accepted => store.feedback_part_done(feedback.id, &name).await?,
            Answer::Refused(why) => return Ok(FeedbackOutcome::Refused(why)),
        }
    }
    Ok(FeedbackOutcome::Sent)
}

/// The form of feedback on `content` in `exchange`'s type.
async fn form(
    http: &Http,
    exchange: &Exchange,
    credentials: Credentials,
    content: &Content,
    opinion: OpinionKind,
) -> Result<Form, ExchangeError> {
    let settings = &exchange.config;
    match credentials {
        Credentials::Ncmec(c) => {
            let config = parse_json("settings", settings)?;
            super::ncmec::Ncmec::new(&config, c)?
                .feedback(http, content, opinion)
                .await
        }
        Credentials::StopNcii(c) => {
            let config = parse_json("settings", settings)?;
            super::stopncii::StopNcii::new(&config, c)?.feedback(http, content, opinion)
        }
        Credentials::ThreatExchange(c) => {
            let config = parse_json("settings", settings)?;
            super::threatexchange::ThreatExchange::new(&config, c)?.feedback(http, content, opinion)
        }
        Credentials::Ward(c) => {
            let config = parse_json("settings", settings)?;
            Ok(
                super::ward::Feed::new(&config, c, &exchange.name)?
                    .feedback(http, content, opinion),
            )
        }
        Credentials::File(_) => Ok(Form::Unsendable("a list at a URL takes no feedback".into())),
    }
}

/// How an exchange answered a part.
enum Answer {
    Accepted,
    /// Refused for good (a 4xx other than 401, 403 and 429), and why.
    Refused(String),
}

/// Sends a part once.
async fn send(part: Part) -> Result<Answer, ExchangeError> {
    let url = part.url.as_str();
    let response = part
        .request
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|error| ExchangeError::Unreachable {
            url: shown(url),
            reason: error.without_url().to_string(),
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(Answer::Accepted);
    }
    if matches!(status.as_u16(), 401 | 403) {
        return Err(ExchangeError::Credentials(status.as_u16()));
    }
    if status.is_client_error() && status.as_u16() != 429 {
        let body = super::read_limited(response, url, REASON_BYTES * 4)
            .await
            .unwrap_or_default();
        if (part.refuses_credentials)(&body) {
            return Err(ExchangeError::Credentials(status.as_u16()));
        }
        let body = String::from_utf8_lossy(&body);
        let body: String = body.chars().take(REASON_BYTES).collect();
        return Ok(Answer::Refused(format!(
            "HTTP {} from {}: {}",
            status.as_u16(),
            shown(url),
            body.trim()
        )));
    }
    Err(ExchangeError::Status {
        status: status.as_u16(),
        url: shown(url),
    })
}

/// The descriptors of a ThreatExchange item's opinions (its `opinions` attribute) that an
/// app other than `own_app` wrote, in order, each once.
pub fn descriptors_of_others(content: &Content, own_app: &str) -> Vec<String> {
    let Some((_, opinions)) = content
        .attributes
        .iter()
        .find(|(name, _)| name == "opinions")
    else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(opinions)) = serde_json::from_str(opinions) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    opinions
        .iter()
        .filter(|o| o.get("owner").and_then(|v| v.as_str()) != Some(own_app))
        .filter_map(|o| o.get("descriptor").and_then(|v| v.as_str()))
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .filter(|d| seen.insert(d.to_string()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use ward_store::{BankId, ContentId, Provenance};

    use super::*;

    fn content(opinions: Option<&str>) -> Content {
        Content {
            id: ContentId(1),
            bank: BankId(1),
            enabled: true,
            assessment: None,
            signals: Vec::new(),
            provenance: Provenance {
                added_by: "test".into(),
                added_by_key: None,
                added_by_org: None,
                source: "test".into(),
                added_at: Timestamp(0),
            },
            opinions: Vec::new(),
            external_id: Some("HASH_PDQ:00".into()),
            label: None,
            attributes: opinions
                .map(|o| vec![("opinions".to_owned(), o.to_owned())])
                .unwrap_or_default(),
        }
    }

    #[test]
    fn reactions_go_to_other_apps_descriptors() {
        for (opinions, expected) in [
            (
                r#"[{"owner": "1", "descriptor": "11"}, {"owner": "2", "descriptor": "22"}]"#,
                vec!["22"],
            ),
            // Implied by a reaction: nothing to react to.
            (r#"[{"owner": "3", "reaction": "HELPFUL"}]"#, vec![]),
            // Each descriptor once; ids that are not Graph's are never put in a path.
            (
                r#"[{"owner": "2", "descriptor": "22"}, {"owner": "4", "descriptor": "22"},
                   {"owner": "5", "descriptor": "../x"}, {"owner": "6", "descriptor": ""}]"#,
                vec!["22"],
            ),
            ("not json", vec![]),
            (r#"{"owner": "2"}"#, vec![]),
        ] {
            assert_eq!(
                descriptors_of_others(&content(Some(opinions)), "1"),
                expected,
                "{opinions}"
            );
        }
        assert!(descriptors_of_others(&content(None), "1").is_empty());
    }
}
