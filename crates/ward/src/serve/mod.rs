//! `ward serve`: the HTTP service. Banks, content and keys live in the store (SQLite under the
//! data directory, or PostgreSQL shared by several nodes); each node keeps a match index
//! derived from it and follows the store's feed to stay current.
//!
//! `router` builds the whole application, so tests drive it with or without a socket;
//! `start` opens what it needs (loading the index and starting the follower); `run` is the
//! command: listen, serve, and shut down gracefully on SIGINT or SIGTERM.

pub(crate) mod api;
pub(crate) mod auth;
mod background;
pub(crate) mod bank_index;
pub mod budget;
pub mod charts;
pub mod coinflip;
pub mod connections;
pub(crate) mod contacts;
mod content_facts;
pub(crate) mod error;
pub mod evidence;
pub(crate) mod exchange_api;
mod feed;
mod fetching;
mod forwarding;
mod hma;
mod hma_content;
pub(crate) mod hma_exchanges;
mod hma_types;
pub mod intake;
pub(crate) mod keys_api;
pub mod limiter;
pub(crate) mod matching;
pub mod networks;
pub mod notices;
mod openapi;
mod ops;
pub(crate) mod orgs_api;
mod referral;
pub mod series;
mod series_api;
pub mod statistics;
mod summaries;
pub mod tally;
pub mod transparency;
mod view;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use tokio::sync::Notify;
use ward_core::video::VideoOptions;
use ward_store::{AnyStore, Store as _};

pub use api::stored_signal;
pub use auth::KeyCache;
pub use bank_index::BankIndex;
use ops::Metrics;

/// How often a node reads the store's feed (a change made through this node is applied at
/// once; one made through another node within this time).
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

/// How often one client may try to sign in to the analyst's pages: 10 tries at once, then
/// 5 a minute.
pub const SIGN_IN_LIMITS: limiter::Limits = limiter::Limits {
    burst: 10,
    per_minute: 5,
    max_clients: 100_000,
};

/// Settings of a running service.
#[derive(Clone, Debug)]
pub struct Config {
    /// The largest upload (a multipart body of media), refused with 413 past it; bulk
    /// imports stream and are bounded a record at a time instead.
    pub body_limit: usize,
    /// The largest body of every other route (JSON, forms), refused with 413 past it.
    pub json_limit: usize,
    /// The memory media being hashed may hold at once: uploads' and fetched bytes, decodes
    /// and video workers ([`budget::HashBudget`]).
    pub hash_memory: u64,
    /// How long a request waits for hashing memory before it gets 503.
    pub hash_wait: Duration,
    /// Timeouts and the cap on open connections ([`connections`]).
    pub connections: connections::ConnectionLimits,
    /// How videos are hashed.
    pub video: VideoOptions,
    /// How often live exchanges are looked at, each fetched when due (`ward exchange`);
    /// `None`: only by `ward exchange fetch`.
    pub exchange_interval: Option<Duration>,
    /// The key the deployment's secrets (organisations' exchange credentials) are sealed
    /// with: the evidence key file; without one, credentials can be neither set nor used.
    pub secrets: Option<Arc<evidence::EvidenceKey>>,
    /// How reported URLs are fetched, hashed and matched.
    pub intake: intake::IntakeConfig,
    /// How hosts are sent notices, and URLs re-checked until removal.
    pub notices: notices::NoticeConfig,
    /// How often partner hotlines' forwarding feeds are read (and late forwards taken
    /// back); `None`: this node reads none.
    pub forwarding_interval: Option<Duration>,
    /// Messages asked for per page of a partner's forwarding feed.
    pub forwarding_page: u32,
    /// The deployment is reached over HTTPS (a proxy terminates TLS): every cookie (the
    /// analyst's sessions and login forms, the portal's CSRF token) is marked `Secure`, so a
    /// browser never sends it over plain HTTP.
    pub secure_cookies: bool,
    /// How near-duplicate content is grouped into series.
    pub series: series::SeriesConfig,
    /// The memory, in bytes, for what match answers show of matched content.
    pub summary_cache_bytes: usize,
    /// How HMA's `url=` parameters are fetched (the safe fetcher, HMA's 100 MiB limit);
    /// `None`: they are refused (`--no-hma-url-fetch`).
    pub hma_fetch: Option<crate::fetch::FetchConfig>,
    /// Roles granted to keyless HMA requests from named networks (none by default).
    pub network_roles: Vec<networks::NetworkRole>,
    /// Where the node keeps its match index between runs, and how often it writes it;
    /// `None`: it loads the index from the store's feed at every start.
    pub index_snapshot: Option<IndexSnapshot>,
}

