//! `/admin/exchanges`: the live exchanges feeding the banks the person sees, with how their
//! fetching goes, and the Ward partners among them (exchanges of type `ward`) with the key
//! each is pinned to and its last sync; an exchange's page (`/admin/exchanges/{bank id}`)
//! with its settings and status. Those who manage the exchange's bank (curators of the
//! owning organisation, its administrator, admins) create exchanges, set credentials
//! (entered once and never shown again: the page says only whether they are set), turn
//! fetching on and off, ask for a fetch at once and delete, all through HMA's exchange
//! handlers ([`crate::serve::hma_exchanges`]), which decide who may.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use ward_store::{Bank, BankId, Exchange, Role, Store as _, Timestamp};

use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Posted};
use super::view::{Header, answer};
use crate::analyst::view::age;
use crate::exchanges::Api;
use crate::serve::SharedState;
use crate::serve::error::ApiError;
use crate::serve::hma_exchanges::{self as hma, HmaCaller};

/// Those who change exchanges (HMA's routes ask for curators of the owning organisation).
const CHANGERS: &[Role] = &[Role::Curator];

/// What a form did, said by a fixed message (never text from the query).
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "The exchange was created. Set its credentials if its type needs them.",
        "credentials" => "The credentials were saved. They are never shown again.",
        "enabled" => "Fetching is on.",
        "disabled" => "Fetching is off.",
        "fetch" => "A fetch was asked for: the next node's fetcher to look takes it at once.",
        "deleted" => "The exchange and its bank were deleted.",
        _ => return None,
    })
}

/// An exchange as the pages show it.
#[derive(Debug)]
struct ExchangeRow {
    bank: i64,
    name: String,
    api: String,
    org: String,
    enabled: bool,
    last_fetch: String,
    state: &'static str,
    state_class: &'static str,
    up_to_date: bool,
    items: i64,
    failures: i64,
    error: Option<String>,
    fetch_asked: bool,
    running: bool,
}

/// A Ward partner: an exchange of type `ward`.
#[derive(Debug)]
struct PartnerRow {
    bank: i64,
    name: String,
    url: String,
    public_key: String,
    last_sync: String,
    state: &'static str,
    state_class: &'static str,
}

/// A setting of a type's schema, as a form field.
#[derive(Debug, Deserialize)]
struct SchemaField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    required: bool,
    help: String,
    choices: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Fields {
    fields: Vec<SchemaField>,
}

#[derive(Debug, Deserialize)]
struct Schema {
    config_schema: Fields,
    credentials_schema: Fields,
}

/// The form to create an exchange of one type.
#[derive(Debug)]
struct NewForm {
    api: String,
    /// A partner's: its API key is given with its settings.
    ward: bool,
    fields: Vec<SchemaField>,
}

#[derive(Template)]
#[template(path = "exchanges.html", config = "src/console/askama.toml")]
struct ListPage {
    header: Header,
    done: Option<&'static str>,
    exchanges: Vec<ExchangeRow>,
    partners: Vec<PartnerRow>,
    may_create: bool,
    /// The types, and whether each is the one chosen.
    apis: Vec<(&'static str, bool)>,
    new: Option<NewForm>,
}

#[derive(Template)]
#[template(path = "exchange.html", config = "src/console/askama.toml")]
struct ExchangePage {
    header: Header,
    done: Option<&'static str>,
    exchange: ExchangeRow,
    settings: Vec<(String, String)>,
    manages: bool,
    /// Whether the exchange's credentials are set (never what they are); shown only to
    /// those who manage it.
    credentials_set: bool,
    credentials: Vec<SchemaField>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    /// The type whose creation form is shown.
    new: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn row(exchange: &Exchange, org: String, now: Timestamp) -> ExchangeRow {
    let status = &exchange.status;
    let (state, state_class) = fetch_state(exchange);
    ExchangeRow {
        bank: exchange.bank.0,
        name: exchange.name.clone(),
        api: exchange.api.clone(),
        org,
        enabled: exchange.enabled,
        last_fetch: status
            .last_fetch_complete_ts
            .map_or_else(|| "never".to_owned(), |t| format!("{} ago", age(t, now))),
        state,
        state_class,
        up_to_date: status.up_to_date,
        items: status.fetched_items,
        failures: status.failures,
        error: status.last_error.clone(),
        fetch_asked: status.fetch_requested_at.is_some(),
        running: status.running_fetch_start_ts.is_some(),
    }
}

/// How an exchange's fetching goes, in a word, and its class.
fn fetch_state(exchange: &Exchange) -> (&'static str, &'static str) {
    match (exchange.enabled, exchange.status.last_fetch_succeeded) {
        (false, _) => ("disabled", "state-idle"),
        (true, None) => ("not fetched yet", "state-idle"),
        (true, Some(true)) => ("fetched", "state-ok"),
        (true, Some(false)) => ("failing", "state-bad"),
    }
}

/// The exchanges whose banks `user` sees (as HMA's routes see them), with those banks.
async fn seen(
    state: &SharedState,
    user: &ConsoleUser,
) -> Result<Vec<(Exchange, Bank)>, ConsoleError> {
    let member = user.member();
    let banks = state.store.banks().await?;
    Ok(state
        .store
        .exchanges()
        .await?
        .into_iter()
        .filter_map(|e| {
            let bank = banks.iter().find(|b| b.id == e.bank && member.sees(b))?;
            Some((e, bank.clone()))
        })
        .collect())
}

async fn org_names(state: &SharedState) -> Result<Vec<(i64, String)>, ConsoleError> {
    Ok(state
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id.0, o.name))
        .collect())
}

