//! The node's fetcher of live exchanges: every `--exchange-interval`, each enabled exchange
//! of a type Ward fetches ([`crate::exchanges::Api`], partner Ward instances' feeds among
//! them) that is due is fetched in a task of its own (so that a slow or failing exchange never
//! holds up another, or the node), under the exchange's lease (so that no two nodes fetch
//! it at once), for at most four minutes a turn, as HMA's fetcher does; the next turn
//! resumes from its checkpoint. An exchange whose last fetch failed waits a backoff that
//! grows with its failures in a row (a minute, doubling, at most six hours).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ward_store::{Exchange, ExchangeId, FetchEnd, FetchProgress, Store, Timestamp};

use super::AppState;
use crate::exchanges::{self, Api, Http};

/// The longest a fetch runs in one turn.
const TURN: Duration = Duration::from_secs(240);

/// What this node's fetches did, for `/metrics`.
#[derive(Debug, Default)]
pub struct FetchCounts {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub pages: AtomicU64,
    pub added: AtomicU64,
    pub removed: AtomicU64,
    pub malformed: AtomicU64,
    pub unsupported: AtomicU64,
    /// Feedback given to exchanges, by how each attempt ended.
    pub feedback_sent: AtomicU64,
    pub feedback_refused: AtomicU64,
    pub feedback_unsent: AtomicU64,
    pub feedback_failed: AtomicU64,
}

/// Whether `exchange` should be fetched at `now`.
fn due(exchange: &Exchange, interval: Duration, now: Timestamp) -> bool {
    if !exchange.enabled || Api::named(&exchange.api).is_none() {
        return false;
    }
    // Someone asked for it at once (the console's "fetch now", on any node).
    if exchange.status.fetch_requested_at.is_some() {
        return true;
    }
    let Some(last) = exchange.status.last_fetch_complete_ts else {
        return true;
    };
    let wait = if exchange.status.failures > 0 {
        exchanges::backoff(exchange.status.failures)
    } else if exchange.status.up_to_date {
        interval
    } else {
        Duration::ZERO
    };
    now.0 - last.0 >= wait.as_millis() as i64
}

/// Fetches due exchanges every `interval` while the service runs.
pub async fn run(state: Weak<AppState>, holder: String, interval: Duration) {
    let http = match Http::new() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "no exchange will be fetched");
            return;
        }
    };
    let running: Arc<Mutex<HashSet<ExchangeId>>> = Arc::default();
    loop {
        tokio::time::sleep(interval.min(Duration::from_secs(60))).await;
        let Some(state) = state.upgrade() else { return };
        let listed = match state.store.exchanges().await {
            Ok(listed) => listed,
            Err(error) => {
                tracing::warn!(%error, "listing exchanges failed; retrying");
                continue;
            }
        };
        let now = Timestamp::now();
        for exchange in listed.into_iter().filter(|e| due(e, interval, now)) {
            if !running.lock().expect("lock").insert(exchange.id) {
                continue;
            }
            let state = Arc::clone(&state);
            let running = Arc::clone(&running);
            let http = http.clone();
            let holder = holder.clone();
            tokio::spawn(async move {
                fetch_one(&state, &http, &holder, &exchange).await;
                running.lock().expect("lock").remove(&exchange.id);
            });
        }
    }
}

/// How often due feedback is looked for, at most.
const FEEDBACK_TICK: Duration = Duration::from_secs(5);

