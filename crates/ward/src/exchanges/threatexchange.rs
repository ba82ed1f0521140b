//! A Meta ThreatExchange privacy group's updates (Graph API `/threat_updates`) as an
//! exchange: the indicators changed since a time, a page at a time, following each page's
//! `paging.next`.
//!
//! The credentials are an app's access token (HMA's `{"api_token"}`: `APPID|SECRET`, as
//! §4.1 of EXCHANGES.md checks it; one given as `APPID%7CSECRET` is sent decoded, where the
//! reference would encode it twice), sent as the `access_token` query parameter, as Graph
//! wants it. So a URL Ward has requested is never shown: errors and the status show URLs
//! without their query ([`super::shown`]); the run's cursor is kept without the token,
//! which is put back on each request; and `paging.next` is followed only to the base's own
//! scheme, host and port (one elsewhere would take the token there: the fetch ends with an
//! error, and nothing of that page is applied). The base is
//! `https://graph.facebook.com/v21.0` unless the settings' `base_url` says otherwise.
//!
//! The checkpoint is HMA's: `update_time`, the latest `last_updated` seen, and
//! `last_fetch_time`. A run starts at `start_time = update_time` (none on the first) and
//! follows `paging.next` to its end; Graph's cursors last only for the run, so Ward does not
//! save them: a fetch stopped mid-run starts again from `update_time` (Graph lists updates
//! in time order), reading the records at that second again, which applies them alike
//! (records are replaced by key). A cursor the API refuses (a 4xx other than 401, 403, 429
//! and Graph's token errors) is dropped the same way. A page with no `data` ends the run,
//! where the reference fails. A checkpoint not fetched for 85 days is stale (Graph keeps
//! deletions for 90): the fetch starts from scratch, as HMA's does.
//!
//! Updates are read by [`ward_core::exchange::threatexchange`]: keyed on `TYPE:indicator`
//! (`HASH_PDQ:e0e0…`), deletions on `should_delete`, on missing `descriptors` or when no
//! opinion results, opinions from descriptors and `HELPFUL`/`DISAGREE_WITH_TAGS` reactions,
//! `HASH_MD5` a video's only with an opinion tagged exactly `media_type_video`. Updates of
//! other types (URLs, text) are skipped and counted as unsupported; updates that cannot be
//! read are skipped and counted as malformed, and the rest of the page is kept.

use serde::{Deserialize, Serialize};
use ward_core::exchange::threatexchange::{Read, read_page};
use ward_store::{Content, OpinionKind};

use super::feedback::{Form, Part};
use super::{Auth, ExchangeError, FetchedPage, Got, Http, Source, shown};

/// Graph's API.
const BASE: &str = "https://graph.facebook.com/v21.0";
/// Updates a page asks for (the reference's).
const PAGE_SIZE: u32 = 100;
/// The fields asked of each update (the reference's, with the descriptor's `id`).
const FIELDS: &str = "id,indicator,type,last_updated,should_delete,\
                      descriptors{id,reactions,my_reactions,owner{id},tags,status,added_on}";
/// How long a checkpoint stays fresh without a fetch.
const STALE_AFTER_S: i64 = 85 * 86_400;

/// A ThreatExchange exchange's settings: HMA's `privacy_group`, and Ward's `base_url` (for
/// tests and egress proxies) and `page_size`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The privacy group whose updates are fetched.
    pub privacy_group: u64,
    /// Where requests go instead of Graph's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Updates a page asks for (100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// ThreatExchange's credentials (HMA's field name).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `APPID|SECRET`.
    pub api_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// Whether a token is one as python-threatexchange takes it: at least 8 digits, `|` or
