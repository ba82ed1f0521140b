//! Federation between Ward instances: this instance's identity (an Ed25519 key whose public
//! half it publishes at `GET /v1/instance`), the signature on every feed page it serves,
//! and the puller that reads a partner's feed into a local bank.
//!
//! A page is signed over its exact body, and the body names what it answers: the instance
//! (`instance`, its public key), the organisation it was made for (`org`), and the cursor it
//! was asked for (`after`). The puller trusts only the public key pinned when the partner was
//! added, and refuses a page whose signature does not verify (altered in transit, or from
//! another instance), that was made for another cursor (an old page replayed) or for
//! another instance. It applies each page to the local bank as one import batch keyed on
//! the partner's content ids (so applying a page twice changes nothing), and saves the
//! cursor after it: a puller killed at any point resumes from the last page it saved, and
//! loses or duplicates nothing.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Deserialize;
use serde_json::Value;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_core::digest::{parse_hex, to_hex};
use ward_store::{
    Actor, ContentId, ImportChange, ImportCounts, ListLabel, NewContent, OpinionStatus, Partner,
    Seq, SignalKind, Store,
};

/// The response header that carries a feed page's signature (hex).
pub const SIGNATURE_HEADER: &str = "x-ward-signature";
/// Entries asked for per page.
const PAGE: u32 = 1000;
/// The largest page body read from a partner.
const MAX_PAGE_BYTES: usize = 64 << 20;

/// This instance's signing identity.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret half.
        write!(f, "Identity({})", self.public_key())
    }
}

