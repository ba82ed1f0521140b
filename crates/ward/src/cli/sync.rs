//! `ward sync`: partner Ward instances, which are exchanges of type `ward`
//! ([`crate::exchanges::ward`]), added, listed and fetched straight in the store. Every
//! subcommand holds the deployment's key, so partners of an older deployment become `ward`
//! exchanges first.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use ward_store::{Actor, AnyStore, Exchange, NewExchange, Store, Timestamp};

use super::SyncCommand;
use super::exchange::{bank_to_import_into, runtime};
use super::exchanges::{deployment_key, fetch_now};
use crate::exchanges::{self, Api, Credentials, Http, credentials_context, ward};
use crate::serve::open_store;
use crate::sync;

/// The longest `ward sync run` fetches one partner.
const BUDGET: Duration = Duration::from_secs(3600);

pub fn run(command: &SyncCommand) -> anyhow::Result<ExitCode> {
    let store_args = match command {
        SyncCommand::Add { store, .. }
        | SyncCommand::List { store, .. }
        | SyncCommand::Run { store, .. } => store,
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let store = open_store(&store_args.data_dir, store_args.database_url.as_deref()).await?;
        let result = sync_command(&store, command).await;
        store.close().await;
        result
    })
}

/// A `ward` exchange's settings, and the name provenance gives its partner.
fn partner_of(exchange: &Exchange) -> Option<(ward::Config, String)> {
    if exchange.api != Api::Ward.name() {
        return None;
    }
    let config: ward::Config = serde_json::from_str(&exchange.config).ok()?;
    let name = config
        .partner
        .clone()
        .unwrap_or_else(|| exchange.name.clone());
    Some((config, name))
}

