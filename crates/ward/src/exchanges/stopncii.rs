//! StopNCII.org's hash exchange (`FetchHashes`, JSON) as an exchange: the hashes changed
//! since a time, a page at a time, each page named by the token the one before it gave.
//!
//! Requests carry two headers, the API Management subscription key
//! (`Ocp-Apim-Subscription-Key`) and the `FetchHashes` function key (`x-functions-key`): the
//! credentials (HMA's `fetch_function_key`, `subscription_key` and `base_url_override`).
//! The base is `https://api.stopncii.org/v1`, unless the settings' `base_url` or the
//! credentials' `base_url_override` say otherwise (the settings win).
//!
//! The checkpoint is HMA's (`update_time`: the last page's `nextSetTimestamp`;
//! `last_fetch_time`), so that one written by either reads in the other; inside a run of
//! pages Ward adds `paging`: the next page's token, the `startTimestamp` it goes with and
//! when it was given. The reference keeps no token, as StopNCII says tokens are not valid
//! for long; Ward replays one for an hour at most (a fetch stopped mid-run resumes where it
//! was), and a token the API refuses (a 4xx other than 401, 403, 429) or an older one
//! starts again from `update_time`, which reads some records again and applies them alike
//! (records are replaced by key). A checkpoint not fetched for 30 days is stale: the fetch
//! starts from scratch, as HMA's does (records it does not send again stay).
//!
//! `nextSetTimestamp` should not go back; when a page's does (the reference's own test
//! data does, and HMA's fetcher then fails), Ward keeps the lower time and says so in the
//! log: reading a few records again is harmless, skipping some is not. A page without it
//! keeps the time before it.
//!
//! Records are read by [`ward_core::exchange::stopncii`]: keyed on the hash, with
//! `CSPFeedbacks` (the platforms' opinions), `caseNumbers` and the rest kept as attributes,
//! as given (their enum values are not checked, so a feedback value the reference does not
//! know, which makes it skip the record, keeps it here). Deletions follow what the reference
//! *means*: a `hashStatus` of `Withdrawn` or `Deleted` removes the item (the reference
//! compares the hash value, not the status, to those names, so it never deletes anything);
//! `hashStatus` is the aggregate of the cases' statuses, so those are not read one by one.
//! A record that cannot be read (no or a wrong hash, no signal type, a signal type Ward does
//! not hold such as `VideoTMK`) is skipped and counted, and the rest of its page is kept
//! (the reference aborts the fetch on a missing field); a page that cannot be read at all
//! (broken JSON, members of the wrong type, more records and no token) ends the fetch, and
//! the next starts from the same checkpoint.

use serde::{Deserialize, Serialize};
use ward_core::exchange::RecordError;
use ward_core::exchange::stopncii::read_page;
use ward_store::{Content, OpinionKind};

use super::feedback::{Form, Part};
use super::{Auth, ExchangeError, FetchedPage, Got, Http, Source, shown};

/// StopNCII's API.
const BASE: &str = "https://api.stopncii.org/v1";
/// Records a page asks for (the reference's).
const PAGE_SIZE: u32 = 800;
/// The first fetch's `startTimestamp` (the reference's).
const FIRST_START: i64 = 10;
/// How long a page's token is replayed.
const TOKEN_LIFE_S: i64 = 3600;
/// How long a checkpoint stays fresh without a fetch.
const STALE_AFTER_S: i64 = 30 * 86_400;

/// A StopNCII exchange's settings: none in HMA; Ward's `base_url` (for tests and egress
/// proxies) and `page_size`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where requests go instead of StopNCII's API (wins over the credentials'
    /// `base_url_override`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Records a page asks for (800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// StopNCII's credentials (HMA's field names).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The `FetchHashes` function key.
    pub fetch_function_key: String,
    /// The API Management subscription key.
    pub subscription_key: String,
    #[serde(default)]
    pub base_url_override: Option<String>,
    /// The `SubmitFeedback` function key (Ward's: HMA only fetches); without it, feedback
    /// waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_feedback_function_key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = self.base_url_override.as_deref().map(super::shown);
        write!(f, "Credentials(.., base_url_override: {base:?})")
    }
}

/// Where a fetch resumes (HMA's JSON, and Ward's `paging` inside a run).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last page's `nextSetTimestamp`: the next run's `startTimestamp`.
    pub update_time: i64,
    /// When the last page was read (seconds).
    pub last_fetch_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// The next page of a run.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Paging {
    pub next_page_token: String,
    /// The run's `startTimestamp`, sent again with the token.
    pub start_timestamp: i64,
    /// When the token was given (seconds).
    pub token_ts: i64,
}

/// The StopNCII API of one exchange.
#[derive(Debug)]
pub struct StopNcii {
    base: String,
    credentials: Credentials,
    page_size: u32,
}

impl StopNcii {
    pub fn new(config: &Config, credentials: Credentials) -> Result<StopNcii, ExchangeError> {
        let base = config
            .base_url
            .as_deref()
            .or(credentials.base_url_override.as_deref())
            .unwrap_or(BASE);
        Ok(StopNcii {
            base: super::base_url(base)?,
            credentials,
            page_size: config.page_size.unwrap_or(PAGE_SIZE).clamp(1, 10_000),
        })
    }

