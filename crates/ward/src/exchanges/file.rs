//! A hash list at a URL (CSV, HMA or VICS, the formats `ward import` reads) as an exchange:
//! each fetch takes the list as a full snapshot, after which the bank holds exactly its items.
//!
//! Settings: `url` (https; plain http only to a loopback address, for tests and a local
//! proxy), `format` (`csv`, `hma` or `vics`) and Ward's `page_size` (items a saved page holds,
//! 10,000). Credentials are optional: none, or `{"bearer"}`, a token sent as
//! `Authorization: Bearer` (the type works with no credentials kept at all).
//!
//! A fetch GETs the list (one request of at most [`LIST_TIMEOUT`], not the exchanges' 60 s,
//! as a list may be large; 429s and 5xx retried as every type's are; no redirects) and spools
//! its body to a temporary file, at most [`MAX_LIST_BYTES`], hashing it (SHA-256) on the way.
//! It asks with `If-None-Match`/`If-Modified-Since` from the last list applied: a 304, or a
//! body with the same SHA-256, applies nothing and ends the fetch up to date.
//!
//! The list is then read once whole before anything is applied: a list that cannot be read
//! to its end (truncated JSON, an I/O error), or in which no item reads, ends the fetch with
//! an error and nothing applied or removed. That pass keeps the set of the list's keys (a
//! 128-bit digest of each, so a list of ten million items takes some 300 MB) and counts the
//! records that do not read (skipped, as every type skips them). Items are keyed by the
//! list's own id where the format has one (VICS `MediaID`, HMA's content id, a CSV `id`
//! column), else by their signals (`md5:HEX`, or `signals:SHA256` of the sorted signals when
//! several or long), so that a list read again finds the same items.
//!
//! Applying is two phases of pages, each page saved with the checkpoint after it in one
//! transaction ([`super::Source`]): first the list's items as upserts, read again from the
//! spooled file a page at a time on a blocking thread (the checkpoint counts the records
//! applied); then the bank's items (walked by content id) whose external id the list does
//! not have, as tombstones, so they are withdrawn from Ward's feed. Removals come only after
//! every upsert of the same bytes is saved, so a fetch killed anywhere never removes an item
//! the list holds. The checkpoint of a snapshot under way names its SHA-256: a fetch that
//! resumes downloads the list again (unconditionally) and goes on where the last stopped if
//! the bytes are the same, else starts the new list's upserts from its first record; either
//! way removals are computed from the list whose upserts are all saved. A changed list is
//! applied whole: its items that did not change are upserted again, in place (the store
//! counts them as replaced). Records a list gives twice are applied twice (the second wins). Items of the bank without an external id (put
//! there by hand, not by this exchange) are left alone.

use std::collections::HashSet;
use std::io::{BufReader, Write as _};
use std::ops::ControlFlow;
use std::time::Duration;

use reqwest::header::{ETAG, HeaderName, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::{Mutex, mpsc};
use ward_core::exchange::{Change, Format, Record, RecordError};
use ward_store::{BankId, ContentId, ImportChange, Store};

use super::{Auth, ExchangeError, FetchedPage, Http, Source, shown};

/// The largest list read (1 GiB): a bigger body ends the fetch, nothing applied.
pub const MAX_LIST_BYTES: u64 = 1 << 30;
/// How long the one request for a list may take, body included (a gigabyte at a few MB/s).
pub const LIST_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Items a page of upserts holds.
const PAGE_SIZE: u32 = 10_000;
/// The bank's items a page of removals looks at.
const REMOVAL_PAGE: u32 = 1_000;
/// The provenance of the items.
const SOURCE: &str = "exchange:file";
/// The longest key made of signals kept as they are; longer ones are hashed.
const PLAIN_KEY_MAX: usize = 100;

/// A list exchange's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the list is: https, or http to a loopback address.
    pub url: String,
    pub format: ListFormat,
    /// Items a saved page holds (10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

impl Config {
    /// Whether the URL may be fetched: https with a host, or http to a loopback address
    /// (`127.0.0.0/8`, `::1`, `localhost`), where nothing on the network sees the request.
    pub fn check(&self) -> Result<(), ExchangeError> {
        let wrong = |why: &str| ExchangeError::Config(format!("url {:?}: {why}", shown(&self.url)));
        let parsed = url::Url::parse(&self.url).map_err(|e| wrong(&e.to_string()))?;
        let loopback = match parsed.host() {
            None => return Err(wrong("a URL with a host")),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        };
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if loopback => Ok(()),
            _ => Err(wrong("an https URL (http only to a loopback address)")),
        }
    }
}