/// The node's snapshot of its match index ([`BankIndex::open`]).
#[derive(Clone, Debug)]
pub struct IndexSnapshot {
    /// The file (the node's own: with PostgreSQL, each node keeps one).
    pub path: PathBuf,
    /// How often it is written while the index changes (it is also written at a graceful
    /// shutdown).
    pub interval: Duration,
}

/// HMA's `MAX_REMOTE_FILE_SIZE`: the most a `url=` fetch reads.
pub const HMA_FETCH_MAX_BYTES: u64 = 100 << 20;

impl Default for Config {
    fn default() -> Config {
        Config {
            body_limit: 256 << 20,
            json_limit: 2 << 20,
            hash_memory: 1 << 30,
            hash_wait: Duration::from_secs(10),
            connections: connections::ConnectionLimits::default(),
            video: VideoOptions {
                max_duration: Duration::from_secs(3600),
                timeout: Duration::from_secs(300),
                ..VideoOptions::default()
            },
            exchange_interval: Some(Duration::from_secs(60)),
            secrets: None,
            intake: intake::IntakeConfig::default(),
            notices: notices::NoticeConfig::default(),
            forwarding_interval: Some(Duration::from_secs(30)),
            forwarding_page: 100,
            secure_cookies: false,
            series: series::SeriesConfig::default(),
            summary_cache_bytes: summaries::DEFAULT_BUDGET_BYTES,
            hma_fetch: Some(crate::fetch::FetchConfig {
                max_bytes: HMA_FETCH_MAX_BYTES,
                ..crate::fetch::FetchConfig::default()
            }),
            network_roles: Vec::new(),
            index_snapshot: None,
        }
    }
}

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    pub store: AnyStore,
    pub index: BankIndex,
    pub keys: KeyCache,
    pub metrics: Metrics,
    /// The memory media being hashed may hold ([`Config::hash_memory`]).
    pub hashing: budget::HashBudget,
    /// What the listener counted (zeros when the router is driven without one).
    pub connections: Arc<connections::ConnectionStats>,
    pub config: Config,
    /// The key this instance signs its feed pages with.
    pub identity: crate::sync::Identity,
    /// The public reporting portal's places, CSRF key and rate limit.
    pub portal: crate::portal::Portal,
    /// Sign-in attempts on the analyst's pages, per client address (guessing passwords
    /// costs a wait).
    pub sign_ins: limiter::Limiter,
    /// This node's series keeper (working while it holds the lease).
    pub series: tokio::sync::Mutex<series::Keeper>,
    /// Where the keeper stands, for metrics.
    pub series_progress: Arc<series::Progress>,
    /// Reads of what match answers lack, gathered across concurrent answers.
    pub summary_reads: summaries::BatchedReads,
    /// Matches counted on this node, not yet added to the store's figures.
    pub tally: tally::Tally,
    /// What this node's fetches of live exchanges did.
    pub fetches: fetching::FetchCounts,
    /// The keys of `--hma-network-role`'s grants, and the requests they let in.
    pub networks: networks::NetworkKeys,
    /// This run of this node, as it reports itself to the store ([`report_node_now`]).
    pub node: NodeRun,
    follow_now: Notify,
    series_now: Arc<Notify>,
}

/// One run of one node: an id of its own (random, made at start), the machine's name and
/// when it started.
#[derive(Clone, Debug)]
pub struct NodeRun {
    pub id: String,
    pub host: String,
    pub started_at: ward_store::Timestamp,
}

impl NodeRun {
    fn new() -> NodeRun {
        let mut bytes = [0u8; 6];
        // A clash of two ids only merges two rows of the console's list of nodes.
        let _ = getrandom::fill(&mut bytes);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        NodeRun {
            id: ward_core::digest::to_hex(&bytes),
            host,
            started_at: ward_store::Timestamp::now(),
        }
    }
}

