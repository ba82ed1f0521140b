//! Operations: liveness (`/healthz`), readiness (`/readyz`: the store answers and the index
//! is loaded), and Prometheus metrics (`/metrics`): requests by route and status, match
//! latency, index sizes and feed position.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ward_store::Store;

use super::SharedState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// A latency histogram in Prometheus's cumulative form.
#[derive(Debug, Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let labels = labels.trim_end_matches(',');
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{labels} {sum}");
        let _ = writeln!(out, "{name}_count{labels} {count}");
    }
}

/// Requests counted by route pattern, then by method and status.
type RequestCounts = HashMap<String, Vec<(Method, u16, AtomicU64)>>;

/// The counters behind `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Read by every request (a counter to increment), written when a route, method and
    /// status are seen the first time.
    requests: RwLock<RequestCounts>,
    request_latency: Histogram,
    match_latency: Histogram,
    matches: AtomicU64,
}

impl Metrics {
    pub fn observe_match(&self, elapsed: Duration, matches: usize) {
        self.match_latency.observe(elapsed);
        self.matches.fetch_add(matches as u64, Ordering::Relaxed);
    }

    fn observe_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        self.request_latency.observe(elapsed);
        let counted = |counts: &RequestCounts| {
            let counter = counts
                .get(route)?
                .iter()
                .find(|(m, s, _)| m == method && *s == status)?;
            counter.2.fetch_add(1, Ordering::Relaxed);
            Some(())
        };
        if counted(&self.requests.read().expect("lock")).is_some() {
            return;
        }
        let mut counts = self.requests.write().expect("lock");
        if counted(&counts).is_none() {
            counts.entry(route.to_string()).or_default().push((
                method.clone(),
                status,
                AtomicU64::new(1),
            ));
        }
    }
}

/// Counts every request by method, route pattern (never the raw path: it may hold hashes)
/// and status, and logs it.
pub async fn track(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&method, route, status, elapsed);
    tracing::debug!(
        method = method.as_str(),
        route,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response
}

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({"status": "ok"})))
}