/// The formats a list may be in: those Ward writes and reads back.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ListFormat {
    Csv,
    Hma,
    Vics,
}

impl ListFormat {
    fn format(self) -> Format {
        match self {
            ListFormat::Csv => Format::Csv,
            ListFormat::Hma => Format::Hma,
            ListFormat::Vics => Format::Vics,
        }
    }
}

/// A list's credentials: none, or a bearer token.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bearer = if self.bearer.is_some() { ".." } else { "none" };
        write!(f, "Credentials(bearer: {bearer})")
    }
}

/// Where a fetch resumes: the last list applied, and a snapshot under way.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last applied list's `ETag`, `Last-Modified` and SHA-256, and when it was applied
    /// (seconds; 0 before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default)]
    pub applied_ts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// A snapshot being applied.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Pending {
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    pub phase: Phase,
}

/// How far a snapshot is applied.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The list's first `records` records (good or not) are applied.
    Upserts { records: u64 },
    /// Every upsert is; the bank's items up to `after` (by id) have been looked at.
    Removals { after: Option<ContentId> },
}

/// The list of one exchange, as a fetch reads it.
pub struct FileList<'s, S> {
    url: String,
    format: Format,
    page_size: u32,
    credentials: Credentials,
    store: &'s S,
    bank: BankId,
    /// The list downloaded by this fetch, once it is.
    snapshot: Mutex<Option<Snapshot>>,
}

