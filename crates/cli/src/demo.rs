//! `yibao demo`: builds the synthetic city into a database, serves it in-process on a free port,
//! drives it with the hospital simulator for a bounded time, and reports what happened
//! (settlements by kind, fund totals, the ledger check, latency percentiles, errors by kind).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use yibao_city::{write::write_registry_with_openings, CityConfig};
use yibao_loadgen::{Chaos, Item, LoadConfig, Mix, Population};

/// The demo bank's interest rate on the funds' special accounts: 0.35 % a year (a demand
/// deposit rate), in ppm.
const DEMO_DEPOSIT_RATE_PPM: i64 = 3_500;

/// The demo's database when `--db` is not given: a SQLite file in the working directory.
pub const DEMO_DB_URL: &str = "sqlite://yibao-demo.db?mode=rwc";
/// Persons, institutions and catalogue items written by `--sample-out`, of each.
const SAMPLE_SIZE: usize = 40;

/// Arguments of `yibao demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Database URL: `sqlite://FILE?mode=rwc` (the file is replaced) or `postgres://…` (an empty
    /// database).
    #[arg(long, default_value = DEMO_DB_URL)]
    db: String,
    /// The access log's key file, else `YIBAO_LOG_KEY`; for a SQLite file without either,
    /// `FILE.logkey` next to it (created on first use).
    #[arg(long)]
    log_key: Option<PathBuf>,
    /// The data key file of encryption at rest (`yibao keys generate`), else `YIBAO_DATA_KEY`;
    /// for a SQLite file without either, `FILE.datakey` next to it (created on first use).
    #[arg(long)]
    data_key: Option<PathBuf>,
    /// Insured persons in the city (up to 20 million; generation streams in bounded memory).
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// Hospitals in the city (default: 32, or about 50 per million people for large cities).
    #[arg(long)]
    hospitals: Option<u32>,
    /// Seed of the city, the catalogue and the traffic.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// How long to drive the server (`30s`, `2m`, …).
    #[arg(long, default_value = "20s")]
    duration: String,
    /// Stop after this many visits even if time is left.
    #[arg(long)]
    visits: Option<u64>,
    /// Concurrent simulated hospital workstations.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Visit mix, e.g. `outpatient=42,chronic=5,pharmacy=51,inpatient=2` (the default).
    #[arg(long)]
    mix: Option<String>,
    /// Build the city and import it, then stop (no server, no traffic).
    #[arg(long)]
    setup_only: bool,
    /// Skip the city's enrollment year (its departments' feeds, wage declarations and
    /// contributions): the registry as imported, for a run of your own.
    #[arg(long)]
    no_enrollment_year: bool,
    /// Write a JSON sample of persons, institutions (with keys), priced catalogue items and the
    /// demo staff accounts (with their passwords) that an outside client (or `yibao load`) can
    /// drive the server with.
    #[arg(long)]
    sample_out: Option<PathBuf>,
    /// Persons in the sample (default 40). A load run spreads its visits over them: a few
    /// thousand persons give each a realistic few visits a day, which matters to every check
    /// that reads a person's history (smart audit).
    #[arg(long, default_value_t = SAMPLE_SIZE)]
    sample_persons: usize,
    /// Keep the generated registry files in this folder (default: a temporary folder).
    #[arg(long)]
    registry_dir: Option<PathBuf>,
    /// Serve without the gateway signature (the simulator then sends no CSB headers).
    #[arg(long)]
    no_auth: bool,
    /// Violations planted in general outpatient visits, permille per rule kind: `default` (5 ‰
    /// of each of the ten kinds), `none`, `all=N` or `KIND=N,…` (docs/AUDIT.md, "Planted
    /// violations").
    #[arg(long, default_value = "default")]
    plant: String,
    /// Where the manifest of planted violations goes (default: beside a SQLite database,
    /// `NAME.planted.jsonl`; `yibao-demo.planted.jsonl` otherwise).
    #[arg(long)]
    planted_out: Option<PathBuf>,
}

/// Runs `yibao demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(args))
}

