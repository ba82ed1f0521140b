//! Notices to hosts, and re-checks until removal. For every URL assessed as abuse (by an
//! analyst, or by a bank's hash) whose host has a contact, a notice goes out by e-mail
//! (SMTP) and/or webhook (JSON over HTTP): the exact URL, the time of assessment in UTC,
//! the hashes, the category, a request to remove and to preserve, and how to dispute. It is
//! sent again every `renotice` until a re-check finds the URL clean (gone, or serving
//! something else), which closes the notices and records the time of removal.

use std::sync::Weak;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde_json::{Value, json};
use ward_core::lists::{Signal, SignalType};
use ward_core::pdq::PdqHash;
use ward_store::{
    Actor, Notice, NoticeChannel, NoticeOutcome, ReportedUrl, SignalKind, Store, Timestamp,
};

use super::{AppState, SharedState};
use crate::fetch::Fetcher;

/// How notices are sent.
#[derive(Clone, Debug)]
pub struct NoticeConfig {
    /// How often a node sends what is due and re-checks URLs; `None`: never.
    pub interval: Option<Duration>,
    /// The SMTP relay (`smtp://host:port` in clear, `smtp://...?tls=starttls`, or
    /// `smtps://host:port`); without one, e-mail notices wait.
    pub smtp: Option<String>,
    /// Who notices come from.
    pub from: String,
    /// The hotline's name, as notices sign.
    pub hotline: String,
    /// Where and how a host disputes a notice.
    pub dispute: String,
    /// How long until a notice is sent again while the content is there.
    pub renotice: Duration,
    /// How often a noticed URL is fetched again.
    pub recheck: Duration,
    /// Notices and re-checks a node takes at once.
    pub batch: u32,
}

impl Default for NoticeConfig {
    fn default() -> NoticeConfig {
        NoticeConfig {
            interval: Some(Duration::from_secs(60)),
            smtp: None,
            from: "Ward hotline <notices@localhost>".into(),
            hotline: "Ward hotline".into(),
            dispute: "Reply to this notice with the notice id and your reasons; an analyst \
                      other than the one who assessed it will review it."
                .into(),
            renotice: Duration::from_secs(24 * 3600),
            recheck: Duration::from_secs(6 * 3600),
            batch: 16,
        }
    }
}

/// A failed send is tried again after this long.
const RETRY: Duration = Duration::from_secs(600);
/// How long a node holds what it claimed.
const LEASE: Duration = Duration::from_secs(300);

/// Runs notices and re-checks every `interval` while the service runs.
pub async fn run(state: Weak<AppState>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = run_once(&state).await {
            tracing::warn!(error = format!("{error:#}"), "notices failed; retrying");
        }
    }
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub opened: u32,
    pub sent: u32,
    pub failed: u32,
    pub checked: u32,
    pub removed: u32,
}

/// Opens notices, sends what is due, re-checks what is due.
pub async fn run_once(state: &SharedState) -> anyhow::Result<Round> {
    let config = &state.config.notices;
    let now = Timestamp::now();
    let until = later(now, LEASE);
    let mut round = Round {
        opened: state.store.open_notices(now).await?,
        ..Round::default()
    };
    for (notice, url) in state.store.claim_notices(now, until, config.batch).await? {
        let outcome = match send(state, &notice, &url).await {
            Ok(()) => {
                round.sent += 1;
                NoticeOutcome::Sent {
                    next_due_at: later(Timestamp::now(), config.renotice),
                    check_at: later(Timestamp::now(), config.recheck),
                }
            }
            Err(error) => {
                round.failed += 1;
                // The relay's or the webhook's words, cut to what the store keeps.
                let error = format!("{error:#}");
                NoticeOutcome::Failed {
                    error: error
                        .chars()
                        .take(ward_store::rules::FETCH_ERROR_MAX)
                        .collect(),
                    retry_at: later(Timestamp::now(), RETRY),
                }
            }
        };
        state
            .store
            .record_notice(&Actor::intake(), notice.id, &outcome)
            .await?;
    }
    let fetcher = Fetcher::new(state.config.intake.fetch.clone());
    for url in state.store.claim_rechecks(now, until, config.batch).await? {
        let gone = gone(state, &fetcher, &url).await;
        let checked = Timestamp::now();
        state
            .store
            .record_recheck(
                &Actor::intake(),
                url.id,
                checked,
                gone,
                later(checked, config.recheck),
            )
            .await?;
        round.checked += 1;
        round.removed += u32::from(gone);
    }
    Ok(round)
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    Timestamp(at.0 + by.as_millis() as i64)
}