fn org_name(orgs: &[(i64, String)], id: i64) -> String {
    orgs.iter()
        .find(|(o, _)| *o == id)
        .map_or_else(|| id.to_string(), |(_, name)| name.clone())
}

/// A type's settings and credentials, as HMA's schema route gives them.
async fn schema(user: &ConsoleUser, api: &str) -> Result<Schema, ConsoleError> {
    let result = hma::schema(HmaCaller(user.caller()), Path(api.to_owned()))
        .await
        .map_err(ApiError::from);
    answer(result)
}

/// `GET /admin/exchanges`.
pub async fn list(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Exchanges).await?;
    let now = Timestamp::now();
    let orgs = org_names(&state).await?;
    let seen = seen(&state, &user).await?;
    let exchanges = seen
        .iter()
        .map(|(e, _)| row(e, org_name(&orgs, e.org.0), now))
        .collect();
    let partners = seen
        .iter()
        .filter(|(e, _)| e.api == Api::Ward.name())
        .map(|(e, _)| {
            let config: Map<String, Value> = serde_json::from_str(&e.config).unwrap_or_default();
            let text = |name: &str| {
                config
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let (state, state_class) = fetch_state(e);
            PartnerRow {
                bank: e.bank.0,
                name: Some(text("partner"))
                    .filter(|partner| !partner.is_empty())
                    .unwrap_or_else(|| e.name.clone()),
                url: text("url"),
                public_key: text("public_key"),
                last_sync: e
                    .status
                    .last_fetch_complete_ts
                    .map_or_else(|| "never".to_owned(), |t| format!("{} ago", age(t, now))),
                state,
                state_class,
            }
        })
        .collect();
    let may_create = user.may(CHANGERS);
    let new = match query.new.as_deref().filter(|_| may_create) {
        Some(api) => {
            let known = Api::named(api)
                .ok_or_else(|| ConsoleError::bad_request("no such exchange type"))?;
            Some(NewForm {
                api: known.name().to_owned(),
                ward: known == Api::Ward,
                fields: schema(&user, known.name()).await?.config_schema.fields,
            })
        }
        None => None,
    };
    let page = ListPage {
        header,
        done: query.done.as_deref().and_then(done_message),
        exchanges,
        partners,
        may_create,
        apis: Api::ALL
            .iter()
            .map(|api| {
                (
                    api.name(),
                    new.as_ref().is_some_and(|n| n.api == api.name()),
                )
            })
            .collect(),
        new,
    };
    Ok(Html(page.render()?).into_response())
}

/// A setting from the form as the type's schema reads it: text, a number, a set of
/// numbers (separated by commas or spaces); `None` when left empty.
fn setting(field: &SchemaField, given: &str) -> Result<Option<Value>, ConsoleError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(None);
    }
    let number = |text: &str| {
        text.parse::<i64>()
            .map(Value::from)
            .map_err(|_| ConsoleError::bad_request(format!("{}: not a number", field.name)))
    };
    Ok(Some(match field.kind.as_str() {
        "number" => number(given)?,
        "set_of_number" => Value::Array(
            given
                .split([',', ' '])
                .filter(|p| !p.is_empty())
                .map(number)
                .collect::<Result<_, _>>()?,
        ),
        _ => Value::String(given.to_owned()),
    }))
}

/// `POST /admin/exchanges`: `api`, `bank` (the new bank's name), `enabled`, and each setting
/// of the type as `cfg.NAME` (a `ward` partner's key as `cfg.api_key`).
pub async fn create(
    State(state): State<SharedState>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    super::view::opens(&by, Section::Exchanges)?;
    let api = form.get("api").unwrap_or("");
    let known =
        Api::named(api).ok_or_else(|| ConsoleError::bad_request("no such exchange type"))?;
    let schema = schema(&by, known.name()).await?;
    let mut settings = Map::new();
    for field in &schema.config_schema.fields {
        if let Some(value) = setting(
            field,
            form.get(&format!("cfg.{}", field.name)).unwrap_or(""),
        )? {
            settings.insert(field.name.clone(), value);
        }
    }
    if known == Api::Ward
        && let Some(key) = form.get("cfg.api_key").filter(|k| !k.trim().is_empty())
    {
        settings.insert("api_key".into(), json!(key.trim()));
    }
    settings.insert("enabled".into(), json!(form.get("enabled") == Some("on")));
    let name = form.get("bank").unwrap_or("").trim().to_owned();
    let body = json!({"bank": name, "api": known.name(), "api_json": settings});
    let _made = hma::create(
        State(state.clone()),
        HmaCaller(by.caller()),
        Bytes::from(body.to_string()),
    )
    .await
    .map_err(ApiError::from)?;
    let made = state
        .store
        .exchanges()
        .await?
        .into_iter()
        .find(|e| e.name == name && e.org == by.user.org)
        .ok_or_else(|| ConsoleError::not_found("the exchange made"))?;
    Ok(Redirect::to(&format!("/admin/exchanges/{}?done=created", made.bank)).into_response())
}

