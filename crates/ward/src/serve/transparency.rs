//! Transparency figures over HTTP: `GET /v1/transparency?org=&from=YYYY-MM&to=YYYY-MM&
//! format=json|csv` (one row per month, figure and key; see `ward_store::Transparency`) and
//! `GET /v1/transparency/{chart}.svg`, bar charts by month drawn by `serve::charts`.
//!
//! Members of an organisation see their organisation's figures (the banks they name are
//! banks its members matched against); admins and the auditors of the deployment's operator
//! also see any organisation's and, without `org`, the whole deployment's.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use ward_store::{Month, OrgId, Role, Store as _, Timestamp, Transparency};

use super::SharedState;
use super::auth::Caller;
use super::charts::bars;
use super::error::{ApiError, ApiResult};
use super::statistics::csv_field;

/// Roles that read the figures (admins too).
const READERS: &[Role] = &[Role::Auditor, Role::Analyst, Role::Curator];

/// The longest period asked at once, in months.
const MAX_MONTHS: i64 = 120;

/// The CSV's header: one row per month, figure and key.
pub const CSV_HEADER: &str = "month,figure,key,value";

/// The charts, by name: a title, the figures whose monthly totals are drawn (one series
/// each), and their legend.
pub const CHARTS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "signals",
        "Hashes contributed and consumed",
        &["contributed", "consumed"],
        &["contributed", "consumed"],
    ),
    (
        "queries",
        "Match queries: known, near and novel",
        &["queries:known", "queries:near", "queries:novel"],
        &["known", "near", "novel"],
    ),
    (
        "opinions",
        "Opinions sent and received",
        &["opinions_sent", "opinions_received"],
        &["sent", "received"],
    ),
    (
        "reports",
        "Reports received and actioned",
        &["reports_received", "reports_actioned"],
        &["received", "actioned"],
    ),
    (
        "notices",
        "Notices, re-notices and removals",
        &["notices_sent", "renotices", "removals"],
        &["notices", "re-notices", "removals"],
    ),
    (
        "self-reports",
        "Self-report cases opened and withdrawn, and platforms' matches",
        &[
            "self_reports_opened",
            "self_reports_withdrawn",
            "self_report_matches",
        ],
        &["opened", "withdrawn", "matches"],
    ),
    (
        "forwards",
        "Reports forwarded across borders",
        &["forwards_out", "forwards_received", "forward_removals"],
        &["forwarded", "received", "removed"],
    ),
];

#[derive(Debug, Default, Deserialize)]
pub struct TransparencyRequest {
    /// An organisation's id; the caller's own by default (the deployment for admins and the
    /// deployment operator's auditors).
    pub org: Option<String>,
    /// The first month (`YYYY-MM`); eleven months before `to` by default.
    pub from: Option<String>,
    /// The last month, included; this month by default.
    pub to: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// Whose figures a caller reads (`None`: the deployment's): its organisation's, or any for
/// a deployment-wide reader (see `auth::Member::figures_scope`).
async fn scope(
    state: &SharedState,
    caller: &Caller,
    request: &TransparencyRequest,
) -> ApiResult<Option<OrgId>> {
    let requested = requested_org(request.org.as_deref())?;
    caller
        .member()
        .figures_scope(&state.store, requested)
        .await?
        .map_err(ApiError::forbidden)
}

/// The organisation a request names, if any.
pub fn requested_org(text: Option<&str>) -> ApiResult<Option<OrgId>> {
    match text.map(str::trim) {
        None | Some("") | Some("all") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| Some(OrgId(id)))
            .ok_or_else(|| ApiError::bad_request(format!("not an organisation id: {text:?}"))),
    }
}

/// The months a request asks for, `[from, to]`.
pub fn period(from: Option<&str>, to: Option<&str>) -> ApiResult<(Month, Month)> {
    let month = |text: &str| {
        text.parse::<Month>()
            .map_err(|_| ApiError::bad_request(format!("not a month (YYYY-MM): {text:?}")))
    };
    let to = match to {
        Some(text) => month(text)?,
        None => Month::of(Timestamp::now()),
    };
    let from = match from {
        Some(text) => month(text)?,
        None => to
            .before(11)
            .ok_or_else(|| ApiError::bad_request("the period starts before year 1"))?,
    };
    if from > to {
        return Err(ApiError::bad_request(
            "the period is empty (from is after to)",
        ));
    }
    if to.months_after(from) >= MAX_MONTHS {
        return Err(ApiError::bad_request(format!(
            "ask for at most {MAX_MONTHS} months at once"
        )));
    }
    Ok((from, to))
}

