//! `GET /admin`: the deployment at a glance, as far as the person may see it: the nodes seen
//! in the last day with their index's state (for those who read the whole deployment), the
//! banks they see with their active signals by type (as this node's index holds them), the
//! exchanges of those banks with their last fetch and error, the intake and notice queues
//! (for those who work them), and the keys nobody has used for 90 days (for those who
//! administer them); each links to its page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use ward_store::{Store as _, Timestamp};

use super::error::ConsoleError;
use super::sections::Section;
use super::session::ConsoleUser;
use super::view::{Header, answer};
use crate::analyst::session::QUEUE_ROLES;
use crate::analyst::view::age;
use crate::serve::SharedState;
use crate::serve::bank_index::SIGNAL_TYPES;
use crate::serve::keys_api;

/// Keys unused this long are listed.
pub const IDLE_DAYS: u32 = 90;

/// The queue is counted up to this many items (then "1000+").
const QUEUE_COUNTED: u32 = 1000;

#[derive(Debug)]
struct BankRow {
    id: i64,
    name: String,
    org: String,
    kind: &'static str,
    enabled: bool,
    /// Active signals by type, in `SIGNAL_TYPES`' order.
    sizes: [usize; 5],
}

/// A node as the overview shows it.
#[derive(Debug)]
struct NodeRow {
    id: String,
    host: String,
    version: String,
    seen: String,
    /// Not seen for three report intervals: stopped, or cut off from the store.
    stale: bool,
    ready: bool,
    seq: i64,
    signals: i64,
    caught_up: String,
    /// Feed positions behind the furthest node.
    behind: i64,
    this: bool,
}

/// Nodes seen this long ago are listed.
const NODES_SINCE_MS: i64 = 86_400_000;

#[derive(Debug)]
struct ExchangeRow {
    name: String,
    bank: i64,
    api: String,
    last_fetch: String,
    state: &'static str,
    state_class: &'static str,
    error: Option<String>,
    items: i64,
}

#[derive(Debug, Deserialize)]
struct KeyRow {
    id: i64,
    org: i64,
    role: String,
    label: String,
    prefix: String,
    last_used_at: Option<String>,
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct Keys {
    keys: Vec<KeyRow>,
}

/// The work waiting for the hotline.
#[derive(Debug)]
struct Queues {
    waiting: String,
    notices: u32,
}

#[derive(Template)]
#[template(path = "overview.html", config = "src/console/askama.toml")]
struct OverviewPage {
    header: Header,
    nodes: Option<Vec<NodeRow>>,
    signal_types: Vec<&'static str>,
    banks: Vec<BankRow>,
    exchanges: Vec<ExchangeRow>,
    queues: Option<Queues>,
    idle_keys: Option<Vec<KeyRow>>,
    idle_days: u32,
    failing: usize,
}

/// `GET /admin`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Overview).await?;
    let member = user.member();
    let orgs = state.store.orgs().await?;
    let org_name = |id: ward_store::OrgId| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let all_banks = state.store.banks().await?;
    let seen: Vec<_> = all_banks.iter().filter(|b| member.sees(b)).collect();
    let sizes = state.index.bank_sizes();
    let banks = seen
        .iter()
        .map(|b| BankRow {
            id: b.id.0,
            name: b.name.clone(),
            org: org_name(b.org),
            kind: b.kind.name(),
            enabled: b.enabled,
            sizes: sizes.get(&b.id).copied().unwrap_or_default(),
        })
        .collect();
    let now = Timestamp::now();
    let nodes = if member.reads_deployment(&state.store).await? {
        let nodes = state.store.nodes(Timestamp(now.0 - NODES_SINCE_MS)).await?;
        let furthest = nodes.iter().map(|n| n.index_seq).max().unwrap_or(0);
        let stale_after = 3 * crate::serve::NODE_REPORT_INTERVAL.as_millis() as i64;
        Some(
            nodes
                .into_iter()
                .map(|n| NodeRow {
                    this: n.id == state.node.id,
                    seen: format!("{} ago", age(n.seen_at, now)),
                    stale: now.0 - n.seen_at.0 > stale_after,
                    ready: n.index_ready,
                    seq: n.index_seq,
                    signals: n.index_signals,
                    caught_up: format!("{} ago", age(n.caught_up_at, now)),
                    behind: furthest - n.index_seq,
                    id: n.id,
                    host: n.host,
                    version: n.version,
                })
                .collect(),
        )
    } else {
        None
    };
    let exchanges: Vec<ExchangeRow> = state
        .store
        .exchanges()
        .await?
        .into_iter()
        .filter(|e| seen.iter().any(|b| b.id == e.bank))
        .map(|e| {
            let status = &e.status;
            let (state, state_class) = match (e.enabled, status.last_fetch_succeeded) {
                (false, _) => ("disabled", "state-idle"),
                (true, None) => ("not fetched yet", "state-idle"),
                (true, Some(true)) => ("fetched", "state-ok"),
                (true, Some(false)) => ("failing", "state-bad"),
            };
            ExchangeRow {
                name: e.name.clone(),
                bank: e.bank.0,
                api: e.api.clone(),
                last_fetch: status
                    .last_fetch_complete_ts
                    .map_or_else(|| "never".to_owned(), |t| format!("{} ago", age(t, now))),
                state,
                state_class,
                error: status.last_error.clone(),
                items: status.fetched_items,
            }
        })
        .collect();
    let queues = if user.may(QUEUE_ROLES) {
        let waiting = state.store.queue(0, QUEUE_COUNTED).await?.len();
        Some(Queues {
            waiting: if waiting as u32 >= QUEUE_COUNTED {
                format!("{QUEUE_COUNTED}+")
            } else {
                waiting.to_string()
            },
            notices: state.store.open_notices(now).await?,
        })
    } else {
        None
    };
    let idle_keys = if Section::People.opens(&user) {
        let request = Query::try_from_uri(
            &format!("/v1/keys?unused_days={IDLE_DAYS}")
                .parse()
                .expect("a URI"),
        )
        .map_err(|e| ConsoleError::internal(anyhow::anyhow!("{e}")))?;
        let keys: Keys =
            answer(keys_api::list(State(state.clone()), user.caller(), request).await)?;
        Some(keys.keys)
    } else {
        None
    };
    let failing = exchanges.iter().filter(|e| e.state == "failing").count();
    let page = OverviewPage {
        failing,
        header,
        nodes,
        signal_types: SIGNAL_TYPES.iter().map(|t| t.name()).collect(),
        banks,
        exchanges,
        queues,
        idle_keys,
        idle_days: IDLE_DAYS,
    };
    Ok(Html(page.render()?).into_response())
}
