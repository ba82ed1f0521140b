//! NCMEC's hash-sharing API (v2, XML) as an exchange: entries of a time range, a page at a
//! time, each page's `next` link replayed as the server wrote it.
//!
//! The checkpoint is HMA's, so that one written by either reads in the other:
//! `get_entries_max_ts` (the start of the range still to read, seconds) and `paging_info`
//! (inside a range: the next page's link, the range's end, and when the link was given).
//! A range runs from the checkpoint to five seconds before now (entries are not in time
//! order, and the margin keeps an update from landing on both sides of a range's end), and
//! `get_entries_max_ts` moves to its end only once its last page is read. A link is
//! replayed only with the range that made it, and not after 12 hours (NCMEC asks that
//! links not be kept): an older one starts its range again, which applies nothing twice
//! (entries are keyed on member and id). Unlike python-threatexchange, ranges are not
//! shrunk to probe how dense they are: every page's link is saved with the page, so a
//! range of any size resumes where it stopped.
//!
//! A link must be a path on the API's own base (`/v2/entries?…`): one naming another host
//! would send the credentials there, and ends the fetch.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use ward_core::exchange::ncmec::{read_feedback_reasons, read_page};
use ward_store::{Content, ImportChange, OpinionKind, SignalKind};

use super::feedback::{Form, Part};
use super::{Auth, ExchangeError, FetchedPage, Http, Source, shown};

/// How long a page's link is replayed.
const LINK_LIFE_S: i64 = 12 * 3600;
/// How far before now a range ends.
const MARGIN_S: i64 = 5;

/// An NCMEC exchange's settings (HMA's `environment` and `only_esp_ids`, and Ward's
/// `base_url` override for tests and egress proxies).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The environment's base URL (without `/v2`), e.g.
    /// `https://exttest.cybertip.org/hashsharing`.
    pub environment: String,
    /// Only entries of these members (empty: every member's).
    #[serde(default)]
    pub only_esp_ids: Vec<i64>,
    /// Where requests go instead of `environment`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The reason a dispute gives NCMEC (a guid or a name among those it offers for the
    /// fingerprint type); without it, the only one offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_reason: Option<String>,
}

/// NCMEC's credentials (HMA's field names).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ..)", self.user)
    }
}

/// Where a fetch resumes (HMA's JSON).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub get_entries_max_ts: i64,
    pub paging_info: Option<Paging>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Paging {
    pub paging_url: String,
    pub paging_end_ts: i64,
    pub paging_url_ts: i64,
}

/// The NCMEC API of one exchange.
#[derive(Debug)]
pub struct Ncmec {
    base: String,
    credentials: Credentials,
    only: Vec<i64>,
    dispute_reason: Option<String>,
}

impl Ncmec {
    pub fn new(config: &Config, credentials: Credentials) -> Result<Ncmec, ExchangeError> {
        let base = super::base_url(config.base_url.as_deref().unwrap_or(&config.environment))?;
        if credentials.user.is_empty() || credentials.password.is_empty() {
            return Err(ExchangeError::Config(
                "NCMEC's credentials need a user and a password".into(),
            ));
        }
        Ok(Ncmec {
            base,
            credentials,
            only: config.only_esp_ids.clone(),
            dispute_reason: config.dispute_reason.clone(),
        })
    }
}

impl Source for Ncmec {
    type Checkpoint = Checkpoint;

