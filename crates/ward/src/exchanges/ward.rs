//! Another Ward instance's signed feed (`GET /v1/feed`) as an exchange of type `ward`:
//! federation between Ward instances, fetched by the one loop every type is fetched by.
//!
//! Settings: `url` (the partner's base URL: http or https, with a host), `public_key` (its
//! Ed25519 public key, hex, pinned when the exchange is made: `ward sync add` asks the
//! partner's `/v1/instance` for it, to be compared with the partner's own out of band),
//! `base_url` (where requests go instead of `url`: a proxy, a test server) and `partner`
//! (this instance's name for the partner, which provenance says: `sync:NAME`; the
//! exchange's name when absent). Credentials: `{"api_key"}`, the key the partner gave this
//! instance, sent as a bearer token. Checkpoint: `{"cursor"}`, where the partner's feed was
//! read to.
//!
//! Each page is verified exactly as [`crate::sync::verified_page`] says (the pinned key's
//! signature over the exact body, the instance it names, the cursor it answers), and its
//! entries become changes keyed on the partner's content ids ([`crate::sync::change`]);
//! a page that fails verification is an error that ends the fetch with nothing of it
//! applied, as any page that cannot be read does, while an entry of a verified page that
//! cannot be read or breaks the store's rules (a field over its bound) is skipped and
//! counted and the rest of the page applied, as every type does with such a record, so
//! that one bad entry never stalls the feed for good.
//!
//! Credentials are kept per exchange, not per organisation and type as the other types'
//! are (HMA's model): every partner gives its own key, and one organisation's key for all
//! its `ward` exchanges would send one partner's key to another. They are kept under the
//! name `ward:BANK` ([`ward_store::credentials_name`]: the id of the bank the exchange
//! fills, never reused, where a name could be given again to another exchange after a
//! delete and so reach another partner's key), sealed as every type's are
//! ([`crate::serve::evidence::EvidenceKey::seal_secret`] for
//! [`super::credentials_context`]`(org, "ward:BANK")`, so sealed bytes copied to another
//! exchange do not open), and deleted with the exchange. They are set by `ward sync add`,
//! `ward exchange credentials ward --exchange NAME`, `api_json`'s `api_key` when HMA's
//! `POST /c/exchanges` makes the exchange, or `credential_json` `{"exchange", "api_key"}`
//! at `POST /c/exchanges/api/ward`; no route or command answers them, and `api_key` is
//! never part of the settings (which are listed).
//!
//! Opinions go back to the partner as every type's feedback does ([`super::feedback`]): the
//! owning organisation's confirmation or dispute of an item, once, as
//! `PUT /v1/content/{partner's id}/opinion` ([`Feed::feedback`]); the partner records it as
//! the organisation of the key it gave.
//!
//! Partners of older deployments (the `partners` table) become `ward` exchanges once, when
//! a command holding the deployment's key first runs ([`adopt_partners`]).

use serde::{Deserialize, Serialize};
use ward_store::{Actor, Content, ConvertedPartner, ImportChange, OpinionKind, Store};

use super::{Auth, ExchangeError, FetchedPage, Http, Source, base_url, credentials_context, shown};
use crate::serve::evidence::EvidenceKey;
use crate::sync;

/// Entries asked for per page.
const PAGE: u32 = 1000;

/// A `ward` exchange's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The partner's base URL.
    pub url: String,
    /// Its Ed25519 public key (hex, lower case).
    pub public_key: String,
    /// Where requests go instead of `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// This instance's name for the partner (provenance: `sync:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
}

impl Config {
    /// The settings checked (the URLs http or https with a host, the key an Ed25519 public
    /// key), as kept: URLs without a trailing `/`, the key in lower case.
    pub fn checked(mut self) -> Result<Config, ExchangeError> {
        self.url = base_url(&self.url)?;
        if let Some(base) = &self.base_url {
            self.base_url = Some(base_url(base)?);
        }
        self.public_key = self.public_key.trim().to_ascii_lowercase();
        sync::public_key(&self.public_key)
            .map_err(|e| ExchangeError::Config(format!("public_key: {e}")))?;
        if self.partner.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(ExchangeError::Config("partner: a name, or absent".into()));
        }
        Ok(self)
    }
}

/// A `ward` exchange's credentials: the API key the partner gave.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub api_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(api_key: ..)")
    }
}

/// Where a fetch resumes: the partner's feed cursor. (A `feedback_cursor` that converted
/// partners carried is read past: opinions go through the feedback outbox.)
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Checkpoint {
    #[serde(default)]
    pub cursor: String,
}

/// A partner's feed, read page by page.
pub struct Feed {
    /// Where requests go.
    base: String,
    public_key: String,
    api_key: String,
    /// This instance's name for the partner.
    partner: String,
}

impl Feed {
    /// The feed of the exchange `name` with `config` and `credentials`.
    pub fn new(
        config: &Config,
        credentials: Credentials,
        name: &str,
    ) -> Result<Feed, ExchangeError> {
        let config = config.clone().checked()?;
        Ok(Feed {
            base: config.base_url.unwrap_or(config.url),
            public_key: config.public_key,
            api_key: credentials.api_key,
            partner: config.partner.unwrap_or_else(|| name.to_owned()),
        })
    }
}

impl Source for Feed {
    type Checkpoint = Checkpoint;