impl AppState {
    /// After a change made through this node: reads the feed before the change is
    /// acknowledged, so that the caller's next request on this node sees it. A failure
    /// here is left to the background follower, which retries; the change is stored.
    pub async fn caught_up(&self) {
        if let Err(error) = self.index.follow(&self.store).await {
            tracing::warn!(%error, "following the store's feed after a change failed");
            self.follow_now.notify_one();
        }
    }

    /// After a change to a content item made through this node: its summary is forgotten
    /// and the feed is read before the change is acknowledged.
    pub async fn content_changed(&self, id: ward_store::ContentId) {
        self.index.summaries().forget([id]);
        self.caught_up().await;
    }

    /// Runs a step of this node's series keeper now, unless it is busy (a long load, or its
    /// own step), in which case it is woken for another step as soon as it is free.
    pub async fn nudge_series(&self) {
        match self.series.try_lock() {
            Ok(keeper) => {
                drop(keeper);
                self.keep_series().await;
            }
            Err(_) => self.series_now.notify_one(),
        }
    }

    /// Runs a step of this node's series keeper now, waiting for it if it is busy (it does
    /// nothing unless this node holds the lease); the background keeper is woken too if the
    /// step fails.
    pub async fn keep_series(&self) -> Option<series::StepReport> {
        let result = self.series.lock().await.step(&self.store).await;
        match result {
            Ok(report) => {
                // What matches show of series may have changed: this node's next answer
                // shows it.
                if report.saved {
                    self.caught_up().await;
                }
                Some(report)
            }
            Err(error) => {
                tracing::warn!(%error, "keeping series failed; retrying");
                self.series_now.notify_one();
                None
            }
        }
    }
}

pub type SharedState = Arc<AppState>;

/// Loads the index from `store` and starts following its feed.
pub async fn start(store: AnyStore, config: Config) -> anyhow::Result<SharedState> {
    let networks = networks::NetworkKeys::resolve(&store, &config.network_roles).await?;
    let identity = crate::sync::Identity::from_seed(
        &store
            .signing_key()
            .await
            .context("reading the instance's signing key")?,
    );
    let started = std::time::Instant::now();
    let snapshot_place = config
        .index_snapshot
        .as_ref()
        .map(|snapshot| bank_index::SnapshotPlace {
            path: snapshot.path.clone(),
            deployment: identity.public_key(),
        });
    let index = BankIndex::open(&store, config.summary_cache_bytes, snapshot_place.as_ref())
        .await
        .context("loading the match index from the store")?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        seq = index.cursor().0,
        signals = ?index.counts(),
        from_snapshot = index.started_from_snapshot(),
        "match index loaded"
    );
    let portal = crate::portal::Portal::new(&store).await?;
    let keeper = series::Keeper::for_this_node(config.series.options);
    let summary_reads = summaries::BatchedReads::start(store.clone());
    let state = Arc::new(AppState {
        store,
        index,
        keys: KeyCache::default(),
        metrics: Metrics::default(),
        hashing: budget::HashBudget::new(config.hash_memory, config.hash_wait),
        connections: Arc::default(),
        config,
        identity,
        portal,
        sign_ins: limiter::Limiter::new(SIGN_IN_LIMITS),
        series_progress: keeper.progress(),
        summary_reads,
        series: tokio::sync::Mutex::new(keeper),
        tally: tally::Tally::default(),
        fetches: fetching::FetchCounts::default(),
        networks,
        node: NodeRun::new(),
        follow_now: Notify::new(),
        series_now: Arc::new(Notify::new()),
    });
    if let Some(interval) = state.config.series.interval {
        tokio::spawn(keep_series(
            Arc::downgrade(&state),
            Arc::clone(&state.series_now),
            interval,
        ));
    }
    tokio::spawn(tally::run(Arc::downgrade(&state)));
    // Partners of an older deployment become `ward` exchanges, which the fetcher fetches.
    if let Some(key) = &state.config.secrets {
        match crate::exchanges::ward::adopt_partners(&state.store, key).await {
            Ok(0) => {}
            Ok(converted) => tracing::info!(converted, "partners made ward exchanges"),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "making partners ward exchanges failed; retried at the next start"
            ),
        }
    }
    if let Some(interval) = state.config.exchange_interval {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap_or_default();
        let holder = format!("node-{}", u64::from_le_bytes(bytes));
        tokio::spawn(fetching::run(Arc::downgrade(&state), holder, interval));
        tokio::spawn(fetching::give_feedback(Arc::downgrade(&state), interval));
    }
    if let Some(interval) = state.config.intake.interval {
        tokio::spawn(intake::run(Arc::downgrade(&state), interval));
    }
    if let Some(interval) = state.config.notices.interval {
        tokio::spawn(notices::run(Arc::downgrade(&state), interval));
    }
    if let Some(interval) = state.config.forwarding_interval {
        tokio::spawn(crate::forwarding::run(
            Arc::downgrade(&state),
            interval,
            state.config.forwarding_page,
        ));
    }
    // Revoked keys: forgotten by every node within a poll of the store's revocations.
    if let Err(error) = state.keys.follow(&state.store).await {
        tracing::warn!(%error, "reading the key revocations failed; retrying");
    }
    tokio::spawn(follow_revocations(Arc::downgrade(&state)));
    tokio::spawn(report_key_use(Arc::downgrade(&state)));
    tokio::spawn(report_node(Arc::downgrade(&state)));
    tokio::spawn(enable_due_content(Arc::downgrade(&state)));
    if let Some(snapshot) = &state.config.index_snapshot {
        tokio::spawn(write_index_snapshots(
            Arc::downgrade(&state),
            snapshot.interval,
        ));
    }
    let follower = Arc::clone(&state);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
                () = follower.follow_now.notified() => {}
            }
            if let Err(error) = follower.index.follow(&follower.store).await {
                tracing::warn!(%error, "following the store's feed failed; retrying");
            }
            if Arc::strong_count(&follower) == 1 {
                return; // the service is gone
            }
        }
    });
    Ok(state)
}