/// `%7C`, then at least 20 of `[A-Za-z0-9_-]`.
pub fn token_is_valid(token: &str) -> bool {
    let digits = token.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &token[digits..];
    let Some(secret) = rest
        .strip_prefix('|')
        .or_else(|| rest.strip_prefix("%7C"))
        .or_else(|| rest.strip_prefix("%7c"))
    else {
        return false;
    };
    digits >= 8
        && secret.len() >= 20
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A token as the query takes it: one given with `%7C` (URL-encoded, which the reference
/// accepts) is decoded, so that the query does not encode it twice.
fn plain_token(token: &str) -> String {
    token.replacen("%7C", "|", 1).replacen("%7c", "|", 1)
}

/// Where a fetch resumes (HMA's JSON). Inside a run it also holds the run's cursor, which
/// is never saved.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Checkpoint {
    /// The latest `last_updated` seen: the next run's `start_time`.
    pub update_time: i64,
    /// When the last page was read (seconds).
    pub last_fetch_time: i64,
    /// The next page's URL without the token, inside a run.
    #[serde(skip)]
    next: Option<String>,
}

/// The ThreatExchange API of one exchange.
#[derive(Debug)]
pub struct ThreatExchange {
    base: url::Url,
    group: u64,
    credentials: Credentials,
    page_size: u32,
}

impl ThreatExchange {
    /// Feedback on an indicator (see [`super::feedback`]): a reaction on each descriptor
    /// another app wrote.
    pub fn feedback(
        &self,
        http: &Http,
        content: &Content,
        opinion: OpinionKind,
    ) -> Result<Form, ExchangeError> {
        let token = plain_token(&self.credentials.api_token);
        let own_app = token.split('|').next().unwrap_or_default();
        let descriptors = super::feedback::descriptors_of_others(content, own_app);
        if descriptors.is_empty() {
            return Ok(Form::Unsendable(
                "no descriptor of another app to react to".into(),
            ));
        }
        let reaction = match opinion {
            OpinionKind::Confirm => "HELPFUL",
            OpinionKind::Dispute => "NOT_HELPFUL",
        };
        let parts = descriptors
            .into_iter()
            .map(|descriptor| {
                let mut url = self.base.clone();
                let path = format!("{}/{descriptor}/", url.path().trim_end_matches('/'));
                url.set_path(&path);
                url.query_pairs_mut().append_pair("reactions", reaction);
                let shown_url = url.to_string();
                url.query_pairs_mut().append_pair("access_token", &token);
                Part {
                    refuses_credentials: graph_token_error,
                    ..Part::new(descriptor, http.client.post(url), shown_url)
                }
            })
            .collect();
        Ok(Form::Parts(parts))
    }
}

impl ThreatExchange {
    pub fn new(config: &Config, credentials: Credentials) -> Result<ThreatExchange, ExchangeError> {
        let base = super::base_url(config.base_url.as_deref().unwrap_or(BASE))?;
        let base = url::Url::parse(&base).map_err(|e| ExchangeError::Config(e.to_string()))?;
        if !token_is_valid(&credentials.api_token) {
            return Err(ExchangeError::Config(
                "ThreatExchange's api_token is not an app's access token (APPID|SECRET)".into(),
            ));
        }
        Ok(ThreatExchange {
            base,
            group: config.privacy_group,
            credentials,
            page_size: config.page_size.unwrap_or(PAGE_SIZE).clamp(1, 1_000),
        })
    }

    /// The first page's URL of a run from `start` (without the token).
    fn first(&self, start: i64) -> url::Url {
        let mut url = self.base.clone();
        let path = format!(
            "{}/{}/threat_updates/",
            url.path().trim_end_matches('/'),
            self.group
        );
        url.set_path(&path);
        url.query_pairs_mut()
            .append_pair("limit", &self.page_size.to_string())
            .append_pair("fields", FIELDS);
        if start > 0 {
            url.query_pairs_mut()
                .append_pair("start_time", &start.to_string());
        }
        url
    }

    /// A `paging.next` as kept: on the base's scheme, host and port, without the token.
    fn cursor(&self, next: &str) -> Result<String, ExchangeError> {
        let off = || ExchangeError::MalformedPage {
            url: shown(next),
            reason: "a paging.next off the API".into(),
        };
        let mut url = url::Url::parse(next).map_err(|_| off())?;
        let same = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same {
            return Err(off());
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| name != "access_token")
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
        url.set_fragment(None);
        Ok(url.to_string())
    }

    /// GETs `url` with the token added.
    async fn request(&self, http: &Http, url: &str) -> Result<Got, ExchangeError> {
        let mut url = url::Url::parse(url).map_err(|e| ExchangeError::Config(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("access_token", &plain_token(&self.credentials.api_token));
        let got = http.get_or_refused(url.as_str(), Auth::None).await?;
        match got {
            Got::Refused { status, body } if graph_token_error(&body) => {
                Err(ExchangeError::Credentials(status))
            }
            got => Ok(got),
        }
    }
}

/// Whether a Graph error says the token is wrong (OAuth codes 102, 190, or permission 10,
/// 200).
fn graph_token_error(body: &[u8]) -> bool {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let code = answer
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(serde_json::Value::as_i64);
    matches!(code, Some(102 | 190 | 10 | 200))
}

impl Source for ThreatExchange {
    type Checkpoint = Checkpoint;

    /// The page after `checkpoint`: never `None` (whether more follow, the page says).
    async fn next_page(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<Option<FetchedPage<Checkpoint>>, ExchangeError> {
        let from = super::unless_stale(checkpoint, checkpoint.last_fetch_time, now, STALE_AFTER_S);
        let fresh = self.first(from.update_time).to_string();
        let mut url = from.next.clone().unwrap_or_else(|| fresh.clone());
        let mut got = self.request(http, &url).await?;
        if from.next.is_some()
            && let Got::Refused { status, .. } = got
        {
            tracing::info!(
                status,
                "ThreatExchange refused a cursor; reading from the checkpoint"
            );
            url = fresh;
            got = self.request(http, &url).await?;
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
        let page = read_page(&body).map_err(|reason| ExchangeError::MalformedPage {
            url: shown(&url),
            reason,
        })?;
        let next = match &page.next {
            Some(next) if !page.updates.is_empty() => Some(self.cursor(next)?),
            _ => None,
        };
        let mut changes = Vec::new();
        let mut malformed = 0u64;
        let mut unsupported = 0u64;
        let mut first_problem = None;
        let mut update_time = from.update_time;
        for update in page.updates {
            if let Some(at) = update.last_updated {
                update_time = update_time.max(at);
            }
            match update.read {
                Read::Record(record) => {
                    let position = record.position;
                    let change = crate::exchange::change(record, "exchange:fb_threatexchange");
                    match crate::exchange::within_rules(&change) {
                        Ok(()) => changes.push(change),
                        Err(reason) => {
                            malformed += 1;
                            first_problem.get_or_insert(format!("{position}: {reason}"));
                        }
                    }
                }
                Read::Unsupported(_) => unsupported += 1,
                Read::Malformed(reason) => {
                    malformed += 1;
                    first_problem.get_or_insert(reason);
                }
            }
        }
        let last = next.is_none();
        let after = Checkpoint {
            update_time,
            last_fetch_time: now,
            next,
        };
        Ok(Some(FetchedPage {
            changes,
            malformed,
            first_problem,
            unsupported,
            progress_ts: after.update_time,
            last,
            checkpoint: after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_as_the_reference_does() {
        let secret = "abcdefghij_KLMNOPQR-st";
        for (token, valid) in [
            (format!("12345678|{secret}"), true),
            (format!("12345678%7C{secret}"), true),
            (format!("1234567|{secret}"), false),
            (format!("12345678|{}", &secret[..19]), false),
            (format!("12345678:{secret}"), false),
            (format!("12345678|{secret}!"), false),
            (String::new(), false),
        ] {
            assert_eq!(token_is_valid(&token), valid, "{token}");
        }
        let plain = format!("12345678|{secret}");
        assert_eq!(plain_token(&format!("12345678%7C{secret}")), plain);
        assert_eq!(plain_token(&plain), plain);
    }

    #[test]
    fn cursors_stay_on_the_api_and_drop_the_token() {
        let config = Config {
            privacy_group: 42,
            base_url: Some("http://127.0.0.1:9/graph/v21.0".into()),
            page_size: None,
        };
        let credentials = Credentials {
            api_token: "12345678|abcdefghijklmnopqrstuvwxyz".into(),
        };
        let api = ThreatExchange::new(&config, credentials).unwrap();
        assert_eq!(
            api.first(0).as_str().split('?').next().unwrap(),
            "http://127.0.0.1:9/graph/v21.0/42/threat_updates/"
        );
        assert!(api.first(7).as_str().ends_with("&start_time=7"));
        assert_eq!(
            api.cursor("http://127.0.0.1:9/graph/v21.0/42/threat_updates/?access_token=T&after=X")
                .unwrap(),
            "http://127.0.0.1:9/graph/v21.0/42/threat_updates/?after=X"
        );
        for off in [
            "https://127.0.0.1:9/x?access_token=T",
            "http://127.0.0.2:9/x?access_token=T",
            "http://127.0.0.1:10/x?access_token=T",
            "http://user@127.0.0.1:9/x",
            "/relative?access_token=T",
        ] {
            let error = api.cursor(off).unwrap_err().to_string();
            assert!(!error.contains("access_token=T"), "{error}");
            assert!(error.contains("off the API"), "{error}");
        }
    }
}
