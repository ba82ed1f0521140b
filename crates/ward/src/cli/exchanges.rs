//! `ward exchange`: live exchanges (NCMEC's hash sharing, StopNCII, a ThreatExchange privacy
//! group, a list at a URL, a partner Ward instance: [`crate::exchanges::Api`]) set up,
//! listed and fetched straight in the store (the service may be running: a fetch holds the
//! exchange's lease, so a node and the command never fetch the same exchange at once).
//! The commands that hold the deployment's key (`credentials`, `fetch`) first make any
//! partners of an older deployment `ward` exchanges ([`crate::exchanges::ward::adopt_partners`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use serde_json::json;
use ward_store::{Actor, AnyStore, Exchange, NewExchange, Store, Timestamp};

use super::{ExchangeCommand, StoreArgs};
use crate::exchanges::{self, Api, Http, open_credentials};
use crate::serve::evidence::EvidenceKey;
use crate::serve::open_store;

pub fn run(command: &ExchangeCommand) -> anyhow::Result<ExitCode> {
    let store_args = command.store();
    let runtime = super::exchange::runtime()?;
    runtime.block_on(async {
        let store = open_store(&store_args.data_dir, store_args.database_url.as_deref()).await?;
        let result = exchange_command(&store, command).await;
        store.close().await;
        result
    })
}

/// The key file evidence and the deployment's secrets are sealed with (`ward serve`'s and
/// `ward exchange`'s). Nodes sharing a PostgreSQL database must open each other's: a key
/// file per data directory would give each its own.
pub(super) fn key_file(given: Option<&Path>, store: &StoreArgs) -> anyhow::Result<PathBuf> {
    match (given, &store.database_url) {
        (Some(file), _) => Ok(file.to_owned()),
        (None, None) => Ok(store.data_dir.join("evidence.key")),
        (None, Some(_)) => bail!(
            "with --database-url, give every node the same --evidence-key file (32 bytes; \
             made when missing)"
        ),
    }
}

/// The deployment's key, once partners of an older deployment are made `ward` exchanges
/// with it.
pub(super) async fn deployment_key(
    store: &AnyStore,
    given: Option<&Path>,
    store_args: &StoreArgs,
) -> anyhow::Result<EvidenceKey> {
    let key = EvidenceKey::load_or_create(&key_file(given, store_args)?)?;
    let converted = crate::exchanges::ward::adopt_partners(store, &key)
        .await
        .context("making partners ward exchanges")?;
    if converted > 0 {
        eprintln!("ward: {converted} partner(s) of an older deployment made ward exchanges");
    }
    Ok(key)
}

pub(super) async fn named(store: &AnyStore, name: &str) -> anyhow::Result<Exchange> {
    let found: Vec<Exchange> = store
        .exchanges()
        .await?
        .into_iter()
        .filter(|e| e.name == name)
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one")),
        0 => Err(anyhow!("no exchange named {name:?} (ward exchange list)")),
        _ => Err(anyhow!(
            "several organisations have an exchange named {name:?}: give its id"
        )),
    }
}