/// Reads the store's key revocations every [`FOLLOW_INTERVAL`], while the service runs, so
/// that the keys this node caches are forgotten when revoked (and trusted only while this
/// keeps up: see `auth.rs`).
async fn follow_revocations(state: std::sync::Weak<AppState>) {
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = state.keys.follow(&state.store).await {
            tracing::warn!(%error, "reading the key revocations failed; retrying");
        }
    }
}

/// How often the keys this node authenticated are reported to the store as used.
const KEY_USE_INTERVAL: Duration = Duration::from_secs(60);

/// Reports the keys used on this node every [`KEY_USE_INTERVAL`], while the service runs (a
/// node stopped loses at most that much of it).
async fn report_key_use(state: std::sync::Weak<AppState>) {
    loop {
        tokio::time::sleep(KEY_USE_INTERVAL).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = report_key_use_now(&state).await {
            tracing::warn!(%error, "recording the keys' use failed; retrying");
        }
    }
}

/// Records the use of the keys authenticated since the last report.
async fn report_key_use_now(state: &AppState) -> Result<(), ward_store::StoreError> {
    let used = state.keys.take_used();
    state
        .store
        .keys_used(&used, ward_store::Timestamp::now())
        .await
}

/// How often a node reports itself to the store.
pub const NODE_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Reports this node to the store at start and every [`NODE_REPORT_INTERVAL`], while the
/// service runs.
async fn report_node(state: std::sync::Weak<AppState>) {
    loop {
        {
            let Some(state) = state.upgrade() else { return };
            if let Err(error) = report_node_now(&state).await {
                tracing::warn!(%error, "reporting this node to the store failed; retrying");
            }
        }
        tokio::time::sleep(NODE_REPORT_INTERVAL).await;
    }
}

/// Records where this node's match index stands.
pub async fn report_node_now(state: &AppState) -> Result<(), ward_store::StoreError> {
    let index = &state.index;
    let signals: usize = index.counts().iter().map(|(_, n)| n).sum();
    let node = ward_store::Node {
        id: state.node.id.clone(),
        host: state.node.host.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: state.node.started_at,
        seen_at: ward_store::Timestamp::now(),
        index_ready: index.is_ready(),
        index_seq: index.cursor().0,
        index_signals: signals as i64,
        caught_up_at: index.caught_up_at(),
    };
    state.store.note_node(&node).await
}

/// Writes the node's index snapshot every `interval` while the service runs (when the index
/// moved since the last one).
async fn write_index_snapshots(state: std::sync::Weak<AppState>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = write_index_snapshot(&state).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "writing the index snapshot failed; retrying"
            );
        }
    }
}