impl<'s, S: Store> FileList<'s, S> {
    pub fn new(
        config: &Config,
        credentials: Credentials,
        store: &'s S,
        bank: BankId,
    ) -> Result<FileList<'s, S>, ExchangeError> {
        config.check()?;
        Ok(FileList {
            url: config.url.clone(),
            format: config.format.format(),
            page_size: config.page_size.unwrap_or(PAGE_SIZE).clamp(1, 65_536),
            credentials,
            store,
            bank,
            snapshot: Mutex::new(None),
        })
    }

    /// The list, unless it is the one last applied (`None`).
    async fn download(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
    ) -> Result<Option<Snapshot>, ExchangeError> {
        let mut headers: Vec<(HeaderName, &str)> = Vec::new();
        // A snapshot under way needs the body whatever the validators say.
        if checkpoint.pending.is_none() && checkpoint.sha256.is_some() {
            if let Some(etag) = &checkpoint.etag {
                headers.push((IF_NONE_MATCH, etag));
            }
            if let Some(modified) = &checkpoint.last_modified {
                headers.push((IF_MODIFIED_SINCE, modified));
            }
        }
        let auth = match &self.credentials.bearer {
            Some(token) => Auth::Bearer(token),
            None => Auth::None,
        };
        let mut response = http
            .send(&self.url, auth, &headers, Some(LIST_TIMEOUT))
            .await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && !headers.is_empty() {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ExchangeError::Status {
                status: status.as_u16(),
                url: shown(&self.url),
            });
        }
        let header = |name: HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
        let too_large = || ExchangeError::ListTooLarge {
            url: shown(&self.url),
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_LIST_BYTES)
        {
            return Err(too_large());
        }
        let spool = |e: std::io::Error| ExchangeError::Spool(e.to_string());
        let mut file = tempfile::NamedTempFile::new().map_err(spool)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if size > MAX_LIST_BYTES {
                        return Err(too_large());
                    }
                    hasher.update(&chunk);
                    // A chunk is a few KiB into the page cache: not worth a blocking thread.
                    file.write_all(&chunk).map_err(spool)?;
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(ExchangeError::Unreachable {
                        url: shown(&self.url),
                        reason: error.without_url().to_string(),
                    });
                }
            }
        }
        file.flush().map_err(spool)?;
        let sha256 = hex(&hasher.finalize());
        if checkpoint.pending.is_none() && checkpoint.sha256.as_deref() == Some(sha256.as_str()) {
            return Ok(Some(Snapshot {
                file,
                sha256,
                etag,
                last_modified,
                keys: HashSet::new(),
                malformed: 0,
                first_problem: None,
                unchanged: true,
                stream: None,
            }));
        }
        let reader = file.reopen().map_err(spool)?;
        let format = self.format;
        let survey = tokio::task::spawn_blocking(move || survey(reader, format))
            .await
            .map_err(|e| ExchangeError::Spool(e.to_string()))?;
        let unreadable = |reason: String| ExchangeError::MalformedPage {
            url: shown(&self.url),
            reason,
        };
        let survey = survey.map_err(unreadable)?;
        if survey.keys.is_empty() {
            return Err(unreadable(match survey.first_problem {
                Some(problem) => format!("no item of the list reads ({problem})"),
                None => "a list without items: taken as a mistake, nothing removed".into(),
            }));
        }
        Ok(Some(Snapshot {
            file,
            sha256,
            etag,
            last_modified,
            keys: survey.keys,
            malformed: survey.malformed,
            first_problem: survey.first_problem,
            unchanged: false,
            stream: None,
        }))
    }

    /// The next page of upserts from record `records` of the snapshot.
    async fn upserts(
        &self,
        snapshot: &mut Snapshot,
        records: u64,
    ) -> Result<(Vec<ImportChange>, u64, Option<String>, Phase), ExchangeError> {
        if snapshot.stream.as_ref().is_none_or(|s| s.at != records) {
            let reader = snapshot
                .file
                .reopen()
                .map_err(|e| ExchangeError::Spool(e.to_string()))?;
            snapshot.stream = Some(Stream::start(reader, self.format, records));
        }
        let stream = snapshot.stream.as_mut().expect("started");
        let mut changes = Vec::new();
        let mut malformed = 0u64;
        let mut first_problem = None;
        let mut ended = false;
        let mut taken = 0u64;
        while taken < u64::from(self.page_size) {
            match stream.items.recv().await {
                Some(Parsed::Change(change)) => changes.push(change),
                Some(Parsed::Skipped(reason)) => {
                    malformed += 1;
                    first_problem.get_or_insert(reason);
                }
                Some(Parsed::Fatal(reason)) => {
                    // The survey read these bytes to their end; they changed under us.
                    return Err(ExchangeError::MalformedPage {
                        url: shown(&self.url),
                        reason,
                    });
                }
                None => {
                    ended = true;
                    break;
                }
            }
            taken += 1;
        }
        stream.at += taken;
        let phase = if ended {
            Phase::Removals { after: None }
        } else {
            Phase::Upserts { records: stream.at }
        };
        Ok((changes, malformed, first_problem, phase))
    }

    /// The next page of removals after the bank's item `after`; whether it is the last.
    async fn removals(
        &self,
        snapshot: &Snapshot,
        after: Option<ContentId>,
    ) -> Result<(Vec<ImportChange>, Option<ContentId>, bool), ExchangeError> {
        let held = self
            .store
            .bank_contents(self.bank, after, REMOVAL_PAGE)
            .await?;
        let last = held.len() < REMOVAL_PAGE as usize;
        let changes = held
            .iter()
            .filter_map(|content| content.external_id.as_ref())
            .filter(|id| !snapshot.keys.contains(&digest(id)))
            .map(|id| ImportChange::Delete {
                external_id: id.clone(),
            })
            .collect();
        Ok((changes, held.last().map(|c| c.id).or(after), last))
    }
}

