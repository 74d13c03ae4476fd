//! `yibao serve`: serves the national hospital interface and, on the same listener, the staff
//! API (`/api/v1`) and the third-party data service (`/open/v1`) from a database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `yibao serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Database URL: `sqlite://FILE?mode=rwc` (default, a file in the working directory) or
    /// `postgres://user@host:port/db`. Migrated on start.
    #[arg(long, default_value = yibao_store::DEFAULT_DB_URL)]
    db: String,
    /// Address to listen on (`HOST:PORT`; port 0 picks a free port and prints it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve without the gateway signature (§1.2); only for demos on a private machine.
    #[arg(long)]
    no_auth: bool,
    /// Import this registry folder (docs/REGISTRY-FILES.md) into the empty database first.
    #[arg(long)]
    import: Option<PathBuf>,
    /// The region file whose `[interface]` table sets the interface's rules (for example
    /// `regions/demo.toml`); without it, messages without a sign-in are served and counted.
    #[arg(long)]
    region: Option<PathBuf>,
    /// Print the store's group-commit counters on stdout every this many milliseconds
    /// (`stats batches=… commands=… largest=… in_store=…`), then the time at the server per
    /// transaction since it started (`latency infno=… count=… p50_ms=… p99_ms=…`), for load
    /// tests and the crash test.
    #[arg(long)]
    stats_every_ms: Option<u64>,
    /// PostgreSQL: group-commit lanes (batches collected side by side, each for its share of
    /// the persons); a divisor of 64.
    #[arg(long, default_value_t = yibao_store::limits::BATCH_LANES_PG)]
    batch_lanes: u64,
    /// The access log's key file (SM2 checkpoint key and HMAC keys; `yibao log keygen`), else
    /// `YIBAO_LOG_KEY`; for a SQLite file without either, `FILE.logkey` next to it (created).
    #[arg(long)]
    log_key: Option<PathBuf>,
    /// The data key file of encryption at rest (versioned SM4 keys and the blind-index key;
    /// `yibao keys generate`), else `YIBAO_DATA_KEY`; for a SQLite file without either,
    /// `FILE.datakey` next to it (created).
    #[arg(long)]
    data_key: Option<PathBuf>,
    /// Staff API: a session unused this many minutes ends.
    #[arg(long, default_value_t = 30)]
    staff_idle_minutes: i64,
    /// Staff API: a session ends this many hours after login, used or not.
    #[arg(long, default_value_t = 12)]
    staff_session_hours: i64,
    /// Data service (`/open/v1`): a file holding the 64 hex digits of the key grant tokens are
    /// stored under (kept outside the database); without it a key is drawn for this process only.
    #[arg(long)]
    grant_key_file: Option<PathBuf>,
}

