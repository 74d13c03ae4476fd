//! `yibao serve`: serves the national hospital interface from a database.

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
}

/// Runs `yibao serve` until Ctrl-C.
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
    let store = yibao_store::Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", args.db))?;
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
        ..Default::default()
    };
    let server = yibao_server::spawn(store.clone(), config)
        .await
        .context("starting the server")?;
    // The bound address on stdout, so a script that asked for port 0 can read it.
    println!("listening on http://{}", server.addr());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("shutting down");
    server.shutdown().await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
