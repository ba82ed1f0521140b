//! HMA 2's exchange routes (`/c/exchanges…`, `/c/exchange/{name}…`) on Ward's exchanges, so
//! that an HMA client sets up and watches fetching unchanged: of the types Ward fetches
//! ([`Api`]: `ncmec`, `stop_ncii`, `fb_threatexchange`, and Ward's own `file`, a hash list at
//! a URL, and `ward`, another Ward instance's signed feed), with HMA's schemas, credential
//! JSON and settings (`api_json`), and Ward's `base_url` (and `page_size`) besides.
//!
//! An exchange is seen through its bank: a caller sees the exchanges whose banks it sees
//! (by name, as `/c/bank/{name}` resolves names), and changes those whose banks its
//! organisation owns (curators). Where HMA keeps one set of credentials per exchange type
//! for the whole deployment, Ward keeps each organisation's own: `POST
//! /c/exchanges/api/{api}` sets the caller's organisation's, and `has_set_authentification`
//! says whether it has them. They are sealed with the deployment's key and never answered.
//!
//! A `ward` exchange's credentials are its own (every partner gives its own API key: see
//! [`crate::exchanges::ward`]): `api_json`'s `api_key` at `POST /c/exchanges` is taken out
//! of the settings and kept as the new exchange's credentials, and `POST
//! /c/exchanges/api/ward` takes `credential_json` `{"exchange": NAME, "api_key"}` for an
//! exchange the caller's organisation owns (a key alone is refused: it would fit no
//! exchange in particular); its `has_set_authentification` says whether every `ward`
//! exchange of the organisation has its key.
//!
//! Where HMA answers 500 (credentials that do not fit the type, a name taken), Ward answers
//! 400 or 409 with HMA's `{"message"}`; `PUT /c/exchange/{name}` answers the exchange as
//! `GET` does (HMA's body there is the concatenated field names).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};
use ward_store::{EXCHANGE_APIS, Exchange, NewExchange, Role, Store, StoreError};

use super::SharedState;
use super::auth::Caller;
use super::hma::{
    HmaError, HmaResult, boolean, check_bank_name, json_object, managed_bank, model_bool, new_bank,
    visible_bank,
};
use crate::exchanges::{Api, Credentials, credentials_context};

/// The caller these handlers take, for the console, which calls them as the signed-in
/// person.
pub(crate) use super::hma::HmaCaller;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/c/exchanges/apis", get(apis))
        .route("/c/exchanges/api/{api}", get(api).post(set_credentials))
        .route("/c/exchanges/api/{api}/schema", get(schema))
        .route("/c/exchanges", get(list).post(create))
        .route("/c/exchange/{name}", get(show).put(update).delete(remove))
        .route("/c/exchange/{name}/status", get(status))
        .route("/c/exchange/{name}/fetch", axum::routing::post(fetch_now))
}

/// `GET /c/exchanges/apis`: the types Ward fetches (HMA lists its installed ones).
pub(crate) async fn apis(HmaCaller(_caller): HmaCaller) -> Json<Value> {
    let names: Vec<&str> = Api::ALL.iter().map(|api| api.name()).collect();
    Json(json!(names))
}

/// `GET /c/exchanges/api/{api}`: whether the type takes credentials, and whether the
/// caller's organisation has set them.
pub(crate) async fn api(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(api): Path<String>,
) -> HmaResult<Json<Value>> {
    let known = Api::named(&api)
        .ok_or_else(|| HmaError::bad_request(format!("no such Exchange API '{api}'")))?;
    let set = credentials_set(&state, caller.org(), known).await?;
    Ok(Json(json!({
        "supports_authentification": true,
        "has_set_authentification": set,
    })))
}

/// Whether `org` has credentials for `api`; for `ward`, whether each of its `ward`
/// exchanges (at least one) has its own.
async fn credentials_set(state: &SharedState, org: ward_store::OrgId, api: Api) -> HmaResult<bool> {
    if api != Api::Ward {
        return Ok(state
            .store
            .exchange_credentials(org, api.name())
            .await?
            .is_some());
    }
    let mut any = false;
    for exchange in state.store.exchanges().await? {
        if exchange.org != org || exchange.api != api.name() {
            continue;
        }
        any = true;
        let kept_as = ward_store::credentials_name(&exchange.api, exchange.bank);
        if state
            .store
            .exchange_credentials(org, &kept_as)
            .await?
            .is_none()
        {
            return Ok(false);
        }
    }
    Ok(any)
}