pub async fn readyz(State(state): State<SharedState>) -> Response {
    let store = state.store.ping().await;
    let ready = store.is_ok() && state.index.is_ready();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": store.map(|()| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
        "index_ready": state.index.is_ready(),
        "index_seq": state.index.cursor(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(state): State<SharedState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP ward_http_requests_total HTTP requests by method, route and status.\n");
    out.push_str("# TYPE ward_http_requests_total counter\n");
    let mut requests: Vec<(String, String, u16, u64)> = Vec::new();
    for (route, counts) in state.metrics.requests.read().expect("lock").iter() {
        for (method, status, count) in counts {
            let count = count.load(Ordering::Relaxed);
            requests.push((method.to_string(), route.clone(), *status, count));
        }
    }
    requests.sort();
    for (method, route, status, count) in requests {
        let _ = writeln!(
            out,
            "ward_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
        );
    }
    out.push_str("# HELP ward_http_request_seconds Time to answer a request.\n");
    out.push_str("# TYPE ward_http_request_seconds histogram\n");
    state
        .metrics
        .request_latency
        .write(&mut out, "ward_http_request_seconds", "");
    out.push_str("# HELP ward_match_seconds Time to search the index for one request's signals.\n");
    out.push_str("# TYPE ward_match_seconds histogram\n");
    state
        .metrics
        .match_latency
        .write(&mut out, "ward_match_seconds", "");
    out.push_str(
        "# HELP ward_matches_total Matches reported.\n# TYPE ward_matches_total counter\n",
    );
    let _ = writeln!(
        out,
        "ward_matches_total {}",
        state.metrics.matches.load(Ordering::Relaxed)
    );
    out.push_str("# HELP ward_index_signals Signals in this node's match index.\n");
    out.push_str("# TYPE ward_index_signals gauge\n");
    for (signal_type, count) in state.index.counts() {
        let _ = writeln!(
            out,
            "ward_index_signals{{signal_type=\"{signal_type}\"}} {count}"
        );
    }
    out.push_str("# HELP ward_index_seq The store's feed position this node has applied.\n");
    out.push_str("# TYPE ward_index_seq gauge\n");
    let _ = writeln!(out, "ward_index_seq {}", state.index.cursor().0);
    out.push_str(
        "# HELP ward_index_from_snapshot 1 when this run's index started from its snapshot file, 0 when it read the store's whole feed.\n",
    );
    out.push_str("# TYPE ward_index_from_snapshot gauge\n");
    let _ = writeln!(
        out,
        "ward_index_from_snapshot {}",
        u8::from(state.index.started_from_snapshot())
    );
    let summaries = state.index.summaries().stats();
    let _ = writeln!(
        out,
        "# HELP ward_content_summaries Summaries of matched content held in memory.\n\
         # TYPE ward_content_summaries gauge\n\
         ward_content_summaries {}\n\
         # HELP ward_content_summary_bytes Memory the summaries of matched content and their \
         series take (by the cache's own count).\n\
         # TYPE ward_content_summary_bytes gauge\n\
         ward_content_summary_bytes {}\n\
         # HELP ward_content_summary_budget_bytes The most memory summaries may take \
         (--summary-cache-mib).\n\
         # TYPE ward_content_summary_budget_bytes gauge\n\
         ward_content_summary_budget_bytes {}\n\
         # HELP ward_content_summary_reads_total Matched content summaries, by where they came \
         from (memory: the cache; group: made from the summary of its group, content added in \
         bulk; store: read).\n\
         # TYPE ward_content_summary_reads_total counter\n\
         ward_content_summary_reads_total{{from=\"memory\"}} {}\n\
         ward_content_summary_reads_total{{from=\"group\"}} {}\n\
         ward_content_summary_reads_total{{from=\"store\"}} {}\n\
         # HELP ward_content_summary_groups Summary groups whose summary is held.\n\
         # TYPE ward_content_summary_groups gauge\n\
         ward_content_summary_groups {}\n\
         # HELP ward_content_series_reads_total Matched content whose series was read from the \
         store (the rest came from memory).\n\
         # TYPE ward_content_series_reads_total counter\n\
         ward_content_series_reads_total {}\n\
         # HELP ward_content_facts_bytes Memory every item's series and summary group take.\n\
         # TYPE ward_content_facts_bytes gauge\n\
         ward_content_facts_bytes {}\n\
         # HELP ward_content_series_held Whether this node holds every item's series (read \
         whole, then following the series log); 0 while it reads them.\n\
         # TYPE ward_content_series_held gauge\n\
         ward_content_series_held {}\n\
         # HELP ward_content_series_loads_total Times this node read every item's series.\n\
         # TYPE ward_content_series_loads_total counter\n\
         ward_content_series_loads_total {}\n\
         # HELP ward_series_log_seq The series log position this node has applied.\n\
         # TYPE ward_series_log_seq gauge\n\
         ward_series_log_seq {}",
        summaries.held,
        summaries.bytes,
        summaries.budget,
        summaries.hits - summaries.group_hits,
        summaries.group_hits,
        summaries.misses,
        summaries.groups,
        summaries.series_misses,
        summaries.facts.bytes,
        u8::from(summaries.facts.series_held),
        summaries.facts.series_loads,
        summaries.facts.log_cursor,
    );
    let fetches = &state.fetches;
    let _ = writeln!(
        out,
        "# HELP ward_exchange_fetches_total Fetches of live exchanges by this node, by outcome.\n\
         # TYPE ward_exchange_fetches_total counter\n\
         ward_exchange_fetches_total{{outcome=\"succeeded\"}} {}\n\
         ward_exchange_fetches_total{{outcome=\"failed\"}} {}\n\
         # HELP ward_exchange_pages_total Pages of live exchanges applied by this node.\n\
         # TYPE ward_exchange_pages_total counter\n\
         ward_exchange_pages_total {}\n\
         # HELP ward_exchange_records_total Records of live exchanges by what they did (added, \
         removed) or why they were skipped (malformed; unsupported: of a type Ward holds no \
         signal of).\n\
         # TYPE ward_exchange_records_total counter\n\
         ward_exchange_records_total{{change=\"added\"}} {}\n\
         ward_exchange_records_total{{change=\"removed\"}} {}\n\
         ward_exchange_records_total{{change=\"malformed\"}} {}\n\
         ward_exchange_records_total{{change=\"unsupported\"}} {}\n\
         # HELP ward_exchange_feedback_total Attempts by this node to give exchanges feedback \
         (confirmations, disputes), by how they ended (failed ones are tried again).\n\
         # TYPE ward_exchange_feedback_total counter\n\
         ward_exchange_feedback_total{{outcome=\"sent\"}} {}\n\
         ward_exchange_feedback_total{{outcome=\"refused\"}} {}\n\
         ward_exchange_feedback_total{{outcome=\"unsent\"}} {}\n\
         ward_exchange_feedback_total{{outcome=\"failed\"}} {}",
        fetches.succeeded.load(Ordering::Relaxed),
        fetches.failed.load(Ordering::Relaxed),
        fetches.pages.load(Ordering::Relaxed),
        fetches.added.load(Ordering::Relaxed),
        fetches.removed.load(Ordering::Relaxed),
        fetches.malformed.load(Ordering::Relaxed),
        fetches.unsupported.load(Ordering::Relaxed),
        fetches.feedback_sent.load(Ordering::Relaxed),
        fetches.feedback_refused.load(Ordering::Relaxed),
        fetches.feedback_unsent.load(Ordering::Relaxed),
        fetches.feedback_failed.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP ward_network_role_requests_total HMA requests without a key let in by their \
         network (--hma-network-role).\n\
         # TYPE ward_network_role_requests_total counter\n\
         ward_network_role_requests_total {}",
        state.networks.requests.load(Ordering::Relaxed),
    );
    let keeper = &state.series_progress;
    let _ = writeln!(
        out,
        "# HELP ward_series_keeping Whether this node keeps the deployment's series (holds the \
         keeper's lease).\n\
         # TYPE ward_series_keeping gauge\n\
         ward_series_keeping {}\n\
         # HELP ward_series_keeper_seq The store's feed position the series reflect, when this \
         node keeps them (compare ward_index_seq).\n\
         # TYPE ward_series_keeper_seq gauge\n\
         ward_series_keeper_seq {}\n\
         # HELP ward_series_items Items in this node's series engine.\n\
         # TYPE ward_series_items gauge\n\
         ward_series_items {}\n\
         # HELP ward_series_engine_bytes Memory of this node's series engine.\n\
         # TYPE ward_series_engine_bytes gauge\n\
         ward_series_engine_bytes {}",
        u8::from(keeper.keeping.load(Ordering::Relaxed)),
        keeper.cursor.load(Ordering::Relaxed),
        keeper.items.load(Ordering::Relaxed),
        keeper.engine_bytes.load(Ordering::Relaxed),
    );
    let hashing = &state.hashing;
    let (waits, refused, waiting) = hashing.waits();
    let _ = write!(
        out,
        "# HELP ward_hash_memory_bytes Hashing memory reserved now (uploads, fetched bytes, \
         decodes, video workers).\n# TYPE ward_hash_memory_bytes gauge\n\
         ward_hash_memory_bytes {}\n\
         # HELP ward_hash_memory_limit_bytes The node's hashing memory (--hash-memory).\n\
         # TYPE ward_hash_memory_limit_bytes gauge\n\
         ward_hash_memory_limit_bytes {}\n\
         # HELP ward_hash_memory_waits_total Reservations that waited for hashing memory.\n\
         # TYPE ward_hash_memory_waits_total counter\n\
         ward_hash_memory_waits_total {waits}\n\
         # HELP ward_hash_memory_refused_total Requests refused (503) after waiting for hashing \
         memory.\n# TYPE ward_hash_memory_refused_total counter\n\
         ward_hash_memory_refused_total {refused}\n\
         # HELP ward_hash_memory_waiting Reservations waiting for hashing memory now.\n\
         # TYPE ward_hash_memory_waiting gauge\n\
         ward_hash_memory_waiting {waiting}\n",
        hashing.in_use(),
        hashing.capacity(),
    );
    let connections = &state.connections;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "# HELP ward_connections Open client connections.\n# TYPE ward_connections gauge\n\
         ward_connections {}\n\
         # HELP ward_connections_limit The cap on open connections (--max-connections, within \
         the open-file limit).\n# TYPE ward_connections_limit gauge\n\
         ward_connections_limit {}\n\
         # HELP ward_connections_closed_total Connections closed by the node, by why.\n\
         # TYPE ward_connections_closed_total counter\n\
         ward_connections_closed_total{{reason=\"header_timeout\"}} {}\n\
         ward_connections_closed_total{{reason=\"idle_timeout\"}} {}\n\
         ward_connections_closed_total{{reason=\"body_timeout\"}} {}\n\
         ward_connections_closed_total{{reason=\"evicted\"}} {}\n\
         ward_connections_closed_total{{reason=\"refused\"}} {}\n",
        load(&connections.open),
        load(&connections.cap),
        load(&connections.header_timeouts),
        load(&connections.idle_timeouts),
        load(&connections.body_timeouts),
        load(&connections.evicted),
        load(&connections.refused),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
