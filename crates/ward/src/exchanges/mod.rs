//! Live exchanges fetched into their banks: NCMEC's hash sharing ([`ncmec`]), StopNCII's
//! `FetchHashes` ([`stopncii`]), a ThreatExchange privacy group's `/threat_updates`
//! ([`threatexchange`]), a hash list at a URL taken as a full snapshot ([`file`]), and
//! another Ward instance's signed feed ([`ward`]: federation).
//! [`Api`] is the one list of the types Ward fetches; each type's module has its settings,
//! credentials (HMA's JSON), checkpoint (HMA's JSON, so that one written by either reads in
//! the other; the list's is Ward's own) and a [`Source`] that reads the page after a
//! checkpoint. [`fetch`] is the one loop over them all: each exchange under a lease that one
//! node holds at a time, a page at a time, every page saved with the checkpoint after it in
//! one transaction ([`Store::import_exchange_page`]).
//!
//! A fetch reads pages until the exchange has nothing more or its time is up, then says how
//! it ended (HMA's fetch status). Requests go out with a 60 s time limit (a list's with 30
//! minutes, [`file::LIST_TIMEOUT`]); a GET that meets a 429 or a 5xx is tried again up to
//! four times, after 0.4, 0.8 and 1.6 s (or what `Retry-After` asks, up to a minute), as
//! python-threatexchange's clients do. A fetch that
//! still fails ends with its error kept in the status and counted in `/metrics`, and the
//! next starts from the checkpoint after a backoff that grows with the failures in a row;
//! nothing already saved is lost, and a page saved is never applied twice. Records that
//! cannot be read are skipped and counted (the rest of their page is applied), as are
//! records of types Ward holds no signal of; a page that cannot be read at all (broken
//! XML or JSON, a link off the API) ends the fetch, which starts again from the same page
//! later: nothing is skipped silently.
//!
//! Credentials are an organisation's own, per exchange type (a `ward` exchange's are its
//! own: every partner gives its own key; see [`ward`]), and fetch only into its banks.
//! They are sealed with the deployment's secret key before they reach the store
//! ([`crate::serve::evidence::EvidenceKey::seal_secret`]) and opened only to make a request;
//! they are never logged, and errors never carry them: a URL in an error is shown without
//! its query (ThreatExchange's token travels in it) nor user.

pub mod feedback;
pub mod file;
pub mod ncmec;
pub mod stopncii;
pub mod threatexchange;
pub mod ward;

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
/// The largest body of a refusal read (a JSON error).
const MAX_REFUSAL_BYTES: usize = 64 << 10;
/// Tries of a GET that meets a 429 or a 5xx.
const TRIES: u32 = 5;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The exchange types Ward fetches, by HMA's names (`file` is Ward's own): the one place
/// that lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Ncmec,
    StopNcii,
    ThreatExchange,
    File,
    Ward,
}

impl Api {
    pub const ALL: [Api; 5] = [
        Api::Ncmec,
        Api::StopNcii,
        Api::ThreatExchange,
        Api::File,
        Api::Ward,
    ];