impl<S: Store> Source for FileList<'_, S> {
    type Checkpoint = Checkpoint;

    async fn next_page(
        &self,
        http: &Http,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<Option<FetchedPage<Checkpoint>>, ExchangeError> {
        let mut held = self.snapshot.lock().await;
        if held.is_none() {
            match self.download(http, checkpoint).await? {
                Some(snapshot) => *held = Some(snapshot),
                None => return Ok(None),
            }
        }
        let snapshot = held.as_mut().expect("downloaded");
        let applied = |snapshot: &Snapshot| Checkpoint {
            etag: snapshot.etag.clone(),
            last_modified: snapshot.last_modified.clone(),
            sha256: Some(snapshot.sha256.clone()),
            applied_ts: now,
            pending: None,
        };
        if snapshot.unchanged {
            // The same bytes under new validators: keep those, apply nothing.
            let after = applied(snapshot);
            return Ok(Some(FetchedPage {
                changes: Vec::new(),
                malformed: 0,
                first_problem: None,
                unsupported: 0,
                progress_ts: now,
                last: true,
                checkpoint: after,
            }));
        }
        let phase = match &checkpoint.pending {
            Some(pending) if pending.sha256 == snapshot.sha256 => pending.phase,
            _ => Phase::Upserts { records: 0 },
        };
        let pending = |phase: Phase, snapshot: &Snapshot| Checkpoint {
            pending: Some(Pending {
                sha256: snapshot.sha256.clone(),
                etag: snapshot.etag.clone(),
                last_modified: snapshot.last_modified.clone(),
                phase,
            }),
            ..checkpoint.clone()
        };
        let (changes, malformed, first_problem, after, last) = match phase {
            Phase::Upserts { records } => {
                let (changes, malformed, problem, next) = self.upserts(snapshot, records).await?;
                (changes, malformed, problem, pending(next, snapshot), false)
            }
            Phase::Removals { after } => {
                let (changes, next, last) = self.removals(snapshot, after).await?;
                let checkpoint = if last {
                    applied(snapshot)
                } else {
                    pending(Phase::Removals { after: next }, snapshot)
                };
                (changes, 0, None, checkpoint, last)
            }
        };
        if last && snapshot.malformed > 0 {
            tracing::info!(
                skipped = snapshot.malformed,
                "list applied without the records that do not read: {}",
                snapshot.first_problem.as_deref().unwrap_or_default()
            );
        }
        Ok(Some(FetchedPage {
            changes,
            malformed,
            first_problem,
            unsupported: 0,
            progress_ts: now,
            last,
            checkpoint: after,
        }))
    }
}

/// A list downloaded and read through once.
struct Snapshot {
    file: tempfile::NamedTempFile,
    sha256: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// The digests of the list's keys.
    keys: HashSet<[u8; 16]>,
    malformed: u64,
    first_problem: Option<String>,
    /// The same bytes as the list last applied.
    unchanged: bool,
    /// The list being read for upserts.
    stream: Option<Stream>,
}

/// A record of the list, made ready to apply.
enum Parsed {
    Change(ImportChange),
    /// A record that does not read, and why.
    Skipped(String),
    /// Nothing more can be read.
    Fatal(String),
}

/// The list's records from one of them on, read on a blocking thread.
struct Stream {
    /// Records handed over so far, counted from the list's first.
    at: u64,
    items: mpsc::Receiver<Parsed>,
}

