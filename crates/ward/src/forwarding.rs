//! Reports that cross borders, between Ward hotlines: the signed forwarding feed each
//! hotline keeps for each partner (`GET /v1/forwarding`), and the pull that reads a
//! partner's and applies it.
//!
//! A forwarding partner is a `ward` exchange (its Ed25519 key pinned when it was added)
//! named a forwarding partner with the countries it covers (`ward admin forwarding`,
//! `/v1/forwarding/partners`). What one hotline tells another (a forward, its
//! acknowledgement, the partner's assessment, first notice and removal, a decline, a recall:
//! [`ward_store::ForwardMessage`]) waits in the store addressed to that partner, which reads
//! it page by page:
//!
//! - **The request** is signed by the reader's instance key over [`request_text`]: the
//!   method, path and query, the time, and the key of the instance asked (so a request
//!   made for one hotline does not open another's feed). The hotline asked finds the
//!   partner whose pinned key the request names, verifies the signature and refuses a
//!   time more than [`REQUEST_SKEW_MS`] away from its own ([`authenticate`]).
//! - **The page** is signed by the hotline asked over its exact body, which names both
//!   instances and the cursor it answers ([`Page`]); the reader refuses a page that does
//!   not verify with the pinned key (altered), names other instances, or answers another
//!   cursor (replayed) ([`verified_page`]).
//! - **Applying** a page and keeping the cursor after it are one transaction that names the
//!   cursor the page followed ([`ward_store::Store::apply_forwarding_page`]), so a reader
//!   killed at any point resumes with nothing lost or applied twice, and two nodes pulling
//!   at once apply each page once.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ward_store::{
    Actor, AnyStore, Exchange, ExchangeId, FORWARD_PAGE_MAX, ForwardMessage, ForwardingPartner,
    Store,
};

use crate::exchanges::{Auth, ExchangeError, Http, shown};
use crate::sync::{self, Identity};

/// The request header naming the reader's instance (its public key, hex).
pub const INSTANCE_HEADER: &str = "x-ward-instance";
/// The request header with the time the request was signed (ms since the epoch).
pub const TIME_HEADER: &str = "x-ward-time";
/// The request header with the reader's signature over [`request_text`] (hex).
pub const REQUEST_SIGNATURE_HEADER: &str = "x-ward-request-signature";

/// How far a signed request's time may be from the clock of the hotline asked.
pub const REQUEST_SKEW_MS: i64 = 5 * 60_000;

/// Pages read in one pull of one partner, at most.
const PAGES_PER_PULL: usize = 50;

/// What a request's signature covers.
pub fn request_text(method: &str, path_and_query: &str, time_ms: i64, asked: &str) -> String {
    format!("ward-forwarding-request\n{method}\n{path_and_query}\n{time_ms}\n{asked}")
}

/// A forwarding page as it travels: signed over its exact body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The hotline that wrote it (its public key).
    pub instance: String,
    /// The hotline it was written for (its public key).
    pub to: String,
    /// The cursor it answers.
    pub after: String,
    /// The cursor after it.
    pub cursor: String,
    pub more: bool,
    pub messages: Vec<ForwardMessage>,
}

/// A partner's page (`body` with its `signature`), once checked: signed by `pinned` over
/// its exact bytes, written by that instance for `own` (this instance's key), answering
/// `cursor`; else why it is refused.
pub fn verified_page(
    pinned: &str,
    own: &str,
    body: &[u8],
    signature: Option<&str>,
    cursor: &str,
) -> Result<Page, String> {
    let signature = signature.ok_or("the forwarding page is not signed; refused")?;
    sync::verify(pinned, body, signature)
        .map_err(|e| format!("{e} (altered in transit, or not the partner's); refused"))?;
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| format!("not a forwarding page ({e}); refused"))?;
    if page.instance != pinned {
        return Err("the page names another instance; refused".into());
    }
    if page.to != own {
        return Err("the page was written for another hotline; refused".into());
    }
    if page.after != cursor {
        return Err(format!(
            "the page answers cursor {:?}, not {cursor:?} (replayed); refused",
            page.after
        ));
    }
    Ok(page)
}

