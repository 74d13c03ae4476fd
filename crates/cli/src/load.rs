//! `yibao load`: drives any running server with the hospital simulator (persons, institutions
//! and catalogue from a `--sample` file) and prints a JSON summary: requests, settlements per
//! second, latency percentiles per transaction, errors and identity violations. A closed loop of
//! `--concurrency` workers by default; with `--rate`, an open loop of that many chains a second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use yibao_loadgen::{Chaos, Item, LoadConfig, Mix, OpenLoop, Population, Sample};

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
    /// Violations planted in general outpatient visits (and 3102 checks), permille per rule
    /// kind: `default`, `none`, `all=N` or `KIND=N,…` (docs/AUDIT.md). Default: `default`, or
    /// `none` with `--no-chaos`.
    #[arg(long)]
    plant: Option<String>,
    /// Send 3102 事中分析 checks as this permille of the chains (1000: only 3102), each one
    /// encounter of `--audit-lines` orders.
    #[arg(long)]
    audit3102: Option<u32>,
    /// Orders per 3102 encounter.
    #[arg(long, default_value_t = 50)]
    audit_lines: usize,
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
    let mut population = Population::from_sample(&sample, args.seed)?;
    let rates = match (&args.plant, args.no_chaos) {
        (Some(text), _) => text.parse().map_err(anyhow::Error::msg)?,
        (None, true) => yibao_loadgen::PlantRates::none(),
        (None, false) => yibao_loadgen::PlantRates::default_rates(),
    };
    let plant = crate::demo::plant_from_knowledge(rates, &population.home_region)?;
    // The sample carries a few items of each kind: the planted codes are added from the shipped
    // catalogue, priced as the city's hospitals charge, and never drawn for ordinary bills.
    let catalogue = yibao_audit::builtin()?.catalogue;
    population.add_planted_items(
        plant
            .candidates
            .iter()
            .flatten()
            .flat_map(|c| c.lines.iter())
            .filter_map(|(code, _)| catalogue.get(code).map(Item::from_catalogue)),
    );
    if let Some(permille) = args.audit3102 {
        anyhow::ensure!(
            (1..=1000).contains(&permille),
            "audit3102: {permille} is outside 1..=1000 permille"
        );
        anyhow::ensure!(
            (1..=yibao_loadgen::limits::AUDIT_LINES_MAX).contains(&args.audit_lines),
            "audit-lines: {} is outside 1..={}",
            args.audit_lines,
            yibao_loadgen::limits::AUDIT_LINES_MAX
        );
    }
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
        plant: Arc::new(plant),
        audit3102: args
            .audit3102
            .map(|permille| yibao_loadgen::config::Audit3102 {
                permille,
                lines: args.audit_lines,
            }),
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
