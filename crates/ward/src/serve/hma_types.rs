//! HMA's routes about the service itself: signal types and their ratios, the index's state,
//! the site map and the OpenAPI document of the HMA routes.
//!
//! - `GET /c/signal_type` → `[{"name": "pdq", "enabled_ratio": 1.0}, …]`; `PUT
//!   /c/signal_type/{name}` `{"enabled_ratio": 0.5}` → 204 (the operator's: a deployment's
//!   setting). As in HMA the ratio is kept and reported, and changes nothing: a signal type
//!   is hashed and matched whatever its ratio (HMA counts any ratio of 0 or more as
//!   enabled). Ward refuses a ratio outside 0 to 1 and an unknown type with 400, where HMA's
//!   storage fails with 500.
//! - `GET /m/index/status` → `{"pdq": {"present": true, "built_to": 1700000000, "size": 3}}`;
//!   `GET /c/signal_type/index` → `{"pdq": {"db_size", "index_size", "index_out_of_date",
//!   "newest_db_item", "index_built_to"}}`. Ward's index is the store's feed applied: every
//!   active signal, read to the feed's end every second. So `built_to` and
//!   `index_built_to` are when this node's index last read the feed to its end (HMA: the
//!   newest signal it holds), `db_size` is what the index holds (the same as the store's
//!   active signals whenever `index_out_of_date` is false: counting the store's tables per
//!   request would take seconds at millions of items), `index_out_of_date` says whether the
//!   store has changes the index has not applied, and `newest_db_item` is `index_built_to`,
//!   or now when it is out of date. Both take `?signal_type=` (400 for an unknown one).
//! - `GET /site-map` → every HMA route Ward serves, in HMA's notation, sorted; Ward's own
//!   routes are in `/openapi.json`. `GET /openapi/openapi.json` → an OpenAPI 3 document of
//!   the same routes (`info.title` is HMA's, `Open Media Match API`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use ward_core::lists::SignalType;
use ward_store::{Role, Store};

use super::SharedState;
use super::hma::{HmaCaller, HmaError, HmaResult, Params, json_object, ratio};

/// The signal types Ward hashes and matches, by HMA's names, with Ward's type.
const SIGNAL_TYPES: [(&str, SignalType); 3] = [
    ("pdq", SignalType::Pdq),
    ("video_md5", SignalType::Md5),
    ("vpdq", SignalType::Vpdq),
];

fn known_type(name: &str) -> HmaResult<SignalType> {
    SIGNAL_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| HmaError::bad_request(format!("No such signal type '{name}'")))
}

/// `GET /c/signal_type`.
pub async fn signal_types(
    State(state): State<SharedState>,
    HmaCaller(_caller): HmaCaller,
) -> HmaResult<Json<Value>> {
    let set = state.store.signal_type_ratios().await?;
    let types: Vec<Value> = SIGNAL_TYPES
        .iter()
        .map(|(name, _)| {
            let ratio = set
                .iter()
                .find(|(n, _)| n == name)
                .map_or(1.0, |(_, r)| r.get());
            json!({"name": name, "enabled_ratio": ratio})
        })
        .collect();
    Ok(Json(Value::Array(types)))
}

