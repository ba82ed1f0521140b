//! The transparency figures as pages: `/analyst/transparency` (a table of every figure by
//! month, charts drawn on the server, the same figures as CSV and JSON) and
//! `/analyst/transparency/{year}`, the yearly report in the Tech Coalition's TRUST outline
//! (policies and practices, processes and systems, outcomes). Every number on them is read
//! from the store or the running server's settings; none is typed in.
//!
//! Analysts and curators see their organisation; admins choose an organisation or the whole
//! deployment.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use ward_store::{FIGURES, Month, OrgId, Role, Store as _, Timestamp, Transparency};

use super::error::PageError;
use super::session::Analyst;
use super::view::Header;
use crate::serve::SharedState;
use crate::serve::transparency::{self as figures, CHARTS, TransparencyRequest};

/// What a figure is, as the pages name it.
fn label(figure: &str) -> &'static str {
    match figure {
        "contributed" => "Hashes contributed (type / source)",
        "consumed" => "Hashes consumed from partners (type / partner)",
        "matches" => "Matches (by bank)",
        "queries" => "Match queries (by outcome)",
        "novel_share" => "Share of queries with novel content",
        "opinions_sent" => "Opinions sent (confirmations, disputes)",
        "opinions_received" => "Opinions received (confirmations, disputes)",
        "reports_received" => "Reports received (country / language)",
        "reports_actioned" => "Reports actioned (country / language)",
        "notices_sent" => "Notices sent (first sends)",
        "renotices" => "Re-notices (a notice sent again)",
        "removals" => "Removals after notice",
        "removal_median_seconds" => "Time to removal, median (seconds)",
        "removal_p90_seconds" => "Time to removal, 90th percentile (seconds)",
        "forwards_out" => "Reports forwarded to partner hotlines (hosting country)",
        "forwards_received" => "Reports received from partner hotlines (hosting country)",
        "forwards_returned" => "Forwarded reports given back (why)",
        "forward_removals" => "Removals of forwarded reports (out: forwarded, in: received)",
        "forward_removal_median_seconds" => {
            "Time from first report to removal across borders, median (seconds; out / in)"
        }
        "forward_removal_p90_seconds" => {
            "Time from first report to removal across borders, 90th percentile (seconds; out / in)"
        }
        "exposure_hours" => "Analyst exposure (hours)",
        "self_reports_opened" => "Self-report cases opened (country)",
        "self_reports_withdrawn" => "Self-report cases withdrawn (country)",
        "self_report_hashes" => "Hashes sent by self-reports (type)",
        "self_report_matches" => "Matches platforms found in self-report banks (bank)",
        _ => "Other",
    }
}

/// One row of the month table: a figure and key, a cell per month.
struct Row {
    figure: &'static str,
    label: &'static str,
    key: String,
    /// Per month: the month and the value as CSV prints it (`None`: no figure).
    cells: Vec<(String, Option<String>)>,
}

/// A chart drawn by `serve::transparency`, which escapes every text it puts in it.
struct Chart {
    id: &'static str,
    title: &'static str,
    svg: String,
}

/// An organisation the admin may choose.
struct Choice {
    value: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "transparency.html", config = "src/analyst/askama.toml")]
struct TransparencyPage {
    header: Option<Header>,
    whose: String,
    from: String,
    to: String,
    /// `org=&from=&to=` for the export links.
    query: String,
    choices: Vec<Choice>,
    months: Vec<String>,
    rows: Vec<Row>,
    charts: Vec<Chart>,
    years: Vec<i32>,
    org_query: String,
}

/// Whose figures a signed-in user sees: their organisation's, or any (and the deployment's)
/// for a deployment-wide reader, by the rule the API follows (`auth::Member`).
async fn scope(
    state: &SharedState,
    analyst: &Analyst,
    request: &TransparencyRequest,
) -> Result<Option<OrgId>, PageError> {
    let requested = figures::requested_org(request.org.as_deref())
        .map_err(|e| PageError::BadRequest(e.message))?;
    analyst
        .member()
        .figures_scope(&state.store, requested)
        .await?
        .map_err(|reason| PageError::Forbidden(reason.into()))
}

