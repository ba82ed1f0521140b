//! `ward admin`: organisations, API keys and the analysts' accounts, straight in the store.

use std::process::ExitCode;
use std::str::FromStr as _;

use anyhow::{Context as _, anyhow};
use ward_store::{Actor, KeyId, Role, Store};

use super::{AdminArgs, AdminCommand, ContactCommand, ForwardingCommand, KeyCommand, OrgCommand};
use crate::serve::open_store;

pub fn run(args: &AdminArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = open_store(&args.store.data_dir, args.store.database_url.as_deref()).await?;
        let result = command(&store, &args.command).await;
        store.close().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn command(store: &impl Store, command: &AdminCommand) -> anyhow::Result<()> {
    let actor = Actor::operator("ward admin");
    match command {
        AdminCommand::Org(OrgCommand::Create { name }) => {
            let org = store.create_org(&actor, name).await?;
            println!("{}", org.id);
        }
        AdminCommand::Org(OrgCommand::List) => {
            for org in store.orgs().await? {
                let kind = if org.operator { "operator" } else { "member" };
                println!("{}\t{}\t{kind}", org.id, org.name);
            }
        }
        AdminCommand::Org(OrgCommand::Operator { name, .. }) => {
            let org = match name {
                Some(name) => Some(
                    store
                        .org_by_name(name)
                        .await?
                        .ok_or_else(|| anyhow!("no organisation named {name:?}"))?
                        .id,
                ),
                None => None,
            };
            store.set_operator(&actor, org).await?;
        }
        AdminCommand::Key(KeyCommand::Create { org, role, label }) => {
            let role = Role::from_str(role)?;
            let org = store
                .org_by_name(org)
                .await?
                .ok_or_else(|| anyhow!("no organisation named {org:?} (ward admin org create)"))?;
            let key = store.create_key(&actor, org.id, role, label).await?;
            println!("{}", key.secret);
        }
        AdminCommand::Key(KeyCommand::List) => {
            let orgs = store.orgs().await?;
            for key in store.keys().await? {
                let org = orgs
                    .iter()
                    .find(|o| o.id == key.org)
                    .map_or("?", |o| o.name.as_str());
                println!(
                    "{}\t{}\t{org}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.prefix,
                    key.role,
                    key.label,
                    key.created_at.to_rfc3339(),
                    key.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
            }
        }
        AdminCommand::Key(KeyCommand::Revoke { id }) => {
            let key = store.revoke_key(&actor, KeyId(*id)).await?;
            eprintln!("ward: key {} ({}) revoked", key.id, key.prefix);
        }
        AdminCommand::Contact(ContactCommand::Set {
            pattern,
            email,
            webhook,
        }) => {
            let contact = store
                .set_host_contact(&actor, pattern, email.as_deref(), webhook.as_deref())
                .await?;
            eprintln!("ward: notices for {} set", contact.pattern);
        }
        AdminCommand::Contact(ContactCommand::List) => {
            for contact in store.host_contacts().await? {
                println!(
                    "{}\t{}\t{}",
                    contact.pattern,
                    contact.email.unwrap_or_default(),
                    contact.webhook.unwrap_or_default()
                );
            }
        }
        AdminCommand::Contact(ContactCommand::Remove { pattern }) => {
            store.remove_host_contact(&actor, pattern).await?;
            eprintln!("ward: the contact for {pattern} removed");
        }
        AdminCommand::Forwarding(command) => forwarding(store, &actor, command).await?,
        AdminCommand::User(command) => {
            crate::analyst::accounts::command(store, &actor, command).await?
        }
    }
    Ok(())
}

/// `ward admin forwarding`.
async fn forwarding(
    store: &impl Store,
    actor: &Actor,
    command: &ForwardingCommand,
) -> anyhow::Result<()> {
    let named = |exchanges: &[ward_store::Exchange], name: &str| {
        crate::forwarding::ward_exchange_named(exchanges, name)
            .map(|e| e.id)
            .map_err(|why| anyhow!("{name:?}: {why}"))
    };
    match command {
        ForwardingCommand::Set {
            name,
            countries,
            ack_hours,
            disabled,
        } => {
            let exchange = named(&store.exchanges().await?, name)?;
            let partner = store
                .set_forwarding_partner(
                    actor,
                    exchange,
                    &ward_store::NewForwardingPartner {
                        countries: countries.clone(),
                        enabled: !disabled,
                        ack_timeout_ms: i64::try_from(*ack_hours)? * 3_600_000,
                    },
                )
                .await?;
            eprintln!(
                "ward: {} covers {}",
                partner.name,
                if partner.countries.is_empty() {
                    "no country".to_owned()
                } else {
                    partner.countries.join(", ")
                }
            );
        }
        ForwardingCommand::List => {
            for p in store.forwarding_partners().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    p.name,
                    p.countries.join(","),
                    p.enabled,
                    p.ack_timeout_ms / 3_600_000,
                    p.cursor,
                    p.last_error.unwrap_or_default()
                );
            }
        }
        ForwardingCommand::Remove { name } => {
            let exchange = named(&store.exchanges().await?, name)?;
            store.remove_forwarding_partner(actor, exchange).await?;
            eprintln!("ward: forwarding to {name} stopped");
        }
    }
    Ok(())
}
