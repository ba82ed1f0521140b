//! `ward admin user`: the accounts people sign in to the analyst's pages with, made and
//! changed straight in the store. Passwords come from standard input (never the command
//! line, where other users of the machine would see them) and are never printed.

use std::io::{BufRead as _, IsTerminal as _, Read as _};
use std::process::{Command, Stdio};
use std::str::FromStr as _;

use anyhow::{Context as _, anyhow};
use ward_store::{Actor, NewUser, Role, Store, User};

use super::passwords::{MAX_PASSWORD_BYTES, Password};
use crate::cli::UserCommand;

/// Runs a `ward admin user` command.
pub async fn command(
    store: &impl Store,
    actor: &Actor,
    command: &UserCommand,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { name, org, role } => {
            let role = Role::from_str(role)?;
            let org = store
                .org_by_name(org)
                .await?
                .ok_or_else(|| anyhow!("no organisation named {org:?} (ward admin org create)"))?;
            if store.user_by_name(name).await?.is_some() {
                return Err(anyhow!("a user named {name:?} exists"));
            }
            let password_hash = read_password()?.hash()?;
            let user = store
                .create_user(
                    actor,
                    &NewUser {
                        name: name.clone(),
                        org: org.id,
                        role,
                        password_hash,
                    },
                )
                .await?;
            println!("{}", user.id);
        }
        UserCommand::List => {
            let orgs = store.orgs().await?;
            for user in store.users().await? {
                let org = orgs
                    .iter()
                    .find(|o| o.id == user.org)
                    .map_or("?", |o| o.name.as_str());
                println!(
                    "{}\t{}\t{org}\t{}\t{}\t{}",
                    user.id,
                    user.name,
                    user.role,
                    user.created_at.to_rfc3339(),
                    user.disabled_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
            }
        }
        UserCommand::Disable { name } => {
            let user = named(store, name).await?;
            store.set_user_disabled(actor, user.id, true).await?;
            eprintln!("ward: user {} ({}) disabled", user.id, user.name);
        }
        UserCommand::Password { name } => {
            let user = named(store, name).await?;
            let password_hash = read_password()?.hash()?;
            store.set_password(actor, user.id, &password_hash).await?;
            eprintln!("ward: password of user {} ({}) changed", user.id, user.name);
        }
    }
    Ok(())
}

async fn named(store: &impl Store, name: &str) -> anyhow::Result<User> {
    store
        .user_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name:?} (ward admin user list)"))
}

/// One line of standard input as a password. On a terminal, what is typed is not shown.
fn read_password() -> anyhow::Result<Password> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("password (not shown): ");
        echo(false);
    }
    let mut line = String::new();
    let read = stdin
        .lock()
        .take(MAX_PASSWORD_BYTES as u64 + 2)
        .read_line(&mut line);
    if terminal {
        echo(true);
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Password::new(line.to_owned())
}

/// Turns the terminal's echo off or on again (best effort, through `stty`).
fn echo(on: bool) {
    let _ = Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
