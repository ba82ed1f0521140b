//! Live exchanges fetched into their banks: NCMEC's hash sharing first, each exchange under
//! a lease that one node holds at a time, a page at a time, every page saved with the
//! checkpoint after it in one transaction ([`Store::import_exchange_page`]).
//!
//! A fetch reads pages until the exchange has nothing more or its time is up, then says how
//! it ended (HMA's fetch status). Requests go out with a 60 s time limit; a GET that meets
//! a 429 or a 5xx is tried again up to four times, after 0.4, 0.8 and 1.6 s (or what
//! `Retry-After` asks, up to a minute), as python-threatexchange's clients do. A fetch that
//! still fails ends with its error kept in the status and counted in `/metrics`, and the
//! next starts from the checkpoint after a backoff that grows with the failures in a row;
//! nothing already saved is lost, and a page saved is never applied twice. Records that
//! cannot be read are skipped and counted (the rest of their page is applied); a page that
//! cannot be read at all (broken XML, a link off the API) ends the fetch, which starts
//! again from the same page later: nothing is skipped silently.
//!
//! Credentials are an organisation's own, per exchange type, and fetch only into its banks.
//! They are sealed with the deployment's secret key before they reach the store
//! ([`crate::serve::evidence::EvidenceKey::seal_secret`]) and opened only to make a request;
//! they are never logged, and errors never carry them.

pub mod ncmec;

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ward_store::{
    Actor, Exchange, ExchangeLease, FetchEnd, FetchProgress, ImportChange, OrgId, Store,
    StoreError, Timestamp,
};

/// The largest page body read.
const MAX_PAGE_BYTES: usize = 64 << 20;
/// Tries of a GET that meets a 429 or a 5xx.
const TRIES: u32 = 5;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why fetching an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("the exchange's settings: {0}")]
    Config(String),
    #[error("the exchange refused the credentials (HTTP {0})")]
    Credentials(u16),
    #[error("HTTP {status} from {url}")]
    Status { status: u16, url: String },
    #[error("no answer from {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("a page of more than {} MiB from {url}", MAX_PAGE_BYTES >> 20)]
    TooLarge { url: String },
    #[error("a page that cannot be read ({url}): {reason}")]
    MalformedPage { url: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A page fetched: its changes, the records skipped, and the checkpoint after it.
#[derive(Debug)]
pub struct FetchedPage<C> {
    pub changes: Vec<ImportChange>,
    /// Records that could not be read, skipped; the first one's reason.
    pub malformed: u64,
    pub first_problem: Option<String>,
    pub checkpoint: C,
    /// The checkpoint's progress time (seconds).
    pub progress_ts: i64,
}

/// The HTTP client exchanges are fetched with.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    /// The first wait before a retry (0.4 s; tests make it shorter).
    backoff: Duration,
}