async fn read(
    state: &SharedState,
    analyst: &Analyst,
    request: &TransparencyRequest,
) -> Result<Transparency, PageError> {
    let org = scope(state, analyst, request).await?;
    let months = figures::period(request.from.as_deref(), request.to.as_deref())
        .map_err(|e| PageError::BadRequest(e.message))?;
    figures::read(state, org, months)
        .await
        .map_err(|e| PageError::Unavailable(e.message))
}

/// The organisations an admin chooses from (with the deployment first); nobody else
/// chooses.
async fn choices(
    state: &SharedState,
    analyst: &Analyst,
    org: Option<OrgId>,
) -> Result<Vec<Choice>, PageError> {
    if !analyst.member().reads_deployment(&state.store).await? {
        return Ok(Vec::new());
    }
    let mut choices = vec![Choice {
        value: "all".into(),
        name: "The whole deployment".into(),
        selected: org.is_none(),
    }];
    for o in state.store.orgs().await? {
        choices.push(Choice {
            value: o.id.0.to_string(),
            selected: org == Some(o.id),
            name: o.name,
        });
    }
    Ok(choices)
}

/// Whose figures these are, in words.
async fn whose(state: &SharedState, org: Option<OrgId>) -> Result<String, PageError> {
    Ok(match org {
        None => "the whole deployment".to_owned(),
        Some(id) => match state.store.org(id).await? {
            Some(o) => o.name,
            None => return Err(PageError::NotFound(format!("no organisation {id}"))),
        },
    })
}

fn org_value(org: Option<OrgId>) -> String {
    org.map_or_else(|| "all".to_owned(), |o| o.0.to_string())
}

/// The month table: a row per figure and key (in the order of `FIGURES`), a cell per
/// month, each value printed as the CSV prints it.
fn rows(t: &Transparency) -> Vec<Row> {
    let mut by_row: BTreeMap<(usize, String), BTreeMap<Month, String>> = BTreeMap::new();
    for f in &t.figures {
        let index = FIGURES.iter().position(|n| *n == f.figure).unwrap_or(0);
        by_row
            .entry((index, f.key.clone()))
            .or_default()
            .insert(f.month, f.value_text());
    }
    by_row
        .into_iter()
        .map(|((index, key), values)| Row {
            figure: FIGURES[index],
            label: label(FIGURES[index]),
            key,
            cells: t
                .months
                .iter()
                .map(|m| (m.to_string(), values.get(m).cloned()))
                .collect(),
        })
        .collect()
}

fn charts(t: &Transparency, whose: &str) -> Vec<Chart> {
    CHARTS
        .iter()
        .map(|(id, title, ..)| Chart {
            id,
            title,
            svg: figures::draw(t, id, whose).unwrap_or_default(),
        })
        .collect()
}