/// Seals `credentials` for `org` under `kept_as` and keeps them.
async fn keep_credentials(
    state: &SharedState,
    caller: &Caller,
    kept_as: &str,
    credentials: &Credentials,
) -> HmaResult<()> {
    let key = state.config.secrets.as_ref().ok_or_else(no_key)?;
    let org = caller.org();
    let sealed = key
        .seal_secret(&credentials_context(org, kept_as), &credentials.to_json())
        .map_err(|e| HmaError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    state
        .store
        .set_exchange_credentials(&caller.actor(), org, kept_as, Some(&sealed))
        .await?;
    Ok(())
}

fn no_key() -> HmaError {
    HmaError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "this node has no key to seal credentials with",
    )
}

/// `POST /c/exchanges/api/{api}`: `credential_json` an object sets the caller's
/// organisation's credentials, `{}` (or another empty value) clears them, absent or null
/// leaves them.
pub(crate) async fn set_credentials(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(api): Path<String>,
    body: Bytes,
) -> HmaResult<Json<Value>> {
    caller.require(&[Role::Curator])?;
    let known = Api::named(&api)
        .ok_or_else(|| HmaError::bad_request(format!("no such Exchange API '{api}'")))?;
    let api = known.name();
    let body = json_object(&body)?;
    let org = caller.org();
    if known == Api::Ward {
        set_ward_credentials(&state, &caller, body.get("credential_json")).await?;
        return Ok(Json(json!({
            "supports_authentification": true,
            "has_set_authentification": credentials_set(&state, org, known).await?,
        })));
    }
    match body.get("credential_json") {
        None | Some(Value::Null) => {}
        Some(value) if is_empty(value) => {
            state
                .store
                .set_exchange_credentials(&caller.actor(), org, api, None)
                .await?;
        }
        Some(value) => {
            let credentials = known
                .credentials(value.clone())
                .map_err(|shape| HmaError::bad_request(format!("credential_json: {shape}")))?;
            keep_credentials(&state, &caller, api, &credentials).await?;
        }
    }
    let set = state.store.exchange_credentials(org, api).await?.is_some();
    Ok(Json(json!({
        "supports_authentification": true,
        "has_set_authentification": set,
    })))
}

/// `credential_json` `{"exchange": NAME, "api_key"}` for `ward`: the key of that exchange
/// of the caller's organisation (absent or null: nothing changes).
async fn set_ward_credentials(
    state: &SharedState,
    caller: &Caller,
    given: Option<&Value>,
) -> HmaResult<()> {
    let mut given = match given {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(given)) => given.clone(),
        Some(_) => return Err(HmaError::bad_request(WARD_CREDENTIALS)),
    };
    let Some(Value::String(name)) = given.remove("exchange") else {
        return Err(HmaError::bad_request(WARD_CREDENTIALS));
    };
    let credentials = Api::Ward
        .credentials(Value::Object(given))
        .map_err(|shape| HmaError::bad_request(format!("credential_json: {shape}")))?;
    let missing = || format!("Exchange '{name}' not found");
    let bank = managed_bank(state, caller, &name, missing).await?;
    let exchange = named(state, caller, &bank.name).await?;
    if exchange.api != Api::Ward.name() || exchange.bank != bank.id {
        return Err(HmaError::not_found(missing()));
    }
    let kept_as = ward_store::credentials_name(&exchange.api, exchange.bank);
    keep_credentials(state, caller, &kept_as, &credentials).await
}

const WARD_CREDENTIALS: &str = "credential_json: a ward exchange's key is its own: \
     {\"exchange\": NAME, \"api_key\"} (or api_key in api_json when it is made)";

/// What Python reads as false: `{}`, `[]`, `""`, `0`, `false`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
    }
}

fn field(name: &str, kind: &str, required: bool, default: Value, help: &str) -> Value {
    json!({"name": name, "type": kind, "required": required, "default": default,
           "help": help, "choices": Value::Null})
}

