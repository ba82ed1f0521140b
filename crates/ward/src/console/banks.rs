//! `/admin/banks` and a bank's pages: the banks a person sees, filtered; a bank's settings,
//! changed and deleted by those who manage it; its content, paged and searched by hash or
//! by label; a list imported into it from a file (with the API's per-record report) and
//! the bank exported in each format. Every read and change goes through the `/v1` handlers
//! as the signed-in person, so the API decides what each may do; the pages only leave out
//! the controls a person's role may not use.

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_core::exchange::Format;
use ward_store::{Bank, BankId, Role, Store as _};

use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Posted, check_csrf};
use super::view::{Header, answer};
use crate::analyst::view::FormFields;
use crate::serve::api::{self, READERS};
use crate::serve::exchange_api;
use crate::serve::{SharedState, bank_index::SIGNAL_TYPES};

/// The roles that create banks (`POST /v1/banks`).
const CREATORS: &[Role] = &[Role::Curator];

/// Content items a bank's page lists at a time.
const PAGE_ITEMS: u32 = 50;

/// The sharing choices, as the API names them.
const SHARINGS: [&str; 4] = ["private", "members", "public", "organisations"];

/// The export formats (`GET /v1/banks/{id}/export`).
const EXPORTS: [(&str, &str); 3] = [
    ("csv", "CSV"),
    ("hma", "HMA bank content (JSON lines)"),
    ("vics", "Project VIC (VICS JSON)"),
];

/// A bank as `GET /v1/banks/{id}` answers it.
#[derive(Debug, Deserialize)]
pub(super) struct BankView {
    pub id: i64,
    pub name: String,
    pub org: i64,
    pub kind: String,
    pub distance: u32,
    pub enabled: bool,
    pub enabled_ratio: f64,
    pub sharing: String,
    /// Only its managers read it.
    pub shared_with: Option<Vec<i64>>,
    pub dispute_limit: Option<u32>,
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct Banks {
    banks: Vec<BankView>,
}

/// An organisation as a form offers it.
#[derive(Debug)]
struct OrgChoice {
    id: i64,
    name: String,
    chosen: bool,
}

/// The list's filters, as GET parameters (empty ones ignored).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    org: Option<String>,
    kind: Option<String>,
    matching: Option<String>,
    name: Option<String>,
    done: Option<String>,
}

#[derive(Debug)]
struct BankRow {
    id: i64,
    name: String,
    org: String,
    kind: String,
    distance: u32,
    enabled: bool,
    ratio: String,
    sharing: String,
    signals: usize,
}

#[derive(Template)]
#[template(path = "banks.html", config = "src/console/askama.toml")]
struct BanksPage {
    header: Header,
    done: Option<&'static str>,
    rows: Vec<BankRow>,
    total: usize,
    orgs: Vec<OrgChoice>,
    filter_kind: String,
    filter_matching: String,
    filter_name: String,
    /// The create form, for those who may create banks.
    creates: bool,
    /// Admins create a bank for any organisation.
    picks_org: bool,
    own_org: i64,
    sharings: [&'static str; 4],
}

/// The fixed message a `done=` code stands for (never the query's text).
fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "The bank was created.",
        "saved" => "The bank's settings were saved.",
        "deleted" => "The bank was deleted.",
        "removed" => "The content item was removed.",
        _ => return None,
    })
}

fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// `GET /admin/banks`.
pub async fn list(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(filters): Query<Filters>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Banks).await?;
    let Banks { banks } = answer(api::list_banks(State(state.clone()), user.caller()).await)?;
    let orgs = state.store.orgs().await?;
    let org_name = |id: i64| {
        orgs.iter()
            .find(|o| o.id.0 == id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let filter_org = given(&filters.org).and_then(|o| o.parse::<i64>().ok());
    let filter_kind = given(&filters.kind).unwrap_or_default().to_owned();
    let filter_matching = given(&filters.matching).unwrap_or_default().to_owned();
    let filter_name = given(&filters.name).unwrap_or_default().to_owned();
    let needle = filter_name.to_lowercase();
    let sizes = state.index.bank_sizes();
    let total = banks.len();
    let rows = banks
        .into_iter()
        .filter(|b| filter_org.is_none_or(|o| b.org == o))
        .filter(|b| filter_kind.is_empty() || b.kind == filter_kind)
        .filter(|b| match filter_matching.as_str() {
            "enabled" => b.enabled,
            "disabled" => !b.enabled,
            _ => true,
        })
        .filter(|b| needle.is_empty() || b.name.to_lowercase().contains(&needle))
        .map(|b| BankRow {
            signals: sizes
                .get(&BankId(b.id))
                .map_or(0, |s| s.iter().sum::<usize>()),
            org: org_name(b.org),
            ratio: format!("{:.2}", b.enabled_ratio),
            id: b.id,
            name: b.name,
            kind: b.kind,
            distance: b.distance,
            enabled: b.enabled,
            sharing: b.sharing,
        })
        .collect();
    let page = BanksPage {
        done: done_message(filters.done.as_deref()),
        rows,
        total,
        orgs: orgs
            .iter()
            .map(|o| OrgChoice {
                id: o.id.0,
                name: o.name.clone(),
                chosen: filter_org == Some(o.id.0),
            })
            .collect(),
        filter_kind,
        filter_matching,
        filter_name,
        creates: user.may(CREATORS),
        picks_org: user.role() == Role::Admin,
        own_org: user.user.org.0,
        sharings: SHARINGS,
        header,
    };
    Ok(Html(page.render()?).into_response())
}

/// A whole number from a form field: `None` when empty.
fn number<T: std::str::FromStr>(form: &FormFields, name: &str) -> Result<Option<T>, ConsoleError> {
    match form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|_| ConsoleError::bad_request(format!("{name} is not a number: {value}"))),
    }
}

/// The settings a bank's forms carry, as the API's request takes them.
fn settings(form: &FormFields) -> Result<serde_json::Map<String, Value>, ConsoleError> {
    let mut fields = serde_json::Map::new();
    let text = |name: &str| form.get(name).map(str::trim).unwrap_or_default().to_owned();
    fields.insert("name".into(), json!(text("name")));
    if let Some(distance) = number::<u32>(form, "distance")? {
        fields.insert("distance".into(), json!(distance));
    }
    fields.insert("enabled".into(), json!(form.get("enabled").is_some()));
    if let Some(ratio) = number::<f64>(form, "enabled_ratio")? {
        fields.insert("enabled_ratio".into(), json!(ratio));
    }
    let sharing = text("sharing");
    if !sharing.is_empty() {
        fields.insert("sharing".into(), json!(sharing));
    }
    let shared_with = form
        .all("shared_with")
        .map(|id| {
            id.parse::<i64>()
                .map_err(|_| ConsoleError::bad_request("shared_with names organisations by id"))
        })
        .collect::<Result<Vec<i64>, _>>()?;
    fields.insert("shared_with".into(), json!(shared_with));
    fields.insert(
        "dispute_limit".into(),
        json!(number::<u32>(form, "dispute_limit")?),
    );
    fields.insert("description".into(), json!(text("description")));
    Ok(fields)
}

/// An API request read from the JSON a form was turned into (the API's own parsing and
/// refusals).
fn request<T: serde::de::DeserializeOwned>(fields: Value) -> Result<T, ConsoleError> {
    serde_json::from_value(fields).map_err(|e| ConsoleError::bad_request(e.to_string()))
}