/// Writes the node's index snapshot now, if it has one and the index moved since the last.
pub async fn write_index_snapshot(state: &SharedState) -> anyhow::Result<()> {
    let Some(snapshot) = &state.config.index_snapshot else {
        return Ok(());
    };
    let place = bank_index::SnapshotPlace {
        path: snapshot.path.clone(),
        deployment: state.identity.public_key(),
    };
    let writer = Arc::clone(state);
    let written = tokio::task::spawn_blocking(move || writer.index.write_snapshot(&place))
        .await
        .context("the index snapshot's writer stopped")??;
    if let Some(written) = written {
        tracing::info!(
            seq = written.cursor.0,
            bytes = written.bytes,
            following_held_seconds = written.held.as_secs_f64(),
            seconds = written.took.as_secs_f64(),
            "index snapshot written"
        );
    }
    Ok(())
}

/// How often content whose `disable_until_ts` has come is looked for.
const DUE_INTERVAL: Duration = Duration::from_secs(5);

/// Enables content whose `disable_until_ts` (HMA's) has come, every [`DUE_INTERVAL`], while
/// the service runs.
async fn enable_due_content(state: std::sync::Weak<AppState>) {
    loop {
        tokio::time::sleep(DUE_INTERVAL).await;
        let Some(state) = state.upgrade() else { return };
        match hma_content::enable_due_content(&state.store).await {
            Ok(0) => {}
            Ok(enabled) => tracing::info!(enabled, "content enabled as its time came"),
            Err(error) => tracing::warn!(%error, "enabling due content failed; retrying"),
        }
    }
}

/// Steps the series keeper every `interval` (or when woken), while the service runs.
async fn keep_series(state: std::sync::Weak<AppState>, wake: Arc<Notify>, interval: Duration) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notified() => {}
        }
        let Some(state) = state.upgrade() else { return };
        match state.series.lock().await.step(&state.store).await {
            Ok(report) if report.changes + report.decisions > 0 => tracing::debug!(
                changes = report.changes,
                decisions = report.decisions,
                loaded = report.loaded,
                "series kept"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "keeping series failed; retrying"),
        }
    }
}

/// The application: every route, with authentication inside the handlers. Every body is
/// bounded: JSON and forms by the JSON limit; uploads of media by the upload limit, read
/// under the hashing budget (`budget::Upload`); streamed imports a record at a time.
pub fn router(state: SharedState) -> Router {
    let json_limit = state.config.json_limit;
    // Routes that take media read their bodies within the upload limit themselves.
    let uploads = DefaultBodyLimit::disable;
    let v1 = Router::new()
        .route("/banks", get(api::list_banks).post(api::create_bank))
        .route(
            "/banks/{id}",
            get(api::get_bank)
                .patch(api::update_bank)
                .delete(api::delete_bank),
        )
        .route(
            "/banks/{id}/content",
            get(api::list_content).post(api::add_content),
        )
        .route(
            "/banks/{id}/signals",
            post(api::import_signals).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/banks/{id}/import",
            post(exchange_api::import).layer(DefaultBodyLimit::disable()),
        )
        .route("/banks/{id}/export", get(exchange_api::export))
        .route(
            "/content/{id}",
            get(api::get_content)
                .patch(api::update_content)
                .delete(api::remove_content),
        )
        .route("/content/{id}/opinion", put(api::set_opinion))
        .route("/content/{id}/cybertip", get(exchange_api::cybertip))
        .route("/content/{id}/referral", get(referral::content_referral))
        .route("/referrals", post(referral::referrals))
        .route("/hash", post(matching::hash).layer(uploads()))
        .route(
            "/match",
            get(matching::match_get)
                .post(matching::match_post)
                .layer(uploads()),
        )
        .route("/series", get(series_api::list))
        .route(
            "/series/{id}",
            get(series_api::get).patch(series_api::update),
        )
        .route("/series/{id}/merge", post(series_api::merge))
        .route("/series/{id}/split", post(series_api::split))
        .route("/series/{id}/referral", get(referral::series_referral))
        .route("/series/decisions/{id}", get(series_api::decision))
        .route("/audit", get(api::audit_log))
        .route("/contacts", get(contacts::list).put(contacts::set))
        .route(
            "/contacts/{pattern}",
            axum::routing::delete(contacts::remove),
        )
        .route("/keys", get(keys_api::list).post(keys_api::create))
        .route("/keys/{id}", axum::routing::delete(keys_api::revoke))
        .route("/users", get(keys_api::users).post(keys_api::create_user))
        .route("/users/{id}", axum::routing::patch(keys_api::update_user))
        .route("/users/{id}/password-link", post(keys_api::password_link))
        .route("/orgs", get(orgs_api::list).post(orgs_api::create))
        .route("/statistics", get(statistics::statistics))
        .route("/statistics/{chart}", get(statistics::chart))
        .route("/transparency", get(transparency::transparency))
        .route("/transparency/{chart}", get(transparency::chart))
        .route("/feed", get(feed::feed))
        .route("/instance", get(feed::instance))
        .route("/forwarding", get(forwarding::feed))
        .route("/forwarding/partners", get(forwarding::partners))
        .route(
            "/forwarding/partners/{name}",
            put(forwarding::set_partner).delete(forwarding::remove_partner),
        )
        .route("/forwards", get(forwarding::forwards))
        .route("/forwards/{id}/decline", post(forwarding::decline))
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn(error::json_errors));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(hma::routes())
        .merge(crate::analyst::routes())
        .merge(crate::console::routes())
        .merge(crate::portal::routes())
        .route(
            "/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            ops::track,
        ))
        .with_state(state)
}