/// `GET /c/exchanges/api/{api}/schema`: HMA's fields of the type (EXCHANGES.md §6.2), and
/// Ward's own settings after them.
pub(crate) async fn schema(
    HmaCaller(_caller): HmaCaller,
    Path(api): Path<String>,
) -> HmaResult<Json<Value>> {
    let known = Api::named(&api)
        .ok_or_else(|| HmaError::not_found(format!("Exchange API '{api}' not found")))?;
    let base_url = field(
        "base_url",
        "string",
        false,
        Value::Null,
        "where requests go instead of the API (a proxy)",
    );
    let page_size = field(
        "page_size",
        "number",
        false,
        Value::Null,
        "records a page asks for",
    );
    let (config, credentials) = match known {
        Api::Ncmec => {
            let mut environment = field(
                "environment",
                "enum",
                true,
                Value::Null,
                "the NCMEC environment's base URL",
            );
            environment["choices"] = json!(ENVIRONMENTS);
            (
                vec![
                    environment,
                    field(
                        "only_esp_ids",
                        "set_of_number",
                        false,
                        json!([]),
                        "the members whose entries to take (none: every member's)",
                    ),
                    base_url,
                ],
                vec![
                    field("user", "string", true, Value::Null, "NCMEC's user name"),
                    field("password", "string", true, Value::Null, "NCMEC's password"),
                ],
            )
        }
        Api::StopNcii => (
            vec![base_url, page_size],
            vec![
                field(
                    "fetch_function_key",
                    "string",
                    true,
                    Value::Null,
                    "the FetchHashes function key (x-functions-key)",
                ),
                field(
                    "subscription_key",
                    "string",
                    true,
                    Value::Null,
                    "the API Management subscription key (Ocp-Apim-Subscription-Key)",
                ),
                field(
                    "base_url_override",
                    "string",
                    false,
                    Value::Null,
                    "where requests go instead of StopNCII's API",
                ),
            ],
        ),
        Api::ThreatExchange => (
            vec![
                field(
                    "privacy_group",
                    "number",
                    true,
                    Value::Null,
                    "the privacy group whose updates to fetch",
                ),
                base_url,
                page_size,
            ],
            vec![field(
                "api_token",
                "string",
                true,
                Value::Null,
                "the app's access token (APPID|SECRET)",
            )],
        ),
        Api::File => {
            let mut format = field("format", "enum", true, Value::Null, "the list's format");
            format["choices"] = json!(["csv", "hma", "vics"]);
            (
                vec![
                    field(
                        "url",
                        "string",
                        true,
                        Value::Null,
                        "where the list is: https (http only to a loopback address)",
                    ),
                    format,
                    field(
                        "page_size",
                        "number",
                        false,
                        Value::Null,
                        "items a saved page holds",
                    ),
                ],
                vec![field(
                    "bearer",
                    "string",
                    false,
                    Value::Null,
                    "a token sent as Authorization: Bearer (none: the list is open)",
                )],
            )
        }
        Api::Ward => (
            vec![
                field(
                    "url",
                    "string",
                    true,
                    Value::Null,
                    "the partner instance's base URL (http or https)",
                ),
                field(
                    "public_key",
                    "string",
                    true,
                    Value::Null,
                    "the partner's Ed25519 public key (hex, from its /v1/instance, compared \
                     with the partner's own): every page must carry its signature",
                ),
                base_url,
                field(
                    "partner",
                    "string",
                    false,
                    Value::Null,
                    "this instance's name for the partner, as provenance says it (sync:NAME; \
                     the exchange's name when absent)",
                ),
            ],
            vec![field(
                "api_key",
                "string",
                true,
                Value::Null,
                "the API key the partner gave (this exchange's own; at creation, api_json's \
                 api_key)",
            )],
        ),
    };
    Ok(Json(json!({
        "config_schema": {"fields": config},
        "credentials_schema": {"fields": credentials},
    })))
}

