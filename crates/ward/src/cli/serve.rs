//! `ward serve`: the command-line side of the HTTP service (the service is `crate::serve`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::ServeArgs;
use crate::fetch::FetchConfig;
use crate::hosting::HostingDatabases;
use crate::serve::connections::ConnectionLimits;
use crate::serve::evidence::EvidenceKey;
use crate::serve::intake::IntakeConfig;
use crate::serve::notices::NoticeConfig;
use crate::serve::series::SeriesConfig;
use crate::serve::{self, Config, ServeSettings};
use ward_core::series::SeriesOptions;

/// The IP-to-country databases intake looks addresses up in.
fn hosting(paths: &[std::path::PathBuf]) -> anyhow::Result<HostingDatabases> {
    let databases = HostingDatabases::open(paths)?;
    if databases.len() > 0 {
        tracing::info!(databases = ?databases, "intake: hosting countries from IP-to-country databases");
    }
    Ok(databases)
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let key_file = super::exchanges::key_file(args.evidence_key.as_deref(), &args.store)?;
    let evidence = Arc::new(EvidenceKey::load_or_create(&key_file)?);
    let intake = IntakeConfig {
        interval: (args.intake_interval > 0).then(|| Duration::from_secs(args.intake_interval)),
        retention: Duration::from_secs(args.evidence_retention_days * 86_400),
        fetch: FetchConfig {
            allow: args.fetch_allow.clone(),
            ..FetchConfig::default()
        },
        evidence: Some(Arc::clone(&evidence)),
        hosting: Arc::new(hosting(&args.geoip_db)?),
        ..IntakeConfig::default()
    };
    let defaults = NoticeConfig::default();
    let notices = NoticeConfig {
        interval: (args.notice_interval > 0).then(|| Duration::from_secs(args.notice_interval)),
        smtp: args.smtp_url.clone(),
        from: args.notice_from.clone(),
        hotline: args.hotline_name.clone(),
        dispute: args.notice_dispute.clone().unwrap_or(defaults.dispute),
        renotice: Duration::from_secs(args.renotice_hours * 3600),
        recheck: Duration::from_secs(args.recheck_seconds.unwrap_or(args.recheck_hours * 3600)),
        ..NoticeConfig::default()
    };
    let settings = ServeSettings {
        listen: args.listen,
        data_dir: args.store.data_dir.clone(),
        database_url: args.store.database_url.clone(),
        config: Config {
            body_limit: (args.body_limit as usize) << 20,
            json_limit: (args.json_limit as usize) << 10,
            hash_memory: args.hash_memory << 20,
            hash_wait: Duration::from_secs(args.hash_wait),
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout),
                idle_timeout: Duration::from_secs(args.idle_timeout),
                body_timeout: Duration::from_secs(args.body_timeout),
                max_connections: args.max_connections as usize,
            },
            video: args.video.options(),
            exchange_interval: (args.exchange_interval > 0)
                .then(|| Duration::from_secs(args.exchange_interval)),
            secrets: Some(evidence),
            intake,
            notices,
            forwarding_interval: (args.forwarding_interval > 0)
                .then(|| Duration::from_secs(args.forwarding_interval)),
            forwarding_page: args.forwarding_page,
            secure_cookies: args.secure_cookies,
            summary_cache_bytes: (args.summary_cache_mib as usize) << 20,
            hma_fetch: (!args.no_hma_url_fetch).then(|| FetchConfig {
                allow: args.fetch_allow.clone(),
                max_bytes: serve::HMA_FETCH_MAX_BYTES,
                ..FetchConfig::default()
            }),
            network_roles: args.hma_network_role.clone(),
            index_snapshot: (args.index_snapshot_interval > 0).then(|| serve::IndexSnapshot {
                path: args
                    .index_snapshot
                    .clone()
                    .unwrap_or_else(|| args.store.data_dir.join("index.snapshot")),
                interval: Duration::from_secs(args.index_snapshot_interval),
            }),
            series: SeriesConfig {
                options: SeriesOptions {
                    radius: args.series_radius,
                    ..SeriesOptions::default()
                },
                interval: (args.series_interval > 0)
                    .then(|| Duration::from_secs(args.series_interval)),
            },
        },
    };
    serve::run(settings)?;
    Ok(ExitCode::SUCCESS)
}
