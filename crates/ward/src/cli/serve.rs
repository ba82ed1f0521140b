//! `ward serve`: the command-line side of the HTTP service (the service is `crate::serve`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::ServeArgs;
use crate::analyst::AnalystConfig;
use crate::fetch::FetchConfig;
use crate::serve::evidence::EvidenceKey;
use crate::serve::intake::IntakeConfig;
use crate::serve::{self, Config, ServeSettings};

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let key_file = args
        .evidence_key
        .clone()
        .unwrap_or_else(|| args.store.data_dir.join("evidence.key"));
    let evidence = EvidenceKey::load_or_create(&key_file)?;
    let intake = IntakeConfig {
        interval: (args.intake_interval > 0).then(|| Duration::from_secs(args.intake_interval)),
        retention: Duration::from_secs(args.evidence_retention_days * 86_400),
        fetch: FetchConfig {
            allow: args.fetch_allow.clone(),
            ..FetchConfig::default()
        },
        evidence: Some(Arc::new(evidence)),
        ..IntakeConfig::default()
    };
    let settings = ServeSettings {
        listen: args.listen,
        data_dir: args.store.data_dir.clone(),
        database_url: args.store.database_url.clone(),
        config: Config {
            body_limit: (args.body_limit as usize) << 20,
            video: args.video.options(),
            sync_interval: (args.sync_interval > 0)
                .then(|| Duration::from_secs(args.sync_interval)),
            intake,
            analyst: AnalystConfig {
                secure_cookies: args.secure_cookies,
            },
        },
    };
    serve::run(settings)?;
    Ok(ExitCode::SUCCESS)
}