/// The pinned key and where requests go, of a partner's `ward` exchange.
pub fn partner_address(exchange: &Exchange) -> anyhow::Result<(String, String)> {
    let config: crate::exchanges::ward::Config = serde_json::from_str(&exchange.config)?;
    let config = config.checked()?;
    let base = config.base_url.unwrap_or(config.url);
    Ok((config.public_key, base))
}

/// Why a name does not name one `ward` exchange.
#[derive(Debug, PartialEq, Eq)]
pub enum PartnerName {
    Unknown,
    /// Exchanges of other types go by the name.
    NotWard,
    /// Several `ward` exchanges (of different organisations) go by it: their ids.
    Several(Vec<ExchangeId>),
}

impl std::fmt::Display for PartnerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartnerName::Unknown => f.write_str("no exchange goes by that name"),
            PartnerName::NotWard => f.write_str(
                "that exchange is not of type ward: forwarding partners are Ward hotlines",
            ),
            PartnerName::Several(ids) => write!(
                f,
                "several ward exchanges go by that name (ids {}): name one as #ID",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The `ward` exchange among `exchanges` that `name` means: its name, or `#ID`.
pub fn ward_exchange_named<'a>(
    exchanges: &'a [Exchange],
    name: &str,
) -> Result<&'a Exchange, PartnerName> {
    let wanted: Vec<&Exchange> = match name.strip_prefix('#').map(str::parse::<i64>) {
        Some(Ok(id)) => exchanges.iter().filter(|e| e.id.0 == id).collect(),
        _ => exchanges.iter().filter(|e| e.name == name).collect(),
    };
    let wards: Vec<&Exchange> = wanted.iter().copied().filter(|e| e.api == "ward").collect();
    match (wards.as_slice(), wanted.is_empty()) {
        ([one], _) => Ok(one),
        ([], true) => Err(PartnerName::Unknown),
        ([], false) => Err(PartnerName::NotWard),
        (several, _) => Err(PartnerName::Several(several.iter().map(|e| e.id).collect())),
    }
}

/// Who is asking for a forwarding page: the partner whose pinned key the request names
/// (with that key), once its signature over the request verifies and its time is near this
/// hotline's; `None` for anyone else (an unknown key, a partner not enabled, a bad signature, a
/// stale time).
pub async fn authenticate(
    store: &AnyStore,
    own: &str,
    headers: &axum::http::HeaderMap,
    method: &str,
    path_and_query: &str,
    now_ms: i64,
) -> anyhow::Result<Option<(ForwardingPartner, String)>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(instance), Some(time), Some(signature)) = (
        header(INSTANCE_HEADER),
        header(TIME_HEADER),
        header(REQUEST_SIGNATURE_HEADER),
    ) else {
        return Ok(None);
    };
    let Ok(time) = time.parse::<i64>() else {
        return Ok(None);
    };
    if (time - now_ms).abs() > REQUEST_SKEW_MS {
        return Ok(None);
    }
    let instance = instance.trim().to_ascii_lowercase();
    for partner in store.forwarding_partners().await? {
        if !partner.enabled {
            continue;
        }
        let Some(exchange) = store.exchange(partner.exchange).await? else {
            continue;
        };
        let Ok((pinned, _)) = partner_address(&exchange) else {
            continue;
        };
        if pinned != instance {
            continue;
        }
        let text = request_text(method, path_and_query, time, own);
        return Ok(sync::verify(&pinned, text.as_bytes(), signature)
            .ok()
            .map(|()| (partner, pinned)));
    }
    Ok(None)
}

