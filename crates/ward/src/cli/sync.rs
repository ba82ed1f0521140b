//! `ward sync`: partners whose feeds this instance pulls, straight in the store.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use ward_store::{Actor, NewPartner, Store};

use super::SyncCommand;
use super::exchange::{bank_to_import_into, runtime};
use crate::serve::open_store;
use crate::sync;

pub fn run(command: &SyncCommand) -> anyhow::Result<ExitCode> {
    let store_args = match command {
        SyncCommand::Add { store, .. }
        | SyncCommand::List { store }
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

async fn sync_command(
    store: &ward_store::AnyStore,
    command: &SyncCommand,
) -> anyhow::Result<ExitCode> {
    let actor = Actor::operator("ward sync");
    match command {
        SyncCommand::Add {
            name,
            url,
            key,
            bank,
            org,
            public_key,
            ..
        } => {
            let parsed = reqwest::Url::parse(url).with_context(|| format!("not a URL: {url}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(anyhow!("a partner's URL is http:// or https://, not {url}"));
            }
            let public_key = match public_key {
                Some(key) => key.trim().to_ascii_lowercase(),
                None => sync::published_key(&sync::client()?, url).await?,
            };
            sync::public_key(&public_key).map_err(|e| anyhow!("{public_key:?}: {e}"))?;
            let bank = bank_to_import_into(store, &actor, bank, org).await?;
            let partner = store
                .add_partner(
                    &actor,
                    &NewPartner {
                        name: name.clone(),
                        url: url.trim_end_matches('/').to_owned(),
                        api_key: key.clone(),
                        public_key: public_key.clone(),
                        bank: bank.id,
                    },
                )
                .await?;
            println!("{}", partner.id);
            eprintln!(
                "ward: sync: partner {:?} added, pulled into {:?}; its public key is {public_key}: \
                 compare it with the partner's own before trusting what it sends",
                partner.name, bank.name
            );
        }
        SyncCommand::List { .. } => {
            let banks = store.banks().await?;
            for partner in store.partners().await? {
                let bank = banks
                    .iter()
                    .find(|b| b.id == partner.bank)
                    .map_or("?", |b| b.name.as_str());
                println!(
                    "{}\t{}\t{}\t{bank}\t{}\t{}\t{}",
                    partner.id,
                    partner.name,
                    partner.url,
                    partner.public_key,
                    if partner.cursor.is_empty() {
                        "-"
                    } else {
                        &partner.cursor
                    },
                    partner
                        .synced_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default()
                );
            }
        }
        SyncCommand::Run { name, .. } => {
            let partners: Vec<_> = store
                .partners()
                .await?
                .into_iter()
                .filter(|p| name.as_ref().is_none_or(|n| *n == p.name))
                .collect();
            if partners.is_empty() {
                return Err(anyhow!("no partner to pull (ward sync add)"));
            }
            let client = sync::client()?;
            let mut failed = false;
            for partner in &partners {
                match sync::round(store, &client, partner).await {
                    Ok(report) => eprintln!(
                        "ward: sync: {}: pages={} entries={} added={} replaced={} removed={} \
                         missing={} opinions_sent={}",
                        partner.name,
                        report.pages,
                        report.entries,
                        report.counts.added,
                        report.counts.replaced,
                        report.counts.removed,
                        report.counts.missing,
                        report.opinions_sent,
                    ),
                    Err(error) => {
                        failed = true;
                        eprintln!("ward: sync: {}: {error:#}", partner.name);
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
