//! `yibao load`: drives any running server with the hospital simulator (persons, institutions
//! and catalogue from a `--sample` file) and prints a JSON summary: requests, settlements per
//! second, latency percentiles per transaction, errors and identity violations. A closed loop of
//! `--concurrency` workers by default; with `--rate`, an open loop of that many chains a second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use yibao_loadgen::{Chaos, LoadConfig, Mix, OpenLoop, Population, Sample};

/// Arguments of `yibao load`.
#[derive(clap::Args)]
pub struct Args {
    /// The server (`HOST:PORT`).
    #[arg(long)]
    addr: String,
    /// How long to send new visits (`30s`, `2m`, …).
    #[arg(long, default_value = "30s")]
    duration: String,
    /// Concurrent simulated workstations (closed loop: each starts its next visit when the last
    /// one ended). Not used with `--rate`.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Open loop: start this many visit chains per second on a fixed schedule, whatever the
    /// answers' speed; latency counts from each chain's intended start.
    #[arg(long)]
    rate: Option<u32>,
    /// Open loop: visit chains in flight at most (a chain due while all are busy waits, and its
    /// wait counts in its latency).
    #[arg(long, default_value_t = 1024)]
    in_flight_max: usize,
    /// The sample file written by `yibao demo --sample-out`.
    #[arg(long, default_value = "yibao-sample.json")]
    sample: PathBuf,
    /// Visit mix, e.g. `outpatient` or `outpatient=42,chronic=5,pharmacy=51,inpatient=2`.
    #[arg(long)]
    mix: Option<String>,
    /// Fee lines of every general outpatient bill (default: 3–15 at random).
    #[arg(long)]
    lines: Option<usize>,
    /// Stop after this many visits even if time is left.
    #[arg(long)]
    visits: Option<u64>,
    /// Send no gateway headers (for a server run with `--no-auth`).
    #[arg(long)]
    no_auth: bool,
    /// Only clean visit chains: no reversals, retries, 2601, hostile requests, lookups or
    /// cross-region visits (for throughput measurements).
    #[arg(long)]
    no_chaos: bool,
    /// Seed of the traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs `yibao load`; exits with failure when an answer broke an identity.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(load(args))
}

async fn load(args: Args) -> anyhow::Result<ExitCode> {
    let duration = yibao_loadgen::parse_duration(&args.duration).map_err(anyhow::Error::msg)?;
    let mix = match &args.mix {
        Some(text) => text.parse::<Mix>().map_err(anyhow::Error::msg)?,
        None => Mix::default(),
    };
    let sample = Sample::read(&args.sample)?;
    let population = Population::from_sample(&sample, args.seed)?;
    let config = LoadConfig {
        duration,
        visits_max: args.visits,
        concurrency: args.concurrency,
        mix,
        outpatient_lines: args.lines,
        chaos: if args.no_chaos {
            Chaos::none()
        } else {
            Chaos::realistic()
        },
        auth: !args.no_auth,
        seed: args.seed,
    };
    let population = Arc::new(population);
    let summary = match args.rate {
        None => yibao_loadgen::run(&args.addr, population, config).await?,
        Some(rate_per_s) => {
            let open = OpenLoop {
                rate_per_s,
                in_flight_max: args.in_flight_max,
            };
            yibao_loadgen::run_open_loop(&args.addr, population, config, open).await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