/// NCMEC's environments (EXCHANGES.md §2.1), as HMA's schema lists them.
const ENVIRONMENTS: [&str; 14] = [
    "https://report.cybertip.org/hashsharing",
    "https://exttest.cybertip.org/hashsharing",
    "https://report.cybertip.org/exploitative-hashsharing",
    "https://exttest.cybertip.org/exploitative-hashsharing",
    "https://lesp.ncmec.org/csam-hashsharing",
    "https://betalesp.ncmec.org/csam-hashsharing",
    "https://hashsharing.ncmec.org/npo",
    "https://hashsharing-test.ncmec.org/npo",
    "https://hashsharing.ncmec.org/exploitative",
    "https://hashsharing-test.ncmec.org/exploitative",
    "https://hashsharing.ncmec.org/generative-ai-csam",
    "https://hashsharing-test.ncmec.org/generative-ai-csam",
    "https://hashsharing.ncmec.org/generative-ai-exploitative",
    "https://hashsharing-test.ncmec.org/generative-ai-exploitative",
];

/// The exchanges whose banks the caller sees.
async fn seen(state: &SharedState, caller: &Caller) -> HmaResult<Vec<Exchange>> {
    let banks = state.store.banks().await?;
    Ok(state
        .store
        .exchanges()
        .await?
        .into_iter()
        .filter(|e| banks.iter().any(|b| b.id == e.bank && caller.sees(b)))
        .collect())
}

/// The exchange a name means to the caller: the exchange of the bank the name means.
async fn named(state: &SharedState, caller: &Caller, name: &str) -> HmaResult<Exchange> {
    let missing = || HmaError::not_found(format!("Exchange '{name}' not found"));
    let bank = visible_bank(state, caller, name)
        .await?
        .ok_or_else(missing)?;
    seen(state, caller)
        .await?
        .into_iter()
        .find(|e| e.bank == bank.id)
        .ok_or_else(missing)
}

/// `GET /c/exchanges`: names.
pub(crate) async fn list(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
) -> HmaResult<Json<Value>> {
    let names: Vec<String> = seen(&state, &caller)
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    Ok(Json(json!(names)))
}

/// An exchange as HMA's typed config: its settings with `name`, `api` and `enabled`.
fn config_json(exchange: &Exchange) -> Value {
    let mut config = match serde_json::from_str::<Value>(&exchange.config) {
        Ok(Value::Object(config)) => config,
        _ => Map::new(),
    };
    config.insert("name".into(), json!(exchange.name));
    config.insert("api".into(), json!(exchange.api));
    config.insert("enabled".into(), json!(exchange.enabled));
    Value::Object(config)
}

/// `POST /c/exchanges` `{"bank", "api", "api_json"}`: the exchange and its bank, of the
/// caller's organisation.
pub(crate) async fn create(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    body: Bytes,
) -> HmaResult<(StatusCode, Json<Value>)> {
    caller.require(&[Role::Curator])?;
    let body = json_object(&body)?;
    let name = match body.get("bank") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return Err(HmaError::bad_request("bank is required")),
    };
    if check_bank_name(&name).is_err() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(HmaError::bad_request(
            "Field `bank` must match /^[A-Z0-9_]+$/",
        ));
    }
    let settings = match body.get("api_json") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(settings)) => settings.clone(),
        Some(_) => return Err(HmaError::bad_request("Field `api_json` must be object")),
    };
    let api = match body.get("api") {
        Some(Value::String(api)) if !api.is_empty() => api.clone(),
        _ => return Err(HmaError::bad_request("Field `api_type` is required")),
    };
    let Some(known) = Api::named(&api) else {
        let hint = if EXCHANGE_APIS.contains(&api.as_str()) {
            " (Ward does not fetch it yet)"
        } else {
            ""
        };
        return Err(HmaError::bad_request(format!(
            "No such exchange type '{api}'{hint}"
        )));
    };
    let mut settings = settings;
    let enabled = match settings.remove("enabled") {
        Some(value) => boolean(&value)?,
        None => true,
    };
    // A ward exchange's key, never part of its settings.
    let credentials = match settings.remove("api_key") {
        Some(api_key) if known == Api::Ward => {
            let credentials = known
                .credentials(json!({ "api_key": api_key }))
                .map_err(|shape| HmaError::bad_request(format!("api_json: {shape}")))?;
            state.config.secrets.as_ref().ok_or_else(no_key)?;
            Some(credentials)
        }
        Some(_) => {
            return Err(HmaError::bad_request(
                "Failed to parse `api_json` - api_key: only a ward exchange takes one",
            ));
        }
        None => None,
    };
    let config = known
        .settings(Value::Object(settings))
        .map_err(|e| HmaError::bad_request(format!("Failed to parse `api_json` - {e}")))?;
    let bank = new_bank(name.clone(), &caller, true);
    let taken = || {
        HmaError::new(
            StatusCode::CONFLICT,
            format!("a bank or exchange named '{name}' exists already"),
        )
    };
    let bank = match state.store.create_bank(&caller.actor(), &bank).await {
        Err(StoreError::Conflict(_)) => return Err(taken()),
        other => other?,
    };
    let exchange = NewExchange {
        api: known.name().to_owned(),
        bank: bank.id,
        config,
        enabled,
    };
    let made = match state
        .store
        .create_exchange(&caller.actor(), &exchange)
        .await
    {
        Ok(made) => made,
        Err(error) => {
            // Not left half made.
            let _ = state.store.delete_bank(&caller.actor(), bank.id).await;
            return Err(error.into());
        }
    };
    if let Some(credentials) = credentials {
        let kept_as = ward_store::credentials_name(&made.api, made.bank);
        if let Err(error) = keep_credentials(&state, &caller, &kept_as, &credentials).await {
            let _ = state.store.delete_exchange(&caller.actor(), made.id).await;
            let _ = state.store.delete_bank(&caller.actor(), bank.id).await;
            return Err(error);
        }
    }
    state.caught_up().await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created successfully"})),
    ))
}