    /// `FetchHashes` from `start`, at `token`.
    async fn request(
        &self,
        http: &Http,
        start: i64,
        token: Option<&str>,
    ) -> Result<(String, Got), ExchangeError> {
        let mut url = url::Url::parse(&format!("{}/FetchHashes", self.base))
            .map_err(|e| ExchangeError::Config(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("startTimestamp", &start.to_string())
            .append_pair("pageSize", &self.page_size.to_string());
        if let Some(token) = token {
            url.query_pairs_mut().append_pair("nextPageToken", token);
        }
        let headers = [
            (
                "Ocp-Apim-Subscription-Key",
                self.credentials.subscription_key.as_str(),
            ),
            (
                "x-functions-key",
                self.credentials.fetch_function_key.as_str(),
            ),
        ];
        let got = http
            .get_or_refused(url.as_str(), Auth::Headers(&headers))
            .await?;
        Ok((url.to_string(), got))
    }
}

impl StopNcii {
    /// Feedback on a hash (see [`super::feedback`]): `SubmitFeedback` of it, `Blocked` or
    /// `NotBlocked`.
    pub fn feedback(
        &self,
        http: &Http,
        content: &Content,
        opinion: OpinionKind,
    ) -> Result<Form, ExchangeError> {
        let Some(hash) = content.external_id.as_deref().filter(|h| !h.is_empty()) else {
            return Ok(Form::Unsendable("the item has no StopNCII hash".into()));
        };
        let Some(key) = self.credentials.submit_feedback_function_key.as_deref() else {
            return Err(ExchangeError::Config(
                "stop_ncii's credentials have no submit_feedback_function_key: feedback waits \
                 for one"
                    .into(),
            ));
        };
        let value = match opinion {
            OpinionKind::Confirm => "Blocked",
            OpinionKind::Dispute => "NotBlocked",
        };
        let body = serde_json::json!({
            "count": 1,
            "hashFeedbacks": [{"hashValue": hash, "feedbackValue": value, "tags": []}],
        });
        let url = format!("{}/SubmitFeedback", self.base);
        let request = http
            .client
            .post(&url)
            .header(
                "Ocp-Apim-Subscription-Key",
                &self.credentials.subscription_key,
            )
            .header("x-functions-key", key)
            .header("content-type", "application/json")
            .body(body.to_string());
        Ok(Form::Parts(vec![Part::new("SubmitFeedback", request, url)]))
    }
}

impl Source for StopNcii {
    type Checkpoint = Checkpoint;

    /// The page after `checkpoint`: never `None` (whether more follow, the page says).
    async fn next_page(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<Option<FetchedPage<Checkpoint>>, ExchangeError> {
        let from = super::unless_stale(checkpoint, checkpoint.last_fetch_time, now, STALE_AFTER_S);
        let fresh_start = from.update_time.max(FIRST_START);
        let replayed = from
            .paging
            .as_ref()
            .filter(|p| now - p.token_ts < TOKEN_LIFE_S);
        let (mut start, mut url, mut got) = match replayed {
            Some(paging) => {
                let start = paging.start_timestamp;
                let (url, got) = self
                    .request(http, start, Some(&paging.next_page_token))
                    .await?;
                (start, url, got)
            }
            None => {
                let (url, got) = self.request(http, fresh_start, None).await?;
                (fresh_start, url, got)
            }
        };
        if replayed.is_some()
            && let Got::Refused { status, .. } = got
        {
            tracing::info!(
                status,
                "StopNCII refused a page token; reading from the checkpoint"
            );
            start = fresh_start;
            (url, got) = self.request(http, start, None).await?;
        }
        let body = match got {
            Got::Page(body) => body,
            Got::Refused { status, .. } => {
                return Err(ExchangeError::Status {
                    status,
                    url: shown(&url),
                });
            }
        };
        let mut changes = Vec::new();
        let mut malformed = 0u64;
        let mut first_problem = None;
        let (summary, info) = read_page(&body[..], &mut |item| {
            match item {
                Ok(record) => {
                    let change = crate::exchange::change(record, "exchange:stop_ncii");
                    match crate::exchange::within_rules(&change) {
                        Ok(()) => changes.push(change),
                        Err(reason) => {
                            malformed += 1;
                            first_problem.get_or_insert(reason);
                        }
                    }
                }
                Err(RecordError::Malformed { position, reason }) => {
                    malformed += 1;
                    first_problem.get_or_insert(format!("{position}: {reason}"));
                }
                Err(RecordError::Fatal { reason, .. }) => first_problem = Some(reason),
            }
            std::ops::ControlFlow::Continue(())
        });
        let unreadable = |reason: String| ExchangeError::MalformedPage {
            url: shown(&url),
            reason,
        };
        if summary.fatal {
            return Err(unreadable(first_problem.unwrap_or_default()));
        }
        if let Some(problem) = info.problem {
            return Err(unreadable(problem));
        }
        let more = info
            .has_more_records
            .ok_or_else(|| unreadable("no hasMoreRecords".into()))?;
        let token = match (more, info.next_page_token) {
            (true, None) => return Err(unreadable("more records, and no nextPageToken".into())),
            (true, Some(token)) => Some(token),
            (false, _) => None,
        };
        let update_time = match info.next_set_timestamp {
            Some(next) if next < from.update_time => {
                tracing::warn!(
                    from = from.update_time,
                    to = next,
                    "StopNCII's nextSetTimestamp went back; kept the earlier time"
                );
                next
            }
            Some(next) => next,
            None => from.update_time,
        };
        let after = Checkpoint {
            update_time,
            last_fetch_time: now,
            paging: token.map(|next_page_token| Paging {
                next_page_token,
                start_timestamp: start,
                token_ts: now,
            }),
        };
        Ok(Some(FetchedPage {
            changes,
            malformed,
            first_problem,
            unsupported: 0,
            progress_ts: after.update_time,
            last: !more,
            checkpoint: after,
        }))
    }
}