/// `ward serve`'s settings from the command line.
#[derive(Clone, Debug)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub config: Config,
}

/// Runs the service until SIGINT or SIGTERM, then lets requests in flight finish.
pub fn run(settings: ServeSettings) -> anyhow::Result<()> {
    init_logs();
    if !ward_core::video::DECODES_VIDEO {
        tracing::warn!(
            "this ward was built without FFmpeg's libraries: images are hashed and matched, \
             videos are refused (install them and build again to decode video)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Connections are files: the open-file limit goes up to its hard limit, and the cap on
    // connections stays below it, leaving room for the rest of the node.
    let limits = settings.config.connections;
    let open_files = connections::raise_open_file_limit().context("reading the open-file limit")?;
    let cap = connections::cap(limits.max_connections, open_files).with_context(|| {
        format!(
            "the open-file limit ({open_files}) leaves too few files for connections; raise \
             it (ulimit -n) above {}",
            connections::FILES_RESERVED + 16
        )
    })?;
    if cap < limits.max_connections {
        tracing::warn!(
            cap,
            open_files,
            asked = limits.max_connections,
            "the open-file limit lowers the cap on connections"
        );
    }
    runtime.block_on(async move {
        let store = open_store(&settings.data_dir, settings.database_url.as_deref()).await?;
        let backend = store.backend();
        let state = start(store, settings.config).await?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, backend, cap, open_files, "ward serve listening");
        // Tests and scripts wait for this line on standard error.
        eprintln!("ward: serving on http://{address} ({backend})");
        // Every request carries its peer's address, for the portal's rate limit (and nothing
        // else).
        let app = router(Arc::clone(&state));
        connections::serve(
            listener,
            app,
            limits,
            cap,
            Arc::clone(&state.connections),
            shutdown_signal(),
        )
        .await;
        // What this node counted since its last flush.
        if let Err(error) = state.tally.flush(&state.store).await {
            tracing::warn!(%error, "adding the match tally to the store at shutdown failed");
        }
        // The next start reads the index from here rather than from the whole feed.
        if let Err(error) = write_index_snapshot(&state).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "writing the index snapshot at shutdown failed"
            );
        }
        tracing::info!("ward serve stopped");
        Ok(())
    })
}

/// Opens the store the command line names (`ward serve` and `ward admin` alike).
pub async fn open_store(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<AnyStore> {
    let what = match database_url {
        Some(_) => "the PostgreSQL database".to_string(),
        None => format!("the SQLite store in {}", data_dir.display()),
    };
    AnyStore::open(data_dir, database_url)
        .await
        .with_context(|| format!("opening {what}"))
}

/// Structured (JSON) logs on standard error; `RUST_LOG` chooses what (`info` by default).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod hma_resource_tests;
#[cfg(test)]
mod hma_tests;
#[cfg(test)]
mod http1;
#[cfg(test)]
mod people_tests;
#[cfg(test)]
mod referral_tests;
#[cfg(test)]
mod series_tests;
#[cfg(test)]
mod tenancy_tests;
#[cfg(test)]
pub(crate) mod tests;