impl Stream {
    fn start(file: std::fs::File, format: Format, skip: u64) -> Stream {
        let (sender, items) = mpsc::channel(1024);
        tokio::task::spawn_blocking(move || {
            let mut seen = 0u64;
            ward_core::exchange::read(format, BufReader::new(file), &mut |item| {
                seen += 1;
                if seen <= skip {
                    return ControlFlow::Continue(());
                }
                // A fetch that ends (or is killed) drops the receiver: stop reading.
                match sender.blocking_send(parse(item)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            });
        });
        Stream { at: skip, items }
    }
}

/// What reading a list through found.
#[derive(Default)]
struct Survey {
    keys: HashSet<[u8; 16]>,
    malformed: u64,
    first_problem: Option<String>,
}

/// Reads the list through: its keys, the records that do not read, or why it cannot be read
/// to its end.
fn survey(file: std::fs::File, format: Format) -> Result<Survey, String> {
    let mut survey = Survey::default();
    let mut fatal = None;
    ward_core::exchange::read(format, BufReader::new(file), &mut |item| {
        match parse(item) {
            Parsed::Change(ImportChange::Upsert(item)) => {
                let key = item.external_id.as_deref().expect("parse keys every item");
                survey.keys.insert(digest(key));
            }
            Parsed::Change(ImportChange::Delete { .. }) => unreachable!("parse makes no deletes"),
            Parsed::Skipped(reason) => {
                survey.malformed += 1;
                survey.first_problem.get_or_insert(reason);
            }
            Parsed::Fatal(reason) => fatal = Some(reason),
        }
        ControlFlow::Continue(())
    });
    match fatal {
        Some(reason) => Err(reason),
        None => Ok(survey),
    }
}

/// A record as an upsert keyed by the list's id, else by its signals.
fn parse(item: Result<Record, RecordError>) -> Parsed {
    let mut record = match item {
        Ok(record) => record,
        Err(RecordError::Malformed { position, reason }) => {
            return Parsed::Skipped(format!("{position}: {reason}"));
        }
        Err(RecordError::Fatal { position, reason }) => {
            return Parsed::Fatal(format!("{position}: {reason}"));
        }
    };
    let position = record.position;
    let Change::Upsert(item) = &record.change else {
        return Parsed::Skipped(format!("{position}: a snapshot holds no tombstones"));
    };
    if record.external_id.is_none() {
        record.external_id = Some(signals_key(item));
    }
    let change = crate::exchange::change(record, SOURCE);
    match crate::exchange::within_rules(&change) {
        Ok(()) => Parsed::Change(change),
        Err(reason) => Parsed::Skipped(format!("{position}: {reason}")),
    }
}

/// An item's key made of its signals: `kind:value` of its one signal, else (several, or
/// long) `signals:` and the SHA-256 of the sorted `kind:value`s.
fn signals_key(item: &ward_core::exchange::Item) -> String {
    let mut signals: Vec<String> = item
        .signals
        .iter()
        .map(|s| format!("{}:{}", s.signal_type, s.value))
        .collect();
    signals.sort();
    signals.dedup();
    match signals.as_slice() {
        [one] if one.len() <= PLAIN_KEY_MAX => one.clone(),
        _ => format!(
            "signals:{}",
            hex(&Sha256::digest(signals.join("\n").as_bytes()))
        ),
    }
}

/// A key's digest in the set of a list's keys.
fn digest(key: &str) -> [u8; 16] {
    let full = Sha256::digest(key.as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&full[..16]);
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http() {
        let check = |url: &str, ok: bool| {
            let config = Config {
                url: url.into(),
                format: ListFormat::Csv,
                page_size: None,
            };
            assert_eq!(config.check().is_ok(), ok, "{url}");
        };
        check("https://lists.example/hashes.csv", true);
        check("http://127.0.0.1:8080/list.csv", true);
        check("http://[::1]/list.csv", true);
        check("http://localhost/list.csv", true);
        check("http://lists.example/hashes.csv", false);
        check("http://10.0.0.1/list.csv", false);
        check("ftp://lists.example/list.csv", false);
        check("file:///etc/passwd", false);
        check("not a url", false);
    }

    #[test]
    fn items_without_an_id_are_keyed_by_their_signals() {
        let signal = |signal_type, value: &str| ward_core::exchange::ExchangedSignal {
            signal_type,
            value: value.into(),
        };
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        let one = ward_core::exchange::Item {
            signals: vec![signal("md5", md5)],
            ..Default::default()
        };
        assert_eq!(signals_key(&one), format!("md5:{md5}"));
        let pdq = "f".repeat(64);
        let two = |first, second| ward_core::exchange::Item {
            signals: vec![first, second],
            ..Default::default()
        };
        let key = signals_key(&two(signal("md5", md5), signal("pdq", &pdq)));
        assert!(key.starts_with("signals:") && key.len() == 8 + 64, "{key}");
        assert_eq!(
            key,
            signals_key(&two(signal("pdq", &pdq), signal("md5", md5))),
            "in any order"
        );
    }
}