/// Reads the figures a caller may see, after adding this node's tally to the store (so
/// that they count the matches made until now).
pub async fn read(
    state: &SharedState,
    org: Option<OrgId>,
    (from, to): (Month, Month),
) -> ApiResult<Transparency> {
    if let Err(error) = state.tally.flush(&state.store).await {
        tracing::warn!(%error, "adding the match tally to the store failed");
    }
    Ok(state.store.transparency(org, from, to).await?)
}

/// `GET /v1/transparency?org=&from=&to=&format=json|csv`.
pub async fn transparency(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<TransparencyRequest>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let org = scope(&state, &caller, &request).await?;
    let months = period(request.from.as_deref(), request.to.as_deref())?;
    let format = request.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(ApiError::bad_request(format!(
            "format is json or csv, not {format:?}"
        )));
    }
    let figures = read(&state, org, months).await?;
    if format == "csv" {
        return Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (CACHE_CONTROL, "no-store"),
            ],
            csv(&figures),
        )
            .into_response());
    }
    let body = serde_json::to_vec(&figures).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /v1/transparency/{signals|queries|opinions|reports|notices|self-reports|forwards}.svg?
/// org=&from=&to=`.
pub async fn chart(
    State(state): State<SharedState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(request): Query<TransparencyRequest>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let org = scope(&state, &caller, &request).await?;
    let months = period(request.from.as_deref(), request.to.as_deref())?;
    let Some(name) = name.strip_suffix(".svg").filter(|n| chart_exists(n)) else {
        return Err(ApiError::not_found(format!("no chart named {name:?}")));
    };
    let figures = read(&state, org, months).await?;
    let whose = match org {
        None => "the deployment".to_owned(),
        Some(id) => state
            .store
            .org(id)
            .await?
            .map_or_else(|| format!("organisation {id}"), |o| o.name),
    };
    let svg = draw(&figures, name, &whose).unwrap_or_default();
    Ok(([(CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response())
}

fn chart_exists(name: &str) -> bool {
    CHARTS.iter().any(|(n, ..)| *n == name)
}

/// The figures as CSV: `month,figure,key,value`, a row per figure (keys quoted so that a
/// spreadsheet never reads them as formulas).
pub fn csv(figures: &Transparency) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for f in &figures.figures {
        out += &format!(
            "{},{},{},{}\n",
            f.month,
            f.figure,
            csv_field(&f.key),
            f.value_text()
        );
    }
    out
}

/// A figure's total in a month; `name` is a figure, or `figure:key` for one key of it.
fn month_total(figures: &Transparency, month: Month, name: &str) -> u64 {
    let (figure, key) = match name.split_once(':') {
        Some((figure, key)) => (figure, Some(key)),
        None => (name, None),
    };
    figures
        .figures
        .iter()
        .filter(|f| f.month == month && f.figure == figure && key.is_none_or(|k| f.key == k))
        .map(|f| f.value)
        .sum::<f64>()
        .round() as u64
}

/// Draws the chart `name` (one of [`CHARTS`]): a row per month, a bar per series; `whose`
/// names the organisation (or the deployment) the figures are of, as people know it.
pub fn draw(figures: &Transparency, name: &str, whose: &str) -> Option<String> {
    let (_, title, series, legend) = CHARTS.iter().find(|(n, ..)| *n == name)?;
    let rows: Vec<(String, Vec<u64>)> = figures
        .months
        .iter()
        .map(|m| {
            let values = series.iter().map(|s| month_total(figures, *m, s)).collect();
            (m.to_string(), values)
        })
        .collect();
    let totals: Vec<String> = series
        .iter()
        .zip(legend.iter())
        .map(|(s, l)| {
            let total: u64 = figures
                .months
                .iter()
                .map(|m| month_total(figures, *m, s))
                .sum();
            format!("{total} {l}")
        })
        .collect();
    let description = format!(
        "By month from {} to {} for {whose}: {}.",
        figures.from,
        figures.to,
        totals.join(", ")
    );
    Some(bars(name, title, &description, &rows, legend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::Figure;

    fn figures() -> Transparency {
        let jan: Month = "2026-01".parse().unwrap();
        let feb = jan.next();
        let figure = |month, figure, key: &str, value| Figure {
            month,
            figure,
            key: key.into(),
            value,
        };
        Transparency {
            org: None,
            from: jan,
            to: feb,
            months: vec![jan, feb],
            figures: vec![
                figure(jan, "contributed", "pdq/api", 3.0),
                figure(jan, "matches", "=HYPERLINK(\"x\")", 2.0),
                figure(jan, "queries", "known", 1.0),
                figure(jan, "queries", "novel", 3.0),
                figure(jan, "novel_share", "", 0.75),
                figure(feb, "reports_received", "<b>/en", 4.0),
                figure(feb, "forwards_out", "BE", 2.0),
                figure(feb, "forwards_out", "NL", 1.0),
                figure(feb, "forwards_received", "FR", 4.0),
                figure(feb, "forward_removals", "out", 1.0),
                figure(feb, "forward_removals", "in", 2.0),
                figure(feb, "forward_removal_median_seconds", "out", 5400.0),
            ],
        }
    }

    #[test]
    fn csv_is_a_row_per_figure_without_formulas() {
        let text = csv(&figures());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "2026-01,contributed,pdq/api,3");
        assert_eq!(lines[2], "2026-01,matches,\"'=HYPERLINK(\"\"x\"\")\",2");
        assert_eq!(lines[5], "2026-01,novel_share,,0.75");
        assert_eq!(lines[7], "2026-02,forwards_out,BE,2");
        assert_eq!(lines[12], "2026-02,forward_removal_median_seconds,out,5400");
        assert_eq!(lines.len(), 13);
    }

    #[test]
    fn charts_draw_months_with_escaped_text() {
        let svg = draw(&figures(), "queries", "Hotline <A>").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("2026-01") && svg.contains("2026-02"));
        assert!(svg.contains("1 known, 0 near, 3 novel"), "{svg}");
        assert!(svg.contains("for Hotline &lt;A&gt;:"), "{svg}");
        for (name, ..) in CHARTS {
            let svg = draw(&figures(), name, "x").unwrap();
            assert!(
                svg.contains(&format!("<title id=\"{name}-title\">")) && svg.ends_with("</svg>")
            );
            assert!(!svg.contains("<b>"));
        }
        assert_eq!(draw(&figures(), "nothing", "x"), None);
        // Forwards: every country's and both directions' removals summed, not the times.
        let svg = draw(&figures(), "forwards", "x").unwrap();
        assert!(svg.contains("3 forwarded, 4 received, 3 removed"), "{svg}");
        assert_eq!(CHARTS.len(), 7);
    }

    #[test]
    fn periods_and_scopes() {
        let (from, to) = period(Some("2026-01"), Some("2026-12")).unwrap();
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-01".into(), "2026-12".into())
        );
        let (from, to) = period(None, Some("2026-03")).unwrap();
        assert_eq!(from.to_string(), "2025-04");
        assert_eq!(to.to_string(), "2026-03");
        let (from, _) = period(None, Some("2026-12")).unwrap();
        assert_eq!(from.to_string(), "2026-01");
        for (from, to) in [
            (Some("2026-05"), Some("2026-04")),
            (Some("2026-13"), None),
            (None, Some("March")),
            (Some("2000-01"), Some("2026-01")),
        ] {
            assert!(period(from, to).is_err(), "{from:?} {to:?}");
        }
        assert_eq!(requested_org(Some("all")).unwrap(), None);
        assert_eq!(requested_org(Some("7")).unwrap(), Some(OrgId(7)));
        assert!(requested_org(Some("-1")).is_err());
        assert!(requested_org(Some("north")).is_err());
    }
}

#[cfg(test)]
mod router_tests {
    use axum::http::{Method, StatusCode};
    use serde_json::{Value, json};
    use ward_store::{Month, Role, Store as _, Timestamp};

    use crate::serve::tests::Fixture;

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const PDQ_NEAR: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    async fn get(f: &Fixture, uri: &str, key: Option<&str>) -> (StatusCode, Value) {
        f.json(Method::GET, uri, key, Value::Null).await
    }

    #[tokio::test]
    async fn transparency_counts_matches_and_checks_roles_and_input() {
        let f = Fixture::new().await;
        let bank = f.bank("=SUM(1)", json!({})).await;
        f.content(bank, "pdq", PDQ).await;
        f.content(bank, "md5", MD5).await;
        f.follow().await;
        let platform = f.key(Role::Platform);
        for (signal_type, signal) in [
            ("pdq", PDQ),
            ("pdq", PDQ_NEAR),
            ("md5", "00000000000000000000000000000000"),
        ] {
            let uri = format!("/v1/match?signal_type={signal_type}&signal={signal}");
            let (status, _) = get(&f, &uri, Some(platform)).await;
            assert_eq!(status, StatusCode::OK);
        }
        let month = Month::of(Timestamp::now());
        let (status, csv) = get(
            &f,
            "/v1/transparency?format=csv",
            Some(f.key(Role::Auditor)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let csv = csv.as_str().unwrap().to_owned();
        assert!(csv.starts_with("month,figure,key,value\n"), "{csv}");
        for line in [
            format!("{month},contributed,pdq/api,1"),
            format!("{month},contributed,md5/api,1"),
            // The exact PDQ and its neighbour; the bank's name is kept from formulas.
            format!("{month},matches,'=SUM(1),2"),
            format!("{month},queries,known,1"),
            format!("{month},queries,near,1"),
            format!("{month},queries,novel,1"),
            format!("{month},novel_share,,0.3333"),
        ] {
            assert!(csv.lines().any(|l| l == line), "{line} in\n{csv}");
        }
        // JSON: the same figures.
        let (status, body) = get(&f, "/v1/transparency", Some(f.key(Role::Admin))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["org"], Value::Null);
        assert_eq!(body["to"], json!(month.to_string()));
        let rows = body["figures"].as_array().unwrap();
        assert_eq!(rows.len() + 1, csv.lines().count());

        // Whose figures: a member sees their organisation; admins and auditors any.
        let a = f
            .state
            .store
            .org_by_name("NGO A")
            .await
            .unwrap()
            .unwrap()
            .id;
        let (status, body) = get(&f, "/v1/transparency", Some(f.key(Role::Curator))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["org"], json!(a.0));
        let (status, body) = get(&f, "/v1/transparency", Some(&f.other_curator)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !body["figures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["figure"] == "matches" || r["figure"] == "contributed"),
            "{body}"
        );
        let uri = format!("/v1/transparency?org={}", a.0);
        assert_eq!(
            get(&f, &uri, Some(&f.other_curator)).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&f, &uri, Some(f.key(Role::Auditor))).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&f, "/v1/transparency", Some(platform)).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&f, "/v1/transparency", None).await.0,
            StatusCode::UNAUTHORIZED
        );

        // Bad input.
        let auditor = Some(f.key(Role::Auditor));
        for uri in [
            "/v1/transparency?from=2026-13",
            "/v1/transparency?to=yesterday",
            "/v1/transparency?from=2026-05&to=2026-04",
            "/v1/transparency?from=1990-01&to=2026-01",
            "/v1/transparency?format=xml",
            "/v1/transparency?org=north",
            "/v1/transparency/queries.svg?from=x",
        ] {
            assert_eq!(
                get(&f, uri, auditor).await.0,
                StatusCode::BAD_REQUEST,
                "{uri}"
            );
        }

        // Charts.
        let (status, svg) = get(&f, "/v1/transparency/queries.svg", auditor).await;
        assert_eq!(status, StatusCode::OK);
        let svg = svg.as_str().unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("1 known, 1 near, 1 novel"),
            "{svg}"
        );
        assert_eq!(
            get(&f, "/v1/transparency/nothing.svg", auditor).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&f, "/v1/transparency/queries.svg", Some(platform))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
}