/// `GET /c/exchange/{name}`.
pub(crate) async fn show(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    Ok(Json(config_json(&named(&state, &caller, &name).await?)))
}

/// `GET /c/exchange/{name}/status`: HMA's six fields (times in seconds), and Ward's last
/// error and failures in a row.
pub(crate) async fn status(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    let exchange = named(&state, &caller, &name).await?;
    Ok(Json(crate::exchanges::status_json(&exchange)))
}

/// `PUT /c/exchange/{name}` `{"enabled": bool}`: fetching on or off; `enabled` as HMA's
/// declared model reads it (422 for what is not a boolean; absent or null changes nothing).
pub(crate) async fn update(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult<Json<Value>> {
    let missing = || format!("Exchange '{name}' not found");
    let bank = managed_bank(&state, &caller, &name, missing).await?;
    let exchange = named(&state, &caller, &bank.name).await?;
    let body = json_object(&body)?;
    let enabled = match body.get("enabled") {
        Some(value) if !value.is_null() => Some(model_bool("body", "enabled", value)?),
        _ => None,
    };
    let exchange = state
        .store
        .update_exchange(&caller.actor(), exchange.id, enabled, None)
        .await?;
    Ok(Json(config_json(&exchange)))
}

/// `POST /c/exchange/{name}/fetch` (Ward's, not HMA's): the exchange fetched at once, by
/// whichever node's fetcher looks next, whatever its interval or backoff (the store keeps
/// the request, so every node sees it); for curators of the organisation that owns it.
/// Answers the exchange's status, as `GET …/status` does.
pub(crate) async fn fetch_now(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    caller.require(&[Role::Curator])?;
    let missing = || format!("Exchange '{name}' not found");
    let bank = managed_bank(&state, &caller, &name, missing).await?;
    let exchange = named(&state, &caller, &bank.name).await?;
    let exchange = state
        .store
        .request_fetch(&caller.actor(), exchange.id)
        .await?;
    Ok(Json(crate::exchanges::status_json(&exchange)))
}

/// `DELETE /c/exchange/{name}`: the exchange and its bank; `{"message": "Exchange deleted"}`
/// also when the caller has no exchange of that name, as HMA answers.
pub(crate) async fn remove(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    caller.require(&[Role::Curator])?;
    let done = Json(json!({"message": "Exchange deleted"}));
    let Ok(exchange) = named(&state, &caller, &name).await else {
        return Ok(done);
    };
    let bank = managed_bank(&state, &caller, &name, || {
        format!("Exchange '{name}' not found")
    })
    .await?;
    if bank.id != exchange.bank {
        return Ok(done);
    }
    state
        .store
        .delete_exchange(&caller.actor(), exchange.id)
        .await?;
    state.store.delete_bank(&caller.actor(), bank.id).await?;
    state.caught_up().await;
    Ok(done)
}
