//! `ward import` and `ward export`: hash lists in the field's formats into and out of a bank,
//! straight in the store (the service may be running).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use ward_core::exchange::Format;
use ward_store::{Actor, AnyStore, Bank, BankKind, NewBank, Role, Sharing, Store};

use super::{ExportArgs, ImportArgs};
use crate::exchange::{ExportFormat, import as import_records};
use crate::serve::auth::Member;
use crate::serve::open_store;

/// Malformed records printed per file; the rest are counted.
const SHOWN_PER_FILE: u64 = 100;

pub fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let format = Format::from_str(&args.format)?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(
        &args.store.data_dir,
        args.store.database_url.as_deref(),
    ))?;
    let actor = Actor::operator("ward import");
    let result = (|| {
        let bank = runtime.block_on(bank_to_import_into(&store, &actor, &args.bank, &args.org))?;
        let mut clean = true;
        for path in &args.files {
            let name = path.display().to_string();
            let input: Box<dyn Read + Send> = if name == "-" {
                Box::new(io::stdin())
            } else {
                Box::new(File::open(path).with_context(|| format!("cannot open {name}"))?)
            };
            let source = args
                .source
                .clone()
                .unwrap_or_else(|| format!("import:{}", file_name(path)));
            let started = Instant::now();
            let mut shown = 0;
            let report = import_records(
                format,
                BufReader::with_capacity(1 << 20, input),
                &source,
                |error| {
                    shown += 1;
                    if shown <= SHOWN_PER_FILE {
                        eprintln!("{name}:{error}");
                    }
                },
                |changes| runtime.block_on(store.import_content(&actor, bank.id, changes)),
            );
            let seconds = started.elapsed().as_secs_f64();
            let counts = report.counts;
            eprintln!(
                "ward: import: {name}: records={} added={} replaced={} removed={} missing={} \
                 unchanged={} malformed={} seconds={seconds:.2} per_second={:.0}",
                report.records,
                counts.added,
                counts.replaced,
                counts.removed,
                counts.missing,
                counts.unchanged,
                report.malformed,
                report.records as f64 / seconds.max(1e-9),
            );
            if report.malformed > SHOWN_PER_FILE {
                eprintln!(
                    "{name}: {} more malformed records not shown",
                    report.malformed - SHOWN_PER_FILE
                );
            }
            if let Some(error) = report.failed {
                return Err(anyhow!(error).context(format!(
                    "importing {name} into {:?} stopped; the {} records counted above are stored",
                    bank.name, report.records
                )));
            }
            if let Some(reason) = &report.fatal {
                eprintln!(
                    "{name}:{reason}; reading stopped there, the records before it are imported"
                );
            }
            clean &= report.malformed == 0 && report.fatal.is_none();
        }
        Ok(if clean {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })();
    runtime.block_on(store.close());
    result
}

pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let format = ExportFormat::from_str(&args.format).map_err(|e| anyhow!(e))?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(
        &args.store.data_dir,
        args.store.database_url.as_deref(),
    ))?;
    let result = runtime.block_on(async {
        let bank = bank_to_export(&store, &args.bank, &args.org).await?;
        store
            .record_read(
                &Actor::operator("ward export"),
                "read.export",
                &format!("bank:{}", bank.id),
            )
            .await?;
        let out: Box<dyn Write> = match &args.output {
            Some(path) => Box::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Box::new(io::stdout().lock()),
        };
        let skipped = |id, error: &io::Error| {
            eprintln!("ward: export: content {id} skipped: {error}");
        };
        let (out, report) =
            crate::exchange::export(&store, bank.id, format, BufWriter::new(out), skipped).await?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|mut w| w.flush())
            .context("writing the export")?;
        eprintln!(
            "ward: export: {}: written={} skipped={}",
            bank.name, report.written, report.skipped
        );
        anyhow::Ok(if report.skipped == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    });
    runtime.block_on(store.close());
    result
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The bank `org` means by `name`, acting as its curator would (`auth::Member`): its own
/// bank of that name, else the one other it sees.
async fn bank_to_export(store: &AnyStore, name: &str, org: &str) -> anyhow::Result<Bank> {
    let owner = store
        .org_by_name(org)
        .await?
        .ok_or_else(|| anyhow!("no organisation named {org:?} (--org)"))?;
    let member = Member {
        org: owner.id,
        role: Role::Curator,
    };
    member
        .bank_named(store.banks_named(name).await?)
        .map_err(|error| anyhow!("{error}"))?
        .ok_or_else(|| anyhow!("{org:?} sees no bank named {name:?}"))
}

/// `org`'s bank named `name`, created (owned by `org`, itself created if missing) if it has
/// none: a command acting for `org` imports only into its own banks, whatever other
/// organisations name theirs.
pub(super) async fn bank_to_import_into(
    store: &AnyStore,
    actor: &Actor,
    name: &str,
    org: &str,
) -> anyhow::Result<Bank> {
    let owner = match store.org_by_name(org).await? {
        Some(owner) => owner,
        None => store.create_org(actor, org).await?,
    };
    let named = store.banks_named(name).await?;
    if let Some(bank) = named.into_iter().find(|b| b.org == owner.id) {
        return Ok(bank);
    }
    let bank = store
        .create_bank(
            actor,
            &NewBank {
                name: name.to_owned(),
                org: owner.id,
                kind: BankKind::Standard,
                distance: 31,
                enabled: true,
                sharing: Sharing::Private,
                shared_with: Vec::new(),
                dispute_limit: None,
                description: String::new(),
            },
        )
        .await?;
    eprintln!(
        "ward: import: created the bank {:?} of {:?} (private)",
        bank.name, owner.name
    );
    Ok(bank)
}

fn file_name(path: &Path) -> String {
    match path.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => "stdin".to_owned(),
    }
}