impl Http {
    pub fn new() -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("the HTTP client")?;
        Ok(Http {
            client,
            backoff: Duration::from_millis(400),
        })
    }

    /// The same, waiting `first` before the first retry.
    #[cfg(test)]
    pub fn with_backoff(mut self, first: Duration) -> Http {
        self.backoff = first;
        self
    }

    /// GETs `url` (with HTTP Basic credentials), retrying 429s and 5xx; the body, at most
    /// [`MAX_PAGE_BYTES`].
    pub async fn get(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, ExchangeError> {
        let mut wait = self.backoff;
        for attempt in 1..=TRIES {
            let mut request = self.client.get(url);
            if let Some((user, password)) = basic {
                request = request.basic_auth(user, Some(password));
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) if attempt < TRIES && (error.is_timeout() || error.is_connect()) => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    continue;
                }
                Err(error) => {
                    return Err(ExchangeError::Unreachable {
                        url: url.to_owned(),
                        reason: error.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            if status.is_success() {
                return read_limited(response, url).await;
            }
            if matches!(status.as_u16(), 401 | 403) {
                return Err(ExchangeError::Credentials(status.as_u16()));
            }
            let retried = status.as_u16() == 429 || status.is_server_error();
            if !retried || attempt == TRIES {
                return Err(ExchangeError::Status {
                    status: status.as_u16(),
                    url: url.to_owned(),
                });
            }
            let asked = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            tokio::time::sleep(asked.unwrap_or(wait).min(MAX_RETRY_AFTER)).await;
            wait *= 2;
        }
        unreachable!("the last try returns")
    }
}

async fn read_limited(
    mut response: reqwest::Response,
    url: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_PAGE_BYTES {
                    return Err(ExchangeError::TooLarge {
                        url: url.to_owned(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => {
                return Err(ExchangeError::Unreachable {
                    url: url.to_owned(),
                    reason: error.without_url().to_string(),
                });
            }
        }
    }
}

/// What a fetch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    pub pages: u64,
    pub added: u64,
    pub replaced: u64,
    pub removed: u64,
    pub malformed: u64,
    pub up_to_date: bool,
}

/// Seconds since the Unix epoch, now.
pub fn now_s() -> i64 {
    Timestamp::now().0 / 1000
}

/// Fetches an exchange of NCMEC's type under `lease` for at most `budget`: pages until it
/// has nothing more, each saved with the checkpoint after it. The fetch's end (how it
/// went) is saved too; an error is returned after it is.
pub async fn fetch_ncmec(
    store: &impl Store,
    http: &Http,
    exchange: &Exchange,
    mut lease: ExchangeLease,
    credentials: ncmec::Credentials,
    budget: Duration,
) -> Result<FetchReport, ExchangeError> {
    let started = Instant::now();
    lease.version = store
        .save_exchange_progress(
            &lease,
            &FetchProgress {
                running: Some(Timestamp::now()),
                ..FetchProgress::default()
            },
        )
        .await?;
    let mut report = FetchReport::default();
    let outcome = async {
        let config: ncmec::Config = parse_json("settings", &exchange.config)?;
        let api = ncmec::Ncmec::new(&config, credentials)?;
        let mut checkpoint: ncmec::Checkpoint = match &exchange.status.checkpoint {
            Some(text) => parse_json("checkpoint", text)?,
            None => ncmec::Checkpoint::default(),
        };
        let actor = Actor::operator(&format!("exchange:{}", exchange.name));
        while started.elapsed() < budget {
            let Some(page) = api.next_page(http, &checkpoint, now_s()).await? else {
                report.up_to_date = true;
                break;
            };
            let text = serde_json::to_string(&page.checkpoint)
                .map_err(|e| ExchangeError::Config(e.to_string()))?;
            let progress = FetchProgress {
                checkpoint: Some((text, Some(page.progress_ts))),
                ..FetchProgress::default()
            };
            let (counts, version) = store
                .import_exchange_page(&actor, &lease, &page.changes, &progress)
                .await?;
            lease.version = version;
            report.pages += 1;
            report.added += counts.added;
            report.replaced += counts.replaced;
            report.removed += counts.removed;
            report.malformed += page.malformed;
            if let Some(problem) = page.first_problem {
                tracing::warn!(
                    exchange = %exchange.name,
                    skipped = page.malformed,
                    "records skipped in a page: {problem}"
                );
            }
            checkpoint = page.checkpoint;
        }
        Ok::<(), ExchangeError>(())
    }
    .await;
    let end = FetchEnd {
        at: Timestamp::now(),
        error: outcome.as_ref().err().map(ToString::to_string),
        up_to_date: report.up_to_date && outcome.is_ok(),
    };
    let ended = FetchProgress {
        ended: Some(end),
        ..FetchProgress::default()
    };
    match store.save_exchange_progress(&lease, &ended).await {
        Ok(_) => {}
        // The lease moved on: another node took over, and says how it ends.
        Err(StoreError::Conflict(_)) if outcome.is_err() => {}
        Err(error) => return Err(error.into()),
    }
    outcome.map(|()| report)
}

fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, ExchangeError> {
    serde_json::from_str(text).map_err(|e| ExchangeError::Config(format!("{what}: {e}")))
}

/// What an organisation's credentials for an exchange type are sealed for: opened for
/// another organisation or type, they fail.
pub fn credentials_context(org: OrgId, api: &str) -> String {
    format!("exchange:{org}:{api}")
}

/// An organisation's credentials for an exchange type, opened.
pub async fn open_credentials(
    store: &impl Store,
    key: &crate::serve::evidence::EvidenceKey,
    org: OrgId,
    api: &str,
) -> anyhow::Result<ncmec::Credentials> {
    let sealed = store.exchange_credentials(org, api).await?.ok_or_else(|| {
        anyhow!("no credentials for {api} (ward exchange credentials --org … {api})")
    })?;
    let opened = key.open_secret(&credentials_context(org, api), &sealed)?;
    serde_json::from_slice(&opened)
        .map_err(|_| anyhow!("the credentials for {api} are not NCMEC's"))
}

/// HMA's fetch status fields, and Ward's.
pub fn status_json(exchange: &Exchange) -> serde_json::Value {
    let status = &exchange.status;
    serde_json::json!({
        "checkpoint_ts": status.checkpoint_ts,
        "running_fetch_start_ts": status.running_fetch_start_ts.map(|t| t.0 / 1000),
        "last_fetch_complete_ts": status.last_fetch_complete_ts.map(|t| t.0 / 1000),
        "last_fetch_succeeded": status.last_fetch_succeeded,
        "up_to_date": status.up_to_date,
        "fetched_items": status.fetched_items,
        "last_error": status.last_error,
        "failures": status.failures,
    })
}

#[cfg(test)]
pub(crate) mod tests;