    async fn next_page(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<Option<FetchedPage<Checkpoint>>, ExchangeError> {
        let cursor: String =
            url::form_urlencoded::byte_serialize(checkpoint.cursor.as_bytes()).collect();
        let url = format!("{}/v1/feed?cursor={cursor}&limit={PAGE}", self.base);
        let (body, signature) = http
            .get_with_header(&url, Auth::Bearer(&self.api_key), sync::SIGNATURE_HEADER)
            .await?;
        let page = sync::verified_page(
            &self.public_key,
            &body,
            signature.as_deref(),
            &checkpoint.cursor,
        )
        .map_err(|reason| ExchangeError::Refused {
            url: shown(&url),
            reason: format!("{reason} ({})", self.partner),
        })?;
        let read = changes_of(&page.entries, &self.partner);
        Ok(Some(FetchedPage {
            changes: read.changes,
            malformed: read.malformed,
            first_problem: read.first_problem,
            unsupported: 0,
            checkpoint: Checkpoint {
                cursor: page.cursor,
            },
            progress_ts: now,
            last: !page.more,
        }))
    }
}

/// A verified page's entries as changes.
#[derive(Debug, Default, PartialEq)]
struct PageChanges {
    changes: Vec<ImportChange>,
    /// Entries that cannot be read or break the store's rules (a field over its bound),
    /// skipped; the first one's reason.
    malformed: u64,
    first_problem: Option<String>,
}

/// The changes of a page's `entries`: an entry that cannot be read, or that breaks the
/// store's rules, is skipped and counted, and the rest of the page applied, as every type
/// does with a record it cannot read. (A partner's page is verified whole: what it says is
/// the partner's, and one bad entry must not stall the feed for good at that page.)
fn changes_of(entries: &[serde_json::Value], partner: &str) -> PageChanges {
    let mut read = PageChanges::default();
    for entry in entries {
        match sync::change(entry, partner) {
            Ok(change) => read.changes.push(change),
            Err(error) => {
                read.malformed += 1;
                read.first_problem
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    read
}

impl Feed {
    /// Feedback on a partner's item (see [`super::feedback`]): its opinion, as the
    /// partner's API takes it (`PUT /v1/content/{id}/opinion`).
    pub fn feedback(
        &self,
        http: &Http,
        content: &Content,
        opinion: OpinionKind,
    ) -> super::feedback::Form {
        use super::feedback::{Form, Part};
        let Some(origin) = content
            .external_id
            .as_deref()
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Form::Unsendable("the item has no content id of the partner's".into());
        };
        let url = format!("{}/v1/content/{origin}/opinion", self.base);
        let request = http
            .client
            .put(&url)
            .bearer_auth(&self.api_key)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "opinion": opinion.name() }).to_string());
        Form::Parts(vec![Part::new("opinion", request, url)])
    }
}

/// Makes every partner of an older deployment (the `partners` table) the `ward` exchange
/// filling its bank, once: its URL, pinned key and name as settings, its cursors as the
/// checkpoint, its API key sealed with `key` as the exchange's credentials, and its row
/// deleted, in one transaction each (audited as `partner.convert`). A partner whose bank
/// is deleted only loses its row. Answers how many were converted.
pub async fn adopt_partners(store: &impl Store, key: &EvidenceKey) -> anyhow::Result<usize> {
    let actor = Actor::operator("ward: partners to exchanges");
    let mut converted = 0;
    for partner in store.partners().await? {
        let config = Config {
            url: partner.url.trim_end_matches('/').to_owned(),
            public_key: partner.public_key.clone(),
            base_url: None,
            partner: Some(partner.name.clone()),
        };
        let checkpoint = Checkpoint {
            cursor: partner.cursor.clone(),
        };
        let sealed = match store.bank(partner.bank).await? {
            Some(bank) => {
                let name = ward_store::credentials_name("ward", bank.id);
                let credentials = super::Credentials::Ward(Credentials {
                    api_key: partner.api_key.clone(),
                });
                Some(key.seal_secret(
                    &credentials_context(bank.org, &name),
                    &credentials.to_json(),
                )?)
            }
            None => None,
        };
        let made = store
            .convert_partner(
                &actor,
                &ConvertedPartner {
                    partner: partner.id,
                    config: serde_json::to_string(&config)?,
                    checkpoint: serde_json::to_string(&checkpoint)?,
                    sealed,
                },
            )
            .await?;
        if let Some(exchange) = made {
            tracing::info!(
                partner = %partner.name,
                exchange = %exchange.name,
                "a partner of an older deployment is now a ward exchange"
            );
        }
        converted += 1;
    }
    Ok(converted)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bad_entries_are_skipped_and_counted_and_the_rest_applied() {
        let good = json!({"op": "upsert", "content_id": 1,
                          "signals": [{"signal_type": "md5", "signal": "00112233445566778899aabbccddeeff"}]});
        let gone = json!({"op": "delete", "content_id": 2});
        let too_long = json!({"op": "upsert", "content_id": 3,
                              "signals": [{"signal_type": "md5", "signal": "00112233445566778899aabbccddeeff"}],
                              "attributes": [["Series", "x".repeat(100_000)]]});
        let unreadable = json!({"op": "upsert", "signals": []});
        let unknown = json!({"op": "rename", "content_id": 4});
        let read = changes_of(&[good, too_long, gone, unreadable, unknown], "A");
        let keys: Vec<&str> = read
            .changes
            .iter()
            .map(|c| match c {
                ImportChange::Upsert(item) => item.external_id.as_deref().unwrap_or_default(),
                ImportChange::Delete { external_id } => external_id.as_str(),
            })
            .collect();
        assert_eq!(keys, ["1", "2"]);
        assert_eq!(read.malformed, 3);
        assert!(
            read.first_problem.as_deref().unwrap().contains("content 3"),
            "{read:?}"
        );
        assert_eq!(changes_of(&[], "A"), PageChanges::default());
    }
}