    /// The page after `checkpoint` at time `now` (seconds), or `None` when everything up
    /// to five seconds ago has been read.
    async fn next_page(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<Option<FetchedPage<Checkpoint>>, ExchangeError> {
        let start = checkpoint.get_entries_max_ts;
        let (path, end) = match &checkpoint.paging_info {
            Some(paging) if now - paging.paging_url_ts < LINK_LIFE_S => {
                (paging.paging_url.clone(), paging.paging_end_ts)
            }
            _ => {
                let end = now - MARGIN_S;
                if start >= end {
                    return Ok(None);
                }
                (
                    format!("/v2/entries?from={}&to={}", utc(start), utc(end)),
                    end,
                )
            }
        };
        let url = format!("{}{path}", self.base);
        let auth = Auth::Basic {
            user: &self.credentials.user,
            password: &self.credentials.password,
        };
        let body = http.get(&url, auth).await?;
        let mut changes = Vec::new();
        let mut malformed = 0u64;
        let mut first_problem = None;
        let (summary, links) = read_page(&body[..], &mut |item| {
            match item {
                Ok(record) => {
                    let change = crate::exchange::change(record, "exchange:ncmec");
                    if let Err(reason) = crate::exchange::within_rules(&change) {
                        malformed += 1;
                        first_problem.get_or_insert(reason);
                    } else if self.wanted(&change) {
                        changes.push(change);
                    }
                }
                Err(ward_core::exchange::RecordError::Malformed { reason, .. }) => {
                    malformed += 1;
                    first_problem.get_or_insert(reason);
                }
                Err(ward_core::exchange::RecordError::Fatal { reason, .. }) => {
                    first_problem = Some(reason);
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        if summary.fatal {
            return Err(ExchangeError::MalformedPage {
                url: path,
                reason: first_problem.unwrap_or_default(),
            });
        }
        let next = match links.next {
            Some(next) => Some(checked_link(&next)?),
            None => None,
        };
        let after = match next {
            Some(next) => Checkpoint {
                get_entries_max_ts: start,
                paging_info: Some(Paging {
                    paging_url: next,
                    paging_end_ts: end,
                    paging_url_ts: now,
                }),
            },
            None => Checkpoint {
                get_entries_max_ts: end,
                paging_info: None,
            },
        };
        Ok(Some(FetchedPage {
            changes,
            malformed,
            first_problem,
            unsupported: 0,
            progress_ts: after.get_entries_max_ts,
            checkpoint: after,
            // Whether a range is the last is known only at the next call (`None`).
            last: false,
        }))
    }
}

impl Ncmec {
    /// Whether a change is of a member this exchange follows (tombstones always are: one
    /// for an entry the bank lacks removes nothing).
    fn wanted(&self, change: &ImportChange) -> bool {
        let ImportChange::Upsert(item) = change else {
            return true;
        };
        if self.only.is_empty() {
            return true;
        }
        let member = item
            .external_id
            .as_deref()
            .and_then(|key| key.split_once('-'))
            .and_then(|(member, _)| member.parse::<i64>().ok());
        member.is_some_and(|m| self.only.contains(&m))
    }
}

/// NCMEC's path key of a fingerprint type Ward holds, where NCMEC takes feedback on it.
fn path_type(kind: SignalKind) -> Option<&'static str> {
    match kind {
        SignalKind::Md5 => Some("MD5"),
        SignalKind::Sha1 => Some("SHA1"),
        SignalKind::Pdq => Some("PDQ"),
        SignalKind::Photodna => Some("PDNA"),
        SignalKind::Sha256 | SignalKind::Vpdq => None,
    }
}

impl Ncmec {
    /// Feedback on an entry (see [`super::feedback`]): a vote on each fingerprint type.
    pub async fn feedback(
        &self,
        http: &Http,
        content: &Content,
        opinion: OpinionKind,
    ) -> Result<Form, ExchangeError> {
        let key = content.external_id.as_deref().unwrap_or_default();
        let Some((member, entry)) = key.split_once('-').filter(|(m, e)| {
            !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) && !e.is_empty()
        }) else {
            return Ok(Form::Unsendable(format!(
                "{key:?} is not an NCMEC entry's key (member-id)"
            )));
        };
        let types: BTreeSet<&str> = content
            .signals
            .iter()
            .filter_map(|s| path_type(s.kind))
            .collect();
        if types.is_empty() {
            return Ok(Form::Unsendable(
                "the entry has no fingerprint NCMEC takes feedback on (MD5, SHA1, PDQ, PDNA)"
                    .into(),
            ));
        }
        let mut parts = Vec::new();
        for kind in types {
            let reason = match opinion {
                OpinionKind::Confirm => None,
                OpinionKind::Dispute => Some(self.dispute_reason(http, kind).await?),
            };
            let url = self.url(&["v2", "entries", member, entry, kind, "feedback"])?;
            let request = http
                .client
                .put(url.as_str())
                .basic_auth(&self.credentials.user, Some(&self.credentials.password))
                .header("content-type", "application/xml; charset=utf-8")
                .body(ward_core::exchange::ncmec::feedback_body(reason.as_deref()));
            parts.push(Part::new(kind, request, url.as_str()));
        }
        Ok(Form::Parts(parts))
    }

    /// The reason a dispute on fingerprints of `kind` gives: the chosen one, else the only
    /// one NCMEC offers.
    async fn dispute_reason(&self, http: &Http, kind: &str) -> Result<String, ExchangeError> {
        let url = self.url(&["v2", "feedback", kind, "reasons"])?;
        let auth = Auth::Basic {
            user: &self.credentials.user,
            password: &self.credentials.password,
        };
        let body = http.get(url.as_str(), auth).await?;
        let reasons =
            read_feedback_reasons(&body).map_err(|reason| ExchangeError::MalformedPage {
                url: shown(url.as_str()),
                reason,
            })?;
        let names = || {
            let names: Vec<&str> = reasons.iter().map(|r| r.name.as_str()).collect();
            names.join(", ")
        };
        match &self.dispute_reason {
            Some(chosen) => reasons
                .iter()
                .find(|r| {
                    r.guid.eq_ignore_ascii_case(chosen) || r.name.eq_ignore_ascii_case(chosen)
                })
                .map(|r| r.guid.clone())
                .ok_or_else(|| {
                    ExchangeError::Config(format!(
                        "dispute_reason {chosen:?} is not among NCMEC's reasons for {kind}: {}",
                        names()
                    ))
                }),
            None if reasons.len() == 1 => Ok(reasons[0].guid.clone()),
            None => Err(ExchangeError::Config(format!(
                "NCMEC offers {} reasons for disputing {kind} ({}): choose one as the exchange's \
                 dispute_reason",
                reasons.len(),
                names()
            ))),
        }
    }

    /// A URL on the API's base of `segments`, each encoded as a path segment.
    fn url(&self, segments: &[&str]) -> Result<url::Url, ExchangeError> {
        let mut url = url::Url::parse(&self.base)
            .map_err(|e| ExchangeError::Config(format!("base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ExchangeError::Config("base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}

/// A `next` link as replayed: a path of the API (`/v2/entries?…`), never a URL of its own.
fn checked_link(link: &str) -> Result<String, ExchangeError> {
    if link.starts_with("/v2/entries?") && !link.contains("//") && !link.contains('\\') {
        Ok(link.to_owned())
    } else {
        Err(ExchangeError::MalformedPage {
            url: String::new(),
            reason: format!("a next link that is not a path of the API's entries: {link:?}"),
        })
    }
}

/// A time as NCMEC's ranges take it: `YYYY-MM-DDTHH:MM:SSZ`, in UTC.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_508_857_800, "2017-10-24T15:10:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ] {
            assert_eq!(utc(seconds), text);
        }
    }

    #[test]
    fn links_stay_on_the_api() {
        assert!(checked_link("/v2/entries?from=a&to=b&start=1001&size=1000&max=2000").is_ok());
        for bad in [
            "https://elsewhere.example/v2/entries?x",
            "//elsewhere.example/v2/entries?x",
            "/v2/members",
            "/v2/entries?x=//y",
        ] {
            assert!(checked_link(bad).is_err(), "{bad}");
        }
    }
}