/// `POST /admin/banks`: creates a bank (`POST /v1/banks`).
pub async fn create(
    State(state): State<SharedState>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let mut fields = settings(&form)?;
    if form
        .get("dispute_limit")
        .is_none_or(|v| v.trim().is_empty())
    {
        fields.remove("dispute_limit");
    }
    if let Some(kind) = form.get("kind").filter(|k| !k.is_empty()) {
        fields.insert("kind".into(), json!(kind));
    }
    if let Some(org) = number::<i64>(&form, "org")? {
        fields.insert("org".into(), json!(org));
    }
    let (_, Json(bank)) = api::create_bank(
        State(state),
        by.caller(),
        Json(request(Value::Object(fields))?),
    )
    .await?;
    let id = bank["id"].as_i64().unwrap_or_default();
    Ok(Redirect::to(&format!("/admin/banks/{id}?done=created")).into_response())
}

/// A bank's page's query: which content to list.
#[derive(Debug, Default, Deserialize)]
pub struct Listing {
    after: Option<String>,
    signal_type: Option<String>,
    signal: Option<String>,
    distance: Option<String>,
    label: Option<String>,
    done: Option<String>,
}

/// A content item as `GET /v1/banks/{id}/content` lists it.
#[derive(Debug, Deserialize)]
pub(super) struct ContentRow {
    pub id: i64,
    pub enabled: bool,
    pub signals: Vec<SignalView>,
    pub categories: Option<CategoriesView>,
    pub provenance: ProvenanceView,
    pub opinion_status: String,
    pub label: Option<LabelView>,
    #[serde(default)]
    pub distance: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SignalView {
    pub signal_type: String,
    pub signal: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CategoriesView {
    pub age_group: String,
    pub activity: String,
    pub industry: Option<String>,
    pub uk: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProvenanceView {
    pub added_at: String,
    pub added_by: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelView {
    pub scheme: String,
    pub label: String,
}

#[derive(Debug, Deserialize)]
struct ContentList {
    content: Vec<ContentRow>,
    next_after: Option<i64>,
}

/// What the content list shows: a page of the bank, or a search's results.
#[derive(Debug)]
enum Shown {
    Page,
    Hash,
    Label,
}

#[derive(Template)]
#[template(path = "bank.html", config = "src/console/askama.toml")]
struct BankPage {
    header: Header,
    done: Option<&'static str>,
    bank: BankView,
    org: String,
    signals: usize,
    /// Its settings' form and the delete, import and export... for its managers.
    manages: bool,
    /// The content list, for those who read content (`None`: their role does not).
    content: Option<Vec<ContentRow>>,
    shown: Shown,
    /// The next page of the list or of a label search.
    next_link: Option<String>,
    search_type: String,
    search_signal: String,
    search_distance: String,
    search_label: String,
    signal_types: [&'static str; 4],
    orgs: Vec<OrgChoice>,
    sharings: [&'static str; 4],
    formats: Vec<&'static str>,
    exports: [(&'static str, &'static str); 3],
    ratio: String,
}

/// The bank as the store keeps it, once the API has let the person see it.
async fn stored_bank(state: &SharedState, id: i64) -> Result<Bank, ConsoleError> {
    state
        .store
        .bank(BankId(id))
        .await?
        .ok_or_else(|| ConsoleError::not_found(format!("bank {id} not found")))
}

/// `GET /admin/banks/{id}`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(listing): Query<Listing>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Banks).await?;
    let bank: BankView =
        answer(api::get_bank(State(state.clone()), user.caller(), Path(id)).await)?;
    let stored = stored_bank(&state, id).await?;
    let manages = user.member().manages(&stored);
    let search_signal = given(&listing.signal).unwrap_or_default().to_owned();
    let search_label = given(&listing.label).unwrap_or_default().to_owned();
    let search_type = given(&listing.signal_type).unwrap_or("pdq").to_owned();
    let search_distance = given(&listing.distance).unwrap_or_default().to_owned();
    let shown = if !search_signal.is_empty() {
        Shown::Hash
    } else if !search_label.is_empty() {
        Shown::Label
    } else {
        Shown::Page
    };
    let (content, next_after) = if user.may(READERS) {
        let distance = match search_distance.as_str() {
            "" => None,
            d => Some(d.parse::<u32>().map_err(|_| {
                ConsoleError::bad_request("the distance is a whole number from 0 to 255")
            })?),
        };
        let query = api::Page {
            after: given(&listing.after).and_then(|a| a.parse().ok()),
            limit: Some(PAGE_ITEMS),
            signal_type: Some(search_type.clone()),
            signal: Some(search_signal.clone()),
            distance,
            label: Some(search_label.clone()),
        };
        let list: ContentList = answer(
            api::list_content(State(state.clone()), user.caller(), Path(id), Query(query)).await,
        )?;
        (Some(list.content), list.next_after)
    } else {
        (None, None)
    };
    let shared_with = bank.shared_with.clone().unwrap_or_default();
    let orgs = state.store.orgs().await?;
    let org = orgs
        .iter()
        .find(|o| o.id.0 == bank.org)
        .map_or_else(|| bank.org.to_string(), |o| o.name.clone());
    let orgs = if manages {
        orgs.iter()
            .filter(|o| o.id.0 != bank.org)
            .map(|o| OrgChoice {
                id: o.id.0,
                name: o.name.clone(),
                chosen: shared_with.contains(&o.id.0),
            })
            .collect()
    } else {
        Vec::new()
    };
    let signals = state
        .index
        .bank_sizes()
        .get(&BankId(id))
        .map_or(0, |s| s.iter().sum::<usize>());
    let page = BankPage {
        header,
        done: done_message(listing.done.as_deref()),
        ratio: format!("{}", bank.enabled_ratio),
        org,
        signals,
        manages,
        content,
        next_link: next_after.map(|after| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("after", &after.to_string());
            if let Shown::Label = shown {
                query.append_pair("label", &search_label);
            }
            format!("/admin/banks/{id}?{}", query.finish())
        }),
        shown,
        search_type,
        search_signal,
        search_distance,
        search_label,
        signal_types: [
            SIGNAL_TYPES[0],
            SIGNAL_TYPES[1],
            SIGNAL_TYPES[2],
            SIGNAL_TYPES[3],
        ]
        .map(|t| t.name()),
        orgs,
        sharings: SHARINGS,
        formats: Format::ALL.iter().map(|f| f.name()).collect(),
        exports: EXPORTS,
        bank,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/banks/{id}`: changes its settings (`PATCH /v1/banks/{id}`).
pub async fn update(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let fields = settings(&form)?;
    // The answer is the bank as it now is, which the page shows after the redirect.
    let _ = api::update_bank(
        State(state),
        by.caller(),
        Path(id),
        Json(request(Value::Object(fields))?),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/banks/{id}?done=saved")).into_response())
}

/// `POST /admin/banks/{id}/delete` (`DELETE /v1/banks/{id}`).
pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, .. }: Posted,
) -> Result<Response, ConsoleError> {
    api::delete_bank(State(state), by.caller(), Path(id)).await?;
    Ok(Redirect::to("/admin/banks?done=deleted").into_response())
}

/// An import's answer (`POST /v1/banks/{id}/import`).
#[derive(Debug, Deserialize)]
struct ImportReport {
    records: u64,
    added: u64,
    replaced: u64,
    removed: u64,
    missing: u64,
    unchanged: u64,
    malformed: u64,
    errors: Vec<RecordError>,
    fatal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RecordError {
    record: u64,
    line: u64,
    reason: String,
}

#[derive(Template)]
#[template(path = "import.html", config = "src/console/askama.toml")]
struct ImportPage {
    header: Header,
    bank: BankView,
    format: String,
    file_name: String,
    report: ImportReport,
    /// More records were malformed than the report lists.
    more_errors: bool,
}

/// What an import form sent: the list's format and the file.
#[derive(Debug, Default)]
struct ImportForm {
    format: String,
    file_name: String,
    file: Vec<u8>,
}

/// The longest text field of the import form read (the CSRF token, the format).
const IMPORT_FIELD: usize = 1 << 10;

/// Reads the import form: a multipart body whose CSRF token comes before the file (as the
/// page's form sends it), the file bounded by the upload limit; or, from a client without
/// a file, a plain form (the token and the format, and so an empty list).
async fn import_form(
    state: &SharedState,
    by: &ConsoleUser,
    request: Request,
) -> Result<ImportForm, ConsoleError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("multipart/form-data") {
        let body = axum::body::to_bytes(request.into_body(), super::FORM_LIMIT)
            .await
            .map_err(|e| ConsoleError::bad_request(e.to_string()))?;
        let form = FormFields::parse(&body);
        check_csrf(by, form.get("csrf"))?;
        return Ok(ImportForm {
            format: form.get("format").unwrap_or_default().to_owned(),
            ..ImportForm::default()
        });
    }
    let limit = state.config.body_limit;
    let bad =
        |e: axum::extract::multipart::MultipartError| ConsoleError::bad_request(e.body_text());
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let mut checked = false;
    let mut form = ImportForm::default();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if !checked {
                check_csrf(by, None)?;
            }
            form.file_name = field.file_name().unwrap_or_default().to_owned();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if form.file.len() + chunk.len() > limit {
                    return Err(ConsoleError::bad_request(format!(
                        "the file is larger than the upload limit ({} MiB)",
                        limit >> 20
                    )));
                }
                form.file.extend_from_slice(&chunk);
            }
            continue;
        }
        let mut text = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if text.len() + chunk.len() > IMPORT_FIELD {
                return Err(ConsoleError::bad_request(format!("{name} is too long")));
            }
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        match name.as_str() {
            "csrf" => {
                check_csrf(by, Some(&text))?;
                checked = true;
            }
            "format" => form.format = text,
            _ => {}
        }
    }
    if !checked {
        check_csrf(by, None)?;
    }
    Ok(form)
}

/// `POST /admin/banks/{id}/import`: a file in one of the formats `ward import` reads, into
/// the bank (`POST /v1/banks/{id}/import`); answers the import's report as a page (a
/// report is the answer to this one post, so it is shown rather than redirected to).
pub async fn import(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    posted: Request,
) -> Result<Response, ConsoleError> {
    let (mut parts, body) = posted.into_parts();
    let by = <ConsoleUser as axum::extract::FromRequestParts<SharedState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    .map_err(ConsoleError::not_a_page)?;
    let form = import_form(&state, &by, Request::from_parts(parts, body)).await?;
    let header = Header::of(&state, &by, Section::Banks).await?;
    let query: exchange_api::ImportQuery = request(json!({
        "format": form.format,
        "source": format!("console:import:{}", form.file_name.chars().take(64).collect::<String>()),
    }))?;
    let report: ImportReport = answer(
        exchange_api::import(
            State(state.clone()),
            by.caller(),
            Path(id),
            Query(query),
            axum::http::HeaderMap::new(),
            Body::from(form.file),
        )
        .await,
    )?;
    let bank: BankView = answer(api::get_bank(State(state.clone()), by.caller(), Path(id)).await)?;
    let page = ImportPage {
        header,
        bank,
        format: form.format,
        file_name: form.file_name,
        more_errors: report.malformed > report.errors.len() as u64,
        report,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ExportChoice {
    format: Option<String>,
}

/// `GET /admin/banks/{id}/export?format=…`: the bank as a download in the format
/// (`GET /v1/banks/{id}/export`, which names the file).
pub async fn export(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(choice): Query<ExportChoice>,
) -> Result<Response, ConsoleError> {
    super::view::opens(&user, Section::Banks)?;
    let query: exchange_api::ExportQuery = request(json!({ "format": choice.format }))?;
    Ok(exchange_api::export(State(state), user.caller(), Path(id), Query(query)).await?)
}