/// The page of this hotline's forwarding feed for `partner` after `after` (a cursor as
/// given: empty, or a sequence number), signed: the body and its signature.
pub async fn page(
    store: &AnyStore,
    identity: &Identity,
    partner: ExchangeId,
    partner_key: &str,
    after: &str,
    limit: u32,
) -> anyhow::Result<(Vec<u8>, String)> {
    let from = match after {
        "" => 0,
        text => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| anyhow::anyhow!("not a forwarding cursor: {text:?}"))?,
    };
    let limit = limit.clamp(1, FORWARD_PAGE_MAX);
    let read = store.forwarding_page(partner, from, limit).await?;
    let more = read.len() == limit as usize;
    let cursor = read
        .last()
        .map_or_else(|| after.to_owned(), |(seq, _)| seq.to_string());
    let page = Page {
        instance: identity.public_key(),
        to: partner_key.to_owned(),
        after: after.to_owned(),
        cursor,
        more,
        messages: read.into_iter().map(|(_, m)| m).collect(),
    };
    let body = serde_json::to_vec(&page)?;
    let signature = identity.sign(&body);
    Ok((body, signature))
}

/// What one pull of a partner's feed did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    pub pages: u32,
    pub applied: u32,
    pub skipped: u32,
}

/// Reads partner `partner`'s forwarding feed from where it was read to, and applies it page
/// by page (each with its cursor, in one transaction), until the partner has no more or
/// [`PAGES_PER_PULL`] pages were read. What went wrong is recorded with the partner and
/// returned; the pages applied before it stay applied.
pub async fn pull(
    store: &AnyStore,
    identity: &Identity,
    http: &Http,
    partner: &ForwardingPartner,
    page_size: u32,
) -> anyhow::Result<Pulled> {
    let outcome = pull_pages(store, identity, http, partner, page_size).await;
    // A page applied keeps its time and clears the last error with its cursor.
    if let Err(error) = &outcome {
        store
            .record_forwarding_pull(partner.exchange, Some(&format!("{error:#}")))
            .await?;
    }
    outcome
}

async fn pull_pages(
    store: &AnyStore,
    identity: &Identity,
    http: &Http,
    partner: &ForwardingPartner,
    page_size: u32,
) -> anyhow::Result<Pulled> {
    let exchange = store
        .exchange(partner.exchange)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the partner's exchange is gone"))?;
    let (pinned, base) = partner_address(&exchange)?;
    let own = identity.public_key();
    let mut cursor = partner.cursor.clone();
    let mut pulled = Pulled::default();
    for _ in 0..PAGES_PER_PULL {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("after", &cursor)
            .append_pair("limit", &page_size.to_string())
            .finish();
        let path = format!("/v1/forwarding?{query}");
        let time = ward_store::Timestamp::now().0;
        let signature = identity.sign(request_text("GET", &path, time, &pinned).as_bytes());
        let time_text = time.to_string();
        let headers = [
            (INSTANCE_HEADER, own.as_str()),
            (TIME_HEADER, time_text.as_str()),
            (REQUEST_SIGNATURE_HEADER, signature.as_str()),
        ];
        let url = format!("{base}{path}");
        let (body, page_signature) = http
            .get_with_header(&url, Auth::Headers(&headers), sync::SIGNATURE_HEADER)
            .await?;
        let page = verified_page(&pinned, &own, &body, page_signature.as_deref(), &cursor)
            .map_err(|reason| ExchangeError::Refused {
                url: shown(&url),
                reason: format!("{reason} ({})", partner.name),
            })?;
        let applied = store
            .apply_forwarding_page(
                &Actor::intake(),
                partner.exchange,
                &cursor,
                &page.messages,
                &page.cursor,
            )
            .await?;
        pulled.pages += 1;
        pulled.applied += applied.applied;
        pulled.skipped += applied.skipped;
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    Ok(pulled)
}

/// Pulls every enabled partner's feed once and takes back the forwards not acknowledged in
/// time; errors are logged (and kept with the partner), never fatal.
pub async fn round(store: &AnyStore, identity: &Identity, http: &Http, page_size: u32) {
    match store.expire_forwards(ward_store::Timestamp::now()).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "forwards not acknowledged in time taken back"),
        Err(error) => tracing::warn!(%error, "taking back late forwards failed"),
    }
    let partners = match store.forwarding_partners().await {
        Ok(partners) => partners,
        Err(error) => {
            tracing::warn!(%error, "reading the forwarding partners failed");
            return;
        }
    };
    for partner in partners.iter().filter(|p| p.enabled) {
        match pull(store, identity, http, partner, page_size).await {
            Ok(pulled) if pulled.applied + pulled.skipped > 0 => tracing::info!(
                partner = %partner.name,
                pages = pulled.pages,
                applied = pulled.applied,
                skipped = pulled.skipped,
                "forwarding feed read"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(partner = %partner.name, error = %format!("{error:#}"), "reading a partner's forwarding feed failed")
            }
        }
    }
}