/// Runs `yibao serve` until Ctrl-C or SIGTERM; then it finishes the requests in flight and
/// signs a checkpoint covering every access-log leaf before it exits. Meanwhile a sequencer
/// turns the interface calls' outbox into leaves and signs checkpoints as they fall due.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    if args.batch_lanes == 0 || yibao_store::limits::BALANCE_SHARDS % args.batch_lanes != 0 {
        anyhow::bail!(
            "--batch-lanes: {} does not divide the {} balance shards (1, 2, 4, 8, 16, 32 or 64)",
            args.batch_lanes,
            yibao_store::limits::BALANCE_SHARDS
        );
    }
    let options = yibao_store::StoreOptions {
        pg_lanes: args.batch_lanes,
        ..yibao_store::StoreOptions::default()
    };
    let log_keys = crate::log::server_log_keys(args.log_key.as_deref(), &args.db, true)?;
    let new_key_file = crate::keys::key_file_to_create(args.data_key.as_deref(), &args.db);
    let keyring = crate::keys::server_keyring(args.data_key.as_deref(), &args.db, true)?;
    let store = yibao_store::Store::connect_with(&args.db, &options)
        .await
        .with_context(|| format!("opening the database {}", args.db))?
        .with_log_keys(log_keys.clone())
        .with_keyring(keyring);
    if let Some(created) = &new_key_file {
        crate::keys::refuse_new_key_file_for_keyed_data(&store, created).await?;
    }
    if let Some(dir) = &args.import {
        let summary = store
            .import_registry(dir)
            .await
            .with_context(|| format!("importing the registry {}", dir.display()))?;
        eprintln!("imported {summary:?}");
    }
    let settings = match &args.region {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the region file {}", path.display()))?;
            yibao_server::region::parse_interface_settings(&text)
                .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?
        }
        None => yibao_server::region::InterfaceSettings::default(),
    };
    let config = yibao_server::ServerConfig {
        addr: args.addr,
        auth: !args.no_auth,
        sign_in: settings.sign_in,
        audit_gate: settings.audit_gate,
        setl_list_deadline: settings.setl_list_deadline,
        ..Default::default()
    };
    if args.staff_idle_minutes < 1 || args.staff_session_hours < 1 {
        anyhow::bail!("--staff-idle-minutes and --staff-session-hours must be at least 1");
    }
    let staff = yibao_staff::StaffConfig {
        session: yibao_store::SessionPolicy {
            idle_ms: args.staff_idle_minutes * 60_000,
            absolute_ms: args.staff_session_hours * 3_600_000,
            ..yibao_store::SessionPolicy::default()
        },
        clock: yibao_staff::Clock::system(),
        review: settings.review,
    };
    let grant_key = match &args.grant_key_file {
        Some(path) => yibao_store::grants::TokenKey::from_hex(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading the grant key {}", path.display()))?,
        )
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?,
        None => {
            eprintln!(
                "data service: no --grant-key-file; grant tokens work only while this process runs"
            );
            yibao_store::grants::TokenKey::random()?
        }
    };
    let open = yibao_dataservice::router(
        store.clone(),
        yibao_dataservice::DataServiceConfig::new(grant_key.clone()),
    );
    let safebox =
        yibao_safebox::router(store.clone(), yibao_safebox::SafeboxConfig::new(grant_key));
    let server = yibao_server::spawn_with(
        store.clone(),
        config,
        yibao_staff::router(store.clone(), staff)
            .merge(open)
            .merge(safebox),
    )
    .await
    .context("starting the server")?;
    // The bound address on stdout, so a script that asked for port 0 can read it.
    println!("listening on http://{}", server.addr());
    eprintln!(
        "staff API on http://{}/api/v1 (OpenAPI: /api/v1/openapi.json; first administrator: yibao staff add)",
        server.addr()
    );
    if let Some(ms) = args.stats_every_ms {
        let store = store.clone();
        let latency = server.latency();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(ms.max(1)));
            loop {
                every.tick().await;
                let stats = store.batch_stats();
                println!(
                    "stats batches={} commands={} largest={} in_store={}",
                    stats.batches, stats.commands, stats.largest, stats.in_store
                );
                for s in latency.summaries() {
                    println!(
                        "latency infno={} count={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} \
                         p999_ms={:.2} max_ms={:.2}",
                        s.infno, s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms
                    );
                }
            }
        });
    }
    let (stop_sequencer, stopped) = tokio::sync::watch::channel(false);
    let sequencer = tokio::spawn(run_log_sequencer(store.clone(), log_keys.clone(), stopped));
    stop_signal().await?;
    eprintln!("shutting down");
    // The sequencer stops between steps, never inside a transaction.
    let _ = stop_sequencer.send(true);
    let _ = sequencer.await;
    server.shutdown().await?;
    let checkpoint = store
        .sign_checkpoint(&log_keys)
        .await
        .context("signing the final access-log checkpoint")?;
    eprintln!(
        "signed the access-log checkpoint of size {}",
        checkpoint.size
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// How often the sequencer turns the outbox into access-log leaves.
const SEQUENCE_EVERY: std::time::Duration = std::time::Duration::from_millis(25);
/// A checkpoint is signed at least this often while leaves arrive (spec §9.4: every 60 s or
/// 10,000 leaves, whichever first).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// … or after this many new leaves.
const CHECKPOINT_LEAVES: i64 = 10_000;

/// Grantees' nonces older than the replay window are pruned this often.
const NONCE_PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The access log's sequencer (see `yibao_store::access_outbox`): appends the interface calls
/// waiting in the outbox as leaves every [`SEQUENCE_EVERY`], and signs a checkpoint when one is
/// due. A failed step is reported and retried at the next tick: the rows stay in the outbox.
/// Between steps it also prunes old grantee nonces every [`NONCE_PRUNE_EVERY`].
async fn run_log_sequencer(
    store: yibao_store::Store,
    keys: yibao_store::LogKeys,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SEQUENCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signed_at = std::time::Instant::now();
    let mut appended_since: i64 = 0;
    let mut pruned_at = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match store.drain_outbox().await {
            Ok(n) => appended_since += n as i64,
            Err(err) => eprintln!("access log sequencer: {err}"),
        }
        if appended_since > 0
            && (appended_since >= CHECKPOINT_LEAVES || signed_at.elapsed() >= CHECKPOINT_EVERY)
        {
            match store.sign_checkpoint(&keys).await {
                Ok(_) => {
                    signed_at = std::time::Instant::now();
                    appended_since = 0;
                }
                Err(err) => eprintln!("access log checkpoint: {err}"),
            }
        }
        if pruned_at.elapsed() >= NONCE_PRUNE_EVERY {
            pruned_at = std::time::Instant::now();
            if let Err(err) = store
                .prune_nonces(chrono::Utc::now().timestamp_millis())
                .await
            {
                eprintln!("grantee nonces: {err}");
            }
        }
    }
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (what a service manager sends).
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