/// Today's date in China (UTC+8): the city's ages and periods are computed for it.
pub fn china_today() -> chrono::NaiveDate {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let china = i64::try_from(secs).unwrap_or(0) + 8 * 3600;
    chrono::DateTime::from_timestamp(china, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

async fn demo(args: Args) -> anyhow::Result<ExitCode> {
    let duration = yibao_loadgen::parse_duration(&args.duration).map_err(anyhow::Error::msg)?;
    let mix = match &args.mix {
        Some(text) => text.parse::<Mix>().map_err(anyhow::Error::msg)?,
        None => Mix::default(),
    };
    let plant_rates = args
        .plant
        .parse::<yibao_loadgen::PlantRates>()
        .map_err(anyhow::Error::msg)?;
    let today = china_today();
    let mut config = CityConfig::new(args.persons, args.seed, today);
    if let Some(hospitals) = args.hospitals {
        config.hospitals = hospitals;
    }
    config.validate()?;

    // 1. The registry files.
    let temp;
    let dir: &Path = match &args.registry_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary registry folder")?;
            temp.path()
        }
    };
    let started = Instant::now();
    println!(
        "== city {} ({} persons, seed {}, as of {today})",
        config.region, config.persons, config.seed
    );
    write_policies(dir, today)?;
    // Everyone's position in the insurance year so far, as a bureau migrating mid-year brings
    // it over (docs/DEMO.md): without it every December visit would pay a full deductible. It
    // is written in the same pass over the households as the registry.
    let home_policy = home_policy(dir, &config.region, today)?;
    let (rates, openings) = write_registry_with_openings(dir, &config, Some(&home_policy))
        .context("writing the registry files")?;
    let openings = openings.context("the openings were asked for")?;
    let catalogue = yibao_policy::demo_catalogue(config.seed);
    let catalogue_csv =
        yibao_policy::write_catalogue_csv(&catalogue).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(dir.join("catalogue.csv"), catalogue_csv).context("writing catalogue.csv")?;
    println!("{rates}");
    println!(
        "year-to-date openings for {} ({}): {} persons, {} used up their outpatient deductible, {} admissions earlier in the year",
        home_policy.id,
        today,
        openings.persons,
        openings.outpatient_deductible_used_up,
        openings.admissions
    );
    println!(
        "registry written in {} ms ({} catalogue items)",
        started.elapsed().as_millis(),
        catalogue.len()
    );

    // 2. The database.
    if let Some(path) = sqlite_file(&args.db) {
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file).with_context(|| {
                    format!("replacing the old demo database {}", file.display())
                })?;
            }
        }
    }
    let started = Instant::now();
    let log_keys = crate::log::server_log_keys(args.log_key.as_deref(), &args.db, true)?;
    let keyring = crate::keys::server_keyring(args.data_key.as_deref(), &args.db, true)?;
    let store = yibao_store::Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", args.db))?
        .with_log_keys(log_keys.clone())
        .with_keyring(keyring);
    let imported = store
        .import_registry(dir)
        .await
        .with_context(|| format!("importing the registry into {}", args.db))?;
    println!(
        "== imported into {} in {} ms: {imported:?}",
        args.db,
        started.elapsed().as_millis()
    );
    // The year's enrollment: the departments' feeds and the contributions into the funds.
    let started = Instant::now();
    let now = crate::registry::utc_now()?;
    if !args.no_enrollment_year {
        crate::demo_enrollment::run(&store, &config, dir, now).await?;
        println!(
            "== enrollment year done in {} ms",
            started.elapsed().as_millis()
        );
    }

    // 3. The simulator's view of the city, and the sample for outside clients.
    let items = catalogue.iter().map(Item::from_catalogue).collect();
    let population = Population::from_city(&config, items)?;
    let sample = serde_json::to_value(population.to_sample_of(args.sample_persons, SAMPLE_SIZE))?;
    // Two institution users, for the first two institutions of the sample.
    let staff_institutions: Vec<String> = sample["institutions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|institution| institution["fixmedins_code"].as_str())
        .take(2)
        .map(str::to_owned)
        .collect();
    let staff = crate::staff::create_demo_staff(&store, &config.region, &staff_institutions)
        .await
        .context("creating the demo staff accounts")?;
    println!(
        "== {} demo staff accounts for the staff API (/api/v1){}",
        staff.len(),
        if args.sample_out.is_some() {
            ", with their passwords in the sample"
        } else {
            ""
        }
    );
    if let Some(path) = &args.sample_out {
        let mut sample = sample;
        sample["staff"] = staff.iter().map(crate::staff::DemoStaff::to_json).collect();
        let text = serde_json::to_string_pretty(&sample)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("sample for outside clients written to {}", path.display());
    }
    if args.setup_only {
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }

    // 4. Serve and drive.
    let server_config = yibao_server::ServerConfig {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        auth: !args.no_auth,
        // Each answer's inf_refmsgid begins with the calling institution's region.
        receiver_admdvs: None,
        // The simulated hospitals sign in (9001) and send their sign_no; the demo region counts
        // messages without one rather than refusing them (`regions/demo.toml`).
        sign_in: yibao_server::SignInRule::Count,
        // The demo region settles and records severity-1 findings (`regions/demo.toml`).
        audit_gate: yibao_store::audit::AuditGate::Warn,
        // Lists change until day 10 of the following month (`regions/demo.toml`).
        setl_list_deadline: yibao_store::setl_list_status::SetlListDeadline::default(),
    };
    let server = yibao_server::spawn_with(
        store.clone(),
        server_config,
        yibao_staff::router(store.clone(), yibao_staff::StaffConfig::default()),
    )
    .await
    .context("starting the server")?;
    println!(
        "== serving on http://{} (auth {}); driving it for {} with {} workers",
        server.addr(),
        if args.no_auth { "off" } else { "on" },
        args.duration,
        args.concurrency
    );
    let plant = plant_from_knowledge(plant_rates, &config.region)?;
    println!(
        "planting violations in general outpatient visits (permille): {}",
        plant.rates.describe()
    );
    let load = LoadConfig {
        duration,
        visits_max: args.visits,
        concurrency: args.concurrency,
        mix,
        outpatient_lines: None,
        chaos: Chaos::realistic(),
        auth: !args.no_auth,
        seed: config.seed,
        plant: Arc::new(plant),
        audit3102: None,
    };
    let summary = yibao_loadgen::run(&server.addr().to_string(), Arc::new(population), load).await;
    server.shutdown().await?;
    let checkpoint = store
        .sign_checkpoint(&log_keys)
        .await
        .context("signing the access-log checkpoint")?;
    println!(
        "== access log: checkpoint of size {} signed (yibao log verify --db {})",
        checkpoint.size, args.db
    );
    let summary = summary?;
    println!("{}", summary.to_text());
    let manifest = args
        .planted_out
        .clone()
        .unwrap_or_else(|| manifest_path(&args.db));
    write_manifest(&manifest, &summary.stats.planted)?;
    println!(
        "{} planted violations settled; manifest written to {}",
        summary.stats.planted.len(),
        manifest.display()
    );

    // 5. The ledger.
    let ledger = store.check_ledger().await.context("checking the ledger")?;
    println!(
        "ledger: {} accounts, {} transfers, {} settlements, {} reversals; sum of balances {} fen: {}",
        ledger.n_accounts,
        ledger.n_transfers,
        ledger.n_settlements,
        ledger.n_reversals,
        ledger.balance_sum_fen,
        if ledger.is_balanced() { "BALANCED" } else { "NOT BALANCED" }
    );
    for problem in &ledger.problems {
        println!("  ! {problem}");
    }

    // 6. The smart-audit report, with the recall on what was planted.
    let report = crate::audit_report::report(&store, Some(&manifest)).await;
    let report = report.context("the smart-audit report")?;
    print!("{}", report.text);

    // 7. The month end (docs/FUNDS.md): this month's payment runs, prepared by one demo finance
    //    officer and approved by the other, clearing between regions and the funds' statement;
    //    then the ledger again.
    let month = crate::registry::china_now().format("%Y-%m").to_string();
    // The bank's interest on the basic funds so far this month, as its statement would give it
    // (the demo bank pays its demand rate by the day on a 360-day year), recorded by finance-1
    // (`yibao funds interest`): the fund statement shows it as income.
    let today = crate::registry::china_now().date();
    for row in store
        .fund_statement(&month)
        .await
        .context("the fund statement")?
    {
        let m = &row.month;
        if !matches!(m.fund.as_str(), "310100" | "390100") {
            continue;
        }
        let fen = yibao_funds::statement::interest_fen(
            m.opening,
            DEMO_DEPOSIT_RATE_PPM,
            chrono::Datelike::day(&today),
        );
        if fen > 0 {
            let r = store
                .record_interest(
                    &m.fund,
                    &m.admdvs,
                    &month,
                    fen,
                    "finance-1",
                    crate::registry::china_now(),
                )
                .await
                .context("recording interest")?;
            println!(
                "interest of fund {} in {} for {}: {} yuan (yibao funds interest --by finance-1)",
                r.fund,
                r.admdvs,
                r.month,
                yibao_core_types::Fen(r.amount_fen)
            );
        }
    }
    println!("== month end {month} (yibao month-end --by finance-1 --approved-by finance-2)");
    let done = crate::funds::month_end(
        &store,
        &month,
        "finance-1",
        Some("finance-2"),
        crate::funds::DEFAULT_REGION,
        None,
        &|_| {},
    )
    .await
    .context("the month end")?;
    print!("{}", crate::funds::render_month_end(&done));
    let after = store.check_ledger().await.context("checking the ledger")?;
    println!(
        "ledger after the month end: {} transfers; sum of balances {} fen: {}",
        after.n_transfers,
        after.balance_sum_fen,
        if after.is_balanced() {
            "BALANCED"
        } else {
            "NOT BALANCED"
        }
    );
    store.close().await;
    if !report.severity_1_complete {
        bail!("a planted severity-1 violation was not found (see above)");
    }
    if !ledger.is_balanced() || !after.is_balanced() || !summary.is_clean() {
        bail!("the demo found problems (see above)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The planting of a run: the rates over the shipped knowledge in force today in `region`.
pub fn plant_from_knowledge(
    rates: yibao_loadgen::PlantRates,
    region: &str,
) -> anyhow::Result<yibao_loadgen::Plant> {
    let base = yibao_audit::builtin()?;
    Ok(yibao_loadgen::Plant::from_knowledge(
        &base,
        rates,
        china_today(),
        region,
    ))
}

/// The manifest beside the database: `yibao-demo.db` → `yibao-demo.planted.jsonl`.
fn manifest_path(db: &str) -> PathBuf {
    match sqlite_file(db) {
        Some(path) => path.with_extension("planted.jsonl"),
        None => PathBuf::from("yibao-demo.planted.jsonl"),
    }
}

/// Writes the planted violations, one JSON line each.
pub fn write_manifest(path: &Path, planted: &[yibao_loadgen::PlantRecord]) -> anyhow::Result<()> {
    let mut text = String::new();
    for record in planted {
        text.push_str(&record.to_json_line());
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The file of a `sqlite://FILE?…` URL (not for `sqlite::memory:`).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// The home region's policy in force on `today`, as written into `dir/policies/`.
fn home_policy(
    dir: &Path,
    region: &str,
    today: chrono::NaiveDate,
) -> anyhow::Result<yibao_policy::Policy> {
    let mut found = None;
    for entry in std::fs::read_dir(dir.join("policies")).context("reading the policies folder")? {
        let path = entry.context("a policy file")?.path();
        let name = path.display().to_string();
        if !path
            .file_name()
            .is_some_and(|file| file.to_string_lossy().starts_with(region))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {name}"))?;
        let policy = yibao_policy::parse_policy(&name, &text)?;
        if policy.is_effective_on(today) {
            found = Some(policy);
        }
    }
    found.with_context(|| format!("no policy of region {region} is in force on {today}"))
}

/// Writes the shipped policies into `dir/policies/`. When none of them is in force today (the
/// reference policy is for 2025), the home region's policy is also written re-dated to this year,
/// as a bureau would carry a policy forward until the new one is published, so that the demo
/// settles on any date.
fn write_policies(dir: &Path, today: chrono::NaiveDate) -> anyhow::Result<()> {
    use chrono::Datelike;
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).context("creating the policies folder")?;
    for (file, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        let name = Path::new(file).file_name().context("a policy file name")?;
        std::fs::write(policies.join(name), text).with_context(|| format!("writing {file}"))?;
    }
    let (_, reference) = yibao_policy::builtin::BUILTIN_POLICY_FILES
        .iter()
        .find(|(file, _)| file.ends_with("140500-2025.toml"))
        .context("the reference policy 140500-2025 is shipped")?;
    let year = today.year();
    if year != 2025 {
        let carried = reference
            .replace("id = \"140500-2025\"", &format!("id = \"140500-{year}\""))
            .replace(
                "effective_from = \"2025-01-01\"",
                &format!("effective_from = \"{year}-01-01\""),
            )
            .replace(
                "effective_until = \"2025-12-31\"",
                &format!("effective_until = \"{year}-12-31\""),
            )
            .replace("2025 年", &format!("{year} 年（沿用 2025）"));
        std::fs::write(policies.join(format!("140500-{year}.toml")), carried)
            .context("writing the carried-forward policy")?;
        println!("note: policy 140500-2025 carried forward as 140500-{year} for today's date");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://yibao-demo.db?mode=rwc"),
            Some(PathBuf::from("yibao-demo.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://postgres@localhost/db"), None);
        assert_eq!(
            manifest_path("sqlite://yibao-demo.db?mode=rwc"),
            PathBuf::from("yibao-demo.planted.jsonl")
        );
        assert_eq!(
            manifest_path("postgres://postgres@localhost/db"),
            PathBuf::from("yibao-demo.planted.jsonl")
        );
    }

    #[test]
    fn the_carried_policy_parses_and_is_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        write_policies(dir.path(), day).unwrap();
        let text = std::fs::read_to_string(dir.path().join("policies/140500-2026.toml")).unwrap();
        let policy = yibao_policy::parse_policy("policies/140500-2026.toml", &text).unwrap();
        assert!(policy.is_effective_on(day));
    }
}