/// `GET /analyst/transparency?org=&from=&to=`.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(request): Query<TransparencyRequest>,
) -> Result<Response, PageError> {
    let t = read(&state, &analyst, &request).await?;
    let org_query = format!("org={}", org_value(t.org));
    let whose = whose(&state, t.org).await?;
    let page = TransparencyPage {
        header: Some(Header::of(&state, &analyst).await?),
        charts: charts(&t, &whose),
        whose,
        from: t.from.to_string(),
        to: t.to.to_string(),
        query: format!("{org_query}&from={}&to={}", t.from, t.to),
        choices: choices(&state, &analyst, t.org).await?,
        months: t.months.iter().map(Month::to_string).collect(),
        rows: rows(&t),
        years: (t.from.year()..=t.to.year()).collect(),
        org_query,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /analyst/transparency.csv?org=&from=&to=`: the figures the page shows.
pub async fn csv(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(request): Query<TransparencyRequest>,
) -> Result<Response, PageError> {
    let t = read(&state, &analyst, &request).await?;
    let name = format!(
        "attachment; filename=\"ward-transparency-{}-{}-{}.csv\"",
        org_value(t.org),
        t.from,
        t.to
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, name),
        ],
        figures::csv(&t),
    )
        .into_response())
}

/// `GET /analyst/transparency.json?org=&from=&to=`.
pub async fn json(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(request): Query<TransparencyRequest>,
) -> Result<Response, PageError> {
    let t = read(&state, &analyst, &request).await?;
    Ok(axum::Json(t).into_response())
}

/// A bank as the yearly report lists it.
struct BankRow {
    name: String,
    owner: String,
    kind: &'static str,
    sharing: String,
    distance: u32,
    enabled: bool,
    dispute_limit: String,
}

/// A figure's total over the year.
struct Total {
    label: &'static str,
    key: String,
    value: String,
}

#[derive(Template)]
#[template(path = "transparency_year.html", config = "src/analyst/askama.toml")]
struct YearPage {
    header: Option<Header>,
    year: i32,
    whose: String,
    org_query: String,
    choices: Vec<Choice>,
    banks: Vec<BankRow>,
    settings: Vec<(&'static str, String)>,
    signal_types: Vec<(&'static str, usize)>,
    partners: Vec<(String, String, String)>,
    people: Vec<(&'static str, usize)>,
    intake: Vec<(String, u64)>,
    totals: Vec<Total>,
    charts: Vec<Chart>,
}

/// Days, or hours when less than two days, as the report prints a setting.
fn period_text(duration: std::time::Duration) -> String {
    let hours = duration.as_secs() / 3600;
    if hours >= 48 && hours.is_multiple_of(24) {
        format!("{} days", hours / 24)
    } else if duration.as_secs().is_multiple_of(3600) {
        format!("{hours} hours")
    } else {
        format!("{} minutes", duration.as_secs() / 60)
    }
}

/// `GET /analyst/transparency/{year}?org=`: the yearly report.
pub async fn year(
    State(state): State<SharedState>,
    analyst: Analyst,
    Path(year): Path<String>,
    Query(request): Query<TransparencyRequest>,
) -> Result<Response, PageError> {
    let first = year
        .parse::<i32>()
        .ok()
        .and_then(Month::january)
        .ok_or_else(|| PageError::NotFound(format!("no year {year:?}")))?;
    let request = TransparencyRequest {
        from: Some(first.to_string()),
        to: Some(first.december().to_string()),
        ..request
    };
    let t = read(&state, &analyst, &request).await?;
    let org = t.org;

    // Policies and practices: the banks and their sharing, dispute limits and distances;
    // the settings this server runs with.
    let orgs: BTreeMap<OrgId, String> = state
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let name_of = |id: &OrgId| orgs.get(id).cloned().unwrap_or_else(|| id.to_string());
    let banks = state
        .store
        .banks()
        .await?
        .into_iter()
        .filter(|b| org.is_none_or(|o| b.org == o))
        .map(|b| BankRow {
            sharing: if b.shared_with.is_empty() {
                b.sharing.name().to_owned()
            } else {
                format!(
                    "{} ({})",
                    b.sharing.name(),
                    b.shared_with
                        .iter()
                        .map(name_of)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            owner: name_of(&b.org),
            kind: b.kind.name(),
            distance: b.distance,
            enabled: b.enabled,
            dispute_limit: b
                .dispute_limit
                .map_or_else(|| "none".to_owned(), |n| format!("{n} organisations")),
            name: b.name,
        })
        .collect();
    let config = &state.config;
    let mut settings = vec![
        (
            "Evidence of novel content kept for",
            period_text(config.intake.retention),
        ),
        (
            "A notice is sent again, while the content is there, every",
            period_text(config.notices.renotice),
        ),
        (
            "A noticed URL is checked again every",
            period_text(config.notices.recheck),
        ),
    ];
    settings.push((
        "Partners' feeds are pulled every",
        config
            .exchange_interval
            .map_or_else(|| "never (by hand only)".to_owned(), period_text),
    ));

    // Processes and systems: signal types matched, partners, people, intake.
    let signal_types = state
        .index
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| (kind.name(), n))
        .collect();
    let banks_by_id: BTreeMap<_, _> = state
        .store
        .banks()
        .await?
        .into_iter()
        .map(|b| (b.id, (b.name, b.org)))
        .collect();
    // Partners are the `ward` exchanges, named as provenance names them.
    let partners = state
        .store
        .exchanges()
        .await?
        .into_iter()
        .filter(|e| e.api == crate::exchanges::Api::Ward.name())
        .filter_map(|e| {
            let (bank, owner) = banks_by_id.get(&e.bank)?;
            org.is_none_or(|o| *owner == o).then(|| {
                let synced = e
                    .status
                    .last_fetch_complete_ts
                    .map_or_else(|| "never".to_owned(), Timestamp::day);
                let name = serde_json::from_str::<crate::exchanges::ward::Config>(&e.config)
                    .ok()
                    .and_then(|c| c.partner)
                    .unwrap_or_else(|| e.name.clone());
                (name, bank.clone(), synced)
            })
        })
        .collect();
    let users = state.store.users().await?;
    let people = [Role::Analyst, Role::Curator, Role::Admin]
        .into_iter()
        .map(|role| {
            let n = users
                .iter()
                .filter(|u| u.role == role && u.disabled_at.is_none())
                .filter(|u| org.is_none_or(|o| u.org == o))
                .count();
            (role.name(), n)
        })
        .collect();
    let stats = state
        .store
        .statistics(first.start(), first.december().next().start())
        .await?;
    let mut intake = vec![(
        "Reports received (the deployment's)".to_owned(),
        stats.reports.iter().map(|p| p.received).sum::<u64>(),
    )];
    for (url_state, n) in &stats.urls {
        intake.push((
            format!("Reported URLs now {}", url_state.replace('_', " ")),
            *n,
        ));
    }

    // Outcomes: the year's figures, summed over its months.
    let mut totals = Vec::new();
    for figure in FIGURES {
        // Shares and times are not sums: the month table has them.
        if matches!(
            *figure,
            "novel_share"
                | "removal_median_seconds"
                | "removal_p90_seconds"
                | "forward_removal_median_seconds"
                | "forward_removal_p90_seconds"
        ) {
            continue;
        }
        for (key, value) in t.totals(figure) {
            totals.push(Total {
                label: label(figure),
                key,
                value: format!("{}", (value * 100.0).round() / 100.0),
            });
        }
    }
    let whose = whose(&state, org).await?;
    let page = YearPage {
        header: Some(Header::of(&state, &analyst).await?),
        year: first.year(),
        charts: charts(&t, &whose),
        whose,
        org_query: format!("org={}", org_value(org)),
        choices: choices(&state, &analyst, org).await?,
        banks,
        settings,
        signal_types,
        partners,
        people,
        intake,
        totals,
    };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::Figure;

    #[test]
    fn every_figure_is_named_and_tabled_in_order() {
        for figure in FIGURES {
            assert_ne!(label(figure), "Other", "{figure} has no label");
        }
        let jan: Month = "2026-01".parse().unwrap();
        let feb = jan.next();
        let figure = |month, figure, key: &str, value| Figure {
            month,
            figure,
            key: key.into(),
            value,
        };
        let t = Transparency {
            org: None,
            from: jan,
            to: feb,
            months: vec![jan, feb],
            figures: vec![
                figure(jan, "removals", "", 1.0),
                figure(jan, "forwards_out", "BE", 2.0),
                figure(feb, "forwards_out", "BE", 1.0),
                figure(feb, "forward_removal_median_seconds", "in", 86_400.0),
                figure(feb, "exposure_hours", "", 0.5),
            ],
        };
        let table: Vec<(&str, String, Vec<Option<String>>)> = rows(&t)
            .into_iter()
            .map(|r| (r.figure, r.key, r.cells.into_iter().map(|c| c.1).collect()))
            .collect();
        let cells = |values: [Option<&str>; 2]| values.map(|v| v.map(str::to_owned)).to_vec();
        assert_eq!(
            table,
            [
                ("removals", String::new(), cells([Some("1"), None])),
                ("forwards_out", "BE".into(), cells([Some("2"), Some("1")])),
                (
                    "forward_removal_median_seconds",
                    "in".into(),
                    cells([None, Some("86400")])
                ),
                ("exposure_hours", String::new(), cells([None, Some("0.5")])),
            ]
        );
        let charts = charts(&t, "Hotline");
        assert_eq!(charts.len(), CHARTS.len());
        let forwards = charts.iter().find(|c| c.id == "forwards").unwrap();
        assert!(
            forwards.svg.contains("3 forwarded, 0 received, 0 removed"),
            "{}",
            forwards.svg
        );
    }
}