/// Sends one notice on its channel.
async fn send(state: &SharedState, notice: &Notice, url: &ReportedUrl) -> anyhow::Result<()> {
    let config = &state.config.notices;
    match notice.channel {
        NoticeChannel::Email => {
            let relay = config
                .smtp
                .as_deref()
                .ok_or_else(|| anyhow!("no SMTP relay is configured (--smtp-url)"))?;
            let message = Message::builder()
                .from(
                    config
                        .from
                        .parse::<Mailbox>()
                        .context("the notices' sender")?,
                )
                .to(notice
                    .address
                    .parse::<Mailbox>()
                    .with_context(|| format!("the address {:?}", notice.address))?)
                .subject(format!(
                    "Notice {}: child sexual abuse material at {}",
                    notice.id, url.host
                ))
                .header(ContentType::TEXT_PLAIN)
                .body(text(config, notice, url))
                .context("composing the notice")?;
            transport(relay)?
                .send(message)
                .await
                .with_context(|| format!("sending through {}", redact(relay)))?;
        }
        NoticeChannel::Webhook => {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION")))
                .build()
                .context("making the HTTP client")?;
            let response = client
                .post(&notice.address)
                .header("content-type", "application/json")
                .body(body(config, notice, url).to_string())
                .send()
                .await
                .with_context(|| format!("posting to {}", notice.address))?;
            if !response.status().is_success() {
                return Err(anyhow!("{} answered {}", notice.address, response.status()));
            }
        }
    }
    Ok(())
}

