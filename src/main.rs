//! The `shorty` binary: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use shorty::cli::{self, Cli, Command};
use shorty::telemetry;

/// mimalloc instead of glibc's malloc: requests allocate on the HTTP
/// threads and are often freed on others (the main runtime's Redis and
/// store tasks), a pattern under which glibc's per-thread arenas hold on
/// to gigabytes of freed memory (BENCHMARKS.md: warming 1M links through
/// PostgreSQL and Redis).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.load_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("shorty: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command();
    // Before the runtime: Sentry must see the threads start (see telemetry::init).
    let telemetry = match telemetry::init(&config, matches!(command, Command::Serve)) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("shorty: configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("shorty: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(cli::run(command, config));
    // Stop every task first, so what they log or trace is delivered too.
    drop(runtime);
    telemetry.finish();
    code
}
