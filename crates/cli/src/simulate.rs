//! `yibao simulate`: the seeded fault simulator (`yibao-sim`) on a temporary SQLite file or a
//! fresh PostgreSQL database; prints what it did and exits with failure, naming the seed, the
//! step and the operation, when an invariant broke.

use std::process::ExitCode;

use anyhow::Context as _;
use yibao_sim::{DbTarget, SimConfig};

/// Arguments of `yibao simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Seed of everything: the city, the hospitals' choices and the faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Operations to run.
    #[arg(long, default_value_t = 10_000)]
    ops: u64,
    /// `sqlite` (a temporary file, the default) or a `postgres://` URL of a server on which a
    /// fresh database is created and dropped at the end.
    #[arg(long)]
    db: Option<String>,
    /// Persons in the simulated city.
    #[arg(long, default_value_t = 2_000)]
    persons: u64,
    /// At most this many operations of different persons sent together in one step.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Run the checks after every N steps (1: after every step).
    #[arg(long, default_value_t = 1)]
    check_every: u64,
    /// Fault rates overriding the defaults, in permille: `crash=20,lost_answer=0,…` (names:
    /// crash, crash_in_flight, lost_request, lost_answer, duplicate, revoke_lost, conflict, reorder, reversal,
    /// undo_again, phantom_revoke, undo_old).
    #[arg(long)]
    faults: Option<String>,
    /// No faults at all (a baseline).
    #[arg(long)]
    no_faults: bool,
    /// Write the operation log (one line per operation or crash) to this file, to compare two
    /// runs of a seed.
    #[arg(long)]
    log: Option<std::path::PathBuf>,
}

/// Runs `yibao simulate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(simulate(args))
}

async fn simulate(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = SimConfig::new(args.seed, args.ops);
    config.persons = args.persons;
    config.concurrency_max = args.concurrency;
    config.chains_max = config.chains_max.max(args.concurrency * 3);
    config.check_every = args.check_every;
    if args.no_faults {
        config.faults = yibao_sim::Faults::none();
    }
    if let Some(text) = &args.faults {
        config.faults.parse_overrides(text)?;
    }
    config.keep_log = args.log.is_some();
    let target = DbTarget::parse(args.db.as_deref())?;
    println!(
        "== simulating seed {} for {} operations on {}",
        args.seed,
        args.ops,
        target.name()
    );
    let (summary, failure) = yibao_sim::run(&config, &target).await?;
    println!("{summary}");
    if let Some(path) = &args.log {
        let mut text = summary.log.join("\n");
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let Some(failure) = failure else {
        println!("all invariants held");
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("the last operations:");
    for line in &summary.recent {
        eprintln!("  {line}");
    }
    eprintln!("{failure}");
    eprintln!(
        "replay: yibao simulate --seed {} --ops {}{}",
        failure.seed,
        args.ops,
        args.db
            .as_deref()
            .map(|db| format!(" --db {db}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::FAILURE)
}
