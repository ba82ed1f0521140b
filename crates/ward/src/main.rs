//! The `ward` binary: reads the command line, runs the command, reports what went wrong.

mod analyst;
mod cli;
mod console;
mod exchange;
mod exchanges;
mod fetch;
mod forwarding;
mod hashing;
mod hosting;
mod matcher;
mod page_headers;
mod portal;
mod referral;
mod serve;
mod sync;
mod video_worker;

use std::io;
use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc rather than the system's malloc: a node answering thousands of matches a second
/// allocates and frees from every core at once, and with glibc's malloc that took 6 to 10%
/// of its time (bench/serve-load.sh at 10M hashes: 7% more repeated queries a second, a
/// third more first-time lookups).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        // `ward hash dir | head` closing the pipe early is what the user asked for.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ward: {err:#}");
            ExitCode::from(cli::EXIT_FATAL)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