async fn sync_command(store: &AnyStore, command: &SyncCommand) -> anyhow::Result<ExitCode> {
    let actor = Actor::operator("ward sync");
    match command {
        SyncCommand::Add {
            store: store_args,
            evidence_key,
            name,
            url,
            key_from,
            bank,
            org,
            public_key,
        } => {
            let secrets = deployment_key(store, evidence_key.as_deref(), store_args).await?;
            let http = Http::new()?;
            let taken = store
                .exchanges()
                .await?
                .iter()
                .filter_map(partner_of)
                .any(|(_, partner)| partner == *name);
            if taken {
                bail!("a partner named {name:?} exists already (ward sync list)");
            }
            exchanges::base_url(url).map_err(|e| anyhow!("a partner's URL: {e}"))?;
            let public_key = match public_key {
                Some(key) => key.trim().to_ascii_lowercase(),
                None => sync::published_key(&http, url).await?,
            };
            let settings = Api::Ward
                .settings(serde_json::json!({
                    "url": url,
                    "public_key": public_key,
                    "partner": name,
                }))
                .map_err(|e| anyhow!("{e}"))?;
            let key = read_key(key_from)?;
            let credentials = Api::Ward
                .credentials(serde_json::json!({ "api_key": key }))
                .map_err(|e| anyhow!("{e}"))?;
            let bank = bank_to_import_into(store, &actor, bank, org).await?;
            let exchange = store
                .create_exchange(
                    &actor,
                    &NewExchange {
                        api: Api::Ward.name().to_owned(),
                        bank: bank.id,
                        config: settings,
                        enabled: true,
                    },
                )
                .await?;
            if let Err(error) = keep_key(store, &actor, &secrets, &exchange, &credentials).await {
                // Not left without its key.
                let _ = store.delete_exchange(&actor, exchange.id).await;
                return Err(error);
            }
            println!("{}", exchange.id);
            eprintln!(
                "ward: sync: partner {name:?} added, pulled into {:?}; its public key is \
                 {public_key}: compare it with the partner's own before trusting what it sends",
                bank.name
            );
        }
        SyncCommand::List {
            store: store_args,
            evidence_key,
        } => {
            // Partners of an older deployment are listed once converted; without the key
            // (PostgreSQL without --evidence-key), the exchanges as they are.
            if let Err(error) = deployment_key(store, evidence_key.as_deref(), store_args).await {
                eprintln!("ward: sync: {error:#}");
            }
            for exchange in store.exchanges().await? {
                let Some((config, name)) = partner_of(&exchange) else {
                    continue;
                };
                let cursor = exchange
                    .status
                    .checkpoint
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<ward::Checkpoint>(c).ok())
                    .map(|c| c.cursor)
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "-".to_owned());
                let status = &exchange.status;
                let how = match (status.last_fetch_succeeded, &status.last_error) {
                    (None, _) => "never".to_owned(),
                    (Some(true), _) => "ok".to_owned(),
                    (Some(false), error) => {
                        format!("failed: {}", error.as_deref().unwrap_or_default())
                    }
                };
                println!(
                    "{}\t{name}\t{}\t{}\t{}\t{cursor}\t{}\t{how}",
                    exchange.id,
                    config.url,
                    exchange.name,
                    config.public_key,
                    status
                        .last_fetch_complete_ts
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default()
                );
            }
        }
        SyncCommand::Run {
            store: store_args,
            name,
            evidence_key,
            take_over,
        } => {
            let secrets = deployment_key(store, evidence_key.as_deref(), store_args).await?;
            let partners: Vec<(Exchange, String)> = store
                .exchanges()
                .await?
                .into_iter()
                .filter_map(|e| partner_of(&e).map(|(_, partner)| (e, partner)))
                .filter(|(e, partner)| match name {
                    Some(name) => *name == *partner || *name == e.name,
                    None => e.enabled,
                })
                .collect();
            if partners.is_empty() {
                return Err(anyhow!("no partner to pull (ward sync add)"));
            }
            let http = Http::new()?;
            let mut failed = false;
            for (exchange, partner) in &partners {
                match sync_round(store, &secrets, &http, exchange, *take_over).await {
                    Ok((report, sent)) => eprintln!(
                        "ward: sync: {partner}: pages={} added={} replaced={} removed={} \
                         up_to_date={} opinions_sent={sent}",
                        report.pages,
                        report.added,
                        report.replaced,
                        report.removed,
                        report.up_to_date,
                    ),
                    Err(error) => {
                        failed = true;
                        eprintln!("ward: sync: {partner}: {error:#}");
                    }
                }
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One sync with a partner: its feed fetched, the feedback owed to it sent (the owning
/// organisation's opinions, as a node sends them), and, when any was, its feed fetched
/// again, so that what the opinions caused there (an item its dispute policy disabled)
/// arrives in the same sync. Answers the fetches' sum and the opinions sent.
async fn sync_round(
    store: &AnyStore,
    secrets: &crate::serve::evidence::EvidenceKey,
    http: &Http,
    exchange: &Exchange,
    take_over: bool,
) -> anyhow::Result<(exchanges::FetchReport, u64)> {
    let mut report = fetch_now(store, secrets, http, exchange, BUDGET, take_over).await?;
    let mut sent = 0;
    loop {
        let given = exchanges::feedback::send_due(
            store,
            http,
            Some(secrets),
            Timestamp::now(),
            Some(exchange.id),
        )
        .await?;
        if given.failed > 0 {
            eprintln!(
                "ward: sync: {}: {} opinion(s) not taken; tried again later (GET /v1/content/ID \
                 says why)",
                exchange.name, given.failed
            );
        }
        if given.sent == 0 {
            break;
        }
        sent += given.sent;
    }
    if sent > 0 {
        let fresh = store
            .exchange(exchange.id)
            .await?
            .unwrap_or_else(|| exchange.clone());
        let again = fetch_now(store, secrets, http, &fresh, BUDGET, false).await?;
        report.pages += again.pages;
        report.added += again.added;
        report.replaced += again.replaced;
        report.removed += again.removed;
        report.malformed += again.malformed;
        report.unsupported += again.unsupported;
        report.up_to_date = again.up_to_date;
    }
    Ok((report, sent))
}

/// The partner's API key: the first line of `path` (`-`: standard input), trimmed.
fn read_key(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(64 << 10)
            .read_to_string(&mut text)
            .context("reading the partner's key from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(64 << 10).read_to_string(&mut text))
            .with_context(|| format!("reading the partner's key from {}", path.display()))?;
    }
    let key = text.lines().next().unwrap_or_default().trim().to_owned();
    if key.is_empty() {
        bail!("{}: no key on its first line", path.display());
    }
    Ok(key)
}

/// Keeps `credentials` sealed as the `ward` exchange's own.
async fn keep_key(
    store: &AnyStore,
    actor: &Actor,
    secrets: &crate::serve::evidence::EvidenceKey,
    exchange: &Exchange,
    credentials: &Credentials,
) -> anyhow::Result<()> {
    let kept_as = ward_store::credentials_name(&exchange.api, exchange.bank);
    let sealed = secrets.seal_secret(
        &credentials_context(exchange.org, &kept_as),
        &credentials.to_json(),
    )?;
    store
        .set_exchange_credentials(actor, exchange.org, &kept_as, Some(&sealed))
        .await
        .context("keeping the partner's key")
}
