//! `ward referral`: content items referred to law enforcement or a hotline, as Ward's
//! referral JSON or VICS, read straight from the store (the service may be running) and
//! recorded in the audit log by the operator.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use ward_store::{Actor, ContentId};

use super::ReferralArgs;
use super::exchange::runtime;
use crate::referral::{ReferralFormat, content_target, export};
use crate::serve::open_store;

pub fn run(args: &ReferralArgs) -> anyhow::Result<ExitCode> {
    let format: ReferralFormat = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let ids: Vec<ContentId> = args.content.iter().copied().map(ContentId).collect();
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(
        &args.store.data_dir,
        args.store.database_url.as_deref(),
    ))?;
    let result = runtime.block_on(async {
        let out: Box<dyn Write> = match &args.output {
            Some(path) => Box::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Box::new(io::stdout().lock()),
        };
        let mut out = BufWriter::new(out);
        let actor = Actor::operator("ward referral");
        let target = content_target(&ids);
        let exported = export(&store, &actor, &ids, &target, None, format, &mut out)
            .await
            .context("making the referral")?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|mut w| w.flush())
            .context("writing the referral")?;
        for id in &exported.omitted {
            eprintln!("ward: referral: content {id} left out: VICS cannot carry vPDQ");
        }
        eprintln!(
            "ward: referral: {target}: written={} omitted={}",
            exported.written,
            exported.omitted.len()
        );
        anyhow::Ok(if exported.omitted.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    });
    runtime.block_on(store.close());
    result
}