/// Gives exchanges the feedback owed to them ([`exchanges::feedback`]) while the service
/// runs: what is due, every few seconds (every `interval` if shorter).
pub async fn give_feedback(state: Weak<AppState>, interval: Duration) {
    let http = match Http::new() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "no feedback will be given to exchanges");
            return;
        }
    };
    loop {
        tokio::time::sleep(interval.min(FEEDBACK_TICK)).await;
        let Some(state) = state.upgrade() else { return };
        let key = state.config.secrets.as_deref();
        match exchanges::feedback::send_due(&state.store, &http, key, Timestamp::now(), None).await
        {
            Ok(report) => {
                let counts = &state.fetches;
                counts
                    .feedback_sent
                    .fetch_add(report.sent, Ordering::Relaxed);
                counts
                    .feedback_refused
                    .fetch_add(report.refused, Ordering::Relaxed);
                counts
                    .feedback_unsent
                    .fetch_add(report.unsent, Ordering::Relaxed);
                counts
                    .feedback_failed
                    .fetch_add(report.failed, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(%error, "giving feedback to exchanges failed; retrying"),
        }
    }
}

async fn fetch_one(state: &AppState, http: &Http, holder: &str, exchange: &Exchange) {
    let now = Timestamp::now();
    let until = Timestamp(now.0 + (TURN.as_millis() as i64) + 60_000);
    let lease = match state
        .store
        .claim_exchange(exchange.id, holder, now, until)
        .await
    {
        Ok(Some(lease)) => lease,
        Ok(None) => return, // another node fetches it
        Err(error) => {
            tracing::warn!(exchange = %exchange.name, %error, "claiming an exchange failed");
            return;
        }
    };
    let credentials = match &state.config.secrets {
        Some(key) => exchanges::open_credentials(&state.store, key, exchange).await,
        None => Err(anyhow::anyhow!(
            "this node has no key to open credentials with"
        )),
    };
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(error) => {
            // Said in the status, as any failed fetch.
            let ended = FetchProgress {
                ended: Some(FetchEnd {
                    at: Timestamp::now(),
                    error: Some(format!("{error:#}")),
                    up_to_date: false,
                }),
                ..FetchProgress::default()
            };
            let _ = state.store.save_exchange_progress(&lease, &ended).await;
            state.fetches.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let counts = &state.fetches;
    match exchanges::fetch(&state.store, http, exchange, lease, credentials, TURN).await {
        Ok(report) => {
            counts.succeeded.fetch_add(1, Ordering::Relaxed);
            counts.pages.fetch_add(report.pages, Ordering::Relaxed);
            counts.added.fetch_add(report.added, Ordering::Relaxed);
            counts.removed.fetch_add(report.removed, Ordering::Relaxed);
            counts
                .malformed
                .fetch_add(report.malformed, Ordering::Relaxed);
            counts
                .unsupported
                .fetch_add(report.unsupported, Ordering::Relaxed);
            if report.pages > 0 {
                tracing::info!(
                    exchange = %exchange.name,
                    pages = report.pages,
                    added = report.added,
                    removed = report.removed,
                    up_to_date = report.up_to_date,
                    "exchange fetched"
                );
                state.caught_up().await;
            }
        }
        Err(error) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(exchange = %exchange.name, %error, "fetching an exchange failed");
            state.caught_up().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::{BankId, FetchStatus, OrgId};

    #[test]
    fn exchanges_are_due_by_their_status() {
        let interval = Duration::from_secs(60);
        let at = |s: i64| Timestamp(1_800_000_000_000 + s * 1000);
        let exchange = |status: FetchStatus| Exchange {
            id: ExchangeId(1),
            name: "X".into(),
            api: "ncmec".into(),
            bank: BankId(1),
            org: OrgId(1),
            config: "{}".into(),
            enabled: true,
            created_at: at(0),
            status,
            version: 0,
        };
        let done = |failures: i64, up_to_date: bool| FetchStatus {
            last_fetch_complete_ts: Some(at(0)),
            failures,
            up_to_date,
            ..FetchStatus::default()
        };
        let asked = |status: FetchStatus| FetchStatus {
            fetch_requested_at: Some(at(0)),
            ..status
        };
        for (status, now, expected) in [
            (FetchStatus::default(), 0, true),
            (done(0, true), 59, false),
            (done(0, true), 60, true),
            (done(0, false), 1, true), // its turn ended before it caught up
            (done(1, false), 59, false),
            (done(1, false), 60, true),
            (done(3, false), 239, false),
            (done(3, false), 240, true),
            (asked(done(3, false)), 1, true),
            (asked(done(0, true)), 1, true),
        ] {
            assert_eq!(
                due(&exchange(status.clone()), interval, at(now)),
                expected,
                "{status:?} at {now}"
            );
        }
        let mut off = exchange(FetchStatus::default());
        off.enabled = false;
        assert!(!due(&off, interval, at(0)));
        // Every type Ward fetches is due alike; a type it does not know never.
        for (api, expected) in [
            ("stop_ncii", true),
            ("fb_threatexchange", true),
            ("file", true),
            ("ward", true),
            ("hma", false),
        ] {
            let mut other = exchange(FetchStatus::default());
            other.api = api.into();
            assert_eq!(due(&other, interval, at(0)), expected, "{api}");
        }
    }
}