/// The exchange filling bank `id`, if `user` sees the bank.
async fn exchange_of(
    state: &SharedState,
    user: &ConsoleUser,
    id: i64,
) -> Result<(Exchange, Bank), ConsoleError> {
    seen(state, user)
        .await?
        .into_iter()
        .find(|(e, _)| e.bank == BankId(id))
        .ok_or_else(|| ConsoleError::not_found(format!("exchange of bank {id}")))
}

/// `GET /admin/exchanges/{bank id}`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Exchanges).await?;
    let (exchange, bank) = exchange_of(&state, &user, id).await?;
    let orgs = org_names(&state).await?;
    let manages = user.may(CHANGERS) && user.member().manages(&bank);
    let mut settings: Vec<(String, String)> = match serde_json::from_str::<Value>(&exchange.config)
    {
        Ok(Value::Object(config)) => config
            .into_iter()
            .map(|(name, value)| {
                let shown = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, shown)
            })
            .collect(),
        _ => Vec::new(),
    };
    settings.sort();
    let (credentials_set, credentials) = if manages {
        let kept_as = if exchange.api == Api::Ward.name() {
            ward_store::credentials_name(&exchange.api, exchange.bank)
        } else {
            exchange.api.clone()
        };
        let set = state
            .store
            .exchange_credentials(exchange.org, &kept_as)
            .await?
            .is_some();
        let fields = match Api::named(&exchange.api) {
            Some(known) => schema(&user, known.name()).await?.credentials_schema.fields,
            None => Vec::new(),
        };
        (set, fields)
    } else {
        (false, Vec::new())
    };
    let page = ExchangePage {
        header,
        done: query.done.as_deref().and_then(done_message),
        exchange: row(&exchange, org_name(&orgs, exchange.org.0), Timestamp::now()),
        settings,
        manages,
        credentials_set,
        credentials,
    };
    Ok(Html(page.render()?).into_response())
}

/// What is done to an exchange through HMA's handlers, by its name.
async fn managed_name(
    state: &SharedState,
    by: &ConsoleUser,
    id: i64,
) -> Result<String, ConsoleError> {
    super::view::opens(by, Section::Exchanges)?;
    Ok(exchange_of(state, by, id).await?.0.name)
}

fn back(id: i64, done: &str) -> Response {
    Redirect::to(&format!("/admin/exchanges/{id}?done={done}")).into_response()
}

/// `POST /admin/exchanges/{bank id}/enabled`: `enabled` `true` or `false`.
pub async fn set_enabled(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let name = managed_name(&state, &by, id).await?;
    let enabled = match form.get("enabled") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(ConsoleError::bad_request("enabled is true or false")),
    };
    let _updated = hma::update(
        State(state.clone()),
        HmaCaller(by.caller()),
        Path(name),
        Bytes::from(json!({ "enabled": enabled }).to_string()),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(back(id, if enabled { "enabled" } else { "disabled" }))
}

/// `POST /admin/exchanges/{bank id}/fetch`: a fetch at once.
pub async fn fetch_now(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let name = managed_name(&state, &by, id).await?;
    let _status = hma::fetch_now(State(state.clone()), HmaCaller(by.caller()), Path(name))
        .await
        .map_err(ApiError::from)?;
    Ok(back(id, "fetch"))
}

/// `POST /admin/exchanges/{bank id}/credentials`: each credential of the type as
/// `cred.NAME`, kept sealed for the person's organisation (a `ward` exchange's for itself).
pub async fn set_credentials(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let name = managed_name(&state, &by, id).await?;
    let (exchange, _) = exchange_of(&state, &by, id).await?;
    let known = Api::named(&exchange.api)
        .ok_or_else(|| ConsoleError::bad_request("Ward does not fetch this type"))?;
    let mut credentials = Map::new();
    for field in schema(&by, known.name()).await?.credentials_schema.fields {
        if let Some(value) = form
            .get(&format!("cred.{}", field.name))
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            credentials.insert(field.name, json!(value));
        }
    }
    if credentials.is_empty() {
        return Err(ConsoleError::bad_request("no credentials were given"));
    }
    if known == Api::Ward {
        credentials.insert("exchange".into(), json!(name));
    }
    let _kept = hma::set_credentials(
        State(state.clone()),
        HmaCaller(by.caller()),
        Path(known.name().to_owned()),
        Bytes::from(json!({ "credential_json": credentials }).to_string()),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(back(id, "credentials"))
}

/// `POST /admin/exchanges/{bank id}/delete`: the exchange and its bank.
pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let name = managed_name(&state, &by, id).await?;
    let Json(_) = hma::remove(State(state.clone()), HmaCaller(by.caller()), Path(name))
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/admin/exchanges?done=deleted").into_response())
}