/// `PUT /c/signal_type/{name}` `{"enabled_ratio": …}`: 204.
pub async fn set_signal_type(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let body = json_object(&body)?;
    known_type(&name)?;
    let value = body
        .get("enabled_ratio")
        .filter(|v| !v.is_null())
        .ok_or_else(|| HmaError::bad_request("enabled_ratio is required"))?;
    let ratio = ratio(value)?;
    state
        .store
        .set_signal_type_ratio(&caller.actor(), &name, ratio)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The types a `?signal_type=` asks about (all when absent).
fn asked_types(params: &Params) -> HmaResult<Vec<(&'static str, SignalType)>> {
    match params.given("signal_type") {
        None => Ok(SIGNAL_TYPES.to_vec()),
        Some(name) => {
            let found = known_type(name)?;
            Ok(SIGNAL_TYPES
                .iter()
                .copied()
                .filter(|(_, t)| *t == found)
                .collect())
        }
    }
}

/// The index's count of a signal type.
fn indexed(state: &SharedState, signal_type: SignalType) -> usize {
    state
        .index
        .counts()
        .iter()
        .find(|(t, _)| *t == signal_type)
        .map_or(0, |(_, n)| *n)
}

/// When this node's index last read the feed to its end (seconds), or -1.
fn built_to(state: &SharedState) -> i64 {
    if state.index.is_ready() {
        state.index.caught_up_at().0 / 1000
    } else {
        -1
    }
}

/// `GET /m/index/status`.
pub async fn index_status(
    State(state): State<SharedState>,
    HmaCaller(_caller): HmaCaller,
    params: Params,
) -> HmaResult<Json<Value>> {
    let mut out = Map::new();
    for (name, signal_type) in asked_types(&params)? {
        out.insert(
            name.to_string(),
            json!({
                "present": state.index.is_ready(),
                "built_to": built_to(&state),
                "size": indexed(&state, signal_type),
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /c/signal_type/index`.
pub async fn signal_type_index(
    State(state): State<SharedState>,
    HmaCaller(_caller): HmaCaller,
    params: Params,
) -> HmaResult<Json<Value>> {
    let asked = asked_types(&params)?;
    let out_of_date = state.index.cursor() < state.store.last_seq().await?;
    let built_to = built_to(&state);
    let newest = if out_of_date {
        ward_store::Timestamp::now().0 / 1000
    } else {
        built_to
    };
    let mut out = Map::new();
    for (name, signal_type) in asked {
        let size = indexed(&state, signal_type);
        out.insert(
            name.to_string(),
            json!({
                "db_size": size,
                "index_size": size,
                "index_out_of_date": out_of_date,
                "newest_db_item": newest,
                "index_built_to": built_to,
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// One HMA route Ward serves: method, path in HMA's notation, summary, query parameters.
pub struct HmaRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub query: &'static [&'static str],
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
) -> HmaRoute {
    HmaRoute {
        method,
        path,
        summary,
        query,
    }
}

/// Every HMA route Ward serves (the router's are checked against this in the tests).
pub const HMA_ROUTES: &[HmaRoute] = &[
    route(
        "GET",
        "/status",
        "Alive, and whether the index is loaded and current",
        &[],
    ),
    route("GET", "/status/live", "Alive (for liveness probes)", &[]),
    route("GET", "/site-map", "The HMA routes served", &[]),
    route("GET", "/openapi/openapi.json", "This document", &[]),
    route(
        "GET",
        "/h/hash",
        "Hash what a URL serves",
        &["url", "content_type", "types"],
    ),
    route(
        "POST",
        "/h/hash",
        "Hash an uploaded file (part photo or video)",
        &["types"],
    ),
    route(
        "GET",
        "/m/lookup",
        "Banks and content matching a signal, or what a URL serves",
        &[
            "signal_type",
            "signal",
            "url",
            "content_type",
            "types",
            "banks",
            "seed",
            "bypass_coinflip",
        ],
    ),
    route(
        "POST",
        "/m/lookup",
        "Banks and content matching an uploaded file",
        &["types", "banks", "seed", "bypass_coinflip"],
    ),
    route(
        "GET",
        "/m/raw_lookup",
        "Content ids matching a signal",
        &["signal_type", "signal", "banks", "include_distance"],
    ),
    route(
        "POST",
        "/m/compare",
        "Compare pairs of hashes by signal type",
        &[],
    ),
    route(
        "GET",
        "/m/index/status",
        "The index's state by signal type",
        &["signal_type"],
    ),
    route("GET", "/c/banks", "The banks the caller sees", &[]),
    route("POST", "/c/banks", "Create a bank", &[]),
    route("GET", "/c/bank/<bank_name>", "A bank", &[]),
    route(
        "PUT",
        "/c/bank/<bank_name>",
        "Rename a bank or set its enabled ratio",
        &[],
    ),
    route("DELETE", "/c/bank/<bank_name>", "Delete a bank", &[]),
    route(
        "POST",
        "/c/bank/<bank_name>/content",
        "Add content by upload or URL",
        &["url", "content_type", "types"],
    ),
    route(
        "POST",
        "/c/bank/<bank_name>/signal",
        "Add content by its signals",
        &[],
    ),
    route(
        "GET",
        "/c/bank/<bank_name>/content/<int:content_id>",
        "A content item",
        &["include_signals", "include_metadata"],
    ),
    route(
        "PUT",
        "/c/bank/<bank_name>/content/<int:content_id>",
        "Disable a content item (until a time) or set its note",
        &[],
    ),
    route(
        "DELETE",
        "/c/bank/<bank_name>/content/<int:content_id>",
        "Delete a content item",
        &[],
    ),
    route(
        "GET",
        "/c/signal_type",
        "Signal types and their enabled ratios",
        &[],
    ),
    route(
        "PUT",
        "/c/signal_type/<signal_type_name>",
        "Set a signal type's enabled ratio",
        &[],
    ),
    route(
        "GET",
        "/c/signal_type/index",
        "The index's size by signal type",
        &["signal_type"],
    ),
    route("GET", "/c/content_type", "Content types", &[]),
    route("GET", "/c/exchanges/apis", "Exchange types", &[]),
    route(
        "GET",
        "/c/exchanges/api/<api_name>",
        "Whether credentials are set",
        &[],
    ),
    route(
        "POST",
        "/c/exchanges/api/<api_name>",
        "Set credentials",
        &[],
    ),
    route(
        "GET",
        "/c/exchanges/api/<api_name>/schema",
        "An exchange type's settings",
        &[],
    ),
    route("GET", "/c/exchanges", "Exchanges", &[]),
    route(
        "POST",
        "/c/exchanges",
        "Create an exchange and its bank",
        &[],
    ),
    route(
        "GET",
        "/c/exchange/<exchange_name>",
        "An exchange's settings",
        &[],
    ),
    route(
        "PUT",
        "/c/exchange/<exchange_name>",
        "Enable or disable fetching",
        &[],
    ),
    route(
        "DELETE",
        "/c/exchange/<exchange_name>",
        "Delete an exchange and its bank",
        &[],
    ),
    route(
        "GET",
        "/c/exchange/<exchange_name>/status",
        "An exchange's fetch status",
        &[],
    ),
];

/// `GET /site-map`: HMA's route rules, each once, sorted.
pub async fn site_map() -> Json<Value> {
    let mut paths: Vec<&str> = HMA_ROUTES.iter().map(|r| r.path).collect();
    paths.sort_unstable();
    paths.dedup();
    Json(json!(paths))
}

/// A path in OpenAPI's notation (`{bank_name}`), and its path parameters.
fn openapi_path(path: &str) -> (String, Vec<(String, &'static str)>) {
    let mut parameters = Vec::new();
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| {
            let Some(inner) = segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
                return segment.to_string();
            };
            let (kind, name) = match inner.split_once(':') {
                Some(("int", name)) => ("integer", name),
                _ => ("string", inner),
            };
            parameters.push((name.to_string(), kind));
            format!("{{{name}}}")
        })
        .collect();
    (segments.join("/"), parameters)
}

/// `GET /openapi/openapi.json`: the HMA routes as an OpenAPI 3 document.
pub async fn openapi() -> Json<Value> {
    let mut paths = Map::new();
    for route in HMA_ROUTES {
        let (path, path_parameters) = openapi_path(route.path);
        let mut parameters: Vec<Value> = path_parameters
            .iter()
            .map(|(name, kind)| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": kind}})
            })
            .collect();
        parameters.extend(route.query.iter().map(|name| {
            json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}})
        }));
        let public = matches!(route.path, "/status" | "/status/live");
        let mut operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "Success"},
                "400": {"description": "Bad request: {\"message\": \"…\"}"},
                "404": {"description": "Not found: {\"message\": \"…\"}"},
            },
        });
        if public {
            operation["security"] = json!([]);
        }
        let entry = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        entry[route.method.to_ascii_lowercase()] = operation;
    }
    Json(json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Open Media Match API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The routes of Meta's Hasher-Matcher-Actioner 2 (OpenMediaMatch), \
                served by Ward from its banks. Ward's own API is at /openapi.json.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_paths() {
        let cases = [
            ("/c/banks", "/c/banks", vec![]),
            (
                "/c/bank/<bank_name>/content/<int:content_id>",
                "/c/bank/{bank_name}/content/{content_id}",
                vec![("bank_name", "string"), ("content_id", "integer")],
            ),
        ];
        for (hma, openapi, parameters) in cases {
            let (path, found) = openapi_path(hma);
            assert_eq!(path, openapi);
            let found: Vec<(&str, &str)> = found.iter().map(|(n, k)| (n.as_str(), *k)).collect();
            assert_eq!(found, parameters);
        }
    }
}