/// Runs [`round`] every `interval` while the service runs.
pub async fn run(
    state: std::sync::Weak<crate::serve::AppState>,
    interval: Duration,
    page_size: u32,
) {
    let http = match Http::new() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "no HTTP client for forwarding");
            return;
        }
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        round(&state.store, &state.identity, &http, page_size).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(n: u8) -> Identity {
        Identity::from_seed(&[n; 32])
    }

    #[test]
    fn pages_are_refused_when_altered_replayed_or_misaddressed() {
        let (a, b, c) = (identity(1), identity(2), identity(3));
        let page = |after: &str, to: &Identity| {
            let page = Page {
                instance: a.public_key(),
                to: to.public_key(),
                after: after.into(),
                cursor: "7".into(),
                more: false,
                messages: vec![ForwardMessage::Received {
                    forward: 3,
                    at: ward_store::Timestamp(5),
                }],
            };
            let body = serde_json::to_vec(&page).unwrap();
            let signature = a.sign(&body);
            (body, signature)
        };
        let (body, signature) = page("4", &b);
        let check = |pinned: &Identity, body: &[u8], signature: Option<&str>, cursor: &str| {
            verified_page(
                &pinned.public_key(),
                &b.public_key(),
                body,
                signature,
                cursor,
            )
        };
        let read = check(&a, &body, Some(&signature), "4").unwrap();
        assert_eq!(read.cursor, "7");
        let mut altered = body.clone();
        let at = altered.iter().position(|b| *b == b'7').unwrap();
        altered[at] = b'8';
        let (other_body, other_signature) = page("4", &c);
        let cases: Vec<(&str, Result<Page, String>)> = vec![
            ("unsigned", check(&a, &body, None, "4")),
            ("altered", check(&a, &altered, Some(&signature), "4")),
            ("another key", check(&c, &body, Some(&signature), "4")),
            ("replayed", check(&a, &body, Some(&signature), "7")),
            (
                "for another hotline",
                check(&a, &other_body, Some(&other_signature), "4"),
            ),
            ("not hex", check(&a, &body, Some("zz"), "4")),
        ];
        for (what, outcome) in cases {
            let error = outcome.expect_err(what);
            assert!(error.ends_with("refused"), "{what}: {error}");
        }
    }

    #[test]
    fn a_request_signature_covers_method_path_time_and_the_hotline_asked() {
        let reader = identity(2);
        let text = request_text("GET", "/v1/forwarding?after=&limit=5", 1000, "aa");
        let signature = reader.sign(text.as_bytes());
        assert!(sync::verify(&reader.public_key(), text.as_bytes(), &signature).is_ok());
        for other in [
            request_text("POST", "/v1/forwarding?after=&limit=5", 1000, "aa"),
            request_text("GET", "/v1/forwarding?after=9&limit=5", 1000, "aa"),
            request_text("GET", "/v1/forwarding?after=&limit=5", 1001, "aa"),
            request_text("GET", "/v1/forwarding?after=&limit=5", 1000, "bb"),
        ] {
            assert!(sync::verify(&reader.public_key(), other.as_bytes(), &signature).is_err());
        }
    }
}