    /// HMA's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Api::Ncmec => "ncmec",
            Api::StopNcii => "stop_ncii",
            Api::ThreatExchange => "fb_threatexchange",
            Api::File => "file",
            Api::Ward => "ward",
        }
    }

    pub fn named(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|api| api.name() == name)
    }

    /// An exchange's settings (JSON, as HMA's `api_json` or `ward exchange add --config`),
    /// read as the type's and written again as kept; else why they are not the type's.
    pub fn settings(self, given: serde_json::Value) -> Result<String, String> {
        fn as_kept<T: DeserializeOwned + Serialize>(
            given: serde_json::Value,
        ) -> Result<String, String> {
            let settings: T = serde_json::from_value(given).map_err(|e| e.to_string())?;
            Ok(serde_json::to_string(&settings).expect("settings render as JSON"))
        }
        match self {
            Api::Ncmec => as_kept::<ncmec::Config>(given),
            Api::StopNcii => as_kept::<stopncii::Config>(given),
            Api::ThreatExchange => as_kept::<threatexchange::Config>(given),
            Api::File => {
                let settings: file::Config =
                    serde_json::from_value(given).map_err(|e| e.to_string())?;
                settings.check().map_err(|e| e.to_string())?;
                Ok(serde_json::to_string(&settings).expect("settings render as JSON"))
            }
            Api::Ward => {
                let settings: ward::Config =
                    serde_json::from_value(given).map_err(|e| e.to_string())?;
                let settings = settings.checked().map_err(|e| e.to_string())?;
                Ok(serde_json::to_string(&settings).expect("settings render as JSON"))
            }
        }
    }

    /// Credentials in HMA's JSON (`credential_json`), checked; else what they should be.
    pub fn credentials(self, given: serde_json::Value) -> Result<Credentials, String> {
        let wrong = |_| self.credentials_shape().to_owned();
        let credentials = match self {
            Api::Ncmec => Credentials::Ncmec(serde_json::from_value(given).map_err(wrong)?),
            Api::StopNcii => Credentials::StopNcii(serde_json::from_value(given).map_err(wrong)?),
            Api::ThreatExchange => {
                Credentials::ThreatExchange(serde_json::from_value(given).map_err(wrong)?)
            }
            Api::File => Credentials::File(serde_json::from_value(given).map_err(wrong)?),
            Api::Ward => Credentials::Ward(serde_json::from_value(given).map_err(wrong)?),
        };
        credentials.check()?;
        Ok(credentials)
    }

    /// What the type's credentials are, in HMA's JSON.
    pub fn credentials_shape(self) -> &'static str {
        match self {
            Api::Ncmec => "ncmec's credentials are {\"user\", \"password\"}, both non-empty",
            Api::StopNcii => {
                "stop_ncii's credentials are {\"fetch_function_key\", \"subscription_key\"} \
                 (both non-empty) and optionally \"base_url_override\" and \
                 \"submit_feedback_function_key\" (to give feedback)"
            }
            Api::ThreatExchange => {
                "fb_threatexchange's credentials are {\"api_token\"}: an app's access token \
                 (APPID|SECRET)"
            }
            Api::File => {
                "file's credentials are optional: {} or {\"bearer\"}, a non-empty token sent \
                 as Authorization: Bearer"
            }
            Api::Ward => {
                "ward's credentials are {\"api_key\"}: the API key the partner instance gave \
                 (non-empty), kept for one exchange"
            }
        }
    }

    /// Credentials as python-threatexchange's environment variable and file hold them (NCMEC
    /// `user:password`; StopNCII
    /// `fetch_function_key,subscription_key[,base_url_override[,submit_feedback_function_key]]`;
    /// ThreatExchange the token), checked.
    pub fn credentials_from_text(self, text: &str) -> Result<Credentials, String> {
        let text = text.trim();
        let credentials = match self {
            Api::Ncmec => {
                let (user, password) = text.split_once(':').unwrap_or((text, ""));
                Credentials::Ncmec(ncmec::Credentials {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            Api::StopNcii => {
                let mut parts = text.splitn(4, ',').map(str::trim);
                let mut next = || parts.next().filter(|p| !p.is_empty()).map(str::to_owned);
                Credentials::StopNcii(stopncii::Credentials {
                    fetch_function_key: next().unwrap_or_default(),
                    subscription_key: next().unwrap_or_default(),
                    base_url_override: next(),
                    submit_feedback_function_key: next(),
                })
            }
            Api::ThreatExchange => Credentials::ThreatExchange(threatexchange::Credentials {
                api_token: text.to_owned(),
            }),
            Api::File => Credentials::File(file::Credentials {
                bearer: Some(text.to_owned()),
            }),
            Api::Ward => Credentials::Ward(ward::Credentials {
                api_key: text.to_owned(),
            }),
        };
        credentials.check()?;
        Ok(credentials)
    }

    /// Where python-threatexchange finds the type's credentials: an environment variable,
    /// else a file in the home directory. None for `ward`, whose every exchange has a key
    /// of its own: one variable or file for all would send one partner's key to another.
    pub fn credentials_sources(self) -> Option<(&'static str, &'static str)> {
        match self {
            Api::Ncmec => Some(("TX_NCMEC_CREDENTIALS", ".tx_ncmec_credentials")),
            Api::StopNcii => Some(("TX_STOPNCII_KEYS", ".tx_stopncii_keys")),
            Api::ThreatExchange => Some(("TX_ACCESS_TOKEN", ".txtoken")),
            // python-threatexchange has no such type: Ward's own names.
            Api::File => Some(("WARD_FILE_BEARER", ".ward_file_bearer")),
            Api::Ward => None,
        }
    }
}

/// An exchange type's credentials, opened. Their `Debug` never shows a secret.
#[derive(Clone, Debug)]
pub enum Credentials {
    Ncmec(ncmec::Credentials),
    StopNcii(stopncii::Credentials),
    ThreatExchange(threatexchange::Credentials),
    File(file::Credentials),
    Ward(ward::Credentials),
}

impl Credentials {
    pub fn api(&self) -> Api {
        match self {
            Credentials::Ncmec(_) => Api::Ncmec,
            Credentials::StopNcii(_) => Api::StopNcii,
            Credentials::ThreatExchange(_) => Api::ThreatExchange,
            Credentials::File(_) => Api::File,
            Credentials::Ward(_) => Api::Ward,
        }
    }

    /// Whether they are whole (as python-threatexchange checks them), else what they lack.
    pub fn check(&self) -> Result<(), String> {
        let whole = match self {
            Credentials::Ncmec(c) => !c.user.is_empty() && !c.password.is_empty(),
            Credentials::StopNcii(c) => {
                !c.fetch_function_key.is_empty() && !c.subscription_key.is_empty()
            }
            Credentials::ThreatExchange(c) => threatexchange::token_is_valid(&c.api_token),
            Credentials::File(c) => c.bearer.as_deref().is_none_or(|b| !b.trim().is_empty()),
            Credentials::Ward(c) => !c.api_key.trim().is_empty(),
        };
        if whole {
            Ok(())
        } else {
            Err(self.api().credentials_shape().to_owned())
        }
    }

    /// HMA's JSON of them (to be sealed, never shown).
    pub fn to_json(&self) -> Vec<u8> {
        let json = match self {
            Credentials::Ncmec(c) => serde_json::to_vec(c),
            Credentials::StopNcii(c) => serde_json::to_vec(c),
            Credentials::ThreatExchange(c) => serde_json::to_vec(c),
            Credentials::File(c) => serde_json::to_vec(c),
            Credentials::Ward(c) => serde_json::to_vec(c),
        };
        json.expect("credentials render as JSON")
    }
}

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
    #[error("a list of more than {} MiB from {url}", file::MAX_LIST_BYTES >> 20)]
    ListTooLarge { url: String },
    #[error("spooling a list to a temporary file: {0}")]
    Spool(String),
    #[error("a page that cannot be read ({url}): {reason}")]
    MalformedPage { url: String, reason: String },
    /// A partner instance's feed page that does not verify: nothing of it is applied.
    #[error("a page refused ({url}): {reason}")]
    Refused { url: String, reason: String },
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
    /// Records of types Ward holds no signal of, skipped.
    pub unsupported: u64,
    pub checkpoint: C,
    /// The checkpoint's progress time (seconds).
    pub progress_ts: i64,
    /// Whether the exchange said nothing follows this page: once it is saved, the fetch is
    /// up to date.
    pub last: bool,
}

/// An exchange type's API as a fetch reads it: the page after a checkpoint.
pub trait Source {
    /// Where a fetch resumes (HMA's JSON); the default is "from the start".
    type Checkpoint: Serialize + DeserializeOwned + Default + Send + Sync;

    /// The page after `checkpoint` at time `now` (seconds), or `None` when there is nothing
    /// to read yet.
    fn next_page(
        &self,
        http: &Http,
        checkpoint: &Self::Checkpoint,
        now: i64,
    ) -> impl Future<Output = Result<Option<FetchedPage<Self::Checkpoint>>, ExchangeError>> + Send;
}

/// An API's base URL (`base_url` or the type's own), checked: http or https, with a host;
/// without a trailing `/`.
pub fn base_url(base: &str) -> Result<String, ExchangeError> {
    let parsed = url::Url::parse(base)
        .map_err(|e| ExchangeError::Config(format!("base URL {base:?}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return Err(ExchangeError::Config(format!(
            "base URL {base:?}: an http or https URL with a host"
        )));
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// A URL as errors show it: without its query, fragment, user or password (a token or key
/// may be in any of them).
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// How a request proves who asks.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    /// Nothing (ThreatExchange's token is in the URL).
    None,
    /// HTTP Basic (NCMEC).
    Basic { user: &'a str, password: &'a str },
    /// Headers (StopNCII's keys).
    Headers(&'a [(&'static str, &'a str)]),
    /// `Authorization: Bearer` (a list behind a token).
    Bearer(&'a str),
}

/// A GET's answer: the page, or a refusal that is not about credentials (a 4xx other than
/// 401, 403 and 429) with its body, which the type may understand (an expired cursor).
#[derive(Debug)]
pub enum Got {
    Page(Vec<u8>),
    Refused { status: u16, body: Vec<u8> },
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

    /// GETs `url` as `auth` says, retrying 429s and 5xx; the body, at most
    /// [`MAX_PAGE_BYTES`]. Any refusal is an error.
    pub async fn get(&self, url: &str, auth: Auth<'_>) -> Result<Vec<u8>, ExchangeError> {
        match self.get_or_refused(url, auth).await? {
            Got::Page(body) => Ok(body),
            Got::Refused { status, .. } => Err(ExchangeError::Status {
                status,
                url: shown(url),
            }),
        }
    }

    /// As [`Http::get`], answering a refusal other than of the credentials (a 4xx other
    /// than 401, 403 and 429) with its body, for the type to make sense of.
    pub async fn get_or_refused(&self, url: &str, auth: Auth<'_>) -> Result<Got, ExchangeError> {
        let response = self.send(url, auth, &[], None).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(Got::Page(
                read_limited(response, url, MAX_PAGE_BYTES).await?,
            ));
        }
        if status.is_client_error() {
            let body = read_limited(response, url, MAX_REFUSAL_BYTES)
                .await
                .unwrap_or_default();
            return Ok(Got::Refused {
                status: status.as_u16(),
                body,
            });
        }
        Err(ExchangeError::Status {
            status: status.as_u16(),
            url: shown(url),
        })
    }

    /// As [`Http::get`], answering the value of the response header `header` too (a feed
    /// page's signature).
    pub async fn get_with_header(
        &self,
        url: &str,
        auth: Auth<'_>,
        header: &str,
    ) -> Result<(Vec<u8>, Option<String>), ExchangeError> {
        let response = self.send(url, auth, &[], None).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExchangeError::Status {
                status: status.as_u16(),
                url: shown(url),
            });
        }
        let value = response
            .headers()
            .get(header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((read_limited(response, url, MAX_PAGE_BYTES).await?, value))
    }

    /// GETs `url` as `auth` says with `headers` besides, within `timeout` (else the
    /// client's 60 s), retrying failures to connect, 429s and 5xx; answers a success, a
    /// 304, or a refusal other than of the credentials (a 4xx other than 401, 403 and 429),
    /// whose body is the caller's to read.
    pub async fn send(
        &self,
        url: &str,
        auth: Auth<'_>,
        headers: &[(reqwest::header::HeaderName, &str)],
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ExchangeError> {
        let mut wait = self.backoff;
        for attempt in 1..=TRIES {
            let mut request = self.client.get(url);
            if let Some(timeout) = timeout {
                request = request.timeout(timeout);
            }
            match auth {
                Auth::None => {}
                Auth::Basic { user, password } => {
                    request = request.basic_auth(user, Some(password));
                }
                Auth::Headers(headers) => {
                    for (name, value) in headers {
                        request = request.header(*name, *value);
                    }
                }
                Auth::Bearer(token) => request = request.bearer_auth(token),
            }
            for (name, value) in headers {
                request = request.header(name, *value);
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
                        url: shown(url),
                        reason: error.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(response);
            }
            if matches!(status.as_u16(), 401 | 403) {
                return Err(ExchangeError::Credentials(status.as_u16()));
            }
            if status.is_client_error() && status.as_u16() != 429 {
                return Ok(response);
            }
            let retried = status.as_u16() == 429 || status.is_server_error();
            if !retried || attempt == TRIES {
                return Err(ExchangeError::Status {
                    status: status.as_u16(),
                    url: shown(url),
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
    limit: usize,
) -> Result<Vec<u8>, ExchangeError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(ExchangeError::TooLarge { url: shown(url) });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => {
                return Err(ExchangeError::Unreachable {
                    url: shown(url),
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
    /// Records of types Ward holds no signal of (ThreatExchange's URLs and text), skipped.
    pub unsupported: u64,
    pub up_to_date: bool,
}

/// Seconds since the Unix epoch, now.
pub fn now_s() -> i64 {
    Timestamp::now().0 / 1000
}

/// Fetches an exchange under `lease` with `credentials` (its type's) for at most `budget`:
/// pages until it has nothing more, each saved with the checkpoint after it. The fetch's end
/// (how it went) is saved too; an error is returned after it is.
pub async fn fetch(
    store: &impl Store,
    http: &Http,
    exchange: &Exchange,
    mut lease: ExchangeLease,
    credentials: Credentials,
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
    let mut run = Run {
        store,
        http,
        exchange,
        lease: &mut lease,
        report: &mut report,
        until: started + budget,
    };
    let outcome = async {
        if Api::named(&exchange.api) != Some(credentials.api()) {
            return Err(ExchangeError::Config(format!(
                "credentials of {} for an exchange of {}",
                credentials.api().name(),
                exchange.api
            )));
        }
        let settings = &exchange.config;
        match credentials {
            Credentials::Ncmec(c) => {
                let config = parse_json("settings", settings)?;
                run.pages(&ncmec::Ncmec::new(&config, c)?).await
            }
            Credentials::StopNcii(c) => {
                let config = parse_json("settings", settings)?;
                run.pages(&stopncii::StopNcii::new(&config, c)?).await
            }
            Credentials::ThreatExchange(c) => {
                let config = parse_json("settings", settings)?;
                run.pages(&threatexchange::ThreatExchange::new(&config, c)?)
                    .await
            }
            Credentials::File(c) => {
                let config = parse_json("settings", settings)?;
                run.pages(&file::FileList::new(&config, c, store, exchange.bank)?)
                    .await
            }
            Credentials::Ward(c) => {
                let config = parse_json("settings", settings)?;
                run.pages(&ward::Feed::new(&config, c, &exchange.name)?)
                    .await
            }
        }
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

/// A fetch under way.
struct Run<'a, S> {
    store: &'a S,
    http: &'a Http,
    exchange: &'a Exchange,
    lease: &'a mut ExchangeLease,
    report: &'a mut FetchReport,
    until: Instant,
}

impl<St: Store> Run<'_, St> {
    /// Reads `source`'s pages from the exchange's checkpoint until it has nothing more or
    /// the time is up, saving each with the checkpoint after it.
    async fn pages<So: Source>(&mut self, source: &So) -> Result<(), ExchangeError> {
        let exchange = self.exchange;
        let mut checkpoint: So::Checkpoint = match &exchange.status.checkpoint {
            Some(text) => parse_json("checkpoint", text)?,
            None => So::Checkpoint::default(),
        };
        let actor = Actor::operator(&format!("exchange:{}", exchange.name));
        let report = &mut *self.report;
        while Instant::now() < self.until {
            let Some(page) = source.next_page(self.http, &checkpoint, now_s()).await? else {
                report.up_to_date = true;
                break;
            };
            let text = serde_json::to_string(&page.checkpoint)
                .map_err(|e| ExchangeError::Config(e.to_string()))?;
            let progress = FetchProgress {
                checkpoint: Some((text, Some(page.progress_ts))),
                ..FetchProgress::default()
            };
            let (counts, version) = self
                .store
                .import_exchange_page(&actor, self.lease, &page.changes, &progress)
                .await?;
            self.lease.version = version;
            report.pages += 1;
            report.added += counts.added;
            report.replaced += counts.replaced;
            report.removed += counts.removed;
            report.malformed += page.malformed;
            report.unsupported += page.unsupported;
            if let Some(problem) = page.first_problem {
                tracing::warn!(
                    exchange = %exchange.name,
                    skipped = page.malformed,
                    "records skipped in a page: {problem}"
                );
            }
            checkpoint = page.checkpoint;
            if page.last {
                report.up_to_date = true;
                break;
            }
        }
        Ok(())
    }
}

/// Where a fetch resumes: `checkpoint`, unless its last fetch (`last_fetch_time`, seconds;
/// 0 for never) is more than `stale_after` seconds before `now`, when the API's records may
/// no longer reach back to it and the fetch starts again from scratch (as HMA does).
pub(crate) fn unless_stale<C: Clone + Default>(
    checkpoint: &C,
    last_fetch_time: i64,
    now: i64,
    stale_after: i64,
) -> C {
    if last_fetch_time > 0 && now - last_fetch_time > stale_after {
        C::default()
    } else {
        checkpoint.clone()
    }
}

fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, ExchangeError> {
    serde_json::from_str(text).map_err(|e| ExchangeError::Config(format!("{what}: {e}")))
}

/// What an organisation's credentials for an exchange type (or a `ward` exchange's own,
/// `api` being the name they are kept under, [`ward_store::credentials_name`]) are sealed
/// for: opened for another organisation, type or exchange, they fail.
pub fn credentials_context(org: OrgId, api: &str) -> String {
    format!("exchange:{org}:{api}")
}

/// An exchange's credentials (its organisation's for its type, or a `ward` exchange's
/// own), opened.
pub async fn open_credentials(
    store: &impl Store,
    key: &crate::serve::evidence::EvidenceKey,
    exchange: &Exchange,
) -> anyhow::Result<Credentials> {
    let (org, api) = (exchange.org, exchange.api.as_str());
    let known = Api::named(api).ok_or_else(|| anyhow!("Ward does not fetch exchanges of {api}"))?;
    let kept_as = ward_store::credentials_name(api, exchange.bank);
    let Some(sealed) = store.exchange_credentials(org, &kept_as).await? else {
        // A list at a URL may be open to anyone who has its address.
        if known == Api::File {
            return Ok(Credentials::File(file::Credentials::default()));
        }
        if known == Api::Ward {
            return Err(anyhow!(
                "no API key for the ward exchange {:?} (ward exchange credentials ward \
                 --exchange {:?} --from FILE)",
                exchange.name,
                exchange.name
            ));
        }
        return Err(anyhow!(
            "no credentials for {api} (ward exchange credentials --org … {api})"
        ));
    };
    let opened = key.open_secret(&credentials_context(org, &kept_as), &sealed)?;
    let json: serde_json::Value = serde_json::from_slice(&opened)
        .map_err(|_| anyhow!("the credentials kept for {api} are not JSON"))?;
    known
        .credentials(json)
        .map_err(|shape| anyhow!("the credentials kept for {api} do not fit: {shape}"))
}

/// How long to wait before retrying after a failed fetch, by failures in a row: a minute,
/// doubling, at most six hours.
pub fn backoff(failures: i64) -> Duration {
    let exponent = u32::try_from(failures.clamp(1, 30) - 1).unwrap_or(0);
    Duration::from_secs(60u64.saturating_mul(1 << exponent.min(9)).min(6 * 3600))
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