async fn exchange_command(store: &AnyStore, command: &ExchangeCommand) -> anyhow::Result<ExitCode> {
    let actor = Actor::operator("ward exchange");
    match command {
        ExchangeCommand::Add {
            name,
            org,
            api,
            config,
            base_url,
            ..
        } => {
            let known = fetched(api)?;
            let mut settings: serde_json::Value = serde_json::from_str(config)
                .with_context(|| format!("--config is JSON: {config}"))?;
            if let Some(base_url) = base_url {
                let object = settings
                    .as_object_mut()
                    .ok_or_else(|| anyhow!("--config is a JSON object"))?;
                object.insert("base_url".into(), json!(base_url));
            }
            let settings = known
                .settings(settings)
                .map_err(|e| anyhow!("the settings of a {api} exchange: {e}"))?;
            let bank = super::exchange::bank_to_import_into(store, &actor, name, org).await?;
            let exchange = store
                .create_exchange(
                    &actor,
                    &NewExchange {
                        api: api.clone(),
                        bank: bank.id,
                        config: settings,
                        enabled: true,
                    },
                )
                .await?;
            println!("{}", exchange.id);
        }
        ExchangeCommand::List { .. } => {
            for exchange in store.exchanges().await? {
                println!(
                    "{}",
                    json!({
                        "id": exchange.id,
                        "name": exchange.name,
                        "api": exchange.api,
                        "org": exchange.org,
                        "enabled": exchange.enabled,
                        "config": serde_json::from_str::<serde_json::Value>(&exchange.config)
                            .unwrap_or_default(),
                        "status": exchanges::status_json(&exchange),
                    })
                );
            }
        }
        ExchangeCommand::Enable { name, .. } | ExchangeCommand::Disable { name, .. } => {
            let exchange = named(store, name).await?;
            let enabled = matches!(command, ExchangeCommand::Enable { .. });
            store
                .update_exchange(&actor, exchange.id, Some(enabled), None)
                .await?;
        }
        ExchangeCommand::Delete { name, .. } => {
            let exchange = named(store, name).await?;
            store.delete_exchange(&actor, exchange.id).await?;
            store.delete_bank(&actor, exchange.bank).await?;
        }
        ExchangeCommand::Credentials {
            api,
            exchange,
            org,
            unset,
            from,
            evidence_key,
            store: store_args,
        } => {
            let known = fetched(api)?;
            let key = deployment_key(store, evidence_key.as_deref(), store_args).await?;
            let org = store
                .org_by_name(org)
                .await?
                .ok_or_else(|| anyhow!("no organisation named {org:?}"))?;
            // Where they are kept: the type's, or a ward exchange's own.
            let kept_as = match (known, exchange) {
                (Api::Ward, Some(name)) => {
                    let exchange = named(store, name).await?;
                    if exchange.api != api.as_str() || exchange.org != org.id {
                        bail!("{name:?} is not a ward exchange of {:?}", org.name);
                    }
                    ward_store::credentials_name(&exchange.api, exchange.bank)
                }
                (Api::Ward, None) => {
                    bail!("a ward exchange's key is its own: give --exchange NAME")
                }
                (_, Some(_)) => bail!("--exchange is for ward exchanges only"),
                (_, None) => api.clone(),
            };
            if *unset {
                store
                    .set_exchange_credentials(&actor, org.id, &kept_as, None)
                    .await?;
                return Ok(ExitCode::SUCCESS);
            }
            let credentials = credentials_given(known, from.as_deref())?;
            let sealed = key.seal_secret(
                &exchanges::credentials_context(org.id, &kept_as),
                &credentials.to_json(),
            )?;
            store
                .set_exchange_credentials(&actor, org.id, &kept_as, Some(&sealed))
                .await?;
            eprintln!("ward: exchange: credentials for {kept_as} kept, sealed");
        }
        ExchangeCommand::Fetch {
            name,
            seconds,
            evidence_key,
            take_over,
            store: store_args,
        } => {
            let key = deployment_key(store, evidence_key.as_deref(), store_args).await?;
            let exchange = named(store, name).await?;
            let report = fetch_now(
                store,
                &key,
                &Http::new()?,
                &exchange,
                Duration::from_secs(*seconds),
                *take_over,
            )
            .await?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Fetches `exchange` now for at most `budget` under a lease of this process (taking it
/// over from whoever holds it with `take_over`).
pub(super) async fn fetch_now(
    store: &AnyStore,
    key: &EvidenceKey,
    http: &Http,
    exchange: &Exchange,
    budget: Duration,
    take_over: bool,
) -> anyhow::Result<exchanges::FetchReport> {
    let name = &exchange.name;
    let credentials = open_credentials(store, key, exchange).await?;
    let now = Timestamp::now();
    let holder = format!("cli-{}", std::process::id());
    // Taking over: any lease counts as lapsed (the claim compares it with the end of
    // time). The holder, if alive, can save nothing more.
    let lapsed_by = if take_over { Timestamp(i64::MAX) } else { now };
    let lease = store
        .claim_exchange(
            exchange.id,
            &holder,
            lapsed_by,
            Timestamp(now.0 + (budget.as_secs() as i64 + 120) * 1000),
        )
        .await?
        .ok_or_else(|| {
            anyhow!(
                "a node or another command is fetching {name:?} now; try again later, or \
                 --take-over if it was killed"
            )
        })?;
    exchanges::fetch(store, http, exchange, lease, credentials, budget)
        .await
        .with_context(|| format!("fetching {name:?}"))
}

/// The type of that name, if Ward fetches it.
fn fetched(api: &str) -> anyhow::Result<Api> {
    Api::named(api).ok_or_else(|| {
        let names: Vec<&str> = Api::ALL.iter().map(|a| a.name()).collect();
        anyhow!(
            "exchanges of type {api:?} are not fetched: {} are",
            names.join(", ")
        )
    })
}

/// An exchange type's credentials from `from` (a file, `-` for standard input), else as
/// python-threatexchange finds them: its environment variable, else its file in the home
/// directory (a source that is there but wrong is an error, not a reason to look further).
/// Never from the command line, where other users of the machine would see them.
fn credentials_given(api: Api, from: Option<&Path>) -> anyhow::Result<exchanges::Credentials> {
    let text = match (from, api.credentials_sources()) {
        (Some(path), _) if path == Path::new("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("reading the credentials from standard input")?;
            text
        }
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the credentials from {}", path.display()))?,
        (None, None) => bail!(
            "give --from FILE (or - for standard input): a {} exchange's key is its own",
            api.name()
        ),
        (None, Some((variable, file_name))) => match std::env::var(variable) {
            Ok(text) => text,
            Err(_) => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    anyhow!("give --from FILE, or set {variable} (or ~/{file_name})")
                })?;
                let file = PathBuf::from(home).join(file_name);
                std::fs::read_to_string(&file).with_context(|| {
                    format!(
                        "give --from FILE, set {variable}, or write them to {}",
                        file.display()
                    )
                })?
            }
        },
    };
    api.credentials_from_text(&text).map_err(|shape| {
        anyhow!(
            "{shape}; as text: {}",
            match api {
                Api::Ncmec => "user:password",
                Api::StopNcii => "fetch_function_key,subscription_key[,base_url_override]",
                Api::ThreatExchange => "APPID|SECRET",
                Api::File => "a bearer token",
                Api::Ward => "the API key",
            }
        )
    })
}
