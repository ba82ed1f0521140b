//! `ward serve`: the command-line side of the HTTP service (the service is `crate::serve`).

use std::process::ExitCode;

use super::ServeArgs;
use crate::serve::{self, Config, ServeSettings};

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = ServeSettings {
        listen: args.listen,
        data_dir: args.store.data_dir.clone(),
        database_url: args.store.database_url.clone(),
        config: Config {
            body_limit: (args.body_limit as usize) << 20,
            video: args.video.options(),
            sync_interval: (args.sync_interval > 0)
                .then(|| std::time::Duration::from_secs(args.sync_interval)),
        },
    };
    serve::run(settings)?;
    Ok(ExitCode::SUCCESS)
}