/// The SMTP transport for a relay URL.
fn transport(relay: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let url = url::Url::parse(relay).with_context(|| format!("not an SMTP URL: {relay:?}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| anyhow!("the SMTP URL has no host"))?
        .to_owned();
    let tls_mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let parameters = || TlsParameters::new(host.clone()).context("TLS parameters");
    let (port, tls) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => (465, Tls::Wrapper(parameters()?)),
        ("smtp", Some("starttls" | "required")) => (587, Tls::Required(parameters()?)),
        ("smtp", None | Some("none")) => (25, Tls::None),
        (scheme, mode) => return Err(anyhow!("unsupported SMTP URL {scheme}: tls={mode:?}")),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(url.port().unwrap_or(port))
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if !url.username().is_empty() {
        let user = percent_decode(url.username());
        let password = percent_decode(url.password().unwrap_or_default());
        builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
            user, password,
        ));
    }
    Ok(builder.build())
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A relay URL without its password, for messages.
fn redact(relay: &str) -> String {
    match url::Url::parse(relay) {
        Ok(mut url) => {
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "the SMTP relay".into(),
    }
}

/// The category of an assessed URL, in each scheme's words.
fn category(url: &ReportedUrl) -> Value {
    match url.assessment {
        Some(assessment) => json!(super::view::CategoriesView::of(&assessment)),
        None => Value::Null,
    }
}

/// The hashes a notice gives: the file's SHA-256 and the signals computed from it.
fn hashes(url: &ReportedUrl) -> Vec<(String, String)> {
    let mut hashes: Vec<(String, String)> = Vec::new();
    if let Some(sha256) = &url.sha256 {
        hashes.push(("sha256".into(), sha256.clone()));
    }
    for signal in &url.signals {
        // A video's vPDQ is long and of use only to matchers: named, not listed.
        let value = match signal.kind {
            SignalKind::Vpdq => "(vPDQ, available on request)".to_owned(),
            _ => signal.value.clone(),
        };
        if !(signal.kind == SignalKind::Sha256 && url.sha256.as_deref() == Some(&signal.value)) {
            hashes.push((signal.kind.name().to_owned(), value));
        }
    }
    hashes
}

fn assessed_at(url: &ReportedUrl) -> String {
    url.assessed_at
        .or(url.fetched_at)
        .map_or_else(|| "unknown".to_owned(), Timestamp::to_rfc3339)
}

/// The e-mail notice.
fn text(config: &NoticeConfig, notice: &Notice, url: &ReportedUrl) -> String {
    let category = url.assessment.map_or_else(
        || "assessed as child sexual abuse material".to_owned(),
        |a| {
            let view = super::view::CategoriesView::of(&a);
            format!(
                "{} ({}; industry classification {}, UK category {})",
                view.activity.replace('_', " "),
                view.age_group,
                view.industry.unwrap_or("none"),
                view.uk
            )
        },
    );
    let mut text = format!(
        "Notice {id} from {hotline}\n\n\
         The following URL on your service serves child sexual abuse material:\n\n  {url}\n\n\
         Assessed (UTC): {assessed}\n\
         Category: {category}\n\
         Notice sent {sends} time(s) before this one; it is sent again every {hours} hours \
         until the material is removed.\n\nHashes of the file:\n",
        id = notice.id,
        hotline = config.hotline,
        url = url.url,
        assessed = assessed_at(url),
        sends = notice.sends,
        hours = config.renotice.as_secs() / 3600,
    );
    for (kind, value) in hashes(url) {
        text += &format!("  {kind}: {value}\n");
    }
    text += &format!(
        "\nPlease remove the material and block it from being uploaded again (the hashes above \
         let you find copies). Preserve the material, the account that uploaded it and its \
         records for law enforcement, as your jurisdiction requires.\n\n\
         Do not open the URL to check it unless your role and the law allow you to.\n\n\
         To dispute this notice: {dispute}\n\n{hotline}\n",
        dispute = config.dispute,
        hotline = config.hotline,
    );
    text
}

/// The webhook notice.
fn body(config: &NoticeConfig, notice: &Notice, url: &ReportedUrl) -> Value {
    json!({
        "notice": notice.id,
        "hotline": config.hotline,
        "url": url.url,
        "host": url.host,
        "assessed_at": assessed_at(url),
        "category": category(url),
        "hashes": hashes(url)
            .into_iter()
            .map(|(kind, value)| json!({"signal_type": kind, "signal": value}))
            .collect::<Vec<_>>(),
        "previous_sends": notice.sends,
        "renotice_hours": config.renotice.as_secs() / 3600,
        "request": "remove the material, block its hashes, and preserve it with the uploader's records for law enforcement",
        "dispute": config.dispute,
    })
}

/// Whether a URL acted on is clean now: it answers 404 or 410, or serves something that is
/// neither the same file nor a near copy of the same picture. A host that does not answer
/// is not taken as clean (it may be down for a while).
async fn gone(state: &SharedState, fetcher: &Fetcher, url: &ReportedUrl) -> bool {
    // What the URL serves now is held in the node's hashing memory, with its decode.
    let mut held = state.hashing.empty();
    let fetched = match fetcher.fetch_into(&url.url, &mut held).await {
        Ok(fetched) => fetched,
        Err(error) => {
            tracing::info!(url = url.id.0, %error, "re-check could not fetch; not taken as removed");
            return false;
        }
    };
    match fetched.status {
        404 | 410 => return true,
        200..=299 => {}
        _ => return false,
    }
    let sha256 = ward_core::digest::FileDigests::of(&fetched.body).sha256;
    if url.sha256.as_deref() == Some(sha256.to_string().as_str()) {
        return false;
    }
    let was: Option<PdqHash> = url.signals.iter().find_map(|s| match s.kind {
        SignalKind::Pdq => match Signal::parse(SignalType::Pdq, &s.value) {
            Ok(Signal::Pdq(hash)) => Some(hash),
            _ => None,
        },
        _ => None,
    });
    let Some(was) = was else {
        // A video, or a file without a picture hash: another file is a removal.
        return true;
    };
    let hashed = super::matching::hash_bytes(
        fetched.body.into(),
        &mut held,
        state.config.video.clone(),
        super::budget::Patience::Background,
    )
    .await;
    match hashed {
        Ok(hashed) => match hashed.kind {
            super::matching::MediaKind::Image { pdq, .. } => pdq.distance(&was) > 31,
            super::matching::MediaKind::Video { .. } => true,
        },
        // No hashing memory for it: nothing is known, so it is not taken as removed.
        Err(error) if error.code == super::budget::OVER_BUDGET => false,
        // Not a picture any more.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests;