impl Identity {
    pub fn from_seed(seed: &[u8; 32]) -> Identity {
        Identity {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The public key, as hex.
    pub fn public_key(&self) -> String {
        to_hex(self.key.verifying_key().as_bytes())
    }

    /// The signature of `body`, as hex.
    pub fn sign(&self, body: &[u8]) -> String {
        to_hex(&self.key.sign(body).to_bytes())
    }
}

/// An Ed25519 public key from its hex.
pub fn public_key(hex: &str) -> Result<VerifyingKey, String> {
    let key: [u8; 32] = parse_hex(hex.trim().as_bytes()).ok_or("a public key is 64 hex digits")?;
    VerifyingKey::from_bytes(&key).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// Checks that `signature` (hex) is `public_key`'s (hex) over `body`.
pub fn verify(public_key: &str, body: &[u8], signature: &str) -> Result<(), String> {
    let key = self::public_key(public_key)?;
    let signature: [u8; 64] =
        parse_hex(signature.trim().as_bytes()).ok_or("the signature is not 128 hex digits")?;
    key.verify(body, &Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not verify".to_owned())
}

/// An HTTP client for partners: bounded in time, never following redirects (a partner's
/// answer comes from the URL the operator gave, or not at all).
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("making the HTTP client")
}

/// A partner's published identity (`GET /v1/instance`), to pin when it is added.
pub async fn published_key(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let url = format!("{}/v1/instance", url.trim_end_matches('/'));
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("asking {url}"))?
        .error_for_status()
        .with_context(|| format!("asking {url}"))?;
    let body = read_limited(response, 1 << 16)
        .await
        .with_context(|| format!("reading {url}"))?;
    let answer: Value =
        serde_json::from_slice(&body).with_context(|| format!("{url}: not JSON"))?;
    let key = answer["public_key"]
        .as_str()
        .filter(|k| parse_hex::<32>(k.as_bytes()).is_some())
        .ok_or_else(|| anyhow!("{url} publishes no Ed25519 public key"))?;
    Ok(key.to_owned())
}

/// What one pull (or one round) did.
#[derive(Debug, Default)]
pub struct PullReport {
    pub pages: u64,
    pub entries: u64,
    pub counts: ImportCounts,
    /// Where the partner's feed was read to.
    pub cursor: String,
    /// Opinions sent back (in a round).
    pub opinions_sent: u64,
}

impl PullReport {
    fn add(&mut self, other: PullReport) {
        self.pages += other.pages;
        self.entries += other.entries;
        self.counts.add(other.counts);
        self.cursor = other.cursor;
        self.opinions_sent += other.opinions_sent;
    }
}

/// One sync with a partner: pulls its feed, sends this instance's opinions back, and, when
/// any were sent, pulls again, so that what they caused there (an item its dispute policy
/// disabled, say) arrives within the same sync.
pub async fn round(
    store: &impl Store,
    client: &reqwest::Client,
    partner: &Partner,
) -> anyhow::Result<PullReport> {
    let mut report = pull(store, client, partner).await?;
    report.opinions_sent = push_feedback(store, client, partner).await?;
    if report.opinions_sent > 0 {
        let partner = Partner {
            cursor: report.cursor.clone(),
            ..partner.clone()
        };
        let again = pull(store, client, &partner).await?;
        report.add(PullReport {
            opinions_sent: 0,
            ..again
        });
    }
    Ok(report)
}

/// A feed page as the puller reads it.
#[derive(Debug, Deserialize)]
struct Page {
    instance: String,
    after: String,
    cursor: String,
    more: bool,
    entries: Vec<Value>,
}

/// Pulls `partner`'s feed from its saved cursor until it has no more, page by page.
pub async fn pull(
    store: &impl Store,
    client: &reqwest::Client,
    partner: &Partner,
) -> anyhow::Result<PullReport> {
    let actor = Actor::operator(&format!("sync:{}", partner.name));
    let mut cursor = partner.cursor.clone();
    let mut report = PullReport {
        cursor: cursor.clone(),
        ..PullReport::default()
    };
    loop {
        let url = format!(
            "{}/v1/feed?cursor={cursor}&limit={PAGE}",
            partner.url.trim_end_matches('/')
        );
        let response = client
            .get(&url)
            .bearer_auth(&partner.api_key)
            .send()
            .await
            .with_context(|| format!("asking {url}"))?;
        let status = response.status();
        let signature = response
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(response, MAX_PAGE_BYTES)
            .await
            .with_context(|| format!("reading {url}"))?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        let signature =
            signature.ok_or_else(|| anyhow!("{url}: the page is not signed; refused"))?;
        verify(&partner.public_key, &body, &signature).map_err(|e| {
            anyhow!(
                "{url}: {e} (altered in transit, or not {}); refused",
                partner.name
            )
        })?;
        let page: Page =
            serde_json::from_slice(&body).with_context(|| format!("{url}: not a feed page"))?;
        if page.instance != partner.public_key {
            bail!("{url}: the page names another instance; refused");
        }
        if page.after != cursor {
            bail!(
                "{url}: the page answers cursor {:?}, not {cursor:?} (replayed); refused",
                page.after
            );
        }
        let changes: Vec<ImportChange> = page
            .entries
            .iter()
            .map(|entry| change(entry, &partner.name))
            .collect::<anyhow::Result<_>>()
            .with_context(|| format!("{url}: a malformed entry; the page is refused"))?;
        let counts = store
            .import_content(&actor, partner.bank, &changes)
            .await
            .context("storing a page")?;
        store
            .set_partner_cursor(partner.id, &page.cursor)
            .await
            .context("saving the cursor")?;
        report.pages += 1;
        report.entries += changes.len() as u64;
        report.counts.add(counts);
        cursor = page.cursor;
        report.cursor = cursor.clone();
        if !page.more {
            return Ok(report);
        }
    }
}

/// Sends this instance's opinions on the partner's content back to it: every content item
/// of the partner's bank changed in this instance's feed after the feedback cursor that has
/// opinions here gives the partner one opinion (a dispute if any organisation here disputes
/// it, else a confirmation), recorded there as the organisation of the key it gave. The
/// cursor is saved after each page of the feed, so an opinion is sent again only if the
/// item changes again. (Clearing an opinion here is not sent.)
pub async fn push_feedback(
    store: &impl Store,
    client: &reqwest::Client,
    partner: &Partner,
) -> anyhow::Result<u64> {
    let mut after = Seq(partner.feedback_cursor.parse().unwrap_or(0));
    let mut sent = 0;
    loop {
        let changes = store.signal_changes(after, 10_000).await?;
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(sent);
        };
        let mut ids: Vec<ContentId> = changes
            .iter()
            .filter(|c| c.bank == partner.bank && c.active)
            .map(|c| c.content)
            .collect();
        ids.dedup();
        for content in store.contents(&ids).await? {
            let (Some(origin), false) = (&content.external_id, content.opinions.is_empty()) else {
                continue;
            };
            let opinion = match content.opinion_status() {
                OpinionStatus::Disputed => "dispute",
                _ => "confirm",
            };
            let url = format!(
                "{}/v1/content/{origin}/opinion",
                partner.url.trim_end_matches('/')
            );
            let response = client
                .put(&url)
                .bearer_auth(&partner.api_key)
                .header("content-type", "application/json")
                .body(serde_json::json!({ "opinion": opinion }).to_string())
                .send()
                .await
                .with_context(|| format!("sending an opinion to {url}"))?;
            match response.status() {
                status if status.is_success() => sent += 1,
                // Gone there since: nothing to give an opinion on.
                reqwest::StatusCode::NOT_FOUND => {}
                status => bail!("{url} answered {status} to an opinion"),
            }
        }
        store
            .set_partner_feedback_cursor(partner.id, &last.0.to_string())
            .await?;
        after = last;
    }
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            bail!("the answer is larger than {limit} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A feed entry as a change to the local bank, keyed on the partner's content id, with
/// the partner and its organisation in the provenance.
fn change(entry: &Value, partner: &str) -> anyhow::Result<ImportChange> {
    let id = entry["content_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("an entry without a content_id"))?;
    let external_id = id.to_string();
    match entry["op"].as_str() {
        Some("delete") => Ok(ImportChange::Delete { external_id }),
        Some("upsert") => {
            let mut signals = Vec::new();
            for signal in entry["signals"].as_array().into_iter().flatten() {
                let kind: SignalKind =
                    signal["signal_type"].as_str().unwrap_or_default().parse()?;
                let value = signal["signal"].as_str().unwrap_or_default();
                // Stored as the partner sent it, once it is checked as Ward checks any
                // signal it is given.
                signals.push(
                    crate::serve::stored_signal(kind.name(), value)
                        .map_err(|e| anyhow!("content {id}: {}", e.message))?,
                );
            }
            if signals.is_empty() {
                bail!("content {id}: an upsert without signals");
            }
            let assessment = entry["categories"].as_object().and_then(|c| {
                Some(Assessment {
                    age_group: c.get("age_group")?.as_str()?.parse::<AgeGroup>().ok()?,
                    activity: c.get("activity")?.as_str()?.parse::<Activity>().ok()?,
                })
            });
            let label = entry["label"].as_object().and_then(|l| {
                Some(ListLabel {
                    scheme: l.get("scheme")?.as_str()?.to_owned(),
                    profile: l.get("profile").and_then(Value::as_str).map(str::to_owned),
                    label: l.get("label")?.as_str()?.to_owned(),
                })
            });
            let mut attributes: Vec<(String, String)> = entry["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|pair| {
                    Some((
                        pair.get(0)?.as_str()?.to_owned(),
                        pair.get(1)?.as_str()?.to_owned(),
                    ))
                })
                .collect();
            let provenance = &entry["provenance"];
            attributes.push(("origin_instance".into(), partner.to_owned()));
            attributes.push(("origin_content".into(), external_id.clone()));
            if let Some(org) = provenance["org"].as_i64() {
                attributes.push(("origin_org".into(), org.to_string()));
            }
            if let Some(source) = provenance["source"].as_str() {
                attributes.push(("origin_source".into(), source.to_owned()));
            }
            if let Some(status) = entry["opinion_status"].as_str() {
                attributes.push(("origin_opinion_status".into(), status.to_owned()));
            }
            let item = NewContent {
                signals,
                assessment,
                source: format!("sync:{partner}"),
                external_id: Some(external_id),
                label,
                attributes,
            };
            // Within the store's rules, or the page is refused saying which entry and why.
            ward_store::rules::content(&item).map_err(|e| anyhow!("content {id}: {e}"))?;
            Ok(ImportChange::Upsert(item))
        }
        other => bail!("content {id}: unknown op {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_verify_only_unaltered_and_with_the_right_key() {
        let identity = Identity::from_seed(&[7; 32]);
        let other = Identity::from_seed(&[8; 32]);
        let body = br#"{"after":"0","cursor":"12","entries":[]}"#;
        let signature = identity.sign(body);
        assert_eq!(verify(&identity.public_key(), body, &signature), Ok(()));
        let mut altered = body.to_vec();
        altered[10] ^= 1;
        assert!(verify(&identity.public_key(), &altered, &signature).is_err());
        assert!(verify(&other.public_key(), body, &signature).is_err());
        assert!(verify(&identity.public_key(), body, "zz").is_err());
        assert!(verify("abc", body, &signature).is_err());
        assert!(
            !format!("{identity:?}").contains("0707"),
            "no secret in Debug"
        );
    }

    #[test]
    fn entries_become_changes_keyed_on_the_partner_content_id() {
        let upsert = serde_json::json!({
            "op": "upsert", "content_id": 42, "seq": "7",
            "signals": [{"signal_type": "md5", "signal": "00112233445566778899AABBCCDDEEFF"}],
            "label": {"scheme": "industry", "profile": null, "label": "A1"},
            "categories": {"age_group": "pubescent", "activity": "lascivious_exhibition", "uk": "C"},
            "attributes": [["Series", "x"]],
            "provenance": {"org": 3, "source": "api"},
            "opinion_status": "disputed"
        });
        let ImportChange::Upsert(item) = change(&upsert, "A").unwrap() else {
            panic!("an upsert")
        };
        assert_eq!(item.external_id.as_deref(), Some("42"));
        assert_eq!(item.signals[0].value, "00112233445566778899aabbccddeeff");
        assert_eq!(item.label.unwrap().label, "A1");
        assert!(item.assessment.is_some());
        assert_eq!(item.source, "sync:A");
        assert!(
            item.attributes
                .contains(&("origin_opinion_status".into(), "disputed".into()))
        );
        let delete = serde_json::json!({"op": "delete", "content_id": 42});
        assert_eq!(
            change(&delete, "A").unwrap(),
            ImportChange::Delete {
                external_id: "42".into()
            }
        );
        for bad in [
            serde_json::json!({"op": "upsert", "content_id": 1, "signals": []}),
            serde_json::json!({"op": "upsert", "content_id": 1, "signals": [{"signal_type": "md5", "signal": "zz"}]}),
            serde_json::json!({"op": "rename", "content_id": 1}),
            serde_json::json!({"op": "delete"}),
        ] {
            assert!(change(&bad, "A").is_err(), "{bad}");
        }
    }
}
